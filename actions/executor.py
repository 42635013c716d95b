"""Executors: carry out screen-space actions on the desktop (or pretend to).

:func:`check_action` runs before anything moves: points in screen space and on the monitor the
model saw (else ``OutOfBounds``, fed back to the model), keys known (else ``ParseError``).
:class:`PyAutoGUIExecutor` is the only place that imports pyautogui, lazily. pyautogui binds to
``$DISPLAY`` at import (python-xlib) and keeps global state, so an executor binds to the display
current at its construction (or ``display=``) and re-points pyautogui there when it was imported
for another one (connection, keyboard map, fail-safe corners). On X11, keyboard input goes
through :class:`~actions.x11_keyboard.X11Keyboard` (XTEST events on pyautogui's connection, extra
characters mapped first; the name and ``type_with="xdotool"`` are historical): pyautogui drops
non-ASCII and types ``<`` as ``>``. :meth:`PyAutoGUIExecutor.release` lets go of every button
and key the X server reports held, on every exit path of the loop. The fail-safe (pointer in a
screen corner) raises ``Aborted``; other failures ``ExecutionError``. :class:`DryRunExecutor`
only checks and records.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import math
import os
import shutil
import sys
import time
import warnings
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from actions.key_names import check_text, normalize_keys
from actions.schema import Action, Click, Drag, KeyPress, MouseMove, Scroll, TypeText, Wait
from actions.x11_keyboard import X11Keyboard, raised_inside_xlib
from agent.errors import Aborted, AgentError, ConfigurationError, ExecutionError, OutOfBounds
from agent.geometry import CoordinateSpace, Monitor, Point, round_half_away

__all__ = ["ActionResult", "DryRunExecutor", "Executor", "PyAutoGUIExecutor", "check_action"]

_X11 = sys.platform.startswith("linux")  # where pyautogui uses its X11 backend
_NO_DISPLAY = "no display: set DISPLAY (e.g. DISPLAY=:0) or start Xvfb; pyautogui needs X on Linux"


class ActionResult(BaseModel):
    """Outcome of one action; ``duration_s`` is the wall time of ``execute`` (settle included)."""

    model_config = ConfigDict(frozen=True)

    ok: bool = Field(description="True if the action was carried out")
    error: str | None = Field(default=None, description="why it was not, if it was not")
    duration_s: float = Field(ge=0, description="seconds spent executing")


@runtime_checkable
class Executor(Protocol):
    def execute(self, action: Action, monitor: Monitor) -> ActionResult:
        """Carry out one screen-space action (checked with :func:`check_action` first)."""
        ...

    def release(self) -> list[str]:
        """Let go of every mouse button and key still held down (after an interrupted drag or
        combo); the names of what was released."""
        ...


def _screen_xy(point: Point, what: str, monitor: Monitor) -> tuple[int, int]:
    if point.space is not CoordinateSpace.SCREEN:
        raise OutOfBounds(
            f"{what} is in {point.space.value} coordinates, but actions are executed "
            f"in screen pixels: convert it with agent.geometry.to_screen first"
        )
    if not (math.isfinite(point.x) and math.isfinite(point.y)):
        raise OutOfBounds(f"{what} ({point.x}, {point.y}) is not a finite point")
    x, y = round_half_away(point.x), round_half_away(point.y)
    if not monitor.contains(x, y):
        raise OutOfBounds(
            f"{what} ({point.x:g}, {point.y:g}) is outside the screen ({monitor.describe()}): "
            f"x must be in [{monitor.left}, {monitor.left + monitor.width - 1}] and y in "
            f"[{monitor.top}, {monitor.top + monitor.height - 1}]"
        )
    return x, y


def check_action(action: Action, monitor: Monitor) -> Action:
    """Validate ``action`` for ``monitor`` before anything moves; return it with points rounded to
    whole screen pixels and key names normalized to pyautogui's."""
    changes: dict[str, object] = {}
    for name in ("point", "start", "end"):
        point = getattr(action, name, None)
        if isinstance(point, Point):
            x, y = _screen_xy(point, f"{action.action} {name}", monitor)
            changes[name] = Point.screen(x, y)
    if isinstance(action, KeyPress):
        changes["keys"] = normalize_keys(action.keys)
    if isinstance(action, TypeText):
        check_text(action.text)
    return action.model_copy(update=changes) if changes else action


