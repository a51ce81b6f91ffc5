"""Grounding: ids the model filled must exist and appear in the dispatcher's words, numbers and times must appear
in them, dates are read from them by code (:mod:`tools.timewords`); a missing or ungrounded required value
becomes a question back (:class:`Grounded`). :func:`args_from_text` fills unambiguous ids straight from the words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from copilot.core.domain import World
from tools import timewords

if TYPE_CHECKING:
    from graphs.toolset import Action

PERIOD_FIELDS = ("date_from", "date_to", "compare_from", "compare_to")
"""A query's dates: read by :func:`ground` from the dispatcher's words, never filled by the model."""



_ID_FIELDS = {"order_id": "order", "vehicle_id": "vehicle", "remove_vehicle": "vehicle"}
_NUM = re.compile(r"-?\d+(?:\.\d+)?")


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]", "", text).lower()


@dataclass
class Grounded:
    """Validated arguments, or the question to ask instead."""

    args: BaseModel | None
    question: str | None = None
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    """Ids the dispatcher wrote that do not exist."""


_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_NUM = re.compile(r"[零一二两三四五六七八九十]+")
_WORD_NUMS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a week": 7, "next week": 7}


def _zh_number(word: str) -> int | None:
    """A Chinese numeral up to 99 (三 -> 3, 十二 -> 12, 二十 -> 20)."""
    if "十" in word:
        tens, _, ones = word.partition("十")
        t = _ZH_DIGITS.get(tens, 1) if tens else 1
        o = _ZH_DIGITS.get(ones, 0) if ones else 0
        return t * 10 + o if (not tens or tens in _ZH_DIGITS) and (not ones or ones in _ZH_DIGITS) else None
    return _ZH_DIGITS[word] if len(word) == 1 else None


_ID_WORD = re.compile(r"\b[A-Za-z]+(?:[-_][A-Za-z]*)*\d+[A-Za-z0-9\-_]*\b")


def future_only(text: str, world: World) -> bool:
    """Whether every date or period the text states lies on or after the world's day (a question about the
    future is a forecast, not a question over the history)."""
    anchor = date.fromisoformat(world.date)
    found = timewords.periods(text, anchor)
    return bool(found) and all(p.start >= anchor and p.end > anchor for p in found)  # "today" alone is not the future


def _numbers(text: str) -> set[float]:
    """Numbers the text states: digits, Chinese numerals, and a few English number words (not the digits of an
    id such as HZ-V1 or P1001)."""
    text = _ID_WORD.sub(" ", text)
    found = {float(n) for n in _NUM.findall(text.replace(",", ""))}
    found |= {float(v) for w in _ZH_NUM.findall(text) if (v := _zh_number(w)) is not None}
    low = text.lower()
    found |= {float(v) for w, v in _WORD_NUMS.items() if re.search(rf"\b{w}\b", low)}
    return found


def _series(value: Any, text: str, world: World) -> str | None:
    """A history series key the dispatcher named: the model's value if it is one, else a known key inside it
    (``"region 53"``, ``"129 区"``), else the one known key the message mentions."""
    known = {h.series for h in world.history}
    if value is not None and str(value).strip() in known and _written(str(value).strip(), text):
        return str(value).strip()
    words = re.findall(r"[A-Za-z0-9_\-]+", str(value or ""))
    hits = [w for w in words if w in known and _written(w, text)]
    if len(hits) == 1:
        return str(hits[0])
    in_text = list(dict.fromkeys(w for w in re.findall(r"[A-Za-z0-9_\-]+", text) if w in known))
    if len(in_text) == 1:
        return str(in_text[0])
    return str(value).strip() if value and str(value).strip() not in known else None


def _written(value: str, text: str) -> bool:
    """Whether ``value`` stands as a whole word in the text (case-insensitive)."""
    return re.search(rf"(?<![A-Za-z0-9\-]){re.escape(value)}(?![A-Za-z0-9\-])", text, re.IGNORECASE) is not None


def known_ids(world: World, kind: str) -> dict[str, str]:
    """Normalised id -> id, for orders or vehicles."""
    items = world.orders if kind == "order" else world.vehicles
    return {_norm(x.id): x.id for x in items}


def ids_in_text(text: str, world: World, kind: str) -> list[str]:
    """Known ids of ``kind`` that the text mentions, in order of appearance."""
    ids = known_ids(world, kind)
    found: list[tuple[int, str]] = []
    for token in re.findall(r"[A-Za-z][A-Za-z0-9\-_]*\d|\d{5,}", text):
        hit = ids.get(_norm(token))
        if hit:
            found.append((text.find(token), hit))
    return list(dict.fromkeys(i for _, i in sorted(found)))


def new_ids_in_text(text: str, world: World) -> list[str]:
    """Id-like words (letters then digits, e.g. P900001) that are not yet an order or vehicle id."""
    taken = set(known_ids(world, "order")) | set(known_ids(world, "vehicle"))
    words = re.findall(r"\b[A-Za-z]{1,4}[-_]?\d{2,}\b", text)
    return list(dict.fromkeys(w for w in words if _norm(w) not in taken))


MODEL_FILLS = "_model_fills"
"""Key of :func:`args_from_text`'s answer naming the fields it leaves to the model."""

