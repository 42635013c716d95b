"""The evaluation harness: every sample asked once, streamed to disk, resumable, rescorable.

An evaluation directory holds::

    manifest.json   the run's signature (dataset files' sha256, model, backend, style, pixel
                    bounds, prompt and its fingerprint, decoding, language) and the images folder
    results.jsonl   one :class:`~agent.evaluation.records.ResultRecord` per sample, appended and
                    flushed as each answer comes back (a killed run loses at most the line being
                    written; a cut-off last line is dropped on resume)
    summary.json    the metric (:func:`agent.evaluation.metric.summarize`), and summary.md

``resume`` skips the samples that have a scored line and refuses a directory whose manifest
has another signature, before any model is loaded (:func:`open_results`). Infrastructure errors
(the backend failed after its own retries) are retried here with backoff and recorded as
``infra_error`` when they persist: never scored as wrong, asked again on resume. Images are
resized once, by the backend's frame; each record keeps the frame. Throughput: ``batch_size``
samples per ``generate()`` for a local backend (similar sizes batched together), or
``concurrency`` requests in flight spread over one or several backends (HTTP endpoints).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from PIL import Image

from agent.errors import BackendError, ConfigurationError, ModelError, NotFound, OutOfBounds
from agent.evaluation.metric import inside, markdown_table, summarize
from agent.evaluation.prompts import EvalPrompt
from agent.evaluation.records import ResultRecord
from agent.evaluation.samples import Sample
from agent.geometry import ModelFrame
from agent.grounding import Grounder, Located
from agent.models.base import Backend, Completion
from agent.trajectory import FrameRecord, now_iso

__all__ = [
    "Asker",
    "GrounderAsker",
    "ModelAsker",
    "Results",
    "evaluate",
    "manifest_for",
    "open_results",
    "rescore",
]

MANIFEST_SCHEMA = 1


# -- asking -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What came back for one sample: the located point (image pixels) or why there is none."""

    raw: str
    located: Located | None
    frame: ModelFrame | None
    latency_s: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: ModelError | None = None


class Asker(Protocol):
    """Asks about a few samples at once; raises BackendError for an infrastructure failure."""

    name: str

    def ask(self, items: Sequence[tuple[Sample, Image.Image]]) -> list[Answer]: ...


class ModelAsker:
    """A vision-language model with one of :mod:`agent.evaluation.prompts`' prompts; several
    items go through ``complete_batch`` when the backend has it."""

    def __init__(self, backend: Backend, prompt: EvalPrompt) -> None:
        self.backend = backend
        self.prompt = prompt
        self.name = prompt.name

    def ask(self, items: Sequence[tuple[Sample, Image.Image]]) -> list[Answer]:
        requests = []
        for sample, image in items:
            frame = self.backend.frame_for(image.width, image.height)
            requests.append((self.prompt.messages(sample.instruction, frame, image), frame))
        batch = getattr(self.backend, "complete_batch", None)
        if len(requests) > 1 and callable(batch):
            completions: list[Completion] = batch(requests)
        else:
            completions = [self.backend.complete(m, f) for m, f in requests]
        return [self._read(c) for c in completions]

    def _read(self, completion: Completion) -> Answer:
        raw = self.prompt.prefill + completion.text
        common = {
            "raw": raw,
            "frame": completion.frame,
            "latency_s": completion.latency_s,
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
        }
        try:
            location = self.prompt.read(completion.text)
        except ModelError as exc:
            return Answer(located=None, error=exc, **common)  # type: ignore[arg-type]
        located = Located(location.point, completion.frame, location.box)
        return Answer(located=located, **common)  # type: ignore[arg-type]


class GrounderAsker:
    """A grounder that is not a model (the OCR grounder): ``locate`` per item; finding nothing
    is an empty answer."""

    def __init__(self, grounder: Grounder) -> None:
        self.grounder = grounder
        self.name = grounder.model

    def ask(self, items: Sequence[tuple[Sample, Image.Image]]) -> list[Answer]:
        answers = []
        for sample, image in items:
            start = time.perf_counter()
            try:
                located = self.grounder.locate(image, sample.instruction)
            except NotFound as exc:
                answers.append(Answer("", None, None, time.perf_counter() - start, error=exc))
                continue
            answers.append(
                Answer(located.raw_output or (located.text or ""), located, located.frame,
                       time.perf_counter() - start)
            )  # fmt: skip
        return answers


