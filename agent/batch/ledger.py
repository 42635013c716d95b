"""The files that make a batch resumable: ``manifest.json`` (its signature) and
``results.jsonl`` (one :class:`RowRecord` per finished row, appended and flushed).

As the evaluation harness does (both through :mod:`agent.journal`): a directory that holds
results is refused unless ``--resume``; a resume whose signature (the task file's and the rows
file's hashes, the run options) differs is refused before anything runs; a line cut off by a
killed batch is dropped. A row is finished once it has a line that is not ``infra_error``: a resumed
batch runs only the others, so no row is run twice to completion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.journal import MANIFEST_SCHEMA, Journal, file_hash, open_run_directory
from agent.trajectory import now_iso

__all__ = ["CheckVerdict", "Ledger", "RowRecord", "file_hash", "open_ledger"]


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


class Ledger(Journal[int, RowRecord]):
    """``results.jsonl`` of a batch: the records so far (the last per row) and an appender that
    flushes every line to the disk."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, RowRecord, lambda record: record.row, durable=True)


def open_ledger(directory: Path, signature: dict[str, Any], *, resume: bool) -> Ledger:
    """The ledger of ``directory`` for a batch with ``signature``; refuses results without
    ``resume`` and a resume with another signature (one line each)."""
    manifest = {"schema": MANIFEST_SCHEMA, "signature": signature, "created_at": now_iso()}
    open_run_directory(
        directory, manifest, resume=resume, ran="run", fresh="or choose another --out"
    )
    return Ledger(directory)
