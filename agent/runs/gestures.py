"""A person's input events, read as the project's actions: pure, no X, no clock of its own.

:class:`GestureReader` takes :class:`~agent.runs.input_events.InputEvent`\\ s in order and
gives :class:`Gesture`\\ s, each one recorded step: its actions in screen coordinates
(:mod:`actions.schema`), when it began (its first event: the screenshot paired with it is the
last one taken before then) and when it ended. The rules, with the thresholds named below (the
values of OpenCUA's AgentNet tool and openadapt-capture where they agree):

* **click**: press and release within :data:`DRAG_PX` of the press; another press of the same
  button within :data:`MULTI_CLICK_S` of the last release and :data:`MULTI_CLICK_PX` of the
  first press makes it a double, then a triple click (one action, ``count`` 2 or 3). A click is
  given once no further click can join it (the time passed, the pointer left, anything else
  happened, or it was the third).
* **drag**: the left button pressed, moved beyond :data:`DRAG_PX`, released: ``Drag(start,
  end)``. The other buttons have no drag action: their press-move-release is a click where they
  were pressed.
* **scroll**: wheel clicks in one direction, each within :data:`SCROLL_PAUSE_S` of the last and
  :data:`SCROLL_PX` of the first: one ``Scroll`` with their count.
* **type**: characters typed with no pause over :data:`TYPING_PAUSE_S` (Shift and Caps Lock
  applied), backspace removing the last one, merged into one ``TypeText`` of the text that ended
  in the field; backspaces before any text of the burst erase what was there before, and are
  kept as ``backspace`` key presses ahead of the text.
* **keys**: a key that types nothing (Enter, Tab, Escape, arrows, F-keys), with Shift if held;
  the same key again within :data:`TYPING_PAUSE_S` joins the same step (one action each).
* **combo**: any key pressed while Ctrl, Alt or Super is held: one ``KeyPress`` of the
  modifiers (in the order pressed, left and right alike) and the key. It begins when its first
  modifier went down. A modifier pressed and released alone is not an action, except Super.
* **hotkeys**: a combo named in ``hotkeys`` (``stop``, ``secret``) gives a :class:`Mark`
  instead of an action: the recorder acts on it, and it is never recorded. Between two
  ``secret`` marks, typing is one burst whatever its pauses, flagged ``secret`` (the recorder
  keeps only a placeholder); the span also ends at the first action that is not typing.

Pointer motion is not an action: it is where the next action happens. A key pressed while a
button is held (Ctrl+click) gives the click alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

from actions.key_names import normalize_keys
from actions.schema import Action, Click, Drag, KeyPress, Scroll, TypeText
from agent.geometry import Point
from agent.runs.input_events import InputEvent

__all__ = [
    "DRAG_PX",
    "MULTI_CLICK_PX",
    "MULTI_CLICK_S",
    "SCROLL_PAUSE_S",
    "SCROLL_PX",
    "TYPING_PAUSE_S",
    "Gesture",
    "GestureKind",
    "GestureReader",
    "Mark",
    "pause_between",
]

MULTI_CLICK_S = 0.5
"""a press within this long after the last release continues a double or triple click"""
MULTI_CLICK_PX = 5
"""... and within this distance (pixels, each axis) of the first press"""
DRAG_PX = 6
"""a press that moves further than this (pixels, either axis) before its release is a drag"""
TYPING_PAUSE_S = 1.0
"""a pause longer than this between two keys ends a typing burst (and a run of one key)"""
SCROLL_PAUSE_S = 0.5
"""a pause longer than this between two wheel clicks ends a scroll"""
SCROLL_PX = 24
"""a wheel click further than this from the scroll's first one starts another scroll"""

GestureKind = Literal["click", "drag", "scroll", "type", "keys", "combo"]
_MODIFIERS = {
    "ctrl": "ctrl", "ctrlright": "ctrl", "shift": "shift", "shiftright": "shift",
    "alt": "alt", "altright": "alt", "win": "win", "winright": "win", "command": "win",
}  # fmt: skip
_WHEEL = {4: "up", 5: "down", 6: "left", 7: "right"}
_BUTTONS: dict[int, Literal["left", "middle", "right"]] = {1: "left", 2: "middle", 3: "right"}


@dataclass(frozen=True)
class Gesture:
    """One recorded step: its actions (screen coordinates), its first and last event's time."""

    kind: GestureKind
    actions: tuple[Action, ...]
    started: float
    ended: float
    secret: bool = False
    """a typing burst inside a secret span: its text is a secret's value"""


@dataclass(frozen=True)
class Mark:
    """A hotkey was pressed (never recorded as an action)."""

    name: str
    time: float


@dataclass
class _Typing:
    started: float
    last: float
    secret: bool
    erase: int = 0
    chars: list[str] = field(default_factory=list)


@dataclass
class _Keys:
    started: float
    last: float
    keys: tuple[str, ...]
    count: int = 1


@dataclass
class _Click:
    button: int
    x: int
    y: int
    started: float
    released: float
    count: int = 1


