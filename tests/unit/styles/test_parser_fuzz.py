"""Parser robustness, proven: every style's ``parse`` and ``locate`` fuzzed with hypothesis.

The property, for any text: the call returns a valid result (``parse``: a non-empty list of
actions that round-trips through ``ACTION_ADAPTER``, every point finite and in the style's space;
``locate``: a :class:`~agent.styles.base.Location` whose numbers are finite) or raises exactly
:class:`~agent.errors.ParseError` with a message (or :class:`~agent.errors.NotFound`, the
refusal answer of a family that has one: UI-Venus' ``[-1,-1]``, GUI-Owl's ``(0,0)``). Anything
else (ValueError, KeyError, RecursionError, pydantic's ValidationError, OverflowError,
TypeError...) is a parser bug. Each call must also return within :data:`BOUND_S`, so
catastrophic regex backtracking is caught.

Inputs: text over the grammars' own characters and tokens; answers of the right shape (tool
calls, UI-TARS calls, grounding JSON and box tokens) with odd names and values; mutations of the
real answers of
``tests/data/peer_outputs.jsonl`` (their ``text`` field; spans deleted, inserted, replaced,
duplicated, answers cut and spliced, huge and non-finite numbers written in); and, in
:func:`test_pathological_input_returns_in_time`, inputs of 200,000 characters.
``tests/unit/styles/test_styles_properties.py`` already runs ``parse`` on ``st.text()`` and on seven
damaged seeds; this file adds ``locate``, the validity of results, the corpus, the numbers and
the time bound.

Runs are reproducible (``derandomize=True``, no example database). ``PARSER_FUZZ_EXAMPLES``
(default 150 per style and test) raises the example count for a longer local hunt.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from actions.schema import ACTION_ADAPTER, Wait, points_of
from agent.errors import NotFound, ParseError
from agent.geometry import Point
from agent.styles.base import Location, Style
from agent.styles.jsontext import drop_blocks
from agent.styles.registry import STYLE_NAMES, make_style

BOUND_S = 2.0
"""Seconds one parse or locate call may take, however long or odd its input."""
EXAMPLES = int(os.environ.get("PARSER_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # timed by check() with a generous bound instead (CI machines are busy)
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STYLES: dict[str, Style] = {name: make_style(name) for name in STYLE_NAMES}
CORPUS_FILE = Path(__file__).resolve().parents[2] / "data" / "peer_outputs.jsonl"


def corpus() -> list[str]:
    """The raw answers (field ``text``) of the peer corpus; a missing file fails, never skips."""
    if not CORPUS_FILE.exists():
        pytest.fail(f"peer corpus missing at {CORPUS_FILE}")
    rows = [json.loads(line) for line in CORPUS_FILE.read_text().splitlines() if line.strip()]
    return [str(row["text"]) for row in rows]


ANSWERS = corpus()

# -- the property -------------------------------------------------------------------------------


def finite(point: Point) -> bool:
    return all(math.isfinite(v) for v in point.xy())


def check(style: Style, method: str, text: str) -> None:
    """``style.<method>(text)`` is valid or a ParseError, within :data:`BOUND_S`."""
    started = time.perf_counter()
    try:
        result: Any = getattr(style, method)(text)
    except (ParseError, NotFound) as refused:  # NotFound: a family's refusal answer
        assert str(refused), "a refusal needs a reason the model can read"
        assert "\n" not in str(refused) or isinstance(refused, ParseError)
        result = None
    elapsed = time.perf_counter() - started
    assert elapsed < BOUND_S, f"{style.name}.{method} took {elapsed:.2f} s on {text[:80]!r}"
    if result is None:
        return
    if method == "locate":
        assert isinstance(result, Location)
        corners = result.box or ()
        for point in (result.point, *corners):
            assert finite(point) and point.space is style.space, result
        return
    assert isinstance(result, list) and result, f"parse gave {result!r}"
    for action in result:
        for point in points_of(action):
            assert finite(point) and point.space is style.space, action
        if isinstance(action, Wait):
            assert math.isfinite(action.seconds)
        assert ACTION_ADAPTER.validate_json(ACTION_ADAPTER.dump_json(action)) == action


def check_all(name: str, text: str) -> None:
    for method in ("parse", "locate"):
        check(STYLES[name], method, text)


# -- inputs -------------------------------------------------------------------------------------

CHARS = "<>{}[]()'\",:=\n \t\\|/_-.!`0123456789eEabcdxyz"
TOKENS = [
    "<tool_call>", "</tool_call>", "Action:", "Action: ", "Thought:", "Thought: ", "start_box=",
    "end_box=", "start_point=", "point=", "<|box_start|>", "<|box_end|>", "<point>", "</point>",
    "<bbox>", "</bbox>", "bbox_2d", '"bbox_2d": ', "point_2d", '"point_2d": ', "```json\n",
    "```", "<think>", "</think>", "<ref>", "</ref>", "<box>", "</box>", "<|object_ref_start|>",
    "<|object_ref_end|>", "<answer>", "</answer>", "click(", "left_double(", "drag(", "scroll(",
    "type(content='", "finished(content='", "hotkey(key='", "direction='down'", "')",
    '{"name": "computer_use", "arguments": {', '"action": ', '"left_click"', '"scroll"',
    '"answer"', '"key"', '"wait"', '"terminate"', '"coordinate": ', '"pixels": ', '"time": ',
    '"keys": ', '"text": ', '"status": ', '"arguments": "', "(100,200)", "[1, 2, 3, 4]",
    "<point>200 300</point>", "True", "None", "\\n", "\\'", "\\u0000", "\\ud800",
]  # fmt: skip
NUMBERS = [
    "1e308", "-1e308", "1.7e308", "-1e400", "1e400", "1e-400", "nan", "NaN", "inf", "-inf",
    "Infinity", "-Infinity", "1" + "0" * 308, "9" * 308, "-" + "9" * 308, "1" + "0" * 400,
    "-" + "9" * 400, "9" * 5000, "0", "-0", "-1", "0.5", "999", "1000", "65536", "1_000",
    "0x10", "1.", ".5", "1e5", "٣",
]  # fmt: skip
DIGITS = re.compile(r"\d+(?:\.\d+)?")

chars = st.text(alphabet=CHARS, max_size=12)
EXTREMES = [n for n in NUMBERS if len(n) > 300 or "e3" in n or "e4" in n]
numbers = st.one_of(
    st.sampled_from(NUMBERS),
    st.sampled_from(EXTREMES),  # twice as likely: a bug needs two of them in one box
    st.integers(-(10**6), 10**6).map(str),
    st.floats().map(repr),
)
pieces = st.one_of(st.sampled_from(TOKENS), st.sampled_from(NUMBERS), chars)
grammar_text = st.one_of(
    st.lists(pieces, max_size=40).map("".join),
    st.text(alphabet=CHARS, max_size=300),
)


def with_numbers(text: str, values: list[str]) -> str:
    """``text`` with its k-th run of digits replaced by ``values[k % len(values)]``."""
    runs = itertools.count()
    return DIGITS.sub(lambda _: values[next(runs) % len(values)], text)


def damage(draw: st.DrawFn, text: str, rounds: int) -> str:
    """``text`` damaged ``rounds`` times the way answers get damaged."""
    for _ in range(rounds):
        n = len(text)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, n))
        kind = draw(
            st.sampled_from(["delete", "insert", "replace", "duplicate", "cut", "splice", "number"])
        )
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + draw(pieces) + text[i:]
        elif kind == "replace":
            text = text[:i] + draw(pieces) + text[j:]
        elif kind == "duplicate":
            text = text[:j] + text[i:j] * draw(st.integers(1, 50)) + text[j:]
        elif kind == "cut":
            text = text[:i]
        elif kind == "splice":
            other = draw(st.sampled_from(ANSWERS))
            text = text[:i] + other[draw(st.integers(0, len(other))) :]
        elif runs := list(DIGITS.finditer(text)):  # one number replaced by an extreme one
            run = draw(st.sampled_from(runs))
            text = text[: run.start()] + draw(numbers) + text[run.end() :]
    return text


@st.composite
def mutated_answers(draw: st.DrawFn) -> str:
    """A real answer of the corpus, damaged one to four times."""
    return damage(draw, draw(st.sampled_from(ANSWERS)), draw(st.integers(1, 4)))


# grammar-aware answers: right shape, wrong values (every style reads every grammar)
ACTION_NAMES = [
    "left_click", "click", "double_click", "triple_click", "right_click", "middle_click",
    "mouse_move", "left_click_drag", "key", "type", "scroll", "hscroll", "wait", "terminate",
    "answer", "open_app", "", "LEFT_CLICK",
]  # fmt: skip
UITARS_NAMES = [
    "click", "left_single", "left_double", "right_single", "hover", "drag", "select", "hotkey",
    "press", "type", "scroll", "wait", "finished", "call_user", "open_computer", "!!!!",
]  # fmt: skip
json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(), st.text(max_size=8),
    st.sampled_from(["up", "down", "success", "failure", "ctrl", "enter", "(1,2)", "1 2"]),
    st.sampled_from(["\ud800", "a\udfffb", "\U0001f600"]),  # lone surrogates: json \\ud800
)  # fmt: skip
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
coordinate = st.lists(numbers, max_size=5).map(lambda ns: "[" + ", ".join(ns) + "]")


@st.composite
def tool_calls(draw: st.DrawFn) -> str:
    """``<tool_call>{"name": "computer_use", "arguments": {...}}</tool_call>``, odd values."""
    args: dict[str, Any] = {"action": draw(st.sampled_from(ACTION_NAMES) | json_value)}
    keys = ["coordinate", "keys", "text", "pixels", "time", "status", "coordinate2"]
    for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
        args[key] = draw(json_value)
    body = json.dumps({"name": "computer_use", "arguments": args})
    if draw(st.booleans()):  # a raw (possibly huge or non-finite) coordinate
        body = body[:-2] + ', "coordinate": ' + draw(coordinate) + "}}"
    if draw(st.booleans()):  # arguments as a JSON string, as some servers send them
        inner = json.dumps(args)
        body = json.dumps({"name": "computer_use", "arguments": inner})
    close = draw(st.sampled_from(["</tool_call>", "", "\n</tool_call>\n<tool_call>"]))
    return draw(st.sampled_from(["", "Thought.\n", "```json\n"])) + f"<tool_call>\n{body}{close}"


def box_text(values: list[str]) -> st.SearchStrategy[str]:
    pair = f"({','.join(values[:2])})"
    return st.sampled_from(
        [
            pair,
            f"<|box_start|>{pair}<|box_end|>",
            f"({','.join(values)})",
            f"[{', '.join(values)}]",
            f"<point>{' '.join(values[:2])}</point>",
            f"<bbox>{' '.join(values)}</bbox>",
            f"<|box_start|>({','.join(values[:2])}),({','.join(values[2:])})<|box_end|>",
        ]
    )


@st.composite
def uitars_calls(draw: st.DrawFn) -> str:
    """``Thought: ...\\nAction: name(key='value', ...)``, odd names, keys and values."""
    values = draw(st.lists(numbers, min_size=4, max_size=4))
    args = []
    keys = ["start_box", "end_box", "point", "start_point", "end_point", "content", "key",
            "direction", "text", "amount"]  # fmt: skip
    for key in draw(st.lists(st.sampled_from(keys), max_size=3)):
        value = draw(box_text(values) | st.text(alphabet=CHARS, max_size=10))
        quote = draw(st.sampled_from(["'", '"', ""]))
        args.append(f"{key}={quote}{value}{quote}")
    call = f"{draw(st.sampled_from(UITARS_NAMES))}({', '.join(args)})"
    thought = draw(st.sampled_from(["Thought: t\n", "<think>x</think>", "", "Thought: (1,2)\n"]))
    return f"{thought}Action: {call}" + draw(st.sampled_from(["", "\n\n" + call, "\nAction: "]))


@st.composite
def grounding_answers(draw: st.DrawFn) -> str:
    """Qwen2.5-VL ``bbox_2d``/``point_2d`` JSON and Qwen2-VL box tokens, odd numbers."""
    values = draw(st.lists(numbers, min_size=4, max_size=6))
    if draw(st.booleans()):
        return draw(
            st.sampled_from(["", "<|object_ref_start|>x<|object_ref_end|>", "<ref>a</ref>"])
        ) + draw(box_text(values))
    key = draw(st.sampled_from(["bbox_2d", "point_2d", "bbox", "point"]))
    size = draw(st.integers(0, len(values)))
    element = f'{{"{key}": [{", ".join(values[:size])}], "label": "a"}}'
    answer = "[" + ", ".join([element] * draw(st.integers(1, 3))) + "]"
    return draw(st.sampled_from(["", "```json\n"])) + answer


@st.composite
def family_answers(draw: st.DrawFn) -> str:
    """The one-element families' grammars (OpenCUA pyautogui code, UI-Venus boxes, Holo JSON,
    GTA1 points; GUI-Owl's are tool calls), odd names, values and code."""
    values = draw(st.lists(numbers, min_size=4, max_size=4))
    kind = draw(st.sampled_from(["code", "box", "holo", "pair"]))
    if kind == "code":
        name = draw(st.sampled_from(OPENCUA_NAMES))
        code = draw(st.sampled_from(CODE_ARGS)).format(*values)
        fence = draw(st.sampled_from(["", "```python\n", "Action: ", "x = 1; "]))
        return f"{fence}pyautogui.{name}({code})" + draw(st.sampled_from(["", "\n```", ")"]))
    if kind == "box":
        size = draw(st.sampled_from([2, 4, 3]))
        return "[" + ",".join(values[:size]) + "]"
    if kind == "holo":
        action = draw(st.sampled_from(['"click_absolute"', '"click"', '"type"', "1", "null"]))
        return f'{{"action": {action}, "x": {values[0]}, "y": {values[1]}}}'
    return f"({values[0]},{values[1]})"


