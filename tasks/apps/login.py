"""A small "Sign in" window for example tasks (stdlib tkinter only).

Run ``python3 tasks/apps/login.py (--expect-env NAME | --password-file PATH) [--x 80 --y 80]
[--state PATH]``. It shows a "Username" and a "Password" field (masked with ``*``) and a
"Sign in" button. Sign in (the button, or Return in the password field) shows "Welcome, <user>"
when the username is not empty and the password equals the expected one (read from the
environment variable NAME, or from PATH without its trailing newline), else "Wrong password".
The password field is cleared after each attempt. Clicking a label focuses its field.

The password, and anything typed into the password field, is written nowhere: not to the state
file, stdout or stderr. With ``--state PATH`` the app rewrites PATH atomically (temp file +
``os.replace``) once it is mapped and drawn and on every change: ``{"ready", "title", "window":
[x, y, w, h], "widgets": {name: [x, y, w, h]}, "focus", "username", "password_length",
"attempts", "signed_in", "user", "status"}`` in screen coordinates. The script imports nothing
from the repository, so tasks can launch it as is.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import tempfile
import tkinter as tk
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TITLE = "Sign in"
FONT = ("DejaVu Sans", 14)
HEADING_FONT = ("DejaVu Sans", 16, "bold")
BACKGROUND = "#f5f5f2"
FOREGROUND = "#111111"
BUTTON = "#e2e2de"
GOOD = "#0b5d1e"
BAD = "#9b1111"


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class LoginApp:
    """The window, its widgets and the state file (which never holds the password)."""

    def __init__(self, expected: str, state_path: Path | None, x: int, y: int) -> None:
        self._expected = expected.encode("utf-8")
        self.state_path = state_path
        self.ready = False
        self.attempts = 0
        self.user: str | None = None
        self.root = tk.Tk()
        self.root.title(TITLE)
        self.root.configure(background=BACKGROUND, padx=28, pady=22)
        self.root.geometry(f"+{x}+{y}")
        self.root.resizable(False, False)
        self.username_var = tk.StringVar(self.root)
        self._password_var = tk.StringVar(self.root)
        self.status_var = tk.StringVar(self.root, value="")

        label = {"font": FONT, "background": BACKGROUND, "foreground": FOREGROUND}
        entry = {
            "font": FONT,
            "width": 22,
            "background": "#ffffff",
            "foreground": FOREGROUND,
            "relief": "solid",
            "borderwidth": 1,
            "insertbackground": FOREGROUND,
        }
        heading = tk.Label(self.root, text="Account", **{**label, "font": HEADING_FONT})
        username_label = tk.Label(self.root, text="Username", **label)
        username = tk.Entry(self.root, textvariable=self.username_var, **entry)
        password_label = tk.Label(self.root, text="Password", **label)
        password = tk.Entry(self.root, textvariable=self._password_var, show="*", **entry)
        sign_in = tk.Button(
            self.root,
            text="Sign in",
            command=self.sign_in,
            font=FONT,
            background=BUTTON,
            foreground=FOREGROUND,
            activebackground="#d0d0cb",
            activeforeground=FOREGROUND,
            relief="raised",
            borderwidth=1,
            padx=18,
            pady=4,
        )
        self.status = tk.Label(
            self.root, textvariable=self.status_var, width=20, anchor="w", **label
        )

        heading.grid(row=0, column=0, columnspan=2, sticky="w", pady=(0, 18))
        username_label.grid(row=1, column=0, sticky="w", padx=(0, 24), pady=10)
        username.grid(row=1, column=1, sticky="we", pady=10, ipady=4)
        password_label.grid(row=2, column=0, sticky="w", padx=(0, 24), pady=10)
        password.grid(row=2, column=1, sticky="we", pady=10, ipady=4)
        sign_in.grid(row=3, column=1, sticky="w", pady=(18, 8))
        self.status.grid(row=4, column=1, sticky="w", pady=(8, 0))

        for lab, field in ((username_label, username), (password_label, password)):
            lab.bind("<Button-1>", lambda _e, f=field: self._focus_field(f))
        username.bind("<Return>", lambda _e: self._focus_field(password))
        password.bind("<Return>", lambda _e: self.sign_in())
        password.bind("<KP_Enter>", lambda _e: self.sign_in())
        self.first_field = username
        self.widgets: dict[str, tk.Widget] = {
            "heading": heading,
            "username_label": username_label,
            "username": username,
            "password_label": password_label,
            "password": password,
            "sign_in": sign_in,
            "status": self.status,
        }
        self.names = {str(w): n for n, w in self.widgets.items()}
        for var in (self.username_var, self._password_var, self.status_var):
            var.trace_add("write", lambda *_: self.write_state())
        self.root.bind_all("<FocusIn>", lambda _e: self.write_state())
        self.root.bind(
            "<Configure>", lambda e: self.write_state() if e.widget is self.root else None
        )
        self.root.protocol("WM_DELETE_WINDOW", self.root.destroy)

    def _focus_field(self, field: tk.Entry) -> None:
        field.focus_set()
        field.icursor("end")

    def sign_in(self) -> None:
        username = self.username_var.get().strip()
        typed = self._password_var.get().encode("utf-8")
        self.attempts += 1
        if username and hmac.compare_digest(typed, self._expected):
            self.user = username
            self.status.configure(foreground=GOOD)
            self.status_var.set(f"Welcome, {username}")
        else:
            self.user = None
            self.status.configure(foreground=BAD)
            self.status_var.set("Wrong password")
        self._password_var.set("")
        self.write_state()

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
                "username": self.username_var.get(),
                "password_length": len(self._password_var.get()),
                "attempts": self.attempts,
                "signed_in": self.user is not None,
                "user": self.user,
                "status": self.status_var.get(),
            },
        )


def expected_password(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """The expected password from --expect-env or --password-file (never echoed)."""
    if args.expect_env is not None:
        value = os.environ.get(args.expect_env)
        if not value:
            parser.error(f"environment variable {args.expect_env} is not set or empty")
        return value
    try:
        value = Path(args.password_file).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        parser.error(f"cannot read --password-file: {exc.strerror}")
    if not value:
        parser.error("--password-file is empty")
    return value


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="login.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--expect-env", metavar="NAME", help="environment variable holding the expected password"
    )
    source.add_argument(
        "--password-file",
        metavar="PATH",
        help="file holding the expected password (trailing newline ignored)",
    )
    parser.add_argument("--state", type=Path, default=None, help="JSON state file to rewrite")
    parser.add_argument("--x", type=int, default=80, help="window left, screen pixels")
    parser.add_argument("--y", type=int, default=80, help="window top, screen pixels")
    args = parser.parse_args(argv)
    LoginApp(expected_password(parser, args), args.state, args.x, args.y).run()


if __name__ == "__main__":
    main()
