"""``gui-agent demo``: the product's main job on any machine, without touching the user's screen.

:func:`run_demo` starts a private virtual display (Xvfb), runs a bundled task file on it (its
small Tk app from ``tasks/apps/``: launch, steps, checks) through the whole product (the loop,
the policy, pyautogui and mss bound to that display, the recorder), writes the trajectory's
HTML viewer and returns every check's verdict. The bundled tasks are package data, found by
:mod:`agent.scripts.bundled`, so the demo runs from an installed wheel in any folder. The
user's own mouse, keyboard and screen are never used: the executor and the screen are bound to
the private display by name, and the app is launched with its ``DISPLAY``. With no model the
grounder is the offline OCR grounder, so the demo does its job on a fresh machine with no
network, GPU or display; with a model (a backend and its style) the same task runs through the
VLM.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actions.executor import PyAutoGUIExecutor
from agent.errors import ConfigurationError
from agent.grounding.base import Grounder
from agent.models.base import Backend
from agent.runs.viewer import write_viewer
from agent.screen.capture import Screen
from agent.screen.xvfb import VirtualDisplay, XvfbError
from agent.scripts.bundled import bundled_task
from agent.scripts.desktop import Desktop
from agent.scripts.task_file import load_task
from agent.scripts.task_runner import CheckResult, run_task
from agent.styles.base import Style
from agent.trajectory import RunStatus

__all__ = ["DEMO_TASK", "DemoResult", "bundled_task", "private_display", "run_demo"]

DEMO_TASK = "save-preferences"
SCREEN_SIZE = (1280, 800)
_MISSING = {
    "Xvfb": "xvfb",
    "xdotool": "xdotool",
}


@dataclass(frozen=True)
class DemoResult:
    status: RunStatus
    message: str
    checks: list[CheckResult]
    trajectory: Path
    report: Path
    """the viewer page of the trajectory"""
    grounder: str

    @property
    def ok(self) -> bool:
        return self.status == "done"


def _check_tools() -> None:
    for tool, package in _MISSING.items():
        if shutil.which(tool) is None:
            raise ConfigurationError(
                f"{tool} is not installed: the demo needs it (Debian: apt-get install {package})"
            )


@contextmanager
def private_display(size: tuple[int, int] = SCREEN_SIZE) -> Iterator[VirtualDisplay]:
    """A started private Xvfb, stopped afterwards; ConfigurationError (one line) if it cannot
    start."""
    display = VirtualDisplay(*size)
    try:
        display.start()
    except (OSError, XvfbError) as exc:  # XvfbNotFoundError is a FileNotFoundError
        raise ConfigurationError(f"cannot start a private display: {exc}") from exc
    try:
        yield display
    finally:
        display.stop()


def run_demo(
    out: Path | str,
    *,
    model: Backend | Grounder | None = None,
    style: Style | None = None,
    task: str = DEMO_TASK,
    progress: Callable[[str], None] = lambda line: None,
    settle_s: float = 0.1,
    stop_file: Path | str | None = None,
    private: bool = True,
    settings: dict[str, Any] | None = None,
) -> DemoResult:
    """Run the bundled ``task`` on a private virtual display and record it into ``out``.

    ``model``: a backend with its ``style``, or a grounder; None: the offline OCR grounder.
    ``stop_file``: the run stops before its next action once this file exists (``aborted``).
    ``private=False``: on the real display (``$DISPLAY``) instead, for a caller that asked
    its user. ``settings`` go into the trajectory's meta. Raises ConfigurationError (one line)
    when Xvfb or xdotool is missing for a private display.
    """
    if private:
        _check_tools()
    path = bundled_task(task)
    if model is None:
        from agent.grounding.ocr import OCRGrounder

        model, style = OCRGrounder(), None
    out = Path(out)
    grounder = model
    with private_display() if private else nullcontext() as display:
        name = display.name if display is not None else None
        with (
            Screen(display=name) as screen,
            PyAutoGUIExecutor(settle_s=settle_s, display=name) as executor,
        ):

            def desktop(directory: Path) -> Desktop:
                return Desktop(
                    grounder,
                    style,
                    screen=screen,
                    executor=executor,
                    out=directory,
                    name=path.stem,
                    stop_file=stop_file,
                    settings={"demo": True, "display": name or "real", **(settings or {})},
                )

            if display is not None:
                progress(f"private display {name} ({SCREEN_SIZE[0]}x{SCREEN_SIZE[1]})")
            else:
                progress(f"real display {os.environ.get('DISPLAY', '')}".rstrip())
            result = run_task(
                load_task(path), desktop, out, screen=screen, progress=progress,
                app_env=display.env if display is not None else None,
            )  # fmt: skip
    report = write_viewer(out)
    return DemoResult(
        result.status, result.message, result.checks, out, report, model.model
    )  # fmt: skip
