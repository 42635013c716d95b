"""Running a task file: launch its app, run its steps through a Desktop, evaluate its checks.

:func:`run_task` launches the app (and waits until its window is drawn and still, or for its
``wait_for`` target), runs the steps in order through the :class:`~agent.scripts.desktop.Desktop`
the caller builds (grounder, cache and safety options), then every check, each recorded as a step
with its verdict, closes the app and the trajectory, and returns a :class:`TaskResult` whose
``status`` is ``done`` only if every step ran and every check passed. Variables are filled in
here (:mod:`agent.scripts.task_file` describes them); an environment variable is typed by
placeholder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import create_model

from actions.schema import points_of
from agent.desktops.base import DesktopConnection
from agent.errors import AgentError, AssertionFailed, ConfigurationError
from agent.screen.capture import CaptureSource
from agent.screen.matching import same_screen
from agent.scripts.desktop import Desktop, status_of
from agent.scripts.task_file import (
    QUERY_TYPES,
    ActSpec,
    DragSpec,
    Equals,
    FileContains,
    Launch,
    QuerySpec,
    ScrollSpec,
    SelectSpec,
    TargetSpec,
    Task,
    TaskStep,
    TypeSpec,
    WaitSpec,
)
from agent.step import Step
from agent.trajectory import RunStatus

__all__ = ["CheckResult", "TaskResult", "app_environment", "check_launchable", "run_task"]

VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class CheckResult:
    check: str
    passed: bool
    detail: str


@dataclass
class TaskResult:
    status: RunStatus
    message: str
    checks: list[CheckResult] = field(default_factory=list)
    trajectory: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == "done"


def check_launchable(task: Task, desktop: DesktopConnection) -> None:
    """ConfigurationError (one line) when ``task`` launches an app and ``desktop`` cannot start
    one (a VNC desktop: the app runs on the guest); called before anything runs. Elsewhere the
    app is launched with ``desktop.app_env`` (a private display's ``DISPLAY``)."""
    if task.launch is not None and not desktop.can_launch:
        raise ConfigurationError(
            f"task {task.name} launches an app, which cannot be started on "
            f"{desktop.spec.describe()} from here: start the app on the guest and remove the "
            "task's launch"
        )


class _Variables:
    """``${...}`` substitution: plain values, secrets by placeholder, built-ins."""

    def __init__(self, values: Mapping[str, object], desktop: Desktop) -> None:
        self.values = {k: str(v) for k, v in values.items()}
        self.desktop = desktop

    def __call__(self, text: str, *, reveal: bool = False) -> str:
        """``text`` with its variables filled in; an environment variable becomes its
        placeholder (filled in when typed) unless ``reveal`` (a launch command, a file check)."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("env:"):
                env = name[4:]
                if not os.environ.get(env):
                    raise ConfigurationError(f"${{{name}}}: the environment variable is unset")
                placeholder = self.desktop.secrets.add(os.environ[env], env)
                return os.environ[env] if reveal else placeholder
            if name not in self.values:
                known = ", ".join(sorted(self.values)) or "none"
                raise ConfigurationError(f"${{{name}}} is not defined (variables: {known})")
            return self.values[name]

        return VARIABLE.sub(value, text)


def run_task(
    task: Task,
    desktop_factory: Callable[[Path], Desktop],
    out: Path,
    *,
    variables: Mapping[str, str] | None = None,
    screen: CaptureSource | None = None,
    progress: Callable[[str], None] = lambda line: None,
    app_env: Mapping[str, str] | None = None,
) -> TaskResult:
    """Run ``task``: launch, steps, checks. ``desktop_factory(out)`` makes the Desktop (the
    CLI passes grounder, cache and safety options). ``variables`` override the file's.
    ``app_env``: the environment the task's app is launched with (default: this process's;
    a private display passes its ``DISPLAY``)."""
    desktop = desktop_factory(out)
    values = {
        **{k: v for k, v in task.vars.items()},
        **(variables or {}),
        "task_dir": str(task.directory.resolve()),
        "out": str(out.resolve()),
        "python": sys.executable,
    }
    subst = _Variables(values, desktop)
    needs_model = task.instruction or any(s.verb in ("query", "act") for s in task.script())
    if needs_model and not desktop.understands:
        desktop.close("error", "the task needs a vision-language model")
        raise ConfigurationError(
            f"task {task.name} asks questions or gives the agent an instruction (query, act): "
            f"the {desktop.grounder.model} grounder only locates; choose a model backend"
        )
    app: subprocess.Popen[bytes] | None = None
    checks: list[CheckResult] = []
    status: RunStatus = "done"
    message = "every check passed"
    try:
        if task.launch is not None:
            app = _launch(task.launch, subst, desktop, screen or desktop.screen, progress, app_env)
        if task.instruction:
            progress(f"act: {task.instruction}")
            desktop.act(subst(task.instruction), task.max_steps)
        for step in task.script():
            done = len(desktop.history)
            _do(step, desktop, subst)
            line = f"{step.verb}: {_show(step.raw)} -> {_outcome(desktop.history[done:])}"
            progress(desktop.secrets.redact(line))
        for check in task.checks():
            result = _check(check, desktop, subst)
            checks.append(result)
            progress(f"check {result.check}: {'passed' if result.passed else 'FAILED'} "
                     f"({result.detail})")  # fmt: skip
        failed = [c for c in checks if not c.passed]
        if failed:
            status = "failed"
            message = f"{len(failed)} of {len(checks)} checks failed: " + "; ".join(
                f"{c.check}: {c.detail}" for c in failed
            )
    except (AgentError, KeyboardInterrupt) as exc:
        status = status_of(exc)
        message = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ConfigurationError) and not desktop.history:
            desktop.close("error", desktop.secrets.redact(message))
            _stop(app)
            raise
    finally:
        _stop(app)
    message = desktop.secrets.redact(message)
    desktop.close(status, message)
    return TaskResult(status, message, checks, out)


def _show(raw: Any) -> str:
    if isinstance(raw, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in raw.items())
    if isinstance(raw, list):
        return "+".join(map(_show, raw))
    return str(raw)


def _outcome(steps: Sequence[Step]) -> str:
    """What a call's steps did, in a few words: where, found by what, and the time."""
    parts = []
    for step in steps:
        record = step.record
        points = [p for a in record.executed for p in points_of(a)]
        where = " ".join(f"({p.x:g},{p.y:g})" for p in points)
        found = ", ".join(
            t.outcome or f"{t.located_by} {t.cache or ''}".strip() for t in record.targets
        )
        seconds = sum(v for k, v in record.timings.items() if k != "locate")
        parts.append(" ".join(x for x in (where, found, f"{seconds:.2f}s") if x))
    return "; ".join(parts) or "-"