OPENCUA_NAMES = [
    "click", "doubleClick", "rightClick", "moveTo", "dragTo", "scroll", "write", "typewrite",
    "press", "hotkey", "hscroll", "launch", "__class__", "click.x",
]  # fmt: skip
CODE_ARGS = [
    "x={0}, y={1}", "{0}, {1}", "({0}, {1})", "{0}", "", "x={0}", "clicks={0}, x={1}, y={2}",
    "x={0}, y={1}, clicks={2}, button='right'", "'ctrl', 'c'", "['a', {0}]", "message={0}",
    "x=__import__('os').system('true'), y={1}", "*[{0}, {1}]", "**{{'x': {0}}}", "x=-{0}, y=+{1}",
    "x=[{0}] * 3, y={1}", "x=f'{{{0}}}', y={1}", "x={0}, y={1})\nimport os",
]  # fmt: skip


structured = st.one_of(tool_calls(), uitars_calls(), grounding_answers(), family_answers())


@st.composite
def damaged_structured(draw: st.DrawFn) -> str:
    return damage(draw, draw(structured), draw(st.integers(0, 2)))


# -- the fuzz tests -----------------------------------------------------------------------------

# the inputs of the bugs this fuzzer found, in their simplest form, kept as regression
# examples (see REGRESSIONS)
NESTED_TOOL_CALL = '<tool_call>{"action": ' + "[" * 100_000
HUGE_INT_TOOL_CALL = '<tool_call>{"action": "left_click", "coordinate": [' + "9" * 5000 + ", 1]}"
HUGE_INT_BOX = '[{"bbox_2d": [' + "9" * 5000 + ", 1, 2, 3]}]"
NESTED_BOX = '{"bbox_2d": ' + "[" * 100_000 + "]" * 100_000 + "}"
OVERFLOWING_BOX = '[{"bbox_2d": [1e308, 1, 1.7e308, 3]}]'
OVERFLOWING_TOOL_BOX = '<tool_call>{"action": "left_click", "coordinate": [1e308, 1, 1.7e308, 3]}'
OVERFLOWING_UITARS_BOX = f"Action: click(start_box='({'9' * 308},1,{'9' * 308},3)')"
OVERFLOWING_PAIRS = f"({'9' * 308},1),({'9' * 308},3)"
INFINITE_PAIR = f"({'9' * 400},1)"
OVERFLOWING_INT_BOX = '[{"bbox_2d": [1, 2, 3, 1' + "0" * 400 + "]}]"
LONE_SURROGATE = (
    '<tool_call>{"name": "computer_use", "arguments": {"action": "type", "text": "\\ud800"}}'
)


