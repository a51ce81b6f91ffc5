"""The copilot behind Slack (:class:`SlackDoor`): what a message, an Approve / Reject click or a route map request
does, each turn passing the Slack user as its actor; and the store a non-approver's turn runs on, which
refuses to commit or discard a plan."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot.apps import maps
from copilot.apps.slack_bot.blocks import DECISION_BLOCK, HELP, HELP_WORDS, MAP_WORDS, ROUTE_MAP, _button, _routes_block, _sections, decision_block, escape, thread_id
from copilot.apps.slack_bot.settings import ApprovalPolicy
from copilot.core.errors import CopilotError, InputError

if TYPE_CHECKING:  # slack-bolt is the optional 'slack' extra: imported when the bot is built
    from slack_sdk import WebClient

log = logging.getLogger("copilot.slack")

def actor_of(user: str) -> str:
    """The actor the audit trail records for a Slack user's messages and clicks."""
    return f"slack:{user}"


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


class SlackDoor:
    """The copilot behind Slack: one agent (and its store), conversations keyed by Slack thread.

    Turns run one at a time (the model is shared); each passes the Slack user who wrote or clicked to the agent
    as the actor of the audit trail (``slack:<user id>``), for that turn only: the agent's tool context is never
    changed. ``approvals`` says who may decide drafts (by default nobody): a click by anyone else changes
    nothing, and their turns run on a store that refuses to commit or discard a plan, whatever the agent makes
    of their words.
    """

    def __init__(self, agent: Any, store: Any, world_name: str, approvals: ApprovalPolicy | None = None) -> None:
        self.agent = agent
        self.store = store
        self.world_name = world_name
        self.approvals = approvals if approvals is not None else ApprovalPolicy()
        self._lock = threading.Lock()
        self._seen_lock = threading.Lock()
        self._seen: OrderedDict[str, None] = OrderedDict()

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

    def _turn(self, thread: str, text: str, user: str, *, may_decide: bool) -> tuple[Any, bool]:
        """Send ``user``'s message to the agent as ``slack:<user>``; returns the turn's result and whether it tried
        to decide a draft that ``user`` may not decide (``may_decide=False``: then nothing was committed)."""
        guard = None if may_decide else _NoDecisions(self.agent.ctx.store)
        with self._lock:
            result = self.agent.turn(thread, text, actor=actor_of(user), store=guard)
        return result, guard is not None and guard.refused

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
            result, refused = self._turn(thread, words, user, may_decide=may_decide)
        except CopilotError as exc:  # an empty message, a store or model that is not configured
            client.chat_postMessage(channel=channel, thread_ts=root, text=escape(str(exc)))
            return
        blocks = _sections(result.answer)
        if refused:
            log.warning("slack: %s in %s may not decide drafts; their message %r committed nothing", user, channel, words[:80])
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": self.approvals.refusal(user, channel)}]})
        summary = result.plan_summary
        if summary is not None and summary.routes:
            blocks.append(_routes_block(summary))
        draft = result.outcome.draft_id if result.awaiting_approval and result.outcome is not None else None
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
            with self._lock:
                result = self.agent.decide_draft(thread, approve, draft_id=draft_id, actor=actor_of(user))
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
