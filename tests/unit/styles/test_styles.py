"""The styles other than qwen25vl: grammar round trips, official prompts, history, refusals,
and the registry. The peer corpus is in test_styles_corpus.py, property tests in
test_styles_properties.py."""

from __future__ import annotations

import json
import re

import pytest
from PIL import Image

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
from agent.errors import ConfigurationError, ParseError
from agent.geometry import CoordinateSpace, ModelFrame, Point
from agent.styles.base import PastStep, Style
from agent.styles.qwen2vl import Qwen2VLGrounding
from agent.styles.qwen3vl import Qwen3VLComputerUse
from agent.styles.qwen25vl import Qwen25VLComputerUse
from agent.styles.qwen25vl_grounding import Qwen25VLGrounding
from agent.styles.registry import STYLE_NAMES, make_style
from agent.styles.uitars import CALL_USER_MESSAGE, UITarsStyle

R = CoordinateSpace.RESIZED
K = CoordinateSpace.REL1000
FRAME = ModelFrame.for_image(1920, 1080, max_pixels=1280 * 28 * 28)
SHOT = Image.new("RGB", (1920, 1080))


def p(x: float, y: float, space: CoordinateSpace) -> Point:
    return Point(x=x, y=y, space=space)


# -- UI-TARS -------------------------------------------------------------------------------
def uitars_actions(space: CoordinateSpace) -> list[Action]:
    return [
        Click(point=p(10, 20, space)),
        Click(point=p(10, 20, space), count=2),
        Click(point=p(10, 20, space), button="right"),
        MouseMove(point=p(3, 4, space)),
        Drag(start=p(1, 2, space), end=p(300, 400, space)),
        KeyPress(keys=("ctrl", "c")),
        KeyPress(keys=("enter",)),
        TypeText(text='it\'s a "test" \\ back\\n slash\nnext line'),
        TypeText(text="Grüße 東京"),
        Scroll(direction="down", amount=5),
        Scroll(point=p(5, 6, space), direction="left", amount=5),
        Wait(seconds=5),
        Terminate(status="success"),
        Terminate(status="success", message="The answer is 'two'."),
        Terminate(status="failure", message=CALL_USER_MESSAGE),
        Click(point=p(12.5, 7.25, space)),
    ]


@pytest.mark.parametrize("version", ["uitars", "uitars15"])
def test_uitars_renders_and_parses_its_own_grammar(version: str) -> None:
    style = UITarsStyle(version)  # type: ignore[arg-type]
    space = K if version == "uitars" else R
    assert style.space is space and style.name == version
    for action in uitars_actions(space):
        text = style.render(action)
        assert style.parse(text) == [action], text
        assert style.parse(f"Thought: ok.\nAction: {text}") == [action]
    turn = style.render_turn(uitars_actions(space))
    assert style.parse("Thought: all at once\nAction: " + turn) == uitars_actions(space)


@pytest.mark.parametrize(
    "answer,expected",
    [
        ("Action: click(start_box='(100,200)')", [Click(point=p(100, 200, K))]),
        (
            "Action: click(start_box='<|box_start|>(100,200)<|box_end|>')",
            [Click(point=p(100, 200, K))],
        ),  # noqa: E501
        ("Action: click(start_box='(100,200,300,400)')", [Click(point=p(200, 300, K))]),
        ("Action: click(start_box='[300, 400, 100, 200]')", [Click(point=p(200, 300, K))]),
        ("Action: click(point='<point>7 8</point>')", [Click(point=p(7, 8, K))]),
        ("Action: left_double(start_box='(1, 2)')", [Click(point=p(1, 2, K), count=2)]),
        ("Action: right_single(start_box='(1,2)')", [Click(point=p(1, 2, K), button="right")]),
        (
            "Action: drag(start_point='<point>1 2</point>', end_point='<point>3 4</point>')",
            [Drag(start=p(1, 2, K), end=p(3, 4, K))],
        ),
        ("Action: hotkey(key='ctrl+shift+t')", [KeyPress(keys=("ctrl", "shift", "t"))]),
        ("Action: press(key='enter')", [KeyPress(keys=("enter",))]),
        ("Action: type(content='I\\'m \\\"here\\\"')", [TypeText(text='I\'m "here"')]),
        ("Action: type(content='it's fine')", [TypeText(text="it's fine")]),  # unescaped
        ("Action: type(content='it's' )\n\nwait()", [TypeText(text="it's"), Wait(seconds=5)]),
        (
            "Action: type(content=\"say 'hi'\\n\")",
            [TypeText(text="say 'hi'"), KeyPress(keys=("enter",))],
        ),  # noqa: E501
        ("Action: type(content='\\n')", [KeyPress(keys=("enter",))]),
        ("Action: scroll(direction='UP')", [Scroll(direction="up", amount=5)]),
        ("Action: wait()", [Wait(seconds=5)]),
        (
            "Action: finished(content='done: it\\'s 2')",
            [Terminate(status="success", message="done: it's 2")],
        ),  # noqa: E501
        ("Action: call_user()", [Terminate(status="failure", message=CALL_USER_MESSAGE)]),
        ("Reflection: r\nAction_Summary: s\nAction: wait()", [Wait(seconds=5)]),
        (
            "Thought: t\nAction: wait()\n\nAction: finished()",
            [Wait(seconds=5), Terminate(status="success")],
        ),  # noqa: E501
        ("Thought: t\nAction: wait()Thought: later\nAction: finished()", [Wait(seconds=5)]),
        ("Action: wait()\n\nThat is all (for now).", [Wait(seconds=5)]),
        ("<think>Action: click(start_box='(9,9)')</think>\nAction: wait()", [Wait(seconds=5)]),
        ("```\nThought: t\nAction: wait()\n```", [Wait(seconds=5)]),
    ],
)
def test_uitars_variants(answer: str, expected: list[Action]) -> None:
    assert UITarsStyle("uitars").parse(answer) == expected


