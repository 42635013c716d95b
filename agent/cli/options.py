"""What several ``gui-agent`` commands share: argument types and option groups for the parser
(:mod:`agent.cli.main`), and the builders that turn parsed options into parts (the backend, the
grounder, the policy and budget, the screen and executor, secrets, task variables). Environment
variables are read here, at the edge, and nowhere else."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from actions.policy import Budget, Policy
from agent.errors import ConfigurationError
from agent.secrets import Secrets
from agent.styles.registry import STYLE_NAMES

if TYPE_CHECKING:
    from actions.executor import Executor
    from agent.grounding.base import Grounder
    from agent.models.base import Backend
    from agent.screen.capture import MonitorChoice, Screen
    from agent.styles.base import Style


# -- argument types and option groups -----------------------------------------------------------


def monitor_choice(value: str) -> MonitorChoice:
    if value == "primary":
        return "primary"
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'primary', got {value!r}") from None


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {number}")
    return number


def positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return number


def model_options(parser: argparse.ArgumentParser) -> None:
    """The model group: what :func:`make_backend` and :func:`make_grounder` read."""
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
    group.add_argument("--timeout", type=positive_float, default=120.0, help="seconds per call")
    group.add_argument("--retries", type=int, default=3, help="retries on 429/5xx/timeouts")
    group.add_argument("--style", default="qwen25vl", choices=STYLE_NAMES, help="prompt+parser")
    group.add_argument("--min-pixels", type=positive_int, help="default: the style's family")
    group.add_argument("--max-pixels", type=positive_int, help="default: the style's family")
    group.add_argument("--max-new-tokens", type=positive_int, default=256)
    group.add_argument("--device", default="auto", help="cuda, cuda:1, cpu or auto")
    group.add_argument("--clamp", action="store_true", help="clamp points outside the image")
    group.add_argument(
        "--no-token-check",
        action="store_true",
        help="openai backend: do not compare the server's prompt-token count with the images' "
        "visual tokens (for servers that do not count cached tokens)",
    )


def screen_options(parser: argparse.ArgumentParser) -> None:
    """``--monitor`` and ``--scale``: the screen :func:`desktop_parts` captures."""
    parser.add_argument(
        "--monitor", type=monitor_choice, default="primary", help="N (mss index) or primary"
    )
    parser.add_argument("--scale", type=positive_float, help="physical px per unit (else measured)")


# -- builders -----------------------------------------------------------------------------------


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


def make_grounder(args: argparse.Namespace, style: Style) -> Grounder | Backend:
    if args.backend == "ocr":
        from agent.grounding.ocr import OCRGrounder

        return OCRGrounder()
    return make_backend(args, style)


def policy_and_budget(args: argparse.Namespace) -> tuple[Policy, Budget]:
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


def secrets_from_env(names: Sequence[str]) -> Secrets:
    """The values of ``--secret NAME``: the environment variables of those names."""
    return _environment_secrets(names, "--secret {name}: the environment variable {name} is unset")


def recorded_secrets(names: Sequence[str]) -> Secrets:
    """The values of the secrets a recording types: from the environment variables of the same
    names, else asked on the terminal (never taken from the recording)."""
    missing = "the recording types the secret {name}: set the environment variable {name}"
    return _environment_secrets(names, missing, ask=True)


def _environment_secrets(names: Sequence[str], missing: str, *, ask: bool = False) -> Secrets:
    values = {}
    for name in names:
        value = os.environ.get(name)
        if not value and ask and sys.stdin.isatty():
            import getpass

            value = getpass.getpass(f"value of secret {name}: ")
        if not value:
            raise ConfigurationError(missing.format(name=name))
        values[name] = value
    return Secrets(values)


def task_variables(pairs: Sequence[str]) -> dict[str, str]:
    """The task variables of ``--var NAME=VALUE``."""
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigurationError(f"--var {pair!r}: expected NAME=VALUE")
        values[name.strip()] = value
    return values


def run_directory(prefix: str = "", time_format: str = "%Y%m%d-%H%M%S") -> Path:
    """The default trajectory directory: ``runs/PREFIX`` and the time now."""
    return Path("runs") / f"{prefix}{datetime.now():{time_format}}"


def open_in_browser(page: Path) -> None:
    import webbrowser

    webbrowser.open(page.resolve().as_uri())
