"""The evaluation's progress line: done/total, running accuracy, speed and ETA."""

from __future__ import annotations

import sys
import time
from typing import IO

from agent.evaluation.outcomes import ResultRecord

__all__ = ["Progress"]


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
