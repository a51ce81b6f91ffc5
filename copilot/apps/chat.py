"""``logistics-copilot chat``: the dispatcher's terminal conversation with the copilot.

Each message goes through the dispatcher graph (the same one Slack and the evaluator use); the steps
it takes are shown as they happen, a plan change is shown as a route table with its key figures, and a
draft waits for an explicit approval (type ``approve`` or ``discard``, or keep talking). The conversation
is kept per thread: ``--thread ID`` continues it after a restart.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from copilot.apps import maps
from copilot.core.errors import CopilotError, InputError

HELP = """\
Type what you would tell a colleague, for example:
  Which van has P546630?            When will the driver get to P1446747?
  HZ-V3 just broke down, cover its pickups.      HZ-V1 is 40 minutes late.
  New pickup P900001 at 30.4405, 120.2750, 2 parcels, 15:00-16:00.
  What if we only had 5 vehicles?   How many km are we driving today?
A plan change becomes a draft: reply 'approve' to send it to the drivers, or 'discard'.
Commands:
  /map [FILE]   write the current plan as a route map (FILE.png and FILE.html; default route-map)
  /history      this conversation so far
  /thread       the conversation id (continue later with --thread ID)
  /help         this help            /quit   leave (the conversation is kept)
Customer notes are quoted as data; the copilot never follows instructions written in them."""


def _routes_table(summary: Any, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("vehicle", "stops", "km", "leaves", "back", "first stops"):
        table.add_column(col, justify="right" if col in ("stops", "km") else "left")
    for r in summary.routes:
        if not r.stops:
            continue
        first = ", ".join(f"{oid} {eta}" for oid, eta in list(zip(r.stops, r.etas, strict=True))[:3])
        table.add_row(r.vehicle_id, str(len(r.stops)), f"{r.distance_km:.1f}", r.start, r.end, first + (" ..." if len(r.stops) > 3 else ""))
    return table


def _kpi_panel(summary: Any) -> Panel:
    lines = [
        f"plan #{summary.plan_id} ({summary.status})",
        f"vehicles used   {summary.vehicles_used}",
        f"orders served   {summary.orders_served}",
        f"unassigned      {len(summary.unassigned)}",
        f"distance        {summary.total_distance_km:.1f} km" + (f" ({summary.distance_delta_km:+.1f})" if summary.distance_delta_km is not None else ""),
    ]
    if summary.stops_moved is not None:
        lines.append(f"stops moved     {summary.stops_moved}")
    return Panel("\n".join(lines), title="key figures", expand=False)


class ChatSession:
    """One terminal conversation on one world."""

    def __init__(self, agent: Any, thread: str, console: Console, store: Any, world_name: str) -> None:
        self.agent = agent
        self.thread = thread
        self.console = console
        self.store = store
        self.world_name = world_name
        self._status: Any = None

    def _on_event(self, what: str, payload: Any) -> None:
        """The agent's progress during a turn, shown in the status line."""
        if what == "action" and self._status is not None:
            self._status.update(f"[dim]{'working on: ' + str(payload) if payload != 'chat' else 'answering'}...[/]")
        elif what == "approval" and self._status is not None:
            self._status.update(f"[dim]your answer to the draft: {payload}...[/]")

    def command(self, line: str) -> bool:
        """Handle a /command; False means quit."""
        cmd, _, rest = line.strip().partition(" ")
        if cmd in ("/quit", "/exit"):
            return False
        if cmd == "/help":
            self.console.print(HELP)
        elif cmd == "/thread":
            self.console.print(f"conversation {self.thread} (continue it with: logistics-copilot chat --thread {self.thread})")
        elif cmd == "/history":
            for item in self.agent.history(self.thread) or []:
                self.console.print(f"[bold]you[/]: {item['user']}   [dim]({item['action']})[/]")
        elif cmd == "/map":
            self.write_map(Path(rest.strip() or "route-map"))
        else:
            self.console.print(f"unknown command {cmd}; type /help")
        return True

    def write_map(self, base: Path) -> None:
        """Write the newest plan (draft if newer than the dispatched one) as PNG and HTML."""
        plans = self.store.plans(self.world_name)
        usable = [p for p in plans if p.status.value in ("committed", "draft")]
        if not usable:
            self.console.print("there is no plan yet; ask me to plan the day first")
            return
        chosen = usable[-1]
        world = self.store.load_world(self.world_name)
        title = f"{world.name} plan #{chosen.id} ({chosen.status.value})"
        html_path = maps.write_html(world, chosen.plan, base.with_suffix(".html"), title)
        try:
            png_path: Path | None = maps.write_png(world, chosen.plan, base.with_suffix(".png"), title)
        except CopilotError as exc:
            png_path = None
            self.console.print(f"[yellow]{exc}[/]")
        self.console.print(f"route map of plan #{chosen.id} written: {html_path}" + (f" and {png_path}" if png_path else ""))

    def send(self, text: str) -> None:
        """One dispatcher message: show progress, the reply, and any plan change (the turn's plan summary)."""
        with self.console.status("[dim]thinking...[/]") as status:
            self._status = status
            try:
                result = self.agent.turn(self.thread, text, on_event=self._on_event)
            finally:
                self._status = None
        self.console.print(Panel(result.answer, title="copilot", title_align="left", border_style="cyan"))
        summary = result.plan_summary
        if summary is not None:
            self.console.print(_routes_table(summary, f"routes of plan #{summary.plan_id}"))
            self.console.print(_kpi_panel(summary))
        if result.awaiting_approval:
            self.console.print(
                "[bold yellow]draft waiting for approval[/]: type [bold]approve[/] to send it to the drivers, [bold]discard[/] to drop it, or keep talking"
            )

    def loop(self, read: Callable[[str], str]) -> int:
        """Read messages until /quit or end of input."""
        self.console.print(f"[bold]logistics copilot[/] on world [bold]{self.world_name}[/], conversation {self.thread}. Type /help for examples, /quit to leave.")
        while True:
            try:
                line = read("dispatcher> ")
            except (EOFError, KeyboardInterrupt):
                self.console.print()
                break
            if not line.strip():
                continue
            if line.strip().startswith("/"):
                if not self.command(line):
                    break
                continue
            try:
                self.send(line)
            except InputError as exc:
                self.console.print(f"[red]{exc}[/]")
        self.console.print(f"bye; continue this conversation with: logistics-copilot chat --thread {self.thread}")
        return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """``logistics-copilot chat``."""
    from copilot.apps.agent import load_chat_model, make_agent
    from copilot.apps.commands import _current_world
    from copilot.apps.wiring import make_store

    console = Console(highlight=False)
    store = make_store(getattr(args, "db", None))
    try:
        world = _current_world(store, args.world)
        with console.status(f"[dim]loading the model ({args.model or 'default'})...[/]"):
            model = load_chat_model(args.model, args.threads)
        agent = make_agent(store, world, model)
        thread = args.thread or f"chat-{world}"
        session = ChatSession(agent, thread, console, store, world)
        if args.message:
            for text in args.message:
                console.print(f"[bold]dispatcher>[/] {text}")
                session.send(text)
            return 0
        return session.loop(console.input if sys.stdin.isatty() else input)
    finally:
        store.close()


def add_parser(sub: Any) -> None:
    """The ``chat`` sub-command."""
    ch = sub.add_parser(
        "chat",
        help="talk to the copilot about the stored world (terminal chat)",
        description=__doc__,
        epilog="examples:\n  logistics-copilot chat\n  logistics-copilot chat --thread monday-shift\n"
        "  logistics-copilot chat -m 'Which van has P546630?' -m 'HZ-V3 broke down'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ch.add_argument("--world", help="world name (default: the most recently imported)")
    ch.add_argument("--thread", help="conversation id to continue (default: chat-<world>)")
    ch.add_argument("--model", help="registry model name or .gguf path (default: qwen2.5-coder-1.5b)")
    ch.add_argument("--threads", type=int, default=None, help="CPU threads for the model (default: all cores)")
    ch.add_argument("-m", "--message", action="append", help="send this message instead of reading the terminal (repeatable)")
