"""``gui-agent mcp``: the desktop as tools for any MCP client (:mod:`agent.mcp`), over stdio (the
default: the client starts this command) or streamable HTTP on 127.0.0.1 behind a bearer token
(``--transport http --port P --token-env NAME``; refused without it). The desktop
(``--desktop``) is opened when the server starts and closed when it stops; one trajectory
(``--out``) records every call, closed when the client ends the session (stdin closed),
on SIGTERM or on Ctrl-C. :mod:`agent.cli.main` parses the command line and calls :func:`mcp`."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agent.cli.exit_codes import EXIT_CODES
from agent.cli.options import (
    bearer_token,
    make_grounder,
    open_desktop_from,
    policy_and_budget,
    run_directory,
    secrets_from_env,
)
from agent.errors import ConfigurationError, sigterm_raises
from agent.styles.registry import make_style

if TYPE_CHECKING:
    from agent.desktops.base import DesktopConnection
    from agent.scripts.desktop import Desktop
    from agent.trajectory import RunStatus


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _check_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}"
            ) from None


def mcp(args: argparse.Namespace) -> int:
    if args.transport == "stdio" and args.confirm != "never":
        raise ConfigurationError(
            "--confirm is refused for a stdio server: its stdin is the client's, so no one can "
            "answer a prompt (use --region, --allow-combo and the deny list, or --transport http)"
        )
    token = bearer_token(args.token_env) if args.transport == "http" else None
    try:
        from agent.mcp.server import build_server, serve
        from agent.mcp.session import DesktopSession
    except ImportError as exc:
        raise ConfigurationError(
            f"gui-agent mcp needs the MCP SDK ({exc.name} is missing): pip install 'gui-agent[mcp]'"
        ) from None
    from agent.scripts.desktop import Desktop

    if args.transport == "http":
        _check_port(args.port)
    out: Path = args.out or run_directory("mcp-")
    style = make_style(args.style, history_images=args.history_images)
    secrets = secrets_from_env(args.secret)
    policy, budget = policy_and_budget(args)
    grounder = make_grounder(args, style)

    def script(desktop: DesktopConnection, directory: Path, name: str) -> Desktop:
        return Desktop(
            grounder,
            None if args.backend == "ocr" else style,
            desktop=desktop,
            out=directory,
            name=name,
            policy=policy,
            budget=budget,
            secrets=secrets,
            max_retries=args.max_retries,
            clamp=args.clamp,
            stop_file=args.stop_file,
            settings={"server": f"mcp {args.transport}", "settle_s": args.settle},
        )

    session = DesktopSession(
        lambda: open_desktop_from(args),
        script,
        out,
        max_side=args.max_image_side,
        max_bytes=args.max_image_bytes,
        progress=_stderr,
    )
    status: RunStatus = "error"
    message = "the server failed"
    try:
        server = build_server(session, call_timeout_s=args.call_timeout, token=token,
                              port=args.port, log=_stderr)  # fmt: skip
        where = "stdio" if args.transport == "stdio" else f"http://127.0.0.1:{args.port}/mcp"
        _stderr(f"mcp server on {where} -> trajectory {out}")
        with sigterm_raises():
            serve(server, args.transport, args.port)
        status = "done"
        stdio = args.transport == "stdio"
        message = "the client ended the session" if stdio else "the server stopped"
    except KeyboardInterrupt as exc:
        status, message = "done", f"the server stopped: {exc or 'interrupted (Ctrl-C)'}"
    finally:
        message = f"{message} after {session.calls} calls"
        session.close(status, message)
        _stderr(f"mcp server: {message}; trajectory {out}")
    return EXIT_CODES[status]
