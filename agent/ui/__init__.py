"""The web UI (Gradio, the ``ui`` extra): ``gui-agent ui`` or ``python -m agent.ui``.

* :mod:`agent.ui.app`: the app with its three tabs, and the server (``build_app``, ``serve``,
  ``main``); the only module that imports Gradio, and only when the app is built;
* :mod:`agent.ui.ground_tab`: the Ground tab (a screenshot, an instruction, the answer drawn),
  and :func:`~agent.ui.ground_tab.one_line`, how every tab shows an error;
* :mod:`agent.ui.run_tab`: the Run tab (a bundled task or a free instruction, its progress and
  checks);
* :mod:`agent.ui.run_jobs`: the runs behind it, one at a time in a worker thread, on a private
  virtual display unless the real one is chosen and confirmed;
* :mod:`agent.ui.trajectories_tab`: the Trajectories tab (the recorded runs and their viewers);
* :mod:`agent.ui.model_choice`: the model settings of a form, their controls (shared by the
  Ground and Run tabs) and the cache that loads each model once per server.
"""
