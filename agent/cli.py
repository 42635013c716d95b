"""``gui-agent``: the command line.

``gui-agent run INSTRUCTION --model MODEL`` drives the desktop until the model terminates or the
budget ends; one progress line per step. Exit codes (:data:`EXIT_CODES`): 0 the task ended with
success, 1 it failed (the model said so, unusable answers, a loop), 2 bad usage or
configuration, 3 out of steps or budget, 4 an error of the run (capture, backend, recording),
5 aborted (fail-safe, Ctrl-C, SIGTERM, stop file). Errors are one line.
``gui-agent run --task FILE.yaml`` runs a task file (:mod:`agent.tasks`): its app, its steps
through the grounder (``--backend ocr`` needs no model) and the location cache, its checks; the
exit code is 0 only if every check passed.
``gui-agent ground IMAGE INSTRUCTION`` prints where an element is and draws it.
``gui-agent export RUN_DIR... --format swift|messages --out FILE.jsonl [--all]`` writes the
successful runs' steps as fine-tuning rows (:mod:`agent.export`); exit code 1 if none was written.
``gui-agent demo`` runs a bundled task on a private virtual display (:mod:`agent.demo`) with
the offline OCR grounder, or a model if one is given and usable, and writes its HTML report.
``gui-agent eval FILES... --images DIR --out DIR`` measures grounding accuracy ScreenSpot-style
(:mod:`agent.evaluation`); ``gui-agent ui`` serves the web UI (:mod:`agent.ui`, 127.0.0.1).
``gui-agent view RUN_DIR [--open]`` writes the run's static HTML viewer, ``RUN_DIR/index.html``.
``gui-agent replay RUN_DIR [--mode exact|scaled|reground]`` replays a recorded run without the
model (:mod:`agent.replay`), recorded like a run; the exit code is the replay's status (1 when it
diverged: nothing of the diverging step was done).

Environment variables are read here and nowhere else: the API key of the OpenAI-compatible
backend (``--api-key-env``, default ``OPENAI_API_KEY``) and the values of ``--secret NAME``;
neither is ever written to a trajectory or printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, get_args

from actions.executor import Executor
from actions.policy import Budget, Policy, Region
from actions.schema import Action, points_of
from agent.cache import CacheMode
from agent.errors import AgentError, ConfigurationError, ModelError
from agent.grounding import Grounder
from agent.models.base import Backend
from agent.screen import MonitorChoice, Screen
from agent.secrets import Secrets
from agent.step import Step
from agent.styles.base import Style
from agent.styles.registry import STYLE_NAMES, make_style
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


def _backend(args: argparse.Namespace, style: Style, base_url: str | None = None) -> Backend:
    from agent.models.factory import BackendSpec, load_backend

    openai = args.backend == "openai"
    urls = args.base_url or []
    if openai and base_url is None and len(urls) > 1:
        raise ConfigurationError("give one --base-url (several are for gui-agent eval)")
    spec = BackendSpec(
        kind="openai" if openai else "transformers",
        model=(args.api_model or args.model) if openai else args.model,
        min_pixels=args.min_pixels or style.min_pixels,
        max_pixels=args.max_pixels or style.max_pixels,
        factor=style.factor,
        base_url=base_url or (urls[0] if urls else None),
        api_key=os.environ.get(args.api_key_env) if openai else None,
        device=args.device,
        max_new_tokens=args.max_new_tokens,
        timeout_s=args.timeout,
        max_retries=args.retries,
        check_prompt_tokens=not args.no_token_check,
    )
    if not openai and spec.model:
        print(f"loading {spec.model} ...", file=sys.stderr, flush=True)
    return load_backend(spec)


def _describe(actions: Sequence[Action]) -> str:
    parts = []
    for action in actions:
        points = " ".join(f"({p.x:g},{p.y:g})" for p in points_of(action))
        parts.append(f"{action.action} {points}".strip())
    return ", ".join(parts) or "-"


def _progress(step: Step) -> str:
    r = step.record
    ended = step.status in ("error", "aborted", "budget") or (
        step.status == "failed" and (r.error or "").startswith("LoopDetected")
    )
    outcome = "ok" if not r.error else f"{'error' if ended else 'refused'}: {r.error}"
    line = (
        f"step {r.index + 1}: {_describe(r.parsed)} -> screen {_describe(r.executed)}"
        f" | {outcome} | model {r.timings.get('model', 0.0):.2f}s"
    )
    return line + (f" | {step.status}" if step.status else "")


def _secrets(names: Sequence[str]) -> Secrets:
    values = {}
    for name in names:
        value = os.environ.get(name)
        if not value:
            raise ConfigurationError(f"--secret {name}: the environment variable {name} is unset")
        values[name] = value
    return Secrets(values)


def _grounder(args: argparse.Namespace, style: Style) -> Grounder | Backend:
    if args.backend == "ocr":
        from agent.models.ocr import OCRGrounder

        return OCRGrounder()
    return _backend(args, style)


def _policy(args: argparse.Namespace) -> tuple[Policy, Budget]:
    policy = Policy(
        confirm=args.confirm,
        region=args.region,
        allow_combos=tuple(tuple(c.replace(" ", "+").split("+")) for c in args.allow_combo),
    )
    budget = Budget(
        max_seconds=args.max_seconds,
        max_model_calls=args.max_model_calls,
        max_tokens=args.max_tokens,
    )
    return policy, budget


def _desktop_parts(args: argparse.Namespace) -> tuple[Screen, Executor]:
    """The monitor (its scale measured, or a given one checked, by a first capture) and the
    executor."""
    from actions.executor import DryRunExecutor, PyAutoGUIExecutor
    from agent.screen import Screen

    screen = Screen(args.monitor, scale=args.scale)
    print(f"{screen.monitor.describe()}", file=sys.stderr, flush=True)
    executor = DryRunExecutor() if args.dry_run else PyAutoGUIExecutor(settle_s=args.settle)
    return screen, executor


def _variables(pairs: Sequence[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigurationError(f"--var {pair!r}: expected NAME=VALUE")
        values[name.strip()] = value
    return values


def _run_task(args: argparse.Namespace) -> int:
    from agent.cache import LocationCache
    from agent.desktop import Desktop
    from agent.task_runner import run_task
    from agent.tasks import load_task

    if args.instruction:
        raise ConfigurationError("give an instruction or --task, not both")
    task = load_task(args.task)
    variables = _variables(args.var)
    out = args.out or Path("runs") / f"{task.name}-{datetime.now():%Y%m%d-%H%M%S}"
    style = make_style(args.style, history_images=args.history_images)
    cache_path = args.cache or task.default_cache()
    cache = LocationCache(cache_path, args.cache_mode) if cache_path else None
    secrets = _secrets(args.secret)
    policy, budget = _policy(args)
    screen, executor = _desktop_parts(args)
    grounder = _grounder(args, style)

    def desktop(directory: Path) -> Desktop:
        return Desktop(
            grounder,
            None if args.backend == "ocr" else style,
            screen=screen,
            executor=executor,
            out=directory,
            cache=cache,
            name=task.name,
            policy=policy,
            budget=budget,
            secrets=secrets,
            max_retries=args.max_retries,
            clamp=args.clamp,
            stop_file=args.stop_file,
            settings={"task": str(args.task), "dry_run": args.dry_run, "settle_s": args.settle},
        )

    print(f"task {task.name} -> trajectory {out}", file=sys.stderr, flush=True)
    if cache is not None:
        print(f"cache {cache.path} ({cache.mode})", file=sys.stderr, flush=True)
    result = run_task(
        task, desktop, out, variables=variables, progress=lambda line: print(line, flush=True)
    )
    print(f"{result.status}: {result.message}", flush=True)
    return EXIT_CODES[result.status]


def _run(args: argparse.Namespace) -> int:
    from agent.loop import Agent

    if args.task is not None:
        return _run_task(args)
    if not args.instruction:
        raise ConfigurationError("give an instruction, or a task file with --task")
    out = args.out or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    style = make_style(args.style, history_images=args.history_images)
    secrets = _secrets(args.secret)
    policy, budget = _policy(args)
    if args.backend == "ocr":
        raise ConfigurationError(
            "the ocr backend locates text but cannot follow an instruction: run a task file "
            "(--task) with steps, or choose a model backend"
        )
    screen, executor = _desktop_parts(args)
    backend = _backend(args, style)
    agent = Agent(
        backend,
        style,
        executor,
        screen,
        out=out,
        max_steps=args.max_steps,
        max_retries=args.max_retries,
        clamp=args.clamp,
        policy=policy,
        budget=budget,
        loop_limit=args.loop_limit,
        secrets=secrets,
        stop_file=args.stop_file,
        settings={"dry_run": args.dry_run, "settle_s": args.settle},
    )
    print(f"trajectory {out}", file=sys.stderr, flush=True)
    last: Step | None = None
    steps = agent.steps(args.instruction)
    try:
        for step in steps:
            print(secrets.redact(_progress(step)), flush=True)
            last = step
    finally:
        steps.close()
    assert last is not None and last.status is not None
    print(secrets.redact(f"{last.status}: {last.message}"), flush=True)
    return EXIT_CODES[last.status]


def _ground(args: argparse.Namespace) -> int:
    from PIL import Image, UnidentifiedImageError

    from agent.grounding import annotate, ground

    try:
        with Image.open(args.image) as opened:
            image = opened.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise ConfigurationError(f"cannot read image {args.image}: {exc}") from exc
    style = make_style(args.style)
    ocr = args.backend == "ocr"
    result = ground(
        image, args.instruction, _grounder(args, style), None if ocr else style, clamp=args.clamp
    )
    out = args.out or args.image.with_name(f"{args.image.stem}.ground.png")
    annotate(image, result, args.instruction).save(out)
    print(json.dumps({**result.as_json(), "annotated": str(out)}, ensure_ascii=False))
    return 0


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


def _replay(args: argparse.Namespace) -> int:
    from agent.replay import replay, replayable, secrets_typed
    from agent.trajectory import load_trajectory

    recording = load_trajectory(args.recording)
    secrets = _replay_secrets(secrets_typed(recording, replayable(recording)))
    style = make_style(args.style)
    wanted = args.backend == "ocr" or args.model or args.base_url
    model = _grounder(args, style) if wanted else None
    out = args.out or Path("runs") / f"replay-{recording.directory.name}-{datetime.now():%H%M%S}"
    screen, executor = _desktop_parts(args)
    print(f"replay ({args.mode}) of {recording.directory} -> {out}", file=sys.stderr, flush=True)

    def progress(step: Step) -> None:
        r = step.record
        verdict = f"{r.replay.verdict} (step {r.replay.step})" if r.replay else "end"
        line = f"{_progress(step)} | {verdict}"
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
        max_retries=args.max_retries,
        stop_file=args.stop_file,
        progress=progress,
    )
    counts = ", ".join(f"{n} {v}" for v, n in sorted(result.verdicts.items()))
    print(secrets.redact(f"{result.status}: {result.message} ({counts})"), flush=True)
    return EXIT_CODES[result.status]


def _demo_model(args: argparse.Namespace, style: Style) -> Backend | None:
    """The model the demo runs with, or None (the OCR grounder) with the reason in one line."""
    fallback = "running the demo with the offline OCR grounder"
    if args.backend == "ocr":
        return None
    if not (args.model or args.base_url):
        print(
            f"no model given: {fallback} (--model Qwen/Qwen2.5-VL-3B-Instruct on a GPU, or "
            "--backend openai --base-url URL --api-model NAME, for the VLM)",
            file=sys.stderr,
        )
        return None
    if args.backend == "transformers" and args.device == "auto":
        try:
            import torch

            gpu = bool(torch.cuda.is_available())
        except ImportError:
            gpu = False
        if not gpu:
            print(f"no GPU (or torch) here: {fallback} (--device cpu forces it)", file=sys.stderr)
            return None
    try:
        return _backend(args, style)
    except Exception as exc:  # noqa: BLE001 - offline, no weights, no extra: say why, go on
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        name = args.model or (args.base_url or [""])[0]
        print(f"cannot use {name}: {reason}; {fallback}", file=sys.stderr)
        return None


def _demo(args: argparse.Namespace) -> int:
    from agent.demo import run_demo

    style = make_style(args.style)
    model = _demo_model(args, style)
    out = args.out or Path("runs") / f"demo-{datetime.now():%Y%m%d-%H%M%S}"
    result = run_demo(
        out,
        model=model,
        style=style if model is not None else None,
        task=args.task,
        progress=lambda line: print(line, flush=True),
    )
    print(f"{result.status}: {result.message} (grounder {result.grounder})", flush=True)
    print(f"report: {result.report}", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(result.report.resolve().as_uri())
    return EXIT_CODES[result.status]


def _eval(args: argparse.Namespace) -> int:
    from agent.evaluation.harness import (
        GrounderAsker,
        ModelAsker,
        evaluate,
        manifest_for,
        open_results,
        rescore,
    )  # fmt: skip
    from agent.evaluation.metric import markdown_table
    from agent.evaluation.prompts import make_prompt
    from agent.evaluation.report import write_report
    from agent.evaluation.samples import load_samples

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
            from agent.models.ocr import OCRGrounder

            askers: list[Any] = [GrounderAsker(OCRGrounder())]
        elif args.backend == "openai":
            askers = [
                ModelAsker(_backend(args, style, url), prompt) for url in args.base_url or [""]
            ]
        else:
            askers = [ModelAsker(_backend(args, style), prompt)]
        summary = evaluate(
            samples, results, askers, prompt=settings["prompt"], batch_size=args.batch_size,
            concurrency=args.concurrency,
        )  # fmt: skip
    if args.report:
        print(f"report: {write_report(args.out)}", file=sys.stderr)
    print(markdown_table(summary))
    return EXIT_CODES["error"] if summary.get("infra_errors") else 0


def _ui(args: argparse.Namespace) -> int:
    from agent.ui import serve

    serve(host=args.host, port=args.port, runs=args.runs, open_browser=args.open)
    return 0


def _view(args: argparse.Namespace) -> int:
    from agent.viewer import write_viewer

    page = write_viewer(args.recording)
    print(page)
    if args.open:
        import webbrowser

        webbrowser.open(page.resolve().as_uri())
    return 0


def _export(args: argparse.Namespace) -> int:
    from agent.export import export_runs

    report = export_runs(args.recordings, args.format, args.out, include_all=args.all)
    for line in report.lines():
        print(line)
    return 0 if report.rows else 1


_COMMANDS = {
    "run": _run,
    "ground": _ground,
    "replay": _replay,
    "view": _view,
    "export": _export,
    "demo": _demo,
    "eval": _eval,
    "ui": _ui,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
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


if __name__ == "__main__":
    sys.exit(main())
