"""Fuzz the partner HTTP API with Schemathesis against the real server (``logistics-copilot serve``).

What it does, in order:

1. starts the real server as a subprocess (``python -m copilot --db sqlite:///<tmp>/api.db serve --host 127.0.0.1
   --port <free> --time-limit 1``) on a fresh temporary SQLite file, its log kept as ``<out>/server.log``;
2. makes one API key per partner with the CLI (``keys create --partner NAME --scopes read,plan,dispatch``), at
   least two partners (``fuzz-alpha``, ``fuzz-beta``, ... one per worker);
3. over HTTP, for every partner: imports ``tests/data/worlds/tiny`` twice (as ``tiny``, the same name for every
   partner, with region 31's history from ``jilin-1001`` so that forecasts answer, and as ``tiny-<partner>``, a
   name only that partner has), plans ``tiny`` and approves the plan, so that worlds, orders, vehicles, plans
   and a history series exist;
4. runs one Schemathesis session per worker (``schemathesis run <url>/openapi.json``, in parallel, each with one
   partner's key in ``Authorization: Bearer``) over every operation and every phase (examples, coverage,
   fuzzing, and stateful testing over the links Schemathesis infers from this spec), with the checks
   ``not_a_server_error``, ``status_code_conformance``, ``response_schema_conformance``,
   ``content_type_conformance`` and ``tenant_isolation`` (``bench/fuzz/hooks.py``: another partner's world or
   plan must answer 404, and no reply may name another partner's world). Path parameters are drawn, half the
   time, from the ids that exist (both partners' world names, O1..O5, V1..V3, the plan ids), so requests get
   past the 404s; the hooks give most writes a fresh ``Idempotency-Key`` and cap valid solver budgets
   (``time_limit_s`` at 1 s, fleet-size samples and iterations) so that no single request spends a minute;
5. stops each session when its share of ``--requests`` has been sent (or at ``--max-seconds``), stops the
   server (always: also on Ctrl-C, SIGTERM or an error), and writes ``<out>/summary.json`` and
   ``<out>/summary.md``: requests sent, per-operation counts and statuses, and the failures grouped by check and
   operation, each cause with its count and the smallest request that reproduces it (as JSON and as curl; the
   API keys are written as ``$KEY_<PARTNER>``), plus the exceptions in the server's log.

The exit status is 0 when nothing failed, 1 when any check failed, a request errored (e.g. timed out) or the
server logged an exception, and 2 when the harness itself could not run (the server did not start, ...).

Requests are paced under the server's per-partner rate limit (``--rate-limit``, default ``19/s`` per session;
the server allows 20/s with a burst of 40 per partner, and one planning request per partner at a time), so a
run sends at most about ``19 * workers`` requests a second (measured: about 25 a second with 2 sessions on 2 busy
cores, so ``--requests 20000`` takes 12 to 14 minutes; ``--rate-limit none`` sends about 100 a second and gets
429s). More sessions than the server has cores make writes meet its server-wide planning cap (429 too).

A seed fixes what Schemathesis generates but not the whole run: replies feed back into the generation (stateful
links, learnt ids) and the budget is counted as events arrive, so two runs with one seed can differ a little.

Install: ``pip install -e '.[fuzz]'`` (or ``.[dev]``). Run, from the repository root::

    python bench/fuzz/run.py --requests 20000 --out bench/results/fuzz            # the full run
    python bench/fuzz/run.py --requests 1500 --seed 1 --out /tmp/fuzz --max-seconds 120   # a quick smoke
    python bench/fuzz/run.py --max-examples 20 --out /tmp/fuzz                    # per-operation budget instead

Options: ``--requests N`` (total budget over all sessions; fuzzing repeats until it is spent),
``--max-examples N`` (Schemathesis test cases per operation and phase), ``--seed S`` (session ``i`` uses
``S + i``), ``--workers N`` (parallel sessions, one partner each; default 2), ``--max-seconds S`` (hard cap on
the whole run, setup included; default 3600), ``--out DIR``, ``--rate-limit R/s`` (``none`` to send as fast as
possible), ``--request-timeout S``, ``--time-limit S`` (the server's planning time limit), ``--phases``,
``--server-arg ARG`` (repeatable, passed to ``serve``), ``--keep-raw`` (keep the Schemathesis NDJSON event
logs in ``<out>/raw``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
HOOKS = HERE / "hooks.py"
TINY = ROOT / "tests" / "data" / "worlds" / "tiny"
HISTORY = ROOT / "tests" / "data" / "worlds" / "jilin-1001" / "history.csv"
HISTORY_REGION = "31"  # the tiny world's history series (as tests/apps/test_api.py builds it)
CHECKS = ("not_a_server_error", "status_code_conformance", "response_schema_conformance", "content_type_conformance", "tenant_isolation")
PHASES = ("examples", "coverage", "fuzzing", "stateful")
ORDER_IDS = ("O1", "O2", "O3", "O4", "O5")
VEHICLE_IDS = ("V1", "V2", "V3")
SHARED_WORLD = "tiny"
WRITE_HISTORY = 500  # successful writes remembered per session
WRITES_SHOWN = 8  # a 5xx example shows the session's last successful writes to its world (the state it ran in)
PARTNER_NAMES = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")


def partner_name(i: int) -> str:
    return f"fuzz-{PARTNER_NAMES[i] if i < len(PARTNER_NAMES) else i}"


class HarnessError(RuntimeError):
    """The harness could not run (not a finding about the API)."""


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _child_signals() -> None:
    """In a child, before exec: Ctrl-C stops it (a shell starts background jobs with SIGINT ignored, and exec keeps that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stop_processes(procs: list[subprocess.Popen[bytes]], first: int, grace_s: float) -> None:
    """Stop several process groups at once: ``first`` to all, one shared grace period, then SIGTERM/SIGKILL."""
    live = [p for p in procs if p.poll() is None]
    for p in live:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, first)
    until = time.monotonic() + grace_s
    for p in live:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=max(0.1, until - time.monotonic()))
    for p in live:
        _stop_process(p, signal.SIGTERM, 5.0)


