"""A person's recording written as a task file (agent/runs/task_writer.py), and the schema-5
lines it is read from (the "after" line, targets' offsets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from actions.executor import ActionResult
from actions.schema import Action, Click, Drag, KeyPress, Scroll, TypeText
from agent.errors import ConfigurationError
from agent.geometry import ModelFrame, Monitor, Point
from agent.runs.task_writer import task_steps, write_task
from agent.scripts.task_file import load_task
from agent.secrets import Secrets
from agent.trajectory import (
    FrameRecord,
    MonitorRecord,
    StepRecord,
    TargetRecord,
    TrajectoryMeta,
    TrajectoryRecorder,
    load_trajectory,
    now_iso,
)

MONITOR = Monitor(1, 0, 0, 320, 200)


def record(out: Path, steps: list[tuple[list[Action], list[str | None]]]) -> Path:
    meta = TrajectoryMeta(
        instruction="fill in the form", model="ocr", backend="person", style="none",
        min_pixels=1, max_pixels=2**31 - 1, monitor=MonitorRecord.of(MONITOR),
        settings={"secrets": []}, versions={}, started_at=now_iso(),
    )  # fmt: skip
    secrets = Secrets()
    recorder = TrajectoryRecorder(out, meta, secrets=secrets)
    image = Image.new("RGB", (320, 200), "white")
    for index, (actions, names) in enumerate(steps):
        if any(isinstance(a, TypeText) and a.text == "{PASSWORD}" for a in actions):
            secrets.add("hunter2", "PASSWORD")
            recorder.note_settings(secrets=secrets.names)
        points = [p for a in actions for p in ([a.start, a.end] if isinstance(a, Drag) else
                  [getattr(a, "point", None)]) if p is not None]  # fmt: skip
        targets = [
            TargetRecord(verb="click", description=name, pixel=p.xy(), located_by="ocr",
                         box=(0, 0, 10, 10) if name else None, offset=(1.0, -2.0))
            for p, name in zip(points, names, strict=True)
        ]  # fmt: skip
        shot = recorder.screenshot(index, image)
        step = StepRecord(
            index=index, timings={"pause": 0.5}, screenshot=shot.name, source="person",
            frame=FrameRecord.of(ModelFrame.identity(320, 200)),
            monitor=MonitorRecord.of(MONITOR), parsed=actions, executed=actions,
            targets=targets,
        )  # fmt: skip
        recorder.decision(step, shot)
        recorder.result(index, [ActionResult(ok=True, duration_s=0.0)] * len(actions), None, {})
        recorder.after(index, recorder.screenshot(index, image, "_after"))
    recorder.close("done", "recorded")
    return out


def at(x: int, y: int) -> Point:
    return Point.screen(x, y)


def test_steps_become_task_steps_a_click_then_typing_types_into_it(tmp_path: Path) -> None:
    run = record(tmp_path / "R", [
        ([Click(point=at(50, 40))], ["Display name"]),
        ([TypeText(text="Ada")], []),
        ([Click(point=at(60, 90), count=3)], ["Email"]),
        ([Click(point=at(200, 150))], [None]),
        ([KeyPress(keys=("ctrl", "s"))], []),
        ([Click(point=at(50, 120))], ["Password"]),
        ([TypeText(text="{PASSWORD}")], []),
        ([Drag(start=at(10, 10), end=at(100, 100))], ["File", "Trash"]),
        ([Scroll(point=at(150, 100), direction="down", amount=4)], ["List"]),
        ([KeyPress(keys=("backspace",)), KeyPress(keys=("backspace",)), TypeText(text="x")],
         []),
    ])  # fmt: skip
    trajectory = load_trajectory(run)
    assert trajectory.meta.schema_version == 5
    first = trajectory.steps[0]
    assert first.after_screenshot == "step_0000_after.png" and first.after_screenshot_sha256
    assert first.targets[0].offset == (1.0, -2.0)
    steps = [line.step for line in task_steps(trajectory)]
    assert steps == [
        {"type": {"text": "Ada", "into": "Display name"}},
        None,  # a triple click: no task verb
        None,  # a click no text names
        {"press": "ctrl+s"},
        {"type": {"text": "${env:PASSWORD}", "into": "Password"}},
        {"drag": {"from": "File", "to": "Trash"}},
        {"scroll": {"direction": "down", "amount": 4, "at": "List"}},
        {"press": "backspace"},
        {"press": "backspace"},
        {"type": "x"},
    ]
    path = write_task(trajectory, tmp_path / "form.yaml", check=load_task)
    text = path.read_text()
    assert "hunter2" not in text and "# step 2: left click x3" in text
    task = load_task(path)
    assert task.name == "form" and [s.verb for s in task.script()] == [
        "type", "press", "type", "drag", "scroll", "press", "press", "type",
    ]  # fmt: skip
    assert task.script()[2].spec.text == "${env:PASSWORD}"  # type: ignore[union-attr]


def test_a_recording_with_nothing_a_task_can_say_is_refused(tmp_path: Path) -> None:
    run = record(tmp_path / "R", [([Click(point=at(200, 150))], [None])])
    with pytest.raises(ConfigurationError):
        write_task(load_trajectory(run), tmp_path / "t.yaml", check=load_task)
    assert not (tmp_path / "t.yaml").exists()
