"""What a conversation keeps (:class:`AgentState`, checkpointed), what one call of the graph runs with and
gathers (:class:`TurnContext`, never checkpointed), and what it returns (:class:`TurnResult`)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import ValidationError

from graphs import prompts
from graphs.toolset import Outcome
from tools.context import PlanSummary, ToolContext

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
    outcome: Outcome | None = None
    """The last tool outcome of the actions the message asked for (``None`` when no tool ran, and when the message
    or button only decided the waiting draft: that reply is the whole answer)."""
    plan_summary: PlanSummary | None = None
    """The plan that outcome carries (:func:`plan_summary`): the draft a fact re-planned, or the plan made or
    shown; what a door renders as a route table with its key figures."""


def plan_summary(outcome: Outcome | None) -> PlanSummary | None:
    """The plan an outcome carries, if any: the draft of a recorded fact (``data.draft``), or the plan itself."""
    data = outcome.data if outcome is not None else None
    draft = getattr(data, "draft", None)
    if isinstance(draft, PlanSummary):
        return draft
    return data if isinstance(data, PlanSummary) else None


@dataclass
class TurnContext:
    """What one call of the graph (a message, or an explicit decision) runs with and gathers; LangGraph hands it to
    every node as the run's context, so it is never checkpointed and never shared between calls.

    ``tools`` is the tool context of this call: the agent's own, or a copy with this call's actor (and store),
    so that two people talking to the same agent each sign their own changes in the audit trail.
    """

    tools: ToolContext
    on_event: Callable[[str, Any], None] | None = None
    """Progress of the call: ``(what, payload)`` for ``action``, ``fact``, ``outcome``, ``phrased``, ``approval``."""
    model_s: float = 0.0
    """Seconds spent in the model so far."""
    outcome: Outcome | None = None
    """The last tool outcome so far (see :attr:`TurnResult.outcome`)."""

    def emit(self, what: str, payload: Any) -> None:
        """Report progress (and keep the last tool outcome)."""
        if what == "outcome":
            self.outcome = payload
        if self.on_event:
            self.on_event(what, payload)


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
