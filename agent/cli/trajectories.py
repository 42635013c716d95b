"""The ``gui-agent`` commands about recorded runs: ``replay`` (without the model), ``view`` (the
static HTML viewer) and ``export`` (fine-tuning rows). :mod:`agent.cli.main` parses the command
line and calls them."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from agent.cli.exit_codes import EXIT_CODES
from agent.cli.options import (
    make_grounder,
    open_desktop_from,
    open_in_browser,
    recorded_secrets,
    run_directory,
)
from agent.styles.registry import make_style

if TYPE_CHECKING:
    from agent.step import Step


def replay(args: argparse.Namespace) -> int:
    from agent.runs.recording import replayable, secrets_typed
    from agent.runs.replay import replay
    from agent.trajectory import load_trajectory

    recording = load_trajectory(args.recording)
    secrets = recorded_secrets(secrets_typed(recording, replayable(recording)))
    style = make_style(args.style)
    wanted = args.backend == "ocr" or args.model or args.base_url
    model = make_grounder(args, style) if wanted else None
    out = args.out or run_directory(f"replay-{recording.directory.name}-", "%H%M%S")

    def progress(step: Step) -> None:
        r = step.record
        verdict = f"{r.replay.verdict} (step {r.replay.step})" if r.replay else "end"
        line = f"{step.line()} | {verdict}"
        print(secrets.redact(line), flush=True)

    with open_desktop_from(args) as desktop:
        print(
            f"replay ({args.mode}) of {recording.directory} -> {out}", file=sys.stderr, flush=True
        )
        result = replay(
            recording,
            desktop=desktop,
            mode=args.mode,
            out=out,
            model=model,
            style=None if args.backend == "ocr" else style,
            secrets=secrets,
            settle_timeout_s=args.settle_timeout,
            target_timeout_s=args.target_timeout,
            max_retries=args.max_retries,
            stop_file=args.stop_file,
            progress=progress,
        )
    counts = ", ".join(f"{n} {v}" for v, n in sorted(result.verdicts.items()))
    print(secrets.redact(f"{result.status}: {result.message} ({counts})"), flush=True)
    return EXIT_CODES[result.status]


def view(args: argparse.Namespace) -> int:
    from agent.runs.viewer import write_viewer

    page = write_viewer(args.recording)
    print(page)
    if args.open:
        open_in_browser(page)
    return 0


def export(args: argparse.Namespace) -> int:
    from agent.runs.export import export_runs

    report = export_runs(args.recordings, args.format, args.out, include_all=args.all)
    for line in report.lines():
        print(line)
    return 0 if report.rows else EXIT_CODES["failed"]
