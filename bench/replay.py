"""A model-driven run vs its replay without the model, side by side in one run.

On a private Xvfb (1920x1080) with the real Tk test app, real mss and real pyautogui, the tiny
random Qwen2.5-VL drives a ``--steps`` step run through the real transformers path (chat
template, processor, ``generate()`` forced to the app's widgets: clicks on the field, OK and
Cancel, typing, then ``terminate``), pausing 0.05 s after each action. The recorded run is then
replayed on a fresh app with no model, ``exact`` and ``reground`` (each point first checked
against the recorded screenshot), each step waiting for the screen to settle (two equal looks
10 ms apart) instead of a fixed pause (``gui-agent replay``'s default), and once more ``exact``
with the model run's 0.05 s pause as well. Every run records its trajectory.

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
from agent.models.transformers_backend import TransformersBackend  # noqa: E402
from agent.runs.replay import replay  # noqa: E402
from agent.screen.capture import Screen  # noqa: E402
from agent.screen.xvfb import VirtualDisplay  # noqa: E402
from agent.styles.registry import make_style  # noqa: E402
from agent.testing.tiny_qwen import build_tiny_qwen25vl  # noqa: E402
from agent.testing.tiny_script import ScriptedTinyBackend  # noqa: E402
from agent.testing.tk_app import TkApp  # noqa: E402
from agent.trajectory import load_trajectory  # noqa: E402

SIZE = (1920, 1080)


def call(args: dict[str, object]) -> str:
    return f"<tool_call>\n{json.dumps({'name': 'computer_use', 'arguments': args})}\n</tool_call>"


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
        ):
            app = TkApp.launch(display.env, work / "warm.json", x=200, y=150)
            warm = ScriptedTinyBackend(model, checkpoint, answers(app, frame, 3))
            Agent(warm, style, executor, screen, out=work / "warm").run("warm up")
            app.close()

            runs: dict[str, tuple[float, list[float]]] = {}
            for pause in (0.3, 0.05):  # gui-agent run's default pause, and a short one
                app = TkApp.launch(display.env, work / "model.json", x=200, y=150)
                tiny = ScriptedTinyBackend(model, checkpoint, answers(app, frame, args.steps))
                out = work / f"model-{pause:g}"
                with PyAutoGUIExecutor(settle_s=pause, display=display.name) as acting:
                    start = time.perf_counter()
                    result = Agent(tiny, style, acting, screen, out=out).run("fill it in")
                    seconds = time.perf_counter() - start
                assert result.ok and tiny.calls == args.steps, result.message
                app.close()
                runs[f"model-driven run, pause {pause:g} s"] = (seconds, step_walls(out))
            recorded = work / "model-0.05"
            clicks = json.loads((work / "model.json").read_text())["clicks"]
            for mode, pause in (("exact", args.replay_settle), ("reground", args.replay_settle),
                                ("exact", 0.05)):  # fmt: skip
                app = TkApp.launch(display.env, work / "replay.json", x=200, y=150)
                out = work / f"replay-{mode}-{pause:g}"
                with PyAutoGUIExecutor(settle_s=pause, display=display.name) as acting:
                    start = time.perf_counter()
                    replayed = replay(recorded, screen=screen, executor=acting, mode=mode, out=out)
                    seconds = time.perf_counter() - start
                assert replayed.ok, replayed.message
                assert app.state()["clicks"] == clicks, "the replay did not do what the run did"
                app.close()
                runs[f"replay {mode}, pause {pause:g} s"] = (seconds, step_walls(out))
    finally:
        display.stop()
    print(f"{SIZE[0]}x{SIZE[1]} Xvfb, model frame {frame.width}x{frame.height}, "
          f"{args.steps} steps; trajectories in {work}")  # fmt: skip
    print("pause: the executor's wait after each action; every replay step also waits for two "
          "equal looks at the screen")  # fmt: skip
    for name, (_, walls) in runs.items():
        print(show(name, walls))
    for model_name in [n for n in runs if n.startswith("model")]:
        model_total, model_steps = runs[model_name]
        for name, (total, walls) in runs.items():
            if name.startswith("replay"):
                print(
                    f"ratio {model_name} / {name}: median step "
                    f"{statistics.median(model_steps) / statistics.median(walls):.1f}x, "
                    f"whole run {model_total / total:.1f}x"
                )


if __name__ == "__main__":
    main()
