"""``logistics-copilot slack``: the sub-command's flags, and starting the bot in HTTP mode or Socket Mode."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

from copilot.apps.slack_bot.app import build_app
from copilot.apps.slack_bot.door import SlackDoor
from copilot.apps.slack_bot.server import EVENTS_PATH, MAX_BODY_KB, make_http_server
from copilot.apps.slack_bot.settings import APP_TOKEN_ENV, APPROVAL_CHANNELS_ENV, APPROVERS_ENV, SlackSettings, approval_policy


def cmd_slack(args: argparse.Namespace) -> int:
    """``logistics-copilot slack``."""
    from copilot.apps.agent import load_chat_model, make_agent
    from copilot.apps.commands import _current_world
    from copilot.apps.wiring import make_store

    settings = SlackSettings.from_env(socket=args.socket)  # before the slow part: a missing variable fails at once
    approvals = approval_policy(settings, approvers=args.approvers, channels=args.approval_channels, allow_any=args.allow_any_approver)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = make_store(getattr(args, "db", None))
    try:
        world = _current_world(store, args.world)
        print(f"loading the model ({args.model or 'default'})...", flush=True)
        agent = make_agent(store, world, load_chat_model(args.model, args.threads))
        app = build_app(SlackDoor(agent, store, world, approvals), settings, socket=args.socket)
        print(f"approvals: {approvals.describe()}", flush=True)
        if args.socket:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            print(f"Slack bot on world {world!r} connected in Socket Mode; Ctrl-C stops it", flush=True)
            start: Callable[[], None] = SocketModeHandler(app, settings.app_token).start  # blocks until Ctrl-C
            start()
            return 0
        server = make_http_server(app, args.host, args.port, max_body_kb=args.max_body_kb)
        print(f"Slack bot on world {world!r} listening on http://{args.host}:{server.server_port}{EVENTS_PATH}; Ctrl-C stops it", flush=True)
        try:
            server.serve_forever()
        finally:
            server.server_close()
        return 0
    finally:
        store.close()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_parser(sub: Any) -> None:
    """The ``slack`` sub-command (its description is the package's docstring)."""
    from copilot.apps import slack_bot
    sl = sub.add_parser(
        "slack",
        help="run the copilot as a Slack bot (HTTP mode, or Socket Mode with --socket)",
        description=slack_bot.__doc__,
        epilog="examples:\n  SLACK_BOT_TOKEN=xoxb-... SLACK_SIGNING_SECRET=... logistics-copilot slack --port 3000 --approvers U012AB3CD,U045EF6GH\n"
        "  SLACK_BOT_TOKEN=xoxb-... SLACK_APP_TOKEN=xapp-... SLACK_APPROVERS=U012AB3CD logistics-copilot slack --socket",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sl.add_argument("--world", help="world name (default: the most recently imported)")
    sl.add_argument("--socket", action="store_true", help=f"connect with Socket Mode ({APP_TOKEN_ENV}) instead of serving HTTP")
    sl.add_argument(
        "--host",
        default="127.0.0.1",
        help="HTTP mode: address to listen on (default 127.0.0.1, this machine only: put a TLS reverse proxy or tunnel in front, "
        "Slack posts only to HTTPS; pass --host 0.0.0.0 explicitly to listen on every address)",
    )
    sl.add_argument("--port", type=int, default=3000, help=f"HTTP mode: port to listen on (default 3000); Slack posts to {EVENTS_PATH}")
    sl.add_argument(
        "--max-body-kb",
        type=_positive_int,
        default=MAX_BODY_KB,
        metavar="KB",
        help=f"HTTP mode: larger request bodies are refused (413) before they are read (default {MAX_BODY_KB} KiB)",
    )
    sl.add_argument(
        "--approvers",
        metavar="U123,U456",
        help=f"Slack user ids that may approve or reject drafts (default: ${APPROVERS_ENV}); required unless --allow-any-approver",
    )
    sl.add_argument(
        "--approval-channels",
        metavar="C123,C456",
        help=f"decide drafts only in these channel ids (default: ${APPROVAL_CHANNELS_ENV}; unset: in any channel or DM)",
    )
    sl.add_argument(
        "--allow-any-approver",
        action="store_true",
        help="let everyone who can write to the bot approve or reject drafts (without it, an approver list is required)",
    )
    sl.add_argument("--model", help="registry model name or .gguf path (default: qwen2.5-coder-1.5b)")
    sl.add_argument("--threads", type=int, default=None, help="CPU threads for the model (default: all cores)")
