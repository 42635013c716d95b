"""``gui-agent batch`` on this machine, as a user runs it: private displays started for the
batch, the Buttons app (``press_task/``) launched by every row, the OCR grounder.

Each row presses its own button in its own app on one of three displays; a batch killed with
SIGKILL mid-way and resumed has every row in ``results.jsonl`` exactly once, and the displays
the killed one left are ended; a resume with other options is refused; a row whose task fails
is recorded once, never retried, while a row whose display is killed under it runs again on
another display; a run that hangs is ended at its ``--max-seconds``, its app with it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.gui.conftest import ROOT, missing_tool

pytestmark = pytest.mark.gui

TASK = Path(__file__).parent / "press_task"
ENV = {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def task_copy(tmp_path: Path) -> Path:
    """The task and its app in a folder of their own (a run writes nothing beside them)."""
    if shutil.which("Xvfb") is None:
        missing_tool("Xvfb is not installed (Debian: apt install xvfb)")
    folder = tmp_path / "task"
    shutil.copytree(TASK, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder / "press.yaml"


def rows_file(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / "rows.csv"
    keys = list(rows[0])
    path.write_text(
        "\n".join([",".join(keys), *(",".join(r[k] for k in keys) for r in rows)]) + "\n"
    )
    return path


def batch_command(task: Path, rows: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "agent.cli", "batch", str(task), "--rows", str(rows),
            "--out", str(out), "--backend", "ocr", "--settle", "0.1", *extra]  # fmt: skip


def batch(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), env={**os.environ, **ENV}, text=True, capture_output=True, timeout=timeout
    )


def results(out: Path) -> list[dict[str, Any]]:
    path = out / "results.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_until(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def ended(process: subprocess.Popen[Any]) -> None:
    """SIGKILL ``process`` if it is still running, and reap it (its pipes closed)."""
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=60)


def displays_of(out: Path) -> list[str]:
    """The lines of ``.displays``: the pid and name of each display the batch started."""
    path = out / ".displays"
    return path.read_text().splitlines() if path.exists() else []


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_each_row_presses_its_own_button_in_its_own_app(tmp_path: Path) -> None:
    task = task_copy(tmp_path)
    buttons = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]
    rows = rows_file(tmp_path, [{"button": b} for b in buttons])
    out = tmp_path / "out"
    done = batch(*batch_command(task, rows, out, "--desktops", "3"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed, 0 failed, 0 error" in done.stdout
    assert "6/6 rows: 6 passed" in done.stderr  # the progress line
    lines = results(out)
    assert sorted(r["row"] for r in lines) == [1, 2, 3, 4, 5, 6]
    pids = set()
    for line in lines:
        button = buttons[line["row"] - 1]
        assert line["vars"] == {"button": button}
        assert (line["status"], line["exit_code"], line["attempts"]) == ("done", 0, 1)
        assert [c["passed"] for c in line["checks"]] == [True]
        pressed = json.loads((out / line["trajectory"] / "pressed.json").read_text())
        assert pressed["pressed"] == button
        pids.add(pressed["pid"])
        assert (out / line["trajectory"] / "index.html").is_file()  # the run's viewer
        assert (out / line["trajectory"] / "meta.json").is_file()
    assert len(pids) == 6  # every row its own app
    assert len({r["desktop"] for r in lines}) == 3  # three displays, all used
    summary = json.loads((out / "summary.json").read_text())
    assert summary["overall"] == {"passed": 6, "failed": 0, "error": 0}
    (counts,) = summary["checks"].values()
    assert counts == {"passed": 6, "failed": 0, "error": 0}
    assert "| **overall** | 6 | 0 | 0 |" in (out / "summary.md").read_text()
    index = (out / "index.html").read_text()
    assert all(f'href="runs/row-0000{n}/index.html"' in index for n in range(1, 7))
    assert not list(task.parent.glob("*.cache.json"))  # read-only cache: nothing written
    assert not any(alive(int(line.split()[0])) for line in displays_of(out))  # ended with it


def test_killed_mid_batch_then_resumed_every_row_once(tmp_path: Path) -> None:
    task = task_copy(tmp_path)
    buttons = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]
    rows = rows_file(tmp_path, [{"button": b} for b in buttons])
    out = tmp_path / "out"
    command = batch_command(task, rows, out, "--desktops", "2")
    first = subprocess.Popen(command, env={**os.environ, **ENV}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_until(lambda: len(results(out)) >= 2, 300, "two rows finished")
    finally:
        ended(first)
    before = {r["row"] for r in results(out)}
    assert 2 <= len(before) < 6
    left = [int(line.split()[0]) for line in displays_of(out)]
    # a different configuration is refused before anything runs
    other = batch(*command, "--resume", "--max-steps", "3")
    assert other.returncode == 2
    (line,) = other.stderr.strip().splitlines()
    assert "was run with another configuration" in line and "options" in line
    assert batch(*command).returncode == 2  # results there and no --resume

    resumed = batch(*command, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    lines = results(out)
    assert Counter(r["row"] for r in lines) == Counter(range(1, 7))  # every row exactly once
    assert all(r["status"] == "done" for r in lines)
    for line in lines:
        pressed = json.loads((out / line["trajectory"] / "pressed.json").read_text())
        assert pressed["pressed"] == buttons[line["row"] - 1]
    assert not any(alive(pid) for pid in left)  # what the killed batch left is ended
    assert json.loads((out / "summary.json").read_text())["finished"] == 6
    again = batch(*command, "--resume")  # nothing left to run: no row runs twice
    assert again.returncode == 0 and "6 passed" in again.stdout, again.stdout + again.stderr
    assert len(results(out)) == 6


def _display_of(needle: str, out: Path) -> int:
    """The Xvfb serving the run whose command line holds ``needle`` (the batch notes the pid and
    name of each display it starts in ``.displays``)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            mine = any(a.startswith(str(out).encode()) for a in cmdline)  # this batch's run
            if b"run" not in cmdline or needle.encode() not in cmdline or not mine:
                continue
            environ = dict(
                item.split(b"=", 1) for item in (proc / "environ").read_bytes().split(b"\0")
                if b"=" in item
            )  # fmt: skip
        except OSError:
            continue
        displays = dict(reversed(line.split()) for line in displays_of(out))
        return int(displays[environ[b"DISPLAY"].decode()])
    return 0


