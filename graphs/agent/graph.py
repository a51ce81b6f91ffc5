"""The dispatcher graph itself (:class:`DispatcherGraph`): its nodes (``choose``, ``act``, ``await_approval``),
the tool calls they make, and one turn or one explicit decision of a conversation."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt
from pydantic import ValidationError

from copilot.core.errors import CopilotError, InputError
from copilot.core.ports import DispatchStore
from graphs import prompts, replies
from graphs.agent.rules import ASK_TWIN, READ_KINDS, UNTRUSTED_TEXT_ACTIONS, WRITE_KINDS, _asks_something, _no_subject, _spread_field, _subject_named, _tidy, listed_ids
from graphs.agent.state import DECISION, AgentState, TurnContext, TurnResult, _conversation, _problem, _user_text, plan_summary
from graphs.intent import asks_only
from graphs.llm import decide
from graphs.toolset import ACTIONS, MODEL_FILLS, Action, Grounded, Outcome, args_from_text, future_only, ground, ids_in_text
from tools import lifecycle
from tools.catalog import call
from tools.context import ToolContext


class DispatcherGraph:
    """Builds the graph for one tool context and one chat model.

    The graph holds no state of a call: each :meth:`turn` or :meth:`decide_draft` runs with its own
    :class:`TurnContext` (its tool context, with the actor of that call; its progress callback; its timings and
    outcome), so calls in different conversations, by different people, do not see each other's.
    """

    def __init__(self, ctx: ToolContext, model: BaseChatModel, checkpointer: Any, *, phrase: bool = False, on_event: Callable[[str, Any], None] | None = None) -> None:
        self.ctx = ctx
        self.model = model
        self.phrase = phrase
        self.on_event = on_event
        """The default progress callback of a call (a call may give its own)."""
        g = StateGraph(AgentState, context_schema=TurnContext)
        g.add_node("choose", self._choose)
        g.add_node("act", self._act)
        g.add_node("await_approval", self._await_approval)
        g.add_edge(START, "choose")
        g.add_edge("choose", "act")
        g.add_conditional_edges("act", self._after_act, ["await_approval", END])
        g.add_conditional_edges("await_approval", self._after_approval, ["choose", END])
        self.graph = g.compile(checkpointer=checkpointer)

    # ---- model calls ----------------------------------------------------------------------------

    def _decide(self, turn: TurnContext, state: AgentState, messages: list[BaseMessage], schema: dict[str, Any], max_tokens: int = 96) -> dict[str, Any]:
        started = time.perf_counter()
        value, usage = decide(self.model, messages, schema, max_tokens=max_tokens)
        turn.model_s += time.perf_counter() - started
        total = dict(state.get("usage") or {})
        for k, v in usage.items():
            total[k] = total.get(k, 0) + v
        state["usage"] = total
        return value

    # ---- nodes -----------------------------------------------------------------------------------

    def _choose(self, state: AgentState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        turn = runtime.context
        st = dict(state)
        value = self._decide(turn, st, _conversation(state), prompts.decision_schema(list(ACTIONS)), max_tokens=48)  # type: ignore[arg-type]
        names = _tidy([a for a in prompts.decision_actions(value) if a in ACTIONS])
        if not names:  # a server that ignored the schema: answer politely rather than guess
            names = ["chat"]
        world = turn.tools.world()
        if names == ["plan"]:
            names = self._fact_check(turn, st, state, world) or names
        if "query" in names and "forecast" not in names and future_only(state["current"], world):
            names[names.index("query")] = "forecast"  # the history holds no future days: that question is a forecast
        mode = "ask" if value.get("mode") == "ask" or asks_only(state["current"]) else "do"
        turn.emit("action", names[0] if len(names) == 1 else names)
        return {"action": names[0], "actions": names, "mode": mode, "usage": st.get("usage", {}), "args": None}

    def _fact_check(self, turn: TurnContext, st: dict[str, Any], state: AgentState, world: Any) -> list[str] | None:
        """When the model chose to plan but the message names vehicles or orders, a second constrained question:
        does the message report a fact about them (a breakdown, a delay, a cancellation ...)? That fact's action
        re-plans by itself, with the fact recorded."""
        ids = ids_in_text(state["current"], world, "vehicle") + ids_in_text(state["current"], world, "order")
        if not ids:
            return None
        events = [n for n, a in ACTIONS.items() if a.kind == "event" and n != "undo"]
        msgs = _conversation(state)
        msgs.append(AIMessage(prompts.decision_json(state.get("mode", "do"), ["plan"])))
        msgs.append(HumanMessage(prompts.fact_request(ids, events)))
        fact = str(self._decide(turn, st, msgs, prompts.fact_schema(events), max_tokens=16).get("fact"))  # type: ignore[arg-type]
        turn.emit("fact", fact)
        return [fact] if fact in events else None

    def _after_choose(self, state: AgentState) -> str:
        return "act"

    def _fill(self, turn: TurnContext, state: AgentState, st: dict[str, Any], action: Action, world: Any, fixed: dict[str, Any] | None, *, shared: bool) -> Grounded:
        """The action's arguments: straight from the message when they are ids it names (unless the message is
        ``shared`` by several different actions), else the model's, grounded in the dispatcher's words."""
        raw = dict(fixed) if fixed is not None else (None if shared and action.kind in WRITE_KINDS else args_from_text(action, state["current"], world))
        only: tuple[str, ...] | None = None
        if raw is not None and MODEL_FILLS in raw:  # code read most of it; the model reads the rest (a name)
            only = tuple(raw.pop(MODEL_FILLS))
        if raw is None or only:
            msgs = _conversation(state)
            msgs.append(AIMessage(prompts.decision_json(state.get("mode", "do"), state.get("actions") or [action.name])))
            msgs.append(HumanMessage(prompts.args_request(action, only)))
            filled = self._decide(turn, st, msgs, prompts.args_schema(action, only), max_tokens=160)  # type: ignore[arg-type]
            raw = {**(raw or {}), **filled}
        strict = shared and fixed is None and action.kind in WRITE_KINDS  # no fallback to another action's id
        return ground(action, raw, world, state["current"], _user_text(state), state.get("lang", "en"), strict=strict)

    def _plan_steps(self, state: AgentState, world: Any) -> list[tuple[Action, dict[str, Any] | None]]:
        """The actions in order, each with fixed arguments when one action is meant for several ids the message
        names ("cancel P1 and P2", "V4 and V6 are both off"); in a question, writing actions become their read twin."""
        steps: list[tuple[Action, dict[str, Any] | None]] = []
        names = list(state.get("actions") or [state.get("action") or "chat"])
        ask = state.get("mode") == "ask"
        for name in names:
            action = ACTIONS[ASK_TWIN.get(name, name) if ask else name]
            spread = _spread_field(action)
            if spread is not None:
                field_name, kind = spread
                ids = listed_ids(state["current"], ids_in_text(state["current"], world, kind))
                if len(ids) > 1:
                    steps.extend((action, {field_name: i}) for i in ids)
                    continue
            steps.append((action, None))
        return steps

    def _act(self, state: AgentState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        turn = runtime.context
        lang = state.get("lang", "en")
        calls = list(state.get("calls") or [])
        names = list(state.get("actions") or [state.get("action") or "chat"])
        log = [{"user": state["current"], "action": names[0], "actions": names, "mode": state.get("mode", "do")}]
        ask = state.get("mode") == "ask"
        st = dict(state)
        world = turn.tools.world()
        steps = self._plan_steps(state, world)
        parts: list[str] = []
        pending = state.get("pending_draft")
        turn_drafts: list[int] = []
        skipped: list[Action] = []
        wrote = False
        mode = state.get("mode")

        def skip(action: Action, why: str, *, retry: bool = True) -> None:
            calls.append({"tool": action.name, "args": {}, "ok": False, "error": f"skipped: {why}", "mode": mode})
            if retry:
                skipped.append(action)

        def run(action: Action, args: dict[str, Any], label: str | None) -> None:
            """Call the action's tool and record the call, its reply and the draft it made."""
            nonlocal pending, wrote
            # a decision is about the draft that was waiting when the message came, never one made by this message
            decided = state.get("pending_draft") if action.kind in ("dispatch", "discard") else pending
            try:
                outcome = self._run(turn.tools, action.name, args, {**state, "pending_draft": decided}, ask=ask or action.kind in READ_KINDS)
            except (CopilotError, ValidationError) as exc:
                message = _problem(exc)
                calls.append({"tool": action.name, "args": args, "ok": False, "error": message, "mode": mode})
                parts.append(replies.error_reply(message, lang, label))
                return
            calls.append({"tool": action.name, "args": args, "ok": True, "error": None, "mode": mode})
            turn.emit("outcome", outcome)
            parts.append(replies.compose(outcome, lang, hypothetical=ask))
            if ask:
                return
            if outcome.draft_id:
                turn_drafts.append(outcome.draft_id)
                pending = outcome.draft_id
                wrote = True
            elif action.kind in ("dispatch", "discard") or (action.name == "undo" and pending in (outcome.facts.get("discarded") or [])):
                pending = None

        for i, (action, fixed) in enumerate(steps):
            if action.kind == "chat":
                if len(steps) == 1:
                    parts.append(replies.chat_reply(lang))
                continue
            if i and action.args is not None:
                world = turn.tools.world()  # an earlier step of this turn may have changed it
            shared = len({a.name for a, _ in steps}) > 1
            if shared and i and fixed is None and not _subject_named(action, state["current"], world):
                skip(action, "the message names nothing for it")  # a later action whose order or vehicle the message does not name
                continue
            g = self._fill(turn, state, st, action, world, fixed, shared=shared) if action.args is not None else Grounded(args=None)
            if i and shared and action.name == "query" and g.args is not None and not _asks_something(g.args):
                skip(action, "the message asks nothing of it", retry=False)  # a second question with no period, group or filter
                continue
            if g.question is not None and len(steps) > 1 and _no_subject(action, g):
                # one of several actions whose order or vehicle the message does not name: the model read more into it
                skip(action, "the message names nothing for it")
                continue
            if g.question is not None:
                calls.append({"tool": action.name, "args": fixed or {}, "ok": False, "error": f"not grounded: {g.question}", "mode": mode})
                parts.append(g.question)
                continue
            run(action, g.args.model_dump() if g.args is not None else {}, action.name if len(steps) > 1 else None)
        if skipped and not parts:  # every action was skipped: answer the first one as if it were alone
            action = skipped[0]
            g = self._fill(turn, state, st, action, world, None, shared=False)
            if g.question is not None:
                parts.append(g.question)
            else:
                run(action, g.args.model_dump() if g.args is not None else {}, None)
        for old in turn_drafts[:-1]:  # one draft per turn: the last one carries every fact of the turn
            with contextlib.suppress(CopilotError):
                call("discard_draft", turn.tools, lifecycle.PlanRef(plan_id=old))
        if len(turn_drafts) > 1:
            parts = [p for p in parts if p] + [replies.approval_prompt(lang)]
        if ask and any(ACTIONS[n].kind in WRITE_KINDS for n in names):
            parts.append(replies.ask_offer(lang))
        reply = "\n".join(p for p in parts if p) or replies.chat_reply(lang)
        if self.phrase and len(steps) == 1 and steps[0][0].name not in UNTRUSTED_TEXT_ACTIONS and calls and calls[-1]["ok"]:
            reply = self._phrased(turn, reply, lang, state)
        return {"reply": reply, "log": log, "calls": calls, "pending_draft": pending, "wrote": wrote, "usage": st.get("usage", {})}

    def _run(self, tools: ToolContext, name: str, args: dict[str, Any], state: AgentState, *, ask: bool = False) -> Outcome:
        action = ACTIONS[name]
        ctx = tools.read_only() if ask else tools
        if action.kind in ("dispatch", "discard"):
            draft = state.get("pending_draft")
            if draft is None:
                raise InputError("there is no draft from this conversation waiting for approval; ask me to plan or report a change first")
            ref = lifecycle.PlanRef(plan_id=draft)
            summary = call(action.tools[0], ctx, ref)  # approve_plan or discard_draft, from the catalogue
            return Outcome(name, data=summary)
        assert action.run is not None
        parsed = action.args.model_validate(args) if action.args is not None else None
        return action.run(ctx, parsed)

    def _phrased(self, turn: TurnContext, template: str, lang: str, state: AgentState) -> str:
        """The model's wording of a templated reply, kept only when every number and id in it comes from the template."""
        started = time.perf_counter()
        msgs = [SystemMessage(prompts.SYSTEM), HumanMessage(prompts.phrase_request(template, lang))]
        msg = self.model.invoke(msgs, max_tokens=160)
        turn.model_s += time.perf_counter() - started
        text = str(msg.content).strip()
        ok = bool(text) and replies.grounded_numbers_ok(text, template) and replies.ids_kept(text, template)
        turn.emit("phrased", {"text": text, "kept": ok})
        return text if ok else template

    def _after_act(self, state: AgentState) -> str:
        return "await_approval" if state.get("wrote") and state.get("pending_draft") is not None else END

    def _await_approval(self, state: AgentState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        turn = runtime.context
        draft = state.get("pending_draft")
        resumed = interrupt({"draft": draft, "reply": state.get("reply", "")})
        st: dict[str, Any] = {"usage": {}}
        if isinstance(resumed, dict) and resumed.get(DECISION) in ("approve", "reject"):
            # resumed by :meth:`decide_draft` (a button): the decision is explicit, the model is not asked
            text = str(resumed[DECISION])
            answer: Any = text
            lang = state.get("lang", "en")
        else:
            # resumed: ``text`` is the dispatcher's next message
            text = str(resumed)
            lang = replies.language(text)
            world = turn.tools.world()
            if asks_only(text) or ids_in_text(text, world, "vehicle") or ids_in_text(text, world, "order"):
                answer = "other"  # a question, or a message about a vehicle or an order, is never a bare approval
            else:
                msgs = [SystemMessage(prompts.SYSTEM), HumanMessage(prompts.approval_request(int(draft or 0), text))]
                answer = self._decide(turn, st, msgs, prompts.APPROVAL_SCHEMA, max_tokens=16).get("answer")  # type: ignore[arg-type]
        turn.emit("approval", answer)
        base = {"current": str(text), "lang": lang, "calls": [], "usage": st["usage"], "args": None, "actions": [], "mode": "do", "wrote": False}
        if answer in ("approve", "reject"):
            name = "dispatch" if answer == "approve" else "discard"
            log = [{"user": str(text), "action": name, "actions": [name], "mode": "do"}]
            try:
                outcome = self._run(turn.tools, name, {}, {**state, **base})  # type: ignore[typeddict-item]
            except CopilotError as exc:
                return {
                    **base,
                    "action": name,
                    "reply": replies.error_reply(str(exc), lang),
                    "log": log,
                    "calls": [{"tool": name, "args": {}, "ok": False, "error": str(exc)}],
                }
            return {
                **base,
                "action": name,
                "reply": replies.compose(outcome, lang),
                "pending_draft": None,
                "log": log,
                "calls": [{"tool": name, "args": {"plan_id": draft}, "ok": True, "error": None}],
            }
        return {**base, "action": None}

    def _after_approval(self, state: AgentState) -> str:
        return END if state.get("action") in ("dispatch", "discard") else "choose"

    # ---- one turn --------------------------------------------------------------------------------

    def turn(
        self, thread_id: str, text: str, *, actor: str | None = None, store: DispatchStore | None = None, on_event: Callable[[str, Any], None] | None = None
    ) -> TurnResult:
        """Send one dispatcher message in a conversation and return the reply.

        ``actor``: who wrote it, recorded in the audit trail for what this message changes (default: the agent's
        tool context's actor); ``store``: the store this message's tools use instead of the context's (e.g. one that
        refuses some writes); ``on_event``: this message's progress callback (default: :attr:`on_event`). Each
        applies to this call only: the agent's own tool context is never changed.
        """
        if not text.strip():
            raise InputError("the message is empty")
        started = time.perf_counter()
        run = self._turn_context(actor, store, on_event)
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        snap = self.graph.get_state(config)
        waiting = bool(snap.next) and any(t.interrupts for t in snap.tasks)
        if waiting:
            self.graph.invoke(Command(resume=text), config, context=run)
        else:
            fresh: AgentState = {
                "current": text,
                "lang": replies.language(text),
                "calls": [],
                "usage": {},
                "action": None,
                "actions": [],
                "mode": "do",
                "wrote": False,
                "args": None,
                "reply": "",
            }
            self.graph.invoke(fresh, config, context=run)
        return self._result(config, started, run)

    def decide_draft(
        self,
        thread_id: str,
        approve: bool,
        *,
        draft_id: int | None = None,
        actor: str | None = None,
        on_event: Callable[[str, Any], None] | None = None,
    ) -> TurnResult:
        """Approve or reject the draft waiting in a conversation with an explicit decision (a button), without the model.

        ``draft_id``, when given, must be the draft that is waiting (an old button does not decide a newer draft).
        ``actor``: who decided, recorded in the audit trail (default: the tool context's actor), for this call only.
        Raises :class:`InputError` when no draft (or another one) is waiting.
        """
        started = time.perf_counter()
        run = self._turn_context(actor, None, on_event)
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        snap = self.graph.get_state(config)
        pending = snap.values.get("pending_draft")
        if not (snap.next and any(t.interrupts for t in snap.tasks)) or pending is None:
            raise InputError("no draft is waiting for approval in this conversation")
        if draft_id is not None and pending != draft_id:
            raise InputError(f"draft #{draft_id} is no longer waiting for approval (draft #{pending} is)")
        self.graph.invoke(Command(resume={DECISION: "approve" if approve else "reject"}), config, context=run)
        return self._result(config, started, run)

    def _turn_context(self, actor: str | None, store: DispatchStore | None, on_event: Callable[[str, Any], None] | None) -> TurnContext:
        """The context of one call: the agent's tool context, or a copy of it with this call's actor and store, scoped
        to this call (:meth:`tools.context.ToolContext.for_request`: the world is read once per turn, and afresh each turn)."""
        tools = self.ctx
        if actor is not None:
            tools = replace(tools, actor=actor)
        if store is not None:
            tools = replace(tools, store=store)
        return TurnContext(tools=tools.for_request(), on_event=on_event or self.on_event)

    def _result(self, config: RunnableConfig, started: float, run: TurnContext) -> TurnResult:
        snap = self.graph.get_state(config)
        values = snap.values
        awaiting = bool(snap.next) and any(t.interrupts for t in snap.tasks)
        usage = values.get("usage") or {}
        wall = time.perf_counter() - started
        prefill, decode = float(usage.get("prefill_s", 0.0)), float(usage.get("decode_s", 0.0))
        phases = {"prefill": round(prefill, 3), "decode": round(decode, 3), "tools": round(max(0.0, wall - run.model_s), 3)}
        return TurnResult(
            answer=str(values.get("reply", "")),
            tool_calls=list(values.get("calls") or []),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            awaiting_approval=awaiting,
            wall_s=wall,
            model_s=run.model_s,
            phases=phases,
            outcome=run.outcome,
            plan_summary=plan_summary(run.outcome),
        )

    def history(self, thread_id: str) -> list[dict[str, Any]]:
        """The exchanges of a conversation so far."""
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        snap = self.graph.get_state(config)
        return list(snap.values.get("log") or [])
