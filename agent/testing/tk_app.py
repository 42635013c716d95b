"""A small Tk application that reports its geometry and every input it sees, for GUI tests.

Run ``python -m agent.testing.tk_app --state PATH [--x X --y Y] [--title T] [--undecorated]
[--fill]``. The window (a fixed 340x160 layout: an Entry, a small "OK" and a "Cancel" button) is
placed at (X, Y) on the root window; with ``--fill`` it covers the whole screen, undecorated, and
the same layout is stretched to it (an app whose layout scales with the screen). Once it is
mapped and drawn, and on every change after that, the app
atomically rewrites PATH with JSON: widget boxes in screen coordinates, click counters, the last
click, the Entry's text, the keys seen ("Control-a", "Return", ...), wheel/right/middle/double
clicks and drags. ``TkApp.launch`` starts it as a subprocess and waits for ``"ready": true``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tkinter as tk
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from agent.screen.xvfb import wait_until

State = dict[str, Any]

WINDOW_SIZE = (340, 160)
BACKGROUND = "#3a6ea5"  # anything but the black of an empty Xvfb root window
#: widget name -> (x, y, width, height) inside the window
LAYOUT = {"entry": (20, 15, 300, 30), "ok": (20, 70, 80, 30), "cancel": (120, 70, 80, 30)}
#: X modifier masks reported in key names, in this order ("Control-Alt-Shift-x")
MODIFIERS = (("Control", 0x4), ("Alt", 0x8), ("Super", 0x40), ("Shift", 0x1))
DRAG_MIN_PX = 5


class _App:
    """The application itself (runs in the child process)."""

    def __init__(
        self, state_path: Path, x: int, y: int, title: str, undecorated: bool, fill: bool = False
    ) -> None:
        self.state_path = state_path
        self.root = tk.Tk()
        self.root.title(title)
        self.root.configure(background=BACKGROUND)
        size = (self.root.winfo_screenwidth(), self.root.winfo_screenheight())
        width, height = size if fill else WINDOW_SIZE
        self.root.geometry(f"{width}x{height}+{0 if fill else x}+{0 if fill else y}")
        self.root.resizable(False, False)
        if undecorated or fill:
            self.root.overrideredirect(True)
        self.text = tk.StringVar(self.root)
        self.widgets: dict[str, tk.Widget] = {
            "entry": tk.Entry(self.root, textvariable=self.text),
            "ok": tk.Button(self.root, text="OK", command=lambda: self._clicked("ok")),
            "cancel": tk.Button(self.root, text="Cancel", command=lambda: self._clicked("cancel")),
        }
        for name, (wx, wy, ww, wh) in LAYOUT.items():
            if fill:
                w0, h0 = WINDOW_SIZE
                self.widgets[name].place(
                    relx=wx / w0, rely=wy / h0, relwidth=ww / w0, relheight=wh / h0
                )
            else:
                self.widgets[name].place(x=wx, y=wy, width=ww, height=wh)
        self.names = {str(w): n for n, w in self.widgets.items()} | {str(self.root): "window"}
        self.ready = False
        self.seq = 0
        self.clicks = {"ok": 0, "cancel": 0}
        self.mouse = {"right_clicks": 0, "middle_clicks": 0, "double_clicks": 0, "scroll": 0}
        self.last_click: dict[str, Any] | None = None
        self.keys: list[str] = []
        self.drags: list[dict[str, Any]] = []
        self.pressed: dict[int, tuple[int, int, str]] = {}
        self.text.trace_add("write", lambda *_: self.write())
        # "." is in every widget's bindtags, so this sees keys that "all"-tag bindings (Tab) eat.
        self.root.bind("<KeyPress>", self._on_key)
        self.root.bind_all("<ButtonPress>", self._on_press)
        self.root.bind_all("<Double-ButtonPress-1>", self._on_double)
        self.root.bind_all("<ButtonRelease>", self._on_release)
        self.root.bind_all("<MouseWheel>", self._on_wheel)  # Tk >= 8.7 reports wheels this way
        self.root.bind_all("<FocusIn>", lambda _e: self.write())
        self.root.bind("<Configure>", lambda e: self.write() if e.widget is self.root else None)
        self.root.protocol("WM_DELETE_WINDOW", self.root.destroy)

    def run(self) -> None:
        self.root.wait_visibility(self.root)  # mapped: geometry is now the real one
        self.root.update()  # handle Expose and the idle redraws, so the pixels are on screen
        self.widgets["entry"].focus_force()  # explicit X input focus: works without a WM
        self.root.update()
        self.ready = True
        self.write()
        self.root.mainloop()

    def _name(self, widget: object) -> str:
        return self.names.get(str(widget), "other")

    def _clicked(self, name: str) -> None:
        self.clicks[name] += 1
        self.write()

    def _on_key(self, event: tk.Event[tk.Misc]) -> None:
        mods = [label for label, mask in MODIFIERS if int(event.state) & mask]
        self.keys.append("-".join([*mods, event.keysym]))
        self.write()

    def _record_click(self, event: tk.Event[tk.Misc], double: bool) -> None:
        self.last_click = {"widget": self._name(event.widget), "x_root": event.x_root,
                           "y_root": event.y_root, "button": event.num, "double": double}

    def _on_press(self, event: tk.Event[tk.Misc]) -> None:
        if event.num in (4, 5):  # X11 wheel on Tk 8.6: button 4 is up, 5 is down
            self.mouse["scroll"] += 1 if event.num == 4 else -1
        else:
            self._record_click(event, double=False)
            if event.num == 2:
                self.mouse["middle_clicks"] += 1
            elif event.num == 3:
                self.mouse["right_clicks"] += 1
            if isinstance(event.num, int):
                self.pressed[event.num] = (event.x_root, event.y_root, self._name(event.widget))
        self.write()

    def _on_double(self, event: tk.Event[tk.Misc]) -> None:
        self.mouse["double_clicks"] += 1
        self._record_click(event, double=True)
        self.pressed[1] = (event.x_root, event.y_root, self._name(event.widget))
        self.write()

    def _on_release(self, event: tk.Event[tk.Misc]) -> None:
        start = self.pressed.pop(event.num, None) if isinstance(event.num, int) else None
        if start is None:
            return
        x0, y0, widget = start
        if max(abs(event.x_root - x0), abs(event.y_root - y0)) >= DRAG_MIN_PX:
            self.drags.append({"button": event.num, "widget": widget, "from": [x0, y0],
                               "to": [event.x_root, event.y_root]})
            self.write()

    def _on_wheel(self, event: tk.Event[tk.Misc]) -> None:
        self.mouse["scroll"] += 1 if event.delta > 0 else -1
        self.write()

    def _box(self, widget: tk.Misc) -> dict[str, int]:
        return {"x": widget.winfo_rootx(), "y": widget.winfo_rooty(),
                "width": widget.winfo_width(), "height": widget.winfo_height()}

    def _focus(self) -> str | None:
        try:
            focused = self.root.focus_get()
        except KeyError:  # focus on a widget tkinter does not know (e.g. a Tk-internal one)
            return "other"
        return None if focused is None else self._name(focused)

    def write(self) -> None:
        if not self.ready:
            return
        self.seq += 1
        state: State = {
            "ready": True, "pid": os.getpid(), "seq": self.seq, "title": self.root.title(),
            "background": BACKGROUND, "window": self._box(self.root),
            "widgets": {name: self._box(w) for name, w in self.widgets.items()},
            "clicks": self.clicks, "last_click": self.last_click, "entry_text": self.text.get(),
            "keys": self.keys, "mouse": self.mouse, "drags": self.drags, "focus": self._focus(),
        }
        fd, tmp = tempfile.mkstemp(dir=self.state_path.parent, prefix=f".{self.state_path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state, f, ensure_ascii=False)
        os.replace(tmp, self.state_path)


def _import_root() -> str:
    """The folder that holds the ``agent`` package (a clone's root, or site-packages), so that
    the child's ``-m agent.testing.tk_app`` imports this very package, installed or not; ""
    when the package is not a folder on disk."""
    package = resources.files("agent")
    return str(package.parent) if isinstance(package, Path) else ""


class TkApp:
    """Handle on a running test app subprocess; see ``TkApp.launch``."""

    def __init__(self, proc: subprocess.Popen[bytes], state_path: Path, stderr: IO[bytes]) -> None:
        self.proc = proc
        self.state_path = state_path
        self._stderr = stderr
        self.startup_seconds = 0.0

    @classmethod
    def launch(
        cls, env: Mapping[str, str], state_path: Path, x: int = 100, y: int = 100,
        timeout: float = 10.0, *, title: str = "agent test app", undecorated: bool = False,
        fill: bool = False,
    ) -> TkApp:
        """Start the app on ``env["DISPLAY"]`` at (x, y) (``fill``: over the whole screen, the
        layout stretched to it) and wait until it reports ready."""
        t0 = time.monotonic()
        state_path = Path(state_path)
        state_path.unlink(missing_ok=True)
        child_env = dict(env)
        child_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_import_root(), child_env.get("PYTHONPATH", "")) if p)
        args = [sys.executable, "-m", "agent.testing.tk_app", "--state", str(state_path),
                "--x", str(x), "--y", str(y), "--title", title]
        if undecorated:
            args.append("--undecorated")
        if fill:
            args.append("--fill")
        stderr = tempfile.TemporaryFile()
        proc = subprocess.Popen(args, env=child_env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=stderr)
        app = cls(proc, state_path, stderr)
        try:
            app.wait_for(lambda s: s.get("ready") is True, timeout, "the Tk app to be ready")
        except BaseException:
            app.close()
            raise
        app.startup_seconds = time.monotonic() - t0
        return app

    def state(self) -> State:
        """The last state the app wrote (raises FileNotFoundError before the first write)."""
        data: State = json.loads(self.state_path.read_text(encoding="utf-8"))
        return data

    def _poll(self) -> State:
        if self.proc.poll() is not None:
            code = self.proc.returncode
            raise RuntimeError(f"Tk app exited with code {code}{self._stderr_tail()}")
        try:
            return self.state()
        except FileNotFoundError:
            return {}

    def wait_for(self, predicate: Callable[[State], object], timeout: float = 5.0,
                 what: str = "app state") -> State:
        """Poll the state until ``predicate(state)`` is truthy and return that state."""
        last: State = {}

        def check() -> bool:
            nonlocal last
            last = self._poll()
            return bool(last) and bool(predicate(last))

        try:
            wait_until(check, timeout, interval=0.01, what=what)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; last state: {last}{self._stderr_tail()}") from None
        return last

    def widget(self, name: str) -> tuple[int, int, int, int]:
        """(x, y, width, height) of widget ``name`` in screen coordinates."""
        box = self.state()["widgets"][name]
        return int(box["x"]), int(box["y"]), int(box["width"]), int(box["height"])

    def center(self, name: str) -> tuple[int, int]:
        x, y, w, h = self.widget(name)
        return x + w // 2, y + h // 2

    def close(self, timeout: float = 5.0) -> None:
        """Terminate the app (kill after ``timeout``) and reap it. Idempotent."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self._stderr.close()

    def _stderr_tail(self, limit: int = 2000) -> str:
        if self._stderr.closed:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read()[-limit:].decode("utf-8", "replace").strip()
        return f"; app stderr:\n{text}" if text else ""

    def __enter__(self) -> TkApp:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agent.testing.tk_app", description=__doc__)
    parser.add_argument("--state", type=Path, required=True, help="JSON state file to write")
    parser.add_argument("--x", type=int, default=100, help="window left, screen pixels")
    parser.add_argument("--y", type=int, default=100, help="window top, screen pixels")
    parser.add_argument("--title", default="agent test app")
    parser.add_argument("--undecorated", action="store_true", help="no window-manager frame")
    parser.add_argument("--fill", action="store_true", help="cover the screen, layout stretched")
    args = parser.parse_args(argv)
    _App(args.state, args.x, args.y, args.title, args.undecorated, args.fill).run()


if __name__ == "__main__":
    main()
