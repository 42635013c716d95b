"""The shipped task files, run for real on a private Xvfb with the bundled apps.

Through the OCR grounder with ``gui-agent run --task`` as a user runs them: the first run asks
the grounder and writes the cache beside the task, the second hits it for every locate, a moved
window invalidates every entry and the steps still land; the password of the sign-in task is
written nowhere; a missing target ends with NotFound and a complete trajectory. Through the tiny
Qwen2.5-VL (answers scripted from the apps' own state) every task, the invoice query included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from actions.executor import PyAutoGUIExecutor
from agent.chat import Message
from agent.geometry import Monitor, Point, to_model
from agent.models.transformers_backend import TransformersBackend
from agent.screen.capture import Screen
from agent.scripts.desktop import Desktop
from agent.scripts.location_cache import LocationCache
from agent.scripts.task_file import load_task
from agent.scripts.task_runner import run_task
from agent.styles.registry import make_style
from agent.testing.tiny_qwen import build_tiny_qwen25vl
from agent.testing.tiny_script import ScriptedTinyBackend
from agent.trajectory import load_trajectory

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[3]
TASKS = ROOT / "tasks"
SIZE = (1280, 800)
PASSWORD = "pw-Zq81-secret"


def targets(out: Path) -> list[Any]:
    return [t for s in load_trajectory(out).steps for t in s.targets if t.key]


def test_save_preferences_with_ocr_then_from_the_cache_then_moved(
    gui_agent: Any, virtual_display: Any, tmp_path: Path
) -> None:
    display = virtual_display(*SIZE)
    task = tmp_path / "save-preferences.yaml"
    text = (TASKS / "save-preferences.yaml").read_text().replace("${task_dir}", str(TASKS))
    task.write_text(text)  # a copy, so that its cache goes beside it here
    cache = tmp_path / "save-preferences.cache.json"
    common = ("--task", str(task), "--backend", "ocr", "--settle", "0.1")

    first = gui_agent(display, "run", *common, "--out", str(tmp_path / "first"))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "done: every check passed" in first.stdout
    prefs = json.loads((tmp_path / "first" / "prefs.json").read_text())
    assert prefs["display_name"] == "Ada"
    assert [(t.located_by, t.cache) for t in targets(tmp_path / "first")] == [
        ("ocr", "miss: no entry"),
        ("ocr", "miss: no entry"),
    ]
    stored = cache.read_bytes()

    second = gui_agent(
        display, "run", *common, "--out", str(tmp_path / "second"), "--var", "user=Grace"
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert [t.cache for t in targets(tmp_path / "second")] == ["hit", "hit"]
    assert json.loads((tmp_path / "second" / "prefs.json").read_text())["display_name"] == "Grace"
    assert cache.read_bytes() == stored

    moved = gui_agent(
        display,
        "run",
        *common,
        "--out",
        str(tmp_path / "moved"),
        "--var",
        "x=600",
        "--var",
        "y=400",
    )
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert all(t.cache.startswith("miss: patch not found") for t in targets(tmp_path / "moved"))
    assert json.loads((tmp_path / "moved" / "prefs.json").read_text())["display_name"] == "Ada"
    entries = LocationCache(cache).entries
    assert len(entries) == 2 and cache.read_bytes() != stored
    assert all(e.point[0] > 600 and e.point[1] > 400 for e in entries)


def test_a_bundled_task_runs_by_name_from_any_folder(
    gui_agent: Any, virtual_display: Any, tmp_path: Path
) -> None:
    """``--task NAME`` runs the bundled task (package data) from a folder with no tasks/ in it;
    its cache goes to that folder, never into the package; an unknown name is one line, exit 2."""
    display = virtual_display(*SIZE)
    here = tmp_path / "elsewhere"
    here.mkdir()
    common = ("run", "--task", "save-preferences", "--backend", "ocr", "--settle", "0.1")
    done = gui_agent(display, *common, "--out", str(tmp_path / "run"), cwd=here)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / "run" / "prefs.json").read_text())["display_name"] == "Ada"
    assert (here / "save-preferences.cache.json").is_file()
    assert not (TASKS / "save-preferences.cache.json").exists()
    recorded = load_trajectory(tmp_path / "run").meta.settings["task"]
    assert Path(recorded) == TASKS / "save-preferences.yaml"

    unknown = gui_agent(display, "run", "--task", "save-prefs", "--backend", "ocr", cwd=here)
    assert unknown.returncode == 2
    (line,) = unknown.stderr.strip().splitlines()
    assert "no task file save-prefs" in line and "save-preferences" in line


def test_sign_in_types_the_password_and_writes_it_nowhere(
    gui_agent: Any, virtual_display: Any, tmp_path: Path
) -> None:
    display = virtual_display(*SIZE)
    out = tmp_path / "run"
    done = gui_agent(
        display,
        "run",
        "--task",
        str(TASKS / "sign-in.yaml"),
        "--backend",
        "ocr",
        "--cache",
        str(tmp_path / "cache.json"),
        "--out",
        str(out),
        "--settle",
        "0.1",
        env={"APP_PASSWORD": PASSWORD},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    typed = [a for s in load_trajectory(out).steps for a in s.executed if a.action == "type"]
    assert [a.text for a in typed] == ["ada", "{APP_PASSWORD}"]  # type: ignore[union-attr]
    for path in [tmp_path / "cache.json", *out.iterdir()]:
        assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_target_that_is_not_on_the_screen(
    gui_agent: Any, virtual_display: Any, tmp_path: Path
) -> None:
    display = virtual_display(*SIZE)
    task = tmp_path / "missing.yaml"
    text = (TASKS / "save-preferences.yaml").read_text().replace("click: Save", "click: Delete")
    task.write_text(text.replace("${task_dir}", str(TASKS)))
    out = tmp_path / "run"
    done = gui_agent(display, "run", "--task", str(task), "--backend", "ocr", "--out", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'NotFound: click "Delete"' in done.stdout and "(screenshot " in done.stdout
    trajectory = load_trajectory(out)
    assert trajectory.meta.status == "failed" and not trajectory.truncated
    assert (
        trajectory.steps[-1].error is not None and "no text matching" in trajectory.steps[-1].error
    )


def test_a_query_task_needs_a_model(gui_agent: Any, virtual_display: Any, tmp_path: Path) -> None:
    display = virtual_display(*SIZE)
    done = gui_agent(
        display, "run", "--task", str(TASKS / "pay-invoice.yaml"), "--backend", "ocr",
        "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert done.returncode == 2 and "only locates" in done.stderr, done.stderr


# -- the tiny model ---------------------------------------------------------------------------

WIDGETS = {
    "Display name": "display_name",
    "Save": "save",
    "Username": "username",
    "Password": "password",
    "Sign in": "sign_in",
    "Mark as paid": "mark_paid",
}
INVOICE = {"number": "INV-2041", "customer": "Ada Lovelace", "total": 76.5}


class Oracle:
    """Answers like a good model, from the app's state file: where a widget is, whether a text
    is shown (the status line), what the invoice says."""

    def __init__(self, state: Path, frame: Any) -> None:
        self.state, self.frame = state, frame

    def __call__(self, messages: Sequence[Message]) -> str:
        prompt = messages[-1].text
        state = json.loads(self.state.read_text())
        if query := re.search(r"The user query: (.*)", prompt):
            asked = query.group(1).strip()  # a widget, or the input field a label names
            asked = re.sub(r'^the input field labelled "(.*)"$', r"\1", asked)
            x, y, w, h = state["widgets"][WIDGETS[asked]]
            seen = to_model(
                Point.screen(x + w // 2, y + h // 2), self.frame, Monitor(1, 0, 0, *SIZE)
            )
            body = {"name": "computer_use", "arguments": {
                "action": "left_click", "coordinate": [round(seen.x), round(seen.y)]}}  # fmt: skip
            return f"<tool_call>\n{json.dumps(body)}\n</tool_call>"
        if visible := re.search(r'visible on the screen: "(.*)"\?', prompt):
            shown = visible.group(1) in state["status"]
            return json.dumps({"visible": shown, "reason": f"the status says {state['status']!r}"})
        assert "JSON schema" in prompt, prompt
        return json.dumps(INVOICE)


@pytest.mark.model
@pytest.mark.parametrize("name", ["save-preferences", "sign-in", "pay-invoice"])
def test_each_task_with_the_tiny_model(
    virtual_display: Any,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    display = virtual_display(*SIZE)
    monkeypatch.setenv("DISPLAY", display.name)  # the task's app starts on it
    monkeypatch.setenv("APP_PASSWORD", PASSWORD)
    checkpoint = build_tiny_qwen25vl(tmp_path_factory.mktemp("model") / "tiny")
    model = TransformersBackend(str(checkpoint), max_pixels=1280 * 28 * 28, device="cpu")
    task = load_task(TASKS / f"{name}.yaml")
    state = tmp_path / "app.json"
    assert task.launch is not None
    launch = task.launch.model_copy(
        update={"command": [*task.launch.command, "--state", str(state)]}
    )
    task = task.model_copy(update={"launch": launch})
    tiny = ScriptedTinyBackend(model, checkpoint, Oracle(state, model.frame_for(*SIZE)))
    out = tmp_path / "run"
    with (
        Screen(display=display.name) as screen,
        PyAutoGUIExecutor(settle_s=0.1, display=display.name) as executor,
    ):

        def desktop(directory: Path) -> Desktop:
            return Desktop(
                tiny,
                make_style("qwen25vl"),
                screen=screen,
                executor=executor,
                out=directory,
                cache=tmp_path / "cache.json",
                name=task.name,
            )

        result = run_task(task, desktop, out, screen=screen)
    assert result.status == "done", result.message
    assert all(c.passed for c in result.checks) and result.checks
    assert tiny.calls >= 3
    trajectory = load_trajectory(out)
    assert trajectory.meta.status == "done"
    assert all(t.located_by == "model:" + tiny.model for t in targets(out))
    if name == "sign-in":
        for path in [tmp_path / "cache.json", *out.iterdir()]:
            assert PASSWORD.encode() not in path.read_bytes(), path
    if name == "pay-invoice":
        query = next(s for s in trajectory.steps if s.targets and s.targets[0].verb == "query")
        assert json.loads(query.targets[0].outcome or "") == INVOICE