_COORDS = re.compile(r"(-?\d{1,2}\.\d{2,})\s*[,，/ ]\s*(-?\d{1,3}\.\d{2,})")
_PARCELS = re.compile(r"(\d+)\s*(?:parcels?|pieces?|packages?|boxes|box|items?|pcs|件|个包裹|个|箱|包)", re.IGNORECASE)
_DAYS = re.compile(r"(\d+)\s*(?:days?|天|日)", re.IGNORECASE)


def _one(found: list[str]) -> str | None:
    return found[0] if len(found) == 1 else None


def args_from_text(action: Action, text: str, world: World) -> dict[str, Any] | None:
    """The arguments straight from the message, when code can read every one the action needs unambiguously
    (ids it names, a window or a duration it states, a place and a parcel count, ...), so no model call is
    needed; None otherwise (the model fills them). What is read here is grounded like the model's values."""
    if action.args is None:
        return None
    fields = set(action.args.model_fields)
    if fields <= {"order_id", "vehicle_id"}:
        out: dict[str, Any] = {}
        for name in action.args.model_fields:
            found = ids_in_text(text, world, _ID_FIELDS[name])
            if len(found) == 1:
                out[name] = found[0]
            elif not found and name not in action.required:
                out[name] = None
            else:
                return None
        return out
    order = _one(ids_in_text(text, world, "order"))
    vehicle = _one(ids_in_text(text, world, "vehicle"))
    if action.name == "change_window":
        window = timewords.time_range(text)
        return {"order_id": order, "tw_start": window[0], "tw_end": window[1]} if order and window else None
    if action.name == "delay":
        minutes = timewords.duration_minutes(text)
        return {"vehicle_id": vehicle, "minutes": minutes} if vehicle and minutes else None
    if action.name == "advise":
        m = _COORDS.search(text)
        if not m:
            return None
        window = timewords.time_range(text)
        parcels = _PARCELS.search(text)
        return {
            "lat": float(m.group(1)),
            "lng": float(m.group(2)),
            "demand": int(parcels.group(1)) if parcels else None,
            "tw_start": window[0] if window else None,
            "tw_end": window[1] if window else None,
        }
    if action.name == "new_order":
        m = _COORDS.search(text)
        if not m:
            return None
        window = timewords.time_range(text)
        parcels = _PARCELS.search(text)
        kind = next((k for k, cue in _KIND_CUES.items() if cue.search(text)), None)
        return {
            "order_id": None,  # grounded from the new ids the message names
            "kind": kind,
            "lat": float(m.group(1)),
            "lng": float(m.group(2)),
            "demand": int(parcels.group(1)) if parcels else None,
            "tw_start": window[0] if window else None,
            "tw_end": window[1] if window else None,
            "skill": _ground_skill(None, text, world),
            MODEL_FILLS: ("customer",),  # a name: the model reads it
        }
    if action.name == "forecast":
        anchor = date.fromisoformat(world.date)
        ahead = [p for p in timewords.periods(text, anchor) if p.start >= anchor and p.end > anchor]
        days = _DAYS.search(text)
        n = (ahead[0].end - ahead[0].start).days + 1 if ahead else (int(days.group(1)) if days else None)  # "next week": 7 days
        return {"region": None, "days": n}  # region: grounded from the text
    if action.name == "query":
        return {}  # every part of a query is read from the words by grounding (the model's guess adds nothing reliable)
    if action.name == "edit_order" and order:
        found_parcels = _PARCELS.findall(text)
        priority = priority_in(text)
        skill = _ground_skill(None, text, world)
        window = timewords.time_range(text)
        if len(found_parcels) > 1 or not (found_parcels or priority or skill or window):
            return None
        return {
            "order_id": order,
            "demand": int(found_parcels[0]) if found_parcels else None,
            "priority": priority,
            "required_skill": skill,
            "tw_start": window[0] if window else None,
            "tw_end": window[1] if window else None,
        }
    if action.name == "edit_vehicle" and vehicle:
        times = timewords.times_of_day(text)
        if len(times) == 1 and timewords.time_range(text) is None and (_SHIFT_END_CUES.search(text) or _SHIFT_START_CUES.search(text)):
            end = bool(_SHIFT_END_CUES.search(text)) or not _SHIFT_START_CUES.search(text)
            return {"vehicle_id": vehicle, "shift_end" if end else "shift_start": times[0]}
        if not times and _SERVICE_CUES.search(text) and not _PARCELS.search(text):
            return {"vehicle_id": vehicle, "back_in_service": True}
    return None


