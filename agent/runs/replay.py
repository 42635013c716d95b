"""Replaying a recorded run: the recorded actions as another source for the ``decide`` phase.

A replay runs the ordinary loop (:class:`~agent.loop.Agent`) with a :class:`ReplayDecider`:
every step is observed, reviewed by the policy, acted and recorded like a model's step, with
its :class:`~agent.trajectory.ReplayRecord` (which recorded step, the verdict). Before each step
the screen must settle (:class:`~agent.screen.capture.SettledScreen`: two equal consecutive
captures, or a timeout), so a replay never outruns the UI. Modes:

* ``exact``: the recorded screen actions, same coordinates;
* ``scaled``: each recorded point through its recorded frame and monitor onto the live monitor
  (another resolution, scale or origin) with the one conversion of :mod:`agent.geometry`:
  :func:`~agent.geometry.to_model` into fractions of the recorded capture, then the loop's
  :func:`~agent.geometry.to_screen` onto the live one;
* ``reground``: around every recorded point, the live screen is compared with the recorded
  screenshot (:func:`~agent.screen.matching.find_patch`, the location cache's validation); a match
  moves the point to where it is now (``matched``). Where it diverges, a configured model is
  asked again (``re-grounded``): a script step's target by its description through the
  grounder (a person's recorded point keeps its offset from the text that names it), a model
  step by the run's instruction through the model; with no model the replay
  stops before acting (``diverged``: the run ends ``failed`` with the report).

Only steps that were carried out are replayed (no error, not interrupted). Secrets typed in the
recording are placeholders there; their values are given again (the CLI reads them from the
environment or asks), never taken from the recording.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast, get_args

from PIL import Image

from actions.executor import Executor
from actions.policy import Budget, Policy
from actions.schema import Action, Terminate, map_points, points_of
from agent.background import background_pool
from agent.decision import Decision, ModelDecider, Situation
from agent.desktops.base import DesktopConnection
from agent.errors import ConfigurationError
from agent.geometry import CoordinateSpace, ModelFrame, Point
from agent.grounding.base import Grounder, grounder_name
from agent.grounding.vlm import VLMGrounder
from agent.loop import Agent
from agent.models.base import Backend
from agent.runs.recording import fraction, replayable, secrets_typed
from agent.screen.capture import CaptureSource, SettledScreen
from agent.screen.matching import PatchMatch, crop_patch, find_patch
from agent.secrets import Secrets
from agent.step import Session, Step, library_versions
from agent.styles.base import PastStep, Style
from agent.trajectory import (
    MonitorRecord,
    ReplayMode,
    ReplayRecord,
    ReplayVerdict,
    RunStatus,
    Source,
    StepRecord,
    TargetRecord,
    Trajectory,
    TrajectoryMeta,
    TrajectoryRecorder,
    load_trajectory,
    now_iso,
)

__all__ = ["REPLAY_MODES", "ReplayDecider", "ReplayResult", "replay"]

REPLAY_MODES: tuple[ReplayMode, ...] = get_args(ReplayMode)


def _replace_points(action: Action, points: Iterator[Point]) -> Action:
    return map_points(action, lambda _: next(points))


@dataclass
class _Comparison:
    """Where the recorded points of a step are on the live capture, point by point."""

    matches: list[PatchMatch]
    near: list[tuple[float, float]]
    """where each point is expected on the live capture (the recorded one, scaled)"""

    def found(self) -> bool:
        return all(self.pixel(i) is not None for i in range(len(self.matches)))

    def pixel(self, i: int) -> tuple[float, float] | None:
        m, (x, y) = self.matches[i], self.near[i]
        if not m.found or m.x is None or m.y is None:
            return None
        return x + (m.x - round(x)), y + (m.y - round(y))


class ReplayDecider:
    """Gives the recorded steps, one per call, in the chosen mode. A step that was refused by
    the loop (``feedback`` set) is given again; after the last one the run ends ``done``.

    ``model``: what re-grounds a diverged step in ``reground`` mode: a backend with ``style``
    (script targets through its grounding prompt, model steps through the run's instruction),
    or a grounder (script targets only); None: a diverged step stops the replay.
    ``target_timeout_s``: how long ``reground`` keeps looking (settled captures) for a recorded
    target that is not on the screen yet (a dialog still opening) before it is a divergence.
    """

    source: Source = "replay"

    def __init__(
        self,
        recording: Trajectory,
        mode: ReplayMode = "exact",
        *,
        model: Backend | Grounder | None = None,
        style: Style | None = None,
        screen: SettledScreen | None = None,
        target_timeout_s: float = 2.0,
    ) -> None:
        if mode not in REPLAY_MODES:
            raise ConfigurationError(f"replay mode {mode!r}: choose {', '.join(REPLAY_MODES)}")
        self.recording = recording
        self.mode: ReplayMode = mode
        self.steps = replayable(recording)
        if not self.steps:
            raise ConfigurationError(
                f"{recording.directory}: nothing to replay: none of its {len(recording.steps)} "
                "steps was carried out"
            )
        self.screen = screen
        self.target_timeout_s = target_timeout_s
        self.grounder: Grounder | None = None
        self.decider: ModelDecider | None = None
        if style is not None and hasattr(model, "complete"):
            backend = cast(Backend, model)
            self.grounder, self.decider = VLMGrounder(backend, style), ModelDecider(backend, style)
        elif model is not None and hasattr(model, "locate"):
            self.grounder = cast(Grounder, model)
        self.model_name = model.model if model is not None else None
        self.position = -1
        """index into :attr:`steps` of the step given last"""
        self._verdicts: dict[int, ReplayVerdict] = {}
        self._loader = background_pool("replay-screenshots")
        self._loading: dict[int, Future[Image.Image | None]] = {}

    @property
    def verdicts(self) -> dict[str, int]:
        """How many recorded steps got each verdict so far."""
        counts: dict[str, int] = {}
        for verdict in self._verdicts.values():
            counts[verdict] = counts.get(verdict, 0) + 1
        return counts

    def frame_for(self, width: int, height: int) -> ModelFrame:
        return ModelFrame.identity(width, height)

    def decide(self, situation: Situation) -> Decision:
        if situation.feedback is None:
            self.position += 1
        notes = [self.screen.describe()] if self.screen is not None else []
        if self.position >= len(self.steps):
            done = Terminate(status="success", message=f"replayed {len(self.steps)} steps")
            return Decision([done], situation.frame, "replay", notes=notes)
        step = self.steps[self.position]
        start = time.perf_counter()
        if self.mode == "exact":
            decision = self._exact(step, situation)
        elif self.mode == "scaled":
            decision = self._scaled(step, situation)
        else:
            decision = self._reground(step, situation)
        assert decision.replay is not None
        self._verdicts[self.position] = decision.replay.verdict  # a retried step: its last one
        timings = {**decision.timings, "replay": time.perf_counter() - start}
        return replace(decision, notes=[*notes, *decision.notes], timings=timings)

    def _record(
        self, step: StepRecord, verdict: ReplayVerdict, detail: str, score: float | None = None
    ) -> ReplayRecord:
        return ReplayRecord(
            recording=str(self.recording.directory),
            step=step.index,
            mode=self.mode,
            verdict=verdict,
            score=score,
            detail=detail,
        )

    def _exact(self, step: StepRecord, situation: Situation) -> Decision:
        record = self._record(step, "replayed", "the recorded screen actions")
        return Decision(list(step.actions_run()), situation.frame, "replay", replay=record)

    def _scaled(self, step: StepRecord, situation: Situation) -> Decision:
        assert step.monitor is not None
        actions = [map_points(a, lambda p: fraction(p, step)) for a in step.actions_run()]
        live = situation.screenshot.monitor
        detail = f"mapped from {step.monitor.monitor().describe()} to {live.describe()}"
        record = self._record(step, "replayed", detail)
        return Decision(actions, situation.frame, "replay", replay=record)

    def _compare(
        self, step: StepRecord, live: Image.Image, recorded: Image.Image | None
    ) -> _Comparison:
        matches, near = [], []
        for action in step.actions_run():
            for point in points_of(action):
                where = fraction(point, step)
                expected = (where.x * live.width, where.y * live.height)
                near.append(expected)
                if recorded is None:
                    matches.append(PatchMatch(False, None, None, 0.0, -1.0, "no screenshot"))
                    continue
                patch = crop_patch(recorded, *step.capture_pixel(point))
                matches.append(find_patch(live, patch, expected))
        return _Comparison(matches, near)

    def _screenshot(self, position: int) -> Image.Image | None:
        """The recorded screenshot of ``steps[position]``; the next one starts loading in the
        background meanwhile (it is decoded while this step acts)."""
        pending = self._loading.pop(position, None)
        if position + 1 < len(self.steps):
            self._loading[position + 1] = self._loader.submit(self._load, self.steps[position + 1])
        return pending.result() if pending is not None else self._load(self.steps[position])

    def _load(self, step: StepRecord) -> Image.Image | None:
        if step.screenshot is None:
            return None
        path = self.recording.screenshot_path(step)
        try:
            data = path.read_bytes()
            if (
                step.screenshot_sha256
                and hashlib.sha256(data).hexdigest() != step.screenshot_sha256
            ):
                raise ConfigurationError(f"{path} is not the recorded screenshot (sha256 differs)")
            with Image.open(io.BytesIO(data)) as opened:
                return opened.convert("RGB")
        except OSError as exc:
            raise ConfigurationError(f"cannot read the recorded screenshot {path}: {exc}") from exc

    def close(self) -> None:
        """Stop loading screenshots in the background."""
        self._loader.shutdown(wait=True, cancel_futures=True)

    def _reground(self, step: StepRecord, situation: Situation) -> Decision:
        recorded = self._screenshot(self.position)
        compared = self._compare(step, situation.screenshot.image, recorded)
        start = time.monotonic()
        waited = None
        while (
            not compared.found()
            and self.screen is not None
            and time.monotonic() - start < self.target_timeout_s
        ):  # the UI may not have shown it yet (a dialog still opening): look again
            shot = self.screen.capture()
            situation = replace(situation, screenshot=shot)
            compared = self._compare(step, shot.image, recorded)
            waited = time.monotonic() - start
        decision = self._judge(step, situation, compared)
        if waited is None:
            return decision
        note = f"looked again for {waited:.1f} s for the recorded target" + (
            ": it appeared; acted on that later capture" if compared.found() else ""
        )
        return replace(decision, notes=[*decision.notes, note])

    def _judge(self, step: StepRecord, situation: Situation, compared: _Comparison) -> Decision:
        pixels = [compared.pixel(i) for i in range(len(compared.matches))]
        scores = [m.score for m in compared.matches]
        low = min(scores) if scores else None
        targets = [t for t in step.targets if t.pixel is not None]
        if not pixels:
            record = self._record(step, "replayed", "nothing to compare: the step has no point")
            return Decision(list(step.actions_run()), situation.frame, "replay", replay=record)
        if all(p is not None for p in pixels):
            found = iter(Point(x=p[0], y=p[1], space=CoordinateSpace.RESIZED) for p in pixels if p)
            actions = [_replace_points(a, found) for a in step.actions_run()]
            detail = f"{len(pixels)} point(s) found where recorded (lowest score {low:.2f})"
            kept = [t.model_copy(update={"located_by": "replay", "score": low}) for t in targets]
            record = self._record(step, "matched", detail, low)
            return Decision(actions, situation.frame, "replay", replay=record, targets=kept)
        missing = [
            f"({x:g}, {y:g}): {m.reason}"
            for m, (x, y), p in zip(compared.matches, compared.near, pixels, strict=True)
            if p is None
        ]
        why = "the live screen differs around " + "; ".join(missing)
        script = len(targets) == len(pixels) and all(t.description for t in targets)
        if script and self.grounder is not None:
            return self._locate_again(step, situation, pixels, targets, why, low)
        if not script and self.decider is not None:
            return self._decide_again(step, situation, why, low)
        if self.grounder is None:
            hint = "give a model (--model or --base-url) to re-ground it"
        else:
            hint = f"{grounder_name(self.grounder)} cannot re-decide a model's step: give a model"
        report = f"diverged at recorded step {step.index}: {why}; {hint}"
        record = self._record(step, "diverged", why, low)
        stop = Terminate(status="failure", message=report)
        return Decision([stop], situation.frame, "replay", replay=record)

    def _locate_again(
        self,
        step: StepRecord,
        situation: Situation,
        pixels: list[tuple[float, float] | None],
        targets: list[TargetRecord],
        why: str,
        low: float | None,
    ) -> Decision:
        assert self.grounder is not None
        image = situation.screenshot.image
        points, records, calls, raw = [], [], 0, []
        for pixel, target in zip(pixels, targets, strict=True):
            if pixel is None:
                assert target.description is not None
                located = self.grounder.locate(image, target.description)
                calls += located.model_calls
                raw.append(located.raw_output)
                x, y = located.pixel()
                dx, dy = target.offset or (0.0, 0.0)  # a person's click beside its label
                pixel = (float(x) + dx, float(y) + dy)
                target = target.model_copy(
                    update={
                        "located_by": grounder_name(self.grounder),
                        "pixel": pixel,
                        "box": located.box_pixels(clamp=True),
                        "score": None,
                    }
                )
            else:
                target = target.model_copy(update={"located_by": "replay"})
            points.append(Point(x=pixel[0], y=pixel[1], space=CoordinateSpace.RESIZED))
            records.append(target)
        found = iter(points)
        actions = [_replace_points(a, found) for a in step.actions_run()]
        names = ", ".join(repr(t.description) for t in targets)
        record = self._record(step, "re-grounded", f"{why}; located {names} again", low)
        return Decision(
            actions,
            situation.frame,
            "replay",
            raw_output="\n".join(r for r in raw if r),
            model_calls=calls,
            replay=record,
            targets=records,
        )

    def _decide_again(
        self, step: StepRecord, situation: Situation, why: str, low: float | None
    ) -> Decision:
        assert self.decider is not None
        shot = situation.screenshot
        frame = self.decider.frame_for(shot.image.width, shot.image.height)
        past = [PastStep(tuple(s.parsed), None, s.raw_output) for s in self.steps[: self.position]]
        asked = Situation(
            situation.index, self.recording.meta.instruction, shot, frame, past, situation.feedback
        )
        decision = self.decider.decide(asked)
        record = self._record(step, "re-grounded", f"{why}; the model decided the step again", low)
        return replace(decision, replay=record)


@dataclass(frozen=True)
class ReplayResult:
    status: RunStatus
    message: str | None
    steps: int
    trajectory: Path | None
    verdicts: dict[str, int] = field(default_factory=dict)
    """how many recorded steps got each verdict"""
    history: list[Step] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "done"


def replay(
    recording: Path | str | Trajectory,
    *,
    screen: CaptureSource | None = None,
    executor: Executor | None = None,
    desktop: DesktopConnection | None = None,
    mode: ReplayMode = "exact",
    out: Path | str | None = None,
    model: Backend | Grounder | None = None,
    style: Style | None = None,
    secrets: Secrets | Mapping[str, str] | None = None,
    settle_timeout_s: float = 5.0,
    settle_poll_s: float = 0.01,
    target_timeout_s: float = 2.0,
    policy: Policy | None = None,
    budget: Budget | None = None,
    max_retries: int = 1,
    stop_file: Path | str | None = None,
    progress: Callable[[Step], None] | None = None,
) -> ReplayResult:
    """Replay ``recording`` (a trajectory directory) on ``desktop`` (an open
    :class:`~agent.desktops.base.DesktopConnection`, recorded in the replay's meta; the caller
    closes it afterwards) or on ``screen`` with ``executor``; record it into ``out``.

    ``target_timeout_s``: ``reground`` looks again this long for a recorded target that is not
    on the screen yet. ``secrets``: values of the secrets the recording types, by name (a
    missing one is a ConfigurationError before anything runs). ``max_retries``: refused steps
    given again (a model's unusable answer while re-grounding). Returns the status: ``done``
    when every step was replayed, ``failed`` when one diverged (nothing of it acted) or was
    refused.
    """
    if desktop is not None:
        if screen is not None or executor is not None:
            raise ConfigurationError(
                "give the replay a desktop, or a screen and an executor, not both"
            )
        screen, executor = desktop.screen, desktop.executor
    elif screen is None or executor is None:
        raise ConfigurationError("the replay needs a desktop, or a screen and an executor")
    trajectory = recording if isinstance(recording, Trajectory) else load_trajectory(recording)
    settled = SettledScreen(screen, settle_timeout_s, settle_poll_s)
    decider = ReplayDecider(
        trajectory, mode, model=model, style=style, screen=settled,
        target_timeout_s=target_timeout_s,
    )  # fmt: skip
    given = secrets if isinstance(secrets, Secrets) else Secrets(secrets)
    missing = [n for n in secrets_typed(trajectory, decider.steps) if n not in given.names]
    if missing:
        raise ConfigurationError(
            f"the recording types the secret(s) {', '.join(missing)}: give their values (the "
            "command line reads the environment variables of the same names)"
        )
    agent = Agent(
        model,
        style,
        executor,
        settled,
        max_steps=len(decider.steps) * (1 + max_retries) + 1,
        max_retries=max_retries,
        policy=policy,
        budget=budget,
        loop_limit=0,  # a recording may repeat a step on purpose; it is bounded anyway
        secrets=given,
        stop_file=stop_file,
        decider=decider,
    )
    meta = TrajectoryMeta(
        instruction=trajectory.meta.instruction,
        model=decider.model_name or "none",
        backend="replay",
        style=trajectory.meta.style,
        min_pixels=trajectory.meta.min_pixels,
        max_pixels=trajectory.meta.max_pixels,
        monitor=MonitorRecord.of(screen.monitor),
        settings={
            "replay_of": str(trajectory.directory),
            "mode": mode,
            "settle_timeout_s": settle_timeout_s,
            "settle_poll_s": settle_poll_s,
            "target_timeout_s": target_timeout_s,
            "secrets": given.names,
        },
        versions=library_versions(),
        started_at=now_iso(),
        desktop=desktop.record() if desktop is not None else None,
    )
    recorder = TrajectoryRecorder(Path(out), meta, secrets=given) if out is not None else None
    session = Session(recorder)
    history: list[Step] = []
    status: RunStatus = "error"
    message: str | None = "the replay ended unexpectedly"
    steps = agent.steps(f"replay of {trajectory.directory}", session=session)
    try:
        for step in steps:
            history.append(step)
            if progress is not None:
                progress(step)
            if step.status is not None:
                status, message = step.status, step.message
    except KeyboardInterrupt:
        status, message = "aborted", "interrupted (Ctrl-C)"
        raise
    finally:
        steps.close()
        decider.close()
        session.close(status, message)
    return ReplayResult(
        status, message, len(history), recorder.directory if recorder else None,
        dict(decider.verdicts), history,
    )  # fmt: skip
