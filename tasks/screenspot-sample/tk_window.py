"""The desktop app of the ScreenSpot sample set: a small code editor window drawn with Tk.

``python tk_window.py --out BOXES.json [--scale 2]`` fills the whole screen (no window manager is
needed: the window is undecorated and placed at 0, 0) and, once it is mapped and drawn, writes
``{"scale": S, "window": [x, y, w, h], "boxes": {name: [x, y, w, h]}}`` to BOXES.json (temp file
+ rename): the screen box of every named element, taken from Tk itself (``winfo_rootx/rooty/
width/height``; a tree row from ``Treeview.bbox``). ``--scale 2`` draws the same window the way
a HiDPI desktop does: every size, font and icon twice as large, on a screen twice as large.
Toolbar icons are Canvas drawings (no text); the close-tab button shows only the symbol ✕.
Standard library only; started by ``make.py`` with DISPLAY set to a private Xvfb.
"""

from __future__ import annotations

import argparse
import json
import os
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk

BG = "#f3f3f3"
PANEL = "#e8e8e8"
DARK = "#2c2c32"
TEXT = "#1e1e1e"
MUTED = "#6b6b6b"
ACCENT = "#0a64c8"
CODE = [
    ("keyword", "import "),
    ("plain", "json\n"),
    ("keyword", "from "),
    ("plain", "pathlib "),
    ("keyword", "import "),
    ("plain", "Path\n\n"),
    ("keyword", "from "),
    ("plain", "utils "),
    ("keyword", "import "),
    ("plain", "load_rows\n\n\n"),
    ("keyword", "def "),
    ("name", "main"),
    ("plain", "() -> "),
    ("keyword", "None"),
    ("plain", ":\n"),
    ("plain", "    rows = load_rows(Path("),
    ("string", '"data/invoices.csv"'),
    ("plain", "))\n"),
    ("plain", "    total = "),
    ("name", "sum"),
    ("plain", "(row.amount "),
    ("keyword", "for "),
    ("plain", "row "),
    ("keyword", "in "),
    ("plain", "rows)\n"),
    ("comment", "    # one line per customer, sorted by amount\n"),
    ("plain", "    "),
    ("name", "print"),
    ("plain", "(json.dumps({"),
    ("string", '"total"'),
    ("plain", ": total}, indent="),
    ("number", "2"),
    ("plain", "))\n\n\n"),
    ("keyword", "if "),
    ("plain", "__name__ == "),
    ("string", '"__main__"'),
    ("plain", ":\n"),
    ("plain", "    main()\n"),
]
TERMINAL = '$ python main.py\n{\n  "total": 16793.25\n}\n$ '


