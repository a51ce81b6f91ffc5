"""Fakes shared by the test packages (import them as ``from fakes import ...``; ``tests/conftest.py`` puts
this folder on the import path). A fake stands in only where the test is not about that component: the
scripted chat model drives the graph's wiring, never a claim about the real model's quality."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from tools.context import PlanSummary, RouteOut, UnassignedOut


class ScriptedChat(BaseChatModel):
    """Returns scripted replies in order; records every prompt and the call options."""

    script: list[str]
    _seen: list[tuple[list[BaseMessage], dict[str, Any]]] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def seen(self) -> list[tuple[list[BaseMessage], dict[str, Any]]]:
        return self._seen

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        self._seen.append((list(messages), kwargs))
        if not self.script:
            raise AssertionError(f"the graph asked the model more often than scripted; last prompt: {messages[-1].content!r}")
        text = self.script.pop(0)
        msg = AIMessage(content=text, usage_metadata={"input_tokens": 10, "output_tokens": 3, "total_tokens": 13})
        return ChatResult(generations=[ChatGeneration(message=msg)])


def act(*names: str, mode: str = "do") -> str:
    return json.dumps({"mode": mode, "action": names[0], "then": names[1] if len(names) > 1 else "none"})


def plan_summary(plan_id: int = 4) -> PlanSummary:
    """A small draft's summary: one route (V9, two stops), one idle vehicle (V8), one unassigned order (O3)."""
    return PlanSummary(
        plan_id=plan_id,
        status="draft",
        vehicles_used=1,
        total_distance_km=12.5,
        orders_served=2,
        unassigned=[UnassignedOut(order_id="O3", reason="no vehicle available")],
        routes=[
            RouteOut(vehicle_id="V9", stops=["O1", "O2"], etas=["09:00", "09:30"], distance_km=12.5, start="08:00", end="10:00"),
            RouteOut(vehicle_id="V8", stops=[], etas=[], distance_km=0.0, start="08:00", end="08:00"),
        ],
        solver="test",
    )
