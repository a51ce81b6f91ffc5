"""``logistics-copilot slack``: the dispatcher's copilot in Slack (slack-bolt; HTTP mode or Socket Mode).

A Slack thread is one conversation: its id is ``slack-{team}-{channel}-{thread_ts or ts}``, and the bot
answers in that thread. A message reaches the copilot when it mentions the bot, when it is a direct message,
or when it is a reply in a thread the copilot already talks in. Slack gets its ``ack()`` at once; the agent's
work runs afterwards in a lazy listener (bolt's ``lazy=[...]``), one turn at a time.

A draft plan is posted with Block Kit buttons: **Approve** and **Reject** resume the approval interrupt with
an explicit decision (no model call), record the person who clicked as the actor in the audit trail
(``slack:<user id>``), and update the message to show the outcome; **Route map** uploads the plan's map.
The route map (PNG) is also uploaded after every draft, and on request (write ``map`` in the thread).

Environment: ``SLACK_BOT_TOKEN`` (``xoxb-...``) always; ``SLACK_SIGNING_SECRET`` in HTTP mode;
``SLACK_APP_TOKEN`` (``xapp-...``, scope ``connections:write``) in Socket Mode.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import socketserver
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from copilot.apps import maps
from copilot.errors import ConfigurationError, CopilotError, InputError

if TYPE_CHECKING:  # slack-bolt is the optional 'slack' extra: imported when the bot is built
    from slack_bolt import Ack, App, BoltContext
    from slack_sdk import WebClient

log = logging.getLogger("copilot.slack")

BOT_TOKEN_ENV = "SLACK_BOT_TOKEN"
SIGNING_SECRET_ENV = "SLACK_SIGNING_SECRET"
APP_TOKEN_ENV = "SLACK_APP_TOKEN"
EVENTS_PATH = "/slack/events"
"""The one request URL for events and interactivity (HTTP mode)."""

APPROVE = "approve_draft"
REJECT = "reject_draft"
ROUTE_MAP = "route_map"
DECISION_BLOCK = "draft_decision"
MAP_WORDS = frozenset({"map", "/map", "route map", "show map", "show the map", "map please", "地图", "路线图"})
HELP_WORDS = frozenset({"help", "/help", "?", "帮助"})
SECTION_LIMIT = 2900
"""Characters of text per Block Kit section (Slack's limit is 3000)."""

HELP = """\
Write what you would tell a colleague, for example:
• Which van has P546630?   • When will the driver get to P1446747?
• HZ-V3 just broke down, cover its pickups.   • HZ-V1 is 40 minutes late.
• What if we only had 5 vehicles?   • How many km are we driving today?
A plan change becomes a draft with *Approve* / *Reject* buttons (or reply `approve` / `discard`).
Write `map` for the route map of the newest plan. This thread is one conversation: reply in it to go on."""


@dataclass(frozen=True)
class SlackSettings:
    """Credentials of the Slack app, from the environment."""

    bot_token: str
    signing_secret: str | None = None
    app_token: str | None = None

    @classmethod
    def from_env(cls, *, socket: bool, env: Mapping[str, str] | None = None) -> SlackSettings:
        """The settings for HTTP mode (bot token and signing secret) or Socket Mode (bot token and app token)."""
        env = os.environ if env is None else env
        wanted = {
            BOT_TOKEN_ENV: "the Bot User OAuth Token (xoxb-...) from the app's 'OAuth & Permissions' page",
            **(
                {APP_TOKEN_ENV: "an app-level token (xapp-...) with the connections:write scope, from the app's 'Basic Information' page"}
                if socket
                else {SIGNING_SECRET_ENV: "the Signing Secret from the app's 'Basic Information' page"}
            ),
        }
        missing = [f"{name} ({what})" for name, what in wanted.items() if not env.get(name, "").strip()]
        if missing:
            mode = "Socket Mode" if socket else "HTTP mode"
            raise ConfigurationError(f"the Slack bot in {mode} needs these environment variables: " + "; ".join(missing))
        token = env[BOT_TOKEN_ENV].strip()
        if not token.startswith("xoxb-"):
            raise ConfigurationError(f"{BOT_TOKEN_ENV} should be a bot token starting with xoxb-")
        app_token = env.get(APP_TOKEN_ENV, "").strip() or None
        if socket and app_token is not None and not app_token.startswith("xapp-"):
            raise ConfigurationError(f"{APP_TOKEN_ENV} should be an app-level token starting with xapp-")
        return cls(bot_token=token, signing_secret=env.get(SIGNING_SECRET_ENV, "").strip() or None, app_token=app_token)


def thread_id(team: str, channel: str, ts: str) -> str:
    """The conversation id of a Slack thread (``ts`` is the thread's first message)."""
    return f"slack-{team}-{channel}-{ts}"


def escape(text: str) -> str:
    """Text as Slack shows it literally (no mentions, links or ``<!channel>`` from quoted customer notes)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _sections(text: str) -> list[dict[str, Any]]:
    text = escape(text) or " "
    chunks: list[str] = []
    while text:
        cut = len(text) if len(text) <= SECTION_LIMIT else (text.rfind("\n", 0, SECTION_LIMIT) + 1 or SECTION_LIMIT)
        chunks.append(text[:cut])
        text = text[cut:]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in chunks[:20]]


def _summary_of(outcome: Any) -> Any:
    """The plan summary an outcome carries (a draft or a plan), if any."""
    data = getattr(outcome, "data", None)
    return getattr(data, "draft", None) or (data if hasattr(data, "routes") and hasattr(data, "plan_id") else None)


def _routes_block(summary: Any, limit: int = 15) -> dict[str, Any]:
    rows = [r for r in summary.routes if r.stops]
    lines = [f"{'vehicle':<10} {'stops':>5} {'km':>7}  leaves  back"]
    lines += [f"{r.vehicle_id[:10]:<10} {len(r.stops):>5} {r.distance_km:>7.1f}  {r.start:<6}  {r.end}" for r in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more routes")
    return {"type": "section", "text": {"type": "mrkdwn", "text": "```" + escape("\n".join(lines)) + "```"}}


def _button(action_id: str, label: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": label}, "value": value}
    if style:
        button["style"] = style
    return button


def decision_block(draft_id: int | None) -> dict[str, Any]:
    """Approve / Reject / Route map buttons for a draft waiting for approval."""
    value = "" if draft_id is None else str(draft_id)
    name = "this draft" if draft_id is None else f"draft plan #{draft_id}"
    approve = _button(APPROVE, "Approve", value, "primary")
    approve["confirm"] = {
        "title": {"type": "plain_text", "text": "Dispatch this plan?"},
        "text": {"type": "mrkdwn", "text": f"{name.capitalize()} will be sent to the drivers."},
        "confirm": {"type": "plain_text", "text": "Approve"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    return {"type": "actions", "block_id": DECISION_BLOCK, "elements": [approve, _button(REJECT, "Reject", value, "danger"), _button(ROUTE_MAP, "Route map", value)]}


def _plan_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


class SlackDoor:
    """The copilot behind Slack: one agent (and its store), conversations keyed by Slack thread.

    Turns run one at a time (the model and the tool context are shared); each runs with the Slack user who
    wrote or clicked as the actor of the audit trail.
    """

    def __init__(self, agent: Any, store: Any, world_name: str) -> None:
        self.agent = agent
        self.store = store
        self.world_name = world_name
        self._lock = threading.Lock()
        self._seen_lock = threading.Lock()
        self._outcome: Any = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        agent.on_event = self._on_event

    def _on_event(self, what: str, payload: Any) -> None:
        if what == "outcome":
            self._outcome = payload

    def first_delivery(self, event_id: str | None) -> bool:
        """False for an event already handled (Slack retries, Socket Mode redelivery)."""
        if not event_id:
            return True
        with self._seen_lock:
            if event_id in self._seen:
                return False
            self._seen[event_id] = None
            while len(self._seen) > 2000:
                self._seen.popitem(last=False)
        return True

    def knows(self, thread: str) -> bool:
        """Whether the copilot already talks in this conversation."""
        return bool(self.agent.history(thread))

    def _as(self, actor: str, call: Callable[[], Any]) -> tuple[Any, Any]:
        """Run one agent call as ``actor``; returns its result and the tool outcome it produced."""
        with self._lock:
            self._outcome = None
            ctx = self.agent.ctx
            previous = ctx.actor
            ctx.actor = actor
            try:
                return call(), self._outcome
            finally:
                ctx.actor = previous

    # ---- what the listeners do -----------------------------------------------------------------

    def on_message(self, client: WebClient, *, team: str, channel: str, user: str, text: str, ts: str, thread_ts: str | None) -> None:
        """A dispatcher's message: answer it in its thread (with buttons and the route map after a draft)."""
        root = thread_ts or ts
        thread = thread_id(team, channel, root)
        words = " ".join(text.split())
        if words.lower().rstrip(".!") in MAP_WORDS:
            self.post_map(client, channel, root, None)
            return
        if words.lower() in HELP_WORDS:
            client.chat_postMessage(channel=channel, thread_ts=root, text=HELP, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": HELP}}])
            return
        try:
            result, outcome = self._as(f"slack:{user}", lambda: self.agent.turn(thread, words))
        except CopilotError as exc:  # an empty message, a store or model that is not configured
            client.chat_postMessage(channel=channel, thread_ts=root, text=escape(str(exc)))
            return
        blocks = _sections(result.answer)
        summary = _summary_of(outcome)
        if summary is not None and getattr(summary, "routes", None):
            blocks.append(_routes_block(summary))
        draft = getattr(outcome, "draft_id", None) if result.awaiting_approval else None
        if result.awaiting_approval:
            blocks.append(decision_block(draft))
        client.chat_postMessage(channel=channel, thread_ts=root, text=escape(result.answer), blocks=blocks)
        if draft is not None:
            self.post_map(client, channel, root, draft)

    def on_decision(
        self, client: WebClient, *, team: str, channel: str, user: str, message_ts: str, thread_ts: str, draft_id: int | None, approve: bool, blocks: list[dict[str, Any]]
    ) -> None:
        """An Approve / Reject click: decide the waiting draft as the clicking user, then update the message."""
        thread = thread_id(team, channel, thread_ts)
        verb = "approved" if approve else "rejected"
        try:
            result, _ = self._as(f"slack:{user}", lambda: self.agent.decide_draft(thread, approve, draft_id=draft_id))
        except CopilotError as exc:  # no draft (or another one) is waiting
            status, answer, plan = f":information_source: {escape(str(exc))}", "", draft_id
        else:
            ok = bool(result.tool_calls) and bool(result.tool_calls[-1].get("ok"))
            status = f"{':white_check_mark:' if approve else ':wastebasket:'} {verb} by <@{user}>" if ok else f":warning: <@{user}> {verb} it, but:"
            answer, plan = result.answer, draft_id
        kept = [b for b in blocks if b.get("block_id") != DECISION_BLOCK]
        new_blocks = [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": status}]}]
        if answer:
            new_blocks += _sections(answer)
        if plan is not None:
            new_blocks.append({"type": "actions", "elements": [_button(ROUTE_MAP, "Route map", str(plan))]})
        client.chat_update(channel=channel, ts=message_ts, text=f"{status} {escape(answer)}".strip(), blocks=new_blocks)

    def post_map(self, client: WebClient, channel: str, thread_ts: str, plan_id: int | None) -> None:
        """Upload the route map (PNG) of a plan, by default the newest (draft or dispatched), to the thread."""
        try:
            with self._lock:  # matplotlib's pyplot is not thread-safe
                if plan_id is None:
                    usable = [p for p in self.store.plans(self.world_name) if p.status.value in ("committed", "draft")]
                    stored = usable[-1] if usable else None
                else:
                    stored = self.store.get_plan(plan_id)
                    if stored.world != self.world_name:
                        raise InputError(f"plan #{plan_id} is not a plan of {self.world_name}")
                if stored is not None:
                    world = self.store.load_world(self.world_name)
                    title = f"{world.name} plan #{stored.id} ({stored.status.value})"
                    with tempfile.TemporaryDirectory(prefix="copilot-slack-") as tmp:
                        data = maps.write_png(world, stored.plan, Path(tmp) / f"plan-{stored.id}.png", title).read_bytes()
        except CopilotError as exc:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=f"No route map: {escape(str(exc))}")
            return
        if stored is None:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text="There is no plan yet; ask me to plan the day first.")
            return
        client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            content=data,
            filename=f"{world.name}-plan-{stored.id}.png",
            title=title,
            alt_txt=f"route map of plan #{stored.id}",
            initial_comment=f"Route map of plan #{stored.id} ({stored.status.value}, {stored.plan.vehicles_used} vehicles, {stored.plan.distance_m / 1000:.1f} km)",
        )


