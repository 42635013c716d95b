"""The one-element grounding styles of current families (``opencua``, ``ui-venus``, ``gui-owl``,
``holo``, ``gta1``): official prompts, hand-written answers per family, spaces mapped to the
exact screen pixel, refusals (NotFound) and malformed answers (one-line ParseErrors), and
OpenCUA's pyautogui code read with ``ast`` and never run."""

from __future__ import annotations

import ast
import builtins
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from actions.schema import Click, Drag, KeyPress, MouseMove, Scroll, Terminate, TypeText, Wait
from agent.decision import STYLE_MODEL_TYPES
from agent.errors import ModelError, NotFound, ParseError
from agent.geometry import CoordinateSpace, ModelFrame, Monitor, Point, to_screen
from agent.styles.base import OneElementGrounding, PastStep
from agent.styles.gta1 import GTA1Grounding
from agent.styles.gui_owl import GUIOwlGrounding
from agent.styles.holo import HoloGrounding
from agent.styles.opencua import OpenCUAGrounding
from agent.styles.registry import STYLE_NAMES, make_style
from agent.styles.ui_venus import UIVenusGrounding

R = CoordinateSpace.RESIZED
K = CoordinateSpace.REL1000
FAMILIES = ("opencua", "ui-venus", "gui-owl", "holo", "gta1")
SHOT = Image.new("RGB", (1920, 1080))
MONITOR = Monitor(index=1, left=0, top=0, width=1920, height=1080)


def p(x: float, y: float, space: CoordinateSpace = R) -> Point:
    return Point(x=x, y=y, space=space)


def frame_of(name: str, width: int = 1920, height: int = 1080) -> ModelFrame:
    style = make_style(name)
    return ModelFrame.for_image(
        width,
        height,
        min_pixels=style.min_pixels,
        max_pixels=style.max_pixels,
        factor=style.factor,
    )


def test_registered_with_their_space_grid_and_bounds() -> None:
    expected = {
        "opencua": (OpenCUAGrounding, R, 28, 3136, 12_845_056),
        "ui-venus": (UIVenusGrounding, R, 28, 2_000_000, 4_800_000),
        "gui-owl": (GUIOwlGrounding, K, 32, 196 * 32 * 32, 9800 * 32 * 32),
        "holo": (HoloGrounding, R, 28, 3136, 12_845_056),
        "gta1": (GTA1Grounding, R, 28, 3136, 4096 * 2160),
    }
    for name, (cls, space, factor, low, high) in expected.items():
        assert name in STYLE_NAMES
        style = make_style(name)
        assert isinstance(style, cls) and isinstance(style, OneElementGrounding)
        assert (style.name, style.space, style.factor) == (name, space, factor)
        assert (style.min_pixels, style.max_pixels) == (low, high)
    assert STYLE_MODEL_TYPES["ui-venus"] == STYLE_MODEL_TYPES["holo"] == {"qwen2_5_vl"}
    assert STYLE_MODEL_TYPES["gta1"] == {"qwen2_5_vl"}
    assert STYLE_MODEL_TYPES["gui-owl"] == {"qwen3_vl", "qwen3_vl_moe"}
    assert "opencua" not in STYLE_MODEL_TYPES  # its own remote-code model type


