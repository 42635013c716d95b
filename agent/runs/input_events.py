"""A person's input, as the X server sees it: the RECORD extension on its own connection.

:class:`InputListener` asks the X server (through python-xlib's RECORD extension, on two X
connections of its own and one thread) for every device event of every client: key and button
presses and releases, pointer motion. Nothing is grabbed: the person's input reaches the apps
as before, and events injected through XTEST (xdotool, a VNC server such as x11vnc serving a
person who uses a VNC viewer) are seen exactly like a real keyboard's and mouse's. Why RECORD
through python-xlib and not pynput: pynput does the same thing underneath on X11 (it is built
on python-xlib's RECORD), but binds to ``$DISPLAY`` at import and hides the server's
timestamps and modifier state; here the display is named (a private one works beside your own)
and every event keeps the server's time.

Each event becomes an :class:`InputEvent`: its kind, its time on this process's monotonic
clock (:class:`ServerClock` maps the server's millisecond timestamps: the offset is the least
seen between an event's arrival and its server time, so a delayed arrival never makes an event
look later than it was), where the pointer was (root coordinates, screen pixels), the button,
and for a key its name as :mod:`actions.key_names` spells it (``a``, ``enter``, ``ctrl``) and
the character it types with the modifiers held (Shift and Caps Lock read from the event's
state). The keyboard map is read once and kept current from the recorded
``ChangeKeyboardMapping`` requests (what xdotool and this project's X11 keyboard make to type a
character the keyboard lacks), in order with the events. Other layouts' level-3 characters
(AltGr) are read as their base key.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from actions.key_names import KEYSYM_CODES, KEYSYMS
from agent.errors import ConfigurationError

__all__ = ["EventKind", "InputEvent", "InputListener", "ServerClock", "key_name", "keysym_char"]

EventKind = Literal["button_down", "button_up", "motion", "key_down", "key_up"]

# X11 protocol numbers (X.h), kept here so the pure parts need no Xlib
_KEY_PRESS, _KEY_RELEASE, _BUTTON_PRESS, _BUTTON_RELEASE, _MOTION = 2, 3, 4, 5, 6
_KINDS: dict[int, EventKind] = {
    _KEY_PRESS: "key_down",
    _KEY_RELEASE: "key_up",
    _BUTTON_PRESS: "button_down",
    _BUTTON_RELEASE: "button_up",
    _MOTION: "motion",
}
_SHIFT_MASK, _LOCK_MASK = 1, 2
_CHANGE_KEYBOARD_MAPPING = 100  # the core request's opcode
_WRAP = 2**32  # server timestamps are 32-bit milliseconds

#: keysym number -> pyautogui key name, for the named keys (KEYSYMS' spellings, left first)
_NAMED: dict[int, str] = {}
for _name, _sym in KEYSYMS.items():
    _NAMED.setdefault(KEYSYM_CODES[_sym], _name)
_NAMED.update(
    {
        0xFF8D: "enter",  # KP_Enter
        0xFE20: "tab",  # ISO_Left_Tab (Shift+Tab)
        0xFFE7: "win",  # Meta_L
        0xFFE8: "winright",  # Meta_R
        0xFE03: "altright",  # ISO_Level3_Shift (AltGr)
        0xFF7E: "altright",  # Mode_switch
        0xFF9F: "delete",  # KP_Delete
        **{0xFF95 + i: k for i, k in enumerate(("home", "left", "up", "right", "down"))},
        0xFF9A: "pageup",
        0xFF9B: "pagedown",
        0xFF9C: "end",
        0xFF9E: "insert",
    }
)


def keysym_char(keysym: int) -> str | None:
    """The character a keysym types (Latin-1 keysyms are their code point, Unicode keysyms
    0x1000000 + the code point), None for a key that types none (Return, F1, a modifier)."""
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)
    if 0x1000100 <= keysym <= 0x110FFFF:
        return chr(keysym - 0x1000000)
    if 0xFFB0 <= keysym <= 0xFFB9:  # KP_0..KP_9
        return chr(ord("0") + keysym - 0xFFB0)
    keypad = {0xFFAA: "*", 0xFFAB: "+", 0xFFAD: "-", 0xFFAE: ".", 0xFFAF: "/", 0xFF80: " "}
    return keypad.get(keysym)


def key_name(keysym: int) -> str | None:
    """The pyautogui key name of a keysym (``enter``, ``ctrl``, ``a``), None if it has none."""
    if keysym in _NAMED:
        return _NAMED[keysym]
    char = keysym_char(keysym)
    if char is None:
        return None
    return {" ": "space"}.get(char, char.lower() if len(char.lower()) == 1 else char)


@dataclass(frozen=True)
class InputEvent:
    """One input event of the X server, on this process's clock."""

    kind: EventKind
    time: float
    """time.monotonic() seconds when the server took the event"""
    x: int
    y: int
    """where the pointer was, root (screen) pixels"""
    button: int = 0
    """1 left, 2 middle, 3 right, 4/5 wheel up/down, 6/7 wheel left/right"""
    key: str | None = None
    """the key's name as actions.key_names spells it (the unshifted key: ``a`` for A)"""
    char: str | None = None
    """the character the key types with the modifiers held, None if none"""


