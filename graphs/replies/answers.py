"""Replies to questions answered with tables of numbers: data queries (totals, groups, periods, comparisons),
forecasts, and unassigned orders grouped by cause with the smallest verified fix."""

from __future__ import annotations

from typing import Any


def _forecast_text(d: Any, zh: bool) -> str:
    lo, hi = getattr(d, "total_lower", None), getattr(d, "total_upper", None)
    first, last = d.days[0].date, d.days[-1].date
    interval = ""
    if lo is not None and hi is not None:
        interval = f"（80% 区间 {lo:.0f}–{hi:.0f}）" if zh else f" (80% interval {lo:.0f}-{hi:.0f})"
    if zh:
        return f"{d.series} 区未来 {len(d.days)} 天（{first} 至 {last}）预计约 {d.total:.0f} 单{interval}，模型：{d.model}。"
    return f"Region {d.series}: about {d.total:.0f} orders expected over the next {len(d.days)} days ({first} to {last}){interval}; model: {d.model}."


_GROUP_WORDS = {
    "region": ("region", "区域"),
    "date": ("day", "日期"),
    "weekday": ("weekday", "星期"),
    "month": ("month", "月份"),
    "vehicle": ("vehicle", "车辆"),
    "kind": ("kind", "类型"),
    "status": ("status", "状态"),
    "priority": ("priority", "优先级"),
    "skill": ("skill", "技能"),
}


_METRIC_WORDS = {"sum": ("total", "合计"), "count": ("count", "数量"), "mean": ("mean", "平均"), "max": ("max", "最大"), "min": ("min", "最小")}


def _num(x: Any) -> str:
    return "-" if x is None else (f"{x:,.2f}".rstrip("0").rstrip(".") if isinstance(x, float) else str(x))


def _group_label(group: dict[str, Any], zh: bool) -> str:
    parts = []
    for k, v in group.items():
        if k == "region":
            parts.append(f"{v} 区" if zh else f"region {v}")
        elif v is None:
            parts.append("未上路线" if zh else "no route")
        else:
            parts.append(str(v))
    return " / ".join(parts)


def query_text(d: Any, lang: str, limit: int = 12) -> str:
    """A query's answer: the numbers, the groups and the period they cover (every number from the tool)."""
    zh = lang == "zh"
    spec = d.spec
    metric = _METRIC_WORDS[spec.metric][1 if zh else 0]
    what = ("件数" if spec.source == "history" else "订单") if zh else ("volume" if spec.source == "history" else "orders")
    where = ""
    if spec.regions:
        where = f"{'、'.join(spec.regions)} 区" if zh else f"region {', '.join(spec.regions)}"
    period = ""
    if d.period is not None:
        p = d.period
        period = f"{p.date_from} 至 {p.date_to}" if zh else f"{p.date_from} to {p.date_to}"
    head = " ".join(x for x in (where, period) if x)
    if not spec.group_by:
        value = d.total if d.total is not None else (d.rows[0].value if d.rows else None)
        text = f"{head}{'：' if head else ''}{what}{metric} {_num(value)}。" if zh else f"{head + ': ' if head else ''}{metric} {what} {_num(value)}."
    else:
        rows = d.rows[:limit]
        items = ("；" if zh else "; ").join(f"{_group_label(r.group, zh)}: {_num(r.value)}" for r in rows)
        by = "、".join(_GROUP_WORDS[g][1] for g in spec.group_by) if zh else ", ".join(_GROUP_WORDS[g][0] for g in spec.group_by)
        more = ""
        if d.groups > len(rows):
            more = f"（共 {d.groups} 组，列出 {len(rows)} 组）" if zh else f" (showing {len(rows)} of {d.groups})"
        if zh:
            text = f"{head + '，' if head else ''}按{by}的{what}{metric}{more}：{items}。"
        else:
            text = f"{metric.capitalize()} {what} by {by}{' for ' + head if head else ''}{more}: {items}."
        if spec.top_k == 1 and rows:
            best = rows[0]
            most = ("最多" if spec.order != "asc" else "最少") if zh else ("the most" if spec.order != "asc" else "the least")
            text = (
                f"{head + '，' if head else ''}{_group_label(best.group, zh)} {what}{most}：{_num(best.value)}。"
                if zh
                else f"{_group_label(best.group, zh).capitalize()} had {most}{' for ' + head if head else ''}: {_num(best.value)} ({metric} {what})."
            )
    if d.compare is not None:
        c = d.compare
        cp = f"{c.period.date_from} 至 {c.period.date_to}" if zh else f"{c.period.date_from} to {c.period.date_to}"
        pct = f"{c.percent_change:+.1f}%" if c.percent_change is not None else "-"
        text += (
            f"对比 {cp}：{_num(c.total)}，差 {_num(c.difference)}（{pct}）。" if zh else f" Compared with {cp}: {_num(c.total)}, difference {_num(c.difference)} ({pct})."
        )
    if d.note:
        text += f"（注：{d.note}）" if zh else f" Note: {d.note}"
    return text


