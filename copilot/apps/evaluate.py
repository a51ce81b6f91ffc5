"""The dispatcher evaluation: ``logistics-copilot eval TASKS --worlds DIR --report OUT.json``.

Implements ``../shared/eval/README.md``. For every task (and every repeat):

1. a fresh store: a SQLite file in a new temporary directory, migrated, with the task's world imported
   from ``DIR/<world>``;
2. the ``setup`` steps through the project's own non-LLM tools: ``{"do": "plan"}`` plans the day with
   the default :class:`~tools.planning.PlanSettings` (the defaults of ``logistics-copilot plan``) via
   :func:`tools.lifecycle.plan_day` and commits that draft with :func:`tools.lifecycle.approve_plan`;
   ``{"do": "clock", "at": T}`` is :func:`tools.lifecycle.set_clock`;
3. a snapshot of the store (world, clock, every plan, the committed one);
4. the ``turns``, one after another in one conversation thread of a new agent made by the agent
   factory for this run's :class:`~tools.context.ToolContext`;
5. every ``expect`` check, evaluated from the store (see :mod:`copilot.apps.eval_checks`).

A crash (in the setup, the agent or a check) fails that run, is recorded with its traceback, and the
evaluation goes on. The report is rewritten atomically after every task, so an interrupted evaluation
keeps what it has done. Nothing here knows task ids, world names or task wording: tasks are judged
only by their checks.

Report (JSON)::

    {"model", "hardware": {"cpu_count", "cpu_model", "platform", ...}, "threads", "repeat",
     "pass_rate",          # passed runs / runs
     "pass_rate_by_tag",   # the same per tag
     "pass_hat_k",         # k = repeat: share of tasks that pass in all k runs
     "turn_wall_s": {"median", "p95", "count"},
     "totals": {...}, "complete", "tasks_total", "tasks_done", "started_at", "finished_at",
     "tasks": [{"id", "world", "tags", "passed", "runs_passed",
                "runs": [{"run", "passed", "checks": [{"check", "params", "passed", "detail"}],
                          "answer", "answers", "tool_calls", "awaiting_approval",
                          "prompt_tokens", "completion_tokens", "cpu_s", "wall_s", "turn_wall_s",
                          "setup_s", "thread_id", "phase_s"?, "error"?}]}]}

``wall_s`` and ``cpu_s`` of a run cover its turns (the agent's work), not the setup (``setup_s``) or
the checks; ``cpu_s`` is the process's CPU time, every thread included. ``phase_s`` splits the turns'
seconds into ``prefill`` (the model evaluating prompts), ``decode`` (the model generating, grammar
sampling included) and ``tools`` (tool calls, planning, the store), when the agent reports them.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import statistics
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.markup import escape

from copilot.apps.eval_checks import CheckState, evaluate_check, take_snapshot, validate_check
from copilot.apps.wiring import make_deps, make_forecaster
from copilot.core.domain import World
from copilot.core.errors import InputError
from copilot.core.ports import Forecaster
from copilot.core.units import parse_time
from tools.context import ToolContext
from tools.lifecycle import ClockRequest, PlanRef, approve_plan, plan_day, set_clock
from tools.planning import PlanningDeps, PlanSettings
from tools.sql import SqlStore
from tools.world_io import read_world

# --------------------------------------------------------------------------------------------------
# The agent, as the evaluator sees it
# --------------------------------------------------------------------------------------------------


class TurnResult(Protocol):
    """What one conversation turn returns."""

    answer: str
    tool_calls: list[dict[str, object]]  # each {"tool": str, "args": dict, "ok": bool, "error": str | None}
    prompt_tokens: int
    completion_tokens: int
    awaiting_approval: bool


class Agent(Protocol):
    """A conversational agent bound to one store; ``thread_id`` names the conversation.

    An agent may also have a ``close()`` method; it is called after the run's last turn.
    """

    def turn(self, thread_id: str, text: str) -> TurnResult:
        """Answer one user message in the conversation ``thread_id``."""
        ...


#: Called once per task run with that run's tool context; the model is loaded once outside and reused.
AgentFactory = Callable[[ToolContext], Agent]


# --------------------------------------------------------------------------------------------------
# Task files
# --------------------------------------------------------------------------------------------------

SETUP_STEPS = ("plan", "clock")
_TASK_KEYS = ("id", "world", "setup", "turns", "expect", "tags")
_REQUIRED_KEYS = ("id", "world", "turns", "expect")


@dataclass(frozen=True, slots=True)
class SetupStep:
    """One setup step: ``plan`` (plan the day and commit it) or ``clock`` (set the clock to ``at``)."""

    do: str
    at: str | None = None


@dataclass(frozen=True, slots=True)
class Task:
    """One evaluation task as read from a task file."""

    id: str
    world: str
    turns: tuple[str, ...]
    expect: tuple[Mapping[str, object], ...]
    setup: tuple[SetupStep, ...] = ()
    tags: tuple[str, ...] = ()
    line: int = 0


class TaskFileError(InputError):
    """A task file was rejected; ``problems`` lists every problem with its file and line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:30])
        more = len(self.problems) - 30
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"task file {source} rejected ({len(self.problems)} problem(s)):\n{shown}{tail}")


