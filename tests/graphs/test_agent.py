"""Wiring of the dispatcher graph, driven by a scripted fake chat model (no real model here).

The fake model answers each call with the next scripted text and records the prompts it saw, so the
tests check what the graph does with a decision (approval interrupt and resume, invalid or ungrounded
arguments, grounding fallback of worded replies, restart from a checkpoint), not the model's quality.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes import ScriptedChat, act

from copilot.core.domain import PlanStatus
from copilot.core.errors import InputError
from graphs.agent import DispatcherGraph
from graphs.checkpoint import sqlite_checkpointer
from graphs.replies import grounded_numbers_ok, ids_kept, language
from solvers.auto import AutoSolver
from solvers.checker import PlanChecker
from tools.context import ToolContext
from tools.planning import PlanningDeps, PlanSettings
from tools.sql import SqlStore
from tools.world_io import read_world

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    store = SqlStore(f"sqlite:///{tmp_path / 'agent.sqlite3'}")
    store.upgrade()
    store.import_world(read_world(DATA / "worlds" / "tiny"))
    world = store.world_names()[0]
    return ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name=world, settings=PlanSettings(time_limit_s=0.3, iterations=200))


def graph(ctx: ToolContext, script: list[str], path: Path | str = ":memory:", **kw: Any) -> tuple[DispatcherGraph, ScriptedChat]:
    model = ScriptedChat(script=script)
    return DispatcherGraph(ctx, model, sqlite_checkpointer(path), **kw), model


def statuses(ctx: ToolContext) -> list[str]:
    return [p.status.value for p in ctx.store.plans(ctx.world_name)]


def test_plan_waits_for_approval_then_commits_on_approve(ctx: ToolContext) -> None:
    g, model = graph(ctx, [act("plan"), json.dumps({"answer": "approve"})])
    first = g.turn("t1", "Plan today's routes.")
    assert first.awaiting_approval and "Draft plan #" in first.answer
    assert statuses(ctx) == ["draft"] and ctx.committed() is None
    assert first.tool_calls == [{"tool": "plan", "args": {}, "ok": True, "error": None, "mode": "do"}]
    second = g.turn("t1", "Looks good, send it.")
    assert not second.awaiting_approval
    assert statuses(ctx) == ["committed"]
    assert "dispatched" in second.answer
    # the approval question quoted the dispatcher's words and offered exactly three answers
    prompt, options = model.seen[-1]
    assert "Looks good, send it." in str(prompt[-1].content)
    assert options["json_schema"]["properties"]["answer"]["enum"] == ["approve", "reject", "other"]


def test_a_reply_that_is_not_an_approval_keeps_the_draft_and_is_handled_as_a_new_request(ctx: ToolContext) -> None:
    g, _ = graph(ctx, [act("plan"), json.dumps({"answer": "other"}), act("kpis")])
    g.turn("t", "Plan the day")
    kpi = g.turn("t", "how many km is that?")
    assert "km" in kpi.answer and statuses(ctx) == ["draft"]
    assert [c["tool"] for c in kpi.tool_calls] == ["kpis"]
    # the draft stays the conversation's pending draft (a later 'dispatch' action may still approve it)
    g2_state = g.graph.get_state({"configurable": {"thread_id": "t"}}).values
    assert g2_state["pending_draft"] is not None
    # a read-only answer does not wait for approval
    assert not kpi.awaiting_approval


def test_model_never_commits_without_a_pending_draft(ctx: ToolContext) -> None:
    g, _ = graph(ctx, [act("dispatch")])
    out = g.turn("t", "dispatch it")
    assert "no draft from this conversation" in out.answer
    assert ctx.committed() is None and out.tool_calls[0]["ok"] is False


def test_unknown_id_is_asked_about_not_guessed(ctx: ToolContext) -> None:
    g, _ = graph(ctx, [act("cancel_order"), json.dumps({"order_id": "O99"})])
    before = ctx.world()
    out = g.turn("t", "Customer cancelled O99.")
    assert "can't find order O99" in out.answer
    assert ctx.world() == before and statuses(ctx) == []


def test_missing_required_value_becomes_a_question(ctx: ToolContext) -> None:
    g, _ = graph(
        ctx,
        [
            act("new_order"),
            json.dumps(
                {
                    "order_id": None,
                    "kind": "pickup",
                    "customer": "Lee's Deli",
                    "lat": 30.1,
                    "lng": 120.2,
                    "demand": 3,
                    "tw_start": None,
                    "tw_end": None,
                    "needs_bulky_van": None,
                }
            ),
        ],
    )
    before = ctx.world()
    out = g.turn("t", "add an order for Lee's Deli")
    # the invented coordinates are not in the dispatcher's words: they are dropped and asked for
    assert "location" in out.answer and ctx.world() == before


def test_hallucinated_id_is_replaced_by_the_one_the_dispatcher_wrote(ctx: ToolContext) -> None:
    g, model = graph(ctx, [act("order_status"), json.dumps({"order_id": "O1"})])
    out = g.turn("t", "where is O2? (not O3)")
    assert out.answer.startswith("O2 ")
    assert len(model.seen) == 2  # two ids in the message: the model was asked, and its unwritten O1 was not used


def test_an_unambiguous_id_needs_no_model_call(ctx: ToolContext) -> None:
    g, model = graph(ctx, [act("order_status")])
    assert g.turn("t", "where is O2?").answer.startswith("O2 ")
    assert len(model.seen) == 1


def test_worded_reply_falls_back_to_the_template_when_a_number_is_not_grounded(ctx: ToolContext) -> None:
    g, _ = graph(ctx, [act("plan"), "I planned 7 routes covering 123.4 km."], phrase=True)
    out = g.turn("t", "plan today")
    assert out.answer.startswith("Draft plan #") and "123.4" not in out.answer
    g2, _ = graph(ctx, [act("discard")], phrase=True)
    assert "no draft" in g2.turn("u", "drop it").answer


def test_worded_reply_is_kept_when_grounded() -> None:
    template = "Plan #3 (committed): 2 vehicles used, 12.5 km in total."
    assert grounded_numbers_ok("Plan #3 uses 2 vehicles for 12.5 km.", template)
    assert not grounded_numbers_ok("Plan #3 uses 4 vehicles.", template)
    assert ids_kept("HZ-V3 takes P123.", "P123 is on HZ-V3")
    assert not ids_kept("HZ-V4 takes P123.", "P123 is on HZ-V3")
    assert language("今天用了几辆车？") == "zh" and language("how many vans") == "en"


def test_conversation_survives_a_restart_with_the_draft_still_waiting(ctx: ToolContext, tmp_path: Path) -> None:
    path = tmp_path / "conv.sqlite3"
    g1, _ = graph(ctx, [act("plan")], path)
    assert g1.turn("shift-1", "plan the day").awaiting_approval
    del g1  # the process goes away; a new one opens the same conversation store
    g2, _ = graph(ctx, [json.dumps({"answer": "approve"})], path)
    out = g2.turn("shift-1", "approved")
    assert "dispatched" in out.answer and statuses(ctx) == ["committed"]
    assert [h["action"] for h in g2.history("shift-1")] == ["plan", "dispatch"]


def test_customer_notes_are_quoted_and_never_reach_the_model(ctx: ToolContext) -> None:
    g, model = graph(ctx, [act("notes"), act("chat")])
    out = g.turn("t", "any special handling notes?")
    assert '"second floor, no lift"' in out.answer
    g.turn("t", "thanks")
    for prompt, _ in model.seen:
        assert all("second floor" not in str(m.content) for m in prompt)


def test_chinese_message_gets_a_chinese_reply(ctx: ToolContext) -> None:
    g, _ = graph(ctx, [act("chat")])
    out = g.turn("t", "明天天气怎么样？")
    assert language(out.answer) == "zh" and not out.tool_calls


def test_a_draft_from_an_event_is_not_committed(ctx: ToolContext) -> None:
    g0, _ = graph(ctx, [act("plan"), json.dumps({"answer": "approve"})])
    g0.turn("a", "plan")
    g0.turn("a", "yes")
    committed = ctx.committed()
    assert committed is not None
    g, _ = graph(ctx, [act("breakdown"), json.dumps({"vehicle_id": "V1"})])
    out = g.turn("b", "V1 broke down")
    assert out.awaiting_approval
    assert ctx.committed() == committed
    assert ctx.world().vehicle("V1").available is False
    assert [p.status for p in ctx.store.plans(ctx.world_name)][-1] is PlanStatus.DRAFT


def test_decide_draft_approves_without_asking_the_model(ctx: ToolContext) -> None:
    g, model = graph(ctx, [act("plan")])
    first = g.turn("t", "plan the day")
    assert first.awaiting_approval
    calls_before = len(model.seen)
    out = g.decide_draft("t", True, actor="slack:U1")
    assert len(model.seen) == calls_before  # the decision was explicit: no model call
    assert ctx.actor == "dispatcher" and g.ctx is ctx  # the actor came with the call: the agent's context is unchanged
    assert not out.awaiting_approval and "dispatched" in out.answer
    assert statuses(ctx) == ["committed"]
    assert out.tool_calls == [{"tool": "dispatch", "args": {"plan_id": 1}, "ok": True, "error": None}]
    assert [e.actor for e in ctx.store.audit(ctx.world_name) if e.action == "commit_plan"] == ["slack:U1"]
    assert [h["action"] for h in g.history("t")] == ["plan", "dispatch"]
    with pytest.raises(InputError, match="no draft is waiting"):
        g.decide_draft("t", True)


def test_two_turns_with_different_actors_each_record_their_own_actor(ctx: ToolContext) -> None:
    g, _ = graph(ctx, [act("plan"), act("breakdown")])
    assert g.turn("a", "plan the day", actor="slack:U1").awaiting_approval
    assert g.turn("b", "V1 broke down", actor="slack:U2").awaiting_approval
    g.decide_draft("b", False)  # no actor given: the tool context's own
    trail = [(e.action, e.actor) for e in ctx.store.audit(ctx.world_name) if e.action != "import_world"]
    assert trail == [("save_plan", "slack:U1"), ("update_vehicle", "slack:U2"), ("save_plan", "slack:U2"), ("discard_plan", "dispatcher")]
    assert ctx.actor == "dispatcher"


def test_the_turn_result_carries_the_outcome_and_its_plan_summary(ctx: ToolContext) -> None:
    g, _ = graph(ctx, [act("plan"), json.dumps({"answer": "other"}), act("kpis")])
    seen: list[str] = []
    first = g.turn("t", "plan the day", on_event=lambda what, _: seen.append(what))
    assert first.outcome is not None and first.outcome.action == "plan" and first.outcome.draft_id == 1
    assert first.plan_summary is not None and first.plan_summary.plan_id == 1 and first.plan_summary.status == "draft"
    assert first.plan_summary.routes and seen == ["action", "outcome"]  # this call's own progress callback
    # a fact's outcome carries its re-planned draft: that is the plan summary
    g2, _ = graph(ctx, [act("breakdown")])
    fact = g2.turn("u", "V1 broke down")
    assert fact.outcome is not None and fact.plan_summary is fact.outcome.data.draft and fact.plan_summary.plan_id == 2
    # an answer without a plan has an outcome but no plan summary; a decision only has its reply
    kpis = g.turn("t", "how many km is that?")
    assert kpis.outcome is not None and kpis.outcome.action == "kpis" and kpis.plan_summary is None
    decided = g2.decide_draft("u", True)
    assert "dispatched" in decided.answer and decided.outcome is None and decided.plan_summary is None


def test_decide_draft_rejects_only_the_draft_that_is_waiting(ctx: ToolContext) -> None:
    g, model = graph(ctx, [act("plan"), act("chat")])
    g.turn("t", "plan the day")
    with pytest.raises(InputError, match="draft #7 is no longer waiting"):
        g.decide_draft("t", False, draft_id=7)
    assert statuses(ctx) == ["draft"]
    out = g.decide_draft("t", False, draft_id=1)
    assert not out.awaiting_approval and statuses(ctx) == ["discarded"] and ctx.committed() is None
    # the conversation goes on normally afterwards
    assert g.turn("t", "thanks").tool_calls == [] and not model.script


def test_an_out_of_range_argument_is_refused_with_a_message_not_a_crash(ctx: ToolContext) -> None:
    g, _ = graph(ctx, [act("what_if"), json.dumps({"vehicles": None, "remove_vehicle": None, "add_vehicles": 129, "demand_percent": None})])
    out = g.turn("t", "what if we add 129 vans?")
    assert out.answer.startswith("I couldn't do that: count:") and out.tool_calls[0]["ok"] is False


def test_a_partial_id_is_not_taken_for_an_unknown_one(ctx: ToolContext) -> None:
    from tools.lifecycle import ClockRequest, set_clock

    set_clock(ctx, ClockRequest(at="08:00"))
    g, _ = graph(ctx, [act("breakdown"), json.dumps({"vehicle_id": "1"})])
    out = g.turn("t", "V1 broke down")  # the model wrote "1": the dispatcher's V1 is used, not refused as unknown
    assert out.tool_calls[-1]["args"] == {"vehicle_id": "V1"} and out.awaiting_approval


# ---- several actions, asking vs doing, undo -------------------------------------------------------


def _commit_day(ctx: ToolContext) -> int:
    from tools import lifecycle

    draft = lifecycle.plan_day(ctx)
    return lifecycle.approve_plan(ctx, lifecycle.PlanRef(plan_id=draft.plan_id)).plan_id


def test_one_action_for_several_ids_runs_once_per_id_into_one_draft(ctx: ToolContext) -> None:
    _commit_day(ctx)
    g, _ = graph(ctx, [act("cancel_order")])
    out = g.turn("t", "Customers cancelled O1 and O4.")
    world = ctx.world()
    assert world.order("O1").cancelled and world.order("O4").cancelled
    assert [c["args"] for c in out.tool_calls] == [{"order_id": "O1"}, {"order_id": "O4"}]
    drafts = [p for p in ctx.store.plans(ctx.world_name) if p.status is PlanStatus.DRAFT]
    assert len(drafts) == 1 and out.awaiting_approval  # the first draft was superseded by the one with both facts
    assert "O1" in out.answer and "O4" in out.answer


def test_a_question_runs_the_event_without_writing_anything(ctx: ToolContext) -> None:
    _commit_day(ctx)
    before = (ctx.world(), statuses(ctx), len(ctx.store.audit(ctx.world_name)))
    g, _ = graph(ctx, [act("breakdown", mode="do")])  # the model says "do"; the wording says it is only a question
    out = g.turn("t", "Suppose V1 broke down, how many orders could we not serve? Don't change anything.")
    assert (ctx.world(), statuses(ctx), len(ctx.store.audit(ctx.world_name))) == before
    assert out.tool_calls[0]["ok"] and out.tool_calls[0]["mode"] == "ask"
    assert "If vehicle V1 unavailable" in out.answer and "Nothing was recorded" in out.answer
    assert not out.awaiting_approval


def test_ask_mode_turns_a_new_order_into_advice(ctx: ToolContext) -> None:
    _commit_day(ctx)
    before = (ctx.world(), statuses(ctx))
    advise = json.dumps({"lat": 30.43, "lng": 120.27, "demand": None, "tw_start": None, "tw_end": None})
    g, _ = graph(ctx, [act("new_order", mode="ask"), advise])
    out = g.turn("t", "Which van could take a pickup at 30.43, 120.27?")
    assert [c["tool"] for c in out.tool_calls] == ["advise"] and out.tool_calls[0]["ok"]
    assert (ctx.world(), statuses(ctx)) == before


def test_several_actions_are_reported_in_order_and_a_refused_one_is_named(ctx: ToolContext) -> None:
    _commit_day(ctx)
    g, _ = graph(ctx, [act("order_status", "cancel_order"), json.dumps({"order_id": "O9"})])
    out = g.turn("t", "Where is O2? And cancel O9 please.")
    assert [c["tool"] for c in out.tool_calls] == ["order_status", "cancel_order"]
    assert out.tool_calls[0]["ok"] and not out.tool_calls[1]["ok"]
    lines = out.answer.splitlines()
    assert lines[0].startswith("O2") and "O9" in lines[1]


def test_false_alarm_undoes_the_fact_and_its_draft(ctx: ToolContext) -> None:
    committed = _commit_day(ctx)
    g, _ = graph(ctx, [act("breakdown"), act("undo")])
    first = g.turn("t", "V2 broke down.")
    assert first.awaiting_approval and not ctx.world().vehicle("V2").available
    second = g.turn("t", "False alarm, V2 is fine.")  # names a vehicle: never taken as approve/reject
    assert ctx.world().vehicle("V2").available
    assert ctx.committed().id == committed  # type: ignore[union-attr]
    assert statuses(ctx)[-1] == "discarded" and not second.awaiting_approval
    assert "Undone" in second.answer


def test_edits_from_the_model_are_grounded_in_the_words(ctx: ToolContext) -> None:
    _commit_day(ctx)
    fill = json.dumps({"order_id": "O1", "demand": 5, "priority": "high", "required_skill": None, "service_min": 9, "kind": None})
    g, _ = graph(ctx, [act("edit_order"), fill])
    g.turn("t", "O1 is 5 parcels now.")
    order = ctx.world().order("O1")
    assert order.demand == 5
    assert order.priority.value == "normal" and order.service_s == 180  # not said: not changed


def test_shift_end_is_read_from_the_words(ctx: ToolContext) -> None:
    _commit_day(ctx)
    fill = json.dumps({"vehicle_id": "V3", "shift_start": None, "shift_end": "3pm", "capacity": None, "add_skill": None, "back_in_service": None})
    g, _ = graph(ctx, [act("edit_vehicle"), fill])
    out = g.turn("t", "V3's driver has to stop at 3 pm today.")
    assert out.tool_calls[-1]["ok"], out.answer
    assert out.tool_calls[-1]["args"]["shift_end"] == "15:00"


def test_a_plan_choice_on_a_message_naming_a_vehicle_asks_which_fact_it_reports(ctx: ToolContext) -> None:
    g, model = graph(ctx, [act("plan"), json.dumps({"fact": "breakdown"})])
    out = g.turn("t", "plan the day w/o V3, its driver is at the doctor")
    assert [c["tool"] for c in out.tool_calls] == ["breakdown"] and not ctx.world().vehicle("V3").available
    prompt, options = model.seen[1]
    assert "V3" in str(prompt[-1].content) and "none" in options["json_schema"]["properties"]["fact"]["enum"]
    g2, model2 = graph(ctx, [act("plan")])
    g2.turn("t2", "Plan today's routes.")  # no id named: no second question
    assert len(model2.seen) == 1
