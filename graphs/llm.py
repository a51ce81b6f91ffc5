"""Model backends: the local Qwen in-process (llama-cpp-python) or any OpenAI-compatible server.

Both are LangChain chat models (so LangGraph nodes can call them) made by one factory,
:func:`make_chat_model`. Both accept a ``json_schema`` call option: the reply is then constrained to
valid JSON of that shape (a GBNF grammar in-process; ``response_format`` on a server), which is how the
agent gets a small model's decision as data. Qwen's native ``<tool_call>`` output is not used at all:
small Qwen models rarely emit it and llama-cpp-python's function-calling handlers mishandle it, while
grammar-constrained output is always valid.

The in-process backend renders prompts with the model's own chat template (read from the GGUF file)
and keeps the evaluated system prompt: llama.cpp reuses the longest common token prefix of consecutive
prompts, a small in-memory LRU of saved states brings a system prompt back after another one was used,
and a disk copy keyed by model hash + prompt hash lets a new process skip the cold prefill.

llama-cpp-python and the ``openai`` client are imported only in this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

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


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _digest(tokens: Sequence[int]) -> str:
    return hashlib.sha256(json.dumps(list(tokens)).encode()).hexdigest()[:24]


@dataclass
class _Prefix:
    """A saved evaluated prompt prefix (the KV cache of its tokens), without the big logits buffer."""

    tokens: list[int]
    state: bytes
    seed: int


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


class LlamaCppChat(_StatsChat):
    """The local GGUF model in-process, as a LangChain chat model."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    settings: ModelSettings
    model_path: Path
    model_sha256: str | None = None
    _llm: Any = PrivateAttr(default=None)
    _formatter: Any = PrivateAttr(default=None)
    _grammars: dict[str, Any] = PrivateAttr(default_factory=dict)
    _prefixes: OrderedDict[str, _Prefix] = PrivateAttr(default_factory=OrderedDict)
    _prefix_len: dict[str, int] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _load_s: float = PrivateAttr(default=0.0)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-in-process"

    @property
    def load_seconds(self) -> float:
        """How long loading the model file took."""
        return self._load_s

    @property
    def llama(self) -> Any:
        """The underlying ``llama_cpp.Llama`` (for benchmarks)."""
        return self._llm

    def load(self) -> LlamaCppChat:
        """Load the model file (checks memory first); returns self."""
        try:
            import llama_cpp
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ConfigurationError(f"llama-cpp-python is not installed or failed to import ({exc}); run scripts/setup.sh") from exc
        size = sum(p.stat().st_size for p in self.model_path.parent.glob(self.model_path.name.split("-00001-of-")[0] + "*.gguf"))
        need = int(size * 1.1) + self.settings.context * 64 * 1024 + 300_000_000
        avail = _available_memory()
        if self.settings.gpu_layers == 0 and avail is not None and avail < need:
            raise ConfigurationError(
                f"not enough memory to load {self.model_path.name}: needs about {need / 1e9:.1f} GB, {avail / 1e9:.1f} GB available; "
                "close other programs, lower --context, or choose a smaller model (logistics-copilot models list)"
            )
        started = time.perf_counter()
        try:
            llm = llama_cpp.Llama(
                model_path=str(self.model_path),
                n_ctx=self.settings.context,
                n_threads=self.settings.threads or os.cpu_count() or 1,
                n_threads_batch=self.settings.threads or os.cpu_count() or 1,
                n_batch=self.settings.batch,
                n_gpu_layers=self.settings.gpu_layers,
                seed=self.settings.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ConfigurationError(f"llama.cpp could not load {self.model_path}: {exc}") from exc
        self._load_s = time.perf_counter() - started
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ConfigurationError(f"{self.model_path.name} carries no chat template (tokenizer.chat_template)")
        eos = llm._model.token_get_text(llm.token_eos())
        bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() >= 0 else ""
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, stop_token_ids=[llm.token_eos()])
        self._llm = llm
        return self

    # ---- prompts -------------------------------------------------------------------------------

    def render(self, messages: list[dict[str, str]]) -> tuple[str, list[str]]:
        """The prompt text (with the generation prompt) and its stop strings, by the model's template."""
        resp = self._formatter(messages=messages)
        stop = resp.stop if isinstance(resp.stop, list) else ([resp.stop] if resp.stop else [])
        return resp.prompt, stop

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a rendered prompt (special tokens parsed, no BOS added)."""
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _system_prefix_len(self, messages: list[dict[str, str]]) -> int:
        """How many leading tokens belong to the system message (0 when there is none)."""
        if not messages or messages[0]["role"] != "system":
            return 0
        key = hashlib.sha256(messages[0]["content"].encode()).hexdigest()
        if key not in self._prefix_len:
            a = self.tokenize(self.render([messages[0], {"role": "user", "content": "a"}])[0])
            b = self.tokenize(self.render([messages[0], {"role": "user", "content": "b"}])[0])
            n = 0
            for x, y in zip(a, b, strict=False):
                if x != y:
                    break
                n += 1
            self._prefix_len[key] = n
        return self._prefix_len[key]

    def _cache_path(self, digest: str) -> Path | None:
        base = self.settings.cache_dir or (self.settings.models_dir / "prefix-cache" if self.settings.models_dir else None)
        if base is None:
            return None
        model = (self.model_sha256 or hashlib.sha256(str(self.model_path.resolve()).encode()).hexdigest())[:16]
        return base / f"{model}-c{self.settings.context}-b{self.settings.batch}-{digest}.state"

    def _ensure_prefix(self, tokens: list[int], n: int) -> str:
        """Make the KV cache hold ``tokens[:n]`` (from the cache, RAM, disk, or by evaluating it)."""
        llm = self._llm
        if n == 0:
            return "none"
        current = llm._input_ids
        if len(current) >= n and list(current[:n]) == tokens[:n]:
            return "kv"
        import numpy as np
        from llama_cpp import LlamaState

        digest = _digest(tokens[:n])
        saved = self._prefixes.get(digest)
        how = "ram"
        path = self._cache_path(digest)
        if saved is None and path is not None and path.is_file():
            try:
                data = pickle.loads(path.read_bytes())
                saved = _Prefix(tokens=list(data["tokens"]), state=data["state"], seed=int(data["seed"]))
                how = "disk"
            except (OSError, ValueError, KeyError, pickle.UnpicklingError, EOFError):
                path.unlink(missing_ok=True)
                saved = None
        if saved is not None and saved.tokens == tokens[:n]:
            ids = np.zeros(llm._n_ctx, dtype=np.intc)
            ids[:n] = saved.tokens
            llm.load_state(LlamaState(input_ids=ids, scores=llm.scores[:n], n_tokens=n, llama_state=saved.state, llama_state_size=len(saved.state), seed=saved.seed))
        else:
            how = "evaluated"
            llm.reset()
            llm.eval(tokens[:n])
            st = llm.save_state()
            saved = _Prefix(tokens=tokens[:n], state=bytes(st.llama_state), seed=int(st.seed))
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(pickle.dumps({"tokens": saved.tokens, "state": saved.state, "seed": saved.seed}))
                tmp.replace(path)
        self._prefixes[digest] = saved
        self._prefixes.move_to_end(digest)
        while len(self._prefixes) > 4:
            self._prefixes.popitem(last=False)
        return how

    def _grammar(self, schema: dict[str, Any]) -> Any:
        from llama_cpp.llama_grammar import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
        return self._grammars[key]

    # ---- generation ----------------------------------------------------------------------------

    def _prepare(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> tuple[list[int], dict[str, Any], GenerationStats]:
        if self._llm is None:
            self.load()
        dicts = message_dicts(messages)
        prompt, template_stop = self.render(dicts)
        tokens = self.tokenize(prompt)
        max_tokens = int(kwargs.get("max_tokens") or self.settings.max_tokens)
        if len(tokens) + max_tokens > self.settings.context:
            raise ContextOverflow(
                f"the conversation needs {len(tokens)} prompt tokens + {max_tokens} for the reply, more than the model's context of "
                f"{self.settings.context} tokens; start a new conversation or raise the context setting (LOGISTICS_COPILOT_LLM_CONTEXT)"
            )
        stats = GenerationStats(prompt_tokens=len(tokens))
        n_prefix = self._system_prefix_len(dicts)
        stats.prefix = self._ensure_prefix(tokens, n_prefix)
        common = 0
        for a, b in zip(self._llm._input_ids, tokens, strict=False):
            if a != b:
                break
            common += 1
        stats.evaluated_tokens = len(tokens) - min(common, len(tokens) - 1) + (n_prefix if stats.prefix == "evaluated" else 0)
        call: dict[str, Any] = {
            "max_tokens": max_tokens,
            "temperature": float(kwargs.get("temperature", self.settings.temperature)),
            "seed": self.settings.seed,
            "stop": [*template_stop, *(stop or [])],
        }
        schema = kwargs.get("json_schema")
        if schema is not None:
            call["grammar"] = self._grammar(schema)
        return tokens, call, stats

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = ""
        for chunk in self._stream(messages, stop, run_manager, **kwargs):
            text += str(chunk.message.content)
        return ChatResult(generations=[ChatGeneration(message=self._final_message(text))])

    def _final_message(self, text: str) -> AIMessage:
        s = self.last
        return AIMessage(
            content=text,
            usage_metadata={"input_tokens": s.prompt_tokens, "output_tokens": s.completion_tokens, "total_tokens": s.prompt_tokens + s.completion_tokens},
            response_metadata={"ttft_s": s.ttft_s, "total_s": s.total_s, "evaluated_tokens": s.evaluated_tokens, "prefix": s.prefix},
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with self._lock:
            started = time.perf_counter()
            tokens, call, stats = self._prepare(messages, stop, kwargs)
            self._last = stats
            n = 0
            for part in self._llm.create_completion(tokens, stream=True, **call):
                piece = part["choices"][0]["text"]
                if n == 0:
                    stats.ttft_s = time.perf_counter() - started
                n += 1
                if piece:
                    if run_manager:
                        run_manager.on_llm_new_token(piece)
                    yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
            stats.completion_tokens = n
            stats.total_s = time.perf_counter() - started


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
