"""Every failure inside a step ends the run with its status in meta.json, the step recorded;
secrets never reach the disk; the trajectory format's two lines per step."""

from __future__ import annotations

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
from PIL import Image

from actions.executor import DryRunExecutor
from actions.schema import Terminate, TypeText
from agent.chat import Message
from agent.errors import CaptureError, ConfigurationError, RecordingError
from agent.geometry import ModelFrame, Monitor
from agent.loop import Agent
from agent.models.scripted import ScriptedBackend
from agent.screen.capture import ImageScreen, Screenshot
from agent.secrets import Secrets
from agent.styles.qwen25vl import Qwen25VLComputerUse
from agent.trajectory import load_trajectory

ROOT = Path(__file__).resolve().parents[2]


def call(args: dict[str, object]) -> str:
    return f"<tool_call>\n{json.dumps({'name': 'computer_use', 'arguments': args})}\n</tool_call>"


CLICK = call({"action": "left_click", "coordinate": [658, 364]})
DONE = call({"action": "terminate", "status": "success"})


class FailingScreen(ImageScreen):
    """Captures fine ``good`` times, then raises ``error``."""

    def __init__(self, error: BaseException, good: int = 1) -> None:
        super().__init__(Image.new("RGB", (1920, 1080), (10, 20, 30)))
        self.error, self.good = error, good

    def capture(self) -> Screenshot:
        if self.good <= 0:
            raise self.error
        self.good -= 1
        return super().capture()


def agent_on(screen: ImageScreen, out: Path, answers: Sequence[str] = (CLICK, DONE)) -> Agent:
    backend = ScriptedBackend(answers, max_pixels=1280 * 28 * 28)
    return Agent(backend, Qwen25VLComputerUse(), DryRunExecutor(), screen, out=out)


@pytest.mark.parametrize(
    "error,status,text",
    [
        (CaptureError("cannot capture monitor 1: ScreenShotError: XGetImage failed"), "error",
         "CaptureError: cannot capture"),
        (KeyboardInterrupt(), "aborted", "interrupted (Ctrl-C)"),
    ],
    ids=["capture-failure", "ctrl-c-during-capture"],
)
def test_a_failing_capture_ends_the_run_with_its_status(
    tmp_path: Path, error: BaseException, status: str, text: str
) -> None:
    result = agent_on(FailingScreen(error), tmp_path / "run").run("x")
    assert result.status == status and result.steps == 2
    trajectory = load_trajectory(tmp_path / "run")
    assert trajectory.meta.status == status and text in (trajectory.meta.message or "")
    failed = trajectory.steps[1]
    assert failed.screenshot is None and text in (failed.error or "")
    assert not failed.interrupted and trajectory.steps[0].results[0].ok


def test_a_frame_that_cannot_be_computed_ends_the_run_as_error(tmp_path: Path) -> None:
    sliver = ImageScreen(Image.new("RGB", (4000, 10)))  # aspect ratio 400: smart_resize refuses
    result = agent_on(sliver, tmp_path / "run").run("x")
    assert result.status == "error" and "aspect ratio" in (result.message or "")
    meta = load_trajectory(tmp_path / "run").meta
    assert meta.status == "error" and "ConfigurationError" in (meta.message or "")


def test_an_unexpected_exception_is_recorded_then_raised(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError):
        agent_on(FailingScreen(ZeroDivisionError("bug")), tmp_path / "run").run("x")
    trajectory = load_trajectory(tmp_path / "run")
    assert trajectory.meta.status == "error" and "ZeroDivisionError: bug" in (
        trajectory.meta.message or ""
    )
    assert trajectory.steps[1].error == "ZeroDivisionError: bug"


def test_an_unwritable_output_directory_fails_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    executor = DryRunExecutor()
    backend = ScriptedBackend([CLICK, DONE])
    agent = Agent(
        backend, Qwen25VLComputerUse(), executor, ImageScreen(Image.new("RGB", (800, 600))),
        out=tmp_path / "file" / "run",
    )
    with pytest.raises(RecordingError, match="cannot record the run in .*file/run"):
        agent.run("x")
    assert backend.calls == [] and executor.calls == []


FULL_DISK_RUN = textwrap.dedent(
    """
    import resource, signal, sys
    from PIL import Image
    from actions.executor import DryRunExecutor
    from agent.loop import Agent
    from agent.models.scripted import ScriptedBackend
    from agent.screen.capture import ImageScreen
    from agent.styles.qwen25vl import Qwen25VLComputerUse
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    executor = DryRunExecutor()
    image = Image.effect_noise((1920, 1080), 64).convert("RGB")  # a PNG of megabytes
    agent = Agent(ScriptedBackend([sys.argv[2]] * 3), Qwen25VLComputerUse(), executor,
                  ImageScreen(image), out=sys.argv[1])
    result = agent.run("x")
    print(result.status, len(executor.calls))
    """
)


def test_a_full_disk_fails_the_run_before_any_action(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK_RUN, str(out), CLICK],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["error", "0"]  # nothing was executed
    trajectory = load_trajectory(out)
    message = trajectory.meta.message or ""
    assert trajectory.meta.status == "error"
    assert "RecordingError: cannot write screenshot step_0000.png" in message
    assert "File too large" in message
    (step,) = trajectory.steps
    assert step.results == [] and step.screenshot is None  # names no file that is not there


