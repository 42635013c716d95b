"""What a batch directory says of the whole: ``summary.json`` and ``summary.md`` (passed, failed
and error per check and overall), ``index.html`` (a row per run, linking its viewer), and the
progress line the batch prints while it runs (done/total, passed/failed/error, ETA).

Overall, a row *passed* when its run ended ``done`` (every step ran, every check passed),
*failed* when the task failed (``failed``, ``max_steps``, ``budget``), and is an *error*
otherwise (``error``, ``aborted``, ``infra_error``). A check is an error where its row never
reached it.
"""

from __future__ import annotations

import html
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from agent.batch.ledger import RowRecord
from agent.journal import ProgressLine

__all__ = ["BatchProgress", "summarize", "verdict", "write_index", "write_summary"]

_FAILED = {"failed", "max_steps", "budget"}


def verdict(status: str) -> str:
    """passed, failed or error, of a row's status."""
    return "passed" if status == "done" else "failed" if status in _FAILED else "error"


def summarize(records: Iterable[RowRecord], total: int) -> dict[str, Any]:
    rows = sorted(records, key=lambda r: r.row)
    overall = {"passed": 0, "failed": 0, "error": 0}
    statuses: dict[str, int] = {}
    checks: dict[str, dict[str, int]] = {}
    names: list[str] = []
    for record in rows:
        for check in record.checks:
            if check.check not in checks:
                checks[check.check] = {"passed": 0, "failed": 0, "error": 0}
                names.append(check.check)
    for record in rows:
        overall[verdict(record.status)] += 1
        statuses[record.status] = statuses.get(record.status, 0) + 1
        seen = {c.check: c.passed for c in record.checks}
        for name in names:
            key = "error" if name not in seen else "passed" if seen[name] else "failed"
            checks[name][key] += 1
    return {
        "rows": total,
        "finished": len(rows),
        "overall": overall,
        "statuses": statuses,
        "checks": checks,
        "seconds": round(sum(r.seconds for r in rows), 3),
    }


def write_summary(directory: Path, records: Iterable[RowRecord], total: int) -> dict[str, Any]:
    summary = summarize(records, total)
    tmp = directory / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, directory / "summary.json")
    lines = [
        f"# Batch: {summary['finished']} of {summary['rows']} rows finished",
        "",
        "| | passed | failed | error |",
        "|---|---:|---:|---:|",
    ]
    for name, counts in [("**overall**", summary["overall"]), *summary["checks"].items()]:
        label = name.replace("|", "\\|")
        lines.append(f"| {label} | {counts['passed']} | {counts['failed']} | {counts['error']} |")
    (directory / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return summary


def write_index(directory: Path, records: Iterable[RowRecord]) -> Path:
    """``index.html``: a row per run (its number, values, status, checks, desktop, time), each
    linking the run's viewer and its output."""
    body = []
    for record in sorted(records, key=lambda r: r.row):
        values = ", ".join(f"{k}={v}" for k, v in record.vars.items())
        checks = "; ".join(f"{'✓' if c.passed else '✗'} {c.check}" for c in record.checks)
        link = f"row {record.row}"
        if record.trajectory and (directory / record.trajectory / "index.html").exists():
            link = f'<a href="{html.escape(record.trajectory)}/index.html">{link}</a>'
        body.append(
            f"<tr class='{verdict(record.status)}'><td>{link}</td><td>{html.escape(values)}</td>"
            f"<td>{html.escape(record.status)}</td><td>{html.escape(checks)}</td>"
            f"<td>{html.escape(record.desktop)}</td><td>{record.seconds:.1f}</td>"
            f"<td>{html.escape(record.message)}</td></tr>"
        )
    page = (
        "<!doctype html><meta charset='utf-8'><title>Batch</title><style>"
        "body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}"
        ".passed{background:#e6f4ea}.failed{background:#fce8e6}.error{background:#fef7e0}"
        "</style><h1>Batch</h1><table><tr><th>row</th><th>vars</th><th>status</th>"
        "<th>checks</th><th>desktop</th><th>s</th><th>message</th></tr>"
        + "".join(body)
        + "</table>\n"
    )
    path = directory / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


class BatchProgress(ProgressLine):
    """One line: a bar, done/total, passed/failed/error, rows a minute and the ETA (redrawn on a
    terminal; a line per row otherwise)."""

    def __init__(self, total: int, done: int, stream: IO[str] | None = None) -> None:
        super().__init__(total, done, stream)
        self.counts = {"passed": 0, "failed": 0, "error": 0}

    def update(self, record: RowRecord) -> None:
        self.done += 1
        self.counts[verdict(record.status)] += 1
        self.show(self.line(time.monotonic()))

    def line(self, now: float) -> str:
        bar, rate, left = self.measure(now)
        c = self.counts
        return (
            f"{bar} rows: {c['passed']} passed {c['failed']} failed {c['error']} error, "
            f"{rate * 60:.1f}/min ETA {left:.0f}s"
        )
