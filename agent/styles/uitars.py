"""UI-TARS: ``Thought: ...`` then ``Action: click(start_box='(x,y)')`` calls.

Spaces (declared, never guessed): ``uitars`` (v1, Qwen2-VL base) answers in 0-1000 of the image it
saw; ``uitars15`` (UI-TARS-1.5, Qwen2.5-VL base) in its absolute resized pixels, ``<point>``
answers included (the official parser divides both by the smart_resize size for
``model_type="qwen25vl"``). Bounds 100*28*28 .. 16384*28*28 as ``ui_tars/action_parser.py``.

Interface strings, word for word: :data:`COMPUTER_USE_DOUBAO` and :data:`GROUNDING_DOUBAO` (1.5)
are ``ui_tars/prompt.py`` of the ``ui-tars`` PyPI package 0.5.1 (same in 0.1.0), i.e.
bytedance/UI-TARS ``codes/ui_tars/prompt.py``. :data:`UITARS_V1_PROMPT` is OSWorld's
``mm_agents/uitars_agent.py`` ``UITARS_USR_PROMPT_THOUGHT`` + ``UITARS_CALL_USR_ACTION_SPACE``
(copy read: v3yu/osworld-eval@09a33e0d); :data:`GROUNDING_V1` is the UI-TARS v1 README's.

Chat as OSWorld's UI-TARS agents build it: system "You are a helpful assistant.", the prompt, then
per past step its screenshot (recent ones only) and an ``Action: ...`` assistant turn (points
wrapped in box tokens, as the official ``add_box_token``), then the current screenshot. UI-TARS
shows ``history_n = 5`` screenshots in all: ``history_images`` (past ones) defaults to 4.

Read: click/left_single, left_double, right_single, hover, drag/select(start_box, end_box),
hotkey(key='ctrl c'), press(key), type(content) (a trailing newline, real or ``\\n``, is Enter:
TypeText + KeyPress enter; a start_box is clicked first), scroll(start_box?, direction) =
:data:`SCROLL_CLICKS` wheel clicks (UI-TARS' pyautogui code scrolls 5; ``amount=`` is ignored, its
unit is not stated), wait() = :data:`WAIT_SECONDS` (the prompt's "Sleep for 5s"), finished(content)
= Terminate success, call_user() = Terminate failure. Boxes: ``(x,y)``, ``<|box_start|>(x,y)
<|box_end|>``, ``(x1,y1,x2,y2)``, ``[x1, y1, x2, y2]``, ``<point>x y</point>``, ``<bbox>...</bbox>``
(a box counts by its centre); keys start_box/point/start_point, end_box/end_point. All calls after
one ``Action:`` (blank lines or a repeated ``Action:``) run in order; a new ``Thought:`` ends the
turn (later pairs were imagined without a screenshot). ``<think...>`` blocks are skipped. Values
are scanned as strings, never evaluated; refused with a reason: no call, an empty, non-numeric
(``start_box='='``, UI-TARS#78) or cut-off box, unknown actions (``!!!!``), a click without start.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Literal

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
)
from agent.chat import Message
from agent.errors import ConfigurationError, ParseError
from agent.geometry import IMAGE_FACTOR, CoordinateSpace, ModelFrame, Point
from agent.styles.base import Location, PastStep, box_location, feedback_text
from agent.styles.jsontext import drop_blocks

__all__ = [
    "CALL_USER_MESSAGE", "COMPUTER_USE_DOUBAO", "GROUNDING_DOUBAO", "GROUNDING_V1",
    "SCROLL_CLICKS", "UITARS_ACTIONS", "UITARS_HISTORY_N", "UITARS_V1_PROMPT", "WAIT_SECONDS",
    "UITarsStyle",
]  # fmt: skip

COMPUTER_USE_DOUBAO = r"""You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the next action to complete the task.

## Output Format
```
Thought: ...
Action: ...
```

## Action Space

click(point='<point>x1 y1</point>')
left_double(point='<point>x1 y1</point>')
right_single(point='<point>x1 y1</point>')
drag(start_point='<point>x1 y1</point>', end_point='<point>x2 y2</point>')
hotkey(key='ctrl c') # Split keys with a space and use lowercase. Also, do not use more than 3 keys in one hotkey action.
type(content='xxx') # Use escape characters \', \", and \n in content part to ensure we can parse the content in normal python string format. If you want to submit your input, use \n at the end of content. 
scroll(point='<point>x1 y1</point>', direction='down or up or right or left') # Show more information on the `direction` side.
wait() #Sleep for 5s and take a screenshot to check for any changes.
finished(content='xxx') # Use escape characters \', \", and \n in content part to ensure we can parse the content in normal python string format.