def known_worlds(worlds_dir: Path) -> list[str]:
    """Sub-directories of ``worlds_dir`` that hold a world (a ``world.json`` or an ``orders.csv``)."""
    if not worlds_dir.is_dir():
        return []
    return sorted(p.name for p in worlds_dir.iterdir() if p.is_dir() and ((p / "world.json").exists() or (p / "orders.csv").exists()))


def _setup_problems(steps: object) -> tuple[list[SetupStep], list[str]]:
    if not isinstance(steps, list):
        return [], ['\'setup\' must be a list of steps like {"do": "plan"}']
    out: list[SetupStep] = []
    problems: list[str] = []
    for k, step in enumerate(steps, 1):
        where = f"setup step {k}"
        if not isinstance(step, dict) or not isinstance(step.get("do"), str):
            problems.append(f'{where}: must be an object with a "do" name, e.g. {{"do": "plan"}}')
            continue
        do = step["do"]
        if do not in SETUP_STEPS:
            problems.append(f"{where}: unknown setup step {do!r}; known steps: {', '.join(SETUP_STEPS)}")
            continue
        allowed = {"do"} | ({"at"} if do == "clock" else set())
        extra = sorted(set(step) - allowed)
        if extra:
            problems.append(f"{where} ({do}): unknown parameter(s) {', '.join(map(repr, extra))}")
        at = step.get("at")
        if do == "clock":
            if not isinstance(at, str):
                problems.append(f'{where} (clock): needs "at", an ISO 8601 time with offset like 2022-05-01T10:30:00+08:00')
                continue
            try:
                parse_time(at)
            except ValueError as exc:
                problems.append(f"{where} (clock): {exc}")
                continue
        out.append(SetupStep(do, at if do == "clock" else None))
    return out, problems


