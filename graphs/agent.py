"""The dispatcher agent: a LangGraph graph where the model makes constrained decisions and code acts.

::

    START -> choose -> act --(a fact recorded, draft saved)--> await_approval (interrupt)
                         \--> END (reply from the tools' results)

* ``choose``: the model decides the turn's mode (``do``, or ``ask``: a question, a what-if, a conditional)
  and an ordered list of up to three actions (constrained output). Hedging wording ("just asking", "先别改",
  "假如…") makes the turn ``ask`` whatever the model said (:mod:`graphs.intent`).
* ``act``: each action in order: its arguments come straight from the ids the message names or from the
  model (constrained to the action's schema) and are grounded by :func:`graphs.toolset.ground` against the
  store and the dispatcher's own words (a missing or unknown value becomes a question); an action meant for
  several ids runs once per id; then code calls the tool. In an ``ask`` turn every tool runs on a read-only
  context (:meth:`tools.context.ToolContext.read_only`): the numbers are computed, nothing can be written.
  A ``do`` turn that records several facts keeps one draft (the last, which carries them all). The reply
  reports each action, composed from the tools' results (:mod:`graphs.replies`).
* ``await_approval``: a draft waits here (a LangGraph interrupt) for the dispatcher's next message; only a
  message the model classifies as approval (or an explicit decision sent by :meth:`DispatcherGraph.decide_draft`,
  e.g. a Slack button) commits it, and it is the code that commits exactly that draft. A message that names
  a vehicle or order, or asks, is never taken as a decision: it is handled as a new request.

Only the dispatcher's messages reach the model; tool results (which may quote customer notes) go into
replies, never into prompts. The conversation is a LangGraph thread kept by a checkpointer.
"""

from __future__ import annotations

import contextlib
import operator
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from pydantic import ValidationError

from copilot.core.errors import CopilotError, InputError
from graphs import prompts, replies
from graphs.intent import asks_only
from graphs.llm import decide
from graphs.toolset import ACTIONS, MODEL_FILLS, Action, Grounded, Outcome, args_from_text, future_only, ground, ids_in_text, new_ids_in_text
from tools import lifecycle
from tools.context import ToolContext

UNTRUSTED_TEXT_ACTIONS = frozenset({"notes", "order_status"})
"""Replies that quote customer text: never sent back through the model."""

MAX_ACTIONS = 2
"""The most different actions one message may carry (one action may run for several ids)."""

READ_KINDS = frozenset({"read", "confirm", "chat"})
WRITE_KINDS = frozenset({"event", "plan", "dispatch", "discard"})

ASK_TWIN = {"new_order": "advise", "move": "move_cost", "pin": "move_cost"}
"""In a question, these writing actions are answered by their read-only twin; every other one runs read-only."""


OPPOSITES = (("cancel_order", "restore_order"), ("dispatch", "discard"))


def _tidy(names: list[str]) -> list[str]:
    """The model's action list made sound: each action once (one action covers several ids), no ``plan`` next
    to an event (every event re-plans), no ``chat`` next to a real action, at most :data:`MAX_ACTIONS`."""
    out = list(dict.fromkeys(names))
    for a, b in OPPOSITES:  # one message does not ask for a thing and its reverse: the first one stands
        if a in out and b in out:
            out.remove(b if out.index(a) < out.index(b) else a)
    if any(ACTIONS[n].kind == "event" for n in out):
        out = [n for n in out if n != "plan"]
    if len(out) > 1:
        # approving is its own message, about a draft the dispatcher has seen: never a side effect of another request
        out = [n for n in out if n != "chat" and ACTIONS[n].kind != "dispatch"] or out[:1]
    return out[:MAX_ACTIONS]


def _no_subject(action: Action, g: Grounded) -> bool:
    """Whether grounding found none of the ids the action is about (its required order/vehicle fields)."""
    ids = [f for f in action.required if f in ("order_id", "vehicle_id", "region")]
    return bool(ids) and not g.unknown and all(f in g.missing for f in ids)


def _asks_something(args: Any) -> bool:
    """Whether a grounded query has a period, a group or a filter of its own (else it is the whole history's total)."""
    return any(getattr(args, f, None) for f in ("date_from", "group_by", "vehicle_id", "status", "kind"))


def _subject_named(action: Action, text: str, world: Any) -> bool:
    """Whether the message names something of each kind the action is about (an order, a vehicle, a region)."""
    for f in action.required:
        if f == "order_id" and not (ids_in_text(text, world, "order") or (action.name == "new_order" and new_ids_in_text(text, world))):
            return False
        if f == "vehicle_id" and not ids_in_text(text, world, "vehicle"):
            return False
    return True


