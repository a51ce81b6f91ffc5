"""Named crash points for the fault suite (``bench/faults.py``): the process kills itself with SIGKILL there.

``LOGISTICS_COPILOT_CRASH_AT=<point>[:<n>]`` makes the n-th passage (default the first) through ``<point>``
end the process at once, as ``kill -9`` would: no exception handler, no ``finally`` and no database
rollback runs. Counting passages lets the fault suite kill a request at each of its write steps in turn
(an idempotency claim, the change, ...). Points:

* ``planning``: a re-plan has started solving, nothing of the request is written yet;
* ``before_commit``: a write transaction has executed every statement but not committed;
* ``after_commit``: it has committed, the reply is not yet sent.

Unset (always, outside the fault suite) a crash point costs one dictionary look-up.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

from copilot.core import settings as cfg

CRASH_ENV = cfg.CRASH_AT
POINTS = ("planning", "before_commit", "after_commit")


_passages: Counter[str] = Counter()


def crash_point(name: str) -> None:
    """End the process with SIGKILL on the passage through this point that ``LOGISTICS_COPILOT_CRASH_AT`` names."""
    wanted = cfg.env(CRASH_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _passages[name] += 1
    if _passages[name] == (int(nth) if nth.isdigit() else 1):
        os.kill(os.getpid(), signal.SIGKILL)