def _task_problems(obj: object, worlds: list[str] | None, worlds_dir: Path | None) -> tuple[Task | None, list[str]]:
    if not isinstance(obj, dict):
        return None, ["must be a JSON object with id, world, setup, turns, expect and tags"]
    problems = [f"missing {key!r}" for key in _REQUIRED_KEYS if key not in obj]
    extra = sorted(set(obj) - set(_TASK_KEYS))
    if extra:
        problems.append(f"unknown key(s) {', '.join(map(repr, extra))}; a task has {', '.join(_TASK_KEYS)}")
    tid, world, turns, expect, tags = obj.get("id"), obj.get("world"), obj.get("turns"), obj.get("expect"), obj.get("tags", [])
    if "id" in obj and not (isinstance(tid, str) and tid.strip()):
        problems.append("'id' must be a non-empty text")
    if "world" in obj:
        if not (isinstance(world, str) and world.strip()):
            problems.append("'world' must be a non-empty text (a directory name under --worlds)")
        elif worlds is not None and world not in worlds:
            where = f" in {worlds_dir}" if worlds_dir is not None else ""
            problems.append(f"unknown world {world!r}{where}; known worlds: {', '.join(worlds) or 'none'}")
    if "turns" in obj and not (isinstance(turns, list) and turns and all(isinstance(t, str) and t.strip() for t in turns)):
        problems.append("'turns' must be a non-empty list of user messages (texts)")
    if not (isinstance(tags, list) and all(isinstance(t, str) and t.strip() for t in tags)):
        problems.append("'tags' must be a list of texts")
    steps, setup_problems = _setup_problems(obj.get("setup", []))
    problems += setup_problems
    checks: list[Mapping[str, object]] = []
    if "expect" in obj:
        if not isinstance(expect, list) or not expect:
            problems.append('\'expect\' must be a non-empty list of checks like {"check": "plan_exists"}')
        else:
            for k, spec in enumerate(expect, 1):
                found = validate_check(spec)
                problems += [f"check {k}: {p}" for p in found]
                if not found:
                    assert isinstance(spec, dict)
                    checks.append(dict(spec))
    if problems:
        return None, problems
    assert isinstance(tid, str) and isinstance(world, str) and isinstance(turns, list) and isinstance(tags, list)
    return Task(id=tid, world=world, turns=tuple(turns), expect=tuple(checks), setup=tuple(steps), tags=tuple(tags)), []


def parse_tasks(text: str, source: str = "<tasks>", worlds_dir: Path | None = None) -> list[Task]:
    """Tasks from JSON Lines text (blank lines are skipped); every problem is reported at once.

    With ``worlds_dir``, each task's world must be a world directory in it. Raises :class:`TaskFileError`.
    """
    worlds = known_worlds(worlds_dir) if worlds_dir is not None else None
    problems: list[str] = []
    if worlds_dir is not None and not worlds_dir.is_dir():
        problems.append(f"the worlds directory {worlds_dir} does not exist")
        worlds = None
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"{source} line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        name = obj.get("id") if isinstance(obj, dict) else None
        label = f"{source} line {lineno}" + (f" (task {name!r})" if isinstance(name, str) else "")
        task, found = _task_problems(obj, worlds, worlds_dir)
        problems += [f"{label}: {p}" for p in found]
        if task is not None:
            if task.id in seen:
                problems.append(f"{label}: duplicate task id {task.id!r} (first on line {seen[task.id]})")
                continue
            seen[task.id] = lineno
            tasks.append(Task(task.id, task.world, task.turns, task.expect, task.setup, task.tags, lineno))
    if not tasks and not problems:
        problems.append(f"{source}: no tasks (expected one JSON object a line)")
    if problems:
        raise TaskFileError(source, problems)
    return tasks


