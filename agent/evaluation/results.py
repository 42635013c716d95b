"""The files of an evaluation directory: ``manifest.json`` (the run's signature),
``results.jsonl`` (one :class:`~agent.evaluation.outcomes.ResultRecord` per sample, appended and
flushed; a cut-off last line is dropped), ``summary.json`` and ``summary.md``.

:func:`open_results` refuses, before any model is loaded, a directory that already holds
results (unless resuming) and a resume whose signature differs; :func:`rescore` recomputes every
verdict and metric from ``results.jsonl`` alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from agent.errors import ConfigurationError
from agent.evaluation.metric import judge_target, markdown_table, summarize
from agent.evaluation.outcomes import ResultRecord
from agent.trajectory import now_iso

__all__ = ["MANIFEST_SCHEMA", "Results", "manifest_for", "open_results", "rescore", "write_summary"]

MANIFEST_SCHEMA = 1


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
