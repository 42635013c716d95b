"""Task files: a script in YAML, with the app it drives and the checks that say it worked.

::

    name: save-preferences
    vars: {user: Ada}                 # ${user}; ${env:NAME} reads the environment (a secret)
    launch: ["${python}", "${task_dir}/apps/preferences.py", --out, "${out}/prefs.json"]
    steps:                            # script steps in order; or `instruction:` for the agent
      - click: Display name
      - type: ${user}
      - press: [ctrl, s]
      # forms: type/fill {text, into: LABEL}, select: {option, in: LABEL}, check/uncheck: LABEL
      - wait_for: {target: Saved, timeout_s: 5}
    check:
      - visible: Saved
      - file_contains: {path: "${out}/prefs.json", text: Ada}

:func:`load_task` validates a file into a :class:`Task` (one-line errors naming the step);
:func:`agent.scripts.task_runner.run_task` runs it.

Variables: ``${name}`` from ``vars`` (or ``--var``), ``${env:NAME}`` from the environment
(typed by placeholder and never written anywhere), and ``${task_dir}``, ``${out}`` (the
trajectory directory) and ``${python}`` (this interpreter); inside YAML's ``[...]`` and
``{...}`` a ``${...}`` must be quoted. The cache key of a target is its
text *before* substitution, so a task that only changes values reuses its cache.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import ConfigurationError

__all__ = ["CHECKS", "QUERY_TYPES", "VERBS", "Task", "TaskStep", "load_task"]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TargetSpec(_Spec):
    target: str


class TypeSpec(_Spec):
    text: str
    into: str | None = None
    secret: bool = False


class SelectSpec(_Spec):
    option: str
    in_: str = Field(alias="in")
    """the label of the combo box / drop-down"""


class ScrollSpec(_Spec):
    direction: Literal["up", "down", "left", "right"]
    amount: int = Field(default=3, ge=0)
    at: str | None = None


class DragSpec(_Spec):
    from_: str = Field(alias="from")
    to: str


class WaitSpec(_Spec):
    target: str
    timeout_s: float = Field(default=10.0, gt=0)


class QuerySpec(_Spec):
    question: str
    schema_: dict[str, str] = Field(alias="schema", min_length=1)
    """field name -> type: str, int, float, bool, list[str], ..."""
    save_as: str | None = None


class ActSpec(_Spec):
    instruction: str
    max_steps: int = Field(default=10, ge=1)


class FileContains(_Spec):
    path: str
    text: str


class Equals(_Spec):
    actual: str
    expected: str


#: step verb -> the shapes its value may take (a bare value is the first field)
VERBS: dict[str, type[_Spec] | None] = {
    "click": TargetSpec,
    "double_click": TargetSpec,
    "right_click": TargetSpec,
    "hover": TargetSpec,
    "type": TypeSpec,
    "fill": TypeSpec,
    "select": SelectSpec,
    "check": TargetSpec,
    "uncheck": TargetSpec,
    "press": None,
    "scroll": ScrollSpec,
    "drag": DragSpec,
    "wait_for": WaitSpec,
    "assert": TargetSpec,
    "query": QuerySpec,
    "act": ActSpec,
}
CHECKS: dict[str, type[_Spec] | None] = {
    "visible": TargetSpec,
    "not_visible": TargetSpec,
    "file_contains": FileContains,
    "file_exists": None,
    "equals": Equals,
}
_BARE = {TargetSpec: "target", TypeSpec: "text", ScrollSpec: "direction", WaitSpec: "target",
         ActSpec: "instruction"}  # fmt: skip
#: the field types a query schema may name
QUERY_TYPES: dict[str, Any] = {
    "str": str, "int": int, "float": float, "bool": bool,
    "list[str]": list[str], "list[int]": list[int], "list[float]": list[float],
}  # fmt: skip


@dataclass(frozen=True)
class TaskStep:
    """One step or check: its verb, its validated value (None for ``press``/``file_exists``,
    whose value is kept raw in ``raw``), and where it is in the file."""

    verb: str
    spec: _Spec | None
    raw: Any
    where: str


class Launch(_Spec):
    command: list[str] = Field(min_length=1)
    wait_for: str | None = None
    """a target that is visible once the app is ready; default: the screen changed and stilled"""
    timeout_s: float = Field(default=20.0, gt=0)


class Task(_Spec):
    """A validated task file."""

    name: str
    description: str | None = None
    vars: dict[str, str | int | float | bool] = Field(default_factory=dict)
    launch: Launch | None = None
    steps: list[dict[str, Any]] = Field(default_factory=list)
    instruction: str | None = None
    max_steps: int = Field(default=15, ge=1)
    check: list[dict[str, Any]] = Field(default_factory=list)
    path: Path | None = Field(default=None, exclude=True)

    def script(self) -> list[TaskStep]:
        return [_step(s, f"steps[{i}]", VERBS) for i, s in enumerate(self.steps)]

    def checks(self) -> list[TaskStep]:
        return [_step(s, f"check[{i}]", CHECKS) for i, s in enumerate(self.check)]

    @property
    def directory(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def default_cache(self) -> Path | None:
        """The cache file beside the task file: ``NAME.cache.json``."""
        return self.path.with_name(f"{self.path.stem}.cache.json") if self.path else None


def _step(data: Any, where: str, verbs: Mapping[str, type[_Spec] | None]) -> TaskStep:
    if not isinstance(data, dict) or len(data) != 1:
        raise ConfigurationError(
            f"{where}: a step is a mapping with one verb, e.g. {{click: Save}}; got {data!r}"
        )
    ((verb, value),) = data.items()
    if verb not in verbs:
        close = difflib.get_close_matches(str(verb), list(verbs), n=1)
        hint = f" (did you mean {close[0]}?)" if close else f"; verbs: {', '.join(verbs)}"
        raise ConfigurationError(f"{where}: unknown verb {verb!r}{hint}")
    model = verbs[verb]
    if model is None:
        if verb == "press":
            if not (isinstance(value, str) or (
                isinstance(value, list) and value and all(isinstance(k, str) for k in value)
            )):  # fmt: skip
                raise ConfigurationError(f"{where}: press takes a key, a combo or a list of keys")
        elif not isinstance(value, str):
            raise ConfigurationError(f"{where}: {verb} takes a path")
        return TaskStep(verb, None, value, where)
    if not isinstance(value, dict):
        bare = _BARE.get(model)
        if bare is None or isinstance(value, list):
            raise ConfigurationError(f"{where}: {verb} takes a mapping of {model.model_fields}")
        value = {bare: value}
    try:
        spec = model.model_validate(
            {k: str(v) if isinstance(v, str) else v for k, v in value.items()}
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        loc = ".".join(str(p) for p in problem["loc"])
        raise ConfigurationError(f"{where}: {verb}.{loc}: {problem['msg']}") from exc
    return TaskStep(verb, spec, value, where)


def load_task(path: Path | str) -> Task:
    """Read and validate a task file; ConfigurationError (one line) if it is not one."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read task file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigurationError(
            f"{path}{at}: not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: a task file is a mapping (name, steps, check)")
    if isinstance(data.get("launch"), list):
        data["launch"] = {"command": data["launch"]}
    try:
        task = Task.model_validate({**data, "path": path})
    except ValidationError as exc:
        problem = exc.errors()[0]
        loc = ".".join(str(p) for p in problem["loc"])
        raise ConfigurationError(f"{path}: {loc}: {problem['msg']}") from exc
    if bool(task.steps) == bool(task.instruction):
        raise ConfigurationError(f"{path}: give either steps or an instruction (not both)")
    try:
        task.script()
        task.checks()
    except ConfigurationError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc
    return task
