"""Reading JSON out of model text, tolerantly and without ever evaluating it.

Models wrap JSON in code fences, leave tags or braces open, add trailing commas and use single
quotes. :func:`loads_lenient` repairs exactly those faults and then uses :func:`json.loads`;
anything else is a :class:`~agent.errors.ParseError` with a reason the model can act on.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.errors import ParseError

__all__ = ["extract_objects", "loads_lenient", "strip_fences"]

_FENCE = re.compile(r"```[a-zA-Z_]*\s*\n?(.*?)(?:```|$)", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_PY_LITERAL = re.compile(r"\b(?:True|False|None)\b")
_PY_TO_JSON = {"True": "true", "False": "false", "None": "null"}


def strip_fences(text: str) -> str:
    """The body of the first ```fenced``` block, or the text itself when there is none."""
    match = _FENCE.search(text)
    return match.group(1).strip() if match else text.strip()


def _swap_single_quotes(text: str) -> str:
    """Turn a single-quoted JSON-ish text into double-quoted JSON, string-aware."""
    out: list[str] = []
    quote: str | None = None
    escaped = False
    for ch in text:
        if quote is None:
            if ch in "'\"":
                quote = ch
                out.append('"')
            else:
                out.append(ch)
            continue
        if escaped:
            escaped = False
            out.append("'" if ch == "'" else "\\" + ch)
            continue
        if ch == "\\":
            escaped = True
        elif ch == quote:
            quote = None
            out.append('"')
        elif ch == '"':
            out.append('\\"')
        else:
            out.append(ch)
    return "".join(out)


def _close_open(text: str) -> str:
    """Append the closing quote/brackets an answer cut off before its end."""
    stack: list[str] = []
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack and stack[-1] == ch:
            stack.pop()
    return text + ('"' if in_string else "") + "".join(reversed(stack))


def loads_lenient(text: str) -> Any:
    """Parse one JSON value from ``text``, repairing fences, trailing commas, single quotes,
    Python literals and unclosed brackets. Raises :class:`ParseError`."""
    raw = text.strip()
    if raw[:1] in ("{", "["):  # JSON first: a ``` inside one of its strings is not a fence
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            pass
    body = strip_fences(text)
    if not body:
        raise ParseError("empty answer where JSON was expected")
    attempts = [body]
    repaired = _TRAILING_COMMA.sub(r"\1", body)
    attempts.append(repaired)
    if "'" in repaired:
        attempts.append(_swap_single_quotes(repaired))
    attempts.append(_PY_LITERAL.sub(lambda m: _PY_TO_JSON[m.group(0)], attempts[-1]))
    attempts.append(_TRAILING_COMMA.sub(r"\1", _close_open(attempts[-1])))
    error: json.JSONDecodeError | None = None
    for candidate in attempts:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError as exc:
            error = exc
    assert error is not None
    raise ParseError(f"invalid JSON ({error.msg} at position {error.pos}): {body[:200]!r}")


def extract_objects(text: str) -> list[str]:
    """Top-level ``{...}`` spans in ``text`` (string-aware); a last unclosed one runs to the end."""
    spans: list[str] = []
    depth = 0
    start = -1
    in_string = False
    escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"' and depth > 0:
            in_string = True
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append(text[start : i + 1])
    if depth > 0:
        spans.append(text[start:])
    return spans