TIME_FIELDS = ("tw_start", "tw_end", "shift_start", "shift_end")
SKILL_FIELDS = ("skill", "required_skill", "add_skill")
_PRIORITY_CUES = {
    "high": re.compile(r"high|urgent|rush|asap|express|priority|加急|紧急|优先|急件|尽快", re.IGNORECASE),
    "normal": re.compile(r"normal|regular|standard|not urgent|no rush|普通|正常|不急|常规", re.IGNORECASE),
}
_NOT_URGENT = re.compile(r"not urgent|no rush|no longer urgent|not a priority|不急|不用加急|不加急|取消加急", re.IGNORECASE)


def priority_in(text: str) -> str | None:
    """The priority the words ask for: normal when they say it is not urgent, else high or normal by their cues."""
    if _NOT_URGENT.search(text):
        return "normal"
    return next((p for p, cue in _PRIORITY_CUES.items() if cue.search(text)), None)


_KIND_CUES = {
    "pickup": re.compile(r"pick\s*-?\s*up|collect|取件|揽收|上门取", re.IGNORECASE),
    "delivery": re.compile(r"deliver|drop\s*-?\s*off|派送|配送|送货|派件", re.IGNORECASE),
}


def _hhmm(value: str) -> str | None:
    m = re.match(r"^\s*(\d{1,2})[:：](\d{2})", value)
    return f"{int(m.group(1)):02d}:{m.group(2)}" if m else None


def _ground_times(values: dict[str, Any], current: str, text: str) -> None:
    """Times of day must be stated by the dispatcher (English or Chinese, :mod:`tools.timewords`); a window is
    the range the message states; a single time the model put in the wrong form is the one the message states."""
    fields = [f for f in TIME_FIELDS if f in values]
    if not fields:
        return
    stated = set(timewords.times_of_day(text))
    here = timewords.times_of_day(current)
    window = timewords.time_range(current)
    for name in fields:
        value = values.get(name)
        hhmm = _hhmm(str(value)) if value is not None else None
        values[name] = hhmm if hhmm is not None and hhmm in stated else None
    if "tw_start" in values and window is not None and (values.get("tw_start"), values.get("tw_end")) != window:
        values["tw_start"], values["tw_end"] = window
    shift = [f for f in ("shift_start", "shift_end") if f in values]
    if shift and not any(values.get(f) for f in shift) and len(here) == 1 and window is None:
        values["shift_end" if "shift_end" in values else shift[0]] = here[0]


def _ground_skill(value: Any, text: str, world: World) -> str | None:
    """A skill some vehicle has, named in the message (the model's value, else the one known skill the text names)."""
    known = sorted({sk for v in world.vehicles for sk in v.skills})
    if value is not None and str(value).strip() in known and _norm(str(value)) in _norm(text):
        return str(value).strip()
    named = [sk for sk in known if re.search(rf"(?<![A-Za-z]){re.escape(sk)}(?![A-Za-z])", text, re.IGNORECASE)]
    return named[0] if len(named) == 1 else None


