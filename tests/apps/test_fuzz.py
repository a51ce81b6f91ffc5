"""The partner API under Schemathesis: the real server, two partners, every operation, a small fixed budget.

The same harness as ``bench/fuzz/run.py`` (which runs the long campaigns, e.g. ``--requests 20000``) with a
budget of about a minute of requests and a fixed seed: it fails on any 5xx, any reply that breaks the OpenAPI
document (undocumented status, body or content type), any request error, any exception in the server's log,
and any reply that crosses partners. The failure message is the run's markdown summary (each cause with the
smallest request that reproduces it).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("schemathesis")

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

RUN_PY = Path(__file__).resolve().parents[2] / "bench" / "fuzz" / "run.py"
REQUESTS = 2000  # about 60-90 s at the server's per-partner rate limit with two sessions
MAX_SECONDS = 150  # hard cap, setup included
SEED = 0


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fuzz_run", RUN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_partner_api_survives_fuzzing(tmp_path: Path) -> None:
    harness = _harness()
    workers = 2 if (os.cpu_count() or 1) >= 2 else 1  # the server plans one request per core at a time
    args = harness._parser().parse_args(
        ["--requests", str(REQUESTS), "--max-seconds", str(MAX_SECONDS), "--seed", str(SEED), "--workers", str(workers), "--out", str(tmp_path / "fuzz"), "--quiet"]
    )
    code, summary = harness.run(args)
    report = (tmp_path / "fuzz" / "summary.md").read_text(encoding="utf-8")
    assert summary["harness_error"] is None, summary["harness_error"]
    assert summary["requests"] >= REQUESTS // 4, f"only {summary['requests']} requests were sent\n{report}"
    assert summary["documented_operations"] >= 33 and not summary["untested_operations"], report
    assert summary["ok"] and code == 0, report
