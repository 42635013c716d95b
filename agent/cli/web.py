"""``gui-agent ui``: serves the web UI (:mod:`agent.ui.app`). :mod:`agent.cli.main` parses the
command line and calls it."""

from __future__ import annotations

import argparse


def ui(args: argparse.Namespace) -> int:
    from agent.ui.app import serve

    serve(host=args.host, port=args.port, runs=args.runs, open_browser=args.open)
    return 0