def _ground_period(values: dict[str, Any], current: str, world: World) -> None:
    """The periods of past data the dispatcher's message states (English or Chinese, anchored at the world's
    day): the first is the period asked, a second one the period to compare with. Never the model's dates."""
    if "date_from" not in values:
        return
    anchor = date.fromisoformat(world.date)
    past = [p for p in timewords.periods(current, anchor) if p.start < anchor]
    for name in PERIOD_FIELDS:
        values[name] = None
    for (lo, hi), p in zip((("date_from", "date_to"), ("compare_from", "compare_to")), past[:2], strict=False):
        values[lo], values[hi] = p.start.isoformat(), min(p.end, anchor).isoformat()


_SHIFT_END_CUES = re.compile(r"\b(?:stop|stops|finish|finishes|end|ends|until|till|leave|leaves|off|by|back\s+by|done)\b|下班|结束|收工|之前|以前|前回|停", re.IGNORECASE)
_SHIFT_START_CUES = re.compile(r"\b(?:start|starts|begin|begins|from|earlier|later\s+start)\b|开始|上班|出发|起", re.IGNORECASE)
_SERVICE_CUES = re.compile(r"\b(?:back|again|fixed|repaired|working|in\s+service|running|fine|ok|okay)\b|恢复|修好|好了|能跑|可以出车|正常", re.IGNORECASE)

_GROUP_CUES: dict[str, re.Pattern[str]] = {
    "date": re.compile(r"\b(?:day|days|daily|date|dates)\b|哪天|哪一天|每天|每日|各天|逐日|日期|几号", re.IGNORECASE),
    "weekday": re.compile(r"\b(?:weekday|weekdays|day of the week)\b|星期几|周几|礼拜几", re.IGNORECASE),
    "month": re.compile(r"\b(?:month|months|monthly)\b|每月|哪个月|各月|月度", re.IGNORECASE),
    "region": re.compile(r"\b(?:region|regions|area|areas|zone|zones|district|districts)\b|区域|哪个区|各区|每个区|哪区", re.IGNORECASE),
    "vehicle": re.compile(r"\b(?:van|vans|vehicle|vehicles|truck|trucks|driver|drivers)\b|车辆|每辆|哪辆|各车|每台车", re.IGNORECASE),
    "kind": re.compile(r"\b(?:kind|type)\b|类型", re.IGNORECASE),
    "status": re.compile(r"\b(?:status|state)\b|状态", re.IGNORECASE),
    "priority": re.compile(r"\bpriority\b|优先级", re.IGNORECASE),
}
_TOTAL_CUES = re.compile(r"\b(?:in total|total|altogether|combined|together|overall|all regions|sum)\b|一共|总共|合计|总计|总量|所有区域|全部区域", re.IGNORECASE)
_TODAY = re.compile(r"\b(?:today|today's|now|right now|currently|this morning|this afternoon)\b|今天|今日|现在|目前|当前", re.IGNORECASE)
_PER_CUES = re.compile(r"\b(?:each|every|per|by)\b|每|各|分别", re.IGNORECASE)
_MOST_CUES = re.compile(r"\b(?:busiest|most|highest|largest|biggest|peak|max(?:imum)?|top)\b|最多|最高|最忙|最大|峰值|最繁忙", re.IGNORECASE)
_LEAST_CUES = re.compile(r"\b(?:quietest|least|fewest|lowest|smallest|min(?:imum)?|bottom)\b|最少|最低|最闲|最小", re.IGNORECASE)
_MEAN_CUES = re.compile(r"\b(?:mean|average|avg|per day on average)\b|平均|均值", re.IGNORECASE)
_TOP_N = re.compile(
    r"\btop\s+(\d{1,2})\b|前\s*(\d{1,2})\s*(?:名|个|位|天)|\b(?:which|what|the)\s+(\d{1,2})\s+(?:regions?|areas?|days?|dates?|vans?|vehicles?|months?|weekdays?)\b"
    r"|哪\s*(\d{1,2})\s*(?:个|天|辆)",
    re.IGNORECASE,
)
_STATUS_CUES = {
    "unassigned": re.compile(r"unassigned|not (?:assigned|served)|can'?t (?:be )?serve|排不进|未安排|没安排", re.IGNORECASE),
    "cancelled": re.compile(r"cancel|取消", re.IGNORECASE),
    "assigned": re.compile(r"\bassigned\b|已安排|安排了", re.IGNORECASE),
}


