"""The bolt app (:func:`build_app`): its listeners ack at once and hand the work to :class:`SlackDoor` in lazy
listeners; a failure is logged and said in the thread instead of vanishing."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from copilot.apps.slack_bot.blocks import APPROVE, REJECT, ROUTE_MAP, _plan_id, thread_id
from copilot.apps.slack_bot.door import SlackDoor
from copilot.apps.slack_bot.settings import BOT_TOKEN_ENV, SlackSettings
from copilot.core.errors import ConfigurationError

if TYPE_CHECKING:  # slack-bolt is the optional 'slack' extra: imported when the bot is built
    from slack_bolt import Ack, App, BoltContext
    from slack_sdk import WebClient

log = logging.getLogger("copilot.slack")

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
