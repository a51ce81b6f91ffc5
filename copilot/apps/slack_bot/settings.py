"""The Slack bot's settings: the app's credentials from the environment (:class:`SlackSettings`) and who may
approve or reject drafts from Slack (:class:`ApprovalPolicy`, from ``--approvers`` / ``SLACK_APPROVERS`` and
``--approval-channels`` / ``SLACK_APPROVAL_CHANNELS``). Ids only, never display names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from copilot.core import settings as cfg
from copilot.core.errors import ConfigurationError

BOT_TOKEN_ENV = "SLACK_BOT_TOKEN"
SIGNING_SECRET_ENV = "SLACK_SIGNING_SECRET"
APP_TOKEN_ENV = "SLACK_APP_TOKEN"
APPROVERS_ENV = "SLACK_APPROVERS"
APPROVAL_CHANNELS_ENV = "SLACK_APPROVAL_CHANNELS"

_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]+")


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
