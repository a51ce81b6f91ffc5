"""What both backends share: LangChain messages as chat-template dicts, and a chat model that keeps the
numbers of its most recent call (:class:`GenerationStats`, for benchmarks and the evaluator)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import PrivateAttr

from copilot.core.errors import InputError


def message_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as chat-template dicts."""
    out: list[dict[str, str]] = []
    for m in messages:
        if isinstance(m, SystemMessage):
            role = "system"
        elif isinstance(m, HumanMessage):
            role = "user"
        elif isinstance(m, AIMessage):
            role = "assistant"
        elif isinstance(m, ToolMessage):
            role = "tool"
        else:
            raise InputError(f"unsupported message type {type(m).__name__}")
        out.append({"role": role, "content": m.content if isinstance(m.content, str) else json.dumps(m.content)})
    return out


@dataclass
class GenerationStats:
    """Numbers about one call, for benchmarks and the evaluator."""

    prompt_tokens: int = 0
    evaluated_tokens: int = 0
    """Prompt tokens actually evaluated (the rest came from a cached prefix)."""
    completion_tokens: int = 0
    ttft_s: float = 0.0
    total_s: float = 0.0
    prefix: str = "none"
    """How the system prefix was obtained: ``kv`` (still in the cache), ``ram``, ``disk``, ``evaluated``."""
    extra: dict[str, Any] = field(default_factory=dict)


class _StatsChat(BaseChatModel):
    """A chat model that keeps numbers about its most recent call."""

    _last: GenerationStats = PrivateAttr(default_factory=GenerationStats)

    @property
    def last(self) -> GenerationStats:
        """Numbers about the most recent call."""
        return self._last
