"""The exit codes of ``gui-agent``, in one place: one per final run status, and 2 for a usage or
configuration error (:class:`~agent.errors.ConfigurationError`); and :func:`sigterm_stops`, by
which a long command ends on SIGTERM as on Ctrl-C (aborted, 5)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

from agent.errors import Terminated
from agent.trajectory import RunStatus

__all__ = ["EXIT_CODES", "USAGE_ERROR", "sigterm_stops"]

#: exit code per final run status; 2 is a usage or configuration error
EXIT_CODES: dict[RunStatus, int] = {
    "done": 0,
    "failed": 1,
    "max_steps": 3,
    "budget": 3,
    "error": 4,
    "aborted": 5,
}

#: bad usage or configuration (argparse exits with it too)
USAGE_ERROR = 2


@contextlib.contextmanager
def sigterm_stops() -> Iterator[None]:
    """SIGTERM raises :class:`~agent.errors.Terminated` (a KeyboardInterrupt) in the main thread
    while the block runs, so a command stops on it as on Ctrl-C."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated("terminated (SIGTERM)")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