def _record(sample: Sample, prompt: str, answer: Answer) -> ResultRecord:
    point = box = None
    status, error = "wrong", None
    if answer.located is not None:
        try:
            x, y = answer.located.pixel()
            point = (float(x), float(y))
            corners = answer.located.box_pixels(clamp=True)
            box = tuple(float(v) for v in corners) if corners else None
        except OutOfBounds as exc:
            error = f"OutOfBounds: {exc}"
        else:
            status = "correct" if inside(point, sample.box) else "wrong"
    elif not answer.raw.strip():
        status, error = "empty", "no answer" if answer.error is None else _line(answer.error)
    else:
        status, error = "parse_error", _line(answer.error) if answer.error else "unreadable"
    return ResultRecord(
        id=sample.id,
        annotation=sample.annotation.name,
        index=sample.index,
        image=sample.image_rel,
        image_size=sample.image_size,
        instruction=sample.instruction,
        box=sample.box,
        platform=sample.platform,
        ui_type=sample.ui_type,
        group=sample.group,
        application=sample.application,
        source=sample.source,
        prompt=prompt,
        raw=answer.raw,
        point=point,
        answer_box=box,  # type: ignore[arg-type]
        frame=FrameRecord.of(answer.frame) if answer.frame else None,
        status=status,  # type: ignore[arg-type]
        error=error,
        latency_s=answer.latency_s,
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
    )


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def _infra(sample: Sample, prompt: str, exc: BaseException) -> ResultRecord:
    return ResultRecord(
        id=sample.id, annotation=sample.annotation.name, index=sample.index,
        image=sample.image_rel, image_size=sample.image_size, instruction=sample.instruction,
        box=sample.box, platform=sample.platform, ui_type=sample.ui_type, group=sample.group,
        application=sample.application, source=sample.source, prompt=prompt,
        status="infra_error", error=f"{type(exc).__name__}",  # the text may hold a key
    )  # fmt: skip


# -- the results file ---------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_for(
    settings: dict[str, Any], annotations: Sequence[Path], images: Path
) -> dict[str, Any]:
    """The manifest of an evaluation: ``settings`` (model, backend, style, bounds, prompt,
    decoding, ...) and the annotation files' hashes make its signature."""
    files = sorted(Path(a) for a in annotations)
    datasets = {f.name: _sha256(f) for f in files}
    return {
        "schema": MANIFEST_SCHEMA,
        "signature": {**settings, "datasets": datasets},
        "images": str(Path(images).resolve()),
        "annotations": [str(f.resolve()) for f in files],
        "created_at": now_iso(),
    }


class Results:
    """``results.jsonl`` of an evaluation directory: the records so far (the last per sample)
    and an appender that flushes every line."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "results.jsonl"
        self.records: dict[str, ResultRecord] = {}
        self.dropped = 0
        if self.path.exists():
            self._read()
        self._handle: IO[str] | None = None
        self._lock = threading.Lock()

    def _read(self) -> None:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a line cut off by a killed run: drop it
            self.dropped = 1
            with self.path.open("r+b") as handle:
                handle.truncate(end)
        for number, line in enumerate(data[:end].decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = ResultRecord.model_validate_json(line)
            except ValueError as exc:
                raise ConfigurationError(
                    f"{self.path}:{number}: not a result line: {str(exc).splitlines()[0]}"
                ) from exc
            self.records[record.id] = record

    def finished(self) -> set[str]:
        """Samples with an answer (infrastructure errors are asked again)."""
        return {i for i, r in self.records.items() if r.status != "infra_error"}

    def write(self, record: ResultRecord) -> None:
        with self._lock:
            if self._handle is None:
                self._handle = self.path.open("a", encoding="utf-8")
            self._handle.write(record.model_dump_json() + "\n")
            self._handle.flush()
            self.records[record.id] = record

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def open_results(
    directory: Path | str, manifest: dict[str, Any], *, resume: bool = False
) -> Results:
    """The results of ``directory`` for an evaluation with ``manifest``. Refuses (before any
    model is loaded) a directory that holds results unless ``resume``, and a resume whose
    signature differs."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "manifest.json"
    has_results = (directory / "results.jsonl").exists()
    if path.exists() and (resume or has_results):
        old = json.loads(path.read_text(encoding="utf-8"))
        differ = sorted(
            k
            for k in {*old.get("signature", {}), *manifest["signature"]}
            if old.get("signature", {}).get(k) != manifest["signature"].get(k)
        )
        if not resume:
            raise ConfigurationError(
                f"{directory} already holds results: --resume continues them, --rescore "
                "recomputes the summary, or choose another --out"
            )
        if differ:
            shown = ", ".join(
                f"{k}: {old.get('signature', {}).get(k)!r} -> {manifest['signature'].get(k)!r}"
                for k in differ[:4]
            )
            raise ConfigurationError(
                f"{directory} was evaluated with another configuration ({shown}): resume it "
                "with the same options, or choose another --out"
            )
    elif resume and has_results:
        raise ConfigurationError(f"{directory} has results but no manifest.json to resume by")
    if not path.exists() or not resume:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    return Results(directory)


# -- the run ------------------------------------------------------------------------------


