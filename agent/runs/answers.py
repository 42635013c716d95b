"""Answers as each model family writes them, for training rows (:mod:`agent.runs.export`).

:func:`answer_text` is one step's answer as text, through the style's own ``render``, so the
words are the ones its parser reads: the ``<tool_call>`` blocks of the tool-call families
(:data:`TOOL_STYLES`: ``qwen25vl``, ``qwen3vl``), one per action, newline-separated; UI-TARS as
``Thought: ...`` (the recorded one) then ``Action: ...``; the grounding-only families their
location (the ``Terminate`` that follows it in the loop is implicit in such an answer).
:func:`answer_calls` gives a tool-call family's calls as objects (``{"name": ..., "arguments":
{...}}``) for OpenAI-style ``tool_calls``.

For ms-swift, :func:`with_placeholders` swaps every point for a numbered stand-in point and
:func:`fill_bbox` replaces each rendered stand-in (its brackets and any box tokens around it) with
ms-swift's bare ``<bbox>`` tag, in text order: ``"coordinate": <bbox>``, ``start_box='<bbox>'``.
ms-swift fills the tag with its own text for the point (see :mod:`agent.runs.export`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from actions.schema import Action, Terminate, map_points
from agent.geometry import Point
from agent.styles.base import Style
from agent.styles.uitars import UITarsStyle

__all__ = [
    "TOOL_STYLES",
    "answer_calls",
    "answer_text",
    "fill_bbox",
    "thought_of",
    "uses_tools",
    "with_placeholders",
]

TOOL_STYLES = ("qwen25vl", "qwen3vl")
_X0, _Y0 = 7_000_000, 8_000_000  # stand-in point k is (_X0 + k, _Y0 + k): never a real pixel
_STAND_IN = re.compile(
    r"(?:<\|box_start\|>)?[\[(]\s*7(\d{6})(?:\.0)?\s*,\s*8\d{6}(?:\.0)?\s*[\])](?:<\|box_end\|>)?"
)
_ACTION_MARK = re.compile(r"\bAction\s*[:：]")


def uses_tools(style: Style) -> bool:
    """Whether ``style``'s family answers with tool calls."""
    return style.name in TOOL_STYLES


def answer_calls(style: Style, actions: Sequence[Action]) -> list[dict[str, Any]]:
    """The tool calls of a tool-call family, one per action. ValueError if one cannot be
    written."""
    calls = []
    for action in actions:
        body = style.render(action).strip()
        body = body.removeprefix("<tool_call>").removesuffix("</tool_call>").strip()
        call = json.loads(body)
        if not isinstance(call, dict) or "arguments" not in call:
            raise ValueError(f"{style.name} wrote {body[:60]!r}, not a tool call")
        calls.append(call)
    return calls


def thought_of(raw_output: str) -> str:
    """The recorded answer's words before its first ``Action:`` (UI-TARS' ``Thought: ...``)."""
    mark = _ACTION_MARK.search(raw_output)
    return raw_output[: mark.start()].strip() if mark else ""


def answer_text(style: Style, actions: Sequence[Action], raw_output: str = "") -> str:
    """One step's answer, as the family writes it. ValueError if an action cannot be
    written."""
    if uses_tools(style):
        return "\n".join(style.render(a).strip() for a in actions)
    if isinstance(style, UITarsStyle):
        thought = thought_of(raw_output)
        action = "Action: " + style.render_turn(actions)
        return f"{thought}\n{action}" if thought else action
    shown: list[Action] = [a for a in actions if not isinstance(a, Terminate)] or list(actions)
    return "\n".join(style.render(a) for a in shown)


def with_placeholders(
    actions: Sequence[Action], first: int = 0
) -> tuple[list[Action], list[tuple[int, int]]]:
    """``actions`` with every point replaced by stand-in ``first``, ``first + 1``, ...; and for
    each stand-in, in order, ``(action index, point index in points_of(action))``."""
    keys: list[tuple[int, int]] = []
    out: list[Action] = []
    for i, action in enumerate(actions):
        count = 0

        def stand_in(point: Point, i: int = i) -> Point:
            nonlocal count
            k = first + len(keys)
            keys.append((i, count))
            count += 1
            return Point(x=_X0 + k, y=_Y0 + k, space=point.space)

        out.append(map_points(action, stand_in))
    return out, keys


def fill_bbox(text: str) -> tuple[str, list[int]]:
    """``text`` with each rendered stand-in point replaced by ``<bbox>``; the stand-ins'
    numbers in text order."""
    order: list[int] = []

    def put(match: re.Match[str]) -> str:
        order.append(int(match.group(1)))
        return "<bbox>"

    return _STAND_IN.sub(put, text), order
