"""What a grounder is: the :class:`Grounder` protocol and what it answers.

A :class:`Grounder` answers two questions about a capture: *where is this element*
(:meth:`Grounder.locate`, a :class:`Located` in the grounder's frame) and *what does the screen
say* (:meth:`Grounder.ask`, free text, for queries and assertions). A :class:`Located` keeps its
point in the space the grounder answered in, tagged with the frame it refers to, so the one
conversion (:func:`~agent.geometry.to_screen`) turns it into screen or capture pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

from agent.chat import Message
from agent.geometry import ModelFrame, Monitor, Point, to_screen

__all__ = ["Answer", "Grounder", "Located", "Sighting", "grounder_name"]


@dataclass(frozen=True)
class Located:
    """Where a grounder found an element: ``point`` (and ``box``) in the space of ``frame``."""

    point: Point
    frame: ModelFrame
    box: tuple[Point, Point] | None = None
    raw_output: str = ""
    messages: list[Message] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float = 0.0
    model_calls: int = 0
    """model calls the answer took (0 for a grounder that is not a model)"""
    text: str | None = None
    """the text the element was matched on (OCR)"""

    def _capture(self) -> Monitor:
        """The capture as a monitor at origin 0, scale 1: converting to it gives its pixels."""
        return Monitor(0, 0, 0, self.frame.source_width, self.frame.source_height)

    def pixel(self, clamp: bool = False) -> tuple[int, int]:
        """The point in capture pixels."""
        return to_screen(self.point, self.frame, self._capture(), clamp=clamp).screen_xy()

    def box_pixels(self, clamp: bool = False) -> tuple[int, int, int, int] | None:
        """The box in capture pixels (left, top, right, bottom), if the grounder gave one."""
        if self.box is None:
            return None
        (x1, y1), (x2, y2) = (
            to_screen(p, self.frame, self._capture(), clamp=clamp).screen_xy() for p in self.box
        )
        return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


@dataclass(frozen=True)
class Answer:
    """A grounder's free-text answer about a capture."""

    text: str
    messages: list[Message] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    model_calls: int = 0


@dataclass(frozen=True)
class Sighting:
    """Whether something is visible, and how the grounder knows."""

    visible: bool
    detail: str
    """one line: what was matched, or the model's reason"""
    located: Located | None = None
    answer: Answer | None = None


class Grounder(Protocol):
    """Finds elements on captures. ``model`` names it in trajectories."""

    model: str
    min_pixels: int
    max_pixels: int

    def frame_for(self, width: int, height: int) -> ModelFrame:
        """The frame a ``width`` x ``height`` capture is read in."""
        ...

    def locate(self, image: Image.Image, description: str) -> Located:
        """Where ``description`` is in ``image``. Raises ModelError (NotFound, ParseError,
        OutOfBounds) when the answer gives no usable element."""
        ...

    def ask(self, image: Image.Image, prompt: str) -> Answer:
        """A free-text answer to ``prompt`` about ``image``. Raises ConfigurationError where
        the grounder cannot answer questions."""
        ...

    def seen(self, image: Image.Image, description: str) -> Sighting:
        """Whether ``description`` is visible in ``image``. Raises ModelError when the answer
        cannot be read."""
        ...


def grounder_name(grounder: Grounder) -> str:
    """How a trajectory names a grounder that located a target: "ocr" or "model:NAME"."""
    return "ocr" if grounder.model == "rapidocr" else f"model:{grounder.model}"