@pytest.mark.parametrize("name", STYLE_NAMES)
@FUZZ
@given(text=grammar_text)
@example(text=NESTED_TOOL_CALL)
@example(text=HUGE_INT_TOOL_CALL)
@example(text=OVERFLOWING_BOX)
@example(text=OVERFLOWING_PAIRS)
@example(text=INFINITE_PAIR)
def test_grammar_text_is_read_or_refused(name: str, text: str) -> None:
    check_all(name, text)


@pytest.mark.parametrize("name", STYLE_NAMES)
@FUZZ
@given(text=mutated_answers())
@example(text=HUGE_INT_BOX)
@example(text=OVERFLOWING_TOOL_BOX)
@example(text=OVERFLOWING_UITARS_BOX)
def test_damaged_real_answers_are_read_or_refused(name: str, text: str) -> None:
    check_all(name, text)


@pytest.mark.parametrize("name", STYLE_NAMES)
@FUZZ
@given(text=damaged_structured())
@example(text=NESTED_BOX)
@example(text=OVERFLOWING_INT_BOX)
@example(text=LONE_SURROGATE)
def test_grammar_shaped_answers_with_odd_values_are_read_or_refused(name: str, text: str) -> None:
    """Tool calls, UI-TARS calls and grounding answers of the right shape with odd actions,
    keys and values (nested JSON, 1e308, nan, 10**400 as digits), some of them damaged."""
    check_all(name, text)


