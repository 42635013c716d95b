"""What a recorded run holds for a replay: the steps that were carried out, where their points
lay (in the recorded capture's pixels, or as fractions of it: the one conversion,
:func:`~agent.geometry.to_model`), and the secrets they typed (by placeholder)."""

from __future__ import annotations

import re

from actions.schema import TypeText
from agent.geometry import CoordinateSpace, ModelFrame, Point, to_model
from agent.trajectory import StepRecord, Trajectory

__all__ = ["capture_pixel", "fraction", "replayable", "secrets_typed"]


def replayable(trajectory: Trajectory) -> list[StepRecord]:
    """The recorded steps that were carried out: actions executed, every one ok, no error."""
    return [
        s
        for s in trajectory.steps
        if s.executed
        and s.error is None
        and not s.interrupted
        and s.frame is not None
        and s.monitor is not None
        and len(s.results) == len(s.executed)
        and all(r.ok for r in s.results)
    ]


def secrets_typed(trajectory: Trajectory, steps: list[StepRecord]) -> list[str]:
    """The names of the recording's secrets that ``steps`` type (as ``{NAME}`` placeholders)."""
    names = trajectory.meta.settings.get("secrets") or []
    typed = " ".join(a.text for s in steps for a in s.executed if isinstance(a, TypeText))
    return [n for n in names if re.search(r"\{" + re.escape(n) + r"\}", typed)]


def capture_pixel(point: Point, step: StepRecord) -> tuple[float, float]:
    """Where a recorded screen point lay in the recorded capture (its pixels)."""
    assert step.frame is not None and step.monitor is not None
    frame = step.frame.frame()
    capture = ModelFrame.identity(frame.source_width, frame.source_height)
    return to_model(point, capture, step.monitor.monitor()).xy()


def fraction(point: Point, step: StepRecord) -> Point:
    """A recorded screen point as fractions of the recorded capture (REL1)."""
    assert step.frame is not None and step.monitor is not None
    return to_model(point, step.frame.frame(), step.monitor.monitor(), CoordinateSpace.REL1)
