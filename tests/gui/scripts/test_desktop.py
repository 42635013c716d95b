"""Desktop scripts on a private Xvfb with the real Tk test app and the tiny Qwen2.5-VL.

The model is scripted to the right answer for whatever target the grounding prompt asks for
(read off the app's own geometry), through the real transformers path. One script runs four
times: first through the model (the cache is written), then from the cache (no model call), then
with the window moved (every stale entry is rejected, the model is asked again, the clicks still
land, the cache file is updated in place), and with a target the model cannot point at (NotFound
with the screenshot, a complete trajectory).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from actions.executor import PyAutoGUIExecutor
from agent.chat import Message
from agent.errors import NotFound
from agent.geometry import Monitor, Point, to_model
from agent.models.transformers_backend import TransformersBackend
from agent.screen.capture import Screen
from agent.scripts.desktop import Desktop
from agent.scripts.location_cache import LocationCache
from agent.styles.registry import make_style
from agent.testing.tiny_qwen import build_tiny_qwen25vl
from agent.testing.tiny_script import ScriptedTinyBackend
from agent.testing.tk_app import TkApp
from agent.trajectory import load_trajectory

pytestmark = [pytest.mark.gui, pytest.mark.model]

SIZE = (1280, 800)
MAX_PIXELS = 1280 * 28 * 28
TARGETS = {"the text field": "entry", "the OK button": "ok"}
SECRET = "hunter2-Xq9"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> tuple[TransformersBackend, Path]:
    checkpoint = build_tiny_qwen25vl(tmp_path_factory.mktemp("model") / "Qwen2.5-VL-tiny")
    return TransformersBackend(str(checkpoint), max_pixels=MAX_PIXELS, device="cpu"), checkpoint


def call(args: dict[str, Any]) -> str:
    body = json.dumps({"name": "computer_use", "arguments": args})
    return f"<tool_call>\n{body}\n</tool_call>"


class Oracle:
    """Answers a grounding prompt with the centre of the widget it asks for, in model pixels."""

    def __init__(self, app: TkApp, frame: Any) -> None:
        self.app, self.frame = app, frame
        self.asked: list[str] = []

    def __call__(self, messages: Sequence[Message]) -> str:
        query = re.search(r"The user query: (.*)", messages[-1].text)
        assert query is not None
        target = query.group(1).strip()
        self.asked.append(target)
        if target not in TARGETS:
            return "I cannot find that on the screen."
        cx, cy = self.app.center(TARGETS[target])
        seen = to_model(Point.screen(cx, cy), self.frame, Monitor(1, 0, 0, *SIZE))
        return call({"action": "left_click", "coordinate": [round(seen.x), round(seen.y)]})


@pytest.fixture
def desktop_run(
    virtual_display: Any, backend: tuple[TransformersBackend, Path], tmp_path: Path
) -> Iterator[Any]:
    display = virtual_display(*SIZE)
    apps: list[TkApp] = []
    model, checkpoint = backend

    def run(name: str, x: int, y: int, script: Any) -> tuple[TkApp, ScriptedTinyBackend, Path]:
        for old in apps:  # one window on the screen: the script's
            old.close()
        app = TkApp.launch(display.env, tmp_path / f"{name}.json", x=x, y=y)
        apps.append(app)
        oracle = Oracle(app, model.frame_for(*SIZE))
        tiny = ScriptedTinyBackend(model, checkpoint, oracle)
        out = tmp_path / name
        with (
            Screen(display=display.name) as screen,
            PyAutoGUIExecutor(settle_s=0.05, display=display.name) as executor,
        ):
            desktop = Desktop(
                tiny,
                make_style("qwen25vl"),
                screen=screen,
                executor=executor,
                out=out,
                cache=tmp_path / "script.cache.json",
                name=name,
            )
            with desktop:
                script(desktop)
        return app, tiny, out

    yield run
    for app in apps:
        app.close()


def fill_and_ok(desktop: Desktop) -> None:
    desktop.click("the text field")
    desktop.type(SECRET, secret=True)
    desktop.click("the OK button")


def landed(app: TkApp) -> None:
    state = app.wait_for(lambda s: s["clicks"]["ok"] == 1, 10, "OK clicked")
    assert state["entry_text"] == SECRET
    x, y, w, h = app.widget("ok")
    click = state["last_click"]
    assert x <= click["x_root"] < x + w and y <= click["y_root"] < y + h


def located(out: Path) -> list[Any]:
    return [t for s in load_trajectory(out).steps for t in s.targets if t.key]


def test_a_script_runs_from_the_model_then_from_the_cache_then_after_the_window_moved(
    desktop_run: Any, tmp_path: Path
) -> None:
    cache_file = tmp_path / "script.cache.json"

    app, tiny, out = desktop_run("first", 300, 200, fill_and_ok)
    landed(app)
    assert tiny.calls == 2
    first = located(out)
    assert [(t.located_by, t.cache) for t in first] == [
        ("model:" + tiny.model, "miss: no entry"),
        ("model:" + tiny.model, "miss: no entry"),
    ]
    entries = LocationCache(cache_file).entries
    assert [(e.key, e.occurrence) for e in entries] == [("the text field", 0), ("the OK button", 0)]
    ok_point = entries[1].point
    assert math.dist(ok_point, app.center("ok")) <= 2

    written = cache_file.read_bytes()
    app, tiny, out = desktop_run("second", 300, 200, fill_and_ok)
    landed(app)
    assert tiny.calls == 0  # every locate from the cache: no model call
    trajectory = load_trajectory(out)
    assert [t.cache for t in located(out)] == ["hit", "hit"]
    assert [s.source for s in trajectory.steps] == ["cache", "script", "cache"]
    assert trajectory.meta.status == "done"
    assert cache_file.read_bytes() == written  # hits rewrite nothing

    before = cache_file.read_bytes()
    app, tiny, out = desktop_run("moved", 520, 380, fill_and_ok)  # beyond the search radius
    landed(app)
    assert tiny.calls == 2
    misses = located(out)
    assert all(t.cache and t.cache.startswith("miss: patch not found near") for t in misses)
    after = LocationCache(cache_file).entries
    assert cache_file.read_bytes() != before
    assert [(e.key, e.occurrence) for e in after] == [("the text field", 0), ("the OK button", 0)]
    assert math.dist(after[1].point, app.center("ok")) <= 2

    written = [
        cache_file,
        *(p for d in ("first", "second", "moved") for p in (tmp_path / d).iterdir()),
    ]
    for path in written:  # the secret was typed (the app's own state shows it), recorded nowhere
        assert SECRET.encode() not in path.read_bytes(), path


def test_a_target_that_is_not_there_ends_with_not_found_and_a_complete_trajectory(
    desktop_run: Any,
) -> None:
    raised: list[NotFound] = []

    def script(desktop: Desktop) -> None:
        desktop.click("the OK button")
        try:
            desktop.click("the Delete button")
        except NotFound as exc:
            raised.append(exc)
            raise

    with pytest.raises(NotFound, match="the Delete button"):
        desktop_run("missing", 300, 200, script)
    exc = raised[0]
    assert exc.screenshot is not None and exc.screenshot.is_file()
    trajectory = load_trajectory(exc.screenshot.parent)
    assert trajectory.meta.status == "failed" and "NotFound" in (trajectory.meta.message or "")
    assert not trajectory.truncated and not any(s.interrupted for s in trajectory.steps)
    steps = trajectory.steps
    assert steps[0].executed and steps[0].error is None  # the OK click is recorded
    assert len(steps) == 3  # the missing target: asked, fed back, asked again (max_retries=1)
    assert all(s.error and s.error.startswith("ParseError") for s in steps[1:])
    assert all(s.raw_output == "I cannot find that on the screen." for s in steps[1:])