class ServerClock:
    """Maps the X server's 32-bit millisecond timestamps onto ``time.monotonic()``. The
    offset is the least ``arrival - server time`` seen so far (the arrival with the least
    delay), and the timestamps are unwrapped past 2**32 ms."""

    def __init__(self) -> None:
        self.offset: float | None = None
        self._last: int | None = None
        self._wraps = 0

    def local(self, server_ms: int, arrived: float) -> float:
        if self._last is not None and server_ms < self._last - _WRAP // 2:
            self._wraps += 1
        self._last = server_ms
        seconds = (server_ms + self._wraps * _WRAP) / 1000.0
        lag = arrived - seconds
        if self.offset is None or lag < self.offset:
            self.offset = lag
        return seconds + self.offset


class _Keymap:
    """Keycode -> keysyms (per level), as the server maps them; kept current from the recorded
    ChangeKeyboardMapping requests."""

    def __init__(self, first: int, rows: list[list[int]]) -> None:
        self.codes: dict[int, list[int]] = {first + i: row for i, row in enumerate(rows)}

    def change(self, request: bytes) -> None:
        """Apply a recorded ChangeKeyboardMapping request (its bytes as the client sent them)."""
        if len(request) < 8:
            return
        count, first, per = request[1], request[4], request[5]
        body = request[8 : 8 + 4 * count * per]
        if per == 0 or len(body) < 4 * count * per:
            return
        values = struct.unpack(f"={count * per}I", body)
        for i in range(count):
            self.codes[first + i] = list(values[i * per : (i + 1) * per])

    def key(self, keycode: int, state: int) -> tuple[str | None, str | None]:
        """(key name, character typed) of ``keycode`` with modifier ``state``."""
        row = self.codes.get(keycode, [])
        base = row[0] if row else 0
        shifted = row[1] if len(row) > 1 and row[1] else base
        name = key_name(base)
        plain = keysym_char(base)
        shift = bool(state & _SHIFT_MASK)
        if state & _LOCK_MASK and plain is not None and plain.isalpha():
            shift = not shift  # Caps Lock shifts letters only
        char = keysym_char(shifted if shift else base)
        return name, char


@contextlib.contextmanager
def _quiet_x(display: str) -> Iterator[None]:
    """python-xlib connecting without ~/.Xauthority (it raises, then prints a warning)."""
    saved = os.environ.get("XAUTHORITY")
    if saved is None and not os.path.exists(os.path.expanduser("~/.Xauthority")):
        os.environ["XAUTHORITY"] = os.devnull
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore", ResourceWarning)
            yield
    finally:
        if saved is None:
            os.environ.pop("XAUTHORITY", None)


