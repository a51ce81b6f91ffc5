"""How to run the chat model: :class:`ModelSettings` (from the ``LOGISTICS_COPILOT_LLM_*`` variables), the
backends there are, and the error a prompt too long for the context window raises."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from copilot.core import settings as cfg
from copilot.core.errors import ConfigurationError, InputError
from graphs import registry

BACKENDS = ("llama-cpp", "openai")


class ContextOverflow(InputError):
    """The prompt (plus the reply budget) does not fit in the model's context window."""


@dataclass(frozen=True)
class ModelSettings:
    """How to run the model. ``from_env`` reads the ``LOGISTICS_COPILOT_LLM_*`` variables."""

    model: str = registry.DEFAULT_MODEL
    """A registry name (``logistics-copilot models list``) or a path to a .gguf file."""
    backend: str = "llama-cpp"
    """``llama-cpp`` (in-process, default) or ``openai`` (any OpenAI-compatible server)."""
    threads: int | None = None
    """CPU threads for generation (default: all cores). Use 1 when a solver may run at the same time."""
    context: int = 4096
    gpu_layers: int = 0
    """Layers to offload to a GPU (``-1`` = all); needs llama-cpp-python built with CUDA/Metal/Vulkan."""
    batch: int = 512
    seed: int = 0
    temperature: float = 0.0
    max_tokens: int = 256
    base_url: str | None = None
    """For ``openai``: the server's ``/v1`` URL, e.g. ``http://127.0.0.1:8080/v1``."""
    api_key: str | None = None
    server_model: str | None = None
    """For ``openai``: the model name the server expects (default: ``model``)."""
    timeout_s: float = 120.0
    models_dir: Path | None = None
    cache_dir: Path | None = None
    """Where evaluated prompt prefixes are kept on disk (default: ``<models_dir>/prefix-cache``)."""

    @classmethod
    def from_env(cls, **overrides: Any) -> ModelSettings:
        """Settings from the environment, then ``overrides`` (``None`` values are ignored)."""
        env = cfg.environment()
        values: dict[str, Any] = {}
        for key, conv in (
            ("model", str),
            ("backend", str),
            ("threads", int),
            ("context", int),
            ("gpu_layers", int),
            ("base_url", str),
            ("api_key", str),
            ("server_model", str),
        ):
            raw = env.get(f"{cfg.LLM_PREFIX}{key.upper()}")
            if raw:
                try:
                    values[key] = conv(raw)
                except ValueError:
                    raise ConfigurationError(f"LOGISTICS_COPILOT_LLM_{key.upper()}={raw!r} is not a valid {conv.__name__}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)
