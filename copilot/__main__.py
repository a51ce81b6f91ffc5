"""``python -m copilot``: the same as the ``logistics-copilot`` command."""

from copilot.apps.cli import main

raise SystemExit(main())
