"""Key names: what models write -> what pyautogui and xdotool understand.

Models name keys in many dialects: Qwen computer-use ``keys`` lists (``["ctrl", "c"]``), UI-TARS
hotkey strings (``"ctrl c"``), X11 keysyms (``Control_L``, ``Page_Down``, ``less``), browser
``KeyboardEvent.key`` names (``ArrowLeft``, ``Escape``), Mac words (``cmd``, ``option``).
:func:`normalize_key` turns one of them into the **pyautogui key name** (``"ctrl"``, ``"enter"``,
``"pagedown"``, ``"win"``, a single character) and raises :class:`~agent.errors.ParseError` with a
message written for the model otherwise. Named keys are case-insensitive and ignore ``_``/``-``/
spaces; a single character keeps its case (``"A"`` is shift+a). :func:`keysym` gives the X11
keysym name of a pyautogui key name, for ``xdotool keydown``.

:class:`XdotoolKeyboard` presses keys and types text with ``xdotool``; it puts characters the
keyboard map lacks (``é``, ``東``) on spare keycodes before typing them. ``xdotool type`` alone
remaps one scratch keycode per character and reverts it at once, and an application that reads the
map a moment later sees a wrong character or none (measured on Xvfb: 5 of 5 runs wrong at
``--delay 1``, 1 of 5 at ``--delay 5``; with the characters mapped first, 0 of 10 at ``--delay 0``).
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from agent.errors import ExecutionError, ParseError

__all__ = [
    "KEYSYMS",
    "XdotoolKeyboard",
    "char_keysym",
    "check_text",
    "keysym",
    "normalize_key",
    "normalize_keys",
    "split_combo",
]

#: pyautogui key name -> X11 keysym name (xdotool accepts these).
KEYSYMS: dict[str, str] = {
    "ctrl": "Control_L", "ctrlright": "Control_R", "shift": "Shift_L", "shiftright": "Shift_R",
    "alt": "Alt_L", "altright": "Alt_R", "win": "Super_L", "winright": "Super_R",
    "command": "Super_L", "enter": "Return", "esc": "Escape", "backspace": "BackSpace",
    "delete": "Delete", "tab": "Tab", "space": "space", "insert": "Insert", "home": "Home",
    "end": "End", "pageup": "Page_Up", "pagedown": "Page_Down", "left": "Left", "right": "Right",
    "up": "Up", "down": "Down", "capslock": "Caps_Lock", "numlock": "Num_Lock",
    "scrolllock": "Scroll_Lock", "pause": "Pause", "printscreen": "Print", "apps": "Menu",
    "multiply": "KP_Multiply", "add": "KP_Add", "subtract": "KP_Subtract",
    "divide": "KP_Divide", "decimal": "KP_Decimal", "volumeup": "XF86AudioRaiseVolume",
    "volumedown": "XF86AudioLowerVolume", "volumemute": "XF86AudioMute",
    "playpause": "XF86AudioPlay", "nexttrack": "XF86AudioNext", "prevtrack": "XF86AudioPrev",
    **{f"f{n}": f"F{n}" for n in range(1, 25)},
    **{f"num{n}": f"KP_{n}" for n in range(10)},
}

# pyautogui name: other spellings (lower case, without "_", "-" and spaces).
_ALIAS_TABLE = """
ctrl: control controll ctrll lctrl ctrlleft leftctrl leftcontrol;
ctrlright: controlr ctrlr rctrl rightctrl rightcontrol; shift: shiftl lshift shiftleft leftshift;
shiftright: shiftr rshift rightshift; alt: altl lalt altleft leftalt option opt optionleft;
altright: altr ralt rightalt optionright; win: super superl cmd meta metal windows winleft lwin
leftwin os; winright: superr metar rwin rightwin; enter: return kpenter numpadenter;
esc: escape; delete: del; backspace: bksp; space: spacebar; insert: ins; pageup: pgup prior;
pagedown: pgdn pgdown next; left: arrowleft leftarrow; right: arrowright rightarrow;
up: arrowup uparrow; down: arrowdown downarrow; capslock: caps; apps: menu contextmenu application;
printscreen: print prtsc prtscr prntscrn printscr; multiply: kpmultiply; add: kpadd;
subtract: kpsubtract; divide: kpdivide; decimal: kpdecimal;
volumeup: audiovolumeup xf86audioraisevolume; volumedown: audiovolumedown xf86audiolowervolume;
volumemute: audiovolumemute mute xf86audiomute; playpause: mediaplaypause xf86audioplay;
nexttrack: mediatracknext xf86audionext; prevtrack: mediatrackprevious xf86audioprev
"""
_ALIASES: dict[str, str] = {
    alias: key.strip()
    for entry in _ALIAS_TABLE.split(";")
    for key, _, aliases in [entry.partition(":")]
    for alias in aliases.split()
} | {f"{prefix}{n}": f"num{n}" for n in range(10) for prefix in ("kp", "numpad")}

#: X11 keysym names of the ASCII punctuation characters.
_CHAR_KEYSYMS: dict[str, str] = {
    "!": "exclam", '"': "quotedbl", "#": "numbersign", "$": "dollar", "%": "percent",
    "&": "ampersand", "'": "apostrophe", "(": "parenleft", ")": "parenright", "*": "asterisk",
    "+": "plus", ",": "comma", "-": "minus", ".": "period", "/": "slash", ":": "colon",
    ";": "semicolon", "<": "less", "=": "equal", ">": "greater", "?": "question", "@": "at",
    "[": "bracketleft", "\\": "backslash", "]": "bracketright", "^": "asciicircum",
    "_": "underscore", "`": "grave", "{": "braceleft", "|": "bar", "}": "braceright",
    "~": "asciitilde",
}
_NAMED_CHARS = {name: char for char, name in _CHAR_KEYSYMS.items()}
_CONTROL_CHARS = {"\n": "enter", "\r": "enter", "\t": "tab", " ": "space"}


def _squash(name: str) -> str:
    return "".join(c for c in name.lower() if c not in "_- ")


_LOOKUP: dict[str, str] = {**{k: k for k in KEYSYMS}, **_ALIASES}
_SUGGEST = sorted({*KEYSYMS, "cmd", "option", "return", "escape", "del", "arrowleft"})


def normalize_key(name: str, *, platform: str | None = None) -> str:
    """The pyautogui key name for ``name``; raises :class:`ParseError` for an unknown key.

    ``platform`` (default ``sys.platform``) decides what the Windows/Command/Super key is called:
    ``"command"`` on macOS, ``"win"`` elsewhere.
    """
    if not isinstance(name, str):
        raise ParseError(f"a key name must be a string, got {name!r}")
    if len(name) == 1:
        if name in _CONTROL_CHARS:
            return _CONTROL_CHARS[name]
        if unicodedata.category(name) in ("Cc", "Cs"):
            raise ParseError(f"key {name!r} is a control character; use a key name like 'enter'")
        return name
    squashed = _squash(name.strip())
    key = _LOOKUP.get(squashed) or _NAMED_CHARS.get(squashed)
    if key is None:
        close = difflib.get_close_matches(squashed, _SUGGEST, n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ParseError(
            f"unknown key {name!r}.{hint} Use one key per list item: modifiers 'ctrl', 'shift', "
            "'alt', 'cmd'; named keys like 'enter', 'esc', 'tab', 'space', 'backspace', "
            "'delete', 'up', 'down', 'left', 'right', 'home', 'end', 'pageup', 'pagedown', "
            "'f1'..'f24'; or a single character such as 'a' or '/'."
        )
    if key in ("win", "winright", "command"):  # pyautogui: "command" on macOS, "win" elsewhere
        mac = (platform or sys.platform) == "darwin"
        return "command" if mac else "win" if key == "command" else key
    return key


def check_text(text: str) -> None:
    """Raise :class:`ParseError` if ``text`` holds a control character other than newline/tab."""
    bad = [c for c in text if c not in "\n\r\t" and unicodedata.category(c) == "Cc"]
    if bad:
        raise ParseError(f"text contains the control character {bad[0]!r}, which cannot be "
                         "typed; use a key action for special keys")


def split_combo(text: str) -> list[str]:
    """Split a hotkey string such as ``"ctrl c"``, ``"Ctrl+Shift+T"`` or ``"ctrl++"`` into key
    names (not yet normalized)."""
    parts: list[str] = []
    tokens = text.split()
    for i, token in enumerate(tokens):
        if token == "+":  # "ctrl + c": a separator between keys; "+" or "ctrl +": the key
            if not 0 < i < len(tokens) - 1:
                parts.append("+")
            continue
        parts.extend(p for p in token.replace("++", "+plus+").split("+") if p)
    return parts


def normalize_keys(keys: Sequence[str], *, platform: str | None = None) -> tuple[str, ...]:
    """Normalize a key combination. An item that is not a key name itself but a combo such as
    ``"ctrl+c"`` (a common model slip) is split first."""
    out: list[str] = []
    for item in keys:
        try:
            out.append(normalize_key(item, platform=platform))
        except ParseError:
            parts = split_combo(item) if isinstance(item, str) and len(item) > 1 else []
            if len(parts) < 2:
                raise
            out.extend(normalize_key(p, platform=platform) for p in parts)
    if not out:
        raise ParseError("a key action needs at least one key, e.g. ['ctrl', 'c']")
    return tuple(out)


def keysym(key: str) -> str:
    """X11 keysym name of a pyautogui key name (as returned by :func:`normalize_key`)."""
    if len(key) == 1:
        if key.isascii() and key.isalnum():
            return key
        return _CHAR_KEYSYMS.get(key) or f"U{ord(key):04X}"
    try:
        return KEYSYMS[key]
    except KeyError:
        raise ParseError(f"unknown key {key!r}") from None


def char_keysym(char: str) -> int:
    """Numeric X11 keysym of one character (Latin-1 keysyms equal the code point; other
    characters use the Unicode keysym range, 0x1000000 + code point)."""
    code = ord(char)
    return code if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF else 0x1000000 + code


class XdotoolKeyboard:
    """Keyboard input on one X display through ``xdotool`` (``connection``: a python-xlib
    ``Display`` on the same server, used to read and extend the keyboard map).

    Characters the keyboard map lacks are put on spare keycodes before typing and stay there until
    :meth:`restore` (reusing them avoids remapping, which is what races). When one text needs more
    distinct extra characters than there are spare keycodes (18 on Xvfb), it is typed in runs and
    the least recently used keycodes are recycled after ``pause_s``: an application that has not
    read the previous run by then would see it remapped (a time bound, so best effort).
    """

    def __init__(self, display: str, connection: Any, delay_ms: int = 2) -> None:
        self.display, self.connection, self.delay_ms = display, connection, delay_ms
        self._owned: dict[int, int] = {}  # keysym -> keycode, least recently used first

    def press(self, keys: Sequence[str]) -> None:
        """Press pyautogui-named ``keys`` down in order and release them in reverse order."""
        names = [keysym(k) for k in keys]
        self._ensure(char_keysym(k) for k in keys if len(k) == 1)
        args = [a for n in names for a in ("keydown", "--delay", "0", n)]
        self._run(args + [a for n in reversed(names) for a in ("keyup", "--delay", "0", n)])

    def type(self, text: str, pause_s: float = 0.1) -> None:
        """Type ``text``; each ``"\\n"`` presses Return (``xdotool type`` would send Linefeed)."""
        for i, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
            if i:
                self.press(["enter"])
            if line:
                self._type_line(line, pause_s)

    def _type_line(self, text: str, pause_s: float) -> None:
        syms = [char_keysym(c) for c in text]
        start = 0
        for end in self._plan(syms):
            if start:  # about to recycle keycodes: let the application read the last run first
                time.sleep(pause_s)
            self._ensure(syms[start:end])
            self._run(["type", "--clearmodifiers", "--delay", str(self.delay_ms), "--",
                       text[start:end]], timeout=10 + (end - start) * (0.01 + self.delay_ms / 500))
            start = end

    def _run(self, args: list[str], timeout: float = 10.0) -> None:
        env = {**os.environ, "DISPLAY": self.display}
        try:
            done = subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ExecutionError(f"xdotool {args[0]} failed: {exc}") from exc
        if done.returncode != 0 or "No such key" in done.stderr:  # unknown keysyms: exit 0
            raise ExecutionError(f"xdotool {args[0]} failed (exit {done.returncode}): "
                                 f"{done.stderr.strip()}")

    def _fetch(self) -> tuple[set[int], list[int]]:
        info = self.connection.display.info
        first, count = info.min_keycode, info.max_keycode - info.min_keycode + 1
        rows = self.connection.get_keyboard_mapping(first, count)
        present = {ks for row in rows for ks in row[:2] if ks}  # levels 1-2 of group 1
        # Highest first, as xdotool does; keycode 8 is reserved under evdev/XKB.
        spare = [first + i for i, row in enumerate(rows) if not any(row) and first + i > 8]
        return present, sorted(spare, reverse=True)

    def _plan(self, keysyms: Sequence[int]) -> list[int]:
        """End indexes of runs of ``keysyms`` that each fit the spare keycodes."""
        present, spare = self._fetch()
        base, capacity = present - set(self._owned), len(spare) + len(self._owned)
        ends: list[int] = []
        needed: set[int] = set()
        for i, ks in enumerate(keysyms):
            if ks not in base and ks not in needed:
                if len(needed) == capacity:
                    if not capacity:
                        raise ExecutionError("the X keyboard map has no spare keycode")
                    ends.append(i)
                    needed = set()
                needed.add(ks)
        return [*ends, len(keysyms)]

    def _ensure(self, keysyms: Iterable[int]) -> bool:
        """Map every keysym the keyboard map lacks; True if the map changed."""
        wanted = list(dict.fromkeys(keysyms))
        present, spare = self._fetch()
        for ks in wanted:  # mark as recently used
            if ks in self._owned:
                self._owned[ks] = self._owned.pop(ks)
        victims = [ks for ks in self._owned if ks not in wanted]
        changed = False
        for ks in (ks for ks in wanted if ks not in present):
            if not (spare or victims):
                raise ExecutionError("more distinct extra characters than spare X keycodes")
            code = spare.pop(0) if spare else self._owned.pop(victims.pop(0))
            self.connection.change_keyboard_mapping(code, [(ks, ks)])
            self._owned[ks] = code
            changed = True
        if changed:
            self.connection.sync()
        return changed

    def restore(self) -> None:
        """Unmap every keycode this object mapped."""
        owned, self._owned = self._owned, {}
        for code in owned.values():
            self.connection.change_keyboard_mapping(code, [(0, 0)])
        if owned:
            self.connection.sync()
