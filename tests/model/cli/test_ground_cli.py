"""`gui-agent ground IMAGE INSTRUCTION`: the point (and box) in image pixels, for any backend and
style, and the annotated image."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from agent.testing.openai_server import OpenAICompatibleServer
from agent.testing.tiny_qwen import build_tiny_qwen25vl, script_answer

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("model") / "tiny")


def ground(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", "ground", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture
def screenshot(tmp_path: Path) -> Path:
    image = Image.new("RGB", (1920, 1080), (30, 30, 30))
    ImageDraw.Draw(image).rectangle((1400, 800, 1480, 830), fill=(200, 200, 200))
    path = tmp_path / "shot.png"
    image.save(path)
    return path


def test_grounding_json_box_through_transformers(
    checkpoint: Path, screenshot: Path, tmp_path: Path
) -> None:
    # 1920x1080 at 1280*28*28 -> 1316x728; the box (1400,800)-(1480,830) in that frame
    box = [
        round(1400 * 1316 / 1920),
        round(800 * 728 / 1080),
        round(1480 * 1316 / 1920),
        round(830 * 728 / 1080),
    ]
    element = json.dumps({"bbox_2d": box, "label": "OK"})
    script_answer(checkpoint, f"```json\n[{element}]\n```")
    done = ground(
        str(screenshot),
        "the OK button",
        "--model",
        str(checkpoint),
        "--style",
        "qwen25vl-grounding",
        "--max-pixels",
        str(1280 * 28 * 28),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    x1, y1, x2, y2 = result["box"]
    assert abs(x1 - 1400) <= 1 and abs(y1 - 800) <= 1 and abs(x2 - 1480) <= 1 and abs(y2 - 830) <= 1
    assert abs(result["point"][0] - 1440) <= 1 and abs(result["point"][1] - 815) <= 1
    assert result["frame"] == [1316, 728]
    annotated = Path(result["annotated"])
    assert annotated == tmp_path / "shot.ground.png"
    with Image.open(annotated) as drawn, Image.open(screenshot) as original:
        assert drawn.size == original.size
        assert ImageChops.difference(drawn.convert("RGB"), original.convert("RGB")).getbbox()


def test_relative_point_through_the_http_backend(
    checkpoint: Path, screenshot: Path, tmp_path: Path
) -> None:
    script_answer(checkpoint, "Thought: the OK button\nAction: click(start_box='(750,754)')")
    with OpenAICompatibleServer(checkpoint) as server:
        done = ground(
            str(screenshot),
            "the OK button",
            "--backend",
            "openai",
            "--base-url",
            server.base_url,
            "--api-model",
            str(checkpoint),
            "--style",
            "uitars",
            "--out",
            str(tmp_path / "marked.png"),
        )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["point"] == [1440, 814] and result["box"] is None  # 0-1000 of 1920x1080
    assert (tmp_path / "marked.png").is_file()


def test_unusable_answer_and_missing_image_are_one_line(
    checkpoint: Path, screenshot: Path, tmp_path: Path
) -> None:
    script_answer(checkpoint, "I cannot see an OK button.")
    done = ground(str(screenshot), "OK", "--model", str(checkpoint), "--style", "qwen2vl")
    assert done.returncode == 1 and "ParseError" not in done.stdout
    assert done.stderr.strip().splitlines()[-1].startswith("gui-agent: error:")
    missing = ground(str(tmp_path / "nope.png"), "OK", "--model", str(checkpoint))
    assert missing.returncode == 2 and "cannot read image" in missing.stderr
    assert "Traceback" not in missing.stderr + done.stderr
