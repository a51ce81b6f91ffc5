"""kill -9 during an idempotent write, restart, retry: the store is before or after (never between) and the retry
completes. A CI-sized slice of ``bench/faults.py`` (which runs every operation at every crash point)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from copilot.core.errors import ConfigurationError
from tools.sql.testing import scratch_database

BENCH = Path(__file__).resolve().parents[2] / "bench" / "faults.py"


def _faults() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_faults", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_new_order_killed_at_each_step_is_recorded_once_with_its_draft_after_a_retry(backend: str, tmp_path: Path) -> None:
    faults = _faults()
    if backend == "postgres":
        try:
            with scratch_database(faults.PG_ADMIN_URL):
                pass
        except ConfigurationError as e:
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL must be reachable in CI: {e}")
            pytest.skip(f"PostgreSQL is not reachable: {e}")
    cases = faults.run([backend], ["add_order"], ["planning", "after_commit"], tmp_path, progress=lambda line: None)
    # the claim, the change (with its reply) and at least one lease renewal are each a step that was killed
    assert len([c for c in cases if c.point == "after_commit"]) >= 2
    assert {c.state_after_crash for c in cases} == {"before", "after"}
    bad = [c for c in cases if not c.ok]
    assert not bad, bad
