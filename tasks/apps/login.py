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
"attempts", "signed_in", "user", "status"}`` in screen coordinates (written by ``_window.py``,
its only import besides the standard library, so tasks launch it as is).
"""

from __future__ import annotations

import argparse
import hmac
import os
import tkinter as tk
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _window import BAD, BUTTON, GOOD, HEADING_FONT, LABEL, Window, arguments, entry_style


class LoginApp(Window):
    """The form, the check, and the state (which never holds the password)."""

    def __init__(self, expected: str, state_path: Path | None, x: int, y: int) -> None:
        super().__init__("Sign in", state_path, x, y)
        self._expected = expected.encode("utf-8")
        self.attempts = 0
        self.user: str | None = None
        self.username_var = tk.StringVar(self.root)
        self._password_var = tk.StringVar(self.root)
        self.status_var = tk.StringVar(self.root, value="")

        entry = entry_style(22)
        heading = tk.Label(self.root, text="Account", **{**LABEL, "font": HEADING_FONT})
        username_label = tk.Label(self.root, text="Username", **LABEL)
        username = tk.Entry(self.root, textvariable=self.username_var, **entry)
        password_label = tk.Label(self.root, text="Password", **LABEL)
        password = tk.Entry(self.root, textvariable=self._password_var, show="*", **entry)
        sign_in = tk.Button(self.root, text="Sign in", command=self.sign_in, **BUTTON)
        self.status = tk.Label(
            self.root, textvariable=self.status_var, width=20, anchor="w", **LABEL
        )

        heading.grid(row=0, column=0, columnspan=2, sticky="w", pady=(0, 18))
        username_label.grid(row=1, column=0, sticky="w", padx=(0, 24), pady=10)
        username.grid(row=1, column=1, sticky="we", pady=10, ipady=4)
        password_label.grid(row=2, column=0, sticky="w", padx=(0, 24), pady=10)
        password.grid(row=2, column=1, sticky="we", pady=10, ipady=4)
        sign_in.grid(row=3, column=1, sticky="w", pady=(18, 8))
        self.status.grid(row=4, column=1, sticky="w", pady=(8, 0))

        self.label_for(username_label, username)
        self.label_for(password_label, password)
        username.bind("<Return>", lambda _e: self.focus_field(password))
        password.bind("<Return>", lambda _e: self.sign_in())
        password.bind("<KP_Enter>", lambda _e: self.sign_in())
        self.first_field = username
        self.widgets = {
            "heading": heading,
            "username_label": username_label,
            "username": username,
            "password_label": password_label,
            "password": password,
            "sign_in": sign_in,
            "status": self.status,
        }
        self.watch(self.username_var, self._password_var, self.status_var)

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

    def fields(self) -> dict[str, Any]:
        return {
            "username": self.username_var.get(),
            "password_length": len(self._password_var.get()),
            "attempts": self.attempts,
            "signed_in": self.user is not None,
            "user": self.user,
            "status": self.status_var.get(),
        }


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
    parser = arguments("login.py", __doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--expect-env", metavar="NAME", help="environment variable holding the expected password"
    )
    source.add_argument(
        "--password-file",
        metavar="PATH",
        help="file holding the expected password (trailing newline ignored)",
    )
    args = parser.parse_args(argv)
    LoginApp(expected_password(parser, args), args.state, args.x, args.y).run()


if __name__ == "__main__":
    main()