@pytest.mark.parametrize("name", STYLE_NAMES)
@FUZZ
@given(text=family_answers())
@example(text="[-1,-1]")
@example(text="pyautogui.click(" + "-" * 100_000 + "1, 2)")
@example(text="pyautogui.click(" + "9" * 5000 + ", 1)")
def test_family_grammars_with_odd_values_are_read_or_refused(name: str, text: str) -> None:
    """OpenCUA code, UI-Venus boxes, Holo JSON and GTA1 points with odd values, through every
    style (refusals included: NotFound with a reason)."""
    check_all(name, text)


@pytest.mark.parametrize("name", STYLE_NAMES)
@FUZZ
@given(
    first=st.sampled_from(ANSWERS),
    second=st.sampled_from(ANSWERS),
    values=st.lists(numbers, min_size=1, max_size=4),
)
def test_numbers_in_every_slot_are_read_or_refused(
    name: str, first: str, second: str, values: list[str]
) -> None:
    """Every run of digits of a real answer replaced by extreme numbers, then two answers in
    one: coordinates, pixels, times and boxes all get 1e308, nan, 10**400 and the like."""
    check_all(name, with_numbers(first, values))
    check_all(name, first + "\n" + second)


def test_every_real_answer_is_read_or_refused_by_every_style() -> None:
    """The corpus itself, unmutated, through every style (the corpus test checks the values of
    each line in its own style; here only the property)."""
    for text in ANSWERS:
        for name in STYLE_NAMES:
            check_all(name, text)


