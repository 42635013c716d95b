"""The Run tab's work, without the web page: one run at a time, in a worker thread.

A :class:`RunRequest` is a bundled task (``tasks/NAME.yaml``: its app, steps and checks) or a
free instruction for a model, on the manager's desktop: by default a **private virtual display**
opened for each run (:func:`agent.desktops.connect.open_desktop`, ``private``: its own Xvfb, the
app launched on it, a VNC watch server on 127.0.0.1 whose address the log shows and whose
password goes to the server's stderr only), or a VNC desktop (``vnc://HOST:PORT``: apps are
started on the guest, not from here). A bundled task runs through
:func:`agent.scripts.demo.run_demo`; an instruction runs the :class:`~agent.loop.Agent`, with one
of the bundled apps (``tasks/apps/``) opened on a private display first if asked. The user's real
display (``$DISPLAY`` of the server) is used only when the request says so and carries the
user's confirmation.

:class:`RunManager` starts a :class:`RunJob` in a thread; the job collects the progress lines
as they come, and its stop file (in a temporary folder, not in the trajectory) ends the run
``aborted`` before its next action. Each run is recorded under the runs folder, and its viewer
page is written when it ends. Free instructions need a model: the OCR grounder only locates
text, so it is refused with a message, before anything starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from agent.desktops.base import DEFAULT_PRIVATE_SIZE, DesktopConnection, DesktopSpec
from agent.errors import ConfigurationError
from agent.grounding.base import Grounder
from agent.models.base import Backend
from agent.scripts.bundled import bundled_app, bundled_apps, bundled_task, bundled_tasks
from agent.scripts.task_runner import CheckResult
from agent.step import Step
from agent.styles.base import Style
from agent.trajectory import RunStatus
from agent.ui.ground_tab import one_line
from agent.ui.model_choice import ModelCache, ModelChoice

__all__ = ["RunJob", "RunManager", "RunRequest", "bundled_apps", "bundled_tasks"]

_APP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class RunRequest:
    """What to run, with what, and where."""

    task: str | None = None
    """a bundled task's name; None: run ``instruction``"""
    instruction: str = ""
    choice: ModelChoice = field(default_factory=ModelChoice)
    real_display: bool = False
    """run on the server's own display instead of a private virtual one"""
    confirmed: bool = False
    """the user confirmed that the agent may use the real mouse, keyboard and screen"""
    app: str | None = None
    """a bundled app to open on the private display first (free instructions)"""
    max_steps: int = 15

    def check(self, desktop: DesktopSpec | None = None) -> None:
        """Raise ConfigurationError (one line) for a request that cannot start on ``desktop``
        (where a run goes unless the real display is asked for; default a private display)."""
        desktop = desktop or DesktopSpec("private", DEFAULT_PRIVATE_SIZE)
        if self.task is not None:
            bundled_task(self.task)  # the one check of a name, with its one-line error
        elif not self.instruction.strip():
            raise ConfigurationError("type an instruction, or pick a bundled task")
        elif self.choice.is_ocr:
            raise ConfigurationError(
                "the ocr backend locates text but cannot follow an instruction: run a bundled "
                "task, or choose a model backend (transformers or openai)"
            )
        self.choice.check()
        if self.real_display:
            if not self.confirmed:
                raise ConfigurationError(
                    "running on the real display moves your mouse and types on your screen: "
                    "tick the confirmation first, or use a private virtual display"
                )
            if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
                raise ConfigurationError("there is no real display here (DISPLAY is not set)")
        elif desktop.kind == "private":
            from agent.desktops.private import check_tools

            check_tools()
        if self.app is not None and self.app not in bundled_apps():
            raise ConfigurationError(f"no bundled app {self.app!r} in tasks/apps/")
        if self.app is not None and not self.real_display and desktop.kind == "vnc":
            raise ConfigurationError(
                f"apps cannot be opened on {desktop.describe()} from here: start {self.app} on "
                "the guest"
            )
        if self.max_steps < 1:
            raise ConfigurationError(f"max steps must be at least 1, got {self.max_steps}")


