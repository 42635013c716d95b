"""Qwen2.5-VL computer use: the official ``computer_use`` tool, ``<tool_call>`` answers, absolute
pixels of the resized screenshot.

The interface strings (system prompt skeleton, tool description, action names and parameter
descriptions) are kept as published: qwen-agent's ``NousFnCallPrompt`` template and the
``ComputerUse`` tool of QwenLM's ``cookbooks/utils/agent_function_call.py`` (Qwen2.5-VL's eleven
actions). The history wording ("The user query: ... Task progress ...") follows the
mobile-agent cookbook. The model was trained on that wording: change it and accuracy drops.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any, Literal

from PIL.Image import Image

from actions.schema import (
    Action,
    Click,
    Drag,
    KeyPress,
    MouseMove,
    Scroll,
    Terminate,
    TypeText,
    Wait,
    points_of,
)
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
from agent.styles.base import Location, PastStep, box_location
from agent.styles.jsontext import extract_objects, loads_lenient

__all__ = ["FN_CALL_TEMPLATE", "QWEN25VL_ACTIONS", "Qwen25VLComputerUse", "computer_use_tool"]

QWEN25VL_ACTIONS = (
    "key",
    "type",
    "mouse_move",
    "left_click",
    "left_click_drag",
    "right_click",
    "middle_click",
    "double_click",
    "scroll",
    "wait",
    "terminate",
)
_ACCEPTED_EXTRA = ("triple_click", "hscroll")  # Qwen3-VL's additions, accepted when seen
_ALIASES = {"click": "left_click"}  # the mobile_use name, which models also emit on desktops

_ACTION_DOC = """
The action to perform. The available actions are:
* `key`: Performs key down presses on the arguments passed in order, then performs key releases in reverse order.
* `type`: Type a string of text on the keyboard.
* `mouse_move`: Move the cursor to a specified (x, y) pixel coordinate on the screen.
* `left_click`: Click the left mouse button.
* `left_click_drag`: Click and drag the cursor to a specified (x, y) pixel coordinate on the screen.
* `right_click`: Click the right mouse button.
* `middle_click`: Click the middle mouse button.
* `double_click`: Double-click the left mouse button.
* `scroll`: Performs a scroll of the mouse scroll wheel.
* `wait`: Wait specified seconds for the change to happen.
* `terminate`: Terminate the current task and report its completion status.
""".strip()  # noqa: E501

_TOOL_DOC = """
Use a mouse and keyboard to interact with a computer, and take screenshots.
* This is an interface to a desktop GUI. You do not have access to a terminal or applications menu. You must click on desktop icons to start applications.
* Some applications may take time to start or process actions, so you may need to wait and take successive screenshots to see the results of your actions. E.g. if you click on Firefox and a window doesn't open, try wait and taking another screenshot.
* The screen's resolution is {width}x{height}.
* Whenever you intend to move the cursor to click on an element like an icon, you should consult a screenshot to determine the coordinates of the element before moving the cursor.
* If you tried clicking on a program or link but it failed to load, even after waiting, try adjusting your cursor position so that the tip of the cursor visually falls on the element that you want to click.
* Make sure to click any buttons, links, icons, etc with the cursor tip in the center of the element. Don't click boxes on their edges unless asked.
""".strip()  # noqa: E501

FN_CALL_TEMPLATE = """# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{tools}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{{"name": <function-name>, "arguments": <args-json-object>}}
</tool_call>"""  # noqa: E501

_TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|$)", re.DOTALL)


def computer_use_tool(frame: ModelFrame) -> dict[str, Any]:
    """The ``computer_use`` function description, stating the RESIZED screen resolution."""
    return {
        "type": "function",
        "function": {
            "name": "computer_use",
            "description": _TOOL_DOC.format(width=frame.width, height=frame.height),
            "parameters": {
                "properties": {
                    "action": {
                        "description": _ACTION_DOC,
                        "enum": list(QWEN25VL_ACTIONS),
                        "type": "string",
                    },
                    "keys": {"description": "Required only by `action=key`.", "type": "array"},
                    "text": {"description": "Required only by `action=type`.", "type": "string"},
                    "coordinate": {
                        "description": "(x, y): The x (pixels from the left edge) and y (pixels "
                        "from the top edge) coordinates to move the mouse to. Required only by "
                        "`action=mouse_move` and `action=left_click_drag`.",
                        "type": "array",
                    },
                    "pixels": {
                        "description": "The amount of scrolling to perform. Positive values "
                        "scroll up, negative values scroll down. Required only by "
                        "`action=scroll`.",
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


class Qwen25VLComputerUse:
    """The ``qwen25vl`` style. ``history_images``: how many past screenshots to show again."""

    name = "qwen25vl"
    space = CoordinateSpace.RESIZED
    factor = IMAGE_FACTOR
    min_pixels = QWEN_MIN_PIXELS
    max_pixels = QWEN_MAX_PIXELS

    def __init__(self, history_images: int = 0) -> None:
        if history_images < 0:
            raise ValueError("history_images must be >= 0")
        self.history_images = history_images

    # -- prompt ---------------------------------------------------------------------------
    def system_prompt(self, frame: ModelFrame) -> str:
        tools = json.dumps(computer_use_tool(frame), ensure_ascii=False)
        return "You are a helpful assistant.\n\n" + FN_CALL_TEMPLATE.format(tools=tools)

    def messages(
        self,
        instruction: str,
        frame: ModelFrame,
        screenshot: Image,
        history: Sequence[PastStep],
        feedback: str | None = None,
    ) -> list[Message]:
        chat = [Message("system", (self.system_prompt(frame),))]
        shown = history[-self.history_images :] if self.history_images else []
        for past in shown:
            if past.image is not None:
                chat.append(Message("user", (past.image,)))
                chat.append(Message("assistant", ("\n".join(map(self.render, past.actions)),)))
        query = f"The user query: {instruction}"
        if history:
            steps = "".join(
                f"Step {i}: {'; '.join(self._call_json(a) for a in past.actions)}; "
                for i, past in enumerate(history, start=1)
            )
            query += (
                "\nTask progress (You have done the following operation on the current device): "
                + steps
            )
        if feedback:
            query += f"\nYour previous answer was not carried out: {feedback} Answer again."
        chat.append(Message("user", (query, screenshot)))
        return chat

    def grounding_messages(
        self, instruction: str, frame: ModelFrame, screenshot: Image
    ) -> list[Message]:
        """Grounding with Qwen2.5-VL uses the same computer-use prompt (as the ScreenSpot-Pro
        harness does) and reads the point of the first pointing action."""
        return self.messages(instruction, frame, screenshot, [])

    def locate(self, text: str) -> Location:
        for action in self.parse(text):
            point = next(iter(points_of(action)), None)
            if point is not None:
                return Location(point)
        raise ParseError("the answer has no coordinate; answer with an action at the element")

    # -- parser ---------------------------------------------------------------------------
    def parse(self, text: str) -> list[Action]:
        bodies = [m.group(1) for m in _TOOL_CALL.finditer(text)]
        if not bodies:
            bodies = [s for s in extract_objects(text) if '"action"' in s or "'action'" in s]
        if not bodies:
            raise ParseError(
                'no <tool_call> found; answer with <tool_call>{"name": "computer_use", '
                '"arguments": {...}}</tool_call>'
            )
        return [self._action(loads_lenient(body)) for body in bodies]

    def _action(self, call: Any) -> Action:
        if not isinstance(call, dict):
            raise ParseError(f"a tool call must be a JSON object, got {type(call).__name__}")
        args = call.get("arguments", call)
        if isinstance(args, str):
            args = loads_lenient(args)
        if not isinstance(args, dict):
            raise ParseError("tool call arguments must be a JSON object")
        name = args.get("action")
        name = _ALIASES.get(name, name) if isinstance(name, str) else name
        if name not in QWEN25VL_ACTIONS + _ACCEPTED_EXTRA:
            raise ParseError(f"unknown action {name!r}; use one of: {', '.join(QWEN25VL_ACTIONS)}")
        point = self._point(args["coordinate"]) if args.get("coordinate") is not None else None
        try:
            return self._build(str(name), args, point)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ParseError(f"bad arguments for {name}: {exc}") from exc

    def _build(self, name: str, args: dict[str, Any], point: Point | None) -> Action:
        clicks = {"left_click": 1, "double_click": 2, "triple_click": 3}
        if name in clicks:
            return Click(point=point, count=clicks[name])  # type: ignore[arg-type]
        if name in ("right_click", "middle_click"):
            return Click(point=point, button=name.removesuffix("_click"))  # type: ignore[arg-type]
        if name == "mouse_move":
            return MouseMove(point=_required(point, name))
        if name == "left_click_drag":
            return Drag(end=_required(point, name))
        if name == "key":
            keys = args["keys"]
            if isinstance(keys, str):
                keys = [k for k in re.split(r"[+\s]+", keys) if k]
            return KeyPress(keys=tuple(str(k) for k in keys))
        if name == "type":
            return TypeText(text=str(args["text"]))
        if name in ("scroll", "hscroll"):
            pixels = int(float(args["pixels"]))
            direction: Literal["up", "down", "left", "right"]
            if name == "scroll":
                direction = "up" if pixels > 0 else "down"
            else:
                direction = "right" if pixels > 0 else "left"
            return Scroll(point=point, direction=direction, amount=abs(pixels))
        if name == "wait":
            return Wait(seconds=float(args.get("time", 1.0)))
        status = args.get("status", "success")
        if status not in ("success", "failure"):
            raise ValueError(f"status must be success or failure, got {status!r}")
        return Terminate(status=status)

    def _point(self, value: Any) -> Point:
        if isinstance(value, str):
            value = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", value)]
        if not isinstance(value, list | tuple) or len(value) not in (2, 4):
            raise ParseError(f"coordinate must be [x, y], got {value!r:.80}")
        try:
            numbers = [float(v) for v in value]
        except (TypeError, ValueError, OverflowError):
            raise ParseError(f"coordinate must hold numbers, got {value!r:.80}") from None
        if not all(math.isfinite(n) for n in numbers):
            raise ParseError(f"coordinate must hold finite numbers, got {value!r:.80}")
        if len(numbers) == 4:  # a box: its centre
            return box_location(numbers, self.space).point
        return Point(x=numbers[0], y=numbers[1], space=self.space)

    # -- rendering ------------------------------------------------------------------------
    def render(self, action: Action) -> str:
        return f"<tool_call>\n{self._call_json(action)}\n</tool_call>"

    def _call_json(self, action: Action) -> str:
        args: dict[str, Any]
        if isinstance(action, Click):
            name = (
                {1: "left_click", 2: "double_click", 3: "triple_click"}[action.count]
                if action.button == "left"
                else f"{action.button}_click"
            )
            args = {"action": name}
            if action.point is not None:
                args["coordinate"] = _xy(action.point)
        elif isinstance(action, MouseMove):
            args = {"action": "mouse_move", "coordinate": _xy(action.point)}
        elif isinstance(action, Drag):
            args = {"action": "left_click_drag", "coordinate": _xy(action.end)}
        elif isinstance(action, KeyPress):
            args = {"action": "key", "keys": list(action.keys)}
        elif isinstance(action, TypeText):
            args = {"action": "type", "text": action.text}
        elif isinstance(action, Scroll):
            sign = 1 if action.direction in ("up", "right") else -1
            vertical = action.direction in ("up", "down")
            args = {"action": "scroll" if vertical else "hscroll", "pixels": sign * action.amount}
            if action.point is not None:
                args["coordinate"] = _xy(action.point)
        elif isinstance(action, Wait):
            args = {"action": "wait", "time": action.seconds}
        else:
            args = {"action": "terminate", "status": action.status}
        return json.dumps({"name": "computer_use", "arguments": args}, ensure_ascii=False)


def _required(point: Point | None, name: str) -> Point:
    if point is None:
        raise ParseError(f"{name} needs a coordinate [x, y]")
    return point


def _xy(point: Point) -> list[float | int]:
    return [int(v) if float(v).is_integer() else round(v, 1) for v in point.xy()]
