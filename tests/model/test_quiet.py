"""No library noise: a run through transformers prints no warning of transformers' own making.

The tiny checkpoint gets the sampling defaults of the official Qwen2.5-VL checkpoints'
``generation_config.json`` (do_sample true, temperature 0.1, top_p 0.001, top_k 1, repetition
penalty 1.05); greedy decoding with those loaded is what made transformers warn about "generation
flags" on every run. Both the CLI (a subprocess, stderr as a user sees it) and the Python API (every
``warnings.warn`` and every record of transformers' logger) are checked.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.models.transformers_backend import TransformersBackend
from agent.styles.qwen25vl import Qwen25VLComputerUse
from agent.testing.tiny_qwen import build_tiny_qwen25vl

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[2]

ANSWER = (
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
    '"coordinate": [658, 364]}}\n</tool_call>'
)
# As in Qwen/Qwen2.5-VL-*-Instruct's generation_config.json.
OFFICIAL_SAMPLING = {
    "do_sample": True,
    "repetition_penalty": 1.05,
    "temperature": 0.1,
    "top_k": 1,
    "top_p": 0.001,
}
NOISE = ("warn", "deprecat", "generation flags", "[transformers]", "loading weights", "%|")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = build_tiny_qwen25vl(tmp_path_factory.mktemp("quiet") / "ckpt", answer=ANSWER)
    path = directory / "generation_config.json"
    generation = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**generation, **OFFICIAL_SAMPLING}, indent=2), encoding="utf-8")
    return directory


def _forget_warned_once() -> None:
    """transformers logs some warnings once per process: let this test see them again."""
    once: Any = getattr(logging.Logger, "warning_once", None)
    if once is not None and hasattr(once, "cache_clear"):
        once.cache_clear()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_cli_stderr_holds_only_its_own_lines(checkpoint: Path, tmp_path: Path) -> None:
    image = tmp_path / "shot.png"
    Image.new("RGB", (1920, 1080), (30, 30, 30)).save(image)
    env = {
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "agent.cli", "ground", str(image), "the OK button"]
        + ["--model", str(checkpoint), "--max-pixels", str(1280 * 28 * 28)],
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["point"] == [960, 540]  # 658,364 of 1316x728
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"loading {checkpoint} ..."], done.stderr
    assert not [word for word in NOISE if word in done.stderr.lower()], done.stderr


def test_python_api_records_no_warning(checkpoint: Path, capfd: pytest.CaptureFixture[str]) -> None:
    handler = _Records()
    library_logger = logging.getLogger("transformers")
    library_logger.addHandler(handler)
    _forget_warned_once()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            backend = TransformersBackend(str(checkpoint), max_pixels=1280 * 28 * 28)
            frame = backend.frame_for(1920, 1080)
            messages = Qwen25VLComputerUse().messages(
                "Click OK", frame, Image.new("RGB", (1920, 1080)), []
            )
            completion = backend.complete(messages, frame)
    finally:
        library_logger.removeHandler(handler)
    assert completion.text == ANSWER
    assert [record.getMessage() for record in handler.records] == []
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
    err = capfd.readouterr().err
    assert not [word for word in NOISE if word in err.lower()], err


def test_sampling_keeps_the_checkpoint_defaults(checkpoint: Path) -> None:
    from transformers import GenerationConfig

    backend = TransformersBackend(str(checkpoint), sample=True)
    config = backend.net.generation_config
    assert config.do_sample is True
    assert (config.temperature, config.top_p, config.top_k) == (0.1, 0.001, 1)
    greedy = TransformersBackend(str(checkpoint)).net.generation_config
    assert greedy.do_sample is False
    defaults = GenerationConfig()  # None in 5.x, 1.0/1.0/50 in 4.57
    assert (greedy.temperature, greedy.top_p, greedy.top_k) == (
        defaults.temperature,
        defaults.top_p,
        defaults.top_k,
    )
    assert greedy.repetition_penalty == 1.05  # not a sampling flag: the checkpoint's choice
