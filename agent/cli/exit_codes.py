"""The exit codes of ``gui-agent``, in one place: one per final run status, and 2 for a usage or
configuration error (:class:`~agent.errors.ConfigurationError`)."""

from __future__ import annotations

from agent.trajectory import RunStatus

__all__ = ["EXIT_CODES", "USAGE_ERROR"]

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

