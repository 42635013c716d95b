"""Batch throughput: rows a minute with N = 1, 2, 4, 8 private desktops, and the driver's own cost.

``gui-agent batch`` (the whole command, in this process: rows file, manifest, pool, a process per
row, results, viewers, summary) runs a task of ``--steps`` script steps (a click on a described
target each, no app) once per row, with ``--backend openai`` against a local OpenAI-compatible
server that answers every request after ``--latency-ms`` (1000 by default: a real model is
latency-bound; the server's own compute is not what is measured). Every row is a real run: a
``gui-agent run`` process, capture, resize, PNG, request, parse, convert, click, trajectory.

Printed per N: rows, wall seconds, rows a minute, the speed-up over N = 1 (target: N = 8 at least
5x on a 2-core machine), a row's median seconds against its floor (steps x latency), and the
driver's own CPU per step (the batch process alone: the pool, results, viewers; the rows'
processes are not in it). Run ``python bench/batch_throughput.py [--desktops 1 2 4 8]``; asserts
nothing (machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import contextlib
import io
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

from slow_model import SlowModel  # noqa: E402 - bench/slow_model.py

from agent.cli.main import main as gui_agent  # noqa: E402

ANSWER = (
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
    '"coordinate": [200, 150]}}\n</tool_call>'
)


def task_file(work: Path, steps: int) -> Path:
    lines = ["name: bench-clicks", "vars: {n: '0'}", "steps:"]
    lines += [f"  - click: the button number {i} for row ${{n}}" for i in range(steps)]
    lines += ["check:", "  - equals: {actual: '${n}', expected: '${n}'}"]
    path = work / "bench.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(task: Path, url: str, work: Path, desktops: int, rows: int) -> dict[str, float]:
    rows_path = work / f"rows-{desktops}.csv"
    rows_path.write_text("n\n" + "".join(f"{i}\n" for i in range(rows)))
    out = work / f"out-{desktops}"
    argv = ["batch", str(task), "--rows", str(rows_path), "--out", str(out),
            "--desktops", str(desktops), "--desktop", "private:800x600", "--backend", "openai",
            "--base-url", url, "--api-model", "slow", "--settle", "0",
            "--cache-mode", "off"]  # fmt: skip
    cpu, start = time.process_time(), time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = gui_agent(argv)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    if code != 0 or len(records) != rows:
        raise SystemExit(f"N={desktops}: exit code {code}, {len(records)} of {rows} rows: {out}")
    return {
        "wall": wall,
        "per_min": 60 * rows / wall,
        "row_s": statistics.median(r["seconds"] for r in records),
        "driver_cpu": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--desktops", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--steps", type=int, default=3, help="model calls a row")
    parser.add_argument("--latency-ms", type=float, default=1000.0)
    parser.add_argument("--waves", type=int, default=4, help="rows = waves x N (N = 1: x 2)")
    args = parser.parse_args()
    floor = args.steps * args.latency_ms / 1000
    print(f"{os.cpu_count()} cores; {args.steps} steps a row, the model answering after "
          f"{args.latency_ms:g} ms (a row's floor: {floor:g} s)")  # fmt: skip
    base = None
    with (
        SlowModel(ANSWER, args.latency_ms / 1000) as model,
        tempfile.TemporaryDirectory() as tmp,
    ):
        work, url = Path(tmp), model.url
        task = task_file(work, args.steps)
        print(f"{'N':>3} {'rows':>5} {'wall s':>7} {'rows/min':>9} {'speed-up':>9} "
              f"{'row s (median)':>15} {'driver CPU ms/step':>19}")  # fmt: skip
        for n in args.desktops:
            rows = args.waves * max(n, 2)
            got = measure(task, url, work, n, rows)
            base = base or got["per_min"]
            per_step = 1000 * got["driver_cpu"] / (rows * args.steps)
            speed_up, of_floor = got["per_min"] / base, got["row_s"] / floor
            print(f"{n:>3} {rows:>5} {got['wall']:>7.1f} {got['per_min']:>9.1f} "
                  f"{speed_up:>8.2f}x {got['row_s']:>9.1f} ({of_floor:.1f}x floor) "
                  f"{per_step:>12.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
