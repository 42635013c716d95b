"""Qwen2.5-VL grounding: one element as ``bbox_2d`` / ``point_2d`` JSON, in absolute pixels of the
resized image the model saw.

Interface strings are the Qwen2.5-VL ``cookbooks/spatial_understanding.ipynb`` ones (read in the
fork jaylim13/Qwen2.5-VL-fork@40239aad, the upstream copy is not indexed): its default system
prompt "You are a helpful assistant" (sic, no full stop), the text-then-image user turn and the
single-target request "Locate the top right brown cake, output its bbox coordinates using JSON
format." with the element's description in place of the cake. The model answers with a list such
as ````json [{"bbox_2d": [x1, y1, x2, y2], "label": "..."}]```` (the notebook's own outputs); a
``point_2d`` answer, a single object, Python-style single quotes and missing fences are accepted
too. A box counts by its centre, and :class:`~agent.styles.base.Location` keeps the box.

A cut-off answer (generation stopped mid-list) is read up to its last *complete* element: an
element whose braces never closed may hold a truncated number (``[30, 40, 130, 14``), so it is
never used. The first complete element with a usable point or box wins.

In the agent loop a grounding model only locates: :meth:`Qwen25VLGrounding.parse` returns
``[Click(centre), Terminate("success")]``, so the loop clicks the element once and ends the run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from PIL.Image import Image

from actions.schema import Action, Click
from agent.chat import Message
from agent.errors import ParseError
from agent.geometry import (
    IMAGE_FACTOR,
    QWEN_MAX_PIXELS,
    QWEN_MIN_PIXELS,
    CoordinateSpace,
    ModelFrame,
    Point,
)
from agent.styles.base import Location, PastStep, box_location, click_then_finish, feedback_text
from agent.styles.jsontext import extract_objects, loads_lenient, strip_fences

__all__ = ["SPATIAL_SYSTEM_PROMPT", "Qwen25VLGrounding"]

SPATIAL_SYSTEM_PROMPT = "You are a helpful assistant"  # the cookbook's inference() default
_LOCATE_PROMPT = "Locate {instruction}, output its bbox coordinates using JSON format."
_EXPECTED = '[{"bbox_2d": [x1, y1, x2, y2], "label": "..."}]'


def _numbers(value: Any, count: int) -> list[float] | None:
    if not isinstance(value, list | tuple) or len(value) != count:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    try:
        numbers = [float(v) for v in value]
    except OverflowError:  # an int of 309 digits or more
        return None
    return numbers if all(math.isfinite(v) for v in numbers) else None


def _is_closed(span: str) -> bool:
    """Whether an ``extract_objects`` span closed its braces: a sentinel ``{}`` written after
    it stays a separate object only when the span (and any string in it) was closed."""
    return len(extract_objects(span + "{}")) == 2


def _xy(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


class Qwen25VLGrounding:
    """The ``qwen25vl-grounding`` style: the spatial-understanding JSON of Qwen2.5-VL."""

    name = "qwen25vl-grounding"
    space = CoordinateSpace.RESIZED
    factor = IMAGE_FACTOR
    min_pixels = QWEN_MIN_PIXELS
    max_pixels = QWEN_MAX_PIXELS
    history_images = 0
    """A grounding prompt shows no history."""

    # -- prompt ---------------------------------------------------------------------------
    def prompt(self, instruction: str) -> str:
        return _LOCATE_PROMPT.format(instruction=instruction)

    def messages(
        self,
        instruction: str,
        frame: ModelFrame,
        screenshot: Image,
        history: Sequence[PastStep],
        feedback: str | None = None,
    ) -> list[Message]:
        """The grounding chat; ``history`` is ignored (the model locates, it does not plan)."""
        text = self.prompt(instruction) + feedback_text(feedback)
        return [
            Message("system", (SPATIAL_SYSTEM_PROMPT,)),
            Message("user", (text, screenshot)),
        ]

    def grounding_messages(
        self, instruction: str, frame: ModelFrame, screenshot: Image
    ) -> list[Message]:
        return self.messages(instruction, frame, screenshot, [])

    # -- parser ---------------------------------------------------------------------------
    def locate_all(self, text: str) -> list[Location]:
        """Every complete element with a point or box, in answer order. Raises ParseError."""
        spans = extract_objects(strip_fences(text))
        if not spans:
            raise ParseError(f"no JSON object found; answer with {_EXPECTED}")
        found: list[Location] = []
        for span in spans:
            if not _is_closed(span):
                continue  # cut off: its numbers may be truncated
            try:
                element = loads_lenient(span)
            except ParseError:
                continue
            location = self._location(element)
            if location is not None:
                found.append(location)
        if not found:
            raise ParseError(
                'no complete element with "bbox_2d" [x1, y1, x2, y2] or "point_2d" [x, y]; '
                f"answer with {_EXPECTED}"
            )
        return found

    def locate(self, text: str) -> Location:
        return self.locate_all(text)[0]

    def parse(self, text: str) -> list[Action]:
        """``[Click(centre), Terminate("success")]``: see the module docstring."""
        return click_then_finish(self.locate(text))

    def _location(self, element: Any) -> Location | None:
        if not isinstance(element, dict):
            return None
        box = _numbers(element.get("bbox_2d"), 4)
        if box is not None:
            return box_location(box, self.space)
        point = _numbers(element.get("point_2d"), 2)
        return Location(self._point(point[0], point[1])) if point is not None else None

    def _point(self, x: float, y: float) -> Point:
        return Point(x=x, y=y, space=self.space)

    # -- rendering ------------------------------------------------------------------------
    def render(self, action: Action) -> str:
        """A point click as the model would answer it; nothing else is expressible."""
        if not isinstance(action, Click) or action.point is None:
            raise ValueError(f"{self.name} answers only with a location, not {action.action}")
        element = {"point_2d": [_xy(action.point.x), _xy(action.point.y)]}
        return "```json\n[\n\t" + json.dumps(element, ensure_ascii=False) + "\n]\n```"
