"""The real local Qwen (marked ``llm``): a schema-valid decision in-process, and the same through
llama.cpp's OpenAI-compatible server on 127.0.0.1 via the ``openai`` backend, and one agent turn.

These need the default model installed (``logistics-copilot models install``, done by scripts/setup.sh).
They fail (not skip) when it is missing: CI installs it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from copilot.apps.agent import models_dir
from copilot.core.errors import ConfigurationError
from graphs import prompts, registry
from graphs.llm import ContextOverflow, LlamaCppChat, ModelSettings, OpenAIChat, decide, make_chat_model

pytestmark = pytest.mark.llm

MODELS = models_dir()
SCHEMA = prompts.decision_schema(list(prompts.ACTIONS))


@pytest.fixture(scope="module")
def chat() -> LlamaCppChat:
    model = make_chat_model(ModelSettings(threads=2, context=4096, models_dir=MODELS, cache_dir=MODELS / "prefix-cache"))
    assert isinstance(model, LlamaCppChat)
    return model


def _messages(text: str) -> list[object]:
    return [SystemMessage(prompts.SYSTEM), HumanMessage(text)]


def test_default_model_from_the_registry_gives_a_schema_valid_decision(chat: LlamaCppChat) -> None:
    assert chat.model_path == registry.resolve(registry.DEFAULT_MODEL, MODELS).path
    value, usage = decide(chat, _messages("Which van has P546630?"), SCHEMA, max_tokens=48)
    assert set(value) == {"mode", "action", "then"} and value["action"] in prompts.ACTIONS
    assert prompts.decision_actions(value) == ["order_status"]
    assert usage["prompt_tokens"] > 100 and usage["completion_tokens"] > 0
    # a second conversation reuses the evaluated system prompt: only the new turn is evaluated
    decide(chat, _messages("HZ-V3 broke down."), SCHEMA, max_tokens=48)
    assert chat.last.prefix == "kv" and chat.last.evaluated_tokens < 40


def test_context_overflow_is_a_clear_error(chat: LlamaCppChat) -> None:
    with pytest.raises(ContextOverflow, match="context"):
        chat.invoke([HumanMessage("word " * 6000)], max_tokens=16)


def test_missing_model_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"logistics-copilot models install qwen2\.5-coder-0\.5b"):
        make_chat_model(ModelSettings(model="qwen2.5-coder-0.5b", models_dir=tmp_path))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = registry.resolve(registry.DEFAULT_MODEL, MODELS).path
    port = _free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host", "127.0.0.1", "--port", str(port), "--n_threads", "2", "--n_ctx", "4096"]
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    log = log_path.open("wb")  # a file, not a pipe: a full pipe would block the chatty server
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as r:
                    json.load(r)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError(f"llama.cpp server did not start: {log_path.read_text(errors='replace')[-2000:]}") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_same_decision_through_the_openai_compatible_server(server: str) -> None:
    model = make_chat_model(ModelSettings(backend="openai", base_url=server, server_model="qwen", max_tokens=48))
    assert isinstance(model, OpenAIChat)
    value, usage = decide(model, _messages("Which van has P546630?"), SCHEMA, max_tokens=48)
    assert set(value) == {"mode", "action", "then"} and value["action"] in prompts.ACTIONS
    assert usage["completion_tokens"] > 0


def test_unreachable_server_is_a_clear_error() -> None:
    model = make_chat_model(ModelSettings(backend="openai", base_url=f"http://127.0.0.1:{_free_port()}/v1", timeout_s=3))
    with pytest.raises(ConfigurationError, match="unreachable"):
        decide(model, _messages("hello"), SCHEMA)
