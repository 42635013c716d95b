"""Reading JSON out of model text, tolerantly and without ever evaluating it.

Models wrap JSON in code fences, leave tags or braces open, add trailing commas and use single
quotes. :func:`loads_lenient` repairs exactly those faults and then uses :func:`json.loads`;
anything else is a :class:`~agent.errors.ParseError` with a reason the model can act on,
including what :func:`json.loads` raises besides a syntax error (RecursionError for nesting
deeper than the interpreter's stack, ValueError for an integer over Python's 4300-digit limit)
and what it accepts but no action can hold (a lone surrogate escape such as ``\\ud800``).

:func:`drop_blocks` removes tagged blocks (``<think>...</think>``, ``<ref>...</ref>``) in linear
time, where a lazy ``<tag>.*?</tag>`` regex is quadratic when openers are never closed.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from agent.errors import ParseError

__all__ = ["drop_blocks", "extract_objects", "loads_lenient", "strip_fences"]

_FENCE = re.compile(r"```[a-zA-Z_]*\s*\n?(.*?)(?:```|$)", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_PY_LITERAL = re.compile(r"\b(?:True|False|None)\b")
_PY_TO_JSON = {"True": "true", "False": "false", "None": "null"}
_SURROGATE = re.compile("[\ud800-\udfff]")


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


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a decoded JSON value holds a string (or key) with an unpaired ``\\ud800``-style
    escape: no character, so no text can be typed or written to a trajectory from it."""
    stack = [value]
    while stack:  # iterative: the value may be nested as deep as json.loads allows
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item
    return False


def _decode(candidate: str) -> Any:
    """:func:`json.loads`; a JSONDecodeError is left to the caller (a repair may fix it), the
    errors no repair fixes become a ParseError."""
    try:
        value = json.loads(candidate)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise ParseError("the JSON is nested too deeply; answer with one flat object") from None
    except ValueError:  # an integer longer than sys.get_int_max_str_digits()
        raise ParseError(
            "the JSON holds a number with thousands of digits; write coordinates as plain numbers"
        ) from None
    if _has_lone_surrogate(value):
        raise ParseError(
            "the JSON holds a lone surrogate escape (\\ud800 to \\udfff), which is no character;"
            " write the character itself"
        )
    return value


def loads_lenient(text: str) -> Any:
    """Parse one JSON value from ``text``, repairing fences, trailing commas, single quotes,
    Python literals and unclosed brackets. Raises :class:`ParseError`."""
    raw = text.strip()
    if raw[:1] in ("{", "["):  # JSON first: a ``` inside one of its strings is not a fence
        try:
            return _decode(raw)
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
            return _decode(candidate)
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


def drop_blocks(
    text: str,
    opener: re.Pattern[str],
    closer: re.Pattern[str],
    close: Callable[[str], str],
    replacement: str = " ",
) -> str:
    """``text`` with every block from an ``opener`` match to the first following ``closer``
    match whose text is ``close(opener text)`` replaced, left to right, as
    ``re.sub(opener + ".*?" + closer, replacement, text, flags=re.DOTALL)`` would, in
    O(n log n). An opener whose closer never follows is left in place."""
    closers: dict[str, list[tuple[int, int]]] = {}
    for found in closer.finditer(text):
        closers.setdefault(found.group(0), []).append((found.start(), found.end()))
    out: list[str] = []
    pos = 0
    for start in opener.finditer(text):
        if start.start() < pos:
            continue  # inside a block already dropped
        ends = closers.get(close(start.group(0)), [])
        i = bisect_left(ends, (start.end(), -1))
        if i < len(ends):
            out += [text[pos : start.start()], replacement]
            pos = ends[i][1]
    return "".join(out) + text[pos:]
