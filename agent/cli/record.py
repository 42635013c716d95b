"""``gui-agent record``: record what a person does on a desktop, until Ctrl-C, SIGTERM or the stop
hotkey (:mod:`agent.runs.recorder`), into a trajectory that replays, views and exports like a
run, and with ``--task-out`` a task file (:mod:`agent.runs.task_writer`). :mod:`agent.cli.main`
parses the command line and calls it."""

from __future__ import annotations

import argparse
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from agent.cli.exit_codes import EXIT_CODES
from agent.cli.options import make_grounder, open_desktop_from, run_directory
from agent.errors import ConfigurationError
from agent.styles.registry import make_style

if TYPE_CHECKING:
    from agent.runs.recorder import PersonRecorder
    from agent.runs.target_naming import TargetNamer

_LAUNCH_TIMEOUT_S = 20.0


def _combo(value: str, option: str) -> tuple[str, ...]:
    from actions.key_names import normalize_keys, split_combo

    try:
        return normalize_keys(split_combo(value))
    except Exception as exc:  # noqa: BLE001 - a ParseError: say which option
        raise ConfigurationError(f"{option} {value!r}: {exc}") from exc


def _namer(args: argparse.Namespace) -> TargetNamer | None:
    from agent.runs.target_naming import ModelNamer, TextNamer

    if args.backend == "ocr":
        from agent.grounding.ocr import OCRGrounder

        return TextNamer(OCRGrounder())
    if not (args.model or args.base_url):
        print(
            "targets are not named (no --backend ocr or model): the recording replays exactly, "
            "and reground matches the recorded screenshots only",
            file=sys.stderr,
        )
        return None
    from agent.grounding.vlm import VLMGrounder
    from agent.models.base import Backend

    style = make_style(args.style)
    model = make_grounder(args, style)
    if hasattr(model, "complete"):
        return ModelNamer(VLMGrounder(cast(Backend, model), style))
    return ModelNamer(model)


@contextmanager
def _stopped_by_signals(recorder: PersonRecorder) -> Iterator[None]:
    """Ctrl-C and SIGTERM end the recording cleanly (no exception mid-step)."""
    names = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}

    def handler(number: int, frame: Any) -> None:
        recorder.stop(names.get(signal.Signals(number), "a signal"))

    saved = {s: signal.signal(s, handler) for s in names}
    try:
        yield
    finally:
        for number, previous in saved.items():
            signal.signal(number, previous)


def _launch(
    command: list[str], env: dict[str, str] | None, recorder: PersonRecorder
) -> subprocess.Popen[bytes]:
    from agent.runs.recorder import wait_until_drawn

    before = recorder.ring.latest()
    assert before is not None
    try:
        app = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,  # Ctrl-C stops the recorder only
        )  # fmt: skip
    except OSError as exc:
        raise ConfigurationError(f"cannot launch {command[0]}: {exc.strerror or exc}") from exc
    if not wait_until_drawn(recorder.ring, before, _LAUNCH_TIMEOUT_S, lambda: app.poll() is None):
        _stop(app)
        raise ConfigurationError(f"{command[0]} drew nothing within {_LAUNCH_TIMEOUT_S:g} s")
    return app


def _stop(app: subprocess.Popen[bytes] | None) -> None:
    if app is None:
        return
    if app.poll() is None:
        app.terminate()
        try:
            app.wait(5)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait(5)
    if app.stderr is not None:
        app.stderr.close()


def record(args: argparse.Namespace) -> int:
    from agent.desktops.base import DesktopSpec
    from agent.runs.recorder import PersonRecorder

    spec = DesktopSpec.parse(args.desktop)
    if spec.kind == "vnc":
        raise ConfigurationError(
            "a VNC desktop cannot be recorded from here (its input events stay on the guest): "
            "record on the guest itself, or use --desktop private"
        )
    hotkeys = {"stop": _combo(args.stop_key, "--stop-key"),
               "secret": _combo(args.secret_key, "--secret-key")}  # fmt: skip
    launch = shlex.split(args.launch) if args.launch else None
    namer = _namer(args)
    out = args.out or run_directory("record-")
    app: subprocess.Popen[bytes] | None = None
    with open_desktop_from(args, settle_s=0.0) as desktop:
        recorder = PersonRecorder(
            out,
            display=getattr(desktop, "name", None),  # a private display's; else $DISPLAY
            monitor=args.monitor,
            scale=args.scale,
            namer=namer,
            hotkeys=hotkeys,
            secret_names=args.secret,
            instruction=args.instruction,
            settings={"launch": launch} if launch else None,
            desktop=desktop.record(),
            progress=lambda line: print(line, flush=True),
        )
        with _stopped_by_signals(recorder):
            recorder.start()
            try:
                if launch:
                    env = dict(desktop.app_env) if desktop.app_env is not None else None
                    app = _launch(launch, env, recorder)
                stop = "+".join(hotkeys["stop"])
                secret = "+".join(hotkeys["secret"])
                print(
                    f"recording {recorder.display} into {out}: stop with Ctrl-C or {stop}; "
                    f"{secret} starts and ends a secret span",
                    file=sys.stderr,
                    flush=True,
                )
            except BaseException:
                recorder.stop("an error at the start")
                recorder.run()
                _stop(app)
                raise
            result = recorder.run()
        _stop(app)
    print(result.message, flush=True)
    if args.task_out is not None and result.steps:
        from agent.runs.task_writer import write_task
        from agent.scripts.task_file import load_task
        from agent.trajectory import load_trajectory

        path = write_task(
            load_trajectory(out), args.task_out, name=args.name, launch=launch, check=load_task
        )
        print(f"task file {path}", flush=True)
    elif args.task_out is not None:
        print("no task file: nothing was recorded", file=sys.stderr)
    return EXIT_CODES[result.status]
