"""Holo1.5: one element as ``{"action": "click_absolute", "x": .., "y": ..}`` in absolute
pixels of the resized image the model saw.

Interface strings: the Holo1.5 localization prompt as trycua/cua ``loops/holo.py`` sends it,
word for word in :data:`HOLO_PROMPT`; one user turn, the screenshot
then the prompt (Qwen2.5-VL's template adds its default system turn, written here explicitly).
Holo1.5 is Qwen2.5-VL based: factor 28 and qwen-vl-utils' bounds 3,136 .. 12,845,056.

Spaces disagree by version: Holo1.5 answers in resized pixels (cua's port maps them back with
the smart_resize size); H company's hub documents 0-1000 for Holo3/3.1. This style follows the
Holo1.5 port; serve Holo3 with a 0-1000 style instead.

The first JSON object with numeric ``x`` and ``y`` wins; an ``action`` other than
``click_absolute``/``click`` is refused. Holo has no refusal answer: no point is a
:class:`~agent.errors.ParseError`. JSON is read with :mod:`agent.styles.jsontext`, never evaluated.
"""

from __future__ import annotations

import json
from typing import Any

from PIL.Image import Image

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
from agent.styles.base import Location, OneElementGrounding, finite_number
from agent.styles.jsontext import extract_objects, loads_lenient

__all__ = ["HOLO_PROMPT", "HoloGrounding"]

# trycua/cua loops/holo.py (Holo1.5 localization prompt), word for word
HOLO_PROMPT = (
    "Localize an element on the GUI image according to the provided target and output a click "
    'position. You must output a valid JSON following the format: {{"action": "click_absolute", '
    '"x": <int>, "y": <int>}} Your target is: {instruction}'
)
_ACTIONS = ("click_absolute", "click")
_EXPECTED = '{"action": "click_absolute", "x": <int>, "y": <int>}'


class HoloGrounding(OneElementGrounding):
    """The ``holo`` style: Holo1.5's ``click_absolute`` JSON, resized pixels."""

    name = "holo"
    space = CoordinateSpace.RESIZED
    factor = IMAGE_FACTOR
    min_pixels = QWEN_MIN_PIXELS
    max_pixels = QWEN_MAX_PIXELS

    def prompt(self, instruction: str) -> str:
        return HOLO_PROMPT.format(instruction=instruction)

    def chat(self, instruction: str, frame: ModelFrame, screenshot: Image) -> list[Message]:
        return [
            Message("system", ("You are a helpful assistant.",)),
            Message("user", (screenshot, self.prompt(instruction))),
        ]

    def locate(self, text: str) -> Location:
        spans = extract_objects(text)
        if not spans:
            raise ParseError(f"no JSON object found; answer with {_EXPECTED}")
        reason = f'no object with numbers "x" and "y"; answer with {_EXPECTED}'
        for span in spans:
            try:
                element = loads_lenient(span)
            except ParseError as error:
                reason = str(error)
                continue
            point = self._point(element)
            if point is not None:
                return Location(point)
        raise ParseError(reason)

    def _point(self, element: Any) -> Point | None:
        if not isinstance(element, dict):
            return None
        action = element.get("action", "click_absolute")
        if action not in _ACTIONS:
            raise ParseError(f"unknown action {str(action)[:40]!r}; answer with {_EXPECTED}")
        x, y = finite_number(element.get("x")), finite_number(element.get("y"))
        if isinstance(element.get("x"), str) or isinstance(element.get("y"), str):
            return None  # numbers, not strings, as the format says
        if x is None or y is None:
            return None
        return Point(x=x, y=y, space=self.space)

    def render_point(self, point: Point) -> str:
        def num(v: float) -> int | float:
            return int(v) if float(v).is_integer() else v

        element = {"action": "click_absolute", "x": num(point.x), "y": num(point.y)}
        return json.dumps(element)