@pytest.mark.parametrize(
    "answer,reason",
    [
        ("", "no 'Action:' line"),
        ("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", "no 'Action:' line"),
        ("Thought: t\nAction: !!!!!!!!!!!!!!!!", "not followed by a call"),
        ("Thought: t\nAction:", "'Action:' is empty"),
        ("Action: click(start_box='=')", "is not a coordinate"),
        ("Action: click(start_box='')", "start_box is empty"),
        ("Action: click(start_box='(1,2,3)')", "is not a coordinate"),
        ("Action: click(start_box=__import__('os').system('x'))", "is not a coordinate"),
        ("Action: click(start_box='(1,2)' end_box='(3,4)')", "expected ',' or ')'"),
        ("Action: click(start_box='(12,34')", None),  # closed string: accepted, see below
        ("Action: click(start_box='(123,45", "was cut off"),
        ("Action: click(end_box='(1,2)')", "got only end_box"),
        ("Action: drag(start_box='(1,2)')", "needs start_box"),
        ("Action: long_press(start_box='(1,2)')", "unknown action 'long_press'"),
        ("Action: open_app(app_name='x')", "unknown action"),
        ("Action: scroll(direction='sideways')", "scroll direction"),
        ("Action: hotkey(key='')", "needs key"),
        ("Action: type(content='')", "type needs content"),
        ("Action: type(content='cut off", "not closed"),
        ("Action: click(start_box='(1" + "0" * 400 + ",2)')", "too large"),
    ],
)
def test_uitars_refusals_say_why(answer: str, reason: str | None) -> None:
    style = UITarsStyle("uitars15")
    if reason is None:
        assert style.parse(answer) == [Click(point=p(12, 34, R))]
        return
    with pytest.raises(ParseError, match=re.escape(reason)):
        style.parse(answer)


def test_uitars_prompts_are_the_official_ones() -> None:
    v1 = UITarsStyle("uitars", language="Chinese").prompt("Open the file")
    assert v1.startswith(
        "You are a GUI agent. You are given a task and your action history, with screenshots. "
        "You need to perform the next action to complete the task. \n\n## Output Format\n```\n"
        "Thought: ...\nAction: ...\n```\n\n## Action Space\n\n"
        "click(start_box='<|box_start|>(x1,y1)<|box_end|>')\n"
    )
    assert "type(content='') #If you want to submit your input, use \"\\n\" at the end of" in v1
    assert "call_user() # Submit the task and call the user when the task is unsolvable" in v1
    assert "- Use Chinese in `Thought` part." in v1
    assert v1.endswith("## User Instruction\nOpen the file\n")
    v15 = UITarsStyle("uitars15").prompt("Open {the} file")
    assert "click(point='<point>x1 y1</point>')\n" in v15
    assert (
        "type(content='xxx') # Use escape characters \\', \\\", and \\n in content part to ensure"
        in v15
    )
    assert "wait() #Sleep for 5s and take a screenshot to check for any changes." in v15
    assert v15.endswith("## User Instruction\nOpen {the} file\n")
    g1 = UITarsStyle("uitars").grounding_messages("the OK button", FRAME, SHOT)
    assert g1[-1].text == (
        "Output only the coordinate of one point in your response. What element matches the "
        "following task: the OK button"
    )
    g15 = UITarsStyle("uitars15").grounding_messages("the OK button", FRAME, SHOT)
    doubao = "click(point='<point>x1 y1</point>'')\n\n## User Instruction\nthe OK button"
    assert doubao in g15[-1].text  # the official typo '' kept
    assert g15[-1].images == [SHOT]


