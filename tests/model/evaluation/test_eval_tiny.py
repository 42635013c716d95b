"""`gui-agent eval` as users run it, on the bundled sample set, with the tiny Qwen2.5-VL: through
transformers (batch 1 and batch 4 give the same results; a SIGKILLed run resumes to the same
summary) and through the local OpenAI-compatible test server (concurrent requests, the
ScreenSpot-Pro prompt's prefill)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agent.evaluation.benchmarks import load_samples
from agent.geometry import ModelFrame, round_half_away
from agent.testing.openai_server import OpenAICompatibleServer
from agent.testing.tiny_qwen import build_tiny_qwen25vl

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[3]
SET = ROOT / "tasks" / "screenspot-sample"
PRO = SET / "sample-browser_linux.json"
MAX_PIXELS = 256 * 28 * 28
POINT = (300, 200)  # in every resized frame the tiny model sees
ANSWER = (
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
    f'"coordinate": [{POINT[0]}, {POINT[1]}]}}}}\n</tool_call>'
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(
        tmp_path_factory.mktemp("model") / "Qwen2.5-VL-tiny", answer=ANSWER,
        max_pixels=MAX_PIXELS,
    )  # fmt: skip


def gui_agent(*args: str, wait: bool = True) -> Any:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "agent.cli", *args]
    if not wait:
        return subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    return subprocess.run(command, env=env, text=True, capture_output=True, timeout=600)


def records(out: Path) -> dict[str, dict[str, Any]]:
    lines = (out / "results.jsonl").read_text().splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def expected_status(sample: Any) -> str:
    """Independently: the scripted point, from the frame the model saw back to image pixels."""
    w, h = sample.image_size
    frame = ModelFrame.for_image(w, h, max_pixels=MAX_PIXELS)
    x = round_half_away(POINT[0] * w / frame.width)
    y = round_half_away(POINT[1] * h / frame.height)
    x1, y1, x2, y2 = sample.box
    return "correct" if x1 <= x <= x2 and y1 <= y <= y2 else "wrong"


def local(tiny: Path, out: Path, *extra: str) -> list[str]:
    return ["eval", str(PRO), "--images", str(SET / "images"), "--out", str(out),
            "--model", str(tiny), "--device", "cpu", "--max-pixels", str(MAX_PIXELS),
            "--no-report", *extra]  # fmt: skip


def test_the_local_backend_batched_or_not_scores_every_sample_as_computed(
    tiny: Path, tmp_path: Path
) -> None:
    samples = {s.id: s for s in load_samples([PRO], SET / "images")[:10]}
    one = gui_agent(*local(tiny, tmp_path / "one", "--limit", "10"))
    assert one.returncode == 0, one.stderr
    four = gui_agent(*local(tiny, tmp_path / "four", "--limit", "10", "--batch-size", "4"))
    assert four.returncode == 0, four.stderr
    a, b = records(tmp_path / "one"), records(tmp_path / "four")
    assert set(a) == set(b) == set(samples)
    for key, sample in samples.items():
        assert a[key]["raw"] == ANSWER and a[key]["status"] == expected_status(sample)
        assert (b[key]["status"], b[key]["point"], b[key]["frame"]) == (
            a[key]["status"], a[key]["point"], a[key]["frame"],
        )  # fmt: skip
    assert "**micro** (per sample)" in one.stdout and "**macro**" in one.stdout


def test_a_killed_evaluation_resumes_to_the_same_summary(tiny: Path, tmp_path: Path) -> None:
    whole = gui_agent(*local(tiny, tmp_path / "whole", "--limit", "12"))
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "killed"
    proc = gui_agent(*local(tiny, out, "--limit", "12"), wait=False)
    deadline = time.monotonic() + 300
    path = out / "results.jsonl"
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    done_before = path.read_text().count("\n")
    assert 4 <= done_before < 12
    changed = gui_agent(*local(tiny, out, "--limit", "12", "--max-new-tokens", "64", "--resume"))
    assert changed.returncode == 2 and "another configuration" in changed.stderr
    assert "loading" not in changed.stderr  # refused before the model was loaded
    resumed = gui_agent(*local(tiny, out, "--limit", "12", "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done_before} done before" in resumed.stderr
    first = json.loads((tmp_path / "whole" / "summary.json").read_text())
    second = json.loads((out / "summary.json").read_text())
    for key in ("samples", "scored", "correct", "accuracy", "by_cell", "screenspot_pro"):
        assert key in first and second[key] == first[key], key
    rescored = gui_agent("eval", "--rescore", "--out", str(out), "--no-report")
    assert rescored.returncode == 0 and rescored.stdout == resumed.stdout


def test_the_http_backend_with_concurrent_requests_and_the_pro_prompt(
    tiny: Path, tmp_path: Path
) -> None:
    samples = {s.id: s for s in load_samples([PRO], SET / "images")[:6]}
    with OpenAICompatibleServer(tiny, served_model_name="tiny") as server:
        done = gui_agent(
            "eval", str(PRO), "--images", str(SET / "images"), "--out", str(tmp_path / "http"),
            "--backend", "openai", "--base-url", server.base_url, "--api-model", "tiny",
            "--max-pixels", str(MAX_PIXELS), "--limit", "6", "--concurrency", "3",
            "--prompt", "screenspot-pro", "--no-report",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        served = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert len(served) == 6
    got = records(tmp_path / "http")
    for key, sample in samples.items():
        record = got[key]
        assert record["prompt"] == "screenspot-pro"
        assert record["raw"].startswith('<tool_call>\n{"name": "computer_use", "arguments": '
                                        '{"action": "left_click", "coordinate": [')  # fmt: skip
        assert record["status"] == expected_status(sample), record
        frame = record["frame"]  # the server saw the frame that was sent: no second resize
        assert (frame["width"], frame["height"]) in [tuple(f) for r in served
                                                     for f in r.model_frames]  # fmt: skip
