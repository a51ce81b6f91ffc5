"""The Slack door over real HTTP on loopback, in HTTP mode.

The bolt app runs behind its real HTTP server on 127.0.0.1 and receives correctly signed Slack requests
(``v0`` HMAC-SHA256 signatures); its Web API client points at a recording server on 127.0.0.1 that answers
like Slack (including the three-step ``files_upload_v2`` flow) and records every call. The agent is the real
dispatcher graph on the tiny world with the scripted fake chat model: this checks the door's wiring, not the
model. Listener work runs in bolt's lazy listeners; the tests wait for its Web API calls, never sleep.

The HTTP gate (body limit, lengths, paths) is driven with raw sockets that send a request head and hold the
body back: an answer that comes back at all shows the server did not wait for the body (a generous socket
timeout is only a hang guard).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fakes import ScriptedChat, act, plan_summary
from slack_sdk import WebClient

from copilot.apps.cli import main
from copilot.apps.slack_bot import (
    APPROVE,
    MAX_BODY_KB,
    REJECT,
    ROUTE_MAP,
    ApprovalPolicy,
    SlackDoor,
    SlackSettings,
    approval_policy,
    build_app,
    make_http_server,
    thread_id,
)
from copilot.core.errors import ConfigurationError
from graphs.agent import DispatcherGraph, TurnResult
from graphs.checkpoint import sqlite_checkpointer
from graphs.toolset import Outcome
from solvers.auto import AutoSolver
from solvers.checker import PlanChecker
from tools.context import ToolContext
from tools.planning import PlanningDeps, PlanSettings
from tools.sql import SqlStore
from tools.world_io import read_world

DATA = Path(__file__).resolve().parents[1] / "data"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0001"
BOT = "UBOT"
WAIT_S = 30.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
APPROVERS = ApprovalPolicy(approvers=frozenset({"U1", "U2", "U3", "U4"}))


# ---- a recording Slack Web API on loopback -----------------------------------------------------------


class RecordingSlack:
    """Answers Slack Web API calls like Slack and records each as (method, params)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._cond = threading.Condition()
        self._ts = 1700001000
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urllib.parse.urlsplit(self.path)
                if url.path.startswith("/upload/"):
                    recorder._record("upload", {"file_id": url.path.rsplit("/", 1)[1], "bytes": raw})
                    self._send(200, b"OK - %d" % len(raw), "text/plain")
                    return
                method = url.path.removeprefix("/api/")
                params: dict[str, Any] = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                if "json" in (self.headers.get("Content-Type") or ""):
                    params.update(json.loads(raw or b"{}"))
                else:
                    params.update({k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()})
                params["_token"] = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                answer = recorder._answer(method, params, self.server.server_address[1])
                recorder._record(method, {**params, "_reply_ts": answer.get("ts")})
                self._send(200, json.dumps(answer).encode(), "application/json; charset=utf-8")

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _answer(self, method: str, params: dict[str, Any], port: int) -> dict[str, Any]:
        with self._cond:
            self._ts += 1
            ts = f"{self._ts}.000100"
        if method == "auth.test":
            return {"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "copilot", "team_id": TEAM, "user_id": BOT, "bot_id": "BBOT"}
        if method in ("chat.postMessage", "chat.update"):
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts") or ts, "message": {"text": params.get("text"), "ts": params.get("ts") or ts}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{ts.split('.')[0]}"
            return {"ok": True, "upload_url": f"http://127.0.0.1:{port}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = json.loads(params.get("files") or "[]")
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title"), "name": f.get("title")} for f in files]}
        return {"ok": True}

    def _record(self, method: str, params: dict[str, Any]) -> None:
        with self._cond:
            self.calls.append((method, params))
            self._cond.notify_all()

    def of(self, method: str) -> list[dict[str, Any]]:
        with self._cond:
            return [p for m, p in self.calls if m == method]

    def wait(self, method: str, count: int = 1, timeout: float = WAIT_S) -> list[dict[str, Any]]:
        """The first ``count`` calls of ``method``, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(found := [p for m, p in self.calls if m == method]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {count}x {method} within {timeout} s; calls: {[m for m, _ in self.calls]}")
                self._cond.wait(left)
            return found[:count]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- the bot on loopback -----------------------------------------------------------------------------


@dataclass
class Bot:
    url: str
    slack: RecordingSlack
    door: SlackDoor
    model: ScriptedChat
    ctx: ToolContext
    dispatched: list[Any]
    """Every request bolt's app was given."""

    def post(self, body: bytes, content_type: str, *, secret: str = SECRET, timestamp: int | None = None, signed: bool = True) -> tuple[int, bytes]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {"Content-Type": content_type}
        if signed:
            digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
            headers |= {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}
        req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def event(self, event: dict[str, Any], **kw: Any) -> tuple[int, bytes]:
        self._n = getattr(self, "_n", 0) + 1
        body = {
            "token": "x",
            "team_id": TEAM,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": f"Ev{self._n:04d}",
            "event_time": int(time.time()),
            "event": event,
        }
        return self.post(json.dumps(body).encode(), "application/json", **kw)

    def click(self, action_id: str, message: dict[str, Any], user: str, channel: str) -> tuple[int, bytes]:
        button = next(e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id)
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A1",
            "token": "x",
            "team": {"id": TEAM, "domain": "test"},
            "channel": {"id": channel, "name": "dispatch"},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False, "thread_ts": message["thread_ts"]},
            "message": {"type": "message", "user": BOT, "ts": message["ts"], "thread_ts": message["thread_ts"], "text": message["text"], "blocks": message["blocks"]},
            "trigger_id": "1.2.3",
            "response_url": f"{self.slack.url}/respond",
            "actions": [{"type": "button", "action_id": action_id, "block_id": "draft_decision", "value": button["value"], "action_ts": str(time.time())}],
        }
        return self.post(urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")

    def raw(self, head: str, body: bytes = b"") -> tuple[int, bytes]:
        """Send a request head (and a first piece of its body) on a raw socket; the status and body of the answer.

        The socket is left open for writing: a server that waited for the rest of the body would never answer.
        """
        url = urllib.parse.urlsplit(self.url)
        with socket.create_connection((url.hostname, url.port), timeout=WAIT_S) as sock:
            sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head_out, _, content = answer.partition(b"\r\n\r\n")
        return int(head_out.split(b" ", 2)[1]), content


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ToolContext]:
    store = SqlStore(f"sqlite:///{tmp_path / 'slack.sqlite3'}")
    store.upgrade()
    store.import_world(read_world(DATA / "worlds" / "tiny"))
    yield ToolContext(
        store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name=store.world_names()[0], settings=PlanSettings(time_limit_s=0.3, iterations=200)
    )
    store.close()