def _stop_process(proc: subprocess.Popen[Any] | None, first: int = signal.SIGTERM, grace_s: float = 10.0) -> int | None:
    """Stop a process started with ``start_new_session=True`` (its whole group): ``first``, then SIGKILL."""
    if proc is None:
        return None
    if proc.poll() is not None:
        return proc.returncode
    for sig, wait_s in ((first, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            return proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
    return proc.poll()


@dataclass
class Server:
    """The real partner API server on a temporary SQLite database."""

    db_url: str
    log_path: Path
    time_limit_s: float = 1.0
    extra_args: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        """Run ``python -m copilot --db <url> ARGS`` and return its stdout."""
        cmd = [sys.executable, "-m", "copilot", "--db", self.db_url, *args]
        done = subprocess.run(cmd, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise HarnessError(f"{shlex.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        return done.stdout

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "copilot",
            "--db",
            self.db_url,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--time-limit",
            f"{self.time_limit_s:g}",
            *self.extra_args,
        ]

    def start(self, timeout_s: float = 90.0) -> None:
        self.port = free_port()
        log = self.log_path.open("wb")
        try:
            self.proc = subprocess.Popen(
                self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_child_signals
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"the server exited with {self.proc.returncode} before answering; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/openapi.json", timeout=5) as r:
                    if r.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.25)
        raise HarnessError(f"the server did not answer /openapi.json within {timeout_s:.0f} s; see {self.log_path}")

    def stop(self) -> int | None:
        return _stop_process(self.proc, signal.SIGTERM, 10.0)


def documented_operations(base_url: str) -> list[str]:
    """``METHOD /path`` of every operation in the server's OpenAPI document."""
    with urllib.request.urlopen(f"{base_url}/openapi.json", timeout=30) as r:
        spec = json.loads(r.read())
    methods = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
    return [f"{m.upper()} {path}" for path, item in spec.get("paths", {}).items() for m in item if m in methods]


def http(method: str, url: str, key: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 120.0) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": f"Bearer {key}", **({"Content-Type": "application/json"} if data else {}), **(headers or {})}
    )
    for attempt in range(20):
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            if e.code == 429 and attempt < 19:  # the server's per-partner limits
                time.sleep(float(e.headers.get("Retry-After") or 1))
                continue
            return e.code, json.loads(e.read() or b"null")
    raise AssertionError("unreachable")


def tiny_upload(name: str, *, history: bool = False) -> dict[str, Any]:
    """The tiny world as an import body; ``history`` adds one region's daily volumes (so forecasts can answer)."""
    meta = json.loads((TINY / "world.json").read_text(encoding="utf-8"))
    body: dict[str, Any] = {
        "name": name,
        "world": {k: meta[k] for k in ("city", "date", "timezone")},
        **{f"{n}_csv": (TINY / f"{n}.csv").read_text(encoding="utf-8") for n in ("depots", "vehicles", "orders")},
    }
    if history and HISTORY.exists():
        rows = HISTORY.read_text(encoding="utf-8").splitlines()
        body["history_csv"] = "\n".join([rows[0], *(r for r in rows[1:] if r.split(",")[1] == HISTORY_REGION)]) + "\n"
    return body


@dataclass
class PartnerSetup:
    name: str
    key: str
    worlds: list[str]
    plan_ids: list[int]


def seed_partner(server: Server, name: str) -> PartnerSetup:
    """A key for the partner (CLI), its two tiny worlds (HTTP), a plan of ``tiny`` planned and approved."""
    key = server.cli("keys", "create", "--partner", name, "--scopes", "read,plan,dispatch", "--note", "bench/fuzz").strip().splitlines()[-1].strip()
    api = f"{server.url}/v1"
    worlds = [SHARED_WORLD, f"tiny-{name}"]
    for world in worlds:
        status, reply = http("POST", f"{api}/worlds", key, tiny_upload(world, history=world == SHARED_WORLD))
        if status != 201:
            raise HarnessError(f"importing {world!r} for {name} answered {status}: {reply}")
    status, plan = http("POST", f"{api}/worlds/{SHARED_WORLD}/plans", key, headers={"Idempotency-Key": f"fuzz-setup-{name}"})
    if status != 201:
        raise HarnessError(f"planning {SHARED_WORLD!r} for {name} answered {status}: {plan}")
    status, approved = http("POST", f"{api}/worlds/{SHARED_WORLD}/plans/{plan['plan_id']}/approve", key)
    if status != 200:
        raise HarnessError(f"approving plan {plan['plan_id']} for {name} answered {status}: {approved}")
    return PartnerSetup(name=name, key=key, worlds=worlds, plan_ids=[int(plan["plan_id"])])


# --------------------------------------------------------------------------------------------------
# Schemathesis sessions
# --------------------------------------------------------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def session_config(*, all_worlds: list[str], all_plans: list[int], probability: float, request_timeout_s: float, rate_limit: str | None, max_steps: int) -> str:
    """The schemathesis.toml of one session: checks, known ids for path parameters, hooks, no sanitising."""
    lines = [
        f"hooks = {_toml(str(HOOKS))}",
        f"request-timeout = {_toml(request_timeout_s)}",
        "continue-on-failure = true",
        'suppress-health-check = ["all"]',
    ]
    if rate_limit:
        lines.append(f"rate-limit = {_toml(rate_limit)}")
    lines += ["", "[output.sanitization]", "enabled = false", "", "[output.truncation]", "enabled = false", ""]
    lines += ["[generation]", 'database = "none"', ""]
    lines += ["[checks]", *(f"{name} = {{ enabled = true }}" for name in CHECKS), ""]
    for name in (
        "negative_data_rejection",
        "positive_data_acceptance",
        "missing_required_header",
        "unsupported_method",
        "response_headers_conformance",
        "use_after_free",
        "ensure_resource_availability",
        "ignored_auth",
        "allow_header_conformance",
        "object_level_authorization",
    ):
        lines.append(f"{name} = {{ enabled = false }}")
    lines += ["", "[phases.stateful]", f"max-steps = {max_steps}", ""]
    dictionaries = {
        "worlds": all_worlds,
        "orders": list(ORDER_IDS),
        "vehicles": list(VEHICLE_IDS),
        "plans": all_plans,
        "plan_selectors": ["committed", "draft", *[str(p) for p in all_plans]],
        "series": [HISTORY_REGION],
    }
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {_toml(values)}", ""]
    bindings = {
        "path.world": "worlds",
        "path.order_id": "orders",
        "path.vehicle_id": "vehicles",
        "path.plan_id": "plans",
        "query.plan": "plan_selectors",
        "body.order_id": "orders",
        "body.vehicle_id": "vehicles",
        "query.series": "series",
    }
    lines.append("[parameters]")
    lines += [f"{json.dumps(k)} = {{ dictionary = {json.dumps(v)}, probability = {probability} }}" for k, v in bindings.items()]
    return "\n".join(lines) + "\n"


@dataclass
class Session:
    index: int
    partner: PartnerSetup
    budget: int | None
    seed: int
    workdir: Path
    env: dict[str, str]
    rounds: int = 0
    proc: subprocess.Popen[bytes] | None = None
    ndjson_paths: list[Path] = field(default_factory=list)
    stop_reasons: list[str] = field(default_factory=list)
    exit_codes: list[int | None] = field(default_factory=list)
    stopping: bool = False
    stop_at: float = 0.0
    done: bool = False

    @property
    def ndjson(self) -> Path:
        return self.ndjson_paths[-1]


def session_command(*, schema_url: str, session: Session, config_path: Path, max_examples: int | None, max_time_s: int, phases: list[str]) -> list[str]:
    seed = session.seed + 7919 * session.rounds
    ndjson = session.workdir / f"events-{session.rounds}.ndjson"
    session.ndjson_paths.append(ndjson)
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config_path),
        "--no-color",
        "run",
        schema_url,
        "-H",
        f"Authorization: Bearer {session.partner.key}",
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--phases",
        ",".join(phases),
        "--max-time",
        str(max(1, max_time_s)),
        "--generation-database",
        "none",
        "--report",
        "ndjson,json",
        "--report-ndjson-path",
        str(ndjson),
        "--report-json-path",
        str(session.workdir / f"report-{session.rounds}.json"),
    ]
    if max_examples is not None:
        cmd += ["--max-examples", str(max_examples)]
    return cmd


