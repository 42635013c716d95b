"""The trajectory viewer in headless Chromium: what the page shows for recorded runs.

Runs are recorded for real (scripted Qwen2.5-VL answers, the dry-run executor, a fixed image on
a monitor at scale 2 whose origin is not 0), ``index.html`` is written by
:func:`agent.runs.viewer.write_viewer` and opened from disk in Debian's chromium through Playwright
(no browser download). The expected marker positions are worked out here from the scripted
answers with plain arithmetic, not with the project's conversion.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from actions.executor import ActionResult, DryRunExecutor
from actions.schema import Click, Scroll
from agent.errors import CaptureError, ConfigurationError
from agent.geometry import ModelFrame, Monitor, Point
from agent.loop import Agent
from agent.models.scripted import ScriptedBackend
from agent.runs.viewer import write_viewer
from agent.screen.capture import ImageScreen, Screenshot
from agent.styles.qwen25vl import Qwen25VLComputerUse
from agent.trajectory import (
    FrameRecord,
    MonitorRecord,
    ReplayRecord,
    ReplayVerdict,
    StepRecord,
    TargetRecord,
    TrajectoryMeta,
    TrajectoryRecorder,
    load_trajectory,
    now_iso,
)

pytestmark = pytest.mark.browser

MAX_PIXELS = 1280 * 28 * 28
FRAME = (1316, 728)  # smart_resize of 1920x1080 under MAX_PIXELS
CAPTURE = (1920, 1080)
SCALE, LEFT, TOP = 2, 1920, 200  # the monitor: 960x540 screen units at (1920, 200)
HOSTILE = 'I will click <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def call(args: dict[str, object]) -> str:
    body = json.dumps({"name": "computer_use", "arguments": args})
    return f"<tool_call>\n{body}\n</tool_call>"


ANSWERS = [
    call({"action": "left_click", "coordinate": [100, 100]}),
    call({"action": "left_click_drag", "coordinate": [900, 500]}),
    call({"action": "scroll", "coordinate": [600, 300], "pixels": -5}),
    HOSTILE,
    call({"action": "terminate", "status": "success"}),
]


def capture_px(model: tuple[float, float]) -> tuple[float, float]:
    """Where a point the model gave (resized pixels) lands in the capture: the fraction of the
    frame in capture pixels, to screen units (rounded half up), and back to capture pixels."""
    out = []
    for value, frame, capture in zip(model, FRAME, CAPTURE, strict=True):
        units = math.floor(value / frame * capture / SCALE + 0.5)
        out.append(float(units * SCALE))
    return out[0], out[1]


def desktop() -> Image.Image:
    image = Image.new("RGB", CAPTURE, (20, 40, 60))
    ImageDraw.Draw(image).rectangle((900, 520, 1020, 560), fill=(200, 200, 200))
    return image


def record(out: Path, answers: list[str], screen: ImageScreen, **kw: Any) -> Path:
    backend = ScriptedBackend(answers, max_pixels=MAX_PIXELS)
    Agent(backend, Qwen25VLComputerUse(), DryRunExecutor(), screen, out=out, **kw).run(
        "Drag the <b>slider</b> to the right"
    )
    return write_viewer(out)


class FailingScreen(ImageScreen):
    """Shows the image ``good`` times, then cannot capture any more."""

    def __init__(self, image: Image.Image, good: int) -> None:
        super().__init__(image)
        self.good = good

    def capture(self) -> Screenshot:
        if self.good == 0:
            raise CaptureError("the display went away")
        self.good -= 1
        return super().capture()


@pytest.fixture(scope="module")
def run_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    screen = ImageScreen(desktop(), left=LEFT, top=TOP, scale=SCALE)
    return record(tmp_path_factory.mktemp("viewer") / "run", ANSWERS, screen)


class Opened:
    """A page with the errors it raised collected."""

    def __init__(self, browser: Any, path: Path, step: int | None = None) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.set_default_timeout(10_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        self.page.goto(path.as_uri() + (f"#step-{step}" if step is not None else ""))

    def selected(self) -> int:
        return int(self.page.get_attribute("#step", "data-step"))

    def screenshot_box(self) -> tuple[dict[str, float], float]:
        """The displayed screenshot's box, and displayed pixels per capture pixel."""
        self.page.wait_for_function(
            "() => { const i = document.getElementById('screenshot'); "
            "return i && i.complete && i.naturalWidth > 0; }"
        )
        box = self.page.locator("#screenshot").bounding_box()
        natural = self.page.evaluate("document.getElementById('screenshot').naturalWidth")
        assert natural == CAPTURE[0]
        return box, box["width"] / natural

    def centre(self, selector: str) -> tuple[float, float]:
        box = self.page.locator(selector).bounding_box()
        return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


