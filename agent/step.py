"""What a step is made of, and what a run gives back.

:class:`StepState` is everything one step of the loop gathers, phase by phase, and turns into
its :class:`~agent.trajectory.StepRecord`; :class:`Step` is what the loop yields per step,
:class:`RunResult` what a whole run returns; :class:`Session` is the trajectory several runs
record into (the calls of a script). :mod:`agent.loop` sequences the phases over these.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from actions.executor import ActionResult
from actions.schema import Action, points_of
from agent.decision import Decision
from agent.geometry import ModelFrame
from agent.screen.capture import Screenshot
from agent.trajectory import (
    FrameRecord,
    MonitorRecord,
    PromptTurn,
    RunStatus,
    ScreenshotFile,
    StepRecord,
    TrajectoryRecorder,
)

__all__ = ["RunResult", "Session", "Step", "StepState", "library_versions"]

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


def _describe(actions: Sequence[Action]) -> str:
    parts = []
    for action in actions:
        points = " ".join(f"({p.x:g},{p.y:g})" for p in points_of(action))
        parts.append(f"{action.action} {points}".strip())
    return ", ".join(parts) or "-"


@dataclass(frozen=True)
class Step:
    """One step and what came of it. ``status`` is set on the last step of a run."""

    record: StepRecord
    status: RunStatus | None = None
    message: str | None = None

    def line(self) -> str:
        """The step in one progress line: the parsed and executed actions, how it went (a
        refusal the model is told about, or the error that ended the run), the model's time."""
        r = self.record
        ended = self.status in ("error", "aborted", "budget") or (
            self.status == "failed" and (r.error or "").startswith("LoopDetected")
        )
        outcome = "ok" if not r.error else f"{'error' if ended else 'refused'}: {r.error}"
        line = (
            f"step {r.index + 1}: {_describe(r.parsed)} -> screen {_describe(r.executed)}"
            f" | {outcome} | model {r.timings.get('model', 0.0):.2f}s"
        )
        return line + (f" | {self.status}" if self.status else "")


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


@dataclass
class StepState:
    """Everything one step gathers, phase by phase."""

    index: int
    timings: dict[str, float] = field(default_factory=dict)
    shot: Screenshot | None = None
    frame: ModelFrame | None = None
    screenshot: ScreenshotFile | None = None
    unchanged: Future[bool] | None = None
    """whether this capture shows what the previous step's showed (computed in the background)"""
    decision: Decision | None = None
    executed: list[Action] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    results: list[ActionResult] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    error: str | None = None
    status: RunStatus | None = None
    message: str | None = None
    decided: bool = False
    """the decision line is on disk"""

    def end(self, status: RunStatus, message: str, error: str | None = None) -> None:
        self.status, self.message = status, message
        self.error = error if error is not None else message

    def record(self) -> StepRecord:
        d = self.decision
        return StepRecord(
            index=self.index,
            timings=dict(self.timings),
            screenshot=self.screenshot.name if self.screenshot else None,
            frame=FrameRecord.of(frame) if (frame := d.frame if d else self.frame) else None,
            monitor=MonitorRecord.of(self.shot.monitor) if self.shot else None,
            prompt=_prompt_record(d) if d else [],
            raw_output=d.raw_output if d else "",
            source=d.source if d else "model",
            parsed=d.actions if d else [],
            executed=self.executed,
            verdicts=self.verdicts,
            results=self.results,
            error=self.error,
            released=self.released,
            prompt_tokens=d.prompt_tokens if d else None,
            completion_tokens=d.completion_tokens if d else None,
            targets=d.targets if d else [],
            replay=d.replay if d else None,
        )


@dataclass
class Session:
    """One trajectory that several runs record into (the calls of a script): the recorder, the
    next step index and the budget counters, shared by every run that is given it."""

    recorder: TrajectoryRecorder | None
    started: float = field(default_factory=time.monotonic)
    next_index: int = 0
    model_calls: int = 0
    tokens: int = 0

    def close(self, status: RunStatus, message: str | None = None) -> None:
        if self.recorder is not None:
            self.recorder.close(status, message)


def _prompt_record(decision: Decision) -> list[PromptTurn]:
    """The prompt as sent; each image is named by the screenshot file it was captured as."""
    turns = []
    for m in decision.messages:
        content: list[str | dict[str, str]] = [
            part if isinstance(part, str) else {"image": str(part.info.get("screenshot", ""))}
            for part in m.content
        ]
        turns.append(PromptTurn(role=m.role, content=content))
    return turns
