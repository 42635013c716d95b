"""A script step from the location cache vs the same step through the model, in one run.

The same ``desktop.click("the Save button")`` runs ``--steps`` times each way on the same
1920x1080 screen (a drawn form with several buttons) with the whole script machinery: capture
(:class:`~agent.screen.capture.ImageScreen`, a copy of the image), the decider, the conversion, the
policy, the recorder (PNG and both lines on disk before and after the action) and a dry-run
executor (no pointer to move on a machine with no display):

* **model**: cache ``off``; the tiny random Qwen2.5-VL through the real transformers path
  (chat template, processor, ``generate()`` forced to answer the button's point), at the
  family's default pixel bounds;
* **cache hit**: cache ``read-only`` filled by one model run; every step validates the stored
  patch on the live capture (normalised cross-correlation, one clear peak) and clicks at the
  peak.

Prints the median and p95 of the whole step and of its locate phase, and the ratios. The tiny
model is about a hundred times smaller than the smallest real Qwen2.5-VL, so the ratio against a
real model is far larger. Run: ``python bench/cache_hit.py [--steps 20]``; asserts nothing.
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

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from actions.executor import DryRunExecutor  # noqa: E402
from agent.geometry import Monitor, Point, to_model  # noqa: E402
from agent.models.transformers_backend import TransformersBackend  # noqa: E402
from agent.screen.capture import ImageScreen  # noqa: E402
from agent.scripts.desktop import Desktop  # noqa: E402
from agent.styles.registry import make_style  # noqa: E402
from agent.testing.tiny_qwen import build_tiny_qwen25vl  # noqa: E402
from agent.testing.tiny_script import ScriptedTinyBackend  # noqa: E402

SIZE = (1920, 1080)
SAVE = (1180, 640)


def screen_image() -> Image.Image:
    image = Image.new("RGB", SIZE, (236, 236, 236))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    draw.rectangle((0, 0, SIZE[0], 40), fill=(60, 90, 140))
    for i, label in enumerate(["Display name", "Email", "Company", "Phone"]):
        draw.text((600, 300 + 60 * i), label, fill="black", font=font)
        draw.rectangle((780, 292 + 60 * i, 1300, 326 + 60 * i), fill="white", outline="gray")
    for x, label in ((1000, "Reset"), (1130, "Save"), (1260, "Help")):
        draw.rectangle((x, 620, x + 100, 660), fill=(210, 210, 210), outline="black")
        draw.text((x + 28, 630), label, fill="black", font=font)
    return image


def run(desktop_of, steps: int, out: Path, name: str) -> tuple[list[float], list[float]]:
    walls, decides = [], []
    for i in range(steps):
        with desktop_of(out / f"{name}-{i}") as desktop:
            start = time.perf_counter()
            desktop.click("the Save button")
            walls.append(time.perf_counter() - start)
            decides.append(desktop.history[-1].record.timings["locate"])
    return walls, decides


def show(name: str, values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    median = statistics.median(values)
    return f"{name:<22} median {median * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cache-bench-"))
    checkpoint = build_tiny_qwen25vl(work / "Qwen2.5-VL-tiny")
    model = TransformersBackend(str(checkpoint), device="cpu")
    image = screen_image()
    frame = model.frame_for(*SIZE)
    seen = to_model(Point.screen(*SAVE), frame, Monitor(1, 0, 0, *SIZE))
    body = {"name": "computer_use", "arguments": {
        "action": "left_click", "coordinate": [round(seen.x), round(seen.y)]}}  # fmt: skip
    answer = f"<tool_call>\n{json.dumps(body)}\n</tool_call>"
    tiny = ScriptedTinyBackend(model, checkpoint, lambda messages: answer)
    cache = work / "bench.cache.json"

    def desktop(mode: str):
        def make(out: Path) -> Desktop:
            return Desktop(
                tiny,
                make_style("qwen25vl"),
                screen=ImageScreen(image),
                executor=DryRunExecutor(),
                out=out,
                cache=cache,
                cache_mode=mode,
            )

        return make

    run(desktop("read-write"), 1, work, "fill")  # one model run stores the entry
    run(desktop("off"), 2, work, "warm")
    calls = tiny.calls
    model_wall, model_decide = run(desktop("off"), args.steps, work, "model")
    hit_wall, hit_decide = run(desktop("read-only"), args.steps, work, "hit")
    assert tiny.calls == calls + args.steps, "the cache-hit steps called the model"
    print(f"{SIZE[0]}x{SIZE[1]} screen, model frame {frame.width}x{frame.height}, "
          f"{args.steps} steps each")  # fmt: skip
    print(show("model: step", model_wall))
    print(show("cache hit: step", hit_wall))
    print(show("model: locate", model_decide))
    print(show("cache hit: locate", hit_decide))
    ratio = statistics.median(model_wall) / statistics.median(hit_wall)
    decide_ratio = statistics.median(model_decide) / statistics.median(hit_decide)
    print(f"ratio (median step, model / cache hit): {ratio:.1f}x")
    print(f"ratio (median locate, model / cache hit): {decide_ratio:.1f}x")


if __name__ == "__main__":
    main()
