"""The ground the time-word readers share: normalised text, the words that join two ends, and dateparser's reading.

:func:`_normalize` turns full-width forms and every run of Chinese numerals (through ``cn2an``) into digits,
keeping where each character came from; :func:`_connects` tells whether the words between two matches join
the ends of one window or period; :func:`_dp` is ``dateparser``'s reading of one phrase, anchored at the
operating day, and :func:`_en_quantity` the English number words before a unit that it reads. This is the
only module of :mod:`tools.timewords` that imports ``cn2an`` and ``dateparser``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import cn2an
from dateparser.date import DateDataParser

# --------------------------------------------------------------------------------------------------
# Normalising: full-width forms and Chinese numerals, keeping where each character came from
# --------------------------------------------------------------------------------------------------

_LOOK_BACK = 60  # how far back a rule looks for the words before a match ("between", "at", a bare day)
_FLAGS = re.IGNORECASE | re.ASCII  # \w, \b and \s are ASCII: a Chinese character next to a digit is no word character
_CN_NUMERALS = re.compile(r"[零〇一二两三四五六七八九十百千万]+", _FLAGS)


@dataclass(frozen=True)
class _Text:
    """The normalised text (``s``) and, for each of its characters, the span of the original it came from."""

    s: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    original: str

    def source(self, a: int, b: int) -> str:
        """The original words behind ``s[a:b]``."""
        return self.original[self.starts[a] : self.ends[b - 1]].strip()


def _cn_number(run: str) -> str | None:
    """A run of Chinese numerals as digits (cn2an's smart mode), or None where it is no number ("万一")."""
    try:
        value = cn2an.cn2an(run, "smart")
    except (ValueError, KeyError, IndexError):
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


@lru_cache(maxsize=512)
def _normalize(text: str) -> _Text:
    """NFKC (full-width digits and colons) and every run of Chinese numerals as digits, e.g. "九月二十六号" -> "9月26号"."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, c in enumerate(text):
        for n in unicodedata.normalize("NFKC", c):
            chars.append(n)
            starts.append(i)
            ends.append(i + 1)
    wide = "".join(chars)
    out: list[str] = []
    o_starts: list[int] = []
    o_ends: list[int] = []
    pos = 0
    for m in _CN_NUMERALS.finditer(wide):
        for k in range(pos, m.start()):
            out.append(wide[k])
            o_starts.append(starts[k])
            o_ends.append(ends[k])
        digits = _cn_number(m.group())
        if digits is None:
            for k in range(m.start(), m.end()):
                out.append(wide[k])
                o_starts.append(starts[k])
                o_ends.append(ends[k])
        else:
            for ch in digits:
                out.append(ch)
                o_starts.append(starts[m.start()])
                o_ends.append(ends[m.end() - 1])
        pos = m.end()
    for k in range(pos, len(wide)):
        out.append(wide[k])
        o_starts.append(starts[k])
        o_ends.append(ends[k])
    return _Text("".join(out), tuple(o_starts), tuple(o_ends), text)


# Two ends of a window or period: "to", "-", "until", "到", "至" ("and" only after "between").
_CONNECTOR = re.compile(r"\s*(?:-|–|—|~|to|until|till|through|thru|and|到|至)\s*", _FLAGS)
_BETWEEN = re.compile(r"\bbetween\s+$", _FLAGS)


def _connects(s: str, left_start: int, left_end: int, right_start: int) -> bool:
    """Whether ``s[left_end:right_start]`` joins two ends of one window or period."""
    gap = s[left_end:right_start]
    m = _CONNECTOR.fullmatch(gap)
    if m is None:
        return False
    if gap.strip().lower() == "and":
        return _BETWEEN.search(s, max(0, left_start - _LOOK_BACK), left_start) is not None
    return True


# --------------------------------------------------------------------------------------------------
# dateparser: one phrase at a time, anchored at the operating day
# --------------------------------------------------------------------------------------------------

_EN_WORDS_BEFORE = re.compile(r"(?:(?:[A-Za-z]+|\d+(?:\.\d+)?)[\s-]*){1,3}$", _FLAGS)
_EN_TOKEN = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?", _FLAGS)


@lru_cache(maxsize=64)
def _parser(anchor: date, first_of_month: bool) -> DateDataParser:
    """dateparser for English and Chinese with relative words anchored at the operating day."""
    settings: dict[str, object] = {"RELATIVE_BASE": datetime(anchor.year, anchor.month, anchor.day)}
    if first_of_month:
        settings["PREFER_DAY_OF_MONTH"] = "first"
    return DateDataParser(languages=["en", "zh"], settings=settings)


def _dp(text: str, anchor: date, first_of_month: bool = False) -> tuple[datetime, str] | None:
    """dateparser's reading of one phrase: the datetime and its period ("day", "week", "month", "time"...)."""
    data = _parser(anchor, first_of_month).get_date_data(text)
    if data.date_obj is None:
        return None
    return data.date_obj.replace(tzinfo=None), str(data.period)


def _en_quantity(s: str, unit_start: int, template: str, anchor: date) -> tuple[int, datetime] | None:
    """The longest run of up to three words before ``unit_start`` that dateparser reads in ``template``
    ("in {} hours", "{} days ago"): where the run starts, and the point in time it gives."""
    before = _EN_WORDS_BEFORE.search(s, max(0, unit_start - _LOOK_BACK), unit_start)
    if before is None:
        return None
    tokens = [(t.start() + before.start(), t.group()) for t in _EN_TOKEN.finditer(before.group())]
    readings = [(start, _dp(template.format(" ".join(t for _, t in tokens[k:])), anchor)) for k, (start, _) in enumerate(tokens)]
    parsed = [(start, got[0]) for start, got in readings if got is not None]
    if not parsed:
        return None
    # dateparser skips words it does not know ("of 2 hours"): the value is the longest run's ("twenty five"),
    # the words are the shortest run that still gives it.
    value = parsed[0][1]
    return next(start for start, when in reversed(parsed) if when == value), value
