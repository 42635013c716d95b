"""A small read-only "Invoice" window for example tasks (stdlib tkinter only).

Run ``python3 tasks/apps/invoice.py [--number INV-2041] [--customer "Ada Lovelace"]
[--x 80 --y 80] [--state PATH]``. It shows "Invoice <number>", "Date 2026-11-30",
"Customer <customer>", three lines ("Gear wheels 4 x 12.50 = 50.00", ...), "Total 76.50" and a
"Mark as paid" button; clicking it shows the status "Paid".

With ``--state PATH`` the app rewrites PATH atomically (temp file + ``os.replace``) once it is
mapped and drawn and on every change: ``{"ready", "title", "window": [x, y, w, h], "widgets":
{name: [x, y, w, h]}, "number", "date", "customer", "lines", "total", "paid", "status"}`` in
screen coordinates. The script imports nothing from the repository, so tasks can launch it as is.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import tkinter as tk
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

TITLE = "Invoice"
FONT = ("DejaVu Sans", 14)
HEADING_FONT = ("DejaVu Sans", 16, "bold")
BACKGROUND = "#f5f5f2"
FOREGROUND = "#111111"
BUTTON = "#e2e2de"
STATUS = "#0b5d1e"
DATE = "2026-11-30"
#: (item, quantity, unit price)
LINES = (
    ("Gear wheels", 4, Decimal("12.50")),
    ("Brass rods", 2, Decimal("8.25")),
    ("Punch cards", 100, Decimal("0.10")),
)


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


class InvoiceApp:
    """The window, its widgets and the state file."""

    def __init__(self, number: str, customer: str, state_path: Path | None, x: int, y: int) -> None:
        self.number = number
        self.customer = customer
        self.state_path = state_path
        self.ready = False
        self.paid = False
        self.lines = [
            f"{item} {qty} x {price:.2f} = {qty * price:.2f}" for item, qty, price in LINES
        ]
        self.total = sum((qty * price for _, qty, price in LINES), Decimal(0))
        self.root = tk.Tk()
        self.root.title(TITLE)
        self.root.configure(background=BACKGROUND, padx=32, pady=24)
        self.root.geometry(f"+{x}+{y}")
        self.root.resizable(False, False)
        self.status_var = tk.StringVar(self.root, value="")

        label = {"font": FONT, "background": BACKGROUND, "foreground": FOREGROUND, "anchor": "w"}
        self.widgets: dict[str, tk.Widget] = {
            "number": tk.Label(
                self.root, text=f"Invoice {number}", **{**label, "font": HEADING_FONT}
            ),
            "date": tk.Label(self.root, text=f"Date {DATE}", **label),
            "customer": tk.Label(self.root, text=f"Customer {customer}", **label),
        }
        for index, text in enumerate(self.lines, start=1):
            self.widgets[f"line_{index}"] = tk.Label(self.root, text=text, **label)
        self.widgets["total"] = tk.Label(
            self.root, text=f"Total {self.total:.2f}", **{**label, "font": (*FONT, "bold")}
        )
        self.widgets["mark_paid"] = tk.Button(
            self.root,
            text="Mark as paid",
            command=self.mark_paid,
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
        self.widgets["status"] = tk.Label(
            self.root, textvariable=self.status_var, width=12, **{**label, "foreground": STATUS}
        )
        pads = {
            "number": (0, 16),
            "customer": (6, 18),
            "line_3": (6, 18),
            "total": (6, 22),
            "mark_paid": (0, 10),
        }
        for row, (name, widget) in enumerate(self.widgets.items()):
            widget.grid(row=row, column=0, sticky="w", pady=pads.get(name, 6))
        self.status_var.trace_add("write", lambda *_: self.write_state())
        self.root.bind(
            "<Configure>", lambda e: self.write_state() if e.widget is self.root else None
        )
        self.root.protocol("WM_DELETE_WINDOW", self.root.destroy)

    def mark_paid(self) -> None:
        self.paid = True
        self.status_var.set("Paid")
        self.write_state()

    def run(self) -> None:
        self.root.wait_visibility(self.root)  # mapped: the geometry is the real one
        self.root.update()  # Expose and idle redraws handled: the pixels are on screen
        self.root.focus_force()  # explicit X input focus; there is no window manager
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
                "number": self.number,
                "date": DATE,
                "customer": self.customer,
                "lines": self.lines,
                "total": f"{self.total:.2f}",
                "paid": self.paid,
                "status": self.status_var.get(),
            },
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="invoice.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--number", default="INV-2041", help="invoice number shown")
    parser.add_argument("--customer", default="Ada Lovelace", help="customer name shown")
    parser.add_argument("--state", type=Path, default=None, help="JSON state file to rewrite")
    parser.add_argument("--x", type=int, default=80, help="window left, screen pixels")
    parser.add_argument("--y", type=int, default=80, help="window top, screen pixels")
    args = parser.parse_args(argv)
    InvoiceApp(args.number, args.customer, args.state, args.x, args.y).run()


if __name__ == "__main__":
    main()
