"""Evaluation throughput, side by side in one run: batched generation and concurrent requests.

1. **Batching** (local backend): the tiny random Qwen2.5-VL through the real transformers path
   (chat template, processor, ``generate()``, scripted to one grounding answer) evaluates the same
   ``--samples`` screenshots (``tasks/screenspot-sample`` when it is there, else generated ones)
   with ``--batch-size 1`` and ``8``, at the family's default pixel bounds and at a small budget;
   samples per second and the ratio (target >= 3x). On a CPU with one thread a large image's
   prefill is compute that batching cannot share; batching pays where the per-call overhead
   dominates (small frames here, and a GPU).
2. **Concurrency** (HTTP backend): a local OpenAI-compatible server that answers every request
   after a fixed ``--latency-ms`` (200 and 1000 ms by default; a stand-in for a busy GPU
   server: its own compute is not what is measured) evaluates the same samples through
   :class:`~agent.models.openai_backend.OpenAIBackend` with ``--concurrency 1`` and ``8``; the
   ratio against the ideal 8x (target >= 0.8, i.e. >= 6.4x).

Every run is the whole harness: images opened, resized once to the frame, prompt, answer read,
converted, judged, streamed to ``results.jsonl``. Run: ``python bench/eval_throughput.py``;
asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from slow_model import SlowModel  # noqa: E402 - bench/slow_model.py

from agent.evaluation.benchmarks import Sample, load_samples  # noqa: E402
from agent.evaluation.harness import ModelAsker, evaluate  # noqa: E402
from agent.evaluation.prompts import make_prompt  # noqa: E402
from agent.evaluation.results import manifest_for, open_results  # noqa: E402
from agent.models.openai_backend import OpenAIBackend  # noqa: E402
from agent.models.transformers_backend import TransformersBackend  # noqa: E402
from agent.styles.registry import make_style  # noqa: E402
from agent.testing.tiny_qwen import build_tiny_qwen25vl  # noqa: E402

ANSWER = (
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
    '"coordinate": [200, 150]}}\n</tool_call>'
)
SAMPLE_SET = ROOT / "tasks" / "screenspot-sample"


def dataset(work: Path, count: int, generated: bool) -> tuple[list[Path], Path]:
    """The bundled sample set's ScreenSpot-Pro files, or ``count`` generated screenshots."""
    pro = sorted(p for p in SAMPLE_SET.glob("*_*.json") if not p.name.startswith("screenspot"))
    if pro and not generated:
        return pro, SAMPLE_SET / "images"
    images = work / "images"
    images.mkdir()
    records = []
    for i in range(count):
        size = (1280, 800) if i % 2 else (1024, 768)
        Image.new("RGB", size, (30 + i, 60, 90)).save(images / f"{i}.png")
        records.append({"id": str(i), "img_filename": f"{i}.png", "img_size": list(size),
                        "bbox": [100, 100, 300, 200], "instruction": f"target {i}",
                        "instruction_cn": "x", "application": "bench", "platform": "linux",
                        "group": "Dev", "ui_type": "text"})  # fmt: skip
    path = work / "bench_linux.json"
    path.write_text(json.dumps(records))
    return [path], images


def measure(
    samples: list[Sample], files: list[Path], images: Path, asker: Any, out: Path, **kw: int
) -> float:
    manifest = manifest_for({"bench": out.name}, files, images)
    results = open_results(out, manifest)
    start = time.perf_counter()
    evaluate(samples, results, [asker], prompt="grounding", progress=io.StringIO(), **kw)
    return len(samples) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=24)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[200.0, 1000.0])
    parser.add_argument("--generated", action="store_true", help="plain generated screenshots")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="eval-bench-"))
    files, images = dataset(work, args.samples, args.generated)
    samples = load_samples(files, images)[: args.samples]
    style = make_style("qwen25vl")
    prompt = make_prompt("grounding", style)
    print(f"{len(samples)} samples from {files[0].parent}; work in {work}")

    checkpoint = build_tiny_qwen25vl(work / "Qwen2.5-VL-tiny", answer=ANSWER)
    for label, max_pixels in (("default bounds", None), ("max_pixels 200704", 256 * 28 * 28)):
        bounds = {"max_pixels": max_pixels} if max_pixels else {}
        tiny = ModelAsker(TransformersBackend(str(checkpoint), device="cpu", **bounds), prompt)
        name = label.split()[0]
        measure(samples[:8], files, images, tiny, work / f"warm-{name}", batch_size=8)
        one = measure(samples, files, images, tiny, work / f"batch1-{name}", batch_size=1)
        eight = measure(samples, files, images, tiny, work / f"batch8-{name}", batch_size=8)
        print(f"local tiny model, {label:<18} batch 1: {one:6.2f} samples/s   batch 8: "
              f"{eight:6.2f} samples/s   ratio {eight / one:.2f}x (target >= 3x)")  # fmt: skip

    with SlowModel(ANSWER, 0.2) as model:
        backend = OpenAIBackend(model.url, "slow", api_key="x", check_prompt_tokens=False)
        http = ModelAsker(backend, prompt)
        for latency in args.latency_ms:
            model.latency_s = latency / 1000
            single = measure(samples, files, images, http, work / f"c1-{latency}", concurrency=1)
            many = measure(samples, files, images, http, work / f"c8-{latency}", concurrency=8)
            ratio = many / single
            print(f"http, {latency:5g} ms/request   concurrency 1: {single:6.2f} samples/s   "
                  f"concurrency 8: {many:6.2f} samples/s   ratio {ratio:.2f}x = {ratio / 8:.2f} "
                  "of the ideal 8x (target >= 0.8)")  # fmt: skip


if __name__ == "__main__":
    main()
