"""gui-agent: drive a desktop with a vision-language model, evaluate grounding, replay runs.

``gui-agent run INSTRUCTION --model MODEL`` drives the desktop until the model terminates or the
budget ends; one progress line per step. Exit codes (:mod:`agent.cli.exit_codes`): 0 the task
ended with success, 1 it failed (the model said so, unusable answers, a loop), 2 bad usage or
configuration, 3 out of steps or budget, 4 an error of the run (capture, backend, recording),
5 aborted (fail-safe, Ctrl-C, SIGTERM, stop file). Errors are one line.
``--desktop`` names what ``run``, ``replay``, ``demo`` and the UI's Run tab drive: ``local`` (this
display, the default of ``run`` and ``replay``), ``private[:WxH]`` (a private display started for
the run, watchable over VNC on 127.0.0.1; the default of ``demo`` and ``ui``) or
``vnc://HOST:PORT`` (any VNC server; ``--vnc-password-env NAME`` names the environment variable
holding its password); a desktop that cannot be opened (a wrong password, an unreachable
server) is exit code 2, one line.
``gui-agent run --task FILE.yaml`` runs a task file (:mod:`agent.scripts.task_file`): its app,
its steps through the grounder (``--backend ocr`` needs no model) and the location cache, its
checks; the exit code is 0 only if every check passed.
``gui-agent ground IMAGE INSTRUCTION`` prints where an element is and draws it.
``gui-agent export RUN_DIR... --format swift|messages --out FILE.jsonl [--all]`` writes the
successful runs' steps as fine-tuning rows (:mod:`agent.runs.export`); exit code 1 if none was
written.
``gui-agent demo`` runs a bundled task on a private virtual display (:mod:`agent.scripts.demo`)
with the offline OCR grounder, or a model if one is given and usable, and writes its HTML report.
``gui-agent eval FILES... --images DIR --out DIR`` measures grounding accuracy ScreenSpot-style
(:mod:`agent.evaluation`); ``gui-agent ui`` serves the web UI (:mod:`agent.ui.app`, 127.0.0.1).
``gui-agent view RUN_DIR [--open]`` writes the run's static HTML viewer, ``RUN_DIR/index.html``.
``gui-agent mcp`` serves the desktop as tools to MCP clients (:mod:`agent.mcp`): over stdio, or
``--transport http --port P --token-env NAME`` (127.0.0.1, a bearer token); one trajectory.
``gui-agent record --out DIR [--task-out FILE.yaml] [--backend ocr]`` records what a person does
on the desktop until Ctrl-C, SIGTERM or the stop hotkey (:mod:`agent.runs.recorder`), as a
trajectory that replays, and a task file.
``gui-agent batch TASK.yaml --rows ROWS.csv --out DIR [--desktops N | --desktop vnc://...]
[--ray ADDRESS] [--resume]`` runs the task once per row on a pool of desktops, here or on a Ray
cluster (:mod:`agent.batch`): ``DIR/results.jsonl``, a summary and ``index.html``; the exit code
is 0 when every row passed, 1 when a task failed, 4 when a row ended in an error.
``gui-agent replay RUN_DIR [--mode exact|scaled|reground]`` replays a recorded run without the
model (:mod:`agent.runs.replay`), recorded like a run; the exit code is the replay's status (1
when it diverged: nothing of the diverging step was done).

This module parses the command line and calls the command, imported when it runs: run and demo
are in :mod:`agent.cli.run`, ground in :mod:`agent.cli.ground`, replay, view and export in
:mod:`agent.cli.trajectories`, eval in :mod:`agent.cli.evaluate`, ui in :mod:`agent.cli.web`, mcp
in :mod:`agent.cli.serve_mcp`, record in :mod:`agent.cli.record`, batch in
:mod:`agent.cli.batches`; the options and builders they
share are in :mod:`agent.cli.options`. Environment variables are read there and nowhere else:
the API key of the OpenAI-compatible backend (``--api-key-env``, default ``OPENAI_API_KEY``),
the values of ``--secret NAME`` and of the secrets a replayed run types, the VNC password
(``--vnc-password-env``), the MCP server's bearer token (``--token-env``); none is ever written
to a trajectory or printed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import get_args

from agent.cli.exit_codes import EXIT_CODES, USAGE_ERROR
from agent.cli.options import (
    desktop_options,
    model_options,
    positive_float,
    positive_int,
    safety_options,
    screen_options,
)
from agent.errors import AgentError, ConfigurationError, ModelError
from agent.scripts.location_cache import CacheMode
from agent.trajectory import ReplayMode

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gui-agent", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="carry out an instruction on the desktop")
    run.add_argument("instruction", nargs="?", help="what to do, in plain words")
    run.add_argument(
        "--task", type=Path, help="a task file (YAML), or a bundled task's name, to run instead"
    )
    run.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a task variable (repeatable)",
    )
    run.add_argument("--cache", type=Path, help="location cache file (default: beside the task)")
    run.add_argument("--cache-mode", choices=get_args(CacheMode), default="read-write")
    model_options(run)
    run.add_argument("--max-steps", type=positive_int, default=15, help="model calls at most")
    run.add_argument("--max-retries", type=int, default=2, help="bad answers in a row fed back")
    desktop_options(run)
    screen_options(run)
    run.add_argument("--out", type=Path, default=None, help="trajectory directory")
    run.add_argument("--dry-run", action="store_true", help="decide but do not act")
    run.add_argument("--settle", type=float, default=0.3, help="seconds to wait after an action")
    run.add_argument("--history-images", type=int, default=None, help="past screenshots shown")
    safety_options(run)
    _mcp_parser(commands)
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
    desktop_options(rep)
    screen_options(rep)
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
    model_options(rep)
    demo = commands.add_parser(
        "demo", help="run a bundled task on a private virtual display (no model needed)"
    )
    demo.add_argument("--task", default="save-preferences", help="the bundled task to run")
    demo.add_argument("--out", type=Path, default=None, help="trajectory directory")
    demo.add_argument("--open", action="store_true", help="open the report in the web browser")
    desktop_options(demo, default="private")
    model_options(demo)
    ui = commands.add_parser("ui", help="the web UI: ground, run on a private display, browse")
    ui.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    ui.add_argument("--port", type=int, default=7860)
    ui.add_argument("--runs", type=Path, default=Path("runs"), help="where runs are recorded")
    ui.add_argument("--open", action="store_true", help="open it in the web browser")
    desktop_options(ui, default="private", local=False)
    view = commands.add_parser("view", help="write a recorded run's HTML viewer")
    view.add_argument("recording", type=Path, help="the run's trajectory directory")
    view.add_argument("--open", action="store_true", help="open it in the web browser")
    _record_parser(commands)
    _batch_parser(commands)
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
    ev.add_argument(
        "annotations", nargs="*", type=Path,
        help="annotation files or folders, or screenspot-sample (the bundled sample set)",
    )  # fmt: skip
    ev.add_argument("--images", type=Path, help="the folder the annotations' images are in")
    ev.add_argument("--out", type=Path, required=True, help="the evaluation's directory")
    ev.add_argument(
        "--prompt",
        choices=["grounding", "screenspot-pro", "mmbench-gui"],
        default="grounding",
        help="grounding: the style's own; screenspot-pro: the official harness's Qwen2.5-VL "
        "prompt (the answer prefilled up to the coordinate); mmbench-gui: MMBench-GUI L2's",
    )
    ev.add_argument("--lang", choices=["en", "cn"], default="en", help="cn: instruction_cn")
    ev.add_argument("--limit", type=positive_int, help="the first N samples only")
    ev.add_argument("--resume", action="store_true", help="continue an interrupted evaluation")
    ev.add_argument("--rescore", action="store_true", help="recompute the summary, no model")
    ev.add_argument("--batch-size", type=positive_int, default=1, help="local: per generate()")
    ev.add_argument("--concurrency", type=positive_int, default=1, help="http: in flight")
    ev.add_argument(
        "--report", action=argparse.BooleanOptionalAction, default=True, help="report.html"
    )
    model_options(ev)
    ground = commands.add_parser("ground", help="locate one element in an image")
    ground.add_argument("image", type=Path, help="screenshot (PNG, JPEG, ...)")
    ground.add_argument("instruction", help="the element, e.g. 'the OK button'")
    model_options(ground)
    ground.add_argument("--out", type=Path, default=None, help="annotated image (default: beside)")
    return parser


def _mcp_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mcp = commands.add_parser(
        "mcp", help="serve the desktop as tools to any MCP client (stdio, or HTTP with a token)"
    )
    mcp.add_argument(
        "--transport",
        choices=["stdio", "http"],
        default="stdio",
        help="stdio: the client starts this command; http: streamable HTTP on 127.0.0.1",
    )
    mcp.add_argument("--port", type=positive_int, default=8765, help="http: the port (127.0.0.1)")
    mcp.add_argument(
        "--token-env",
        metavar="NAME",
        help="http: environment variable holding the bearer token clients must send (required)",
    )
    mcp.add_argument(
        "--call-timeout", type=positive_float, default=300.0, help="seconds a call may take"
    )
    mcp.add_argument(
        "--max-image-side", type=positive_int, default=1568, help="screenshots: longest side, px"
    )
    mcp.add_argument(
        "--max-image-bytes", type=positive_int, default=1_000_000, help="screenshots: PNG bytes"
    )
    model_options(mcp)
    mcp.add_argument("--max-retries", type=int, default=0, help="unusable answers retried")
    mcp.add_argument("--history-images", type=int, default=None, help="act: past screenshots")
    desktop_options(mcp)
    screen_options(mcp)
    mcp.add_argument("--out", type=Path, default=None, help="the session's trajectory directory")
    mcp.add_argument("--dry-run", action="store_true", help="decide but do not act")
    mcp.add_argument("--settle", type=float, default=0.3, help="seconds to wait after an action")
    safety_options(mcp)


def _record_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rec = commands.add_parser(
        "record", help="record what a person does on the desktop (until Ctrl-C or the hotkey)"
    )
    rec.add_argument("--out", type=Path, default=None, help="the recording's trajectory directory")
    rec.add_argument("--task-out", type=Path, help="also write the recording as a task file")
    rec.add_argument("--name", help="the task file's name (default: its file name)")
    rec.add_argument("--instruction", help="what the person does, in words (recorded)")
    rec.add_argument(
        "--launch", metavar="COMMAND", help="start this app on the desktop first (and in the task)"
    )
    rec.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME",
        help="the placeholder {NAME} of the next secret span (repeatable, in order): its text "
        "is written nowhere; a replay and the task file take it from $NAME",
    )
    rec.add_argument(
        "--stop-key", default="ctrl+shift+f12", metavar="COMBO", help="hotkey that stops"
    )
    rec.add_argument(
        "--secret-key",
        default="ctrl+shift+f11",
        metavar="COMBO",
        help="hotkey that starts and ends a secret span",
    )
    desktop_options(rec)
    screen_options(rec)
    model_options(rec)


def _batch_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bat = commands.add_parser(
        "batch", help="run a task once per row of a CSV/JSONL file, on many desktops at once"
    )
    bat.add_argument("task", type=Path, help="the task file (YAML)")
    bat.add_argument(
        "--rows", type=Path, required=True, help="ROWS.csv or ROWS.jsonl: a row's columns or "
        "keys are the task's variables; one run per row",
    )  # fmt: skip
    bat.add_argument("--out", type=Path, required=True, help="the batch's directory")
    bat.add_argument("--resume", action="store_true", help="run only the rows not finished yet")
    pool = bat.add_argument_group("desktops")
    pool.add_argument(
        "--desktops", type=positive_int, help="private displays started for the batch (per node "
        "with --ray; default 1)",
    )  # fmt: skip
    pool.add_argument(
        "--desktop", action="append", default=[], metavar="SPEC",
        help="vnc://HOST:PORT (repeatable; each runs one row at a time), or private:WxH (the "
        "private displays' size)",
    )  # fmt: skip
    pool.add_argument("--vnc-password-env", metavar="NAME", help="env var with the VNC password")
    pool.add_argument(
        "--row-retries", type=int, default=2,
        help="runs of a row whose desktop failed (VNC dropped, display or node died), each on "
        "another desktop; a task that failed is never retried",
    )  # fmt: skip
    pool.add_argument(
        "--ray", metavar="ADDRESS", help="run on a Ray cluster: auto, HOST:PORT or "
        "ray://HOST:PORT (the ray extra); --desktops N per node",
    )  # fmt: skip
    bat.add_argument("--cache", type=Path, help="location cache file (default: beside the task)")
    bat.add_argument(
        "--cache-mode", choices=get_args(CacheMode), default="read-only",
        help="read-only by default: parallel runs never write one cache file",
    )  # fmt: skip
    model_options(bat)
    bat.add_argument("--max-steps", type=positive_int, default=15, help="model calls at most")
    bat.add_argument("--max-retries", type=int, default=2, help="bad answers in a row fed back")
    bat.add_argument("--dry-run", action="store_true", help="decide but do not act")
    bat.add_argument("--settle", type=float, default=0.3, help="seconds to wait after an action")
    bat.add_argument("--history-images", type=int, default=None, help="past screenshots shown")
    safety_options(bat)


#: command -> "module:function" (imported when the command runs: the CLI starts light)
_COMMANDS = {
    "run": "agent.cli.run:run",
    "demo": "agent.cli.run:demo",
    "ground": "agent.cli.ground:ground",
    "replay": "agent.cli.trajectories:replay",
    "view": "agent.cli.trajectories:view",
    "export": "agent.cli.trajectories:export",
    "eval": "agent.cli.evaluate:evaluation",
    "ui": "agent.cli.web:ui",
    "record": "agent.cli.record:record",
    "mcp": "agent.cli.serve_mcp:mcp",
    "batch": "agent.cli.batches:batch",
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
        return USAGE_ERROR
    except AgentError as exc:
        kind = getattr(exc, "kind", type(exc).__name__)  # an UnusableAnswer names its cause
        print(f"gui-agent: error: {kind}: {exc}", file=sys.stderr)
        return EXIT_CODES["failed" if isinstance(exc, ModelError) else "error"]
    except KeyboardInterrupt as exc:
        print(f"gui-agent: {exc or 'interrupted'}", file=sys.stderr)
        return EXIT_CODES["aborted"]