def test_uitars_history_shows_recent_screenshots_and_past_actions() -> None:
    style = UITarsStyle("uitars")
    assert style.history_images == 4  # 5 screenshots in all, as UI-TARS' history_n
    images = [Image.new("RGB", (64, 64), (i, 0, 0)) for i in range(6)]
    past = [PastStep((Click(point=p(i, i, K)),), images[i]) for i in range(5)]
    past.append(PastStep((TypeText(text="hi"), KeyPress(keys=("enter",))), images[5]))
    chat = style.messages("Say hi", FRAME, SHOT, past, feedback="OutOfBounds: outside")
    assert [m.role for m in chat] == ["system", "user"] + ["assistant"] * 2 + [
        "user",
        "assistant",
    ] * 4 + ["user"]
    assert chat[0].text == "You are a helpful assistant."
    assert sum(len(m.images) for m in chat) == 5
    assert chat[2].text == "Action: click(start_box='<|box_start|>(0,0)<|box_end|>')"
    assert chat[-2].text == "Action: type(content='hi\\n')"
    assert chat[-1].images == [SHOT] and "OutOfBounds: outside" in chat[-1].text
    assert style.parse(chat[-2].text) == [TypeText(text="hi"), KeyPress(keys=("enter",))]
    none = UITarsStyle("uitars15", history_images=0).messages("x", FRAME, SHOT, past)
    assert sum(len(m.images) for m in none) == 1


def test_uitars_locate_reads_calls_and_bare_points() -> None:
    style = UITarsStyle("uitars15")
    assert style.locate("(512, 384)").point == p(512, 384, R)
    located = style.locate("Action: click(start_box='[10, 20, 30, 40]')")
    assert located.point == p(20, 30, R) and located.box == (p(10, 20, R), p(30, 40, R))
    assert style.locate("<|box_start|>(5,6)<|box_end|>").point == p(5, 6, R)
    with pytest.raises(ParseError):
        style.locate("Action: wait()")
    with pytest.raises(ParseError):
        style.locate("somewhere near the top")


def test_uitars_cannot_render_what_it_cannot_say() -> None:
    style = UITarsStyle("uitars")
    for action in (Click(), Click(point=p(1, 1, K), count=3), Drag(end=p(1, 1, K))):
        with pytest.raises(ValueError):
            style.render(action)
    with pytest.raises(ConfigurationError):
        UITarsStyle("uitars2")  # type: ignore[arg-type]


# -- grounding styles ---------------------------------------------------------------------
def test_qwen25vl_grounding() -> None:
    style = Qwen25VLGrounding()
    chat = style.grounding_messages("the OK button", FRAME, SHOT)
    assert chat[0].text == "You are a helpful assistant"
    assert chat[1].content == (
        "Locate the OK button, output its bbox coordinates using JSON format.",
        SHOT,
    )
    assert style.messages("the OK button", FRAME, SHOT, [PastStep((Wait(seconds=1),))]) == chat
    click = Click(point=p(123, 45, R))
    assert style.parse(style.render(click)) == [click, Terminate(status="success")]
    located = style.locate('{"bbox_2d": [30, 40, 10, 20], "label": "ok"}')
    assert located.point == p(20, 30, R) and located.box == (p(10, 20, R), p(30, 40, R))
    assert style.locate("[{'point_2d': [1, 2], 'label': 'x',},]").point == p(1, 2, R)
    assert style.locate('Sure: ```json\n[{"point_2d": [7, 8]}]\n```').box is None
    for text, reason in [
        ('[{"bbox_2d": [30, 40, 130, 14', "no complete element"),  # cut inside the numbers
        ('[{"bbox_2d": [1, 2, 3]}]', "no complete element"),
        ('[{"bbox_2d": [true, 2, 3, 4]}]', "no complete element"),
        ('[{"bbox_2d": ["1", "2", "3", "4"]}]', "no complete element"),
        ("[]", "no JSON object"),
    ]:
        with pytest.raises(ParseError, match=reason):
            style.locate(text)
    with pytest.raises(ValueError):
        style.render(Wait(seconds=1))


def test_qwen2vl_grounding() -> None:
    style = Qwen2VLGrounding()
    chat = style.grounding_messages("switch language of current page", FRAME, SHOT)
    assert chat[1].content == (
        SHOT,
        "In this UI screenshot, what is the position of the element corresponding to the "
        'command "switch language of current page" (with bbox)?',
    )
    located = style.locate("<|box_start|>(576,12),(592,42)<|box_end|>")
    assert located.point == p(584, 27, K) and located.box == (p(576, 12, K), p(592, 42, K))
    assert style.locate("(576,12),(592,42)") == located  # special tokens skipped in decoding
    assert style.locate("<|box_start|>(5, 6)<|box_end|><|im_end|>").point == p(5, 6, K)
    assert style.locate("<|object_ref_start|>a (1,2) b<|object_ref_end|>(7,8)").point == p(7, 8, K)
    click = Click(point=p(500, 250.5, K))
    assert style.parse(style.render(click)) == [click, Terminate(status="success")]
    with pytest.raises(ParseError, match="no box or point"):
        style.parse("The button is in the top right corner.")


