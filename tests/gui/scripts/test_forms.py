"""Forms on real toolkits nobody here wrote, on a private Xvfb, through the OCR grounder.

GTK (zenity ``--forms``: entries, a password entry, a combo; yad ``--form``: checkboxes), a Qt
form of the tests' own (PyQt5 from Debian, Fusion style) and a Chromium page (labels beside and
above fields, a ``<select>``, a checkbox that starts checked). Each starts with the focus in
another field than the first one typed into, so text lands right only if the field beside the
label is clicked, never the label. The app's own output is compared exactly: zenity's and yad's
stdout, the Qt form's printed line, the page's summary (logged to Chromium's console). The
password typed into a password field is in no file of the run. Each test prints how long each
locate took (``pytest -s``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from actions.executor import PyAutoGUIExecutor
from agent.grounding.ocr import OCRGrounder
from agent.screen.capture import Screen
from agent.scripts.desktop import Desktop
from agent.scripts.task_runner import app_environment
from agent.trajectory import load_trajectory
from tests.gui.conftest import missing_tool

pytestmark = pytest.mark.gui

APPS = Path(__file__).resolve().parent / "form_apps"
SIZE = (1280, 800)
PASSWORD = "pw-Kx47-secret"
ENV = {"FORM_PASSWORD": PASSWORD}


def need(program: str, package: str) -> str:
    exe = shutil.which(program)
    if exe is None:
        missing_tool(f"{program} is not installed (Debian: apt install {package})")
    return exe


def locate_times(out: Path) -> list[str]:
    """``verb description: seconds`` for every step that looked for something."""
    lines = []
    for step in load_trajectory(out).steps:
        if step.targets and "locate" in step.timings:
            target = step.targets[0]
            seconds, how = step.timings["locate"], target.located_by or "-"
            lines.append(f"{target.verb} {target.description}: {seconds:.2f}s ({how})")
    return lines


def no_secret_in(*paths: Path) -> None:
    for path in paths:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            assert PASSWORD.encode() not in file.read_bytes(), file


def run_task_file(gui_agent: Any, display: Any, tmp_path: Path, text: str) -> Path:
    task = tmp_path / "form.yaml"
    task.write_text(text, encoding="utf-8")
    out = tmp_path / "run"
    done = gui_agent(
        display, "run", "--task", str(task), "--backend", "ocr", "--settle", "0.2",
        "--out", str(out), env=ENV,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "done: every check passed" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    no_secret_in(out, tmp_path / "form.cache.json")
    print("\n".join(locate_times(out)))
    return out


def wait_for_file(path: Path, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if text.strip():
            return text
        time.sleep(0.2)
    return ""


def test_a_zenity_form_through_the_task_runner(
    gui_agent: Any, virtual_display: Any, tmp_path: Path
) -> None:
    """The issue's bug: ``into: City`` while Name has the focus typed into Name ("AdaParis")."""
    need("zenity", "zenity")
    display = virtual_display(*SIZE)
    result = tmp_path / "zenity.txt"
    zenity = (
        "exec zenity --forms --title=Signup --text='Your details' --add-entry=Name "
        "--add-entry=City --add-password=Password --add-combo=Country "
        f"--combo-values='France|Spain|Italy' > {result} 2>/dev/null"
    )
    out = run_task_file(gui_agent, display, tmp_path, f"""\
name: zenity-form
launch: {{command: [sh, -c, "{zenity}"], wait_for: Country}}
steps:
  - type: {{text: Paris, into: City}}
  - type: {{text: Ada, into: Name}}
  - type: {{text: "${{env:FORM_PASSWORD}}", into: Password}}
  - select: {{option: Spain, in: Country}}
  - click: OK
check:
  - not_visible: Your details
""")  # fmt: skip
    assert wait_for_file(result) == f"Ada|Paris|{PASSWORD}|Spain\n"
    fields = [t for s in load_trajectory(out).steps for t in s.targets if t.verb == "type"]
    assert all(t.label_box and t.box and t.box[0] > t.label_box[2] for t in fields[:3])


def test_a_yad_form_fills_picks_and_sets_checkboxes(
    gui_agent: Any, virtual_display: Any, tmp_path: Path
) -> None:
    need("yad", "yad")
    display = virtual_display(*SIZE)
    result = tmp_path / "yad.txt"
    yad = (
        "exec yad --form --title=Prefs --field=Name '' --field=City Lyon "
        "--field=Country:CB 'France!Spain!Italy' --field=Newsletter:CHK TRUE "
        f"'--field=Accept terms:CHK' FALSE > {result} 2>/dev/null"
    )
    run_task_file(gui_agent, display, tmp_path, f"""\
name: yad-form
launch: {{command: [sh, -c, "{yad}"], wait_for: Country}}
steps:
  - fill: {{text: Paris, into: City}}
  - type: {{text: Ada, into: Name}}
  - select: {{option: Italy, in: Country}}
  - check: Newsletter
  - uncheck: Newsletter
  - check: Accept terms
  - check: Accept terms
  - click: OK
""")  # fmt: skip
    assert wait_for_file(result) == "Ada|Paris|Italy|FALSE|TRUE|\n"


