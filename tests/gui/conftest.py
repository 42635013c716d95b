"""Fixtures for GUI tests: private Xvfb displays, xdotool, and the Tk test app.

A missing tool (Xvfb, xdotool) skips the test on a developer machine, but FAILS it when the
environment variable CI is set: nothing is skipped silently in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pytest

from agent.screen.xvfb import Monitor, VirtualDisplay, XvfbNotFoundError
from agent.testing.tk_app import TkApp

ROOT = Path(__file__).resolve().parents[2]
DisplayFactory = Callable[..., VirtualDisplay]
AppFactory = Callable[..., TkApp]
Xdotool = Callable[..., None]


def missing_tool(message: str) -> NoReturn:
    """Skip locally; fail when CI is set (in any form), so CI never skips GUI tests."""
    if "CI" in os.environ:
        pytest.fail(f"{message} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def virtual_display() -> Iterator[DisplayFactory]:
    """Factory: ``virtual_display(width, height, monitors=None)`` -> a started VirtualDisplay."""
    started: list[VirtualDisplay] = []

    def start(
        width: int = 1920, height: int = 1080, monitors: Sequence[Monitor] | None = None
    ) -> VirtualDisplay:
        display = VirtualDisplay(width, height, monitors=monitors)
        try:
            display.start()
        except XvfbNotFoundError as exc:
            missing_tool(f"Xvfb is not installed: {exc}")
        started.append(display)
        return display

    yield start
    for display in reversed(started):
        display.stop()


@pytest.fixture
def xdotool() -> Xdotool:
    """``xdotool(display, "mousemove", "10", "20", "click", "1")``: run it against a display."""
    exe = shutil.which("xdotool")
    if exe is None:
        missing_tool("xdotool is not installed (Debian: apt install xdotool)")

    def run(display: VirtualDisplay, *args: str) -> None:
        subprocess.run(
            [exe, *args], env=display.env, check=True, timeout=30, stdout=subprocess.DEVNULL
        )

    return run


@pytest.fixture
def tk_app(tmp_path: Path) -> Iterator[AppFactory]:
    """Factory: ``tk_app(display, x=100, y=100)`` -> a ready TkApp, closed at teardown."""
    apps: list[TkApp] = []

    def launch(display: VirtualDisplay, x: int = 100, y: int = 100) -> TkApp:
        app = TkApp.launch(display.env, tmp_path / f"tk_state_{len(apps)}.json", x=x, y=y)
        apps.append(app)
        return app

    yield launch
    for app in reversed(apps):
        app.close()


@pytest.fixture
def gui_agent() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``gui_agent(display, "run", ..., timeout=300, env={...}, cwd=DIR)``: the CLI as a user
    starts it, on ``display``, offline and single-threaded; ``env`` adds variables, ``cwd`` is
    the folder it runs in (default: the repository)."""

    def run(
        display: VirtualDisplay,
        *args: str,
        timeout: float = 300,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        environment = {
            **display.env,
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        }
        return subprocess.run(
            [sys.executable, "-m", "agent.cli", *args],
            env=environment,
            cwd=cwd,
            text=True,
            capture_output=True,
            timeout=timeout,
        )

    return run


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium: Playwright driving Debian's chromium package (no browser download)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_tool("playwright is not installed (pip install -e '.[dev]')")
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        missing_tool("chromium is not installed (Debian: apt install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable)
        yield launched
        launched.close()