def _spread_field(action: Action) -> tuple[str, str] | None:
    """The one id field of an action that takes a single order or vehicle id (so it can run once per id)."""
    if action.args is None:
        return None
    fields = [f for f in action.args.model_fields if f in ("order_id", "vehicle_id")]
    if len(fields) != 1 or fields[0] not in action.required:
        return None
    return fields[0], "order" if fields[0] == "order_id" else "vehicle"


_LIST_GAP = re.compile(r"^\s*(?:,|，|、|/|&|\+|and|or|plus|as well as|和|与|跟|及|还有|以及)?\s*(?:also\s+)?$", re.IGNORECASE)


def listed_ids(text: str, ids: list[str]) -> list[str]:
    """The ids the message lists together ("P1 and P2", "V4、V6"): the longest run of ids joined only by list
    words. An id set apart ("where is P1? (not P2)") is not part of the list."""
    spots = sorted((text.lower().find(i.lower()), i) for i in ids if i.lower() in text.lower())
    best: list[str] = []
    run: list[str] = []
    prev_end = -1
    for pos, ident in spots:
        if run and _LIST_GAP.match(text[prev_end:pos]):
            run.append(ident)
        else:
            run = [ident]
        prev_end = pos + len(ident)
        if len(run) > len(best):
            best = list(run)
    return best


HISTORY_TURNS = 3
"""How many earlier exchanges the model sees (as the dispatcher's words and the action taken)."""

DECISION = "decision"
"""Key of the resume value :meth:`DispatcherGraph.decide_draft` sends to the approval interrupt."""


class AgentState(TypedDict, total=False):
    """One conversation's state (checkpointed; plain JSON-able values only)."""

    log: Annotated[list[dict[str, Any]], operator.add]
    """Every exchange so far: ``{"user": text, "action": name}``."""
    current: str
    lang: str
    action: str | None
    actions: list[str]
    """The ordered actions the model chose for the current message."""
    mode: str
    """``do`` or ``ask`` (a question: nothing may be written)."""
    wrote: bool
    args: dict[str, Any] | None
    reply: str
    pending_draft: int | None
    calls: list[dict[str, Any]]
    usage: dict[str, Any]


@dataclass
class TurnResult:
    """What one dispatcher message produced."""

    answer: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    awaiting_approval: bool = False
    wall_s: float = 0.0
    model_s: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per phase of the turn: ``prefill`` (prompt evaluation), ``decode`` (generation), ``tools``
    (everything else: tool calls, planning, the store)."""


def _problem(exc: Exception) -> str:
    """What a refused request says: the tool's message, or the first invalid field of a request model."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
    return str(exc)


def _conversation(state: AgentState) -> list[BaseMessage]:
    """The model's view: the fixed system prompt, recent exchanges, the current message."""
    msgs: list[BaseMessage] = [SystemMessage(prompts.SYSTEM)]
    for item in state.get("log", [])[-HISTORY_TURNS:]:
        msgs.append(HumanMessage(item["user"]))
        msgs.append(AIMessage(prompts.decision_json(item.get("mode", "do"), item.get("actions") or [item["action"]])))
    msgs.append(HumanMessage(state["current"]))
    return msgs


def _user_text(state: AgentState) -> str:
    return " \n".join([*(item["user"] for item in state.get("log", [])[-HISTORY_TURNS:]), state["current"]])


