"""``logistics-copilot slack``: the dispatcher's copilot in Slack (slack-bolt; HTTP mode or Socket Mode).

A Slack thread is one conversation: its id is ``slack-{team}-{channel}-{thread_ts or ts}``, and the bot
answers in that thread. A message reaches the copilot when it mentions the bot, when it is a direct message,
or when it is a reply in a thread the copilot already talks in. Slack gets its ``ack()`` at once; the agent's
work runs afterwards in a lazy listener (bolt's ``lazy=[...]``), one turn at a time.

A draft plan is posted with Block Kit buttons: **Approve** and **Reject** resume the approval interrupt with
an explicit decision (no model call), record the person who clicked as the actor in the audit trail
(``slack:<user id>``), and update the message to show the outcome; **Route map** uploads the plan's map.
The route map (PNG) is also uploaded after every draft, and on request (write ``map`` in the thread).

Only the approvers may decide a draft: the Slack user ids of ``--approvers`` / ``SLACK_APPROVERS``, and, when
``--approval-channels`` / ``SLACK_APPROVAL_CHANNELS`` is set, only in those channels. Anyone else's click
changes nothing (they are told, privately, whom to ask), and their messages are answered but cannot commit
or discard a draft. Without an approver list the bot does not start unless ``--allow-any-approver`` is given.

HTTP mode listens on 127.0.0.1 by default (put a TLS reverse proxy in front). Before bolt's adapter reads a
body (it checks the signature only afterwards), the server refuses, without reading the body: other paths
(404), other methods (405), no ``Content-Length`` or a ``Transfer-Encoding`` (411), and a body over
``--max-body-kb`` (413; default 1 MiB, Slack's payloads are a few KiB).

Environment: ``SLACK_BOT_TOKEN`` (``xoxb-...``) always; ``SLACK_SIGNING_SECRET`` in HTTP mode;
``SLACK_APP_TOKEN`` (``xapp-...``, scope ``connections:write``) in Socket Mode; ``SLACK_APPROVERS``
(``U123,U456``) and ``SLACK_APPROVAL_CHANNELS`` (``C123,C456``) unless given as flags.
"""

from __future__ import annotations

import argparse
import logging
import re
import socket
import socketserver
import tempfile
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from copilot.apps import maps
from copilot.core import settings as cfg
from copilot.core.errors import ConfigurationError, CopilotError, InputError

if TYPE_CHECKING:  # slack-bolt is the optional 'slack' extra: imported when the bot is built
    from slack_bolt import Ack, App, BoltContext
    from slack_sdk import WebClient

log = logging.getLogger("copilot.slack")

BOT_TOKEN_ENV = "SLACK_BOT_TOKEN"
SIGNING_SECRET_ENV = "SLACK_SIGNING_SECRET"
APP_TOKEN_ENV = "SLACK_APP_TOKEN"
APPROVERS_ENV = "SLACK_APPROVERS"
APPROVAL_CHANNELS_ENV = "SLACK_APPROVAL_CHANNELS"
EVENTS_PATH = "/slack/events"
"""The one request URL for events and interactivity (HTTP mode)."""
MAX_BODY_KB = 1024
"""Default cap on a request body in HTTP mode, in KiB (Slack's events and button payloads are a few KiB)."""
SOCKET_TIMEOUT_S = 30.0
"""HTTP mode: a connection that sends nothing for this long is dropped (a slow client cannot hold a thread)."""
LINGER_S = 2.0
LINGER_BYTES = 1 << 20
"""After a refusal the server stops writing and discards at most this much (for at most ``LINGER_S``) of what
the client still sends, so that the client reads the refusal instead of a connection reset."""
_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]+")

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


def parse_ids(text: str, kind: str, source: str) -> frozenset[str]:
    """Slack user ids (``kind="user"``) or channel ids (``"channel"``) separated by commas or spaces.

    Raises :class:`ConfigurationError` naming ``source`` for anything that is not such an id (a display name,
    ``@alice``, ``#dispatch``): the allowlist compares ids, never names, which anyone can change.
    """
    if kind == "user":
        pattern, what = _USER_ID, "a Slack user id (U... or W...: profile → ⋮ → Copy member ID)"
    else:
        pattern, what = _CHANNEL_ID, "a Slack channel id (C..., G... or D...: channel details, at the bottom)"
    ids = [part for part in re.split(r"[\s,]+", text.strip()) if part]
    bad = [part for part in ids if not pattern.fullmatch(part)]
    if bad:
        raise ConfigurationError(f"{source}: {bad[0]!r} is not {what}")
    return frozenset(ids)