def load_tasks(path: Path, worlds_dir: Path | None = None) -> list[Task]:
    """Read a task file (JSON Lines); see :func:`parse_tasks`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no such task file: {path}") from None
    except UnicodeDecodeError as exc:
        raise TaskFileError(str(path), [f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    return parse_tasks(text, str(path), worlds_dir)


def select_tasks(tasks: Sequence[Task], ids: Iterable[str] | None = None, tags: Iterable[str] | None = None) -> list[Task]:
    """The tasks with the given ids (in file order), or those with at least one of the given tags."""
    out = list(tasks)
    want_ids = [i.strip() for i in ids or () if i.strip()]
    want_tags = {t.strip() for t in tags or () if t.strip()}
    if want_ids:
        known = {t.id for t in tasks}
        unknown = [i for i in want_ids if i not in known]
        if unknown:
            raise InputError(f"unknown task id(s) {', '.join(unknown)}; the file has {len(known)} tasks, e.g. {', '.join(sorted(known)[:6])}")
        out = [t for t in out if t.id in set(want_ids)]
    if want_tags:
        out = [t for t in out if want_tags & set(t.tags)]
        if not out:
            all_tags = sorted({tag for t in tasks for tag in t.tags})
            raise InputError(f"no task has tag(s) {', '.join(sorted(want_tags))}; known tags: {', '.join(all_tags)}")
    return out


# --------------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------------


def run_setup_step(ctx: ToolContext, step: SetupStep) -> None:
    """One setup step through the non-LLM tools."""
    if step.do == "plan":
        draft = plan_day(ctx)
        approve_plan(ctx, PlanRef(plan_id=draft.plan_id))
    elif step.do == "clock":
        assert step.at is not None
        set_clock(ctx, ClockRequest(at=step.at))
    else:  # pragma: no cover - validated when the task file is read
        raise InputError(f"unknown setup step {step.do!r}")


def _jsonable(value: object) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _error_text(stage: str, exc: BaseException) -> str:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"{stage}: {type(exc).__name__}: {exc}\n{tb[-3000:]}"


@dataclass
class _WorldCache:
    worlds_dir: Path
    worlds: dict[str, World] = field(default_factory=dict)

    def get(self, name: str) -> World:
        if name not in self.worlds:
            self.worlds[name] = read_world(self.worlds_dir / name)
        return self.worlds[name]


@functools.cache
def _forecaster() -> Forecaster:
    """The project's own forecaster (one per process: the same one answers the agent and the checks)."""
    return make_forecaster()


def run_task(
    task: Task,
    worlds_dir: Path,
    agent_factory: AgentFactory,
    *,
    run_index: int = 1,
    deps: PlanningDeps | None = None,
    setup_settings: PlanSettings | None = None,
    agent_settings: PlanSettings | None = None,
    worlds: _WorldCache | None = None,
) -> dict[str, Any]:
    """One run of one task in a fresh store; returns the run's record for the report (never raises,
    except on KeyboardInterrupt)."""
    deps = deps or make_deps()
    forecaster = _forecaster()
    worlds = worlds or _WorldCache(worlds_dir)
    rec: dict[str, Any] = {
        "run": run_index,
        "passed": False,
        "checks": [],
        "answer": "",
        "answers": [],
        "tool_calls": [],
        "awaiting_approval": [],
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cpu_s": 0.0,
        "wall_s": 0.0,
        "turn_wall_s": [],
        "setup_s": 0.0,
    }
    with tempfile.TemporaryDirectory(prefix="lc-eval-") as tmp:
        store = SqlStore(f"sqlite:///{Path(tmp) / 'eval.sqlite3'}", actor="eval")
        try:
            t0 = time.perf_counter()
            try:
                store.upgrade()
                world = worlds.get(task.world)
                store.import_world(world, actor="eval-setup")
                setup_ctx = ToolContext(store, deps, world.name, settings=setup_settings or PlanSettings(), actor="eval-setup", forecaster=forecaster)
                for step in task.setup:
                    run_setup_step(setup_ctx, step)
                before = take_snapshot(store, world.name)
            except Exception as exc:
                rec["error"] = _error_text("setup failed", exc)
                return rec
            finally:
                rec["setup_s"] = round(time.perf_counter() - t0, 3)
            agent_ctx = ToolContext(store, deps, world.name, forecaster=forecaster)
            if agent_settings is not None:
                agent_ctx.settings = agent_settings
            rec["thread_id"] = f"eval-{run_index}-{uuid.uuid4().hex[:12]}"
            _converse(task, agent_factory, agent_ctx, rec, rec["thread_id"])
            eval_ctx = ToolContext(store, deps, world.name, actor="evaluator", forecaster=forecaster)
            try:
                state = CheckState(eval_ctx, before, take_snapshot(store, world.name), list(rec["answers"]))
                rec["checks"] = [evaluate_check(spec, state) for spec in task.expect]
            except Exception as exc:
                rec.setdefault("error", _error_text("reading the store after the turns failed", exc))
            rec["passed"] = "error" not in rec and bool(rec["checks"]) and all(c["passed"] for c in rec["checks"])
            return rec
        finally:
            store.close()


