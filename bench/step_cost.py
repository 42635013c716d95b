"""A step's real cost, end to end, on each path, side by side with a cookbook-style loop in one run.

Everything but the model's own compute is counted: capture, resize, encode, request, parse,
convert, check, act, record.

* ``http``: ``gui-agent run``'s loop (:class:`agent.loop.Agent`, mss, the ``qwen25vl`` style,
  :class:`OpenAIBackend`, :class:`PyAutoGUIExecutor` at PAUSE 0, the trajectory recorder) against
  a local zero-latency OpenAI-compatible server (stdlib HTTP; it reads and parses every request
  body, then answers a click on the Tk app's OK button), on a private Xvfb. The **cookbook** loop
  does the same job the way Qwen's computer-use cookbooks do: ``pyautogui.screenshot()``,
  qwen-vl-utils ``smart_resize`` + PIL bicubic, PNG (Pillow's default level) in base64, the openai
  client, ``json.loads`` between the tags, ``pyautogui.click`` at the default PAUSE (0.1 s) and a
  synchronous PNG save. The floor: one mss grab plus one click at PAUSE 0.
* ``local``: the transformers path up to the processor's output (``generate()`` excluded), with a
  tiny random Qwen2.5-VL built on the spot: :meth:`TransformersBackend.prepare` against
  qwen-vl-utils ``process_vision_info`` + the processor (the cookbook way), on the same captures.
* ``scaling``: the ``http`` step at 1366x768, 1920x1080, 2560x1440 and 3840x2160, default and
  reduced pixel bounds, with 0 and 3 history images.
* ``overlap``: a model's compute on every core, alone and with the trajectory writer encoding
  beside it at the normal and at the background priority.
* ``encode``: the lossless encodings of a 1080p model image (ours, Pillow PNG levels, WebP
  lossless, BMP): time and size.

Run ``python bench/step_cost.py [http|local|scaling|encode|overlap|all] [--steps 40]``. Prints
medians, p95 and ratios; asserts nothing (machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from actions.executor import PyAutoGUIExecutor  # noqa: E402
from actions.schema import Click  # noqa: E402
from agent.geometry import ModelFrame, Point, to_model  # noqa: E402
from agent.loop import Agent  # noqa: E402
from agent.models.openai_backend import OpenAIBackend  # noqa: E402
from agent.models.torch_compat import prepare_torchvision  # noqa: E402
from agent.screen.capture import Screen  # noqa: E402
from agent.screen.xvfb import VirtualDisplay  # noqa: E402
from agent.styles.qwen25vl import Qwen25VLComputerUse  # noqa: E402
from agent.testing.tk_app import TkApp  # noqa: E402

prepare_torchvision()  # qwen-vl-utils imports torchvision, which needs this beside CPU torch

REDUCED = 1280 * 28 * 28  # 1003520
DEFAULT = 12845056
MS = 1000.0


def p50(values: Sequence[float]) -> float:
    return statistics.median(values) * MS


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * MS


def click_answer(target: Point) -> str:
    args = {"action": "left_click", "coordinate": [round(target.x), round(target.y)]}
    return f"<tool_call>\n{json.dumps({'name': 'computer_use', 'arguments': args})}\n</tool_call>"


class ZeroLatencyServer:
    """An OpenAI-compatible endpoint that parses each request and answers at once."""

    def __init__(self, answer: str) -> None:
        body = {
            "id": "bench",
            "object": "chat.completion",
            "model": "bench",
            "choices": [
                {"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": answer}}
            ],
            "usage": {"prompt_tokens": 10**7, "completion_tokens": 20, "total_tokens": 10**7},
        }  # fmt: skip
        reply = json.dumps(body).encode()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # as uvicorn (vLLM) does: no 40 ms delayed ACK

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                json.loads(self.rfile.read(length))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def desktop(width: int, height: int, tmp: Path) -> Iterator[tuple[TkApp, tuple[int, int]]]:
    """A private Xvfb with the Tk app; yields the app and its OK button's centre."""
    with VirtualDisplay(width, height) as display:
        os.environ["DISPLAY"] = display.name
        app = TkApp.launch(display.env, tmp / f"app-{width}.json", x=width // 2, y=height // 2)
        try:
            yield app, app.center("ok")
        finally:
            app.close()


def framework_http(
    url: str, steps: int, max_pixels: int, history: int, out: Path
) -> tuple[list[float], dict[str, list[float]]]:
    backend = OpenAIBackend(url, "bench", max_pixels=max_pixels, max_retries=0)
    phases: dict[str, list[float]] = {}
    walls: list[float] = []
    with Screen() as screen, PyAutoGUIExecutor(settle_s=0.0) as executor:
        agent = Agent(
            backend, Qwen25VLComputerUse(history_images=history), executor, screen, out=out,
            max_steps=steps, loop_limit=0,
        )  # fmt: skip
        last = time.perf_counter()
        for step in agent.steps("Click the OK button"):
            now = time.perf_counter()
            walls.append(now - last)
            last = now
            for phase, seconds in step.record.timings.items():
                phases.setdefault(phase, []).append(seconds)
    return walls[1:], {k: v[1:] for k, v in phases.items()}  # the first step warms up


def cookbook_http(url: str, steps: int, max_pixels: int, out: Path) -> list[float]:
    import openai
    import pyautogui
    import pyscreeze
    from qwen_vl_utils import smart_resize

    pyscreeze.GNOMESCREENSHOT_EXISTS = True  # else pyscreeze needs gnome-screenshot or scrot
    pyautogui.PAUSE = 0.1  # pyautogui's default
    client = openai.OpenAI(base_url=url, api_key="EMPTY")
    out.mkdir(parents=True, exist_ok=True)
    times = []
    for i in range(steps):
        start = time.perf_counter()
        image = pyautogui.screenshot()
        height, width = smart_resize(
            image.height, image.width, factor=28, min_pixels=3136, max_pixels=max_pixels
        )
        resized = image.resize((width, height), Image.Resampling.BICUBIC)
        buffer = io.BytesIO()
        resized.save(buffer, format="PNG")
        url64 = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
        reply = client.chat.completions.create(
            model="bench",
            messages=[
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": url64}},
                    {"type": "text", "text": "Click the OK button"},
                ]},
            ],
        )  # fmt: skip
        text = reply.choices[0].message.content or ""
        call = json.loads(text.split("<tool_call>\n")[1].split("\n</tool_call>")[0])
        x, y = call["arguments"]["coordinate"]
        pyautogui.click(round(x * image.width / width), round(y * image.height / height))
        image.save(out / f"step_{i}.png")
        times.append(time.perf_counter() - start)
    return times[1:]