@dataclass(frozen=True)
class SlackSettings:
    """Credentials of the Slack app, and the approver allowlist, from the environment."""

    bot_token: str
    signing_secret: str | None = None
    app_token: str | None = None
    approvers: frozenset[str] = frozenset()
    """``SLACK_APPROVERS``: the Slack user ids that may approve or reject drafts."""
    approval_channels: frozenset[str] = frozenset()
    """``SLACK_APPROVAL_CHANNELS``: when not empty, drafts are decided only in these channels."""

    @classmethod
    def from_env(cls, *, socket: bool, env: Mapping[str, str] | None = None) -> SlackSettings:
        """The settings for HTTP mode (bot token and signing secret) or Socket Mode (bot token and app token)."""
        env = cfg.environment() if env is None else env
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
        return cls(
            bot_token=token,
            signing_secret=env.get(SIGNING_SECRET_ENV, "").strip() or None,
            app_token=app_token,
            approvers=parse_ids(env.get(APPROVERS_ENV, ""), "user", APPROVERS_ENV),
            approval_channels=parse_ids(env.get(APPROVAL_CHANNELS_ENV, ""), "channel", APPROVAL_CHANNELS_ENV),
        )


@dataclass(frozen=True)
class ApprovalPolicy:
    """Who may approve or reject a draft from Slack (a button, or a message the agent reads as a decision).

    ``approvers``: the Slack user ids allowed (``any_approver``: everyone who can reach the bot);
    ``channels``: when not empty, drafts are decided only in these channels (DMs are channels ``D...``).
    The default allows nobody: a door built without a policy cannot commit.
    """

    approvers: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    any_approver: bool = False

    def allows(self, user: str, channel: str) -> bool:
        """Whether ``user`` may decide a draft in ``channel``."""
        return (self.any_approver or user in self.approvers) and (not self.channels or channel in self.channels)

    def refusal(self, user: str, channel: str) -> str:
        """What a user who may not decide a draft here is told (Slack mrkdwn, with mentions)."""
        if self.any_approver or user in self.approvers:
            where = ", ".join(f"<#{c}>" for c in sorted(self.channels))
            return f":no_entry: Drafts are approved or rejected only in {where}; nothing was changed here."
        who = " or ".join(f"<@{u}>" for u in sorted(self.approvers))
        ask = f"ask {who}" if who else "no one is configured to approve drafts from Slack (the bot's --approvers)"
        return f":no_entry: <@{user}>, you are not allowed to approve or reject drafts, so nothing was changed; {ask}."

    def describe(self) -> str:
        """One line for the start-up banner."""
        who = "anyone who can reach the bot (--allow-any-approver)" if self.any_approver else ", ".join(sorted(self.approvers)) or "nobody"
        return f"drafts are decided by {who}" + (f" in {', '.join(sorted(self.channels))}" if self.channels else "")


def approval_policy(settings: SlackSettings, *, approvers: str | None = None, channels: str | None = None, allow_any: bool = False) -> ApprovalPolicy:
    """The approval policy from the flags (``--approvers``, ``--approval-channels``), else the environment.

    Raises :class:`ConfigurationError` when no approver is configured and ``allow_any`` is not set, and when
    both are: a bot that anyone can approve through is never the result of a forgotten setting.
    """
    users = parse_ids(approvers, "user", "--approvers") if approvers is not None else settings.approvers
    rooms = parse_ids(channels, "channel", "--approval-channels") if channels is not None else settings.approval_channels
    if allow_any and users:
        raise ConfigurationError(f"--allow-any-approver contradicts the approver list (--approvers / {APPROVERS_ENV}); give one of them")
    if not allow_any and not users:
        raise ConfigurationError(
            f"no approvers configured: pass --approvers U123,U456 (or set {APPROVERS_ENV}) with the Slack user ids that may approve "
            f"or reject drafts, optionally --approval-channels C123 (or {APPROVAL_CHANNELS_ENV}); "
            "or pass --allow-any-approver to let everyone who can reach the bot dispatch plans"
        )
    return ApprovalPolicy(approvers=users, channels=rooms, any_approver=allow_any)


