"""The evaluation harness with a scripted model: verdicts, streaming, resume, infra errors,
manifest refusals, rescoring, several endpoints, the Pro prompt's prefill."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image

from agent.chat import Message
from agent.errors import BackendError, ConfigurationError
from agent.evaluation.benchmarks import Sample, load_samples
from agent.evaluation.harness import ModelAsker, evaluate
from agent.evaluation.prompts import PRO_PREFILL, make_prompt
from agent.evaluation.results import Results, manifest_for, open_results, rescore
from agent.geometry import ModelFrame
from agent.models.scripted import ScriptedBackend
from agent.styles.qwen25vl import Qwen25VLComputerUse

STYLE = Qwen25VLComputerUse()
SIZES = [(640, 480), (800, 600), (1024, 768), (390, 844)]


def call(x: float, y: float) -> str:
    body = {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [x, y]}}
    return f"<tool_call>\n{json.dumps(body)}\n</tool_call>"


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, Path]:
    """Four images; per image a box around its centre ("hit") and one in a corner ("miss"),
    and two more samples answered with garbage and nothing."""
    images = tmp_path / "images"
    images.mkdir()
    records = []
    for i, (w, h) in enumerate(SIZES):
        Image.new("RGB", (w, h), (40 * i, 90, 140)).save(images / f"s{i}.png")
        records.append({"id": f"hit{i}", "img_filename": f"s{i}.png", "img_size": [w, h],
                        "bbox": [w / 2 - 10, h / 2 - 10, w / 2 + 10, h / 2 + 10],
                        "instruction": f"hit {i}", "instruction_cn": "x", "application": "a",
                        "platform": "linux" if i % 2 else "windows", "group": "Dev",
                        "ui_type": "text" if i < 2 else "icon"})  # fmt: skip
        records.append({"id": f"miss{i}", "img_filename": f"s{i}.png", "img_size": [w, h],
                        "bbox": [0, 0, 20, 20], "instruction": f"miss {i}",
                        "instruction_cn": "x", "application": "b", "platform": "linux",
                        "group": "CAD", "ui_type": "icon"})  # fmt: skip
    for name in ("garbage", "nothing"):
        records.append({"id": name, "img_filename": "s0.png", "img_size": [640, 480],
                        "bbox": [0, 0, 640, 480], "instruction": name, "instruction_cn": "x",
                        "application": "a", "platform": "windows", "group": "Dev",
                        "ui_type": "text"})  # fmt: skip
    annotation = tmp_path / "sample_linux.json"
    annotation.write_text(json.dumps(records))
    return annotation, images


def centre_answer(messages: Sequence[Message], frame: ModelFrame) -> str:
    """The centre of the image the model saw, or garbage/nothing for those two samples."""
    text = messages[-1].text if messages[-1].role == "user" else messages[-2].text
    if "garbage" in text:
        return "I would click somewhere nice."
    if "nothing" in text:
        return ""
    return call(frame.width / 2, frame.height / 2)


def run(
    annotation: Path, images: Path, out: Path, backend: ScriptedBackend, *, resume: bool = False,
    **kw: object,
) -> dict[str, object]:  # fmt: skip
    samples = load_samples([annotation], images)
    manifest = manifest_for({"model": backend.model, "prompt": "grounding"}, [annotation], images)
    results = open_results(out, manifest, resume=resume)
    asker = ModelAsker(backend, make_prompt("grounding", STYLE))
    return evaluate(samples, results, [asker], prompt="grounding", progress=io.StringIO(),
                    backoff_s=0, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_every_sample_gets_its_verdict_streamed_with_its_frame(
    dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    annotation, images = dataset
    summary = run(annotation, images, tmp_path / "out", ScriptedBackend(centre_answer))
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    records = {r["id"]: r for r in map(json.loads, lines)}
    assert len(records) == 10
    for i, (w, h) in enumerate(SIZES):
        assert records[f"hit{i}"]["status"] == "correct", records[f"hit{i}"]
        assert records[f"miss{i}"]["status"] == "wrong"
        frame = records[f"hit{i}"]["frame"]
        assert (frame["source_width"], frame["source_height"]) == (w, h)
        x, y = records[f"hit{i}"]["point"]  # the frame's centre, back in image pixels
        assert abs(x - w / 2) <= 1 and abs(y - h / 2) <= 1
    assert records["garbage"]["status"] == "parse_error"
    assert records["nothing"]["status"] == "empty"
    assert summary["samples"] == 10 and summary["correct"] == 4
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["correct"] == 4
    assert "micro" in (tmp_path / "out" / "summary.md").read_text()


def test_infra_errors_are_retried_reported_apart_and_asked_again_on_resume(
    dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    annotation, images = dataset
    failing = {"hit1", "miss2"}
    attempts: dict[str, int] = {}

    def flaky(messages: Sequence[Message], frame: ModelFrame) -> str:
        text = messages[-1].text
        for name in failing:
            if name.replace("hit", "hit ").replace("miss", "miss ") in text:
                attempts[name] = attempts.get(name, 0) + 1
                raise BackendError("HTTP 503 from http://server (key sk-secret)")
        return centre_answer(messages, frame)

    out = tmp_path / "out"
    summary = run(annotation, images, out, ScriptedBackend(flaky), retries=2)
    assert attempts == {"hit1": 3, "miss2": 3}  # 1 + 2 retries each
    assert summary["infra_errors"] == 2 and summary["scored"] == 8
    text = (out / "results.jsonl").read_text()
    assert "sk-secret" not in text  # exception texts may hold keys: only the kind is kept
    failing.clear()
    again = ScriptedBackend(centre_answer)
    resumed = run(annotation, images, out, again, resume=True)
    assert len(again.calls) == 2  # only the two infra errors are asked again
    assert resumed["infra_errors"] == 0 and resumed["scored"] == 10 and resumed["correct"] == 4


def test_a_killed_run_resumes_to_the_same_summary(
    dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    annotation, images = dataset
    whole = run(annotation, images, tmp_path / "whole", ScriptedBackend(centre_answer))
    out = tmp_path / "killed"
    run(annotation, images, out, ScriptedBackend(centre_answer))
    lines = (out / "results.jsonl").read_bytes().splitlines(keepends=True)
    (out / "results.jsonl").write_bytes(b"".join(lines[:4]) + lines[4][:30])  # cut mid-line
    again = ScriptedBackend(centre_answer)
    resumed = run(annotation, images, out, again, resume=True)
    assert len(again.calls) == 6  # the cut line and the five never written
    for key in ("samples", "scored", "correct", "accuracy", "by_cell"):
        assert resumed[key] == whole[key]
    assert rescore(out)["accuracy"] == whole["accuracy"]


def test_resume_refuses_another_configuration_and_results_are_not_overwritten(
    dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    annotation, images = dataset
    out = tmp_path / "out"
    run(annotation, images, out, ScriptedBackend(centre_answer))
    with pytest.raises(ConfigurationError, match="already holds results"):
        run(annotation, images, out, ScriptedBackend(centre_answer))
    other = manifest_for({"model": "another", "prompt": "grounding"}, [annotation], images)
    with pytest.raises(ConfigurationError, match="model: 'scripted' -> 'another'"):
        open_results(out, other, resume=True)
    changed = json.loads(annotation.read_text())
    changed[0]["instruction"] = "changed"
    annotation.write_text(json.dumps(changed))
    edited = manifest_for({"model": "scripted", "prompt": "grounding"}, [annotation], images)
    with pytest.raises(ConfigurationError, match="datasets"):
        open_results(out, edited, resume=True)


def test_rescore_judges_every_point_again_from_the_file(
    dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    annotation, images = dataset
    out = tmp_path / "out"
    run(annotation, images, out, ScriptedBackend(centre_answer))
    path = out / "results.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:  # widen every miss box to the whole image
        if record["id"].startswith("miss"):
            w, h = record["image_size"]
            record["box"] = [0, 0, w, h]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert rescore(out)["correct"] == 8
    assert Results(out).records["miss0"].status == "wrong"  # the file keeps what was written


def test_several_endpoints_share_the_work_concurrently(
    dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    annotation, images = dataset
    samples = load_samples([annotation], images)
    inside = threading.Semaphore(0)
    peak = []

    def slow(messages: Sequence[Message], frame: ModelFrame) -> str:
        inside.release()
        peak.append(inside._value)  # how many are in flight
        threading.Event().wait(0.05)
        inside.acquire()
        return centre_answer(messages, frame)

    backends = [ScriptedBackend(slow), ScriptedBackend(slow)]
    manifest = manifest_for({"model": "scripted"}, [annotation], images)
    results = open_results(tmp_path / "out", manifest)
    askers = [ModelAsker(b, make_prompt("grounding", STYLE)) for b in backends]
    summary = evaluate(samples, results, askers, prompt="grounding", concurrency=4,
                       progress=io.StringIO())  # fmt: skip
    assert summary["correct"] == 4 and summary["scored"] == 10
    assert all(len(b.calls) == 5 for b in backends)  # round robin over the endpoints
    assert max(peak) >= 2


def test_the_screenspot_pro_prompt_prefills_the_coordinate_and_reads_numbers(
    dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    annotation, images = dataset
    seen: list[list[Message]] = []

    def numbers(messages: Sequence[Message], frame: ModelFrame) -> str:
        seen.append(list(messages))
        return f"{frame.width / 2}, {frame.height / 2}]}}}}\n</tool_call>"

    samples: list[Sample] = load_samples([annotation], images)[:2]
    manifest = manifest_for({"model": "scripted", "prompt": "screenspot-pro"}, [annotation],
                            images)  # fmt: skip
    results = open_results(tmp_path / "out", manifest)
    asker = ModelAsker(ScriptedBackend(numbers), make_prompt("screenspot-pro", STYLE))
    evaluate(samples, results, [asker], prompt="screenspot-pro", progress=io.StringIO())
    system, user, assistant = seen[0]
    assert system.text.startswith("You are a helpful assistant.\n\n# Tools")
    assert "The screen's resolution is 644x476." in system.text  # the resized size, 640x480
    assert isinstance(user.content[0], Image.Image) and user.content[1] == "hit 0"
    assert assistant.role == "assistant" and assistant.text == PRO_PREFILL
    record = results.records["hit0"]
    assert record.status == "correct" and record.raw.startswith(PRO_PREFILL)