@pytest.fixture
def opened(browser: Any) -> Iterator[Any]:
    pages: list[Opened] = []

    def open_(path: Path, step: int | None = None) -> Opened:
        pages.append(Opened(browser, path, step))
        return pages[-1]

    yield open_
    for page in pages:
        page.page.close()
        assert page.errors == []


def assert_at(opened: Opened, selector: str, expected: tuple[float, float]) -> None:
    box, ratio = opened.screenshot_box()
    assert 0.3 < ratio < 0.9  # the screenshot is shown scaled, so the overlay must scale too
    x, y = opened.centre(selector)
    want = box["x"] + expected[0] * ratio, box["y"] + expected[1] * ratio
    assert abs(x - want[0]) <= 1.5 and abs(y - want[1]) <= 1.5, (selector, (x, y), want)


def test_header_and_filmstrip_show_every_step(opened: Any, run_page: Path) -> None:
    view = opened(run_page)
    page = view.page
    assert page.text_content("#step-count") == "5"
    assert page.text_content("#run-status") == "done"
    assert page.text_content("#instruction") == "Drag the <b>slider</b> to the right"
    facts = page.text_content("#facts")
    assert "monitor 1 960x540+1920+200 scale 2" in facts and "qwen25vl" in facts
    assert page.locator("#filmstrip button.thumb").count() == 5
    page.wait_for_function(
        "() => [...document.querySelectorAll('#filmstrip img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    sources = page.eval_on_selector_all("#filmstrip img", "els => els.map(e => e.naturalWidth)")
    assert sources == [CAPTURE[0]] * 5
    statuses = page.eval_on_selector_all(
        "#filmstrip button.thumb", "els => els.map(e => e.dataset.status)"
    )
    assert statuses == ["ok", "ok", "ok", "error", "ok"]
    assert "error" in page.get_attribute('.thumb[data-step="3"]', "aria-label")
    assert view.selected() == 0


def test_click_marker_is_at_the_clicked_capture_pixel(opened: Any, run_page: Path) -> None:
    view = opened(run_page, 0)
    expected = capture_px((100, 100))
    assert expected == (146.0, 148.0)
    marker = view.page.locator(".marker.click")
    assert marker.count() == 1
    assert (
        float(marker.get_attribute("data-x")),
        float(marker.get_attribute("data-y")),
    ) == expected
    assert_at(view, ".marker.click .anchor", expected)
    conversion = view.page.text_content('[data-block="conversion"]')
    assert "resized_px (100, 100) in a 1316x728 frame" in conversion
    assert "(1993, 274)" in conversion  # 73 units right of 1920, 74 below 200


def test_drag_path_runs_from_the_pointer_to_the_release(opened: Any, run_page: Path) -> None:
    view = opened(run_page, 1)
    assert_at(view, ".marker.drag .anchor.start", capture_px((100, 100)))  # the click before
    assert_at(view, ".marker.drag .anchor.end", capture_px((900, 500)))
    points = view.page.get_attribute(".marker.drag .path", "points")
    assert points.startswith("146,148 ") and points.endswith(" 1314,742")


def test_scroll_arrow_points_its_way_at_its_point(opened: Any, run_page: Path) -> None:
    view = opened(run_page, 2)
    expected = capture_px((600, 300))
    assert_at(view, ".marker.scroll .anchor", expected)
    assert view.page.get_attribute(".marker.scroll", "data-direction") == "down"
    line = view.page.locator(".marker.scroll .path").bounding_box()
    anchor_y = view.centre(".marker.scroll .anchor")[1]
    stroke = 3  # the boxes include the stroke
    assert line["y"] >= anchor_y - stroke and line["height"] > 10  # drawn down from the point


def test_keys_clicks_and_the_hash_select_steps(opened: Any, run_page: Path) -> None:
    view = opened(run_page)
    page = view.page
    assert view.selected() == 0
    for key, step in [
        ("ArrowRight", 1),
        ("j", 2),
        ("k", 1),
        ("End", 4),
        ("ArrowRight", 4),
        ("Home", 0),
        ("ArrowLeft", 0),
    ]:
        page.keyboard.press(key)
        assert view.selected() == step, key
        assert page.evaluate("location.hash") == f"#step-{step}"
    page.click('.thumb[data-step="3"]')
    assert view.selected() == 3
    assert page.get_attribute('.thumb[data-step="3"]', "aria-current") == "true"
    assert page.locator("[aria-current]").count() == 1
    page.evaluate("location.hash = '#step-2'")
    page.wait_for_function("document.getElementById('step').dataset.step === '2'")
    linked = opened(run_page, 4)
    assert linked.selected() == 4
    assert "terminate: success" in linked.page.text_content('[data-block="actions"]')


def test_the_error_step_shows_hostile_output_as_text(opened: Any, run_page: Path) -> None:
    view = opened(run_page, 3)
    page = view.page
    assert page.get_attribute("#step", "data-status") == "error"
    assert page.text_content("#step-error").startswith("ParseError: no <tool_call>")
    assert page.text_content("#raw-output") == HOSTILE
    assert page.locator("#raw-output *").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x], main script, header b").count() == 0
    assert page.locator(".marker").count() == 0
    prompt = page.text_content('[data-block="prompt"]')
    assert "image: step_0003.png" in prompt and "Task progress" in prompt


