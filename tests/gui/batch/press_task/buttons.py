"""A window of six buttons for the batch tests (stdlib tkinter only): a click on one writes
``{"pressed": NAME, "pid": PID}`` to ``--out`` and shows "Pressed NAME". ``--mode slow`` connects
to the display at once, as apps do, but shows its window only 8 s later (time for a test to kill
the display or the node under it; an app that slept before connecting outlived its lost node and
opened its window on the next display given the same number, where the retried row clicked it),
``--mode crash`` exits at once with an error, ``--mode hang`` never shows a window and ignores
SIGTERM.
``--state PATH``: once drawn, write each button's centre on the screen there."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import tkinter as tk

NAMES = ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot")
FONT = ("DejaVu Sans", 18)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--mode", default="normal")
    parser.add_argument("--state")
    args = parser.parse_args()
    if args.mode == "crash":
        sys.exit("buttons: asked to crash")
    if args.mode == "hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(1)
    root = tk.Tk()  # on the display first, as an app is: it dies with its display
    if args.mode == "slow":
        root.withdraw()
        root.after(8000, root.deiconify)
    root.title("Buttons")
    root.geometry("+40+40")
    root.configure(background="#f5f5f2")
    status = tk.StringVar(root, value="Press one")

    def press(name: str) -> None:
        tmp = args.out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"pressed": name, "pid": os.getpid()}, handle)
        os.replace(tmp, args.out)
        status.set(f"Pressed {name}")

    buttons = {}
    for row, name in enumerate(NAMES):
        buttons[name] = tk.Button(
            root, text=name, font=FONT, width=9, command=lambda n=name: press(n)
        )
        buttons[name].grid(row=row // 3, column=row % 3, padx=14, pady=10)
    tk.Label(root, textvariable=status, font=FONT, background="#f5f5f2").grid(
        row=2, column=0, columnspan=3, pady=10
    )
    if args.state:

        def report() -> None:
            centres = {
                n: [b.winfo_rootx() + b.winfo_width() // 2, b.winfo_rooty() + b.winfo_height() // 2]
                for n, b in buttons.items()
            }
            with open(args.state + ".tmp", "w", encoding="utf-8") as handle:
                json.dump(centres, handle)
            os.replace(args.state + ".tmp", args.state)

        root.after(500, report)
    root.mainloop()


if __name__ == "__main__":
    main()
