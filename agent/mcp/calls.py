"""The deciders of the server's own calls, run as steps of the session's script
(:meth:`agent.scripts.desktop.Desktop.perform`), so they are recorded, reviewed and executed like
every other call.

:class:`ScreenshotCall` captures the desktop and makes the capped image the client gets
(:mod:`agent.mcp.snapshot`), recording its frame. :class:`FramedCall` carries out actions whose
points are in the pixels of the last screenshot the client got: the decision names that
screenshot's frame, so the loop converts them with :func:`~agent.geometry.to_screen` exactly as a
model's points, and a point off the image, or a screen whose size changed since, is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from actions.schema import Action, points_of
from agent.decision import Decision, Situation
from agent.errors import OutOfBounds
from agent.geometry import ModelFrame
from agent.mcp.snapshot import Snapshot, capped_frame, snapshot
from agent.trajectory import FrameRecord, Source, TargetRecord

__all__ = ["FramedCall", "ScreenshotCall"]


class ScreenshotCall:
    """Capture the desktop into a capped screenshot (in :attr:`taken` after the step)."""

    source: Source = "script"

    def __init__(self, max_side: int, max_bytes: int) -> None:
        self.max_side = max_side
        self.max_bytes = max_bytes
        self.taken: Snapshot | None = None

    def frame_for(self, width: int, height: int) -> ModelFrame:
        return capped_frame(width, height, self.max_side)

    def decide(self, situation: Situation) -> Decision:
        shot = situation.screenshot
        taken = self.taken = snapshot(shot.image, self.max_side, self.max_bytes)
        outcome = f"sent {taken.frame.width}x{taken.frame.height} PNG, {len(taken.png)} bytes"
        return Decision(
            actions=[],
            frame=taken.frame,
            source="script",
            notes=[f"screenshot: {outcome}"],
            targets=[
                TargetRecord(
                    verb="screenshot",
                    description="the desktop",
                    frame=FrameRecord.of(taken.frame),
                    outcome=outcome,
                )
            ],
        )


class FramedCall:
    """``actions`` whose points are in ``frame`` (a screenshot the client got)."""

    source: Source = "script"

    def __init__(
        self, verb: str, description: str, actions: Sequence[Action], frame: ModelFrame
    ) -> None:
        self.verb = verb
        self.description = description
        self.actions = list(actions)
        self.frame = frame

    def frame_for(self, width: int, height: int) -> ModelFrame:
        return self.frame

    def decide(self, situation: Situation) -> Decision:
        image, frame = situation.screenshot.image, self.frame
        if image.size != (frame.source_width, frame.source_height):
            raise OutOfBounds(
                f"the screen is captured at {image.width}x{image.height} now, the last "
                f"screenshot showed {frame.source_width}x{frame.source_height}: take a new "
                "screenshot"
            )
        points = [p for action in self.actions for p in points_of(action)]
        record = TargetRecord(
            verb=self.verb,
            description=self.description,
            located_by="client",
            model_point=points[0] if points else None,
            frame=FrameRecord.of(frame),
        )
        return Decision(actions=list(self.actions), frame=frame, source="script",
                        targets=[record])  # fmt: skip