def _ground_query(values: dict[str, Any], current: str, world: World) -> None:
    """A query's shape from the dispatcher's words: a group only when the message asks per day, per region, ...
    (a named region is a filter, not a group); most/least and top-N pick groups; mean only when asked."""
    known = {h.series for h in world.history}
    region = values.get("region")
    values["region"] = _series(region, current, world) if region is not None or known else None
    if values["region"] not in known:
        named = [w for w in re.findall(r"[A-Za-z0-9_\-]+", current) if w in known]
        values["region"] = named[0] if len(set(named)) == 1 else None
    # a region named as a filter ("region 31", "31区") is not a request to group by region
    bare = current
    for key in sorted(known, key=len, reverse=True):
        bare = re.sub(rf"(?:regions?|areas?|zones?|区域?)\s*{re.escape(key)}\b|\b{re.escape(key)}\s*(?:区域?|号区|region)", " ", bare, flags=re.IGNORECASE)
    for p in timewords.periods(current, date.fromisoformat(world.date)):
        bare = bare.replace(p.text, " ")  # "last month", "上周" say which days, not how to group them
    cues = [g for g, pat in _GROUP_CUES.items() if pat.search(bare)]
    if "weekday" in cues:
        cues = [c for c in cues if c != "date"]
    wanted = values.get("group_by")
    if _TOTAL_CUES.search(bare) and not (_MOST_CUES.search(bare) or _LEAST_CUES.search(bare) or _PER_CUES.search(bare)):
        wanted = None  # "all regions in total": one number
    elif wanted in cues:
        pass
    else:
        wanted = cues[0] if len(cues) == 1 else (wanted if wanted in cues else None)
    values["group_by"] = wanted
    top = _TOP_N.search(current)
    if wanted is None:
        values["order"], values["top_k"] = None, None
    elif _LEAST_CUES.search(current):
        values["order"], values["top_k"] = "asc", int(next(g for g in top.groups() if g)) if top else 1
    elif _MOST_CUES.search(current):
        values["order"], values["top_k"] = "desc", int(next(g for g in top.groups() if g)) if top else 1
    else:
        values["order"], values["top_k"] = None, None
    if values.get("metric") == "mean" and not _MEAN_CUES.search(current):
        values["metric"] = None
    elif _MEAN_CUES.search(current):
        values["metric"] = "mean"
    elif values.get("metric") not in ("max", "min"):
        values["metric"] = None  # the source's own: sum of volumes, count of orders
    status = values.get("status")
    values["status"] = status if status in _STATUS_CUES and _STATUS_CUES[str(status)].search(current) else None
    kind = values.get("kind")
    values["kind"] = kind if kind in _KIND_CUES and _KIND_CUES[str(kind)].search(current) else None
    past = [p for p in timewords.periods(current, date.fromisoformat(world.date)) if p.start < date.fromisoformat(world.date)]
    if not known or (not past and (wanted in ("vehicle", "kind", "status", "priority") or _TODAY.search(current))):
        values["source"] = "orders"  # no history, or a question about today's orders
    elif values.get("source") not in ("history", "orders") or past:
        values["source"] = "history"
    if values["source"] == "orders":
        values["region"] = None
        if kind is None:
            values["kind"] = next((k for k, cue in _KIND_CUES.items() if cue.search(current)), None)
    else:
        values["status"] = values["kind"] = None


def _ground_shift(values: dict[str, Any], current: str) -> None:
    """A vehicle edit's shift time goes to the end the words speak of; back in service only when said."""
    if "shift_end" not in values:
        return
    start, end = values.get("shift_start"), values.get("shift_end")
    if start and not end and _SHIFT_END_CUES.search(current) and not _SHIFT_START_CUES.search(current):
        values["shift_start"], values["shift_end"] = None, start
    elif end and not start and _SHIFT_START_CUES.search(current) and not _SHIFT_END_CUES.search(current):
        values["shift_start"], values["shift_end"] = end, None
    if values.get("back_in_service") and not _SERVICE_CUES.search(current):
        values["back_in_service"] = None


