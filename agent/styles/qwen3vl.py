"""Qwen3-VL computer use: the ``computer_use`` tool of the Qwen3-VL cookbook, ``<tool_call>``
answers, coordinates on a 0-1000 grid of the resized screenshot.

Interface strings are QwenLM/Qwen3-VL ``cookbooks/utils/agent_function_call.py`` (``ComputerUse``,
the version that adds ``triple_click``, ``hscroll`` and ``answer``; read in the fork
creative-graphic-design/Qwen3-VL@1bee6065) as ``cookbooks/computer_use.ipynb`` (fork
Firefly-llm/Qwen3-VL@08254a94) uses it: the tool is built with ``display_width_px = 1000`` and
``display_height_px = 1000``, so the description says "The screen's resolution is 1000x1000.",
and the notebook maps an answer back with ``x / 1000 * resized_width``. The mobile-agent cookbook
instead declares 999x999 and divides by 999 (0.1 % apart); this style uses 0-1000 throughout.
System prompt skeleton (qwen-agent ``NousFnCallPrompt``) and history wording are shared with
:mod:`agent.styles.qwen25vl`.

Image grid: patch 16 x merge 2 = factor 32. Default bounds are qwen-vl-utils 0.0.14's for
``image_patch_size=16``: ``IMAGE_MIN_TOKEN_NUM * 32**2`` = 4,096 and ``IMAGE_MAX_TOKEN_NUM * 32**2``
= 16,777,216 pixels (the official checkpoints' preprocessor_config.json has the same maximum as
``longest_edge`` and a larger minimum, ``shortest_edge`` 65,536; screenshots never get near it).

Parsing is the Qwen2.5-VL reader (composition: a private subclass of
:class:`~agent.styles.qwen25vl.Qwen25VLComputerUse` tagged with the 0-1000 space) plus
``answer``, which ends the task: ``Terminate("success", message=text)``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from PIL.Image import Image

from actions.schema import Action, Terminate
from agent.chat import Message
from agent.errors import ParseError
from agent.geometry import CoordinateSpace, ModelFrame
from agent.styles.base import Location, PastStep
from agent.styles.jsontext import loads_lenient
from agent.styles.qwen25vl import FN_CALL_TEMPLATE, Qwen25VLComputerUse

__all__ = [
    "QWEN3VL_ACTIONS",
    "QWEN3VL_FACTOR",
    "QWEN3VL_MAX_PIXELS",
    "QWEN3VL_MIN_PIXELS",
    "Qwen3VLComputerUse",
    "qwen3_computer_use_tool",
]

QWEN3VL_FACTOR = 32
QWEN3VL_MIN_PIXELS = 4 * 32 * 32
QWEN3VL_MAX_PIXELS = 16384 * 32 * 32
QWEN3VL_ACTIONS = (
    "key", "type", "mouse_move", "left_click", "left_click_drag", "right_click", "middle_click",
    "double_click", "triple_click", "scroll", "hscroll", "wait", "terminate", "answer",
)  # fmt: skip

_ACTION_DOC = """
The action to perform. The available actions are:
* `key`: Performs key down presses on the arguments passed in order, then performs key releases in reverse order.
* `type`: Type a string of text on the keyboard.
* `mouse_move`: Move the cursor to a specified (x, y) pixel coordinate on the screen.
* `left_click`: Click the left mouse button at a specified (x, y) pixel coordinate on the screen.
* `left_click_drag`: Click and drag the cursor to a specified (x, y) pixel coordinate on the screen.
* `right_click`: Click the right mouse button at a specified (x, y) pixel coordinate on the screen.
* `middle_click`: Click the middle mouse button at a specified (x, y) pixel coordinate on the screen.
* `double_click`: Double-click the left mouse button at a specified (x, y) pixel coordinate on the screen.
* `triple_click`: Triple-click the left mouse button at a specified (x, y) pixel coordinate on the screen (simulated as double-click since it's the closest action).
* `scroll`: Performs a scroll of the mouse scroll wheel.
* `hscroll`: Performs a horizontal scroll (mapped to regular scroll).
* `wait`: Wait specified seconds for the change to happen.
* `terminate`: Terminate the current task and report its completion status.
* `answer`: Answer a question.
""".strip()  # noqa: E501

_TOOL_DOC = """
Use a mouse and keyboard to interact with a computer, and take screenshots.
* This is an interface to a desktop GUI. You do not have access to a terminal or applications menu. You must click on desktop icons to start applications.
* Some applications may take time to start or process actions, so you may need to wait and take successive screenshots to see the results of your actions. E.g. if you click on Firefox and a window doesn't open, try wait and taking another screenshot.
* The screen's resolution is 1000x1000.
* Whenever you intend to move the cursor to click on an element like an icon, you should consult a screenshot to determine the coordinates of the element before moving the cursor.
* If you tried clicking on a program or link but it failed to load, even after waiting, try adjusting your cursor position so that the tip of the cursor visually falls on the element that you want to click.
* Make sure to click any buttons, links, icons, etc with the cursor tip in the center of the element. Don't click boxes on their edges.
""".strip()  # noqa: E501


def qwen3_computer_use_tool() -> dict[str, Any]:
    """The Qwen3-VL ``computer_use`` function description (a 1000x1000 "screen")."""
    described = {"description": "Required only by `action=key`.", "type": "array"}
    return {
        "type": "function",
        "function": {
            "name": "computer_use",
            "description": _TOOL_DOC,
            "parameters": {
                "properties": {
                    "action": {
                        "description": _ACTION_DOC,
                        "enum": list(QWEN3VL_ACTIONS),
                        "type": "string",
                    },
                    "keys": described,
                    "text": {
                        "description": "Required only by `action=type` and `action=answer`.",
                        "type": "string",
                    },
                    "coordinate": {
                        "description": "(x, y): The x (pixels from the left edge) and y (pixels "
                        "from the top edge) coordinates to move the mouse to.",
                        "type": "array",
                    },
                    "pixels": {
                        "description": "The amount of scrolling to perform. Positive values "
                        "scroll up, negative values scroll down. Required only by "
                        "`action=scroll` and `action=hscroll`.",
                        "type": "number",
                    },
                    "time": {
                        "description": "The seconds to wait. Required only by `action=wait`.",
                        "type": "number",
                    },
                    "status": {
                        "description": "The status of the task. Required only by "
                        "`action=terminate`.",
                        "type": "string",
                        "enum": ["success", "failure"],
                    },
                },
                "required": ["action"],
                "type": "object",
            },
        },
    }


class _Qwen3ToolCalls(Qwen25VLComputerUse):
    """The Qwen2.5-VL ``<tool_call>`` reader and writer, in 0-1000, with ``answer`` and the
    Qwen3-VL tool description. Private: used by :class:`Qwen3VLComputerUse`."""

    space = CoordinateSpace.REL1000

    def system_prompt(self, frame: ModelFrame) -> str:
        tools = json.dumps(qwen3_computer_use_tool(), ensure_ascii=False)
        return "You are a helpful assistant.\n\n" + FN_CALL_TEMPLATE.format(tools=tools)

    def _action(self, call: Any) -> Action:
        args = call.get("arguments", call) if isinstance(call, dict) else None
        if isinstance(args, str):
            args = loads_lenient(args)
        if isinstance(args, dict) and args.get("action") == "answer":
            text = args.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ParseError("answer needs a non-empty text")
            return Terminate(status="success", message=text)
        return super()._action(call)

    def _call_json(self, action: Action) -> str:
        if isinstance(action, Terminate) and action.status == "success" and action.message:
            args = {"action": "answer", "text": action.message}
            return json.dumps({"name": "computer_use", "arguments": args}, ensure_ascii=False)
        return super()._call_json(action)


class Qwen3VLComputerUse:
    """The ``qwen3vl`` style. ``history_images``: how many past screenshots to show again."""

    name = "qwen3vl"
    space = CoordinateSpace.REL1000
    factor = QWEN3VL_FACTOR
    min_pixels = QWEN3VL_MIN_PIXELS
    max_pixels = QWEN3VL_MAX_PIXELS

    def __init__(self, history_images: int = 0) -> None:
        self._calls = _Qwen3ToolCalls(history_images)

    @property
    def history_images(self) -> int:
        return self._calls.history_images

    def system_prompt(self, frame: ModelFrame) -> str:
        return self._calls.system_prompt(frame)

    def messages(
        self,
        instruction: str,
        frame: ModelFrame,
        screenshot: Image,
        history: Sequence[PastStep],
        feedback: str | None = None,
    ) -> list[Message]:
        return self._calls.messages(instruction, frame, screenshot, history, feedback)

    def grounding_messages(
        self, instruction: str, frame: ModelFrame, screenshot: Image
    ) -> list[Message]:
        return self._calls.grounding_messages(instruction, frame, screenshot)

    def parse(self, text: str) -> list[Action]:
        return self._calls.parse(text)

    def locate(self, text: str) -> Location:
        return self._calls.locate(text)

    def render(self, action: Action) -> str:
        return self._calls.render(action)