@pytest.fixture
def make_bot(ctx: ToolContext) -> Iterator[Callable[[list[str]], Bot]]:
    closing: list[Callable[[], None]] = []

    def make(script: list[str], approvals: ApprovalPolicy = APPROVERS, max_body_kb: int = MAX_BODY_KB) -> Bot:
        slack = RecordingSlack()
        closing.append(slack.close)
        model = ScriptedChat(script=script)
        door = SlackDoor(DispatcherGraph(ctx, model, sqlite_checkpointer(":memory:")), ctx.store, ctx.world_name, approvals)
        client = WebClient(token="xoxb-test", base_url=f"{slack.url}/api/")
        app = build_app(door, SlackSettings(bot_token="xoxb-test", signing_secret=SECRET), client=client)
        dispatched: list[Any] = []
        dispatch = app.dispatch

        def spy(req: Any) -> Any:
            dispatched.append(req)
            return dispatch(req)

        app.dispatch = spy  # type: ignore[method-assign]
        server = make_http_server(app, "127.0.0.1", 0, max_body_kb=max_body_kb)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        closing.append(server.server_close)
        closing.append(server.shutdown)
        return Bot(f"http://127.0.0.1:{server.server_port}/slack/events", slack, door, model, ctx, dispatched)

    yield make
    for close in reversed(closing):
        close()


def _statuses(ctx: ToolContext) -> list[str]:
    return [p.status.value for p in ctx.store.plans(ctx.world_name)]


