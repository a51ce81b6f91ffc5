"""The dispatcher agent: a LangGraph graph where the model makes one constrained decision at a time.

::

    START -> choose --(action needs arguments)--> fill --> act --(draft saved)--> await_approval (interrupt)
               |                                   |        \\--> END (reply from the tool's result)
               +--(no arguments)--> act            +--> END (a question: a value is missing or unknown)

* ``choose``: the model picks one action name (constrained to the list).
* ``fill``: the model fills that action's arguments (constrained to its schema); :func:`graphs.toolset.ground`
  checks them against the store and the dispatcher's own words; a missing or unknown value becomes a question.
* ``act``: code calls the tool and does the follow-up steps (an event is recorded, re-planned into a draft,
  summarised); the reply is composed from the tool's result (:mod:`graphs.replies`).
* ``await_approval``: a draft waits here (a LangGraph interrupt) for the dispatcher's next message; only a
  message the model classifies as approval (or an explicit decision sent by :meth:`DispatcherGraph.decide_draft`,
  e.g. a Slack button) commits it, and it is the code that commits exactly that draft.
  Anything else leaves the draft as it is and is handled as a new request.

Only the dispatcher's messages reach the model; tool results (which may quote customer notes) go into
replies, never into prompts. The conversation is a LangGraph thread kept by a checkpointer.
"""

from __future__ import annotations

import operator
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

from copilot.errors import CopilotError, InputError
from graphs import prompts, replies
from graphs.llm import decide
from graphs.toolset import ACTIONS, Outcome, args_from_text, ground
from tools import lifecycle
from tools.context import ToolContext

UNTRUSTED_TEXT_ACTIONS = frozenset({"notes", "order_status"})
"""Replies that quote customer text: never sent back through the model."""

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
    args: dict[str, Any] | None
    reply: str
    pending_draft: int | None
    calls: list[dict[str, Any]]
    usage: dict[str, int]


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
        msgs.append(AIMessage(f'{{"action": "{item["action"]}"}}'))
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
        g.add_node("fill", self._fill)
        g.add_node("act", self._act)
        g.add_node("await_approval", self._await_approval)
        g.add_edge(START, "choose")
        g.add_conditional_edges("choose", self._after_choose, ["fill", "act"])
        g.add_conditional_edges("fill", self._after_fill, ["act", END])
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
        names = list(ACTIONS)
        st = dict(state)
        value = self._decide(st, _conversation(state), prompts.action_schema(names), max_tokens=24)  # type: ignore[arg-type]
        action = str(value.get("action"))
        if action not in ACTIONS:  # a server that ignored the schema: answer politely rather than guess
            action = "chat"
        self._emit("action", action)
        return {"action": action, "usage": st.get("usage", {}), "args": None}

    def _after_choose(self, state: AgentState) -> str:
        return "fill" if ACTIONS[str(state["action"])].args is not None else "act"

    def _fill(self, state: AgentState) -> dict[str, Any]:
        action = ACTIONS[str(state["action"])]
        st = dict(state)
        world = self.ctx.world()
        raw = args_from_text(action, state["current"], world)
        if raw is None:
            msgs = _conversation(state)
            msgs.append(AIMessage(f'{{"action": "{action.name}"}}'))
            msgs.append(HumanMessage(prompts.args_request(action)))
            raw = self._decide(st, msgs, prompts.args_schema(action), max_tokens=160)  # type: ignore[arg-type]
        g = ground(action, raw, world, state["current"], _user_text(state), state.get("lang", "en"))
        calls = list(state.get("calls") or [])
        if g.question is not None:
            calls.append({"tool": action.name, "args": raw, "ok": False, "error": f"not grounded: {g.question}"})
            return {"reply": g.question, "args": None, "calls": calls, "usage": st.get("usage", {}), "log": [{"user": state["current"], "action": action.name}]}
        return {"args": g.args.model_dump() if g.args is not None else {}, "usage": st.get("usage", {})}

    def _after_fill(self, state: AgentState) -> str:
        return END if state.get("args") is None else "act"

    def _act(self, state: AgentState) -> dict[str, Any]:
        action = ACTIONS[str(state["action"])]
        lang = state.get("lang", "en")
        calls = list(state.get("calls") or [])
        log = [{"user": state["current"], "action": action.name}]
        args = state.get("args") or {}
        if action.kind == "chat":
            return {"reply": replies.chat_reply(lang), "log": log, "calls": calls, "pending_draft": state.get("pending_draft")}
        try:
            outcome = self._run(action.name, args, state)
        except (CopilotError, ValidationError) as exc:
            message = _problem(exc)
            calls.append({"tool": action.name, "args": args, "ok": False, "error": message})
            return {"reply": replies.error_reply(message, lang), "log": log, "calls": calls}
        calls.append({"tool": action.name, "args": args, "ok": True, "error": None})
        self._emit("outcome", outcome)
        reply = replies.compose(outcome, lang)
        if self.phrase and action.name not in UNTRUSTED_TEXT_ACTIONS:
            reply = self._phrased(reply, lang, state)
        update: dict[str, Any] = {"reply": reply, "log": log, "calls": calls}
        if outcome.draft_id is not None:
            update["pending_draft"] = outcome.draft_id
        elif action.kind in ("dispatch", "discard"):
            update["pending_draft"] = None
        return update

    def _run(self, name: str, args: dict[str, Any], state: AgentState) -> Outcome:
        action = ACTIONS[name]
        if action.kind in ("dispatch", "discard"):
            draft = state.get("pending_draft")
            if draft is None:
                raise InputError("there is no draft from this conversation waiting for approval; ask me to plan or report a change first")
            ref = lifecycle.PlanRef(plan_id=draft)
            summary = lifecycle.approve_plan(self.ctx, ref) if action.kind == "dispatch" else lifecycle.discard_draft(self.ctx, ref)
            return Outcome(name, data=summary)
        assert action.run is not None
        parsed = action.args.model_validate(args) if action.args is not None else None
        return action.run(self.ctx, parsed)

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
        action = ACTIONS[str(state["action"])]
        if action.kind in ("event", "plan") and state.get("pending_draft") is not None and state["calls"] and state["calls"][-1].get("ok"):
            return "await_approval"
        return END

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
            msgs = [SystemMessage(prompts.SYSTEM), HumanMessage(prompts.approval_request(int(draft or 0), text))]
            answer = self._decide(st, msgs, prompts.APPROVAL_SCHEMA, max_tokens=16).get("answer")  # type: ignore[arg-type]
        self._emit("approval", answer)
        base = {"current": str(text), "lang": lang, "calls": [], "usage": st["usage"], "args": None}
        if answer in ("approve", "reject"):
            name = "dispatch" if answer == "approve" else "discard"
            log = [{"user": str(text), "action": name}]
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
            fresh: AgentState = {"current": text, "lang": replies.language(text), "calls": [], "usage": {}, "action": None, "args": None, "reply": ""}
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
        return TurnResult(
            answer=str(values.get("reply", "")),
            tool_calls=list(values.get("calls") or []),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            awaiting_approval=awaiting,
            wall_s=time.perf_counter() - started,
            model_s=self._model_s,
        )

    def history(self, thread_id: str) -> list[dict[str, Any]]:
        """The exchanges of a conversation so far."""
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        snap = self.graph.get_state(config)
        return list(snap.values.get("log") or [])
