"""The evaluation harness: every sample asked once, its line streamed to ``results.jsonl``.

:func:`evaluate` asks the samples that have no scored line yet in the directory's
:class:`~agent.evaluation.results.Results` (so a resumed run skips what is done; the manifest
check is :func:`~agent.evaluation.results.open_results`'s), and writes the summary at the end.
Infrastructure errors (the backend failed after its own retries) are retried here with backoff
and recorded as ``infra_error`` when they persist: never scored as wrong, asked again on resume.
Images are resized once, by the backend's frame; each record keeps the frame. Throughput:
``batch_size`` samples per ``generate()`` for a local backend (similar sizes batched together),
or ``concurrency`` requests in flight spread over one or several backends (HTTP endpoints).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import IO, Any, Protocol

from PIL import Image

from agent.background import background_pool
from agent.errors import BackendError, ConfigurationError, ModelError, NotFound, OutOfBounds
from agent.evaluation.benchmarks import Sample
from agent.evaluation.metric import judge_target
from agent.evaluation.outcomes import ResultRecord, Status
from agent.evaluation.progress import Progress
from agent.evaluation.prompts import EvalPrompt
from agent.evaluation.results import Results, write_summary
from agent.geometry import CoordinateSpace, ModelFrame, Point
from agent.grounding.base import Grounder, Located
from agent.models.base import Backend, Completion
from agent.trajectory import FrameRecord

__all__ = ["Answer", "Asker", "GrounderAsker", "ModelAsker", "evaluate"]

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


def _sample_fields(sample: Sample, prompt: str) -> dict[str, Any]:
    """What every result line says of its sample (the ground truth travels with the answer)."""
    return {
        "id": sample.id,
        "annotation": sample.annotation.name,
        "index": sample.index,
        "image": sample.image_rel,
        "image_size": sample.image_size,
        "instruction": sample.instruction,
        "box": sample.box,
        "platform": sample.platform,
        "ui_type": sample.ui_type,
        "group": sample.group,
        "application": sample.application,
        "source": sample.source,
        "target": sample.target,
        "polygon": sample.polygon,
        "benchmark": sample.benchmark,
        "split": sample.split,
        "categories": sample.categories,
        "prompt": prompt,
    }


def _fractions(located: Located) -> Located:
    """OSWorld-G's scorer reads a prediction whose numbers all lie in [0, 1] as fractions of the
    image (``GroundingEval._eval``): such a pixel answer is taken as 0-1 relative."""
    points = [located.point, *(located.box or ())]
    if located.point.space is not CoordinateSpace.RESIZED or not all(
        0 <= p.x <= 1 and 0 <= p.y <= 1 for p in points
    ):
        return located

    def rel(p: Point) -> Point:
        return Point(x=p.x, y=p.y, space=CoordinateSpace.REL1)

    box = (rel(located.box[0]), rel(located.box[1])) if located.box else None
    return dataclasses.replace(located, point=rel(located.point), box=box)


def _record(sample: Sample, prompt: str, answer: Answer) -> ResultRecord:
    """The verdict on one answer. An answer without a point, or with both coordinates negative
    (OSWorld-G's "no element"), declines: right for a refusal target, else wrong as before."""
    point: tuple[float, float] | None = None
    box: tuple[float, float, float, float] | None = None
    status: Status = "wrong"
    error: str | None = None
    declined = False
    located = answer.located
    if located is not None and sample.benchmark == "osworld-g":
        located = _fractions(located)
    if located is not None and located.point.x < 0 and located.point.y < 0:
        declined = True
        status = judge_target(None, target=sample.target, box=sample.box)
        error = None if status == "correct" else "declined: negative coordinates"
    elif located is not None:
        try:
            x, y = located.pixel()
            point = (float(x), float(y))
            corners = located.box_pixels(clamp=True)
            if corners is not None:
                box = (float(corners[0]), float(corners[1]), float(corners[2]), float(corners[3]))
        except OutOfBounds as exc:
            error = f"OutOfBounds: {exc}"
        else:  # a box answer's point: its centre
            status = judge_target(
                point, target=sample.target, box=sample.box, polygon=sample.polygon
            )
    elif sample.target == "refusal":
        declined, status = True, "correct"
    elif not answer.raw.strip():
        status, error = "empty", "no answer" if answer.error is None else _line(answer.error)
    else:
        status, error = "parse_error", _line(answer.error) if answer.error else "unreadable"
    if answer.located is None:
        declined = True
    return ResultRecord(
        **_sample_fields(sample, prompt),
        raw=answer.raw,
        point=point,
        answer_box=box,
        frame=FrameRecord.of(answer.frame) if answer.frame else None,
        status=status,
        declined=declined,
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
        **_sample_fields(sample, prompt),
        status="infra_error",
        error=type(exc).__name__,  # the text may hold a key
    )


# -- the run ------------------------------------------------------------------------------


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

    def run(loading: Future[list[tuple[Sample, Image.Image]]], asker: Asker) -> list[ResultRecord]:
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
        background_pool("eval-images") as loader,
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
