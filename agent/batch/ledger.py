"""The files that make a batch resumable: ``manifest.json`` (its signature) and
``results.jsonl`` (one :class:`RowRecord` per finished row, appended and flushed).

As the evaluation harness does (:mod:`agent.evaluation.results`): a directory that holds results
is refused unless ``--resume``; a resume whose signature (the task file's and the rows file's
hashes, the run options) differs is refused before anything runs; a line cut off by a killed
batch is dropped. A row is finished once it has a line that is not ``infra_error``: a resumed
batch runs only the others, so no row is run twice to completion.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field

from agent.errors import ConfigurationError
from agent.trajectory import now_iso

__all__ = ["MANIFEST_SCHEMA", "CheckVerdict", "Ledger", "RowRecord", "file_hash", "open_ledger"]

MANIFEST_SCHEMA = 1


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class CheckVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    check: str
    passed: bool
    detail: str = ""


class RowRecord(BaseModel):
    """One line of ``results.jsonl``: a row's run as it ended."""

    model_config = ConfigDict(frozen=True)

    row: int = Field(description="the row's number in the rows file, from 1")
    vars: dict[str, str] = Field(description="the row's values, secrets left out")
    status: str = Field(description="the run's status, or infra_error (run again on resume)")
    exit_code: int | None = Field(description="gui-agent run's exit code (None: killed)")
    message: str = ""
    checks: list[CheckVerdict] = Field(default_factory=list)
    trajectory: str | None = Field(description="the run's directory, relative to the batch's")
    desktop: str = ""
    attempts: int = 1
    seconds: float = 0.0
    finished_at: str = Field(default_factory=now_iso)


class Ledger:
    """``results.jsonl``: the records so far (the last per row) and a flushing appender."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "results.jsonl"
        self.records: dict[int, RowRecord] = {}
        self._handle: IO[str] | None = None
        self._lock = threading.Lock()
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # cut off by a killed batch
            with self.path.open("r+b") as handle:
                handle.truncate(end)
        for number, line in enumerate(data[:end].decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = RowRecord.model_validate_json(line)
            except ValueError as exc:
                raise ConfigurationError(
                    f"{self.path}:{number}: not a result line: {str(exc).splitlines()[0]}"
                ) from exc
            self.records[record.row] = record

    def finished(self) -> set[int]:
        return {n for n, r in self.records.items() if r.status != "infra_error"}

    def write(self, record: RowRecord) -> None:
        with self._lock:
            if self._handle is None:
                self._handle = self.path.open("a", encoding="utf-8")
            self._handle.write(record.model_dump_json() + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self.records[record.row] = record

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


def open_ledger(directory: Path, signature: dict[str, Any], *, resume: bool) -> Ledger:
    """The ledger of ``directory`` for a batch with ``signature``; refuses results without
    ``resume`` and a resume with another signature (one line each)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "manifest.json"
    has_results = (directory / "results.jsonl").exists()
    if has_results and not resume:
        raise ConfigurationError(
            f"{directory} already holds results: --resume continues them, or choose another --out"
        )
    if resume and path.exists():
        old = json.loads(path.read_text(encoding="utf-8")).get("signature", {})
        differ = sorted(k for k in {*old, *signature} if old.get(k) != signature.get(k))
        if differ:
            shown = ", ".join(f"{k}: {old.get(k)!r} -> {signature.get(k)!r}" for k in differ[:3])
            raise ConfigurationError(
                f"{directory} was run with another configuration ({shown}): resume it with the "
                "same task, rows and options, or choose another --out"
            )
    elif resume and has_results:
        raise ConfigurationError(f"{directory} has results but no manifest.json to resume by")
    if not (resume and path.exists()):
        manifest = {"schema": MANIFEST_SCHEMA, "signature": signature, "created_at": now_iso()}
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    return Ledger(directory)