def _converse(task: Task, agent_factory: AgentFactory, ctx: ToolContext, rec: dict[str, Any], thread_id: str) -> None:
    """Send the task's turns to a new agent in one thread, filling ``rec``; a crash is recorded in it."""
    agent: Agent | None = None
    stage = "making the agent failed"
    try:
        agent = agent_factory(ctx)
        for k, text in enumerate(task.turns, 1):
            stage = f"turn {k} failed"
            c0, w0 = time.process_time(), time.perf_counter()
            result = agent.turn(thread_id, text)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            answer = str(getattr(result, "answer", "") or "")
            rec["answers"].append(answer)
            rec["answer"] = answer
            rec["turn_wall_s"].append(round(wall, 3))
            rec["wall_s"] = round(rec["wall_s"] + wall, 3)
            rec["cpu_s"] = round(rec["cpu_s"] + cpu, 3)
            rec["prompt_tokens"] += int(getattr(result, "prompt_tokens", 0) or 0)
            rec["completion_tokens"] += int(getattr(result, "completion_tokens", 0) or 0)
            rec["awaiting_approval"].append(bool(getattr(result, "awaiting_approval", False)))
            for phase, seconds in (getattr(result, "phases", None) or {}).items():
                rec.setdefault("phase_s", {})[phase] = round(rec.get("phase_s", {}).get(phase, 0.0) + float(seconds), 3)
            for call in getattr(result, "tool_calls", None) or []:
                rec["tool_calls"].append({**_jsonable(call), "turn": k} if isinstance(call, dict) else {"call": _jsonable(call), "turn": k})
    except Exception as exc:
        rec["error"] = _error_text(stage, exc)
    finally:
        close = getattr(agent, "close", None)
        if callable(close):
            try:
                close()
            except Exception as exc:
                rec.setdefault("error", _error_text("closing the agent failed", exc))


# --------------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """A run starts (``passed`` None) or ends; with the running totals over the runs done so far."""

    task_index: int
    task_count: int
    task_id: str
    run_index: int
    repeat: int
    turns: int
    runs_done: int
    runs_passed: int
    passed: bool | None = None
    wall_s: float | None = None
    failed_checks: tuple[str, ...] = ()
    error: str | None = None


ProgressCallback = Callable[[ProgressEvent], None]

_progress_console = Console(stderr=True, highlight=False)