def _buttons(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


# ---- tests -------------------------------------------------------------------------------------------


def test_url_verification_challenge_is_answered(make_bot: Callable[[list[str]], Bot]) -> None:
    bot = make_bot([])
    status, body = bot.post(
        json.dumps({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}).encode(), "application/json"
    )
    assert status == 200 and json.loads(body) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_mention_draft_approve_button_commits_and_uploads_the_route_map(make_bot: Callable[[list[str]], Bot]) -> None:
    bot = make_bot([act("plan")])  # one model decision: the button decides the draft without the model
    root, ts = "1700000000.000100", "1700000050.000200"
    mention = {"type": "app_mention", "user": "U1", "text": f"<@{BOT}> Plan today's routes.", "ts": ts, "thread_ts": root, "channel": "C1", "event_ts": ts}
    with bot.door._lock:  # the agent is busy: Slack still gets its answer at once, the work waits in the lazy listener
        started = time.monotonic()
        status, _ = bot.event(mention)
        assert status == 200 and time.monotonic() - started < 3
        assert bot.slack.of("chat.postMessage") == []
    posted = bot.slack.wait("chat.postMessage")[0]
    assert posted["channel"] == "C1" and posted["thread_ts"] == root
    assert posted["text"].startswith("Draft plan #1") and posted["_token"] == "xoxb-test"
    assert _buttons(posted) == [APPROVE, REJECT, ROUTE_MAP]
    assert {e["value"] for b in posted["blocks"] if b["type"] == "actions" for e in b["elements"]} == {"1"}
    table = [b["text"]["text"] for b in posted["blocks"] if b["type"] == "section" and b["text"]["text"].startswith("```")]
    used = [r.vehicle_id for r in bot.ctx.store.get_plan(1).plan.routes if r.visits]
    assert len(table) == 1 and table[0].startswith("```vehicle") and used and all(v in table[0] for v in used)  # the draft's route table
    assert bot.model.seen[0][0][-1].content == "Plan today's routes."  # the mention itself is not part of the message
    assert [(h["user"], h["action"]) for h in bot.door.agent.history(thread_id(TEAM, "C1", root))] == [("Plan today's routes.", "plan")]
    # the draft's route map: upload URL, the PNG itself, then the upload completed into the same thread
    url = bot.slack.wait("files.getUploadURLExternal")[0]
    upload = bot.slack.wait("upload")[0]
    done = bot.slack.wait("files.completeUploadExternal")[0]
    assert url["filename"].endswith("plan-1.png") and int(url["length"]) == len(upload["bytes"]) > 1000
    assert upload["bytes"].startswith(PNG_MAGIC)
    assert done["channel_id"] == "C1" and done["thread_ts"] == root and json.loads(done["files"])[0]["id"] == upload["file_id"]
    assert _statuses(bot.ctx) == ["draft"]

    message = {**posted, "ts": posted["_reply_ts"]}
    status, _ = bot.click(APPROVE, message, "U2", "C1")
    assert status == 200
    update = bot.slack.wait("chat.update")[0]
    assert update["channel"] == "C1" and update["ts"] == message["ts"]
    assert "approved by <@U2>" in update["text"] and "dispatched" in update["text"]
    assert _buttons(update) == [ROUTE_MAP] and update["blocks"][0] == posted["blocks"][0]
    assert _statuses(bot.ctx) == ["committed"] and bot.ctx.committed() is not None and bot.ctx.committed().id == 1  # type: ignore[union-attr]
    assert [e.actor for e in bot.ctx.store.audit(bot.ctx.world_name) if e.action == "commit_plan"] == ["slack:U2"]
    assert len(bot.model.seen) == 1 and not bot.model.script


def test_dm_reject_and_map_buttons_thread_replies_and_the_map_command(make_bot: Callable[[list[str]], Bot]) -> None:
    bot = make_bot([act("plan"), act("chat")])
    assert bot.event({"type": "message", "channel_type": "im", "channel": "D1", "user": "U3", "text": "map", "ts": "1700000100.000001"})[0] == 200
    assert "no plan yet" in bot.slack.wait("chat.postMessage")[0]["text"]
    root = "1700000200.000001"
    bot.event({"type": "message", "channel_type": "im", "channel": "D1", "user": "U3", "text": "plan the day", "ts": root})
    draft = bot.slack.wait("chat.postMessage", 2)[1]
    assert draft["channel"] == "D1" and draft["thread_ts"] == root and _buttons(draft) == [APPROVE, REJECT, ROUTE_MAP]
    bot.slack.wait("files.completeUploadExternal")
    message = {**draft, "ts": draft["_reply_ts"]}
    bot.click(ROUTE_MAP, message, "U3", "D1")
    assert bot.slack.wait("files.completeUploadExternal", 2)[1]["thread_ts"] == root
    bot.click(REJECT, message, "U3", "D1")
    update = bot.slack.wait("chat.update")[0]
    assert "rejected by <@U3>" in update["text"] and _statuses(bot.ctx) == ["discarded"] and bot.ctx.committed() is None
    assert [e.actor for e in bot.ctx.store.audit(bot.ctx.world_name) if e.action == "discard_plan"] == ["slack:U3"]
    # a second click on the old button decides nothing
    bot.click(APPROVE, message, "U4", "D1")
    assert "no draft is waiting" in bot.slack.wait("chat.update", 2)[1]["text"] and _statuses(bot.ctx) == ["discarded"]
    # a channel message not addressed to the bot is ignored; a reply in the bot's thread is answered there
    bot.event({"type": "message", "channel_type": "channel", "channel": "C7", "user": "U5", "text": "lunch?", "ts": "1700000300.000001"})
    bot.event({"type": "message", "channel_type": "im", "channel": "D1", "user": "U3", "text": "thanks", "ts": "1700000400.000001", "thread_ts": root})
    reply = bot.slack.wait("chat.postMessage", 3)[2]
    assert reply["channel"] == "D1" and reply["thread_ts"] == root and not bot.model.script
    assert [h["action"] for h in bot.door.agent.history(thread_id(TEAM, "D1", root))] == ["plan", "discard", "chat"]
    assert len(bot.slack.of("chat.postMessage")) == 3


class _Posts:
    """The Web API calls the door makes, kept (a stand-in for slack_sdk's WebClient)."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []

    def chat_postMessage(self, **params: Any) -> None:
        self.posted.append(params)


def test_a_message_renders_the_turns_plan_summary_and_passes_its_actor(ctx: ToolContext) -> None:
    summary = plan_summary()
    calls: list[dict[str, Any]] = []

    class Agent:
        """Answers every message with a plan summary; fails if anyone changed its tool context."""

        def __init__(self) -> None:
            self.ctx = ctx

        def turn(self, thread: str, text: str, *, actor: str | None = None, store: Any = None) -> TurnResult:
            assert self.ctx.actor == "dispatcher" and self.ctx.store is ctx.store  # the actor and the store come with the call
            calls.append({"thread": thread, "actor": actor, "store": store})
            return TurnResult(answer="Draft plan #4: 2 orders on 1 vehicles.", outcome=Outcome("plan", data=summary, draft_id=4), plan_summary=summary)

    door = SlackDoor(Agent(), ctx.store, ctx.world_name, ApprovalPolicy(approvers=frozenset({"U1"})))
    client = _Posts()
    door.on_message(client, team=TEAM, channel="C1", user="U1", text="plan the day", ts="1.1", thread_ts=None)  # type: ignore[arg-type]
    door.on_message(client, team=TEAM, channel="C1", user="U7", text="plan the day", ts="1.2", thread_ts=None)  # type: ignore[arg-type]
    for message in client.posted:
        table = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and b["text"]["text"].startswith("```")]
        assert len(table) == 1 and "V9" in table[0] and "12.5" in table[0] and "V8" not in table[0]  # idle vehicles left out
        assert _buttons(message) == []  # nothing waits for approval
    assert [(c["thread"], c["actor"]) for c in calls] == [(thread_id(TEAM, "C1", "1.1"), "slack:U1"), (thread_id(TEAM, "C1", "1.2"), "slack:U7")]
    assert calls[0]["store"] is None and calls[1]["store"] is not None  # a non-approver's turn runs on a store that refuses decisions
    assert ctx.actor == "dispatcher"


def test_bad_signatures_and_stale_timestamps_are_rejected_before_the_agent(make_bot: Callable[[list[str]], Bot]) -> None:
    bot = make_bot([act("chat")])
    event = {"type": "app_mention", "user": "U1", "text": f"<@{BOT}> plan the day", "ts": "1700000000.000100", "channel": "C1"}
    assert bot.event(event, secret="not-the-secret")[0] == 401
    assert bot.event(event, timestamp=int(time.time()) - 600)[0] == 401
    assert bot.event(event, signed=False)[0] == 401
    form = urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions", "actions": [{"action_id": APPROVE, "value": "1"}]})}).encode()
    assert bot.post(form, "application/x-www-form-urlencoded", secret="nope")[0] == 401
    # a correctly signed message afterwards is the first and only one the agent sees
    assert bot.event({**event, "text": f"<@{BOT}> thanks", "ts": "1700000001.000100"})[0] == 200
    assert len(bot.slack.wait("chat.postMessage")) == 1
    assert [str(m.content) for prompt, _ in bot.model.seen for m in prompt[-1:]] == ["thanks"]
    assert _statuses(bot.ctx) == [] and bot.slack.of("chat.update") == []


def test_missing_environment_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigurationError, match=r"SLACK_BOT_TOKEN .*SLACK_SIGNING_SECRET"):
        SlackSettings.from_env(socket=False, env={})
    with pytest.raises(ConfigurationError, match="SLACK_APP_TOKEN"):
        SlackSettings.from_env(socket=True, env={"SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(ConfigurationError, match="xoxb-"):
        SlackSettings.from_env(socket=False, env={"SLACK_BOT_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s"})
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["slack", "--socket"]) == 2
    assert "SLACK_BOT_TOKEN" in capsys.readouterr().err


def test_socket_mode_needs_no_signature(ctx: ToolContext) -> None:
    from slack_bolt.request import BoltRequest  # as bolt's SocketModeHandler hands each envelope to the app

    slack = RecordingSlack()
    try:
        door = SlackDoor(DispatcherGraph(ctx, ScriptedChat(script=[act("chat")]), sqlite_checkpointer(":memory:")), ctx.store, ctx.world_name)
        app = build_app(door, SlackSettings(bot_token="xoxb-test", app_token="xapp-1"), socket=True, client=WebClient(base_url=f"{slack.url}/api/"))
        body = {
            "team_id": TEAM,
            "type": "event_callback",
            "event_id": "Ev1",
            "event": {"type": "app_mention", "user": "U1", "text": f"<@{BOT}> hi", "ts": "1.2", "channel": "C1"},
        }
        assert app.dispatch(BoltRequest(body=body, mode="socket_mode")).status == 200
        posted = slack.wait("chat.postMessage")[0]
        assert posted["thread_ts"] == "1.2" and posted["_token"] == "xoxb-test"
    finally:
        slack.close()


def test_quoted_text_cannot_ping_or_link_and_long_answers_are_split() -> None:
    from copilot.apps.slack_bot import _sections, escape

    assert escape("<!channel> call <@U1> & <https://x.test|here>") == "&lt;!channel&gt; call &lt;@U1&gt; &amp; &lt;https://x.test|here&gt;"
    blocks = _sections("\n".join(f"line {i} " + "x" * 80 for i in range(100)))
    assert len(blocks) == 4 and all(len(b["text"]["text"]) <= 2900 for b in blocks)


# ---- the HTTP gate: refused from the request head, before bolt reads a body -------------------------------


def _head(content_length: int | None, *, path: str = "/slack/events", method: str = "POST", extra: str = "") -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"X-Slack-Request-Timestamp: {int(time.time())}", "X-Slack-Signature: v0=0000"]
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    return "\n".join(lines) + "\n" + extra


def _mention(text: str, ts: str = "1700000000.000100", user: str = "U1", channel: str = "C1") -> dict[str, Any]:
    return {"type": "app_mention", "user": user, "text": f"<@{BOT}> {text}", "ts": ts, "channel": channel, "event_ts": ts}


def test_an_oversized_body_is_refused_before_it_is_read(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot([act("chat")])
    # 64 MiB announced, a few bytes sent, the rest held back: the 413 comes without the server waiting for it
    status, body = bot.raw(_head(64 << 20), b'{"type": "event_callback", ')
    assert status == 413 and f"at most {MAX_BODY_KB * 1024} bytes" in body.decode()
    assert bot.raw(_head(MAX_BODY_KB * 1024 + 1), b"{")[0] == 413
    assert bot.dispatched == []  # bolt's adapter never saw them (it would have read the whole body first)
    # the server goes on serving Slack: a signed event reaches bolt and the agent
    assert bot.event(_mention("thanks"))[0] == 200
    assert bot.slack.wait("chat.postMessage")[0]["thread_ts"] == "1700000000.000100"
    assert len(bot.dispatched) == 1


def test_a_signed_body_over_the_configured_limit_never_reaches_the_agent(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot([act("chat")], max_body_kb=1)
    assert bot.event(_mention("x" * 2000))[0] == 413  # correctly signed, but 2 KB over a 1 KiB cap
    assert bot.dispatched == []
    assert bot.event(_mention("thanks", ts="1700000001.000100"))[0] == 200
    bot.slack.wait("chat.postMessage")
    assert [str(m.content) for prompt, _ in bot.model.seen for m in prompt[-1:]] == ["thanks"]


def test_no_length_chunked_bodies_other_paths_and_methods_are_refused_unread(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot([])
    status, body = bot.raw(_head(None), b'{"type": ')
    assert status == 411 and b"Content-Length is required" in body
    assert bot.raw(_head(None, extra="Transfer-Encoding: chunked\n"), b"5\r\nhello\r\n")[0] == 411
    assert bot.raw(_head(10, extra="Transfer-Encoding: chunked\n"), b"5\r\n")[0] == 411
    assert bot.raw(_head(None, extra="Content-Length: ten\n"), b"{")[0] == 400
    assert bot.raw(_head(5, extra="Content-Length: 6\n"), b"{")[0] == 400
    assert bot.raw(_head(64 << 20, path="/anything/else"), b"{")[0] == 404
    assert bot.raw(_head(64 << 20, path="/slack/events/../admin"), b"{")[0] == 404
    assert bot.raw(_head(None, method="GET"))[0] == 405
    assert bot.dispatched == []


# ---- who may decide a draft -----------------------------------------------------------------------------


def _draft(bot: Bot, user: str, channel: str, root: str, n: int = 1) -> dict[str, Any]:
    """Ask for a plan in a thread; the posted draft message (the ``n``-th message posted)."""
    bot.event(_mention("Plan today's routes.", ts=root, user=user, channel=channel))
    posted = bot.slack.wait("chat.postMessage", n)[n - 1]
    assert _buttons(posted) == [APPROVE, REJECT, ROUTE_MAP]
    bot.slack.wait("files.completeUploadExternal", n)
    return {**posted, "ts": posted["_reply_ts"]}


def _deciders(ctx: ToolContext) -> list[tuple[str, str]]:
    return [(e.action, e.actor) for e in ctx.store.audit(ctx.world_name) if e.action in ("commit_plan", "discard_plan")]


def test_only_allowlisted_users_can_press_approve_or_reject(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot([act("plan")], ApprovalPolicy(approvers=frozenset({"U2"}), channels=frozenset({"C1"})))
    root = "1700000000.000100"
    message = _draft(bot, "U1", "C1", root)  # anyone may ask for a draft
    assert bot.click(APPROVE, message, "U9", "C1")[0] == 200
    refused = bot.slack.wait("chat.postEphemeral")[0]
    assert refused["user"] == "U9" and refused["channel"] == "C1" and refused["thread_ts"] == root
    assert "not allowed to approve" in refused["text"] and "<@U2>" in refused["text"]
    bot.click(REJECT, message, "U1", "C1")
    assert "<@U1>, you are not allowed" in bot.slack.wait("chat.postEphemeral", 2)[1]["text"]
    assert _statuses(bot.ctx) == ["draft"] and _deciders(bot.ctx) == [] and bot.slack.of("chat.update") == []
    # the buttons still work for the approver
    bot.click(APPROVE, message, "U2", "C1")
    update = bot.slack.wait("chat.update")[0]
    assert "approved by <@U2>" in update["text"] and _statuses(bot.ctx) == ["committed"]
    assert _deciders(bot.ctx) == [("commit_plan", "slack:U2")]
    assert len(bot.slack.of("chat.update")) == 1 and len(bot.slack.of("chat.postEphemeral")) == 2
    assert len(bot.model.seen) == 1  # the refused clicks did not reach the agent


def test_an_approver_outside_the_approval_channels_cannot_decide(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot([act("plan")], ApprovalPolicy(approvers=frozenset({"U2"}), channels=frozenset({"C1"})))
    message = _draft(bot, "U2", "D7", "1700000000.000100")
    bot.click(APPROVE, message, "U2", "D7")
    refused = bot.slack.wait("chat.postEphemeral")[0]
    assert refused["user"] == "U2" and "only in <#C1>" in refused["text"]
    assert _statuses(bot.ctx) == ["draft"] and _deciders(bot.ctx) == [] and bot.slack.of("chat.update") == []


def test_a_non_approvers_approve_message_commits_nothing(make_bot: Callable[..., Bot]) -> None:
    approve = json.dumps({"answer": "approve"})  # the agent reads both replies as approval
    bot = make_bot([act("plan"), approve, act("dispatch")], ApprovalPolicy(approvers=frozenset({"U2"})))
    root = "1700000000.000100"
    _draft(bot, "U1", "C1", root)
    reply = {"type": "message", "channel_type": "channel", "channel": "C1", "text": "approve", "thread_ts": root}
    bot.event({**reply, "user": "U9", "ts": "1700000010.000100"})
    answer = bot.slack.wait("chat.postMessage", 2)[1]  # still answered, in the thread
    assert answer["thread_ts"] == root and "only the bot's approvers can approve" in answer["text"]
    assert "you are not allowed to approve" in json.dumps(answer["blocks"]) and "<@U2>" in json.dumps(answer["blocks"])
    assert _statuses(bot.ctx) == ["draft"] and _deciders(bot.ctx) == []
    # the approver's own message commits it
    bot.event({**reply, "user": "U2", "ts": "1700000020.000100"})
    done = bot.slack.wait("chat.postMessage", 3)[2]
    assert "dispatched" in done["text"] and _statuses(bot.ctx) == ["committed"]
    assert _deciders(bot.ctx) == [("commit_plan", "slack:U2")] and not bot.model.script


def test_approval_policy_from_the_environment_and_the_flags() -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_APPROVERS": "U1, U2", "SLACK_APPROVAL_CHANNELS": "C1"}
    settings = SlackSettings.from_env(socket=False, env=env)
    assert approval_policy(settings) == ApprovalPolicy(approvers=frozenset({"U1", "U2"}), channels=frozenset({"C1"}))
    assert approval_policy(settings, approvers="W3", channels="") == ApprovalPolicy(approvers=frozenset({"W3"}))  # flags replace the env
    with pytest.raises(ConfigurationError, match="contradicts"):
        approval_policy(settings, allow_any=True)
    anyone = approval_policy(SlackSettings(bot_token="xoxb-1"), allow_any=True)
    assert anyone.allows("U7", "C9") and not ApprovalPolicy().allows("U1", "C1")  # a door without a policy lets nobody decide
    policy = ApprovalPolicy(approvers=frozenset({"U1"}), channels=frozenset({"C1"}))
    assert policy.allows("U1", "C1") and not policy.allows("U1", "C2") and not policy.allows("U2", "C1")
    with pytest.raises(ConfigurationError, match=r"SLACK_APPROVERS: '@alice' is not a Slack user id"):
        SlackSettings.from_env(socket=False, env={**env, "SLACK_APPROVERS": "U1,@alice"})
    with pytest.raises(ConfigurationError, match=r"--approval-channels: '#dispatch' is not a Slack channel id"):
        approval_policy(settings, channels="#dispatch")


def test_the_bot_does_not_start_without_an_approver_list(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import copilot.apps.wiring

    def too_far(*_: Any, **__: Any) -> Any:
        raise AssertionError("the bot went on past its configuration checks")

    monkeypatch.setattr(copilot.apps.wiring, "make_store", too_far)
    for name in ("SLACK_APPROVERS", "SLACK_APPROVAL_CHANNELS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    for argv in (["slack"], ["slack", "--socket"], ["slack", "--approvers", " "], ["slack", "--approval-channels", "C1"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "no approvers configured" in err and "--approvers U123,U456" in err and "--allow-any-approver" in err
    assert main(["slack", "--approvers", "alice"]) == 2 and "'alice' is not a Slack user id" in capsys.readouterr().err
    assert main(["slack", "--approvers", "U1", "--allow-any-approver"]) == 2 and "contradicts" in capsys.readouterr().err
    monkeypatch.setenv("SLACK_APPROVERS", "U1")
    assert main(["slack", "--allow-any-approver"]) == 2 and "contradicts" in capsys.readouterr().err


def test_http_mode_listens_on_loopback_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    import inspect

    from copilot.apps.slack_bot import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["slack"])
    assert args.host == "127.0.0.1" and args.max_body_kb == MAX_BODY_KB == 1024 and not args.allow_any_approver
    assert args.approvers is None and args.approval_channels is None  # then the environment decides
    assert inspect.signature(make_http_server).parameters["host"].default == "127.0.0.1"
    with pytest.raises(SystemExit):
        main(["slack", "--help"])
    usage = " ".join(capsys.readouterr().out.split())
    assert "default 127.0.0.1" in usage and "TLS reverse proxy" in usage and "pass --host 0.0.0.0 explicitly" in usage
    with pytest.raises(SystemExit):
        parser.parse_args(["slack", "--max-body-kb", "0"])
