"""``logistics-copilot models list | install | verify``."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from copilot.apps.agent import models_dir
from graphs import registry


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True))


def cmd_models(args: argparse.Namespace) -> int:
    """Dispatch the ``models`` sub-commands."""
    cache = models_dir()
    if args.models_command == "list":
        rows = registry.list_models(cache)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        table = Table(title=f"models (cache: {cache})")
        for col in ("name", "installed", "offline", "size", "description"):
            table.add_column(col)
        for r in rows:
            name = f"{r['name']} (default)" if r["default"] else str(r["name"])
            table.add_row(name, "yes" if r["installed"] else "no", "yes" if r["offline"] else "no", f"{r['size_mb']} MB" if r["size_mb"] else "-", str(r["title"]))
        Console().print(table)
        print("also accepted wherever a model is named: a path to a .gguf file")
        return 0
    if args.models_command == "install":
        name = args.name or registry.DEFAULT_MODEL
        with _progress() as bar:
            tasks: dict[str, TaskID] = {}

            def report(label: str, done: int, total: int) -> None:
                if label not in tasks:
                    tasks[label] = bar.add_task(label, total=total or None)
                bar.update(tasks[label], completed=done)

            resolved = registry.install(name, cache, report, force=args.force)
        print(f"{name}: installed and verified at {resolved.path} (sha256 {resolved.sha256})")
        return 0
    names = [args.name] if args.name else [m for m in registry.MODELS if (cache / m).exists()]
    if not names:
        print("no model is installed; install one with: logistics-copilot models install", file=sys.stderr)
        return 1
    failed = False
    for name in names:
        with _progress() as bar:
            task = bar.add_task(f"verify {name}", total=None)

            def step(_label: str, done: int, total: int, bar: Progress = bar, task: TaskID = task) -> None:
                bar.update(task, completed=done, total=total)

            message = registry.verify(name, cache, step)
        print(message)
        failed = failed or "corrupt" in message or "not installed" in message
    return 1 if failed else 0