def test_a_refused_point_and_a_failed_capture(opened: Any, tmp_path: Path) -> None:
    answers = [
        call({"action": "left_click", "coordinate": [5000, 10]}),  # off the 1316x728 image
        call({"action": "left_click", "coordinate": [658, 364]}),
        call({"action": "left_click", "coordinate": [100, 100]}),
    ]
    page_path = record(tmp_path / "run", answers, FailingScreen(desktop(), good=2))
    view = opened(page_path, 2)
    page = view.page
    statuses = page.eval_on_selector_all(
        "#filmstrip button.thumb", "els => els.map(e => e.dataset.status)"
    )
    assert statuses == ["refused", "ok", "error"]
    assert "capture of this step failed" in page.text_content("#shot")
    assert page.locator("#screenshot").count() == 0
    assert page.locator('.thumb[data-step="2"] .noshot').count() == 1
    assert "CaptureError" in page.text_content("#step-error")
    page.keyboard.press("Home")
    view.screenshot_box()
    assert page.locator(".marker").count() == 0  # nothing was executed
    assert "refused: point (5000, 10) is outside" in page.text_content('[data-block="conversion"]')
    page.keyboard.press("j")
    assert page.locator(".marker.click").count() == 1


def synthetic_meta(**settings: Any) -> TrajectoryMeta:
    monitor = Monitor(index=1, left=0, top=0, width=1920, height=1080)
    return TrajectoryMeta(
        instruction="script",
        model="scripted",
        backend="ScriptedBackend",
        style="qwen25vl",
        min_pixels=3136,
        max_pixels=MAX_PIXELS,
        monitor=MonitorRecord.of(monitor),
        settings=settings,
        versions={},
        started_at=now_iso(),
    )


def synthetic_step(index: int, action: Click | Scroll, **kw: Any) -> StepRecord:
    frame = ModelFrame.for_image(*CAPTURE, max_pixels=MAX_PIXELS)
    monitor = Monitor(index=1, left=0, top=0, width=1920, height=1080)
    return StepRecord(
        index=index,
        timings={"capture": 0.01},
        screenshot=TrajectoryRecorder.screenshot_name(index),
        frame=FrameRecord.of(frame),
        monitor=MonitorRecord.of(monitor),
        parsed=[action],
        executed=[action],
        **kw,
    )


