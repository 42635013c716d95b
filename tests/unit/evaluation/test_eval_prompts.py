"""MMBench-GUI L2's own prompt: its words, and its answers read as its scorer reads them."""

from __future__ import annotations

import pytest
from PIL import Image

from agent.errors import ConfigurationError, ParseError
from agent.evaluation.prompts import make_prompt
from agent.geometry import CoordinateSpace, ModelFrame
from agent.styles.registry import make_style


def test_the_mmbench_gui_prompt_is_the_benchmarks_words() -> None:
    prompt = make_prompt("mmbench-gui", make_style("qwen25vl"))
    frame = ModelFrame.for_image(560, 392)
    image = Image.new("RGB", (560, 392))
    system, user = prompt.messages("the Save button", frame, image)
    assert system.role == "system" and system.content == (
        "You are a GUI agent. You are given a task and a screenshot of the screen. You need to "
        "finish this task following instructions from users.",
    )
    assert user.role == "user" and user.content == (
        image,
        "Output only the coordinate (x,y) of one point in your response. What element matches "
        "the following task: the Save button",
    )
    assert prompt.prefill == ""
    assert prompt.fingerprint() != make_prompt("grounding", make_style("qwen25vl")).fingerprint()


@pytest.mark.parametrize(
    "style,text,point,space",
    [
        ("qwen25vl", "(230,118)", (230, 118), CoordinateSpace.RESIZED),
        ("qwen25vl", "The element is at [ 12.5 , 40 ].", (12.5, 40), CoordinateSpace.RESIZED),
        ("qwen25vl", "(0.25,0.5)", (0.25, 0.5), CoordinateSpace.REL1),  # fractions of the image
        ("qwen3vl", "(500,250)", (500, 250), CoordinateSpace.REL1000),  # the family's space
        # a family answering in its own format anyway: read as its style reads it
        ("ui-venus", "[10,20,30,40]", (20, 30), CoordinateSpace.RESIZED),
        (
            "qwen25vl",
            '<tool_call>\n{"name": "computer_use", "arguments": {"action": '
            '"left_click", "coordinate": [7, 9]}}\n</tool_call>',
            (7, 9),
            CoordinateSpace.RESIZED,
        ),  # fmt: skip
    ],
)
def test_mmbench_gui_answers_are_read_as_its_scorer_reads_them(
    style: str, text: str, point: tuple[float, float], space: CoordinateSpace
) -> None:
    location = make_prompt("mmbench-gui", make_style(style)).read(text)
    assert location.point.xy() == point and location.point.space is space


def test_an_mmbench_gui_answer_without_a_point_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        make_prompt("mmbench-gui", make_style("gta1")).read("I cannot see it.")
    with pytest.raises(ConfigurationError, match="unknown prompt"):
        make_prompt("mmbench", make_style("gta1"))
