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

* :mod:`~copilot.apps.slack_bot.settings`: credentials and the approval policy;
* :mod:`~copilot.apps.slack_bot.door`: :class:`SlackDoor`, what each message and click does;
* :mod:`~copilot.apps.slack_bot.blocks`: the Block Kit messages and buttons;
* :mod:`~copilot.apps.slack_bot.app`: the bolt app and its lazy listeners;
* :mod:`~copilot.apps.slack_bot.server`: HTTP mode's gated server;
* :mod:`~copilot.apps.slack_bot.cli`: the ``slack`` sub-command.
"""

from copilot.apps.slack_bot.app import build_app
from copilot.apps.slack_bot.blocks import APPROVE, DECISION_BLOCK, REJECT, ROUTE_MAP, decision_block, escape, thread_id
from copilot.apps.slack_bot.blocks import _sections as _sections  # importable from here, as before the split
from copilot.apps.slack_bot.cli import add_parser, cmd_slack
from copilot.apps.slack_bot.door import ApprovalRefused, SlackDoor
from copilot.apps.slack_bot.server import EVENTS_PATH, MAX_BODY_KB, make_http_server
from copilot.apps.slack_bot.settings import ApprovalPolicy, SlackSettings, approval_policy, parse_ids

__all__ = [
    "APPROVE",
    "DECISION_BLOCK",
    "EVENTS_PATH",
    "MAX_BODY_KB",
    "REJECT",
    "ROUTE_MAP",
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