class InputListener:
    """Listens to every input event of the X ``display`` (default ``$DISPLAY``) and hands
    each to ``on_event``, on the listener's own thread, in the server's order. :meth:`start`
    raises ConfigurationError (one line) when the display cannot be opened or has no RECORD
    extension; :meth:`stop` ends it (idempotent)."""

    def __init__(self, on_event: Callable[[InputEvent], None], display: str | None = None):
        self.on_event = on_event
        self.display = display or os.environ.get("DISPLAY") or ""
        self.clock = ServerClock()
        self.events = 0
        self.error: BaseException | None = None
        self._control: Any = None
        self._data: Any = None
        self._context: Any = None
        self._keymap: _Keymap | None = None
        self._thread: threading.Thread | None = None
        self._enabled = threading.Event()

    def start(self, timeout_s: float = 5.0) -> None:
        """Listen; returns once the server records (its first reply came), so no event after
        this call is missed."""
        if not self.display:
            raise ConfigurationError("no display to record: set DISPLAY (e.g. DISPLAY=:0)")
        try:
            from Xlib import X, display
            from Xlib.ext import record
        except ImportError as exc:  # pragma: no cover - python-xlib comes with pyautogui
            raise ConfigurationError(f"recording needs python-xlib: {exc}") from exc
        try:
            with _quiet_x(self.display):
                self._control = display.Display(self.display)
                self._data = display.Display(self.display)
        except Exception as exc:  # noqa: BLE001 - Xlib raises many kinds for "cannot connect"
            self._close()
            raise ConfigurationError(
                f"cannot open display {self.display!r} to record: {type(exc).__name__}: {exc}"
            ) from exc
        if not self._data.has_extension("RECORD"):
            self._close()
            raise ConfigurationError(
                f"display {self.display} has no RECORD extension: input cannot be recorded there"
            )
        mapping = self._data.display.info.min_keycode, self._data.display.info.max_keycode
        first, last = int(mapping[0]), int(mapping[1])
        rows = self._data.get_keyboard_mapping(first, last - first + 1)
        self._keymap = _Keymap(first, [list(r) for r in rows])
        self._context = self._data.record_create_context(
            0,
            [record.AllClients],
            [
                {
                    "core_requests": (_CHANGE_KEYBOARD_MAPPING, _CHANGE_KEYBOARD_MAPPING),
                    "core_replies": (0, 0),
                    "ext_requests": (0, 0, 0, 0),
                    "ext_replies": (0, 0, 0, 0),
                    "delivered_events": (0, 0),
                    "device_events": (X.KeyPress, X.MotionNotify),
                    "errors": (0, 0),
                    "client_started": False,
                    "client_died": False,
                }
            ],
        )
        self._data.sync()
        self._thread = threading.Thread(target=self._listen, name="input-listener", daemon=True)
        self._thread.start()
        if not self._enabled.wait(timeout_s):
            self.stop()
            raise ConfigurationError(
                f"display {self.display} did not start recording within {timeout_s:g} s"
                + (f": {self.error}" if self.error else "")
            )

    def _listen(self) -> None:
        try:
            self._data.record_enable_context(self._context, self._reply)
        except Exception as exc:  # noqa: BLE001 - the display went away: say so to the caller
            self.error = exc
        finally:
            self._enabled.set()  # start() must not wait for a listener that ended

    def _reply(self, reply: Any) -> None:
        from Xlib.ext import record
        from Xlib.protocol import rq

        arrived = time.monotonic()
        if reply.category == record.StartOfData:
            self._enabled.set()
            return
        if reply.client_swapped or not len(reply.data):
            return
        data = bytes(reply.data)
        if reply.category == record.FromClient:
            if data[0] == _CHANGE_KEYBOARD_MAPPING and self._keymap is not None:
                self._keymap.change(data)
            return
        if reply.category != record.FromServer:
            return
        field = rq.EventField(None)
        while len(data) >= 32:
            event, data = field.parse_binary_value(data, self._data.display, None, None)
            kind = _KINDS.get(event.type & 0x7F)
            if kind is None:
                continue
            when = self.clock.local(int(event.time), arrived)
            x, y = int(event.root_x), int(event.root_y)
            if kind in ("key_down", "key_up"):
                assert self._keymap is not None
                name, char = self._keymap.key(int(event.detail), int(event.state))
                found = InputEvent(kind, when, x, y, key=name, char=char)
            elif kind == "motion":
                found = InputEvent(kind, when, x, y)
            else:
                found = InputEvent(kind, when, x, y, button=int(event.detail))
            self.events += 1
            self.on_event(found)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        if self._control is not None and self._context is not None:
            with contextlib.suppress(Exception):
                self._control.record_disable_context(self._context)
                self._control.flush()
        if self._thread is not None:
            self._thread.join(5)
        if self._control is not None and self._context is not None:
            with contextlib.suppress(Exception):
                self._control.record_free_context(self._context)
                self._control.flush()
        self._context = None
        self._close()

    def _close(self) -> None:
        for connection in (self._data, self._control):
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
        self._data = self._control = None
