"""``gui-agent``: the command line.

``gui-agent run INSTRUCTION --model MODEL`` drives the desktop until the model terminates or the
budget ends; one progress line per step; exit code 0 only when the task ended with success
(1: failed, out of steps, aborted or error; 2: bad usage or configuration). Errors are one line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from actions.schema import Action, points_of
from agent.errors import AgentError
from agent.geometry import QWEN_MAX_PIXELS, QWEN_MIN_PIXELS
from agent.loop import Step
from agent.screen import MonitorChoice

__all__ = ["main"]


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gui-agent", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="carry out an instruction on the desktop")
    run.add_argument("instruction", help="what to do, in plain words")
    run.add_argument("--model", required=True, help="Hub id or local checkpoint directory")
    run.add_argument("--style", default="qwen25vl", choices=["qwen25vl"], help="prompt+parser")
    run.add_argument("--min-pixels", type=_positive_int, default=QWEN_MIN_PIXELS)
    run.add_argument("--max-pixels", type=_positive_int, default=QWEN_MAX_PIXELS)
    run.add_argument("--max-steps", type=_positive_int, default=15, help="model calls at most")
    run.add_argument(
        "--max-retries", type=int, default=2, help="bad answers in a row fed back"
    )
    run.add_argument("--monitor", type=_monitor, default="primary", help="N (mss index) or primary")
    run.add_argument("--scale", type=float, default=None, help="override physical px per unit")
    run.add_argument("--out", type=Path, default=None, help="trajectory directory")
    run.add_argument("--dry-run", action="store_true", help="decide but do not act")
    run.add_argument("--settle", type=float, default=0.3, help="seconds to wait after an action")
    run.add_argument("--history-images", type=int, default=0, help="past screenshots to show")
    run.add_argument("--max-new-tokens", type=_positive_int, default=256)
    run.add_argument("--device", default="auto", help="cuda, cuda:1, cpu or auto")
    return parser


def _describe(actions: Sequence[Action]) -> str:
    parts = []
    for action in actions:
        points = " ".join(f"({p.x:g},{p.y:g})" for p in points_of(action))
        parts.append(f"{action.action} {points}".strip())
    return ", ".join(parts) or "-"


def _progress(step: Step) -> str:
    r = step.record
    model_s = r.timings.get("model", 0.0)
    outcome = f"refused: {r.error}" if r.error else "ok"
    line = (
        f"step {r.index + 1}: {_describe(r.parsed)} -> screen {_describe(r.executed)}"
        f" | {outcome} | model {model_s:.2f}s"
    )
    return line + (f" | {step.status}" if step.status else "")


def _run(args: argparse.Namespace) -> int:
    from actions.executor import DryRunExecutor, PyAutoGUIExecutor

    from agent.loop import Agent
    from agent.models.local import TransformersBackend
    from agent.screen import Screen
    from agent.styles.qwen25vl import Qwen25VLComputerUse

    out = args.out or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    screen = Screen(args.monitor, scale=args.scale)
    executor = DryRunExecutor() if args.dry_run else PyAutoGUIExecutor(settle_s=args.settle)
    print(f"loading {args.model} ...", file=sys.stderr, flush=True)
    backend = TransformersBackend(
        args.model,
        min_pixels=args.min_pixels,
        max_pixels=args.max_pixels,
        device=args.device,
        max_new_tokens=args.max_new_tokens,
    )
    style = Qwen25VLComputerUse(history_images=args.history_images)
    agent = Agent(
        backend,
        style,
        executor,
        screen,
        out=out,
        max_steps=args.max_steps,
        max_retries=args.max_retries,
    )
    print(f"{screen.monitor.describe()} -> trajectory {out}", file=sys.stderr, flush=True)
    last: Step | None = None
    for step in agent.steps(args.instruction):
        print(_progress(step), flush=True)
        last = step
    assert last is not None and last.status is not None
    print(f"{last.status}: {last.message}", flush=True)
    return 0 if last.status == "done" else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except AgentError as exc:
        print(f"gui-agent: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gui-agent: interrupted", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
