"""The checks of the dispatcher evaluation (``../shared/eval/README.md``), evaluated from the store.

Every check reads the state after the last turn (and, for the "changed" checks, the snapshot taken
after the setup steps and before the first turn); nothing here looks at tool names, prompts, task ids
or world names. Each check function returns ``(passed, detail)``, the detail saying in words what was
found, so that a failed run can be analysed from the report alone.

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
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from copilot.core.domain import Order, OrderKind, Plan, PlanStatus, Route, World
from copilot.core.errors import InputError
from copilot.core.ports import DispatchStore, StoredPlan
from copilot.core.units import format_clock, format_time, haversine_m, parse_time, travel_seconds
from solvers.checker import check_plan
from tools.context import ToolContext
from tools.kpis import PlanSelector, resolve_plan

# --------------------------------------------------------------------------------------------------
# Store snapshots
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The store state of one world at one moment: the world (orders, vehicles, ...), the clock, every plan."""

    world: World
    clock: int | None
    plans: tuple[StoredPlan, ...]
    committed: StoredPlan | None


def take_snapshot(store: DispatchStore, world_name: str) -> Snapshot:
    """Read the world, its clock and all its plans (with the committed one) from the store."""
    return Snapshot(
        world=store.load_world(world_name),
        clock=store.clock(world_name),
        plans=tuple(store.plans(world_name)),
        committed=store.committed_plan(world_name),
    )


def _by_id(items: Sequence[object]) -> dict[str, object]:
    return {str(getattr(it, "id", "")): it for it in items}


