"""Recording a person: what they do on a desktop, as a trajectory that replays.

:class:`PersonRecorder` runs three threads beside the caller's: the
:class:`~agent.runs.input_events.InputListener` (the X server's input through RECORD), the
:class:`~agent.runs.frame_ring.FrameRing` (the screen, captured continuously into a small ring)
and one writer. The caller's thread reads the events into actions
(:class:`~agent.runs.gestures.GestureReader`) and pairs each with its screenshots:

* **before**: the last distinct frame whose capture began before the action's first event
  (what the person saw when deciding). It is pinned as soon as the gesture opens, so a screen
  that keeps changing while a double click or a typing burst is still open cannot push it out
  of the ring;
* **after**: the last frame captured :data:`AFTER_S` after the action ended, or just before the
  next action began if that came sooner (the same file when the screen did not change).

Each action becomes one step, written like a script's (``source: person``): its screenshot, the
executed actions in screen coordinates, the same actions in capture pixels as ``parsed``, and
per point a :class:`~agent.trajectory.TargetRecord` named by a
:class:`~agent.runs.target_naming.TargetNamer` (OCR text, or a model's words), so that a replay
re-grounds it and :mod:`agent.runs.task_writer` writes it as a task step. Timings keep the pause
before the action and its length (``pause``, ``gesture``). The writer puts each step on disk as
soon as its gesture is complete (decision and result lines together, after its PNG; the after
frame in a third line later): a recorder killed at any moment loses no finished action.

Hotkeys (:data:`DEFAULT_HOTKEYS`): ``stop`` ends the recording like Ctrl-C or SIGTERM
(:meth:`PersonRecorder.stop`); ``secret`` opens and closes a secret span: the text typed in it
is written as a placeholder ``{NAME}`` (the names given, in order, then ``SECRET_1``...), its
characters kept in memory only to redact them from every line written (a target whose text
shows the value, too). The meta names the secrets as they appear, so a replay asks for them.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actions.executor import ActionResult
from actions.schema import Action, Click, Drag, KeyPress, Scroll, TypeText, map_points, points_of
from agent.errors import AgentError, ConfigurationError, RecordingError
from agent.geometry import CoordinateSpace, ModelFrame, Point, to_model
from agent.runs.frame_ring import CAPTURE_INTERVAL_S, RING_FRAMES, Frame, FrameRing
from agent.runs.gestures import (
    DRAG_PX,
    MULTI_CLICK_PX,
    MULTI_CLICK_S,
    SCROLL_PAUSE_S,
    SCROLL_PX,
    TYPING_PAUSE_S,
    Gesture,
    GestureReader,
    Mark,
    pause_between,
)
from agent.runs.input_events import InputEvent, InputListener
from agent.runs.target_naming import TargetNamer
from agent.screen.capture import MonitorChoice
from agent.screen.matching import same_screen
from agent.secrets import Secrets
from agent.step import library_versions
from agent.trajectory import (
    FrameRecord,
    MonitorRecord,
    RunStatus,
    ScreenshotFile,
    StepRecord,
    TargetRecord,
    TrajectoryMeta,
    TrajectoryRecorder,
    now_iso,
)

__all__ = [
    "AFTER_S",
    "DEFAULT_HOTKEYS",
    "PersonRecorder",
    "PersonRecording",
    "describe_gesture",
    "wait_until_drawn",
]

AFTER_S = 0.5
"""the after frame: the screen this long after an action (or when the next one began)"""
DEFAULT_HOTKEYS: dict[str, tuple[str, ...]] = {
    "stop": ("ctrl", "shift", "f12"),
    "secret": ("ctrl", "shift", "f11"),
}
_ARRIVAL_S = 0.05  # events reach the recorder within this; a gesture is closed after that
_POLL_S = 0.02
_LAUNCH_STILL_S = 0.3


@dataclass(frozen=True)
class PersonRecording:
    """What a recording gave: its directory, its steps, how it ended."""

    directory: Path
    steps: int
    status: RunStatus
    message: str
    secrets: list[str] = field(default_factory=list)
    """the names of the secret spans typed"""


def describe_gesture(actions: Sequence[Action]) -> str:
    """The actions of a step in a few words (points in screen coordinates)."""
    words = []
    for action in actions:
        if isinstance(action, Click):
            what = {1: "click", 2: "double click", 3: "triple click"}[action.count]
            button = "" if action.button == "left" else f"{action.button} "
            where = action.point.screen_xy() if action.point else "here"
            words.append(f"{button}{what} {where}")
        elif isinstance(action, Drag):
            start = action.start.screen_xy() if action.start else "here"
            words.append(f"drag {start} -> {action.end.screen_xy()}")
        elif isinstance(action, Scroll):
            where = action.point.screen_xy() if action.point else "here"
            words.append(f"scroll {action.direction} {action.amount} {where}")
        elif isinstance(action, TypeText):
            words.append(f"type {action.text!r}")
        elif isinstance(action, KeyPress):
            words.append("press " + "+".join(action.keys))
        else:
            words.append(action.action)
    return ", ".join(words)


_VERBS = {("left", 1): "click", ("left", 2): "double_click", ("left", 3): "triple_click",
          ("right", 1): "right_click"}  # fmt: skip


def _verb(action: Action) -> str:
    if isinstance(action, Click):
        return _VERBS.get((action.button, action.count), f"{action.button}_click")
    return action.action


@dataclass
class _After:
    index: int
    deadline: float
    before: Frame


class PersonRecorder:
    """Records what a person does on ``display`` (default ``$DISPLAY``; X11 with RECORD) into
    the trajectory directory ``out``, until :meth:`stop`, the stop hotkey, or the display going
    away. ``monitor``/``scale``: the monitor captured (actions outside it are not recorded).
    ``namer``: names each point's target (None: points only; a replay can then match the
    recorded screenshot but not re-ground). ``hotkeys``: name -> combo (``stop``, ``secret``).
    ``secret_names``: the placeholders of the secret spans, in order. ``progress``: called with
    a line (secrets redacted) per step written and per note."""

    def __init__(
        self,
        out: Path | str,
        *,
        display: str | None = None,
        monitor: MonitorChoice = "primary",
        scale: float | None = None,
        namer: TargetNamer | None = None,
        hotkeys: Mapping[str, Sequence[str]] | None = None,
        secret_names: Sequence[str] = (),
        instruction: str | None = None,
        settings: Mapping[str, Any] | None = None,
        desktop: Mapping[str, Any] | None = None,
        progress: Callable[[str], None] | None = None,
        capture_interval_s: float = CAPTURE_INTERVAL_S,
        ring_frames: int = RING_FRAMES,
    ) -> None:
        self.out = Path(out)
        self.display = display or os.environ.get("DISPLAY") or ""
        self.namer = namer
        self.hotkeys = dict(hotkeys if hotkeys is not None else DEFAULT_HOTKEYS)
        self.secret_names = list(secret_names)
        self.secrets = Secrets()
        Secrets({n: "x" for n in self.secret_names})  # the names are checked now
        self.instruction = instruction or "a person's demonstration"
        self.extra_settings = dict(settings or {})
        self.desktop = dict(desktop) if desktop is not None else None
        self.progress = progress or (lambda line: None)
        self.ring = FrameRing(
            display, monitor, scale, interval_s=capture_interval_s, capacity=ring_frames
        )
        self.reader = GestureReader(self.hotkeys)
        self.listener = InputListener(self._arrived, display)
        self._events: queue.Queue[InputEvent] = queue.Queue()
        self._stop = threading.Event()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="person-writer")
        self._recorder: TrajectoryRecorder | None = None
        self._pins: dict[float, Frame] = {}
        self._afters: list[_After] = []
        self._shots: dict[int, ScreenshotFile] = {}
        self._last: Gesture | None = None
        self._next = 0
        self._used_names: list[str] = []
        self.error: BaseException | None = None
        self.started = False
        self.written = 0
        self.stopped_by = ""

    # -- the caller's side --------------------------------------------------------------------

    def start(self) -> None:
        """Capture the first frame, open the trajectory, listen; returns once recording."""
        if not self.display:
            raise ConfigurationError("no display to record: set DISPLAY (e.g. DISPLAY=:0)")
        if self.namer is not None:
            self.namer.prepare()
        first = self.ring.start()
        try:
            meta = TrajectoryMeta(
                instruction=self.instruction,
                model=self.namer.name if self.namer is not None else "none",
                backend="person",
                style="none",
                min_pixels=1,
                max_pixels=2**31 - 1,
                monitor=MonitorRecord.of(first.monitor),
                settings={
                    "source": "person",
                    "display": self.display,
                    "namer": self.namer.name if self.namer is not None else None,
                    "hotkeys": {k: "+".join(v) for k, v in self.hotkeys.items()},
                    "thresholds": {
                        "multi_click_s": MULTI_CLICK_S,
                        "multi_click_px": MULTI_CLICK_PX,
                        "drag_px": DRAG_PX,
                        "typing_pause_s": TYPING_PAUSE_S,
                        "scroll_pause_s": SCROLL_PAUSE_S,
                        "scroll_px": SCROLL_PX,
                        "capture_interval_s": self.ring.interval_s,
                        "after_s": AFTER_S,
                    },
                    **self.extra_settings,
                    "secrets": [],
                },
                versions=library_versions(),
                started_at=now_iso(),
                desktop=self.desktop,
            )
            self._recorder = TrajectoryRecorder(self.out, meta, secrets=self.secrets)
            self.listener.start()
        except BaseException:
            self.ring.stop()
            if self._recorder is not None:
                self._recorder.close("error", "the recording could not start")
            raise
        self.started = True

    def stop(self, why: str = "stopped") -> None:
        """End the recording (thread-safe; a signal handler may call it)."""
        if not self._stop.is_set():
            self.stopped_by = why
        self._stop.set()

    def run(self) -> PersonRecording:
        """Record until :meth:`stop` or the stop hotkey; finish the trajectory. Starts first if
        :meth:`start` was not called."""
        if not self.started:
            self.start()
        status: RunStatus = "done"
        try:
            while not self._stop.is_set():
                self._tick()
                if self.listener.error is not None or not self.listener.alive():
                    raise RecordingError(f"the input listener stopped: {self.listener.error}")
                if self.ring.error is not None:
                    raise RecordingError(f"the screen capture stopped: {self.ring.error}")
                if self.error is not None:
                    raise self.error
        except KeyboardInterrupt:
            self.stopped_by = self.stopped_by or "Ctrl-C"
        except AgentError as exc:
            status, self.stopped_by = "error", f"{type(exc).__name__}: {exc}"
        finally:
            status, message = self._finish(status)
        return PersonRecording(self.out, self.written, status, message, list(self._used_names))

    # -- reading ------------------------------------------------------------------------------

    def _arrived(self, event: InputEvent) -> None:
        self._events.put(event)

    def _tick(self) -> None:
        try:
            batch = [self._events.get(timeout=_POLL_S)]
        except queue.Empty:
            batch = []
        while True:
            try:
                batch.append(self._events.get_nowait())
            except queue.Empty:
                break
        for event in batch:
            if event.kind in ("button_down", "key_down"):
                for after in self._afters:
                    after.deadline = min(after.deadline, event.time)
            self._take(self.reader.feed(event))
            self._pin()
        self._take(self.reader.advance(time.monotonic() - _ARRIVAL_S))
        self._pin()
        self._resolve_afters(time.monotonic())

    def _pin(self) -> None:
        """Keep the frame of every gesture still open (the ring may move past it)."""
        self._pins = {t: self._pins.get(t) or self.ring.before(t) for t in self.reader.starts()}

    def _take(self, found: list[Gesture | Mark]) -> None:
        for item in found:
            if isinstance(item, Mark):
                if item.name == "stop":
                    self.stop("the stop hotkey")
                elif item.name == "secret":
                    state = "opened: what is typed now is kept as a placeholder" if \
                        self.reader.in_secret else "closed"  # fmt: skip
                    self.progress(f"secret span {state}")
                continue
            frame = self._pins.get(item.started) or self.ring.before(item.started)
            if not all(
                frame.monitor.contains(*p.screen_xy()) for a in item.actions for p in points_of(a)
            ):
                self.progress(f"not recorded (outside the recorded monitor): "
                              f"{describe_gesture(item.actions)}")  # fmt: skip
                continue
            if item.secret:
                item = self._hide(item)
            index, self._next = self._next, self._next + 1
            pause = pause_between(self._last, item)
            self._last = item
            self._writer.submit(self._guard, self._write, index, item, frame, pause)
            self._afters.append(_After(index, item.ended + AFTER_S, frame))

    def _hide(self, gesture: Gesture) -> Gesture:
        """The secret span's text as its placeholder (the value stays in :attr:`secrets`)."""
        actions = []
        for action in gesture.actions:
            if isinstance(action, TypeText):
                name = self._secret_name()
                action = TypeText(text=self.secrets.add(action.text, name))
                self._used_names.append(name)
            actions.append(action)
        return Gesture(gesture.kind, tuple(actions), gesture.started, gesture.ended, True)

    def _secret_name(self) -> str:
        for name in self.secret_names:
            if name not in self._used_names:
                return name
        n = 1
        while f"SECRET_{n}" in self._used_names or f"SECRET_{n}" in self.secret_names:
            n += 1
        return f"SECRET_{n}"

    def _resolve_afters(self, now: float, final: bool = False) -> None:
        waiting = []
        for after in self._afters:
            if final:
                after.deadline = min(after.deadline, now)
            elif now < after.deadline + 2 * self.ring.interval_s:
                waiting.append(after)
                continue
            frame = self.ring.before(after.deadline)
            self._writer.submit(self._guard, self._write_after, after.index, frame, after.before)
        self._afters = waiting

    # -- writing (the writer thread) ----------------------------------------------------------

    def _guard(self, work: Callable[..., None], *args: Any) -> None:
        if self.error is not None:
            return
        try:
            work(*args)
        except BaseException as exc:  # noqa: BLE001 - the caller's thread stops the recording
            self.error = exc if isinstance(exc, AgentError) else RecordingError(
                f"{type(exc).__name__}: {exc}"
            )  # fmt: skip
            self._stop.set()

    def _write(self, index: int, gesture: Gesture, frame: Frame, pause: float) -> None:
        recorder = self._recorder
        assert recorder is not None
        if self.secrets.names != recorder.meta.settings.get("secrets"):
            recorder.note_settings(secrets=self.secrets.names)  # before the step that types one
        image, monitor = frame.image, frame.monitor
        capture = ModelFrame.identity(image.width, image.height)
        shot = recorder.screenshot(index, image)
        self._shots[index] = shot
        started = time.perf_counter()
        targets = []
        for action in gesture.actions:
            for point in points_of(action):
                targets.append(self._target(_verb(action), frame, capture, point))
        naming = time.perf_counter() - started

        def captured(point: Point) -> Point:
            return to_model(point, capture, monitor, CoordinateSpace.RESIZED)

        duration = gesture.ended - gesture.started
        step = StepRecord(
            index=index,
            timings={
                "pause": round(pause, 3),
                "gesture": round(duration, 3),
                "name": round(naming, 3),
            },  # fmt: skip
            screenshot=shot.name,
            frame=FrameRecord.of(capture),
            monitor=MonitorRecord.of(monitor),
            source="person",
            parsed=[map_points(a, captured) for a in gesture.actions],
            executed=list(gesture.actions),
            targets=targets,
        )
        recorder.decision(step, shot)
        each = duration / len(gesture.actions)
        results = [ActionResult(ok=True, duration_s=max(0.0, each)) for _ in gesture.actions]
        recorder.result(index, results, None, {})
        self.written += 1
        named = [t.description for t in targets if t.description]
        on = f" on {', '.join(repr(n) for n in named)}" if named else ""
        self.progress(self.secrets.redact(
            f"step {index}: {describe_gesture(gesture.actions)}{on} (after {pause:.1f} s)"
        ))  # fmt: skip

    def _target(self, verb: str, frame: Frame, capture: ModelFrame, point: Point) -> TargetRecord:
        pixel = to_model(point, capture, frame.monitor, CoordinateSpace.RESIZED).xy()
        named = None
        if self.namer is not None:
            try:
                named = self.namer.describe(frame.image, pixel)
            except AgentError as exc:
                self.progress(f"could not name the target at {pixel}: {exc}")
        if named is None:
            return TargetRecord(verb=verb, pixel=pixel, located_by="person")
        return TargetRecord(
            verb=verb,
            description=named.description,
            located_by=named.located_by,
            pixel=pixel,
            box=named.box,
            offset=named.offset,
        )

    def _write_after(self, index: int, frame: Frame, before: Frame) -> None:
        recorder = self._recorder
        assert recorder is not None
        shot = self._shots.get(index)
        if shot is None:
            return
        if frame.number != before.number and not same_screen(before.image, frame.image):
            shot = recorder.screenshot(index, frame.image, "_after")
        recorder.after(index, shot)

    # -- the end ------------------------------------------------------------------------------

    def _finish(self, status: RunStatus) -> tuple[RunStatus, str]:
        self.listener.stop()
        try:
            while True:  # what arrived before the listener stopped
                event = self._events.get_nowait()
                self._take(self.reader.feed(event))
                self._pin()
        except queue.Empty:
            pass
        self._take(self.reader.flush())
        self._resolve_afters(time.monotonic(), final=True)
        self._writer.shutdown(wait=True)
        self.ring.stop()
        if self.error is not None:
            status = "error"
            self.stopped_by = f"{type(self.error).__name__}: {self.error}"
        if status == "done":
            message = f"recorded {self.written} actions; ended by {self.stopped_by or 'stop'}"
        else:
            message = f"{self.stopped_by}; recorded {self.written} actions"
        message = self.secrets.redact(message)
        if self._recorder is not None:
            self._recorder.close(status, message)
        return status, message


def wait_until_drawn(ring: FrameRing, since: Frame, timeout_s: float, alive: Callable[[], bool]
                     ) -> bool:  # fmt: skip
    """Wait until the screen changed from ``since`` and then stayed still for a moment (an app
    that was launched is drawn); False at the timeout or when ``alive()`` turns False."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive():
        latest = ring.latest()
        if (
            latest is not None
            and latest.number != since.number
            and time.monotonic() - latest.grabbed >= _LAUNCH_STILL_S
        ):
            return True
        time.sleep(_POLL_S)
    return False
