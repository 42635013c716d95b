"""``--desktop private`` and the command line's desktop errors, as a user meets them.

A task runs on a private display started for the run: its app opens there, the checks pass, the
trajectory's meta says ``private`` 1280x800, and the display this process was started on (a
virtual one standing in for the user's) never sees its pointer move. The watch server answers
on the address printed on stderr while the run goes, its password is in no file of the run, and
it is gone once the run ended. A VNC desktop nobody serves, an unset password variable and a
task that would launch an app on a VNC guest are each refused with exit code 2 and one line.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agent.screen.xvfb import VirtualDisplay
from agent.trajectory import load_trajectory
from tests.gui.conftest import ROOT, missing_tool

pytestmark = pytest.mark.gui

WATCH = re.compile(
    r"watch or take over with a VNC viewer: vnc://127\.0\.0\.1:(\d+) \(password (\S+)\)"
)
ERROR = "gui-agent: error: "


def xdotool() -> str:
    exe = shutil.which("xdotool")
    if exe is None:
        missing_tool("xdotool is not installed (Debian: apt install xdotool)")
    return exe


def pointer(display: VirtualDisplay) -> str:
    done = subprocess.run([xdotool(), "getmouselocation"], env=display.env, check=True,
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    return done.stdout.strip()


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_a_task_runs_on_a_private_desktop_watchable_and_the_local_display_untouched(
    virtual_display: Any, tmp_path: Path
) -> None:
    if shutil.which("x11vnc") is None:
        missing_tool("x11vnc is not installed (Debian: apt install x11vnc)")
    local = virtual_display(800, 600)
    subprocess.run([xdotool(), "mousemove", "123", "234"], env=local.env, check=True, timeout=30)
    before = pointer(local)
    here, out = tmp_path / "here", tmp_path / "run"
    here.mkdir()
    # the gui_agent fixture's environment, started with Popen to look in while the run goes
    env = {**os.environ, **local.env, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    command = ["run", "--task", "save-preferences", "--backend", "ocr", "--settle", "0.1",
               "--desktop", "private", "--out", str(out)]  # fmt: skip
    stdout_path = tmp_path / "stdout.txt"
    with (
        stdout_path.open("w") as stdout,
        subprocess.Popen(
            [sys.executable, "-m", "agent.cli", *command],
            env=env,
            cwd=here,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        ) as run,
    ):
        try:
            assert run.stderr is not None
            seen: list[str] = []
            for line in run.stderr:
                seen.append(line)
                if WATCH.search(line):
                    break
            found = WATCH.search(seen[-1]) if seen else None
            assert found is not None, "".join(seen)
            port, password = int(found[1]), found[2]
            with socket.create_connection(("127.0.0.1", port), timeout=5) as watcher:
                watcher.settimeout(5)
                assert watcher.recv(12).startswith(b"RFB 003.")  # a VNC server says hello
            rest = run.stderr.read()
            assert run.wait(timeout=300) == 0, "".join(seen) + rest + stdout_path.read_text()
        finally:
            if run.poll() is None:
                run.kill()
                run.wait(10)
    printed = stdout_path.read_text()
    assert printed.splitlines()[-1] == "done: every check passed", printed
    assert "desktop private:1280x800: monitor 1 1280x800+0+0 scale 1\n" in seen

    meta = load_trajectory(out).meta
    assert meta.status == "done" and meta.desktop is not None
    assert (meta.desktop["kind"], meta.desktop["width"], meta.desktop["height"]) == (
        "private",
        1280,
        800,
    )
    assert meta.desktop["name"] == "private:1280x800"
    assert (meta.monitor.width, meta.monitor.height) == (1280, 800)
    files = [p for p in [*out.rglob("*"), *here.rglob("*")] if p.is_file()]
    assert any(p.name == "meta.json" for p in files) and (out / "prefs.json").is_file()
    leaked = [str(p) for p in files if password.encode() in p.read_bytes()]
    assert leaked == [] and password not in printed

    deadline = time.monotonic() + 10
    while answers(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not answers(port), "the watch server outlived the run"
    assert pointer(local) == before


def test_a_vnc_server_nobody_serves_is_one_line_within_seconds(
    gui_agent: Any, virtual_display: Any, tmp_path: Path
) -> None:
    local = virtual_display(800, 600)
    started = time.monotonic()
    done = gui_agent(local, "run", "Click OK", "--model", "m", "--desktop", "vnc://127.0.0.1:1",
                     "--out", str(tmp_path / "run"), timeout=60)  # fmt: skip
    assert time.monotonic() - started < 20
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(ERROR) and "127.0.0.1:1" in line, line
    assert not (tmp_path / "run").exists()


def test_an_unset_password_variable_is_one_line_naming_it(
    gui_agent: Any, virtual_display: Any, tmp_path: Path
) -> None:
    local = virtual_display(800, 600)
    name = "GUI_AGENT_TEST_UNSET_PASSWORD"
    env = {k: v for k, v in os.environ.items() if k != name}
    done = gui_agent(local, "run", "--task", "save-preferences", "--backend", "ocr",
                     "--desktop", "vnc://127.0.0.1:5999", "--vnc-password-env", name,
                     env=env, cwd=tmp_path, timeout=60)  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(ERROR) and name in line and "unset" in line, line


def test_a_task_that_launches_an_app_is_refused_on_a_vnc_desktop(
    gui_agent: Any, virtual_display: Any, tmp_path: Path
) -> None:
    server = shutil.which("x11vnc")
    if server is None:
        missing_tool("x11vnc is not installed (Debian: apt install x11vnc)")
    guest = virtual_display(800, 600)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    vnc = subprocess.Popen(
        [server, "-display", guest.name, "-rfbport", str(port), "-localhost", "-nopw",
         "-forever", "-shared", "-quiet"],
        env=guest.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not answers(port):
            assert vnc.poll() is None and time.monotonic() < deadline, "x11vnc did not start"
            time.sleep(0.1)
        done = gui_agent(guest, "run", "--task", "save-preferences", "--backend", "ocr",
                         "--desktop", f"vnc://127.0.0.1:{port}", "--out", str(tmp_path / "run"),
                         cwd=tmp_path, timeout=60)  # fmt: skip
    finally:
        vnc.terminate()
        vnc.wait(10)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith(ERROR)]
    assert len(errors) == 1 and errors[0] == lines[-1], lines
    assert "start the app on the guest" in errors[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()
