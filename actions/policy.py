"""The safety policy: a whole step is vetted before any of its actions runs.

:meth:`Policy.review` takes a step's screen-space actions (already checked by
:func:`actions.executor.check_action`) and either returns them unchanged or raises
:class:`~agent.errors.Refused` with a reason written for the model, which the loop feeds back.
In order, it refuses:

* **magnitudes** beyond :class:`Bounds`: scroll clicks, text length, keys per combo, wait;
* points on a **corner** of the monitor (pyautogui's fail-safe would abort the run);
* points outside the **allowed region** (screen coordinates), unless confirmation is on, where
  they count as risky;
* **denied key combos** (:data:`DENIED_COMBOS`: ctrl+alt+delete, ctrl+alt+backspace, super+l,
  alt+f4, ...) unless listed in ``allow_combos``;
* what the user declines when asked: ``confirm="always"`` asks for every step with an action,
  ``confirm="risky"`` only for typing, key combos, drags and points outside the region. The
  ``confirmer`` callback (default: a prompt on the terminal) sees the whole step at once.

:class:`Budget` bounds a run (wall time, model calls, tokens); :class:`LoopGuard` spots the
same actions on an unchanged screen. Both are consulted by the loop, which records every verdict.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from actions.key_names import normalize_keys
from actions.schema import Action, Drag, KeyPress, Scroll, Terminate, TypeText, Wait, points_of
from agent.errors import BudgetExceeded, ConfigurationError, LoopDetected, Refused
from agent.geometry import Monitor

__all__ = [
    "DENIED_COMBOS",
    "Bounds",
    "Budget",
    "Confirm",
    "Confirmer",
    "LoopGuard",
    "Policy",
    "Region",
    "terminal_confirmer",
]

Confirm = Literal["never", "risky", "always"]
Confirmer = Callable[[Sequence[Action], str], bool]
"""``confirmer(actions, why)``: True to carry out the step, False to refuse it."""

#: Key combos that end sessions, kill programs or lock the screen; refused unless allowed.
DENIED_COMBOS: tuple[tuple[str, ...], ...] = (
    ("ctrl", "alt", "delete"),
    ("ctrl", "alt", "backspace"),
    ("ctrl", "alt", "del"),
    ("win", "l"),
    ("ctrl", "alt", "l"),
    ("alt", "f4"),
    ("alt", "sysrq"),
    ("ctrl", "alt", "f1"),
    ("ctrl", "alt", "f2"),
    ("ctrl", "alt", "f3"),
    ("ctrl", "alt", "f4"),
    ("ctrl", "alt", "f7"),
    ("command", "q"),
    ("command", "option", "esc"),
    ("ctrl", "command", "q"),
    ("win", "r"),
)
_MODIFIERS = frozenset({"ctrl", "ctrlright", "alt", "altright", "shift", "shiftright", "win",
                        "winright", "command"})
_SAME_KEY = {"ctrlright": "ctrl", "altright": "alt", "shiftright": "shift", "winright": "win"}


def _combo(keys: Iterable[str]) -> frozenset[str]:
    """A combo as a set of key names, left/right modifiers alike, letters in lower case."""
    names: set[str] = set()
    for key in keys:
        try:
            (name,) = normalize_keys([key])
        except Exception:  # noqa: BLE001 - unknown names are compared as written
            name = key
        names.add(_SAME_KEY.get(name, name.lower() if len(name) == 1 else name))
    return frozenset(names)


@dataclass(frozen=True)
class Region:
    """A rectangle in screen coordinates (pyautogui's global units): ``left <= x < left + width``
    and ``top <= y < top + height``."""

    left: int
    top: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ConfigurationError(f"region size must be positive: {self}")

    @classmethod
    def parse(cls, text: str) -> Region:
        """``"X,Y,W,H"`` (screen units)."""
        try:
            left, top, width, height = (int(v) for v in text.split(","))
        except ValueError:
            raise ConfigurationError(
                f"a region is X,Y,WIDTH,HEIGHT in screen units: {text!r}"
            ) from None
        return cls(left, top, width, height)

    def contains(self, x: float, y: float) -> bool:
        return self.left <= x < self.left + self.width and self.top <= y < self.top + self.height

    def describe(self) -> str:
        return f"{self.width}x{self.height}{self.left:+d}{self.top:+d}"


@dataclass(frozen=True)
class Bounds:
    """The largest action the policy lets through."""

    scroll_clicks: int = 50
    """wheel clicks in one scroll"""
    text_chars: int = 2000
    """characters in one ``type``"""
    keys: int = 6
    """keys in one combo"""
    wait_s: float = 60.0
    """seconds of one ``wait`` (the schema's own bound is 600)"""

    def check(self, action: Action) -> str | None:
        """Why ``action`` is too large, or None."""
        if isinstance(action, Scroll) and action.amount > self.scroll_clicks:
            return (f"scroll of {action.amount} clicks exceeds the bound of {self.scroll_clicks}"
                    "; scroll less, then look again")
        if isinstance(action, TypeText) and len(action.text) > self.text_chars:
            return (f"text of {len(action.text)} characters exceeds the bound of "
                    f"{self.text_chars}; type it in parts")
        if isinstance(action, KeyPress) and len(action.keys) > self.keys:
            return f"a combo of {len(action.keys)} keys exceeds the bound of {self.keys} keys"
        if isinstance(action, Wait) and action.seconds > self.wait_s:
            return f"a wait of {action.seconds:g} s exceeds the bound of {self.wait_s:g} s"
        return None


def terminal_confirmer(actions: Sequence[Action], why: str) -> bool:
    """Ask on the terminal (stdin/stderr); anything but y/yes refuses. No terminal: refuse."""
    if not sys.stdin or not sys.stdin.isatty():
        return False
    listing = "; ".join(_describe(a) for a in actions)
    print(f"confirm ({why}): {listing} [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        return False
    return answer.strip().lower() in ("y", "yes")


def _describe(action: Action) -> str:
    points = " ".join(f"({p.x:g},{p.y:g})" for p in points_of(action))
    extra = ""
    if isinstance(action, TypeText):
        extra = f" {action.text!r}"
    elif isinstance(action, KeyPress):
        extra = " " + "+".join(action.keys)
    return f"{action.action}{extra} {points}".strip()


@dataclass(frozen=True)
class Policy:
    """What a step may do. The defaults refuse denied combos, oversized actions and corner points,
    and ask nothing."""

    confirm: Confirm = "never"
    confirmer: Confirmer = terminal_confirmer
    region: Region | None = None
    """allowed screen rectangle; None: the whole monitor the model saw"""
    allow_combos: tuple[tuple[str, ...], ...] = ()
    """denied combos the user allows explicitly, e.g. (("alt", "f4"),)"""
    bounds: Bounds = field(default_factory=Bounds)

    def __post_init__(self) -> None:
        if self.confirm not in ("never", "risky", "always"):
            raise ConfigurationError(f"confirm must be never, risky or always: {self.confirm!r}")

    def denied(self, keys: Sequence[str]) -> bool:
        combo = _combo(keys)
        allowed = {_combo(c) for c in self.allow_combos}
        return combo not in allowed and any(_combo(d) == combo for d in DENIED_COMBOS)

    def review(self, actions: Sequence[Action], monitor: Monitor) -> list[str]:
        """Vet a whole step. Returns the verdicts (one line per rule that was consulted and let the
        step through, e.g. ``"confirmed: typing"``); raises Refused otherwise."""
        verdicts: list[str] = []
        risky: list[str] = []
        for action in actions:
            reason = self.bounds.check(action)
            if reason:
                raise Refused(reason)
            for point in points_of(action):
                x, y = point.screen_xy()
                if x in (monitor.left, monitor.left + monitor.width - 1) and y in (
                    monitor.top,
                    monitor.top + monitor.height - 1,
                ):
                    raise Refused(
                        f"({x}, {y}) is a corner of the screen, where pyautogui's fail-safe "
                        "stops the run; aim at least one pixel inside"
                    )
                if self.region is not None and not self.region.contains(x, y):
                    if self.confirm == "never":
                        raise Refused(
                            f"({x}, {y}) is outside the allowed region "
                            f"{self.region.describe()}; act only inside it"
                        )
                    risky.append(f"point ({x}, {y}) outside the allowed region")
            if isinstance(action, KeyPress):
                if self.denied(action.keys):
                    raise Refused(
                        f"the key combo {'+'.join(action.keys)} is denied by the safety policy"
                    )
                if len(action.keys) > 1 or action.keys[0] in _MODIFIERS:
                    risky.append(f"key combo {'+'.join(action.keys)}")
            elif isinstance(action, TypeText):
                risky.append("typing")
            elif isinstance(action, Drag):
                risky.append("drag")
        acting = [a for a in actions if not isinstance(a, Terminate | Wait)]
        ask = self.confirm == "always" and acting or self.confirm == "risky" and risky
        if ask:
            why = ", ".join(dict.fromkeys(risky)) or "every action"
            if not self.confirmer(list(actions), why):
                raise Refused(f"the user declined this step ({why}); do something else")
            verdicts.append(f"confirmed: {why}")
        return verdicts


@dataclass(frozen=True)
class Budget:
    """Limits of one run besides its steps (``Agent(max_steps=)``); None: unlimited."""

    max_seconds: float | None = None
    max_model_calls: int | None = None
    max_tokens: int | None = None
    """prompt + completion tokens, as the backend reports them"""

    def __post_init__(self) -> None:
        for name in ("max_seconds", "max_model_calls", "max_tokens"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigurationError(f"{name} must be positive, got {value}")

    def check(self, *, seconds: float, model_calls: int, tokens: int) -> None:
        """Raise BudgetExceeded if the run may not call the model again."""
        if self.max_seconds is not None and seconds >= self.max_seconds:
            raise BudgetExceeded(f"wall-time budget of {self.max_seconds:g} s spent")
        if self.max_model_calls is not None and model_calls >= self.max_model_calls:
            raise BudgetExceeded(f"budget of {self.max_model_calls} model calls spent")
        if self.max_tokens is not None and tokens >= self.max_tokens:
            raise BudgetExceeded(f"token budget spent: {tokens} of {self.max_tokens}")


@dataclass
class LoopGuard:
    """The same actions on an unchanged screen ``limit`` times in a row: the first time the step
    is refused with a warning for the model (redirect); if the model repeats it once more
    anyway, the run ends (:class:`~agent.errors.LoopDetected`). ``limit`` 0 turns it off."""

    limit: int = 3
    _last: tuple[Action, ...] | None = None
    _count: int = 0
    _warned: bool = False

    def check(self, unchanged: bool, actions: Sequence[Action]) -> None:
        """``unchanged``: the screen these actions were decided on shows what the previous
        step's did (:func:`agent.screen.matching.same_screen`)."""
        if not self.limit or not actions or all(isinstance(a, Terminate) for a in actions):
            return
        key = tuple(actions)
        repeated = unchanged and key == self._last
        self._count = self._count + 1 if repeated else 1
        self._warned = self._warned and repeated
        self._last = key
        what = "; ".join(_describe(a) for a in actions)
        if self._warned:
            raise LoopDetected(
                f"the same step ({what}) on an unchanged screen again after a warning "
                f"({self._count} times in a row)"
            )
        if self._count >= self.limit:
            self._warned = True
            raise Refused(
                f"you did the same thing ({what}) {self._count - 1} times and the screen did "
                "not change; try something else or terminate"
            )
