"""``gui-agent ui``: serves the web UI (:mod:`agent.ui.app`). :mod:`agent.cli.main` parses the
command line and calls it."""

from __future__ import annotations

import argparse

from agent.cli.options import vnc_password


def ui(args: argparse.Namespace) -> int:
    from agent.desktops.base import DesktopSpec
    from agent.ui.app import serve

    desktop = DesktopSpec.parse(args.desktop)
    password = vnc_password(args) if desktop.kind == "vnc" else None
    serve(
        host=args.host,
        port=args.port,
        runs=args.runs,
        open_browser=args.open,
        desktop=desktop,
        password=password,
    )
    return 0
