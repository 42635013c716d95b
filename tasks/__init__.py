"""gui-agent's bundled data, shipped in the wheel as package data (no code lives here).

* ``NAME.yaml``: the task files (``gui-agent demo --task NAME``, the web UI's Run tab); each
  launches its app with ``${task_dir}/apps/NAME.py``;
* ``apps/``: the small stdlib-tkinter apps those tasks drive (scripts, not modules of a package);
* ``screenspot-sample/``: the ScreenSpot-style sample set (annotations, images, their pages);
* ``screenshots/``: sample screenshots of the apps (the web UI's Ground tab uses
  ``preferences.png``).

The product reaches these files only through :mod:`agent.scripts.bundled`
(``importlib.resources``), never by a path relative to a clone, so an installed wheel finds them
from any folder. :data:`BUNDLE` tells this package from a user's own folder called ``tasks``.
"""

BUNDLE = "gui-agent"
"""the marker :mod:`agent.scripts.bundled` checks: a ``tasks`` without it is not ours"""
