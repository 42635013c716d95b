"""The X11 keyboard: key presses and text as XTEST events on an X connection.

:class:`X11Keyboard` presses keys and types text as XTEST key events on a python-xlib
connection, after putting characters the keyboard map lacks (``é``, ``東``) on spare keycodes.

Why it is built this way (measured on Xvfb with the Tk test app, see
tests/gui/actions/test_typing_under_load.py). An Xlib application (Tk 8.6 here) does not translate
a key event with the keyboard map in effect when the event was sent, but with the server's map when
it *reads* the event: a MappingNotify only marks Xlib's copy stale, and the next lookup fetches the
map as it is then. Mapping a keycode *before* its key events is therefore safe (X delivers the
MappingNotify first; even a Tk stopped with SIGSTOP during the whole typing got it right).
Changing a keycode *after* its key events, before the application has read them, changes
characters already typed: ``xdotool type``'s per-character revert, recycling keycodes for a text
with more distinct extra characters than spare keycodes, and unmapping them at
:meth:`X11Keyboard.restore` (on ``executor.close()``). With Tk stopped, typing then
restoring gave ``hllo  <x>`` (keysyms ``??``), typing then recycling ``h乩llo 买乷 <x>`` (the
characters mapped there later). The previous version waited a fixed 0.1 s before recycling and
nothing before restoring: under a CPU hog on every core (2 cores), typing ``héllo 東京 <x>``, a
42-character text and ``héllo 東京 <x>`` with a fresh executor closed at once was wrong in 32 of
50 rounds (``héllo 東 <x>``, ``héllo στ <x>``; 1 of 30 without the hog), and always with the
application stopped for 1 s.

So a keycode that carried key events is remapped only after every window that had the focus
meanwhile has answered a ``_NET_WM_PING`` sent after those events: X delivers a client's events
in order and toolkits handle them in order (Tk answers although its WM_PROTOCOLS do not list the
ping), so the answer proves the key events were translated. An application that never answers
gets its first ``ack_timeout_s`` and then the old time bound. Now 0 of 110 rounds under the hog
were wrong, and the stopped application got exact text (typing waited for it). Key events go out
on the caller's connection, not through an ``xdotool`` process: a key pressed when anything
fails (an X error, KeyboardInterrupt) is released on the same connection, which the server
handles after the press, so no key stays down (a killed ``xdotool`` could leave one, and its
keys could still be in flight when a release from another connection arrived); held modifiers
and Caps Lock are cleared while typing, as ``xdotool type --clearmodifiers`` did. Speed without
load (executor, 2 ms between keys): ``héllo 東京 <x>`` 29 ms (28 ms before), the 42-character text
138 ms (314 ms before, two 0.1 s pauses).
"""

from __future__ import annotations

import contextlib
import select
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from actions.key_names import KEYSYM_CODES, char_keysym, key_keysym
from agent.errors import ExecutionError

__all__ = ["X11Keyboard", "raised_inside_xlib"]

_KEY_PRESS, _KEY_RELEASE = 2, 3  # X event types, for XTEST FakeInput
_LOCK_MASK, _POINTER_ROOT = 1 << 1, 1
_CAPS_LOCK = KEYSYM_CODES["Caps_Lock"]
#: text characters typed as named keys: (keysym, may it use the Shift level)
_TEXT_KEYS = {"\n": (KEYSYM_CODES["Return"], False), "\t": (KEYSYM_CODES["Tab"], False)}

Stroke = tuple[int, bool]  # (keysym, True if it may be reached with Shift: a character)
KeyEvent = tuple[int, bool]  # (keycode, True for a press)


def raised_inside_xlib(exc: BaseException) -> bool:
    """``exc`` (an interrupt: Ctrl-C, SIGTERM) was raised while python-xlib code ran. Its
    connection is then unusable: python-xlib keeps its send/receive state and locks on the
    stack without ``finally``, so the next call on that connection waits forever."""
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith("Xlib."):
            return True
        tb = tb.tb_next
    return False


