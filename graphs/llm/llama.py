"""The local GGUF model in-process (llama-cpp-python), as a LangChain chat model.

Prompts are rendered with the model's own chat template (read from the GGUF file) and the evaluated system
prompt is kept: llama.cpp reuses the longest common token prefix of consecutive prompts, a small in-memory
LRU of saved states brings a system prompt back after another one was used, and a disk copy keyed by model
hash + prompt hash lets a new process skip the cold prefill. A ``json_schema`` call option constrains the
reply with a GBNF grammar. ``llama_cpp`` is imported only here, when the model is loaded.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from copilot.core.errors import ConfigurationError
from graphs.llm.base import GenerationStats, _StatsChat, message_dicts
from graphs.llm.settings import ContextOverflow, ModelSettings


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
