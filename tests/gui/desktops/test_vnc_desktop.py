"""Runs on a VNC desktop, as a user runs them: ``gui-agent run --task ... --desktop vnc://...``
against x11vnc serving a private Xvfb and TigerVNC's Xvnc, with the bundled Preferences app, a
Tk test app and a Chromium page on the served display. The test's own display (the one the CLI
is started on, standing for the user's screen) must see no pointer movement and no window.

A task and its cache hit, a replay, Unicode text and key combos through the loop, a server killed
mid-run (the run ends ``error`` within seconds, the trajectory closed), a wrong password (exit 2
at once, one line), and the password in no file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actions.executor import DryRunExecutor
from agent.desktops.connect import open_desktop
from agent.loop import Agent
from agent.models.scripted import ScriptedBackend
from agent.screen.xvfb import VirtualDisplay, wait_until
from agent.styles.qwen25vl import Qwen25VLComputerUse
from agent.testing.tk_app import TkApp
from agent.trajectory import load_trajectory
from tests.gui.conftest import ROOT, missing_tool
from tests.gui.desktops.conftest import PASSWORD, Server, ServerFactory

pytestmark = pytest.mark.gui

both = pytest.mark.parametrize("vnc_server", ["x11vnc", "xvnc"], indirect=True)
SIZE = (1280, 800)
PASSWORD_VARIABLE = "TEST_VNC_PASSWORD"
TASK = """\
name: vnc-preferences
steps:
  - click: Display name
  - type: Ada
  - click: Save
  - wait_for: {target: Saved, timeout_s: 10}
check:
  - visible: Saved
"""


class LocalScreen:
    """The display the CLI runs on (the user's, in real life): its pointer and its windows."""

    def __init__(self, display: VirtualDisplay) -> None:
        self.display = display
        self.before = self.look()

    def look(self) -> tuple[str, str]:
        xdotool = shutil.which("xdotool") or missing_tool("xdotool is not installed")
        env = self.display.env
        def ask(*args: str) -> str:
            done = subprocess.run([xdotool, *args], env=env, capture_output=True, text=True,
                                  timeout=10)  # fmt: skip
            return done.stdout.strip()

        return ask("getmouselocation"), ask("search", "--onlyvisible", "--name", "")

    def untouched(self) -> bool:
        return self.look() == self.before


class Preferences:
    """The bundled Preferences app on the served display, started afresh for each run."""

    def __init__(self, server: Server, folder: Path) -> None:
        self.server, self.folder = server, folder
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.stop()
        state = self.folder / "app.json"
        state.unlink(missing_ok=True)
        (self.folder / "prefs.json").unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tasks" / "apps" / "preferences.py"), "--out",
             str(self.folder / "prefs.json"), "--state", str(state), "--x", "80", "--y", "80"],
            env=self.server.env, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: state.exists() and json.loads(state.read_text())["ready"], 15,
                   what="the Preferences app on the VNC display")  # fmt: skip

    def saved_name(self) -> str:
        name: str = json.loads((self.folder / "prefs.json").read_text())["display_name"]
        return name

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def preferences(tmp_path: Path) -> Iterator[Callable[[Server], Preferences]]:
    apps: list[Preferences] = []

    def start(server: Server) -> Preferences:
        app = Preferences(server, tmp_path / f"app{len(apps)}")
        app.folder.mkdir()
        apps.append(app)
        app.start()
        return app

    yield start
    for app in apps:
        app.stop()


