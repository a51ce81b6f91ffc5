"""Answer checks of the dispatcher evaluation: reading numbers, times, ids and the language in an answer.

Reading numbers, times and ids in an answer (``answer_mentions_value``):

* a number matches when it equals the expected value after rounding to the precision the answer
  uses (``88.6`` for 88.574; ``89`` too), or when it is within 1 % of it;
* ids are not numbers: any word that starts with a letter and contains a digit (``P546630``,
  ``HZ-V3``, ``V3``) and ``#12`` are taken out first, and so are times (``10:42``) and dates;
* thousands separators (``1,234``), full-width digits, Chinese around numbers (``6辆车``), the
  multiplier ``万``, English number words up to ninety-nine, Chinese numerals (``六``, ``十二``) and
  words for zero (``none``, ``no orders``, ``没有``) are understood;
* order and vehicle ids match whole (``HZ-V1`` does not match ``HZ-V10``), case-insensitively;
* an arrival time matches as ``HH:MM`` (``09:05`` or ``9:05``), ``9:05 am``, ``9点05分``, ``下午3点20``.

``answer_language``: quoted text (a customer's note read back) is left out; the answer is mainly
Chinese when its CJK characters, counted three latin letters each, outweigh the latin letters that are
left after ids, numbers and times are taken out, and mainly English in the opposite case.

The metrics of ``answer_mentions_value`` (:func:`metric_value`) are read from the state after the turns.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from copilot.apps.eval.state import CheckResult, CheckState, _ids, _plan, _plan_name, _route
from copilot.core.domain import PlanStatus
from copilot.core.errors import InputError
from copilot.core.ports import StoredPlan
from copilot.core.units import format_clock

# --------------------------------------------------------------------------------------------------
# Reading an answer: numbers, times, ids, language
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundNumber:
    """A number read from an answer: its value and the decimals it was given with (negative for ``万``)."""

    value: Decimal
    decimals: int
    text: str


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:[+-]\d{2}:\d{2}|Z)?)?")
_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)")
_ID_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:[-/][A-Za-z0-9_]+)*")
_HASH_ID = re.compile(r"#\s?\d+")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![0-9])(\s*[万萬])?")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_QUOTED = re.compile(r"“[^”]*”|「[^」]*」|『[^』]*』|\"[^\"]*\"")

_EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_EN_WORD = re.compile(r"\b(?:(" + "|".join(_EN_TENS) + r")(?:[-\s](one|two|three|four|five|six|seven|eight|nine))?|(" + "|".join(_EN_UNITS) + r"))\b", re.IGNORECASE)
_EN_ZERO = re.compile(r"\bnone\b|\bnothing\b|\bno\s+[a-z]+", re.IGNORECASE)
_ZH_ZERO = re.compile(r"没有|[无無](?!法)")
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_NUMERAL = re.compile(r"[零〇一二两兩三四五六七八九十百千万萬]+")
# words in which 一 (or 万, 千) is not a number
_ZH_NOT_NUMBERS = ("一共", "一下", "一起", "一些", "一直", "一样", "一般", "一旦", "一切", "一定", "统一", "唯一", "万一", "千万", "一致", "进一步")


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), with Chinese commas kept as list separators."""
    return unicodedata.normalize("NFKC", text.replace("，", ", ").replace("、", ", "))


def _blank(pattern: re.Pattern[str], text: str, keep: Callable[[re.Match[str]], bool] = lambda m: False) -> str:
    return pattern.sub(lambda m: m.group(0) if keep(m) else " " * len(m.group(0)), text)


def strip_ids_and_times(text: str) -> str:
    """The text with dates, times, ``#12`` and id-like words (a letter first, a digit inside) blanked out."""
    text = _blank(_DATE, text)
    text = _blank(_TIME, text)
    text = _blank(_HASH_ID, text)
    return _blank(_ID_WORD, text, keep=lambda m: not any(c.isdigit() for c in m.group(0)))


def _zh_value(s: str) -> int | None:
    """The value of a Chinese numeral such as 六, 十二, 一百零五, 三万 (None when it is not one)."""
    total, section, digit = 0, 0, None
    for ch in s:
        if ch in _ZH_DIGITS:
            digit = _ZH_DIGITS[ch]
        elif ch in _ZH_UNITS:
            section += (1 if digit is None else digit) * _ZH_UNITS[ch]
            digit = None
        elif ch in "万萬":
            total += (section + (digit or 0)) * 10_000
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


