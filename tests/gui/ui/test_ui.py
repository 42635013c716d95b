"""The web UI (``python -m agent.ui``) driven in headless Chromium, started the way a user does.

The server runs as a subprocess on a free port of 127.0.0.1, offline and single-threaded, with
no ``DISPLAY`` (so "Capture a monitor" has nothing to capture, and a run can only use its own
private display). Its runs folder holds a run recorded here with the scripted model and a folder
whose meta.json is broken. The Ground tab grounds "Save" with the OCR grounder on the bundled
screenshot ``tasks/screenshots/preferences.png``; where the Save button really is comes from the
app's own report of its layout (``preferences.layout.json``, written when the screenshot was
taken), not from any grounder. The drawn answer is fetched from the page and compared with the
uploaded picture pixel by pixel.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageChops

from actions.executor import DryRunExecutor
from agent.loop import Agent
from agent.models.scripted import ScriptedBackend
from agent.screen.capture import ImageScreen
from agent.styles.qwen25vl import Qwen25VLComputerUse
from tests.gui.conftest import ROOT, missing_tool

pytestmark = [pytest.mark.gui, pytest.mark.browser]

SCREENSHOT = ROOT / "tasks" / "screenshots" / "preferences.png"
LAYOUT = ROOT / "tasks" / "screenshots" / "preferences.layout.json"
START_TIMEOUT_S = 120
RUN_TIMEOUT_S = 180
NO_TRACEBACK = ("Traceback", 'File "', "Exception:")


@dataclass
class Server:
    url: str
    port: int
    pid: int
    runs: Path
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def record_scripted_run(out: Path) -> None:
    """A finished run of two steps on the bundled screenshot (scripted answers, dry run)."""
    click = {
        "name": "computer_use",
        "arguments": {"action": "left_click", "coordinate": [316, 359]},
    }
    done = {"name": "computer_use", "arguments": {"action": "terminate", "status": "success"}}
    script = [f"<tool_call>\n{json.dumps(a)}\n</tool_call>" for a in (click, done)]
    with Image.open(SCREENSHOT) as image:
        screen = ImageScreen(image)
    agent = Agent(ScriptedBackend(script), Qwen25VLComputerUse(), DryRunExecutor(), screen, out=out)
    assert agent.run("Click the Save button").status == "done"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import importlib.util

    if importlib.util.find_spec("gradio") is None:
        missing_tool("gradio is not installed (pip install -e '.[ui]')")
    folder = tmp_path_factory.mktemp("ui")
    runs = folder / "runs"
    record_scripted_run(runs / "scripted-run")
    (runs / "broken").mkdir()
    (runs / "broken" / "meta.json").write_text("{", encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    log = folder / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent.ui", "--port", str(port), "--runs", str(runs)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answers(url):
            if proc.poll() is not None:
                pytest.fail(f"the UI exited with {proc.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the UI did not answer within {START_TIMEOUT_S} s:\n{log.read_text()}")
            time.sleep(0.2)
        yield Server(url, port, proc.pid, runs, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    opened = browser.new_page(viewport={"width": 1400, "height": 1100})
    opened.set_default_timeout(60_000)
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto(server.url)
    opened.wait_for_selector("#ground-input")
    yield opened
    opened.close()
    assert errors == []


def text_of(page: Any, elem_id: str) -> str:
    """The value of a Gradio textbox, found by its elem_id."""
    value: str = page.locator(f"#{elem_id} textarea, #{elem_id} input").first.input_value()
    return value


def ground(page: Any, instruction: str, upload: bool = True) -> None:
    if upload:
        page.locator("#ground-input input[type=file]").set_input_files(str(SCREENSHOT))
        page.wait_for_selector("#ground-input img")
    page.locator("#ground-backend").get_by_label("ocr", exact=True).check()
    page.locator("#ground-instruction textarea, #ground-instruction input").first.fill(instruction)
    page.click("#ground-button")


def wait_for_text(page: Any, elem_id: str) -> str:
    selector = f"#{elem_id} textarea, #{elem_id} input"
    page.wait_for_function(
        "(s) => { const e = document.querySelector(s); return e && e.value.length > 0 }",
        arg=selector,
    )
    return text_of(page, elem_id)


def assert_no_traceback(page: Any) -> None:
    body = page.locator("body").inner_text()
    for marker in NO_TRACEBACK:
        assert marker not in body, body


def save_button() -> tuple[int, int, int, int]:
    """The Save button's box (left, top, right, bottom), as the app reported its layout."""
    x, y, w, h = json.loads(LAYOUT.read_text(encoding="utf-8"))["widgets"]["save"]
    return x, y, x + w, y + h


