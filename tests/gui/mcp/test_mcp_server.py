"""``gui-agent mcp`` as a user starts it, driven by the official MCP SDK's own client.

The server runs as a subprocess (``python -m agent.cli mcp --backend ocr --desktop local``) on a
private 1920x1080 Xvfb with the Tk test app. Over stdio the client lists the tools, gets a
screenshot capped to 1568 px and 1 MB (decoded here), clicks a button by its label (the OCR
grounder) and one by coordinates in the screenshot's pixels, types into the entry, locates
without clicking, and gets tool errors, not key presses or crashes, for ctrl+alt+delete, a
target that does not appear and ``act`` without a model; it scrolls, drags and runs a bundled
task file (each check's verdict comes back); when the client leaves (even in the
middle of a call) the trajectory is closed and holds every call. Over HTTP a request without
the token or with a wrong one is refused (401), a client that drops mid-call leaves the server
serving the next one, and SIGTERM stops it with its trajectory closed. Every wait is bounded.
"""

from __future__ import annotations

import base64
import io
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from PIL import Image

from agent.testing.tk_app import TkApp
from agent.trajectory import StepRecord, load_trajectory
from tests.gui.conftest import ROOT

mcp = pytest.importorskip("mcp", reason="the mcp extra: pip install -e '.[mcp]'")
httpx2 = pytest.importorskip("httpx2")

from mcp import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

pytestmark = pytest.mark.gui

SIZE = (1920, 1080)
TOOLS = {"screenshot", "locate", "click", "type", "press", "scroll", "drag", "wait_for",
         "run_task", "act"}  # fmt: skip
TOKEN = "mcp-test-token-0123456789abcdef"
CALL_S = 60  # no call of these tests takes more; a hang fails instead of blocking the suite


def server_env(display: Any) -> dict[str, str]:
    return {
        **display.env,
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "MCP_TEST_TOKEN": TOKEN,
    }


def server_args(out: Path, *extra: str) -> list[str]:
    return ["-m", "agent.cli", "mcp", "--backend", "ocr", "--desktop", "local", "--settle", "0.1",
            "--out", str(out), *extra]  # fmt: skip


def verb(step: StepRecord) -> str:
    """What call a step belongs to: its target's verb, else its action (type, key)."""
    if step.targets:
        return step.targets[0].verb
    return step.parsed[0].action if step.parsed else "?"


def calls(steps: list[StepRecord]) -> list[str]:
    """The calls a trajectory holds, in order (the looks of one wait_for are one call)."""
    found: list[str] = []
    for step in steps:
        name = verb(step)
        if not (name == "wait_for" and found and found[-1] == "wait_for"):
            found.append(name)
    return found


def text(result: Any) -> str:
    return "\n".join(c.text for c in result.content if c.type == "text")


async def call(session: ClientSession, name: str, arguments: dict[str, Any]) -> Any:
    with anyio.fail_after(CALL_S):
        return await session.call_tool(name, arguments)


@pytest.fixture
def desktop(virtual_display: Any, tmp_path: Path) -> Iterator[tuple[Any, TkApp]]:
    display = virtual_display(*SIZE)
    app = TkApp.launch(display.env, tmp_path / "tk_state.json", x=300, y=200)
    try:
        yield display, app
    finally:
        app.close()