def extract_numbers(answer: str) -> list[FoundNumber]:
    """Every number an answer states (ids, times and dates excluded), with the precision it uses."""
    text = strip_ids_and_times(normalize(answer))
    found: list[FoundNumber] = []
    for m in _NUMBER.finditer(text):
        whole, frac, wan = m.group(1), m.group(2) or "", m.group(3)
        try:
            value = Decimal(whole.replace(",", "") + frac)
        except InvalidOperation:  # pragma: no cover - the pattern admits only digits
            continue
        decimals = len(frac) - 1 if frac else 0
        if wan:
            value *= 10_000
            decimals -= 4
        found.append(FoundNumber(value, decimals, m.group(0).strip()))
    for m in _EN_WORD.finditer(text):
        tens, unit, single = m.group(1), m.group(2), m.group(3)
        n = _EN_UNITS[single.lower()] if single else _EN_TENS[tens.lower()] + (_EN_UNITS[unit.lower()] if unit else 0)
        found.append(FoundNumber(Decimal(n), 0, m.group(0)))
    for m in _EN_ZERO.finditer(text):
        found.append(FoundNumber(Decimal(0), 0, m.group(0)))
    for m in _ZH_ZERO.finditer(text):
        found.append(FoundNumber(Decimal(0), 0, m.group(0)))
    masked = text
    for word in _ZH_NOT_NUMBERS:
        masked = masked.replace(word, " " * len(word))
    for m in _ZH_NUMERAL.finditer(masked):
        run = m.group(0)
        if not any(ch in _ZH_DIGITS for ch in run) and not run.startswith("十"):
            continue  # 万, 百分之, 千 alone are not numbers
        zh = _zh_value(run)
        if zh is not None:
            found.append(FoundNumber(Decimal(zh), 0, m.group(0)))
    return found


def number_matches(expected: float, found: FoundNumber) -> bool:
    """True when ``found`` is ``expected`` rounded to the precision it is given with, or within 1 % of it."""
    exp = Decimal(repr(float(expected)))
    diff = abs(exp - found.value)
    half_unit = Decimal(5) * Decimal(10) ** (-found.decimals - 1)
    return diff <= half_unit or diff <= abs(exp) / 100


def mentions_number(answer: str, expected: float) -> tuple[bool, list[FoundNumber]]:
    """Whether the answer states ``expected`` (see :func:`number_matches`), and every number it states."""
    found = extract_numbers(answer)
    return any(number_matches(expected, f) for f in found), found


def mentions_id(answer: str, ident: str) -> bool:
    """Whether the answer names ``ident`` as a whole word (case-insensitive; ``HZ-V1`` is not in ``HZ-V10``)."""
    pattern = r"(?<![A-Za-z0-9])" + re.escape(ident) + r"(?![A-Za-z0-9])"
    return re.search(pattern, normalize(answer), re.IGNORECASE) is not None


_HHMM = re.compile(r"(?<!\d)(\d{1,2}):(\d{2})(?::\d{2})?(?!\d)(\s*([ap])\.?\s?m\b\.?)?", re.IGNORECASE)
_ZH_TIME = re.compile(r"(上午|早上|中午|下午|晚上)?\s*(\d{1,2})\s*[点點时時]\s*(半|(\d{1,2})\s*分?)?")


def extract_times(answer: str) -> set[tuple[int, int]]:
    """Every clock time an answer states, as (hour, minute) on a 24-hour clock."""
    text = normalize(answer)
    out: set[tuple[int, int]] = set()
    for m in _HHMM.finditer(text):
        h, mi = int(m.group(1)), int(m.group(2))
        ampm = (m.group(4) or "").lower()
        if ampm == "p" and h < 12:
            h += 12
        elif ampm == "a" and h == 12:
            h = 0
        out.add((h, mi))
    for m in _ZH_TIME.finditer(text):
        h = int(m.group(2))
        mi = 30 if m.group(3) == "半" else int(m.group(4)) if m.group(4) else 0
        if m.group(1) in ("下午", "晚上") and h < 12:
            h += 12
        out.add((h, mi))
    return {(h, mi) for h, mi in out if h < 24 and mi < 60}


def language_counts(answer: str) -> tuple[int, int]:
    """(CJK characters, latin letters) of an answer, outside quotes, ids, numbers and times."""
    text = normalize(answer)
    unquoted = _QUOTED.sub(" ", text)
    for candidate in (unquoted, text):
        plain = strip_ids_and_times(candidate)
        cjk, latin = len(_CJK.findall(plain)), len(_LATIN.findall(plain))
        if cjk or latin:
            return cjk, latin
    return 0, 0


#: One CJK character is counted as this many latin letters when weighing an answer's language.
CJK_WEIGHT = 3


def answer_language(answer: str) -> str | None:
    """``zh`` or ``en``: which the answer is mainly in (None for an answer without letters or a tie)."""
    cjk, latin = language_counts(answer)
    if cjk * CJK_WEIGHT > latin:
        return "zh"
    if latin > cjk * CJK_WEIGHT:
        return "en"
    return None


# --------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------


_METRIC_RE = re.compile(r"^(vehicles_used|total_distance_km|unassigned_count|order_count)$|^(order_vehicle|order_eta|vehicle_stops):(\S+)$|^forecast_total:(\S+):(\d+)$")
METRICS = ("vehicles_used", "total_distance_km", "unassigned_count", "order_vehicle:ID", "order_eta:ID", "vehicle_stops:VID", "order_count", "forecast_total:REGION:DAYS")


