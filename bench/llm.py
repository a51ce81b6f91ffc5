"""Speed of the local model through our backend against raw llama-cpp-python, same prompt, same run.

    python bench/llm.py --json results/llm.json [--models qwen2.5-coder-1.5b,qwen2.5-coder-0.5b] [--threads 2]

Per model: load time and RSS, prefill tokens/s (cold system prompt), decode tokens/s, time to first token
cold (nothing cached), warm (a new conversation whose system prompt is cached in memory) and from the
disk cache (a freshly loaded model that restores the saved prompt state), and the latency of one
constrained agent decision. The raw baseline is ``llama_cpp.Llama.create_completion`` on the same
rendered prompt with the same settings; raw and ours alternate for ``--repeats`` rounds and medians are
compared. Top-level keys ``decode_ratio_vs_raw`` and ``warm_ttft_s`` are those of the first (default) model.
Keep the machine otherwise idle: llama.cpp on 2 threads collapses when another process takes a core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from langchain_core.messages import HumanMessage, SystemMessage  # noqa: E402

from copilot.apps.agent import models_dir  # noqa: E402
from graphs import prompts, registry  # noqa: E402
from graphs.llm import LlamaCppChat, ModelSettings, decide  # noqa: E402

DECODE_PROMPT = "Write a numbered list of 60 short, different tips for a courier driver, one line each."
NEW_TURNS = (
    "Which van has P546630?",
    "HZ-V3 just broke down, get its remaining pickups covered.",
    "How many vehicles are we running today and how many km in total?",
    "Customer cancelled P1215666.",
    "今天一共用了几辆车？",
)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def stream_ours(chat: LlamaCppChat, messages: list[Any], max_tokens: int) -> dict[str, float]:
    started = time.perf_counter()
    first = None
    for _ in chat.stream(messages, max_tokens=max_tokens):
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    stats = chat.last
    ttft = (first or end) - started
    decode_tokens = max(stats.completion_tokens - 1, 0)
    return {
        "ttft_s": ttft,
        "total_s": end - started,
        "completion_tokens": stats.completion_tokens,
        "prompt_tokens": stats.prompt_tokens,
        "evaluated_tokens": stats.evaluated_tokens,
        "prefix": stats.prefix,  # type: ignore[dict-item]
        "decode_tok_s": decode_tokens / (end - (first or end)) if first and end > first else 0.0,
    }


def stream_raw(llm: Any, tokens: list[int], max_tokens: int, stop: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    first = None
    n = 0
    for _ in llm.create_completion(tokens, max_tokens=max_tokens, temperature=0.0, seed=0, stop=stop, stream=True):
        if first is None:
            first = time.perf_counter()
        n += 1
    end = time.perf_counter()
    return {"ttft_s": (first or end) - started, "completion_tokens": n, "decode_tok_s": (n - 1) / (end - first) if first and end > first else 0.0}


def bench_model(name: str, threads: int, repeats: int, max_tokens: int) -> dict[str, Any]:
    import llama_cpp

    cache = Path(tempfile.mkdtemp(prefix="llm-bench-cache-"))
    settings = ModelSettings(model=name, threads=threads, models_dir=models_dir(), cache_dir=cache)
    resolved = registry.resolve(name, models_dir())
    out: dict[str, Any] = {"model": name, "file": str(resolved.path), "threads": threads}

    rss0 = rss_mb()
    chat = LlamaCppChat(settings=settings, model_path=resolved.path, model_sha256=resolved.sha256).load()
    out["load_s"] = round(chat.load_seconds, 3)
    out["rss_mb"] = round(rss_mb() - rss0, 1)
    out["rss_total_mb"] = round(rss_mb(), 1)

    system = SystemMessage(prompts.SYSTEM)
    # cold: nothing cached anywhere
    cold = stream_ours(chat, [system, HumanMessage(NEW_TURNS[0])], 8)
    out["system_prompt_tokens"] = chat._system_prefix_len([{"role": "system", "content": prompts.SYSTEM}])
    out["cold_ttft_s"] = round(cold["ttft_s"], 3)
    out["prefill_tok_s"] = round(cold["evaluated_tokens"] / cold["ttft_s"], 1)
    # warm: new conversations, system prompt state in memory
    warm = [stream_ours(chat, [system, HumanMessage(t)], 8) for t in NEW_TURNS[1:]]
    out["warm_ttft_s_each"] = [round(w["ttft_s"], 3) for w in warm]
    out["warm_ttft_s"] = round(statistics.median(w["ttft_s"] for w in warm), 3)
    out["warm_prefix_sources"] = [w["prefix"] for w in warm]
    # one constrained decision (the agent's first step), warm
    names = list(prompts.ACTIONS)
    dec = []
    for t in NEW_TURNS[1:]:
        started = time.perf_counter()
        value, _ = decide(chat, [system, HumanMessage(t)], prompts.action_schema(names), max_tokens=24)
        dec.append((time.perf_counter() - started, value.get("action")))
    out["decision_s_each"] = [round(s, 3) for s, _ in dec]
    out["decision_actions"] = [a for _, a in dec]
    out["decision_s_median"] = round(statistics.median(s for s, _ in dec), 3)

    # decode: ours vs raw, same rendered prompt, alternating
    raw = llama_cpp.Llama(
        model_path=str(resolved.path), n_ctx=settings.context, n_threads=threads, n_threads_batch=threads, n_batch=settings.batch, seed=0, verbose=False
    )
    msgs = [system, HumanMessage(DECODE_PROMPT)]
    prompt_text, stop = chat.render([{"role": "system", "content": prompts.SYSTEM}, {"role": "user", "content": DECODE_PROMPT}])
    tokens = chat.tokenize(prompt_text)
    raw_runs, our_runs = [], []
    stream_raw(raw, tokens, 4, stop)  # raw: evaluate its prompt once, like ours has
    for _ in range(repeats):
        raw_runs.append(stream_raw(raw, tokens, max_tokens, stop))
        our_runs.append(stream_ours(chat, msgs, max_tokens))
    out["raw_decode_tok_s_each"] = [round(r["decode_tok_s"], 2) for r in raw_runs]
    out["decode_tok_s_each"] = [round(r["decode_tok_s"], 2) for r in our_runs]
    out["raw_decode_tok_s"] = round(statistics.median(r["decode_tok_s"] for r in raw_runs), 2)
    out["decode_tok_s"] = round(statistics.median(r["decode_tok_s"] for r in our_runs), 2)
    out["decode_tokens"] = [int(r["completion_tokens"]) for r in our_runs]
    out["raw_decode_tokens"] = [int(r["completion_tokens"]) for r in raw_runs]
    out["decode_ratio_vs_raw"] = round(out["decode_tok_s"] / out["raw_decode_tok_s"], 3) if out["raw_decode_tok_s"] else None
    # raw cold time-to-first-token on the agent prompt, for reference (its own cache is reset first)
    raw.reset()
    agent_tokens = chat.tokenize(chat.render([{"role": "system", "content": prompts.SYSTEM}, {"role": "user", "content": NEW_TURNS[0]}])[0])
    out["raw_cold_ttft_s"] = round(stream_raw(raw, agent_tokens, 2, stop)["ttft_s"], 3)
    del raw

    # disk: a freshly loaded model restores the saved system prompt state
    del chat
    fresh = LlamaCppChat(settings=settings, model_path=resolved.path, model_sha256=resolved.sha256).load()
    disk = stream_ours(fresh, [system, HumanMessage(NEW_TURNS[2])], 8)
    out["disk_warm_ttft_s"] = round(disk["ttft_s"], 3)
    out["disk_prefix_source"] = disk["prefix"]
    out["prefix_cache_bytes"] = sum(p.stat().st_size for p in cache.glob("*.state"))
    del fresh
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, required=True, metavar="OUT", help="where to write the results")
    ap.add_argument("--models", default="qwen2.5-coder-1.5b,qwen2.5-coder-0.5b", help="registry names, the first is the headline (default model)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="alternating raw/ours decode rounds (medians compared)")
    ap.add_argument("--tokens", type=int, default=96, help="tokens generated per decode round")
    args = ap.parse_args()
    results: dict[str, Any] = {
        "hardware": {"cpus": os.cpu_count(), "machine": platform.machine(), "processor": platform.processor() or platform.machine()},
        "threads": args.threads,
        "baseline": "raw llama_cpp.Llama.create_completion, same prompt tokens, same n_ctx/n_batch/threads, in the same run",
        "models": {},
    }
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        print(f"benchmarking {name} ...", file=sys.stderr, flush=True)
        results["models"][name] = r = bench_model(name, args.threads, args.repeats, args.tokens)
        print(json.dumps({k: v for k, v in r.items() if not isinstance(v, list)}), file=sys.stderr, flush=True)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    head = next(iter(results["models"].values()))
    results["model"] = head["model"]
    results["decode_ratio_vs_raw"] = head["decode_ratio_vs_raw"]
    results["warm_ttft_s"] = head["warm_ttft_s"]
    args.json.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.json}: decode_ratio_vs_raw={results['decode_ratio_vs_raw']} warm_ttft_s={results['warm_ttft_s']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