def test_ground_tab_draws_the_ocr_answer_on_the_save_button(page: Any, server: Server) -> None:
    ground(page, "Save")
    result = json.loads(wait_for_text(page, "ground-result"))
    left, top, right, bottom = save_button()
    x, y = result["point"]
    assert left <= x < right and top <= y < bottom, (result["point"], save_button())
    bx1, by1, bx2, by2 = result["box"]
    assert left <= bx1 < bx2 <= right and top <= by1 < by2 <= bottom
    assert result["image"] == [1280, 800] and result["frame"] == [1280, 800]
    assert result["grounder"] == "rapidocr"
    assert "Save" in text_of(page, "ground-raw")
    assert "1280x800" in text_of(page, "ground-frame")
    assert f"image pixel ({x}, {y})" in text_of(page, "ground-conversion")

    page.wait_for_selector("#ground-image img")
    source = page.locator("#ground-image img").get_attribute("src")
    fetched = page.request.get(source if source.startswith("http") else server.url + source)
    assert fetched.ok
    drawn = Image.open(BytesIO(fetched.body())).convert("RGB")
    with Image.open(SCREENSHOT) as opened:
        original = opened.convert("RGB")
    assert drawn.size == original.size
    near = (x - 20, y - 20, x + 21, y + 21)
    before, after = np.asarray(original.crop(near), int), np.asarray(drawn.crop(near), int)
    assert (np.abs(after - before).max(axis=2) > 40).sum() >= 40  # the crosshair and circle
    red = (after[..., 0] > 200) & (after[..., 1] < 60) & (after[..., 2] < 60)
    assert red.sum() >= 20
    far = (700, 500, 1200, 780)  # nothing was drawn far from the answer
    assert ImageChops.difference(drawn.crop(far), original.crop(far)).getbbox() is None
    assert_no_traceback(page)
    page.screenshot(path=str(server.log.with_name("ground.png")), full_page=True)


@pytest.mark.model
def test_the_sample_screenshot_grounds_without_a_display_or_upload(page: Any) -> None:
    """The Ground tab's sample is the bundled capture (package data): OCR finds Save on it."""
    page.click("#ground-sample")
    page.wait_for_selector("#ground-input img")
    ground(page, "Save", upload=False)
    result = json.loads(wait_for_text(page, "ground-result"))
    left, top, right, bottom = save_button()
    x, y = result["point"]
    assert left <= x < right and top <= y < bottom, (result["point"], save_button())
    assert result["image"] == [1280, 800]