class EditorWindow:
    """The window; :meth:`boxes` reports where its named elements are on the screen."""

    def __init__(self, root: tk.Tk, scale: int) -> None:
        self.root = root
        self.s = scale
        self.named: dict[str, tk.Widget] = {}
        root.configure(background=BG)
        self.font = ("DejaVu Sans", -13 * scale)
        self.bold = ("DejaVu Sans", -13 * scale, "bold")
        self.small = ("DejaVu Sans", -12 * scale)
        self.mono = ("DejaVu Sans Mono", -14 * scale)
        self._title_bar()
        self._menu_bar()
        self._toolbar()
        self._status_bar()
        body = tk.Frame(root, background=BG)
        body.pack(fill="both", expand=True)
        self._explorer(body)
        self._editor(body)

    def px(self, value: int) -> int:
        return value * self.s

    # --- rows at the top ------------------------------------------------------------------
    def _title_bar(self) -> None:
        bar = tk.Frame(self.root, background=DARK, height=self.px(30))
        bar.pack(fill="x")
        bar.pack_propagate(False)
        tk.Label(
            bar,
            text="main.py - invoices - Sample Editor",
            font=self.small,
            background=DARK,
            foreground="#dddddd",
        ).pack(side="left", padx=self.px(12))
        close = self._icon(bar, "window_close", 30, 30, self._draw_close, background=DARK)
        close.pack(side="right")

    def _menu_bar(self) -> None:
        bar = tk.Frame(self.root, background=BG)
        bar.pack(fill="x")
        for label in ("File", "Edit", "Selection", "View", "Run", "Help"):
            item = tk.Label(
                bar,
                text=label,
                font=self.font,
                background=BG,
                foreground=TEXT,
                padx=self.px(9),
                pady=self.px(4),
            )
            item.pack(side="left")
            self.named[f"menu_{label.lower()}"] = item

    def _toolbar(self) -> None:
        bar = tk.Frame(self.root, background=PANEL, height=self.px(40))
        bar.pack(fill="x")
        bar.pack_propagate(False)
        tools: list[tuple[str, Callable[[tk.Canvas, int], None]]] = [
            ("new_file", self._draw_new_file),
            ("open_folder", self._draw_folder),
            ("save", self._draw_save),
            ("", self._draw_separator),
            ("run", self._draw_run),
            ("stop", self._draw_stop),
            ("", self._draw_separator),
            ("search", self._draw_search),
            ("settings", self._draw_gear),
        ]
        for index, (name, draw) in enumerate(tools):
            width = 12 if not name else 34
            icon = self._icon(bar, name or f"separator_{index}", width, 32, draw, background=PANEL)
            icon.pack(side="left", padx=(self.px(6) if index == 0 else 0, 0), pady=self.px(4))
        commit = tk.Button(
            bar,
            text="Commit",
            font=self.font,
            background="#ffffff",
            foreground=TEXT,
            relief="solid",
            borderwidth=1,
            padx=self.px(14),
            pady=self.px(2),
            highlightthickness=0,
        )
        commit.pack(side="right", padx=self.px(10))
        self.named["commit"] = commit
        tk.Label(
            bar, text="branch: main", font=self.small, background=PANEL, foreground=MUTED
        ).pack(side="right", padx=self.px(4))

    def _status_bar(self) -> None:
        bar = tk.Frame(self.root, background=ACCENT, height=self.px(24))
        bar.pack(fill="x", side="bottom")
        bar.pack_propagate(False)
        bell = self._icon(bar, "notifications", 26, 24, self._draw_bell, background=ACCENT)
        bell.pack(side="right", padx=(0, self.px(6)))
        for label, name in (
            ("Python 3.11", "interpreter"),
            ("UTF-8", "encoding"),
            ("Spaces: 4", "indent"),
            ("Ln 7, Col 12", "cursor"),
        ):
            item = tk.Label(
                bar,
                text=label,
                font=self.small,
                background=ACCENT,
                foreground="#ffffff",
                padx=self.px(8),
            )
            item.pack(side="right")
            self.named[f"status_{name}"] = item
        tk.Label(
            bar,
            text="0 problems",
            font=self.small,
            background=ACCENT,
            foreground="#ffffff",
            padx=self.px(10),
        ).pack(side="left")

    # --- the body ---------------------------------------------------------------------------
    def _explorer(self, body: tk.Frame) -> None:
        panel = tk.Frame(body, background=PANEL, width=self.px(240))
        panel.pack(side="left", fill="y")
        panel.pack_propagate(False)
        tk.Label(
            panel,
            text="EXPLORER",
            font=self.bold,
            background=PANEL,
            foreground=MUTED,
            anchor="w",
            padx=self.px(12),
            pady=self.px(8),
        ).pack(fill="x")
        style = ttk.Style(self.root)
        style.theme_use("clam")
        style.configure(
            "Files.Treeview",
            font=self.font,
            rowheight=self.px(24),
            background=PANEL,
            fieldbackground=PANEL,
            foreground=TEXT,
            borderwidth=0,
            indent=self.px(16),
        )
        style.layout("Files.Treeview", [("Treeview.treearea", {"sticky": "nswe"})])
        tree = ttk.Treeview(panel, style="Files.Treeview", show="tree", selectmode="browse")
        tree.pack(fill="both", expand=True, padx=self.px(4))
        tree.insert("", "end", "invoices", text="invoices", open=True)
        for name in ("data", "tests"):
            tree.insert("invoices", "end", name, text=name)
        for name in ("main.py", "utils.py", "report.py", "README.md", "pyproject.toml"):
            tree.insert("invoices", "end", name, text=name)
        self.tree = tree

    def _editor(self, body: tk.Frame) -> None:
        column = tk.Frame(body, background="#ffffff")
        column.pack(side="left", fill="both", expand=True)
        tabs = tk.Frame(column, background=PANEL)
        tabs.pack(fill="x")
        for name, current in (("main.py", True), ("utils.py", False)):
            tab = tk.Frame(tabs, background="#ffffff" if current else PANEL)
            tab.pack(side="left", padx=(0, self.px(1)))
            tk.Label(
                tab,
                text=name,
                font=self.font,
                foreground=TEXT if current else MUTED,
                background=tab["background"],
                padx=self.px(12),
                pady=self.px(6),
            ).pack(side="left")
            close = tk.Button(
                tab,
                text="✕",
                font=self.small,
                relief="flat",
                borderwidth=0,
                highlightthickness=0,
                background=tab["background"],
                foreground=MUTED,
                padx=self.px(4),
                pady=0,
            )
            close.pack(side="left", padx=(0, self.px(6)))
            self.named[f"close_tab_{name.split('.')[0]}"] = close
        terminal_panel = tk.Frame(column, background="#ffffff", height=self.px(190))
        terminal_panel.pack(side="bottom", fill="x")
        terminal_panel.pack_propagate(False)
        tk.Frame(terminal_panel, background="#d0d0d0", height=1).pack(fill="x")
        strip = tk.Frame(terminal_panel, background="#ffffff")
        strip.pack(fill="x", padx=self.px(8))
        for label in ("Problems", "Output", "Terminal"):
            current = label == "Output"
            item = tk.Label(
                strip,
                text=label.upper(),
                font=self.bold if current else self.small,
                background="#ffffff",
                foreground=TEXT if current else MUTED,
                padx=self.px(10),
                pady=self.px(7),
            )
            item.pack(side="left")
            self.named[f"panel_{label.lower()}"] = item
        output = tk.Text(
            terminal_panel,
            font=self.mono,
            background="#ffffff",
            foreground=TEXT,
            relief="flat",
            borderwidth=0,
            highlightthickness=0,
            insertwidth=0,
            padx=self.px(18),
        )
        output.insert("1.0", TERMINAL)
        output.configure(state="disabled")
        output.pack(fill="both", expand=True)
        gutter = tk.Text(
            column,
            font=self.mono,
            width=4,
            background="#ffffff",
            foreground="#9a9a9a",
            relief="flat",
            borderwidth=0,
            insertwidth=0,
            highlightthickness=0,
            padx=self.px(6),
            pady=self.px(8),
        )
        lines = "".join(text for _, text in CODE).count("\n") + 1
        gutter.insert("1.0", "\n".join(f"{n:>3}" for n in range(1, lines + 1)))
        gutter.configure(state="disabled")
        gutter.pack(side="left", fill="y")
        code = tk.Text(
            column,
            font=self.mono,
            background="#ffffff",
            foreground=TEXT,
            relief="flat",
            borderwidth=0,
            insertwidth=0,
            highlightthickness=0,
            padx=self.px(8),
            pady=self.px(8),
        )
        colours = {
            "keyword": "#af00db",
            "name": "#795e26",
            "string": "#a31515",
            "comment": "#008000",
            "number": "#098658",
            "plain": TEXT,
        }
        for tag, colour in colours.items():
            code.tag_configure(tag, foreground=colour)
        for tag, text in CODE:
            code.insert("end", text, tag)
        code.configure(state="disabled")
        code.pack(side="left", fill="both", expand=True)

    # --- icons ------------------------------------------------------------------------------
    def _icon(
        self,
        parent: tk.Widget,
        name: str,
        width: int,
        height: int,
        draw: Callable[[tk.Canvas, int], None],
        *,
        background: str,
    ) -> tk.Canvas:
        canvas = tk.Canvas(
            parent,
            width=self.px(width),
            height=self.px(height),
            background=background,
            highlightthickness=0,
            borderwidth=0,
        )
        draw(canvas, self.s)
        if not name.startswith("separator"):
            self.named[name] = canvas
        return canvas

    @staticmethod
    def _scaled(points: list[float], s: int, dx: float, dy: float) -> list[float]:
        return [v * s + (dx if i % 2 == 0 else dy) * s for i, v in enumerate(points)]

    def _draw_new_file(self, c: tk.Canvas, s: int) -> None:
        c.create_polygon(
            self._scaled([0, 0, 10, 0, 15, 5, 15, 20, 0, 20], s, 9.5, 6),
            fill="#ffffff",
            outline="#555555",
            width=s,
        )
        c.create_line(self._scaled([10, 0, 10, 5, 15, 5], s, 9.5, 6), fill="#555555", width=s)

    def _draw_folder(self, c: tk.Canvas, s: int) -> None:
        c.create_polygon(
            self._scaled([0, 2, 7, 2, 9, 5, 20, 5, 20, 18, 0, 18], s, 7, 7),
            fill="#e8b740",
            outline="#a67c10",
            width=s,
        )

    def _draw_save(self, c: tk.Canvas, s: int) -> None:
        c.create_polygon(
            self._scaled([0, 0, 15, 0, 18, 3, 18, 18, 0, 18], s, 8, 7),
            fill="#3b6fb6",
            outline="#24487a",
            width=s,
        )
        c.create_rectangle(self._scaled([4, 0, 13, 6], s, 8, 7), fill="#dfe8f5", outline="")
        c.create_rectangle(self._scaled([3, 10, 15, 18], s, 8, 7), fill="#ffffff", outline="")

    def _draw_run(self, c: tk.Canvas, s: int) -> None:
        c.create_polygon(self._scaled([0, 0, 14, 8, 0, 16], s, 11, 8), fill="#1f9d3a", outline="")

    def _draw_stop(self, c: tk.Canvas, s: int) -> None:
        c.create_rectangle(self._scaled([0, 0, 13, 13], s, 10.5, 9.5), fill="#c83232", outline="")

    def _draw_search(self, c: tk.Canvas, s: int) -> None:
        c.create_oval(self._scaled([0, 0, 13, 13], s, 8, 7), outline="#444444", width=2 * s)
        c.create_line(self._scaled([11, 11, 18, 18], s, 8, 7), fill="#444444", width=3 * s)

    def _draw_gear(self, c: tk.Canvas, s: int) -> None:
        import math

        cx, cy, teeth = 17.0, 16.0, 8
        points: list[float] = []
        for i in range(teeth * 4):
            angle = 2 * math.pi * i / (teeth * 4)
            radius = 10.0 if (i % 4) in (0, 1) else 7.5
            points += [(cx + radius * math.cos(angle)) * s, (cy + radius * math.sin(angle)) * s]
        c.create_polygon(points, fill="#555555", outline="")
        c.create_oval(self._scaled([-3, -3, 3, 3], s, cx, cy), fill=PANEL, outline="")

    def _draw_separator(self, c: tk.Canvas, s: int) -> None:
        c.create_line(6 * s, 6 * s, 6 * s, 26 * s, fill="#c4c4c4", width=s)

    def _draw_close(self, c: tk.Canvas, s: int) -> None:
        c.create_line(self._scaled([0, 0, 10, 10], s, 10, 10), fill="#dddddd", width=s * 1.5)
        c.create_line(self._scaled([0, 10, 10, 0], s, 10, 10), fill="#dddddd", width=s * 1.5)

    def _draw_bell(self, c: tk.Canvas, s: int) -> None:
        c.create_polygon(
            self._scaled([2, 11, 2, 6, 4, 2, 8, 1, 12, 2, 14, 6, 14, 11, 16, 13, 0, 13], s, 5, 4),
            fill="#ffffff",
            outline="",
            smooth=False,
        )
        c.create_oval(self._scaled([6, 13, 10, 16], s, 5, 4), fill="#ffffff", outline="")

    # --- geometry ---------------------------------------------------------------------------
    def boxes(self) -> dict[str, list[int]]:
        out = {
            name: [w.winfo_rootx(), w.winfo_rooty(), w.winfo_width(), w.winfo_height()]
            for name, w in self.named.items()
        }
        for item in ("main.py", "utils.py", "README.md"):
            bbox = self.tree.bbox(item)
            if not bbox:
                raise RuntimeError(f"tree row {item} is not visible")
            x, y, w, h = (int(v) for v in bbox)
            out[f"tree_{item}"] = [self.tree.winfo_rootx() + x, self.tree.winfo_rooty() + y, w, h]
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the boxes")
    parser.add_argument("--scale", type=int, default=1, choices=(1, 2))
    args = parser.parse_args()
    root = tk.Tk()
    root.overrideredirect(True)
    width, height = root.winfo_screenwidth(), root.winfo_screenheight()
    root.geometry(f"{width}x{height}+0+0")
    window = EditorWindow(root, args.scale)

    def report() -> None:
        root.update_idletasks()
        data = {
            "scale": args.scale,
            "window": [
                root.winfo_rootx(),
                root.winfo_rooty(),
                root.winfo_width(),
                root.winfo_height(),
            ],
            "boxes": window.boxes(),
        }
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, args.out)

    root.wait_visibility()
    root.update()
    root.after(50, report)
    root.mainloop()


if __name__ == "__main__":
    main()
