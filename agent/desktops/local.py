"""The local desktop: the display this process runs on, through mss and pyautogui (the default,
today's behaviour: the run takes over this machine's mouse and keyboard)."""

from __future__ import annotations

from actions.executor import DryRunExecutor, Executor, PyAutoGUIExecutor
from agent.desktops.base import DesktopConnection, DesktopSpec
from agent.screen.capture import MonitorChoice, Screen

__all__ = ["LocalDesktop"]


class LocalDesktop(DesktopConnection):
    """``monitor`` and ``scale`` as for :class:`~agent.screen.capture.Screen`; ``dry_run``: actions
    are checked and recorded, never executed."""

    def __init__(
        self,
        *,
        monitor: MonitorChoice = "primary",
        scale: float | None = None,
        settle_s: float = 0.05,
        dry_run: bool = False,
    ) -> None:
        screen = Screen(monitor, scale=scale)
        executor: Executor = DryRunExecutor() if dry_run else PyAutoGUIExecutor(settle_s=settle_s)
        super().__init__(DesktopSpec("local"), screen, executor)
