"""Trajectories: versioned, append-only records of runs.

A trajectory directory holds::

    meta.json      TrajectoryMeta: schema version, instruction, model, backend, style, frame
                   bounds, monitor, the desktop (kind, size, VNC host and port), library
                   versions, start time; status and end time once over
    steps.jsonl    two lines per step, in order: its decision, then its result (a person's
                   recorded step: a third, "after", naming the screenshot taken after it)
    step_0000.png  the screenshot each step was decided on, lossless

Crash safety: a step's screenshot is encoded and written by a background thread while the model
thinks (temporary name, then renamed, then hashed). Its **decision** line (prompt, raw output,
parsed and executed actions, policy verdicts, the screenshot's name and sha256) is written and
flushed only when that file is complete, and before the first input event of the step; its
**result** line (what each action did, the error, timings) after the actions. A run killed at
any moment therefore never hides an action it took, and every line names only complete files.
:func:`load_trajectory` merges the two lines, flags a step whose result is missing as
``interrupted`` and ignores a cut-off last line (``truncated``). Secrets are replaced by their
placeholder in every line before it is written (:class:`agent.secrets.Secrets`).
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from PIL.Image import Image
from pydantic import BaseModel, ConfigDict, Field

from actions.executor import ActionResult
from actions.schema import Action
from agent.background import background_pool
from agent.errors import ConfigurationError, RecordingError
from agent.geometry import CoordinateSpace, ModelFrame, Monitor, Point, to_model
from agent.screen.png import PngEncoder
from agent.secrets import Secrets

__all__ = [
    "SCHEMA_VERSION",
    "FrameRecord",
    "MonitorRecord",
    "PromptTurn",
    "ReplayRecord",
    "ScreenshotFile",
    "StepRecord",
    "TargetRecord",
    "Trajectory",
    "TrajectoryMeta",
    "TrajectoryRecorder",
    "load_trajectory",
    "now_iso",
]

SCHEMA_VERSION = 5
RunStatus = Literal["done", "failed", "max_steps", "budget", "aborted", "error"]
Source = Literal["model", "cache", "replay", "script", "person"]


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
    desktop: dict[str, Any] | None = Field(
        default=None,
        description="the desktop the run drove (DesktopConnection.record(): kind, name, size; "
        "host and port of a VNC one), never a password; None: not recorded (schema < 4, or a "
        "screen and an executor given without a desktop)",
    )


class TargetRecord(_Record):
    """What a script step looked for and where its point came from."""

    verb: str = Field(description="the script call: click, type, wait_for, query, check, ...")
    description: str | None = Field(default=None, description="the target as the script says")
    key: str | None = Field(default=None, description="cache key: the target, variables by name")
    occurrence: int | None = Field(default=None, description="uses of the key before this one")
    located_by: str | None = Field(
        default=None, description='"cache", or the grounder that found it ("model:NAME", "ocr")'
    )
    cache: str | None = Field(
        default=None, description='"hit", "miss: REASON", "off", or None when not cacheable'
    )
    pixel: tuple[float, float] | None = Field(
        default=None, description="where the target is, in capture pixels"
    )
    box: tuple[int, int, int, int] | None = Field(
        default=None, description="the target's box in capture pixels, when known"
    )
    label_box: tuple[int, int, int, int] | None = Field(
        default=None,
        description="the label's box in capture pixels, where ``box`` is the form control found "
        "beside it (an input field, a checkbox)",
    )
    score: float | None = Field(default=None, description="the cache's match score")
    offset: tuple[float, float] | None = Field(
        default=None,
        description="where the point lay from the centre of ``box`` (capture pixels): a "
        "person's click beside the text that names it (schema 5)",
    )
    model_point: Point | None = Field(
        default=None, description="the grounder's answer, in its own coordinate space"
    )
    frame: FrameRecord | None = Field(default=None, description="the frame of model_point")
    outcome: str | None = Field(
        default=None, description="what a check, wait or query concluded, in words"
    )


ReplayMode = Literal["exact", "scaled", "reground"]
ReplayVerdict = Literal["replayed", "matched", "re-grounded", "diverged"]


class ReplayRecord(_Record):
    """A replayed step: the recorded step it repeats and what the replay concluded."""

    recording: str = Field(description="the recorded run's directory")
    step: int = Field(description="index of the recorded step")
    mode: ReplayMode
    verdict: ReplayVerdict = Field(
        description="replayed: acted as recorded (exact/scaled); matched: the live screen showed "
        "the recorded target; re-grounded: the model was asked again; diverged: stopped unacted"
    )
    score: float | None = Field(default=None, description="the lowest patch-match score")
    detail: str = Field(default="", description="what was compared and found, in words")


class StepRecord(_Record):
    index: int
    timings: dict[str, float] = Field(description="seconds per phase")
    screenshot: str | None = Field(default=None, description="file name; None: capture failed")
    screenshot_sha256: str = ""
    after_screenshot: str | None = Field(
        default=None, description="a person's recorded step: the screen after it (schema 5)"
    )
    after_screenshot_sha256: str = ""
    frame: FrameRecord | None = None
    monitor: MonitorRecord | None = None
    prompt: list[PromptTurn] = Field(default_factory=list)
    raw_output: str = ""
    source: Source = Field(default="model", description="where the actions came from")
    parsed: list[Action] = Field(
        default_factory=list, description="actions in the model's coordinate space"
    )
    executed: list[Action] = Field(
        default_factory=list,
        description="actions in screen coordinates, exactly as handed to the executor",
    )
    verdicts: list[str] = Field(
        default_factory=list, description="what the safety policy decided, besides refusals"
    )
    results: list[ActionResult] = Field(default_factory=list)
    error: str | None = None
    released: list[str] = Field(
        default_factory=list, description="buttons and keys found held and released"
    )
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    targets: list[TargetRecord] = Field(
        default_factory=list, description="script steps: what was looked for, and where found"
    )
    replay: ReplayRecord | None = Field(
        default=None, description="a replayed step: which recorded step, and the verdict"
    )
    interrupted: bool = Field(
        default=False,
        description="the decision was recorded but not its result: the process died while "
        "acting, so any of ``executed`` may have reached the desktop",
    )

    def actions_run(self) -> list[Action]:
        """The executed actions that ran, in order, when the step was **carried out** (the one
        rule replay and export share): no error, not interrupted, a result for at least one
        action and every result ok. Only actions with a result ran (a Terminate ends a step, so
        actions after it have none). Empty for a step that was not carried out."""
        if self.error is not None or self.interrupted or not self.results:
            return []
        if len(self.results) > len(self.executed) or not all(r.ok for r in self.results):
            return []
        return self.executed[: len(self.results)]

    def capture_pixel(self, point: Point) -> tuple[float, float]:
        """Where the screen ``point`` lay on this step's capture, in its pixels: the one
        conversion (:func:`~agent.geometry.to_model` into the capture itself)."""
        if self.frame is None or self.monitor is None:
            raise ConfigurationError(f"step {self.index} recorded no frame or monitor")
        capture = ModelFrame.identity(self.frame.source_width, self.frame.source_height)
        return to_model(point, capture, self.monitor.monitor(), CoordinateSpace.RESIZED).xy()


class _Result(_Record):
    """The second line of a step: what came of its decision."""

    event: Literal["result"] = "result"
    index: int
    results: list[ActionResult]
    error: str | None = None
    released: list[str] = Field(default_factory=list)
    timings: dict[str, float]


class _After(_Record):
    """A person's recorded step's third line: the screenshot taken after it."""

    event: Literal["after"] = "after"
    index: int
    after_screenshot: str
    after_screenshot_sha256: str


class Trajectory(_Record):
    directory: Path
    meta: TrajectoryMeta
    steps: list[StepRecord]
    truncated: bool = Field(description="the last line of steps.jsonl was cut off and ignored")

    def screenshot_path(self, step: StepRecord) -> Path:
        if step.screenshot is None:
            raise ConfigurationError(f"step {step.index} has no screenshot (its capture failed)")
        return self.directory / step.screenshot


@dataclass(frozen=True)
class ScreenshotFile:
    """A screenshot being written in the background: its file name and the pending write."""

    name: str
    pending: Future[str]
    """resolves to the file's sha256 once the file is complete"""

    def wait(self) -> str:
        try:
            return self.pending.result()
        except OSError as exc:
            raise RecordingError(f"cannot write screenshot {self.name}: {exc}") from exc