def ground(action: Action, raw: dict[str, Any], world: World, current: str, conversation: str, lang: str, *, strict: bool = False) -> Grounded:
    """Check the model's arguments against the store and the dispatcher's words. ``strict``: an id the model
    did not give is never taken from the message (it may name ids meant for the message's other actions)."""
    if action.args is None:
        return Grounded(args=None)
    values = {k: v for k, v in raw.items() if k in action.args.model_fields}
    for name in action.args.model_fields:
        values.setdefault(name, None)
    text = conversation
    missing: list[str] = []
    unknown: list[str] = []
    _ground_times(values, current, text)
    _ground_period(values, current, world)
    _ground_shift(values, current)
    if action.name == "query":
        _ground_query(values, current, world)
    for name in action.args.model_fields:
        value = values.get(name)
        kind = _ID_FIELDS.get(name)
        if name in TIME_FIELDS or name in PERIOD_FIELDS or (action.name == "query" and name != "vehicle_id"):
            pass  # grounded above
        elif action.name == "new_order" and name == "order_id":
            fresh = new_ids_in_text(current, world)
            value = value if value and _norm(str(value)) in {_norm(f) for f in fresh} else (fresh[0] if len(fresh) == 1 else None)
        elif kind is not None:
            hit = known_ids(world, kind).get(_norm(str(value))) if value else None
            here = ids_in_text(current, world, kind)
            if hit is not None and _norm(hit) in _norm(text):
                value = hit
            elif value and hit is None and (strict or not here) and _written(str(value), current):
                unknown.append(f"{kind} {value}")  # the dispatcher wrote an id that does not exist: ask, never guess
                value = None
            elif strict:
                value = None
            else:  # null, or not what the dispatcher wrote: take the id the dispatcher did write, if any
                earlier = ids_in_text(text, world, kind)
                value = (here[-1] if kind == "vehicle" else here[0]) if here else (earlier[-1] if earlier and name in action.required else None)
        elif name == "region":
            value = _series(value, current, world)
        elif name in SKILL_FIELDS:
            value = _ground_skill(value, current, world) if value is not None or name in action.grounded else None
        elif name == "priority":
            value = value if value is not None and value == priority_in(current) else None
        elif name == "kind" and action.name != "new_order":
            value = value if value in _KIND_CUES and _KIND_CUES[str(value)].search(current) else None
        elif name == "minutes":
            if value is None or isinstance(value, bool) or float(value) not in _numbers(current):
                value = timewords.duration_minutes(current)
        elif value is not None and (name in action.required or name in action.grounded):
            if isinstance(value, bool):
                pass
            elif isinstance(value, int | float):
                if float(value) not in _numbers(text):
                    value = None
            elif _norm(str(value)) not in _norm(text):
                value = None
        values[name] = value
        if name in action.required and (value is None or value == ""):
            missing.append(name)
    if unknown:
        what = ", ".join(unknown)
        q = f"我找不到{what}。请确认编号。" if lang == "zh" else f"I can't find {what}. Could you check the id?"
        return Grounded(args=None, question=q, missing=missing, unknown=unknown)
    if missing:
        if lang == "zh":
            return Grounded(args=None, question=f"请告诉我：{'、'.join(dict.fromkeys(_FIELD_WORDS_ZH.get(m, m) for m in missing))}。", missing=missing)
        names = ", ".join(dict.fromkeys(_FIELD_WORDS.get(m, m) for m in missing))
        return Grounded(args=None, question=f"To do that I need: {names}. Could you tell me?", missing=missing)
    try:
        return Grounded(args=action.args.model_validate(values))
    except ValidationError as exc:
        first = exc.errors()[0]
        return Grounded(args=None, question=f"{'.'.join(map(str, first['loc']))}: {first['msg']}")


_FIELD_WORDS_ZH = {
    "order_id": "订单号",
    "vehicle_id": "车辆编号",
    "minutes": "晚多少分钟",
    "lat": "位置（纬度、经度）",
    "lng": "位置（纬度、经度）",
    "tw_start": "时间窗开始（几点）",
    "tw_end": "时间窗结束（几点）",
    "region": "区域",
    "start": "开始日期",
    "end": "结束日期",
}


_FIELD_WORDS = {
    "order_id": "the order id",
    "vehicle_id": "the vehicle id",
    "minutes": "how many minutes late",
    "lat": "the location (latitude, longitude)",
    "lng": "the location (latitude, longitude)",
    "tw_start": "the window start (HH:MM)",
    "tw_end": "the window end (HH:MM)",
    "region": "the region",
    "start": "the first date",
    "end": "the last date",
}
