"""What a style is: a prompt, a parser and the coordinate space its answers are in.

A style serves two uses: the agent loop (:meth:`Style.messages` and :meth:`Style.parse`, any
action) and grounding (:meth:`Style.grounding_messages` and :meth:`Style.locate`, one element:
a point and, where the model gives one, a box). It also declares the image grid of its model
family (``factor``: patch size x merge size) and the family's default pixel bounds, which the
backend uses to resize captures exactly as the family's own pipeline does.

The helpers every style uses: :func:`feedback_text` (the words after a refused answer),
:func:`box_location` (a box read from an answer) and :func:`click_then_finish` (what a grounding
answer means in the loop); for the one-element grounding styles, :class:`OneElementGrounding`
and :func:`declined` (a refusal answer is a :class:`~agent.errors.NotFound`, an unreadable one a
:class:`~agent.errors.ParseError`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from PIL.Image import Image

from actions.schema import Action, Click, Terminate
from agent.chat import Message
from agent.errors import NotFound, ParseError
from agent.geometry import CoordinateSpace, ModelFrame, Point

__all__ = [
    "Location",
    "OneElementGrounding",
    "PastStep",
    "Style",
    "box_location",
    "click_then_finish",
    "declined",
    "feedback_text",
    "finite_number",
    "number_text",
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


def declined(family: str, answer: str) -> NotFound:
    """The error of a refusal answer (the model says the element is not on the screen, e.g.
    UI-Venus 1.5's ``[-1,-1]``): a :class:`~agent.errors.NotFound`, one line, so a caller can
    tell "the model declined" (NotFound) from "the answer is unreadable" (ParseError). Both are
    ModelErrors: the loop feeds either back to the model."""
    shown = " ".join(answer.split())[:80]
    return NotFound(f"{family} answered that no element matches ({shown!r})")


def finite_number(value: object) -> float | None:
    """``value`` as a finite float when it is a JSON/Python number (not a bool), else None
    (``1e999``, a 400-digit int, NaN, strings and booleans all give None)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


def number_text(value: float) -> str:
    """A coordinate as a model writes it: ``12`` for 12.0, ``12.5`` for 12.5."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class OneElementGrounding:
    """The shared part of the one-element grounding styles (``ui-venus``, ``holo``, ``gta1``,
    ``opencua``, ``gui-owl``): no history, ``parse`` = :func:`click_then_finish` of
    :meth:`locate`, ``render`` of a left click only. Subclasses give :meth:`chat`,
    :meth:`locate` and :meth:`render_point`."""

    name: str
    space: CoordinateSpace
    factor: int
    min_pixels: int
    max_pixels: int
    history_images = 0
    """A grounding prompt shows no history."""

    def chat(self, instruction: str, frame: ModelFrame, screenshot: Image) -> list[Message]:
        raise NotImplementedError

    def messages(
        self,
        instruction: str,
        frame: ModelFrame,
        screenshot: Image,
        history: Sequence[PastStep],
        feedback: str | None = None,
    ) -> list[Message]:
        """The grounding chat; ``history`` is ignored (the model locates, it does not plan).
        ``feedback`` is appended to the last text of the user turn."""
        chat = self.chat(instruction, frame, screenshot)
        if not feedback:
            return chat
        last = chat[-1]
        parts = list(last.content)
        texts = [i for i, part in enumerate(parts) if isinstance(part, str)]
        if texts:
            parts[texts[-1]] = str(parts[texts[-1]]) + feedback_text(feedback)
        else:
            parts.append(feedback_text(feedback).lstrip("\n"))
        return [*chat[:-1], Message(last.role, tuple(parts))]

    def grounding_messages(
        self, instruction: str, frame: ModelFrame, screenshot: Image
    ) -> list[Message]:
        return self.chat(instruction, frame, screenshot)

    def locate(self, text: str) -> Location:
        raise NotImplementedError

    def parse(self, text: str) -> list[Action]:
        """``[Click(point), Terminate("success")]``: the loop clicks the element, then ends."""
        return click_then_finish(self.locate(text))

    def render_point(self, point: Point) -> str:
        raise NotImplementedError

    def render(self, action: Action) -> str:
        """A left click at a point, as the model answers it; nothing else is expressible."""
        if not isinstance(action, Click) or action.point is None:
            raise ValueError(f"{self.name} answers only with a location, not {action.action}")
        return self.render_point(action.point)