# -- explicit regressions and pathological inputs ----------------------------------------------

REGRESSIONS = {
    # loads_lenient let json.loads' RecursionError out (qwen25vl, qwen3vl; grounding via a box)
    "nested-tool-call": NESTED_TOOL_CALL,
    "nested-box": NESTED_BOX,
    # loads_lenient let json.loads' ValueError out: an int over the 4300-digit limit
    "huge-int-tool-call": HUGE_INT_TOOL_CALL,
    "huge-int-box": HUGE_INT_BOX,
    # Location.of_box of finite corners gave an infinite centre (1e308 + 1.7e308 overflows)
    "overflowing-box": OVERFLOWING_BOX,
    "overflowing-tool-box": OVERFLOWING_TOOL_BOX,
    "overflowing-uitars-box": OVERFLOWING_UITARS_BOX,
    "overflowing-pairs": OVERFLOWING_PAIRS,
    # qwen2vl read 400 digits as float('inf')
    "infinite-pair": INFINITE_PAIR,
    # the grounding style's float() of a 401-digit JSON int raised OverflowError
    "overflowing-int-box": OVERFLOWING_INT_BOX,
    # a JSON \ud800 escape gave TypeText/KeyPress a lone surrogate: PydanticSerializationError
    # when the trajectory is written
    "lone-surrogate": LONE_SURROGATE,
}


