"""Time words a dispatcher writes, read into exact values: times of day, time windows, durations, dates, periods.

The chat agent grounds what the model fills in with these functions: a reply that says "16:00" must come
from "下午四点" or "4pm" in the dispatcher's own words. Everything here is a pure function of the text
(and, for dates, of the operating day it is anchored at); nothing is guessed beyond the rules below.

Who does what:

* `cn2an` turns every run of Chinese numerals into digits first ("二十六" -> 26, "两" -> 2, "二零二二" -> 2022),
  so every rule below reads digits only;
* `dateparser` reads English dates written with month names ("Sep 10th", "10th of September",
  "September 10, 2022", "March 2021"), the relative day words of both languages ("yesterday", "前天",
  "3 days ago", "3天前") and the arithmetic of rolling windows ("past 7 days", "过去两周", "next three days"),
  and English duration words ("two hours", "an hour", "twenty five minutes", "1.5 hours");
* a few small rules of our own find where such words stand in a sentence (so ids, coordinates and counts
  are never read as times or dates), read the Chinese forms with digits (``9月10日``, ``下午3点15分``,
  ``1个半小时``), carry am/pm across a window ("下午四点到六点", "between 1 and 3pm"), turn weeks and months
  into Monday-Sunday weeks and calendar months, and choose the year of a date written without one.

Conventions (the operating day is the anchor; history lies before it):

* a month without a year is the most recent such month that does not start after the anchor's month;
* a day without a year is in the anchor's year unless that puts it more than 183 days after the anchor,
  then in the year before; a year written out always wins;
* "last week"/"上周" is the Monday-Sunday week before the anchor's week, "this week"/"本周" the anchor's own
  week (all seven days), "next week"/"下周" the one after; months and years likewise by the calendar;
* "past/last N days"/"过去N天"/"最近N天"/"前N天" are the N days before the anchor (the anchor excluded),
  "next N days"/"未来N天"/"接下来N天" are N days starting at the anchor; "past week"/"最近一周" is 7 days;
* a weekday ("Monday", "周一") is that day of the anchor's week, "last/上" of the week before, "next/下" of
  the week after;
* an hour written without am/pm or a part of the day ("两点", "3:30") is kept as written, unless the other
  end of a window carries pm and moving it to the afternoon keeps the window in order.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import cn2an
from dateparser.date import DateDataParser

__all__ = ["Period", "duration_minutes", "periods", "time_range", "times_of_day"]


@dataclass(frozen=True)
class Period:
    """A date or a run of dates that a text states, both ends inclusive."""

    start: date
    """The first day (inclusive)."""
    end: date
    """The last day (inclusive)."""
    text: str
    """The words it was read from, as written."""


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
# Times of day
# --------------------------------------------------------------------------------------------------

_ZH_DAYPART = "凌晨|清晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|夜间|半夜|深夜|今晚|今早|明早|早|晚"
_TIME = re.compile(
    r"(?P<en>(?<![\w.:])(?P<eh>\d{1,2})(?:[:.](?P<em>\d{2}))?\s*(?P<ap>[ap])\.?\s?m(?![a-z])\.?)"
    r"|(?P<co>(?:(?<![\w.:])|(?<=\dT))(?P<ch>\d{1,2}):(?P<cm>\d{2})(?::\d{2})?(?![\d:]))"
    r"|(?P<oc>(?<![\w.:])(?P<oh>\d{1,2})\s*o['’]?clock\b)"
    r"|(?P<dot>(?<![\w.:,])(?P<dh>\d{1,2})\.(?P<dm>\d{2})(?![\d.]))"
    r"|(?P<word>\b(?:noon|midday|midnight)\b)"
    rf"|(?P<zh>(?:(?P<zp>{_ZH_DAYPART})\s*)?(?<![\d.])(?P<zhh>\d{{1,2}})\s*[点點时時]"
    r"(?:(?P<zhalf>半)|(?P<zq>[13])\s*刻|(?P<zm>\d{1,2})\s*分|(?P<zm2>\d{2})(?!\d)|钟)?)",
    _FLAGS,
)
_ZH_DAYPART_BEFORE = re.compile(rf"({_ZH_DAYPART})\s*$", _FLAGS)
_DOT_TIME_BEFORE = re.compile(r"\b(?:at|by|from|until|till|before|after|around|about)\s+$", _FLAGS)
_ZH_NOT_TIME_AFTER = re.compile(r"[\d.]|公里|千米|米|元|倍|万|%|个|儿|点", _FLAGS)
_A_LITTLE_BEFORE = "快慢早晚多少好大小高低近远轻重差有些再"
_ZH_MARKS = {
    **dict.fromkeys(("清晨", "早上", "早晨", "上午", "今早", "明早", "早"), "am"),
    **dict.fromkeys(("下午", "傍晚"), "pm"),
    **dict.fromkeys(("晚上", "夜里", "夜间", "半夜", "深夜", "今晚", "晚"), "night"),
    "中午": "noon",
    "凌晨": "early",
}
_WEAK_LEFT = re.compile(r"(?<![\w.:/#-])(?P<h>\d{1,2})" + _CONNECTOR.pattern + r"$", _FLAGS)
_WEAK_RIGHT = re.compile(
    _CONNECTOR.pattern + r"(?P<h>\d{1,2})(?![\w.:/%])(?!\s*(?:[个件单辆台天号日月年分秒]|(?:parcels?|orders?|stops?|vans?|km|mins?|minutes?|hours?|days?)\b))",
    _FLAGS,
)


@dataclass(frozen=True)
class _Clock:
    start: int
    end: int
    minutes: int  # minutes after midnight, 24h
    hour: int  # as written
    minute: int
    free: bool  # written without am/pm or a part of the day, hour 1-12: a window's other end may move it
    pm: bool  # in the afternoon by its own words (pm, 下午, 24h hour >= 12, noon)


def _clock(start: int, end: int, hour: int, minute: int, mark: str | None, explicit24: bool) -> _Clock | None:
    """A time from the hour and minute as written and what was said around it (None if no time of day)."""
    if not (0 <= minute <= 59 and 0 <= hour <= 24):
        return None
    if hour == 24:
        if minute:
            return None
        hour = 0
    h = hour
    if mark == "am":
        if hour > 12:
            return None
        h = 0 if hour == 12 else hour
    elif mark == "pm":
        h = hour if hour >= 12 else hour + 12
    elif mark == "noon":  # 中午: 11, 12, then 1-5 in the afternoon
        h = hour + 12 if 1 <= hour <= 5 else hour
    elif mark == "night":  # 晚上, 夜里: 6-11 in the evening, 12 is midnight, 0-5 the small hours
        h = 0 if hour == 12 else hour + 12 if 6 <= hour <= 11 else hour
    elif mark == "early":  # 凌晨
        h = 0 if hour == 12 else hour
    free = mark is None and not explicit24 and 1 <= hour <= 12
    minutes = h * 60 + minute
    pm = not free and minutes >= 12 * 60
    return _Clock(start, end, minutes, hour, minute, free, pm)


def _zh_mark(part: str | None) -> str | None:
    """How a Chinese part of the day moves the hour after it (see :func:`_clock`)."""
    return None if part is None else _ZH_MARKS.get(part)


def _clocks(s: str) -> list[_Clock]:
    """Every time of day written with an hour marker (pm, ':', 点, o'clock, noon), in order."""
    found: list[_Clock] = []
    for m in _TIME.finditer(s):
        c: _Clock | None = None
        if m.group("en"):
            mark = "am" if m.group("ap").lower() == "a" else "pm"
            c = _clock(m.start(), m.end(), int(m.group("eh")), int(m.group("em") or 0), mark, False)
            if c is not None and int(m.group("eh")) > 12:
                c = None
        elif m.group("co"):
            hh = m.group("ch")
            part = _ZH_DAYPART_BEFORE.search(s, max(0, m.start() - 4), m.start())  # 下午4:30
            part_mark = _zh_mark(part.group(1)) if part and int(hh) <= 12 else None
            c = _clock(m.start(), m.end(), int(hh), int(m.group("cm")), part_mark, int(hh) > 12 or int(hh) == 0 or hh.startswith("0"))
        elif m.group("oc"):
            c = _clock(m.start(), m.end(), int(m.group("oh")), 0, None, False)
        elif m.group("dot"):
            if _DOT_TIME_BEFORE.search(s, max(0, m.start() - _LOOK_BACK), m.start()):
                hh = m.group("dh")
                c = _clock(m.start(), m.end(), int(hh), int(m.group("dm")), None, int(hh) > 12 or hh.startswith("0"))
        elif m.group("word"):
            word = m.group("word").lower()
            c = _clock(m.start(), m.end(), 0 if word == "midnight" else 12, 0, "am" if word == "midnight" else "pm", True)
        elif m.group("zh"):
            c = _zh_clock(s, m)
        if c is not None:
            found.append(c)
    return found


def _zh_clock(s: str, m: re.Match[str]) -> _Clock | None:
    hour = int(m.group("zhh"))
    part = m.group("zp")
    tail = bool(m.group("zhalf") or m.group("zq") or m.group("zm") or m.group("zm2") or m.group(0).endswith("钟"))
    if _ZH_NOT_TIME_AFTER.match(s, m.end()):  # 3点5公里 (a decimal), 一点点, 一点儿
        return None
    digit_at = m.start("zhh")
    if s[max(0, digit_at - 1) : digit_at] == "第" or s[max(0, digit_at - 2) : digit_at] in {"以下", "如下"}:  # 第3点, 以下3点: points
        return None
    if hour == 1 and not tail and (part in {"早", "晚"} or (part is None and digit_at > 0 and s[digit_at - 1] in _A_LITTLE_BEFORE)):
        return None  # 快一点, 晚一点: "a little"
    if m.group("zhalf"):
        minute = 30
    elif m.group("zq"):
        minute = 15 * int(m.group("zq"))
    else:
        minute = int(m.group("zm") or m.group("zm2") or 0)
    return _clock(m.start(), m.end(), hour, minute, _zh_mark(part), hour > 12 or hour == 0)


def _resolve(s: str) -> tuple[list[_Clock], list[tuple[_Clock, _Clock]]]:
    """All times in order, with bare range ends ("9-11am", "between 1 and 3pm") and am/pm carried across windows."""
    strong = _clocks(s)
    pairs: list[tuple[_Clock, _Clock]] = []
    used: set[int] = set()
    for i in range(len(strong) - 1):
        a, b = strong[i], strong[i + 1]
        if i not in used and _connects(s, a.start, a.end, b.start):
            pairs.append((a, b))
            used.update({i, i + 1})
    for i, c in enumerate(strong):
        if i in used:
            continue
        left = _WEAK_LEFT.search(s, max(0, c.start - _LOOK_BACK), c.start)
        if left is not None and _connects(s, left.start(), left.end("h"), c.start):
            w = _clock(left.start(), left.end("h"), int(left.group("h")), 0, None, int(left.group("h")) > 12)
            if w is not None:
                pairs.append((w, c))
                continue
        right = _WEAK_RIGHT.match(s, c.end)
        if right is not None:
            w = _clock(right.start("h"), right.end("h"), int(right.group("h")), 0, None, int(right.group("h")) > 12)
            if w is not None:
                pairs.append((c, w))
    carried = [_carry(a, b) for a, b in sorted(pairs, key=lambda p: p[0].start)]
    in_pairs = {id(x) for p in pairs for x in p}
    times = [c for c in strong if id(c) not in in_pairs] + [x for p in carried for x in p]
    return sorted(times, key=lambda c: c.start), carried


def _carry(a: _Clock, b: _Clock) -> tuple[_Clock, _Clock]:
    """A window's ends with the afternoon of one end carried to a bare other end when it keeps them in order."""
    if b.free and a.pm and not a.free:
        later = (b.hour % 12 + 12) * 60 + b.minute
        if later > a.minutes:
            b = _Clock(b.start, b.end, later, b.hour, b.minute, False, True)
        elif b.hour == 12 and b.minutes <= a.minutes:  # 晚上10点到12点: 12 after an evening start is midnight
            b = _Clock(b.start, b.end, b.minute, b.hour, b.minute, False, False)
    elif a.free and b.pm and not b.free:
        later = (a.hour % 12 + 12) * 60 + a.minute
        if later <= b.minutes:
            a = _Clock(a.start, a.end, later, a.hour, a.minute, False, True)
    return a, b


def _hhmm(c: _Clock) -> str:
    return f"{c.minutes // 60:02d}:{c.minutes % 60:02d}"


def times_of_day(text: str) -> list[str]:
    """Every time of day the text states, as 24h ``"HH:MM"``, in order of appearance.

    Reads "2pm", "3:30 p.m.", "14:00", "at 14.30", "noon", "midnight", "5 o'clock", "下午3点15分", "四点半",
    "16点30", "晚上八点", "中午12点", "三点一刻", and the bare ends of windows ("9-11am", "between 1 and 3pm",
    "10到12点"). An hour without am/pm or a part of the day is kept as written ("两点" -> "02:00") unless a
    window's other end carries pm ("下午四点到六点" -> 16:00, 18:00). Counts, ids, coordinates and durations
    ("5 parcels", "P1072735", "30.4300, 120.2600", "20 minutes") are not times.
    """
    times, _ = _resolve(_normalize(text).s)
    return [_hhmm(c) for c in times]


def time_range(text: str) -> tuple[str, str] | None:
    """The first window the text states ("2pm to 3:30pm", "14:00-15:00", "下午三点至五点"), as ``("HH:MM", "HH:MM")``.

    None when no two times are joined by "to", "-", "until", "between ... and", "到" or "至".
    """
    _, pairs = _resolve(_normalize(text).s)
    if not pairs:
        return None
    a, b = pairs[0]
    return _hhmm(a), _hhmm(b)


# --------------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------------

_EN_UNIT = re.compile(r"(?<![A-Za-z])(?P<u>hours?|hrs?|minutes?|mins?|h)(?![A-Za-z])", _FLAGS)
_EN_WORDS_BEFORE = re.compile(r"(?:(?:[A-Za-z]+|\d+(?:\.\d+)?)[\s-]*){1,3}$", _FLAGS)
_EN_TOKEN = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?", _FLAGS)
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


# --------------------------------------------------------------------------------------------------
# Dates and periods
# --------------------------------------------------------------------------------------------------

_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
_ORDINAL = r"\d{1,2}(?:st|nd|rd|th)?\b"
_EN_DAY_MONTH = re.compile(rf"(?<![\w.:/-])(?P<d>{_ORDINAL})(?:\s+of)?\s+(?P<mon>{_MONTH})(?:,?\s+(?P<y>\d{{4}})\b)?", _FLAGS)
_EN_MONTH_DAY = re.compile(rf"\b(?P<mon>{_MONTH})\s+(?P<d>{_ORDINAL})(?!\s*(?::|\.\d|[ap]\.?m\b|%|hours?\b|hrs?\b|minutes?\b|mins?\b))(?:,?\s+(?P<y>\d{{4}})\b)?", _FLAGS)
_EN_MONTH = re.compile(rf"\b(?P<mon>{_MONTH})(?:,?\s+(?P<y>\d{{4}})\b)?", _FLAGS)
_MAY_BEFORE = re.compile(r"\b(?:in|during|since|until|till|for|of|early|late|mid|last|this|next|from|to|through|by|and)\s+$", _FLAGS)
_NUMERIC_DATE = re.compile(r"(?<![\w.:/-])(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?:(?P=sep)(?P<d>\d{1,2}))?(?!(?!T\d)\w|[-/.:]\d)", _FLAGS)
_ZH_DATE = re.compile(
    r"(?:(?:(?<!\d)(?P<y>\d{4}|\d{2})\s*年|(?P<ry>去年|今年|前年|明年))\s*)?(?<!\d)(?P<m>\d{1,2})\s*月\s*(?:份)?(?:\s*(?P<d>\d{1,2})(?!\d)\s*(?P<dd>[日号號])?)?", _FLAGS
)
_ZH_DAY_WITHOUT_MARK_AFTER = re.compile(r"\s*(?:$|[\s,，。.;；!！?？、的到至\-~—])", _FLAGS)
_ZH_YEAR = re.compile(r"(?<!\d)(?P<y>\d{4})\s*年(?!\s*\d{1,2}\s*月)|(?P<rel>去年|今年|明年|前年)", _FLAGS)
_EN_YEAR = re.compile(r"\b(?:in|during)\s+(?P<y>(?:19|20)\d{2})\b(?![-/.:]\d)", _FLAGS)
_REL_DAY = re.compile(
    r"\b(?:the\s+)?day\s+before\s+yesterday\b|\b(?:the\s+)?day\s+after\s+tomorrow\b|\byesterday\b|\btoday\b|\btonight\b|\btomorrow\b"
    r"|大前天|大后天|前天|后天|昨天|今天|明天|昨日|今日|明日|(?<![\d.])\d+\s*[天日](?:前|后)",
    _FLAGS,
)
_EN_AGO = re.compile(r"\b(?P<u>days?|weeks?)\s+ago\b", _FLAGS)
_EN_CALENDAR = re.compile(r"\b(?P<w>last|previous|prior|this|current|next|coming|past)\s+(?P<u>week|month|year|weekend)\b", _FLAGS)
_EN_WEEKEND = re.compile(r"\b(?:the\s+)?weekend\b", _FLAGS)
_EN_ROLLING = re.compile(
    r"\b(?P<w>last|past|previous|prior|next|coming|following)\s+(?P<n>(?:(?:[a-z]+|\d+)[\s-]+){1,3}?)(?P<u>days?|weeks?|months?)\b",
    _FLAGS,
)
_ZH_CALENDAR = re.compile(r"(?P<w>上上|上|本|这|下下|下)\s*(?:1\s*)?(?:个)?\s*(?:(?P<u>周末|周|星期|礼拜)(?!\s*[1-7日天])|(?P<mo>月))", _FLAGS)
_ZH_WEEKEND = re.compile(r"周末", _FLAGS)
_ZH_ROLLING = re.compile(r"(?P<w>过去|最近|近|前|未来|接下来|今后|往后|之后|后)\s*的?\s*(?P<n>\d+)\s*(?P<u>天|日|周|星期|礼拜|个月|年)", _FLAGS)
_EN_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EN_WEEKDAY = re.compile(r"\b(?:(?P<w>last|this|next|coming)\s+)?(?P<d>" + "|".join(_EN_WEEKDAYS) + r")\b", _FLAGS)
_ZH_WEEKDAY = re.compile(r"(?P<w>上上|上|本|这|下下|下)?\s*(?:个)?\s*(?:周|星期|礼拜)\s*(?P<d>[1-7日天])(?![\d次遍个])", _FLAGS)
_BARE_DAY_AFTER = re.compile(_CONNECTOR.pattern + r"(?P<d>\d{1,2})(?:st|nd|rd|th)?(?P<mark>\s*[日号號])?(?![\w:]|\.\d)(?!\s*(?:[ap]\.?m\b|点|时|月|%))", _FLAGS)
_BARE_DAY_BEFORE = re.compile(r"(?<![\w.:/-])(?P<d>\d{1,2})(?:st|nd|rd|th)?" + _CONNECTOR.pattern + r"$", _FLAGS)


@dataclass(frozen=True)
class _Found:
    """A date or period found at ``s[start:end]``; ``level`` "day"/"month" are dates that a range can extend."""

    start: int
    end: int
    first: date
    last: date
    level: str = "other"
    explicit_year: bool = True
    english: bool = False


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _valid(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _day_in_year(m: int, d: int, anchor: date) -> date | None:
    """Month and day without a year: the anchor's year unless that is over 183 days after the anchor."""
    for y in range(anchor.year, anchor.year - 9, -1):
        day = _valid(y, m, d)
        if day is not None and (day - anchor).days <= 183:
            return day
    return None


def _month_in_year(m: int, anchor: date) -> int:
    """A month without a year: the most recent such month that does not start after the anchor's month."""
    return anchor.year if m <= anchor.month else anchor.year - 1


def _day_or_month(start: int, end: int, y: int | None, m: int, d: int | None, anchor: date, english: bool) -> _Found | None:
    if not 1 <= m <= 12:
        return None
    if d is None:
        year = y if y is not None else _month_in_year(m, anchor)
        return _Found(start, end, date(year, m, 1), _month_end(year, m), "month", y is not None, english)
    day = _valid(y, m, d) if y is not None else _day_in_year(m, d, anchor)
    if day is None:
        return None
    return _Found(start, end, day, day, "day", y is not None, english)


def _week_of(day: date, offset_weeks: int) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday()) + timedelta(weeks=offset_weeks)
    return monday, monday + timedelta(days=6)


def _add_months(anchor: date, months: int) -> tuple[int, int]:
    k = anchor.year * 12 + anchor.month - 1 + months
    return k // 12, k % 12 + 1


def _calendar_unit(start: int, end: int, unit: str, offset: int, anchor: date) -> _Found:
    """The week, weekend, month or year ``offset`` steps from the anchor's own."""
    if unit == "week":
        a, b = _week_of(anchor, offset)
    elif unit == "weekend":
        monday, _ = _week_of(anchor, offset)
        a, b = monday + timedelta(days=5), monday + timedelta(days=6)
    elif unit == "month":
        y, m = _add_months(anchor, offset)
        a, b = date(y, m, 1), _month_end(y, m)
    else:
        a, b = date(anchor.year + offset, 1, 1), date(anchor.year + offset, 12, 31)
    return _Found(start, end, a, b)


_EN_OFFSET = {"last": -1, "previous": -1, "prior": -1, "this": 0, "current": 0, "next": 1, "coming": 1}
_ZH_OFFSET = {"上上": -2, "上": -1, "本": 0, "这": 0, "今": 0, "下": 1, "下下": 2}
_ZH_YEAR_OFFSET = {"前年": -2, "去年": -1, "今年": 0, "明年": 1}
_ZH_UNIT = {"周": "week", "星期": "week", "礼拜": "week", "月": "month", "周末": "weekend"}
_ZH_ROLL_UNIT = {"天": "天", "日": "天", "周": "周", "星期": "周", "礼拜": "周", "个月": "个月", "年": "年"}


def _window(start: int, end: int, point: datetime, anchor: date) -> _Found | None:
    """A rolling window from a point dateparser gave: before the anchor -> point..anchor-1, else anchor..point-1."""
    p = point.date()
    if p < anchor:
        return _Found(start, end, p, anchor - timedelta(days=1))
    if p > anchor:
        return _Found(start, end, anchor, p - timedelta(days=1))
    return None


def _candidates(s: str, anchor: date) -> Iterator[_Found]:
    """Every date or period found anywhere in ``s`` (they may overlap; the caller keeps the longest)."""
    for m in _NUMERIC_DATE.finditer(s):
        d = m.group("d")
        if d is None and m.group("sep") != "-":
            continue
        found = _day_or_month(m.start(), m.end(), int(m.group("y")), int(m.group("m")), int(d) if d else None, anchor, False)
        if found is not None:
            yield found
    for m in _ZH_DATE.finditer(s):
        y, ry = m.group("y"), m.group("ry")
        year = None if y is None else int(y) + (2000 if len(y) == 2 else 0)
        if ry is not None:
            year = anchor.year + _ZH_YEAR_OFFSET[ry]
        d = m.group("d")
        end = m.end()
        if d is not None and m.group("dd") is None and not _ZH_DAY_WITHOUT_MARK_AFTER.match(s, m.end()):
            d, end = None, m.start("d")  # 9月5个订单: the month only
        found = _day_or_month(m.start(), end, year, int(m.group("m")), int(d) if d else None, anchor, False)
        if found is not None:
            yield found
    for m in _ZH_YEAR.finditer(s):
        rel = m.group("rel")
        year = int(m.group("y")) if rel is None else anchor.year + _ZH_YEAR_OFFSET[rel]
        yield _Found(m.start(), m.end(), date(year, 1, 1), date(year, 12, 31))
    for m in _EN_YEAR.finditer(s):
        year = int(m.group("y"))
        yield _Found(m.start("y"), m.end(), date(year, 1, 1), date(year, 12, 31))
    yield from _english_dates(s, anchor)
    yield from _relative(s, anchor)


def _english_dates(s: str, anchor: date) -> Iterator[_Found]:
    """Dates with English month names; dateparser reads each one, the year rule is ours."""
    for regex in (_EN_DAY_MONTH, _EN_MONTH_DAY, _EN_MONTH):
        for m in regex.finditer(s):
            mon = m.group("mon")
            has_day = "d" in m.groupdict() and m.group("d") is not None
            y = m.group("y")
            if mon.lower().startswith("may") and not has_day and y is None and not _MAY_BEFORE.search(s, max(0, m.start() - _LOOK_BACK), m.start()):
                continue  # "may I", "we may"
            got = _dp(m.group(), anchor, first_of_month=True)
            when = got[0] if got is not None and got[1] in {"day", "month"} else None
            found = None if when is None else _day_or_month(m.start(), m.end(), int(y) if y else None, when.month, when.day if has_day else None, anchor, True)
            if found is not None:
                yield found
            elif has_day:
                yield _Found(m.start(), m.end(), date.min, date.min, "void")  # "31 September": no day, and not the month either


def _relative(s: str, anchor: date) -> Iterator[_Found]:
    """Relative days (dateparser), calendar weeks, months and years, rolling windows, weekdays."""
    for m in _REL_DAY.finditer(s):
        phrase = m.group()
        if phrase in {"昨日", "今日", "明日"}:
            phrase = phrase.replace("日", "天")
        got = _dp(phrase, anchor)
        if got is not None:
            day = got[0].date()
            yield _Found(m.start(), m.end(), day, day)
    for m in _EN_AGO.finditer(s):
        q = _en_quantity(s, m.start(), "{} " + m.group("u") + " ago", anchor)
        if q is not None:
            yield _Found(q[0], m.end(), q[1].date(), q[1].date())
    for m in _EN_CALENDAR.finditer(s):
        w, unit = m.group("w").lower(), m.group("u").lower()
        if w == "past" and unit == "weekend":
            w = "last"
        if w == "past":
            got = _dp(f"1 {unit} ago", anchor)
            found = _window(m.start(), m.end(), got[0], anchor) if got else None
            if found is not None:
                yield found
            continue
        yield _calendar_unit(m.start(), m.end(), unit, _EN_OFFSET[w], anchor)
    for m in _EN_WEEKEND.finditer(s):
        yield _calendar_unit(m.start(), m.end(), "weekend", 0, anchor)
    for m in _EN_ROLLING.finditer(s):
        back = m.group("w").lower() in {"last", "past", "previous", "prior"}
        words = m.group("n").strip()
        got = _dp(f"{words} {m.group('u')} ago" if back else f"in {words} {m.group('u')}", anchor)
        found = _window(m.start(), m.end(), got[0], anchor) if got else None
        if found is not None:
            yield found
    for m in _ZH_CALENDAR.finditer(s):
        yield _calendar_unit(m.start(), m.end(), _ZH_UNIT[m.group("u") or m.group("mo")], _ZH_OFFSET[m.group("w")], anchor)
    for m in _ZH_WEEKEND.finditer(s):
        yield _calendar_unit(m.start(), m.end(), "weekend", 0, anchor)
    for m in _ZH_ROLLING.finditer(s):
        back = m.group("w") in {"过去", "最近", "近", "前"}
        phrase = f"{m.group('n')}{_ZH_ROLL_UNIT[m.group('u')]}{'前' if back else '后'}"
        got = _dp(phrase, anchor)
        found = _window(m.start(), m.end(), got[0], anchor) if got else None
        if found is not None:
            yield found
    for m in _EN_WEEKDAY.finditer(s):
        w = (m.group("w") or "this").lower()
        monday, _ = _week_of(anchor, _EN_OFFSET[w])
        day = monday + timedelta(days=_EN_WEEKDAYS.index(m.group("d").lower()))
        yield _Found(m.start(), m.end(), day, day)
    for m in _ZH_WEEKDAY.finditer(s):
        monday, _ = _week_of(anchor, _ZH_OFFSET[m.group("w") or "本"])
        d = m.group("d")
        day = monday + timedelta(days=6 if d in "日天7" else int(d) - 1)
        yield _Found(m.start(), m.end(), day, day)


def _pick(found: list[_Found]) -> list[_Found]:
    """The non-overlapping ones, earliest first and the longest where two start together."""
    chosen: list[_Found] = []
    for f in sorted(found, key=lambda f: (f.start, -(f.end - f.start))):
        if chosen and f.start < chosen[-1].end:
            continue
        chosen.append(f)
    return chosen


def _extend_ranges(s: str, found: list[_Found]) -> list[_Found]:
    """Join two ends into one period ("9月20日到10月2日", "July to September") and bare days to a dated end
    ("9月20日到26日", "Sept 20-26", "from 20 to 26 Sep")."""
    out: list[_Found] = []
    i = 0
    while i < len(found):
        f = found[i]
        nxt = found[i + 1] if i + 1 < len(found) else None
        if nxt is not None and _connects(s, f.start, f.end, nxt.start):
            first = f.first
            if first > nxt.last and not f.explicit_year and f.level in {"day", "month"}:
                first = _valid(first.year - 1, first.month, first.day) or first
            out.append(_Found(f.start, nxt.end, first, nxt.last, "other"))
            i += 2
            continue
        if f.level == "day":
            after = _BARE_DAY_AFTER.match(s, f.end)
            if after is not None and (after.group("mark") or f.english):
                last = _valid(f.first.year, f.first.month, int(after.group("d")))
                if last is not None and last > f.first and _connects(s, f.start, f.end, after.start("d")):
                    f = _Found(f.start, after.end(), f.first, last, "other")
            else:
                before = _BARE_DAY_BEFORE.search(s, max(0, f.start - _LOOK_BACK), f.start)
                if before is not None and _connects(s, before.start(), before.start() + len(before.group("d")), f.start):
                    begin = _valid(f.first.year, f.first.month, int(before.group("d")))
                    if begin is not None and begin < f.first and (not out or out[-1].end <= before.start()):
                        f = _Found(before.start(), f.end, begin, f.last, "other")
        out.append(f)
        i += 1
    return out


def periods(text: str, anchor: date) -> list[Period]:
    """Every date or period the text states, in order of appearance, anchored at the operating day ``anchor``.

    Whole months ("九月份", "9月", "September", "in July"), days ("九月十号", "9月10日", "10 September",
    "Sep 10th", "2022-09-10"), ranges ("9月20日到26日", "20 to 26 September", "Sept 20-26", "July to
    September"), calendar weeks, months and years ("上周", "this week", "上个月", "last month", "去年"),
    relative days ("昨天", "yesterday", "前天", "3 days ago"), rolling windows ("past 7 days", "过去7天",
    "最近一周", "前三天", "next 3 days", "未来7天", "接下来三天") and weekdays ("周一", "last Friday"). See the
    module's conventions for the year of a date written without one. Numbers that are no dates ("129区",
    ids, "5 parcels", coordinates) give nothing.
    """
    norm = _normalize(text)
    s = norm.s
    found = _extend_ranges(s, [f for f in _pick(list(_candidates(s, anchor))) if f.level != "void"])
    return [Period(f.first, f.last, norm.source(f.start, f.end)) for f in found]
