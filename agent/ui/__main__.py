"""``python -m agent.ui``: the web UI, as ``gui-agent ui``."""

import sys

from agent.ui.app import main

sys.exit(main())
