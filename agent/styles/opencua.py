"""OpenCUA (7B/32B, Qwen2.5-VL based): answers are ``pyautogui`` calls such as
``pyautogui.click(x=1443, y=343)`` in absolute pixels of the resized image the model saw.

Interface strings: xlang-ai/OpenCUA ``model/README.md``: the system
prompt :data:`OPENCUA_SYSTEM_PROMPT`, word for word, then one user turn with the screenshot and
the instruction; coordinates are in the smart-resized frame (factor 28, 3,136 .. 12,845,056).

Spaces disagree by model: OpenCUA-7B/32B answer in resized pixels; OpenCUA-Qwen2-7B and
OpenCUA-A3B answer in 0-1 of the image. This style follows the README for the 7B/32B.

The answer is Python source and is NEVER evaluated: it is parsed with :func:`ast.parse` and only
statements of the form ``pyautogui.NAME(literal, ..., key=literal)`` are accepted, where a
literal is a number (optionally negative), a string, or a list/tuple of those.
``import pyautogui`` and comments are skipped. Anything else in the code (``__import__('os')``,
attribute chains, names, subscripts, assignments, other modules) is refused with a ParseError;
nothing is run. Code is taken from a fenced block when there is one, otherwise from the lines
that hold ``pyautogui.`` (a short label such as ``Action:`` before it is dropped) and the lines
that are import statements (refused unless they import pyautogui); other prose is skipped.

Calls read (pyautogui's signatures): ``click(x, y, clicks=1, button='left')``, ``doubleClick``,
``tripleClick``, ``rightClick``, ``middleClick``, ``moveTo``, ``dragTo(x, y)``,
``scroll(clicks, x, y)``, ``hscroll``, ``write``/``typewrite(message)``, ``press(keys)``,
``hotkey(*keys)``; :meth:`OpenCUAGrounding.actions` returns them all, :meth:`locate` the point of
the first call that has one. OpenCUA has no refusal answer for grounding: code without a point
is a ParseError.
"""

from __future__ import annotations

import ast
import contextlib
import re
from typing import Any, Literal

from PIL.Image import Image

from actions.schema import Action, Click, Drag, KeyPress, MouseMove, Scroll, TypeText, points_of
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
from agent.styles.base import Location, OneElementGrounding, finite_number, number_text

__all__ = ["OPENCUA_CALLS", "OPENCUA_SYSTEM_PROMPT", "OpenCUAGrounding"]

# xlang-ai/OpenCUA model/README.md, word for word
OPENCUA_SYSTEM_PROMPT = (
    "You are a GUI agent. You are given a task and a screenshot of the screen. You need to "
    "perform a series of pyautogui actions to complete the task."
)
OPENCUA_CALLS = (
    "click", "doubleClick", "tripleClick", "rightClick", "middleClick", "moveTo", "dragTo",
    "scroll", "hscroll", "write", "typewrite", "press", "hotkey",
)  # fmt: skip
_FENCE = re.compile(r"```[a-zA-Z_]*[ \t]*\n?(.*?)(?:```|$)", re.DOTALL)
_LABEL = re.compile(r"[\w\s:*>.-]{0,40}")  # what may stand before pyautogui. on a prose line
_IMPORT = re.compile(r"\s*(?:import|from)\s")
_EXPECTED = "pyautogui.click(x=<int>, y=<int>)"
_MAX_LINES = 50


