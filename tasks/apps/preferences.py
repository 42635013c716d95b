"""A small "Preferences" window for example tasks (stdlib tkinter only).

Run ``python3 tasks/apps/preferences.py [--out prefs.json] [--x 80 --y 80] [--state PATH]``.
It shows a "Display name" and an "Email" field, a "Send newsletter" checkbox and the buttons
"Save" and "Reset". Save (the button or Ctrl+S) atomically writes ``{"display_name", "email",
"newsletter"}`` to ``--out`` and shows the status "Saved"; Reset clears the fields and the status.
Clicking a label focuses its field, like an HTML ``<label for>``.

With ``--state PATH`` the app rewrites PATH atomically (temp file + ``os.replace``) once it is
mapped and drawn and on every change: ``{"ready", "title", "window": [x, y, w, h], "widgets":
{name: [x, y, w, h]}, "focus", "display_name", "email", "newsletter", "saved", "status"}`` in
screen coordinates. The script imports nothing from the repository, so tasks can launch it as is.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import tkinter as tk
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TITLE = "Preferences"
FONT = ("DejaVu Sans", 14)
HEADING_FONT = ("DejaVu Sans", 16, "bold")
BACKGROUND = "#f5f5f2"
FOREGROUND = "#111111"
BUTTON = "#e2e2de"
STATUS = "#0b5d1e"


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


class PreferencesApp:
    """The window, its widgets and the state file."""

    def __init__(self, out: Path, state_path: Path | None, x: int, y: int) -> None:
        self.out = out
        self.state_path = state_path
        self.ready = False
        self.saved = 0
        self.root = tk.Tk()
        self.root.title(TITLE)
        self.root.configure(background=BACKGROUND, padx=28, pady=22)
        self.root.geometry(f"+{x}+{y}")
        self.root.resizable(False, False)
        self.name_var = tk.StringVar(self.root)
        self.email_var = tk.StringVar(self.root)
        self.newsletter_var = tk.BooleanVar(self.root, value=False)
        self.status_var = tk.StringVar(self.root, value="")

        label = {"font": FONT, "background": BACKGROUND, "foreground": FOREGROUND}
        entry = {
            "font": FONT,
            "width": 24,
            "background": "#ffffff",
            "foreground": FOREGROUND,
            "relief": "solid",
            "borderwidth": 1,
            "insertbackground": FOREGROUND,
        }
        button = {
            "font": FONT,
            "background": BUTTON,
            "foreground": FOREGROUND,
            "activebackground": "#d0d0cb",
            "activeforeground": FOREGROUND,
            "relief": "raised",
            "borderwidth": 1,
            "padx": 18,
            "pady": 4,
        }
        heading = tk.Label(self.root, text=TITLE, **{**label, "font": HEADING_FONT})
        name_label = tk.Label(self.root, text="Display name", **label)
        name = tk.Entry(self.root, textvariable=self.name_var, **entry)
        email_label = tk.Label(self.root, text="Email", **label)
        email = tk.Entry(self.root, textvariable=self.email_var, **entry)
        newsletter = tk.Checkbutton(
            self.root,
            text="Send newsletter",
            variable=self.newsletter_var,
            **label,
            activebackground=BACKGROUND,
            activeforeground=FOREGROUND,
            selectcolor="#ffffff",
            highlightthickness=0,
        )
        buttons = tk.Frame(self.root, background=BACKGROUND)
        save = tk.Button(buttons, text="Save", command=self.save, **button)
        reset = tk.Button(buttons, text="Reset", command=self.reset, **button)
        status = tk.Label(
            self.root,
            textvariable=self.status_var,
            width=12,
            anchor="w",
            **{**label, "foreground": STATUS},
        )

        heading.grid(row=0, column=0, columnspan=2, sticky="w", pady=(0, 18))
        name_label.grid(row=1, column=0, sticky="w", padx=(0, 24), pady=10)
        name.grid(row=1, column=1, sticky="we", pady=10, ipady=4)
        email_label.grid(row=2, column=0, sticky="w", padx=(0, 24), pady=10)
        email.grid(row=2, column=1, sticky="we", pady=10, ipady=4)
        newsletter.grid(row=3, column=1, sticky="w", pady=10)
        buttons.grid(row=4, column=1, sticky="w", pady=(18, 8))
        save.pack(side="left", padx=(0, 24))
        reset.pack(side="left")
        status.grid(row=5, column=1, sticky="w", pady=(8, 0))

        for lab, field in ((name_label, name), (email_label, email)):
            lab.bind("<Button-1>", lambda _e, f=field: self._focus_field(f))
        self.first_field = name
        self.widgets: dict[str, tk.Widget] = {
            "heading": heading,
            "display_name_label": name_label,
            "display_name": name,
            "email_label": email_label,
            "email": email,
            "newsletter": newsletter,
            "save": save,
            "reset": reset,
            "status": status,
        }
        self.names = {str(w): n for n, w in self.widgets.items()}
        for var in (self.name_var, self.email_var, self.newsletter_var, self.status_var):
            var.trace_add("write", lambda *_: self.write_state())
        self.root.bind("<Control-s>", lambda _e: self.save())
        self.root.bind("<Control-S>", lambda _e: self.save())
        self.root.bind_all("<FocusIn>", lambda _e: self.write_state())
        self.root.bind(
            "<Configure>", lambda e: self.write_state() if e.widget is self.root else None
        )
        self.root.protocol("WM_DELETE_WINDOW", self.root.destroy)

    def _focus_field(self, field: tk.Entry) -> None:
        field.focus_set()
        field.icursor("end")

    def save(self) -> None:
        write_json_atomic(
            self.out,
            {
                "display_name": self.name_var.get(),
                "email": self.email_var.get(),
                "newsletter": bool(self.newsletter_var.get()),
            },
            indent=2,
        )
        self.saved += 1
        self.status_var.set("Saved")
        self.write_state()

    def reset(self) -> None:
        self.name_var.set("")
        self.email_var.set("")
        self.newsletter_var.set(False)
        self.status_var.set("")

    def run(self) -> None:
        self.root.wait_visibility(self.root)  # mapped: the geometry is the real one
        self.root.update()  # Expose and idle redraws handled: the pixels are on screen
        self.first_field.focus_force()  # explicit X input focus; there is no window manager
        self.root.update()
        self.ready = True
        self.write_state()
        self.root.mainloop()

    def _box(self, widget: tk.Misc) -> list[int]:
        return [
            widget.winfo_rootx(),
            widget.winfo_rooty(),
            widget.winfo_width(),
            widget.winfo_height(),
        ]

    def _focus(self) -> str | None:
        try:
            focused = self.root.focus_get()
        except KeyError:
            return "other"
        return None if focused is None else self.names.get(str(focused), "other")

    def write_state(self) -> None:
        if self.state_path is None or not self.ready:
            return
        write_json_atomic(
            self.state_path,
            {
                "ready": True,
                "title": self.root.title(),
                "window": self._box(self.root),
                "widgets": {name: self._box(w) for name, w in self.widgets.items()},
                "focus": self._focus(),
                "display_name": self.name_var.get(),
                "email": self.email_var.get(),
                "newsletter": bool(self.newsletter_var.get()),
                "saved": self.saved,
                "status": self.status_var.get(),
            },
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="preferences.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("prefs.json"),
        help="where Save writes the preferences (default: prefs.json)",
    )
    parser.add_argument("--state", type=Path, default=None, help="JSON state file to rewrite")
    parser.add_argument("--x", type=int, default=80, help="window left, screen pixels")
    parser.add_argument("--y", type=int, default=80, help="window top, screen pixels")
    args = parser.parse_args(argv)
    PreferencesApp(args.out, args.state, args.x, args.y).run()


if __name__ == "__main__":
    main()
