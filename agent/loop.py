"""The agent loop: observe -> decide -> act -> record, one step per model call.

:meth:`Agent.steps` is a generator of :class:`Step`; :meth:`Agent.run` consumes it. Errors the
model caused (unreadable answer, point off the image or the monitor) go back to the model with
the reason, up to ``max_retries`` times in a row; then the run ends as ``failed``. Errors of the
run (backend down, frame mismatch, desktop failure) end it as ``error``, a fail-safe or Ctrl-C
as ``aborted``. In every case the failing step is recorded and the trajectory closed with its
final status; only bugs propagate as exceptions.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from PIL.Image import Image

from actions.executor import ActionResult, Executor, check_action
from actions.schema import Action, Terminate, map_points
from agent.chat import Message
from agent.errors import Aborted, AgentError, ConfigurationError, ModelError
from agent.geometry import to_screen
from agent.models.base import Backend
from agent.screen import CaptureSource
from agent.styles.base import PastStep, Style
from agent.trajectory import (
    FrameRecord,
    MonitorRecord,
    PromptTurn,
    RunStatus,
    StepRecord,
    TrajectoryMeta,
    TrajectoryRecorder,
    now_iso,
)

__all__ = ["Agent", "RunResult", "Step", "library_versions"]

_PACKAGES = (
    "gui-agent",
    "torch",
    "transformers",
    "qwen-vl-utils",
    "pyautogui",
    "mss",
    "pillow",
    "pydantic",
    "openai",
)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@dataclass(frozen=True)
class Step:
    """One model call and what came of it. ``status`` is set on the last step of a run."""

    record: StepRecord
    status: RunStatus | None = None
    message: str | None = None


@dataclass(frozen=True)
class RunResult:
    status: RunStatus
    steps: int
    message: str | None = None
    trajectory: Path | None = None
    history: list[Step] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "done"


class Agent:
    """Drives one monitor with one model.

    ``out``: trajectory directory (None: nothing recorded). ``max_steps``: model calls at most.
    ``max_retries``: refused answers in a row that are fed back before the run fails.
    ``clamp``: move points outside the image to its nearest edge instead of refusing them.
    """

    def __init__(
        self,
        backend: Backend,
        style: Style,
        executor: Executor,
        screen: CaptureSource,
        *,
        out: Path | str | None = None,
        max_steps: int = 15,
        max_retries: int = 2,
        clamp: bool = False,
    ) -> None:
        if max_steps < 1 or max_retries < 0:
            raise ConfigurationError("max_steps must be >= 1 and max_retries >= 0")
        self.backend = backend
        self.style = style
        self.executor = executor
        self.screen = screen
        self.out = Path(out) if out is not None else None
        self.max_steps = max_steps
        self.max_retries = max_retries
        self.clamp = clamp

    def run(self, instruction: str) -> RunResult:
        history = list(self.steps(instruction))
        last = history[-1]
        assert last.status is not None
        return RunResult(last.status, len(history), last.message, self.out, history)

    def steps(self, instruction: str) -> Iterator[Step]:
        recorder = self._recorder(instruction)
        past: list[PastStep] = []
        files: dict[int, str] = {}  # id(image) -> screenshot file, for prompt records
        feedback: str | None = None
        refused = 0
        status: RunStatus | None = None
        message: str | None = None
        try:
            for index in range(self.max_steps):
                record, image, actions, status, message = self._step(
                    index, instruction, past, files, feedback
                )
                if record.error is not None and status is None:
                    refused += 1
                    feedback = record.error
                    if refused > self.max_retries:
                        status = "failed"
                        message = f"{refused} unusable answers in a row; last: {record.error}"
                else:
                    refused, feedback = 0, None
                    keep = getattr(self.style, "history_images", 0) > 0
                    past.append(
                        PastStep(tuple(actions), image if keep else None, record.raw_output)
                    )
                    files[id(image)] = record.screenshot
                    self._forget_old_images(past, files)
                if status is None and index == self.max_steps - 1:
                    status, message = "max_steps", f"no result after {self.max_steps} steps"
                if recorder is not None:
                    recorder.record(record, image)
                yield Step(record, status, message)
                if status is not None:
                    return
        finally:
            if recorder is not None:
                recorder.close(status or "error", message or "the run was interrupted")

    def _recorder(self, instruction: str) -> TrajectoryRecorder | None:
        if self.out is None:
            return None
        meta = TrajectoryMeta(
            instruction=instruction,
            model=self.backend.model,
            backend=type(self.backend).__name__,
            style=self.style.name,
            min_pixels=self.backend.min_pixels,
            max_pixels=self.backend.max_pixels,
            monitor=MonitorRecord.of(self.screen.monitor),
            settings={
                "max_steps": self.max_steps,
                "max_retries": self.max_retries,
                "clamp": self.clamp,
            },
            versions=library_versions(),
            started_at=now_iso(),
        )
        return TrajectoryRecorder(self.out, meta)

    def _forget_old_images(self, past: list[PastStep], files: dict[int, str]) -> None:
        keep = getattr(self.style, "history_images", 0)
        for i, old in enumerate(past[: max(0, len(past) - keep)]):
            if old.image is not None:
                files.pop(id(old.image), None)
                past[i] = replace(old, image=None)

    def _step(
        self,
        index: int,
        instruction: str,
        past: list[PastStep],
        files: dict[int, str],
        feedback: str | None,
    ) -> tuple[StepRecord, Image, list[Action], RunStatus | None, str | None]:
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(phase: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[phase] = now - clock
            clock = now

        # observe
        shot = self.screen.capture()
        monitor = shot.monitor
        lap("capture")
        frame = self.backend.frame_for(shot.image.width, shot.image.height)
        messages = self.style.messages(instruction, frame, shot.image, past, feedback)
        name = TrajectoryRecorder.screenshot_name(index)
        files[id(shot.image)] = name
        lap("preprocess")
        fields: dict[str, Any] = {
            "index": index,
            "timings": timings,
            "screenshot": name,
            "frame": FrameRecord.of(frame),
            "monitor": MonitorRecord.of(monitor),
            "prompt": _prompt_record(messages, files),
            "raw_output": "",
            "parsed": [],
            "executed": [],
            "results": [],
        }
        files.pop(id(shot.image), None)
        status: RunStatus | None = None
        message: str | None = None
        parsed: list[Action] = []
        results: list[ActionResult] = []
        try:
            # decide
            completion = self.backend.complete(messages, frame)
            lap("model")
            fields.update(
                raw_output=completion.text,
                frame=FrameRecord.of(completion.frame),
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
            )
            parsed = self.style.parse(completion.text)
            fields["parsed"] = parsed
            lap("parse")
            executed = [
                map_points(a, lambda p: to_screen(p, completion.frame, monitor, clamp=self.clamp))
                for a in parsed
            ]
            for action in executed:
                check_action(action, monitor)
            fields["executed"] = executed
            lap("convert")
            # act
            for action in executed:
                results.append(self.executor.execute(action, monitor))
                if isinstance(action, Terminate):
                    status = "done" if action.status == "success" else "failed"
                    message = action.message or f"the model ended the task: {action.status}"
                    break
            lap("execute")
        except ModelError as exc:
            fields["error"] = f"{type(exc).__name__}: {exc}"
        except Aborted as exc:
            fields["error"] = f"Aborted: {exc}"
            status, message = "aborted", str(exc)
        except KeyboardInterrupt:
            fields["error"] = "Aborted: interrupted (Ctrl-C)"
            status, message = "aborted", "interrupted (Ctrl-C)"
        except AgentError as exc:
            fields["error"] = f"{type(exc).__name__}: {exc}"
            status, message = "error", f"{type(exc).__name__}: {exc}"
        fields["results"] = results
        record = StepRecord(**fields)
        lap("record")
        record = record.model_copy(update={"timings": timings})
        return record, shot.image, parsed, status, message


def _prompt_record(messages: list[Message], files: dict[int, str]) -> list[PromptTurn]:
    turns = []
    for m in messages:
        content: list[str | dict[str, str]] = [
            part if isinstance(part, str) else {"image": files.get(id(part), "")}
            for part in m.content
        ]
        turns.append(PromptTurn(role=m.role, content=content))
    return turns
