"""Exceptions, split by who has to act on them.

::

    AgentError                      root of everything this library raises on purpose
    ├── ModelError                  the MODEL must act: fed back to it with the reason, retried
    │   ├── ParseError              its answer could not be read as an action
    │   └── OutOfBounds             a point outside the image it saw or the monitor
    ├── ConfigurationError          the DEVELOPER must act: bad flag, missing model, no display
    │   └── FrameMismatch           the frame the model saw differs from the one computed
    └── RunError                    the RUN ends
        ├── ExecutionError          an action could not be carried out on the desktop
        ├── BackendError            the model backend failed (out of memory, server down)
        └── Aborted                 stopped on purpose: pyautogui fail-safe, Ctrl-C, policy

The loop catches :class:`ModelError` and tells the model; it lets the others end the run with a
status (``error``/``aborted``) that is recorded in the trajectory.
"""

from __future__ import annotations

__all__ = [
    "AgentError",
    "Aborted",
    "BackendError",
    "ConfigurationError",
    "ExecutionError",
    "FrameMismatch",
    "ModelError",
    "OutOfBounds",
    "ParseError",
    "RunError",
]


class AgentError(Exception):
    """Root of the library's exceptions."""


class ModelError(AgentError):
    """The model produced something unusable; the reason is shown to it on the next try."""


class ParseError(ModelError):
    """The model's answer could not be read as an action."""


class OutOfBounds(ModelError):
    """A point lies outside the image the model saw or outside the monitor."""


class ConfigurationError(AgentError):
    """The developer must fix something: a flag, a path, the environment."""


class FrameMismatch(ConfigurationError):
    """The frame the model saw (image_grid_thw) differs from the one smart_resize computed."""


class RunError(AgentError):
    """The run cannot go on."""


class ExecutionError(RunError):
    """The desktop refused or failed an action."""


class BackendError(RunError):
    """The model backend failed."""


class Aborted(RunError):
    """The run was stopped on purpose (fail-safe, interrupt, policy)."""
