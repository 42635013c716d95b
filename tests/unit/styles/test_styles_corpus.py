"""Every line of the peer-output corpus (tests/data/peer_outputs.jsonl, 80 real and fixture
outputs of UI-TARS, Qwen2/2.5/3-VL and others) through the style of its family.

Each line must give exactly the expected actions (points, end points, text, keys, direction;
``expect_more`` for later actions; ``expect_boxes`` for boxes), or a ParseError where
``expect.action`` is ``none``. How the corpus' action names map to this project's actions:

* ``double_click``/``right_click`` = Click(count=2)/Click(button="right"); ``hotkey`` = KeyPress.
* ``type`` whose text ends with a newline (real or the two characters ``\\n``) = TypeText without
  it, then KeyPress enter (UI-TARS' "use \\n at the end of content" to submit); a ``type`` with a
  point = Click there first (focus the field), then TypeText.
* ``scroll`` = Scroll(amount=SCROLL_CLICKS); ``finished`` = Terminate success with the text.
* ``locate`` (grounding) = Click(centre) then Terminate success; boxes via ``locate``.

Where this project deliberately disagrees with a line's expectation, :data:`OVERRIDES` says why.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from actions.schema import Action, Click, Drag, KeyPress, Scroll, Terminate, TypeText, Wait
from agent.errors import NotFound, ParseError
from agent.geometry import CoordinateSpace, Point
from agent.styles.qwen25vl_grounding import Qwen25VLGrounding
from agent.styles.registry import STYLE_NAMES, make_style
from agent.styles.uitars import SCROLL_CLICKS, WAIT_SECONDS

PEERS = Path(__file__).resolve().parents[2] / "data" / "peer_outputs.jsonl"
FAMILY_STYLE = {
    "uitars": "uitars",
    "uitars15": "uitars15",
    "qwen2vl": "qwen2vl",
    "qwen25vl_grounding": "qwen25vl-grounding",
    "qwen25vl_tool": "qwen25vl",
}
# family "other": the style chosen per the line's note, or a reason to skip it
OTHER_STYLE = {
    23: "uitars15",  # Seed/UI-TARS omni text format; its action is refused, see OVERRIDES
    24: "uitars15",  # Seed <answer> block after <think>: the UI-TARS style reads it as finished
    32: "uitars15",  # invalid function-call JSON: any style must refuse it
    80: "qwen2vl",  # Qwen-VL v1 <ref>/<box> grounding: the same 0-1000 corner-pair grid
}
SKIP = {
    25: "Seed XML tool calls (<seed:tool_call><function=...>): a different grammar (ui_tars' "
    "formatter_xml*), not a UI-TARS Thought/Action answer; no style here speaks it",
    31: "Seed function-call JSON ({'name': 'left_double', 'arguments': '...'}) with <point> "
    "arguments: Doubao's function-calling API, not a UI-TARS text answer",
}
OVERRIDES: dict[int, tuple[str, list[dict[str, Any]] | None]] = {
    # line: (why the expectation is not ours, our expected actions in corpus notation or None
    # for a ParseError)
    11: (
        "Two 'Action:' markers in one turn. The legacy TS parser keeps only the last (type), PR "
        "#1818 only the first (click); the README says parsers disagree. One turn's calls run in "
        "order here, as for calls separated by blank lines (lines 14, 38, 50): click, then type.",
        [
            {"action": "click", "point": [100, 100]},
            {"action": "type", "text": "doubao.com"},
        ],
    ),
    19: (
        "click(end_box=...) with no start_box: the source keeps an end point and no click point. "
        "Click has no end point, and clicking wherever the pointer is would be a wrong click, so "
        "the model is told 'click needs start_box'.",
        None,
    ),
    23: (
        "open_computer() is a Seed omni environment action (start the device); a desktop agent "
        "has no such action, so it is refused with 'unknown action' rather than ignored.",
        None,
    ),
    70: (
        "supervision drops detections without a label (object detection needs a class name); a "
        "grounding answer needs none: the first element's box [10,10,100,100] is the answer "
        "(the third element's box is also read; the one without a box is passed over).",
        [
            {
                "action": "locate",
                "point": [55, 55],
                "boxes": [[10, 10, 100, 100], [50, 60, 110, 120]],
            }
        ],
    ),
}


def rows() -> list[tuple[int, dict[str, Any]]]:
    if not PEERS.exists():
        pytest.fail(f"peer corpus missing at {PEERS}")
    lines = [json.loads(line) for line in PEERS.read_text().splitlines() if line.strip()]
    assert len(lines) == 80
    return list(enumerate(lines, start=1))


def style_for(number: int, row: dict[str, Any]) -> str:
    family = str(row["family"])
    return OTHER_STYLE[number] if family == "other" else FAMILY_STYLE[family]


def to_actions(item: dict[str, Any], space: CoordinateSpace) -> list[Action]:
    """One corpus expectation as this project's actions in ``space``."""

    def pt(xy: list[float] | None) -> Point | None:
        return None if xy is None else Point(x=xy[0], y=xy[1], space=space)

    point, kind = pt(item.get("point")), item["action"]
    if kind in ("click", "double_click", "right_click"):
        assert point is not None
        if kind == "double_click":
            return [Click(point=point, count=2)]
        return [Click(point=point, button="right" if kind == "right_click" else "left")]
    if kind == "locate":
        assert point is not None
        return [Click(point=point), Terminate(status="success")]
    if kind == "drag":
        end = pt(item["end_point"])
        assert end is not None
        return [Drag(start=point, end=end)]
    if kind == "hotkey":
        return [KeyPress(keys=tuple(item["keys"]))]
    if kind == "scroll":
        return [Scroll(point=point, direction=item["direction"], amount=SCROLL_CLICKS)]
    if kind == "wait":
        return [Wait(seconds=WAIT_SECONDS)]
    if kind == "finished":
        return [Terminate(status="success", message=item.get("text"))]
    assert kind == "type", kind
    text, enter = str(item["text"]), False
    for newline in ("\n", "\\n"):
        if text.endswith(newline):
            text, enter = text.removesuffix(newline), True
    out: list[Action] = [Click(point=point)] if point is not None else []
    out += [TypeText(text=text)] + ([KeyPress(keys=("enter",))] if enter else [])
    return out


