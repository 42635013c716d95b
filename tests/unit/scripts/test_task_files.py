"""Task files: validation with one-line errors that name the step, variables, cache paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigurationError
from agent.scripts.task_file import QuerySpec, SelectSpec, TargetSpec, TypeSpec, load_task

GOOD = """\
name: save-preferences
vars: {user: Ada}
launch: [python3, app.py]
steps:
  - click: Display name
  - type: {text: "${user}", into: Email}
  - press: [ctrl, s]
  - press: ctrl+shift+s
  - scroll: down
  - drag: {from: A, to: B}
  - wait_for: {target: Saved, timeout_s: 5}
  - assert: Saved
  - query: {question: "Total?", schema: {total: float}, save_as: invoice}
check:
  - visible: Saved
  - file_contains: {path: out.json, text: Ada}
  - equals: {actual: "${invoice.total}", expected: "76.5"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_task_file(tmp_path: Path) -> None:
    task = load_task(write(tmp_path, GOOD))
    steps = task.script()
    assert [s.verb for s in steps] == [
        "click", "type", "press", "press", "scroll", "drag", "wait_for", "assert", "query",
    ]  # fmt: skip
    assert steps[0].spec == TargetSpec(target="Display name")
    assert steps[1].spec == TypeSpec(text="${user}", into="Email")
    assert isinstance(steps[8].spec, QuerySpec) and steps[8].spec.schema_ == {"total": "float"}
    assert [c.verb for c in task.checks()] == ["visible", "file_contains", "equals"]
    assert task.launch is not None and task.launch.command == ["python3", "app.py"]
    assert task.default_cache() == tmp_path / "task.cache.json"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nsteps: [{clik: Save}]\n", "steps[0]: unknown verb 'clik' (did you mean click?)"),
        ("name: x\nsteps: [{click: Save, type: a}]\n", "steps[0]: a step is a mapping with one"),
        ("name: x\nsteps: [{scroll: {direction: sideways}}]\n", "steps[0]: scroll.direction"),
        ("name: x\nsteps: [{press: {a: 1}}]\n", "steps[0]: press takes a key"),
        ("name: x\nsteps: [{click: a}]\ninstruction: do it\n", "either steps or an instruction"),
        ("name: x\n", "either steps or an instruction"),
        ("steps: [{click: a}]\n", "name: Field required"),
        ("name: x\nsteps: [{click: a}]\ncheck: [{visibel: a}]\n", "check[0]: unknown verb"),
        ("name: [x\n", "not valid YAML"),
        ("- a\n- b\n", "a task file is a mapping"),
    ],
)
def test_bad_task_files_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_task(write(tmp_path, text))
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert str(tmp_path / "task.yaml") in str(raised.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read task file"):
        load_task(tmp_path / "nope.yaml")


def test_the_form_verbs(tmp_path: Path) -> None:
    task = load_task(write(tmp_path, """\
name: form
steps:
  - fill: {text: Paris, into: City}
  - select: {option: Spain, in: Country}
  - check: Newsletter
  - uncheck: {target: Accept terms}
"""))  # fmt: skip
    fill, select, check, uncheck = task.script()
    assert fill.verb == "fill" and fill.spec == TypeSpec(text="Paris", into="City")
    assert select.spec == SelectSpec.model_validate({"option": "Spain", "in": "Country"})
    assert (check.verb, check.spec) == ("check", TargetSpec(target="Newsletter"))
    assert uncheck.spec == TargetSpec(target="Accept terms")
    with pytest.raises(ConfigurationError, match=r"steps\[0\]: select.in: Field required"):
        load_task(write(tmp_path, "name: f\nsteps:\n  - select: {option: Spain}\n"))


def test_an_app_is_launched_without_the_qt_plugin_path_opencv_sets() -> None:
    from agent.scripts.task_runner import app_environment

    cv2 = "/venv/site-packages/cv2/qt/plugins"
    env = {"DISPLAY": ":5", "QT_QPA_PLATFORM_PLUGIN_PATH": cv2, "QT_QPA_PLATFORM": "xcb"}
    assert app_environment(env) == {"DISPLAY": ":5", "QT_QPA_PLATFORM": "xcb"}
