"""The bundled sample set in the formats of OSWorld-G, UI-Vision and MMBench-GUI L2: the same
targets as its ScreenSpot-Pro files, written by ``make.py``, and ``gui-agent eval`` runs on each
folder without downloading anything (over HTTP, every item answered at its box's centre, every
refusal declined: 100% under each benchmark's own keys)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from agent.evaluation.benchmarks import load_samples
from agent.geometry import ModelFrame
from tests.unit.evaluation.answering_server import AnsweringServer, Frames

ROOT = Path(__file__).resolve().parents[3]
SET = ROOT / "tasks" / "screenspot-sample"
PRO = [SET / "sample-browser_linux.json", SET / "sample-tk_linux.json"]
SUITES = ("osworld-g", "ui-vision", "mmbench-gui")
MAX_PIXELS = 256 * 28 * 28  # small frames: the client's PNG encoding stays cheap


def make_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screenspot_sample_make", SET / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_each_format_holds_the_pro_files_targets() -> None:
    pro = {(s.image_rel, s.instruction): s.box for s in load_samples(PRO, SET / "images")}
    for suite in SUITES:
        samples = load_samples([SET / suite], SET / "images")
        located = [s for s in samples if s.target != "refusal"]
        assert len(located) == len(pro) == 60, suite
        for s in located:
            expected = pro[(s.image_rel, s.instruction)]
            assert all(abs(a - b) < 1e-6 for a, b in zip(s.box, expected, strict=True)), s.id
    osworld = load_samples([SET / "osworld-g"], SET / "images")
    kinds = [s.target for s in osworld]
    assert (kinds.count("box"), kinds.count("polygon"), kinds.count("refusal")) == (40, 20, 4)
    assert {c for s in osworld for c in s.categories or ()} == {
        "text_matching", "element_recognition", "refusal"
    }  # fmt: skip
    splits = [s.split for s in load_samples([SET / "ui-vision"], SET / "images")]
    assert [splits.count(n) for n in ("basic", "functional", "spatial")] == [20, 20, 20]
    mmbench = load_samples([SET / "mmbench-gui"], SET / "images")
    assert {s.split for s in mmbench} == {"basic", "advanced"}
    assert {s.platform for s in mmbench} == {"os_web", "os_linux"}


def test_make_py_writes_the_committed_files() -> None:
    make = make_module()
    for name, content in make.suite_records(make.load_samples()).items():
        assert json.loads((SET / name).read_text(encoding="utf-8")) == content, name


def test_gui_agent_eval_runs_on_each_bundled_format(tmp_path: Path) -> None:
    # a target appears at two scales with one instruction: both screenshots have one aspect
    # ratio, so one frame at MAX_PIXELS, and the same answer fits both
    samples = {s.instruction: s for s in load_samples([SET / n for n in SUITES], SET / "images")}
    boxes = {i: s.box for i, s in samples.items() if s.target != "refusal"}

    def answer(text: str, frames: Frames) -> str:
        found = [i for i in samples if re.search(rf"\b{re.escape(i)}$", text, re.M)]
        assert len(found) == 1 and len(frames) == 1, (found, text[-200:])
        if found[0] not in boxes:
            return "That element is not on this screen."
        sample, (fw, fh) = samples[found[0]], frames[0]
        x1, y1, x2, y2 = boxes[found[0]]
        w, h = sample.image_size
        assert ModelFrame.for_image(w, h, max_pixels=MAX_PIXELS).width == fw
        x, y = round((x1 + x2) / 2 * fw / w), round((y1 + y2) / 2 * fh / h)
        body = {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [x, y]}}
        return f"<tool_call>\n{json.dumps(body)}\n</tool_call>"

    out = tmp_path / "out"
    with AnsweringServer(answer) as server:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [
                sys.executable, "-m", "agent.cli", "eval", *(str(SET / n) for n in SUITES),
                "--images", str(SET / "images"), "--out", str(out), "--backend", "openai",
                "--base-url", server.base_url, "--api-model", "scripted", "--max-pixels",
                str(MAX_PIXELS), "--concurrency", "2", "--no-report",
            ],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    assert done.returncode == 0 and server.errors == [], (done.stderr, server.errors)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["samples"] == summary["correct"] == 64 + 60 + 60
    assert summary["osworld_g"]["OSWorld-G"]["Overall_Accuracy"] == 1.0
    assert summary["osworld_g"]["OSWorld-G"]["classification"]["refusal"]["num_total"] == 4
    assert summary["ui_vision"]["Final Avg"] == 1.0
    assert summary["mmbench_gui_l2"]["Average accuracy"] == 1.0
