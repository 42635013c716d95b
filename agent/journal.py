"""Run directories that survive the night: ``manifest.json`` and ``results.jsonl``.

An evaluation (:mod:`agent.evaluation.results`) and a batch (:mod:`agent.batch.ledger`) keep
their progress the same way. ``results.jsonl`` holds one record per line, appended and flushed
as each item ends (the last line of an item wins; a line cut off by a killed process is dropped
when the file is opened again). ``manifest.json`` holds the run's signature (the options and the
input files' hashes): :func:`open_run_directory` refuses, before anything runs, a directory that
already holds results unless resuming, and a resume whose signature differs, in one line each.
An item is finished once it has a line whose status is not ``infra_error``: a resume runs only
the others, so none is run twice to completion. :class:`ProgressLine` is the status line of a
run through one (the bar, done/total, the rate and the ETA; the caller says the rest).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from pydantic import BaseModel

from agent.errors import ConfigurationError

__all__ = ["MANIFEST_SCHEMA", "Journal", "ProgressLine", "file_hash", "open_run_directory"]

MANIFEST_SCHEMA = 1

K = TypeVar("K", bound=Hashable)
R = TypeVar("R", bound=BaseModel)


def file_hash(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Journal(Generic[K, R]):
    """``results.jsonl`` of a run directory: the records so far (the last per ``key``) and an
    appender that flushes every line (and syncs it to the disk when ``durable``)."""

    def __init__(
        self, directory: Path, record: type[R], key: Callable[[R], K], *, durable: bool = False
    ) -> None:
        self.directory = Path(directory)
        self.path = self.directory / "results.jsonl"
        self.records: dict[K, R] = {}
        self.dropped = 0
        self._record, self._key, self._durable = record, key, durable
        self._handle: IO[str] | None = None
        self._lock = threading.Lock()
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a line cut off by a killed process: drop it
            self.dropped = 1
            with self.path.open("r+b") as handle:
                handle.truncate(end)
        for number, line in enumerate(data[:end].decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = self._record.model_validate_json(line)
            except ValueError as exc:
                raise ConfigurationError(
                    f"{self.path}:{number}: not a result line: {str(exc).splitlines()[0]}"
                ) from exc
            self.records[self._key(record)] = record

    def finished(self) -> set[K]:
        """The items with a result (an infrastructure error is run again)."""
        return {k for k, r in self.records.items() if getattr(r, "status", "") != "infra_error"}

    def write(self, record: R) -> None:
        with self._lock:
            if self._handle is None:
                self._handle = self.path.open("a", encoding="utf-8")
            self._handle.write(record.model_dump_json() + "\n")
            self._handle.flush()
            if self._durable:
                os.fsync(self._handle.fileno())
            self.records[self._key(record)] = record

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


def open_run_directory(
    directory: Path, manifest: dict[str, Any], *, resume: bool, ran: str, fresh: str
) -> None:
    """Make ``directory`` ready for a run with ``manifest`` (its ``signature`` must match to
    resume) and write the manifest unless resuming. Refuses a directory that holds results
    without ``resume`` (``fresh``: what the user may do instead), a resume whose signature
    differs (``ran``: "evaluated", "run") and results without a manifest to resume by."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "manifest.json"
    has_results = (directory / "results.jsonl").exists()
    if has_results and not resume:
        raise ConfigurationError(
            f"{directory} already holds results: --resume continues them, {fresh}"
        )
    if resume and path.exists():
        old = json.loads(path.read_text(encoding="utf-8")).get("signature", {})
        new = manifest["signature"]
        differ = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
        if differ:
            shown = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in differ[:4])
            raise ConfigurationError(
                f"{directory} was {ran} with another configuration ({shown}): resume it with "
                "the same options, or choose another --out"
            )
        return
    if resume and has_results:
        raise ConfigurationError(f"{directory} has results but no manifest.json to resume by")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


class ProgressLine:
    """A run's status line on ``stream`` (stderr by default): redrawn in place on a terminal,
    a line at a time otherwise. ``done`` items were finished before this run started (resumed):
    the rate counts only this run's."""

    def __init__(self, total: int, done: int, stream: IO[str] | None = None) -> None:
        self.total, self.done, self.start_done = total, done, done
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()

    def measure(self, now: float) -> tuple[str, float, float]:
        """The bar with done/total, the items a second so far and the seconds left."""
        width = 24
        filled = round(width * self.done / max(1, self.total))
        rate = (self.done - self.start_done) / max(now - self.started, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        return f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}", rate, left

    def show(self, line: str) -> None:
        end = "\r" if self.terminal and self.done < self.total else "\n"
        self.stream.write(line + end)
        self.stream.flush()
