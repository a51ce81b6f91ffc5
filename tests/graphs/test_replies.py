"""Every reply the agent composes, rendered in both languages from real tool results: a Chinese reply has no
English words and an English reply no Chinese characters, apart from ids, times, dates, numbers and the
world's own data (customer and driver names, notes, skill names, forecast model names)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from copilot.apps.wiring import make_forecaster
from graphs import replies
from graphs.toolset import ACTIONS, Outcome, QueryArg
from solvers.auto import AutoSolver
from solvers.checker import PlanChecker
from tools import lifecycle
from tools.context import ToolContext
from tools.planning import PlanningDeps, PlanSettings
from tools.sql import SqlStore
from tools.world_io import read_world

DATA = Path(__file__).resolve().parents[1] / "data" / "worlds"
ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")


def _ctx(tmp_path: Path, name: str) -> ToolContext:
    store = SqlStore(f"sqlite:///{tmp_path / (name + '.sqlite3')}")
    store.upgrade()
    store.import_world(read_world(DATA / name))
    return ToolContext(store, PlanningDeps(AutoSolver(), PlanChecker()), name, settings=PlanSettings(time_limit_s=0.3, iterations=200), forecaster=make_forecaster())


def _run(ctx: ToolContext, name: str, **args: Any) -> Outcome:
    action = ACTIONS[name]
    parsed = action.args.model_validate(args) if action.args is not None else None
    assert action.run is not None
    return action.run(ctx, parsed)


def _data_words(ctx: ToolContext) -> set[str]:
    world = ctx.world()
    words: set[str] = set()
    for text in [*(o.customer for o in world.orders), *(o.notes for o in world.orders), *(v.driver for v in world.vehicles)]:
        words |= set(ENGLISH_WORD.findall(text))
    words |= {s for v in world.vehicles for s in v.skills} | {o.id for o in world.orders} | {v.id for v in world.vehicles}
    return words


def _outcomes(tmp_path: Path) -> list[tuple[Outcome, bool, set[str]]]:
    out: list[tuple[Outcome, bool, set[str]]] = []
    ctx = _ctx(tmp_path, "tiny")
    words = _data_words(ctx)
    first = _run(ctx, "plan")
    out.append((first, False, words))
    lifecycle.approve_plan(ctx, lifecycle.PlanRef(plan_id=first.draft_id))
    lifecycle.set_clock(ctx, lifecycle.ClockRequest(at="08:30"))
    for name, args in [
        ("kpis", {}),
        ("order_status", {"order_id": "O2"}),
        ("vehicle_route", {"vehicle_id": "V1"}),
        ("why_vehicle", {"order_id": "O1"}),
        ("notes", {}),
        ("move_cost", {"order_id": "O4", "vehicle_id": "V3"}),
        ("what_if", {"remove_vehicle": "V1"}),
        ("advise", {"lat": 30.43, "lng": 120.27, "demand": 1}),
        ("cancel_all", {"what": "orders"}),
    ]:
        out.append((_run(ctx, name, **args), False, words))
    ro = ctx.read_only()
    out.append((_run(ro, "breakdown", vehicle_id="V1"), True, words))
    out.append((_run(ro, "edit_order", order_id="O4", demand=2), True, words))
    for name, args in [
        ("breakdown", {"vehicle_id": "V3"}),
        ("delay", {"vehicle_id": "V1", "minutes": 20}),
        ("new_order", {"lat": 30.43, "lng": 120.27, "demand": 1, "tw_start": "14:00", "tw_end": "16:00"}),
        ("cancel_order", {"order_id": "O4"}),
        ("restore_order", {"order_id": "O4"}),
        ("change_window", {"order_id": "O4", "tw_start": "14:30", "tw_end": "16:00"}),
        ("pin", {"order_id": "O4", "vehicle_id": "V2"}),
        ("move", {"order_id": "O4", "vehicle_id": "V1"}),
        ("edit_order", {"order_id": "O1", "demand": 3, "priority": "high"}),
        ("edit_vehicle", {"vehicle_id": "V1", "shift_end": "16:30"}),
        ("undo", {"vehicle_id": "V1"}),
        ("draft_cost", {}),
        ("edit_order", {"order_id": "O3", "demand": 25}),  # more than any vehicle carries: it cannot be served
    ]:
        out.append((_run(ctx, name, **args), False, words))
    lifecycle.approve_plan(ctx, lifecycle.PlanRef(plan_id=out[-1][0].draft_id))
    out.append((_run(ctx, "unassigned"), False, words))
    jl = _ctx(tmp_path, "jilin-1001")
    jwords = _data_words(jl)
    fc = _run(jl, "forecast", region="31", days=7)
    out.append((fc, False, jwords | set(ENGLISH_WORD.findall(fc.data.model))))
    for spec in [
        {"source": "history", "metric": "sum", "group_by": "region", "order": "desc", "top_k": 1, "date_from": "2022-07-01", "date_to": "2022-07-31"},
        {"source": "history", "metric": "sum", "region": "129", "group_by": "date", "date_from": "2022-09-20", "date_to": "2022-09-26"},
        {"source": "history", "metric": "sum", "date_from": "2022-09-10", "date_to": "2022-09-10"},
        {
            "source": "history",
            "metric": "sum",
            "region": "31",
            "date_from": "2022-09-24",
            "date_to": "2022-09-30",
            "compare_from": "2022-09-17",
            "compare_to": "2022-09-23",
        },
    ]:
        out.append((ACTIONS["query"].run(jl, QueryArg.model_validate(spec)), False, jwords))  # type: ignore[misc]
    return out


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Outcome, bool, set[str]]]:
    return _outcomes(tmp_path_factory.mktemp("replies"))


def test_every_action_with_a_reply_is_covered(outcomes: list[tuple[Outcome, bool, set[str]]]) -> None:
    covered = {o.action for o, _, _ in outcomes}
    assert set(ACTIONS) - covered <= {"dispatch", "discard", "chat"}  # those are composed without a tool outcome (below)


def test_chinese_replies_have_no_english_words(outcomes: list[tuple[Outcome, bool, set[str]]]) -> None:
    for o, hypothetical, allowed in outcomes:
        text = replies.compose(o, "zh", hypothetical=hypothetical)
        stray = [w for w in ENGLISH_WORD.findall(text) if w not in allowed]
        assert not stray, f"{o.action}: {stray} in {text!r}"
    for text in (replies.chat_reply("zh"), replies.ask_offer("zh"), replies.approval_prompt("zh")):
        assert not [w for w in ENGLISH_WORD.findall(text) if w not in {"P546630", "HZ"}], text


def test_english_replies_have_no_chinese(outcomes: list[tuple[Outcome, bool, set[str]]]) -> None:
    for o, hypothetical, _ in outcomes:
        text = replies.compose(o, "en", hypothetical=hypothetical)
        assert not replies.CJK.search(text), f"{o.action}: {text!r}"
        assert text.strip()
    for text in (replies.chat_reply("en"), replies.ask_offer("en"), replies.approval_prompt("en")):
        assert not replies.CJK.search(text)


def test_unassigned_orders_are_grouped_by_cause_with_a_verified_fix(outcomes: list[tuple[Outcome, bool, set[str]]]) -> None:
    o = next(o for o, _, _ in outcomes if o.action == "unassigned")
    fixes = o.facts["fixes"]
    assert [g.orders for g in fixes.groups] == [["O3"]] and fixes.groups[0].cause == "capacity"
    en, zh = replies.compose(o, "en"), replies.compose(o, "zh")
    assert en.startswith("1 order(s) cannot be served. 1 (O3): their parcels exceed") and "more parcels of capacity" in en
    assert zh.startswith("1 单无法安排。1 单（O3）：件数超过车辆剩余容量") and "容量增加" in zh
    if fixes.groups[0].fix.verified:
        assert "verified by re-planning" in en and "已重新规划验证" in zh


def test_known_tool_messages_read_in_chinese() -> None:
    assert replies.error_reply("order O4 is already cancelled", "zh", "cancel_order") == "没能完成（取消订单）：订单 O4 已经取消"
    assert "nothing" not in replies.error_reply("this was asked as a question, so nothing is recorded (save_plan refused)", "zh")
