"""The Ray executor: the batch's desktops as actors on a Ray cluster's nodes (the ``ray`` extra).

Ray schedules, places and supervises; this module only says what an actor is. Each actor
(:class:`DesktopHost`) owns one desktop on its node: a private display it starts there
(``--desktops N`` per node, pinned to the node) or one VNC desktop the user serves. It unpacks
the task's folder, which the driver sends once as bytes (no shared filesystem is assumed), runs
rows exactly as the local pool does (:mod:`agent.batch.row_process`: a process per row), and
returns each run's trajectory and output as a tar archive in bytes, which the driver unpacks
into the batch directory. On the driver every actor is a :class:`RaySlot` of the same
:class:`~agent.batch.pool.Pool`: a node lost mid-row makes that row an infrastructure failure
(run again on another actor) and the slot is renewed on a node still alive.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import socket
import tarfile
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.batch.pool import Slot
from agent.batch.row_process import DesktopTarget, RowJob, RowOutcome, RowProcess, RowSettings
from agent.desktops.base import DesktopSpec
from agent.errors import ConfigurationError

__all__ = ["DesktopHost", "RayCluster", "RaySlot", "pack", "unpack"]

#: the task's folder travels to every node: larger than this is refused (ship data otherwise)
MAX_TASK_FOLDER_BYTES = 50_000_000


def pack(*paths: tuple[Path, str], leave_out: Path | None = None) -> bytes:
    """A tar archive of ``(path, name in the archive)`` pairs (missing paths left out, and
    ``leave_out``, a folder inside one of them: the batch's own directory)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, name in paths:
            if not path.exists():
                continue
            skip: str | None = None
            if leave_out is not None and leave_out.resolve().is_relative_to(path.resolve()):
                skip = str(Path(name) / leave_out.resolve().relative_to(path.resolve()))

            def keep(info: tarfile.TarInfo, skip: str | None = skip) -> tarfile.TarInfo | None:
                at = os.path.normpath(info.name)
                inside = skip is not None and (at == skip or at.startswith(skip + "/"))
                return None if inside else info

            archive.add(str(path), arcname=name, filter=keep)
    return buffer.getvalue()


def unpack(data: bytes, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
        archive.extractall(into, filter="data")


class DesktopHost:
    """A Ray actor: one desktop on its node and the rows run on it. ``spec``: ``private:WxH``
    or ``vnc://HOST:PORT``."""

    def __init__(self, spec: str, task_folder: bytes, task_file: str, settings: RowSettings):
        from agent.screen.xvfb import VirtualDisplay

        self.root = Path(tempfile.mkdtemp(prefix="gui-agent-batch-"))
        unpack(task_folder, self.root / "task")
        self.settings = dataclasses.replace(settings, task=self.root / "task" / task_file)
        self.display: VirtualDisplay | None = None
        self.parsed = DesktopSpec.parse(spec)
        import ray

        node = ray.get_runtime_context().get_node_id()[:8]
        host = f"{socket.gethostname()}[{node}]"  # the node: several may share a host
        if self.parsed.kind == "private":
            self.display = VirtualDisplay(*(self.parsed.size or (1280, 800))).start()
            name = self.display.name
            self.target = DesktopTarget(f"{host}:private{name}", "local", {"DISPLAY": name})
        else:
            self.target = DesktopTarget(spec, spec)
        self._running: RowProcess | None = None
        self._lock = threading.Lock()

    def name(self) -> str:
        return self.target.name

    def run(self, job: RowJob) -> tuple[RowOutcome, bytes]:
        out = self.root / "runs" / job.folder
        log = self.root / "logs" / f"{job.folder}.txt"
        shutil.rmtree(out, ignore_errors=True)
        process = RowProcess(job, self.settings, self.target, out, log)
        with self._lock:
            self._running = process
        try:
            outcome = process.wait()
        finally:
            with self._lock:
                self._running = None
        data = pack((out, "run"), (log, "log.txt"))
        shutil.rmtree(out, ignore_errors=True)
        log.unlink(missing_ok=True)
        return outcome, data

    def healthy(self) -> bool:
        if self.display is not None:
            return self.display.is_running()
        try:
            port = self.parsed.port or 5900
            socket.create_connection((self.parsed.host or "", port), 5).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        with self._lock:
            if self._running is not None:
                self._running.kill()

    def close(self) -> None:
        self.stop()
        if self.display is not None:
            self.display.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class RaySlot:
    """A :class:`DesktopHost` actor, seen by the pool as a :class:`~agent.batch.pool.Slot`."""

    def __init__(self, cluster: RayCluster, spec: str, node: str | None) -> None:
        self.cluster, self.spec, self.node = cluster, spec, node
        self.actor = cluster.start_host(spec, node)
        self.name = str(cluster.ray.get(self.actor.name.remote(), timeout=cluster.start_timeout_s))

    def run(self, job: RowJob, out: Path, log: Path) -> RowOutcome:
        outcome, data = self.cluster.ray.get(self.actor.run.remote(job))
        staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=out.parent.parent))
        try:
            unpack(data, staging)
            if (staging / "run").exists():
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(staging / "run"), str(out))
            if (staging / "log.txt").exists():
                log.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(staging / "log.txt"), str(log))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        assert isinstance(outcome, RowOutcome)
        return outcome

    def healthy(self) -> bool:
        return bool(self.cluster.ray.get(self.actor.healthy.remote(), timeout=30))

    def renew(self) -> Slot | None:
        self.close()
        if self.spec.startswith("vnc://"):
            return None  # a server we did not start
        return RaySlot(self.cluster, self.spec, None)  # anywhere still alive

    def stop(self) -> None:
        try:
            self.actor.stop.remote()
        except Exception:  # noqa: BLE001 - the actor is gone already
            pass

    def close(self) -> None:
        try:
            self.cluster.ray.get(self.actor.close.remote(), timeout=30)
        except Exception:  # noqa: BLE001 - the actor or its node is gone already
            pass
        try:
            self.cluster.ray.kill(self.actor)
        except Exception:  # noqa: BLE001
            pass


