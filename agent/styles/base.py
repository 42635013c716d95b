"""What a style is: a prompt, a parser and the coordinate space its answers are in.

A style serves two uses: the agent loop (:meth:`Style.messages` and :meth:`Style.parse`, any
action) and grounding (:meth:`Style.grounding_messages` and :meth:`Style.locate`, one element:
a point and, where the model gives one, a box). It also declares the image grid of its model
family (``factor``: patch size x merge size) and the family's default pixel bounds, which the
backend uses to resize captures exactly as the family's own pipeline does.

The helpers every style uses: :func:`feedback_text` (the words after a refused answer),
:func:`box_location` (a box read from an answer) and :func:`click_then_finish` (what a grounding
answer means in the loop).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from PIL.Image import Image

from actions.schema import Action, Click, Terminate
from agent.chat import Message
from agent.errors import ParseError
from agent.geometry import CoordinateSpace, ModelFrame, Point

__all__ = [
    "Location",
    "PastStep",
    "Style",
    "box_location",
    "click_then_finish",
    "feedback_text",
]


@dataclass(frozen=True)
class PastStep:
    """A step already taken, as the next prompt shows it to the model."""

    actions: tuple[Action, ...]
    """What was done, in the model's coordinate space."""
    image: Image | None = None
    """The screenshot the step was decided on (used when the style shows past screenshots)."""
    answer: str = ""
    """The model's whole answer (thoughts included), for styles that replay it verbatim."""


@dataclass(frozen=True)
class Location:
    """Where a grounding answer points, in the style's coordinate space."""

    point: Point
    """The point to click; for a box, its centre."""
    box: tuple[Point, Point] | None = None
    """Top-left and bottom-right corners, when the model answered with a box."""

    @classmethod
    def of_box(cls, box: Sequence[float], space: CoordinateSpace) -> Location:
        """A box ``(x1, y1, x2, y2)`` given by any two opposite corners: its centre, and its
        corners kept in order (top-left, bottom-right)."""
        if len(box) != 4:
            raise ValueError(f"a box has 4 numbers, got {len(box)}")
        x1, y1, x2, y2 = box
        (left, right), (top, bottom) = sorted((x1, x2)), sorted((y1, y2))
        corners = (Point(x=left, y=top, space=space), Point(x=right, y=bottom, space=space))
        centre = Point(x=left / 2 + right / 2, y=top / 2 + bottom / 2, space=space)  # no overflow
        return cls(centre, corners)


class Style(Protocol):
    """Prompt + parser + coordinate space of one model family. Stateless."""

    name: str
    space: CoordinateSpace
    factor: int
    """Side multiple of the resized image: patch size x spatial merge (28 for Qwen2/2.5-VL)."""
    min_pixels: int
    """The family's default lower pixel bound."""
    max_pixels: int
    """The family's default upper pixel bound."""

    def messages(
        self,
        instruction: str,
        frame: ModelFrame,
        screenshot: Image,
        history: Sequence[PastStep],
        feedback: str | None = None,
    ) -> list[Message]:
        """The chat for one decision. ``feedback`` says why the previous answer was refused."""
        ...

    def parse(self, text: str) -> list[Action]:
        """The actions in ``text``, in this style's space. Raises ParseError."""
        ...

    def render(self, action: Action) -> str:
        """``action`` (in this style's space) written the way the model writes it."""
        ...

    def grounding_messages(
        self, instruction: str, frame: ModelFrame, screenshot: Image
    ) -> list[Message]:
        """The chat asking where one element is (the family's grounding prompt)."""
        ...

    def locate(self, text: str) -> Location:
        """The point (and box) a grounding answer gives. Raises ParseError."""
        ...


def feedback_text(feedback: str | None) -> str:
    """The sentence appended to a user turn after a refused answer (same words as qwen25vl)."""
    if not feedback:
        return ""
    return f"\nYour previous answer was not carried out: {feedback} Answer again."


def click_then_finish(location: Location) -> list[Action]:
    """What a grounding answer means in the agent loop: click the element, then end the run."""
    return [Click(point=location.point), Terminate(status="success")]


def box_location(box: Sequence[float], space: CoordinateSpace) -> Location:
    """:meth:`Location.of_box` for a box read from an answer (every style reads boxes through
    it). Raises ParseError where finite corners have no finite centre (``1e308`` and
    ``1.7e308``: their sum overflows), so no style returns an infinite point."""
    location = Location.of_box(box, space)
    if not all(math.isfinite(v) for v in location.point.xy()):
        corners = ", ".join(f"{v:g}" for v in box)
        raise ParseError(f"the box [{corners}] is far too large; give a box on the screenshot")
    return location
