"""Dates and periods a dispatcher writes ("九月十号", "Sep 10th", "上周", "past 7 days", "9月20日到26日"), anchored at the operating day.

The conventions (which year a date without one is in, what "last week" or "past N days" covers) are those
of :mod:`tools.timewords`.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tools.timewords._text import _CONNECTOR, _FLAGS, _LOOK_BACK, _connects, _dp, _en_quantity, _normalize


@dataclass(frozen=True)
class Period:
    """A date or a run of dates that a text states, both ends inclusive."""

    start: date
    """The first day (inclusive)."""
    end: date
    """The last day (inclusive)."""
    text: str
    """The words it was read from, as written."""



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
    conventions of :mod:`tools.timewords` for the year of a date written without one. Numbers that are no
    dates ("129区", ids, "5 parcels", coordinates) give nothing.
    """
    norm = _normalize(text)
    s = norm.s
    found = _extend_ranges(s, [f for f in _pick(list(_candidates(s, anchor))) if f.level != "void"])
    return [Period(f.first, f.last, norm.source(f.start, f.end)) for f in found]