# ---- the bolt app ----------------------------------------------------------------------------------


def _team(body: dict[str, Any], context: BoltContext) -> str:
    team = body.get("team_id") or (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or context.team_id
    return str(team or "-")


def _guarded(what: str, work: Callable[[], None], client: WebClient, channel: str | None, thread_ts: str | None) -> None:
    """Run listener work; a failure is logged and said in the thread instead of vanishing."""
    from slack_sdk.errors import SlackClientError

    try:
        work()
    except Exception:
        log.exception("slack: %s failed", what)
        if channel:
            try:
                client.chat_postMessage(channel=channel, thread_ts=thread_ts, text="Sorry, that failed on my side (the error is in the copilot's log).")
            except SlackClientError:
                log.exception("slack: could not report the failure")


def build_app(door: SlackDoor, settings: SlackSettings, *, socket: bool = False, client: WebClient | None = None) -> App:
    """The bolt app: each listener acks at once and does its work in a lazy listener."""
    try:
        from slack_bolt import App
        from slack_bolt.error import BoltError
        from slack_sdk.errors import SlackApiError
    except ImportError as exc:
        raise ConfigurationError("the Slack bot needs the 'slack' extra: pip install 'logistics-copilot[slack]'") from exc
    if client is not None and not client.token:
        client.token = settings.bot_token
    try:
        app = App(
            token=None if client is not None else settings.bot_token,
            signing_secret=settings.signing_secret or "",
            client=client,
            process_before_response=True,
            request_verification_enabled=not socket,
        )
    except (BoltError, SlackApiError) as exc:
        raise ConfigurationError(f"Slack did not accept {BOT_TOKEN_ENV}: {exc}") from exc
    except OSError as exc:  # no connection to Slack for the token check (auth.test)
        raise ConfigurationError(f"cannot reach Slack to check {BOT_TOKEN_ENV}: {exc}") from exc

    def ack_now(ack: Ack) -> None:
        ack()

    def mention(body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not door.first_delivery(body.get("event_id")) or event.get("bot_id"):
            return
        text = re.sub(r"<@[A-Z0-9]+>", " ", event.get("text") or "")
        channel, thread_ts = event["channel"], event.get("thread_ts") or event["ts"]
        team, user = _team(body, context), event.get("user", "-")
        _guarded(
            "app_mention",
            lambda: door.on_message(client, team=team, channel=channel, user=user, text=text, ts=event["ts"], thread_ts=event.get("thread_ts")),
            client,
            channel,
            thread_ts,
        )

    def message(body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return  # edits, joins, bots (the copilot itself included)
        text = event.get("text") or ""
        direct = event.get("channel_type") == "im"
        if not direct and context.bot_user_id and f"<@{context.bot_user_id}>" in text:
            return  # app_mention answers it
        team, channel, thread_ts = _team(body, context), event["channel"], event.get("thread_ts")
        if not direct and not (thread_ts and door.knows(thread_id(team, channel, thread_ts))):
            return  # a channel message not addressed to the copilot
        if not door.first_delivery(body.get("event_id")):
            return
        text = re.sub(r"<@[A-Z0-9]+>", " ", text)
        _guarded(
            "message",
            lambda: door.on_message(client, team=team, channel=channel, user=event["user"], text=text, ts=event["ts"], thread_ts=thread_ts),
            client,
            channel,
            thread_ts or event["ts"],
        )

    def _where(body: dict[str, Any]) -> tuple[str, str, str]:
        container = body.get("container") or {}
        msg = body.get("message") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        message_ts = container.get("message_ts") or msg.get("ts")
        return str(channel), str(message_ts), str(msg.get("thread_ts") or container.get("thread_ts") or message_ts)

    def decide(approve: bool) -> Callable[..., None]:
        def on_click(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
            channel, message_ts, root = _where(body)
            action = (body.get("actions") or [{}])[0]
            _guarded(
                "approval button",
                lambda: door.on_decision(
                    client,
                    team=_team(body, context),
                    channel=channel,
                    user=str((body.get("user") or {}).get("id", "-")),
                    message_ts=message_ts,
                    thread_ts=root,
                    draft_id=_plan_id(action.get("value")),
                    approve=approve,
                    blocks=list((body.get("message") or {}).get("blocks") or []),
                ),
                client,
                channel,
                root,
            )

        on_click.__name__ = f"on_{'approve' if approve else 'reject'}_click"  # bolt tells lazy functions apart by name
        return on_click

    def route_map(body: dict[str, Any], client: WebClient) -> None:
        channel, _, root = _where(body)
        action = (body.get("actions") or [{}])[0]
        _guarded("route map button", lambda: door.post_map(client, channel, root, _plan_id(action.get("value"))), client, channel, root)

    app.event("app_mention")(ack=ack_now, lazy=[mention])
    app.event("message")(ack=ack_now, lazy=[message])
    app.action(APPROVE)(ack=ack_now, lazy=[decide(True)])
    app.action(REJECT)(ack=ack_now, lazy=[decide(False)])
    app.action(ROUTE_MAP)(ack=ack_now, lazy=[route_map])
    return app


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _LoggingHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


def make_http_server(app: App, host: str = "127.0.0.1", port: int = 3000, path: str = EVENTS_PATH) -> WSGIServer:
    """A threaded HTTP server for Slack's requests (events and interactivity on ``path``); call ``serve_forever()``."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    return make_server(host, port, SlackRequestHandler(app, path), server_class=_ThreadingWSGIServer, handler_class=_LoggingHandler)


def cmd_slack(args: argparse.Namespace) -> int:
    """``logistics-copilot slack``."""
    from copilot.apps.agent import load_chat_model, make_agent
    from copilot.apps.commands import _current_world
    from copilot.apps.wiring import make_store

    settings = SlackSettings.from_env(socket=args.socket)  # before the slow part: a missing variable fails at once
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = make_store(getattr(args, "db", None))
    try:
        world = _current_world(store, args.world)
        print(f"loading the model ({args.model or 'default'})...", flush=True)
        agent = make_agent(store, world, load_chat_model(args.model, args.threads))
        app = build_app(SlackDoor(agent, store, world), settings, socket=args.socket)
        if args.socket:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            print(f"Slack bot on world {world!r} connected in Socket Mode; Ctrl-C stops it", flush=True)
            start: Callable[[], None] = SocketModeHandler(app, settings.app_token).start  # blocks until Ctrl-C
            start()
            return 0
        server = make_http_server(app, args.host, args.port)
        print(f"Slack bot on world {world!r} listening on http://{args.host}:{server.server_port}{EVENTS_PATH}; Ctrl-C stops it", flush=True)
        try:
            server.serve_forever()
        finally:
            server.server_close()
        return 0
    finally:
        store.close()


def add_parser(sub: Any) -> None:
    """The ``slack`` sub-command."""
    sl = sub.add_parser(
        "slack",
        help="run the copilot as a Slack bot (HTTP mode, or Socket Mode with --socket)",
        description=__doc__,
        epilog="examples:\n  SLACK_BOT_TOKEN=xoxb-... SLACK_SIGNING_SECRET=... logistics-copilot slack --port 3000\n"
        "  SLACK_BOT_TOKEN=xoxb-... SLACK_APP_TOKEN=xapp-... logistics-copilot slack --socket",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sl.add_argument("--world", help="world name (default: the most recently imported)")
    sl.add_argument("--socket", action="store_true", help=f"connect with Socket Mode ({APP_TOKEN_ENV}) instead of serving HTTP")
    sl.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to listen on (default 0.0.0.0)")
    sl.add_argument("--port", type=int, default=3000, help=f"HTTP mode: port to listen on (default 3000); Slack posts to {EVENTS_PATH}")
    sl.add_argument("--model", help="registry model name or .gguf path (default: qwen2.5-coder-1.5b)")
    sl.add_argument("--threads", type=int, default=None, help="CPU threads for the model (default: all cores)")


__all__ = ["SlackDoor", "SlackSettings", "add_parser", "build_app", "cmd_slack", "decision_block", "escape", "make_http_server", "thread_id"]
