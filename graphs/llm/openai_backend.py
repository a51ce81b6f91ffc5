"""Any OpenAI-compatible chat server (llama.cpp's server, vLLM, a hosted Qwen) through the ``openai`` client,
as a LangChain chat model. A ``json_schema`` call option becomes ``response_format`` (``json_schema``, or
``json_object`` with a schema for servers that want that). ``openai`` is imported only here."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from copilot.core import settings as cfg
from copilot.core.errors import ConfigurationError
from graphs.llm.base import GenerationStats, _StatsChat, message_dicts
from graphs.llm.settings import ContextOverflow, ModelSettings


class OpenAIChat(_StatsChat):
    """Any OpenAI-compatible chat server (llama.cpp's server, vLLM, a hosted Qwen) through the ``openai`` client."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    settings: ModelSettings
    _client: Any = PrivateAttr(default=None)
    _schema_style: str = PrivateAttr(default="json_schema")

    @property
    def _llm_type(self) -> str:
        return "openai-compatible"

    def client(self) -> Any:
        """The ``openai.OpenAI`` client (created on first use)."""
        if self._client is None:
            try:
                import openai
            except ImportError as exc:  # pragma: no cover
                raise ConfigurationError("the openai package is not installed; run scripts/setup.sh") from exc
            if not self.settings.base_url:
                raise ConfigurationError("the openai backend needs a server URL: set LOGISTICS_COPILOT_LLM_BASE_URL, e.g. http://127.0.0.1:8080/v1")
            self._client = openai.OpenAI(
                base_url=self.settings.base_url, api_key=self.settings.api_key or cfg.env(cfg.OPENAI_API_KEY) or "none", timeout=self.settings.timeout_s
            )
        return self._client

    def _request(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any], stream: bool) -> Any:
        import openai

        call: dict[str, Any] = {
            "model": self.settings.server_model or self.settings.model,
            "messages": message_dicts(messages),
            "max_tokens": int(kwargs.get("max_tokens") or self.settings.max_tokens),
            "temperature": float(kwargs.get("temperature", self.settings.temperature)),
            "seed": self.settings.seed,
            "stream": stream,
        }
        if stop:
            call["stop"] = stop
        if stream:
            call["stream_options"] = {"include_usage": True}
        schema = kwargs.get("json_schema")
        for attempt in range(2):
            if schema is not None:
                if self._schema_style == "json_schema":
                    call["response_format"] = {"type": "json_schema", "json_schema": {"name": "decision", "schema": schema, "strict": True}}
                else:  # llama-cpp-python's server: json_object with a schema
                    call["response_format"] = {"type": "json_object", "schema": schema}
            try:
                return self.client().chat.completions.create(**call)
            except openai.APIConnectionError as exc:
                raise ConfigurationError(f"the model server at {self.settings.base_url} is unreachable ({exc}); is it running?") from exc
            except openai.BadRequestError as exc:
                text = str(exc)
                if "context" in text.lower() and ("length" in text.lower() or "token" in text.lower()):
                    raise ContextOverflow(f"the model server rejected the prompt as too long: {text}") from exc
                if schema is not None and attempt == 0 and self._schema_style == "json_schema":
                    self._schema_style = "json_object"
                    continue
                raise ConfigurationError(f"the model server at {self.settings.base_url} rejected the request: {text}") from exc
            except openai.APIStatusError as exc:
                rejected_format = exc.status_code in (400, 422) or (exc.status_code == 500 and "response_format" in str(exc))
                if schema is not None and attempt == 0 and self._schema_style == "json_schema" and rejected_format:
                    self._schema_style = "json_object"
                    continue
                raise ConfigurationError(f"the model server at {self.settings.base_url} answered {exc.status_code}: {exc}") from exc
        raise ConfigurationError("the model server does not accept JSON-schema constrained output")  # pragma: no cover

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        started = time.perf_counter()
        resp = self._request(messages, stop, kwargs, stream=False)
        text = resp.choices[0].message.content or ""
        usage = resp.usage
        pt = int(getattr(usage, "prompt_tokens", 0) or 0)
        ct = int(getattr(usage, "completion_tokens", 0) or 0)
        total = time.perf_counter() - started
        self._last = GenerationStats(prompt_tokens=pt, evaluated_tokens=pt, completion_tokens=ct, ttft_s=total, total_s=total, prefix="server")
        msg = AIMessage(content=text, usage_metadata={"input_tokens": pt, "output_tokens": ct, "total_tokens": pt + ct}, response_metadata={"total_s": total})
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        started = time.perf_counter()
        stats = GenerationStats(prefix="server")
        self._last = stats
        for event in self._request(messages, stop, kwargs, stream=True):
            if event.usage is not None:
                stats.prompt_tokens = int(event.usage.prompt_tokens or 0)
                stats.completion_tokens = int(event.usage.completion_tokens or 0)
            if not event.choices:
                continue
            piece = event.choices[0].delta.content or ""
            if piece:
                if not stats.ttft_s:
                    stats.ttft_s = time.perf_counter() - started
                if run_manager:
                    run_manager.on_llm_new_token(piece)
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        stats.total_s = time.perf_counter() - started
