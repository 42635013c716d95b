"""Exceptions, split by who has to act on them.

::

    AgentError                      root of everything this library raises on purpose
    ├── ModelError                  the MODEL must act: fed back to it with the reason, retried
    │   ├── ParseError              its answer could not be read as an action
    │   ├── OutOfBounds             a point outside the image it saw or the monitor
    │   ├── Refused                 the safety policy (or the user asked to confirm) refused
    │   │                           the step: deny list, region, bounds, repeated action
    │   └── NotFound                the grounder found nothing matching a script's target
    ├── ConfigurationError          the DEVELOPER must act: bad flag, missing model, no display
    │   └── FrameMismatch           the frame the model saw differs from the one computed
    └── RunError                    the RUN ends
        ├── CaptureError            the screen could not be captured (display gone, mss failed)
        ├── ExecutionError          an action could not be carried out on the desktop
        ├── BackendError            the model backend failed (out of memory, server down)
        ├── RecordingError          the trajectory cannot be written (unwritable, disk full)
        ├── BudgetExceeded          a budget ran out: wall time, model calls, tokens
        ├── LoopDetected            the same action on an unchanged screen, again after a warning
        ├── Aborted                 stopped on purpose: pyautogui fail-safe, Ctrl-C, SIGTERM,
        │                           a stop file
        └── ScriptError             a script's expectation did not hold (the SCRIPT must act)
            ├── WaitTimeout         ``wait_for`` saw no match before its timeout
            └── AssertionFailed     ``assert_visible``/a task check did not hold

The loop catches :class:`ModelError` and tells the model; it lets the others end the run with a
status that is recorded in the trajectory (``budget`` for BudgetExceeded, ``failed`` for
LoopDetected, ``aborted`` for Aborted, ``error`` otherwise). The CLI maps the classes to exit
codes: ConfigurationError 2, every other error 1 (see ``agent.cli.main``).

Ctrl-C (KeyboardInterrupt) and SIGTERM (:class:`Terminated`, a KeyboardInterrupt raised by the
handler :func:`sigterm_raises` installs for a run, a batch, a server) are not AgentErrors: code
that catches ``Exception`` cannot swallow them.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

__all__ = [
    "sigterm_raises",
    "AgentError",
    "Aborted",
    "AssertionFailed",
    "BackendError",
    "BudgetExceeded",
    "CaptureError",
    "ConfigurationError",
    "ExecutionError",
    "FrameMismatch",
    "LoopDetected",
    "ModelError",
    "NotFound",
    "OutOfBounds",
    "ParseError",
    "RecordingError",
    "Refused",
    "RunError",
    "ScriptError",
    "Terminated",
    "WaitTimeout",
]


class AgentError(Exception):
    """Root of the library's exceptions."""


class ModelError(AgentError):
    """The model produced something unusable; the reason is shown to it on the next try."""


class ParseError(ModelError):
    """The model's answer could not be read as an action."""


class OutOfBounds(ModelError):
    """A point lies outside the image the model saw or outside the monitor."""


class Refused(ModelError):
    """The safety policy refused the step before any of its actions ran."""


class NotFound(ModelError):
    """Nothing on the screen matches a target. ``screenshot`` is the capture it was looked for
    in (a trajectory file), when there is one."""

    def __init__(self, message: str, screenshot: Path | None = None) -> None:
        super().__init__(message + (f" (screenshot {screenshot})" if screenshot else ""))
        self.screenshot = screenshot


class ConfigurationError(AgentError):
    """The developer must fix something: a flag, a path, the environment."""


class FrameMismatch(ConfigurationError):
    """The frame the model saw (image_grid_thw) differs from the one smart_resize computed."""


class RunError(AgentError):
    """The run cannot go on."""


class CaptureError(RunError):
    """The screen could not be captured."""


class ExecutionError(RunError):
    """The desktop refused or failed an action."""


class BackendError(RunError):
    """The model backend failed."""


class RecordingError(RunError):
    """The trajectory could not be written; the run stops before acting unrecorded."""


class BudgetExceeded(RunError):
    """A run budget (wall time, model calls, tokens) is spent."""


class LoopDetected(RunError):
    """The model repeated an action on an unchanged screen after being told it had no effect."""


class Aborted(RunError):
    """The run was stopped on purpose (fail-safe, interrupt, stop file)."""


class ScriptError(RunError):
    """A script's expectation about the screen did not hold. ``screenshot``: the last capture."""

    def __init__(self, message: str, screenshot: Path | None = None) -> None:
        super().__init__(message + (f" (screenshot {screenshot})" if screenshot else ""))
        self.screenshot = screenshot


class WaitTimeout(ScriptError):
    """``wait_for`` did not see its target before the timeout."""


class AssertionFailed(ScriptError):
    """An assertion about the screen (``assert_visible``, a task check) is false."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; raised in the main thread like Ctrl-C, so nothing swallows it."""


@contextlib.contextmanager
def sigterm_raises(noted: Callable[[], None] | None = None) -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` in the main thread (after
    ``noted``), so a run, a batch or a server stops on it as on Ctrl-C. Off the main thread it
    does nothing: signals are handled in the main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if noted is not None:
            noted()
        raise Terminated("terminated (SIGTERM)")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
