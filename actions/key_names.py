"""Key names: what models write -> what pyautogui and xdotool understand.

Models name keys in many dialects: Qwen computer-use ``keys`` lists (``["ctrl", "c"]``), UI-TARS
hotkey strings (``"ctrl c"``), X11 keysyms (``Control_L``, ``Page_Down``, ``less``), browser
``KeyboardEvent.key`` names (``ArrowLeft``, ``Escape``), Mac words (``cmd``, ``option``).
:func:`normalize_key` turns one of them into the **pyautogui key name** (``"ctrl"``, ``"enter"``,
``"pagedown"``, ``"win"``, a single character) and raises :class:`~agent.errors.ParseError` with a
message written for the model otherwise. Named keys are case-insensitive and ignore ``_``/``-``/
spaces; a single character keeps its case (``"A"`` is shift+a). :func:`keysym` gives the X11
keysym name of a pyautogui key name (as xdotool spells it), :func:`key_keysym` its number (what
X11 and VNC key events carry), :func:`char_keysym` the number of a character.

The X11 keyboard that types them is :mod:`actions.x11_keyboard`.
"""

from __future__ import annotations

import difflib
import sys
import unicodedata
from collections.abc import Sequence

from agent.errors import ParseError

__all__ = [
    "KEYSYMS",
    "KEYSYM_CODES",
    "char_keysym",
    "check_text",
    "key_keysym",
    "keysym",
    "normalize_key",
    "normalize_keys",
    "split_combo",
    "text_keysym",
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


def text_keysym(char: str) -> int:
    """The keysym that types ``char`` in a text: ``"\\n"`` Return, ``"\\t"`` Tab, any other
    character its :func:`char_keysym` (what VNC key events carry for typed text)."""
    if len(char) != 1:
        raise ValueError(f"one character expected, got {len(char)}")
    return {"\n": KEYSYM_CODES["Return"], "\t": KEYSYM_CODES["Tab"]}.get(char) or char_keysym(char)


def char_keysym(char: str) -> int:
    """Numeric X11 keysym of one character (Latin-1 keysyms equal the code point; other
    characters use the Unicode keysym range, 0x1000000 + code point)."""
    code = ord(char)
    return code if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF else 0x1000000 + code


#: Keysym numbers of the names in :data:`KEYSYMS` (X11 keysymdef.h and
#: XF86keysym.h).
KEYSYM_CODES: dict[str, int] = {
    "Control_L": 0xFFE3, "Control_R": 0xFFE4, "Shift_L": 0xFFE1, "Shift_R": 0xFFE2,
    "Alt_L": 0xFFE9, "Alt_R": 0xFFEA, "Super_L": 0xFFEB, "Super_R": 0xFFEC, "Return": 0xFF0D,
    "Escape": 0xFF1B, "BackSpace": 0xFF08, "Delete": 0xFFFF, "Tab": 0xFF09, "space": 0x20,
    "Insert": 0xFF63, "Home": 0xFF50, "End": 0xFF57, "Page_Up": 0xFF55, "Page_Down": 0xFF56,
    "Left": 0xFF51, "Up": 0xFF52, "Right": 0xFF53, "Down": 0xFF54, "Caps_Lock": 0xFFE5,
    "Num_Lock": 0xFF7F, "Scroll_Lock": 0xFF14, "Pause": 0xFF13, "Print": 0xFF61, "Menu": 0xFF67,
    "KP_Multiply": 0xFFAA, "KP_Add": 0xFFAB, "KP_Subtract": 0xFFAD, "KP_Divide": 0xFFAF,
    "KP_Decimal": 0xFFAE, "XF86AudioLowerVolume": 0x1008FF11, "XF86AudioMute": 0x1008FF12,
    "XF86AudioRaiseVolume": 0x1008FF13, "XF86AudioPlay": 0x1008FF14,
    "XF86AudioPrev": 0x1008FF16, "XF86AudioNext": 0x1008FF17,
    **{f"F{n}": 0xFFBD + n for n in range(1, 25)},
    **{f"KP_{n}": 0xFFB0 + n for n in range(10)},
}


def key_keysym(key: str) -> int:
    """Numeric X11 keysym of a pyautogui key name (as returned by :func:`normalize_key`)."""
    return char_keysym(key) if len(key) == 1 else KEYSYM_CODES[keysym(key)]