def test_ground_tab_with_a_local_model_shows_the_resized_frame(
    page: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A checkpoint directory through the transformers backend (the tiny Qwen2.5-VL, scripted
    to click (316, 359) in the 1288x812 frame it sees): the point lands on Save in image
    pixels, the frame and the conversion are shown, and a second question reuses the model."""
    import importlib.util

    if importlib.util.find_spec("transformers") is None:
        missing_tool("transformers is not installed (pip install -e '.[local]')")
    from agent.testing.tiny_qwen import build_tiny_qwen25vl

    call = {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [316, 359]}}
    checkpoint = build_tiny_qwen25vl(
        tmp_path_factory.mktemp("tiny") / "qwen",
        answer=f"<tool_call>\n{json.dumps(call)}\n</tool_call>",
    )
    page.locator("#ground-input input[type=file]").set_input_files(str(SCREENSHOT))
    page.wait_for_selector("#ground-input img")
    page.locator("#ground-backend").get_by_label("transformers", exact=True).check()
    page.locator("#ground-model textarea, #ground-model input").first.fill(str(checkpoint))
    for instruction in ("Save", "the Save button"):
        field = page.locator("#ground-instruction textarea, #ground-instruction input").first
        field.fill(instruction)
        page.click("#ground-button")
        page.wait_for_function(
            "(i) => { const e = document.querySelector('#ground-result textarea');"
            " return e && e.value.includes(JSON.stringify(i)) }",
            arg=instruction,
        )
        result = json.loads(text_of(page, "ground-result"))
        left, top, right, bottom = save_button()
        x, y = result["point"]
        assert left <= x < right and top <= y < bottom, result
        assert result["frame"] == [1288, 812] and result["model_point"][:2] == [316, 359]
        assert "1280x800 image -> 1288x812 resized pixels" in text_of(page, "ground-frame")
        conversion = text_of(page, "ground-conversion")
        assert "resized_px (316, 359) in the 1288x812 frame" in conversion
        assert f"image pixel ({x}, {y})" in conversion
    assert_no_traceback(page)


def test_server_binds_only_the_loopback_address(server: Server) -> None:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("reads the listening sockets from /proc/net (Linux)")
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, port = local.split(":")
            if state == "0A" and int(port, 16) == server.port:  # 0A: LISTEN
                listening.append(address)
    assert listening == ["0100007F"], listening  # 127.0.0.1, little-endian hex; nothing on ::
    assert f"http://127.0.0.1:{server.port}" in server.log.read_text()


def test_errors_are_shown_as_messages_not_tracebacks(page: Any) -> None:
    ground(page, "   ")
    assert "type an instruction" in wait_for_text(page, "ground-error")
    ground(page, "the Frobnicate button", upload=False)
    page.wait_for_function(
        "() => document.querySelector('#ground-error textarea').value.includes('Frobnicate')"
    )
    message = text_of(page, "ground-error")
    assert message.startswith('NotFound: no text matching "Frobnicate"') and "\n" not in message
    assert text_of(page, "ground-result") == ""
    page.click("#ground-capture")
    page.wait_for_function(
        "() => document.querySelector('#ground-error textarea').value.includes('no display')"
    )
    assert_no_traceback(page)


def test_run_tab_refuses_what_it_must_not_start(page: Any) -> None:
    page.get_by_role("tab", name="Run").click()
    page.locator("#run-source").get_by_label("an instruction (needs a model)").check()
    page.locator("#run-instruction textarea, #run-instruction input").first.fill("Save it")
    page.click("#run-start")
    refused = page.locator("#run-status [data-status=not-started]")
    refused.get_by_text("cannot follow an instruction", exact=False).wait_for()
    page.locator("#run-source").get_by_label("a bundled task").check()
    page.locator("#run-where").get_by_label("this machine's display", exact=False).check()
    page.wait_for_selector("#run-confirm")
    page.click("#run-start")
    refused.get_by_text("tick the confirmation first", exact=False).wait_for()
    assert text_of(page, "run-log") == ""
    assert_no_traceback(page)


def run_bundled_task(page: Any, stop_at: str | None = None) -> tuple[str, list[int]]:
    """Start save-preferences with OCR on a private display; the status and the line counts
    the log showed while it ran. ``stop_at``: press Stop once a line starts with it."""
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            missing_tool(f"{tool} is not installed (Debian: apt install xvfb xdotool)")
    page.get_by_role("tab", name="Run").click()
    page.locator("#run-task input").first.wait_for()
    page.click("#run-start")
    counts: list[int] = []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        lines = text_of(page, "run-log").splitlines()
        if not counts or counts[-1] != len(lines):
            counts.append(len(lines))
        if stop_at is not None and any(line.startswith(stop_at) for line in lines):
            page.click("#run-stop")
            stop_at = None
        state = page.locator("#run-status [data-status]")
        if state.count() and state.get_attribute("data-status") != "running":
            return state.inner_text(), counts
        time.sleep(0.1)
    pytest.fail(f"the run did not end within {RUN_TIMEOUT_S} s")


def test_run_tab_streams_the_bundled_task_to_done(page: Any, server: Server) -> None:
    status, counts = run_bundled_task(page)
    assert status.startswith("done"), status
    assert len([c for c in counts if c > 0]) >= 3, counts  # lines came in while it ran
    log = text_of(page, "run-log")
    assert "private display" in log and "click: target: Save" in log
    assert log.splitlines()[-1] == "done: every check passed"
    checks = page.locator("#run-checks").inner_text()
    assert checks.count("passed") == 2 and "FAILED" not in checks
    href = page.locator("#run-report-link").get_attribute("href")
    report = page.request.get(server.url.rstrip("/") + href)
    assert report.ok and report.headers["content-type"].startswith("text/html")
    assert "trajectory-data" in report.text()
    page.screenshot(path=str(server.log.with_name("run.png")), full_page=True)


def test_stop_ends_the_run_before_its_next_action(page: Any) -> None:
    status, _ = run_bundled_task(page, stop_at="private display")
    assert status.startswith("aborted"), status
    assert "stop file" in status
    assert "click: target: Save" not in text_of(page, "run-log")


def test_trajectories_tab_lists_runs_and_opens_the_viewer(page: Any, server: Server) -> None:
    page.get_by_role("tab", name="Trajectories").click()
    page.click("#runs-refresh")
    table = page.locator("#runs-table")
    table.get_by_text("scripted-run").wait_for()
    text = table.inner_text()
    assert "unreadable" in text and "Click the Save button" in text
    page.locator("#runs-pick input").first.click()
    page.get_by_role("option", name="scripted-run").click()
    page.click("#runs-open")
    page.wait_for_selector("#runs-viewer iframe")
    viewer = page.frame_locator("#runs-viewer iframe")
    assert viewer.locator("#run-status").inner_text() == "done"
    viewer.locator("#filmstrip img").first.wait_for()
    assert viewer.locator("#filmstrip button.thumb").count() == 2
    assert (server.runs / "scripted-run" / "index.html").is_file()
    page.screenshot(path=str(server.log.with_name("trajectories.png")), full_page=True)


def test_the_ui_module_imports_without_gradio_and_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check = "import sys, agent.ui.app; assert 'gradio' not in sys.modules, 'gradio imported'"
    done = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    from agent.errors import ConfigurationError
    from agent.ui.app import build_app, main

    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio now raises ImportError
    with pytest.raises(ConfigurationError, match=r'pip install "gui-agent\[ui\]"'):
        build_app()
    assert main(["--port", "1"]) == 2
    assert capsys.readouterr().err.strip() == (
        'gui-agent ui: error: the web UI needs the ui extra: pip install "gui-agent[ui]"'
    )
