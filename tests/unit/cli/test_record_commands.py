"""`gui-agent view` and `gui-agent export` on recorded runs: outputs and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from actions.executor import DryRunExecutor
from agent.cli.main import main
from agent.loop import Agent
from agent.models.scripted import ScriptedBackend
from agent.screen.capture import ImageScreen
from agent.styles.qwen25vl import Qwen25VLComputerUse


def call(args: dict[str, object]) -> str:
    return f'<tool_call>\n{json.dumps({"name": "computer_use", "arguments": args})}\n</tool_call>'


def record(out: Path, answers: list[str]) -> Path:
    image = Image.new("RGB", (1280, 800), (30, 30, 30))
    ImageDraw.Draw(image).rectangle((600, 380, 700, 420), fill=(220, 220, 220))
    agent = Agent(
        ScriptedBackend(answers, max_pixels=1280 * 28 * 28),
        Qwen25VLComputerUse(),
        DryRunExecutor(),
        ImageScreen(image),
        out=out,
    )
    agent.run("Press the button")
    return out


def test_view_and_export_write_their_files_and_say_so_by_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = record(tmp_path / "good", [
        call({"action": "left_click", "coordinate": [650, 400]}),
        call({"action": "terminate", "status": "success"}),
    ])  # fmt: skip
    failed = record(tmp_path / "failed", ["not an action"] * 3)

    assert main(["view", str(good)]) == 0
    page = good / "index.html"
    assert capsys.readouterr().out.strip() == str(page) and page.stat().st_size > 0
    assert main(["view", str(tmp_path / "missing")]) == 2
    assert "not a trajectory" in capsys.readouterr().err

    rows = tmp_path / "train.jsonl"
    assert main(["export", str(good), str(failed), "--format", "swift", "--out", str(rows)]) == 0
    printed = capsys.readouterr().out
    assert "skipped" in printed and str(failed) in printed
    lines = rows.read_text().splitlines()
    assert lines and all(json.loads(line)["images"] for line in lines)
    nothing = tmp_path / "none.jsonl"
    assert main(["export", str(failed), "--out", str(nothing)]) == 1  # no row written
