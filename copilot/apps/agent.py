"""Wiring of the dispatcher agent: the model from settings, the tool context, the conversation store.

Every chat door (terminal chat, Slack, the evaluator) gets its agent from here, so they all run the
very same graph (:class:`graphs.agent.DispatcherGraph`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from copilot.apps.wiring import make_context
from copilot.core import settings as cfg
from graphs.agent import DispatcherGraph, TurnResult
from graphs.checkpoint import make_checkpointer, sqlite_checkpointer
from graphs.llm import ModelSettings, make_chat_model
from tools.context import ToolContext
from tools.sql import SqlStore
from tools.sql.engine import data_dir, default_url

__all__ = ["TurnResult", "load_chat_model", "make_agent", "make_agent_factory", "models_dir"]


MODELS_ENV = cfg.MODELS


def models_dir() -> Path:
    """Where registry models are installed: ``$LOGISTICS_COPILOT_MODELS``, else ``<data dir>/models``."""
    env = cfg.env(MODELS_ENV)
    return Path(env).expanduser() if env else data_dir() / "models"


def model_settings(model: str | None = None, threads: int | None = None, **overrides: Any) -> ModelSettings:
    """Model settings from the environment, then the given values."""
    return ModelSettings.from_env(model=model, threads=threads, models_dir=models_dir(), **overrides)


def load_chat_model(model: str | None = None, threads: int | None = None, **overrides: Any) -> Any:
    """The configured chat model, loaded (in-process) or connected (OpenAI-compatible server)."""
    return make_chat_model(model_settings(model, threads, **overrides))


def make_agent_factory(model: str | None = None, threads: int | None = None, **overrides: Any) -> Callable[[ToolContext], DispatcherGraph]:
    """Load the model once; each call then gives an agent on a tool context with a throw-away conversation store."""
    chat = load_chat_model(model, threads, **overrides)

    def factory(ctx: ToolContext) -> DispatcherGraph:
        return DispatcherGraph(ctx, chat, sqlite_checkpointer(":memory:"))

    factory.chat_model = chat  # type: ignore[attr-defined]
    factory.model_name = model_settings(model, threads, **overrides).model  # type: ignore[attr-defined]
    return factory


def make_agent(store: SqlStore, world_name: str, chat_model: Any, *, url: str | None = None) -> DispatcherGraph:
    """An agent on a stored world whose conversations persist (SQLite next to the data, or PostgreSQL)."""
    ctx = make_context(store, world_name, actor="copilot")
    return DispatcherGraph(ctx, chat_model, make_checkpointer(url or default_url(), data_dir()))
