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

llama-cpp-python and the ``openai`` client are imported only in this package:

* :mod:`~graphs.llm.settings`: :class:`ModelSettings`, the backends, :class:`ContextOverflow`;
* :mod:`~graphs.llm.base`: what both backends share (message conversion, :class:`GenerationStats`);
* :mod:`~graphs.llm.llama`: :class:`LlamaCppChat`, the in-process model;
* :mod:`~graphs.llm.openai_backend`: :class:`OpenAIChat`, an OpenAI-compatible server;
* :mod:`~graphs.llm.factory`: :func:`make_chat_model` and :func:`decide`.
"""

from graphs.llm.base import GenerationStats, message_dicts
from graphs.llm.factory import decide, make_chat_model
from graphs.llm.llama import LlamaCppChat
from graphs.llm.openai_backend import OpenAIChat
from graphs.llm.settings import BACKENDS, ContextOverflow, ModelSettings

__all__ = ["BACKENDS", "ContextOverflow", "GenerationStats", "LlamaCppChat", "ModelSettings", "OpenAIChat", "decide", "make_chat_model", "message_dicts"]
