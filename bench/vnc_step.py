"""A step on a VNC desktop beside the same step on the local screen, in one run.

A step without the model is what the loop does around it: capture the screen, act (a click on
the Tk test app's OK button), capture again. At 1920x1080 on loopback, three ways, each
``--steps`` times, alternating so that load on the shared machine hits all alike:

* ``local``: a private Xvfb through mss and pyautogui (the local path, in place from X11 shared
  memory);
* ``x11vnc``: the same Xvfb served by x11vnc, through our RFB client (agent/desktops/vnc.py);
* ``xvnc``: TigerVNC's Xvnc (an X server and a VNC server in one) through the same client.

Prints p50 and p95 of the step, its capture and its click for each, and each VNC path's ratio
to the local one (the target: within 2x of the local path's overhead). Run:
``python bench/vnc_step.py [--steps 40]`` (needs Xvfb, x11vnc, tigervnc-standalone-server and
the ``vnc`` extra); asserts nothing. ``X11VNC_TUNING="-defer 1 -wait 5"`` passes options to
x11vnc: by default it waits 20 ms before it sends an update and polls the screen every 20 ms,
which is most of its capture time (measured 2026-12-07, 2 cores: step p50 local 11.5 ms, Xvnc
19.1 ms (1.67x), x11vnc 58.7 ms (5.1x), tuned x11vnc 26.2 ms (2.0x)).
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actions.executor import Executor, PyAutoGUIExecutor  # noqa: E402
from actions.schema import Click  # noqa: E402
from agent.desktops.connect import open_desktop  # noqa: E402
from agent.geometry import Point  # noqa: E402
from agent.screen.capture import CaptureSource, Screen  # noqa: E402
from agent.screen.xvfb import VirtualDisplay, wait_until  # noqa: E402
from agent.testing.tk_app import TkApp  # noqa: E402

SIZE = (1920, 1080)
X11VNC_TUNING = os.environ.get("X11VNC_TUNING", "").split()
StepRun = Callable[[], dict[str, float]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@contextmanager
def server(command: list[str], env: dict[str, str], port: int) -> Iterator[None]:
    proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_until(lambda: listening(port), 20, 0.05, what=f"{command[0]} on port {port}")
        yield
    finally:
        proc.terminate()
        proc.wait(10)


def password_file(folder: Path, password: str) -> Path:
    path = folder / "passwd"
    done = subprocess.run(["vncpasswd", "-f"], input=f"{password}\n".encode(),
                          capture_output=True, check=True, timeout=10)  # fmt: skip
    path.write_bytes(done.stdout)
    path.chmod(0o600)
    return path


def step(screen: CaptureSource, executor: Executor, point: tuple[int, int]) -> dict[str, float]:
    t0 = time.perf_counter()
    screen.capture()
    t1 = time.perf_counter()
    executor.execute(Click(point=Point.screen(*point)), screen.monitor)
    t2 = time.perf_counter()
    screen.capture()
    t3 = time.perf_counter()
    return {"step": t3 - t0, "capture": (t1 - t0 + t3 - t2) / 2, "click": t2 - t1}


def summary(samples: list[dict[str, float]], key: str) -> tuple[float, float]:
    values = sorted(s[key] * 1000 for s in samples)
    return statistics.median(values), values[min(len(values) - 1, int(0.95 * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    password = secrets.token_hex(4)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        folder = Path(tmp)
        xvfb = stack.enter_context(VirtualDisplay(*SIZE))
        x11vnc_port, xvnc_port = free_port(), free_port()
        secret = password_file(folder, password)
        stack.enter_context(server(
            ["x11vnc", "-display", xvfb.name, "-rfbport", str(x11vnc_port), "-localhost",
             "-rfbauth", str(secret), "-forever", "-shared", "-quiet", *X11VNC_TUNING], xvfb.env,
            x11vnc_port))
        display_number = 90 + os.getpid() % 9
        stack.enter_context(server(
            ["Xvnc", f":{display_number}", "-geometry", f"{SIZE[0]}x{SIZE[1]}", "-depth", "24",
             "-rfbport", str(xvnc_port), "-localhost", "-nolisten", "tcp", "-SecurityTypes",
             "VncAuth", "-PasswordFile", str(secret)], dict(os.environ), xvnc_port))
        xvnc_env = {**os.environ, "DISPLAY": f":{display_number}"}
        apps = {
            "local": stack.enter_context(TkApp.launch(xvfb.env, folder / "a.json", x=800, y=500)),
            "xvnc": stack.enter_context(TkApp.launch(xvnc_env, folder / "b.json", x=800, y=500)),
        }
        apps["x11vnc"] = apps["local"]
        screen = stack.enter_context(Screen(display=xvfb.name))
        executor = stack.enter_context(PyAutoGUIExecutor(settle_s=0, display=xvfb.name))
        x11 = stack.enter_context(open_desktop(f"vnc://127.0.0.1:{x11vnc_port}", password=password,
                                               settle_s=0))  # fmt: skip
        xvnc = stack.enter_context(open_desktop(f"vnc://127.0.0.1:{xvnc_port}", password=password,
                                                settle_s=0))  # fmt: skip
        paths: dict[str, StepRun] = {
            "local": lambda: step(screen, executor, apps["local"].center("ok")),
            "x11vnc": lambda: step(x11.screen, x11.executor, apps["x11vnc"].center("ok")),
            "xvnc": lambda: step(xvnc.screen, xvnc.executor, apps["xvnc"].center("ok")),
        }
        results: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
        for run in paths.values():  # warm-up: first captures convert whole frames
            run()
        for _ in range(args.steps):
            for name, run in paths.items():
                results[name].append(run())
        clicks = {name: app.state()["clicks"] for name, app in apps.items()}
    print(f"{SIZE[0]}x{SIZE[1]}, {args.steps} steps each (capture, click, capture), ms")
    print(f"{'path':8} {'step p50':>9} {'step p95':>9} {'capture p50':>12} {'click p50':>10}")
    local_p50 = summary(results["local"], "step")[0]
    for name, samples in results.items():
        p50, p95 = summary(samples, "step")
        ratio = "" if name == "local" else f"  {p50 / local_p50:.2f}x local"
        print(f"{name:8} {p50:9.1f} {p95:9.1f} {summary(samples, 'capture')[0]:12.1f} "
              f"{summary(samples, 'click')[0]:10.1f}{ratio}")  # fmt: skip
    print(f"clicks the apps counted: {clicks}")


if __name__ == "__main__":
    main()
