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
replies, never into prompts. The conversation is a LangGraph thread kept by a checkpointer. What one call
runs with (its tool context, with the actor who wrote or clicked) is LangGraph's run context
(:class:`TurnContext`), never the checkpoint nor the shared agent; its :class:`TurnResult` carries the reply,
the last tool outcome and the plan it carries, for the doors to render.

* :mod:`~graphs.agent.graph`: :class:`DispatcherGraph`, its nodes, one turn;
* :mod:`~graphs.agent.rules`: how the chosen actions become the turn's steps;
* :mod:`~graphs.agent.state`: :class:`AgentState`, :class:`TurnContext`, :class:`TurnResult`.
"""

from graphs.agent.graph import DispatcherGraph
from graphs.agent.rules import MAX_ACTIONS, listed_ids
from graphs.agent.state import DECISION, HISTORY_TURNS, AgentState, TurnContext, TurnResult, plan_summary

__all__ = ["DECISION", "HISTORY_TURNS", "MAX_ACTIONS", "AgentState", "DispatcherGraph", "TurnContext", "TurnResult", "listed_ids", "plan_summary"]
