"""The prompts an evaluation asks with, and how their answers are read.

``grounding`` is each style's own grounding prompt (``Style.grounding_messages`` and
``Style.locate``: what ``gui-agent ground`` and the scripts use). ``screenspot-pro`` is the
official ScreenSpot-Pro harness's Qwen2.5-VL prompt (``models/qwen2_5vl.py`` of
likaixin2000/ScreenSpot-Pro-GUI-Grounding, FACTS §7): the system prompt "You are a helpful
assistant." with the function-calling block of the ``computer_use`` tool stating the RESIZED
resolution, a user turn of the image then the raw instruction, and the assistant turn prefilled
up to ``"coordinate": [`` so that the model only writes the numbers. Its answer is read with
the prefill in front (2 numbers: a point; 4: a box, counted by its centre).

``mmbench-gui`` is MMBench-GUI L2's default prompt (open-compass/MMBench-GUI
``benchmarks/l2_element_grounding.py``: ``L2_SYSTEM_PROMPT_DEFAULT`` and
``L2_USER_PROMPT_DEFAULT``, word for word): that system prompt, then a user turn of the image
and "Output only the coordinate (x,y) of one point ...". Its answer is the first ``(x,y)`` (or
``[x,y]``) pair, as its default parser reads it: both numbers in [0, 1] are fractions of the
image (the scorer's "normalised" rule), else they are in the style's space (resized pixels for
Qwen2.5-VL, 0-1000 for Qwen3-VL: the scorer's model wrappers map them to the image the same
way). A family that answers in its own format anyway is read as the style reads it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass

from PIL import Image

from agent.chat import Message
from agent.errors import ConfigurationError
from agent.geometry import CoordinateSpace, ModelFrame, Point
from agent.styles.base import Location, Style
from agent.styles.qwen25vl import FN_CALL_TEMPLATE, computer_use_tool

__all__ = ["PRO_PREFILL", "PROMPTS", "EvalPrompt", "check_prompt", "make_prompt"]

PROMPTS = ("grounding", "screenspot-pro", "mmbench-gui")
PRO_PREFILL = (
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": ['
)
_PRO_STYLES = ("qwen25vl", "qwen25vl-grounding")
# open-compass/MMBench-GUI benchmarks/l2_element_grounding.py, word for word
MMBENCH_L2_SYSTEM = (
    "You are a GUI agent. You are given a task and a screenshot of the screen. You need to "
    "finish this task following instructions from users."
)
MMBENCH_L2_USER = (
    "Output only the coordinate (x,y) of one point in your response. What element matches the "
    "following task: {instruction}"
)
_NUM = r"(-?\d+(?:\.\d+)?)"
_PAIR = re.compile(rf"[(\[]\s*{_NUM}\s*,\s*{_NUM}\s*[)\]]")  # starts with a bracket: linear


@dataclass(frozen=True)
class EvalPrompt:
    """One named prompt for one style."""

    name: str
    style: Style

    def messages(self, instruction: str, frame: ModelFrame, image: Image.Image) -> list[Message]:
        if self.name == "grounding":
            return self.style.grounding_messages(instruction, frame, image)
        if self.name == "mmbench-gui":
            user = MMBENCH_L2_USER.format(instruction=instruction)
            return [Message("system", (MMBENCH_L2_SYSTEM,)), Message("user", (image, user))]
        tools = json.dumps(computer_use_tool(frame), ensure_ascii=False)
        system = "You are a helpful assistant.\n\n" + FN_CALL_TEMPLATE.format(tools=tools)
        return [
            Message("system", (system,)),
            Message("user", (image, instruction)),
            Message("assistant", (PRO_PREFILL,)),
        ]

    @property
    def prefill(self) -> str:
        return PRO_PREFILL if self.name == "screenspot-pro" else ""

    def read(self, completion: str) -> Location:
        """The point (or box) the answer gives, in the style's space; raises ModelError."""
        text = self.prefill + completion
        if self.name == "screenspot-pro":
            return self._read_numbers(text)
        if self.name == "mmbench-gui":
            return self._read_pair(text)
        return self.style.locate(text)

    def _read_pair(self, text: str) -> Location:
        match = _PAIR.search(text)
        if match is None:
            return self.style.locate(text)  # the family's own format, or its ParseError
        x, y = float(match.group(1)), float(match.group(2))
        if not (math.isfinite(x) and math.isfinite(y)):
            return self.style.locate(text)
        fractions = 0 <= x <= 1 and 0 <= y <= 1
        space = CoordinateSpace.REL1 if fractions else self.style.space
        return Location(Point(x=x, y=y, space=space))

    def _read_numbers(self, text: str) -> Location:
        from agent.styles.base import box_location

        # the harness's reading: the numbers after the prefill, 2 (a point) or 4 (a box)
        body = text[len(PRO_PREFILL) :].split("]", 1)[0]
        try:
            numbers = [float(part) for part in body.replace(" ", "").split(",") if part]
        except ValueError:
            numbers = []
        if len(numbers) == 4:
            return box_location(numbers, self.style.space)
        if len(numbers) == 2 and all(math.isfinite(v) for v in numbers):
            return Location(Point(x=numbers[0], y=numbers[1], space=self.style.space))
        return self.style.locate(text)  # the whole tool call, read as the style reads it

    def fingerprint(self) -> str:
        """A hash of the prompt as sent for a fixed instruction and frame (for the manifest)."""
        frame = ModelFrame.for_image(1000, 800, factor=self.style.factor)
        image = Image.new("RGB", (frame.width, frame.height))
        parts: list[str] = []
        for message in self.messages("INSTRUCTION", frame, image):
            parts.append(message.role)
            parts += [p if isinstance(p, str) else "<image>" for p in message.content]
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def check_prompt(name: str, style: Style) -> None:
    if name not in PROMPTS:
        raise ConfigurationError(f"unknown prompt {name!r}: choose {', '.join(PROMPTS)}")
    if name == "screenspot-pro" and style.name not in _PRO_STYLES:
        raise ConfigurationError(
            f"the screenspot-pro prompt is Qwen2.5-VL's (style qwen25vl), not {style.name}'s"
        )


def make_prompt(name: str, style: Style) -> EvalPrompt:
    check_prompt(name, style)
    return EvalPrompt(name, style)
