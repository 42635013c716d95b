"""UI-Venus-Ground (7B): one element as a box ``[x1,y1,x2,y2]`` in absolute pixels of the resized
image the model saw; the click is the box's centre.

Interface strings: inclusionAI/UI-Venus, branch UI-Venus-1.0, ``models/grounding/`` (the 7B
grounding model's inference code): one user turn, the screenshot
then the prompt "Outline the position corresponding to the instruction: {}. The output should be
only [x1,y1,x2,y2].", no system turn (Qwen2.5-VL's chat template then inserts "You are a helpful
assistant.", written here explicitly as :mod:`agent.styles.qwen2vl` does). Its pixel bounds are
the 7B's: min 2,000,000, max 4,800,000 (the 72B uses 3,110,400 .. 48,000,000: pass
``--min-pixels``/``--max-pixels``). Grid: Qwen2.5-VL's, factor 28.

Spaces disagree by version: UI-Venus-Ground 1.0 answers a box in resized pixels; UI-Venus 1.5
answers a point ``[x,y]`` on a 0-1000 grid. This style follows the official 1.0 repository
(resized pixels), so a ``[x,y]`` point is read in resized pixels too; serve a 1.5 model with a
0-1000 style instead.

Refusal: UI-Venus 1.5 answers ``[-1,-1]`` when the element is infeasible; that answer (or a box
of -1s) is a refusal here too, raised as :class:`~agent.errors.NotFound` (see
:func:`~agent.styles.base.declined`). Anything else without a box or a point is a
:class:`~agent.errors.ParseError`.
"""

from __future__ import annotations

import re

from PIL.Image import Image

from agent.chat import Message
from agent.errors import ParseError
from agent.geometry import IMAGE_FACTOR, CoordinateSpace, ModelFrame, Point
from agent.styles.base import (
    Location,
    OneElementGrounding,
    box_location,
    declined,
    finite_number,
    number_text,
)

__all__ = ["UI_VENUS_MAX_PIXELS", "UI_VENUS_MIN_PIXELS", "UI_VENUS_PROMPT", "UIVenusGrounding"]

# inclusionAI/UI-Venus@UI-Venus-1.0 models/grounding/ (7B): prompt_origin, min/max_pixels
UI_VENUS_PROMPT = (
    "Outline the position corresponding to the instruction: {}. The output should be only "
    "[x1,y1,x2,y2]."
)
UI_VENUS_MIN_PIXELS = 2_000_000
UI_VENUS_MAX_PIXELS = 4_800_000

_NUM = r"(-?\d+(?:\.\d+)?)"
# starts with ``[``: no quadratic retries over long runs of spaces or digits
_LIST = re.compile(rf"\[\s*{_NUM}\s*,\s*{_NUM}\s*(?:,\s*{_NUM}\s*,\s*{_NUM}\s*)?\]")
_EXPECTED = "[x1,y1,x2,y2] in pixels of the screenshot"


class UIVenusGrounding(OneElementGrounding):
    """The ``ui-venus`` style: UI-Venus-Ground's ``[x1,y1,x2,y2]`` boxes, resized pixels."""

    name = "ui-venus"
    space = CoordinateSpace.RESIZED
    factor = IMAGE_FACTOR
    min_pixels = UI_VENUS_MIN_PIXELS
    max_pixels = UI_VENUS_MAX_PIXELS

    def prompt(self, instruction: str) -> str:
        return UI_VENUS_PROMPT.format(instruction)

    def chat(self, instruction: str, frame: ModelFrame, screenshot: Image) -> list[Message]:
        return [
            Message("system", ("You are a helpful assistant.",)),
            Message("user", (screenshot, self.prompt(instruction))),
        ]

    def locate(self, text: str) -> Location:
        """The first ``[x1,y1,x2,y2]`` (centre, corners kept) or ``[x,y]``. Raises NotFound for
        ``[-1,-1]``, ParseError for anything unreadable."""
        match = _LIST.search(text)
        if match is None:
            raise ParseError(f"no box found; answer with {_EXPECTED}")
        raw = [v for v in match.groups() if v is not None]
        numbers = [finite_number(v) for v in raw]
        if all(v == -1 for v in numbers):
            raise declined("UI-Venus", match.group(0))
        values = [v for v in numbers if v is not None]
        if len(values) != len(raw):
            raise ParseError(f"{match.group(0)[:40]!r} holds a number too large; {_EXPECTED}")
        if len(values) == 2:
            return Location(Point(x=values[0], y=values[1], space=self.space))
        return box_location(values, self.space)

    def render_point(self, point: Point) -> str:
        """A point as the degenerate box ``[x,y,x,y]`` (its centre is the point)."""
        x, y = number_text(point.x), number_text(point.y)
        return f"[{x},{y},{x},{y}]"