class ApprovalRefused(CopilotError):
    """A Slack user who may not decide drafts sent a message that would have committed or discarded one."""


class _NoDecisions:
    """The store as a turn of someone who may not decide drafts sees it: everything except committing or
    discarding a plan. A refusal raises :class:`ApprovalRefused` (the agent answers with its message, nothing
    is written) and is remembered in ``refused``."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.refused = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _refuse(self) -> None:
        self.refused = True
        raise ApprovalRefused("only the bot's approvers can approve or reject a draft from Slack; the draft is unchanged")

    def commit_plan(self, *args: Any, **kwargs: Any) -> None:
        self._refuse()

    def discard_plan(self, *args: Any, **kwargs: Any) -> None:
        self._refuse()


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
    wrote or clicked as the actor of the audit trail. ``approvals`` says who may decide drafts (by default
    nobody): a click by anyone else changes nothing, and their turns run on a store that refuses to commit or
    discard a plan, whatever the agent makes of their words.
    """

    def __init__(self, agent: Any, store: Any, world_name: str, approvals: ApprovalPolicy | None = None) -> None:
        self.agent = agent
        self.store = store
        self.world_name = world_name
        self.approvals = approvals if approvals is not None else ApprovalPolicy()
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

    def _as(self, actor: str, call: Callable[[], Any], *, may_decide: bool) -> tuple[Any, Any, bool]:
        """Run one agent call as ``actor``; returns its result, the tool outcome it produced, and whether it
        tried to decide a draft that ``actor`` may not decide (``may_decide=False``: nothing was committed)."""
        with self._lock:
            self._outcome = None
            ctx = self.agent.ctx
            previous, store = ctx.actor, ctx.store
            guard = None if may_decide else _NoDecisions(store)
            ctx.actor = actor
            if guard is not None:
                ctx.store = guard
            try:
                return call(), self._outcome, guard is not None and guard.refused
            finally:
                ctx.actor, ctx.store = previous, store

    def _tell(self, client: WebClient, channel: str, user: str, thread_ts: str, text: str) -> None:
        """A note only ``user`` sees (ephemeral), or, where Slack refuses one, a reply in the thread."""
        from slack_sdk.errors import SlackApiError

        try:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)
        except SlackApiError as exc:
            log.warning("slack: no ephemeral message for %s in %s (%s); replying in the thread", user, channel, exc)
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)

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
        may_decide = self.approvals.allows(user, channel)
        try:
            result, outcome, refused = self._as(f"slack:{user}", lambda: self.agent.turn(thread, words), may_decide=may_decide)
        except CopilotError as exc:  # an empty message, a store or model that is not configured
            client.chat_postMessage(channel=channel, thread_ts=root, text=escape(str(exc)))
            return
        blocks = _sections(result.answer)
        if refused:
            log.warning("slack: %s in %s may not decide drafts; their message %r committed nothing", user, channel, words[:80])
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": self.approvals.refusal(user, channel)}]})
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
        """An Approve / Reject click: decide the waiting draft as the clicking user, then update the message.

        A user the approval policy does not allow here changes nothing (the agent is not called, the buttons stay)
        and is told privately whom to ask.
        """
        thread = thread_id(team, channel, thread_ts)
        verb = "approved" if approve else "rejected"
        if not self.approvals.allows(user, channel):
            log.warning("slack: %s pressed %s on draft %s in %s but may not decide drafts; nothing was changed", user, verb[:-1], draft_id, channel)
            self._tell(client, channel, user, thread_ts, self.approvals.refusal(user, channel))
            return
        try:
            result, _, _ = self._as(f"slack:{user}", lambda: self.agent.decide_draft(thread, approve, draft_id=draft_id), may_decide=True)
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
    events_path: str = EVENTS_PATH
    max_body_bytes: int = MAX_BODY_KB * 1024


_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")