# -- Qwen3-VL ------------------------------------------------------------------------------
def test_qwen3vl_tool_and_grammar() -> None:
    style = Qwen3VLComputerUse()
    assert (style.space, style.factor, style.min_pixels, style.max_pixels) == (
        K,
        32,
        4096,
        16_777_216,
    )
    system = style.messages("Save", FRAME, SHOT, [])[0].text
    assert system.startswith("You are a helpful assistant.\n\n# Tools\n")
    assert "The screen's resolution is 1000x1000." in system
    assert "Don't click boxes on their edges.\\n" not in system  # Qwen3 wording ends the line
    tool = json.loads(system.split("<tools>\n")[1].split("\n</tools>")[0])
    params = tool["function"]["parameters"]["properties"]
    assert params["action"]["enum"][-6:] == [
        "triple_click", "scroll", "hscroll", "wait", "terminate", "answer",
    ]  # fmt: skip
    assert params["text"]["description"] == "Required only by `action=type` and `action=answer`."
    actions: list[Action] = [
        Click(point=p(500, 500, K)),
        Click(point=p(1, 2, K), count=3),
        Click(point=p(1, 2, K), button="middle"),
        Drag(end=p(9, 9, K)),
        Scroll(direction="right", amount=3),
        Terminate(status="success", message="42"),
        Terminate(status="failure"),
    ]
    for action in actions:
        assert style.parse(style.render(action)) == [action]
    answer = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "answer", "text": "4"}}'
    assert style.parse(answer) == [Terminate(status="success", message="4")]
    for bad in (
        '<tool_call>{"arguments": {"action": "answer"}}</tool_call>',
        '<tool_call>{"arguments": {"action": "left_click", "coordinate": [1' + "0" * 400 + ", 2]}}",
        '<tool_call>{"arguments": {"action": "scroll", "pixels": 1' + "0" * 400 + "}}",
        '<tool_call>{"arguments": {"action": "left_click", "coordinate": [1e999, 2]}}',
    ):
        with pytest.raises(ParseError):
            style.parse(bad)
    assert not isinstance(style, Qwen25VLComputerUse)


# -- registry ------------------------------------------------------------------------------
def test_registry_builds_every_style() -> None:
    spaces = {"qwen25vl": R, "qwen25vl-grounding": R, "qwen2vl": K, "uitars": K, "uitars15": R}
    spaces |= {"opencua": R, "ui-venus": R, "holo": R, "gta1": R, "gui-owl": K}
    for name in STYLE_NAMES:
        style: Style = make_style(name)
        assert style.name == name
        assert style.space is spaces.get(name, K)
    assert make_style("uitars15").min_pixels == 100 * 28 * 28
    uitars, qwen3, qwen25 = (
        make_style("uitars", history_images=2),
        make_style("qwen3vl", history_images=1),
        make_style("qwen25vl"),
    )
    assert isinstance(uitars, UITarsStyle) and uitars.history_images == 2
    assert isinstance(qwen3, Qwen3VLComputerUse) and qwen3.history_images == 1
    assert isinstance(qwen25, Qwen25VLComputerUse) and qwen25.history_images == 0
    with pytest.raises(ConfigurationError, match="qwen25vl, qwen25vl-grounding, qwen2vl"):
        make_style("gpt")
    with pytest.raises(ConfigurationError, match="no history"):
        make_style("qwen2vl", history_images=3)
    for name in ("opencua", "ui-venus", "gui-owl", "holo", "gta1"):
        assert make_style(name).history_images == 0
        with pytest.raises(ConfigurationError, match="no history"):
            make_style(name, history_images=1)
    with pytest.raises(ConfigurationError, match=">= 0"):
        make_style("uitars", history_images=-1)


def test_uitars_history_replays_the_models_own_words() -> None:
    style = make_style("uitars15")
    frame = ModelFrame.for_image(800, 600)
    said = "Thought: the OK button is at the bottom.\nAction: click(start_box='(10,20)')"
    (click,) = style.parse(said)
    shot = Image.new("RGB", (800, 600))
    chat = style.messages("Click OK", frame, shot, [PastStep((click,), shot, said)])
    assert [m.text for m in chat if m.role == "assistant"] == [said]
    chat = style.messages("Click OK", frame, shot, [PastStep((click,), shot)])
    assert [m.text for m in chat if m.role == "assistant"] == [
        "Action: " + style.render_turn((click,))
    ]
