"""A small read-only "Invoice" window for example tasks (stdlib tkinter only).

Run ``python3 tasks/apps/invoice.py [--number INV-2041] [--customer "Ada Lovelace"]
[--x 80 --y 80] [--state PATH]``. It shows "Invoice <number>", "Date 2026-11-30",
"Customer <customer>", three lines ("Gear wheels 4 x 12.50 = 50.00", ...), "Total 76.50" and a
"Mark as paid" button; clicking it shows the status "Paid".

With ``--state PATH`` the app rewrites PATH atomically (temp file + ``os.replace``) once it is
mapped and drawn and on every change: ``{"ready", "title", "window": [x, y, w, h], "widgets":
{name: [x, y, w, h]}, "number", "date", "customer", "lines", "total", "paid", "status"}`` in
screen coordinates (written by ``_window.py``, its only import besides the standard library,
so tasks launch it as is).
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from _window import BUTTON, FONT, GOOD, HEADING_FONT, LABEL, Window, arguments

DATE = "2026-11-30"
#: (item, quantity, unit price)
LINES = (
    ("Gear wheels", 4, Decimal("12.50")),
    ("Brass rods", 2, Decimal("8.25")),
    ("Punch cards", 100, Decimal("0.10")),
)


class InvoiceApp(Window):
    """The invoice, its button, and the state."""

    def __init__(self, number: str, customer: str, state_path: Path | None, x: int, y: int) -> None:
        super().__init__("Invoice", state_path, x, y, pad=(32, 24))
        self.number = number
        self.customer = customer
        self.paid = False
        self.lines = [
            f"{item} {qty} x {price:.2f} = {qty * price:.2f}" for item, qty, price in LINES
        ]
        self.total = sum((qty * price for _, qty, price in LINES), Decimal(0))
        self.status_var = tk.StringVar(self.root, value="")

        label = {**LABEL, "anchor": "w"}
        self.widgets = {
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
            self.root, text="Mark as paid", command=self.mark_paid, **BUTTON
        )
        self.widgets["status"] = tk.Label(
            self.root, textvariable=self.status_var, width=12, **{**label, "foreground": GOOD}
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

    def mark_paid(self) -> None:
        self.paid = True
        self.status_var.set("Paid")
        self.write_state()

    def fields(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "date": DATE,
            "customer": self.customer,
            "lines": self.lines,
            "total": f"{self.total:.2f}",
            "paid": self.paid,
            "status": self.status_var.get(),
        }


def main(argv: Sequence[str] | None = None) -> None:
    parser = arguments("invoice.py", __doc__)
    parser.add_argument("--number", default="INV-2041", help="invoice number shown")
    parser.add_argument("--customer", default="Ada Lovelace", help="customer name shown")
    args = parser.parse_args(argv)
    InvoiceApp(args.number, args.customer, args.state, args.x, args.y).run()


if __name__ == "__main__":
    main()