## Note
- Use {language} in `Thought` part.
- Write a small plan and finally summarize your next action (with its target element) in one sentence in `Thought` part.

## User Instruction
{instruction}
"""  # noqa: E501
GROUNDING_DOUBAO = "You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the next action to complete the task. \n\n## Output Format\n\nAction: ...\n\n\n## Action Space\nclick(point='<point>x1 y1</point>'')\n\n## User Instruction\n{instruction}"  # noqa: E501
_V1_ACTION_SPACE = r"""
click(start_box='<|box_start|>(x1,y1)<|box_end|>')
left_double(start_box='<|box_start|>(x1,y1)<|box_end|>')
right_single(start_box='<|box_start|>(x1,y1)<|box_end|>')
drag(start_box='<|box_start|>(x1,y1)<|box_end|>', end_box='<|box_start|>(x3,y3)<|box_end|>')
hotkey(key='')
type(content='') #If you want to submit your input, use "\n" at the end of `content`.
scroll(start_box='<|box_start|>(x1,y1)<|box_end|>', direction='down or up or right or left')
wait() #Sleep for 5s and take a screenshot to check for any changes.
finished()
call_user() # Submit the task and call the user when the task is unsolvable, or when you need the user's help.
"""  # noqa: E501
UITARS_V1_PROMPT = (
    "You are a GUI agent. You are given a task and your action history, with screenshots. You "
    "need to perform the next action to complete the task. \n\n## Output Format\n```\nThought: "
    "...\nAction: ...\n```\n\n## Action Space\n"
    + _V1_ACTION_SPACE.replace("{", "{{")
    + "\n\n## Note\n- Use {language} in `Thought` part.\n- Write a small plan and finally "
    "summarize your next action (with its target element) in one sentence in `Thought` part.\n\n"
    "## User Instruction\n{instruction}\n"
)
GROUNDING_V1 = (
    "Output only the coordinate of one point in your response. "
    "What element matches the following task: "
)
UITARS_HISTORY_N = 5  # screenshots UI-TARS shows in all (OSWorld's history_n), current included
SCROLL_CLICKS = 5  # wheel clicks per scroll (UI-TARS' pyautogui.scroll(5) / scroll(-5))
WAIT_SECONDS = 5.0  # seconds per wait(): the prompt's "Sleep for 5s"
CALL_USER_MESSAGE = "the model asked for the user's help (call_user)"
UITARS_ACTIONS = (
    "click", "left_single", "left_double", "right_single", "hover", "drag", "select", "hotkey",
    "press", "type", "scroll", "wait", "finished", "call_user",
)  # fmt: skip

_THINK_OPEN = re.compile(r"<think\w*>")  # <think>, <thinking>, Seed's <think_never_used_...>
_THINK_CLOSE = re.compile(r"</think\w*>")
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_MARK = re.compile(r"\bAction\s*[:：]")
_HEAD = re.compile(r"\s*([A-Za-z_]\w*)\s*\(\s*")
# key = 'string' | "string" (escapes kept; may run to the end when cut off) | bare token
_ARG = re.compile(
    r"""([A-Za-z_]\w*)\s*=\s*(?:'((?:\\.|[^'\\])*)('?)|"((?:\\.|[^"\\])*)("?)|([^,)\s]*))\s*""",
    re.DOTALL,
)
_LINE_CALL = re.compile(rf"^[ \t]*(?:{'|'.join(UITARS_ACTIONS)})\s*\(", re.MULTILINE)
_TOKENS = re.compile(r"<\|box_start\|>|<\|box_end\|>|</?point>|</?bbox>")
_COORD_CHARS = re.compile(r"[\d\s.,()\[\]+-]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_CLOSED = re.compile(r"\d\s*(?:\)|\]|</point>|</bbox>|<\|box_end\|>)[^\d]*$")
_ENTER_AFTER_TYPE = re.compile(r"(type\(content='(?:\\.|[^'\\])*)'\)\n\nhotkey\(key='enter'\)")
_ESCAPES = {"n": "\n", "t": "\t", "'": "'", '"': '"', "\\": "\\"}
_CLICKS: dict[str, tuple[Literal[1, 2], Literal["left", "right"]]] = {
    "click": (1, "left"),
    "left_single": (1, "left"),
    "left_double": (2, "left"),
    "right_single": (1, "right"),
}
_DIRECTIONS: dict[str, Literal["up", "down", "left", "right"]] = {"up": "up", "down": "down",
    "left": "left", "right": "right"}  # fmt: skip
