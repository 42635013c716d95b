"""The ``gui-agent`` command line, one module per command group:

* :mod:`agent.cli.main`: the parser of every command and the dispatch (``gui-agent``,
  ``python -m agent.cli``); each command's module is imported when it runs;
* :mod:`agent.cli.run`: ``run`` (an instruction, or a task file with ``--task``) and ``demo``;
* :mod:`agent.cli.ground`: ``ground``, one element located in an image;
* :mod:`agent.cli.trajectories`: ``replay``, ``view`` and ``export`` of recorded runs;
* :mod:`agent.cli.record`: ``record``, what a person does, as a trajectory and a task file;
* :mod:`agent.cli.evaluate`: ``eval``, ScreenSpot-style grounding accuracy;
* :mod:`agent.cli.web`: ``ui``, the web UI;
* :mod:`agent.cli.options`: the options and builders several commands share (argument types, the
  model options, the backend, grounder, policy, budget and desktop, secrets, ``--var``); the only
  module that reads environment variables;
* :mod:`agent.cli.exit_codes`: the exit codes.
"""
