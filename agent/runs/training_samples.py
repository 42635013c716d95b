"""Training samples read off a recorded run: what :mod:`agent.runs.export` turns into rows.

A trajectory yields, in step order:

* one :class:`StepSample` per carried-out step the model decided (``source == "model"``): the
  step's recorded prompt turn by turn (roles and texts as recorded, each ``{"image": name}`` part
  the checked screenshot file of that name) and the actions that ran;
* one :class:`GroundingSample` per located target of a carried-out script step (``source`` is
  ``"script"`` or ``"cache"``) or of a person's recorded step (``"person"``: a target named by
  the text under the point, or by a model's words; one named by a label beside it is left out):
  the screenshot, the description, where the target was found in capture pixels
  (``TargetRecord.pixel``) and, when a model located it, its answer in its own space and frame.

Only steps that were **carried out** count, and of them only the actions that ran: the rule
replay shares (:meth:`~agent.trajectory.StepRecord.actions_run`). A model step also needs its
recorded prompt, showing its own screenshot. Everything else (refused or unusable answers, replays,
checks, waits, failed captures) gives no sample and is counted in :attr:`RunSamples.steps_skipped`.

Every screenshot used is checked: the file exists and, where the step that captured it recorded a
sha256, matches it; otherwise :class:`~agent.errors.ConfigurationError` names the file. A prompt
image that no step of the run captured makes the run unusable (:class:`UnusableRun`). Texts are
the recorded ones, where secrets are already placeholders (:mod:`agent.secrets`); ``meta.json``
is not read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from actions.schema import Action
from agent.errors import ConfigurationError
from agent.geometry import Point
from agent.trajectory import FrameRecord, StepRecord, Trajectory

__all__ = [
    "Carried",
    "GroundingSample",
    "RunSamples",
    "Sample",
    "Shot",
    "StepSample",
    "Turn",
    "UnusableRun",
    "carried_out",
    "read_samples",
]


class UnusableRun(Exception):
    """A run that cannot be exported as a whole; the message is the one-line reason."""


@dataclass(frozen=True)
class Shot:
    """A checked screenshot file and the step it was captured for."""

    path: Path
    """absolute path of the recorded step_NNNN.png"""
    step: StepRecord

    @property
    def frame(self) -> FrameRecord:
        assert self.step.frame is not None
        return self.step.frame


@dataclass(frozen=True)
class Turn:
    """A recorded prompt turn: its role and its parts, text and screenshots in order."""

    role: str
    parts: tuple[str | Shot, ...]


@dataclass(frozen=True)
class Carried:
    """An action that was carried out: as the model answered it and as it was executed."""

    parsed: Action
    """in the model's coordinate space (the step's frame)"""
    executed: Action
    """in screen coordinates, exactly as handed to the executor"""


@dataclass(frozen=True)
class StepSample:
    """A carried-out model step: its prompt as recorded and the actions that ran."""

    prompt: tuple[Turn, ...]
    shot: Shot
    """the step's own screenshot (the one its answer's points refer to)"""
    actions: tuple[Carried, ...]

    @property
    def step(self) -> StepRecord:
        return self.shot.step


@dataclass(frozen=True)
class GroundingSample:
    """A target a script step located and then acted on."""

    shot: Shot
    description: str
    pixel: tuple[float, float]
    """where the target is, in capture pixels"""
    model_point: Point | None = None
    """the grounder's answer in its own space, when a model located it"""
    frame: FrameRecord | None = None
    """the frame of ``model_point``"""


Sample = StepSample | GroundingSample


@dataclass(frozen=True)
class RunSamples:
    trajectory: Trajectory
    samples: tuple[Sample, ...]
    """in step order"""
    steps_skipped: int = 0