@pytest.mark.parametrize("name", STYLE_NAMES)
@pytest.mark.parametrize("case", sorted(REGRESSIONS))
def test_regression(name: str, case: str) -> None:
    check_all(name, REGRESSIONS[case])


def test_regressions_are_refused_with_a_reason() -> None:
    """The style each bug was found in refuses its input, saying why."""
    refused = {
        ("qwen25vl", "nested-tool-call"): "nested too deeply",
        ("qwen3vl", "nested-tool-call"): "nested too deeply",
        ("qwen25vl", "huge-int-tool-call"): "thousands of digits",
        ("qwen25vl-grounding", "huge-int-box"): "no complete element",
        ("qwen2vl", "infinite-pair"): "number too large",
        ("qwen25vl-grounding", "overflowing-int-box"): "no complete element",
        ("qwen25vl", "lone-surrogate"): "lone surrogate",
        ("qwen3vl", "lone-surrogate"): "lone surrogate",
    }
    for (name, case), reason in refused.items():
        for method in ("parse", "locate"):
            with pytest.raises(ParseError, match=reason):
                getattr(STYLES[name], method)(REGRESSIONS[case])
    # boxes whose corners are finite but whose sum overflows: Location.of_box computes the
    # centre without the sum, so the point is finite (and refused later as off the image)
    for name, case in (
        ("qwen25vl-grounding", "overflowing-box"),
        ("qwen25vl", "overflowing-tool-box"),
        ("uitars15", "overflowing-uitars-box"),
        ("qwen2vl", "overflowing-pairs"),
    ):
        point = STYLES[name].locate(REGRESSIONS[case]).point
        assert math.isfinite(point.x) and math.isfinite(point.y)


