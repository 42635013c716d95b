"""The ``gui-agent`` commands that act: ``run`` (an instruction or a task file), ``ground``,
``demo`` and ``ui``, and the options they share (model, safety, desktop). :mod:`agent.cli.main`
parses the command line and calls them; environment variables are read here, at the edge."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from actions.executor import Executor
from actions.policy import Budget, Policy
from agent.cli.main import EXIT_CODES
from agent.errors import ConfigurationError
from agent.grounding.base import Grounder
from agent.models.base import Backend
from agent.screen.capture import Screen
from agent.secrets import Secrets
from agent.step import Step
from agent.styles.base import Style
from agent.styles.registry import make_style


def make_backend(args: argparse.Namespace, style: Style, base_url: str | None = None) -> Backend:
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


def _secrets(names: Sequence[str]) -> Secrets:
    values = {}
    for name in names:
        value = os.environ.get(name)
        if not value:
            raise ConfigurationError(f"--secret {name}: the environment variable {name} is unset")
        values[name] = value
    return Secrets(values)


def make_grounder(args: argparse.Namespace, style: Style) -> Grounder | Backend:
    if args.backend == "ocr":
        from agent.grounding.ocr import OCRGrounder

        return OCRGrounder()
    return make_backend(args, style)


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


def desktop_parts(args: argparse.Namespace) -> tuple[Screen, Executor]:
    """The monitor (its scale measured, or a given one checked, by a first capture) and the
    executor."""
    from actions.executor import DryRunExecutor, PyAutoGUIExecutor
    from agent.screen.capture import Screen

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
    from agent.scripts.desktop import Desktop
    from agent.scripts.location_cache import LocationCache
    from agent.scripts.task_file import load_task
    from agent.scripts.task_runner import run_task

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
    screen, executor = desktop_parts(args)
    grounder = make_grounder(args, style)

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


def run(args: argparse.Namespace) -> int:
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
    screen, executor = desktop_parts(args)
    backend = make_backend(args, style)
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
            print(secrets.redact(step.line()), flush=True)
            last = step
    finally:
        steps.close()
    assert last is not None and last.status is not None
    print(secrets.redact(f"{last.status}: {last.message}"), flush=True)
    return EXIT_CODES[last.status]


def ground(args: argparse.Namespace) -> int:
    from PIL import Image, UnidentifiedImageError

    from agent.grounding.result import annotate, ground

    try:
        with Image.open(args.image) as opened:
            image = opened.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise ConfigurationError(f"cannot read image {args.image}: {exc}") from exc
    style = make_style(args.style)
    ocr = args.backend == "ocr"
    grounder = make_grounder(args, style)
    result = ground(image, args.instruction, grounder, None if ocr else style, clamp=args.clamp)
    out = args.out or args.image.with_name(f"{args.image.stem}.ground.png")
    annotate(image, result, args.instruction).save(out)
    print(json.dumps({**result.as_json(), "annotated": str(out)}, ensure_ascii=False))
    return 0


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
        return make_backend(args, style)
    except Exception as exc:  # noqa: BLE001 - offline, no weights, no extra: say why, go on
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        name = args.model or (args.base_url or [""])[0]
        print(f"cannot use {name}: {reason}; {fallback}", file=sys.stderr)
        return None


def demo(args: argparse.Namespace) -> int:
    from agent.scripts.demo import run_demo

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


def ui(args: argparse.Namespace) -> int:
    from agent.ui.app import serve

    serve(host=args.host, port=args.port, runs=args.runs, open_browser=args.open)
    return 0
