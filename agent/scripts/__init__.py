"""Scripts and tasks: the desktop driven by descriptions, not coordinates.

* :mod:`agent.scripts.desktop`: :class:`~agent.scripts.desktop.Desktop`, the script API (click,
  type, scroll, drag, wait_for, check, query, act), each call one recorded step of the loop;
* :mod:`agent.scripts.steps`: the deciders behind those calls;
* :mod:`agent.scripts.location_cache`: where targets were found, reused while the screen agrees;
* :mod:`agent.scripts.task_file`: task files (YAML) and :mod:`agent.scripts.task_runner` that
  runs them with their app and checks;
* :mod:`agent.scripts.demo`: the bundled task on a private display; :mod:`agent.scripts.bundled`:
  the bundled tasks and apps, found as package data.
"""
