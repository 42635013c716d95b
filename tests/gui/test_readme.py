"""The README's example runs as written (with the tiny model standing in for the Hub id), and
.ci/run runs the README's test command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.screen.xvfb import wait_until
from agent.testing.tiny_qwen import build_tiny_qwen25vl
from agent.testing.tk_app import TkApp
from agent.trajectory import load_trajectory

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_ci_runs_the_readme_test_command() -> None:
    install, test = blocks("bash")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert len(blocks("bash")) == 2
    steps = [s.strip() for s in test.strip().split("&&")]
    for step in steps:
        if " install -y " in step:  # same packages; CI adds -qq
            packages = step.split(" -y ")[1]
            assert f"install -y -qq {packages}" in ci, step
        else:
            assert step.replace("sudo ", "$SUDO ") in ci, step
    assert "torch==2.13.0" in test and "pytest" in steps[-1]
    assert install.strip().endswith("&& gui-agent demo") and "torch" not in install


@pytest.mark.gui
@pytest.mark.model
def test_the_python_example_runs(virtual_display: Any, tmp_path: Path) -> None:
    example = blocks("python")[0]
    display = virtual_display(1920, 1080)
    app = TkApp.launch(display.env, tmp_path / "app.json", x=1300, y=800)
    try:
        cx, cy = app.center("ok")
        # the example caps at 1280*28*28: 1920x1080 -> 1316x728
        point = [round(cx * 1316 / 1920), round(cy * 728 / 1080)]
        answer = "\n".join(
            "<tool_call>\n"
            + json.dumps({"name": "computer_use", "arguments": a})
            + "\n</tool_call>"
            for a in (
                {"action": "left_click", "coordinate": point},
                {"action": "terminate", "status": "success"},
            )
        )
        model = build_tiny_qwen25vl(tmp_path / "model", answer=answer)
        code = example.replace("Qwen/Qwen2.5-VL-3B-Instruct", str(model))
        env = {
            **display.env,
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(ROOT),
        }
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env=env,
            text=True,
            capture_output=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0].startswith("done 1 ")
        app.wait_for(lambda s: s["clicks"]["ok"] == 1, 10, "the example's click")
        assert load_trajectory(tmp_path / "runs" / "ok-button").meta.status == "done"
    finally:
        app.close()


@pytest.mark.gui
def test_the_script_example_the_task_file_and_the_replay_example_run(
    virtual_display: Any, tmp_path: Path
) -> None:
    from agent.scripts.task_file import load_task

    _, script, replay = blocks("python")
    (task,) = blocks("yaml")
    (tmp_path / "task.yaml").write_text(task, encoding="utf-8")
    assert load_task(tmp_path / "task.yaml").name == "save-preferences"  # it validates
    display = virtual_display(1280, 800)
    env = {**display.env, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}

    def example(code: str) -> str:
        """Start the app afresh, run ``code`` against it, return what it printed."""
        (tmp_path / "prefs.json").unlink(missing_ok=True)
        ready = tmp_path / "app.json"
        ready.unlink(missing_ok=True)
        app = subprocess.Popen(
            [sys.executable, str(ROOT / "tasks" / "apps" / "preferences.py"), "--out",
             str(tmp_path / "prefs.json"), "--state", str(ready)],
            env=display.env,
        )  # fmt: skip
        try:
            wait_until(lambda: ready.exists() and json.loads(ready.read_text())["ready"], 10,
                       what="the app drawn")  # fmt: skip
            done = subprocess.run(
                [sys.executable, "-c", code], cwd=tmp_path, env=env, text=True,
                capture_output=True, timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            assert json.loads((tmp_path / "prefs.json").read_text())["display_name"] == "Ada"
            return done.stdout
        finally:
            app.terminate()
            app.wait(10)

    assert example(script).startswith("ocr visible: matched")
    assert load_trajectory(tmp_path / "runs" / "prefs").meta.status == "done"
    assert (tmp_path / "prefs.cache.json").is_file()

    printed = example(replay).splitlines()  # the recorded script again, with no grounder
    assert printed[0] == "done {'matched': 2, 'replayed': 1}", printed  # clicks; the typing
    assert printed[1] == str(Path("runs/prefs-replay/index.html"))
    replayed = load_trajectory(tmp_path / "runs" / "prefs-replay")
    assert replayed.meta.status == "done" and replayed.meta.model == "none"


def test_the_evaluation_example_reproduces_the_readme_baseline(tmp_path: Path) -> None:
    section = README.split("## Evaluating grounding, ScreenSpot-style", 1)[1]
    first = re.search(r"```\n(gui-agent eval [^\n]*--backend ocr)\n", section)
    assert first is not None
    command = first.group(1).split()[1:]
    out = command.index("--out")
    command[out + 1] = str(tmp_path / "eval-ocr")
    done = subprocess.run(
        [sys.executable, "-m", "agent.cli", *command], cwd=tmp_path, text=True, capture_output=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
             "HOME": str(tmp_path)}, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "eval-ocr" / "summary.json").read_text())
    text, icon = summary["by_ui_type"]["text"], summary["by_ui_type"]["icon"]
    stated = re.search(
        r"text targets ([\d.]+)% \((\d+)/(\d+)\), icon targets\s+([\d.]+)% \((\d+)/(\d+)", section
    )
    assert stated is not None
    assert (text["correct"], text["n"]) == (int(stated.group(2)), int(stated.group(3)))
    assert (icon["correct"], icon["n"]) == (int(stated.group(5)), int(stated.group(6)))
    assert f"micro {100 * summary['accuracy']['micro']:.1f}%" in " ".join(section.split())
    assert (tmp_path / "eval-ocr" / "report.html").is_file()