@dataclass
class _Scroll:
    direction: str
    x: int
    y: int
    started: float
    last: float
    amount: int = 1


@dataclass
class _Press:
    button: int
    x: int
    y: int
    time: float
    continues: bool
    dragged: bool = False


def _far(ax: int, ay: int, bx: int, by: int, limit: float) -> bool:
    return max(abs(ax - bx), abs(ay - by)) > limit


class GestureReader:
    """Reads input events into gestures. ``hotkeys``: name -> key combo (``("ctrl", "shift",
    "f12")``), given back as :class:`Mark` and never as an action. Feed events in order with
    :meth:`feed`; call :meth:`advance` with the time now to close what timed out, and
    :meth:`flush` at the end."""

    def __init__(self, hotkeys: Mapping[str, Sequence[str]] | None = None) -> None:
        self.hotkeys = {
            name: frozenset(_MODIFIERS.get(k, k) for k in normalize_keys(list(keys)))
            for name, keys in (hotkeys or {}).items()
        }
        self.in_secret = False
        self.ignored = 0
        """events that gave nothing (keys with no name, a second button held)"""
        self._current: _Typing | _Keys | _Click | _Scroll | None = None
        self._press: _Press | None = None
        self._held: dict[str, float] = {}  # modifier -> when it went down (in press order)
        self._lone: set[str] = set()  # modifiers pressed with nothing else since
        self._x = self._y = 0

    # -- reading ------------------------------------------------------------------------------

    def starts(self) -> list[float]:
        """When each gesture still open began (the recorder keeps their screenshots)."""
        found = [self._current.started] if self._current is not None else []
        if self._press is not None:
            found.append(self._press.time)
        if self._held:
            found.append(min(self._held.values()))
        return found

    def feed(self, event: InputEvent) -> list[Gesture | Mark]:
        out = self.advance(event.time)
        self._x, self._y = event.x, event.y
        if event.kind == "motion":
            self._motion(event, out)
        elif event.kind == "button_down":
            self._button_down(event, out)
        elif event.kind == "button_up":
            self._button_up(event, out)
        elif event.kind == "key_down":
            self._key_down(event, out)
        else:
            self._key_up(event, out)
        return out

    def advance(self, now: float) -> list[Gesture | Mark]:
        """Close the open gesture if no event can join it any more at ``now``."""
        current = self._current
        if current is None:
            return []
        timed_out = (
            (isinstance(current, _Click) and now - current.released > MULTI_CLICK_S)
            or (isinstance(current, _Typing) and not current.secret
                and now - current.last > TYPING_PAUSE_S)
            or (isinstance(current, _Keys) and now - current.last > TYPING_PAUSE_S)
            or (isinstance(current, _Scroll) and now - current.last > SCROLL_PAUSE_S)
        )  # fmt: skip
        out: list[Gesture | Mark] = []
        if timed_out:
            self._close(out)
        return out

    def flush(self) -> list[Gesture | Mark]:
        """Close everything (the recording ends); a button still held gives nothing."""
        out: list[Gesture | Mark] = []
        self._close(out)
        self._press = None
        self.in_secret = False
        return out

    # -- the pointer --------------------------------------------------------------------------

    def _motion(self, event: InputEvent, out: list[Gesture | Mark]) -> None:
        press = self._press
        if press is not None and not press.dragged:
            press.dragged = _far(press.x, press.y, event.x, event.y, DRAG_PX)
        current = self._current
        if (
            press is None
            and isinstance(current, _Click)
            and _far(current.x, current.y, event.x, event.y, MULTI_CLICK_PX)
        ):
            self._close(out)  # no further click can join it there

    def _button_down(self, event: InputEvent, out: list[Gesture | Mark]) -> None:
        self._lone.clear()
        if event.button in _WHEEL:
            self._wheel(event, out)
            return
        if event.button not in _BUTTONS or self._press is not None:
            self.ignored += 1
            return
        current = self._current
        continues = (
            isinstance(current, _Click)
            and current.button == event.button
            and current.count < 3
            and event.time - current.released <= MULTI_CLICK_S
            and not _far(current.x, current.y, event.x, event.y, MULTI_CLICK_PX)
        )
        if not continues:
            self._interrupt(out)
        self._press = _Press(event.button, event.x, event.y, event.time, continues)

    def _button_up(self, event: InputEvent, out: list[Gesture | Mark]) -> None:
        press = self._press
        if event.button in _WHEEL or press is None or press.button != event.button:
            return
        self._press = None
        if not press.dragged and _far(press.x, press.y, event.x, event.y, DRAG_PX):
            press.dragged = True  # moved with no motion event seen (a warp)
        current = self._current
        if press.dragged:
            if press.continues:
                self._close(out)
            start, end = Point.screen(press.x, press.y), Point.screen(event.x, event.y)
            if press.button == 1:
                action: Action = Drag(start=start, end=end)
                out.append(Gesture("drag", (action,), press.time, event.time))
            else:  # no drag action for this button: a click where it was pressed
                click = Click(point=start, button=_BUTTONS[press.button])
                out.append(Gesture("click", (click,), press.time, event.time))
            return
        if press.continues and isinstance(current, _Click):
            current.count += 1
            current.released = event.time
            if current.count == 3:
                self._close(out)
            return
        self._current = _Click(press.button, press.x, press.y, press.time, event.time)

    def _wheel(self, event: InputEvent, out: list[Gesture | Mark]) -> None:
        direction = _WHEEL[event.button]
        current = self._current
        if (
            isinstance(current, _Scroll)
            and current.direction == direction
            and event.time - current.last <= SCROLL_PAUSE_S
            and not _far(current.x, current.y, event.x, event.y, SCROLL_PX)
        ):
            current.amount += 1
            current.last = event.time
            return
        self._interrupt(out)
        self._current = _Scroll(direction, event.x, event.y, event.time, event.time)

    # -- the keyboard -------------------------------------------------------------------------

    def _key_down(self, event: InputEvent, out: list[Gesture | Mark]) -> None:
        key = event.key
        if key is None:
            self.ignored += 1
            return
        modifier = _MODIFIERS.get(key)
        if modifier is not None:
            if modifier not in self._held:
                self._held[modifier] = event.time
                self._lone.add(modifier)
            return
        self._lone.clear()
        if self._press is not None:  # Ctrl+click and the like: the click alone
            self.ignored += 1
            return
        chord = [m for m in self._held if m != "shift"]
        if chord:
            self._combo(key, event, out)
        elif key == "backspace":
            typing = self._typing(event.time, out)
            if typing.chars:
                typing.chars.pop()
            else:
                typing.erase += 1
        elif event.char is not None and key not in ("enter", "tab"):
            self._typing(event.time, out).chars.append(event.char)
        else:
            keys = (("shift",) if "shift" in self._held else ()) + (key,)
            current = self._current
            if (
                isinstance(current, _Keys)
                and current.keys == keys
                and event.time - current.last <= TYPING_PAUSE_S
            ):
                current.count += 1
                current.last = event.time
                return
            self._interrupt(out)
            self._current = _Keys(event.time, event.time, keys)

    def _combo(self, key: str, event: InputEvent, out: list[Gesture | Mark]) -> None:
        keys = (*self._held, key)
        for name, combo in self.hotkeys.items():
            if frozenset(keys) == combo:
                self._close(out)
                if name == "secret":
                    self.in_secret = not self.in_secret
                out.append(Mark(name, event.time))
                return
        self._interrupt(out)
        started = min(self._held.values())
        out.append(Gesture("combo", (KeyPress(keys=keys),), started, event.time))

    def _key_up(self, event: InputEvent, out: list[Gesture | Mark]) -> None:
        modifier = _MODIFIERS.get(event.key or "")
        if modifier is None or modifier not in self._held:
            return
        started = self._held.pop(modifier)
        if modifier in self._lone and modifier == "win" and self._press is None:
            self._interrupt(out)
            out.append(Gesture("combo", (KeyPress(keys=("win",)),), started, event.time))
        self._lone.discard(modifier)

    def _typing(self, now: float, out: list[Gesture | Mark]) -> _Typing:
        current = self._current
        joins = isinstance(current, _Typing) and (
            current.secret or now - current.last <= TYPING_PAUSE_S
        )
        if joins and isinstance(current, _Typing):
            current.last = now
            return current
        if self.in_secret:
            self._close(out)
        else:
            self._interrupt(out)
        typing = _Typing(now, now, self.in_secret)
        self._current = typing
        return typing

    # -- closing ------------------------------------------------------------------------------

    def _interrupt(self, out: list[Gesture | Mark]) -> None:
        """Close the open gesture because another kind begins: a secret span ends too."""
        self._close(out)
        self.in_secret = False

    def _close(self, out: list[Gesture | Mark]) -> None:
        current, self._current = self._current, None
        if current is None:
            return
        if isinstance(current, _Typing):
            erase = (KeyPress(keys=("backspace",)),) * current.erase
            text = "".join(current.chars)
            typed = (TypeText(text=text),) if text else ()
            if erase or typed:
                secret = current.secret and bool(text)
                out.append(Gesture("type", erase + typed, current.started, current.last, secret))
        elif isinstance(current, _Keys):
            actions = (KeyPress(keys=current.keys),) * current.count
            out.append(Gesture("keys", actions, current.started, current.last))
        elif isinstance(current, _Click):
            point = Point.screen(current.x, current.y)
            count = cast(Literal[1, 2, 3], min(current.count, 3))
            click = Click(point=point, button=_BUTTONS[current.button], count=count)
            out.append(Gesture("click", (click,), current.started, current.released))
        else:
            point = Point.screen(current.x, current.y)
            direction = cast(Literal["up", "down", "left", "right"], current.direction)
            scroll = Scroll(point=point, direction=direction, amount=current.amount)
            out.append(Gesture("scroll", (scroll,), current.started, current.last))


def pause_between(earlier: Gesture | None, later: Gesture) -> float:
    """Seconds from the end of ``earlier`` to the start of ``later`` (0 for the first)."""
    if earlier is None:
        return 0.0
    return max(0.0, later.started - earlier.ended)
