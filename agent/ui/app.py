"""``gui-agent ui``: the web UI (Gradio, the ``ui`` extra), on 127.0.0.1 unless told otherwise.

Three tabs, one module each (its page is built with the ``gr`` module passed in, its work done
without Gradio):

* **Ground** (:mod:`agent.ui.ground_tab`): a screenshot (uploaded, or a capture of a monitor of the
  server's display), an instruction, a backend (the offline OCR grounder, a transformers model
  or an OpenAI-compatible server) and a style; shows the picture with the point and box drawn,
  the raw answer, the frame the model saw and the conversion of its point into image pixels. The
  result (``GroundingResult.as_json()``: point and box in image pixels) is the text of
  ``#ground-result``; errors are one line in ``#ground-error``;
* **Run** (:mod:`agent.ui.run_tab`, the runs themselves in :mod:`agent.ui.run_jobs`): a bundled
  task or a free instruction, on the server's desktop (``serve(desktop=...)``: a private virtual
  display for each run by default, or a VNC desktop) unless the real display is chosen *and*
  confirmed; the progress lines stream in (``#run-log``), Stop ends the run before its next
  action, and the end shows the status (``#run-status``), every check's verdict and a link to
  the report;
* **Trajectories** (:mod:`agent.ui.trajectories_tab`): the runs recorded under the runs folder; the
  viewer of the one picked opens in the page and by link (served from the runs folder).

Models are loaded once per server (:class:`~agent.ui.model_choice.ModelCache`) and shared by the
tabs. Errors reach the page as messages (a warning and an error box), never as tracebacks. Gradio
is imported only when the app is built: the package imports without the extra.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.desktops.base import DesktopSpec
from agent.errors import ConfigurationError, sigterm_raises
from agent.ui.ground_tab import ground_tab, one_line
from agent.ui.model_choice import ModelCache
from agent.ui.run_jobs import RunManager
from agent.ui.run_tab import run_tab
from agent.ui.trajectories_tab import trajectories_tab

if TYPE_CHECKING:
    import gradio

__all__ = ["build_app", "main", "serve"]

UI_EXTRA = 'the web UI needs the ui extra: pip install "gui-agent[ui]"'


def _gradio() -> Any:
    try:
        import gradio as gr
    except ImportError as exc:
        raise ConfigurationError(UI_EXTRA) from exc
    return gr


def build_app(
    *,
    runs: Path = Path("runs"),
    desktop: DesktopSpec | str = "private",
    password: str | None = None,
) -> gradio.Blocks:
    """The web UI as a Gradio app (not launched): Ground, Run and Trajectories, recording runs
    into ``runs``; the Run tab runs on ``desktop`` (``private[:WxH]``, a private display per run,
    or ``vnc://HOST:PORT`` with ``password``) unless the real display is chosen and confirmed.
    Raises ConfigurationError when Gradio (the ``ui`` extra) is missing."""
    return _build(runs, desktop, password)[0]


def _build(
    runs: Path, desktop: DesktopSpec | str = "private", password: str | None = None
) -> tuple[gradio.Blocks, RunManager]:
    gr = _gradio()
    runs = Path(runs).resolve()
    models = ModelCache()
    manager = RunManager(runs, models, desktop=desktop, password=password)
    with gr.Blocks(title="gui-agent", analytics_enabled=False) as app:
        gr.Markdown(
            "## gui-agent\nGround an instruction on a screenshot, run a task on a private "
            "virtual display, browse recorded runs."
        )
        with gr.Tabs():
            with gr.Tab("Ground", id="ground", elem_id="tab-ground"):
                ground_tab(gr, models)
            with gr.Tab("Run", id="run", elem_id="tab-run"):
                run_tab(gr, manager)
            with gr.Tab("Trajectories", id="trajectories", elem_id="tab-trajectories"):
                listed, outputs = trajectories_tab(gr, runs)
        app.load(listed, outputs=outputs)
    app.queue(default_concurrency_limit=1)
    blocks: gradio.Blocks = app
    return blocks, manager


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    runs: Path = Path("runs"),
    open_browser: bool = False,
    desktop: DesktopSpec | str = "private",
    password: str | None = None,
) -> None:
    """Serve the web UI on ``host``:``port`` until stopped (Ctrl-C or SIGTERM); a run still going
    then is stopped before its next action and waited for. The runs folder is created and its
    files (reports, screenshots) are served. The Run tab runs on ``desktop`` (with ``password``,
    a VNC server's: kept in memory, never shown) as :func:`build_app` says. Raises
    ConfigurationError (one line) when Gradio is missing or the port cannot be bound."""
    runs = Path(runs)
    try:
        runs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"cannot create the runs folder {runs}: {exc}") from exc
    app, manager = _build(runs, desktop, password)
    try:
        with sigterm_raises():  # stop as Ctrl-C does
            app.launch(
                server_name=host,
                server_port=port,
                inbrowser=open_browser,
                share=False,
                allowed_paths=[str(runs.resolve())],
                show_error=False,
                ssr_mode=False,
                footer_links=["api", "gradio", "settings"],
            )
    except OSError as exc:
        raise ConfigurationError(f"cannot serve on {host}:{port}: {one_line(exc)}") from exc
    finally:
        manager.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agent.ui [--host H] [--port P] [--runs DIR] [--open]``."""
    parser = argparse.ArgumentParser(prog="gui-agent ui", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="the runs folder")
    parser.add_argument("--open", action="store_true", help="open the UI in the web browser")
    args = parser.parse_args(argv)
    try:
        serve(host=args.host, port=args.port, runs=args.runs, open_browser=args.open)
    except ConfigurationError as exc:
        print(f"gui-agent ui: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0
