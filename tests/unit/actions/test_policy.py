"""The safety policy, through the real loop with a scripted model on a fixed image: every
refusal happens before anything runs, is recorded with its reason and is fed back to the model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from actions.executor import DryRunExecutor
from actions.policy import DENIED_COMBOS, Bounds, Budget, LoopGuard, Policy, Region
from actions.schema import Action, Click, Drag, KeyPress, Scroll, Terminate, TypeText, Wait
from agent.errors import BudgetExceeded, ConfigurationError, LoopDetected, Refused
from agent.geometry import Monitor, Point
from agent.loop import Agent
from agent.models.scripted import ScriptedBackend
from agent.screen.capture import ImageScreen
from agent.screen.matching import same_screen
from agent.styles.qwen25vl import Qwen25VLComputerUse
from agent.trajectory import load_trajectory

MONITOR = Monitor(1, 0, 0, 1920, 1080)
MAX_PIXELS = 1280 * 28 * 28  # 1920x1080 -> 1316x728


def call(args: dict[str, object]) -> str:
    return f"<tool_call>\n{json.dumps({'name': 'computer_use', 'arguments': args})}\n</tool_call>"


CLICK = call({"action": "left_click", "coordinate": [658, 364]})
DONE = call({"action": "terminate", "status": "success"})


def desktop() -> Image.Image:
    image = Image.new("RGB", (1920, 1080), (20, 40, 60))
    ImageDraw.Draw(image).rectangle((900, 520, 1020, 560), fill=(200, 200, 200))
    return image


def run(answers: Sequence[str], tmp_path: Path, **kw: Any) -> tuple[Any, DryRunExecutor, Any]:
    executor = DryRunExecutor()
    backend = ScriptedBackend(answers, max_pixels=MAX_PIXELS)
    agent = Agent(
        backend, Qwen25VLComputerUse(), executor, ImageScreen(desktop()), out=tmp_path / "run", **kw
    )
    result = agent.run("x")
    return result, executor, backend


def test_a_hundred_million_pixel_scroll_is_refused_and_fed_back(tmp_path: Path) -> None:
    huge = call({"action": "scroll", "coordinate": [658, 364], "pixels": -100000000})
    result, executor, backend = run([huge, DONE], tmp_path)
    assert result.status == "done"
    assert [type(a) for a, _ in executor.calls] == [Terminate]  # the scroll never ran
    step = load_trajectory(tmp_path / "run").steps[0]
    assert step.error and step.error.startswith("Refused: scroll of")
    assert step.executed and isinstance(step.executed[0], Scroll) and step.results == []
    assert "Refused: scroll of" in backend.calls[1][0][-1].text  # the model is told why


@pytest.mark.parametrize(
    "action,reason",
    [
        (Scroll(direction="down", amount=51), "scroll of 51 clicks"),
        (TypeText(text="a" * 2001), "text of 2001 characters"),
        (KeyPress(keys=("ctrl", "shift", "alt", "a", "b", "c", "d")), "combo of 7 keys"),
        (Wait(seconds=61), "wait of 61 s"),
    ],
)
def test_every_action_kind_has_a_bound(action: Action, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        Policy().review([action], MONITOR)
    assert Policy(bounds=Bounds(100, 3000, 8, 120)).review([action], MONITOR) == []


@pytest.mark.parametrize("combo", DENIED_COMBOS)
def test_denied_combos_are_refused_unless_allowed(combo: tuple[str, ...]) -> None:
    with pytest.raises(Refused, match="denied by the safety policy"):
        Policy().review([KeyPress(keys=combo)], MONITOR)
    Policy(allow_combos=(combo,)).review([KeyPress(keys=combo)], MONITOR)


def test_the_deny_list_matches_any_order_side_and_spelling() -> None:
    for keys in (("alt", "ctrl", "delete"), ("ctrlright", "altright", "backspace"), ("win", "L")):
        with pytest.raises(Refused):
            Policy().review([KeyPress(keys=keys)], MONITOR)
    Policy().review([KeyPress(keys=("ctrl", "c"))], MONITOR)  # an ordinary combo passes


def test_a_denied_combo_in_a_step_stops_the_whole_step(tmp_path: Path) -> None:
    step = (
        call({"action": "left_click", "coordinate": [658, 364]})
        + "\n"
        + call({"action": "key", "keys": ["alt", "F4"]})
    )
    result, executor, _ = run([step, DONE], tmp_path)
    assert result.status == "done"
    assert [type(a) for a, _ in executor.calls] == [Terminate]  # not even the click ran
    first = load_trajectory(tmp_path / "run").steps[0]
    assert first.error == "Refused: the key combo alt+f4 is denied by the safety policy"


def test_points_on_fail_safe_corners_are_refused() -> None:
    for x, y in ((0, 0), (1919, 0), (0, 1079), (1919, 1079)):
        with pytest.raises(Refused, match="fail-safe"):
            Policy().review([Click(point=Point.screen(x, y))], MONITOR)
    Policy().review([Click(point=Point.screen(1, 0))], MONITOR)


def test_the_allowed_region_refuses_points_outside_it(tmp_path: Path) -> None:
    region = Region(0, 0, 800, 600)
    result, executor, _ = run([CLICK, DONE], tmp_path, policy=Policy(region=region))
    assert [type(a) for a, _ in executor.calls] == [Terminate]
    error = load_trajectory(tmp_path / "run").steps[0].error or ""
    assert "outside the allowed region 800x600+0+0" in error
    assert Region.parse("10,20,30,40") == Region(10, 20, 30, 40)
    with pytest.raises(ConfigurationError):
        Region.parse("10,20,30")


class Asker:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[tuple[list[Action], str]] = []

    def __call__(self, actions: Sequence[Action], why: str) -> bool:
        self.asked.append((list(actions), why))
        return self.answer


def test_confirmation_refusal_is_recorded_and_fed_back(tmp_path: Path) -> None:
    asker = Asker(False)
    policy = Policy(confirm="always", confirmer=asker)
    result, executor, backend = run([CLICK, DONE], tmp_path, policy=policy)
    assert result.status == "done"
    assert len(asker.asked) == 1  # asked for the click; the terminate is not an action to vet
    assert [type(a) for a, _ in executor.calls] == [Terminate]
    error = load_trajectory(tmp_path / "run").steps[0].error or ""
    assert error.startswith("Refused: the user declined this step")
    assert "the user declined" in backend.calls[1][0][-1].text


def test_confirmed_steps_run_and_the_verdict_is_recorded(tmp_path: Path) -> None:
    policy = Policy(confirm="always", confirmer=Asker(True))
    result, executor, _ = run([CLICK, DONE], tmp_path, policy=policy)
    assert [type(a) for a, _ in executor.calls] == [Click, Terminate]
    assert load_trajectory(tmp_path / "run").steps[0].verdicts == ["confirmed: every action"]


def test_risky_confirmation_asks_only_for_risky_actions() -> None:
    asker = Asker(True)
    policy = Policy(confirm="risky", confirmer=asker, region=Region(0, 0, 100, 100))
    policy.review([Click(point=Point.screen(50, 50))], MONITOR)
    assert asker.asked == []
    policy.review([TypeText(text="hi"), KeyPress(keys=("ctrl", "s"))], MONITOR)
    policy.review([Drag(start=Point.screen(5, 5), end=Point.screen(50, 50))], MONITOR)
    policy.review([Click(point=Point.screen(500, 500))], MONITOR)  # outside: asked, not refused
    whys = [why for _, why in asker.asked]
    outside = "point (500, 500) outside the allowed region"
    assert whys == ["typing, key combo ctrl+s", "drag", outside]


def test_budgets_end_the_run_as_budget(tmp_path: Path) -> None:
    clicks = [call({"action": "left_click", "coordinate": [100 + i, 364]}) for i in range(5)]
    result, executor, backend = run(clicks, tmp_path, budget=Budget(max_model_calls=2))
    assert (result.status, len(backend.calls), len(executor.calls)) == ("budget", 2, 2)
    assert "2 model calls" in (result.message or "")
    assert load_trajectory(tmp_path / "run").meta.status == "budget"
    with pytest.raises(BudgetExceeded, match="token budget"):
        Budget(max_tokens=10).check(seconds=0, model_calls=0, tokens=10)
    with pytest.raises(BudgetExceeded, match="wall-time"):
        Budget(max_seconds=1).check(seconds=1.5, model_calls=0, tokens=0)
    with pytest.raises(ConfigurationError):
        Budget(max_seconds=0)


def test_the_same_click_on_an_unchanged_screen_is_redirected_then_ends_the_run(
    tmp_path: Path,
) -> None:
    result, executor, backend = run([CLICK] * 6, tmp_path, max_steps=6)
    assert result.status == "failed" and "after a warning" in (result.message or "")
    assert len(executor.calls) == 2  # the third is refused with a warning, the fourth ends it
    steps = load_trajectory(tmp_path / "run").steps
    assert len(steps) == 4
    assert (steps[2].error or "").startswith("Refused: you did the same thing")
    assert "the screen did not change" in backend.calls[3][0][-1].text
    assert (steps[3].error or "").startswith("LoopDetected")
    assert load_trajectory(tmp_path / "run").meta.status == "failed"


def test_the_loop_guard_resets_when_the_screen_or_the_action_changes() -> None:
    guard = LoopGuard(3)
    click = Click(point=Point.screen(5, 5))
    for unchanged in (False, True, False, True, False, True):
        guard.check(unchanged, [click])
    with pytest.raises(Refused):
        guard.check(True, [click])
    guard.check(True, [Click(point=Point.screen(6, 6))])  # did something else: fine again
    guard.check(True, [click])
    guard.check(True, [click])
    with pytest.raises(Refused):
        guard.check(True, [click])
    with pytest.raises(LoopDetected):
        guard.check(True, [click])
    LoopGuard(0).check(True, [click])  # off


def test_a_blinking_caret_does_not_count_as_a_change_but_a_digit_does() -> None:
    before = desktop()
    caret = before.copy()
    ImageDraw.Draw(caret).line((300, 200, 300, 216), fill=(255, 255, 255), width=2)
    digit = before.copy()
    ImageDraw.Draw(digit).text((300, 200), "7", fill=(255, 255, 255))
    assert same_screen(before, before.copy()) and same_screen(before, caret)
    assert not same_screen(before, digit)
    assert not same_screen(before, before.resize((960, 540)))
