"""Durations a dispatcher writes ("半小时", "1个半小时", "20 minutes", "an hour and a half", "1h30"), in minutes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

from tools.timewords._text import _FLAGS, _dp, _en_quantity, _normalize

_EN_UNIT = re.compile(r"(?<![A-Za-z])(?P<u>hours?|hrs?|minutes?|mins?|h)(?![A-Za-z])", _FLAGS)
_EN_HALF_HOUR = re.compile(r"\b(?:an?\s+)?half(?:\s+an?\s+|\s*-\s*|\s+)hours?\b", _FLAGS)
_EN_QUARTER_HOUR = re.compile(r"\b(?:(?P<three>three)[\s-]+quarters?|(?:an?\s+|one\s+)?quarter)(?:\s+of\s+an?\s+|\s*-\s*|\s+)hours?\b", _FLAGS)
_EN_AND_A_HALF = re.compile(r"\s+and\s+a\s+half\b", _FLAGS)
_EN_N_AND_A_HALF = re.compile(r"\b(?P<n>[A-Za-z]+|\d+)\s+and\s+a\s+half\s+hours?\b", _FLAGS)
_ZH_DURATION = re.compile(
    r"(?P<h>\d+(?:\.\d+)?)\s*个?\s*(?P<hh>半)?\s*(?:小时|钟头)(?:\s*(?:零|又)?\s*(?P<m>\d+)\s*分(?:钟)?)?"
    r"|(?P<half>半)\s*个?\s*(?:小时|钟头)"
    r"|(?P<q>\d+)\s*刻钟"
    r"|(?P<mm>\d+)\s*分钟",
    _FLAGS,
)
_MINUTES_AFTER = re.compile(r"\s*(?:and\s+)?(?P<n>\d{1,2})\s*(?:minutes?|mins?|m)?(?![\w:.])", _FLAGS)
_BASE = datetime(2000, 1, 1)


def _durations(s: str) -> Iterator[tuple[int, int, int, bool]]:
    """(start, end, minutes, is_hours) of every duration stated."""
    for m in _ZH_DURATION.finditer(s):
        if m.group("h"):
            minutes = float(m.group("h")) * 60 + (30 if m.group("hh") else 0) + int(m.group("m") or 0)
            yield m.start(), m.end(), round(minutes), not m.group("m")
        elif m.group("half"):
            yield m.start(), m.end(), 30, True
        elif m.group("q"):
            yield m.start(), m.end(), 15 * int(m.group("q")), False
        elif m.start() == 0 or s[m.start() - 1] not in "点點时時":
            yield m.start(), m.end(), int(m.group("mm")), False
    for m in _EN_HALF_HOUR.finditer(s):
        yield m.start(), m.end(), 30, False
    for m in _EN_QUARTER_HOUR.finditer(s):
        yield m.start(), m.end(), 45 if m.group("three") else 15, False
    for m in _EN_N_AND_A_HALF.finditer(s):
        got = _dp(f"in {m.group('n')} hours", _BASE.date())
        if got is not None:
            yield m.start(), m.end(), round((got[0] - _BASE).total_seconds() / 60) + 30, False
    for m in _EN_UNIT.finditer(s):
        unit = m.group("u").lower()
        is_hours = unit.startswith("h")
        if unit == "h" and (m.start() == 0 or not s[m.start() - 1].isdigit()):
            continue
        q = _en_quantity(s, m.start(), "in {} hours" if is_hours else "in {} minutes", _BASE.date())
        if q is None:
            continue
        start, when = q
        minutes = round((when - _BASE).total_seconds() / 60)
        if minutes <= 0:
            continue
        end = m.end()
        if is_hours and (half := _EN_AND_A_HALF.match(s, end)):
            minutes, end, is_hours = minutes + 30, half.end(), False
        elif is_hours and unit == "h" and (extra := _MINUTES_AFTER.match(s, end)):
            minutes, end, is_hours = minutes + int(extra.group("n")), extra.end(), False
        yield start, end, minutes, is_hours


def duration_minutes(text: str) -> int | None:
    """The first duration the text states, in minutes; None if it states none.

    "半小时" -> 30, "一个半小时" -> 90, "一刻钟" -> 15, "1小时20分钟" -> 80, "20 minutes", "an hour", "1.5 hours",
    "45 min", "two hours", "half an hour", "an hour and a half", "1 hour 30 minutes", "1h30". Times of day
    ("3点15分", "2pm") and days are not durations.
    """
    s = _normalize(text).s
    found = sorted(_durations(s), key=lambda d: (d[0], -d[1]))
    chosen: list[tuple[int, int, int, bool]] = []
    for d in found:
        if chosen and d[0] < chosen[-1][1]:
            continue
        chosen.append(d)
    if not chosen:
        return None
    first = chosen[0]
    if first[3] and len(chosen) > 1:  # "1 hour 30 minutes", "2 hours and 15 minutes"
        nxt = chosen[1]
        if re.fullmatch(r"\s*(?:and\s*)?", s[first[1] : nxt[0]], _FLAGS) and not nxt[3] and nxt[2] < 60:
            return first[2] + nxt[2]
    return first[2]