def snapshot_changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs between two snapshots, in words (empty when nothing changed).

    Compared: depots, vehicles, orders (each by id, every field), history rows, the clock, and every
    plan (id, status, note and content) with which one is committed. The world's bookkeeping metadata
    (import time and the like) is not compared.
    """
    out: list[str] = []
    wb, wa = before.world, after.world
    for kind, old_items, new_items in (("depot", wb.depots, wa.depots), ("vehicle", wb.vehicles, wa.vehicles), ("order", wb.orders, wa.orders)):
        old, new = _by_id(old_items), _by_id(new_items)
        added = sorted(set(new) - set(old))
        removed = sorted(set(old) - set(new))
        changed = sorted(k for k in set(old) & set(new) if old[k] != new[k])
        if added:
            out.append(f"{kind}s added: {_ids(added)}")
        if removed:
            out.append(f"{kind}s removed: {_ids(removed)}")
        if changed:
            out.append(f"{kind}s changed: {_ids(changed)}")
    if wb.history != wa.history:
        out.append(f"history changed ({len(wb.history)} -> {len(wa.history)} rows)")
    if before.clock != after.clock:
        shown = ["unset" if t is None else format_time(t, wa.utc_offset_s) for t in (before.clock, after.clock)]
        out.append(f"clock changed: {shown[0]} -> {shown[1]}")
    old_plans = {p.id: p for p in before.plans}
    new_plans = {p.id: p for p in after.plans}
    for pid in sorted(set(new_plans) - set(old_plans)):
        out.append(f"plan #{pid} added ({new_plans[pid].status.value}, {new_plans[pid].note or 'no note'})")
    for pid in sorted(set(old_plans) - set(new_plans)):
        out.append(f"plan #{pid} removed")
    for pid in sorted(set(old_plans) & set(new_plans)):
        a, b = old_plans[pid], new_plans[pid]
        if a.status is not b.status:
            out.append(f"plan #{pid} {a.status.value} -> {b.status.value}")
        elif a != b:
            out.append(f"plan #{pid} content changed")
    cb = before.committed.id if before.committed else None
    ca = after.committed.id if after.committed else None
    if cb != ca:
        out.append(f"committed plan #{cb} -> #{ca}")
    return out


def _ids(ids: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


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
# The evaluator's own recomputation of a plan
# --------------------------------------------------------------------------------------------------


def recompute_plan(world: World, plan: Plan) -> list[str]:
    """Disagreements between a stored plan and the evaluator's own recomputation of it (empty: agrees).

    Per route, from the stored departure: every leg's straight-line distance and driving time at the
    vehicle's speed; a stored arrival (ETA) may not be earlier than driving allows (1 s per leg
    tolerance; later is possible after a wait or a reported delay); service starts at or after arrival
    and lasts the order's service time; the load after each stop follows from the stated start load
    and stays within 0..capacity; the return is not earlier than driving allows; the stated distance
    is the recomputed one (1 m per leg tolerance).
    """
    out: list[str] = []
    orders = {o.id: o for o in world.orders}
    vehicles = {v.id: v for v in world.vehicles}
    depots = {d.id: d for d in world.depots}
    off = world.utc_offset_s
    for route in plan.routes:
        vehicle = vehicles.get(route.vehicle_id)
        if vehicle is None or vehicle.depot_id not in depots:
            out.append(f"{route.vehicle_id}: not a vehicle of the world")
            continue
        depot = depots[vehicle.depot_id].location
        here, t, load, dist = (depot.lat, depot.lng), route.start, route.start_load, 0
        if not 0 <= load <= vehicle.capacity:
            out.append(f"{route.vehicle_id}: start load {load} outside 0..{vehicle.capacity}")
        for visit in route.visits:
            order = orders.get(visit.order_id)
            if order is None:
                out.append(f"{route.vehicle_id}: {visit.order_id} is not an order of the world")
                continue
            leg = haversine_m(*here, order.location.lat, order.location.lng)
            dist += leg
            earliest = t + travel_seconds(leg, vehicle.speed_kmh)
            if visit.arrival < earliest - 1:
                out.append(f"{route.vehicle_id} {order.id}: stored ETA {format_clock(visit.arrival, off)}, cannot arrive before {format_clock(earliest, off)}")
            if visit.start < visit.arrival:
                out.append(f"{route.vehicle_id} {order.id}: service starts before arrival")
            if visit.departure != visit.start + order.service_s:
                out.append(f"{route.vehicle_id} {order.id}: departure is not start + {order.service_s} s service")
            load += order.demand if order.kind is OrderKind.PICKUP else -order.demand
            if visit.load_after != load:
                out.append(f"{route.vehicle_id} {order.id}: stored load {visit.load_after}, recomputed {load}")
                load = visit.load_after
            if not 0 <= load <= vehicle.capacity:
                out.append(f"{route.vehicle_id} {order.id}: load {load} outside 0..{vehicle.capacity}")
            here, t = (order.location.lat, order.location.lng), visit.departure
        back = haversine_m(*here, depot.lat, depot.lng)
        dist += back
        if route.visits and route.end < t + travel_seconds(back, vehicle.speed_kmh) - 1:
            out.append(f"{route.vehicle_id}: stored return {format_clock(route.end, off)} earlier than driving allows")
        if route.visits and abs(route.distance_m - dist) > len(route.visits) + 1:
            out.append(f"{route.vehicle_id}: stored distance {route.distance_m} m, recomputed {dist} m")
    return out


# --------------------------------------------------------------------------------------------------
# Check parameters
# --------------------------------------------------------------------------------------------------

Validator = Callable[[object], str | None]


def _nonempty_text(v: object) -> str | None:
    return None if isinstance(v, str) and v.strip() else "must be a non-empty text"


def _plan_choice(v: object) -> str | None:
    return None if v in ("committed", "draft") else "must be 'committed' or 'draft'"


def _boolean(v: object) -> str | None:
    return None if isinstance(v, bool) else "must be true or false"


def _instant(v: object) -> str | None:
    if not isinstance(v, str):
        return "must be an ISO 8601 time with offset, e.g. 2022-05-01T10:30:00+08:00"
    try:
        parse_time(v)
    except ValueError as exc:
        return str(exc)
    return None


def _text_list(v: object) -> str | None:
    if isinstance(v, list) and v and all(isinstance(x, str) and x.strip() for x in v):
        return None
    return "must be a non-empty list of non-empty texts"


def _language(v: object) -> str | None:
    return None if v in ("en", "zh") else "must be 'en' or 'zh'"


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _field_demand(order: Order, want: object) -> tuple[bool, str]:
    return order.demand == want, str(order.demand)


def _first_start(order: Order) -> int | None:
    return order.windows[0].start if order.windows else None


def _last_end(order: Order) -> int | None:
    return order.windows[-1].end if order.windows else None


def _field_instant(get: Callable[[Order], int | None]) -> Callable[[Order, object], tuple[bool, str]]:
    def compare(order: Order, want: object) -> tuple[bool, str]:
        have = get(order)
        return have is not None and have == parse_time(str(want)), "none" if have is None else str(have)

    return compare


def _field_text(get: Callable[[Order], str | None]) -> Callable[[Order, object], tuple[bool, str]]:
    def compare(order: Order, want: object) -> tuple[bool, str]:
        have = get(order) or ""
        return have.strip().casefold() == str(want or "").strip().casefold(), repr(have)

    return compare


def _field_float(get: Callable[[Order], float]) -> Callable[[Order, object], tuple[bool, str]]:
    def compare(order: Order, want: object) -> tuple[bool, str]:
        have = get(order)
        return _number(want) and abs(have - float(want)) <= 1e-6, f"{have:g}"  # type: ignore[arg-type]

    return compare


def _field_cancelled(order: Order, want: object) -> tuple[bool, str]:
    return order.cancelled is want, str(order.cancelled)


#: order_exists ``fields``: name -> (validator of the expected value, comparison with the stored order).
#: ``tw_start`` / ``tw_end`` are the first window's start and the last window's end, compared as instants.
ORDER_FIELDS: dict[str, tuple[Validator, Callable[[Order, object], tuple[bool, str]]]] = {
    "demand": (lambda v: None if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else "must be a whole number, zero or more", _field_demand),
    "tw_start": (_instant, _field_instant(_first_start)),
    "tw_end": (_instant, _field_instant(_last_end)),
    "customer": (lambda v: None if isinstance(v, str) else "must be a text", _field_text(lambda o: o.customer)),
    "kind": (lambda v: None if v in ("pickup", "delivery") else "must be 'pickup' or 'delivery'", _field_text(lambda o: o.kind.value)),
    "priority": (lambda v: None if v in ("normal", "high") else "must be 'normal' or 'high'", _field_text(lambda o: o.priority.value)),
    "required_skill": (lambda v: None if v is None or isinstance(v, str) else "must be a text or null", _field_text(lambda o: o.required_skill)),
    "notes": (lambda v: None if isinstance(v, str) else "must be a text", _field_text(lambda o: o.notes)),
    "pinned_vehicle": (lambda v: None if v is None or isinstance(v, str) else "must be a text or null", _field_text(lambda o: o.pinned_vehicle)),
    "service_min": (lambda v: None if _number(v) else "must be a number", _field_float(lambda o: o.service_s / 60)),
    "lat": (lambda v: None if _number(v) else "must be a number", _field_float(lambda o: o.location.lat)),
    "lng": (lambda v: None if _number(v) else "must be a number", _field_float(lambda o: o.location.lng)),
    "cancelled": (_boolean, _field_cancelled),
}


def _fields(v: object) -> str | None:
    if not isinstance(v, dict) or not v:
        return "must be a non-empty object of order fields"
    for name, want in v.items():
        if name not in ORDER_FIELDS:
            return f"has unknown field {name!r}; known fields: {', '.join(ORDER_FIELDS)}"
        problem = ORDER_FIELDS[name][0](want)
        if problem:
            return f"field {name!r} {problem}"
    return None


_METRIC_RE = re.compile(r"^(vehicles_used|total_distance_km|unassigned_count|order_count)$|^(order_vehicle|order_eta|vehicle_stops):(\S+)$|^forecast_total:(\S+):(\d+)$")
METRICS = ("vehicles_used", "total_distance_km", "unassigned_count", "order_vehicle:ID", "order_eta:ID", "vehicle_stops:VID", "order_count", "forecast_total:REGION:DAYS")


def _metric(v: object) -> str | None:
    if not isinstance(v, str) or not _METRIC_RE.match(v):
        return f"must be one of {', '.join(METRICS)}"
    if v.startswith("forecast_total:") and int(v.rsplit(":", 1)[1]) <= 0:
        return "forecast_total needs a positive number of days"
    return None


# --------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------


@dataclass
class CheckState:
    """What the checks read: the evaluator's own tool context on the run's store, the snapshot before the
    first turn, the snapshot after the last one, and the answers (one per turn)."""

    ctx: ToolContext
    before: Snapshot
    after: Snapshot
    answers: list[str]

    @property
    def answer(self) -> str:
        """The last answer ('' when there was none)."""
        return self.answers[-1] if self.answers else ""

    @property
    def world(self) -> World:
        """The world after the turns."""
        return self.after.world


CheckResult = tuple[bool, str]
CheckFn = Callable[[Mapping[str, object], CheckState], CheckResult]


def _plan(state: CheckState, spec: Mapping[str, object]) -> tuple[StoredPlan | None, str]:
    """The plan a check names ("committed" unless ``plan`` is "draft"), or None and why there is none."""
    which: PlanSelector = "draft" if spec.get("plan") == "draft" else "committed"
    try:
        return resolve_plan(state.ctx, which), ""
    except InputError as exc:
        return None, str(exc)


def _plan_name(sp: StoredPlan) -> str:
    return f"{sp.status.value} plan #{sp.id}"


def _route(plan: Plan, vehicle_id: str) -> Route | None:
    return next((r for r in plan.routes if r.vehicle_id == vehicle_id), None)


def check_plan_exists(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    sp, why = _plan(state, spec)
    return (True, f"{_plan_name(sp)} exists") if sp else (False, why)


def check_plan_feasible(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    sp, why = _plan(state, spec)
    if sp is None:
        return False, why
    clock = state.after.clock
    violations = check_plan(state.world, sp.plan, clock)
    disagreements = recompute_plan(state.world, sp.plan)
    stops = len(sp.plan.assigned_ids())
    if not violations and not disagreements:
        return True, f"{_plan_name(sp)}: {stops} stops, the independent checker finds no violation and the recomputation agrees"
    parts = [f"checker: {'; '.join(map(str, violations[:3]))}" + (f" (+{len(violations) - 3} more)" if len(violations) > 3 else "")] if violations else []
    if disagreements:
        parts.append(f"recomputation: {'; '.join(disagreements[:3])}" + (f" (+{len(disagreements) - 3} more)" if len(disagreements) > 3 else ""))
    return False, f"{_plan_name(sp)} is not feasible: " + " | ".join(parts)


def check_order_assigned(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    sp, why = _plan(state, spec)
    if sp is None:
        return False, why
    oid = str(spec["order"])
    route = sp.plan.route_of(oid)
    if route is None:
        reason = next((u.reason for u in sp.plan.unassigned if u.order_id == oid), None)
        return False, f"{oid} is not on a route of {_plan_name(sp)}" + (f" (unassigned: {reason})" if reason else "")
    want = spec.get("vehicle")
    if want is not None and route.vehicle_id != want:
        return False, f"{oid} is on {route.vehicle_id} in {_plan_name(sp)}, not on {want}"
    return True, f"{oid} is on {route.vehicle_id} in {_plan_name(sp)}"


def check_order_unassigned(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    sp, why = _plan(state, spec)
    if sp is None:
        return False, why
    oid = str(spec["order"])
    route = sp.plan.route_of(oid)
    if route is not None:
        return False, f"{oid} is on {route.vehicle_id} in {_plan_name(sp)}"
    return True, f"{oid} is on no route of {_plan_name(sp)}"


def _order(state: CheckState, oid: str) -> Order | None:
    return next((o for o in state.world.orders if o.id == oid), None)


def check_order_exists(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    oid = str(spec["order"])
    order = _order(state, oid)
    if order is None:
        return False, f"no order {oid} in the store"
    fields = spec.get("fields") or {}
    assert isinstance(fields, dict)
    wrong = []
    for name, want in fields.items():
        ok, have = ORDER_FIELDS[name][1](order, want)
        if not ok:
            shown = format_time(int(have), state.world.utc_offset_s) if name in ("tw_start", "tw_end") and have.isdigit() else have
            wrong.append(f"{name} is {shown}, expected {want!r}")
    if wrong:
        return False, f"order {oid} exists but " + "; ".join(wrong)
    return True, f"order {oid} exists" + (f" with {', '.join(fields)} as expected" if fields else "")


def check_order_cancelled(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    """Cancelled means the order's cancelled flag in the store (kept there, and never routed by any plan made since)."""
    oid = str(spec["order"])
    order = _order(state, oid)
    if order is None:
        return False, f"no order {oid} in the store (a cancelled order is kept)"
    return (True, f"order {oid} is cancelled") if order.cancelled else (False, f"order {oid} is not cancelled")