# -- prompts, word for word -------------------------------------------------------------------
def test_official_prompts() -> None:
    venus = make_style("ui-venus").grounding_messages("the OK button", frame_of("ui-venus"), SHOT)
    assert venus[-1].content == (
        SHOT,
        "Outline the position corresponding to the instruction: the OK button. The output "
        "should be only [x1,y1,x2,y2].",
    )
    holo = make_style("holo").grounding_messages("the OK button", frame_of("holo"), SHOT)
    assert holo[-1].content == (
        SHOT,
        "Localize an element on the GUI image according to the provided target and output a "
        'click position. You must output a valid JSON following the format: {"action": '
        '"click_absolute", "x": <int>, "y": <int>} Your target is: the OK button',
    )
    frame = frame_of("gta1")
    gta1 = make_style("gta1").grounding_messages("the OK button", frame, SHOT)
    assert (frame.width, frame.height) == (1932, 1092)
    assert gta1[0].role == "system" and gta1[0].text == (
        "You are an expert UI element locator. Given a GUI image and a user's element "
        "description, provide the coordinates of the specified element as a single (x,y) point. "
        "The image resolution is height 1092 and width 1932. For elements with area, return the "
        "center point.\n\nOutput the coordinate pair exactly:\n(x,y)"
    )
    assert gta1[1].content == (SHOT, "the OK button")
    cua = make_style("opencua").grounding_messages("the OK button", frame_of("opencua"), SHOT)
    assert cua[0].text == (
        "You are a GUI agent. You are given a task and a screenshot of the screen. You need to "
        "perform a series of pyautogui actions to complete the task."
    )
    assert cua[1].content == (SHOT, "the OK button")
    owl = make_style("gui-owl").grounding_messages("the OK button", frame_of("gui-owl"), SHOT)
    assert "The screen's resolution is 1000x1000." in owl[0].text
    assert owl[0].text.startswith("You are a helpful assistant.\n\n# Tools\n")
    assert owl[-1].images == [SHOT] and "the OK button" in owl[-1].text


@pytest.mark.parametrize("name", FAMILIES)
def test_loop_chat_ignores_history_and_carries_feedback(name: str) -> None:
    style = make_style(name)
    frame = frame_of(name)
    plain = style.grounding_messages("Save", frame, SHOT)
    assert style.messages("Save", frame, SHOT, [PastStep((Wait(seconds=1),))]) == plain
    told = style.messages("Save", frame, SHOT, [], feedback="OutOfBounds: outside")
    assert told[:-1] == plain[:-1] and told[-1].images == plain[-1].images == [SHOT]
    assert told[-1].text.startswith(plain[-1].text)
    assert told[-1].text.endswith("not carried out: OutOfBounds: outside Answer again.")


# -- answers per family ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,answer,point,box",
    [
        ("opencua", "pyautogui.click(x=1443, y=343)", p(1443, 343), None),
        ("opencua", "pyautogui.click(123, 456)", p(123, 456), None),
        ("opencua", "```python\npyautogui.doubleClick(x=10.5, y=20)\n```", p(10.5, 20), None),
        ("opencua", "## Action: click OK\n## Code:\n```python\npyautogui.click(x=5, y=6)\n```",
         p(5, 6), None),
        ("opencua", "Action: pyautogui.rightClick(7, 8)", p(7, 8), None),
        ("opencua", "from here on I click OK.\npyautogui.click(3, 4)", p(3, 4), None),
        ("opencua", "pyautogui.moveTo(1, 2)\npyautogui.click()", p(1, 2), None),
        ("opencua", "import pyautogui\npyautogui.click((30, 40))  # the OK button", p(30, 40),
         None),
        ("ui-venus", "[100,200,300,400]", p(200, 300), (p(100, 200), p(300, 400))),
        ("ui-venus", "[300, 400, 100, 200]", p(200, 300), (p(100, 200), p(300, 400))),
        ("ui-venus", "The box is [10.5,20,30.5,40].", p(20.5, 30), (p(10.5, 20), p(30.5, 40))),
        ("ui-venus", "[640,360]", p(640, 360), None),
        ("gui-owl", '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
         '"coordinate": [500, 250]}}\n</tool_call>', p(500, 250, K), None),
        ("gui-owl", '<tool_call>{"name": "computer_use", "arguments": {"action": "double_click", '
         '"coordinate": [100, 200, 300, 400]}}</tool_call>', p(200, 300, K), None),
        ("holo", '{"action": "click_absolute", "x": 352, "y": 348}', p(352, 348), None),
        ("holo", '```json\n{"action": "click_absolute", "x": 1.5, "y": 2}\n```', p(1.5, 2), None),
        ("holo", "{'x': 10, 'y': 20,}", p(10, 20), None),
        ("gta1", "(1014,513)", p(1014, 513), None),
        ("gta1", "The element is at ( 12 , 34.5 ).", p(12, 34.5), None),
    ],
)  # fmt: skip
def test_answers_give_the_point(
    name: str, answer: str, point: Point, box: tuple[Point, Point] | None
) -> None:
    style = make_style(name)
    located = style.locate(answer)
    assert located.point == point and located.box == box
    assert style.parse(answer) == [Click(point=point), Terminate(status="success")]