_SYSTEM = "You are a helpful assistant."
_EXAMPLE = "Thought: ...\\nAction: click(start_box='(x,y)')"
_Args = dict[str, tuple[str, bool]]  # key -> (raw value with its escapes, closed)
_Box = tuple[Point, Point]
_Read = tuple[Action, _Box | None]  # an action and the box its start point came from


def _without_thinking(text: str, replacement: str = " ") -> str:
    """``text`` without its ``<think...>...</think...>`` blocks (linear, see drop_blocks)."""
    return drop_blocks(text, _THINK_OPEN, _THINK_CLOSE, lambda tag: "</" + tag[1:], replacement)


def _unescape(raw: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), raw, flags=re.DOTALL)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")


def _scan_call(text: str, pos: int) -> tuple[str, _Args, int] | None:
    """The call ``name(key='value', ...)`` at ``pos`` and where it ends; None if none starts."""
    head = _HEAD.match(text, pos)
    if head is None:
        return None
    name, pos, args = head.group(1).lower(), head.end(), {}
    while pos < len(text) and text[pos] != ")":
        arg = _ARG.match(text, pos)
        if arg is None:
            raise ParseError(f"{name}(...): expected key='value' at {text[pos : pos + 40]!r}")
        key, single, s_end, double, d_end, bare = arg.groups()
        group, quote = (2, "'") if single is not None else (4, '"')
        value, closed = (single, s_end) if single is not None else (double, d_end)
        pos = arg.end()
        if value is None:
            value, closed = bare, "bare"
        elif key in ("content", "text") and closed and pos < len(text) and text[pos] not in ",)":
            # an unescaped quote inside the text (it's): the string ends at its `')`
            if end := re.compile(re.escape(quote) + r"\s*\)").search(text, pos):
                value, pos = text[arg.start(group) : end.start()], end.end() - 1
        args[key] = (value, bool(closed))
        if pos < len(text) and text[pos] == ",":
            pos = len(text) - len(text[pos + 1 :].lstrip())
        elif pos < len(text) and text[pos] != ")":
            raise ParseError(f"{name}(...): expected ',' or ')' at {text[pos : pos + 40]!r}")
    return name, args, min(pos + 1, len(text))