class DryRunExecutor:
    """Checks actions and records them; never touches the desktop. ``calls`` holds every accepted
    (action, monitor) in order, ``rejected`` the ones :func:`check_action` refused."""

    def __init__(self) -> None:
        self.calls: list[tuple[Action, Monitor]] = []
        self.rejected: list[tuple[Action, Monitor, AgentError]] = []

    def execute(self, action: Action, monitor: Monitor) -> ActionResult:
        t0 = time.perf_counter()
        try:
            check_action(action, monitor)
        except AgentError as exc:
            self.rejected.append((action, monitor, exc))
            raise
        self.calls.append((action, monitor))
        return ActionResult(ok=True, duration_s=time.perf_counter() - t0)

    def release(self) -> list[str]:
        return []


@contextlib.contextmanager
def _x_connect(display: str) -> Iterator[None]:
    """python3-xlib connecting quietly: DISPLAY set, XAUTHORITY=/dev/null without ~/.Xauthority
    (it raises otherwise), its prints and the pipes pyscreeze/mouseinfo leak at import ignored."""
    saved = dict(os.environ)
    os.environ["DISPLAY"] = display
    if "XAUTHORITY" not in os.environ and not os.path.exists(os.path.expanduser("~/.Xauthority")):
        os.environ["XAUTHORITY"] = os.devnull
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore", ResourceWarning)
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _import_pyautogui(display: str | None) -> Any:
    """Import pyautogui for ``display`` (None off X11)."""
    try:
        with _x_connect(display) if display else contextlib.nullcontext():
            import pyautogui
    except Exception as exc:
        if isinstance(exc, KeyError):
            raise ConfigurationError(_NO_DISPLAY) from exc
        raise ConfigurationError(
            f"pyautogui cannot use display {display!r}: {type(exc).__name__}: {exc}"
        ) from exc
    for name in ("pyscreeze", "mouseinfo"):  # close the pipes they leave open at import
        proc = getattr(sys.modules.get(name), "whichProc", None)
        for pipe in (proc.stdout, proc.stderr) if proc is not None else ():
            pipe.close()
    return pyautogui