class DispatcherGraph:
    """Builds the graph for one tool context and one chat model."""

    def __init__(self, ctx: ToolContext, model: BaseChatModel, checkpointer: Any, *, phrase: bool = False, on_event: Callable[[str, Any], None] | None = None) -> None:
        self.ctx = ctx
        self.model = model
        self.phrase = phrase
        self.on_event = on_event
        self._model_s = 0.0
        g = StateGraph(AgentState)
        g.add_node("choose", self._choose)
        g.add_node("act", self._act)
        g.add_node("await_approval", self._await_approval)
        g.add_edge(START, "choose")
        g.add_edge("choose", "act")
        g.add_conditional_edges("act", self._after_act, ["await_approval", END])
        g.add_conditional_edges("await_approval", self._after_approval, ["choose", END])
        self.graph = g.compile(checkpointer=checkpointer)

    # ---- model calls ----------------------------------------------------------------------------

    def _decide(self, state: AgentState, messages: list[BaseMessage], schema: dict[str, Any], max_tokens: int = 96) -> dict[str, Any]:
        started = time.perf_counter()
        value, usage = decide(self.model, messages, schema, max_tokens=max_tokens)
        self._model_s += time.perf_counter() - started
        total = dict(state.get("usage") or {})
        for k, v in usage.items():
            total[k] = total.get(k, 0) + v
        state["usage"] = total
        return value

    def _emit(self, what: str, payload: Any) -> None:
        if self.on_event:
            self.on_event(what, payload)

    # ---- nodes -----------------------------------------------------------------------------------

    def _choose(self, state: AgentState) -> dict[str, Any]:
        st = dict(state)
        value = self._decide(st, _conversation(state), prompts.decision_schema(list(ACTIONS)), max_tokens=48)  # type: ignore[arg-type]
        names = _tidy([a for a in prompts.decision_actions(value) if a in ACTIONS])
        if not names:  # a server that ignored the schema: answer politely rather than guess
            names = ["chat"]
        world = self.ctx.world()
        if names == ["plan"]:
            names = self._fact_check(st, state, world) or names
        if "query" in names and "forecast" not in names and future_only(state["current"], world):
            names[names.index("query")] = "forecast"  # the history holds no future days: that question is a forecast
        mode = "ask" if value.get("mode") == "ask" or asks_only(state["current"]) else "do"
        self._emit("action", names[0] if len(names) == 1 else names)
        return {"action": names[0], "actions": names, "mode": mode, "usage": st.get("usage", {}), "args": None}

    def _fact_check(self, st: dict[str, Any], state: AgentState, world: Any) -> list[str] | None:
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
        fact = str(self._decide(st, msgs, prompts.fact_schema(events), max_tokens=16).get("fact"))  # type: ignore[arg-type]
        self._emit("fact", fact)
        return [fact] if fact in events else None

    def _after_choose(self, state: AgentState) -> str:
        return "act"

    def _fill(self, state: AgentState, st: dict[str, Any], action: Action, world: Any, fixed: dict[str, Any] | None, *, shared: bool) -> Grounded:
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
            filled = self._decide(st, msgs, prompts.args_schema(action, only), max_tokens=160)  # type: ignore[arg-type]
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

    def _act(self, state: AgentState) -> dict[str, Any]:
        lang = state.get("lang", "en")
        calls = list(state.get("calls") or [])
        names = list(state.get("actions") or [state.get("action") or "chat"])
        log = [{"user": state["current"], "action": names[0], "actions": names, "mode": state.get("mode", "do")}]
        ask = state.get("mode") == "ask"
        st = dict(state)
        world = self.ctx.world()
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
                outcome = self._run(action.name, args, {**state, "pending_draft": decided}, ask=ask or action.kind in READ_KINDS)
            except (CopilotError, ValidationError) as exc:
                message = _problem(exc)
                calls.append({"tool": action.name, "args": args, "ok": False, "error": message, "mode": mode})
                parts.append(replies.error_reply(message, lang, label))
                return
            calls.append({"tool": action.name, "args": args, "ok": True, "error": None, "mode": mode})
            self._emit("outcome", outcome)
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
                world = self.ctx.world()  # an earlier step of this turn may have changed it
            shared = len({a.name for a, _ in steps}) > 1
            if shared and i and fixed is None and not _subject_named(action, state["current"], world):
                skip(action, "the message names nothing for it")  # a later action whose order or vehicle the message does not name
                continue
            g = self._fill(state, st, action, world, fixed, shared=shared) if action.args is not None else Grounded(args=None)
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
            g = self._fill(state, st, action, world, None, shared=False)
            if g.question is not None:
                parts.append(g.question)
            else:
                run(action, g.args.model_dump() if g.args is not None else {}, None)
        for old in turn_drafts[:-1]:  # one draft per turn: the last one carries every fact of the turn
            with contextlib.suppress(CopilotError):
                lifecycle.discard_draft(self.ctx, lifecycle.PlanRef(plan_id=old))
        if len(turn_drafts) > 1:
            parts = [p for p in parts if p] + [replies.approval_prompt(lang)]
        if ask and any(ACTIONS[n].kind in WRITE_KINDS for n in names):
            parts.append(replies.ask_offer(lang))
        reply = "\n".join(p for p in parts if p) or replies.chat_reply(lang)
        if self.phrase and len(steps) == 1 and steps[0][0].name not in UNTRUSTED_TEXT_ACTIONS and calls and calls[-1]["ok"]:
            reply = self._phrased(reply, lang, state)
        return {"reply": reply, "log": log, "calls": calls, "pending_draft": pending, "wrote": wrote, "usage": st.get("usage", {})}

    def _run(self, name: str, args: dict[str, Any], state: AgentState, *, ask: bool = False) -> Outcome:
        action = ACTIONS[name]
        ctx = self.ctx.read_only() if ask else self.ctx
        if action.kind in ("dispatch", "discard"):
            draft = state.get("pending_draft")
            if draft is None:
                raise InputError("there is no draft from this conversation waiting for approval; ask me to plan or report a change first")
            ref = lifecycle.PlanRef(plan_id=draft)
            summary = lifecycle.approve_plan(ctx, ref) if action.kind == "dispatch" else lifecycle.discard_draft(ctx, ref)
            return Outcome(name, data=summary)
        assert action.run is not None
        parsed = action.args.model_validate(args) if action.args is not None else None
        return action.run(ctx, parsed)

    def _phrased(self, template: str, lang: str, state: AgentState) -> str:
        """The model's wording of a templated reply, kept only when every number and id in it comes from the template."""
        started = time.perf_counter()
        msgs = [SystemMessage(prompts.SYSTEM), HumanMessage(prompts.phrase_request(template, lang))]
        msg = self.model.invoke(msgs, max_tokens=160)
        self._model_s += time.perf_counter() - started
        text = str(msg.content).strip()
        ok = bool(text) and replies.grounded_numbers_ok(text, template) and replies.ids_kept(text, template)
        self._emit("phrased", {"text": text, "kept": ok})
        return text if ok else template

    def _after_act(self, state: AgentState) -> str:
        return "await_approval" if state.get("wrote") and state.get("pending_draft") is not None else END

    def _await_approval(self, state: AgentState) -> dict[str, Any]:
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
            world = self.ctx.world()
            if asks_only(text) or ids_in_text(text, world, "vehicle") or ids_in_text(text, world, "order"):
                answer = "other"  # a question, or a message about a vehicle or an order, is never a bare approval
            else:
                msgs = [SystemMessage(prompts.SYSTEM), HumanMessage(prompts.approval_request(int(draft or 0), text))]
                answer = self._decide(st, msgs, prompts.APPROVAL_SCHEMA, max_tokens=16).get("answer")  # type: ignore[arg-type]
        self._emit("approval", answer)
        base = {"current": str(text), "lang": lang, "calls": [], "usage": st["usage"], "args": None, "actions": [], "mode": "do", "wrote": False}
        if answer in ("approve", "reject"):
            name = "dispatch" if answer == "approve" else "discard"
            log = [{"user": str(text), "action": name, "actions": [name], "mode": "do"}]
            try:
                outcome = self._run(name, {}, {**state, **base})  # type: ignore[typeddict-item]
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

    def turn(self, thread_id: str, text: str) -> TurnResult:
        """Send one dispatcher message in a conversation and return the reply."""
        if not text.strip():
            raise InputError("the message is empty")
        started = time.perf_counter()
        self._model_s = 0.0
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        snap = self.graph.get_state(config)
        waiting = bool(snap.next) and any(t.interrupts for t in snap.tasks)
        if waiting:
            self.graph.invoke(Command(resume=text), config)
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
            self.graph.invoke(fresh, config)
        return self._result(config, started)

    def decide_draft(self, thread_id: str, approve: bool, *, draft_id: int | None = None) -> TurnResult:
        """Approve or reject the draft waiting in a conversation with an explicit decision (a button), without the model.

        ``draft_id``, when given, must be the draft that is waiting (an old button does not decide a newer draft).
        Raises :class:`InputError` when no draft (or another one) is waiting.
        """
        started = time.perf_counter()
        self._model_s = 0.0
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        snap = self.graph.get_state(config)
        pending = snap.values.get("pending_draft")
        if not (snap.next and any(t.interrupts for t in snap.tasks)) or pending is None:
            raise InputError("no draft is waiting for approval in this conversation")
        if draft_id is not None and pending != draft_id:
            raise InputError(f"draft #{draft_id} is no longer waiting for approval (draft #{pending} is)")
        self.graph.invoke(Command(resume={DECISION: "approve" if approve else "reject"}), config)
        return self._result(config, started)

    def _result(self, config: RunnableConfig, started: float) -> TurnResult:
        snap = self.graph.get_state(config)
        values = snap.values
        awaiting = bool(snap.next) and any(t.interrupts for t in snap.tasks)
        usage = values.get("usage") or {}
        wall = time.perf_counter() - started
        prefill, decode = float(usage.get("prefill_s", 0.0)), float(usage.get("decode_s", 0.0))
        phases = {"prefill": round(prefill, 3), "decode": round(decode, 3), "tools": round(max(0.0, wall - self._model_s), 3)}
        return TurnResult(
            answer=str(values.get("reply", "")),
            tool_calls=list(values.get("calls") or []),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            awaiting_approval=awaiting,
            wall_s=wall,
            model_s=self._model_s,
            phases=phases,
        )

    def history(self, thread_id: str) -> list[dict[str, Any]]:
        """The exchanges of a conversation so far."""
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        snap = self.graph.get_state(config)
        return list(snap.values.get("log") or [])
