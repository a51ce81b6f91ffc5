"""What the bot posts: Slack-safe text split into Block Kit sections, the route table of a plan, the Approve /
Reject / Route map buttons of a draft, and the words that ask for the map or the help."""

from __future__ import annotations

from typing import Any

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
