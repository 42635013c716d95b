"""Many runs at once: a task once per row of a CSV/JSONL file, over a pool of desktops, on this
machine or across a Ray cluster (``gui-agent batch``).

* :mod:`agent.batch.rows`: the rows file (a row's columns are the task's variables);
* :mod:`agent.batch.row_process`: one row as ``gui-agent run --task`` in its own process
  (isolation, the per-run kill, read back from its output);
* :mod:`agent.batch.pool`: desktops as slots (private displays, VNC desktops) and the pool that
  keeps them busy; :mod:`agent.batch.ray_pool` the same slots as Ray actors on a cluster's nodes;
* :mod:`agent.batch.ledger`: ``manifest.json`` and ``results.jsonl`` (resume, never a row twice);
* :mod:`agent.batch.tally`: ``summary.json``/``summary.md``, ``index.html``, the progress line;
* :mod:`agent.batch.runner`: the batch, one code path over both executors.
"""
