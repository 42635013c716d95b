"""The desktop an MCP server drives: one script session, one trajectory, one call at a time.

:class:`DesktopSession` holds the session's :class:`~agent.scripts.desktop.Desktop` (every call
a recorded, policy-checked step of the loop) on an open
:class:`~agent.desktops.base.DesktopConnection`, and the frame of the last screenshot the client
got, so that ``click(x=..., y=...)`` in that screenshot's pixels goes through the one conversion
like a model's point (:class:`~agent.mcp.calls.FramedCall`). Its methods are what the tools do,
synchronous (the server runs them in worker threads):

* everything that touches the desktop runs on the session's own thread, in order: opening it,
  every call, closing it (an X display connection and mss belong to the thread that uses them);
* a call the client gave up on (its timeout, a disconnect) is *abandoned*: its ``abandoned``
  event is set, and from then on the session's executor refuses every action of it
  (:class:`~agent.errors.Aborted`) and ``wait_for`` stops looking, so nothing happens after the
  client was told the call failed;
* held keys and buttons are released after a failed call (the loop releases them after every
  call already) and when the session closes;
* a call that fails before any step (bad arguments, no screenshot yet, a task file that cannot
  be read) is still recorded, as a note step saying why.

``run_task`` runs a task file into a trajectory of its own under ``OUT/tasks/`` and records its
verdict as a step of the session's. Errors are the library's own (:mod:`agent.errors`); the
server turns them into tool errors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from actions.executor import ActionResult, Executor
from actions.schema import Action, Click
from agent.desktops.base import DesktopConnection
from agent.errors import Aborted, AgentError, ConfigurationError, RunError, WaitTimeout
from agent.geometry import CoordinateSpace, ModelFrame, Monitor, Point, to_model, to_screen
from agent.mcp.calls import FramedCall, ScreenshotCall
from agent.mcp.snapshot import DEFAULT_MAX_BYTES, DEFAULT_MAX_SIDE, Snapshot
from agent.scripts.desktop import Button, Desktop, Direction
from agent.scripts.task_runner import TaskResult
from agent.step import Step
from agent.trajectory import RunStatus, StepRecord

__all__ = ["DesktopSession", "ScriptFactory"]

T = TypeVar("T")

ScriptFactory = Callable[[DesktopConnection, Path, str], Desktop]
"""``script(desktop, out, name)``: the Desktop a session (or a task) records into ``out``, with
the server's grounder and safety options."""