class TrajectoryRecorder:
    """Writes one trajectory directory; fails with :class:`RecordingError` (before any action)
    when the directory cannot be written. Call :meth:`close` at the end."""

    def __init__(
        self,
        directory: Path,
        meta: TrajectoryMeta,
        *,
        png_level: int = 1,
        secrets: Secrets | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.secrets = secrets if secrets is not None else Secrets()  # an empty one may grow
        self.meta = meta
        self._png = PngEncoder(png_level)  # used by the writer thread only
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if (self.directory / "steps.jsonl").exists():
                raise ConfigurationError(f"{self.directory} already holds a trajectory")
            self._write_meta()
            self._steps = (self.directory / "steps.jsonl").open("x", encoding="utf-8")
        except OSError as exc:
            raise RecordingError(f"cannot record the run in {self.directory}: {exc}") from exc
        self._writer = background_pool("trajectory-writer")
        self.written = 0

    @staticmethod
    def screenshot_name(index: int, suffix: str = "") -> str:
        return f"step_{index:04d}{suffix}.png"

    def _write_meta(self) -> None:
        tmp = self.directory / "meta.json.tmp"
        data = self.secrets.redact_data(self.meta.model_dump(mode="json"))
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.directory / "meta.json")

    def screenshot(self, index: int, image: Image, suffix: str = "") -> ScreenshotFile:
        """Start writing step ``index``'s screenshot in the background (while the model thinks);
        ``suffix``: another screenshot of the step (``_after``)."""
        name = self.screenshot_name(index, suffix)
        return ScreenshotFile(name, self._writer.submit(self._write_png, name, image))

    def _write_png(self, name: str, image: Image) -> str:
        final = self.directory / name
        tmp = final.with_suffix(".png.tmp")
        data = self._png.encode(image)
        tmp.write_bytes(data)
        os.replace(tmp, final)
        return hashlib.sha256(data).hexdigest()

    def _line(self, record: BaseModel, **extra: Any) -> None:
        data = self.secrets.redact_data({**extra, **record.model_dump(mode="json")})
        try:
            self._steps.write(json.dumps(data, ensure_ascii=False) + "\n")
            self._steps.flush()
        except OSError as exc:
            raise RecordingError(f"cannot write {self.directory / 'steps.jsonl'}: {exc}") from exc

    def decision(self, step: StepRecord, screenshot: ScreenshotFile | None) -> None:
        """Write a step's decision once its screenshot file is complete. Call it before the
        step's first input event; raises RecordingError if anything could not be written."""
        if screenshot is not None:
            step = step.model_copy(update={"screenshot_sha256": screenshot.wait()})
        self._line(step, event="decision")

    def result(
        self,
        index: int,
        results: list[ActionResult],
        error: str | None,
        timings: dict[str, float],
        released: list[str] | None = None,
    ) -> None:
        """Write what came of step ``index``'s decision."""
        self._line(
            _Result(
                index=index,
                results=results,
                error=error,
                released=released or [],
                timings=timings,
            )
        )
        self.written += 1

    def note_settings(self, **settings: Any) -> None:
        """Add ``settings`` to the meta now (meta.json is replaced atomically): what a run
        learns while it runs and a replay needs even if the run is killed (secret names)."""
        merged = {**self.meta.settings, **settings}
        self.meta = self.meta.model_copy(update={"settings": merged})
        try:
            self._write_meta()
        except OSError as exc:
            raise RecordingError(f"cannot write {self.directory / 'meta.json'}: {exc}") from exc

    def after(self, index: int, screenshot: ScreenshotFile) -> None:
        """Name the screenshot taken after step ``index`` (a person's recorded step), once its
        file is complete: a line of its own, so the step itself is on disk before it."""
        sha256 = screenshot.wait()
        self._line(
            _After(index=index, after_screenshot=screenshot.name, after_screenshot_sha256=sha256)
        )

    def close(self, status: RunStatus, message: str | None = None) -> None:
        """Finish pending writes, then write the final status into meta.json."""
        self._writer.shutdown(wait=True)
        self._steps.close()
        settings = self.meta.settings
        if "secrets" in settings:  # secrets a script added while running (names only)
            settings = {**settings, "secrets": self.secrets.names}
        self.meta = self.meta.model_copy(
            update={
                "settings": settings,
                "status": status,
                "message": message,
                "ended_at": now_iso(),
                "steps": self.written,
            }
        )
        try:
            self._write_meta()
        except OSError as exc:
            raise RecordingError(f"cannot write {self.directory / 'meta.json'}: {exc}") from exc


