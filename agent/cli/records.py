"""The ``gui-agent`` commands about recorded runs and evaluations: ``replay``, ``view``,
``export`` and ``eval``. :mod:`agent.cli.main` parses the command line and calls them."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.cli.main import EXIT_CODES
from agent.cli.run import desktop_parts, make_backend, make_grounder
from agent.errors import ConfigurationError
from agent.secrets import Secrets
from agent.step import Step
from agent.styles.registry import make_style


def _replay_secrets(names: Sequence[str]) -> Secrets:
    """The values of the secrets a recording types: from the environment variables of the same
    names, else asked on the terminal (never taken from the recording)."""
    values = {}
    for name in names:
        value = os.environ.get(name)
        if not value and sys.stdin.isatty():
            import getpass

            value = getpass.getpass(f"value of secret {name}: ")
        if not value:
            raise ConfigurationError(
                f"the recording types the secret {name}: set the environment variable {name}"
            )
        values[name] = value
    return Secrets(values)


def replay(args: argparse.Namespace) -> int:
    from agent.runs.recording import replayable, secrets_typed
    from agent.runs.replay import replay
    from agent.trajectory import load_trajectory

    recording = load_trajectory(args.recording)
    secrets = _replay_secrets(secrets_typed(recording, replayable(recording)))
    style = make_style(args.style)
    wanted = args.backend == "ocr" or args.model or args.base_url
    model = make_grounder(args, style) if wanted else None
    out = args.out or Path("runs") / f"replay-{recording.directory.name}-{datetime.now():%H%M%S}"
    screen, executor = desktop_parts(args)
    print(f"replay ({args.mode}) of {recording.directory} -> {out}", file=sys.stderr, flush=True)

    def progress(step: Step) -> None:
        r = step.record
        verdict = f"{r.replay.verdict} (step {r.replay.step})" if r.replay else "end"
        line = f"{step.line()} | {verdict}"
        print(secrets.redact(line), flush=True)

    result = replay(
        recording,
        screen=screen,
        executor=executor,
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


def evaluation(args: argparse.Namespace) -> int:
    from agent.evaluation.benchmarks import load_samples
    from agent.evaluation.harness import GrounderAsker, ModelAsker, evaluate
    from agent.evaluation.metric import markdown_table
    from agent.evaluation.prompts import make_prompt
    from agent.evaluation.report import write_report
    from agent.evaluation.results import manifest_for, open_results, rescore

    if args.rescore:
        summary = rescore(args.out)
    else:
        if not args.annotations or args.images is None:
            raise ConfigurationError("give the annotation files and --images (or --rescore)")
        style = make_style(args.style)
        ocr = args.backend == "ocr"
        prompt = make_prompt("grounding" if ocr else args.prompt, style)
        samples = load_samples(args.annotations, args.images, lang=args.lang, limit=args.limit)
        files = sorted({s.annotation for s in samples})
        settings = {
            "backend": args.backend,
            "model": "rapidocr" if ocr else (args.api_model or args.model),
            "style": "none" if ocr else style.name,
            "prompt": "ocr" if ocr else prompt.name,
            "prompt_fingerprint": None if ocr else prompt.fingerprint(),
            "min_pixels": None if ocr else args.min_pixels or style.min_pixels,
            "max_pixels": None if ocr else args.max_pixels or style.max_pixels,
            "decoding": "greedy",
            "max_new_tokens": args.max_new_tokens,
            "lang": args.lang,
        }
        results = open_results(args.out, manifest_for(settings, files, args.images),
                               resume=args.resume)  # fmt: skip
        print(f"{len(samples)} samples, {len(results.finished() & {s.id for s in samples})} "
              f"done before -> {args.out}", file=sys.stderr, flush=True)  # fmt: skip
        if ocr:
            from agent.grounding.ocr import OCRGrounder

            askers: list[Any] = [GrounderAsker(OCRGrounder())]
        elif args.backend == "openai":
            askers = [
                ModelAsker(make_backend(args, style, url), prompt) for url in args.base_url or [""]
            ]
        else:
            askers = [ModelAsker(make_backend(args, style), prompt)]
        summary = evaluate(
            samples, results, askers, prompt=settings["prompt"], batch_size=args.batch_size,
            concurrency=args.concurrency,
        )  # fmt: skip
    if args.report:
        print(f"report: {write_report(args.out)}", file=sys.stderr)
    print(markdown_table(summary))
    return EXIT_CODES["error"] if summary.get("infra_errors") else 0


def view(args: argparse.Namespace) -> int:
    from agent.runs.viewer import write_viewer

    page = write_viewer(args.recording)
    print(page)
    if args.open:
        import webbrowser

        webbrowser.open(page.resolve().as_uri())
    return 0


def export(args: argparse.Namespace) -> int:
    from agent.runs.export import export_runs

    report = export_runs(args.recordings, args.format, args.out, include_all=args.all)
    for line in report.lines():
        print(line)
    return 0 if report.rows else 1