LONG = 200_000
"""Characters of a pathological input: at 50,000 the quadratic scans fixed here took 1-2 s,
under the bound; at 200,000 they take 16 times that, and linear code a few milliseconds."""
PATHOLOGICAL = {
    "bangs": "!" * LONG,
    "brackets": "[" * LONG,
    "braces": "{" * LONG,
    "nested-objects": '{"a":' * (LONG // 5),
    "nested-actions": '{"action":' * (LONG // 10),
    "many-objects": '{"action": "wait"}' * (LONG // 18),
    "closed-nesting": "[" * LONG + "]" * LONG,
    "parens": "(" * LONG,
    "spaces": " " * LONG,
    "newlines": "\n" * LONG,
    "quotes": "'" * LONG,
    "double-quotes": '"' * LONG,
    "backslashes": "\\" * LONG,
    "commas": "," * LONG,
    "backticks": "`" * LONG,
    "digits": "9" * LONG,
    "open-pairs": "(1," * (LONG // 3),
    "open-thinks": "<think>" * (LONG // 7),
    "open-refs": "<ref>" * (LONG // 5),
    "open-object-refs": "<|object_ref_start|>" * (LONG // 20),
    "open-tool-calls": "<tool_call>" * (LONG // 11),
    "open-points": "<point>" * (LONG // 7),
    "actions": "Action: " * (LONG // 8),
    "thoughts": "Thought: " * (LONG // 9),
    "many-args": "Action: click(" + "a=1, " * (LONG // 5),
    "many-contents": "Action: type(" + "content='a'b, " * (LONG // 14),
    "many-calls": "Action: " + "click(start_box='(1,2)')\n\n" * (LONG // 26),
    "open-box": "Action: click(start_box='" + " " * LONG,
    "box-digits": "Action: click(start_box='(" + "1" * LONG,
    "space-paren": "(" + " " * LONG,
    "tool-call-nesting": '<tool_call>{"name": "computer_use", "arguments": ' + "[" * LONG,
    "tool-call-spaces": '<tool_call>{"action": "left_click",' + " " * LONG,
    "trailing-commas": '{"action": "wait"' + ", " * LONG + "}",
    "fence-nesting": "```json\n" + '{"a":' * (LONG // 5),
    "bbox-list": "[" + '{"bbox_2d": [1, 2, 3, 4]},' * (LONG // 26) + "]",
    "huge-int": '{"action": "scroll", "pixels": ' + "9" * LONG + "}",
    "pyautogui-calls": "pyautogui.click(" * (LONG // 16),
    "pyautogui-lines": "pyautogui.click(1, 2)\n" * (LONG // 22),
    "pyautogui-minus": "pyautogui.click(" + "-" * LONG,
    "pyautogui-digits": "pyautogui.click(" + "1" * LONG,
    "open-lists": "[1," * (LONG // 3),
    "minus-ones": "[-1,-1]" * (LONG // 7),
    "answer-then-spaces": ANSWERS[0] + " " * LONG,
    "answer-repeated": "\n".join(ANSWERS) * 3,
}


@pytest.mark.parametrize("case", sorted(PATHOLOGICAL))
def test_pathological_input_returns_in_time(case: str) -> None:
    """Each call on a 200,000-character input returns (or refuses) within BOUND_S."""
    for name in STYLE_NAMES:
        check_all(name, PATHOLOGICAL[case])


# -- drop_blocks: the linear replacement of the quadratic lazy regexes ------------------------

BLOCK_PIECES = st.sampled_from(
    ["<think>", "</think>", "<thinking>", "</thinking>", "<think_x>", "</think_x>", "<ref>",
     "</ref>", "<|object_ref_start|>", "<|object_ref_end|>", "<", ">", "/", "a", "(1,2)", "\n"]
)  # fmt: skip


@FUZZ
@given(text=st.lists(BLOCK_PIECES, max_size=30).map("".join))
def test_drop_blocks_is_the_lazy_regex(text: str) -> None:
    """Same result as the regexes it replaced in uitars (``<think...>``) and qwen2vl (refs)."""
    think = re.sub(r"<(think\w*)>.*?</\1>", " ", text, flags=re.DOTALL)
    opener, closer = re.compile(r"<think\w*>"), re.compile(r"</think\w*>")
    assert drop_blocks(text, opener, closer, lambda tag: "</" + tag[1:]) == think
    refs = re.sub(
        r"<\|object_ref_start\|>.*?<\|object_ref_end\|>|<ref>.*?</ref>", " ", text, flags=re.DOTALL
    )
    closers = {"<|object_ref_start|>": "<|object_ref_end|>", "<ref>": "</ref>"}
    opener, closer = (
        re.compile(r"<\|object_ref_start\|>|<ref>"),
        re.compile(r"<\|object_ref_end\|>|</ref>"),
    )
    assert drop_blocks(text, opener, closer, closers.__getitem__) == refs