def test_a_failed_task_is_recorded_once_a_dead_display_is_retried_elsewhere(
    tmp_path: Path,
) -> None:
    task = task_copy(tmp_path)
    rows = rows_file(
        tmp_path,
        [
            {"button": "Alpha", "mode": "normal"},
            {"button": "Golf", "mode": "normal"},  # no such button: the task fails
            {"button": "Charlie", "mode": "crash"},  # the app dies at launch: an error
            {"button": "Delta", "mode": "slow"},  # its display is killed under it
        ],
    )
    out = tmp_path / "out"
    running = subprocess.Popen(
        batch_command(task, rows, out, "--desktops", "2"),
        env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        xvfb = wait_until(lambda: _display_of("button=Delta", out), 300, "the slow row's run")
        os.kill(xvfb, signal.SIGKILL)
        stdout, stderr = running.communicate(timeout=600)
    finally:
        ended(running)
    assert running.returncode == 4, stdout + stderr  # a row ended in an error
    by_row = {r["row"]: r for r in results(out)}
    assert sorted(by_row) == [1, 2, 3, 4] and len(results(out)) == 4
    assert by_row[1]["status"] == "done"
    assert (by_row[2]["status"], by_row[2]["attempts"]) == ("failed", 1)
    assert "Golf" in by_row[2]["message"]
    assert (by_row[3]["status"], by_row[3]["attempts"]) == ("error", 1)
    delta = by_row[4]
    assert (delta["status"], delta["attempts"]) == ("done", 2), delta
    pressed = json.loads((out / delta["trajectory"] / "pressed.json").read_text())
    assert pressed["pressed"] == "Delta"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["overall"] == {"passed": 2, "failed": 1, "error": 1}


def test_a_hanging_run_is_ended_at_its_max_seconds_with_its_app(tmp_path: Path) -> None:
    """A run waiting for a text that never shows is ended at ``--max-seconds`` (cleanly, or
    killed with its process group shortly after), its app with it; the rows beside it pass."""
    task = task_copy(tmp_path).with_name("press-wait.yaml")
    rows = rows_file(
        tmp_path,
        [
            {"button": "Alpha", "until": "Pressed Alpha"},
            {"button": "Bravo", "until": "Never shown"},
            {"button": "Charlie", "until": "Pressed Charlie"},
        ],
    )
    out = tmp_path / "out"
    done = batch(*batch_command(task, rows, out, "--desktops", "3", "--max-seconds", "45"))
    assert done.returncode == 1, done.stdout + done.stderr  # a task failed (ran out of time)
    by_row = {r["row"]: r for r in results(out)}
    assert by_row[1]["status"] == by_row[3]["status"] == "done"
    hung = by_row[2]
    assert (hung["status"], hung["attempts"]) == ("budget", 1), hung
    assert hung["seconds"] < 45 + 20 + 30  # the budget, the grace, a loaded machine
    app = json.loads((out / hung["trajectory"] / "pressed.json").read_text())
    assert app["pressed"] == "Bravo"
    wait_until(lambda: not alive(app["pid"]), 30, "the hung run's app ended")
