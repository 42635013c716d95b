"""What a recorded run holds for a replay: the steps that were carried out, where their points
lay (in the recorded capture's pixels, or as fractions of it: the one conversion,
:func:`~agent.geometry.to_model`), and the secrets they typed (by placeholder)."""

from __future__ import annotations

import re

from actions.schema import TypeText
from agent.geometry import CoordinateSpace, Point, to_model
from agent.trajectory import StepRecord, Trajectory

__all__ = ["fraction", "replayable", "secrets_typed"]


def replayable(trajectory: Trajectory) -> list[StepRecord]:
    """The recorded steps that were carried out (:meth:`StepRecord.actions_run`) with the frame
    and monitor their points are converted through."""
    return [
        s
        for s in trajectory.steps
        if s.actions_run() and s.frame is not None and s.monitor is not None
    ]


def secrets_typed(trajectory: Trajectory, steps: list[StepRecord]) -> list[str]:
    """The names of the recording's secrets that ``steps`` type (as ``{NAME}`` placeholders)."""
    names = trajectory.meta.settings.get("secrets") or []
    typed = " ".join(a.text for s in steps for a in s.actions_run() if isinstance(a, TypeText))
    return [n for n in names if re.search(r"\{" + re.escape(n) + r"\}", typed)]


def fraction(point: Point, step: StepRecord) -> Point:
    """A recorded screen point as fractions of the recorded capture (REL1)."""
    assert step.frame is not None and step.monitor is not None
    return to_model(point, step.frame.frame(), step.monitor.monitor(), CoordinateSpace.REL1)
