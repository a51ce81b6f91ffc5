"""Whether a dispatcher's message only asks (a question, a what-if, a conditional) rather than tells.

The model decides the mode of every turn; this is the code's own safety net on top of it: wording that
says "do not change anything" or "suppose" in either language always makes the turn a question, so no
writing tool can run (:meth:`tools.context.ToolContext.read_only`). It can only turn a "do" into an "ask",
never the other way round. The cue lists are general hedging and conditional phrases of both languages.
"""

from __future__ import annotations

import re

_EN = re.compile(
    r"\b(?:just|only|merely)\s+(?:asking|checking|curious|wondering)\b"
    r"|\bhypothetical(?:ly)?\b|\bsuppose\b|\bsupposing\b|\bimagine\b|\bwhat\s+if\b"
    r"|\b(?:do\s*n[o']?t|do\s+not|never|without)\s+(?:add|adding|change|changing|record|recording|touch|touching|save|saving|"
    r"commit|committing|apply|applying|book|booking|update|updating|do\s+it|do\s+anything)\b"
    r"|\b(?:not|don't)\s+(?:yet|for\s+real)\b|\bwhat\s+would\b|\bwould\s+(?:\S+\s+){0,3}?(?:cost|take|fit)\b"
    r"|\bif\s+(?:that|it|this)(?:'s|\s+is)\s+(?:cheaper|shorter|faster|better|possible)\b",
    re.IGNORECASE,
)
_ZH = re.compile(r"假如|假设|如果|要是|万一|先别|别动|别改|不要改|不要动|先不要|只是问|问问|问一下|看看会|会怎样|会怎么样|会有几|会不会|能不能.*吗")


def asks_only(text: str) -> bool:
    """Whether the wording makes the message a question or a hypothesis (nothing may be recorded)."""
    return bool(_EN.search(text) or _ZH.search(text))