class X11Keyboard:
    """Keyboard input on one X display: XTEST key events sent on ``connection`` (a python-xlib
    ``Display`` on that server: pyautogui's), after putting the characters the keyboard map
    lacks on spare keycodes.

    Extra characters stay mapped until :meth:`restore`. A text with more distinct extra
    characters than spare keycodes (18 on Xvfb) is typed in runs, recycling the least recently
    used keycodes. A keycode that carried key events is remapped (recycled, or unmapped by
    :meth:`restore`) only once every window that had the focus meanwhile has answered a
    ``_NET_WM_PING`` sent after those events, i.e. has read them (see the module docstring), or
    ``ack_timeout_s`` has passed. A window that has never answered is not pinged again after its
    first timeout: ``pause_s`` is all it gets from then on.
    """

    def __init__(self, display: str, connection: Any, delay_ms: int = 2,
                 ack_timeout_s: float = 2.0) -> None:
        self.display, self.connection, self.delay_ms = display, connection, delay_ms
        self.ack_timeout_s = ack_timeout_s
        self._owned: dict[int, int] = {}  # keysym -> keycode, least recently used first
        self._sent: set[int] = set()  # owned keycodes whose key events may still be unread
        self._readers: set[int] = set()  # windows that had the focus while they were sent
        self._answered: set[int] = set()  # client windows that answered a ping
        self._deaf: set[int] = set()  # client windows that never answered one
        self._token = 0

    def press(self, keys: Sequence[str]) -> None:
        """Press pyautogui-named ``keys`` down in order and release them in reverse order (a
        character on the Shift level, such as ``"A"``, with Shift)."""
        codes = self._prepare([(key_keysym(k), len(k) == 1) for k in keys], pause_s=0.1)
        shift = self._shift_code() if any(shifted for _, shifted in codes) else 0
        down: list[int] = []
        for code, shifted in codes:
            for c in (shift, code) if shifted else (code,):
                if c not in down:
                    down.append(c)
        self._send([[(c, True) for c in down] + [(c, False) for c in reversed(down)]])

    def type(self, text: str, pause_s: float = 0.1) -> None:
        """Type ``text``; each ``"\\n"`` presses Return, ``"\\t"`` Tab. Held modifier keys are
        released and Caps Lock switched off meanwhile (``xdotool type --clearmodifiers``)."""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        strokes = [_TEXT_KEYS.get(c) or (char_keysym(c), True) for c in text]
        if not strokes:
            return
        keysyms = [ks for ks, _ in strokes]
        named = {ks for ks, shiftable in strokes if not shiftable}
        with self._modifiers_cleared():
            start = 0
            for end in self._plan(keysyms, named):
                codes = self._prepare(strokes[start:end], pause_s)
                shift = self._shift_code() if any(shifted for _, shifted in codes) else 0
                self._send([[(shift, True)] * s + [(c, True), (c, False)] + [(shift, False)] * s
                            for c, s in codes])
                start = end

    def restore(self, pause_s: float = 0.1) -> None:
        """Unmap every keycode this object mapped (once the applications have read their keys)."""
        if self._sent:
            self._await_readers(pause_s)
        owned, self._owned = self._owned, {}
        for code in owned.values():
            self.connection.change_keyboard_mapping(code, [(0, 0)])
        if owned:
            self.connection.sync()

    # -- key events ------------------------------------------------------------------------------

    def _send(self, groups: Sequence[Sequence[KeyEvent]]) -> None:
        """Send key events group by group, ``delay_ms`` apart, and wait until the server has
        handled them. A key still down when anything stops it (an X error, KeyboardInterrupt) is
        released on the same connection, so the server handles the release after the press;
        except after an interrupt (Ctrl-C, SIGTERM) that landed inside python-xlib, which leaves
        the connection waiting forever on its next call: then it is not used again (the executor
        releases what the server reports held through a new one)."""
        conn = self.connection
        owned = {code for group in groups for code, _ in group} & set(self._owned.values())
        if owned:
            self._note_reader()
        down: list[int] = []
        interrupted = False
        try:
            for i, group in enumerate(groups):
                if i and self.delay_ms:
                    conn.flush()
                    time.sleep(self.delay_ms / 1000)
                for code, pressed in group:  # note a key before pressing it, forget it after
                    if pressed:
                        down.append(code)
                        conn.xtest_fake_input(_KEY_PRESS, code)
                    else:
                        conn.xtest_fake_input(_KEY_RELEASE, code)
                        if code in down:
                            down.remove(code)
        except KeyboardInterrupt as exc:
            if interrupted := raised_inside_xlib(exc):
                raise
            for code in reversed(down):
                conn.xtest_fake_input(_KEY_RELEASE, code)
            raise
        except BaseException:
            for code in reversed(down):
                conn.xtest_fake_input(_KEY_RELEASE, code)
            raise
        finally:
            if owned:
                self._sent |= owned
            if not interrupted:
                conn.sync()
                if owned:
                    self._note_reader()

    def _shift_code(self) -> int:
        for code in self.connection.get_modifier_mapping()[0]:
            if code:
                return int(code)
        raise ExecutionError("the X keyboard has no Shift key")

    @contextlib.contextmanager
    def _modifiers_cleared(self) -> Iterator[None]:
        """Release the modifier keys held down and switch Caps Lock off; put them back after."""
        conn = self.connection
        keymap = conn.query_keymap()
        held = list(dict.fromkeys(
            int(c) for i, row in enumerate(conn.get_modifier_mapping()) if i != 1  # not Lock
            for c in row if c and keymap[c // 8] >> (c % 8) & 1))
        caps = 0
        if conn.screen().root.query_pointer().mask & _LOCK_MASK:
            caps = self._fetch()[0].get(_CAPS_LOCK, 0)
        tap = [(caps, True), (caps, False)] if caps else []
        if not held and not tap:
            yield
            return
        self._send([[(c, False) for c in held] + tap])
        try:
            yield
        finally:
            self._send([tap + [(c, True) for c in held]])

    # -- the keyboard map ------------------------------------------------------------------------

    def _fetch(self) -> tuple[dict[int, int], dict[int, int], list[int]]:
        """(keysym -> keycode on level 1, keysym -> keycode on level 2 (Shift), spare keycodes)
        of group 1, from the server now; lowest keycodes first, spare ones highest first."""
        info = self.connection.display.info
        first, count = info.min_keycode, info.max_keycode - info.min_keycode + 1
        rows = self.connection.get_keyboard_mapping(first, count)
        level1: dict[int, int] = {}
        level2: dict[int, int] = {}
        for code, row in enumerate(rows, first):
            if len(row) > 0 and row[0]:
                level1.setdefault(int(row[0]), code)
            if len(row) > 1 and row[1]:
                level2.setdefault(int(row[1]), code)
        # Highest first, as xdotool does; keycode 8 is reserved under evdev/XKB.
        spare = [code for code, row in enumerate(rows, first) if not any(row) and code > 8]
        return level1, level2, sorted(spare, reverse=True)

    def _plan(self, keysyms: Sequence[int], named: Collection[int] = ()) -> list[int]:
        """End indexes of runs of ``keysyms`` that each fit the spare keycodes (``named``: keysyms
        that must be on level 1, not behind Shift)."""
        level1, level2, spare = self._fetch()
        capacity = len(spare) + len(self._owned)
        ends: list[int] = []
        needed: set[int] = set()
        for i, ks in enumerate(keysyms):
            native = ks not in self._owned and (
                ks in level1 or (ks not in named and ks in level2))
            if not native and ks not in needed:
                if len(needed) == capacity:
                    if not capacity:
                        raise ExecutionError("the X keyboard map has no spare keycode")
                    ends.append(i)
                    needed = set()
                needed.add(ks)
        return [*ends, len(keysyms)]

    def _ensure(self, keysyms: Iterable[int], named: Collection[int] = (),
                pause_s: float = 0.1) -> bool:
        """Map every keysym the keyboard map lacks; True if the map changed. A keycode that
        carried key events is remapped only after :meth:`_await_readers`."""
        wanted = list(dict.fromkeys(keysyms))
        level1, level2, spare = self._fetch()
        missing = [ks for ks in wanted
                   if not (ks in level1 or (ks not in named and ks in level2))]
        victims = [ks for ks in self._owned if ks not in wanted]  # least recently used first
        if len([ks for ks in missing if ks not in self._owned]) > len(spare) + len(victims):
            raise ExecutionError("more distinct extra characters than spare X keycodes")
        for ks in wanted:  # mark as recently used
            if ks in self._owned:
                self._owned[ks] = self._owned.pop(ks)
        changes: list[tuple[int, int]] = []
        for ks in missing:
            if ks in self._owned:  # unmapped by someone else: map it again where it was
                code = self._owned[ks]
            elif spare:
                code = spare.pop(0)
            else:
                code = self._owned.pop(victims.pop(0))
            self._owned[ks] = code
            changes.append((code, ks))
        if self._sent & {code for code, _ in changes}:
            self._await_readers(pause_s)
        for code, ks in changes:
            self.connection.change_keyboard_mapping(code, [(ks, ks)])
        return bool(changes)

    def _prepare(self, strokes: Sequence[Stroke], pause_s: float) -> list[tuple[int, bool]]:
        """Map what ``strokes`` need; their (keycode, with Shift)."""
        self._ensure([ks for ks, _ in strokes], {ks for ks, s in strokes if not s}, pause_s)
        level1, level2, _ = self._fetch()
        codes: list[tuple[int, bool]] = []
        for ks, shiftable in strokes:
            if ks in level1:
                codes.append((level1[ks], False))
            elif shiftable and ks in level2:
                codes.append((level2[ks], True))
            else:  # someone changed the map meanwhile
                raise ExecutionError(f"keysym {ks:#x} vanished from the X keyboard map")
        return codes

    # -- have the applications read their key events? --------------------------------------------

    def _note_reader(self) -> None:
        window = self._focus()
        if window:
            self._readers.add(window)

    def _focus(self) -> int:
        """The window that key events go to now (0: none)."""
        conn = self.connection
        focus = conn.get_input_focus().focus
        window = int(getattr(focus, "id", focus))
        root = conn.screen().root
        if window in (_POINTER_ROOT, root.id):  # keys go to the window under the pointer
            child = root.query_pointer().child
            window = int(getattr(child, "id", child))
        return window

    def _await_readers(self, pause_s: float) -> None:
        """Return once every window noted since the last call has read its key events."""
        readers, self._readers, self._sent = self._readers, set(), set()
        if readers and self._ping(readers):
            time.sleep(pause_s)  # an application that does not answer pings: a time bound

    def _ping(self, windows: Collection[int]) -> set[int]:
        """Send ``_NET_WM_PING`` to the client windows of ``windows`` and wait for the answers;
        the client windows that did not answer. X delivers a client's events in order and
        toolkits handle them in order, so an answer shows every key event before it was read."""
        from Xlib import X, error
        from Xlib.protocol import event

        conn = self.connection
        root = conn.screen().root
        protocols, ping = conn.intern_atom("WM_PROTOCOLS"), conn.intern_atom("_NET_WM_PING")
        clients = {c for c in (self._client(w, protocols) for w in windows) if c}
        mask = root.get_attributes().your_event_mask
        root.change_attributes(event_mask=mask | X.SubstructureNotifyMask)  # answers go to root
        waiting: dict[int, int] = {}  # token -> client window
        try:
            sent: list[tuple[int, Any]] = []
            for client in clients - self._deaf:
                self._token = self._token % 0xFFFFFFFF + 1
                message = event.ClientMessage(window=client, client_type=protocols,
                                              data=(32, [ping, self._token, client, 0, 0]))
                caught = error.CatchError(error.BadWindow)
                conn.create_resource_object("window", client).send_event(message, onerror=caught)
                waiting[self._token] = client
                sent.append((self._token, caught))
            conn.sync()
            for token, caught in sent:
                if caught.get_error():  # gone, and its application with it (usually)
                    del waiting[token]
            deadline = time.monotonic() + self.ack_timeout_s
            while waiting:
                while waiting and conn.pending_events():
                    e = conn.next_event()
                    if e.type == X.ClientMessage and e.client_type == protocols:  # else: drop
                        if e.data[1][0] == ping and int(e.data[1][1]) in waiting:
                            self._answered.add(waiting.pop(int(e.data[1][1])))
                left = deadline - time.monotonic()
                if not waiting or left <= 0:
                    break
                select.select([conn], [], [], min(left, 0.05))
        finally:
            root.change_attributes(event_mask=mask)
            conn.sync()
        self._deaf |= set(waiting.values()) - self._answered  # (a slow one stays on the list)
        return (clients & self._deaf) | set(waiting.values())

    def _client(self, window: int, protocols: int) -> int:
        """The top-level client window of ``window``: the first of it, its ancestors and (below a
        window manager's frame) the frame's descendants with WM_PROTOCOLS; 0 if it is gone."""
        from Xlib import X, error

        conn = self.connection
        root = conn.screen().root.id
        try:
            chain: list[Any] = []
            w = conn.create_resource_object("window", window)
            while w.id != root and len(chain) < 64:
                chain.append(w)
                w = w.query_tree().parent
            if not chain:
                return 0
            for w in chain:
                if w.get_full_property(protocols, X.AnyPropertyType) is not None:
                    return int(w.id)
            below = list(chain[-1].query_tree().children)
            for w in below:  # breadth first: a window manager's frame holds the client window
                if w.get_full_property(protocols, X.AnyPropertyType) is not None:
                    return int(w.id)
                if len(below) < 256:
                    below.extend(w.query_tree().children)
            return int(chain[-1].id)
        except error.XError:
            return 0
