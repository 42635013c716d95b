"""``gui-agent demo``: the product's main job on any machine, without touching the user's screen.

:func:`run_demo` opens a desktop (by default a private virtual display, ``private:1280x800``:
:func:`agent.desktops.connect.open_desktop`), runs a bundled task file on it (its small Tk app
from ``tasks/apps/``: launch, steps, checks) through the whole product (the loop, the policy,
the screen and executor of that desktop, the recorder), writes the trajectory's HTML viewer and
returns every check's verdict. The bundled tasks are package data, found by
:mod:`agent.scripts.bundled`, so the demo runs from an installed wheel in any folder. On a
private display the user's own mouse, keyboard and screen are never used: the executor and the
screen are bound to it by name, and the app is launched with its ``DISPLAY``. With no model the
grounder is the offline OCR grounder, so the demo does its job on a fresh machine with no
network, GPU or display; with a model (a backend and its style) the same task runs through the
VLM.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.desktops.base import DesktopConnection, DesktopSpec
from agent.desktops.connect import open_desktop
from agent.desktops.private import PrivateDesktop
from agent.grounding.base import Grounder
from agent.models.base import Backend
from agent.runs.viewer import write_viewer
from agent.scripts.bundled import bundled_task
from agent.scripts.desktop import Desktop
from agent.scripts.task_file import load_task
from agent.scripts.task_runner import CheckResult, check_launchable, run_task
from agent.styles.base import Style
from agent.trajectory import RunStatus

__all__ = ["DEMO_DESKTOP", "DEMO_TASK", "DemoResult", "bundled_task", "desktop_line", "run_demo"]

DEMO_TASK = "save-preferences"
DEMO_DESKTOP = "private:1280x800"


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


def desktop_line(desktop: DesktopConnection) -> str:
    """One progress line naming the desktop a run drives (never a password)."""
    monitor = desktop.screen.monitor
    if isinstance(desktop, PrivateDesktop):
        return f"private display {desktop.name} ({monitor.width}x{monitor.height})"
    if desktop.spec.kind == "local":
        return f"real display: {monitor.describe()}"
    return f"desktop {desktop.spec.describe()} ({monitor.width}x{monitor.height})"


def run_demo(
    out: Path | str,
    *,
    model: Backend | Grounder | None = None,
    style: Style | None = None,
    task: str = DEMO_TASK,
    progress: Callable[[str], None] = lambda line: None,
    settle_s: float = 0.1,
    stop_file: Path | str | None = None,
    desktop: DesktopConnection | DesktopSpec | str = DEMO_DESKTOP,
    settings: dict[str, Any] | None = None,
) -> DemoResult:
    """Run the bundled ``task`` on ``desktop`` and record it into ``out``.

    ``model``: a backend with its ``style``, or a grounder; None: the offline OCR grounder.
    ``stop_file``: the run stops before its next action once this file exists (``aborted``).
    ``desktop``: an open :class:`~agent.desktops.base.DesktopConnection` (the caller closes it;
    ``settle_s`` is then the one it was opened with), or the name of one (``private[:WxH]``,
    the default; ``local``: the real display, for a caller that asked its user), opened here
    with ``settle_s`` and closed at the end (a private one without a VNC watch server: open it
    yourself with ``watch=True`` to watch). ``settings`` go into the trajectory's meta. Raises
    ConfigurationError (one line) when the desktop cannot be opened (Xvfb or xdotool missing for
    a private display) or cannot launch the task's app (VNC).
    """
    path = bundled_task(task)
    loaded = load_task(path)
    if model is None:
        from agent.grounding.ocr import OCRGrounder

        model, style = OCRGrounder(), None
    out = Path(out)
    grounder = model
    opened = (
        nullcontext(desktop)
        if isinstance(desktop, DesktopConnection)
        else open_desktop(desktop, settle_s=settle_s, watch=False)
    )
    with opened as connection:
        check_launchable(loaded, connection)

        def script(directory: Path) -> Desktop:
            return Desktop(
                grounder,
                style,
                desktop=connection,
                out=directory,
                name=path.stem,
                stop_file=stop_file,
                settings={"demo": True, **(settings or {})},
            )

        progress(desktop_line(connection))
        result = run_task(loaded, script, out, progress=progress, app_env=connection.app_env)
    report = write_viewer(out)
    return DemoResult(
        result.status, result.message, result.checks, out, report, model.model
    )  # fmt: skip
