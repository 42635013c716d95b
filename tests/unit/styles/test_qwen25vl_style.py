from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from actions.schema import Click, Drag, KeyPress, MouseMove, Scroll, Terminate, TypeText, Wait
from agent.errors import ParseError
from agent.geometry import CoordinateSpace, ModelFrame, Point
from agent.styles.base import PastStep
from agent.styles.qwen25vl import Qwen25VLComputerUse

STYLE = Qwen25VLComputerUse()
PEERS = Path(__file__).resolve().parents[2] / "data" / "peer_outputs.jsonl"


def call(args: dict[str, object]) -> str:
    return (
        "<tool_call>\n" + json.dumps({"name": "computer_use", "arguments": args}) + "\n</tool_call>"
    )


def rp(x: float, y: float) -> Point:
    return Point(x=x, y=y, space=CoordinateSpace.RESIZED)


@pytest.mark.parametrize(
    "args,expected",
    [
        ({"action": "left_click", "coordinate": [658, 364]}, Click(point=rp(658, 364))),
        ({"action": "double_click", "coordinate": [1, 2]}, Click(point=rp(1, 2), count=2)),
        ({"action": "right_click", "coordinate": [1, 2]}, Click(point=rp(1, 2), button="right")),
        ({"action": "middle_click", "coordinate": [1, 2]}, Click(point=rp(1, 2), button="middle")),
        ({"action": "left_click"}, Click()),
        ({"action": "mouse_move", "coordinate": [5, 6]}, MouseMove(point=rp(5, 6))),
        ({"action": "left_click_drag", "coordinate": [7, 8]}, Drag(end=rp(7, 8))),
        ({"action": "key", "keys": ["ctrl", "c"]}, KeyPress(keys=("ctrl", "c"))),
        ({"action": "key", "keys": "ctrl+shift+t"}, KeyPress(keys=("ctrl", "shift", "t"))),
        ({"action": "type", "text": "Grüße <東京>"}, TypeText(text="Grüße <東京>")),
        ({"action": "scroll", "pixels": -5}, Scroll(direction="down", amount=5)),
        (
            {"action": "scroll", "pixels": 3, "coordinate": [4, 4]},
            Scroll(direction="up", amount=3, point=rp(4, 4)),
        ),
        ({"action": "wait", "time": 2}, Wait(seconds=2)),
        ({"action": "terminate", "status": "success"}, Terminate(status="success")),
        ({"action": "terminate", "status": "failure"}, Terminate(status="failure")),
        ({"action": "triple_click", "coordinate": [1, 2]}, Click(point=rp(1, 2), count=3)),
        ({"action": "click", "coordinate": [9, 9]}, Click(point=rp(9, 9))),
    ],
)
def test_every_action_parses_and_renders_back(args: dict[str, object], expected: object) -> None:
    (action,) = STYLE.parse(call(args))
    assert action == expected
    assert STYLE.parse(STYLE.render(action)) == [action]


@pytest.mark.parametrize(
    "text",
    [
        # missing closing tag
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": [10, 20]}}',
        # code fence inside the tag
        '<tool_call>\n```json\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": [10, 20]}}\n```\n</tool_call>',
        # a code fence and no tag at all
        '```json\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": [10, 20]}}\n```',
        # trailing commas, single quotes
        "<tool_call>{'name': 'computer_use', 'arguments': {'action': 'left_click', "
        "'coordinate': [10, 20],},}</tool_call>",
        # cut off before the braces closed
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": [10, 20]',
        # reasoning before the call
        'Thought: the OK button.\nAction: click it\n<tool_call>\n{"name": "computer_use", '
        '"arguments": {"action": "left_click", "coordinate": [10, 20]}}\n</tool_call>',
        # coordinate as a string
        '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": "(10, 20)"}}</tool_call>',
        # arguments as a JSON string (OpenAI-style)
        '<tool_call>{"name": "computer_use", "arguments": "{\\"action\\": \\"left_click\\", '
        '\\"coordinate\\": [10, 20]}"}</tool_call>',
    ],
)
def test_tolerated_malformations(text: str) -> None:
    assert STYLE.parse(text) == [Click(point=rp(10, 20))]


