"""What the bundled apps share: their look, their window and the state file they write.

Standard library only; each app imports this module from its own folder (Python puts a
script's folder first on ``sys.path``), so ``python3 tasks/apps/NAME.py`` works from anywhere.

:class:`Window` places a titled window at (x, y) (there may be no window manager), and with a
state path rewrites it atomically (temp file + ``os.replace``) once the window is mapped and
drawn and on every change: ``{"ready", "title", "window": [x, y, w, h], "widgets": {name:
[x, y, w, h]}}`` in screen coordinates, ``"focus"`` (the focused widget's name) for apps with
fields, and the app's own fields from :meth:`Window.fields`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import tkinter as tk
from pathlib import Path
from typing import Any

FONT = ("DejaVu Sans", 14)
HEADING_FONT = ("DejaVu Sans", 16, "bold")
BACKGROUND = "#f5f5f2"
FOREGROUND = "#111111"
GOOD = "#0b5d1e"
BAD = "#9b1111"
LABEL: dict[str, Any] = {"font": FONT, "background": BACKGROUND, "foreground": FOREGROUND}
BUTTON: dict[str, Any] = {
    "font": FONT,
    "background": "#e2e2de",
    "foreground": FOREGROUND,
    "activebackground": "#d0d0cb",
    "activeforeground": FOREGROUND,
    "relief": "raised",
    "borderwidth": 1,
    "padx": 18,
    "pady": 4,
}


def entry_style(width: int) -> dict[str, Any]:
    return {
        "font": FONT,
        "width": width,
        "background": "#ffffff",
        "foreground": FOREGROUND,
        "relief": "solid",
        "borderwidth": 1,
        "insertbackground": FOREGROUND,
    }


def write_json_atomic(path: Path, data: dict[str, Any], indent: int | None = None) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=indent)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def arguments(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser with the options every app takes: --state, --x, --y."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--state", type=Path, default=None, help="JSON state file to rewrite")
    parser.add_argument("--x", type=int, default=80, help="window left, screen pixels")
    parser.add_argument("--y", type=int, default=80, help="window top, screen pixels")
    return parser


class Window:
    """The window and its state file; an app adds widgets to :attr:`widgets`, sets
    :attr:`first_field` if it has fields, and overrides :meth:`fields`."""

    def __init__(
        self, title: str, state_path: Path | None, x: int, y: int, pad: tuple[int, int] = (28, 22)
    ) -> None:
        self.state_path = state_path
        self.ready = False
        self.root = tk.Tk()
        self.root.title(title)
        self.root.configure(background=BACKGROUND, padx=pad[0], pady=pad[1])
        self.root.geometry(f"+{x}+{y}")
        self.root.resizable(False, False)
        self.widgets: dict[str, tk.Widget] = {}
        self.first_field: tk.Widget | None = None
        self.root.bind(
            "<Configure>", lambda e: self.write_state() if e.widget is self.root else None
        )
        self.root.protocol("WM_DELETE_WINDOW", self.root.destroy)

    def fields(self) -> dict[str, Any]:
        """The app's own part of the state."""
        return {}

    def watch(self, *variables: tk.Variable) -> None:
        """Rewrite the state whenever one of ``variables`` or the focus changes."""
        for variable in variables:
            variable.trace_add("write", lambda *_: self.write_state())
        self.root.bind_all("<FocusIn>", lambda _e: self.write_state())

    @staticmethod
    def focus_field(field: tk.Entry) -> None:
        field.focus_set()
        field.icursor("end")

    def label_for(self, label: tk.Label, field: tk.Entry) -> None:
        """Clicking ``label`` focuses ``field``, like an HTML ``<label for>``."""
        label.bind("<Button-1>", lambda _e: self.focus_field(field))

    def run(self) -> None:
        self.root.wait_visibility(self.root)  # mapped: the geometry is the real one
        self.root.update()  # Expose and idle redraws handled: the pixels are on screen
        # explicit X input focus; there is no window manager
        (self.first_field or self.root).focus_force()
        self.root.update()
        self.ready = True
        self.write_state()
        self.root.mainloop()

    @staticmethod
    def _box(widget: tk.Misc) -> list[int]:
        return [
            widget.winfo_rootx(),
            widget.winfo_rooty(),
            widget.winfo_width(),
            widget.winfo_height(),
        ]

    def _focus(self) -> str | None:
        names = {str(w): n for n, w in self.widgets.items()}
        try:
            focused = self.root.focus_get()
        except KeyError:
            return "other"
        return None if focused is None else names.get(str(focused), "other")

    def write_state(self) -> None:
        if self.state_path is None or not self.ready:
            return
        state: dict[str, Any] = {
            "ready": True,
            "title": self.root.title(),
            "window": self._box(self.root),
            "widgets": {name: self._box(w) for name, w in self.widgets.items()},
        }
        if self.first_field is not None:
            state["focus"] = self._focus()
        write_json_atomic(self.state_path, {**state, **self.fields()})
