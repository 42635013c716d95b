"""GUI-Owl 1.5: one element through the Qwen3-VL ``computer_use`` tool, coordinates on a 0-1000
grid of the resized screenshot.

GUI-Owl 1.5 (X-PLUG/MobileAgent, Qwen3-VL base) is prompted with the
Qwen3-VL ``computer_use`` tool whose description says "The screen's resolution is 1000x1000."
and answers ``<tool_call>`` JSON with a ``coordinate`` on that grid. This style reuses
:mod:`agent.styles.qwen3vl` for all of it (tool description, system prompt, chat, the tool-call
reader and writer): the point of the first pointing action is the element. Bounds are GUI-Owl
1.5's, 196*32*32 = 200,704 .. 9800*32*32 = 10,035,200 pixels, on Qwen3-VL's grid (factor 32).

Spaces disagree by version: GUI-Owl 7B/32B (Qwen2.5-VL base) answer in absolute pixels through a
tool that states the resized resolution (use ``qwen25vl`` for them); GUI-Owl 1.5 answers in
0-1000, which this style follows (the official repository's 1.5 code).

Refusal: GUI-Owl's own scorer counts a point at (0,0) as "no element" (OSWorld-G's scorer uses
negative coordinates instead; this style follows the official GUI-Owl repository), so an answer
at exactly (0,0) raises :class:`~agent.errors.NotFound` (see
:func:`~agent.styles.base.declined`); an answer without a coordinate is a ParseError.
"""

from __future__ import annotations

from PIL.Image import Image

from actions.schema import Click
from agent.chat import Message
from agent.geometry import CoordinateSpace, ModelFrame, Point
from agent.styles.base import Location, OneElementGrounding, declined
from agent.styles.qwen3vl import QWEN3VL_FACTOR, Qwen3VLComputerUse

__all__ = ["GUI_OWL_MAX_PIXELS", "GUI_OWL_MIN_PIXELS", "GUIOwlGrounding"]

GUI_OWL_MIN_PIXELS = 196 * 32 * 32
GUI_OWL_MAX_PIXELS = 9800 * 32 * 32


class GUIOwlGrounding(OneElementGrounding):
    """The ``gui-owl`` style: Qwen3-VL tool calls read as one location, 0-1000."""

    name = "gui-owl"
    space = CoordinateSpace.REL1000
    factor = QWEN3VL_FACTOR
    min_pixels = GUI_OWL_MIN_PIXELS
    max_pixels = GUI_OWL_MAX_PIXELS

    def __init__(self) -> None:
        self._calls = Qwen3VLComputerUse(0)

    def system_prompt(self, frame: ModelFrame) -> str:
        return self._calls.system_prompt(frame)

    def chat(self, instruction: str, frame: ModelFrame, screenshot: Image) -> list[Message]:
        return self._calls.grounding_messages(instruction, frame, screenshot)

    def locate(self, text: str) -> Location:
        location = self._calls.locate(text)
        if location.point.xy() == (0.0, 0.0):
            raise declined("GUI-Owl", text)
        return location

    def render_point(self, point: Point) -> str:
        return self._calls.render(Click(point=point))