def print_progress(event: ProgressEvent) -> None:
    """Progress on stderr: which task and run, its result, and the running pass rate."""
    width = len(str(event.task_count))
    head = escape(f"[{event.task_index:>{width}}/{event.task_count}] {event.task_id}") + (f" run {event.run_index}/{event.repeat}" if event.repeat > 1 else "")
    if event.passed is None:
        _progress_console.print(f"[dim]{head}: {event.turns} turn(s)...[/dim]")
        return
    rate = event.runs_passed / event.runs_done if event.runs_done else 0.0
    verdict = "[green]PASS[/green]" if event.passed else "[red]FAIL[/red]"
    why = ""
    if event.error:
        why = escape(f" - {event.error.splitlines()[0]}")
    elif event.failed_checks:
        why = escape(f" - failed: {', '.join(event.failed_checks)}")
    _progress_console.print(
        f"{head}: {verdict} in {event.wall_s or 0:.1f} s{why}  [dim](running pass rate {event.runs_passed}/{event.runs_done} = {rate:.0%})[/dim]",
        markup=True,
    )


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict[str, object]:
    """The machine the evaluation ran on."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _rate(passed: int, total: int) -> float | None:
    return round(passed / total, 4) if total else None


def build_report(
    task_records: Sequence[Mapping[str, Any]],
    *,
    model: str,
    repeat: int,
    threads: int | None = None,
    tasks_total: int | None = None,
    extra: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """The report over the task records done so far (see the module docstring for its keys)."""
    runs = [r for t in task_records for r in t["runs"]]
    by_tag: dict[str, list[bool]] = {}
    for t in task_records:
        for tag in t["tags"]:
            by_tag.setdefault(tag, []).extend(bool(r["passed"]) for r in t["runs"])
    turns = [float(w) for r in runs for w in r["turn_wall_s"]]
    done = len(task_records)
    total = tasks_total if tasks_total is not None else done
    report: dict[str, Any] = {
        "model": model,
        "hardware": hardware(),
        "threads": threads,
        "repeat": repeat,
        "pass_rate": _rate(sum(bool(r["passed"]) for r in runs), len(runs)),
        "pass_rate_by_tag": {tag: _rate(sum(v), len(v)) for tag, v in sorted(by_tag.items())},
        "pass_hat_k": _rate(sum(bool(t["passed"]) for t in task_records), done),
        "turn_wall_s": {
            "median": round(statistics.median(turns), 3) if turns else None,
            "p95": round(p, 3) if (p := percentile(turns, 95)) is not None else None,
            "count": len(turns),
        },
        "totals": {
            "tasks": done,
            "tasks_passed": sum(bool(t["passed"]) for t in task_records),
            "runs": len(runs),
            "runs_passed": sum(bool(r["passed"]) for r in runs),
            "runs_crashed": sum("error" in r for r in runs),
            "prompt_tokens": sum(int(r["prompt_tokens"]) for r in runs),
            "completion_tokens": sum(int(r["completion_tokens"]) for r in runs),
            "cpu_s": round(sum(float(r["cpu_s"]) for r in runs), 3),
            "wall_s": round(sum(float(r["wall_s"]) for r in runs), 3),
            "phase_s": {ph: round(sum(float((r.get("phase_s") or {}).get(ph, 0.0)) for r in runs), 3) for ph in ("prefill", "decode", "tools")},
        },
        "complete": done >= total,
        "tasks_total": total,
        "tasks_done": done,
    }
    report.update(extra or {})
    report["tasks"] = list(task_records)
    return report


def write_report(path: Path, report: Mapping[str, Any]) -> None:
    """Write the report as JSON atomically (a temporary file in the same directory, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(report, f, ensure_ascii=False, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_eval(
    tasks: Sequence[Task],
    worlds_dir: Path,
    agent_factory: AgentFactory,
    repeat: int = 1,
    progress: ProgressCallback | None = print_progress,
    model_name: str = "",
    *,
    threads: int | None = None,
    report_path: Path | None = None,
    setup_settings: PlanSettings | None = None,
    agent_settings: PlanSettings | None = None,
    deps: PlanningDeps | None = None,
    meta: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """Run every task ``repeat`` times (task by task) and return the report.

    ``setup_settings``: planning settings of the ``plan`` setup step (default: :class:`PlanSettings`'s
    defaults, those of ``logistics-copilot plan``). ``agent_settings``: the settings in the agent's tool
    context (default: :class:`ToolContext`'s). With ``report_path`` the report is written atomically
    after every task. ``progress`` gets a :class:`ProgressEvent` when each run starts and ends (None:
    silent). ``meta`` adds top-level keys to the report.
    """
    if repeat < 1:
        raise InputError(f"repeat must be 1 or more, got {repeat}")
    deps = deps or make_deps()
    worlds = _WorldCache(worlds_dir)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    setup = setup_settings or PlanSettings()
    extra: dict[str, object] = {
        "started_at": started,
        "finished_at": None,
        "setup_plan_settings": asdict(setup),
        "agent_plan_settings": asdict(agent_settings) if agent_settings is not None else None,
        **(meta or {}),
    }
    records: list[dict[str, Any]] = []
    runs_done = runs_passed = 0

    def report() -> dict[str, Any]:
        return build_report(records, model=model_name, repeat=repeat, threads=threads, tasks_total=len(tasks), extra=extra)

    for i, task in enumerate(tasks, 1):
        runs: list[dict[str, Any]] = []
        for r in range(1, repeat + 1):
            if progress:
                progress(ProgressEvent(i, len(tasks), task.id, r, repeat, len(task.turns), runs_done, runs_passed))
            w0 = time.perf_counter()
            rec = run_task(task, worlds_dir, agent_factory, run_index=r, deps=deps, setup_settings=setup, agent_settings=agent_settings, worlds=worlds)
            runs.append(rec)
            runs_done += 1
            runs_passed += bool(rec["passed"])
            if progress:
                failed = tuple(c["check"] for c in rec["checks"] if not c["passed"])
                progress(
                    ProgressEvent(
                        i, len(tasks), task.id, r, repeat, len(task.turns), runs_done, runs_passed,
                        passed=bool(rec["passed"]), wall_s=time.perf_counter() - w0, failed_checks=failed, error=rec.get("error"),
                    )
                )  # fmt: skip
        records.append(
            {
                "id": task.id,
                "world": task.world,
                "tags": list(task.tags),
                "passed": all(r["passed"] for r in runs),
                "runs_passed": sum(bool(r["passed"]) for r in runs),
                "runs": runs,
            }
        )
        if report_path is not None:
            write_report(report_path, report())
    extra["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    final = report()
    if report_path is not None:
        write_report(report_path, final)
    return final


# --------------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------------


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def cmd_eval(args: argparse.Namespace) -> int:
    """``logistics-copilot eval``: read and check the tasks, load the model once, run, write the report."""
    if args.repeat < 1:
        raise InputError(f"--repeat must be 1 or more, got {args.repeat}")
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be 1 or more, got {args.threads}")
    if not args.worlds.is_dir():
        raise InputError(f"--worlds {args.worlds} is not a directory (expected one folder per world, e.g. ../shared/eval/worlds)")
    tasks = select_tasks(load_tasks(args.tasks, args.worlds), ids=_split(args.only_tasks), tags=_split(args.tags))
    from copilot.apps.agent import make_agent_factory

    kwargs: dict[str, Any] = {"threads": args.threads}
    if args.model:
        kwargs["model"] = args.model
    factory = make_agent_factory(**kwargs)
    model_name = args.model or str(getattr(factory, "model_name", "") or "default")
    err = Console(stderr=True, highlight=False)
    err.print(f"evaluating {len(tasks)} task(s) x {args.repeat} run(s) with model {model_name} on {args.threads} thread(s); report: {args.report}")
    meta = {"tasks_file": str(args.tasks), "worlds_dir": str(args.worlds)}
    try:
        report = run_eval(tasks, args.worlds, factory, repeat=args.repeat, progress=print_progress, model_name=model_name, threads=args.threads,
                          report_path=args.report, meta=meta)  # fmt: skip
    except KeyboardInterrupt:
        err.print(f"interrupted: the tasks finished so far are in {args.report}")
        return 130
    turn = report["turn_wall_s"]

    def show(rate: float | None) -> str:
        return "n/a" if rate is None else f"{rate:.0%}"

    print(
        f"pass rate {show(report['pass_rate'])} ({report['totals']['runs_passed']}/{report['totals']['runs']} runs), "
        f"pass^{args.repeat} {show(report['pass_hat_k'])} ({report['totals']['tasks_passed']}/{report['totals']['tasks']} tasks), "
        f"turn wall time median {turn['median']} s, p95 {turn['p95']} s"
    )
    phases = report["totals"].get("phase_s") or {}
    if any(phases.values()):
        print("  seconds by phase: " + ", ".join(f"{k} {v:.0f}" for k, v in phases.items()))
    for tag, rate in report["pass_rate_by_tag"].items():
        print(f"  {tag:<14} {show(rate)}")
    print(f"report: {args.report}")
    return 0
