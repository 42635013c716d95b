"""The files of an evaluation directory: ``manifest.json`` (the run's signature),
``results.jsonl`` (one :class:`~agent.evaluation.outcomes.ResultRecord` per sample, appended and
flushed; a cut-off last line is dropped: :mod:`agent.journal`), ``summary.json`` and
``summary.md``.

:func:`open_results` refuses, before any model is loaded, a directory that already holds
results (unless resuming) and a resume whose signature differs; :func:`rescore` recomputes every
verdict and metric from ``results.jsonl`` alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.errors import ConfigurationError
from agent.evaluation.metric import judge_target, markdown_table, summarize
from agent.evaluation.outcomes import ResultRecord
from agent.journal import MANIFEST_SCHEMA, Journal, file_hash, open_run_directory
from agent.trajectory import now_iso

__all__ = ["MANIFEST_SCHEMA", "Results", "manifest_for", "open_results", "rescore", "write_summary"]

def manifest_for(
    settings: dict[str, Any], annotations: Sequence[Path], images: Path
) -> dict[str, Any]:
    """The manifest of an evaluation: ``settings`` (model, backend, style, bounds, prompt,
    decoding, ...) and the annotation files' hashes make its signature."""
    files = sorted(Path(a) for a in annotations)
    datasets = {f.name: file_hash(f) for f in files}
    return {
        "schema": MANIFEST_SCHEMA,
        "signature": {**settings, "datasets": datasets},
        "images": str(Path(images).resolve()),
        "annotations": [str(f.resolve()) for f in files],
        "created_at": now_iso(),
    }


class Results(Journal[str, ResultRecord]):
    """``results.jsonl`` of an evaluation directory: the records so far (the last per sample)
    and an appender that flushes every line."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, ResultRecord, lambda record: record.id)


def open_results(
    directory: Path | str, manifest: dict[str, Any], *, resume: bool = False
) -> Results:
    """The results of ``directory`` for an evaluation with ``manifest``. Refuses (before any
    model is loaded) a directory that holds results unless ``resume``, and a resume whose
    signature differs."""
    directory = Path(directory)
    open_run_directory(
        directory, manifest, resume=resume, ran="evaluated",
        fresh="--rescore recomputes the summary, or choose another --out",
    )  # fmt: skip
    return Results(directory)


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
    point is judged against its target again (a declined answer: right only for a refusal)."""
    results = Results(Path(directory))
    if not results.records:
        raise ConfigurationError(f"{directory}: no results.jsonl to rescore")
    for key, record in results.records.items():
        answered = record.point is not None and record.status in ("correct", "wrong")
        if answered or (record.declined and record.status != "infra_error"):
            target = record.target
            if record.declined and target != "refusal":
                continue  # wrong as recorded (parse_error, empty or wrong)
            point = None if record.declined else record.point
            status = judge_target(point, target=target, box=record.box, polygon=record.polygon)
            results.records[key] = record.model_copy(update={"status": status})
    return write_summary(results)