def _launch(
    launch: Launch,
    subst: _Variables,
    desktop: Desktop,
    screen: CaptureSource,
    progress: Callable[[str], None],
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    command = [subst(part, reveal=True) for part in launch.command]
    progress(f"launch: {desktop.secrets.redact(' '.join(command))}")
    before = screen.capture().image
    try:
        app = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=app_environment(env),
        )
    except OSError as exc:
        raise ConfigurationError(f"cannot launch {command[0]}: {exc.strerror or exc}") from exc
    deadline = time.monotonic() + launch.timeout_s
    if launch.wait_for is not None:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            desktop.wait_for(subst(launch.wait_for), remaining)
        except BaseException:
            _stop(app)  # the caller never gets it to stop
            raise
        return app
    last = before
    changed = False
    while time.monotonic() < deadline:
        if app.poll() is not None:
            error = (app.stderr.read() if app.stderr else b"").decode(errors="replace").strip()
            raise ConfigurationError(
                f"{command[0]} exited with code {app.returncode} before the task began"
                + (f": {error.splitlines()[-1]}" if error else "")
            )
        time.sleep(0.2)
        now = screen.capture().image
        if changed and same_screen(last, now):
            return app  # drawn, and still for one poll
        changed = changed or not same_screen(before, now)
        last = now
    _stop(app)
    raise ConfigurationError(
        f"{command[0]} drew nothing on the screen within {launch.timeout_s:g} s"
    )