def test_a_tk_form_with_an_option_menu(
    gui_agent: Any, virtual_display: Any, tmp_path: Path
) -> None:
    """Tk's own widgets: entries beside their labels (a click on a Tk label does not focus its
    entry), an OptionMenu (a button that opens a menu) and Checkbuttons."""
    display = virtual_display(*SIZE)
    result = tmp_path / "tk.txt"
    app = f"exec {sys.executable} {APPS / 'tk_form.py'} > {result} 2>/dev/null"
    run_task_file(gui_agent, display, tmp_path, f"""\
name: tk-form
launch: {{command: [sh, -c, "{app}"], wait_for: Country}}
steps:
  - type: {{text: Ada, into: Name}}
  - fill: {{text: Paris, into: City}}
  - select: {{option: Italy, in: Country}}
  - check: Newsletter
  - uncheck: Newsletter
  - check: Accept terms
  - click: OK
""")  # fmt: skip
    assert wait_for_file(result) == "Ada|Paris||Italy|False|True\n"


def test_a_qt_form_through_the_desktop_api(virtual_display: Any, tmp_path: Path) -> None:
    need("python3", "python3")
    probe = subprocess.run(
        ["/usr/bin/python3", "-c", "import PyQt5.QtWidgets"], capture_output=True, timeout=60
    )
    if probe.returncode:
        missing_tool("PyQt5 is not installed (Debian: apt install python3-pyqt5)")
    display = virtual_display(*SIZE)
    app = subprocess.Popen(
        ["/usr/bin/python3", str(APPS / "qt_form.py")],
        env=app_environment(display.env), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    out = tmp_path / "run"
    try:
        with (
            Screen(display=display.name) as screen,
            PyAutoGUIExecutor(settle_s=0.2, display=display.name) as executor,
            Desktop(OCRGrounder(), screen=screen, executor=executor, out=out,
                    cache=tmp_path / "qt.cache.json") as desktop,
        ):  # fmt: skip
            desktop.wait_for("Country", timeout_s=30)
            desktop.type("Ada", into="Name")
            desktop.fill("Paris", into="the City field")
            desktop.type(PASSWORD, into="Password", secret=True)
            assert desktop.select("Spain", in_="Country") is True
            assert desktop.select("Spain", in_="Country") is False  # shown already: left alone
            assert desktop.check("Newsletter") is False  # checked already: nothing clicked
            assert desktop.uncheck("Newsletter") is True
            assert desktop.check("Accept terms") is True
            desktop.click("OK")
        printed, _ = app.communicate(timeout=30)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(10)
    assert printed == f"Ada|Paris||{PASSWORD}|Spain|False|True\n"
    no_secret_in(out, tmp_path / "qt.cache.json")
    print("\n".join(locate_times(out)))


def test_a_chromium_page_through_the_task_runner(
    gui_agent: Any, virtual_display: Any, tmp_path: Path
) -> None:
    exe = need("chromium", "chromium")
    display = virtual_display(*SIZE)
    log = tmp_path / "console.log"
    chromium = (
        f"exec {exe} --no-sandbox --test-type --disable-gpu --disable-quic --no-first-run "
        "--disable-background-networking --disable-component-update --disable-sync "
        f"--user-data-dir={tmp_path / 'profile'} --window-position=0,0 --window-size=900,700 "
        f"--enable-logging=stderr --app={(APPS / 'web_form.html').as_uri()} 2> {log}"
    )
    run_task_file(gui_agent, display, tmp_path, f"""\
name: web-form
launch: {{command: [sh, -c, "{chromium}"], wait_for: Country, timeout_s: 60}}
steps:
  - type: {{text: Ada, into: Name}}
  - fill: {{text: Paris, into: City}}
  - type: {{text: ada@example.com, into: Email}}
  - select: {{option: Italy, in: Country}}
  - check: Newsletter
  - uncheck: Newsletter
  - check: Accept terms
  - click: Send
  - wait_for: {{target: Sent, timeout_s: 10}}
""")  # fmt: skip
    logged = wait_for_file(log)
    assert '"SENT Ada|Paris|ada@example.com|Italy|false|true"' in logged, logged[-2000:]


# -- the tiny model ---------------------------------------------------------------------------

QT_TASK = """\
name: qt-form
launch:
  command: [/usr/bin/python3, "${form}", --state, "${state}"]
  wait_for: Country
  timeout_s: 60
steps:
  - type: {text: Ada, into: Name}
  - fill: {text: Paris, into: City}
  - type: {text: "${env:FORM_PASSWORD}", into: Password}
  - select: {option: Spain, in: Country}
  - check: Newsletter
  - uncheck: Newsletter
  - check: Accept terms
  - click: OK
"""


class QtOracle:
    """Answers like a good model, from the Qt form's state file: where the field or checkbox a
    label names is (or an open list's row), whether a box is checked, what the combo shows."""

    def __init__(self, state: Path, frame: Any) -> None:
        self.state, self.frame = state, frame
        self.asked: list[str] = []

    def __call__(self, messages: Any) -> str:
        import json
        import re

        from agent.geometry import Monitor, Point, to_model

        prompt = messages[-1].text
        if re.search(r'visible on the screen: "Country"\?', prompt):  # the launch's wait
            ready = self.state.exists()
            return json.dumps({"visible": ready, "reason": "the form is open" if ready else "-"})
        state = json.loads(self.state.read_text())
        if query := re.search(r"The user query: (.*)", prompt):
            asked = query.group(1).strip()
            self.asked.append(asked)
            label = re.fullmatch(r'the (?:input field|checkbox) labelled "(.*)"', asked)
            name = label.group(1) if label else asked
            x, y, w, h = state["widgets"].get(name) or state["rows"][name]
            seen = to_model(
                Point.screen(x + w // 2, y + h // 2), self.frame, Monitor(1, 0, 0, *SIZE)
            )
            body = {"name": "computer_use", "arguments": {
                "action": "left_click", "coordinate": [round(seen.x), round(seen.y)]}}  # fmt: skip
            return f"<tool_call>\n{json.dumps(body)}\n</tool_call>"
        if checked := re.search(r'Is the checkbox labelled "(.*)" checked\?', prompt):
            self.asked.append(f"checked {checked.group(1)}")
            return json.dumps({"checked": state["checked"][checked.group(1)]})
        if shown := re.search(r'the text "(.*)" shown in the field labelled "(.*)""\?', prompt):
            value = state["country"]
            return json.dumps({"visible": value == shown.group(1), "reason": f"it shows {value}"})
        if drawn := re.search(r'visible on the screen: "(.*)"\?', prompt):  # an open list's row
            visible = drawn.group(1) in state["rows"]
            return json.dumps({"visible": visible, "reason": "the open list" if visible else "-"})
        raise AssertionError(f"an unexpected prompt: {prompt}")


@pytest.mark.model
def test_a_qt_form_with_the_tiny_model_asked_for_fields_not_labels(
    virtual_display: Any, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from agent.models.transformers_backend import TransformersBackend
    from agent.scripts.task_file import load_task
    from agent.scripts.task_runner import run_task
    from agent.styles.registry import make_style
    from agent.testing.tiny_qwen import build_tiny_qwen25vl
    from agent.testing.tiny_script import ScriptedTinyBackend

    display = virtual_display(*SIZE)
    monkeypatch.setenv("DISPLAY", display.name)  # the task's app starts on it
    monkeypatch.setenv("FORM_PASSWORD", PASSWORD)
    checkpoint = build_tiny_qwen25vl(tmp_path_factory.mktemp("model") / "tiny")
    model = TransformersBackend(str(checkpoint), max_pixels=1280 * 28 * 28, device="cpu")
    state = tmp_path / "qt.json"
    task_path = tmp_path / "qt-form.yaml"
    task_path.write_text(QT_TASK, encoding="utf-8")
    task = load_task(task_path)
    oracle = QtOracle(state, model.frame_for(*SIZE))
    tiny = ScriptedTinyBackend(model, checkpoint, oracle)
    out = tmp_path / "run"
    printed = tmp_path / "printed.txt"
    launch = task.launch
    assert launch is not None
    errors = tmp_path / "qt.err"
    command = ["sh", "-c", f'exec "$0" "$@" > {printed} 2> {errors}', *launch.command]
    task = task.model_copy(update={"launch": launch.model_copy(update={"command": command})})
    with (
        Screen(display=display.name) as screen,
        PyAutoGUIExecutor(settle_s=0.2, display=display.name) as executor,
    ):
        result = run_task(
            task,
            lambda directory: Desktop(
                tiny, make_style("qwen25vl"), screen=screen, executor=executor, out=directory,
                cache=tmp_path / "qt-form.cache.json", name=task.name,
            ),  # fmt: skip
            out,
            variables={"form": str(APPS / "qt_form.py"), "state": str(state)},
            screen=screen,
        )
    assert result.status == "done", f"{result.message}; the app said: {errors.read_text()}"
    assert wait_for_file(printed) == f"Ada|Paris||{PASSWORD}|Spain|False|True\n"
    assert 'the input field labelled "City"' in oracle.asked
    assert "City" not in oracle.asked  # the field was asked for, never the label
    assert oracle.asked.count("checked Newsletter") == 3  # check (no click), uncheck, look
    no_secret_in(out, tmp_path / "qt-form.cache.json")
    print("\n".join(locate_times(out)))
