"""Export to fine-tuning data: runs recorded with the scripted model on a scale-2 monitor at a
non-zero origin (1920x1080 captures shown as 1316x728), exported as ms-swift rows and as
OpenAI-style messages (one row per carried-out step), re-read and checked against the recorded
steps: the prompt turns as recorded, every point the executed one, the answers the scripted
ones."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from actions.executor import ActionResult, DryRunExecutor
from actions.schema import Action, TypeText, points_of
from agent.errors import ConfigurationError, ExecutionError
from agent.geometry import Monitor
from agent.loop import Agent
from agent.models.scripted import ScriptedBackend
from agent.runs.export import export_runs
from agent.screen.capture import ImageScreen
from agent.scripts.desktop import Desktop
from agent.styles.registry import make_style
from agent.trajectory import StepRecord, load_trajectory

LEFT, TOP, SCALE = -960, 56, 2.0
MAX_PIXELS = 1280 * 28 * 28  # 1920x1080 -> 1316x728
SECRET = "Hunter2-Sw0rdfish!"
PLACEHOLDER = "{PASSWORD}"


def call(args: dict[str, Any]) -> str:
    return (
        "<tool_call>\n" + json.dumps({"name": "computer_use", "arguments": args}) + "\n</tool_call>"
    )


# (answer, the calls carried out): an unusable answer and a refused one carry none
QWEN_SCRIPT: list[tuple[str, list[dict[str, Any]]]] = [
    (call(a := {"action": "left_click", "coordinate": [658, 364]}), [a]),
    (call(a := {"action": "left_click_drag", "coordinate": [100, 200]}), [a]),
    (call(a := {"action": "scroll", "coordinate": [400, 300], "pixels": -5}), [a]),
    ("I think the OK button is there", []),
    (
        call(a := {"action": "type", "text": PLACEHOLDER})
        + "\n"
        + call(b := {"action": "key", "keys": ["enter"]}),
        [a, b],
    ),
    (call(a := {"action": "type", "text": SECRET}), [{"action": "type", "text": PLACEHOLDER}]),
    (call({"action": "left_click", "coordinate": [1315, 727]}), []),  # refused: a corner
    (call(a := {"action": "double_click", "coordinate": [1200, 700]}), [a]),
    (call(a := {"action": "terminate", "status": "success"}), [a]),
]


def desktop() -> Image.Image:
    image = Image.new("RGB", (1920, 1080), (20, 40, 60))
    ImageDraw.Draw(image).rectangle((900, 520, 1020, 560), fill=(200, 200, 200))
    return image


def screen() -> ImageScreen:
    return ImageScreen(desktop(), left=LEFT, top=TOP, scale=SCALE)


class FailsOnTyping(DryRunExecutor):
    def execute(self, action: Action, monitor: Monitor) -> ActionResult:
        if isinstance(action, TypeText):
            raise ExecutionError("the keyboard is gone")
        return super().execute(action, monitor)


def record(
    directory: Path,
    answers: Sequence[str],
    style: str = "qwen25vl",
    executor: DryRunExecutor | None = None,
) -> Path:
    agent = Agent(
        ScriptedBackend(answers, max_pixels=MAX_PIXELS),
        make_style(style),
        executor or DryRunExecutor(),
        screen(),
        out=directory,
        secrets={"PASSWORD": SECRET},
        loop_limit=0,
        max_steps=20,
    )
    agent.run("Log in with the password")
    return directory


def capture_xy(x: float, y: float) -> list[float]:
    """A screen point on the test monitor, in capture pixels (mapped here, independently)."""
    return [(x - LEFT) * SCALE, (y - TOP) * SCALE]


def carried(run: Path) -> list[StepRecord]:
    return [s for s in load_trajectory(run).steps if s.error is None and s.results]


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def texts(row: dict[str, Any]) -> str:
    parts = []
    for m in row["messages"]:
        content = m["content"]
        parts += [content] if isinstance(content, str) else [p.get("text", "") for p in content]
    return "".join(parts)


def image_file(run: Path, name: str) -> Path:
    return (run / name).resolve()


def swift_prompt(run: Path, step: StepRecord) -> tuple[list[dict[str, str]], list[str]]:
    """The recorded prompt of ``step`` as ms-swift turns, and its images in order."""
    turns, images = [], []
    for turn in step.prompt:
        content = ""
        for part in turn.content:
            if isinstance(part, str):
                content += part
            else:
                content += "<image>"
                images.append(str(image_file(run, part["image"])))
        turns.append({"role": turn.role, "content": content})
    return turns, images


def messages_prompt(run: Path, step: StepRecord) -> list[dict[str, Any]]:
    """The recorded prompt of ``step`` as OpenAI chat turns."""
    turns: list[dict[str, Any]] = []
    for turn in step.prompt:
        if all(isinstance(p, str) for p in turn.content):
            turns.append({"role": turn.role, "content": "".join(map(str, turn.content))})
            continue
        parts = [
            {"type": "text", "text": p}
            if isinstance(p, str)
            else {"type": "image_url", "image_url": {"url": image_file(run, p["image"]).as_uri()}}
            for p in turn.content
            if p != ""
        ]
        turns.append({"role": turn.role, "content": parts})
    return turns


def own_image(row: dict[str, Any], run: Path, step: StepRecord) -> int:
    assert step.screenshot is not None
    return int(row["images"].index(str(image_file(run, step.screenshot))))


def executed_points(step: StepRecord) -> list[list[float]]:
    return [capture_xy(p.x, p.y) for a in step.executed for p in points_of(a)]


def scaled(xy: Sequence[float], step: StepRecord, to: tuple[int, int] | None = None) -> list[int]:
    """Capture pixels into the step's frame (or ``to``), as ms-swift scales ``real`` boxes."""
    frame = step.frame
    assert frame is not None
    w, h = to or (frame.width, frame.height)
    return [round(xy[0] * w / frame.source_width), round(xy[1] * h / frame.source_height)]