def load_trajectory(directory: Path | str) -> Trajectory:
    """Read a trajectory directory. A cut-off last line (a killed run) is ignored and flagged;
    a step whose result line is missing is returned with ``interrupted`` set."""
    directory = Path(directory)
    meta_path = directory / "meta.json"
    if not meta_path.is_file():
        raise ConfigurationError(f"{directory} is not a trajectory: no meta.json")
    try:
        meta = TrajectoryMeta.model_validate_json(meta_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigurationError(f"{meta_path}: not a valid trajectory meta: {exc}") from exc
    if meta.schema_version > SCHEMA_VERSION:
        raise ConfigurationError(
            f"{directory} has schema version {meta.schema_version}; this version reads up to "
            f"{SCHEMA_VERSION}"
        )
    steps: dict[int, StepRecord] = {}
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
            data = json.loads(line)
            event = data.pop("event", None) if isinstance(data, dict) else None
            if event == "result":
                result = _Result.model_validate(data)
                step = steps[result.index]
                steps[result.index] = step.model_copy(
                    update={
                        "results": result.results,
                        "error": result.error,
                        "released": result.released,
                        "timings": {**step.timings, **result.timings},
                        "interrupted": False,
                    }
                )
            elif event == "after":
                after = _After.model_validate(data)
                steps[after.index] = steps[after.index].model_copy(
                    update={
                        "after_screenshot": after.after_screenshot,
                        "after_screenshot_sha256": after.after_screenshot_sha256,
                    }
                )
            else:  # a decision (schema 2) or a whole step (schema 1)
                record = StepRecord.model_validate(data)
                steps[record.index] = record.model_copy(update={"interrupted": event is not None})
        except (ValueError, KeyError) as exc:
            raise ConfigurationError(f"{steps_path}:{number}: not a valid step: {exc}") from exc
    ordered = [steps[i] for i in sorted(steps)]
    return Trajectory(directory=directory, meta=meta, steps=ordered, truncated=truncated)
