"""Running the dispatcher evaluation: one task run in a fresh store, repeats, progress, and the ``eval`` command.

:func:`run_task` makes a fresh store with the task's world, runs the ``setup`` steps through the non-LLM
tools, takes a snapshot, sends the turns to a new agent in one thread, and evaluates every check
(:func:`copilot.apps.eval.checks.evaluate_check`); :func:`run_eval` runs every task ``repeat`` times and
rewrites the report (:mod:`copilot.apps.eval.report`) after every task; :func:`cmd_eval` is
``logistics-copilot eval``.
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from copilot.apps.eval.checks import evaluate_check
from copilot.apps.eval.report import build_report, write_report
from copilot.apps.eval.state import CheckState, take_snapshot
from copilot.apps.eval.tasks import Agent, AgentFactory, SetupStep, Task, _WorldCache, load_tasks, select_tasks
from copilot.apps.wiring import make_deps, make_forecaster
from copilot.core.errors import InputError
from copilot.core.ports import Forecaster
from tools.context import ToolContext
from tools.lifecycle import ClockRequest, PlanRef, approve_plan, plan_day, set_clock
from tools.planning import PlanningDeps, PlanSettings
from tools.sql import SqlStore

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