def floor(steps: int) -> list[float]:
    import mss
    import pyautogui

    pyautogui.PAUSE = 0.0
    times = []
    with mss.MSS() as sct:
        monitor = sct.monitors[1]
        for _ in range(steps):
            start = time.perf_counter()
            sct.grab(monitor)
            pyautogui.click(5, 5)
            times.append(time.perf_counter() - start)
    return times


def model_answer(center: tuple[int, int], max_pixels: int) -> str:
    frame_for = OpenAIBackend("http://127.0.0.1:9/v1", "x", max_pixels=max_pixels).frame_for
    with Screen() as screen:
        monitor = screen.monitor
        shot = screen.capture().image
        frame = frame_for(shot.width, shot.height)
        return click_answer(to_model(Point.screen(*center), frame, monitor))


def run_http(steps: int, tmp: Path) -> None:
    width, height = 1920, 1080
    with desktop(width, height, tmp) as (app, center):
        server = ZeroLatencyServer(model_answer(center, REDUCED))
        try:
            walls, phases = framework_http(server.base_url, steps, REDUCED, 0, tmp / "ours")
            theirs = cookbook_http(server.base_url, steps, REDUCED, tmp / "cookbook")
            bottom = floor(steps)
        finally:
            server.close()
        clicks = app.state()["clicks"]["ok"]
    print(f"\nHTTP path, {width}x{height}, max_pixels {REDUCED}, zero-latency local server, "
          f"{steps - 1} steps each (first dropped)")  # fmt: skip
    print(f"{'loop':<34}{'p50 ms':>9}{'p95 ms':>9}")
    for name, values in (
        ("gui-agent step (wall)", walls), ("cookbook loop step", theirs),
        ("floor: mss grab + click", bottom),
    ):  # fmt: skip
        print(f"{name:<34}{p50(values):>9.2f}{p95(values):>9.2f}")
    print(
        f"ratio cookbook/gui-agent p50: {p50(theirs) / p50(walls):.1f}x; "
        f"gui-agent/floor: {p50(walls) / p50(bottom):.1f}x"
    )
    print("gui-agent phases p50 ms (model = prompt build + resize + encode + request + server):")
    print("  " + ", ".join(f"{k} {p50(v):.2f}" for k, v in phases.items()))
    print(f"OK clicks seen by the app: {clicks} of {2 * steps}")


