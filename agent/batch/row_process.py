"""One row, run as ``gui-agent run --task`` in a process of its own, on one desktop.

A process per row is the isolation: its own interpreter, desktop connection, trajectory
directory and app (launched by the run, in the run's process group); a crash or a hang of one
row touches no other. A run gets ``--max-seconds`` as its own budget (it stops cleanly, status
``budget``) and is killed with its whole process group when it is still there ``KILL_GRACE_S``
later. The process dies with the batch too (``PR_SET_PDEATHSIG``): a killed batch leaves no run
driving a desktop. What the run did is read back from its output (the check lines and the final
status line :mod:`agent.cli.run` prints) and its exit code.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["KILL_GRACE_S", "DesktopTarget", "RowJob", "RowOutcome", "RowSettings", "run_row"]

#: seconds a run may go on past its own --max-seconds before it is killed
KILL_GRACE_S = 20.0
_STATUS = re.compile(r"^(done|failed|max_steps|budget|error|aborted): (.*)$")
_CHECK = re.compile(r"^check (.*): (passed|FAILED) \((.*)\)$")
_ERROR = re.compile(r"^gui-agent: (?:error: )?(.*)$")
#: the exit codes of gui-agent (agent.cli.exit_codes), read back into a status
_STATUS_OF_EXIT = {0: "done", 1: "failed", 2: "error", 3: "budget", 4: "error", 5: "aborted"}
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class DesktopTarget:
    """Where a row runs: ``spec`` is what the run is told (``--desktop``), ``env`` what its
    process gets on top of this one's (a private display's ``DISPLAY``); ``name`` is what the
    results say."""

    name: str
    spec: str
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RowJob:
    """A row to run (``attempt`` counts from 1: a retry after an infrastructure error is 2)."""

    number: int
    folder: str
    values: Mapping[str, str]
    attempt: int = 1


@dataclass(frozen=True)
class RowSettings:
    """What every row of a batch shares: the task file, the options of ``gui-agent run``
    (model, cache, safety) and the model endpoints, one per row in turn."""

    task: Path
    options: Sequence[str] = ()
    base_urls: Sequence[str] = ()
    max_seconds: float | None = None


@dataclass
class RowOutcome:
    """How a row's run ended. ``infra`` names an infrastructure failure (the desktop died, the
    node was lost): such a row is run again elsewhere, never scored."""

    number: int
    attempt: int
    desktop: str
    status: str
    exit_code: int | None
    message: str
    seconds: float
    checks: list[dict[str, object]] = field(default_factory=list)
    infra: str | None = None


def command(job: RowJob, settings: RowSettings, desktop: DesktopTarget, out: Path) -> list[str]:
    """The run's command line (row values as ``--var``: they are data, never secrets)."""
    line = [sys.executable, "-m", "agent.cli", "run", "--task", str(settings.task)]
    for name, value in job.values.items():
        line += ["--var", f"{name}={value}"]
    line += ["--desktop", desktop.spec, "--out", str(out), *settings.options]
    if settings.base_urls:
        line += ["--base-url", settings.base_urls[(job.number - 1) % len(settings.base_urls)]]
    if settings.max_seconds is not None:
        line += ["--max-seconds", f"{settings.max_seconds:g}"]
    return line


def _prctl() -> Any:
    try:  # found here, in the parent: a forked child of a threaded process only calls it
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """SIGKILL this process when the thread that started it ends (the batch dies)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


class RowProcess:
    """A started run; :meth:`wait` ends it (killing it past its deadline), :meth:`kill` ends it
    now (the batch is stopping)."""

    def __init__(
        self, job: RowJob, settings: RowSettings, desktop: DesktopTarget, out: Path, log: Path
    ) -> None:
        self.job, self.settings, self.desktop, self.log = job, settings, desktop, log
        log.parent.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        with log.open("wb") as handle:
            self.process = subprocess.Popen(
                command(job, settings, desktop, out),
                env={**os.environ, **desktop.env},
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the app is killed with it
                preexec_fn=_die_with_parent,
            )

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def wait(self) -> RowOutcome:
        limit = self.settings.max_seconds
        killed = False
        try:
            self.process.wait(None if limit is None else limit + KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            killed = True
            self.kill()
            self.process.wait(30)
        self.kill()  # whatever the run left running in its group (an app it did not close)
        seconds = time.monotonic() - self.started
        outcome = read_outcome(self.job, self.desktop.name, self.log, self.process.returncode,
                               seconds)  # fmt: skip
        if killed:
            outcome.status, outcome.exit_code = "budget", None
            outcome.message = (
                f"killed: still running {KILL_GRACE_S:g} s past --max-seconds {limit:g}"
            )
        return outcome


def read_outcome(
    job: RowJob, desktop: str, log: Path, exit_code: int | None, seconds: float
) -> RowOutcome:
    """The outcome as the run's output and exit code tell it."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    checks: list[dict[str, object]] = []
    status: str | None = None
    message = ""
    for line in text.splitlines():
        found = _CHECK.match(line)
        if found:
            checks.append({"check": found[1], "passed": found[2] == "passed", "detail": found[3]})
            continue
        final = _STATUS.match(line)
        if final:
            status, message = final[1], final[2]
        elif status is None and _ERROR.match(line):
            message = line
    if status is None:
        status = _STATUS_OF_EXIT.get(exit_code if exit_code is not None else -1, "error")
        if not message:
            message = f"the run ended with exit code {exit_code} and no status line"
    seconds = round(seconds, 3)
    return RowOutcome(job.number, job.attempt, desktop, status, exit_code, message, seconds, checks)


def run_row(
    job: RowJob, settings: RowSettings, desktop: DesktopTarget, out: Path, log: Path
) -> RowOutcome:
    """Run one row to its end (see :class:`RowProcess`)."""
    return RowProcess(job, settings, desktop, out, log).wait()
