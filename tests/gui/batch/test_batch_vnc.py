"""``gui-agent batch --desktop vnc://... --desktop vnc://...``: two TigerVNC servers the user
serves, the Buttons app already running on each (a task on a VNC desktop launches nothing), one
row at a time on each. Every row presses its button; the VNC password (from the environment)
is in no file of the batch. A server killed mid-batch sends the row it was running to the other
desktop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gui.batch.test_batch_pool import (
    ENV,
    batch_command,
    ended,
    results,
    rows_file,
    task_copy,
)
from tests.gui.batch.test_batch_pool import wait_until as wait_for
from tests.gui.desktops.conftest import PASSWORD, ServerFactory, _servers

pytestmark = pytest.mark.gui

BUTTONS = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]


@pytest.fixture
def servers(virtual_display: Any, tmp_path: Path) -> Iterator[ServerFactory]:
    yield from _servers("xvnc", virtual_display, tmp_path)


@pytest.fixture
def two_desktops(servers: ServerFactory, tmp_path: Path) -> Iterator[list[Any]]:
    started, apps = [servers(), servers()], []
    for n, server in enumerate(started):
        state = tmp_path / f"state-{n}.json"
        apps.append(subprocess.Popen(
            [sys.executable, str(Path(__file__).parent / "press_task" / "buttons.py"),
             "--out", str(tmp_path / f"pressed-{n}.json"), "--state", str(state)],
            env=server.env,
        ))  # fmt: skip
        wait_for(state.exists, 60, "the app drawn on the VNC desktop")
    yield started
    for app in apps:
        app.kill()
        app.wait(30)


def run_batch(task: Path, rows: Path, out: Path, desktops: list[Any]) -> subprocess.Popen[str]:
    specs = [a for s in desktops for a in ("--desktop", f"vnc://127.0.0.1:{s.port}")]
    return subprocess.Popen(
        [*batch_command(task, rows, out, *specs, "--vnc-password-env", "BATCH_VNC_PW")],
        env={**os.environ, **ENV, "BATCH_VNC_PW": PASSWORD},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_rows_on_two_vnc_desktops(two_desktops: list[Any], tmp_path: Path) -> None:
    task = task_copy(tmp_path).with_name("vnc-press.yaml")
    rows = rows_file(tmp_path, [{"button": b} for b in BUTTONS[:4]])
    out = tmp_path / "out"
    running = run_batch(task, rows, out, two_desktops)
    stdout, stderr = running.communicate(timeout=600)
    assert running.returncode == 0, stdout + stderr
    lines = results(out)
    assert sorted(r["row"] for r in lines) == [1, 2, 3, 4]
    assert all((r["status"], r["attempts"]) == ("done", 1) for r in lines)
    desktops = {f"vnc://127.0.0.1:{s.port}" for s in two_desktops}
    assert {r["desktop"] for r in lines} == desktops  # both used, one row at a time each
    for path in out.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_vnc_server_killed_mid_batch(two_desktops: list[Any], tmp_path: Path) -> None:
    task = task_copy(tmp_path).with_name("vnc-press.yaml")
    rows = rows_file(tmp_path, [{"button": b} for b in BUTTONS])
    out = tmp_path / "out"
    alive, dead = two_desktops
    running = run_batch(task, rows, out, two_desktops)
    try:
        wait_for(lambda: results(out), 300, "a first row finished")
        dead.kill()  # Xvnc: the VNC server and its display, gone
        stdout, stderr = running.communicate(timeout=600)
    finally:
        ended(running)
    assert running.returncode == 0, stdout + stderr
    lines = results(out)
    assert sorted(r["row"] for r in lines) == [1, 2, 3, 4, 5, 6]
    assert all(r["status"] == "done" for r in lines), json.dumps(lines, indent=1)
    retried = [r for r in lines if r["attempts"] == 2]
    assert retried and all(r["desktop"] == f"vnc://127.0.0.1:{alive.port}" for r in retried)
