"""``gui-agent batch --ray ADDRESS`` against a real two-node Ray cluster started by the test on
this machine (``ray start --head`` and ``ray start --address``; FACTS §11: no usage stats, a
small object store, the temp dir under tmp_path, SIGTERM to stop).

Every node starts its own private displays; the rows give the same results as on the local pool,
both nodes run rows, and every trajectory comes back into the batch directory as bytes. A node
lost (its processes SIGKILLed) while one of its rows runs sends that row to a desktop on the
node still alive.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gui.batch.test_batch_pool import (
    ENV,
    batch_command,
    ended,
    results,
    rows_file,
    task_copy,
    wait_until,
)
from tests.gui.conftest import missing_tool

pytestmark = [pytest.mark.gui, pytest.mark.ray]

RAY = Path(sys.executable).parent / "ray"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Cluster:
    """Two ``ray start --block`` processes: the head and a second node."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        temp = Path("/tmp") / f"ray-{os.getpid()}-{self.port}"  # unix sockets: a short path
        self.env = {**os.environ, **ENV, "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": str(temp)}
        common = ["--num-cpus=1", "--object-store-memory=200000000", "--block"]
        self.logs = tmp_path / "ray-logs"
        self.logs.mkdir()
        self.head = self._start(
            "head", "--head", f"--port={self.port}", "--include-dashboard=false",
            f"--temp-dir={temp}", *common,
        )  # fmt: skip
        self.node = self._start("node", f"--address={self.address}", *common)
        wait_until(lambda: self._nodes() == 2, 120, "two Ray nodes alive")

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.txt").open("wb") as log:
            return subprocess.Popen([str(RAY), "start", *args], env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    def _nodes(self) -> int:
        done = subprocess.run(
            [sys.executable, "-c", "import ray; ray.init(address='" + self.address + "', "
             "logging_level='ERROR'); print(sum(n['Alive'] for n in ray.nodes()))"],
            env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        lines = done.stdout.strip().splitlines()
        return int(lines[-1]) if done.returncode == 0 and lines else 0

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)

    def lose(self, process: subprocess.Popen[bytes]) -> None:
        """The node is gone at once: its process group (raylet, workers) SIGKILLed."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

    def close(self) -> None:
        self.stop(self.node)
        self.stop(self.head)
        # what a lost node's actors could not end: processes carrying this cluster's RAY_TMPDIR
        mark = f"RAY_TMPDIR={self.env['RAY_TMPDIR']}".encode()
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and mark in (proc / "environ").read_bytes().split(b"\0"):
                    os.kill(int(proc.name), signal.SIGKILL)
            except OSError:
                continue


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    if not RAY.exists():
        missing_tool("ray is not installed (pip install -e '.[ray]')")
    started = Cluster(tmp_path)
    try:
        yield started
    finally:
        started.close()


def test_the_same_batch_on_a_two_node_ray_cluster(cluster: Cluster, tmp_path: Path) -> None:
    task = task_copy(tmp_path)
    buttons = ["Alpha", "Bravo", "Charlie", "Delta"]
    rows = rows_file(tmp_path, [{"button": b} for b in buttons])
    out = tmp_path / "out"
    done = subprocess.run(
        batch_command(task, rows, out, "--desktops", "2", "--ray", cluster.address),
        env=cluster.env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 rows on 4 desktops (Ray cluster" in done.stderr
    lines = results(out)
    assert sorted(r["row"] for r in lines) == [1, 2, 3, 4]
    for line in lines:
        assert (line["status"], line["attempts"]) == ("done", 1)
        pressed = json.loads((out / line["trajectory"] / "pressed.json").read_text())
        assert pressed["pressed"] == buttons[line["row"] - 1]  # shipped back as bytes
        assert (out / line["trajectory"] / "index.html").is_file()
        assert (out / "logs" / f"{Path(line['trajectory']).name}.txt").is_file()
    nodes = {r["desktop"].split("]")[0] for r in lines}
    assert len(nodes) == 2  # both nodes ran rows
    summary = json.loads((out / "summary.json").read_text())
    assert summary["overall"] == {"passed": 4, "failed": 0, "error": 0}


def _ancestors(pid: int) -> set[int]:
    found = set()
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        found.add(pid)
    return found


def _row_on(node: int) -> int:
    """The number of a slow row whose run is a descendant of the node's ``ray start``."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"run" in cmdline and b"mode=slow" in cmdline and node in _ancestors(int(proc.name)):
            button = next(a for a in cmdline if a.startswith(b"button="))
            return {b"button=Delta": 2, b"button=Echo": 3}[button]
    return 0


def test_a_node_lost_mid_row_sends_the_row_to_another(cluster: Cluster, tmp_path: Path) -> None:
    task = task_copy(tmp_path)
    rows = rows_file(
        tmp_path,
        [
            {"button": "Alpha", "mode": "normal"},
            {"button": "Delta", "mode": "slow"},
            {"button": "Echo", "mode": "slow"},
        ],
    )
    out = tmp_path / "out"
    running = subprocess.Popen(
        batch_command(task, rows, out, "--desktops", "1", "--ray", cluster.address),
        env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lost = wait_until(lambda: _row_on(cluster.node.pid), 300, "a slow row on the node")
        cluster.lose(cluster.node)  # the node is gone mid-row
        stdout, stderr = running.communicate(timeout=600)
    finally:
        ended(running)
    said = f"row {lost} was lost; {json.dumps(results(out), indent=1)}\n{stdout}{stderr}"
    assert running.returncode == 0, said
    by_row = {r["row"]: r for r in results(out)}
    assert sorted(by_row) == [1, 2, 3] and len(results(out)) == 3, said
    assert all(r["status"] == "done" for r in by_row.values()), said
    assert by_row[lost]["attempts"] == 2, said
    pressed = json.loads((out / by_row[lost]["trajectory"] / "pressed.json").read_text())
    assert pressed["pressed"] == {2: "Delta", 3: "Echo"}[lost]
