"""A desktop handed to the library: ``Agent``, ``Desktop`` and ``replay`` take its screen and
executor and record it in the trajectory's meta (never a password); a task that launches an app
is refused on a desktop that cannot launch one; the command line's desktop errors are one line,
exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from actions.executor import DryRunExecutor
from agent.cli.main import main
from agent.desktops.base import DesktopConnection, DesktopSpec
from agent.errors import ConfigurationError
from agent.grounding.ocr import OCRGrounder
from agent.loop import Agent
from agent.models.scripted import ScriptedBackend
from agent.runs.replay import replay
from agent.screen.capture import ImageScreen
from agent.scripts.desktop import Desktop
from agent.scripts.task_file import load_task
from agent.scripts.task_runner import check_launchable
from agent.styles.qwen25vl import Qwen25VLComputerUse
from agent.trajectory import SCHEMA_VERSION, load_trajectory

UNSET = "GUI_AGENT_TEST_SURELY_UNSET_VARIABLE"


class GuestDesktop(DesktopConnection):
    """A desktop that shows a picture and acts nowhere, named like a VNC guest."""

    can_launch = False

    def __init__(self) -> None:
        image = Image.new("RGB", (1280, 800), (30, 30, 30))
        ImageDraw.Draw(image).rectangle((600, 380, 700, 420), fill=(220, 220, 220))
        spec = DesktopSpec.parse("vnc://guest.example:5901")
        super().__init__(spec, ImageScreen(image), DryRunExecutor())
        self.closed = 0

    def _close_parts(self) -> None:
        self.closed += 1


def call(args: dict[str, object]) -> str:
    return f"<tool_call>\n{json.dumps({'name': 'computer_use', 'arguments': args})}\n</tool_call>"


def scripted() -> ScriptedBackend:
    return ScriptedBackend(
        [
            call({"action": "left_click", "coordinate": [650, 400]}),
            call({"action": "terminate", "status": "success"}),
        ],
        max_pixels=1280 * 28 * 28,
    )


EXPECTED = {
    "kind": "vnc",
    "name": "vnc://guest.example:5901",
    "width": 1280,
    "height": 800,
    "host": "guest.example",
    "port": 5901,
}


def test_an_agent_on_a_desktop_acts_there_and_records_it(tmp_path: Path) -> None:
    desktop = GuestDesktop()
    agent = Agent(scripted(), Qwen25VLComputerUse(), desktop=desktop, out=tmp_path / "run")
    assert agent.run("Press the button").status == "done"
    assert isinstance(desktop.executor, DryRunExecutor) and len(desktop.executor.calls) == 2
    meta = load_trajectory(tmp_path / "run").meta
    assert meta.schema_version == SCHEMA_VERSION and meta.desktop == EXPECTED
    assert desktop.closed == 0  # the caller closes it


def test_a_screen_and_executor_without_a_desktop_record_none(tmp_path: Path) -> None:
    desktop = GuestDesktop()
    agent = Agent(scripted(), Qwen25VLComputerUse(), desktop.executor, desktop.screen,
                  out=tmp_path / "run")  # fmt: skip
    agent.run("Press the button")
    assert load_trajectory(tmp_path / "run").meta.desktop is None


def test_a_desktop_and_a_screen_or_neither_is_a_configuration_error() -> None:
    desktop = GuestDesktop()
    style = Qwen25VLComputerUse()
    with pytest.raises(ConfigurationError, match="not both"):
        Agent(scripted(), style, desktop.executor, desktop=desktop)
    with pytest.raises(ConfigurationError, match="not both"):
        Agent(scripted(), style, screen=desktop.screen, desktop=desktop)
    with pytest.raises(ConfigurationError, match="needs a desktop"):
        Agent(scripted(), style)
    with pytest.raises(ConfigurationError, match="needs a desktop"):
        Agent(scripted(), style, desktop.executor)
    with pytest.raises(ConfigurationError, match="not both"):
        Desktop(OCRGrounder(), screen=desktop.screen, desktop=desktop)


def test_a_script_and_a_replay_on_a_desktop_record_it(tmp_path: Path) -> None:
    desktop = GuestDesktop()
    with Desktop(OCRGrounder(), desktop=desktop, out=tmp_path / "script") as script:
        script.press("ctrl", "s")
    assert script.screen is desktop.screen
    assert load_trajectory(tmp_path / "script").meta.desktop == EXPECTED
    assert desktop.closed == 0

    Agent(scripted(), Qwen25VLComputerUse(), desktop=desktop, out=tmp_path / "run").run("Press")
    again = GuestDesktop()
    result = replay(tmp_path / "run", desktop=again, out=tmp_path / "replay", settle_timeout_s=1)
    assert result.status == "done", result.message
    assert load_trajectory(tmp_path / "replay").meta.desktop == EXPECTED
    assert isinstance(again.executor, DryRunExecutor) and len(again.executor.calls) == 2
    with pytest.raises(ConfigurationError, match="not both"):
        replay(tmp_path / "run", desktop=again, screen=again.screen)
    with pytest.raises(ConfigurationError, match="needs a desktop"):
        replay(tmp_path / "run")


def test_a_trajectory_without_a_desktop_still_loads(tmp_path: Path) -> None:
    desktop = GuestDesktop()
    Agent(scripted(), Qwen25VLComputerUse(), desktop=desktop, out=tmp_path / "run").run("Press")
    meta_path = tmp_path / "run" / "meta.json"
    meta = json.loads(meta_path.read_text())
    del meta["desktop"]
    meta["schema_version"] = 3
    meta_path.write_text(json.dumps(meta))
    loaded = load_trajectory(tmp_path / "run")
    assert loaded.meta.desktop is None and len(loaded.steps) == 2


def test_a_task_that_launches_an_app_is_refused_where_apps_cannot_start(tmp_path: Path) -> None:
    task = tmp_path / "task.yaml"
    task.write_text(
        'name: with-app\nlaunch: ["${python}", "-c", "pass"]\nsteps:\n  - press: enter\n'
    )
    with pytest.raises(ConfigurationError) as raised:
        check_launchable(load_task(task), GuestDesktop())
    message = str(raised.value)
    assert "\n" not in message and "vnc://guest.example:5901" in message
    assert "start the app on the guest" in message
    bare = tmp_path / "bare.yaml"
    bare.write_text("name: without-app\nsteps:\n  - press: enter\n")
    check_launchable(load_task(bare), GuestDesktop())  # nothing to launch: fine


@pytest.mark.parametrize(
    "args",
    [
        ["run", "Click OK", "--model", "m"],
        ["run", "--task", "save-preferences", "--backend", "ocr"],
        ["replay", "RECORDING"],
        ["demo", "--backend", "ocr"],
    ],
)
def test_an_unset_password_variable_is_one_line_naming_it(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv(UNSET, raising=False)
    monkeypatch.chdir(tmp_path)
    if "RECORDING" in args:
        Agent(scripted(), Qwen25VLComputerUse(), desktop=GuestDesktop(),
              out=tmp_path / "run").run("Press")  # fmt: skip
        args = [str(tmp_path / "run") if a == "RECORDING" else a for a in args]
    code = main([*args, "--desktop", "vnc://127.0.0.1:1", "--vnc-password-env", UNSET])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and UNSET in err and err.startswith("gui-agent: error: "), err


def test_an_unknown_desktop_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "Click OK", "--model", "m", "--desktop", "rdp://guest"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown desktop 'rdp://guest'" in err, err


def test_the_web_ui_refuses_the_local_desktop_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from agent.ui.model_choice import ModelCache
    from agent.ui.run_jobs import RunManager

    with pytest.raises(ConfigurationError, match="confirmation"):
        RunManager(Path("runs"), ModelCache(), desktop="local")
    assert RunManager(Path("runs"), ModelCache(), desktop="private:640x480").desktop == (
        DesktopSpec("private", (640, 480))
    )
