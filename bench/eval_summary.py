"""Summarise evaluator reports side by side: pass rate, pass^k, per tag, turn latency, seconds by phase, and
CPU seconds and tokens per passed run (what each model costs for the work it gets right).

    python bench/eval_summary.py bench/results/eval-qwen2.5-coder-1.5b.json bench/results/eval-qwen2.5-coder-0.5b.json \\
        --out bench/results/eval-summary.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def summarise(reports: list[tuple[str, dict[str, Any]]]) -> str:
    """The markdown tables for the given (name, report) pairs."""
    head = "| report | model | tasks | runs | pass rate | pass^k | turn median / p95 s | prefill / decode / tools s | CPU s per passed run |"
    lines = [head + " tokens per passed run (prompt / generated) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in reports:
        t = r["totals"]
        passed = max(1, int(t["runs_passed"]))
        ph = t.get("phase_s") or {}
        lines.append(
            f"| {name} | {r['model']} | {t['tasks']} | {t['runs']} | {_pct(r['pass_rate'])} | {_pct(r['pass_hat_k'])} (k={r['repeat']}) | "
            f"{r['turn_wall_s']['median']} / {r['turn_wall_s']['p95']} | {ph.get('prefill', 0):.0f} / {ph.get('decode', 0):.0f} / {ph.get('tools', 0):.0f} | "
            f"{t['cpu_s'] / passed:.1f} | {t['prompt_tokens'] / passed:.0f} / {t['completion_tokens'] / passed:.0f} |"
        )
    tags = sorted({tag for _, r in reports for tag in r["pass_rate_by_tag"]})
    lines += ["", "| tag | " + " | ".join(name for name, _ in reports) + " |", "|---|" + "---|" * len(reports)]
    for tag in tags:
        lines.append(f"| {tag} | " + " | ".join(_pct(r["pass_rate_by_tag"].get(tag)) for _, r in reports) + " |")
    fails = []
    for name, r in reports:
        for task in r["tasks"]:
            if task["runs_passed"] < len(task["runs"]):
                why = sorted({c["check"] for run in task["runs"] for c in run["checks"] if not c["passed"]} | {"error" for run in task["runs"] if "error" in run})
                fails.append(f"| {name} | {task['id']} | {task['runs_passed']}/{len(task['runs'])} | {', '.join(why)} |")
    if fails:
        lines += ["", "| report | task | runs passed | failed checks |", "|---|---|---|---|", *fails]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", nargs="+", type=Path, help="evaluator report files (logistics-copilot eval --report)")
    ap.add_argument("--out", type=Path, help="write the markdown here (default: print it)")
    args = ap.parse_args(argv)
    text = summarise([(p.stem, json.loads(p.read_text())) for p in args.reports])
    if args.out:
        args.out.write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