def test_stdio_screenshot_click_type_and_errors_all_recorded(
    desktop: tuple[Any, TkApp], tmp_path: Path
) -> None:
    display, app = desktop
    out = tmp_path / "session"
    params = StdioServerParameters(
        command=sys.executable, args=server_args(out), env=server_env(display), cwd=str(tmp_path)
    )
    seen: dict[str, Any] = {}

    async def client() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            with anyio.fail_after(CALL_S):
                await session.initialize()
                listed = await session.list_tools()
            seen["tools"] = {tool.name: tool for tool in listed.tools}

            shot = await call(session, "screenshot", {})
            assert not shot.is_error, text(shot)
            image = next(c for c in shot.content if c.type == "image")
            assert image.mime_type == "image/png"
            png = base64.b64decode(image.data)
            seen["png"] = (len(png), Image.open(io.BytesIO(png)).size)
            seen["caption"] = text(shot)

            seen["cancel"] = await call(session, "click", {"target": "Cancel"})
            ex, ey = app.center("entry")  # the entry has no text: clicked by coordinates
            width, height = seen["png"][1]
            at = {"x": ex * width / SIZE[0], "y": ey * height / SIZE[1]}
            seen["entry"] = await call(session, "click", at)
            seen["typed"] = await call(session, "type", {"text": "hello mcp"})
            ox, oy = app.center("ok")
            seen["ok"] = await call(session, "click", {"x": ox * width / SIZE[0],
                                                       "y": oy * height / SIZE[1]})  # fmt: skip
            seen["locate"] = await call(session, "locate", {"target": "the OK button"})
            seen["combo"] = await call(session, "press", {"keys": "ctrl+alt+delete"})
            seen["combo_list"] = await call(session, "press", {"keys": ["ctrl", "alt", "delete"]})
            seen["missing"] = await call(session, "wait_for", {"target": "Nowhere", "timeout_s": 1})
            seen["act"] = await call(session, "act", {"instruction": "save the file"})
            seen["enter"] = await call(session, "press", {"keys": ["enter"]})
            seen["scroll"] = await call(session, "scroll", {"direction": "down", "amount": 2})
            seen["drag"] = await call(session, "drag", {"from": "OK", "to": "Cancel"})
            seen["state"] = app.state()
            task = {"path": "save-preferences", "vars": {"user": "Grace"}}
            seen["task"] = await call(session, "run_task", task)
            # the client leaves in the middle of a long wait: the server ends, trajectory closed
            with anyio.move_on_after(2):
                await session.call_tool("wait_for", {"target": "Nowhere", "timeout_s": 40})

    started = time.monotonic()
    anyio.run(client)
    assert time.monotonic() - started < 120

    assert set(seen["tools"]) == TOOLS
    for tool in seen["tools"].values():
        assert len(tool.description) > 40 and tool.input_schema["type"] == "object"
    assert set(seen["tools"]["drag"].input_schema["required"]) == {"from", "to"}

    size, (width, height) = seen["png"]
    assert (width, height) == (1568, 882) and size <= 1_000_000
    assert "1568x882" in seen["caption"] and "screen units per screenshot pixel" in seen["caption"]

    for name in ("cancel", "entry", "typed", "ok", "locate", "enter", "scroll", "drag", "task"):
        assert not seen[name].is_error, f"{name}: {text(seen[name])}"
    state = seen["state"]
    assert state["clicks"] == {"ok": 1, "cancel": 1}
    assert state["entry_text"] == "hello mcp"
    assert state["last_click"]["widget"] == "ok" and state["last_click"]["button"] == 1
    found = json.loads(text(seen["locate"]))
    x, y, w, h = app.widget("ok")
    assert x <= found["screen"]["x"] < x + w and y <= found["screen"]["y"] < y + h
    assert found["box"]["left"] >= x - 2 and found["box"]["right"] <= x + w + 2
    assert abs(found["screenshot"]["x"] - found["screen"]["x"] * width / SIZE[0]) <= 1

    for name in ("combo", "combo_list"):
        assert seen[name].is_error and "Refused" in text(seen[name]), text(seen[name])
        assert "ctrl+alt+delete" in text(seen[name]) and "\n" not in text(seen[name])
    assert not any("Delete" in key for key in state["keys"])  # no key of it reached the app
    assert "Return" in state["keys"]  # the server went on after the refusals
    assert state["mouse"]["scroll"] == -2
    assert [d["widget"] for d in state["drags"]] == ["ok"]
    verdicts = text(seen["task"]).splitlines()
    assert verdicts[0] == "done: every check passed"
    assert sum(line.startswith("check ") and "passed" in line for line in verdicts) == 2
    assert seen["missing"].is_error and "WaitTimeout" in text(seen["missing"])
    assert seen["act"].is_error and "vision-language model" in text(seen["act"])

    trajectory = load_trajectory(out)
    assert trajectory.meta.status == "done", trajectory.meta.message
    assert "the client ended the session" in (trajectory.meta.message or "")
    assert calls(trajectory.steps) == [
        "screenshot", "click", "click", "type", "click", "locate", "key", "key", "wait_for",
        "act", "key", "scroll", "drag", "run_task", "wait_for",
    ]  # fmt: skip
    assert load_trajectory(out / "tasks" / "01-save-preferences").meta.status == "done"
    refused = [s for s in trajectory.steps if verb(s) == "key"][:2]
    assert all((s.error or "").startswith("Refused") and not s.results for s in refused)
    by_coordinates = trajectory.steps[2]
    assert by_coordinates.frame is not None and by_coordinates.frame.width == 1568
    assert by_coordinates.targets[0].located_by == "client"