class RunJob:
    """One run in its thread: the progress so far and, once it ended, how it ended."""

    def __init__(self, request: RunRequest, out: Path) -> None:
        self.request = request
        self.out = out
        self._stop_dir = tempfile.mkdtemp(prefix="gui-agent-stop-")
        self.stop_file = Path(self._stop_dir) / "STOP"
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.status: RunStatus | None = None
        self.message = ""
        self.checks: list[CheckResult] = []
        self.report: Path | None = None
        self.error: str | None = None
        """a one-line error that ended the run before it was recorded to its end"""

    def line(self, text: str) -> None:
        with self._lock:
            self._lines.append(text)

    def log(self) -> str:
        with self._lock:
            return "\n".join(self._lines)

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the end; True once the run has ended."""
        return self._done.wait(timeout)

    def stop(self) -> None:
        """Ask the run to stop before its next action (nothing, once it has ended)."""
        with contextlib.suppress(OSError):  # ended meanwhile: its stop folder is gone
            self.stop_file.touch()

    def _finish(self) -> None:
        shutil.rmtree(self._stop_dir, ignore_errors=True)
        self._done.set()


class RunManager:
    """Starts runs into ``runs``, one at a time, with models from ``models``, on ``desktop``
    (opened for each run; ``password``: a VNC server's, kept in memory only) unless a request
    asks for the real display."""

    def __init__(
        self,
        runs: Path,
        models: ModelCache,
        *,
        desktop: DesktopSpec | str = "private",
        password: str | None = None,
    ) -> None:
        self.runs = runs
        self.models = models
        self.desktop = desktop if isinstance(desktop, DesktopSpec) else DesktopSpec.parse(desktop)
        if self.desktop.kind == "local":
            raise ConfigurationError(
                "the web UI uses this machine's display only when a run asks for it, with the "
                "user's confirmation: give it a private or vnc:// desktop"
            )
        self._password = password
        self._lock = threading.Lock()
        self.current: RunJob | None = None

    def start(self, request: RunRequest) -> RunJob:
        """Check the request and start it; raises ConfigurationError (one line) when it cannot
        start, or while another run is going."""
        request.check(self.desktop)
        with self._lock:
            if self.current is not None and self.current.running:
                raise ConfigurationError("a run is going: wait for it to end, or stop it")
            job = RunJob(request, self._out(request))
            self.current = job
        thread = threading.Thread(target=self._work, args=(job,), name="gui-agent-run")
        thread.daemon = True
        thread.start()
        return job

    def stop(self) -> str:
        """Stop the current run before its next action; says what happened, in one line."""
        job = self.current
        if job is None or not job.running:
            return "no run is going"
        job.stop()
        return "stop requested: the run ends before its next action"

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop the current run, if any, and wait up to ``timeout_s`` for it to end (its
        private display and app stopped, its trajectory closed)."""
        job = self.current
        if job is not None and job.running:
            job.stop()
            job.wait(timeout_s)

    def _out(self, request: RunRequest) -> Path:
        stem = f"{request.task or 'run'}-{datetime.now():%Y%m%d-%H%M%S}"
        out, n = self.runs / stem, 2
        while out.exists():
            out, n = self.runs / f"{stem}-{n}", n + 1
        return out

    def _work(self, job: RunJob) -> None:
        try:
            if job.request.task is not None:
                self._task(job, job.request.task)
            else:
                self._instruction(job)
        except Exception as exc:  # noqa: BLE001 - the page shows one line, never a traceback
            job.error = one_line(exc)
            job.status = job.status or "error"
            job.message = job.message or job.error
            job.line(f"error: {job.error}")
        finally:
            job._finish()

    def _model(self, job: RunJob) -> ModelChoice:
        choice = job.request.choice
        job.line(f"model: {choice.describe()}")
        return choice

    def _task(self, job: RunJob, task: str) -> None:
        choice = self._model(job)
        model: Grounder | Backend
        style: Style | None = None
        if choice.is_ocr:
            model = self.models.grounder(choice)
        else:
            model, style = self.models.backend(choice), self.models.style(choice)
        from agent.scripts.demo import run_demo

        with self._open(job, 0.3 if job.request.real_display else 0.1) as desktop:
            result = run_demo(
                job.out,
                model=model,
                style=style,
                task=task,
                progress=job.line,
                stop_file=job.stop_file,
                desktop=desktop,
                settings={"ui": True},
            )
        job.status, job.message, job.checks = result.status, result.message, result.checks
        job.report = result.report
        job.line(f"{job.status}: {job.message}")

    def _open(self, job: RunJob, settle_s: float) -> DesktopConnection:
        """The desktop the job runs on, open: the real display if the request says so, else
        the manager's; a private one is watchable (its address in the log, its password on the
        server's stderr only)."""
        from agent.desktops.connect import open_desktop
        from agent.desktops.private import PrivateDesktop

        spec = DesktopSpec("local") if job.request.real_display else self.desktop
        desktop = open_desktop(
            spec,
            password=self._password if spec.kind == "vnc" else None,
            settle_s=settle_s,
            watch=spec.kind == "private",
        )
        try:
            if isinstance(desktop, PrivateDesktop) and desktop.watch is not None:
                job.line(f"watch with a VNC viewer: {desktop.watch.address} (its password is on "
                         "the server's terminal)")  # fmt: skip
                print(f"run {job.out.name}: {desktop.watch_note}", file=sys.stderr, flush=True)
        except BaseException:
            desktop.close()
            raise
        return desktop

    def _instruction(self, job: RunJob) -> None:
        from agent.loop import Agent
        from agent.runs.viewer import write_viewer
        from agent.scripts.demo import desktop_line

        request = job.request
        choice = self._model(job)
        backend = self.models.backend(choice)
        style = self.models.style(choice)
        with self._open(job, 0.3) as desktop:
            job.line(desktop_line(desktop))
            with _app(job, request.app, desktop):
                agent = Agent(
                    backend,
                    style,
                    desktop=desktop,
                    out=job.out,
                    max_steps=request.max_steps,
                    stop_file=job.stop_file,
                    settings={"ui": True, "app": request.app},
                )
                job.line(f"trajectory {job.out}")
                last: Step | None = None
                for step in agent.steps(request.instruction.strip()):
                    job.line(step.line())
                    last = step
        if last is not None and last.status is not None:
            job.status, job.message = last.status, last.message or ""
        job.line(f"{job.status}: {job.message}")
        job.report = write_viewer(job.out)


@contextmanager
def _app(job: RunJob, name: str | None, desktop: DesktopConnection) -> Iterator[None]:
    """The bundled app ``name`` open on a private ``desktop`` while the run goes (none on the
    real display, as before; a VNC desktop's apps are started on the guest), stopped after."""
    if name is None or desktop.app_env is None or not desktop.can_launch:
        yield
        return
    app = _launch_app(job, name, dict(desktop.app_env), Path(job.stop_file.parent))
    try:
        yield
    finally:
        app.terminate()
        try:
            app.wait(timeout=5)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait(timeout=5)


def _launch_app(
    job: RunJob, name: str, env: dict[str, str], scratch: Path
) -> subprocess.Popen[bytes]:
    """Start ``tasks/apps/NAME.py`` in the run's folder (what it saves lands there) and wait
    until it reports its window drawn; its state and messages go to ``scratch``."""
    job.out.mkdir(parents=True, exist_ok=True)
    state, errors = scratch / f"{name}.state.json", scratch / f"{name}.stderr"
    command = [sys.executable, str(bundled_app(name)), "--state", str(state)]
    job.line(f"launch: {name}")
    with errors.open("wb") as stderr:
        app = subprocess.Popen(
            command, cwd=job.out, env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
    deadline = time.monotonic() + _APP_TIMEOUT_S
    while time.monotonic() < deadline:
        if app.poll() is not None:
            error = errors.read_text(encoding="utf-8", errors="replace").strip()
            last = error.splitlines()[-1] if error else f"exit code {app.returncode}"
            raise ConfigurationError(f"the app {name} did not start: {last}")
        try:
            if json.loads(state.read_text(encoding="utf-8")).get("ready"):
                return app
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    app.kill()
    app.wait(timeout=5)
    raise ConfigurationError(f"the app {name} drew no window within {_APP_TIMEOUT_S:g} s")
