"""The MCP server: the session's calls as tools, on the official SDK (the ``mcp`` extra).

:func:`build_server` makes an ``MCPServer`` whose tools (names fixed: ``screenshot``, ``locate``,
``click``, ``type``, ``press``, ``scroll``, ``drag``, ``wait_for``, ``run_task``, ``act``) call a
:class:`~agent.mcp.session.DesktopSession` in a worker thread, each under a timeout. An error of
the library (a refusal of the policy, NotFound, a timeout, bad arguments) comes back as a tool
error with its one-line message, never as a crash of the server; a call the client stops waiting
for (its timeout, a disconnect) is abandoned: it does nothing more. :func:`serve` runs it over
stdio (nothing but the protocol on stdout) or streamable HTTP on 127.0.0.1 behind a bearer
token (no token or a wrong one: HTTP 401).
"""

from __future__ import annotations

import hmac
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio
import anyio.to_thread
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from agent.errors import AgentError
from agent.mcp.session import DesktopSession

__all__ = ["INSTRUCTIONS", "TOOLS", "build_server", "serve"]

T = TypeVar("T")
Transport = Literal["stdio", "http"]

#: the tools, in the order they are listed
TOOLS = (
    "screenshot", "locate", "click", "type", "press", "scroll", "drag", "wait_for", "run_task",
    "act",
)  # fmt: skip

INSTRUCTIONS = (
    "Drive a computer's desktop. Take a screenshot to see it; name what to act on in words "
    "(a target such as 'the Save button', found on the screen for you) or give x, y in the "
    "pixels of the last screenshot. Every call is checked by a safety policy (dangerous key "
    "combos are refused) and recorded."
)

_TARGET = "what to act on, in words: its visible text or a short description, e.g. 'Save' or 'the OK button'"  # noqa: E501
_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_ACTS = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True)


