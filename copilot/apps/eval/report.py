"""The evaluation report: pass rates overall, per tag and pass^k, turn latency, totals, the machine; written atomically.

Report (JSON)::

    {"model", "hardware": {"cpu_count", "cpu_model", "platform", ...}, "threads", "repeat",
     "pass_rate",          # passed runs / runs
     "pass_rate_by_tag",   # the same per tag
     "pass_hat_k",         # k = repeat: share of tasks that pass in all k runs
     "turn_wall_s": {"median", "p95", "count"},
     "totals": {...}, "complete", "tasks_total", "tasks_done", "started_at", "finished_at",
     "tasks": [{"id", "world", "tags", "passed", "runs_passed",
                "runs": [{"run", "passed", "checks": [{"check", "params", "passed", "detail"}],
                          "answer", "answers", "tool_calls", "awaiting_approval",
                          "prompt_tokens", "completion_tokens", "cpu_s", "wall_s", "turn_wall_s",
                          "setup_s", "thread_id", "phase_s"?, "error"?}]}]}

``wall_s`` and ``cpu_s`` of a run cover its turns (the agent's work), not the setup (``setup_s``) or
the checks; ``cpu_s`` is the process's CPU time, every thread included. ``phase_s`` splits the turns'
seconds into ``prefill`` (the model evaluating prompts), ``decode`` (the model generating, grammar
sampling included) and ``tools`` (tool calls, planning, the store), when the agent reports them.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict[str, object]:
    """The machine the evaluation ran on."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _rate(passed: int, total: int) -> float | None:
    return round(passed / total, 4) if total else None


def build_report(
    task_records: Sequence[Mapping[str, Any]],
    *,
    model: str,
    repeat: int,
    threads: int | None = None,
    tasks_total: int | None = None,
    extra: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """The report over the task records done so far (see the module docstring for its keys)."""
    runs = [r for t in task_records for r in t["runs"]]
    by_tag: dict[str, list[bool]] = {}
    for t in task_records:
        for tag in t["tags"]:
            by_tag.setdefault(tag, []).extend(bool(r["passed"]) for r in t["runs"])
    turns = [float(w) for r in runs for w in r["turn_wall_s"]]
    done = len(task_records)
    total = tasks_total if tasks_total is not None else done
    report: dict[str, Any] = {
        "model": model,
        "hardware": hardware(),
        "threads": threads,
        "repeat": repeat,
        "pass_rate": _rate(sum(bool(r["passed"]) for r in runs), len(runs)),
        "pass_rate_by_tag": {tag: _rate(sum(v), len(v)) for tag, v in sorted(by_tag.items())},
        "pass_hat_k": _rate(sum(bool(t["passed"]) for t in task_records), done),
        "turn_wall_s": {
            "median": round(statistics.median(turns), 3) if turns else None,
            "p95": round(p, 3) if (p := percentile(turns, 95)) is not None else None,
            "count": len(turns),
        },
        "totals": {
            "tasks": done,
            "tasks_passed": sum(bool(t["passed"]) for t in task_records),
            "runs": len(runs),
            "runs_passed": sum(bool(r["passed"]) for r in runs),
            "runs_crashed": sum("error" in r for r in runs),
            "prompt_tokens": sum(int(r["prompt_tokens"]) for r in runs),
            "completion_tokens": sum(int(r["completion_tokens"]) for r in runs),
            "cpu_s": round(sum(float(r["cpu_s"]) for r in runs), 3),
            "wall_s": round(sum(float(r["wall_s"]) for r in runs), 3),
            "phase_s": {ph: round(sum(float((r.get("phase_s") or {}).get(ph, 0.0)) for r in runs), 3) for ph in ("prefill", "decode", "tools")},
        },
        "complete": done >= total,
        "tasks_total": total,
        "tasks_done": done,
    }
    report.update(extra or {})
    report["tasks"] = list(task_records)
    return report


def write_report(path: Path, report: Mapping[str, Any]) -> None:
    """Write the report as JSON atomically (a temporary file in the same directory, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(report, f, ensure_ascii=False, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
