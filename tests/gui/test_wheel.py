"""Installed, not cloned: the wheel runs the product from site-packages, in any folder.

The wheel is built once (``python -m build --wheel`` from a copy of the product's files, so the
clone gets no ``build/`` or egg-info) and installed with its ``ocr`` and ``ui`` extras into a
fresh venv, as a user installs it (``pip install "gui-agent[ocr,ui]"``, dependencies from the
configured index). Then, from an empty folder with a minimal environment (the venv's ``bin``
first on ``PATH``, ``HOME`` in the test's folder, no ``PYTHONPATH``, no ``DISPLAY``):

* ``gui-agent --help`` works;
* ``gui-agent demo`` exits 0 with every check passed, its app launched from site-packages, and
  its trajectory and report written where it says;
* ``import agent`` and everything the product reads at run time (the stub ``__init__.pyi``, the
  viewer and report templates, the bundled tasks and apps, the sample screenshot and set, the
  vLLM plugin) resolve to files inside the venv's site-packages, none in the clone;
* ``gui-agent ui`` serves its page, which offers the bundled tasks;
* a user's own ``tasks`` package in the current folder is refused in one line.

About 2 minutes, most of it pip (the wheels come from pip's cache after the first time).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.trajectory import load_trajectory
from tests.gui.conftest import missing_tool

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PRODUCT = ("pyproject.toml", "README.md", "agent", "actions", "tasks")  # what a wheel is made of
EXTRAS = "ocr,ui"
_OFFLINE = (  # pip's words for an index it cannot reach
    "NewConnectionError", "Network is unreachable", "Temporary failure in name resolution",
    "No matching distribution found", "Could not find a version that satisfies",
)  # fmt: skip

# Run by the venv's python in an empty folder: where `import agent` and the product's data are.
WHERE = """
import json, sysconfig
from importlib import resources
import actions, agent, tasks
from agent.scripts import bundled
from agent.testing import tk_app, vllm_server
from agent.ui import run_jobs

