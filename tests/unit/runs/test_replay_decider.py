"""Replays of recorded runs on fixed images: modes, verdicts, secrets, what is refused."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from actions.executor import DryRunExecutor
from actions.schema import Click, Drag, Terminate, TypeText
from agent.errors import ConfigurationError
from agent.geometry import CoordinateSpace, ModelFrame, Monitor, Point, to_model, to_screen
from agent.loop import Agent
from agent.models.scripted import ScriptedBackend
from agent.runs.replay import replay
from agent.screen.capture import ImageScreen, Screenshot, SettledScreen
from agent.styles.qwen25vl import Qwen25VLComputerUse
from agent.trajectory import load_trajectory

MAX_PIXELS = 1280 * 28 * 28
SECRET = "s3cret-Value-9"
BUTTON = (900, 520, 1020, 560)  # capture pixels of the 1920x1080 picture


def call(args: dict[str, object]) -> str:
    return f"<tool_call>\n{json.dumps({'name': 'computer_use', 'arguments': args})}\n</tool_call>"


def picture(width: int = 1920, height: int = 1080, dx: int = 0, dy: int = 0) -> Image.Image:
    """A dark desktop with one textured button; (dx, dy) moves the button."""
    image = Image.new("RGB", (1920, 1080), (20, 40, 60))
    draw = ImageDraw.Draw(image)
    x1, y1, x2, y2 = BUTTON
    draw.rectangle((x1 + dx, y1 + dy, x2 + dx, y2 + dy), fill=(200, 200, 200))
    draw.text((x1 + dx + 30, y1 + dy + 12), "OK  Save", fill=(0, 0, 0))
    draw.ellipse((300, 300, 360, 340), fill=(180, 40, 40))
    return image.resize((width, height), Image.Resampling.BICUBIC)


# 1920x1080 -> 1316x728: the button's centre (960, 540) is (658, 364) for the model
CLICK = call({"action": "left_click", "coordinate": [658, 364]})
DRAG = call({"action": "left_click_drag", "coordinate": [226, 219]})
TYPE = call({"action": "type", "text": "{PASSWORD}"})
DONE = call({"action": "terminate", "status": "success"})


def record(tmp_path: Path, answers: Sequence[str], **screen: float) -> Path:
    out = tmp_path / "recorded"
    agent = Agent(
        ScriptedBackend(answers, max_pixels=MAX_PIXELS),
        Qwen25VLComputerUse(),
        DryRunExecutor(),
        ImageScreen(picture(), **screen),  # type: ignore[arg-type]
        out=out,
        secrets={"PASSWORD": SECRET},
    )
    assert agent.run("Save the form").status == "done"
    return out


def test_exact_replays_the_recorded_screen_actions_without_a_model(tmp_path: Path) -> None:
    recorded = record(tmp_path, [CLICK, TYPE, DONE])
    executor = DryRunExecutor()
    result = replay(
        recorded,
        screen=ImageScreen(picture()),
        executor=executor,
        out=tmp_path / "replay",
        secrets={"PASSWORD": SECRET},
        settle_poll_s=0,
    )
    assert result.ok and result.verdicts == {"replayed": 3}
    done = [a for a, _ in executor.calls]
    assert done == [
        Click(point=Point.screen(960, 540)),
        TypeText(text=SECRET),  # the value given again, typed at the last moment
        Terminate(status="success"),
    ]
    trajectory = load_trajectory(tmp_path / "replay")
    assert trajectory.meta.backend == "replay" and trajectory.meta.status == "done"
    assert [s.replay.step for s in trajectory.steps if s.replay] == [0, 1, 2]
    assert all(s.source == "replay" for s in trajectory.steps)
    assert "screen settled" in trajectory.steps[0].verdicts[0]
    for path in (tmp_path / "replay").iterdir():
        assert SECRET.encode() not in path.read_bytes()


def test_a_missing_secret_or_nothing_to_replay_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    recorded = record(tmp_path, [CLICK, TYPE, DONE])
    executor = DryRunExecutor()
    with pytest.raises(ConfigurationError, match="PASSWORD"):
        replay(recorded, screen=ImageScreen(picture()), executor=executor, settle_poll_s=0)
    assert executor.calls == []
    empty = tmp_path / "empty"
    agent = Agent(
        ScriptedBackend(["no idea"] * 3, max_pixels=MAX_PIXELS),
        Qwen25VLComputerUse(),
        DryRunExecutor(),
        ImageScreen(picture()),
        out=empty,
    )
    assert agent.run("Save").status == "failed"
    with pytest.raises(ConfigurationError, match="nothing to replay"):
        replay(empty, screen=ImageScreen(picture()), executor=executor)


def test_scaled_maps_each_point_through_its_frame_and_monitor(tmp_path: Path) -> None:
    recorded = record(tmp_path, [CLICK, DRAG, DONE])
    # live: 1366x768 physical pixels at scale 2, placed at (-683, 100) (a Retina-style monitor)
    live = ImageScreen(picture(1366, 768), left=-683, top=100, scale=2.0)
    executor = DryRunExecutor()
    result = replay(recorded, screen=live, executor=executor, mode="scaled", settle_poll_s=0)
    assert result.ok
    recorded_steps = load_trajectory(recorded).steps
    rec_monitor = recorded_steps[0].monitor
    assert rec_monitor is not None
    expected = []
    for step in recorded_steps[:2]:
        for action in step.executed:
            for p in (getattr(action, n, None) for n in ("point", "start", "end")):
                if isinstance(p, Point):
                    # independently: the fraction of the 1920x1080 capture, onto 683x384 units
                    fx, fy = p.x / 1920, p.y / 1080
                    expected.append(to_screen(
                        Point(x=fx, y=fy, space=CoordinateSpace.REL1),
                        ModelFrame.identity(1366, 768), live.monitor,
                    ))  # fmt: skip
    got = []
    for action, _ in executor.calls:
        if isinstance(action, Click) and action.point:
            got.append(action.point)
        if isinstance(action, Drag):
            got += [p for p in (action.start, action.end) if p]
    assert got == expected
    # the button's centre: the middle of the 683x384-unit monitor (341.5 rounds away from 0)
    assert got[0] == Point.screen(-683 + 342, 100 + 192)


def test_reground_matches_diverges_without_a_model_and_asks_a_model(tmp_path: Path) -> None:
    recorded = record(tmp_path, [CLICK, DONE])
    executor = DryRunExecutor()
    same = replay(
        recorded, screen=ImageScreen(picture()), executor=executor, mode="reground",
        settle_poll_s=0, out=tmp_path / "same",
    )  # fmt: skip
    assert same.ok and same.verdicts == {"matched": 1, "replayed": 1}
    first = load_trajectory(tmp_path / "same").steps[0]
    assert first.replay is not None and first.replay.score is not None
    assert first.replay.score > 0.99
    assert executor.calls[0][0] == Click(point=Point.screen(960, 540))

    moved = ImageScreen(picture(dx=-400, dy=200))
    executor = DryRunExecutor()
    stopped = replay(
        recorded, screen=moved, executor=executor, mode="reground", settle_poll_s=0,
        out=tmp_path / "diverged",
    )  # fmt: skip
    assert stopped.status == "failed" and stopped.verdicts == {"diverged": 1}
    assert stopped.message is not None and "diverged at recorded step 0" in stopped.message
    assert [type(a) for a, _ in executor.calls] == [Terminate]  # nothing was clicked
    step = load_trajectory(tmp_path / "diverged").steps[0]
    assert step.replay is not None and step.replay.verdict == "diverged"

    # with a model: the run's instruction is asked again on the live screen
    frame = ModelFrame.for_image(1920, 1080, max_pixels=MAX_PIXELS)
    seen = to_model(Point.screen(560, 740), frame, moved.monitor)
    answer = call({"action": "left_click", "coordinate": [round(seen.x), round(seen.y)]})
    model = ScriptedBackend([answer], max_pixels=MAX_PIXELS)
    executor = DryRunExecutor()
    again = replay(
        recorded, screen=moved, executor=executor, mode="reground", model=model,
        style=Qwen25VLComputerUse(), settle_poll_s=0, out=tmp_path / "reground",
    )  # fmt: skip
    assert again.ok and again.verdicts == {"re-grounded": 1, "replayed": 1}
    assert executor.calls[0][0] == Click(point=Point.screen(560, 740))
    asked, _ = model.calls[0]
    assert "Save the form" in " ".join(m.text for m in asked)
    step = load_trajectory(tmp_path / "reground").steps[0]
    assert step.source == "model" and step.raw_output == answer
    assert step.replay is not None and step.replay.verdict == "re-grounded"


class Flicker:
    """A screen that changes on each of its first ``changes`` captures, then stays."""

    def __init__(self, changes: int) -> None:
        self.changes, self.captures = changes, 0
        self.inner = ImageScreen(picture(320, 180))

    @property
    def monitor(self) -> Monitor:
        return self.inner.monitor

    def capture(self) -> Screenshot:
        self.captures += 1
        shot = self.inner.capture()
        if self.captures <= self.changes:
            ImageDraw.Draw(shot.image).rectangle(
                (0, 0, 40, 40), fill=(40 + 200 * (self.captures % 2), 0, 0)
            )
        return shot


def test_a_settled_screen_waits_for_two_equal_captures_or_its_timeout() -> None:
    flicker = Flicker(changes=3)
    settled = SettledScreen(flicker, timeout_s=5, poll_s=0)
    shot = settled.capture()
    assert settled.settled and flicker.captures == 5  # 1, 2, 3 differ; 4 == 5
    assert shot.image.getpixel((10, 10)) == picture(320, 180).getpixel((10, 10))
    assert "settled" in settled.describe()

    busy = SettledScreen(Flicker(changes=10**6), timeout_s=0.05, poll_s=0.001)
    busy.capture()
    assert not busy.settled and busy.waited_s >= 0.05
    assert "still changing" in busy.describe()


class Late:
    """A screen where the recorded button appears only after ``after`` captures."""

    def __init__(self, after: int) -> None:
        self.after, self.captures = after, 0
        self.empty, self.ready = ImageScreen(picture(dx=-400, dy=200)), ImageScreen(picture())

    @property
    def monitor(self) -> Monitor:
        return self.ready.monitor

    def capture(self) -> Screenshot:
        self.captures += 1
        return (self.ready if self.captures > self.after else self.empty).capture()


def test_reground_waits_for_a_target_that_appears_late_and_not_forever(tmp_path: Path) -> None:
    recorded = record(tmp_path, [CLICK, DONE])
    executor = DryRunExecutor()
    late = replay(
        recorded, screen=Late(after=6), executor=executor, mode="reground", settle_poll_s=0,
        out=tmp_path / "late",
    )  # fmt: skip
    assert late.ok and late.verdicts == {"matched": 1, "replayed": 1}
    assert executor.calls[0][0] == Click(point=Point.screen(960, 540))
    first = load_trajectory(tmp_path / "late").steps[0]
    assert any("it appeared; acted on that later capture" in v for v in first.verdicts)

    executor = DryRunExecutor()
    never = replay(
        recorded, screen=Late(after=10**9), executor=executor, mode="reground", settle_poll_s=0,
        target_timeout_s=0.2, out=tmp_path / "never",
    )  # fmt: skip
    assert never.status == "failed" and never.verdicts == {"diverged": 1}
    assert [type(a) for a, _ in executor.calls] == [Terminate]
    step = load_trajectory(tmp_path / "never").steps[0]
    assert any(v.startswith("looked again for 0.") for v in step.verdicts)
