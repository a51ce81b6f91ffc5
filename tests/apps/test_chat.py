"""The terminal chat driven as a person uses it: a real pseudo-terminal (pexpect), the real local model,
reading what appears on the screen. Marked ``llm`` (it loads the default Qwen model)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

from copilot.apps.agent import MODELS_ENV, models_dir

DATA = Path(__file__).resolve().parents[1] / "data"
CLI = [sys.executable, "-m", "copilot"]

pytestmark = pytest.mark.llm


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "LOGISTICS_COPILOT_HOME": str(home), MODELS_ENV: str(models_dir()), "COLUMNS": "160", "TERM": "xterm"}


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
