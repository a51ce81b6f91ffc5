"""The one factory of chat models (:func:`make_chat_model`: the backend the settings name), and the one call the
agent makes through them (:func:`decide`: a constrained decision, parsed)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage

from copilot.core.errors import ConfigurationError, InputError
from graphs import registry
from graphs.llm.llama import LlamaCppChat
from graphs.llm.openai_backend import OpenAIChat
from graphs.llm.settings import BACKENDS, ModelSettings


def make_chat_model(settings: ModelSettings | None = None, *, load: bool = True) -> BaseChatModel:
    """The chat model the settings describe (the in-process model is loaded unless ``load=False``)."""
    s = settings or ModelSettings.from_env()
    if s.backend == "openai":
        return OpenAIChat(settings=s)
    if s.backend != "llama-cpp":
        raise ConfigurationError(f"unknown model backend {s.backend!r}; expected one of {', '.join(BACKENDS)}")
    if s.models_dir is None and not registry.is_path(s.model):
        raise ConfigurationError("models_dir is required to find registry models")
    resolved = registry.resolve(s.model, s.models_dir or Path("."))
    chat = LlamaCppChat(settings=s, model_path=resolved.path, model_sha256=resolved.sha256)
    return chat.load() if load else chat


def decide(model: BaseChatModel, messages: Sequence[BaseMessage], schema: dict[str, Any], *, max_tokens: int = 128) -> tuple[dict[str, Any], dict[str, Any]]:
    """One constrained decision: the model's JSON reply parsed, and its token usage (with the seconds spent
    evaluating the prompt, ``prefill_s``, and generating, ``decode_s``, when the backend measures them).

    Raises :class:`~copilot.core.errors.InputError` when the reply is not a JSON object (a server that ignored
    the schema, or a reply cut off by ``max_tokens``).
    """
    msg = model.invoke(list(messages), json_schema=schema, max_tokens=max_tokens)
    text = str(msg.content).strip()
    usage = getattr(msg, "usage_metadata", None) or {}
    tokens: dict[str, Any] = {"prompt_tokens": int(usage.get("input_tokens", 0)), "completion_tokens": int(usage.get("output_tokens", 0))}
    meta = getattr(msg, "response_metadata", None) or {}
    if "total_s" in meta:  # the phases of the call: prompt evaluation (to the first token) and generation
        ttft, total = float(meta.get("ttft_s") or 0.0), float(meta.get("total_s") or 0.0)
        tokens["prefill_s"], tokens["decode_s"] = ttft, max(0.0, total - ttft)
    try:
        value = json.loads(text)
    except ValueError:
        raise InputError(f"the model's decision is not valid JSON: {text[:200]!r}") from None
    if not isinstance(value, dict):
        raise InputError(f"the model's decision is not a JSON object: {text[:200]!r}")
    return value, tokens
