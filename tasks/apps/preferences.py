"""A small "Preferences" window for example tasks (stdlib tkinter only).

Run ``python3 tasks/apps/preferences.py [--out prefs.json] [--x 80 --y 80] [--state PATH]``.
It shows a "Display name" and an "Email" field, a "Send newsletter" checkbox and the buttons
"Save" and "Reset". Save (the button or Ctrl+S) atomically writes ``{"display_name", "email",
"newsletter"}`` to ``--out`` and shows the status "Saved"; Reset clears the fields and the status.
Clicking a label focuses its field, like an HTML ``<label for>``.

With ``--state PATH`` the app rewrites PATH atomically (temp file + ``os.replace``) once it is
mapped and drawn and on every change: ``{"ready", "title", "window": [x, y, w, h], "widgets":
{name: [x, y, w, h]}, "focus", "display_name", "email", "newsletter", "saved", "status"}`` in
screen coordinates (written by ``_window.py``, its only import besides the standard library,
so tasks launch it as is).
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _window import (
    BACKGROUND,
    BUTTON,
    FOREGROUND,
    GOOD,
    HEADING_FONT,
    LABEL,
    Window,
    arguments,
    entry_style,
    write_json_atomic,
)

TITLE = "Preferences"


class PreferencesApp(Window):
    """The form, what Save writes, and the state."""

    def __init__(self, out: Path, state_path: Path | None, x: int, y: int) -> None:
        super().__init__(TITLE, state_path, x, y)
        self.out = out
        self.saved = 0
        self.name_var = tk.StringVar(self.root)
        self.email_var = tk.StringVar(self.root)
        self.newsletter_var = tk.BooleanVar(self.root, value=False)
        self.status_var = tk.StringVar(self.root, value="")

        entry = entry_style(24)
        heading = tk.Label(self.root, text=TITLE, **{**LABEL, "font": HEADING_FONT})
        name_label = tk.Label(self.root, text="Display name", **LABEL)
        name = tk.Entry(self.root, textvariable=self.name_var, **entry)
        email_label = tk.Label(self.root, text="Email", **LABEL)
        email = tk.Entry(self.root, textvariable=self.email_var, **entry)
        newsletter = tk.Checkbutton(
            self.root,
            text="Send newsletter",
            variable=self.newsletter_var,
            **LABEL,
            activebackground=BACKGROUND,
            activeforeground=FOREGROUND,
            selectcolor="#ffffff",
            highlightthickness=0,
        )
        buttons = tk.Frame(self.root, background=BACKGROUND)
        save = tk.Button(buttons, text="Save", command=self.save, **BUTTON)
        reset = tk.Button(buttons, text="Reset", command=self.reset, **BUTTON)
        status = tk.Label(
            self.root,
            textvariable=self.status_var,
            width=12,
            anchor="w",
            **{**LABEL, "foreground": GOOD},
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

        self.label_for(name_label, name)
        self.label_for(email_label, email)
        self.first_field = name
        self.widgets = {
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
        self.watch(self.name_var, self.email_var, self.newsletter_var, self.status_var)
        self.root.bind("<Control-s>", lambda _e: self.save())
        self.root.bind("<Control-S>", lambda _e: self.save())

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

    def fields(self) -> dict[str, Any]:
        return {
            "display_name": self.name_var.get(),
            "email": self.email_var.get(),
            "newsletter": bool(self.newsletter_var.get()),
            "saved": self.saved,
            "status": self.status_var.get(),
        }


def main(argv: Sequence[str] | None = None) -> None:
    parser = arguments("preferences.py", __doc__)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("prefs.json"),
        help="where Save writes the preferences (default: prefs.json)",
    )
    args = parser.parse_args(argv)
    PreferencesApp(args.out, args.state, args.x, args.y).run()


if __name__ == "__main__":
    main()