def run_scaling(steps: int, tmp: Path) -> None:
    print(f"\nscaling: gui-agent HTTP step p50 (p95) ms, zero-latency server, {steps - 1} steps")
    sizes = [(1366, 768), (1920, 1080), (2560, 1440), (3840, 2160)]
    print(f"{'screen':<12}{'bounds':<20}{'frame':<12}{'0 history':>16}{'3 history':>16}")
    for width, height in sizes:
        with desktop(width, height, tmp) as (_, center):
            for bound, max_pixels in (("default 12845056", DEFAULT), ("reduced 1003520", REDUCED)):
                server = ZeroLatencyServer(model_answer(center, max_pixels))
                try:
                    cells = []
                    for history in (0, 3):
                        out = tmp / f"scale-{width}-{max_pixels}-{history}"
                        walls, _ = framework_http(server.base_url, steps, max_pixels, history, out)
                        cells.append(f"{p50(walls):.1f} ({p95(walls):.1f})")
                finally:
                    server.close()
                frame = ModelFrame.for_image(width, height, max_pixels=max_pixels)
                print(
                    f"{f'{width}x{height}':<12}{bound:<20}{f'{frame.width}x{frame.height}':<12}"
                    f"{cells[0]:>16}{cells[1]:>16}"
                )


def run_local(steps: int, tmp: Path) -> None:
    from qwen_vl_utils import process_vision_info

    from agent.models.transformers_backend import TransformersBackend, to_hf_conversation
    from agent.testing.tiny_qwen import build_tiny_qwen25vl

    width, height = 1920, 1080
    model = build_tiny_qwen25vl(tmp / "tiny", max_pixels=REDUCED)
    backend = TransformersBackend(str(model), max_pixels=REDUCED, device="cpu")
    style = Qwen25VLComputerUse()
    ours, whole, theirs = [], [], []
    with (
        desktop(width, height, tmp) as (_, center),
        Screen() as screen,
        PyAutoGUIExecutor(settle_s=0.0) as executor,
    ):
        for _ in range(steps):
            # what the screen of a real step shows: the last click
            executor.execute(Click(point=Point.screen(*center)), screen.monitor)
            shot = screen.capture()
            frame = backend.frame_for(shot.image.width, shot.image.height)
            start = time.perf_counter()
            messages = style.messages("Click the OK button", frame, shot.image, (), None)
            backend.prepare([(messages, frame)])
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()  # the same frame through the processor whole
            image = backend.resizer.resize(shot.image, frame)
            text = backend._template(messages)
            backend.processor(text=[text], images=[image], padding=True, return_tensors="pt")
            whole.append(time.perf_counter() - start)
            start = time.perf_counter()
            conversation = to_hf_conversation(messages)
            for turn in conversation:  # the cookbook hands qwen-vl-utils the raw capture
                for part in turn["content"]:
                    if part["type"] == "image":
                        part.update(image=shot.image, max_pixels=REDUCED, min_pixels=3136)
            images, _ = process_vision_info(conversation)
            text = backend.processor.apply_chat_template(
                conversation, tokenize=False, add_generation_prompt=True
            )
            backend.processor(text=[text], images=images, padding=True, return_tensors="pt")
            theirs.append(time.perf_counter() - start)
    ours, whole, theirs = ours[1:], whole[1:], theirs[1:]
    print(f"\nlocal path, {width}x{height}, max_pixels {REDUCED}, tiny Qwen2.5-VL, prompt -> "
          f"processor output (generate excluded), {steps - 1} captures")  # fmt: skip
    print(f"{'':<34}{'p50 ms':>9}{'p95 ms':>9}")
    print(f"{'gui-agent (backend.prepare)':<34}{p50(ours):>9.2f}{p95(ours):>9.2f}")
    print(f"{'the processor whole, same frame':<34}{p50(whole):>9.2f}{p95(whole):>9.2f}")
    print(f"{'cookbook (process_vision_info)':<34}{p50(theirs):>9.2f}{p95(theirs):>9.2f}")
    print(f"ratio cookbook/gui-agent p50: {p50(theirs) / p50(ours):.1f}x")