def app_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment an app is launched with: ``env`` (default this process's) without the
    Qt variables OpenCV (imported by the OCR grounder) sets in this process to point Qt at its own
    plugins: a Qt app (PyQt from Debian, any Qt program) given them fails to start."""
    base = dict(env) if env is not None else dict(os.environ)
    marker = f"{os.sep}cv2{os.sep}"
    return {k: v for k, v in base.items() if not (k.startswith("QT_QPA_") and marker in v)}


def _stop(app: subprocess.Popen[bytes] | None) -> None:
    if app is None or app.poll() is not None:
        if app is not None and app.stderr:
            app.stderr.close()
        return
    app.terminate()
    try:
        app.wait(5)
    except subprocess.TimeoutExpired:
        app.kill()
        app.wait(5)
    if app.stderr:
        app.stderr.close()


def _keys(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(k) for k in raw]
    return [k for k in re.split(r"\s*\+\s*", str(raw).strip()) if k]


def _do(step: TaskStep, desktop: Desktop, subst: _Variables) -> None:
    spec = step.spec
    if step.verb == "press":
        desktop.press(*(subst(k) for k in _keys(step.raw)))
    elif isinstance(spec, TargetSpec):
        target, key = subst(spec.target), spec.target
        if step.verb == "assert":
            desktop.assert_visible(target)
        else:
            getattr(desktop, step.verb)(target, key=key)
    elif isinstance(spec, TypeSpec):
        into = subst(spec.into) if spec.into else None
        write = desktop.fill if step.verb == "fill" else desktop.type
        write(subst(spec.text), into=into, secret=spec.secret, key=spec.into)
    elif isinstance(spec, SelectSpec):
        desktop.select(subst(spec.option), in_=subst(spec.in_), key=spec.in_)
    elif isinstance(spec, ScrollSpec):
        at = subst(spec.at) if spec.at else None
        desktop.scroll(spec.direction, spec.amount, at, key=spec.at)
    elif isinstance(spec, DragSpec):
        desktop.drag(subst(spec.from_), subst(spec.to), keys=(spec.from_, spec.to))
    elif isinstance(spec, WaitSpec):
        desktop.wait_for(subst(spec.target), spec.timeout_s)
    elif isinstance(spec, QuerySpec):
        fields: dict[str, Any] = {}
        for name, kind in spec.schema_.items():
            if kind not in QUERY_TYPES:
                raise ConfigurationError(
                    f"{step.where}: query.schema.{name}: unknown type {kind!r} "
                    f"(one of {', '.join(QUERY_TYPES)})"
                )
            fields[name] = (QUERY_TYPES[kind], ...)
        model = create_model("Answer", **fields)
        answer = desktop.query(subst(spec.question), model)
        if spec.save_as:
            for name, value in answer.model_dump().items():
                subst.values[f"{spec.save_as}.{name}"] = str(value)
    elif isinstance(spec, ActSpec):
        desktop.act(subst(spec.instruction), spec.max_steps)
    else:  # pragma: no cover - every verb is handled above
        raise ConfigurationError(f"{step.where}: {step.verb} is not implemented")


def _check(check: TaskStep, desktop: Desktop, subst: _Variables) -> CheckResult:
    """Evaluate one check; screen checks are recorded steps, file checks record a note."""
    spec = check.spec
    name = f"{check.verb} {desktop.secrets.redact(_show(check.raw))}"
    try:
        if isinstance(spec, TargetSpec):
            visible = desktop.is_visible(subst(spec.target), verb="check")
            passed = visible == (check.verb == "visible")
            detail = "visible" if visible else "not visible"
        elif isinstance(spec, FileContains):
            path = Path(subst(spec.path, reveal=True))
            text = subst(spec.text, reveal=True)
            try:
                content = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                return CheckResult(name, False, f"cannot read {path}: {exc.strerror or exc}")
            passed = text in content
            detail = "found" if passed else f"{path} does not contain the text"
        elif isinstance(spec, Equals):
            actual, expected = subst(spec.actual), subst(spec.expected)
            passed = actual == expected
            detail = f"{actual!r}" + (" == " if passed else " != ") + f"{expected!r}"
        else:  # file_exists
            path = Path(subst(str(check.raw), reveal=True))
            passed = path.exists()
            detail = "exists" if passed else f"{path} does not exist"
    except AssertionFailed as exc:
        return CheckResult(name, False, str(exc))
    if not isinstance(spec, TargetSpec):  # screen checks are steps already
        desktop.note("check", name, f"{'passed' if passed else 'failed'}: {detail}")
    return CheckResult(name, passed, desktop.secrets.redact(detail))
