"""Regenerate the bundled screenshots: ``python tasks/screenshots/make.py``.

``preferences.png`` is the Preferences app (``tasks/apps/preferences.py``) at its default place
(80, 80) on a private 1280x800 Xvfb, captured with the project's own
:class:`agent.screen.capture.Screen` once the app reports that its window is mapped and drawn (its
``--state`` file says ``ready``). ``preferences.layout.json`` is what the app reported at that
moment: its window and each widget's box ``[x, y, w, h]`` in screen pixels, which are the capture's
pixels here (one monitor at the origin, scale 1, no window manager): where the elements really are,
independent of any grounder. Needs Xvfb and python3-tk; the user's own display is never used.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from agent.screen.capture import Screen  # noqa: E402
from agent.screen.xvfb import VirtualDisplay, wait_until  # noqa: E402

SIZE = (1280, 800)


def _ready(state: Path) -> bool:
    try:
        return bool(json.loads(state.read_text(encoding="utf-8")).get("ready"))
    except (OSError, ValueError):
        return False


def capture_app(app: str, out: Path, *args: str) -> Path:
    """Capture ``tasks/apps/APP.py`` (with ``args``) on a private display into ``out``, and
    its layout into ``out`` with the suffix ``.layout.json``."""
    with tempfile.TemporaryDirectory() as tmp, VirtualDisplay(*SIZE) as display:
        state = Path(tmp) / "state.json"
        command = [sys.executable, str(ROOT / "tasks" / "apps" / f"{app}.py"), "--state",
                   str(state), *args]  # fmt: skip
        proc = subprocess.Popen(command, env=display.env, cwd=tmp)
        try:
            wait_until(lambda: _ready(state), timeout=20, interval=0.05, what=f"{app} ready")
            time.sleep(0.5)  # let the last expose events paint
            with Screen(display=display.name) as screen:
                screen.capture().image.save(out, optimize=True)
            state_data = json.loads(state.read_text(encoding="utf-8"))
            layout = {k: state_data[k] for k in ("title", "window", "widgets")}
            layout_text = json.dumps(layout, indent=2, sort_keys=True) + "\n"
            out.with_suffix(".layout.json").write_text(layout_text, encoding="utf-8")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        prefs = str(Path(tmp) / "prefs.json")
        print(capture_app("preferences", HERE / "preferences.png", "--out", prefs))


if __name__ == "__main__":
    main()
