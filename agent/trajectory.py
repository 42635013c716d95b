"""Trajectories: versioned, append-only records of runs, written off the critical path.

A trajectory directory holds::

    meta.json      TrajectoryMeta: schema version, instruction, model, backend, style, frame
                   bounds, monitor, library versions, start time; status and end time once over
    steps.jsonl    one StepRecord per line, in order
    step_0000.png  the screenshot each step was decided on, lossless

:class:`TrajectoryRecorder` hands each step to a background thread, which writes the PNG
(temporary name, then renamed), hashes it, and only then appends the step's line and flushes it.
A run killed at any moment therefore leaves only complete steps behind. :func:`load_trajectory`
reads a directory back into typed objects and ignores a cut-off last line.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import threading
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from PIL.Image import Image
from pydantic import BaseModel, ConfigDict, Field

from actions.executor import ActionResult
from actions.schema import Action
from agent.errors import ConfigurationError, RunError
from agent.geometry import ModelFrame, Monitor

__all__ = [
    "SCHEMA_VERSION",
    "FrameRecord",
    "MonitorRecord",
    "PromptTurn",
    "StepRecord",
    "Trajectory",
    "TrajectoryMeta",
    "TrajectoryRecorder",
    "load_trajectory",
    "now_iso",
]

SCHEMA_VERSION = 1
RunStatus = Literal["done", "failed", "max_steps", "aborted", "error"]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FrameRecord(_Record):
    width: int
    height: int
    source_width: int
    source_height: int
    min_pixels: int
    max_pixels: int
    factor: int

    @classmethod
    def of(cls, frame: ModelFrame) -> FrameRecord:
        return cls(**asdict(frame))

    def frame(self) -> ModelFrame:
        return ModelFrame(**self.model_dump())


class MonitorRecord(_Record):
    index: int
    left: int
    top: int
    width: int
    height: int
    scale: float
    is_primary: bool

    @classmethod
    def of(cls, monitor: Monitor) -> MonitorRecord:
        return cls(**asdict(monitor))

    def monitor(self) -> Monitor:
        return Monitor(**self.model_dump())


class PromptTurn(_Record):
    """One chat turn as sent; images are named by the screenshot file they came from."""

    role: str
    content: list[str | dict[str, str]] = Field(
        description='text parts, and {"image": file name} for each image'
    )


class TrajectoryMeta(_Record):
    schema_version: int = SCHEMA_VERSION
    instruction: str
    model: str
    backend: str
    style: str
    min_pixels: int
    max_pixels: int
    monitor: MonitorRecord
    settings: dict[str, Any]
    versions: dict[str, str]
    started_at: str
    status: RunStatus | None = None
    message: str | None = None
    ended_at: str | None = None
    steps: int | None = None


class StepRecord(_Record):
    index: int
    timings: dict[str, float] = Field(description="seconds per phase")
    screenshot: str
    screenshot_sha256: str = ""
    frame: FrameRecord
    monitor: MonitorRecord
    prompt: list[PromptTurn]
    raw_output: str
    parsed: list[Action] = Field(description="actions in the model's coordinate space")
    executed: list[Action] = Field(description="actions in screen coordinates, as carried out")
    results: list[ActionResult]
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Trajectory(_Record):
    directory: Path
    meta: TrajectoryMeta
    steps: list[StepRecord]
    truncated: bool = Field(description="the last line of steps.jsonl was cut off and ignored")

    def screenshot_path(self, step: StepRecord) -> Path:
        return self.directory / step.screenshot


class TrajectoryRecorder:
    """Writes one trajectory directory. Use as a context manager or call :meth:`close`."""

    def __init__(self, directory: Path, meta: TrajectoryMeta, *, png_level: int = 1) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        if (self.directory / "steps.jsonl").exists():
            raise ConfigurationError(f"{self.directory} already holds a trajectory")
        self.meta = meta
        self._png_level = png_level
        self._write_meta()
        self._steps = (self.directory / "steps.jsonl").open("a", encoding="utf-8")
        self._queue: queue.Queue[tuple[StepRecord, Image] | None] = queue.Queue(maxsize=16)
        self._error: BaseException | None = None
        self.written = 0
        self._thread = threading.Thread(target=self._work, name="trajectory-writer", daemon=True)
        self._thread.start()

    @staticmethod
    def screenshot_name(index: int) -> str:
        return f"step_{index:04d}.png"

    def _write_meta(self) -> None:
        tmp = self.directory / "meta.json.tmp"
        tmp.write_text(self.meta.model_dump_json(indent=2), encoding="utf-8")
        os.replace(tmp, self.directory / "meta.json")

    def record(self, step: StepRecord, screenshot: Image) -> None:
        """Queue a step; its line is written after its screenshot file is complete."""
        if self._error is not None:
            raise RunError(f"trajectory writer failed: {self._error}") from self._error
        self._queue.put((step, screenshot))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            step, image = item
            if self._error is not None:
                continue
            try:
                self._write_step(step, image)
            except BaseException as exc:  # noqa: BLE001 - reported to the loop by record/close
                self._error = exc

    def _write_step(self, step: StepRecord, image: Image) -> None:
        final = self.directory / step.screenshot
        tmp = final.with_suffix(".png.tmp")
        encoded = io.BytesIO()
        image.save(encoded, format="PNG", compress_level=self._png_level)
        data = encoded.getvalue()
        tmp.write_bytes(data)
        os.replace(tmp, final)
        digest = hashlib.sha256(data).hexdigest()
        line = step.model_copy(update={"screenshot_sha256": digest}).model_dump_json()
        self._steps.write(line + "\n")
        self._steps.flush()
        self.written += 1

    def close(self, status: RunStatus, message: str | None = None) -> None:
        """Wait for pending steps, then write the final status into meta.json."""
        self._queue.put(None)
        self._thread.join()
        self._steps.close()
        self.meta = self.meta.model_copy(
            update={
                "status": status,
                "message": message,
                "ended_at": now_iso(),
                "steps": self.written,
            }
        )
        self._write_meta()
        if self._error is not None:
            raise RunError(f"trajectory writer failed: {self._error}") from self._error


def load_trajectory(directory: Path | str) -> Trajectory:
    """Read a trajectory directory. A cut-off last line (a killed run) is ignored and flagged."""
    directory = Path(directory)
    meta_path = directory / "meta.json"
    if not meta_path.is_file():
        raise ConfigurationError(f"{directory} is not a trajectory: no meta.json")
    meta = TrajectoryMeta.model_validate_json(meta_path.read_text(encoding="utf-8"))
    if meta.schema_version > SCHEMA_VERSION:
        raise ConfigurationError(
            f"{directory} has schema version {meta.schema_version}; this version reads up to "
            f"{SCHEMA_VERSION}"
        )
    steps: list[StepRecord] = []
    truncated = False
    steps_path = directory / "steps.jsonl"
    text = steps_path.read_text(encoding="utf-8") if steps_path.exists() else ""
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        if number == len(lines):  # no newline after it: cut off while being written
            truncated = True
            break
        try:
            steps.append(StepRecord.model_validate(json.loads(line)))
        except ValueError as exc:
            raise ConfigurationError(f"{steps_path}:{number}: not a valid step: {exc}") from exc
    return Trajectory(directory=directory, meta=meta, steps=steps, truncated=truncated)