class RayCluster:
    """A connection to a running Ray cluster (``address``: ``auto``, ``HOST:PORT`` or
    ``ray://HOST:PORT``), the task's folder put in its object store once (without the batch's
    ``directory`` where it lies inside)."""

    def __init__(self, address: str, task: Path, settings: RowSettings, directory: Path,
                 start_timeout_s: float = 120.0) -> None:  # fmt: skip
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            import ray
        except ImportError:
            raise ConfigurationError(
                "--ray needs Ray: pip install 'gui-agent[ray]' (on the driver and every node)"
            ) from None
        self.ray: Any = ray
        self.start_timeout_s = start_timeout_s
        folder = task.resolve().parent
        out = directory.resolve()
        size = sum(
            p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_relative_to(out)
        )
        if size > MAX_TASK_FOLDER_BYTES:
            raise ConfigurationError(
                f"the task's folder {folder} holds {size / 1e6:.0f} MB: every node gets a copy, "
                f"at most {MAX_TASK_FOLDER_BYTES / 1e6:.0f} MB (move data out of it)"
            )
        try:
            self.ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; one line for all
            raise ConfigurationError(f"--ray {address}: cannot connect: {exc}") from exc
        self._folder = self.ray.put(pack((folder, "."), leave_out=directory))
        self._task_file = task.resolve().name
        self._settings = settings
        remote = self.ray.remote(num_cpus=0, max_restarts=0, max_concurrency=4)
        self._host = remote(DesktopHost)

    def nodes(self) -> list[str]:
        return [n["NodeID"] for n in self.ray.nodes() if n.get("Alive")]

    def start_host(self, spec: str, node: str | None) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        options: dict[str, Any] = {}
        if node is not None:
            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=False)
        return self._host.options(**options).remote(
            spec, self._folder, self._task_file, self._settings
        )

    def slots(self, per_node: int, size: tuple[int, int], vnc: Sequence[DesktopSpec]) -> list[Slot]:
        """``per_node`` private displays on every node alive, or one actor per VNC desktop."""
        slots: list[Slot] = []
        try:
            if vnc:
                slots += [RaySlot(self, spec.describe(), None) for spec in vnc]
            else:
                private = f"private:{size[0]}x{size[1]}"
                for node in self.nodes():
                    slots += [RaySlot(self, private, node) for _ in range(per_node)]
        except BaseException:
            for slot in slots:
                slot.close()
            raise
        return slots

    def close(self) -> None:
        self.ray.shutdown()