def _literal(node: ast.expr) -> Any:
    """The value of a literal node; ParseError for anything that would need evaluating."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str):
        return node.value  # True/False are ints too; no coordinate or key accepts them
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float)
        and not isinstance(node.operand.value, bool)
    ):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    if isinstance(node, ast.List | ast.Tuple) and len(node.elts) <= 16:
        return [_literal(e) for e in node.elts]
    raise ParseError(f"only literal arguments are accepted, not {type(node).__name__}")


class OpenCUAGrounding(OneElementGrounding):
    """The ``opencua`` style: OpenCUA's pyautogui code, read (never run), resized pixels."""

    name = "opencua"
    space = CoordinateSpace.RESIZED
    factor = IMAGE_FACTOR
    min_pixels = QWEN_MIN_PIXELS
    max_pixels = QWEN_MAX_PIXELS

    def chat(self, instruction: str, frame: ModelFrame, screenshot: Image) -> list[Message]:
        return [
            Message("system", (OPENCUA_SYSTEM_PROMPT,)),
            Message("user", (screenshot, instruction)),
        ]

    # -- parser ---------------------------------------------------------------------------
    def actions(self, text: str) -> list[Action]:
        """Every pyautogui call of the answer as actions, in order. Raises ParseError."""
        statements = self._statements(text)
        actions: list[Action] = []
        for statement in statements:
            if isinstance(statement, ast.Import | ast.ImportFrom):
                names = [alias.name for alias in statement.names]
                if isinstance(statement, ast.Import) and names == ["pyautogui"]:
                    continue
                raise ParseError(f"only pyautogui calls are accepted, not import {names[:3]}")
            actions.append(self._call(statement))
        if not actions:
            raise ParseError(f"no pyautogui call found; answer with {_EXPECTED}")
        return actions

    def locate(self, text: str) -> Location:
        for action in self.actions(text):
            point = next(iter(points_of(action)), None)
            if point is not None:
                return Location(point)
        raise ParseError(f"the answer has no coordinate; answer with {_EXPECTED}")

    def _statements(self, text: str) -> list[ast.stmt]:
        fenced = _FENCE.search(text)
        if fenced is not None:
            sources = [fenced.group(1)]
        else:
            sources = []
            for line in text.splitlines():
                at = line.find("pyautogui.")
                if at < 0:
                    if _IMPORT.match(line):  # code, not prose: refused unless pyautogui
                        with contextlib.suppress(SyntaxError, ValueError):
                            ast.parse(line.strip())
                            sources.append(line.strip())
                    continue
                prefix = line[:at]
                sources.append(line[at:] if _LABEL.fullmatch(prefix) else line.strip())
                if len(sources) >= _MAX_LINES:
                    break
        statements: list[ast.stmt] = []
        for source in sources:
            try:
                tree = ast.parse(source.strip(), mode="exec")
            except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
                reason = " ".join(str(getattr(error, "msg", None) or error).split())[:80]
                reason = reason or type(error).__name__
                raise ParseError(f"the code is not valid Python ({reason}); {_EXPECTED}") from None
            statements += tree.body
        return statements

    def _call(self, statement: ast.stmt) -> Action:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "pyautogui"
        ):
            raise ParseError(
                f"only pyautogui.NAME(...) calls are accepted, not a {type(statement).__name__} "
                f"statement; answer with {_EXPECTED}"
            )
        name = call.func.attr
        if name not in OPENCUA_CALLS:
            known = ", ".join(OPENCUA_CALLS)
            raise ParseError(f"unknown call pyautogui.{name[:40]}; use one of {known}")
        if any(isinstance(a, ast.Starred) for a in call.args):
            raise ParseError("only literal arguments are accepted, not Starred")
        args = [_literal(a) for a in call.args]
        kwargs: dict[str, Any] = {}
        for keyword in call.keywords:
            if keyword.arg is None:
                raise ParseError("only literal arguments are accepted, not **kwargs")
            kwargs[keyword.arg] = _literal(keyword.value)
        try:
            return self._build(name, args, kwargs)
        except (IndexError, KeyError, TypeError, ValueError) as error:
            raise ParseError(f"bad arguments for pyautogui.{name}: {error}"[:200]) from None

    def _build(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Action:
        if name in ("write", "typewrite"):
            text = kwargs.get("message", args[0] if args else None)
            if isinstance(text, list):
                text = "".join(str(t) for t in text)
            if not isinstance(text, str) or not text:
                raise ValueError("needs a non-empty message")
            return TypeText(text=text)
        if name in ("press", "hotkey"):
            keys = kwargs.get("keys", args if name == "hotkey" else args[:1])
            flat = [k for key in keys for k in (key if isinstance(key, list) else [key])]
            if not flat or not all(isinstance(k, str) and k for k in flat):
                raise ValueError("needs key names")
            return KeyPress(keys=tuple(flat))
        if name in ("scroll", "hscroll"):
            clicks = kwargs.get("clicks", args[0] if args else None)
            amount = finite_number(clicks) if not isinstance(clicks, str) else None
            if amount is None or abs(amount) > 10_000:
                raise ValueError("needs a number of clicks")
            point = self._point(args[1:], kwargs)
            direction: Literal["up", "down", "left", "right"]
            if name == "scroll":
                direction = "up" if amount > 0 else "down"
            else:
                direction = "right" if amount > 0 else "left"
            return Scroll(point=point, direction=direction, amount=abs(int(amount)))
        point = self._point(args, kwargs)
        if name == "moveTo":
            if point is None:
                raise ValueError("needs x and y")
            return MouseMove(point=point)
        if name == "dragTo":
            if point is None:
                raise ValueError("needs x and y")
            return Drag(end=point)
        count = {"doubleClick": 2, "tripleClick": 3}.get(name, kwargs.get("clicks", 1))
        if not isinstance(count, int) or isinstance(count, bool) or count not in (1, 2, 3):
            raise ValueError(f"clicks must be 1, 2 or 3, got {str(count)[:20]}")
        button = {"rightClick": "right", "middleClick": "middle"}.get(
            name, kwargs.get("button", "left")
        )
        if button not in ("left", "right", "middle"):
            raise ValueError(f"button must be left, right or middle, got {str(button)[:20]}")
        counts: dict[int, Literal[1, 2, 3]] = {1: 1, 2: 2, 3: 3}
        return Click(point=point, count=counts[count], button=button)

    def _point(self, args: list[Any], kwargs: dict[str, Any]) -> Point | None:
        x = kwargs.get("x", args[0] if args else None)
        y = kwargs.get("y", args[1] if len(args) > 1 else None)
        if isinstance(x, list) and y is None:  # click((x, y))
            if len(x) != 2:
                raise ValueError("a point is (x, y)")
            x, y = x
        if x is None and y is None:
            return None
        fx = None if isinstance(x, str) else finite_number(x)
        fy = None if isinstance(y, str) else finite_number(y)
        if fx is None or fy is None:
            raise ValueError("x and y must be finite numbers")
        return Point(x=fx, y=fy, space=self.space)

    # -- rendering ------------------------------------------------------------------------
    def render_point(self, point: Point) -> str:
        return f"pyautogui.click(x={number_text(point.x)}, y={number_text(point.y)})"