def carried_out(step: StepRecord) -> tuple[Carried, ...]:
    """The actions of ``step`` that ran (:meth:`StepRecord.actions_run`), each with the model's
    answer it came from; empty when the step was not carried out or its decider changed the
    number of actions (the answer and the execution cannot be paired)."""
    ran = step.actions_run()
    if not ran or len(step.parsed) != len(step.executed):
        return ()
    return tuple(Carried(p, e) for p, e in zip(step.parsed, ran, strict=False))


class _Shots:
    """Screenshot files of one trajectory, by the step that captured them; each checked once."""

    def __init__(self, trajectory: Trajectory) -> None:
        self.trajectory = trajectory
        self._checked: dict[str, Path] = {}
        self._captured: dict[str, StepRecord] = {}
        for step in trajectory.steps:
            if step.screenshot is not None:
                self._captured.setdefault(step.screenshot, step)

    def of(self, step: StepRecord) -> Shot:
        path = self.trajectory.screenshot_path(step).resolve()
        key = f"{path}:{step.screenshot_sha256}"
        if key not in self._checked:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ConfigurationError(f"screenshot {path} cannot be read: {exc}") from exc
            wanted = step.screenshot_sha256
            if wanted and hashlib.sha256(data).hexdigest() != wanted:
                raise ConfigurationError(
                    f"screenshot {path} does not match the sha256 recorded for step {step.index}"
                )
            self._checked[key] = path
        return Shot(path, step)

    def named(self, name: str, shown_in: StepRecord) -> Shot:
        """The screenshot called ``name`` in the prompt of ``shown_in``."""
        captured = self._captured.get(name)
        if captured is None:
            raise UnusableRun(
                f"step {shown_in.index}'s prompt shows {name!r}, which no step of the run captured"
            )
        return self.of(captured)


def read_samples(trajectory: Trajectory) -> RunSamples:
    """The samples of ``trajectory``, in step order. Raises UnusableRun (with the reason) or
    ConfigurationError (a screenshot missing or changed)."""
    shots = _Shots(trajectory)
    samples: list[Sample] = []
    skipped = 0
    for step in trajectory.steps:
        actions = carried_out(step)
        found: list[Sample] = []
        if actions and step.source == "model":
            found = _step_sample(step, actions, shots)
        elif actions and step.source in ("script", "cache", "person"):
            found = list(_grounding(step, shots))
        samples += found
        skipped += not found
    return RunSamples(trajectory, tuple(samples), skipped)


def _step_sample(step: StepRecord, actions: tuple[Carried, ...], shots: _Shots) -> list[Sample]:
    """The step's sample; none when it recorded no prompt or its prompt hides its screenshot."""
    if not step.prompt or step.screenshot is None:
        return []
    turns = []
    for turn in step.prompt:
        parts: list[str | Shot] = []
        for part in turn.content:
            if isinstance(part, str):
                parts += [part] if part else []
            elif "image" in part:
                parts.append(shots.named(part["image"], step))
            else:
                raise UnusableRun(f"step {step.index}'s prompt holds a part {sorted(part)}")
        turns.append(Turn(turn.role, tuple(parts)))
    own = shots.of(step)
    if not any(isinstance(p, Shot) and p.path == own.path for t in turns for p in t.parts):
        return []
    return [StepSample(tuple(turns), own, actions)]


def _grounding(step: StepRecord, shots: _Shots) -> list[GroundingSample]:
    samples = []
    for target in step.targets:
        if target.pixel is None or not target.description:
            continue
        if step.source == "person" and target.box is not None and not _inside(
            target.pixel, target.box
        ):  # named by a label beside it: not where that text is
            continue
        samples.append(
            GroundingSample(
                shots.of(step),
                target.description,
                target.pixel,
                target.model_point if target.frame is not None else None,
                target.frame if target.model_point is not None else None,
            )
        )
    return samples


def _inside(pixel: tuple[float, float], box: tuple[int, int, int, int]) -> bool:
    return box[0] <= pixel[0] <= box[2] and box[1] <= pixel[1] <= box[3]
