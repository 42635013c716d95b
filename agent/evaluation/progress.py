"""The evaluation's progress line: done/total, running accuracy, speed and ETA."""

from __future__ import annotations

import time
from typing import IO

from agent.evaluation.outcomes import ResultRecord
from agent.journal import ProgressLine

__all__ = ["Progress"]


class Progress(ProgressLine):
    """One status line: done/total, running accuracy, speed and ETA (redrawn on a terminal,
    a line every 10 s or 10% otherwise)."""

    def __init__(self, total: int, done: int, stream: IO[str] | None = None) -> None:
        super().__init__(total, done, stream)
        self.correct = self.scored = 0
        self.last = self.started
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
            self.show(self.line(now))

    def line(self, now: float) -> str:
        bar, rate, left = self.measure(now)
        accuracy = 100.0 * self.correct / self.scored if self.scored else 0.0
        return (
            f"{bar} acc {accuracy:.1f}% ({self.scored} scored) {rate:.2f}/s ETA {left:.0f}s"
        )