class _CallGuard:
    """The executor the session's steps act through: the real one, except that an abandoned
    call's actions are refused."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.abandoned: threading.Event | None = None

    def execute(self, action: Action, monitor: Monitor) -> ActionResult:
        abandoned = self.abandoned
        if abandoned is not None and abandoned.is_set():
            raise Aborted("the call was abandoned (it timed out, or its client went away)")
        return self.inner.execute(action, monitor)

    def release(self) -> list[str]:
        return self.inner.release()


class _GuardedDesktop(DesktopConnection):
    """``inner`` with its executor behind a :class:`_CallGuard`; recorded and closed as it."""

    def __init__(self, inner: DesktopConnection, guard: _CallGuard) -> None:
        super().__init__(inner.spec, inner.screen, guard)
        self.inner = inner
        self.app_env = inner.app_env
        self.can_launch = inner.can_launch

    def record(self) -> dict[str, Any]:
        return self.inner.record()

    def close(self) -> None:
        self.inner.close()


class DesktopSession:
    """What the server's tools do, on one desktop, recorded into one trajectory at ``out``.

    ``open_desktop()`` opens the desktop (on the session's thread; :meth:`close` closes it
    there); ``script`` makes the Desktop (the CLI passes the grounder and the safety options);
    ``max_side``/``max_bytes`` cap the screenshots; ``poll_s`` is the pause between two looks
    of ``wait_for``; ``progress`` gets a task's progress lines. Close it on every way out.
    """

    def __init__(
        self,
        open_desktop: Callable[[], DesktopConnection],
        script: ScriptFactory,
        out: Path,
        *,
        max_side: int = DEFAULT_MAX_SIDE,
        max_bytes: int = DEFAULT_MAX_BYTES,
        poll_s: float = 0.5,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self._script = script
        self.out = Path(out)
        self.max_side = max_side
        self.max_bytes = max_bytes
        self.poll_s = poll_s
        self._progress = progress or (lambda line: None)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gui-agent-mcp")
        self._frame: ModelFrame | None = None
        self._tasks = 0
        self._closed = False
        self._shut = False
        self.calls = 0
        """calls made so far"""
        try:
            opened = self._thread.submit(open_desktop).result()
        except BaseException:
            self._thread.shutdown(wait=False)
            raise
        self._guard = _CallGuard(opened.executor)
        self.connection: DesktopConnection = _GuardedDesktop(opened, self._guard)
        try:
            self.desktop = self._thread.submit(script, self.connection, self.out, "mcp").result()
        except BaseException:
            self._thread.submit(opened.close).result()
            self._thread.shutdown(wait=False)
            raise

    # -- the calls --------------------------------------------------------------------------

    def screenshot(self, abandoned: threading.Event | None = None) -> tuple[Snapshot, Monitor]:
        """A capped screenshot and the monitor it shows; its frame is what the next
        ``click(x, y)`` is in."""

        def work() -> tuple[Snapshot, Monitor]:
            call = ScreenshotCall(self.max_side, self.max_bytes)
            step = self.desktop.perform(call, "screenshot")
            assert call.taken is not None
            self._frame = call.taken.frame
            return call.taken, _monitor(step.record, self.connection)

        return self.call("screenshot", "the desktop", work, abandoned)

    def locate(self, target: str, abandoned: threading.Event | None = None) -> dict[str, Any]:
        """Where ``target`` is: its screen point, its box (screen units) where the grounder
        gives one, and the point in the last screenshot's pixels; nothing is clicked."""

        def work() -> dict[str, Any]:
            point = self.desktop.locate(target)
            record = self.desktop.history[-1].record
            monitor = _monitor(record, self.connection)
            x, y = point.screen_xy()
            found: dict[str, Any] = {"target": target, "screen": {"x": x, "y": y}}
            box = record.targets[0].box if record.targets else None
            if box is not None and record.frame is not None:
                capture = ModelFrame.identity(record.frame.source_width, record.frame.source_height)
                corners = [
                    to_screen(Point(x=bx, y=by, space=CoordinateSpace.RESIZED), capture, monitor)
                    for bx, by in ((box[0], box[1]), (box[2], box[3]))
                ]
                (left, top), (right, bottom) = (c.screen_xy() for c in corners)
                found["box"] = {"left": left, "top": top, "right": right, "bottom": bottom}
            seen = self._in_screenshot(point, monitor, record)
            if seen is not None:
                found["screenshot"] = {"x": seen[0], "y": seen[1]}
            return found

        return self.call("locate", target, work, abandoned)

    def click(
        self,
        target: str | None = None,
        x: float | None = None,
        y: float | None = None,
        *,
        button: Button = "left",
        count: int = 1,
        abandoned: threading.Event | None = None,
    ) -> str:
        """Click ``target`` (a description), or (x, y) in the last screenshot's pixels."""
        where = target if target is not None else f"({x}, {y})"

        def work() -> str:
            if count not in (1, 2, 3):
                raise ConfigurationError(f"count is 1, 2 or 3, not {count}")
            times = cast(Literal[1, 2, 3], count)
            clicks = "" if count == 1 else f" x{count}"
            if target is not None:
                if x is not None or y is not None:
                    raise ConfigurationError("give a target or x and y, not both")
                point = self.desktop.click(target, button=button, count=times)
                return f"{button}-clicked{clicks} {target!r} at screen {point.screen_xy()}"
            if x is None or y is None:
                raise ConfigurationError("give a target, or both x and y")
            frame = self._last_frame()
            seen = Point(x=x, y=y, space=CoordinateSpace.RESIZED)
            action = Click(point=seen, button=button, count=times)
            call = FramedCall("click", f"({x:g}, {y:g}) in the screenshot", [action], frame)
            step = self.desktop.perform(call, f"click ({x:g}, {y:g})")
            done = _executed_point(step)
            return f"{button}-clicked{clicks} screenshot ({x:g}, {y:g}) at screen {done}"

        return self.call("click", where, work, abandoned)

    def type_text(
        self, text: str, into: str | None = None, abandoned: threading.Event | None = None
    ) -> str:
        """Type ``text`` (after clicking ``into``, a description)."""

        def work() -> str:
            self.desktop.type(text, into=into)
            shown = self.desktop.secrets.redact(text)
            return (
                f"typed {len(text)} characters"
                + (f" into {into!r}" if into else "")
                + (f": {shown!r}" if len(shown) <= 80 else "")
            )

        return self.call("type", self.desktop.secrets.redact(text), work, abandoned)

    def press(self, keys: list[str], abandoned: threading.Event | None = None) -> str:
        """Press a key, or keys together in order (a combo)."""
        combo = "+".join(keys)

        def work() -> str:
            self.desktop.press(*keys)
            return f"pressed {combo}"

        return self.call("press", combo, work, abandoned)

    def scroll(
        self,
        direction: Direction,
        amount: int = 3,
        at: str | None = None,
        abandoned: threading.Event | None = None,
    ) -> str:
        """Turn the wheel ``amount`` clicks, over ``at`` (a description) or where the pointer
        is."""

        def work() -> str:
            self.desktop.scroll(direction, amount, at)
            return f"scrolled {direction} {amount} clicks" + (f" over {at!r}" if at else "")

        return self.call("scroll", f"{direction} {amount}", work, abandoned)

    def drag(self, start: str, end: str, abandoned: threading.Event | None = None) -> str:
        """Press on ``start``, release on ``end`` (descriptions)."""

        def work() -> str:
            a, b = self.desktop.drag(start, end)
            return f"dragged {start!r} {a.screen_xy()} to {end!r} {b.screen_xy()}"

        return self.call("drag", f"{start} -> {end}", work, abandoned)

    def wait_for(
        self, target: str, timeout_s: float = 10.0, abandoned: threading.Event | None = None
    ) -> str:
        """Look every ``poll_s`` until ``target`` is visible; WaitTimeout after
        ``timeout_s``. Each look is a step; an abandoned wait stops looking."""
        stop = abandoned or threading.Event()

        def work() -> str:
            start = time.monotonic()
            while True:
                if self.desktop.is_visible(target, verb="wait_for"):
                    return f"{target!r} is visible (after {time.monotonic() - start:.1f} s)"
                if stop.is_set():
                    raise Aborted("the wait was abandoned (it timed out, or its client went away)")
                if time.monotonic() + self.poll_s > start + timeout_s:
                    raise WaitTimeout(f'"{target}" did not appear within {timeout_s:g} s')
                stop.wait(self.poll_s)

        return self.call("wait_for", target, work, stop)

    def run_task(
        self,
        path: str,
        variables: Mapping[str, str] | None = None,
        abandoned: threading.Event | None = None,
    ) -> TaskResult:
        """Run a task file (or a bundled task's name) into ``OUT/tasks/NN-NAME``; its result,
        recorded as a step of this session."""

        def work() -> TaskResult:
            from agent.scripts.task_file import load_task
            from agent.scripts.task_runner import check_launchable, run_task

            task = load_task(_task_path(path))
            check_launchable(task, self.connection)
            self._tasks += 1
            out = self.out / "tasks" / f"{self._tasks:02d}-{task.name}"
            result = run_task(
                task,
                lambda directory: self._script(self.connection, directory, task.name),
                out,
                variables=variables,
                progress=self._progress,
                app_env=self.connection.app_env,
            )
            self._note("run_task", path, f"{result.status}: {result.message} (trajectory {out})")
            return result

        return self.call("run_task", path, work, abandoned)

    def act(
        self, instruction: str, max_steps: int = 10, abandoned: threading.Event | None = None
    ) -> str:
        """The agent loop for a sub-goal (needs a model); raises unless the model ends it with
        success."""

        def work() -> str:
            result = self.desktop.act(instruction, max_steps)
            return f"{result.status} in {result.steps} steps: {result.message}"

        return self.call("act", instruction, work, abandoned)

    # -- one call at a time -----------------------------------------------------------------

    def call(
        self,
        verb: str,
        description: str,
        work: Callable[[], T],
        abandoned: threading.Event | None = None,
    ) -> T:
        """Run ``work`` on the session's thread after the calls before it (an abandoned call
        does not start); a failure that left no step is recorded as a note."""
        if self._closed:
            raise RunError("the session is closed")
        done = self._thread.submit(self._run, verb, description, work, abandoned)
        return done.result()

    def _run(
        self,
        verb: str,
        description: str,
        work: Callable[[], T],
        abandoned: threading.Event | None,
    ) -> T:
        if self._closed:
            raise RunError("the session is closed")
        if abandoned is not None and abandoned.is_set():
            raise Aborted("the call was abandoned before it started")
        self.calls += 1
        self._guard.abandoned = abandoned
        before = len(self.desktop.history)
        try:
            return work()
        except AgentError as exc:
            self._release()
            if len(self.desktop.history) == before:
                self._note(verb, description, f"refused: {type(exc).__name__}: {exc}")
            raise
        finally:
            self._guard.abandoned = None

    def close(
        self, status: RunStatus = "done", message: str | None = None, wait_s: float = 30.0
    ) -> None:
        """Close the trajectory with ``status`` and the desktop, after the call in progress
        (abandoned) or ``wait_s``, releasing held keys and buttons; idempotent."""
        if self._closed:
            return
        running = self._guard.abandoned
        if running is not None:
            running.set()
        closing = self._thread.submit(self._close, status, message)
        self._closed = True  # calls queued behind the closing are refused
        try:
            closing.result(timeout=wait_s)
        except FutureTimeout:  # a call that does not end: close from here, best effort
            self._close(status, message)
        finally:
            self._thread.shutdown(wait=False, cancel_futures=True)

    def _close(self, status: RunStatus, message: str | None) -> None:
        if self._shut:
            return
        self._shut = True
        try:
            self.desktop.close(status, message or f"{self.calls} calls")
        finally:
            try:
                self._release()
            finally:
                self.connection.close()

    # -- helpers ----------------------------------------------------------------------------

    def _last_frame(self) -> ModelFrame:
        if self._frame is None:
            raise ConfigurationError(
                "x and y are pixels of the last screenshot: take a screenshot first"
            )
        return self._frame

    def _in_screenshot(
        self, point: Point, monitor: Monitor, record: StepRecord
    ) -> tuple[int, int] | None:
        """``point`` in the last screenshot's pixels, when that screenshot is of this capture
        size."""
        frame = self._frame
        if frame is None or record.frame is None:
            return None
        if (frame.source_width, frame.source_height) != (
            record.frame.source_width,
            record.frame.source_height,
        ):
            return None
        seen = to_model(point, frame, monitor)
        return round(seen.x), round(seen.y)

    def _note(self, verb: str, description: str, outcome: str) -> None:
        try:
            self.desktop.note(verb, description, outcome)
        except AgentError:  # the desktop or the recording failed: the call's error says enough
            pass

    def _release(self) -> None:
        try:
            self._guard.inner.release()
        except Exception:  # noqa: BLE001 - releasing is best effort on a failing desktop
            pass


def _monitor(record: StepRecord, desktop: DesktopConnection) -> Monitor:
    return record.monitor.monitor() if record.monitor is not None else desktop.screen.monitor


def _executed_point(step: Step) -> tuple[int, int] | None:
    for action in step.record.executed:
        point = getattr(action, "point", None)
        if isinstance(point, Point):
            return point.screen_xy()
    return None


def _task_path(value: str) -> Path:
    """A task file, or, where no such file exists and the value is a bare name, the bundled
    task of that name."""
    path = Path(value)
    if path.exists() or path.suffix or len(path.parts) != 1:
        return path
    from agent.scripts.bundled import bundled_task

    try:
        return bundled_task(value)
    except ConfigurationError as exc:
        raise ConfigurationError(f"no task file {value}, and {exc}") from None
