"""Qwen2-VL grounding: ``<|box_start|>(x1,y1),(x2,y2)<|box_end|>`` on a 0-1000 grid.

Qwen2-VL writes a box as two corner points between its box special tokens, each coordinate
relative to the image it saw in thousandths (0-1000, not pixels); a point is ``(x,y)``. Decoding
with ``skip_special_tokens=True`` (the default of most pipelines and servers) drops the tokens and
leaves ``(x1,y1),(x2,y2)``, so both forms are read. ``<|object_ref_start|>...<|object_ref_end|>``
(the phrase the model echoes) is ignored, as is a trailing ``<|im_end|>``. Qwen-VL (v1) wrote the
same grid as ``<ref>...</ref><box>(x1,y1),(x2,y2)</box>``, also accepted.

The prompt is OS-Atlas-Base-7B's (a Qwen2-VL grounding fine-tune), from the README of
OS-Copilot/OS-Atlas@49ba04b0: image first, then ``In this UI screenshot, what is the position of
the element corresponding to the command "..." (with bbox)?``; the README's sample answer is
``<|object_ref_start|>language switch<|object_ref_end|><|box_start|>(576,12),(592,42)<|box_end|>``.

In the agent loop :meth:`Qwen2VLGrounding.parse` returns ``[Click(centre), Terminate("success")]``:
a grounding model locates one element; the loop clicks it and ends the run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

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
from agent.styles.jsontext import drop_blocks

__all__ = ["OS_ATLAS_PROMPT", "Qwen2VLGrounding"]

OS_ATLAS_PROMPT = (
    'In this UI screenshot, what is the position of the element corresponding to the command "{}"'
    " (with bbox)?"
)
_NUM = r"(-?\d+(?:\.\d+)?)"
_PAIR = rf"\(\s*{_NUM}\s*,\s*{_NUM}\s*\)"
# the box tokens around the pair are optional and carry nothing, so they are not matched: a
# pattern that starts with optional tokens and ``\s*`` is tried at every position of a long
# whitespace run (quadratic); one that starts with ``(`` is not
_COORDS = re.compile(rf"{_PAIR}(?:\s*,\s*{_PAIR})?")
_REF_OPEN = re.compile(r"<\|object_ref_start\|>|<ref>")
_REF_CLOSE = re.compile(r"<\|object_ref_end\|>|</ref>")
_REF_CLOSERS = {"<|object_ref_start|>": "<|object_ref_end|>", "<ref>": "</ref>"}
_EXPECTED = "<|box_start|>(x1,y1),(x2,y2)<|box_end|> with 0-1000 coordinates"


def _xy(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0")


class Qwen2VLGrounding:
    """The ``qwen2vl`` style: Qwen2-VL's box tokens, 0-1000 of the model frame."""

    name = "qwen2vl"
    space = CoordinateSpace.REL1000
    factor = IMAGE_FACTOR
    min_pixels = QWEN_MIN_PIXELS
    max_pixels = QWEN_MAX_PIXELS
    history_images = 0
    """A grounding prompt shows no history."""

    def prompt(self, instruction: str) -> str:
        return OS_ATLAS_PROMPT.format(instruction)

    def messages(
        self,
        instruction: str,
        frame: ModelFrame,
        screenshot: Image,
        history: Sequence[PastStep],
        feedback: str | None = None,
    ) -> list[Message]:
        """The grounding chat; ``history`` is ignored. The system turn is the one Qwen2-VL's
        chat template inserts when none is given."""
        text = self.prompt(instruction) + feedback_text(feedback)
        return [
            Message("system", ("You are a helpful assistant.",)),
            Message("user", (screenshot, text)),
        ]

    def grounding_messages(
        self, instruction: str, frame: ModelFrame, screenshot: Image
    ) -> list[Message]:
        return self.messages(instruction, frame, screenshot, [])

    def locate(self, text: str) -> Location:
        """The first box (centre, corners kept) or point in ``text``. Raises ParseError."""
        match = _COORDS.search(drop_blocks(text, _REF_OPEN, _REF_CLOSE, _REF_CLOSERS.__getitem__))
        if match is None:
            raise ParseError(f"no box or point found; answer with {_EXPECTED}")
        numbers = [float(v) for v in match.groups() if v is not None]
        if not all(math.isfinite(v) for v in numbers):
            raise ParseError(f"{match.group(0)[:40]!r} holds a number too large; {_EXPECTED}")
        if len(numbers) == 2:
            return Location(self._point(numbers[0], numbers[1]))
        return box_location(numbers, self.space)

    def parse(self, text: str) -> list[Action]:
        """``[Click(centre), Terminate("success")]``: see the module docstring."""
        return click_then_finish(self.locate(text))

    def _point(self, x: float, y: float) -> Point:
        return Point(x=x, y=y, space=self.space)

    def render(self, action: Action) -> str:
        """A point click as the model writes it; nothing else is expressible."""
        if not isinstance(action, Click) or action.point is None:
            raise ValueError(f"{self.name} answers only with a location, not {action.action}")
        return f"<|box_start|>({_xy(action.point.x)},{_xy(action.point.y)})<|box_end|>"