def test_script_targets_replay_verdicts_and_an_interrupted_step(
    opened: Any, tmp_path: Path
) -> None:
    out = tmp_path / "replay"
    recorder = TrajectoryRecorder(out, synthetic_meta(replay_of="runs/original"))
    click = Click(point=Point.screen(960, 540))
    target = TargetRecord(
        verb="click",
        description="the OK button",
        located_by="cache",
        cache="hit",
        box=(900, 520, 1020, 560),
        score=0.998,
    )
    verdicts: list[ReplayVerdict] = ["matched", "re-grounded", "diverged"]
    steps = [
        synthetic_step(0, click, source="script", targets=[target]),
        *(
            synthetic_step(
                i,
                click,
                source="replay",
                replay=ReplayRecord(
                    recording="runs/original",
                    step=i,
                    mode="reground",
                    verdict=verdict,
                    score=0.4,
                    detail="patch compared",
                ),
            )
            for i, verdict in enumerate(verdicts, start=1)
        ),
        synthetic_step(4, Scroll(point=Point.screen(10, 10), direction="up", amount=3)),
    ]
    ok = ActionResult(ok=True, duration_s=0.001)
    for step in steps:
        recorder.decision(step, recorder.screenshot(step.index, desktop()))
        if step.index < 4:  # the last step's result never came: interrupted
            error = "diverged: the target moved" if step.index == 3 else None
            recorder.result(step.index, [] if error else [ok], error, {"execute": 0.001})
    recorder.close("aborted", "killed")
    view = opened(write_viewer(out), 0)
    page = view.page
    statuses = page.eval_on_selector_all(
        "#filmstrip button.thumb", "els => els.map(e => e.dataset.status)"
    )
    assert statuses == ["ok", "ok", "regrounded", "diverged", "interrupted"]
    assert "runs/original" in page.text_content("#replay-of")
    box, ratio = view.screenshot_box()
    rect = page.locator(".marker.target rect").bounding_box()  # stroke included
    assert abs(rect["x"] + rect["width"] / 2 - (box["x"] + 960 * ratio)) <= 1.5
    assert abs(rect["y"] + rect["height"] / 2 - (box["y"] + 540 * ratio)) <= 1.5
    assert abs(rect["width"] - 120 * ratio) <= 3
    targets = page.text_content('[data-block="targets"]')
    assert "the OK button" in targets and "cache" in targets and "hit" in targets
    assert "already a screen point" in page.text_content('[data-block="conversion"]')
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert "re-grounded" in page.text_content('[data-block="replay"]')
    page.keyboard.press("End")
    assert "process died" in page.text_content('[data-block="interrupted"]')


def test_a_500_step_run_makes_a_small_page_that_loads(opened: Any, tmp_path: Path) -> None:
    answers = [
        call({"action": "left_click", "coordinate": [10 + i % 290, 10 + i % 150]})
        for i in range(499)
    ] + [call({"action": "terminate", "status": "success"})]
    screen = ImageScreen(Image.new("RGB", (320, 180), (30, 60, 90)))  # a 308x168 frame
    page_path = record(tmp_path / "run", answers, screen, max_steps=500, loop_limit=0)
    size = page_path.stat().st_size
    assert size < 1_000_000, size
    steps_jsonl = (tmp_path / "run" / "steps.jsonl").stat().st_size
    assert size * 10 < steps_jsonl  # the repeated prompts are stored once
    view = opened(page_path)
    page = view.page
    assert page.text_content("#step-count") == "500"
    assert page.locator("#filmstrip button.thumb").count() == 500
    page.keyboard.press("End")
    assert view.selected() == 499
    prompt = page.text_content('[data-block="prompt"]')
    assert "Step 499: " in prompt  # the task progress rebuilt from its shared prefix


def test_the_page_is_atomic_escaped_and_refuses_a_non_trajectory(
    run_page: Path, tmp_path: Path
) -> None:
    html = run_page.read_text(encoding="utf-8")
    data = re.search(r'id="trajectory-data">(.*?)</script>', html, re.DOTALL)
    assert data is not None and "<" not in data.group(1)
    assert (
        json.loads(data.group(1))["texts"].count(
            load_trajectory(run_page.parent).steps[0].prompt[0].content[0]
        )
        == 1
    )  # the system prompt once
    assert not list(run_page.parent.glob("*.tmp"))
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", html)
    with pytest.raises(ConfigurationError, match="not a trajectory"):
        write_viewer(tmp_path)