# --------------------------------------------------------------------------------------------------
# Reading the event logs
# --------------------------------------------------------------------------------------------------

_DIGITS = re.compile(r"\d+(\.\d+)?")


def _normalise(text: str, limit: int = 200) -> str:
    first = " ".join(text.strip().split())
    return _DIGITS.sub("N", first)[:limit]


def _decode(payload: Any) -> str | None:
    if payload is None:
        return None
    if isinstance(payload, dict) and "$base64" in payload:
        raw = base64.b64decode(payload["$base64"])
        return raw.decode("utf-8", errors="replace")
    if isinstance(payload, str):
        return payload
    return json.dumps(payload)


class Secrets:
    """Writes API keys as ``$KEY_<PARTNER>`` in everything the run reports."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = {k: f"$KEY_{p.upper().replace('-', '_')}" for p, k in keys.items()}

    def __call__(self, text: str) -> str:
        for key, name in self.keys.items():
            text = text.replace(key, name)
        return text


def _world_of(url: str) -> str | None:
    match = re.search(r"/v1/worlds/([^/?]+)", url)
    return match.group(1) if match else None


def _curl(method: str, url: str, headers: dict[str, str], body: str | None) -> str:
    parts = ["curl", "-sS", "-X", method, shlex.quote(url)]
    for name, value in headers.items():
        if name.lower() in ("content-length", "user-agent", "accept-encoding", "accept", "connection"):
            continue
        quoted = f'"{name}: {value}"' if "$KEY_" in value and '"' not in value and "`" not in value else shlex.quote(f"{name}: {value}")
        parts += ["-H", quoted]
    if body is not None:
        parts += ["--data-binary", shlex.quote(body)]
    return " ".join(parts)


@dataclass
class Variant:
    title: str
    message: str
    count: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    example: dict[str, Any] | None = None
    example_size: int = 1 << 62


class Aggregate:
    """Counts and failures over all sessions' NDJSON event logs (read as they are written)."""

    def __init__(self, secrets: Secrets) -> None:
        self.secrets = secrets
        self.requests = 0
        self.by_session: Counter[int] = Counter()
        self.per_operation: dict[str, Counter[str]] = defaultdict(Counter)
        self.per_phase: Counter[str] = Counter()
        self.failures: dict[tuple[str, str], dict[tuple[str, str], Variant]] = defaultdict(dict)
        self.errors: dict[tuple[str, str], Variant] = {}
        self.stop_reasons: dict[int, list[str]] = defaultdict(list)
        self.writes: dict[int, deque[tuple[float, dict[str, Any]]]] = defaultdict(lambda: deque(maxlen=WRITE_HISTORY))
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, bytes] = {}

    def read_new(self, path: Path, session: int) -> None:
        if not path.exists():
            return
        offset = self._offsets.get(path, 0)
        with path.open("rb") as f:
            f.seek(offset)
            chunk = f.read()
        self._offsets[path] = offset + len(chunk)
        data = self._partial.pop(path, b"") + chunk
        lines = data.split(b"\n")
        if lines and lines[-1]:
            self._partial[path] = lines.pop()
        for line in lines:
            if line.strip():
                try:
                    self._event(json.loads(line), session)
                except ValueError:
                    continue

    def _event(self, event: dict[str, Any], session: int) -> None:
        ((name, body),) = event.items()
        if name == "ScenarioFinished":
            self._scenario(body, session)
        elif name == "NonFatalError":
            label = str(body.get("label") or body.get("info", {}).get("label") or "?")
            info = body.get("info") or {}
            title = str(info.get("title") or body.get("title") or "error")
            message = str(info.get("message") or body.get("message") or json.dumps(body)[:500])
            v = self.errors.setdefault((label, _normalise(title + ": " + message)), Variant(title=title, message=self.secrets(message[:2000])))
            v.count += 1
        elif name == "FatalError":
            v = self.errors.setdefault(("<engine>", "fatal"), Variant(title="fatal error", message=self.secrets(json.dumps(body)[:4000])))
            v.count += 1
        elif name == "EngineFinished":
            reason = body.get("stop_reason")
            if isinstance(reason, str):
                self.stop_reasons[session].append(reason)

    def _scenario(self, body: dict[str, Any], session: int) -> None:
        rec = body.get("recorder") or {}
        cases = rec.get("cases") or {}
        interactions = rec.get("interactions") or {}
        checks = rec.get("checks") or {}
        phase = str(body.get("phase") or "?")
        labels: dict[str, str] = {}
        for cid, case in cases.items():
            value = case.get("value") or {}
            labels[cid] = f"{value.get('method', '?')} {value.get('path', '?')}"
        for cid, inter in sorted(interactions.items(), key=lambda kv: float(kv[1].get("timestamp") or 0)):
            label = labels.get(cid, str(rec.get("label") or "?"))
            response = inter.get("response") or {}
            status = response.get("status_code")
            method = str((inter.get("request") or {}).get("method", "GET"))
            if method not in ("GET", "HEAD", "OPTIONS") and isinstance(status, int) and 200 <= status < 300:
                self.writes[session].append((float(inter.get("timestamp") or 0), inter))
            self.requests += 1
            self.by_session[session] += 1
            self.per_phase[phase] += 1
            self.per_operation[label]["requests"] += 1
            self.per_operation[label][str(status) if status is not None else "no_response"] += 1
        for cid, results in checks.items():
            for result in results:
                if result.get("status") != "failure":
                    continue
                failure = (result.get("failure_info") or {}).get("failure") or {}
                check = str(result.get("name") or "?")
                label = str(failure.get("operation") or labels.get(cid) or rec.get("label") or "?")
                title = str(failure.get("title") or check)
                message = str(failure.get("message") or "")
                group = self.failures[(check, label)]
                key = (title, _normalise(message))
                v = group.get(key)
                if v is None:
                    v = group[key] = Variant(title=title, message=self.secrets(message[:2000]))
                v.count += 1
                inter = interactions.get(cid)
                if inter is None:
                    continue
                status = (inter.get("response") or {}).get("status_code")
                if status is not None:
                    v.statuses[int(status)] += 1
                example = self._example(inter)
                size = len(example["curl"])
                if size < v.example_size:
                    if status is not None and int(status) >= 500:
                        at = float(inter.get("timestamp") or 0)
                        world = _world_of(str((inter.get("request") or {}).get("uri", "")))
                        before = [w for t, w in self.writes[session] if t < at and _world_of(str(w["request"].get("uri", ""))) == world][-WRITES_SHOWN:]
                        example["writes_before"] = [self._example(w)["curl"] for w in before]
                    v.example, v.example_size = example, size

    def _example(self, inter: dict[str, Any]) -> dict[str, Any]:
        req = inter.get("request") or {}
        resp = inter.get("response") or {}
        headers = {k: (v[0] if isinstance(v, list) and v else str(v)) for k, v in (req.get("headers") or {}).items()}
        headers = {k: self.secrets(v) for k, v in headers.items()}
        body = _decode(req.get("body"))
        body = self.secrets(body) if body is not None else None
        content = _decode(resp.get("content"))
        method, url = str(req.get("method", "?")), self.secrets(str(req.get("uri", "?")))
        return {
            "request": {
                "method": method,
                "url": url,
                "headers": {k: v for k, v in headers.items() if k.lower() not in ("content-length", "user-agent", "accept-encoding", "accept", "connection")},
                "body": body,
            },
            "curl": _curl(method, url, headers, body),
            "status": resp.get("status_code"),
            "response": self.secrets(content[:1500]) if content is not None else None,
        }


