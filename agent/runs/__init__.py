"""Recorded runs, used again.

* :mod:`agent.runs.replay`: :func:`~agent.runs.replay.replay` a trajectory without the model
  (exact, scaled, or re-grounded), recorded like a run;
* :mod:`agent.runs.recording`: what a recording holds for a replay (its carried-out steps, their
  points as fractions of the capture, the secrets they typed);
* :mod:`agent.runs.viewer`: the static HTML viewer of a run;
* :mod:`agent.runs.export`: runs as fine-tuning data, from :mod:`agent.runs.training_samples`
  (what a run teaches) through :mod:`agent.runs.training_rows` (rows per format) and
  :mod:`agent.runs.answers` (answers as each family writes them).
"""