@pytest.mark.parametrize("name", FAMILIES)
def test_render_round_trips(name: str) -> None:
    style = make_style(name)
    for xy in ((123, 45), (12.5, 7)):
        click = Click(point=p(*xy, space=style.space))
        assert style.parse(style.render(click)) == [click, Terminate(status="success")]
    with pytest.raises(ValueError):
        style.render(Wait(seconds=1))


def test_opencua_reads_the_whole_program() -> None:
    style = OpenCUAGrounding()
    code = (
        "```python\npyautogui.click(x=1, y=2, clicks=2, button='right')\n"
        "pyautogui.dragTo(30, 40)\npyautogui.scroll(-5, x=7, y=8)\npyautogui.hscroll(2)\n"
        "pyautogui.write(message='hi')\npyautogui.typewrite('yo')\npyautogui.press('enter')\n"
        "pyautogui.press(['a', 'b'])\npyautogui.hotkey('ctrl', 'c')\npyautogui.moveTo(-1, 3)\n```"
    )
    assert style.actions(code) == [
        Click(point=p(1, 2), count=2, button="right"),
        Drag(end=p(30, 40)),
        Scroll(point=p(7, 8), direction="down", amount=5),
        Scroll(direction="right", amount=2),
        TypeText(text="hi"),
        TypeText(text="yo"),
        KeyPress(keys=("enter",)),
        KeyPress(keys=("a", "b")),
        KeyPress(keys=("ctrl", "c")),
        MouseMove(point=p(-1, 3)),
    ]
    assert style.locate(code).point == p(1, 2)
    with pytest.raises(ParseError, match="no coordinate"):
        style.locate("pyautogui.write('hello')")


# -- spaces: model point -> the exact screen pixel ----------------------------------------------
@pytest.mark.parametrize(
    "name,answer",
    [
        ("opencua", "pyautogui.click(x={x}, y={y})"),
        ("ui-venus", "[{x},{y},{x},{y}]"),
        ("holo", '{{"action": "click_absolute", "x": {x}, "y": {y}}}'),
        ("gta1", "({x},{y})"),
    ],
)
def test_resized_pixels_map_to_the_screen_pixel(name: str, answer: str) -> None:
    """1920x1080 resized to the family's frame (not the capture): the frame's centre and its
    three-quarter point land on the true screen pixels."""
    frame = frame_of(name)
    style = make_style(name)
    for fx, fy, sx, sy in ((0.5, 0.5, 960, 540), (0.75, 0.25, 1440, 270)):
        x, y = frame.width * fx, frame.height * fy
        point = style.locate(answer.format(x=x, y=y)).point
        assert to_screen(point, frame, MONITOR) == Point.screen(sx, sy)


def test_ui_venus_frame_is_its_own_bounds() -> None:
    """The 7B's min 2,000,000 upscales a 1366x768 capture; the answer is in that frame."""
    frame = frame_of("ui-venus", 1366, 768)
    assert frame.width * frame.height >= 2_000_000 and frame.width > 1366
    monitor = Monitor(index=1, left=0, top=0, width=1366, height=768)
    point = make_style("ui-venus").locate(f"[0,0,{frame.width},{frame.height}]").point
    assert to_screen(point, frame, monitor) == Point.screen(683, 384)


def test_gui_owl_thousandths_map_to_the_screen_pixel() -> None:
    style = make_style("gui-owl")
    frame = frame_of("gui-owl")
    assert frame.factor == 32 and frame.width % 32 == 0
    monitor = Monitor(index=2, left=1920, top=0, width=1920, height=1080)
    for kx, ky, sx, sy in ((500, 500, 2880, 540), (250, 750, 2400, 810), (1000, 1000, 3839, 1079)):
        answer = (
            '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", '
            f'"coordinate": [{kx}, {ky}]}}}}</tool_call>'
        )
        point = style.locate(answer).point
        assert point.space is K
        assert to_screen(point, frame, monitor) == Point.screen(sx, sy)