def no_file_holds(folder: Path, secret: str) -> bool:
    return not [p for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@both
def test_a_task_its_cache_hit_and_its_replay_on_a_vnc_desktop(
    vnc_server: ServerFactory,
    preferences: Callable[[Server], Preferences],
    virtual_display: Callable[..., VirtualDisplay],
    gui_agent: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    server = vnc_server(SIZE)
    app = preferences(server)
    local = LocalScreen(virtual_display(640, 480))
    task = tmp_path / "vnc-preferences.yaml"
    task.write_text(TASK)
    desktop = ("--desktop", f"vnc://127.0.0.1:{server.port}", "--vnc-password-env",
               PASSWORD_VARIABLE)  # fmt: skip
    env = {PASSWORD_VARIABLE: PASSWORD}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = gui_agent(local.display, *args, *desktop, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    run("run", "--task", str(task), "--backend", "ocr", "--settle", "0.1", "--out",
        str(tmp_path / "first"))  # fmt: skip
    assert app.saved_name() == "Ada"
    first = load_trajectory(tmp_path / "first")
    assert first.meta.desktop == {
        "kind": "vnc", "name": f"vnc://127.0.0.1:{server.port}", "width": SIZE[0],
        "height": SIZE[1], "host": "127.0.0.1", "port": server.port,
    }  # fmt: skip
    located = [t for s in first.steps for t in s.targets if t.key]
    assert [t.located_by for t in located] == ["ocr", "ocr"]

    app.start()
    run("run", "--task", str(task), "--backend", "ocr", "--settle", "0.1", "--out",
        str(tmp_path / "second"))  # fmt: skip
    assert app.saved_name() == "Ada"
    second = load_trajectory(tmp_path / "second")
    assert [t.cache for s in second.steps for t in s.targets if t.key] == ["hit", "hit"]

    app.start()
    run("replay", str(tmp_path / "first"), "--out", str(tmp_path / "replayed"))
    assert app.saved_name() == "Ada"
    assert load_trajectory(tmp_path / "replayed").meta.status == "done"

    assert local.untouched()
    assert no_file_holds(tmp_path, PASSWORD[:8])


@both
def test_unicode_text_and_key_combos_through_the_loop(
    vnc_server: ServerFactory, tmp_path: Path
) -> None:
    server = vnc_server((640, 480))
    app = TkApp.launch(server.env, tmp_path / "tk.json", x=100, y=100)
    try:
        ex, ey = app.center("entry")
        text = "héllo 中文 <x>"
        answers = [
            f'<tool_call>\n{{"name": "computer_use", "arguments": {json.dumps(a)}}}\n</tool_call>'
            for a in (
                {"action": "left_click", "coordinate": [ex, ey]},
                {"action": "type", "text": text},
                {"action": "key", "keys": ["ctrl", "a"]},
                {"action": "terminate", "status": "success"},
            )
        ]
        backend = ScriptedBackend(answers, min_pixels=640 * 480, max_pixels=640 * 480)
        with open_desktop(f"vnc://127.0.0.1:{server.port}", password=PASSWORD) as desktop:
            agent = Agent(backend, Qwen25VLComputerUse(), desktop.executor, desktop.screen,
                          out=tmp_path / "run", max_steps=5)  # fmt: skip
            result = agent.run("type into the entry")
        assert result.status == "done", result.message
        state = app.wait_for(lambda s: s["entry_text"] == text and "Control-a" in s["keys"],
                             10, "the text and ctrl+a")  # fmt: skip
        assert state["entry_text"] == text
    finally:
        app.close()


@both
def test_a_server_killed_mid_run_ends_it_error_within_seconds(
    vnc_server: ServerFactory, tmp_path: Path
) -> None:
    server = vnc_server((640, 480))
    wait = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "wait", "time": 0.1}}' \
        "\n</tool_call>"
    backend = ScriptedBackend([wait] * 50, min_pixels=640 * 480, max_pixels=640 * 480)
    with open_desktop(f"vnc://127.0.0.1:{server.port}", password=PASSWORD) as desktop:
        agent = Agent(backend, Qwen25VLComputerUse(), desktop.executor, desktop.screen,
                      out=tmp_path / "run", max_steps=50)  # fmt: skip
        steps = agent.steps("wait")
        next(steps)
        server.kill()
        killed = time.monotonic()
        rest = list(steps)
        last = rest[-1] if rest else None
        took = time.monotonic() - killed
    assert last is not None and last.status == "error", last
    assert took < 8, took
    meta = load_trajectory(tmp_path / "run").meta
    assert meta.status == "error" and meta.ended_at is not None


@both
def test_a_wrong_password_exits_2_at_once_in_one_line(
    vnc_server: ServerFactory,
    virtual_display: Callable[..., VirtualDisplay],
    gui_agent: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    server = vnc_server((640, 480))
    task = tmp_path / "vnc-preferences.yaml"
    task.write_text(TASK)
    start = time.monotonic()
    done = gui_agent(
        virtual_display(320, 200), "run", "--task", str(task), "--backend", "ocr",
        "--desktop", f"vnc://127.0.0.1:{server.port}", "--vnc-password-env", PASSWORD_VARIABLE,
        "--out", str(tmp_path / "run"), env={PASSWORD_VARIABLE: "wrong-pw"},
    )  # fmt: skip
    assert time.monotonic() - start < 20  # the CLI's imports included; the refusal is ~0.1 s
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()[-1:]
    assert "refused" in line and "wrong-pw" not in done.stderr + done.stdout


def test_a_chromium_page_on_a_vnc_display(
    request: pytest.FixtureRequest,
    virtual_display: Callable[..., VirtualDisplay],
    gui_agent: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    """Chromium (Debian's) on TigerVNC's Xvnc: the button found by its words and clicked."""
    chromium = shutil.which("chromium") or missing_tool("chromium is not installed")
    factory: Any = request.getfixturevalue("vnc_server_xvnc")
    server: Server = factory(SIZE)
    page = tmp_path / "page.html"
    page.write_text(
        "<!doctype html><title>vnc</title><body style='font:24px sans-serif;margin:60px'>"
        "<h1 id=h>Waiting</h1><button style='font:28px sans-serif;padding:12px 30px' "
        "onclick=\"document.getElementById('h').textContent='Delivered'\">Send now</button>"
    )
    browser = subprocess.Popen(
        [chromium, "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-position=0,0",
         f"--window-size={SIZE[0]},{SIZE[1]}", f"--app=file://{page}"],
        env=server.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        task = tmp_path / "send.yaml"
        task.write_text("name: send\nsteps:\n  - wait_for: {target: Send now, timeout_s: 30}\n"
                        "  - click: Send now\n  - wait_for: {target: Delivered, timeout_s: 10}\n"
                        "check:\n  - visible: Delivered\n")  # fmt: skip
        done = gui_agent(
            virtual_display(320, 200), "run", "--task", str(task), "--backend", "ocr",
            "--desktop", f"vnc://127.0.0.1:{server.port}", "--vnc-password-env",
            PASSWORD_VARIABLE, "--out", str(tmp_path / "run"), env={PASSWORD_VARIABLE: PASSWORD},
            timeout=240,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        browser.terminate()
        browser.wait(10)


def test_a_dry_run_on_vnc_sends_nothing(vnc_server_xvnc: Any, tmp_path: Path) -> None:
    server: Server = vnc_server_xvnc((640, 480))
    with open_desktop(f"vnc://127.0.0.1:{server.port}", password=PASSWORD, dry_run=True) as d:
        assert isinstance(d.executor, DryRunExecutor)
        assert d.screen.capture().image.size == (640, 480)
