"""The desktops a batch runs on, and the local executor: one thread per desktop over a queue.

A :class:`Slot` is one desktop that runs one row at a time: here a private display started for
the batch (:class:`PrivateSlot`) or a VNC desktop the user serves (:class:`VNCSlot`); on a Ray
cluster an actor that owns one (:mod:`agent.batch.ray_pool`). :class:`Pool` hands each row to
the next free slot; after a row that did not end ``done`` it asks the slot whether its desktop
is still alive: a dead one makes the row an infrastructure failure (the runner runs it again),
and the slot is renewed (a fresh private display) or dropped (a VNC server gone). The same pool
serves both executors; only the slots differ.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from agent.batch.row_process import DesktopTarget, RowJob, RowOutcome, RowProcess, RowSettings
from agent.desktops.base import DesktopSpec
from agent.errors import ConfigurationError
from agent.screen.xvfb import VirtualDisplay, XvfbError

__all__ = ["Pool", "PrivateSlot", "Slot", "VNCSlot", "private_slots", "reap_displays"]

_PIDS = ".displays"


class Slot(Protocol):
    """One desktop, one row at a time."""

    name: str

    def run(self, job: RowJob, out: Path, log: Path) -> RowOutcome:
        """Run ``job``; its trajectory ends up in ``out``, its output in ``log``."""

    def healthy(self) -> bool:
        """Whether the desktop still answers (asked after a row that did not end ``done``)."""

    def renew(self) -> Slot | None:
        """A replacement after the desktop died (this one is closed), or None."""

    def stop(self) -> None:
        """Kill the row running now (the batch is stopping)."""

    def close(self) -> None: ...


class _LocalSlot:
    """A slot whose rows run as processes on this machine."""

    def __init__(self, settings: RowSettings, target: DesktopTarget) -> None:
        self.settings, self.target, self.name = settings, target, target.name
        self._running: RowProcess | None = None
        self._lock = threading.Lock()

    def run(self, job: RowJob, out: Path, log: Path) -> RowOutcome:
        process = RowProcess(job, self.settings, self.target, out, log)
        with self._lock:
            self._running = process
        try:
            return process.wait()
        finally:
            with self._lock:
                self._running = None

    def stop(self) -> None:
        with self._lock:
            if self._running is not None:
                self._running.kill()


class PrivateSlot(_LocalSlot):
    """A private Xvfb display started for the batch; its pid and name are noted in ``pids`` (the
    batch directory's ``.displays``) so that a batch killed outright has them ended on resume."""

    def __init__(self, settings: RowSettings, size: tuple[int, int], pids: Path) -> None:
        self.size, self.pids = size, pids
        self.display = VirtualDisplay(*size)
        try:
            self.display.start()
        except (OSError, XvfbError) as exc:
            raise ConfigurationError(f"cannot start a private display: {exc}") from exc
        with pids.open("a", encoding="utf-8") as handle:
            handle.write(f"{self.display.pid} {self.display.name}\n")
        name = self.display.name
        super().__init__(settings, DesktopTarget(f"private{name}", "local", {"DISPLAY": name}))

    def healthy(self) -> bool:
        return self.display.is_running()

    def renew(self) -> Slot | None:
        self.close()
        return PrivateSlot(self.settings, self.size, self.pids)

    def close(self) -> None:
        self.stop()
        self.display.stop()


class VNCSlot(_LocalSlot):
    """A VNC desktop the user serves (``vnc://HOST:PORT``), one row at a time; its password
    comes to each run from the environment variable the options name."""

    def __init__(self, settings: RowSettings, spec: DesktopSpec) -> None:
        self.spec = spec
        super().__init__(settings, DesktopTarget(spec.describe(), spec.describe()))

    def healthy(self) -> bool:
        try:
            socket.create_connection((self.spec.host or "", self.spec.port or 5900), 5).close()
        except OSError:
            return False
        return True

    def renew(self) -> Slot | None:
        return None  # a server we did not start: it is gone for this batch

    def close(self) -> None:
        self.stop()


def reap_displays(directory: Path) -> None:
    """End the private displays a batch killed outright left running (their pids are in
    ``.displays``; only a process that is still an Xvfb is signalled)."""
    path = directory / _PIDS
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            pid = int(line.split()[0])
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                program = handle.read().split(b"\0")[0]
        except (ValueError, OSError):
            continue
        if os.path.basename(program) == b"Xvfb":
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    path.unlink()


def private_slots(settings: RowSettings, count: int, size: tuple[int, int],
                  directory: Path) -> list[Slot]:  # fmt: skip
    """``count`` private displays for a batch in ``directory`` (stale ones ended first)."""
    reap_displays(directory)
    slots: list[Slot] = []
    try:
        for _ in range(count):
            slots.append(PrivateSlot(settings, size, directory / _PIDS))
    except BaseException:
        for slot in slots:
            slot.close()
        raise
    return slots


class Pool:
    """Runs rows on ``slots``, each on the next free one, in ``directory/runs/ROW``."""

    def __init__(self, slots: Sequence[Slot], directory: Path) -> None:
        if not slots:
            raise ConfigurationError("a batch needs at least one desktop")
        self.directory = directory
        self.size = len(slots)
        self._free: queue.Queue[Slot] = queue.Queue()
        self._all: list[Slot] = list(slots)
        for slot in slots:
            self._free.put(slot)
        self._live = len(slots)
        self._lock = threading.Lock()
        self._stopping = False
        self._threads = ThreadPoolExecutor(max_workers=len(slots), thread_name_prefix="batch")

    def submit(self, job: RowJob) -> Future[RowOutcome]:
        return self._threads.submit(self._run, job)

    def _take(self) -> Slot | None:
        while True:
            with self._lock:
                if self._live == 0 or self._stopping:
                    return None
            try:
                return self._free.get(timeout=0.5)
            except queue.Empty:
                continue

    def _run(self, job: RowJob) -> RowOutcome:
        slot = self._take()
        if slot is None:
            return RowOutcome(job.number, job.attempt, "-", "error", None,
                              "no desktop left", 0.0, infra="no desktop left")  # fmt: skip
        out = self.directory / "runs" / job.folder
        log = self.directory / "logs" / f"{job.folder}.txt"
        shutil.rmtree(out, ignore_errors=True)  # what a killed attempt left: never scored
        try:
            outcome = slot.run(job, out, log)
        except Exception as exc:  # noqa: BLE001 - the executor failed: infrastructure
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            outcome = RowOutcome(job.number, job.attempt, slot.name, "error", None, reason, 0.0,
                                 infra=reason)  # fmt: skip
        if outcome.status != "done" and (outcome.infra or not self._healthy(slot)):
            outcome.infra = outcome.infra or f"desktop {slot.name} died during the run"
            self._replace(slot)
        else:
            self._free.put(slot)
        return outcome

    def _healthy(self, slot: Slot) -> bool:
        try:
            return slot.healthy()
        except Exception:  # noqa: BLE001 - asking failed: it is not
            return False

    def _replace(self, slot: Slot) -> None:
        with self._lock:
            stopping = self._stopping
        fresh: Slot | None = None
        if not stopping:
            try:
                fresh = slot.renew()
            except Exception:  # noqa: BLE001 - no replacement: one desktop fewer
                fresh = None
        with self._lock:
            if fresh is None:
                self._live -= 1
            else:
                self._all.append(fresh)
                self._free.put(fresh)

    def close(self) -> None:
        """Kill the rows still running, end the desktops."""
        with self._lock:
            self._stopping = True
        for slot in self._all:
            slot.stop()
        self._threads.shutdown(wait=True, cancel_futures=True)
        failed = False
        for slot in self._all:
            try:
                slot.close()
            except Exception:  # noqa: BLE001 - closing the rest matters more
                failed = True
        if not failed:  # every display ended: nothing for a resume to reap
            (self.directory / _PIDS).unlink(missing_ok=True)