def _metric(v: object) -> str | None:
    if not isinstance(v, str) or not _METRIC_RE.match(v):
        return f"must be one of {', '.join(METRICS)}"
    if v.startswith("forecast_total:") and int(v.rsplit(":", 1)[1]) <= 0:
        return "forecast_total needs a positive number of days"
    return None


def metric_plan(state: CheckState, explicit: object = None) -> tuple[StoredPlan | None, str]:
    """The plan ``answer_mentions_value`` reads a plan metric from.

    With ``"plan"`` in the check, that plan. Otherwise the plan the dispatcher is talking about after the
    turns: the most recent draft when it was made during the turns and is newer than the committed plan
    (a proposal the answer describes), else the committed plan, else the most recent draft of any age.
    """
    if explicit in ("committed", "draft"):
        return _plan(state, {"plan": explicit})
    known = {p.id for p in state.before.plans}
    committed = state.after.committed
    new_drafts = [p for p in state.after.plans if p.status is PlanStatus.DRAFT and p.id not in known]
    if new_drafts:
        newest = max(new_drafts, key=lambda p: (p.created_at, p.id))
        if committed is None or newest.id > committed.id:
            return newest, ""
    if committed is not None:
        return committed, ""
    return _plan(state, {"plan": "draft"})


def metric_value(state: CheckState, metric: str, plan_choice: object = None) -> tuple[float | str | list[str] | None, str]:
    """The value of a metric in the state after the turns, and where it was read (or why it has none)."""
    name, _, arg = metric.partition(":")
    world = state.world
    if name == "order_count":
        return len(world.active_orders()), "active orders in the store"
    if name == "forecast_total":
        region, _, days = arg.rpartition(":")
        try:
            from tools.forecast import forecast_total
        except ImportError as exc:
            return None, f"the forecast is not available: {exc}"
        try:
            return float(forecast_total(state.ctx, region, int(days))), f"the project's forecast for {region}, next {days} days"
        except Exception as exc:  # a failing forecast fails the check, not the run
            return None, f"the forecast failed: {type(exc).__name__}: {exc}"
    sp, why = metric_plan(state, plan_choice)
    if sp is None:
        return None, why
    plan, where = sp.plan, _plan_name(sp)
    if name == "vehicles_used":
        return plan.vehicles_used, where
    if name == "total_distance_km":
        return plan.distance_m / 1000, where
    if name == "unassigned_count":
        return len(plan.unassigned), where
    if name in ("order_vehicle", "order_eta"):
        route = plan.route_of(arg)
        if route is None:
            return None, f"{arg} is on no route of {where}"
        if name == "order_vehicle":
            return route.vehicle_id, where
        visit = route.visits[route.order_ids.index(arg)]
        return format_clock(visit.arrival, world.utc_offset_s), where
    if name == "vehicle_stops":
        route = _route(plan, arg)
        if route is None or not route.visits:
            return None, f"{arg} has no stops in {where}"
        return list(route.order_ids), where
    raise InputError(f"unknown metric {metric!r}")  # pragma: no cover - validated when the tasks are read


# --------------------------------------------------------------------------------------------------
# Answer checks
# --------------------------------------------------------------------------------------------------


def check_answer_mentions(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    words = [str(w) for w in spec["any"]]  # type: ignore[attr-defined]
    text = normalize(state.answer).casefold()
    hits = [w for w in words if normalize(w).casefold() in text]
    return (True, f"mentions {', '.join(map(repr, hits))}") if hits else (False, f"mentions none of {', '.join(map(repr, words))}")


def check_answer_not_mentions(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    ok, detail = check_answer_mentions(spec, state)
    return (not ok, detail)


def check_answer_mentions_value(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    metric = str(spec["metric"])
    value, where = metric_value(state, metric, spec.get("plan"))
    if value is None:
        return False, f"{metric} has no value: {where}"
    answer = state.answer
    name = metric.partition(":")[0]
    if name == "order_eta":
        assert isinstance(value, str)
        hour, minute = (int(x) for x in value.split(":"))
        times = extract_times(answer)
        shown = ", ".join(f"{h:02d}:{m:02d}" for h, m in sorted(times)) or "none"
        return (hour, minute) in times, f"{metric} = {value} ({where}); times in the answer: {shown}"
    if isinstance(value, str):
        return mentions_id(answer, value), f"{metric} = {value} ({where})"
    if isinstance(value, list):
        missing = [oid for oid in value if not mentions_id(answer, oid)]
        if missing:
            return False, f"{metric}: {len(missing)} of {len(value)} stops missing from the answer ({where}): {_ids(missing)}"
        return True, f"{metric}: all {len(value)} stops named ({where})"
    ok, found = mentions_number(answer, value)
    shown = ", ".join(f.text for f in found[:12]) or "none"
    return ok, f"{metric} = {value:g} ({where}); numbers in the answer: {shown}"


def check_answer_language(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    want = spec["lang"]
    have = answer_language(state.answer)
    cjk, latin = language_counts(state.answer)
    return have == want, f"mainly {have or 'neither'} ({cjk} CJK characters, {latin} latin letters outside ids and numbers); expected {want}"