class _Token:
    """The bearer token the HTTP server accepts (compared in constant time)."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._token):
            return AccessToken(token=token, client_id="gui-agent-client", scopes=[])
        return None


def _one_line(text: str, limit: int = 600) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def build_server(
    session: DesktopSession,
    *,
    call_timeout_s: float = 300.0,
    token: str | None = None,
    port: int | None = None,
    log: Callable[[str], None] | None = None,
) -> MCPServer[Any]:
    """The server of ``session``'s tools. ``token``: the bearer token an HTTP client must send
    (served on ``port``); ``call_timeout_s``: the longest a call may take (``wait_for``: its
    own timeout on top); ``log`` gets one line per call (default: stderr)."""
    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    auth: dict[str, Any] = {}
    if token is not None:
        base = f"http://127.0.0.1:{port or 0}"
        auth = {
            "token_verifier": _Token(token),
            "auth": AuthSettings(
                issuer_url=base,  # type: ignore[arg-type]
                resource_server_url=f"{base}/mcp",  # type: ignore[arg-type]
                required_scopes=[],
                validate_token_resource=False,
            ),
        }
    server: MCPServer[Any] = MCPServer(
        "gui-agent", instructions=INSTRUCTIONS, log_level="WARNING", **auth
    )

    async def run(name: str, work: Callable[[threading.Event], T], timeout_s: float) -> T:
        abandoned = threading.Event()
        started = time.monotonic()
        finished = False
        try:
            with anyio.fail_after(timeout_s):
                result = await anyio.to_thread.run_sync(
                    lambda: work(abandoned), abandon_on_cancel=True
                )
            finished = True
            say(f"mcp: {name}: ok ({time.monotonic() - started:.2f} s)")
            return result
        except TimeoutError:
            message = f"no answer within {timeout_s:g} s: the call was abandoned"
            say(f"mcp: {name}: {message}")
            raise ToolError(message) from None
        except anyio.get_cancelled_exc_class():
            say(f"mcp: {name}: abandoned (the client cancelled it or went away)")
            raise
        except AgentError as exc:
            message = _one_line(session.desktop.secrets.redact(f"{type(exc).__name__}: {exc}"))
            say(f"mcp: {name}: {message}")
            raise ToolError(message) from None
        except Exception as exc:  # a bug: said in one line, the server goes on
            message = _one_line(f"internal error: {type(exc).__name__}: {exc}")
            say(f"mcp: {name}: {message}")
            raise ToolError(message) from None
        finally:
            if not finished:
                abandoned.set()  # timed out, cancelled (the client went away) or failed

    @server.tool(
        name="screenshot",
        description=(
            "Take a screenshot of the desktop. Returns a PNG (its longest side and size capped) "
            "and a line with its size and its scale to screen pixels. Use it to see the screen; "
            "click(x, y) takes x, y in the pixels of the last screenshot."
        ),
        annotations=_READ_ONLY,
        structured_output=False,
    )
    async def screenshot() -> list[Image | str]:
        taken, monitor = await run("screenshot", lambda a: session.screenshot(a), call_timeout_s)
        return [Image(data=taken.png, format="png"), taken.describe(monitor)]

    @server.tool(
        name="locate",
        description=(
            "Find an element on the screen without clicking it. Returns its point and box in "
            "screen units, and the point in the last screenshot's pixels. An error if it is not "
            "on the screen."
        ),
        annotations=_READ_ONLY,
        structured_output=False,
    )
    async def locate(target: Annotated[str, Field(description=_TARGET)]) -> str:
        found = await run("locate", lambda a: session.locate(target, a), call_timeout_s)
        return json.dumps(found)

    @server.tool(
        name="click",
        description=(
            "Click an element named by `target` (found on the screen for you), or the point x, y "
            "in the pixels of the last screenshot (give a target or x and y). `button`: left, "
            "right or middle; `count`: 2 for a double click."
        ),
        annotations=_ACTS,
        structured_output=False,
    )
    async def click(
        target: Annotated[str | None, Field(description=_TARGET)] = None,
        x: Annotated[
            float | None, Field(description="horizontal pixel in the last screenshot", ge=0)
        ] = None,
        y: Annotated[
            float | None, Field(description="vertical pixel in the last screenshot", ge=0)
        ] = None,
        button: Annotated[
            Literal["left", "right", "middle"], Field(description="the mouse button")
        ] = "left",
        count: Annotated[int, Field(description="clicks: 1, 2 (double) or 3", ge=1, le=3)] = 1,
    ) -> str:
        return await run(
            "click",
            lambda a: session.click(target, x, y, button=button, count=count, abandoned=a),
            call_timeout_s,
        )

    @server.tool(
        name="type",
        description=(
            "Type text with the keyboard into the focused field, or first click the field named "
            "by `into`. Use press for keys such as enter or ctrl+s."
        ),
        annotations=_ACTS,
        structured_output=False,
    )
    async def type_text(
        text: Annotated[str, Field(description="the text to type, exactly")],
        into: Annotated[
            str | None, Field(description="the field to click first, in words (optional)")
        ] = None,
    ) -> str:
        return await run("type", lambda a: session.type_text(text, into, a), call_timeout_s)

    @server.tool(
        name="press",
        description=(
            "Press a key, or a key combination held together in order: ['enter'], "
            "['ctrl', 's'], or one string 'ctrl+s'. Key names: enter, tab, esc, backspace, "
            "delete, up, down, left, right, home, end, pageup, pagedown, f1..f12, ctrl, alt, "
            "shift, win, or a character. Session-ending combos (ctrl+alt+delete, alt+f4, ...) "
            "are refused."
        ),
        annotations=_ACTS,
        structured_output=False,
    )
    async def press(
        keys: Annotated[
            list[str] | str,
            Field(description="key names in order, or one string joined by +, e.g. 'ctrl+s'"),
        ],
    ) -> str:
        names = _keys(keys)
        return await run("press", lambda a: session.press(names, a), call_timeout_s)

    @server.tool(
        name="scroll",
        description=(
            "Turn the mouse wheel `amount` clicks in `direction`, over the element named by `at` "
            "(or where the pointer is)."
        ),
        annotations=_ACTS,
        structured_output=False,
    )
    async def scroll(
        direction: Annotated[
            Literal["up", "down", "left", "right"], Field(description="which way")
        ],
        amount: Annotated[int, Field(description="wheel clicks", ge=1, le=50)] = 3,
        at: Annotated[
            str | None, Field(description="the element to scroll over, in words (optional)")
        ] = None,
    ) -> str:
        return await run(
            "scroll", lambda a: session.scroll(direction, amount, at, a), call_timeout_s
        )

    @server.tool(
        name="drag",
        description="Press the left button on one element and release it on another.",
        annotations=_ACTS,
        structured_output=False,
    )
    async def drag(
        start: Annotated[
            str, Field(validation_alias="from", description="where to press, in words")
        ],
        to: Annotated[str, Field(description="where to release, in words")],
    ) -> str:
        return await run("drag", lambda a: session.drag(start, to, a), call_timeout_s)

    @server.tool(
        name="wait_for",
        description=(
            "Wait until an element is visible on the screen, looking about twice a second; an "
            "error if it does not appear within timeout_s."
        ),
        annotations=_READ_ONLY,
        structured_output=False,
    )
    async def wait_for(
        target: Annotated[str, Field(description=_TARGET)],
        timeout_s: Annotated[
            float, Field(description="seconds to wait at most", gt=0, le=600)
        ] = 10.0,
    ) -> str:
        return await run(
            "wait_for",
            lambda a: session.wait_for(target, timeout_s, a),
            timeout_s + call_timeout_s,
        )

    @server.tool(
        name="run_task",
        description=(
            "Run a task file (YAML: an app to launch, steps, checks), or a bundled task by name "
            "(save-preferences, pay-invoice, sign-in). Returns the task's status and each "
            "check's verdict."
        ),
        annotations=_ACTS,
        structured_output=False,
    )
    async def run_task(
        path: Annotated[str, Field(description="the task file's path, or a bundled task's name")],
        vars: Annotated[
            dict[str, str] | None,
            Field(description="task variables to set, name -> value (optional)"),
        ] = None,
    ) -> str:
        result = await run("run_task", lambda a: session.run_task(path, vars, a), call_timeout_s)
        lines = [f"{result.status}: {result.message}"]
        lines += [
            f"check {c.check}: {'passed' if c.passed else 'FAILED'} ({c.detail})"
            for c in result.checks
        ]
        lines.append(f"trajectory: {result.trajectory}")
        return "\n".join(lines)

    @server.tool(
        name="act",
        description=(
            "Hand a sub-goal to the vision-language model the server runs (the agent loop, up "
            "to max_steps steps), e.g. 'open the File menu and choose Save'. Needs a model: "
            "not available when the server locates with OCR only."
        ),
        annotations=_ACTS,
        structured_output=False,
    )
    async def act(
        instruction: Annotated[str, Field(description="the sub-goal, in plain words")],
        max_steps: Annotated[int, Field(description="steps at most", ge=1, le=50)] = 10,
    ) -> str:
        return await run("act", lambda a: session.act(instruction, max_steps, a), call_timeout_s)

    return server


def _keys(keys: list[str] | str) -> list[str]:
    """``press``'s keys: a list as given, a string split on ``+`` (a lone ``+`` is the key)."""
    if isinstance(keys, list):
        return keys
    text = keys.strip()
    if text == "+" or "+" not in text:
        return [text]
    return [part.strip() for part in text.split("+") if part.strip()]


def serve(server: MCPServer[Any], transport: Transport = "stdio", port: int = 8765) -> None:
    """Run ``server`` until the client closes stdio, or until SIGTERM/Ctrl-C for HTTP (bound to
    127.0.0.1, path ``/mcp``); a signal's KeyboardInterrupt is raised to the caller after the
    server stopped."""
    if transport == "stdio":
        anyio.run(server.run_stdio_async)
        return
    import uvicorn

    app = server.streamable_http_app(host="127.0.0.1")
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=3
    )
    anyio.run(uvicorn.Server(config).serve)
