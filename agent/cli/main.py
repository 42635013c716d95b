"""gui-agent: drive a desktop with a vision-language model, evaluate grounding, replay runs.

``gui-agent run INSTRUCTION --model MODEL`` drives the desktop until the model terminates or the
budget ends; one progress line per step. Exit codes (:data:`EXIT_CODES`): 0 the task ended with
success, 1 it failed (the model said so, unusable answers, a loop), 2 bad usage or
configuration, 3 out of steps or budget, 4 an error of the run (capture, backend, recording),
5 aborted (fail-safe, Ctrl-C, SIGTERM, stop file). Errors are one line.
``gui-agent run --task FILE.yaml`` runs a task file (:mod:`agent.scripts.task_file`): its app, its steps
through the grounder (``--backend ocr`` needs no model) and the location cache, its checks; the
exit code is 0 only if every check passed.
``gui-agent ground IMAGE INSTRUCTION`` prints where an element is and draws it.
``gui-agent export RUN_DIR... --format swift|messages --out FILE.jsonl [--all]`` writes the
successful runs' steps as fine-tuning rows (:mod:`agent.runs.export`); exit code 1 if none was written.
``gui-agent demo`` runs a bundled task on a private virtual display (:mod:`agent.scripts.demo`) with
the offline OCR grounder, or a model if one is given and usable, and writes its HTML report.
``gui-agent eval FILES... --images DIR --out DIR`` measures grounding accuracy ScreenSpot-style
(:mod:`agent.evaluation`); ``gui-agent ui`` serves the web UI (:mod:`agent.ui.app`, 127.0.0.1).
``gui-agent view RUN_DIR [--open]`` writes the run's static HTML viewer, ``RUN_DIR/index.html``.
``gui-agent replay RUN_DIR [--mode exact|scaled|reground]`` replays a recorded run without the
model (:mod:`agent.runs.replay`), recorded like a run; the exit code is the replay's status (1 when it
diverged: nothing of the diverging step was done).

This module parses the command line; the commands are in :mod:`agent.cli.run` (run, ground,
demo, ui) and :mod:`agent.cli.records` (replay, view, export, eval), imported when they run.
Environment variables are read there and nowhere else: the API key of the OpenAI-compatible
backend (``--api-key-env``, default ``OPENAI_API_KEY``), the values of ``--secret NAME`` and of
the secrets a replayed run types; none is ever written to a trajectory or printed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import get_args

from actions.policy import Region
from agent.errors import AgentError, ConfigurationError, ModelError
from agent.screen.capture import MonitorChoice
from agent.scripts.location_cache import CacheMode
from agent.styles.registry import STYLE_NAMES
from agent.trajectory import ReplayMode, RunStatus

__all__ = ["EXIT_CODES", "main"]

#: exit code per final run status; 2 is a usage or configuration error
EXIT_CODES: dict[RunStatus, int] = {
    "done": 0,
    "failed": 1,
    "max_steps": 3,
    "budget": 3,
    "error": 4,
    "aborted": 5,
}


def _monitor(value: str) -> MonitorChoice:
    if value == "primary":
        return "primary"
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'primary', got {value!r}") from None


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {number}")
    return number


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return number


def _model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--backend",
        choices=["transformers", "openai", "ocr"],
        default="transformers",
        help="ocr: RapidOCR text matching on the CPU (tasks and ground only; the ocr extra)",
    )
    group.add_argument("--model", help="Hub id or checkpoint directory (transformers backend)")
    group.add_argument(
        "--base-url",
        action="append",
        help="OpenAI-compatible endpoint, e.g. http://host:8000/v1 (eval: repeatable, one per "
        "server replica)",
    )
    group.add_argument("--api-model", help="model name the server serves (openai backend)")
    group.add_argument("--api-key-env", default="OPENAI_API_KEY", help="env var with the key")
    group.add_argument("--timeout", type=_positive_float, default=120.0, help="seconds per call")
    group.add_argument("--retries", type=int, default=3, help="retries on 429/5xx/timeouts")
    group.add_argument("--style", default="qwen25vl", choices=STYLE_NAMES, help="prompt+parser")
    group.add_argument("--min-pixels", type=_positive_int, help="default: the style's family")
    group.add_argument("--max-pixels", type=_positive_int, help="default: the style's family")
    group.add_argument("--max-new-tokens", type=_positive_int, default=256)
    group.add_argument("--device", default="auto", help="cuda, cuda:1, cpu or auto")
    group.add_argument("--clamp", action="store_true", help="clamp points outside the image")
    group.add_argument(
        "--no-token-check",
        action="store_true",
        help="openai backend: do not compare the server's prompt-token count with the images' "
        "visual tokens (for servers that do not count cached tokens)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gui-agent", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="carry out an instruction on the desktop")
    run.add_argument("instruction", nargs="?", help="what to do, in plain words")
    run.add_argument("--task", type=Path, help="a task file (YAML) to run instead")
    run.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a task variable (repeatable)",
    )
    run.add_argument("--cache", type=Path, help="location cache file (default: beside the task)")
    run.add_argument("--cache-mode", choices=get_args(CacheMode), default="read-write")
    _model_options(run)
    run.add_argument("--max-steps", type=_positive_int, default=15, help="model calls at most")
    run.add_argument("--max-retries", type=int, default=2, help="bad answers in a row fed back")
    run.add_argument("--monitor", type=_monitor, default="primary", help="N (mss index) or primary")
    run.add_argument("--scale", type=_positive_float, help="physical px per unit (else measured)")
    run.add_argument("--out", type=Path, default=None, help="trajectory directory")
    run.add_argument("--dry-run", action="store_true", help="decide but do not act")
    run.add_argument("--settle", type=float, default=0.3, help="seconds to wait after an action")
    run.add_argument("--history-images", type=int, default=None, help="past screenshots shown")
    safety = run.add_argument_group("safety")
    safety.add_argument(
        "--confirm",
        choices=["never", "risky", "always"],
        default="never",
        help="ask on the terminal before every step, or only before typing, key combos, drags "
        "and points outside --region",
    )
    safety.add_argument("--region", type=Region.parse, help="allowed area X,Y,W,H (screen units)")
    safety.add_argument(
        "--allow-combo",
        action="append",
        default=[],
        metavar="COMBO",
        help="allow a denied key combo, e.g. alt+f4 (repeatable)",
    )
    safety.add_argument("--max-seconds", type=_positive_float, help="wall-time budget")
    safety.add_argument("--max-model-calls", type=_positive_int, help="model-call budget")
    safety.add_argument("--max-tokens", type=_positive_int, help="prompt+completion token budget")
    safety.add_argument(
        "--loop-limit", type=int, default=3, help="same step on an unchanged screen (0: off)"
    )
    safety.add_argument("--stop-file", type=Path, help="stop before the next action once it exists")
    safety.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME",
        help="environment variable whose value the model may type as {NAME} (repeatable)",
    )
    rep = commands.add_parser("replay", help="replay a recorded run, without the model")
    rep.add_argument("recording", type=Path, help="the recorded run's trajectory directory")
    rep.add_argument(
        "--mode",
        choices=get_args(ReplayMode),
        default="exact",
        help="exact: the recorded screen points; scaled: mapped onto this monitor's resolution, "
        "scale and origin; reground: checked against the recorded screenshot first, asked "
        "again where the screen differs (needs a model, else the replay stops there)",
    )
    rep.add_argument("--out", type=Path, default=None, help="the replay's trajectory directory")
    rep.add_argument("--monitor", type=_monitor, default="primary", help="N (mss index) or primary")
    rep.add_argument("--scale", type=_positive_float, help="physical px per unit (else measured)")
    rep.add_argument("--dry-run", action="store_true", help="decide but do not act")
    rep.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="seconds to wait after each action (the replay waits for the screen to settle "
        "before each step anyway)",
    )
    rep.add_argument(
        "--settle-timeout",
        type=float,
        default=5.0,
        help="seconds to wait for two equal captures before each step",
    )
    rep.add_argument(
        "--target-timeout",
        type=float,
        default=2.0,
        help="reground: seconds to keep looking for a recorded target not shown yet",
    )
    rep.add_argument("--stop-file", type=Path, help="stop before the next action once it exists")
    rep.add_argument("--max-retries", type=int, default=1, help="bad re-grounding answers retried")
    _model_options(rep)
    demo = commands.add_parser(
        "demo", help="run a bundled task on a private virtual display (no model needed)"
    )
    demo.add_argument("--task", default="save-preferences", help="a task file in tasks/")
    demo.add_argument("--out", type=Path, default=None, help="trajectory directory")
    demo.add_argument("--open", action="store_true", help="open the report in the web browser")
    _model_options(demo)
    ui = commands.add_parser("ui", help="the web UI: ground, run on a private display, browse")
    ui.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    ui.add_argument("--port", type=int, default=7860)
    ui.add_argument("--runs", type=Path, default=Path("runs"), help="where runs are recorded")
    ui.add_argument("--open", action="store_true", help="open it in the web browser")
    view = commands.add_parser("view", help="write a recorded run's HTML viewer")
    view.add_argument("recording", type=Path, help="the run's trajectory directory")
    view.add_argument("--open", action="store_true", help="open it in the web browser")
    export = commands.add_parser("export", help="turn recorded runs into fine-tuning data")
    export.add_argument("recordings", nargs="+", type=Path, help="trajectory directories")
    export.add_argument(
        "--format",
        choices=["swift", "messages"],
        default="swift",
        help="swift: ms-swift's custom dataset rows; messages: OpenAI-style chat rows",
    )
    export.add_argument("--out", type=Path, required=True, help="the JSONL file to write")
    export.add_argument("--all", action="store_true", help="runs that did not succeed too")
    ev = commands.add_parser("eval", help="ScreenSpot-style grounding accuracy of a model")
    ev.add_argument("annotations", nargs="*", type=Path, help="annotation files or folders")
    ev.add_argument("--images", type=Path, help="the folder the annotations' images are in")
    ev.add_argument("--out", type=Path, required=True, help="the evaluation's directory")
    ev.add_argument(
        "--prompt",
        choices=["grounding", "screenspot-pro"],
        default="grounding",
        help="grounding: the style's own; screenspot-pro: the official harness's Qwen2.5-VL "
        "prompt (the answer prefilled up to the coordinate)",
    )
    ev.add_argument("--lang", choices=["en", "cn"], default="en", help="cn: instruction_cn")
    ev.add_argument("--limit", type=_positive_int, help="the first N samples only")
    ev.add_argument("--resume", action="store_true", help="continue an interrupted evaluation")
    ev.add_argument("--rescore", action="store_true", help="recompute the summary, no model")
    ev.add_argument("--batch-size", type=_positive_int, default=1, help="local: per generate()")
    ev.add_argument("--concurrency", type=_positive_int, default=1, help="http: in flight")
    ev.add_argument(
        "--report", action=argparse.BooleanOptionalAction, default=True, help="report.html"
    )
    _model_options(ev)
    ground = commands.add_parser("ground", help="locate one element in an image")
    ground.add_argument("image", type=Path, help="screenshot (PNG, JPEG, ...)")
    ground.add_argument("instruction", help="the element, e.g. 'the OK button'")
    _model_options(ground)
    ground.add_argument("--out", type=Path, default=None, help="annotated image (default: beside)")
    return parser


#: command -> "module:function" (imported when the command runs: the CLI starts light)
_COMMANDS = {
    "run": "agent.cli.run:run",
    "ground": "agent.cli.run:ground",
    "demo": "agent.cli.run:demo",
    "ui": "agent.cli.run:ui",
    "replay": "agent.cli.records:replay",
    "view": "agent.cli.records:view",
    "export": "agent.cli.records:export",
    "eval": "agent.cli.records:evaluation",
}


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    module, function = _COMMANDS[name].split(":")
    found: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), function)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _command(args.command)(args)
    except ConfigurationError as exc:
        print(f"gui-agent: error: {exc}", file=sys.stderr)
        return 2
    except AgentError as exc:
        kind = getattr(exc, "kind", type(exc).__name__)  # an UnusableAnswer names its cause
        print(f"gui-agent: error: {kind}: {exc}", file=sys.stderr)
        return EXIT_CODES["failed" if isinstance(exc, ModelError) else "error"]
    except KeyboardInterrupt as exc:
        print(f"gui-agent: {exc or 'interrupted'}", file=sys.stderr)
        return EXIT_CODES["aborted"]

