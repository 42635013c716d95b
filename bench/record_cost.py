"""What recording a person costs, and how fresh the paired screenshot is, at 1920x1080.

Two parts, on a private 1920x1080 Xvfb:

* **CPU**: ``gui-agent record`` runs as a user runs it (its own process, no target naming) for
  ``--seconds`` in each of three conditions: the screen idle, a 640x360 region repainted 20
  times a second, and the whole screen repainted 20 times a second (a Tk window that changes
  colour). Its CPU (user + system, from ``/proc/PID/stat``, all its threads) is printed as a
  share of one core, beside the X server's (which does the copy into shared memory for every
  capture). Targets: under 20% of a core idle, under 50% while the screen changes.
* **Pairing latency** (in this process, the recorder's parts): a change of the screen (the root
  window repainted through our own X connection, the server synced) until a capture holding it
  is in the ring: an action that comes later than that is paired with a frame that shows the
  change; an input event (XTEST, synced) until the listener hands it over; and a click until
  its step is on disk (decision and result lines, after its PNG), less the
  :data:`~agent.runs.gestures.MULTI_CLICK_S` wait that tells a click from a double click.

Run: ``python bench/record_cost.py [--seconds 10] [--trials 40]``; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.runs.frame_ring import FrameRing  # noqa: E402
from agent.runs.gestures import MULTI_CLICK_S  # noqa: E402
from agent.runs.input_events import InputEvent, InputListener  # noqa: E402
from agent.runs.recorder import PersonRecorder  # noqa: E402
from agent.screen.xvfb import VirtualDisplay, wait_until  # noqa: E402

SIZE = (1920, 1080)
TICK = os.sysconf("SC_CLK_TCK")
PAINTER = textwrap.dedent(
    """
    import sys, tkinter as tk
    width, height = int(sys.argv[1]), int(sys.argv[2])
    root = tk.Tk(); root.geometry(f"{width}x{height}+0+0"); root.overrideredirect(True)
    canvas = tk.Canvas(root, width=width, height=height, highlightthickness=0); canvas.pack()
    box = canvas.create_rectangle(0, 0, width, height, width=0)
    colours, n = ["#d04040", "#40a040", "#4060d0", "#e0c040"], [0]
    def paint():
        n[0] += 1
        canvas.itemconfigure(box, fill=colours[n[0] % 4]); root.after(50, paint)
    paint(); root.mainloop()
    """
)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def share(pid: int, xvfb: int, seconds: float) -> tuple[float, float]:
    a, b, start = cpu_seconds(pid), cpu_seconds(xvfb), time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - start
    return (cpu_seconds(pid) - a) / wall, (cpu_seconds(xvfb) - b) / wall


@contextmanager
def painting(display: VirtualDisplay, width: int, height: int) -> Iterator[None]:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(PAINTER)
    proc = subprocess.Popen([sys.executable, script.name, str(width), str(height)],
                            env=display.env)  # fmt: skip
    try:
        time.sleep(1.5)  # mapped and painting
        yield
    finally:
        proc.terminate()
        proc.wait(5)
        os.unlink(script.name)
        time.sleep(0.5)


def cpu_part(seconds: float) -> None:
    with VirtualDisplay(*SIZE) as display, tempfile.TemporaryDirectory() as folder:
        err = Path(folder) / "err"
        with err.open("wb") as sink:
            recorder = subprocess.Popen(
                [sys.executable, "-m", "agent.cli", "record", "--out", f"{folder}/R"],
                env={**display.env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                stderr=sink,
            )  # fmt: skip
            try:
                wait_until(lambda: "\nrecording " in "\n" + err.read_text(), 60, 0.1,
                           "the recorder")  # fmt: skip
                xvfb = display.pid
                assert xvfb is not None
                print(f"recorder CPU at {SIZE[0]}x{SIZE[1]}, {seconds:g} s each (share of one "
                      "core; the X server's beside it):")  # fmt: skip
                time.sleep(1)
                rows = [("idle screen", *share(recorder.pid, xvfb, seconds))]
                with painting(display, 640, 360):
                    rows.append(("640x360 region, 20/s", *share(recorder.pid, xvfb, seconds)))
                with painting(display, *SIZE):
                    rows.append(("whole screen, 20/s", *share(recorder.pid, xvfb, seconds)))
                for name, mine, server in rows:
                    print(f"  {name:<24} recorder {mine * 100:5.1f}%   Xvfb {server * 100:5.1f}%")
            finally:
                recorder.send_signal(2)
                recorder.wait(30)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"  {name:<44} p50 {statistics.median(ms):6.1f} ms  p95 {pct(ms, 0.95):6.1f} ms  "
            f"max {max(ms):6.1f} ms  (n={len(ms)})")  # fmt: skip


def latency_part(trials: int) -> None:
    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    with VirtualDisplay(*SIZE) as vd:
        os.environ["XAUTHORITY"] = os.environ.get("XAUTHORITY", os.devnull)
        conn = xdisplay.Display(vd.name)
        root = conn.screen().root
        ring = FrameRing(vd.name)
        ring.start()
        changes = []
        for n in range(trials):
            time.sleep(0.037 * (n % 7) + 0.05)  # at every phase of the capture cycle
            seen = ring.latest()
            assert seen is not None
            root.change_attributes(background_pixel=(0x202020 + 0x301010 * (n % 5)) & 0xFFFFFF)
            root.clear_area(0, 0, 0, 0)
            conn.sync()
            changed = time.monotonic()
            wait_until(lambda s=seen: (f := ring.latest()) is not None and f.number > s.number,
                       2, 0.0005, "the change in the ring")  # fmt: skip
            changes.append(time.monotonic() - changed)
        ring.stop()

        arrivals: list[float] = []
        sent: list[float] = []
        listener = InputListener(lambda e: arrivals.append(time.monotonic()), vd.name)
        listener.start()
        for n in range(trials):
            sent.append(time.monotonic())
            xtest.fake_input(conn, X.MotionNotify, x=100 + n, y=100)
            conn.sync()
            wait_until(lambda n=n: len(arrivals) > n, 2, 0.0002, "the event")
            time.sleep(0.01)
        listener.stop()
        delivery = [a - s for a, s in zip(arrivals, sent, strict=False)]

        disk: list[float] = []
        with tempfile.TemporaryDirectory() as folder:
            recorder = PersonRecorder(Path(folder) / "R", display=vd.name)
            clicks: list[float] = []
            seen_events: list[InputEvent] = []
            original = recorder.listener.on_event
            recorder.listener.on_event = lambda e: (seen_events.append(e), original(e))[1]
            recorder.start()
            worker = threading.Thread(target=recorder.run)
            worker.start()
            steps = Path(folder) / "R" / "steps.jsonl"
            for n in range(min(trials, 15)):
                xtest.fake_input(conn, X.MotionNotify, x=300 + 40 * n, y=300)
                xtest.fake_input(conn, X.ButtonPress, 1)
                xtest.fake_input(conn, X.ButtonRelease, 1)
                conn.sync()
                clicks.append(time.monotonic())
                wait_until(lambda n=n: steps.read_text().count('"event": "result"') > n, 10,
                           0.001, "the step on disk")  # fmt: skip
                disk.append(time.monotonic() - clicks[-1] - MULTI_CLICK_S)
                time.sleep(0.05)
            recorder.stop()
            worker.join(30)
        conn.close()
    print(f"pairing latency at {SIZE[0]}x{SIZE[1]} (capture every {ring.interval_s * 1000:g} ms):")
    print(line("screen change -> a frame holding it in the ring", changes))
    print(line("input event (XTEST, synced) -> the listener", delivery))
    print(line("click -> its step on disk (less the 0.5 s wait)", disk))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per CPU condition")
    parser.add_argument("--trials", type=int, default=40, help="latency samples")
    parser.add_argument("--part", choices=["cpu", "latency", "all"], default="all")
    args = parser.parse_args()
    if args.part in ("cpu", "all"):
        cpu_part(args.seconds)
    if args.part in ("latency", "all"):
        latency_part(args.trials)


if __name__ == "__main__":
    main()
