"""A batch from start to end, the same over both executors (the local pool, Ray).

:func:`run_batch` takes the rows not finished yet in the ledger, keeps every desktop of the pool
busy, and for each outcome either runs the row again (an infrastructure failure: the desktop
died, the node was lost; at most ``retries`` times, on another desktop) or writes its line to
``results.jsonl`` at once. A task that failed is a result, not retried. The run's viewer is
written beside its trajectory; the summary and ``index.html`` at the end (and on every way out,
so an interrupted batch still has them for the rows it finished).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import IO, Any

from agent.batch.ledger import CheckVerdict, Ledger, RowRecord
from agent.batch.pool import Pool
from agent.batch.row_process import RowJob, RowOutcome
from agent.batch.rows import Row
from agent.batch.tally import BatchProgress, write_index, write_summary

__all__ = ["run_batch"]


def _record(row: Row, outcome: RowOutcome, ledger: Ledger, hidden: Collection[str]) -> RowRecord:
    folder = ledger.directory / "runs" / row.name
    trajectory = f"runs/{row.name}" if (folder / "meta.json").exists() else None
    if trajectory is not None:
        _write_viewer(folder)
    return RowRecord(
        row=row.number,
        vars={k: v for k, v in row.values.items() if k not in hidden},
        status="infra_error" if outcome.infra else outcome.status,
        exit_code=outcome.exit_code,
        message=outcome.infra or outcome.message,
        checks=[CheckVerdict.model_validate(c) for c in outcome.checks],
        trajectory=trajectory,
        desktop=outcome.desktop,
        attempts=outcome.attempt,
        seconds=outcome.seconds,
    )


def _write_viewer(folder: Any) -> None:
    from agent.runs.viewer import write_viewer

    try:
        write_viewer(folder)
    except Exception:  # noqa: BLE001 - a run cut short may not view; its line still counts
        pass


def run_batch(
    rows: Sequence[Row],
    pool: Pool,
    ledger: Ledger,
    *,
    retries: int = 2,
    hidden: Collection[str] = (),
    progress: IO[str] | None = None,
) -> dict[str, Any]:
    """Run every row of ``rows`` that ``ledger`` has not finished on ``pool``; the summary.
    ``hidden``: variables never written (secrets). The pool is closed on every way out."""
    finished = ledger.finished()
    pending = [r for r in rows if r.number not in finished]
    by_number = {r.number: r for r in rows}
    meter = BatchProgress(len(rows), len(rows) - len(pending), progress)
    running: dict[Future[RowOutcome], RowJob] = {}
    try:
        for row in pending:
            job = RowJob(row.number, row.name, dict(row.values))
            running[pool.submit(job)] = job
        while running:
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                outcome = future.result()
                if outcome.infra and job.attempt <= retries:
                    again = RowJob(job.number, job.folder, job.values, job.attempt + 1)
                    running[pool.submit(again)] = again
                    continue
                record = _record(by_number[job.number], outcome, ledger, hidden)
                ledger.write(record)
                meter.update(record)
    finally:
        pool.close()
        ledger.close()
        write_index(ledger.directory, ledger.records.values())
        summary = write_summary(ledger.directory, ledger.records.values(), len(rows))
    return summary