def test_a_step_whose_result_is_missing_loads_as_interrupted(tmp_path: Path) -> None:
    agent_on(ImageScreen(Image.new("RGB", (1920, 1080))), tmp_path / "run").run("x")
    lines = (tmp_path / "run" / "steps.jsonl").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == [
        "decision", "result", "decision", "result"
    ]
    (tmp_path / "run" / "steps.jsonl").write_text("\n".join(lines[:3]) + "\n")  # killed
    steps = load_trajectory(tmp_path / "run").steps
    assert [s.interrupted for s in steps] == [False, True]
    assert steps[1].executed == [Terminate(status="success")] and steps[1].results == []


def test_version_1_trajectories_still_load(tmp_path: Path) -> None:
    agent_on(ImageScreen(Image.new("RGB", (1920, 1080))), tmp_path / "run").run("x")
    steps = load_trajectory(tmp_path / "run").steps
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    (tmp_path / "run" / "meta.json").write_text(json.dumps({**meta, "schema_version": 1}))
    v1 = [
        s.model_dump_json(exclude={"source", "verdicts", "released", "interrupted"}) for s in steps
    ]
    (tmp_path / "run" / "steps.jsonl").write_text("\n".join(v1) + "\n")
    assert load_trajectory(tmp_path / "run").steps == steps


def test_secrets_are_typed_but_never_recorded(tmp_path: Path) -> None:
    secret = "hunter2-\u00e9\"quoted\""

    def answer(messages: Sequence[Message], frame: ModelFrame) -> str:
        if len(backend.calls) == 1:
            assert secret not in str(messages) and "{PASSWORD}" in messages[-1].text
            return call({"action": "type", "text": "{PASSWORD}"})
        # a model that echoes the value anyway (it never saw it; a user's instruction might)
        return call({"action": "terminate", "status": "success"}) + f" the password is {secret}"

    backend = ScriptedBackend(answer, max_pixels=1280 * 28 * 28)
    executor = DryRunExecutor()
    agent = Agent(
        backend, Qwen25VLComputerUse(), executor, ImageScreen(Image.new("RGB", (1920, 1080))),
        out=tmp_path / "run", secrets={"PASSWORD": secret},
    )
    result = agent.run(f"Log in; the old password was {secret}")
    assert result.status == "done"
    assert executor.calls[0][0] == TypeText(text=secret)  # typed for real
    for path in (tmp_path / "run").iterdir():
        data = path.read_bytes()
        for form in (secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)):
            assert form.encode() not in data, path.name
    trajectory = load_trajectory(tmp_path / "run")
    assert trajectory.steps[0].executed == [TypeText(text="{PASSWORD}")]
    assert "{PASSWORD}" in trajectory.meta.instruction
    assert trajectory.meta.settings["secrets"] == ["PASSWORD"]
    assert repr(Secrets({"A": "value"})) == "Secrets(['A'])"
    with pytest.raises(ConfigurationError):
        Secrets({"not a name": "x"})


SIGTERM_RUN = textwrap.dedent(
    """
    import sys, time
    from PIL import Image
    from actions.executor import DryRunExecutor
    from agent.loop import Agent
    from agent.models.scripted import ScriptedBackend
    from agent.screen.capture import ImageScreen
    from agent.styles.qwen25vl import Qwen25VLComputerUse
    def slow(messages, frame):
        time.sleep(0.05)
        return sys.argv[2]
    image = Image.new("RGB", (1920, 1080))
    result = Agent(ScriptedBackend(slow), Qwen25VLComputerUse(), DryRunExecutor(),
                   ImageScreen(image), out=sys.argv[1], max_steps=10_000, loop_limit=0).run("x")
    print("returned", result.status)
    """
)


def test_sigterm_aborts_with_a_complete_trajectory(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_RUN, str(out), CLICK], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while not (out / "steps.jsonl").exists() or (out / "steps.jsonl").stat().st_size < 2000:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert stdout.strip() == "returned aborted", stderr
    trajectory = load_trajectory(out)
    assert trajectory.meta.status == "aborted"
    assert trajectory.meta.message == "terminated (SIGTERM)"
    assert not trajectory.truncated and not any(s.interrupted for s in trajectory.steps)
    assert trajectory.steps[-1].error == "Aborted: terminated (SIGTERM)"


def test_the_stop_file_stops_before_the_next_action(tmp_path: Path) -> None:
    stop = tmp_path / "STOP"
    calls = 0

    def answer(messages: Sequence[Message], frame: ModelFrame) -> str:
        nonlocal calls
        calls += 1
        if calls == 2:
            stop.touch()
        return call({"action": "left_click", "coordinate": [100 + calls, 364]})

    executor = DryRunExecutor()
    agent = Agent(
        ScriptedBackend(answer, max_pixels=1280 * 28 * 28), Qwen25VLComputerUse(), executor,
        ImageScreen(Image.new("RGB", (1920, 1080))), out=tmp_path / "run", stop_file=stop,
    )
    result = agent.run("x")
    assert (result.status, len(executor.calls)) == ("aborted", 1)
    assert result.message == f"stop file {stop} found"
    assert load_trajectory(tmp_path / "run").meta.status == "aborted"


def test_monitor_record_is_what_the_capture_measured(tmp_path: Path) -> None:
    screen = ImageScreen(Image.new("RGB", (2880, 1800)), scale=2.0)
    agent_on(screen, tmp_path / "run").run("x")
    meta = load_trajectory(tmp_path / "run").meta
    assert meta.monitor.monitor() == Monitor(1, 0, 0, 1440, 900, 2.0, True)
