"""``gui-agent eval``: ScreenSpot-style grounding accuracy of a model (:mod:`agent.evaluation`),
resumable, with a summary table and an HTML report. :mod:`agent.cli.main` parses the command line
and calls it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agent.cli.exit_codes import EXIT_CODES
from agent.cli.options import make_backend
from agent.errors import ConfigurationError
from agent.styles.registry import make_style

#: the name that stands for the bundled sample set, where no file or folder of that name exists
SAMPLE_SET = "screenspot-sample"


def _annotations(args: argparse.Namespace) -> tuple[list[Path], Path | None]:
    """The annotation files and image folder: as given, or the bundled sample set (its
    ScreenSpot-Pro-style files and its images) for the bare name ``screenspot-sample``."""
    given: list[Path] = list(args.annotations)
    if [str(p) for p in given] != [SAMPLE_SET] or given[0].exists():
        return given, args.images
    from agent.scripts.bundled import screenspot_sample

    folder = screenspot_sample()
    return sorted(folder.glob("sample-*.json")), args.images or folder / "images"


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
        annotations, images = _annotations(args)
        if not annotations or images is None:
            raise ConfigurationError(
                f"give the annotation files and --images (or --rescore, or {SAMPLE_SET})"
            )
        style = make_style(args.style)
        ocr = args.backend == "ocr"
        prompt = make_prompt("grounding" if ocr else args.prompt, style)
        samples = load_samples(annotations, images, lang=args.lang, limit=args.limit)
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
        results = open_results(args.out, manifest_for(settings, files, images),
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
