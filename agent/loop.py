"""The agent loop: one step = observe -> decide -> review -> act -> record.

:meth:`Agent.steps` is a generator of :class:`~agent.step.Step`; :meth:`Agent.run` consumes
it. Each phase is one method working on the step's own state (:class:`~agent.step.StepState`):

* **observe**: capture the monitor, compute the frame, start writing the screenshot in the
  background (it is encoded while the model thinks);
* **decide**: the :class:`~agent.decision.Decider` (the model by default) gives actions in its
  coordinate space;
* **review**: every point through :func:`~agent.geometry.to_screen`, every action through
  :func:`~actions.executor.check_action` (what is recorded as executed is exactly what runs),
  then the :class:`~actions.policy.Policy` and the :class:`~actions.policy.LoopGuard` vet the
  whole step before any of it runs;
* **record** the decision durably (screenshot file complete, line flushed), then **act**, then
  record the result.

Errors the model caused (unreadable answer, point off the image, a refusal of the policy) go back
to the model with the reason, up to ``max_retries`` times in a row; then the run ends as
``failed``. A spent budget ends it as ``budget``, a repeated loop after a warning as ``failed``,
a fail-safe, Ctrl-C, SIGTERM or the stop file as ``aborted``, any other failure (capture,
backend, frame, recording) as ``error``. In every case the failing step is recorded, held
buttons and keys are released and the trajectory is closed with its final status.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from PIL.Image import Image

from actions.executor import Executor, check_action
from actions.policy import Budget, LoopGuard, Policy
from actions.schema import Action, Terminate, TypeText, map_points
from agent.background import background_pool
from agent.decision import Decider, ModelDecider, Situation, UnusableAnswer
from agent.desktops.base import DesktopConnection
from agent.errors import (
    Aborted,
    AgentError,
    BudgetExceeded,
    ConfigurationError,
    LoopDetected,
    ModelError,
    RecordingError,
    Terminated,
    sigterm_raises,
)
from agent.geometry import to_screen
from agent.grounding.base import Grounder
from agent.models.base import Backend
from agent.screen.capture import CaptureSource
from agent.screen.matching import same_screen
from agent.secrets import Secrets
from agent.step import RunResult, Session, Step, StepState, library_versions
from agent.styles.base import PastStep, Style
from agent.trajectory import (
    MonitorRecord,
    RunStatus,
    TrajectoryMeta,
    TrajectoryRecorder,
    now_iso,
)

__all__ = ["Agent"]


@dataclass
class _Run:
    """State across the steps of one run."""

    instruction: str
    guard: LoopGuard
    session: Session
    decider: Decider
    single: bool = False
    """a one-step run (a script call): done once a step ran without error"""
    past: list[PastStep] = field(default_factory=list)
    feedback: str | None = None
    refused: int = 0
    model_calls: int = 0
    tokens: int = 0
    stop_reason: str | None = None
    crashed: StepState | None = None
    last_image: Image | None = None


class Agent:
    """Drives one monitor with one model.

    ``out``: trajectory directory (None: nothing recorded). ``max_steps``: steps at most.
    ``max_retries``: refused answers in a row that are fed back before the run fails.
    ``clamp``: move points outside the image to its nearest edge instead of refusing them.
    ``policy``: what a step may do (deny list, bounds, region, confirmation); ``budget``: wall
    time, model calls and tokens; ``loop_limit``: the same step on an unchanged screen this many
    times is refused with a warning, and once more ends the run (0: off). ``secrets``: named
    values the model may type by placeholder, never recorded. ``stop_file``: when this file
    appears, the run stops before its next action (for programs that started it).
    ``decider``: where actions come from; default: ``backend`` + ``style``. ``backend`` may
    also be a :class:`~agent.grounding.base.Grounder` (or None) when every run is given a decider;
    it then only names the model in the trajectory.

    Where it acts: ``desktop``, an open :class:`~agent.desktops.base.DesktopConnection`
    (:func:`agent.desktops.connect.open_desktop`: ``local``, ``private[:WxH]``,
    ``vnc://HOST:PORT``), whose screen and executor it uses and which its trajectory's meta
    records; or an ``executor`` and a ``screen`` of your own. The caller opens the desktop and
    closes it after the run (``with open_desktop(...) as desktop:``); the agent never closes it.
    """

    def __init__(
        self,
        backend: Backend | Grounder | None,
        style: Style | None,
        executor: Executor | None = None,
        screen: CaptureSource | None = None,
        *,
        desktop: DesktopConnection | None = None,
        out: Path | str | None = None,
        max_steps: int = 15,
        max_retries: int = 2,
        clamp: bool = False,
        policy: Policy | None = None,
        budget: Budget | None = None,
        loop_limit: int = 3,
        secrets: Secrets | dict[str, str] | None = None,
        stop_file: Path | str | None = None,
        decider: Decider | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        if max_steps < 1 or max_retries < 0 or loop_limit < 0:
            raise ConfigurationError("max_steps must be >= 1, max_retries >= 0 and loop_limit >= 0")
        if desktop is not None:
            if executor is not None or screen is not None:
                raise ConfigurationError(
                    "give the agent a desktop, or a screen and an executor, not both"
                )
            executor, screen = desktop.executor, desktop.screen
        elif executor is None or screen is None:
            raise ConfigurationError("the agent needs a desktop, or a screen and an executor")
        self.desktop = desktop
        self.backend = backend
        self.style = style
        if decider is None and style is not None and hasattr(backend, "complete"):
            decider = ModelDecider(cast(Backend, backend), style)
        self.decider: Decider | None = decider
        self.executor = executor
        self.screen = screen
        self.out = Path(out) if out is not None else None
        self.max_steps = max_steps
        self.max_retries = max_retries
        self.clamp = clamp
        self.policy = policy or Policy()
        self.budget = budget or Budget()
        self.loop_limit = loop_limit
        self.secrets = secrets if isinstance(secrets, Secrets) else Secrets(secrets)
        self.stop_file = Path(stop_file) if stop_file is not None else None
        self.settings = dict(settings or {})

    def run(self, instruction: str) -> RunResult:
        history = list(self.steps(instruction))
        last = history[-1]
        assert last.status is not None
        return RunResult(last.status, len(history), last.message, self.out, history)

    def open_session(self, instruction: str) -> Session:
        """A session recording into ``out`` (None: not recorded); close it when done. An
        unwritable directory fails here, before anything runs."""
        return Session(self._recorder(instruction))

    def steps(
        self,
        instruction: str,
        *,
        decider: Decider | None = None,
        session: Session | None = None,
        max_steps: int | None = None,
        single: bool = False,
    ) -> Generator[Step, None, None]:
        """The loop as a generator: one :class:`Step` per step, the last with the status.

        ``decider`` replaces the agent's for this run; ``session`` records it into a trajectory
        that outlives it (the caller closes it); ``single``: the run ends ``done`` after the
        first step that ran without error (``max_retries`` unusable answers are retried).
        """
        decider = decider or self.decider
        if decider is None:
            raise ConfigurationError("the agent needs a decider, or a model backend and a style")
        owned = session is None
        session = session or self.open_session(instruction)
        limit = max_steps or (1 + self.max_retries if single else self.max_steps)
        run = _Run(
            self.secrets.redact(instruction) + self.secrets.instruction_note(),
            LoopGuard(self.loop_limit),
            session,
            decider,
            single,
        )
        status: RunStatus | None = None
        message: str | None = None
        background = background_pool("screen-compare")
        try:
            with sigterm_raises(lambda: setattr(run, "stop_reason", "terminated (SIGTERM)")):
                for n in range(limit):
                    state = StepState(session.next_index)
                    session.next_index += 1
                    self._step(state, run, background)
                    status, message = state.status, state.message
                    if status is None and n == limit - 1:
                        status, message = "max_steps", f"no result after {limit} steps"
                    yield Step(state.record(), status, message)
                    if status is not None:
                        return
        except (KeyboardInterrupt, GeneratorExit):
            status = "aborted"
            message = run.stop_reason or "stopped between steps"
            raise
        except Exception:
            if run.crashed is not None:
                status, message = run.crashed.status, run.crashed.message
            raise
        finally:
            released = self._release()
            background.shutdown(wait=False)
            if released:
                message = f"{message or ''} (released {', '.join(released)})".strip()
            if owned:
                session.close(status or "error", message or "the run ended unexpectedly")

    # -- phases ---------------------------------------------------------------------------

    def _step(self, state: StepState, run: _Run, background: ThreadPoolExecutor) -> None:
        clock = time.perf_counter()

        def lap(phase: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            state.timings[phase] = now - clock
            clock = now

        try:
            self._observe(state, run, background)
            lap("capture")
            self._check_budget(run)
            self._decide(state, run)
            clock = time.perf_counter()
            self._review(state, run)
            lap("review")
            self._record_decision(state, run)
            lap("record")
            self._act(state)
            lap("execute")
        except UnusableAnswer as exc:
            state.decision = exc.partial
            state.timings.update(exc.partial.timings)
            state.error = f"{exc.kind}: {exc}"
        except ModelError as exc:
            state.error = f"{type(exc).__name__}: {exc}"
        except BudgetExceeded as exc:
            state.end("budget", str(exc), f"BudgetExceeded: {exc}")
        except LoopDetected as exc:
            state.end("failed", str(exc), f"LoopDetected: {exc}")
        except Aborted as exc:
            state.end("aborted", str(exc), f"Aborted: {exc}")
        except KeyboardInterrupt as exc:
            reason = str(exc) if isinstance(exc, Terminated) else "interrupted (Ctrl-C)"
            run.stop_reason = reason
            state.end("aborted", reason, f"Aborted: {reason}")
        except AgentError as exc:
            state.end("error", f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug, or a component's undeclared error: record, then raise
            state.end("error", f"{type(exc).__name__}: {exc}")
            self._record_result(state, run)
            run.crashed = state
            raise
        if state.status == "aborted":
            state.released = self._release()
        self._record_result(state, run)
        self._learn(state, run)

    def _observe(self, state: StepState, run: _Run, background: ThreadPoolExecutor) -> None:
        shot = self.screen.capture()
        shot.image.info.pop("screenshot", None)
        state.shot = shot
        state.frame = run.decider.frame_for(shot.image.width, shot.image.height)
        if run.session.recorder is not None:
            state.screenshot = run.session.recorder.screenshot(state.index, shot.image)
            shot.image.info["screenshot"] = state.screenshot.name  # prompts name it by file
        if run.last_image is not None and self.loop_limit > 0:
            state.unchanged = background.submit(same_screen, run.last_image, shot.image)
        run.last_image = shot.image

    def _check_budget(self, run: _Run) -> None:
        s = run.session
        self.budget.check(
            seconds=time.monotonic() - s.started, model_calls=s.model_calls, tokens=s.tokens
        )

    def _decide(self, state: StepState, run: _Run) -> None:
        assert state.shot is not None and state.frame is not None
        situation = Situation(
            state.index, run.instruction, state.shot, state.frame, tuple(run.past), run.feedback
        )
        try:
            state.decision = d = run.decider.decide(situation)
        except UnusableAnswer as exc:
            run.session.model_calls += exc.partial.model_calls
            run.session.tokens += (exc.partial.prompt_tokens or 0) + (
                exc.partial.completion_tokens or 0
            )
            raise
        state.timings.update(d.timings)
        run.session.model_calls += d.model_calls
        run.session.tokens += (d.prompt_tokens or 0) + (d.completion_tokens or 0)

    def _review(self, state: StepState, run: _Run) -> None:
        assert state.decision is not None and state.shot is not None
        frame, monitor = state.decision.frame, state.shot.monitor

        def convert(action: Action) -> Action:
            screen = map_points(action, lambda p: to_screen(p, frame, monitor, clamp=self.clamp))
            return check_action(screen, monitor)

        state.executed = [convert(a) for a in state.decision.actions]
        state.verdicts = [*state.decision.notes, *self.policy.review(state.executed, monitor)]
        run.guard.check(state.unchanged is not None and state.unchanged.result(), state.executed)

    def _record_decision(self, state: StepState, run: _Run) -> None:
        if run.session.recorder is not None:
            run.session.recorder.decision(state.record(), state.screenshot)
        state.decided = True

    def _act(self, state: StepState) -> None:
        assert state.shot is not None
        for action in state.executed:
            self._check_stop_file()
            if isinstance(action, TypeText) and self.secrets:
                action = action.model_copy(update={"text": self.secrets.expand(action.text)})
            state.results.append(self.executor.execute(action, state.shot.monitor))
            if isinstance(action, Terminate):
                state.status = "done" if action.status == "success" else "failed"
                state.message = action.message or f"the model ended the task: {action.status}"
                break

    def _record_result(self, state: StepState, run: _Run) -> None:
        recorder = run.session.recorder
        if recorder is None:
            return
        try:
            if not state.decided:  # nothing ran: the decision and its outcome together
                try:
                    recorder.decision(state.record(), state.screenshot)
                except RecordingError:
                    if state.screenshot is None:
                        raise
                    state.screenshot = None  # its file could not be written: name none
                    recorder.decision(state.record(), None)
                state.decided = True
            recorder.result(state.index, state.results, state.error, state.timings, state.released)
        except RecordingError as exc:
            if state.status is None or state.status == "done":
                state.end("error", f"RecordingError: {exc}")

    def _learn(self, state: StepState, run: _Run) -> None:
        """What the next step is told: the reason of a refusal, or this step as history."""
        if state.status is not None:
            return
        if state.error is not None:
            run.refused += 1
            run.feedback = state.error
            if run.refused > self.max_retries:
                message = f"{run.refused} unusable answers in a row; last: {state.error}"
                state.status, state.message = "failed", message
            return
        assert state.decision is not None and state.shot is not None
        run.refused, run.feedback = 0, None
        if run.single:
            state.status, state.message = "done", "done"
            return
        keep = getattr(self.style, "history_images", 0)
        image = state.shot.image if keep > 0 else None
        run.past.append(PastStep(tuple(state.decision.actions), image, state.decision.raw_output))
        for i, old in enumerate(run.past[: max(0, len(run.past) - keep)]):
            if old.image is not None:
                run.past[i] = replace(old, image=None)

    # -- helpers ----------------------------------------------------------------------------

    def _check_stop_file(self) -> None:
        if self.stop_file is not None and self.stop_file.exists():
            raise Aborted(f"stop file {self.stop_file} found")

    def _release(self) -> list[str]:
        try:
            return self.executor.release()
        except Exception:  # noqa: BLE001 - releasing is best effort on a failing desktop
            return []

    def _recorder(self, instruction: str) -> TrajectoryRecorder | None:
        if self.out is None:
            return None
        if self.backend is None:
            raise ConfigurationError("a recorded run needs a backend or grounder to name")
        meta = TrajectoryMeta(
            instruction=instruction,
            model=self.backend.model,
            backend=type(self.backend).__name__,
            style=self.style.name if self.style is not None else "none",
            min_pixels=self.backend.min_pixels,
            max_pixels=self.backend.max_pixels,
            monitor=MonitorRecord.of(self.screen.monitor),
            settings={
                "max_steps": self.max_steps,
                "max_retries": self.max_retries,
                "clamp": self.clamp,
                "loop_limit": self.loop_limit,
                "confirm": self.policy.confirm,
                "region": self.policy.region.describe() if self.policy.region else None,
                "allow_combos": ["+".join(c) for c in self.policy.allow_combos],
                "budget": {k: v for k, v in vars(self.budget).items() if v is not None},
                "secrets": self.secrets.names,
                "stop_file": str(self.stop_file) if self.stop_file else None,
                **self.settings,
            },
            versions=library_versions(),
            started_at=now_iso(),
            desktop=self.desktop.record() if self.desktop is not None else None,
        )
        return TrajectoryRecorder(self.out, meta, secrets=self.secrets)
