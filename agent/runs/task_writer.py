"""A person's recording as a task file: the steps in words a person reads and edits.

:func:`task_steps` turns the carried-out steps of a recording (``source: person``) into task
steps (:mod:`agent.scripts.task_file`) by their targets' descriptions: ``click: Save``,
``double_click``, ``right_click``, ``drag: {from: A, to: B}``, ``scroll: {direction, amount,
at}``, ``press: ctrl+s`` and ``type``: a click followed at once by typing becomes ``type:
{text: ..., into: Field}`` (the task clicks the field, then types), typing alone ``type: text``.
A secret typed in a secret span is ``${env:NAME}``: the task takes it from the environment, and
its characters are in no file. What a task file cannot say is written as a comment naming the
recorded step (a click that no text names, a triple or middle click), so nothing is dropped
silently. :func:`write_task` writes the file (``launch`` when the recording launched its app;
an empty ``check`` to fill in) atomically.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actions.schema import Action, Click, Drag, KeyPress, Scroll, TypeText, points_of
from agent.errors import ConfigurationError
from agent.runs.recording import replayable
from agent.trajectory import StepRecord, TargetRecord, Trajectory

__all__ = ["TaskLine", "task_steps", "task_text", "write_task"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CLICK_VERBS = {("left", 1): "click", ("left", 2): "double_click", ("right", 1): "right_click"}


@dataclass(frozen=True)
class TaskLine:
    """One task step (``step``: a mapping with one verb), or a comment where none fits."""

    step: dict[str, Any] | None
    comment: str
    """the recorded step it comes from, and why a comment when ``step`` is None"""


def _describe(targets: list[TargetRecord], i: int) -> str | None:
    return targets[i].description if i < len(targets) else None


def _typed(text: str, secrets: Sequence[str]) -> str:
    """Typed text for a task file: a secret's placeholder as ``${env:NAME}``."""
    return _PLACEHOLDER.sub(lambda m: f"${{env:{m[1]}}}" if m[1] in secrets else m[0], text)


def _action_line(
    step: StepRecord, action: Action, targets: list[TargetRecord], secrets: Sequence[str]
) -> TaskLine:
    where = f"step {step.index}"
    if isinstance(action, TypeText):
        return TaskLine({"type": _typed(action.text, secrets)}, where)
    if isinstance(action, KeyPress):
        return TaskLine({"press": "+".join(action.keys)}, where)
    if isinstance(action, Click):
        verb = _CLICK_VERBS.get((action.button, action.count))
        name = _describe(targets, 0)
        at = action.point.screen_xy() if action.point else None
        if verb is None:
            return TaskLine(None, f"{where}: {action.button} click x{action.count} at {at} "
                                  f"on {name!r}: no task verb for it")  # fmt: skip
        if name is None:
            return TaskLine(None, f"{where}: {verb} at {at}: no text names it (give the "
                                  "target in words)")  # fmt: skip
        return TaskLine({verb: name}, where)
    if isinstance(action, Drag):
        start, end = _describe(targets, 0), _describe(targets, 1)
        if start is None or end is None:
            return TaskLine(None, f"{where}: drag {start!r} -> {end!r}: a point no text names")
        return TaskLine({"drag": {"from": start, "to": end}}, where)
    if isinstance(action, Scroll):
        spec: dict[str, Any] = {"direction": action.direction, "amount": action.amount}
        at_name = _describe(targets, 0)
        if at_name is not None:
            spec["at"] = at_name
        return TaskLine({"scroll": spec}, where)
    return TaskLine(None, f"{where}: {action.action}: not written")


def task_steps(trajectory: Trajectory) -> list[TaskLine]:
    """The recording's steps as task steps, in order."""
    secrets = list(trajectory.meta.settings.get("secrets") or [])
    lines: list[TaskLine] = []
    for step in replayable(trajectory):
        targets = list(step.targets)
        for action in step.actions_run():
            count = len(points_of(action))
            line = _action_line(step, action, targets[:count], secrets)
            targets = targets[count:]
            last = lines[-1] if lines else None
            if (
                line.step is not None
                and "type" in line.step
                and last is not None
                and last.step is not None
                and set(last.step) == {"click"}
            ):  # a click, then typing: type into that field
                into = last.step["click"]
                lines[-1] = TaskLine(
                    {"type": {"text": line.step["type"], "into": into}},
                    f"{last.comment}, {line.comment}",
                )
                continue
            lines.append(line)
    return lines


def _scalar(value: Any) -> str:
    import yaml

    dumped: str = yaml.safe_dump(
        value, default_flow_style=True, allow_unicode=True, width=1000, sort_keys=False
    )
    return dumped.strip().removesuffix("...").strip()


def _launch_items(command: Sequence[str]) -> list[str]:
    return ["${python}" if part == sys.executable else part for part in command]


def task_text(trajectory: Trajectory, name: str, launch: Sequence[str] | None = None) -> str:
    """The task file's text: a header, ``launch`` if given, the steps, an empty ``check``."""
    lines = task_steps(trajectory)
    out = [
        f"# Recorded from a person by gui-agent record ({trajectory.directory}).",
        "# Run: gui-agent run --task FILE.yaml --backend ocr   (add checks below)",
        f"name: {_scalar(name)}",
        f"description: {_scalar(trajectory.meta.instruction)}",
    ]
    if launch:
        out.append(f"launch: {_scalar(_launch_items(launch))}")
    out.append("steps:")
    written = 0
    for line in lines:
        if line.step is None:
            out.append(f"  # {line.comment}")
            continue
        ((verb, value),) = line.step.items()
        out.append(f"  - {verb}: {_scalar(value)}   # {line.comment}")
        written += 1
    if not written:
        out.append("  []")
    out += ["check: []   # e.g. - visible: Saved", ""]
    return "\n".join(out)


def write_task(
    trajectory: Trajectory,
    path: Path | str,
    *,
    name: str | None = None,
    launch: Sequence[str] | None = None,
    check: Callable[[Path], object] | None = None,
) -> Path:
    """Write the task file of ``trajectory`` to ``path`` (replaced atomically). ``check``: reads
    the written text back before it replaces ``path`` (the command line passes
    :func:`agent.scripts.task_file.load_task`) and raises if it is not a valid task file."""
    path = Path(path)
    text = task_text(trajectory, name or path.stem, launch)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        if check is not None:
            check(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigurationError(f"cannot write the task file {path}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return path
