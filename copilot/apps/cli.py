"""The ``logistics-copilot`` command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from copilot.errors import CopilotError

EPILOG = """\
examples:
  logistics-copilot demo                                   import the bundled demo world and plan it
  logistics-copilot import ../shared/eval/worlds/hangzhou-0501
  logistics-copilot plan --time-limit 5 --commit           plan the imported world and dispatch it
  logistics-copilot solve C101.txt --format solomon --time-limit 10 --seed 1 --json

environment:
  LOGISTICS_COPILOT_HOME     data directory (default: the user's data directory)
  LOGISTICS_COPILOT_DB_URL   database URL, e.g. postgresql+psycopg://user@127.0.0.1:5432/db
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="logistics-copilot",
        description="Plan, re-plan and explain a courier station's routes.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--db", help="database URL (overrides LOGISTICS_COPILOT_DB_URL)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    imp = sub.add_parser("import", help="import a world (depots.csv, vehicles.csv, orders.csv, world.json)")
    imp.add_argument("directory", type=Path)
    imp.add_argument("--replace", action="store_true", help="replace a stored world of the same name")

    exp = sub.add_parser("export", help="export a stored world as CSV files")
    exp.add_argument("directory", type=Path)
    exp.add_argument("--world", help="world name (default: the most recently imported)")

    sub.add_parser("worlds", help="list stored worlds")

    for name, helptext in (("plan", "plan the imported world"), ("demo", "import the bundled demo world and plan it")):
        pl = sub.add_parser(name, help=helptext)
        if name == "plan":
            pl.add_argument("--world", help="world name (default: the most recently imported)")
        pl.add_argument("--time-limit", type=float, default=5.0, metavar="S", help="search time in seconds (default 5)")
        pl.add_argument("--seed", type=int, default=0)
        pl.add_argument("--engine", choices=["auto", "ortools", "pyvrp"], default="auto")
        pl.add_argument("--commit", action="store_true", help="dispatch the plan (otherwise it is kept as a draft)")
        pl.add_argument("--json", action="store_true", help="print the plan as JSON")

    so = sub.add_parser("solve", help="solve a benchmark instance file and print one JSON object")
    so.add_argument("file", type=Path)
    so.add_argument("--format", required=True, choices=["solomon", "vrplib", "lilim", "sartori"])
    so.add_argument("--time-limit", type=float, default=10.0, metavar="S")
    so.add_argument("--seed", type=int, default=0)
    so.add_argument("--engine", choices=["auto", "ortools", "pyvrp"], default="auto")
    so.add_argument("--json", action="store_true", help="print JSON (the only output format; kept for clarity)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "solve":
            from copilot.apps.commands import solve_file

            print(json.dumps(solve_file(args.file, args.format, args.time_limit, args.seed, args.engine)))
            return 0
        from copilot.apps import commands

        handler = getattr(commands, f"cmd_{args.command}")
        started = time.perf_counter()
        code: int = handler(args)
        if args.command in ("plan", "demo"):
            print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return code
    except CopilotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing was committed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