def check_vehicle_available(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    vid = str(spec["vehicle"])
    vehicle = next((v for v in state.world.vehicles if v.id == vid), None)
    if vehicle is None:
        return False, f"no vehicle {vid} in the store"
    want = spec["value"]
    have = vehicle.available
    off = state.world.utc_offset_s
    how = "available" if have else f"unavailable from {format_clock(vehicle.unavailable_from or 0, off)}"
    return have == want, f"{vid} is {how} (expected {'available' if want else 'unavailable'})"


def check_vehicle_no_stops_after(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    sp, why = _plan(state, spec)
    if sp is None:
        return False, why
    vid = str(spec["vehicle"])
    at = parse_time(str(spec["time"]))
    route = _route(sp.plan, vid)
    late = [v for v in route.visits if v.start > at] if route else []
    off = state.world.utc_offset_s
    if late:
        shown = ", ".join(f"{v.order_id} {format_clock(v.start, off)}" for v in late[:5])
        return False, f"{vid} has {len(late)} stop(s) starting after {format_clock(at, off)} in {_plan_name(sp)}: {shown}"
    return True, f"{vid} has no stop starting after {format_clock(at, off)} in {_plan_name(sp)}"


def check_history_unchanged_before(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    """Against the plan committed before the first turn: every stop of either plan that started before
    ``time`` is in both, on the same vehicle with the same start. Without a plan committed before the
    turns there is no history, and the check holds."""
    sp, why = _plan(state, spec)
    if sp is None:
        return False, why
    base = state.before.committed
    if base is None:
        return True, "no plan was committed before the turns: no history to keep"
    at = parse_time(str(spec["time"]))
    old = {v.order_id: (r.vehicle_id, v.start) for r in base.plan.routes for v in r.visits}
    new = {v.order_id: (r.vehicle_id, v.start) for r in sp.plan.routes for v in r.visits}
    off = state.world.utc_offset_s

    def show(stop: tuple[str, int] | None) -> str:
        return "absent" if stop is None else f"{stop[0]} {format_clock(stop[1], off)}"

    changed = []
    for oid in sorted({k for k, (_, s) in old.items() if s < at} | {k for k, (_, s) in new.items() if s < at}):
        if old.get(oid) != new.get(oid):
            changed.append(f"{oid}: {show(old.get(oid))} -> {show(new.get(oid))}")
    if changed:
        return False, f"{len(changed)} stop(s) before {format_clock(at, off)} changed in {_plan_name(sp)}: " + "; ".join(changed[:5])
    return True, f"{_plan_name(sp)} keeps every stop before {format_clock(at, off)} of plan #{base.id}"


def check_plan_committed_changed(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    a, b = state.before.committed, state.after.committed
    changed = (a is None) != (b is None) or (a is not None and b is not None and (a.id != b.id or a.plan != b.plan))
    shown = f"committed plan #{a.id if a else None} before, #{b.id if b else None} after"
    return changed == spec["value"], f"{shown}: {'changed' if changed else 'unchanged'}"


def check_unchanged(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    changes = snapshot_changes(state.before, state.after)
    return (False, "; ".join(changes)) if changes else (True, "orders, vehicles, depots, clock and plans are as before the turns")


def check_answer_mentions(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    words = [str(w) for w in spec["any"]]  # type: ignore[attr-defined]
    text = normalize(state.answer).casefold()
    hits = [w for w in words if normalize(w).casefold() in text]
    return (True, f"mentions {', '.join(map(repr, hits))}") if hits else (False, f"mentions none of {', '.join(map(repr, words))}")


def check_answer_not_mentions(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    ok, detail = check_answer_mentions(spec, state)
    return (not ok, detail)


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


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A check: its parameters (name -> validator) and its function."""

    fn: CheckFn
    required: Mapping[str, Validator]
    optional: Mapping[str, Validator]


_PLAN = {"plan": _plan_choice}

CHECKS: dict[str, CheckSpec] = {
    "plan_exists": CheckSpec(check_plan_exists, {}, _PLAN),
    "plan_feasible": CheckSpec(check_plan_feasible, {}, _PLAN),
    "order_assigned": CheckSpec(check_order_assigned, {"order": _nonempty_text}, {"vehicle": _nonempty_text, **_PLAN}),
    "order_unassigned": CheckSpec(check_order_unassigned, {"order": _nonempty_text}, _PLAN),
    "order_exists": CheckSpec(check_order_exists, {"order": _nonempty_text}, {"fields": _fields}),
    "order_cancelled": CheckSpec(check_order_cancelled, {"order": _nonempty_text}, {}),
    "vehicle_available": CheckSpec(check_vehicle_available, {"vehicle": _nonempty_text, "value": _boolean}, {}),
    "vehicle_no_stops_after": CheckSpec(check_vehicle_no_stops_after, {"vehicle": _nonempty_text, "time": _instant}, _PLAN),
    "history_unchanged_before": CheckSpec(check_history_unchanged_before, {"time": _instant}, _PLAN),
    "plan_committed_changed": CheckSpec(check_plan_committed_changed, {"value": _boolean}, {}),
    "unchanged": CheckSpec(check_unchanged, {}, {}),
    "answer_mentions": CheckSpec(check_answer_mentions, {"any": _text_list}, {}),
    "answer_not_mentions": CheckSpec(check_answer_not_mentions, {"any": _text_list}, {}),
    "answer_mentions_value": CheckSpec(check_answer_mentions_value, {"metric": _metric}, _PLAN),
    "answer_language": CheckSpec(check_answer_language, {"lang": _language}, {}),
}


def validate_check(spec: object) -> list[str]:
    """Every problem of one check object as a task file gives it (empty when it is well formed)."""
    if not isinstance(spec, dict):
        return ['must be a JSON object like {"check": "plan_exists"}']
    name = spec.get("check")
    if not isinstance(name, str):
        return ['has no "check" name']
    cs = CHECKS.get(name)
    if cs is None:
        return [f"unknown check {name!r}; known checks: {', '.join(CHECKS)}"]
    problems = [f"{name}: missing {key!r}" for key in cs.required if key not in spec]
    for key, value in spec.items():
        if key == "check":
            continue
        validator = cs.required.get(key) or cs.optional.get(key)
        if validator is None:
            allowed = [*cs.required, *cs.optional]
            problems.append(f"{name}: unknown parameter {key!r}; allowed: {', '.join(allowed) or 'none'}")
            continue
        problem = validator(value)
        if problem:
            problems.append(f"{name}: {key!r} {problem}")
    return problems


def evaluate_check(spec: Mapping[str, object], state: CheckState) -> dict[str, object]:
    """Run one (validated) check: ``{"check", "passed", "detail"}``; an error inside a check fails it."""
    name = str(spec["check"])
    try:
        passed, detail = CHECKS[name].fn(spec, state)
    except Exception as exc:  # a check that cannot be evaluated fails, with the reason
        passed, detail = False, f"the check could not be evaluated: {type(exc).__name__}: {exc}"
    params = {k: v for k, v in spec.items() if k != "check"}
    return {"check": name, **({"params": params} if params else {}), "passed": bool(passed), "detail": detail}
