"""``gui-agent batch TASK.yaml --rows ROWS.csv --out DIR``: the task once per row, on a pool of
desktops (:mod:`agent.batch`), here or on a Ray cluster (``--ray ADDRESS``).

Each row runs as ``gui-agent run --task`` in its own process with the model, cache and safety
options given here (forwarded as they are: names of environment variables, never their values);
the location cache is read-only by default, so parallel runs never write one file at once. The
exit code is 0 when every row passed, 1 when a task failed, 4 when a row ended in an error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agent.cli.exit_codes import EXIT_CODES
from agent.errors import ConfigurationError, sigterm_raises

__all__ = ["batch", "forwarded_options"]

#: the options of ``gui-agent run`` a batch passes on to every row, as given
FORWARDED = (
    "backend", "model", "api_model", "api_key_env", "timeout", "retries", "style", "min_pixels",
    "max_pixels", "max_new_tokens", "device", "clamp", "no_token_check", "cache", "cache_mode",
    "max_steps", "max_retries", "settle", "history_images", "dry_run", "vnc_password_env",
    "region", "allow_combo", "max_model_calls", "max_tokens", "loop_limit", "stop_file", "secret",
)  # fmt: skip


def forwarded_options(args: argparse.Namespace) -> list[str]:
    """The ``gui-agent run`` options every row gets (``--base-url`` and ``--max-seconds`` are
    added per row by the pool)."""
    line: list[str] = []
    for dest in FORWARDED:
        value = getattr(args, dest, None)
        flag = "--" + dest.replace("_", "-")
        if value is None or value is False or value == []:
            continue
        if value is True:
            line.append(flag)
        elif isinstance(value, list):
            for item in value:
                line += [flag, str(item)]
        elif dest == "region":
            line += [flag, f"{value.left},{value.top},{value.width},{value.height}"]
        else:
            line += [flag, str(value)]
    return line


def batch(args: argparse.Namespace) -> int:
    from agent.batch.ledger import file_hash, open_ledger
    from agent.batch.pool import Pool, Slot, VNCSlot, private_slots
    from agent.batch.row_process import RowSettings
    from agent.batch.rows import load_rows
    from agent.batch.runner import run_batch
    from agent.batch.tally import write_index, write_summary
    from agent.desktops.base import DEFAULT_PRIVATE_SIZE, DesktopSpec
    from agent.scripts.task_file import load_task

    task = load_task(args.task)
    rows = load_rows(args.rows, known=task.vars.keys())
    if args.confirm != "never":
        raise ConfigurationError("a batch runs unattended: --confirm never (the default)")
    specs = [DesktopSpec.parse(s) for s in args.desktop]
    vnc = [s for s in specs if s.kind == "vnc"]
    private = [s for s in specs if s.kind == "private"]
    if any(s.kind == "local" for s in specs):
        raise ConfigurationError("a batch never drives this display: --desktops N or vnc://")
    if vnc and (private or args.desktops):
        raise ConfigurationError("give --desktops N (private displays) or vnc:// desktops")
    if vnc and task.launch is not None:
        raise ConfigurationError(
            f"task {task.name} launches an app, which cannot be started on a VNC desktop from "
            "here: start the app on the guests and remove the task's launch"
        )
    size = private[0].size if private and private[0].size else DEFAULT_PRIVATE_SIZE
    count = args.desktops or len(private) or (0 if vnc else 1)
    options = forwarded_options(args)
    settings = RowSettings(
        task=args.task.resolve(),
        options=tuple(options),
        base_urls=tuple(args.base_url or ()),
        max_seconds=args.max_seconds,
    )
    signature: dict[str, Any] = {
        "task": file_hash(args.task),
        "rows": file_hash(args.rows),
        "options": options,
        "max_seconds": args.max_seconds,
    }
    ledger = open_ledger(args.out, signature, resume=args.resume)
    hidden = set(args.secret)
    if {r.number for r in rows} <= ledger.finished():  # resumed, nothing left: no desktops
        summary = write_summary(args.out, ledger.records.values(), len(rows))
        write_index(args.out, ledger.records.values())
        return _report(summary, args.out)
    with sigterm_raises():
        cluster = None
        slots: list[Slot]
        try:
            if args.ray:
                from agent.batch.ray_pool import RayCluster

                cluster = RayCluster(args.ray, args.task, settings, args.out)
                slots = cluster.slots(count, size, vnc)
            elif vnc:
                slots = [VNCSlot(settings, s) for s in vnc]
            else:
                slots = private_slots(settings, count, size, args.out)
            pool = Pool(slots, args.out)
            where = f"Ray cluster {args.ray}" if args.ray else "this machine"
            print(f"batch {task.name}: {len(rows)} rows on {len(slots)} desktops ({where}) -> "
                  f"{args.out}", file=sys.stderr, flush=True)  # fmt: skip
            summary = run_batch(rows, pool, ledger, retries=args.row_retries, hidden=hidden)
        finally:
            ledger.close()
            if cluster is not None:
                cluster.close()
    return _report(summary, args.out)


def _report(summary: dict[str, Any], out: Path) -> int:
    """The last line, and the exit code the rows make."""
    overall = summary["overall"]
    print(f"{overall['passed']} passed, {overall['failed']} failed, {overall['error']} error "
          f"({summary['finished']} of {summary['rows']} rows): {out / 'summary.md'}",
          flush=True)  # fmt: skip
    if overall["error"]:
        return EXIT_CODES["error"]
    return EXIT_CODES["failed"] if overall["failed"] else EXIT_CODES["done"]