FIX_CAUSES = {
    "fits_now": ("they fit the routes as they are", "按现有路线就能安排"),
    "shift_end": ("no vehicle can serve them and be back before its shift ends", "班次结束前没有车辆能完成"),
    "skill": ("no available vehicle with the required skill has room or time", "有所需技能的车辆没有空位或时间"),
    "capacity": ("their parcels exceed the vehicles' remaining capacity", "件数超过车辆剩余容量"),
    "window": ("no vehicle can reach them inside their time window", "没有车辆能在时间窗内到达"),
    "vehicle_unavailable": ("the vehicles that could serve them are out of service", "能服务的车辆已停用"),
    "no_room": ("the routes' time is taken by other stops", "路线时间已被其他站点占满"),
    "paired": ("they are half of a pickup-and-delivery pair", "属于取派配对订单"),
    "other": ("other reasons", "其他原因"),
}


def _fix_words(f: Any, zh: bool) -> str:
    if f.kind is None:
        return "没有找到可行的调整" if zh else "no change found that would serve them"
    if f.kind == "replan":
        text = "重新规划即可" if zh else "a re-plan serves them"
    elif f.kind == "extend_shift" and f.side == "start_earlier":
        text = f"{f.vehicle_id} 提前 {f.minutes} 分钟上班（{f.shift_start}）" if zh else f"start {f.vehicle_id} {f.minutes} min earlier (at {f.shift_start})"
    elif f.kind == "extend_shift":
        text = f"{f.vehicle_id} 班次延长 {f.minutes} 分钟（到 {f.shift_end}）" if zh else f"extend {f.vehicle_id}'s shift by {f.minutes} min (to {f.shift_end})"
    elif f.kind == "add_skill":
        text = f"给 {f.vehicle_id} 配 {f.skill} 技能" if zh else f"give {f.vehicle_id} the {f.skill} skill"
    elif f.kind == "add_capacity":
        text = (
            f"{f.vehicle_id} 容量增加 {f.capacity_added} 件（到 {f.capacity}）" if zh else f"{f.capacity_added} more parcels of capacity on {f.vehicle_id} ({f.capacity})"
        )
    elif f.kind == "move_window":
        later = f.side != "start_earlier"
        text = f"时间窗{'推迟' if later else '提前'} {f.minutes} 分钟" if zh else f"move their window {f.minutes} min {'later' if later else 'earlier'}"
    else:
        text = f"增加 {f.count} 辆与 {f.vehicle_id} 相同的车" if zh else f"add {f.count} vehicle(s) like {f.vehicle_id}"
    if f.verified:
        km = f" {f.extra_km:+.1f} km" if f.extra_km is not None and not zh else (f"，里程 {f.extra_km:+.1f} 公里" if f.extra_km is not None else "")
        text += f"（已重新规划验证：可服务 {f.orders_served_after} 单{km}）" if zh else f" (verified by re-planning: {f.orders_served_after} orders served,{km})"
    elif f.status == "not_tried":
        text += "（未验证：时间不够）" if zh else " (not verified: out of time)"
    elif f.status in ("not_served", "unserves_others"):
        text += "（重新规划后仍不够）" if zh else " (re-planning showed it is not enough)"
    return text


def fixes_text(fx: Any, lang: str, limit: int = 8) -> str:
    """Unassigned orders grouped by cause, each group with the smallest change found and whether re-planning verified it."""
    zh = lang == "zh"
    parts = []
    for g in fx.groups:
        ids = ", ".join(g.orders[:limit]) + ((" 等" if zh else ", ...") if len(g.orders) > limit else "")
        cause = FIX_CAUSES.get(g.cause, FIX_CAUSES["other"])[1 if zh else 0]
        fix = _fix_words(g.fix, zh)
        parts.append(f"{g.count} 单（{ids}）：{cause}；建议：{fix}" if zh else f"{g.count} ({ids}): {cause}; fix: {fix}")
    more = len(fx.not_examined)
    tail = (f"；另有 {more} 单未分析" if zh else f"; {more} more not examined") if more else ""
    if zh:
        return f"{fx.unassigned_count} 单无法安排。" + "；".join(parts) + tail + "。"
    return f"{fx.unassigned_count} order(s) cannot be served. " + "; ".join(parts) + tail + "."
