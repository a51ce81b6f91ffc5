"""The terminal chat driven as a person uses it: a real pseudo-terminal (pexpect), the real local model,
reading what appears on the screen (marked ``llm``: it loads the default Qwen model); and what a session
renders from a turn's result (a stand-in agent, no model)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest
from fakes import plan_summary
from rich.console import Console

from copilot.apps.agent import MODELS_ENV, models_dir
from copilot.apps.chat import ChatSession
from graphs.agent import TurnResult
from graphs.toolset import Outcome

DATA = Path(__file__).resolve().parents[1] / "data"
CLI = [sys.executable, "-m", "copilot"]


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "LOGISTICS_COPILOT_HOME": str(home), MODELS_ENV: str(models_dir()), "COLUMNS": "160", "TERM": "xterm"}


@pytest.mark.llm
def test_a_dispatcher_session_in_a_terminal(tmp_path: Path) -> None:
    env = _env(tmp_path)
    imported = pexpect.run(" ".join([*CLI, "import", str(DATA / "worlds" / "hangzhou-0501")]), env=env, timeout=120)
    assert b"imported world 'hangzhou-0501'" in imported
    child = pexpect.spawn(CLI[0], [*CLI[1:], "chat", "--threads", "2"], env=env, timeout=240, encoding="utf-8", dimensions=(50, 160))
    try:
        child.expect("dispatcher> ")
        child.sendline("/help")
        child.expect("Commands:")
        child.expect("dispatcher> ")
        child.sendline("Plan today's pickup routes.")
        child.expect(r"Draft plan #1: 116 orders")
        child.expect("routes of plan #1")
        child.expect("draft waiting for approval")
        child.expect("dispatcher> ")
        child.sendline("approve")
        child.expect("Plan #1 is dispatched to the drivers")
        child.expect("dispatcher> ")
        child.sendline("Which van has P546630?")
        child.expect(r"P546630 \(Li Wei\) is on HZ-V\d")
        child.expect("dispatcher> ")
        child.sendline(f"/map {tmp_path / 'map'}")
        child.expect("route map of plan #1 written")
        child.expect("dispatcher> ")
        child.sendline("/quit")
        child.expect("continue this conversation with: logistics-copilot chat --thread chat-hangzhou-0501")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert (tmp_path / "map.html").read_text().count("<circle") == 116
    assert (tmp_path / "map.png").stat().st_size > 10_000
    # the conversation is kept: a new session continues the same thread
    again = pexpect.spawn(CLI[0], [*CLI[1:], "chat", "--threads", "2"], env=env, timeout=240, encoding="utf-8", dimensions=(50, 160))
    try:
        again.expect("dispatcher> ")
        again.sendline("/history")
        again.expect("Plan today's pickup routes")
        again.expect("Which van has P546630")
        again.expect("dispatcher> ")
        again.sendeof()
        again.expect(pexpect.EOF)
    finally:
        again.close()


class _Agent:
    """Answers each message with the next scripted result and records how it was called."""

    def __init__(self, *results: TurnResult) -> None:
        self.results = list(results)
        self.calls: list[tuple[str, str, Any]] = []

    def turn(self, thread: str, text: str, *, on_event: Any = None) -> TurnResult:
        self.calls.append((thread, text, on_event))
        return self.results.pop(0)


def test_the_session_renders_the_turns_plan_summary() -> None:
    summary = plan_summary()
    draft = TurnResult(answer="Draft plan #4: 2 orders on 1 vehicles.", awaiting_approval=True, outcome=Outcome("plan", data=summary, draft_id=4), plan_summary=summary)
    answer = TurnResult(answer="Plan #4 (draft): 12.5 km in total.", outcome=Outcome("kpis", data={"plan_id": 4}))
    agent = _Agent(draft, answer)
    console = Console(record=True, width=160, color_system=None)
    session = ChatSession(agent, "t", console, store=None, world_name="tiny")
    session.send("plan the day")
    shown = console.export_text()
    assert "routes of plan #4" in shown and "O1 09:00, O2 09:30" in shown and "V8" not in shown  # the route table, idle vehicles left out
    assert "plan #4 (draft)" in shown and "orders served   2" in shown and "unassigned      1" in shown and "12.5 km" in shown  # the key figures
    assert "draft waiting for approval" in shown
    session.send("how many km?")
    shown = console.export_text()
    assert "12.5 km in total" in shown and "routes of plan" not in shown  # no plan summary: no table
    assert [(t, m) for t, m, _ in agent.calls] == [("t", "plan the day"), ("t", "how many km?")]
    assert all(cb == session._on_event for _, _, cb in agent.calls)  # progress comes with the call, not by replacing the agent's callback