def fill(text: str, boxes: Sequence[str]) -> str:
    for box in boxes:
        assert "<bbox>" in text
        text = text.replace("<bbox>", box, 1)
    assert "<bbox>" not in text
    return text


def close_to(got: Sequence[Action], want: Sequence[Action]) -> bool:
    if [a.action for a in got] != [a.action for a in want]:
        return False
    pairs = [
        (p, q) for a, b in zip(got, want, strict=True)
        for p, q in zip(points_of(a), points_of(b), strict=True)
    ]  # fmt: skip
    return all(abs(p.x - q.x) <= 1 and abs(p.y - q.y) <= 1 for p, q in pairs)


@pytest.fixture(scope="module")
def qwen_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record(tmp_path_factory.mktemp("qwen") / "run", [a for a, _ in QWEN_SCRIPT])


SCRIPTED = [calls for _, calls in QWEN_SCRIPT if calls]  # the calls of each carried-out step


def test_swift_rows_are_the_recorded_prompts_then_the_answers(
    qwen_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "train.jsonl"
    report = export_runs([qwen_run], "swift", out)
    assert (report.rows, report.exported, report.skipped) == (7, (qwen_run,), ())
    assert report.steps_skipped == 2  # the unusable answer, the refused click
    found, steps = rows(out), carried(qwen_run)
    assert len(found) == len(steps) == len(SCRIPTED)
    for row, step, calls in zip(found, steps, SCRIPTED, strict=True):
        prompt, images = swift_prompt(qwen_run, step)
        assert row["messages"][:-1] == prompt and row["images"] == images
        assert texts(row).count("<image>") == len(images) == 1 and Path(images[0]).is_file()
        # the answer: the scripted calls, each coordinate a bare <bbox>, nothing around them
        answer = row["messages"][-1]
        assert answer["role"] == "assistant" and set(answer) == {"role", "content"}
        bodies = re.findall(r"<tool_call>\n(.*?)\n</tool_call>", answer["content"])
        assert "\n".join(f"<tool_call>\n{b}\n</tool_call>" for b in bodies) == answer["content"]
        stand_in = [{**c, "coordinate": "@"} if "coordinate" in c else c for c in calls]
        assert [json.loads(b.replace("<bbox>", '"@"')) for b in bodies] == [
            {"name": "computer_use", "arguments": args} for args in stand_in
        ]
        # every <bbox>: the executed screen point on this step's own capture
        points = executed_points(step)
        assert answer["content"].count("<bbox>") == len(points)
        if points:
            image_id = [own_image(row, qwen_run, step)] * len(points)
            assert row["objects"] == {
                "ref": [], "bbox": points, "bbox_type": "real", "image_id": image_id,
            }  # fmt: skip
        assert set(row) == ({"messages", "images", "objects"} if points else {"messages", "images"})
        # filled as ms-swift's bbox_format="new" does (its scaling to the resized image), the
        # answer reads back as the recorded one
        boxes = [str(scaled(p, step)) for p in points]
        assert close_to(make_style("qwen25vl").parse(fill(answer["content"], boxes)), step.parsed)
    first = found[0]["messages"]
    assert first[-1]["content"] == (
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": <bbox>}}\n</tool_call>'
    )
    # ... and lands where the model pointed: (658, 364) of 1316x728 is the capture's centre
    assert found[0]["objects"]["bbox"] == [[960.0, 540.0]]
    assert abs(found[5]["objects"]["bbox"][0][1] - 700 * 1080 / 728) <= SCALE
    # the recorded prompts, verbatim: the system turn with its tools, the text history
    assert first[0]["role"] == "system" and "<tools>" in first[0]["content"]
    assert "The screen's resolution is 1316x728." in first[0]["content"]
    assert first[1]["content"].startswith("The user query: Log in")
    assert "Task progress" not in first[1]["content"]
    assert "Task progress" in found[1]["messages"][1]["content"]
    assert "Your previous answer was not carried out" in found[3]["messages"][1]["content"]


def test_messages_rows_are_the_recorded_prompts_then_the_tool_calls(
    qwen_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "train.jsonl"
    export_runs([qwen_run], "messages", out)
    found, steps = rows(out), carried(qwen_run)
    assert len(found) == len(steps) == len(SCRIPTED)
    for row, step, calls in zip(found, steps, SCRIPTED, strict=True):
        assert set(row) == {"messages", "metadata"}
        assert row["messages"][:-1] == messages_prompt(qwen_run, step)
        answer = row["messages"][-1]
        assert (answer["role"], answer["content"]) == ("assistant", "")
        got = [(c["function"]["name"], json.loads(c["function"]["arguments"]))
               for c in answer["tool_calls"]]  # fmt: skip
        assert got == [("computer_use", c) for c in calls]
        assert [c["id"] for c in answer["tool_calls"]] == [
            f"call_{step.index}_{n}" for n in range(len(calls))
        ]
        meta = row["metadata"]
        assert (meta["kind"], meta["style"], meta["space"]) == ("agent", "qwen25vl", "resized_px")
        assert (meta["run"], meta["step"]) == (str(qwen_run.resolve()), step.index)
        urls = [
            p["image_url"]["url"]
            for m in row["messages"]
            if isinstance(m["content"], list)
            for p in m["content"]
            if p["type"] == "image_url"
        ]
        assert step.screenshot is not None
        assert (
            [f["image"] for f in meta["frames"]]
            == urls
            == [image_file(qwen_run, step.screenshot).as_uri()]
        )
        (frame,) = meta["frames"]
        sizes = (frame["width"], frame["height"], frame["source_width"], frame["source_height"])
        assert frame["step"] == step.index and sizes == (1316, 728, 1920, 1080)


@pytest.mark.parametrize("fmt", ["swift", "messages"])
def test_a_typed_secret_is_exported_only_as_its_placeholder(
    qwen_run: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "train.jsonl"
    export_runs([qwen_run], fmt, out)  # type: ignore[arg-type]
    text = out.read_text(encoding="utf-8")
    assert SECRET not in text and SECRET not in json.dumps(rows(out))
    assert text.count(PLACEHOLDER) >= 2  # typed by placeholder, and the model's echo redacted
    assert "versions" not in text and "max_retries" not in text  # no meta.settings, no versions


UITARS = {
    "uitars15": ((658, 364), (100, 200), (300, 400)),  # resized pixels
    "uitars": ((500, 500), (76, 275), (228, 549)),  # 0-1000
}


@pytest.mark.parametrize("style", sorted(UITARS))
def test_uitars_rows_are_written_as_uitars_writes_them(style: str, tmp_path: Path) -> None:
    (cx, cy), (sx, sy), (ex, ey) = UITARS[style]
    answers = [
        f"Thought: The OK button is in the middle.\nAction: click(start_box='({cx},{cy})')",
        f"Action: drag(start_box='({sx},{sy})', end_box='({ex},{ey})')",
        "Action: type(content='{PASSWORD}\\n')",
        "Action: finished()",
    ]
    run = record(tmp_path / "run", answers, style)
    export_runs([run], "swift", tmp_path / "swift.jsonl")
    export_runs([run], "messages", tmp_path / "messages.jsonl")
    swift, messages = rows(tmp_path / "swift.jsonl"), rows(tmp_path / "messages.jsonl")
    steps = carried(run)
    assert len(swift) == len(messages) == len(steps) == 4

    def box(x: int, y: int) -> str:
        return f"<|box_start|>({x},{y})<|box_end|>"

    assert [r["messages"][-1]["content"] for r in swift] == [
        "Thought: The OK button is in the middle.\nAction: click(start_box='<bbox>')",
        "Action: drag(start_box='<bbox>', end_box='<bbox>')",
        "Action: type(content='{PASSWORD}\\n')",
        "Action: finished()",
    ]
    written = [
        f"Thought: The OK button is in the middle.\nAction: click(start_box='{box(cx, cy)}')",
        f"Action: drag(start_box='{box(sx, sy)}', end_box='{box(ex, ey)}')",
        "Action: type(content='{PASSWORD}\\n')",
        "Action: finished()",
    ]
    assert [r["messages"][-1] for r in messages] == [
        {"role": "assistant", "content": text} for text in written
    ]
    space = "resized_px" if style == "uitars15" else "rel1000"
    to = None if style == "uitars15" else (1000, 1000)  # ms-swift: norm1000 for Qwen2-VL
    for n, (row, chat, step) in enumerate(zip(swift, messages, steps, strict=True)):
        # the prompt UI-TARS was sent: every screenshot so far, the earlier answers verbatim
        prompt, images = swift_prompt(run, step)
        assert row["messages"][:-1] == prompt and row["images"] == images
        assert len(images) == n + 1 and own_image(row, run, step) == n
        assert [m["content"] for m in prompt if m["role"] == "assistant"] == answers[:n]
        assert chat["messages"][:-1] == messages_prompt(run, step)
        assert (chat["metadata"]["style"], chat["metadata"]["space"]) == (style, space)
        assert [f["step"] for f in chat["metadata"]["frames"]] == list(range(n + 1))
        points = executed_points(step)
        if points:
            assert row["objects"]["bbox"] == points
            assert row["objects"]["image_id"] == [n] * len(points)
        else:
            assert "objects" not in row
        # ms-swift's legacy filling writes UI-TARS' box tokens, the text UI-TARS writes (its
        # numbers within 1 of the recorded ones: the point went through whole screen pixels);
        # bbox_format="new" writes [x, y], which reads back as the recorded answer too
        legacy = fill(row["messages"][-1]["content"], [box(*scaled(p, step, to)) for p in points])
        assert re.sub(r"\d+", "N", legacy) == re.sub(r"\d+", "N", written[n])
        new = fill(row["messages"][-1]["content"], [str(scaled(p, step, to)) for p in points])
        for text in (legacy, new):
            assert close_to(make_style(style).parse(text), step.parsed)


def test_only_successful_runs_unless_all(tmp_path: Path) -> None:
    good = record(tmp_path / "good", [a for a, _ in QWEN_SCRIPT[:1]] + [QWEN_SCRIPT[-1][0]])
    failed = record(
        tmp_path / "failed", [QWEN_SCRIPT[0][0], call({"action": "terminate", "status": "failure"})]
    )
    unusable = record(tmp_path / "unusable", ["no", "still no", "nope"])
    # a click that ran, then typing failed: the step ended the run with an error
    click_type = QWEN_SCRIPT[0][0] + "\n" + QWEN_SCRIPT[4][0]
    broken = record(tmp_path / "broken", [click_type], executor=FailsOnTyping())
    assert len(load_trajectory(broken).steps[0].results) == 1
    runs = [good, failed, unusable, broken]
    out = tmp_path / "train.jsonl"
    report = export_runs(runs, "swift", out)
    assert (report.rows, report.exported) == (2, (good,))  # its click and its terminate
    assert [(s.directory, s.reason) for s in report.skipped] == [
        (failed, "not successful: status failed"),
        (unusable, "not successful: status failed"),
        (broken, "not successful: status error"),
    ]
    assert len(rows(out)) == 2 and not list(tmp_path.glob("*.tmp"))
    report = export_runs(runs, "swift", out, include_all=True)
    assert (report.rows, report.exported) == (4, (good, failed))
    assert [(s.directory, s.reason) for s in report.skipped] == [
        (unusable, "no usable steps"),
        (broken, "no usable steps"),
    ]
    assert report.steps_skipped == 0 and len(rows(out)) == 4
    assert report.lines()[0].startswith("wrote 4 swift rows from 2 runs")


def test_screenshot_missing_or_changed_is_an_error_naming_the_file(
    qwen_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(qwen_run, run)
    shot = run / "step_0002.png"
    Image.new("RGB", (1920, 1080), (1, 2, 3)).save(shot)
    with pytest.raises(ConfigurationError, match=r"step_0002\.png does not match the sha256"):
        export_runs([run], "swift", tmp_path / "out.jsonl")
    shot.unlink()
    with pytest.raises(ConfigurationError, match=r"step_0002\.png cannot be read"):
        export_runs([run], "messages", tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_a_prompt_image_no_step_captured_skips_the_run(qwen_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(qwen_run, run)
    lines = (run / "steps.jsonl").read_text(encoding="utf-8")
    assert lines.count('{"image": "step_0001.png"}') == 1
    (run / "steps.jsonl").write_text(
        lines.replace('{"image": "step_0001.png"}', '{"image": "../elsewhere.png"}'),
        encoding="utf-8",
    )
    report = export_runs([run], "swift", tmp_path / "out.jsonl")
    assert report.rows == 0 and [s.reason for s in report.skipped] == [
        "step 1's prompt shows '../elsewhere.png', which no step of the run captured"
    ]


def test_rows_come_by_run_then_step(qwen_run: Path, tmp_path: Path) -> None:
    click = call({"action": "left_click", "coordinate": [658, 364]})
    done = call({"action": "terminate", "status": "success"})
    with Desktop(
        ScriptedBackend([click, click, done, click], max_pixels=MAX_PIXELS),
        make_style("qwen25vl"),
        screen=screen(),
        executor=DryRunExecutor(),
        out=tmp_path / "run",
    ) as d:
        d.click("the OK button")
        d.act("Press OK")
        d.click("the OK button")
    run = tmp_path / "run"
    export_runs([run, qwen_run], "messages", tmp_path / "out.jsonl")

    def where(row: dict[str, Any]) -> tuple[str, str, int]:
        meta = row["metadata"]
        return meta["kind"], meta["run"], meta.get("step", meta["frames"][0]["step"])

    found = [where(r) for r in rows(tmp_path / "out.jsonl")]
    script, recorded = str(run.resolve()), str(qwen_run.resolve())
    assert found == [
        ("grounding", script, 0), ("agent", script, 1), ("agent", script, 2),
        ("grounding", script, 3),
    ] + [("agent", recorded, s.index) for s in carried(qwen_run)]  # fmt: skip


def test_a_text_holding_a_swift_tag_skips_the_run_for_swift_only(tmp_path: Path) -> None:
    typed = call({"action": "type", "text": "<bbox>"})
    run = record(tmp_path / "run", [typed, QWEN_SCRIPT[-1][0]])
    report = export_runs([run], "swift", tmp_path / "swift.jsonl")
    assert report.rows == 0 and [s.reason for s in report.skipped] == [
        "step 0's answer holds <bbox>, one of ms-swift's tags"
    ]
    assert export_runs([run], "messages", tmp_path / "messages.jsonl").rows == 2


def test_configuration_errors(qwen_run: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="is not a trajectory"):
        export_runs([tmp_path], "swift", tmp_path / "out.jsonl")
    with pytest.raises(ConfigurationError, match="unknown export format 'csv'"):
        export_runs([qwen_run], "csv", tmp_path / "out.jsonl")  # type: ignore[arg-type]
    run = tmp_path / "run"
    shutil.copytree(qwen_run, run)
    meta = json.loads((run / "meta.json").read_text())
    (run / "meta.json").write_text(json.dumps({**meta, "style": "bogus"}))
    with pytest.raises(ConfigurationError, match=r"run: unknown style 'bogus'"):
        export_runs([run], "swift", tmp_path / "out.jsonl")


def test_script_targets_are_grounding_rows_in_capture_pixels(tmp_path: Path) -> None:
    click = call({"action": "left_click", "coordinate": [658, 364]})
    with Desktop(
        ScriptedBackend([click], max_pixels=MAX_PIXELS),
        make_style("qwen25vl"),
        screen=screen(),
        executor=DryRunExecutor(),
        out=tmp_path / "run",
        secrets={"PASSWORD": SECRET},
    ) as d:
        d.click("the OK button")
        d.type(PLACEHOLDER)
    run = tmp_path / "run"
    report = export_runs([run], "swift", tmp_path / "swift.jsonl")
    assert (report.rows, report.steps_skipped) == (1, 1)  # the type step locates nothing
    (swift,) = rows(tmp_path / "swift.jsonl")
    target = load_trajectory(run).steps[0].targets[0]
    assert swift["messages"] == [
        {"role": "user", "content": "<image>the OK button"},
        {"role": "assistant", "content": "<bbox>"},
    ]
    assert swift["objects"] == {
        "ref": [],
        "bbox": [list(target.pixel or ())],
        "bbox_type": "real",
        "image_id": [0],
    }
    assert swift["objects"]["bbox"] == [[960.0, 540.0]] and Path(swift["images"][0]).is_file()
    export_runs([run], "messages", tmp_path / "messages.jsonl")
    (messages,) = rows(tmp_path / "messages.jsonl")
    answer = json.loads(messages["messages"][1]["content"])
    assert answer == [{"point_2d": [658.0, 364.0], "label": "the OK button"}]
    frame = messages["metadata"]["frames"][0]
    assert (messages["metadata"]["space"], frame["width"], frame["height"]) == (
        "resized_px",
        1316,
        728,
    )
    for path in (tmp_path / "swift.jsonl", tmp_path / "messages.jsonl"):
        assert SECRET not in path.read_text(encoding="utf-8")


def test_every_image_tag_has_its_image(qwen_run: Path, tmp_path: Path) -> None:
    export_runs([qwen_run, qwen_run], "swift", tmp_path / "out.jsonl")
    for row in rows(tmp_path / "out.jsonl"):
        assert len(re.findall(r"<image>", texts(row))) == len(row["images"])
