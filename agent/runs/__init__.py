"""Recorded runs, used again.

* :mod:`agent.runs.replay`: :func:`~agent.runs.replay.replay` a trajectory without the model
  (exact, scaled, or re-grounded), recorded like a run;
* :mod:`agent.runs.recording`: what a recording holds for a replay (its carried-out steps, their
  points as fractions of the capture, the secrets they typed);
* :mod:`agent.runs.viewer`: the static HTML viewer of a run;
* :mod:`agent.runs.recorder`: :class:`~agent.runs.recorder.PersonRecorder` records what a person
  does as a trajectory (``source: person``) that replays, views and exports like a run, from
  :mod:`agent.runs.input_events` (the X server's input through RECORD),
  :mod:`agent.runs.gestures` (events read as actions, pure), :mod:`agent.runs.frame_ring` (the
  screen kept in a ring, the frame before each action) and :mod:`agent.runs.target_naming`
  (OCR text or a model's words for each point); :mod:`agent.runs.task_writer` writes it as a
  task file;
* :mod:`agent.runs.export`: runs as fine-tuning data, from :mod:`agent.runs.training_samples`
  (what a run teaches) through :mod:`agent.runs.training_rows` (rows per format) and
  :mod:`agent.runs.answers` (answers as each family writes them).
"""