class _GatedHandler(WSGIRequestHandler):
    """wsgiref's request handler with a gate between the request head and the WSGI app.

    bolt's WSGI adapter reads the whole body (``Content-Length`` bytes) before it checks the signature, so the
    gate answers from the head alone, before a byte of the body is read: other paths 404, other methods 405,
    no ``Content-Length`` or any ``Transfer-Encoding`` 411, a malformed length 400, a body over the server's
    cap 413. Requests that pass reach bolt, which reads exactly the declared length.
    """

    timeout = SOCKET_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def handle(self) -> None:
        try:
            super().handle()
        except TimeoutError:
            self.close_connection = True
            log.info("%s timed out after %.0f s without data", self.address_string(), SOCKET_TIMEOUT_S)

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False  # an error was sent
        refusal = self._refusal()
        if refusal is None:
            return True
        self._refuse(*refusal)
        return False  # wsgiref's handle() stops here: the app is not called

    def _refusal(self) -> tuple[int, str, Iterable[tuple[str, str]]] | None:
        server = cast(_ThreadingWSGIServer, self.server)
        path = urllib.parse.unquote(self.path.split("?", 1)[0], "iso-8859-1")  # as wsgiref makes PATH_INFO, which bolt matches
        if path != server.events_path:
            return 404, f"Slack posts to {server.events_path}", ()
        if self.command != "POST":
            return 405, "Slack's requests are POSTs", (("Allow", "POST"),)
        if self.headers.get("Transfer-Encoding") is not None:
            return 411, "a body with a Content-Length is required (no Transfer-Encoding)", ()
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if not lengths:
            return 411, "a Content-Length is required", ()
        if len(lengths) > 1 or not _CONTENT_LENGTH.fullmatch(next(iter(lengths))):
            return 400, "a malformed Content-Length", ()
        if int(next(iter(lengths))) > server.max_body_bytes:
            return 413, f"the body may have at most {server.max_body_bytes} bytes", ()
        return None

    def _refuse(self, code: int, explain: str, headers: Iterable[tuple[str, str]]) -> None:
        body = f"{code} {self.responses.get(code, ('',))[0]}: {explain}\n".encode()
        self.close_connection = True
        self.send_response(code)
        for name, value in [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))), ("Connection", "close"), *headers]:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        self._linger()

    def _linger(self) -> None:
        """Stop writing, then discard (a bounded amount of) what the client still sends until it closes: closing
        with unread data would reset the connection, and the client could lose the answer."""
        sock = self.connection
        try:
            sock.shutdown(socket.SHUT_WR)
            deadline, left = time.monotonic() + LINGER_S, LINGER_BYTES
            while left > 0 and (wait := deadline - time.monotonic()) > 0:
                sock.settimeout(wait)
                chunk = sock.recv(min(65536, left))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:  # the client has gone, or the time is up
            pass


def make_http_server(app: App, host: str = "127.0.0.1", port: int = 3000, path: str = EVENTS_PATH, *, max_body_kb: int = MAX_BODY_KB) -> WSGIServer:
    """A threaded HTTP server for Slack's requests (events and interactivity on ``path``); call ``serve_forever()``.

    A request is checked from its head before its body is read (see :class:`_GatedHandler`): only POSTs to
    ``path`` with a ``Content-Length`` of at most ``max_body_kb`` KiB reach bolt.
    """
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    if max_body_kb < 1:
        raise ConfigurationError(f"the body limit must be at least 1 KiB, not {max_body_kb}")
    server = make_server(host, port, SlackRequestHandler(app, path), server_class=_ThreadingWSGIServer, handler_class=_GatedHandler)
    server.events_path = path
    server.max_body_bytes = max_body_kb * 1024
    return server


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
    """The ``slack`` sub-command."""
    sl = sub.add_parser(
        "slack",
        help="run the copilot as a Slack bot (HTTP mode, or Socket Mode with --socket)",
        description=__doc__,
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


__all__ = [
    "ApprovalPolicy",
    "ApprovalRefused",
    "SlackDoor",
    "SlackSettings",
    "add_parser",
    "approval_policy",
    "build_app",
    "cmd_slack",
    "decision_block",
    "escape",
    "make_http_server",
    "parse_ids",
    "thread_id",
]
