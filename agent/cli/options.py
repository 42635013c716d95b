"""What several ``gui-agent`` commands share: argument types and option groups for the parser
(:mod:`agent.cli.main`), and the builders that turn parsed options into parts (the backend, the
grounder, the policy and budget, the desktop, secrets, task variables). Environment variables
are read here, at the edge, and nowhere else (the API key, secrets, the VNC password, the MCP
server's bearer token)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from actions.policy import Budget, Policy, Region
from agent.errors import ConfigurationError
from agent.secrets import Secrets
from agent.styles.registry import STYLE_NAMES

if TYPE_CHECKING:
    from agent.desktops.base import DesktopConnection
    from agent.grounding.base import Grounder
    from agent.models.base import Backend
    from agent.screen.capture import MonitorChoice
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


def desktop_options(
    parser: argparse.ArgumentParser, default: str = "local", *, local: bool = True
) -> None:
    """``--desktop`` and ``--vnc-password-env``: the desktop :func:`open_desktop_from` opens.
    ``local=False``: this display is not a form the command takes (the web UI asks for it)."""
    group = parser.add_argument_group("desktop")
    forms = (
        "private[:WxH] (a private display started for the run and ended with it, default "
        "1280x800; a task's app starts there; watch it with a VNC viewer at the address "
        "printed), or vnc://HOST:PORT (any VNC server; start the app on the guest)"
    )
    group.add_argument(
        "--desktop",
        default=default,
        metavar="SPEC",
        help=(
            f"what the run drives: local (this display: your own mouse and keyboard), {forms}"
            if local
            else f"where the Run tab runs: {forms}; this machine's display only when a run "
            "asks for it, with a confirmation"
        )
        + f"; default: {default}",
    )
    group.add_argument(
        "--vnc-password-env",
        metavar="NAME",
        help="environment variable holding the VNC server's password (default: connect "
        "without a password); the password is written nowhere",
    )


def screen_options(parser: argparse.ArgumentParser) -> None:
    """``--monitor`` and ``--scale``: the local screen :func:`open_desktop_from` captures."""
    parser.add_argument(
        "--monitor", type=monitor_choice, default="primary", help="N (mss index) or primary"
    )
    parser.add_argument("--scale", type=positive_float, help="physical px per unit (else measured)")


def safety_options(parser: argparse.ArgumentParser) -> None:
    """The safety group: what :func:`policy_and_budget` reads, the loop limit, the stop file
    and the secrets."""
    safety = parser.add_argument_group("safety")
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
    safety.add_argument("--max-seconds", type=positive_float, help="wall-time budget")
    safety.add_argument("--max-model-calls", type=positive_int, help="model-call budget")
    safety.add_argument("--max-tokens", type=positive_int, help="prompt+completion token budget")
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


def vnc_password(args: argparse.Namespace) -> str | None:
    """The value of the environment variable ``--vnc-password-env`` names (None: none named);
    an unset or empty one is a one-line ConfigurationError."""
    name = getattr(args, "vnc_password_env", None)
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise ConfigurationError(
            f"--vnc-password-env {name}: the environment variable {name} is unset"
        )
    return value


def bearer_token(name: str | None) -> str:
    """The bearer token an HTTP server accepts: the value of the environment variable ``name``
    (``--token-env``); none named, an unset or a short one is a one-line ConfigurationError."""
    if not name:
        raise ConfigurationError(
            "--transport http needs a bearer token: --token-env NAME, the environment variable "
            "holding it (for example: export GUI_AGENT_MCP_TOKEN=$(openssl rand -hex 32))"
        )
    value = os.environ.get(name, "").strip()
    if len(value) < 16:
        problem = "unset" if not value else "too short (16 characters at least)"
        raise ConfigurationError(
            f"--token-env {name}: the environment variable {name} is {problem}"
        )
    return value


def open_desktop_from(
    args: argparse.Namespace, *, settle_s: float | None = None, watch: bool = True
) -> DesktopConnection:
    """The desktop ``--desktop`` names, open (close it, or use it in a ``with`` block): its
    password from ``--vnc-password-env``, ``--monitor``/``--scale`` for the local one, ``--settle``
    (or ``settle_s``) and ``--dry-run``. Prints what it opened to stderr, and for a private
    display how to watch it (the watch server's address and password: on stderr only)."""
    from agent.desktops.base import DesktopSpec
    from agent.desktops.connect import open_desktop
    from agent.desktops.private import PrivateDesktop

    spec = DesktopSpec.parse(args.desktop)
    password = vnc_password(args) if spec.kind == "vnc" else None
    desktop = open_desktop(
        spec,
        password=password,
        monitor=getattr(args, "monitor", "primary"),
        scale=getattr(args, "scale", None),
        settle_s=settle_s if settle_s is not None else args.settle,
        dry_run=getattr(args, "dry_run", False),
        watch=watch,
    )
    try:
        print(f"desktop {spec.describe()}: {desktop.screen.monitor.describe()}",
              file=sys.stderr, flush=True)  # fmt: skip
        if isinstance(desktop, PrivateDesktop) and (watch or desktop.watch is not None):
            note = desktop.watch_note if desktop.watch else f"no watch server: {desktop.watch_note}"
            print(note, file=sys.stderr, flush=True)
    except BaseException:
        desktop.close()
        raise
    return desktop


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
