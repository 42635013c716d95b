"""The loop with a scripted model on a fixed image: statuses, feedback, trajectories."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from actions.executor import ActionResult, DryRunExecutor
from actions.schema import Action, Click, Terminate
from agent.chat import Message
from agent.errors import Aborted, BackendError
from agent.geometry import CoordinateSpace, ModelFrame, Monitor, Point
from agent.loop import Agent
from agent.models.scripted import ScriptedBackend
from agent.screen.capture import ImageScreen
from agent.styles.qwen25vl import Qwen25VLComputerUse
from agent.trajectory import load_trajectory

ROOT = Path(__file__).resolve().parents[2]


def call(args: dict[str, object]) -> str:
    body = json.dumps({"name": "computer_use", "arguments": args})
    return f"<tool_call>\n{body}\n</tool_call>"


CLICK = call({"action": "left_click", "coordinate": [658, 364]})
DONE = call({"action": "terminate", "status": "success"})


def desktop(width: int = 1920, height: int = 1080) -> Image.Image:
    image = Image.new("RGB", (width, height), (20, 40, 60))
    ImageDraw.Draw(image).rectangle((900, 520, 1020, 560), fill=(200, 200, 200))
    return image


def make_agent(answers: Sequence[str], out: Path | None, **kw: int) -> tuple[Agent, DryRunExecutor]:
    executor = DryRunExecutor()
    backend = ScriptedBackend(answers, max_pixels=1280 * 28 * 28)
    agent = Agent(backend, Qwen25VLComputerUse(), executor, ImageScreen(desktop()), out=out, **kw)
    return agent, executor


def test_click_then_done_is_recorded_completely(tmp_path: Path) -> None:
    agent, executor = make_agent([CLICK, DONE], tmp_path / "run")
    result = agent.run("Click the OK button")
    assert (result.status, result.steps, result.ok) == ("done", 2, True)
    # 1920x1080 -> 1316x728: (658, 364) is the centre of the screen
    assert [a for a, _ in executor.calls] == [
        Click(point=Point.screen(960, 540)),
        Terminate(status="success"),
    ]
    trajectory = load_trajectory(tmp_path / "run")
    assert not trajectory.truncated
    meta = trajectory.meta
    assert (meta.status, meta.steps, meta.instruction, meta.style) == (
        "done",
        2,
        "Click the OK button",
        "qwen25vl",
    )
    assert (meta.min_pixels, meta.max_pixels) == (3136, 1280 * 28 * 28)
    assert meta.monitor.width == 1920 and "pydantic" in meta.versions
    first, second = trajectory.steps
    assert first.frame.frame() == ModelFrame.for_image(1920, 1080, max_pixels=1280 * 28 * 28)
    assert first.raw_output == CLICK
    assert first.parsed == [Click(point=Point(x=658, y=364, space=CoordinateSpace.RESIZED))]
    assert first.executed == [Click(point=Point.screen(960, 540))]
    assert first.results[0].ok and first.error is None
    assert set(first.timings) >= {
        "capture",
        "prompt",
        "model",
        "parse",
        "review",
        "record",
        "execute",
    }
    assert "The screen's resolution is 1316x728." in str(first.prompt[0].content[0])
    assert first.prompt[1].content[1] == {"image": "step_0000.png"}
    for step in trajectory.steps:
        path = trajectory.screenshot_path(step)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == step.screenshot_sha256
        with Image.open(path) as png:
            assert png.tobytes() == desktop().tobytes()  # lossless
    assert "Step 1: " in second.prompt[1].content[0]  # task progress


def test_several_calls_in_one_answer_run_in_order(tmp_path: Path) -> None:
    agent, executor = make_agent([CLICK + "\n" + DONE], tmp_path / "run")
    result = agent.run("x")
    assert (result.status, result.steps) == ("done", 1)
    assert len(executor.calls) == 2


def test_unusable_answers_are_fed_back_then_the_run_fails(tmp_path: Path) -> None:
    agent, executor = make_agent(["I think OK is there", "still no", "nope"], tmp_path / "run")
    backend = agent.backend
    assert isinstance(backend, ScriptedBackend)
    result = agent.run("x")
    assert (result.status, result.steps) == ("failed", 3)
    assert executor.calls == []
    second_prompt = backend.calls[1][0][-1].text
    assert "Your previous answer was not carried out: ParseError: no <tool_call>" in second_prompt
    trajectory = load_trajectory(tmp_path / "run")
    assert trajectory.meta.status == "failed" and len(trajectory.steps) == 3
    assert all(s.error and s.error.startswith("ParseError") for s in trajectory.steps)


def test_points_off_the_image_are_refused_and_the_model_corrects(tmp_path: Path) -> None:
    off = call({"action": "left_click", "coordinate": [5000, 10]})
    agent, executor = make_agent([off, CLICK, DONE], tmp_path / "run")
    result = agent.run("x")
    assert (result.status, result.steps) == ("done", 3)
    assert result.history[0].record.error is not None
    assert "OutOfBounds" in result.history[0].record.error
    assert executor.calls[0][0] == Click(point=Point.screen(960, 540))


def test_budget_ends_as_max_steps(tmp_path: Path) -> None:
    agent, executor = make_agent([CLICK] * 3, tmp_path / "run", max_steps=3)
    agent.loop_limit = 0  # the same click on the same image three times is not a loop here
    result = agent.run("x")
    assert (result.status, result.steps, len(executor.calls)) == ("max_steps", 3, 3)
    assert load_trajectory(tmp_path / "run").meta.status == "max_steps"


def test_backend_failure_ends_as_error_with_the_step_recorded(tmp_path: Path) -> None:
    def broken(messages: Sequence[Message], frame: ModelFrame) -> str:
        raise BackendError("server said 503")

    agent = Agent(
        ScriptedBackend(broken),
        Qwen25VLComputerUse(),
        DryRunExecutor(),
        ImageScreen(desktop()),
        out=tmp_path / "run",
    )
    result = agent.run("x")
    assert result.status == "error" and "503" in (result.message or "")
    trajectory = load_trajectory(tmp_path / "run")
    assert trajectory.meta.status == "error" and "503" in (trajectory.steps[0].error or "")


class FailSafeExecutor(DryRunExecutor):
    def execute(self, action: Action, monitor: Monitor) -> ActionResult:
        raise Aborted("pyautogui fail-safe: pointer in a screen corner")


def test_fail_safe_aborts_cleanly(tmp_path: Path) -> None:
    agent = Agent(
        ScriptedBackend([CLICK]),
        Qwen25VLComputerUse(),
        FailSafeExecutor(),
        ImageScreen(desktop()),
        out=tmp_path / "run",
    )
    result = agent.run("x")
    assert result.status == "aborted"
    assert load_trajectory(tmp_path / "run").meta.status == "aborted"


def test_an_existing_trajectory_is_not_overwritten(tmp_path: Path) -> None:
    make_agent([DONE], tmp_path / "run")[0].run("x")
    with pytest.raises(Exception, match="already holds a trajectory"):
        make_agent([DONE], tmp_path / "run")[0].run("x")


KILLED_RUN = textwrap.dedent(
    """
    import sys, time
    from PIL import Image
    from actions.executor import DryRunExecutor
    from agent.loop import Agent
    from agent.models.scripted import ScriptedBackend
    from agent.screen.capture import ImageScreen
    from agent.styles.qwen25vl import Qwen25VLComputerUse
    CLICK = sys.argv[2]
    def slow(messages, frame):
        time.sleep(0.02)
        return CLICK
    image = Image.effect_noise((1920, 1080), 64).convert("RGB")  # slow to compress
    Agent(ScriptedBackend(slow), Qwen25VLComputerUse(), DryRunExecutor(), ImageScreen(image),
          out=sys.argv[1], max_steps=10_000, loop_limit=0).run("x")
    """
)


def test_a_killed_run_loses_no_completed_step(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(out), CLICK], env=env)
    steps = out / "steps.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if steps.exists() and steps.read_bytes().count(b"\n") >= 8:  # 2 lines per step
            break
        assert proc.poll() is None, "the run ended on its own"
        time.sleep(0.005)
    else:
        pytest.fail("the run wrote no steps in time")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    trajectory = load_trajectory(out)
    assert trajectory.meta.status is None  # never closed
    assert len(trajectory.steps) >= 4
    for i, step in enumerate(trajectory.steps):
        assert step.index == i
        data = trajectory.screenshot_path(step).read_bytes()
        assert hashlib.sha256(data).hexdigest() == step.screenshot_sha256


def test_clamp_moves_points_off_the_image_to_its_edge(tmp_path: Path) -> None:
    off = call({"action": "left_click", "coordinate": [5000, -20]})
    executor = DryRunExecutor()
    backend = ScriptedBackend([off, DONE], max_pixels=1280 * 28 * 28)
    agent = Agent(backend, Qwen25VLComputerUse(), executor, ImageScreen(desktop()), clamp=True)
    result = agent.run("x")
    assert (result.status, result.steps) == ("done", 2)
    # (1919, 0) is the top-right corner, where pyautogui's fail-safe fires: one unit inside
    assert executor.calls[0][0] == Click(point=Point.screen(1918, 1))
