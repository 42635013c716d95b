"""`gui-agent demo` as a newcomer runs it: no display, no GPU, no model, no network.

The CLI is started with no ``DISPLAY`` (it starts its own private Xvfb), runs the bundled
save-preferences task with the offline OCR grounder, exits 0 with every check passed, and its
report renders in Chromium with each step's screenshot and its click drawn. A model that cannot
be loaded falls back to OCR in one line; a missing Xvfb is one line naming the package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.trajectory import load_trajectory
from tests.gui.conftest import missing_tool

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[3]


def demo(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", "demo", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
    )


@pytest.mark.browser
def test_the_demo_runs_with_no_display_and_no_model_and_its_report_renders(
    tmp_path: Path, browser: Any
) -> None:
    out = tmp_path / "demo"
    done = demo("--out", str(out))
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stderr.startswith("no model given: running the demo with the offline OCR")
    lines = done.stdout.splitlines()
    checks = [line for line in lines if line.startswith("check ")]
    assert len(checks) == 2 and all(": passed (" in line for line in checks), checks
    assert "done: every check passed (grounder rapidocr)" in lines
    assert lines[-1] == f"report: {out / 'index.html'}"

    trajectory = load_trajectory(out)
    assert trajectory.meta.status == "done" and trajectory.meta.settings["demo"] is True
    clicks = [s.index for s in trajectory.steps if any(a.action == "click" for a in s.executed)]
    assert len(clicks) >= 2  # Display name, Save (type may click its field too)

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((out / "index.html").as_uri())
    assert page.text_content("#step-count") == str(len(trajectory.steps))
    page.wait_for_function(
        "() => [...document.querySelectorAll('#filmstrip img')].every(i => i.complete)"
    )
    widths = page.eval_on_selector_all("#filmstrip img", "els => els.map(e => e.naturalWidth)")
    assert len(widths) == len(trajectory.steps) and all(w == 1280 for w in widths), widths
    for index in clicks:
        page.goto((out / "index.html").as_uri() + f"#step-{index}")
        page.wait_for_selector(".marker.click")
        assert page.get_attribute("#step", "data-step") == str(index)
        assert page.evaluate("document.getElementById('screenshot').naturalWidth") == 1280
    assert errors == []
    page.close()


def test_a_model_that_cannot_be_loaded_falls_back_to_ocr_in_one_line(tmp_path: Path) -> None:
    done = demo("--model", str(tmp_path / "no-such-model"), "--device", "cpu",
                "--out", str(tmp_path / "demo"))  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    first = [line for line in done.stderr.splitlines() if not line.startswith("loading ")][0]
    assert re.match(rf"cannot use {re.escape(str(tmp_path))}/no-such-model: .+; running the "
                    "demo with the offline OCR grounder$", first), first  # fmt: skip
    assert "Traceback" not in done.stderr


def test_a_missing_xvfb_is_one_line_naming_the_package(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with xdotool but no Xvfb
    bin_dir.mkdir()
    xdotool = shutil.which("xdotool")
    if xdotool is None:
        missing_tool("xdotool is not installed (Debian: apt install xdotool)")
    (bin_dir / "xdotool").symlink_to(xdotool)
    done = demo("--backend", "ocr", "--out", str(tmp_path / "demo"), path=str(bin_dir))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "gui-agent: error: Xvfb is not installed: a private desktop needs it "
        "(Debian: apt-get install xvfb)"
    )
