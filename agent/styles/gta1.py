"""GTA1: one element as a point ``(x,y)`` in absolute pixels of the resized image the model saw.

Interface strings: Yan98/GTA1's grounding system prompt, as trycua/cua ``loops/gta1.py`` ports it
(``SYSTEM_PROMPT`` ... ``.strip()``): it states "The image resolution is
height {height} and width {width}" with the RESIZED size, and asks for "(x,y)". The user turn is
the screenshot, then the element's description. Bounds as the port: min 3,136, max 4096*2160
(8,847,360) pixels; grid Qwen2.5-VL's (factor 28), the base of GTA1-7B/32B/72B.

The answer is read like the official ``extract_coordinates``: the first ``(x,y)`` in the text.
GTA1 has no refusal answer: text without a point is a :class:`~agent.errors.ParseError`.
"""

from __future__ import annotations

import re

from PIL.Image import Image

from agent.chat import Message
from agent.errors import ParseError
from agent.geometry import IMAGE_FACTOR, QWEN_MIN_PIXELS, CoordinateSpace, ModelFrame, Point
from agent.styles.base import Location, OneElementGrounding, finite_number, number_text

__all__ = ["GTA1_MAX_PIXELS", "GTA1_MIN_PIXELS", "GTA1_SYSTEM_PROMPT", "GTA1Grounding"]

# Yan98/GTA1 (trycua/cua loops/gta1.py SYSTEM_PROMPT), word for word
GTA1_SYSTEM_PROMPT = (
    "You are an expert UI element locator. Given a GUI image and a user's element description, "
    "provide the coordinates of the specified element as a single (x,y) point. The image "
    "resolution is height {height} and width {width}. For elements with area, return the center "
    "point.\n\nOutput the coordinate pair exactly:\n(x,y)"
)
GTA1_MIN_PIXELS = QWEN_MIN_PIXELS
GTA1_MAX_PIXELS = 4096 * 2160

_NUM = r"(-?\d+(?:\.\d+)?)"
_PAIR = re.compile(rf"\(\s*{_NUM}\s*,\s*{_NUM}\s*\)")  # starts with "(": linear scans
_EXPECTED = "(x,y) in pixels of the screenshot"


class GTA1Grounding(OneElementGrounding):
    """The ``gta1`` style: GTA1's ``(x,y)`` points, resized pixels."""

    name = "gta1"
    space = CoordinateSpace.RESIZED
    factor = IMAGE_FACTOR
    min_pixels = GTA1_MIN_PIXELS
    max_pixels = GTA1_MAX_PIXELS

    def system_prompt(self, frame: ModelFrame) -> str:
        return GTA1_SYSTEM_PROMPT.format(height=frame.height, width=frame.width)

    def chat(self, instruction: str, frame: ModelFrame, screenshot: Image) -> list[Message]:
        return [
            Message("system", (self.system_prompt(frame),)),
            Message("user", (screenshot, instruction)),
        ]

    def locate(self, text: str) -> Location:
        match = _PAIR.search(text)
        if match is None:
            raise ParseError(f"no point found; answer with {_EXPECTED}")
        x, y = (finite_number(v) for v in match.groups())
        if x is None or y is None:
            raise ParseError(f"{match.group(0)[:40]!r} holds a number too large; {_EXPECTED}")
        return Location(Point(x=x, y=y, space=self.space))

    def render_point(self, point: Point) -> str:
        return f"({number_text(point.x)},{number_text(point.y)})"