class UITarsStyle:
    """The ``uitars`` (v1, 0-1000) and ``uitars15`` (1.5, resized pixels) styles."""

    factor = IMAGE_FACTOR
    min_pixels = 100 * 28 * 28
    max_pixels = 16384 * 28 * 28

    def __init__(
        self, version: Literal["uitars", "uitars15"], language: str = "English",
        history_images: int = UITARS_HISTORY_N - 1,
    ) -> None:  # fmt: skip
        if version not in ("uitars", "uitars15"):
            raise ConfigurationError(f"unknown UI-TARS version {version!r}: uitars or uitars15")
        if history_images < 0:
            raise ConfigurationError("history_images must be >= 0")
        self.name: str = version
        self.version = version
        self.space = CoordinateSpace.REL1000 if version == "uitars" else CoordinateSpace.RESIZED
        self.language = language
        self.history_images = history_images

    # -- prompt ---------------------------------------------------------------------------
    def prompt(self, instruction: str) -> str:
        template = UITARS_V1_PROMPT if self.version == "uitars" else COMPUTER_USE_DOUBAO
        return template.format(language=self.language, instruction=instruction)

    def messages(
        self, instruction: str, frame: ModelFrame, screenshot: Image,
        history: Sequence[PastStep], feedback: str | None = None,
    ) -> list[Message]:  # fmt: skip
        chat = [Message("system", (_SYSTEM,)), Message("user", (self.prompt(instruction),))]
        first_shown = len(history) - self.history_images
        for i, past in enumerate(history):
            if past.image is not None and i >= first_shown:
                chat.append(Message("user", (past.image,)))
            turn = past.answer.strip() if "Action" in past.answer else ""  # its own words
            chat.append(
                Message("assistant", (turn or "Action: " + self.render_turn(past.actions),))
            )
        note = feedback_text(feedback).strip()
        chat.append(Message("user", (screenshot, note) if note else (screenshot,)))
        return chat

    def grounding_messages(
        self, instruction: str, frame: ModelFrame, screenshot: Image
    ) -> list[Message]:
        v1, doubao = self.version == "uitars", GROUNDING_DOUBAO
        text = GROUNDING_V1 + instruction if v1 else doubao.format(instruction=instruction)
        return [Message("system", (_SYSTEM,)), Message("user", (text, screenshot))]

    # -- parser ---------------------------------------------------------------------------
    def parse(self, text: str) -> list[Action]:
        return [action for action, _ in self._read(text)]

    def locate(self, text: str) -> Location:
        """The first point of an action answer, or a bare coordinate such as ``(x,y)``."""
        try:
            read = self._read(text)
        except ParseError as error:
            try:
                bare = _without_thinking(text, "").strip()
                return Location(*self._coordinate("answer", bare, True))
            except ParseError:
                raise error from None
        for action, box in read:
            where = getattr(action, "point", None) or getattr(action, "start", None)
            if isinstance(where, Point):
                return Location(where, box)
        raise ParseError(f"the answer has no coordinate; answer with {_EXAMPLE}")

    def _read(self, text: str) -> list[_Read]:
        body = _without_thinking(text)
        starts = [m.end() for m in _MARK.finditer(body)]
        if not starts and (line := _LINE_CALL.search(body)) is not None:
            starts = [line.start()]
        for start in starts:
            calls = self._sequence(body, start)
            if calls:
                return [pair for name, args in calls for pair in self._convert(name, args)]
        if (answer := _ANSWER.search(body)) is not None:  # Seed/Agent-TARS final answer block
            return [(Terminate(status="success", message=answer.group(1).strip()), None)]
        after = body[starts[0] :].strip() if starts else ""
        if not after:
            missing = "'Action:' is empty" if starts else "no 'Action:' line"
            raise ParseError(f"{missing}; answer with {_EXAMPLE}")
        raise ParseError(f"'Action:' is not followed by a call like click(start_box='(x,y)'), "
                         f"got {after[:40]!r}")  # fmt: skip

    def _sequence(self, body: str, pos: int) -> list[tuple[str, _Args]]:
        calls: list[tuple[str, _Args]] = []
        while (found := _scan_call(body, pos)) is not None:
            name, args, end = found
            if calls and name not in UITARS_ACTIONS:
                break  # prose after the calls, not another call
            calls.append((name, args))
            pos = len(body) - len(body[end:].lstrip())
            if (again := _MARK.match(body, pos)) is not None:
                pos = again.end()  # a repeated 'Action:' continues the same turn
        return calls

    def _convert(self, name: str, args: _Args) -> list[_Read]:
        start_key = next((k for k in ("start_box", "point", "start_point") if k in args), None)
        end_key = next((k for k in ("end_box", "end_point") if k in args), None)
        start, box = self._coordinate(start_key, *args[start_key]) if start_key else (None, None)
        if (name in _CLICKS or name == "hover") and start is None:
            given = f" (got only {end_key})" if end_key else ""
            raise ParseError(f"{name} needs start_box='(x,y)'{given}")
        if name == "hover" and start is not None:
            return [(MouseMove(point=start), box)]
        if name in _CLICKS:
            count, button = _CLICKS[name]
            return [(Click(point=start, count=count, button=button), box)]
        if name in ("drag", "select"):
            if start is None or end_key is None:
                raise ParseError(f"{name} needs start_box='(x1,y1)' and end_box='(x2,y2)'")
            return [(Drag(start=start, end=self._coordinate(end_key, *args[end_key])[0]), box)]
        if name in ("hotkey", "press"):
            raw = (args.get("key") or args.get("hotkey") or ("", True))[0]
            keys = raw.split() if name == "hotkey" else [raw.strip()]
            if len(keys) == 1 and len(keys[0]) > 1 and "+" in keys[0]:
                keys = [k for k in keys[0].split("+") if k]
            if not keys or not all(keys):
                raise ParseError(f"{name} needs key='...', e.g. hotkey(key='ctrl c')")
            return [(KeyPress(keys=tuple(keys)), None)]
        if name == "type":
            return self._type(args, start, box)
        if name == "scroll":
            raw = args.get("direction", ("", True))[0].strip().lower()
            if (direction := _DIRECTIONS.get(raw)) is None:
                raise ParseError(f"scroll direction must be up, down, left or right, got {raw!r}")
            return [(Scroll(point=start, direction=direction, amount=SCROLL_CLICKS), box)]
        if name == "wait":
            return [(Wait(seconds=WAIT_SECONDS), None)]
        if name == "finished":
            content = _unescape(args.get("content", ("", True))[0]).strip()
            return [(Terminate(status="success", message=content or None), None)]
        if name == "call_user":
            return [(Terminate(status="failure", message=CALL_USER_MESSAGE), None)]
        raise ParseError(f"unknown action {name!r}; use one of: {', '.join(UITARS_ACTIONS)}")

    def _type(self, args: _Args, start: Point | None, box: _Box | None) -> list[_Read]:
        raw, closed = args.get("content") or args.get("text") or ("", True)
        if not closed:
            raise ParseError("the content of type(...) is not closed; the answer was cut off")
        content = _unescape(raw)
        enter = content.endswith("\n")
        content = content.removesuffix("\n")
        if not content and not enter:
            raise ParseError("type needs content='...'")
        out: list[_Read] = [(Click(point=start), box)] if start is not None else []  # focus
        out += [(TypeText(text=content), None)] if content else []
        return out + ([(KeyPress(keys=("enter",)), None)] if enter else [])

    def _coordinate(self, key: str, value: str, closed: bool) -> tuple[Point, _Box | None]:
        stripped = _TOKENS.sub(" ", value)
        if not stripped.strip():
            raise ParseError(f"{key} is empty; write {key}='(x,y)'")
        numbers = [float(n) for n in _NUMBER.findall(stripped)]
        if not _COORD_CHARS.fullmatch(stripped) or len(numbers) not in (2, 4):
            raise ParseError(f"{key}={value[:40]!r} is not a coordinate; write {key}='(x,y)'")
        if not all(math.isfinite(n) for n in numbers):
            raise ParseError(f"{key}={value[:40]!r} holds a number too large")
        if not closed and not _CLOSED.search(value):
            raise ParseError(f"{key}={value[:40]!r} was cut off; write {key}='(x,y)'")
        if len(numbers) == 2:
            return self._point(numbers[0], numbers[1]), None
        box = box_location(numbers, self.space)
        return box.point, box.box

    def _point(self, x: float, y: float) -> Point:
        return Point(x=x, y=y, space=self.space)

    # -- rendering ------------------------------------------------------------------------
    def render_turn(self, actions: Sequence[Action]) -> str:
        """The calls of one turn, blank-line separated; TypeText + Enter is one ``type``."""
        joined = "\n\n".join(self.render(action) for action in actions)
        return _ENTER_AFTER_TYPE.sub(lambda m: m.group(1) + "\\n')", joined)

    def render(self, action: Action) -> str:
        """One action as UI-TARS writes it. ValueError for what the grammar cannot express."""
        if isinstance(action, Click) and action.point is not None:
            names = {(1, "left"): "click", (2, "left"): "left_double", (1, "right"): "right_single"}
            name = names.get((action.count, action.button))
            if name is not None:
                return f"{name}(start_box='{_box(action.point)}')"
        elif isinstance(action, MouseMove):
            return f"hover(start_box='{_box(action.point)}')"
        elif isinstance(action, Drag) and action.start is not None:
            return f"drag(start_box='{_box(action.start)}', end_box='{_box(action.end)}')"
        elif isinstance(action, KeyPress):
            return f"hotkey(key='{_escape(' '.join(action.keys))}')"
        elif isinstance(action, TypeText):
            return f"type(content='{_escape(action.text)}')"
        elif isinstance(action, Scroll):
            where = f"start_box='{_box(action.point)}', " if action.point is not None else ""
            return f"scroll({where}direction='{action.direction}')"
        elif isinstance(action, Wait):
            return "wait()"
        elif isinstance(action, Terminate):
            if action.status == "failure":
                return "call_user()"
            message = action.message
            return f"finished(content='{_escape(message)}')" if message else "finished()"
        raise ValueError(f"UI-TARS has no action for {action!r}")


def _box(point: Point) -> str:
    def num(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else f"{v:.3f}".rstrip("0")

    return f"<|box_start|>({num(point.x)},{num(point.y)})<|box_end|>"