print(json.dumps({
    "site": sysconfig.get_paths()["purelib"],
    "exports": len(agent.__all__),
    "files": {
        "agent": str(resources.files(agent) / "__init__.py"),
        "stub": str(resources.files(agent) / "__init__.pyi"),
        "actions": str(resources.files(actions) / "__init__.py"),
        "agent py.typed": str(resources.files(agent) / "py.typed"),
        "actions py.typed": str(resources.files(actions) / "py.typed"),
        "viewer template": str(resources.files("agent.runs") / "viewer_page.html"),
        "report template": str(resources.files("agent.evaluation") / "report_page.html"),
        "page style": str(resources.files(agent) / "page.css"),
        "vllm plugin": str(vllm_server.PLUGIN_DIR / "gui_agent_sequence_bias.py"),
        "vllm plugin metadata": str(
            vllm_server.PLUGIN_DIR / "vllm-0.32.0+cpu.dist-info" / "METADATA"
        ),
        "tasks": str(resources.files(tasks) / "__init__.py"),
        "demo task": str(bundled.bundled_task("save-preferences")),
        "demo app": str(bundled.bundled_app("preferences")),
        "apps helper": str(bundled.task_folder() / "apps" / "_window.py"),
        "sample screenshot": str(bundled.sample_screenshot()),
        "sample set": str(bundled.screenspot_sample() / "screenspot_web.json"),
        "tk app import root": tk_app._import_root() + "/agent/__init__.py",
    },
    "tasks": bundled.bundled_tasks(),
    "apps": bundled.bundled_apps(),
    "ui tasks": run_jobs.bundled_tasks(),
    "vllm python": str(vllm_server.default_vllm_python()),
    "vllm found": vllm_server.vllm_python() is not None,
}))
"""


@dataclass(frozen=True)
class Installed:
    """The wheel installed in a fresh venv, and how to run it as a user would."""

    wheel: Path
    venv: Path
    home: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """A minimal environment: the venv's bin first on PATH, the system's tools after it."""
        tools = [str(Path(found).parent) for t in ("Xvfb", "xdotool") if (found := shutil.which(t))]
        path = dict.fromkeys([str(self.bin), *tools, "/usr/bin", "/bin"])
        return {"PATH": os.pathsep.join(path), "HOME": str(self.home), "HF_HUB_OFFLINE": "1",
                "OMP_NUM_THREADS": "1", **extra}  # fmt: skip

    def run(self, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=cwd, env=self.env(), text=True, capture_output=True, timeout=timeout
        )


def tail(done: subprocess.CompletedProcess[str], lines: int = 40) -> str:
    return "\n".join((done.stdout + done.stderr).splitlines()[-lines:])


def build_wheel(work: Path) -> Path:
    """``python -m build --wheel`` from a copy of the product's files; the wheel's path."""
    source = work / "source"
    source.mkdir()
    for name in PRODUCT:
        if (ROOT / name).is_dir():
            skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
            shutil.copytree(ROOT / name, source / name, ignore=skip)
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = work / "dist"
    done = subprocess.run(  # the build backend (setuptools) of this environment: no download
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist),
         str(source)],
        text=True, capture_output=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, tail(done)
    (wheel,) = dist.glob("gui_agent-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(work)
    venv, home = work / "venv", work / "home"
    home.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
         f"{wheel}[{EXTRAS}]"],
        env=pip_env, text=True, capture_output=True, timeout=1200,
    )  # fmt: skip
    if done.returncode != 0 and any(word in done.stdout + done.stderr for word in _OFFLINE):
        missing_tool(f"pip cannot reach a package index to install the wheel:\n{tail(done)}")
    assert done.returncode == 0, tail(done)
    return Installed(wheel, venv, home)


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_the_wheel_holds_the_product_and_its_data(installed: Installed) -> None:
    import zipfile

    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for name in (
        "agent/__init__.pyi", "agent/py.typed", "actions/py.typed", "agent/page.css",
        "agent/runs/viewer_page.html",
        "agent/evaluation/report_page.html", "agent/testing/vllm_plugin/sitecustomize.py",
        "agent/testing/vllm_plugin/vllm-0.32.0+cpu.dist-info/METADATA", "tasks/__init__.py",
        "tasks/save-preferences.yaml", "tasks/apps/preferences.py", "tasks/apps/_window.py",
        "tasks/screenshots/preferences.png", "tasks/screenspot-sample/images/web_login_x1.png",
    ):  # fmt: skip
        assert name in names, name
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]


def test_gui_agent_help_runs_from_the_venv(installed: Installed, empty: Path) -> None:
    done = installed.run("gui-agent", "--help", cwd=empty)
    assert done.returncode == 0, tail(done)
    assert "demo" in done.stdout and "ui" in done.stdout


def test_agent_and_its_data_resolve_inside_site_packages(installed: Installed, empty: Path) -> None:
    done = installed.run(str(installed.bin / "python"), "-c", WHERE, cwd=empty)
    assert done.returncode == 0, tail(done)
    where = json.loads(done.stdout)
    site = Path(where["site"])
    assert site.is_relative_to(installed.venv)
    assert where["exports"] > 10  # the stub was read
    for what, path in where["files"].items():
        assert Path(path).is_relative_to(site), (what, path)
        assert Path(path).is_file(), (what, path)
        assert not Path(path).resolve().is_relative_to(ROOT), (what, path)
    assert "save-preferences" in where["tasks"] and where["ui tasks"] == where["tasks"]
    assert "preferences" in where["apps"] and "_window" not in where["apps"]
    # no clone: the vLLM environment is looked for in the current folder, and is not there
    assert where["vllm python"] == str(empty / ".venv-vllm" / "bin" / "python")
    assert where["vllm found"] is False


def need_display_tools() -> None:
    """The demo checks for both before anything else."""
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            missing_tool(f"{tool} is not installed (Debian: apt install xvfb xdotool)")


def test_the_demo_runs_from_an_empty_folder(installed: Installed, empty: Path) -> None:
    need_display_tools()
    done = installed.run("gui-agent", "demo", cwd=empty)
    assert done.returncode == 0, tail(done)
    lines = done.stdout.splitlines()
    site = installed.venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    launch = [line for line in lines if line.startswith("launch: ")]
    assert len(launch) == 1 and "/site-packages/tasks/apps/preferences.py " in launch[0], launch
    assert launch[0].split()[2].startswith(str(site)), launch
    checks = [line for line in lines if line.startswith("check ")]
    assert len(checks) == 2 and all(": passed (" in line for line in checks), checks
    assert lines[-1].startswith("report: "), lines[-1]
    report = Path(lines[-1].removeprefix("report: "))
    report = report if report.is_absolute() else empty / report
    assert report.is_file() and report.resolve().is_relative_to(empty), report
    assert "<html" in report.read_text(encoding="utf-8").lower()
    trajectory = load_trajectory(report.parent)
    assert trajectory.meta.status == "done" and trajectory.meta.settings["demo"] is True
    assert (report.parent / "prefs.json").is_file()  # what the app saved, in the run's folder


def test_the_readme_evaluation_runs_on_the_bundled_sample_set(
    installed: Installed, empty: Path
) -> None:
    """The README's offline evaluation, as written there, from an empty folder: the sample set is
    package data (``--limit`` keeps it short)."""
    section = README.split("## Evaluating grounding, ScreenSpot-style", 1)[1]
    found = re.search(r"```\n(gui-agent eval [^\n]*--backend ocr)\n", section)
    assert found is not None
    done = installed.run(*found.group(1).split(), "--limit", "6", cwd=empty, timeout=600)
    assert done.returncode == 0, tail(done)
    summary = json.loads((empty / "runs" / "eval-ocr" / "summary.json").read_text())
    assert summary["samples"] == 6 and summary["scored"] == 6, summary


def test_the_web_ui_serves_the_bundled_tasks(installed: Installed, empty: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = empty.parent / "ui.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            ["gui-agent", "ui", "--port", str(port), "--runs", "runs"], cwd=empty,
            env=installed.env(GRADIO_ANALYTICS_ENABLED="False"), stdout=out, stderr=out,
        )  # fmt: skip
    try:
        page, deadline = "", time.monotonic() + 120
        while not page and time.monotonic() < deadline:
            assert server.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    page = answer.read().decode("utf-8", errors="replace")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert page, f"the UI did not answer in 120 s:\n{log.read_text(encoding='utf-8')}"
        assert "save-preferences" in page and "pay-invoice" in page
        assert (empty / "runs").is_dir()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def test_a_users_own_tasks_package_is_refused_in_one_line(
    installed: Installed, empty: Path
) -> None:
    need_display_tools()
    (empty / "tasks").mkdir()
    (empty / "tasks" / "__init__.py").write_text('"""my own tasks"""\n', encoding="utf-8")
    # python -m puts the current folder first on sys.path, so this tasks shadows the bundled one
    done = installed.run(
        str(installed.bin / "python"), "-m", "agent.cli", "demo", "--out", "x", cwd=empty
    )
    assert done.returncode == 2, tail(done)
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("gui-agent: error: a 'tasks' package that is not gui-agent's ("), error
    assert str(empty / "tasks") in error and "Traceback" not in done.stderr