def expectation(number: int, row: dict[str, Any]) -> tuple[list[Action] | None, list[Any]]:
    """Expected actions (None: a ParseError) and boxes, after any override."""
    space = make_style(style_for(number, row)).space
    if number in OVERRIDES:
        items = OVERRIDES[number][1]
        if items is None:
            return None, []
        return [a for item in items for a in to_actions(item, space)], items[0].get("boxes", [])
    expect = row["expect"]
    if expect["action"] == "none":
        return None, []
    items = [expect, *row.get("expect_more", [])]
    return [a for item in items for a in to_actions(item, space)], row.get("expect_boxes", [])


def outcome(number: int, row: dict[str, Any]) -> bool:
    """Whether the line gives what is expected of it (used for the per-style tally)."""
    style = make_style(style_for(number, row))
    expected, boxes = expectation(number, row)
    try:
        actions = style.parse(str(row["text"]))
    except ParseError:
        return expected is None
    if actions != expected:
        return False
    if boxes:
        text = str(row["text"])
        if isinstance(style, Qwen25VLGrounding):
            locations = style.locate_all(text)
        else:
            locations = [style.locate(text)]
        got = [[*loc.box[0].xy(), *loc.box[1].xy()] for loc in locations if loc.box]
        return got == [[float(v) for v in box] for box in boxes]
    return True


@pytest.mark.parametrize("number,row", rows(), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_corpus_line(number: int, row: dict[str, Any]) -> None:
    if number in SKIP:  # a grammar no style speaks: every style refuses it, none misreads it
        for name in STYLE_NAMES:
            with pytest.raises(ParseError):
                make_style(name).parse(str(row["text"]))
        return
    style = make_style(style_for(number, row))
    expected, _ = expectation(number, row)
    text = str(row["text"])
    if expected is None:
        with pytest.raises(ParseError) as refused:
            style.parse(text)
        assert str(refused.value)  # a reason the model can read
        return
    actions = style.parse(text)
    assert actions == expected, row["note"]
    for action in actions:
        for name in ("point", "start", "end"):
            point = getattr(action, name, None)
            assert point is None or point.space is style.space
    assert outcome(number, row), row["note"]


def test_tally_per_style() -> None:
    """How many lines each style passes (skips excluded); the numbers of the report."""
    passed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for number, row in rows():
        if number in SKIP:
            continue
        name = style_for(number, row)
        total[name] += 1
        passed[name] += outcome(number, row)
    assert passed == total
    assert dict(total) == {
        "uitars15": 18,
        "uitars": 36,
        "qwen25vl": 8,
        "qwen25vl-grounding": 11,
        "qwen2vl": 5,
    }


def test_qwen3vl_reads_the_qwen3vl_mobile_cookbook_answer() -> None:
    """Line 61 is Qwen3-VL-235B's answer in QwenLM/Qwen3-VL's mobile_agent cookbook (family
    qwen25vl_tool, so the tally runs it as qwen25vl). The qwen3vl style reads the same click on
    its 0-1000 grid (the mobile cookbook says 999x999; 0.1 % apart, see qwen3vl's docstring)."""
    number, row = rows()[60]
    assert number == 61 and "Qwen3-VL" in str(row["source"])
    style = make_style("qwen3vl")
    point = Point(x=447, y=81, space=CoordinateSpace.REL1000)
    assert style.parse(str(row["text"])) == [Click(point=point)]


def test_no_eval_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every line through every style with eval, exec and literal_eval made to explode."""
    import ast
    import builtins

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("model text must never be evaluated")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(ast, "literal_eval", forbidden)
    for _, row in rows():
        for name in STYLE_NAMES:
            style = make_style(name)
            try:
                style.parse(str(row["text"]))
            except (ParseError, NotFound):  # NotFound: a family's refusal answer
                pass
