"""The one place the product finds its bundled data: the ``tasks`` package, via importlib.resources.

The task files (``NAME.yaml``), the apps they launch (``apps/NAME.py``), the ScreenSpot-style
sample set (``screenspot-sample/``) and the sample screenshots (``screenshots/``) ship in the
wheel as package data of the top-level ``tasks`` package. Whatever needs them asks here, so the
product runs the same from a clone, an editable install or an installed wheel, from any folder.

A task file launches its app as ``${task_dir}/apps/NAME.py`` and apps are started as scripts by
a new interpreter, so callers get real paths: :func:`task_folder` turns the package into one
with :func:`importlib.resources.as_file` (the package itself for a package on disk, as pip
installs it) and keeps it for the life of the process.

A ``tasks`` that is not ours (a user's own ``tasks/__init__.py`` in the current folder under
``python -m``) lacks the ``BUNDLE`` marker of ours and is refused, as is a missing or incomplete
package, with a one-line :class:`~agent.errors.ConfigurationError`.
"""

from __future__ import annotations

import atexit
import functools
import importlib
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

from agent.errors import ConfigurationError

__all__ = [
    "PACKAGE", "bundled_app", "bundled_apps", "bundled_task", "bundled_tasks", "sample_screenshot",
    "screenspot_sample", "task_folder",
]  # fmt: skip

PACKAGE = "tasks"
_MARKER = "gui-agent"  # tasks.BUNDLE
_APPS = "apps"
_SAMPLE_SCREENSHOT = ("screenshots", "preferences.png")
_SCREENSPOT_SAMPLE = "screenspot-sample"
_REINSTALL = "reinstall gui-agent (pip install gui-agent, or pip install -e . in a clone)"

_extracted = ExitStack()  # what as_file made real stays so until the process ends
atexit.register(_extracted.close)


@functools.cache
def task_folder() -> Path:
    """The folder of the bundled ``tasks`` package, a real path (looked up once a process)."""
    try:
        package = importlib.import_module(PACKAGE)
    except ImportError as exc:
        raise ConfigurationError(
            f"gui-agent's bundled data (the {PACKAGE!r} package) cannot be imported ({exc}): "
            f"{_REINSTALL}"
        ) from exc
    if getattr(package, "BUNDLE", None) != _MARKER:
        where = ", ".join(getattr(package, "__path__", [])) or repr(package)  # a folder or a file
        raise ConfigurationError(
            f"a {PACKAGE!r} package that is not gui-agent's ({where}) hides its bundled tasks: "
            "rename that folder, or run from another one"
        )
    folder = _extracted.enter_context(resources.as_file(resources.files(package)))
    if not (folder / _APPS).is_dir():
        raise ConfigurationError(f"the bundled data in {folder} is incomplete: {_REINSTALL}")
    return folder


def bundled_tasks() -> list[str]:
    """The names of the bundled task files (``save-preferences``, ...)."""
    return sorted(path.stem for path in task_folder().glob("*.yaml"))


def bundled_task(name: str) -> Path:
    """The path of the bundled task file ``name`` (``save-preferences``); ConfigurationError
    (one line, naming the others) when there is none."""
    names = bundled_tasks()
    if name not in names:
        raise ConfigurationError(f"no bundled task {name!r}; choose one of: {', '.join(names)}")
    return task_folder() / f"{name}.yaml"


def bundled_apps() -> list[str]:
    """The small apps the bundled tasks launch (``preferences``, ...); a free instruction in the
    web UI can start with one of them."""
    apps = task_folder() / _APPS
    return sorted(path.stem for path in apps.glob("*.py") if not path.stem.startswith("_"))


def bundled_app(name: str) -> Path:
    """The script of the bundled app ``name`` (run it with ``sys.executable``); ConfigurationError
    (one line, naming the others) when there is none."""
    names = bundled_apps()
    if name not in names:
        raise ConfigurationError(f"no bundled app {name!r}; choose one of: {', '.join(names)}")
    return task_folder() / _APPS / f"{name}.py"


def sample_screenshot() -> Path:
    """A real capture of the bundled Preferences app (1280x800 PNG), for grounding without a
    display: the web UI's Ground tab offers it."""
    path = task_folder().joinpath(*_SAMPLE_SCREENSHOT)
    if not path.is_file():
        raise ConfigurationError(f"the sample screenshot {path} is missing: {_REINSTALL}")
    return path


def screenspot_sample() -> Path:
    """The folder of the ScreenSpot-style sample set (``screenspot_*.json``, ``images/``)."""
    path = task_folder() / _SCREENSPOT_SAMPLE
    if not path.is_dir():
        raise ConfigurationError(f"the sample set {path} is missing: {_REINSTALL}")
    return path