# -- refusals and malformed answers -------------------------------------------------------------
@pytest.mark.parametrize(
    "name,answer",
    [
        ("ui-venus", "[-1,-1]"),
        ("ui-venus", "[-1, -1, -1, -1]"),
        ("gui-owl", '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", '
         '"coordinate": [0, 0]}}</tool_call>'),
    ],
)  # fmt: skip
def test_refusals_are_not_found(name: str, answer: str) -> None:
    style = make_style(name)
    for method in (style.locate, style.parse):
        with pytest.raises(NotFound) as refused:
            method(answer)
        assert isinstance(refused.value, ModelError) and not isinstance(refused.value, ParseError)
        assert "\n" not in str(refused.value) and "no element" in str(refused.value)


MALFORMED = {
    "opencua": [
        "", "I would click the OK button.", "pyautogui.click(x=1, y=",
        "pyautogui.click(x='1', y=2)",
        "pyautogui.click(x=1e999, y=2)", "pyautogui.launch('x')", "pyautogui.click(x=1, y=2, "
        "clicks=7)", "pyautogui.press()", "```python\nprint('hi')\n```",
        "pyautogui.click(" + "9" * 5000 + ", 1)", "pyautogui.click(" + "(" * 500 + ")",
        "pyautogui.click(" + "-" * 100_000 + "1, 2)", "pyautogui.click(\x00)",
    ],
    "ui-venus": ["", "top left", "[1,2,3]", "[a,b,c,d]", "[" + "9" * 400 + ",1,2,3]",
                 '{"bbox": [1, 2, 3, 4'],
    "gui-owl": ["", "click it", '<tool_call>{"arguments": {"action": "left_click"}}</tool_call>',
                '<tool_call>{"arguments": {"action": "fly", "coordinate": [1, 2]}}</tool_call>'],
    "holo": ["", "x=1 y=2", '{"action": "click_absolute", "x": "1", "y": 2}',
             '{"action": "type", "x": 1, "y": 2}', '{"x": 1e999, "y": 2}', '{"x": 1, "y": 2'
             + "9" * 5000 + "}", '{"x": true, "y": 2}'],
    "gta1": ["", "(1,)", "(x,y)", "[1, 2]", "(" + "9" * 400 + ",1)", "(1;2)"],
}  # fmt: skip


@pytest.mark.parametrize("name", FAMILIES)
def test_malformed_answers_are_one_line_parse_errors(name: str) -> None:
    style = make_style(name)
    for answer in MALFORMED[name]:
        for method in (style.locate, style.parse):
            with pytest.raises(ParseError) as refused:
                method(answer)
            message = str(refused.value)
            assert message and "\n" not in message and len(message) < 400, (answer[:40], message)


# -- OpenCUA: code is read, never run ----------------------------------------------------------
ATTACKS = [
    "__import__('os').system('touch {marker}')",
    "pyautogui.click(x=__import__('os').system('touch {marker}'), y=1)",
    "import os; os.system('touch {marker}'); pyautogui.click(1, 2)",
    "```python\nimport os\nos.system('touch {marker}')\npyautogui.click(1, 2)\n```",
    "```python\npyautogui.click(1, 2)\nexec(\"open('{marker}', 'w')\")\n```",
    "pyautogui.click.__globals__['os'].system('touch {marker}')",
    "getattr(pyautogui, 'click')(1, 2)",
    "pyautogui.__dict__['click'](1, 2)",
    "pyautogui.click(x=().__class__.__bases__[0].__subclasses__(), y=1)",
    "pyautogui.click(x=(lambda: __import__('os').system('touch {marker}'))(), y=1)",
    "pyautogui.click(x=f\"{{__import__('os').system('touch {marker}')}}\", y=1)",
    "pyautogui.click(x=[i for i in ().__class__.__mro__], y=1)",
    "pyautogui.click(x=1 + 1, y=2)",
    "pyautogui.click(x=X, y=2)",
    "pyautogui.click(*[1, 2])",
    "pyautogui.click(**{{'x': 1, 'y': 2}})",
    "from os import system\npyautogui.click(1, 2)",
    "pyautogui.click(1, 2) if __import__('os').system('touch {marker}') else 0",
    "x = pyautogui.click(1, 2)",
]


