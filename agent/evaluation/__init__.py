"""ScreenSpot-style evaluation: loaders, the metric, the harness, the report.

* :mod:`agent.evaluation.benchmarks`: annotation files (ScreenSpot v1/v2, ScreenSpot-Pro, the
  normalised-xyxy mirrors) into one :class:`~agent.evaluation.benchmarks.Sample` type, and
  :mod:`agent.evaluation.suites` those of OSWorld-G, UI-Vision and MMBench-GUI L2;
* :mod:`agent.evaluation.shapes`: polygon targets (point in polygon, edges included);
* :mod:`agent.evaluation.outcomes`: one line of ``results.jsonl`` per sample;
* :mod:`agent.evaluation.metric`: correctness, micro/macro averages, ScreenSpot-Pro breakdowns,
  and :mod:`agent.evaluation.leaderboards` the other benchmarks' own keys;
* :mod:`agent.evaluation.prompts`: the prompts an evaluation asks with and how answers are read;
* :mod:`agent.evaluation.harness`: streaming, resumable runs with a manifest, and
  :mod:`agent.evaluation.progress` its progress line;
* :mod:`agent.evaluation.results`: the files of an evaluation directory;
* :mod:`agent.evaluation.report`: the HTML page of an evaluation.
"""
