"""ScreenSpot-style evaluation: loaders, the metric, the harness, the report.

* :mod:`agent.evaluation.benchmarks`: annotation files (ScreenSpot v1/v2, ScreenSpot-Pro, the
  normalised-xyxy mirrors) into one :class:`~agent.evaluation.benchmarks.Sample` type;
* :mod:`agent.evaluation.outcomes`: one line of ``results.jsonl`` per sample;
* :mod:`agent.evaluation.metric`: correctness, micro/macro averages, ScreenSpot-Pro breakdowns;
* :mod:`agent.evaluation.harness`: streaming, resumable runs with a manifest;
* :mod:`agent.evaluation.report`: the HTML page of an evaluation.
"""
