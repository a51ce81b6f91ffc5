"""Task files and worlds of the dispatcher evaluation: the agent as the evaluator sees it, the task models, reading and selecting tasks.

A task file is JSON Lines (``../shared/eval/README.md``): :func:`load_tasks` / :func:`parse_tasks` read it
into :class:`Task` objects and report every problem at once (:class:`TaskFileError`, each with its file and
line; each check is validated by :func:`copilot.apps.eval.checks.validate_check`); :func:`select_tasks`
picks tasks by id or tag. :class:`_WorldCache` reads each world folder once per evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from copilot.apps.eval.checks import validate_check
from copilot.core.domain import World
from copilot.core.errors import InputError
from copilot.core.units import parse_time
from tools.context import ToolContext
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
# Worlds
# --------------------------------------------------------------------------------------------------


@dataclass
class _WorldCache:
    worlds_dir: Path
    worlds: dict[str, World] = field(default_factory=dict)

    def get(self, name: str) -> World:
        if name not in self.worlds:
            self.worlds[name] = read_world(self.worlds_dir / name)
        return self.worlds[name]