@asynccontextmanager
async def http_session(url: str, token: str | None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=CALL_S) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                with anyio.fail_after(CALL_S):
                    await session.initialize()
                yield session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_listening(port: int, server: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited: {server.communicate(timeout=10)[1][-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def test_http_needs_the_token_survives_a_dropped_client_and_stops_on_sigterm(
    desktop: tuple[Any, TkApp], tmp_path: Path
) -> None:
    display, app = desktop
    port = free_port()
    out = tmp_path / "http-session"
    args = server_args(out, "--transport", "http", "--port", str(port),
                       "--token-env", "MCP_TEST_TOKEN")  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, *args], env=server_env(display), cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    seen: dict[str, Any] = {}

    async def clients() -> None:
        hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
        accept = {"Accept": "application/json, text/event-stream"}
        async with httpx2.AsyncClient(timeout=CALL_S) as raw:
            seen["no_token"] = (await raw.post(url, json=hello, headers=accept)).status_code
            wrong = {**accept, "Authorization": "Bearer not-the-token"}
            seen["wrong_token"] = (await raw.post(url, json=hello, headers=wrong)).status_code
        try:
            async with http_session(url, "not-the-token") as session:
                seen["sdk_wrong_token"] = await session.list_tools()
        except Exception as exc:  # noqa: BLE001 - refused: the SDK raises (an ExceptionGroup)
            seen["sdk_wrong_token"] = exc
        async with http_session(url, TOKEN) as session:
            seen["tools"] = {t.name for t in (await session.list_tools()).tools}
            shot = await call(session, "screenshot", {})
            image = next(c for c in shot.content if c.type == "image")
            seen["size"] = Image.open(io.BytesIO(base64.b64decode(image.data))).size
            seen["ok"] = await call(session, "click", {"target": "OK"})
            seen["combo"] = await call(session, "press", {"keys": "ctrl+alt+delete"})
        # a client that drops in the middle of a call, without a word
        with anyio.CancelScope() as drop:
            async with http_session(url, TOKEN) as session:
                drop.deadline = anyio.current_time() + 1.5
                await session.call_tool("wait_for", {"target": "Nowhere", "timeout_s": 5})
        started = time.monotonic()
        async with http_session(url, TOKEN) as session:
            seen["after_drop"] = await call(session, "click", {"target": "Cancel"})
        seen["after_drop_s"] = time.monotonic() - started

    try:
        wait_listening(port, server)
        anyio.run(clients)
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate(timeout=10)

    assert seen["no_token"] == 401 and seen["wrong_token"] == 401
    assert isinstance(seen["sdk_wrong_token"], Exception)
    assert seen["tools"] == TOOLS and seen["size"] == (1568, 882)
    assert not seen["ok"].is_error, text(seen["ok"])
    assert seen["combo"].is_error and "Refused" in text(seen["combo"])
    assert not seen["after_drop"].is_error, text(seen["after_drop"])
    assert seen["after_drop_s"] < 30
    state = app.state()
    assert state["clicks"] == {"ok": 1, "cancel": 1}
    assert not any("Delete" in key for key in state["keys"])
    assert server.returncode == 0, stderr[-3000:]
    assert TOKEN not in stderr
    trajectory = load_trajectory(out)
    assert trajectory.meta.status == "done"
    assert "SIGTERM" in (trajectory.meta.message or "")
    assert calls(trajectory.steps) == ["screenshot", "click", "key", "wait_for", "click"]
    assert not any(TOKEN in p.read_text(errors="replace") for p in out.rglob("*.json*"))


def test_the_command_refuses_http_without_a_token_and_confirm_over_stdio(
    virtual_display: Any, gui_agent: Any, tmp_path: Path
) -> None:
    display = virtual_display(640, 480)
    env = {"MCP_TEST_TOKEN": ""}
    no_token = gui_agent(display, "mcp", "--transport", "http", "--backend", "ocr",
                         timeout=120, env=env, cwd=tmp_path)  # fmt: skip
    assert no_token.returncode == 2
    assert "--token-env" in no_token.stderr and no_token.stdout == ""
    empty = gui_agent(display, "mcp", "--transport", "http", "--token-env", "MCP_TEST_TOKEN",
                      "--backend", "ocr", timeout=120, env=env, cwd=tmp_path)  # fmt: skip
    assert empty.returncode == 2 and "MCP_TEST_TOKEN is unset" in empty.stderr
    confirm = gui_agent(display, "mcp", "--confirm", "risky", "--backend", "ocr",
                        timeout=120, cwd=tmp_path)  # fmt: skip
    assert confirm.returncode == 2 and "--confirm is refused" in confirm.stderr
    assert confirm.stdout == ""  # a stdio server writes nothing but the protocol to stdout
    assert not any(tmp_path.iterdir())  # refused before anything was opened or recorded
