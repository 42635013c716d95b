"""Per-step framework overhead at 1920x1080, side by side with a naive loop, in one run.

Both loops run on the same private Xvfb against the same Tk app and click its OK button each
step, with a scripted model answer (so the model's own compute is excluded):

* **framework**: :class:`agent.loop.Agent` with mss capture, the qwen25vl prompt and parser,
  the frame conversion, the bounds check, the safety policy and loop guard,
  :class:`PyAutoGUIExecutor` (PAUSE 0, settle 0) and the trajectory recorder: the screenshot's
  PNG is encoded by a background thread while the model thinks, and the step's decision line is
  written once that file is complete, before the click. The scripted model takes ``--model-ms``
  (default 100 ms, faster than any real VLM step); with ``--model-ms 0`` the PNG encode has
  nothing to overlap with and shows up in the ``record`` phase. Overhead = every phase the loop
  times except ``model``; wall = time between steps minus the model call.
* **naive**: what the cookbooks do: ``pyautogui.screenshot()``, split the answer on the tags
  and ``json.loads``, one scale per axis with ``int()``, ``pyautogui.click`` at the default
  PAUSE (0.1 s), and a synchronous ``PNG`` save plus a JSON line.

Also printed: the resize to the model frame, which the backends do as part of preparing the
model's input. Run: ``python bench/step_overhead.py [--steps 60]``. Prints medians, p95 and the
ratio; asserts nothing (machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actions.executor import PyAutoGUIExecutor  # noqa: E402
from agent.chat import Message  # noqa: E402
from agent.geometry import ModelFrame, Point, to_model  # noqa: E402
from agent.loop import Agent  # noqa: E402
from agent.models.scripted import ScriptedBackend  # noqa: E402
from agent.screen import Screen  # noqa: E402
from agent.styles.qwen25vl import Qwen25VLComputerUse  # noqa: E402
from agent.testing.tk_app import TkApp  # noqa: E402
from agent.testing.xvfb import VirtualDisplay  # noqa: E402

WIDTH, HEIGHT = 1920, 1080
MAX_PIXELS = 1280 * 28 * 28


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def click_answer(target: Point) -> str:
    args = {"action": "left_click", "coordinate": [round(target.x), round(target.y)]}
    return f"<tool_call>\n{json.dumps({'name': 'computer_use', 'arguments': args})}\n</tool_call>"


def framework(
    steps: int, answer: str, out: Path, model_s: float
) -> tuple[list[float], list[float], dict[str, list[float]]]:
    def respond(messages: Sequence[Message], frame: ModelFrame) -> str:
        time.sleep(model_s)
        return answer

    backend = ScriptedBackend(respond, max_pixels=MAX_PIXELS)
    with Screen() as screen, PyAutoGUIExecutor(settle_s=0.0) as executor:
        # the same click on the same screen every step is the point here, not a loop to stop
        agent = Agent(
            backend, Qwen25VLComputerUse(), executor, screen, out=out, max_steps=steps,
            loop_limit=0,
        )
        overhead, wall = [], []
        phases: dict[str, list[float]] = {}
        last = time.perf_counter()
        for step in agent.steps("Click the OK button"):
            now = time.perf_counter()
            timings = step.record.timings
            for phase, seconds in timings.items():
                phases.setdefault(phase, []).append(seconds)
            overhead.append(sum(v for k, v in timings.items() if k != "model"))
            wall.append(now - last - timings.get("model", 0.0))
            last = now
    return overhead, wall, phases


def naive(steps: int, answer: str, out: Path) -> list[float]:
    import pyautogui
    import pyscreeze

    pyscreeze.GNOMESCREENSHOT_EXISTS = True  # else it needs gnome-screenshot or scrot
    pyautogui.PAUSE = 0.1  # pyautogui's default (the framework's executor had set it to 0)
    out.mkdir(parents=True, exist_ok=True)
    frame = ModelFrame.for_image(WIDTH, HEIGHT, max_pixels=MAX_PIXELS)
    times = []
    with (out / "steps.jsonl").open("w") as log:
        for i in range(steps):
            start = time.perf_counter()
            image = pyautogui.screenshot()
            call = json.loads(answer.split("<tool_call>\n")[1].split("\n</tool_call>")[0])
            x, y = call["arguments"]["coordinate"]
            pyautogui.click(int(x * WIDTH / frame.width), int(y * HEIGHT / frame.height))
            image.save(out / f"step_{i}.png")
            log.write(json.dumps({"step": i, "output": answer}) + "\n")
            log.flush()
            times.append(time.perf_counter() - start)
    return times


def resize_cost(image: Image.Image, frame: ModelFrame, repeats: int = 10) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        image.resize((frame.width, frame.height), Image.Resampling.BICUBIC)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--model-ms", type=float, default=100.0, help="scripted model latency")
    args = parser.parse_args()
    with VirtualDisplay(WIDTH, HEIGHT) as display, tempfile.TemporaryDirectory() as tmp:
        os.environ["DISPLAY"] = display.name
        app = TkApp.launch(display.env, Path(tmp) / "app.json", x=1200, y=700)
        try:
            cx, cy = app.center("ok")
            frame = ModelFrame.for_image(WIDTH, HEIGHT, max_pixels=MAX_PIXELS)
            with Screen() as screen:
                target = to_model(Point.screen(cx, cy), frame, screen.monitor)
                shot = screen.capture().image
            answer = click_answer(target)
            ours, wall, phases = framework(
                args.steps, answer, Path(tmp) / "framework", args.model_ms / 1000
            )
            theirs = naive(args.steps, answer, Path(tmp) / "naive")
            clicks = app.state()["clicks"]["ok"]
        finally:
            app.close()
        default_frame = ModelFrame.for_image(WIDTH, HEIGHT)
        resize_default = resize_cost(shot, default_frame)
        resize_reduced = resize_cost(shot, frame)

    ms = 1000.0
    print(
        f"step overhead at {WIDTH}x{HEIGHT}, {args.steps} steps each, scripted model "
        f"({args.model_ms:g} ms per answer, excluded)"
    )
    print(f"{'loop':<28}{'p50 ms':>10}{'p95 ms':>10}")
    rows = [
        ("framework (phases)", ours),
        ("framework (wall - model)", wall),
        ("naive loop", theirs),
    ]
    for name, values in rows:
        print(f"{name:<28}{statistics.median(values) * ms:>10.2f}{pct(values, 0.95) * ms:>10.2f}")
    print(
        f"ratio naive/framework p50: {statistics.median(theirs) / statistics.median(wall):.1f}x"
        f" (wall), {statistics.median(theirs) / statistics.median(ours):.1f}x (phases)"
    )
    print(
        "framework phases, p50 ms: "
        + ", ".join(f"{k} {statistics.median(v) * ms:.2f}" for k, v in phases.items())
    )
    print(f"OK button clicks seen by the app: {clicks} of {2 * args.steps}")
    print(
        "the naive loop sleeps nothing for a model; the framework's model time is excluded from "
        "its wall figure"
    )
    print(
        f"backend input resize (not in the loop's overhead): "
        f"{WIDTH}x{HEIGHT}->{frame.width}x{frame.height} {resize_reduced * ms:.1f} ms, "
        f"->{default_frame.width}x{default_frame.height} {resize_default * ms:.1f} ms"
    )


if __name__ == "__main__":
    main()
