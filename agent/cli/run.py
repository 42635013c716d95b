"""``gui-agent run`` (an instruction, or a task file with ``--task``) and ``gui-agent demo`` (a
bundled task, on a private virtual display by default), each on the desktop ``--desktop`` names,
opened for the run and closed on every way out. :mod:`agent.cli.main` parses the command line
and calls them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agent.cli.exit_codes import EXIT_CODES
from agent.cli.options import (
    make_backend,
    make_grounder,
    open_desktop_from,
    open_in_browser,
    policy_and_budget,
    run_directory,
    secrets_from_env,
    task_variables,
)
from agent.errors import ConfigurationError
from agent.styles.registry import make_style

if TYPE_CHECKING:
    from agent.models.base import Backend
    from agent.step import Step
    from agent.styles.base import Style


def _progress(line: str) -> None:
    print(line, flush=True)


def _task_file(value: Path) -> tuple[Path, bool]:
    """``--task``: a task file, or, where no such file exists and the value is a bare name, the
    bundled task of that name (``save-preferences``: it ships in the package, so it runs from any
    folder). True for a bundled one."""
    if value.exists() or value.suffix or len(value.parts) != 1:
        return value, False
    from agent.scripts.bundled import bundled_task

    try:
        return bundled_task(str(value)), True
    except ConfigurationError as exc:
        raise ConfigurationError(f"no task file {value}, and {exc}") from None


def _run_task(args: argparse.Namespace) -> int:
    from agent.scripts.desktop import Desktop
    from agent.scripts.location_cache import LocationCache
    from agent.scripts.task_file import load_task
    from agent.scripts.task_runner import check_launchable, run_task

    if args.instruction:
        raise ConfigurationError("give an instruction or --task, not both")
    path, bundled = _task_file(args.task)
    task = load_task(path)
    variables = task_variables(args.var)
    out = args.out or run_directory(f"{task.name}-")
    style = make_style(args.style, history_images=args.history_images)
    # a bundled task's cache goes to the current folder, never into the installed package
    default_cache = Path(f"{task.name}.cache.json") if bundled else task.default_cache()
    cache_path = args.cache or default_cache
    cache = LocationCache(cache_path, args.cache_mode) if cache_path else None
    secrets = secrets_from_env(args.secret)
    policy, budget = policy_and_budget(args)
    with open_desktop_from(args) as opened:
        check_launchable(task, opened)
        grounder = make_grounder(args, style)

        def script(directory: Path) -> Desktop:
            return Desktop(
                grounder,
                None if args.backend == "ocr" else style,
                desktop=opened,
                out=directory,
                cache=cache,
                name=task.name,
                policy=policy,
                budget=budget,
                secrets=secrets,
                max_retries=args.max_retries,
                clamp=args.clamp,
                stop_file=args.stop_file,
                settings={"task": str(path), "dry_run": args.dry_run, "settle_s": args.settle},
            )

        print(f"task {task.name} -> trajectory {out}", file=sys.stderr, flush=True)
        if cache is not None:
            print(f"cache {cache.path} ({cache.mode})", file=sys.stderr, flush=True)
        result = run_task(
            task, script, out, variables=variables, progress=_progress, app_env=opened.app_env
        )
    print(f"{result.status}: {result.message}", flush=True)
    return EXIT_CODES[result.status]


def run(args: argparse.Namespace) -> int:
    from agent.loop import Agent

    if args.task is not None:
        return _run_task(args)
    if not args.instruction:
        raise ConfigurationError("give an instruction, or a task file with --task")
    out = args.out or run_directory()
    style = make_style(args.style, history_images=args.history_images)
    secrets = secrets_from_env(args.secret)
    policy, budget = policy_and_budget(args)
    if args.backend == "ocr":
        raise ConfigurationError(
            "the ocr backend locates text but cannot follow an instruction: run a task file "
            "(--task) with steps, or choose a model backend"
        )
    with open_desktop_from(args) as desktop:
        backend = make_backend(args, style)
        agent = Agent(
            backend,
            style,
            desktop=desktop,
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
    out = args.out or run_directory("demo-")
    with open_desktop_from(args, settle_s=0.1) as desktop:
        result = run_demo(
            out,
            model=model,
            style=style if model is not None else None,
            task=args.task,
            progress=_progress,
            desktop=desktop,
        )
    print(f"{result.status}: {result.message} (grounder {result.grounder})", flush=True)
    print(f"report: {result.report}", flush=True)
    if args.open:
        open_in_browser(result.report)
    return EXIT_CODES[result.status]