def server_exceptions(log_path: Path) -> list[dict[str, Any]]:
    """Tracebacks in the server's log, grouped by exception and the deepest frame in the project."""
    if not log_path.exists():
        return []
    text = log_path.read_text(encoding="utf-8", errors="replace")
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for block in text.split("Traceback (most recent call last):")[1:]:
        lines = block.splitlines()
        frames = [ln.strip() for ln in lines if ln.strip().startswith("File ")]
        own = [f for f in frames if str(ROOT) in f and "/.venv/" not in f]
        where = (own or frames or ["?"])[-1].replace(str(ROOT) + "/", "")
        exc = "?"
        for ln in lines[1:]:
            if ln and not ln.startswith((" ", "\t")) and not ln.startswith(("During handling", "The above exception", "Traceback")):
                exc = ln.strip()
                break
        key = (_normalise(exc, 160), where)
        g = groups.setdefault(key, {"exception": exc[:500], "where": where, "count": 0})
        g["count"] += 1
    return sorted(groups.values(), key=lambda g: -g["count"])


# --------------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------------


def build_summary(
    *,
    documented: list[str],
    args: argparse.Namespace,
    agg: Aggregate,
    sessions: list[Session],
    server: Server,
    exceptions: list[dict[str, Any]],
    started: float,
    wall_s: float,
    setup_s: float,
    harness_error: str | None,
    interrupted: bool,
    schemathesis_version: str,
) -> dict[str, Any]:
    failures = []
    for (check, operation), variants in sorted(agg.failures.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        failures.append(
            {
                "check": check,
                "operation": operation,
                "count": sum(v.count for v in variants.values()),
                "causes": [
                    {
                        "title": v.title,
                        "message": v.message,
                        "count": v.count,
                        "statuses": {str(s): n for s, n in sorted(v.statuses.items())},
                        "minimal_request": v.example,
                    }
                    for v in sorted(variants.values(), key=lambda v: -v.count)
                ],
            }
        )
    errors = [{"operation": label, "title": v.title, "message": v.message, "count": v.count} for (label, _), v in sorted(agg.errors.items())]
    fuzz_s = max(wall_s - setup_s, 1e-9)
    ok = not failures and not errors and not exceptions and harness_error is None
    return {
        "ok": ok,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_s": round(wall_s, 1),
        "setup_s": round(setup_s, 1),
        "fuzz_s": round(fuzz_s, 1),
        "requests": agg.requests,
        "requests_per_s": round(agg.requests / fuzz_s, 1),
        "budget": {
            "requests": args.requests,
            "max_examples": args.max_examples,
            "max_seconds": args.max_seconds,
            "seed": args.seed,
            "workers": args.workers,
            "rate_limit": args.rate_limit,
            "phases": args.phases,
        },
        "interrupted": interrupted,
        "harness_error": harness_error,
        "schemathesis_version": schemathesis_version,
        "checks": list(CHECKS),
        "server": {
            "command": shlex.join(server.command()).replace(server.db_url, "sqlite:///<tmp>/api.db"),
            "exit_code": server.proc.returncode if server.proc else None,
            "log": "server.log",
        },
        "sessions": [
            {
                "partner": s.partner.name,
                "worlds": s.partner.worlds,
                "plan_ids": s.partner.plan_ids,
                "seed": s.seed,
                "rounds": s.rounds,
                "budget": s.budget,
                "requests": agg.by_session.get(s.index, 0),
                "stop_reasons": agg.stop_reasons.get(s.index, []),
                "exit_codes": s.exit_codes,
            }
            for s in sessions
        ],
        "requests_per_phase": dict(agg.per_phase.most_common()),
        "documented_operations": len(documented),
        "untested_operations": [op for op in documented if not agg.per_operation[op]["requests"]],
        "operations": {
            label: dict(sorted(c.items(), key=lambda kv: (kv[0] != "requests", kv[0])))
            for label, c in sorted(agg.per_operation.items(), key=lambda kv: (kv[0].split(" ", 1)[-1], kv[0]))
        },
        "failures": failures,
        "errors": errors,
        "server_exceptions": exceptions,
    }


def _md_code(text: str) -> str:
    return "```\n" + text.replace("```", "`\u200b``") + "\n```"


def render_markdown(summary: dict[str, Any]) -> str:
    out = [
        "# Partner API fuzz run",
        "",
        f"**{'PASS' if summary['ok'] else 'FAIL'}**: {summary['requests']} requests in {summary['fuzz_s']} s of fuzzing "
        f"({summary['requests_per_s']} requests/s; {summary['wall_s']} s in all with setup), Schemathesis {summary['schemathesis_version']}, "
        f"seed {summary['budget']['seed']}, {summary['budget']['workers']} sessions; checks: {', '.join(summary['checks'])}.",
        "",
    ]
    if summary["harness_error"]:
        out += [f"Harness error: `{summary['harness_error']}`", ""]
    if summary["interrupted"]:
        out += ["The run was interrupted.", ""]
    n_fail = sum(f["count"] for f in summary["failures"])
    out += [
        f"Failures: {n_fail} failed checks in {len(summary['failures'])} (check, operation) groups; "
        f"request errors: {len(summary['errors'])}; server exceptions: {len(summary['server_exceptions'])}.",
        "",
    ]
    out += ["## Sessions", "", "| partner | worlds | plan ids | seed | rounds | requests | stop |", "|---|---|---|---|---|---|---|"]
    for s in summary["sessions"]:
        out.append(
            f"| {s['partner']} | {', '.join(s['worlds'])} | {', '.join(map(str, s['plan_ids']))} | {s['seed']} | {s['rounds']} "
            f"| {s['requests']} | {', '.join(s['stop_reasons']) or '-'} |"
        )
    if summary["untested_operations"]:
        out += ["", f"Operations never requested: {', '.join(f'`{op}`' for op in summary['untested_operations'])}."]
    out += ["", "## Requests per operation", "", "| operation | requests | statuses |", "|---|---:|---|"]
    for label, counts in summary["operations"].items():
        statuses = ", ".join(f"{k}: {v}" for k, v in counts.items() if k != "requests")
        out.append(f"| `{label}` | {counts.get('requests', 0)} | {statuses} |")
    out += ["", "## Failures by check and operation", ""]
    if not summary["failures"]:
        out += ["None.", ""]
    for f in summary["failures"]:
        out += [f"### {f['check']}: `{f['operation']}` ({f['count']})", ""]
        for c in f["causes"]:
            statuses = ", ".join(f"{k} x{v}" for k, v in c["statuses"].items())
            out += [f"- **{c['title']}** x{c['count']} (statuses: {statuses or '-'})", ""]
            if c["message"].strip():
                out += [_md_code(c["message"][:1200]), ""]
            ex = c.get("minimal_request")
            if ex:
                answered = f"`{ex['response'][:400]}`" if ex.get("response") else "(no body)"
                out += ["  Minimal request:", "", _md_code(ex["curl"]), "", f"  Answered {ex['status']}: {answered}", ""]
                if ex.get("writes_before"):
                    out += ["  The session's last successful writes to that world before it (a 5xx may depend on the state they left):", ""]
                    out += [_md_code("\n".join(ex["writes_before"])), ""]
    if summary["errors"]:
        out += ["## Request errors", ""]
        for e in summary["errors"]:
            out += [f"- `{e['operation']}` x{e['count']}: {e['title']}", "", _md_code(e["message"][:1200]), ""]
    if summary["server_exceptions"]:
        out += ["## Exceptions in the server log", "", "| count | exception | where |", "|---:|---|---|"]
        for g in summary["server_exceptions"]:
            out.append(f"| {g['count']} | `{g['exception'][:200]}` | `{g['where'][:200]}` |")
        out.append("")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0], epilog="See the module docstring (bench/fuzz/run.py) for what is run and checked.")
    p.add_argument("--requests", type=int, default=None, metavar="N", help="total request budget over all sessions (fuzzing repeats until it is spent)")
    p.add_argument(
        "--max-examples",
        type=int,
        default=None,
        metavar="N",
        help="Schemathesis test cases per operation and phase (default: 20 without --requests, else Schemathesis's own)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of session 0; session i uses seed + i (default 0)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="parallel Schemathesis sessions, one partner each (default 2)")
    p.add_argument("--max-seconds", type=float, default=3600.0, metavar="S", help="hard cap on the whole run, setup included (default 3600)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fuzz", metavar="DIR", help="where summary.json, summary.md and server.log go")
    p.add_argument("--rate-limit", default="19/s", help="per-session request rate (Schemathesis format, e.g. 19/s; 'none': unpaced)")
    p.add_argument("--request-timeout", type=float, default=60.0, metavar="S", help="per-request timeout in seconds (default 60)")
    p.add_argument("--time-limit", type=float, default=1.0, metavar="S", help="the server's planning time limit (serve --time-limit, default 1)")
    p.add_argument("--phases", default=",".join(PHASES), help=f"Schemathesis phases (default {','.join(PHASES)})")
    p.add_argument("--known-ids", type=float, default=0.5, metavar="P", help="probability that a path parameter is drawn from the ids that exist (default 0.5)")
    p.add_argument("--max-steps", type=int, default=10, help="stateful testing: most steps in one scenario (default 10)")
    p.add_argument("--server-arg", action="append", default=[], metavar="ARG", help="an extra argument for 'serve' (repeatable)")
    p.add_argument("--keep-raw", action="store_true", help="keep the Schemathesis NDJSON event logs in <out>/raw")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


class _Terminate(Exception):
    pass


def _on_signal(signum: int, _frame: Any) -> None:
    raise _Terminate(signal.Signals(signum).name)


def _install_signals(handlers: dict[signal.Signals, Any]) -> dict[signal.Signals, Any]:
    """Install signal handlers (only the main thread may); returns the ones they replace."""
    old: dict[signal.Signals, Any] = {}
    for sig, handler in handlers.items():
        try:
            old[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread
            continue
    return old


def run(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    """Run the fuzz campaign; returns the exit status and the summary (also written to ``args.out``)."""
    import schemathesis  # noqa: F401  (fail early, before starting anything, when it is not installed)

    started, t0 = time.time(), time.monotonic()
    deadline = t0 + args.max_seconds
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="copilot-fuzz-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
    env.update({"LOGISTICS_COPILOT_HOME": str(workdir / "home"), "PYTHONUNBUFFERED": "1"})
    env.pop("LOGISTICS_COPILOT_DB_URL", None)
    server = Server(
        db_url=f"sqlite:///{(workdir / 'api.db').as_posix()}", log_path=out / "server.log", time_limit_s=args.time_limit, extra_args=list(args.server_arg), env=env
    )
    workers = max(1, args.workers)
    partners_n = max(2, workers)
    sessions: list[Session] = []
    documented: list[str] = []
    agg = Aggregate(Secrets({}))
    harness_error: str | None = None
    interrupted = False
    setup_s = 0.0
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    rate_limit = None if str(args.rate_limit).lower() in ("none", "0", "") else args.rate_limit

    def say(msg: str) -> None:
        if not args.quiet:
            print(f"[fuzz {time.monotonic() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True)

    old_handlers = _install_signals({signal.SIGINT: signal.default_int_handler, signal.SIGTERM: _on_signal, signal.SIGHUP: _on_signal})
    try:
        say(f"starting the server ({shlex.join(server.command()[1:])})")
        server.start()
        say(f"server on {server.url}; seeding {partners_n} partners")
        documented = documented_operations(server.url)
        partners = [seed_partner(server, partner_name(i)) for i in range(partners_n)]
        agg.secrets = Secrets({p.name: p.key for p in partners})
        all_worlds = sorted({w for p in partners for w in p.worlds})
        all_plans = sorted({i for p in partners for i in p.plan_ids})
        config = session_config(
            all_worlds=all_worlds,
            all_plans=all_plans,
            probability=args.known_ids,
            request_timeout_s=args.request_timeout,
            rate_limit=rate_limit,
            max_steps=args.max_steps,
        )
        config_path = workdir / "schemathesis.toml"
        config_path.write_text(config, encoding="utf-8")
        (out / "schemathesis.toml").write_text(config, encoding="utf-8")
        setup_s = time.monotonic() - t0
        per_session = math.ceil(args.requests / workers) if args.requests else None
        for i in range(workers):
            partner = partners[i]
            others = [p for p in partners if p is not partner]
            sdir = workdir / f"session-{i}"
            sdir.mkdir()
            senv = dict(env)
            senv.update(
                {
                    "FUZZ_FOREIGN_WORLDS": ",".join(w for p in others for w in p.worlds if w != SHARED_WORLD),
                    "FUZZ_FOREIGN_PARTNERS": ",".join(p.name for p in others),
                    "FUZZ_FOREIGN_PLANS": ",".join(str(i) for p in others for i in p.plan_ids),
                    "FUZZ_SESSION": f"s{i}",
                }
            )
            sessions.append(Session(index=i, partner=partner, budget=per_session, seed=args.seed + i, workdir=sdir, env=senv))

        def launch(s: Session) -> None:
            remaining = int(deadline - time.monotonic() - 15)
            rphases = phases if s.rounds == 0 else [p for p in phases if p in ("fuzzing", "stateful")] or phases
            cmd = session_command(
                schema_url=f"{server.url}/openapi.json", session=s, config_path=config_path, max_examples=args.max_examples, max_time_s=remaining, phases=rphases
            )
            log = (s.workdir / f"cli-{s.rounds}.log").open("wb")
            try:
                s.proc = subprocess.Popen(
                    cmd, cwd=s.workdir, env=s.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_child_signals
                )
            finally:
                log.close()
            s.rounds += 1
            s.stopping = False

        for s in sessions:
            launch(s)
        say(
            f"{workers} sessions running; budget {args.requests or '-'} requests, {args.max_examples or 'default'} examples per operation, until {args.max_seconds:.0f} s"
        )
        last_note = 0.0
        while True:
            now = time.monotonic()
            for s in sessions:
                if s.done:
                    continue
                agg.read_new(s.ndjson, s.index)
                sent = agg.by_session.get(s.index, 0)
                assert s.proc is not None
                if s.proc.poll() is not None:
                    agg.read_new(s.ndjson, s.index)
                    s.exit_codes.append(s.proc.returncode)
                    more = s.budget is not None and agg.by_session.get(s.index, 0) < s.budget and not s.stopping and deadline - now > 30
                    if more:
                        say(f"session {s.index} ({s.partner.name}) finished round {s.rounds} at {sent} requests; another round")
                        launch(s)
                    else:
                        s.done = True
                    continue
                over_budget = s.budget is not None and sent >= s.budget
                if (over_budget or now > deadline - 10) and not s.stopping:
                    s.stopping, s.stop_at = True, now
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(s.proc.pid, signal.SIGINT)
                elif s.stopping and now - s.stop_at > 30:
                    _stop_process(s.proc, signal.SIGTERM, 5.0)
            if all(s.done for s in sessions):
                break
            if now - last_note > 15:
                last_note = now
                per = ", ".join(f"{s.partner.name}: {agg.by_session.get(s.index, 0)}" for s in sessions)
                failed = sum(v.count for g in agg.failures.values() for v in g.values())
                say(f"{agg.requests} requests ({per}), {failed} failed checks")
            time.sleep(0.5)
    except (KeyboardInterrupt, _Terminate) as exc:
        interrupted = True
        say(f"interrupted ({type(exc).__name__} {exc}); stopping")
    except HarnessError as exc:
        harness_error = str(exc)
        say(f"harness error: {exc}")
    finally:
        # No second Ctrl-C may cut the cleanup short: the sessions get SIGINT (they write their reports), the server SIGTERM.
        _install_signals({signal.SIGINT: signal.SIG_IGN, signal.SIGTERM: signal.SIG_IGN, signal.SIGHUP: signal.SIG_IGN})
        try:
            _stop_processes([s.proc for s in sessions if s.proc is not None], signal.SIGINT, 20.0)
            for s in sessions:
                if s.ndjson_paths:
                    agg.read_new(s.ndjson, s.index)
        finally:
            server.stop()
            _install_signals(old_handlers)
    wall_s = time.monotonic() - t0
    from schemathesis import __version__ as st_version

    exceptions = server_exceptions(server.log_path)
    summary = build_summary(
        documented=documented,
        args=args,
        agg=agg,
        sessions=sessions,
        server=server,
        exceptions=exceptions,
        started=started,
        wall_s=wall_s,
        setup_s=setup_s,
        harness_error=harness_error,
        interrupted=interrupted,
        schemathesis_version=st_version,
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "summary.md").write_text(render_markdown(summary), encoding="utf-8")
    for s in sessions:
        for i, _ in enumerate(s.ndjson_paths):
            log = s.workdir / f"cli-{i}.log"
            if log.exists():
                (out / f"schemathesis-{s.partner.name}-{i}.log").write_text(agg.secrets(log.read_text(encoding="utf-8", errors="replace")), encoding="utf-8")
    if args.keep_raw:
        raw = out / "raw"
        raw.mkdir(exist_ok=True)
        for s in sessions:
            for p in s.ndjson_paths:
                if p.exists():
                    shutil.copy(p, raw / f"{s.partner.name}-{p.name}")
    shutil.rmtree(workdir, ignore_errors=True)
    say(f"{agg.requests} requests in {wall_s:.0f} s; {'PASS' if summary['ok'] else 'FAIL'}; {out / 'summary.md'}")
    code = 2 if harness_error else (0 if summary["ok"] and not interrupted else 1)
    return code, summary


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.requests is None and args.max_examples is None:
        args.max_examples = 20
    code, _ = run(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
