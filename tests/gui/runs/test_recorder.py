"""Recording a person (``gui-agent record``) on a private Xvfb, the person simulated through XTEST
by xdotool from another process, driving the bundled Tk apps and real ones (a GTK dialog from
zenity, Chromium on a local page).

The recorder runs as a user runs it (``python -m agent.cli record`` with the display's
``DISPLAY``, stopped with SIGINT, SIGTERM, the stop hotkey or SIGKILL). The recorded actions are
asserted exactly; the recording then replays on a fresh app (exact), lands on a moved window
(``reground`` through OCR), runs as the task file it wrote, views and exports; a secret span is
in no file and replays from the environment; a killed recorder keeps every finished action.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from PIL import Image

from actions.schema import Click, Drag, KeyPress, Scroll, TypeText
from agent.desktops.connect import open_desktop
from agent.geometry import Point
from agent.grounding.ocr import OCRGrounder
from agent.screen.capture import Screen
from agent.screen.xvfb import VirtualDisplay, wait_until
from agent.trajectory import Trajectory, load_trajectory
from tests.gui.conftest import missing_tool

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[3]
APPS = ROOT / "tasks" / "apps"
SIZE = (1280, 800)
BROWSER_SIZE = (1000, 700)
PASSWORD = "Qz7-secret-pw"
Xdotool = Callable[..., None]


class App:
    """A bundled task app on the display, with its state file."""

    def __init__(self, display: VirtualDisplay, name: str, state: Path, *args: str,
                 env: dict[str, str] | None = None) -> None:  # fmt: skip
        self.display, self.state_path = display, state
        self.proc = subprocess.Popen(
            [sys.executable, str(APPS / f"{name}.py"), "--state", str(state), *args],
            env={**display.env, **(env or {})}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.wait_for(lambda s: s.get("ready") is True, f"{name} ready", 10)

    def state(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return data

    def wait_for(self, predicate: Callable[[dict[str, Any]], object], what: str,
                 timeout: float = 10) -> dict[str, Any]:  # fmt: skip
        def check() -> dict[str, Any] | None:
            state = self.state()
            return state if state and predicate(state) else None

        found = wait_until(check, timeout, 0.02, what)
        assert found is not None
        return found

    def center(self, widget: str) -> tuple[int, int]:
        x, y, w, h = self.state()["widgets"][widget]
        return x + w // 2, y + h // 2

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


class Recorder:
    """``gui-agent record`` running on the display, its output in files."""

    def __init__(self, display: VirtualDisplay | None, folder: Path, *args: str,
                 env: dict[str, str] | None = None) -> None:  # fmt: skip
        self.stdout_path, self.stderr_path = folder / "record.out", folder / "record.err"
        self._out: IO[bytes] = self.stdout_path.open("wb")
        self._err: IO[bytes] = self.stderr_path.open("wb")
        base = display.env if display is not None else dict(os.environ)
        environment = {**base, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
                       "HF_HUB_OFFLINE": "1", **(env or {})}  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "record", *args], env=environment,
            cwd=folder, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
        )  # fmt: skip
        wait_until(lambda: "\nrecording " in f"\n{self.err}" or self.proc.poll() is not None,
                   60, 0.05, "the recorder to say it is recording")  # fmt: skip
        assert self.proc.poll() is None, self.err

    @property
    def err(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    @property
    def out(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._out.close()
        self._err.close()
        return code


@pytest.fixture
def display(virtual_display: Callable[..., VirtualDisplay]) -> VirtualDisplay:
    return virtual_display(*SIZE)


@pytest.fixture
def apps(display: VirtualDisplay, tmp_path: Path) -> Iterator[Callable[..., App]]:
    started: list[App] = []

    def launch(name: str, *args: str, env: dict[str, str] | None = None) -> App:
        for app in started:  # one window on the screen at a time
            app.close()
        app = App(display, name, tmp_path / f"{name}{len(started)}.json", *args, env=env)
        started.append(app)
        return app

    yield launch
    for app in started:
        app.close()


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """``spawn(display, argv, stdout=...)``: a real app on the display, in its own process
    group (Chromium's helpers included), killed at teardown."""
    started: list[subprocess.Popen[str]] = []

    def launch(display: VirtualDisplay, argv: list[str], stdout: int | None = subprocess.DEVNULL
               ) -> subprocess.Popen[str]:  # fmt: skip
        proc = subprocess.Popen(
            argv, env=display.env, stdin=subprocess.DEVNULL, stdout=stdout,
            stderr=subprocess.DEVNULL, text=True, start_new_session=True,
        )  # fmt: skip
        started.append(proc)
        return proc

    yield launch
    for proc in started:
        end(proc)


def end(proc: subprocess.Popen[str]) -> None:
    """Stop an app that ``spawn`` started, and its process group."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


def tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        missing_tool(f"{name} is not installed (Debian: apt install {name})")
    return exe


def shown(display: VirtualDisplay, ocr: OCRGrounder, *texts: str, timeout: float = 30
          ) -> Image.Image:  # fmt: skip
    """A capture of the display's screen once every one of ``texts`` shows on it."""

    def look() -> Image.Image | None:
        with Screen(display=display.name) as screen:
            image = screen.capture().image
        return image if all(ocr.visible(image, t) for t in texts) else None

    found = wait_until(look, timeout, 0.2, f"{', '.join(texts)} on the screen")
    assert found is not None
    return found


def box(ocr: OCRGrounder, image: Image.Image, text: str) -> tuple[float, float, float, float]:
    """Where OCR reads ``text`` in ``image``: left, top, right, bottom (screen pixels, the
    capture being the whole screen at scale 1)."""
    located = ocr.locate(image, f'"{text}"')
    assert located.box is not None
    (left, top), (right, bottom) = ((p.x, p.y) for p in located.box)
    return left, top, right, bottom


def middle(left: float, top: float, right: float, bottom: float) -> tuple[int, int]:
    return round((left + right) / 2), round((top + bottom) / 2)


def executed(trajectory: Trajectory) -> list[object]:
    return [a for s in trajectory.steps for a in s.actions_run()]


def squash(text: str | None) -> str:
    return "".join((text or "").split()).casefold()


def steps_on_disk(directory: Path) -> int:
    path = directory / "steps.jsonl"
    if not path.exists():
        return 0
    return sum('"event": "result"' in line for line in path.read_text().splitlines())


def test_a_person_is_recorded_then_replayed_regrounded_and_run_as_a_task(
    display: VirtualDisplay, apps: Callable[..., App], xdotool: Xdotool, gui_agent: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    app = apps("preferences", "--out", str(tmp_path / "p0.json"))
    field, save = app.center("display_name"), app.center("save")
    recorder = Recorder(display, tmp_path, "--out", "R", "--task-out", "R.yaml",
                        "--backend", "ocr")  # fmt: skip
    xdotool(display, "mousemove", *map(str, field), "click", "1")
    xdotool(display, "type", "--delay", "60", "Adx")
    xdotool(display, "key", "BackSpace")
    xdotool(display, "type", "a")
    app.wait_for(lambda s: s["display_name"] == "Ada", "the typed name")
    xdotool(display, "mousemove", *map(str, save), "click", "1")
    app.wait_for(lambda s: s["saved"] == 1, "Save")
    wait_until(lambda: steps_on_disk(tmp_path / "R") == 3, 30, 0.1, "three steps on disk")
    assert recorder.stop(signal.SIGINT) == 0, recorder.err
    assert "recorded 3 actions; ended by Ctrl-C" in recorder.out

    recording = load_trajectory(tmp_path / "R")
    assert recording.meta.status == "done" and recording.meta.backend == "person"
    assert executed(recording) == [
        Click(point=Point.screen(*field)),
        TypeText(text="Ada"),
        Click(point=Point.screen(*save)),
    ]
    assert [s.source for s in recording.steps] == ["person"] * 3
    clicked, typed, saved = recording.steps
    assert squash(clicked.targets[0].description) == "displayname"  # named by its label
    assert saved.targets[0].description == "Save" and typed.targets == []
    assert saved.timings["pause"] > 0
    ocr = OCRGrounder()
    before = Image.open(recording.screenshot_path(saved))
    assert saved.after_screenshot is not None
    after = Image.open(recording.directory / saved.after_screenshot)
    seen = {line.text.strip() for line in ocr.read(before)}
    # what the person saw at Save: the name typed (OCR may read the caret after it: "Adx"), not
    # saved yet
    assert "Saved" not in seen and any(text.startswith("Ad") for text in seen), seen
    assert "Saved" in {line.text.strip() for line in ocr.read(after)}  # and what came of it

    fresh = apps("preferences", "--out", str(tmp_path / "p1.json"))
    done = gui_agent(display, "replay", str(tmp_path / "R"), "--out", str(tmp_path / "E"))
    assert done.returncode == 0, done.stdout + done.stderr
    state = fresh.wait_for(lambda s: s["saved"] == 1, "the exact replay's Save")
    assert state["display_name"] == "Ada"

    moved = apps("preferences", "--out", str(tmp_path / "p2.json"), "--x", "520", "--y", "300")
    done = gui_agent(display, "replay", str(tmp_path / "R"), "--mode", "reground",
                     "--backend", "ocr", "--out", str(tmp_path / "G"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "re-grounded" in done.stdout
    state = moved.wait_for(lambda s: s["saved"] == 1, "the re-grounded replay's Save")
    assert state["display_name"] == "Ada"

    task = (tmp_path / "R.yaml").read_text()
    assert "click: Save" in task and "text: Ada" in task
    elsewhere = apps("preferences", "--out", str(tmp_path / "p3.json"), "--x", "300", "--y", "200")
    done = gui_agent(display, "run", "--task", str(tmp_path / "R.yaml"), "--backend", "ocr",
                     "--out", str(tmp_path / "T"), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    state = elsewhere.wait_for(lambda s: s["saved"] == 1, "the task's Save")
    assert state["display_name"] == "Ada"

    viewed = gui_agent(display, "view", str(tmp_path / "R"))
    page = (tmp_path / "R" / "index.html").read_text()
    assert viewed.returncode == 0 and "step_0002_after.png" in page and '"person"' in page
    rows = tmp_path / "rows.jsonl"
    exported = gui_agent(display, "export", str(tmp_path / "R"), "--out", str(rows))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert any("Save" in json.dumps(json.loads(line)) for line in rows.read_text().splitlines())


def test_double_clicks_drags_scrolls_and_combos_are_read_and_the_hotkey_stops(
    display: VirtualDisplay, apps: Callable[..., App], xdotool: Xdotool, tmp_path: Path
) -> None:
    apps("preferences", "--out", str(tmp_path / "p.json"))
    recorder = Recorder(display, tmp_path, "--out", "R")
    xdotool(display, "mousemove", "900", "500", "click", "--repeat", "2", "--delay", "80", "1")
    xdotool(display, "mousemove", "700", "600", "mousedown", "1")
    xdotool(display, "mousemove", "760", "620", "mousemove", "900", "650", "mouseup", "1")
    xdotool(display, "mousemove", "1000", "400", "click", "--repeat", "3", "--delay", "30", "5")
    xdotool(display, "key", "ctrl+a")
    utf8 = {**display.env, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}  # xdotool reads its argument
    subprocess.run(["xdotool", "type", "--delay", "30", "Zé乩!"], env=utf8, check=True, timeout=30)
    xdotool(display, "mousemove", "1100", "300", "click", "3")
    xdotool(display, "key", "ctrl+shift+F12")  # the stop hotkey: not an action
    assert recorder.proc.wait(30) == 0, recorder.err
    recorder.stop()
    assert "ended by the stop hotkey" in recorder.out
    recording = load_trajectory(tmp_path / "R")
    assert executed(recording) == [
        Click(point=Point.screen(900, 500), count=2),
        Drag(start=Point.screen(700, 600), end=Point.screen(900, 650)),
        Scroll(point=Point.screen(1000, 400), direction="down", amount=3),
        KeyPress(keys=("ctrl", "a")),
        TypeText(text="Zé乩!"),  # é and 乩 through keycodes xdotool maps for them meanwhile
        Click(point=Point.screen(1100, 300), button="right"),
    ]
    assert recording.meta.status == "done"
    assert "ended by the stop hotkey" in (recording.meta.message or "")


def test_a_secret_span_is_in_no_file_and_replays_and_runs_from_the_environment(
    display: VirtualDisplay, apps: Callable[..., App], xdotool: Xdotool, gui_agent: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    env = {"LOGIN_PW": PASSWORD}
    state = tmp_path / "login.json"
    launch = f"{sys.executable} {APPS / 'login.py'} --expect-env LOGIN_PW --state {state}"
    recorder = Recorder(display, tmp_path, "--out", "R", "--task-out", "R.yaml", "--backend",
                        "ocr", "--secret", "PASSWORD", "--launch", launch, env=env)  # fmt: skip
    wait_until(lambda: state.exists() and json.loads(state.read_text()), 10, 0.05, "login")
    widgets = json.loads(state.read_text())["widgets"]

    def center(name: str) -> list[str]:
        x, y, w, h = widgets[name]
        return [str(x + w // 2), str(y + h // 2)]

    xdotool(display, "mousemove", *center("username"), "click", "1")
    xdotool(display, "type", "--delay", "40", "ada")
    xdotool(display, "mousemove", *center("password"), "click", "1")
    xdotool(display, "key", "ctrl+shift+F11")
    xdotool(display, "type", "--delay", "40", PASSWORD)
    xdotool(display, "key", "ctrl+shift+F11")
    xdotool(display, "key", "Return")
    wait_until(lambda: json.loads(state.read_text()).get("signed_in"), 10, 0.05, "signed in")
    wait_until(lambda: steps_on_disk(tmp_path / "R") == 5, 30, 0.1, "five steps on disk")
    assert recorder.stop(signal.SIGTERM) == 0, recorder.err

    recording = load_trajectory(tmp_path / "R")
    assert [a for a in executed(recording) if not isinstance(a, Click)] == [
        TypeText(text="ada"), TypeText(text="{PASSWORD}"), KeyPress(keys=("enter",)),
    ]  # fmt: skip
    assert recording.meta.settings["secrets"] == ["PASSWORD"]
    task = (tmp_path / "R.yaml").read_text()
    assert "${env:PASSWORD}" in task and "launch:" in task
    written = [p for p in (tmp_path / "R").rglob("*") if p.is_file()] + [tmp_path / "R.yaml"]
    for path in written:
        assert PASSWORD.encode() not in path.read_bytes(), path
    assert PASSWORD not in recorder.out + recorder.err

    apps("login", "--expect-env", "LOGIN_PW", env=env)
    refused = gui_agent(display, "replay", str(tmp_path / "R"), "--out", str(tmp_path / "N"))
    assert refused.returncode == 2 and "PASSWORD" in refused.stderr
    fresh = apps("login", "--expect-env", "LOGIN_PW", env=env)
    done = gui_agent(display, "replay", str(tmp_path / "R"), "--out", str(tmp_path / "E"),
                     env={"PASSWORD": PASSWORD})  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    fresh.wait_for(lambda s: s["signed_in"] and s["user"] == "ada", "the replay to sign in")
    fresh.close()
    state.unlink()
    ran = gui_agent(display, "run", "--task", str(tmp_path / "R.yaml"), "--backend", "ocr",
                    "--out", str(tmp_path / "T"), cwd=tmp_path,
                    env={"PASSWORD": PASSWORD, **env})  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert PASSWORD not in ran.stdout + ran.stderr
    for path in (tmp_path / "T").rglob("*"):
        assert path.is_dir() or PASSWORD.encode() not in path.read_bytes(), path


def test_a_killed_recorder_loses_no_finished_action(
    display: VirtualDisplay, apps: Callable[..., App], xdotool: Xdotool, gui_agent: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    app = apps("preferences", "--out", str(tmp_path / "p.json"))
    field, save = app.center("display_name"), app.center("save")
    recorder = Recorder(display, tmp_path, "--out", "R")
    xdotool(display, "mousemove", *map(str, field), "click", "1")
    xdotool(display, "type", "--delay", "30", "Bo")
    xdotool(display, "mousemove", *map(str, save), "click", "1")
    wait_until(lambda: steps_on_disk(tmp_path / "R") == 3, 20, 0.05, "three steps on disk")
    os.kill(recorder.proc.pid, signal.SIGKILL)
    recorder.stop()
    recording = load_trajectory(tmp_path / "R")
    assert recording.meta.status is None and not recording.truncated
    assert executed(recording) == [
        Click(point=Point.screen(*field)), TypeText(text="Bo"), Click(point=Point.screen(*save)),
    ]  # fmt: skip
    fresh = apps("preferences", "--out", str(tmp_path / "p2.json"))
    done = gui_agent(display, "replay", str(tmp_path / "R"), "--mode", "scaled", "--out",
                     str(tmp_path / "E"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert fresh.wait_for(lambda s: s["saved"] == 1, "Save")["display_name"] == "Bo"


def test_a_person_in_the_vnc_view_of_a_private_desktop_is_recorded(tmp_path: Path) -> None:
    """``--desktop private``: the recorder starts the display and its app, and a person works
    in it through the VNC view it prints (our RFB client stands in for a VNC viewer)."""
    if shutil.which("x11vnc") is None:
        missing_tool("x11vnc is not installed (Debian: apt install x11vnc)")
    state, saved = tmp_path / "prefs.state.json", tmp_path / "prefs.json"
    launch = f"{sys.executable} {APPS / 'preferences.py'} --state {state} --out {saved}"
    recorder = Recorder(None, tmp_path, "--out", "R", "--desktop", "private:1024x700",
                        "--launch", launch)  # fmt: skip
    watch = re.search(r"vnc://127\.0\.0\.1:(\d+) \(password (\w+)\)", recorder.err)
    assert watch is not None, recorder.err
    widgets = json.loads(state.read_text())["widgets"]

    def at(name: str) -> Point:
        x, y, w, h = widgets[name]
        return Point.screen(x + w // 2, y + h // 2)

    with open_desktop(f"vnc://127.0.0.1:{watch[1]}", password=watch[2]) as viewer:
        monitor = viewer.screen.monitor
        for action in (Click(point=at("display_name")), TypeText(text="Ada"),
                       Click(point=at("save"))):  # fmt: skip
            viewer.executor.execute(action, monitor)
    wait_until(lambda: saved.exists(), 10, 0.05, "the app to save")
    wait_until(lambda: steps_on_disk(tmp_path / "R") == 3, 20, 0.05, "three steps on disk")
    assert recorder.stop() == 0, recorder.err
    recording = load_trajectory(tmp_path / "R")
    assert executed(recording) == [
        Click(point=at("display_name")), TypeText(text="Ada"), Click(point=at("save")),
    ]  # fmt: skip
    assert recording.meta.desktop is not None and recording.meta.desktop["kind"] == "private"
    assert json.loads(saved.read_text())["display_name"] == "Ada"


def test_a_person_filling_a_gtk_dialog_is_recorded_then_replayed(
    display: VirtualDisplay, spawn: Callable[..., subprocess.Popen[str]], xdotool: Xdotool,
    gui_agent: Any, tmp_path: Path,
) -> None:  # fmt: skip
    """zenity's GTK form: click the Name entry, type, click the City entry, type, click OK."""
    dialog = [tool("zenity"), "--forms", "--title", "Contact", "--add-entry=Name",
              "--add-entry=City"]  # fmt: skip
    ocr = OCRGrounder()
    form = spawn(display, dialog, stdout=subprocess.PIPE)
    image = shown(display, ocr, "Name", "City", "OK")
    ok, name, city = (box(ocr, image, text) for text in ("OK", "Name", "City"))
    # each entry lies right of its label, its right edge in line with the OK button's
    name_at = round((name[2] + ok[2]) / 2), middle(*name)[1]
    city_at = round((city[2] + ok[2]) / 2), middle(*city)[1]
    ok_at = middle(*ok)
    recorder = Recorder(display, tmp_path, "--out", "R")
    xdotool(display, "mousemove", *map(str, name_at), "click", "1")
    xdotool(display, "type", "--delay", "60", "Ada")
    xdotool(display, "mousemove", *map(str, city_at), "click", "1")
    xdotool(display, "type", "--delay", "60", "Paris")
    xdotool(display, "mousemove", *map(str, ok_at), "click", "1")
    printed, _ = form.communicate(timeout=30)
    assert printed == "Ada|Paris\n"
    wait_until(lambda: steps_on_disk(tmp_path / "R") == 5, 30, 0.1, "five steps on disk")
    assert recorder.stop() == 0, recorder.err
    assert "recorded 5 actions" in recorder.out
    recording = load_trajectory(tmp_path / "R")
    assert executed(recording) == [
        Click(point=Point.screen(*name_at)), TypeText(text="Ada"),
        Click(point=Point.screen(*city_at)), TypeText(text="Paris"),
        Click(point=Point.screen(*ok_at)),
    ]  # fmt: skip

    fresh = spawn(display, dialog, stdout=subprocess.PIPE)
    shown(display, ocr, "Name", "City", "OK")
    done = gui_agent(display, "replay", str(tmp_path / "R"), "--out", str(tmp_path / "E"))
    assert done.returncode == 0, done.stdout + done.stderr
    printed, _ = fresh.communicate(timeout=30)
    assert printed == "Ada|Paris\n"


SUBSCRIBE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Newsletter</title>
<style>
body { font: 24px sans-serif; margin: 60px }
input, button { font: 24px sans-serif; padding: 8px }
input { width: 420px }
button { margin-top: 30px; padding: 8px 24px }
</style></head>
<body>
<h1 id="heading">Newsletter</h1>
<p><label for="email">Email</label>
<input id="email" type="text" placeholder="you@example.org" autocomplete="off"></p>
<p><button id="subscribe">Subscribe</button></p>
<script>
document.getElementById("subscribe").onclick = () => {
  const said = "Subscribed: " + document.getElementById("email").value;
  document.getElementById("heading").textContent = said;
  document.title = said;
};
</script>
</body></html>
"""


def test_a_person_in_chromium_is_recorded_then_replayed(
    display: VirtualDisplay, spawn: Callable[..., subprocess.Popen[str]], xdotool: Xdotool,
    gui_agent: Any, tmp_path: Path,
) -> None:  # fmt: skip
    """A local page in Chromium: click the Email input, type an address, click Subscribe; the
    page writes the address into its heading and its title (the window's name)."""
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        missing_tool("chromium is not installed (Debian: apt install chromium)")
    page = tmp_path / "subscribe.html"
    page.write_text(SUBSCRIBE_PAGE, encoding="utf-8")
    ocr = OCRGrounder()
    said = "Subscribed: ada@example.com"

    def browser(profile: str) -> subprocess.Popen[str]:
        width, height = BROWSER_SIZE
        return spawn(display, [
            exe, "--no-sandbox", "--test-type", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp_path / profile}",
            "--window-position=0,0", f"--window-size={width},{height}", f"--app={page.as_uri()}",
        ])  # fmt: skip

    def titled(text: str) -> bool:
        found = subprocess.run(["xdotool", "search", "--name", re.escape(text)], env=display.env,
                               capture_output=True, text=True, timeout=30)  # fmt: skip
        return found.returncode == 0 and bool(found.stdout.split())

    first = browser("profile0")
    image = shown(display, ocr, "Email", "you@example.org", "Subscribe")
    field = middle(*box(ocr, image, "you@example.org"))  # the input's placeholder
    subscribe = middle(*box(ocr, image, "Subscribe"))
    recorder = Recorder(display, tmp_path, "--out", "R")
    xdotool(display, "mousemove", *map(str, field), "click", "1")
    xdotool(display, "type", "--delay", "60", "ada@example.com")
    xdotool(display, "mousemove", *map(str, subscribe), "click", "1")
    wait_until(lambda: titled(said), 30, 0.1, "the page's new title")
    shown(display, ocr, said)
    wait_until(lambda: steps_on_disk(tmp_path / "R") == 3, 30, 0.1, "three steps on disk")
    assert recorder.stop() == 0, recorder.err
    recording = load_trajectory(tmp_path / "R")
    assert executed(recording) == [
        Click(point=Point.screen(*field)), TypeText(text="ada@example.com"),
        Click(point=Point.screen(*subscribe)),
    ]  # fmt: skip

    end(first)
    browser("profile1")
    shown(display, ocr, "Email", "you@example.org", "Subscribe")
    assert not titled(said)
    done = gui_agent(display, "replay", str(tmp_path / "R"), "--out", str(tmp_path / "E"))
    assert done.returncode == 0, done.stdout + done.stderr
    wait_until(lambda: titled(said), 30, 0.1, "the replayed page's new title")
    shown(display, ocr, said)