def test_several_calls_in_one_answer_keep_their_order() -> None:
    text = (
        call({"action": "left_click", "coordinate": [1, 2]})
        + "\n"
        + call({"action": "type", "text": "hi"})
        + call({"action": "terminate", "status": "success"})
    )
    assert STYLE.parse(text) == [
        Click(point=rp(1, 2)),
        TypeText(text="hi"),
        Terminate(status="success"),
    ]
    # the second tag opens before the first one closed
    text = (
        '<tool_call>{"arguments": {"action": "wait", "time": 1}}<tool_call>'
        + call({"action": "terminate", "status": "failure"})[11:]
    )
    assert STYLE.parse(text) == [Wait(seconds=1), Terminate(status="failure")]


@pytest.mark.parametrize(
    "text,reason",
    [
        ("I will click the OK button.", "no <tool_call>"),
        ("", "no <tool_call>"),
        ("<tool_call>not json at all</tool_call>", "invalid JSON"),
        (call({"action": "fly"}), "unknown action 'fly'"),
        (call({"action": "mouse_move"}), "needs a coordinate"),
        (call({"action": "left_click", "coordinate": [1]}), "coordinate must be"),
        (call({"action": "left_click", "coordinate": ["a", "b"]}), "coordinate must"),
        (call({"action": "type"}), "bad arguments for type"),
        (call({"action": "terminate", "status": "maybe"}), "status must be"),
        ("<tool_call>[1, 2]</tool_call>", "must be a JSON object"),
        (
            '<tool_call>{"name": "x", "arguments": {"action": "__import__(\'os\')"}}</tool_call>',
            "unknown action",
        ),
    ],
)
def test_unusable_answers_say_why(text: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason.replace("(", r"\(").replace("[", r"\[")):
        STYLE.parse(text)


def _peer_rows() -> list[dict[str, object]]:
    if not PEERS.exists():
        pytest.fail(f"peer corpus missing at {PEERS}")
    rows = [json.loads(line) for line in PEERS.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["family"] == "qwen25vl_tool"]


def test_peer_outputs_of_qwen25vl_tool_calls() -> None:
    rows = _peer_rows()
    assert len(rows) == 8
    for row in rows:
        expect = row["expect"]
        assert isinstance(expect, dict)
        if expect["action"] == "none":
            with pytest.raises(ParseError):
                STYLE.parse(str(row["text"]))
            continue
        (action,) = STYLE.parse(str(row["text"]))
        assert isinstance(action, Click), row
        assert action.point is not None and list(action.point.xy()) == expect["point"], row


def test_prompt_states_the_resized_resolution_and_the_official_wording() -> None:
    frame = ModelFrame.for_image(1920, 1080, max_pixels=1280 * 28 * 28)
    image = Image.new("RGB", (1920, 1080))
    chat = STYLE.messages("Click the OK button", frame, image, [])
    system = chat[0].text
    assert system.startswith("You are a helpful assistant.\n\n# Tools\n")
    assert "The screen's resolution is 1316x728." in system
    assert '"name": "computer_use"' in system
    assert '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}' in system
    tool = json.loads(system.split("<tools>\n")[1].split("\n</tools>")[0])
    assert tool["function"]["parameters"]["properties"]["action"]["enum"] == [
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
    ]
    assert [m.role for m in chat] == ["system", "user"]
    assert chat[1].text == "The user query: Click the OK button"
    assert chat[1].images == [image]


def test_history_is_task_progress_text_and_optional_screenshots() -> None:
    frame = ModelFrame.for_image(800, 600)
    old = [Image.new("RGB", (800, 600), c) for c in ("red", "green", "blue")]
    past = [
        PastStep((Click(point=rp(1, 2)),), old[0]),
        PastStep((TypeText(text="a"),), old[1]),
        PastStep((KeyPress(keys=("ctrl", "s")),), old[2]),
    ]
    now = Image.new("RGB", (800, 600))
    chat = STYLE.messages("Save", frame, now, past, feedback="OutOfBounds: too far")
    query = chat[-1].text
    assert query.startswith(
        "The user query: Save\nTask progress (You have done the following "
        "operation on the current device): Step 1: {"
    )
    assert '"action": "left_click", "coordinate": [1, 2]' in query
    assert "Step 3: " in query and "OutOfBounds: too far" in query
    assert [m.role for m in chat] == ["system", "user"]
    with_images = Qwen25VLComputerUse(history_images=2).messages("Save", frame, now, past)
    assert [m.role for m in with_images] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert with_images[1].images == [old[1]] and with_images[3].images == [old[2]]
    assert "<tool_call>" in with_images[2].text