class Progress:
    """One status line: done/total, running accuracy, speed and ETA (redrawn on a terminal,
    a line every 10 s or 10% otherwise)."""

    def __init__(self, total: int, done: int, stream: IO[str] | None = None) -> None:
        self.total, self.done, self.start_done = total, done, done
        self.correct = self.scored = 0
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = self.last = time.monotonic()
        self.last_done = done

    def update(self, record: ResultRecord) -> None:
        self.done += 1
        if record.status != "infra_error":
            self.scored += 1
            self.correct += record.status == "correct"
        now = time.monotonic()
        step = max(1, self.total // 10)
        due = self.terminal or now - self.last >= 10 or self.done - self.last_done >= step
        if due or self.done == self.total:
            self.last, self.last_done = now, self.done
            end = "\r" if self.terminal and self.done < self.total else "\n"
            self.stream.write(self.line(now) + end)
            self.stream.flush()

    def line(self, now: float) -> str:
        width = 24
        filled = round(width * self.done / max(1, self.total))
        rate = (self.done - self.start_done) / max(now - self.started, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        accuracy = 100.0 * self.correct / self.scored if self.scored else 0.0
        return (
            f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
            f"acc {accuracy:.1f}% ({self.scored} scored) {rate:.2f}/s ETA {left:.0f}s"
        )


def _chunks(samples: Sequence[Sample], size: int) -> Iterator[list[Sample]]:
    """Samples in groups of ``size``, similar image sizes together (less padding)."""
    ordered = sorted(samples, key=lambda s: (s.image_size[0] * s.image_size[1], s.id))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def evaluate(
    samples: Sequence[Sample],
    results: Results,
    askers: Sequence[Asker],
    *,
    prompt: str,
    batch_size: int = 1,
    concurrency: int = 1,
    retries: int = 3,
    backoff_s: float = 1.0,
    progress: IO[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Ask every sample not yet finished in ``results``; return the summary of all of them.

    ``askers``: one per backend (several HTTP endpoints: requests go round robin);
    ``batch_size`` samples per call, ``concurrency`` calls in flight.
    """
    if batch_size < 1 or concurrency < 1 or not askers:
        raise ConfigurationError("batch size and concurrency must be >= 1, with an asker")
    finished = results.finished()
    pending = [s for s in samples if s.id not in finished]
    meter = Progress(len(samples), len(samples) - len(pending), progress)
    started = time.monotonic()

    def load(chunk: list[Sample]) -> list[tuple[Sample, Image.Image]]:
        loaded = []
        for sample in chunk:
            with Image.open(sample.image) as opened:
                loaded.append((sample, opened.convert("RGB")))
        return loaded

    def run(
        loading: Future[list[tuple[Sample, Image.Image]]], asker: Asker
    ) -> list[ResultRecord]:
        loaded = loading.result()
        for attempt in range(retries + 1):
            try:
                answers = asker.ask(loaded)
                return [_record(s, prompt, a) for (s, _), a in zip(loaded, answers, strict=True)]
            except BackendError as exc:
                if attempt == retries:
                    return [_infra(s, prompt, exc) for s, _ in loaded]
                sleep(backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    chunks = list(_chunks(pending, batch_size))
    # images are decoded one chunk ahead, while the model answers the one before
    with (
        ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="eval") as pool,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="eval-images") as loader,
    ):
        loads = {n: loader.submit(load, c) for n, c in enumerate(chunks[: concurrency + 1])}
        running: set[Future[list[ResultRecord]]] = set()
        for n in range(len(chunks)):
            if len(running) >= concurrency:
                done, running = _wait_one(running)
                _write(done, results, meter)
            ahead = n + concurrency + 1
            if ahead < len(chunks):
                loads[ahead] = loader.submit(load, chunks[ahead])
            running.add(pool.submit(run, loads.pop(n), askers[n % len(askers)]))
        while running:
            done, running = _wait_one(running)
            _write(done, results, meter)
    results.close()
    return write_summary(results, seconds=time.monotonic() - started, asked=len(pending))


def _wait_one(
    running: set[Future[list[ResultRecord]]],
) -> tuple[set[Future[list[ResultRecord]]], set[Future[list[ResultRecord]]]]:
    done, rest = wait(running, return_when=FIRST_COMPLETED)
    return done, set(rest)


def _write(done: set[Future[list[ResultRecord]]], results: Results, meter: Progress) -> None:
    for future in done:
        for record in future.result():
            results.write(record)
            meter.update(record)


def write_summary(
    results: Results, *, seconds: float | None = None, asked: int | None = None
) -> dict[str, Any]:
    """summary.json and summary.md from the results as they are."""
    summary = summarize(list(results.records.values()))
    if seconds is not None and asked:
        summary["throughput"] = {
            "asked": asked,
            "seconds": round(seconds, 3),
            "samples_per_s": round(asked / seconds, 3),
        }
    directory = results.directory
    tmp = directory / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, directory / "summary.json")
    (directory / "summary.md").write_text(markdown_table(summary) + "\n", encoding="utf-8")
    return summary


def rescore(directory: Path | str) -> dict[str, Any]:
    """Recompute every verdict and metric from ``results.jsonl`` alone (no model): an answer's
    point is judged against its box again."""
    results = Results(Path(directory))
    if not results.records:
        raise ConfigurationError(f"{directory}: no results.jsonl to rescore")
    for key, record in results.records.items():
        if record.point is not None and record.status in ("correct", "wrong"):
            status = "correct" if inside(record.point, record.box) else "wrong"
            results.records[key] = record.model_copy(update={"status": status})
    return write_summary(results)
