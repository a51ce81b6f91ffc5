"""Times of day and time windows a dispatcher writes ("2pm", "下午3点15分", "between 1 and 3pm"), as 24h ``HH:MM``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tools.timewords._text import _CONNECTOR, _FLAGS, _LOOK_BACK, _connects, _normalize

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
