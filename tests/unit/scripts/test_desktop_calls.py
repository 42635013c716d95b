"""Desktop calls on a fixed picture with a scripted model: each call is a recorded step, errors
are the right ones, queries repair and retry, the policy applies, secrets stay placeholders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel

from actions.executor import DryRunExecutor
from actions.policy import Policy, Region
from agent.errors import AssertionFailed, ConfigurationError, NotFound, Refused, WaitTimeout
from agent.models.scripted import ScriptedBackend
from agent.screen.capture import ImageScreen
from agent.scripts.desktop import Desktop
from agent.styles.registry import make_style
from agent.trajectory import load_trajectory

SIZE = (1280, 800)


def picture() -> Image.Image:
    image = Image.new("RGB", SIZE, (240, 240, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((600, 400, 700, 440), fill="lightgray", outline="black")
    draw.text((625, 408), "Save", fill="black", font=ImageFont.load_default(size=20))
    return image


def click(x: int, y: int) -> str:
    body = {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [x, y]}}
    return f"<tool_call>{json.dumps(body)}</tool_call>"


def desktop(tmp_path: Path, answers: list[str], **options: object) -> Desktop:
    return Desktop(
        ScriptedBackend(answers),
        make_style("qwen25vl"),
        screen=ImageScreen(picture()),
        executor=DryRunExecutor(),
        out=tmp_path / "run",
        poll_s=0.01,
        **options,  # type: ignore[arg-type]
    )


class Invoice(BaseModel):
    number: str
    total: float


def test_query_repairs_json_and_feeds_a_validation_error_back_once(tmp_path: Path) -> None:
    answers = [
        "```json\n{'number': 'INV-7', 'total': 'lots',}\n```",
        '{"number": "INV-7", "total": 76.5}',
    ]
    with desktop(tmp_path, answers) as d:
        assert d.query("What is the invoice?", Invoice) == Invoice(number="INV-7", total=76.5)
        backend = d.grounder.backend  # type: ignore[attr-defined]
    retry_prompt = backend.calls[1][0][-1].text
    assert "Your previous answer was not valid" in retry_prompt and "total" in retry_prompt
    steps = load_trajectory(tmp_path / "run").steps
    assert steps[0].error is not None and steps[0].error.startswith("ParseError")
    assert steps[1].targets[0].outcome == '{"number":"INV-7","total":76.5}'


def test_a_query_that_never_validates_raises_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not match the schema"):
        with desktop(tmp_path, ['{"number": 1}', '{"total": "x"}']) as d:
            d.query("What is the invoice?", Invoice)
    assert load_trajectory(tmp_path / "run").meta.status == "failed"


def test_assert_and_wait_for(tmp_path: Path) -> None:
    no = '{"visible": false, "reason": "no such text"}'
    with desktop(tmp_path, ['{"visible": true}', no, no, no, no, no, no, no, no, no]) as d:
        d.assert_visible("Save")
        with pytest.raises(AssertionFailed, match="Delete") as failed:
            d.assert_visible("Delete")
        assert failed.value.screenshot is not None and failed.value.screenshot.is_file()
        with pytest.raises(WaitTimeout, match="within 0.05 s"):
            d.wait_for("Delete", timeout_s=0.05)
    steps = load_trajectory(tmp_path / "run").steps
    assert steps[0].verdicts == ["assert: visible: visible"]
    assert steps[1].targets[0].outcome == "not visible: no such text"
    assert {s.targets[0].verb for s in steps[2:]} == {"wait_for"}


def test_the_policy_applies_to_script_steps(tmp_path: Path) -> None:
    region = Region(0, 0, 300, 300)  # Save is outside it
    with pytest.raises(Refused, match="outside the allowed region"):
        with desktop(tmp_path, [click(650, 420)] * 2, policy=Policy(region=region)) as d:
            d.click("Save")
    step = load_trajectory(tmp_path / "run").steps[0]
    assert step.results == [] and step.error is not None and "Refused" in step.error


def test_secret_text_is_typed_by_placeholder_and_recorded_as_one(tmp_path: Path) -> None:
    with desktop(tmp_path, []) as d:
        d.type("correct horse", secret=True)
        d.press("enter")
    run = tmp_path / "run"
    steps = load_trajectory(run).steps
    assert steps[0].executed[0].text == "{SECRET_1}"  # type: ignore[union-attr]
    assert steps[1].executed[0].keys == ("enter",)  # type: ignore[union-attr]
    assert all(b"correct horse" not in p.read_bytes() for p in run.iterdir())


def test_act_needs_a_model_and_press_needs_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="needs its style"):
        Desktop(ScriptedBackend([]), None, screen=ImageScreen(picture()), out=None)
    with desktop(tmp_path, []) as d:
        with pytest.raises(ConfigurationError, match="at least one key"):
            d.press()
    d.close()  # idempotent
    with pytest.raises(ConfigurationError, match="closed"):
        d.press("a")


def test_every_pointing_call_builds_its_action_at_the_located_point(tmp_path: Path) -> None:
    answers = [click(650, 420)] * 7  # 1280x800 -> 1288x812: (650, 420) is (646, 414) on screen
    with desktop(tmp_path, answers) as d:
        assert d.locate("Save") == d.double_click("Save") == d.right_click("Save")
        d.hover("Save")
        d.scroll("down", 5, at="Save")
        start, end = d.drag("Save", "Save")
        assert start.screen_xy() == (646, 414)
    steps = load_trajectory(tmp_path / "run").steps
    executed = [s.executed[0].model_dump(exclude={"point", "start", "end"}) for s in steps[1:]]
    assert steps[0].executed == []  # locate moves nothing
    assert executed == [
        {"action": "click", "button": "left", "count": 2},
        {"action": "click", "button": "right", "count": 1},
        {"action": "mouse_move"},
        {"action": "scroll", "direction": "down", "amount": 5},
        {"action": "drag"},
    ]
    drag = steps[-1]
    assert [(t.key, t.occurrence) for t in drag.targets] == [("Save", 5), ("Save", 6)]