def test_opencua_refuses_code_tricks_and_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("model text must never be run")

    style = OpenCUAGrounding()
    marker = tmp_path / "ran"
    refusals: list[str] = []
    with monkeypatch.context() as patched:  # undone before pytest itself compiles anything
        for name in ("eval", "exec"):
            patched.setattr(builtins, name, forbidden)
        real_compile = builtins.compile

        def parse_only(source: str, filename: str, mode: str, flags: int = 0, **kw: int) -> object:
            assert flags & ast.PyCF_ONLY_AST, "model text compiled to bytecode"
            return real_compile(source, filename, mode, flags, **kw)  # type: ignore[call-overload]

        patched.setattr(builtins, "compile", parse_only)
        patched.setattr(os, "system", forbidden)
        for attack in ATTACKS:
            text = attack.format(marker=marker)
            for method in (style.locate, style.parse):
                try:
                    method(text)
                except ParseError as refused:
                    refusals.append(str(refused))
    assert len(refusals) == 2 * len(ATTACKS)
    assert all(reason and "\n" not in reason for reason in refusals)
    assert not marker.exists()


def test_holo_json_is_never_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("model text must never be evaluated")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(ast, "literal_eval", forbidden)
    answer = json.dumps({"action": "click_absolute", "x": 3, "y": 4})
    assert make_style("holo").locate(answer).point == p(3, 4)
    assert make_style("ui-venus").locate("[1, 2, 3, 4]").point == p(2, 3)


# -- in the agent loop: click the element, then the run ends -----------------------------------
@pytest.mark.parametrize(
    "name,model_type,answer",
    [
        ("opencua", None, "pyautogui.click(x={x}, y={y})"),
        ("ui-venus", "qwen2_5_vl", "[{x},{y},{x},{y}]"),
        ("holo", "qwen2_5_vl", '{{"action": "click_absolute", "x": {x}, "y": {y}}}'),
        ("gta1", "qwen2_5_vl", "({x},{y})"),
        ("gui-owl", "qwen3_vl", '<tool_call>{{"name": "computer_use", "arguments": {{"action": '
         '"left_click", "coordinate": [{x}, {y}]}}}}</tool_call>'),
    ],
)  # fmt: skip
def test_loop_clicks_the_element_then_ends(
    name: str, model_type: str | None, answer: str, tmp_path: Path
) -> None:
    from actions.executor import DryRunExecutor
    from agent.loop import Agent
    from agent.models.scripted import ScriptedBackend
    from agent.screen.capture import ImageScreen

    style = make_style(name)
    frame = frame_of(name)
    x, y = (500, 500) if style.space is K else (frame.width / 2, frame.height / 2)
    refusal = "[-1,-1]" if name == "ui-venus" else "no idea"
    backend = ScriptedBackend(
        [refusal, answer.format(x=x, y=y)],
        min_pixels=style.min_pixels,
        max_pixels=style.max_pixels,
        factor=style.factor,
        model_type=model_type,
    )
    executor = DryRunExecutor()
    agent = Agent(backend, style, executor, ImageScreen(SHOT), out=tmp_path / "run")
    result = agent.run("Click the OK button")
    assert (result.status, result.ok) == ("done", True)
    assert [a for a, _ in executor.calls] == [
        Click(point=Point.screen(960, 540)),
        Terminate(status="success"),
    ]
    told = backend.calls[1][0][-1].text  # the refusal was fed back, one line
    reason = "NotFound" if name == "ui-venus" else "ParseError"
    assert reason in told and "not carried out" in told
    assert backend.calls[0][1] == frame
