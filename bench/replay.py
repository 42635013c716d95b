"""A model-driven run vs its replay without the model, side by side in one run.

On a private Xvfb (1920x1080) with the real Tk test app, real mss and real pyautogui (settle
0.05 s after each action, the same for both), the tiny random Qwen2.5-VL drives a ``--steps``
step run through the real transformers path (chat template, processor, ``generate()`` forced to
the app's widgets: clicks on the field, OK and Cancel, typing, then ``terminate``). The recorded
run is then replayed on a fresh app with no model, ``exact`` and ``reground`` (each point first
checked against the recorded screenshot), each step waiting for the screen to settle (two equal
captures 0.05 s apart). Every run records its trajectory.

Prints the median and p95 step and the whole run for each, and the ratios. The tiny model is
about a hundred times smaller than the smallest real Qwen2.5-VL, so against a real model the
ratio is far larger. Run: ``python bench/replay.py [--steps 12]`` (needs Xvfb); asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actions.executor import PyAutoGUIExecutor  # noqa: E402
from agent.geometry import Monitor, Point, to_model  # noqa: E402
from agent.loop import Agent  # noqa: E402
from agent.models.local import TransformersBackend  # noqa: E402
from agent.replay import replay  # noqa: E402
from agent.screen import Screen  # noqa: E402
from agent.styles.registry import make_style  # noqa: E402
from agent.testing.tiny_qwen import build_tiny_qwen25vl  # noqa: E402
from agent.testing.tiny_script import ScriptedTinyBackend  # noqa: E402
from agent.testing.tk_app import TkApp  # noqa: E402
from agent.testing.xvfb import VirtualDisplay  # noqa: E402
from agent.trajectory import load_trajectory  # noqa: E402

SIZE = (1920, 1080)


def call(args: dict[str, object]) -> str:
    return f'<tool_call>\n{json.dumps({"name": "computer_use", "arguments": args})}\n</tool_call>'


def answers(app: TkApp, frame: object, steps: int) -> list[str]:
    monitor = Monitor(1, 0, 0, *SIZE)
    out = []
    for i in range(steps - 1):
        if i % 4 == 1:
            out.append(call({"action": "type", "text": "ab"}))
            continue
        widget = ("entry", "ok", "cancel")[i % 3]
        seen = to_model(Point.screen(*app.center(widget)), frame, monitor)  # type: ignore[arg-type]
        out.append(call({"action": "left_click", "coordinate": [round(seen.x), round(seen.y)]}))
    return [*out, call({"action": "terminate", "status": "success"})]


def show(name: str, values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return (
        f"{name:<26} median {statistics.median(values) * 1000:8.1f} ms   "
        f"p95 {p95 * 1000:8.1f} ms   total {sum(values):6.2f} s"
    )


def step_walls(directory: Path) -> list[float]:
    return [sum(s.timings.values()) for s in load_trajectory(directory).steps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument(
        "--replay-settle", type=float, default=0.0,
        help="executor settle of the replays (they wait for two equal captures anyway)",
    )  # fmt: skip
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="replay-bench-"))
    checkpoint = build_tiny_qwen25vl(work / "Qwen2.5-VL-tiny")
    model = TransformersBackend(str(checkpoint), device="cpu")
    frame = model.frame_for(*SIZE)
    style = make_style("qwen25vl")
    display = VirtualDisplay(*SIZE)
    display.start()
    try:
        with (
            Screen(display=display.name) as screen,
            PyAutoGUIExecutor(settle_s=0.05, display=display.name) as executor,
            PyAutoGUIExecutor(settle_s=args.replay_settle, display=display.name) as replayer,
        ):
            app = TkApp.launch(display.env, work / "warm.json", x=200, y=150)
            warm = ScriptedTinyBackend(model, checkpoint, answers(app, frame, 3))
            Agent(warm, style, executor, screen, out=work / "warm").run("warm up")
            app.close()

            app = TkApp.launch(display.env, work / "model.json", x=200, y=150)
            tiny = ScriptedTinyBackend(model, checkpoint, answers(app, frame, args.steps))
            start = time.perf_counter()
            result = Agent(tiny, style, executor, screen, out=work / "model").run("fill it in")
            model_s = time.perf_counter() - start
            assert result.ok, result.message
            app.close()

            runs = {"model-driven run": (model_s, step_walls(work / "model"))}
            for mode in ("exact", "reground"):
                app = TkApp.launch(display.env, work / f"{mode}.json", x=200, y=150)
                start = time.perf_counter()
                replayed = replay(
                    work / "model", screen=screen, executor=replayer, mode=mode,
                    out=work / mode,
                )  # fmt: skip
                seconds = time.perf_counter() - start
                assert replayed.ok and tiny.calls == args.steps, replayed.message
                assert app.state()["clicks"] == result_clicks(work / "model.json")
                app.close()
                runs[f"replay {mode}"] = (seconds, step_walls(work / mode))
    finally:
        display.stop()
    print(f"{SIZE[0]}x{SIZE[1]} Xvfb, model frame {frame.width}x{frame.height}, "
          f"{args.steps} steps; trajectories in {work}")  # fmt: skip
    for name, (_, walls) in runs.items():
        print(show(f"{name}: step", walls))
    model_total, model_steps = runs["model-driven run"]
    for mode in ("exact", "reground"):
        total, walls = runs[f"replay {mode}"]
        print(
            f"ratio model / replay {mode}: median step "
            f"{statistics.median(model_steps) / statistics.median(walls):.1f}x, "
            f"whole run {model_total / total:.1f}x"
        )


def result_clicks(state_file: Path) -> dict[str, int]:
    clicks: dict[str, int] = json.loads(state_file.read_text())["clicks"]
    return clicks


if __name__ == "__main__":
    main()
