"""The bundled task apps (``tasks/apps/*.py``) driven with real xdotool on a private Xvfb.

Each app runs as a subprocess with ``--state``; the tests wait for ``"ready": true`` and click
the centres of the widget boxes the app reports, the way an agent clicks what it reads on screen.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from agent.screen.xvfb import VirtualDisplay, wait_until

pytestmark = pytest.mark.gui

APPS = Path(__file__).resolve().parents[3] / "tasks" / "apps"
State = dict[str, Any]
DisplayFactory = Callable[..., VirtualDisplay]  # the fixtures in conftest.py
Xdotool = Callable[..., None]


class App:
    """One task app subprocess and its state file."""

    def __init__(
        self,
        display: VirtualDisplay,
        name: str,
        state_path: Path,
        *args: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.display = display
        self.state_path = state_path
        self.output: IO[bytes] = tempfile.TemporaryFile()
        child_env = display.env | (env or {})
        self.proc = subprocess.Popen(
            [sys.executable, str(APPS / f"{name}.py"), "--state", str(state_path), *args],
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )
        self.texts: list[str] = []  # every state file text seen, for "never written" checks

    def state(self) -> State:
        if self.proc.poll() is not None:
            raise RuntimeError(f"app exited with {self.proc.returncode}: {self.logs()}")
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        self.texts.append(text)
        data: State = json.loads(text)
        return data

    def wait_for(
        self, predicate: Callable[[State], object], what: str, timeout: float = 5.0
    ) -> State:
        last: State = {}

        def check() -> bool:
            nonlocal last
            last = self.state()
            return bool(last) and bool(predicate(last))

        try:
            wait_until(check, timeout, interval=0.02, what=what)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; last state: {last}; output: {self.logs()}") from None
        return last

    def center(self, widget: str) -> tuple[str, str]:
        x, y, w, h = self.state()["widgets"][widget]
        return str(x + w // 2), str(y + h // 2)

    def logs(self) -> str:
        self.output.seek(0)
        return self.output.read().decode("utf-8", "replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture
def display(virtual_display: DisplayFactory) -> VirtualDisplay:
    return virtual_display(1280, 800)


@pytest.fixture
def launch(tmp_path: Path, display: VirtualDisplay) -> Iterator[Callable[..., App]]:
    """``launch(name, *args, env=...)`` -> a ready App, terminated at teardown."""
    apps: list[App] = []

    def start(name: str, *args: str, env: dict[str, str] | None = None) -> App:
        app = App(display, name, tmp_path / f"{name}_{len(apps)}.state.json", *args, env=env)
        apps.append(app)
        app.wait_for(lambda s: s.get("ready") is True, f"{name} to be ready", timeout=8.0)
        return app

    yield start
    for app in reversed(apps):
        app.close()
        app.output.close()


def click(xdotool: Xdotool, app: App, widget: str) -> None:
    xdotool(app.display, "mousemove", *app.center(widget), "click", "1")


def test_preferences_label_focuses_field_and_save_writes_file(
    launch: Callable[..., App], xdotool: Xdotool, tmp_path: Path
) -> None:
    out = tmp_path / "prefs.json"
    app = launch("preferences", "--out", str(out), "--x", "120", "--y", "90")
    state = app.wait_for(lambda s: s["focus"] == "display_name", "initial focus")
    assert state["title"] == "Preferences"
    assert state["window"][:2] == [120, 90]
    assert state["status"] == "" and state["saved"] == 0 and not out.exists()
    click(xdotool, app, "email_label")
    app.wait_for(lambda s: s["focus"] == "email", "the Email label to focus its field")
    click(xdotool, app, "display_name_label")
    app.wait_for(lambda s: s["focus"] == "display_name", "the label to focus its field")
    xdotool(app.display, "type", "--delay", "20", "Ada")
    app.wait_for(lambda s: s["display_name"] == "Ada", "the typed name")
    click(xdotool, app, "save")
    state = app.wait_for(lambda s: s["saved"] == 1, "Save")
    assert state["status"] == "Saved"
    assert json.loads(out.read_text(encoding="utf-8")) == {
        "display_name": "Ada",
        "email": "",
        "newsletter": False,
    }
    assert '"display_name": "Ada"' in out.read_text(encoding="utf-8")  # what the task checks
    click(xdotool, app, "reset")
    state = app.wait_for(lambda s: s["status"] == "", "Reset")
    assert state["display_name"] == "" and state["email"] == ""


def test_preferences_ctrl_s_saves(
    launch: Callable[..., App], xdotool: Xdotool, tmp_path: Path
) -> None:
    out = tmp_path / "sub" / "prefs.json"
    app = launch("preferences", "--out", str(out))
    assert app.state()["window"][:2] == [80, 80]
    click(xdotool, app, "email")
    app.wait_for(lambda s: s["focus"] == "email", "the Email field focused")
    xdotool(app.display, "type", "--delay", "20", "ada@example.org")
    click(xdotool, app, "newsletter")
    app.wait_for(lambda s: s["newsletter"] is True, "the checkbox")
    xdotool(app.display, "key", "ctrl+s")
    state = app.wait_for(lambda s: s["saved"] == 1, "Ctrl+S")
    assert state["status"] == "Saved"
    assert json.loads(out.read_text(encoding="utf-8")) == {
        "display_name": "",
        "email": "ada@example.org",
        "newsletter": True,
    }


PASSWORD = "Tr0ub4dor-3"


def test_login_with_password_from_environment(launch: Callable[..., App], xdotool: Xdotool) -> None:
    app = launch("login", "--expect-env", "TASK_APP_PASSWORD", env={"TASK_APP_PASSWORD": PASSWORD})
    assert app.state()["title"] == "Sign in"
    click(xdotool, app, "username_label")
    app.wait_for(lambda s: s["focus"] == "username", "the Username label to focus its field")
    xdotool(app.display, "type", "--delay", "20", "ada")
    click(xdotool, app, "password_label")
    app.wait_for(lambda s: s["focus"] == "password", "the Password label to focus its field")
    xdotool(app.display, "type", "--delay", "20", PASSWORD)
    app.wait_for(lambda s: s["password_length"] == len(PASSWORD), "the typed password")
    click(xdotool, app, "sign_in")
    state = app.wait_for(lambda s: s["attempts"] == 1, "Sign in")
    assert state["signed_in"] is True and state["user"] == "ada"
    assert state["status"] == "Welcome, ada"
    assert state["password_length"] == 0  # cleared after the attempt
    assert app.texts and not any(PASSWORD in text for text in app.texts)
    app.close()
    assert PASSWORD not in app.logs()


def test_login_wrong_password_is_refused_and_never_written(
    launch: Callable[..., App], xdotool: Xdotool
) -> None:
    wrong = "guess-0xBEEF"
    app = launch("login", "--expect-env", "TASK_APP_PASSWORD", env={"TASK_APP_PASSWORD": PASSWORD})
    click(xdotool, app, "username")
    xdotool(app.display, "type", "--delay", "20", "ada")
    click(xdotool, app, "password")
    app.wait_for(lambda s: s["focus"] == "password", "the Password field focused")
    xdotool(app.display, "type", "--delay", "20", wrong)
    app.wait_for(lambda s: s["password_length"] == len(wrong), "the typed password")
    xdotool(app.display, "key", "Return")
    state = app.wait_for(lambda s: s["attempts"] == 1, "Return in the password field")
    assert state["signed_in"] is False and state["user"] is None
    assert state["status"] == "Wrong password"
    assert not any(wrong in text or PASSWORD in text for text in app.texts)
    app.close()
    assert wrong not in app.logs() and PASSWORD not in app.logs()


def test_login_password_file_and_empty_username(
    launch: Callable[..., App], xdotool: Xdotool, tmp_path: Path
) -> None:
    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    app = launch("login", "--password-file", str(secret))
    click(xdotool, app, "password")
    app.wait_for(lambda s: s["focus"] == "password", "the Password field focused")
    xdotool(app.display, "type", "--delay", "20", PASSWORD)
    click(xdotool, app, "sign_in")
    state = app.wait_for(lambda s: s["attempts"] == 1, "Sign in")
    assert state["signed_in"] is False and state["status"] == "Wrong password"
    assert not any(PASSWORD in text for text in app.texts)


def test_login_refuses_to_start_without_its_password(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}  # no DISPLAY needed: it fails before opening a window
    done = subprocess.run(
        [sys.executable, str(APPS / "login.py"), "--expect-env", "NOPE_X"],
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert done.returncode == 2 and "NOPE_X" in done.stderr


def test_invoice_mark_as_paid(launch: Callable[..., App], xdotool: Xdotool) -> None:
    app = launch("invoice")
    state = app.state()
    assert state["title"] == "Invoice" and state["total"] == "76.50"
    assert state["number"] == "INV-2041" and state["customer"] == "Ada Lovelace"
    assert state["paid"] is False and state["status"] == ""
    click(xdotool, app, "mark_paid")
    state = app.wait_for(lambda s: s["paid"] is True, "Mark as paid")
    assert state["status"] == "Paid"


def test_invoice_overrides(launch: Callable[..., App]) -> None:
    app = launch("invoice", "--number", "INV-7", "--customer", "Charles Babbage")
    state = app.state()
    assert state["number"] == "INV-7" and state["customer"] == "Charles Babbage"
    assert state["lines"][2] == "Punch cards 100 x 0.10 = 10.00"