def run_encode(tmp: Path) -> None:
    from agent.screen.png import encode_png

    width, height = 1920, 1080
    with desktop(width, height, tmp) as _, Screen() as screen:
        capture = screen.capture().image
    frame = ModelFrame.for_image(width, height, max_pixels=REDUCED)
    image = capture.resize((frame.width, frame.height), Image.Resampling.BICUBIC)

    def pil(**options: Any) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, **options)
        return buffer.getvalue()

    encoders: dict[str, Callable[[], bytes]] = {
        "gui-agent PNG (unfiltered, zlib 1)": lambda: encode_png(image),
        "Pillow PNG level 1": lambda: pil(format="PNG", compress_level=1),
        "Pillow PNG default (level 6)": lambda: pil(format="PNG"),
        "WebP lossless, method 0": lambda: pil(format="WEBP", lossless=True, method=0, quality=0),
        "BMP (vLLM only; 3 MB)": lambda: pil(format="BMP"),
    }
    print(f"\nlossless encodings of a {frame.width}x{frame.height} model image (Tk app on Xvfb)")
    print(f"{'encoder':<38}{'p50 ms':>9}{'KiB':>9}")
    for name, encode in encoders.items():
        times = []
        for _ in range(11):
            start = time.perf_counter()
            data = encode()
            times.append(time.perf_counter() - start)
        print(f"{name:<38}{p50(times):>9.2f}{len(data) / 1024:>9.0f}")


def run_overlap(steps: int) -> None:
    """A model's compute (torch matmuls on every core, as generate() on a CPU) alone, then with
    a trajectory writer encoding changed 1080p screenshots beside it, at the normal priority and
    at the background priority the framework gives it (agent/background.py)."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import torch

    from agent.background import background_pool
    from agent.screen.png import PngEncoder

    torch.set_num_threads(os.cpu_count() or 1)
    weights = torch.randn(768, 768)
    rng = np.random.default_rng(0)
    shots = [
        Image.fromarray(rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8)) for _ in range(2)
    ]

    def think() -> float:
        start = time.perf_counter()
        x = torch.randn(256, 768)
        for _ in range(60):
            x = torch.tanh(x @ weights)
        return time.perf_counter() - start

    def timed(pool: ThreadPoolExecutor | None) -> tuple[list[float], int]:
        stop = threading.Event()
        encoded = 0

        def write() -> None:
            nonlocal encoded
            encoder = PngEncoder()
            while not stop.is_set():
                encoder.encode(shots[encoded % 2])  # a whole new screen each time
                encoded += 1

        job = pool.submit(write) if pool is not None else None
        times = [think() for _ in range(steps)]
        stop.set()
        if job is not None:
            job.result()
        return times, encoded

    think()
    rows = [("model alone", *timed(None))]
    with ThreadPoolExecutor(max_workers=1) as pool:
        rows.append(("writer beside it, normal priority", *timed(pool)))
    with background_pool("bench-writer") as pool:
        rows.append(("writer beside it, background", *timed(pool)))
    alone = p50(rows[0][1])
    print(f"\noverlap: a model's compute ({os.cpu_count()} torch threads) while the trajectory "
          f"writer encodes changed 1080p screenshots, {steps} forward passes each")  # fmt: skip
    print(f"{'':<38}{'p50 ms':>9}{'p95 ms':>9}{'slowdown':>10}{'PNGs':>7}")
    for label, times, encoded in rows:
        print(f"{label:<38}{p50(times):>9.2f}{p95(times):>9.2f}"
              f"{p50(times) / alone:>9.2f}x{encoded:>7}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    choices = ["http", "local", "scaling", "encode", "overlap", "all"]
    parser.add_argument("what", nargs="?", default="all", choices=choices)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if args.what in ("http", "all"):
            run_http(args.steps, tmp)
        if args.what in ("local", "all"):
            run_local(args.steps, tmp)
        if args.what in ("encode", "all"):
            run_encode(tmp)
        if args.what in ("overlap", "all"):
            run_overlap(args.steps)
        if args.what in ("scaling", "all"):
            run_scaling(max(8, args.steps // 3), tmp)


if __name__ == "__main__":
    main()