_INTERRUPTED_MID_CALL = [False]  # pyautogui's X connection may be stuck (see _interruptible)


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C or SIGTERM may land inside python-xlib, which keeps its connection's state and
    locks on the stack: the next call on that connection then waits forever. Such an interrupt
    through here marks the connection, so that the next use opens a new one and drops the old
    without a word on it."""
    try:
        yield
    except KeyboardInterrupt as exc:
        _INTERRUPTED_MID_CALL[0] = _INTERRUPTED_MID_CALL[0] or raised_inside_xlib(exc)
        raise


def _drop(connection: Any, stuck: bool) -> None:
    """Close an X connection; one left stuck mid-call is closed without flushing (a flush would
    wait for the reader that is gone)."""
    with contextlib.suppress(Exception):
        connection.display.close_internal("client") if stuck else connection.close()


def _connected(x11: Any, display: str) -> bool:
    """pyautogui's X connection goes to ``display`` and still works (a display number is reused
    when an Xvfb stops and another starts, so the name alone does not tell). A round trip is
    the test: peeking at the socket is not, since events still unread on a connection whose
    server went away look like a live one, and python-xlib then spins on it forever."""
    if x11._display.get_display_name() != display:
        return False
    try:
        x11._display.screen().root.query_pointer()
    except Exception:  # noqa: BLE001 - any failure means: reconnect
        return False
    return True


def _release_held(display: Any) -> list[str]:
    """Release every pointer button and key the X server reports held; their names."""
    from Xlib import XK, X
    from Xlib.ext import xtest

    released: list[str] = []
    mask = display.screen().root.query_pointer().mask
    for button, bit in ((1, X.Button1Mask), (2, X.Button2Mask), (3, X.Button3Mask)):
        if mask & bit:
            xtest.fake_input(display, X.ButtonRelease, button)
            released.append(f"button {button}")
    keymap = display.query_keymap()
    pressed = [8 * i + b for i, byte in enumerate(keymap) for b in range(8) if byte & (1 << b)]
    names = {v: k[3:] for k, v in vars(XK).items() if k.startswith("XK_")}
    for code in pressed:
        xtest.fake_input(display, X.KeyRelease, code)
        released.append(names.get(display.keycode_to_keysym(code, 0)) or f"keycode {code}")
    display.sync()
    return released


def _bind_pyautogui(display: str | None) -> Any:
    """pyautogui, connected to ``display`` (X11), with PAUSE 0 and the fail-safe on."""
    if _X11 and not display:
        raise ConfigurationError(_NO_DISPLAY)
    pg: Any = sys.modules.get("pyautogui") or _import_pyautogui(display)
    stuck, _INTERRUPTED_MID_CALL[0] = _INTERRUPTED_MID_CALL[0], False
    if _X11 and display and (stuck or not _connected(pg.platformModule, display)):
        x11, mouseinfo = pg.platformModule, sys.modules.get("mouseinfo")
        old = {id(d): d for d in (x11._display, getattr(mouseinfo, "_display", None)) if d}
        try:
            with _x_connect(display):
                importlib.reload(x11)  # new connection and keyboard map, from $DISPLAY
        except Exception as exc:
            raise ConfigurationError(
                f"pyautogui cannot use display {display!r}: {type(exc).__name__}: {exc}"
            ) from exc
        if mouseinfo is not None:
            setattr(mouseinfo, "_display", x11._display)  # noqa: B010
        for conn in old.values():
            _drop(conn, stuck)
        width, height = pg.size()
        pg.FAILSAFE_POINTS[:] = [(0, 0), (0, height - 1), (width - 1, 0), (width - 1, height - 1)]
    pg.PAUSE = 0
    pg.FAILSAFE = True
    return pg


_INSTANT_POINTER_ACTIONS = (Click, MouseMove, Scroll)  # one pyautogui call, no duration


class PyAutoGUIExecutor:
    """Executes actions with pyautogui (and XTEST key events for keyboard input on X11).

    ``settle_s``: sleep after each action so the UI reacts before the next screenshot.
    ``type_with``: keyboard backend for TypeText and KeyPress; ``"auto"``: xdotool on X11 when
    installed, else pyautogui (which refuses characters it cannot type instead of dropping them).
    ``display``: X display to drive (default: ``$DISPLAY`` now). :meth:`close` (or ``with``)
    unmaps the characters added to the keyboard map.
    """

    def __init__(
        self,
        settle_s: float = 0.05,
        type_with: Literal["auto", "xdotool", "pyautogui"] = "auto",
        *,
        display: str | None = None,
        type_delay_ms: int = 2,
        drag_steps: int = 10,
        drag_step_s: float = 0.005,
    ) -> None:
        if min(settle_s, type_delay_ms, drag_step_s) < 0 or drag_steps < 1:
            raise ConfigurationError("settle_s, type_delay_ms, drag_step_s >= 0, drag_steps >= 1")
        if type_with not in ("auto", "xdotool", "pyautogui"):
            raise ConfigurationError(f"type_with must be auto, xdotool or pyautogui: {type_with!r}")
        self.settle_s, self.type_delay_ms = settle_s, type_delay_ms
        self.drag_steps, self.drag_step_s = drag_steps, drag_step_s
        self.display = (display or os.environ.get("DISPLAY")) if _X11 else None
        xdotool = _X11 and shutil.which("xdotool") is not None
        if type_with == "xdotool" and not xdotool:
            raise ConfigurationError("type_with='xdotool' needs X11 and the xdotool program")
        use_xdotool = type_with == "xdotool" or (type_with == "auto" and xdotool)
        self.keyboard: Literal["xdotool", "pyautogui"] = "xdotool" if use_xdotool else "pyautogui"
        self._keyboard: X11Keyboard | None = None

    def position(self) -> tuple[int, int]:
        """Where the pointer is, in screen coordinates."""
        with _interruptible():
            x, y = _bind_pyautogui(self.display).position()
        return int(x), int(y)

    def execute(self, action: Action, monitor: Monitor) -> ActionResult:
        t0 = time.perf_counter()
        checked = check_action(action, monitor)
        try:
            with _interruptible():
                pg = _bind_pyautogui(self.display)
                pg.failSafeCheck()
                if isinstance(checked, _INSTANT_POINTER_ACTIONS):
                    self._dispatch_checked(pg, checked, monitor)
                else:  # a drag or a wait keeps pyautogui's checks along the way: one can stop it
                    self._dispatch(pg, checked, monitor)
        except AgentError:
            raise
        except pg.FailSafeException as exc:
            raise Aborted(f"pyautogui fail-safe: pointer in a corner {pg.position()}") from exc
        except Exception as exc:
            raise ExecutionError(f"{action.action} failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(checked, Wait) and checked.action != "terminate":
            time.sleep(self.settle_s)
        return ActionResult(ok=True, duration_s=time.perf_counter() - t0)

    def _here(self, pg: Any, point: Point | None, monitor: Monitor) -> tuple[int, int]:
        if point is not None:
            return point.screen_xy()
        x, y = pg.position()
        return _screen_xy(Point.screen(x, y), "the pointer (no point was given)", monitor)

    def _dispatch_checked(self, pg: Any, action: Action, monitor: Monitor) -> None:
        """An instant pointer action after the one fail-safe check made: pyautogui would check
        four more times within the same millisecond (an X round trip each), so its checks are
        off for the call. What they would catch is still refused: a click or scroll at a
        fail-safe corner (pyautogui moves there, then aborts), here before anything moves."""
        point = getattr(action, "point", None)
        target = point.screen_xy() if point is not None else None
        if target in pg.FAILSAFE_POINTS and not isinstance(action, MouseMove):
            raise Aborted(f"pyautogui fail-safe: a {action.action} at the corner {target}")
        pg.FAILSAFE = False
        try:
            self._dispatch(pg, action, monitor)
        finally:
            pg.FAILSAFE = True

    def _dispatch(self, pg: Any, action: Action, monitor: Monitor) -> None:
        if isinstance(action, Click):
            x, y = self._here(pg, action.point, monitor)
            pg.click(x, y, clicks=action.count, interval=0.0, button=action.button)
        elif isinstance(action, MouseMove):
            pg.moveTo(*action.point.screen_xy())
        elif isinstance(action, Drag):
            self._drag(pg, self._here(pg, action.start, monitor), action.end.screen_xy())
        elif isinstance(action, Scroll):
            x, y = self._here(pg, action.point, monitor)
            sign = 1 if action.direction in ("up", "right") else -1
            scroll = pg.scroll if action.direction in ("up", "down") else pg.hscroll
            pg.moveTo(x, y)
            if action.amount:
                scroll(sign * action.amount, x, y)
        elif isinstance(action, KeyPress | TypeText):
            self._keyboard_input(pg, action)
        elif isinstance(action, Wait):
            deadline = time.monotonic() + action.seconds
            while (left := deadline - time.monotonic()) > 0:
                time.sleep(min(left, 0.1))
                pg.failSafeCheck()

    def _drag(self, pg: Any, start: tuple[int, int], end: tuple[int, int]) -> None:
        pg.moveTo(*start)
        pg.mouseDown(button="left")
        try:
            for i in range(1, self.drag_steps + 1):  # several motion events: X apps see a drag
                f = i / self.drag_steps
                pg.moveTo(
                    round_half_away(start[0] + (end[0] - start[0]) * f),
                    round_half_away(start[1] + (end[1] - start[1]) * f),
                )
                time.sleep(self.drag_step_s)
        except KeyboardInterrupt as exc:  # inside python-xlib: let go on a new connection
            _INTERRUPTED_MID_CALL[0] = raised_inside_xlib(exc)
            _bind_pyautogui(self.display)
            raise
        finally:  # always release, even when the fail-safe fired mid-drag
            pg.FAILSAFE = False
            try:
                pg.mouseUp(button="left")
            finally:
                pg.FAILSAFE = True

    def _keyboard_input(self, pg: Any, action: KeyPress | TypeText) -> None:
        keys = action.keys if isinstance(action, KeyPress) else ()
        text = None if isinstance(action, KeyPress) else action.text.replace("\r\n", "\n")
        if self.keyboard == "xdotool":
            connection = pg.platformModule._display  # re-created when pyautogui was re-pointed
            if self._keyboard is None or self._keyboard.connection is not connection:
                self._keyboard = X11Keyboard(self.display or "", connection, self.type_delay_ms)
            if text is None:
                return self._keyboard.press(keys)
            return self._keyboard.type(text, pause_s=max(self.settle_s, 0.1))
        mapping = pg.platformModule.keyboardMapping
        for key in (set(text) - {"\n"}) if text is not None else keys:
            # pyautogui silently skips unmapped keys, and on X11 presses shift with "<" -> ">"
            if (_X11 and key == "<") or mapping.get(key if len(key) == 1 else key.lower()) is None:
                raise ExecutionError(
                    f"pyautogui cannot type {key!r} on this platform; use "
                    "type_with='xdotool' on X11"
                )
        pg.write(text) if text is not None else pg.hotkey(*keys)  # "\n" presses Return

    def release(self) -> list[str]:
        """Release every button and key the display reports held (X11: asked from the server,
        so a combo or drag cut off in any process is caught), else the left button. Safe to
        call at any time; does nothing if this executor never acted."""
        pg: Any = sys.modules.get("pyautogui")
        if pg is None:
            return []
        if _X11 and self.display:
            with _interruptible():
                return _release_held(_bind_pyautogui(self.display).platformModule._display)
        pg.FAILSAFE = False
        try:
            pg.mouseUp(button="left")
            for key in ("ctrl", "shift", "alt", "win" if sys.platform != "darwin" else "command"):
                pg.keyUp(key)
        finally:
            pg.FAILSAFE = True
        return ["button 1", "modifiers"]

    def close(self) -> None:
        """Unmap the characters this executor added to the X keyboard map (on pyautogui's
        connection as it is now: the one they were mapped on may have been replaced)."""
        keyboard, self._keyboard = self._keyboard, None
        if keyboard is not None:
            with contextlib.suppress(Exception), _interruptible():
                keyboard.connection = _bind_pyautogui(self.display).platformModule._display
                keyboard.restore()

    def __enter__(self) -> PyAutoGUIExecutor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
