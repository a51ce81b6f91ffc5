"""Replies built from tool results (English or Chinese). Every number in a reply comes from a tool's output;
customer text is quoted as data. :func:`grounded_numbers_ok` checks a free-text reply against the facts."""

from __future__ import annotations

import re
from typing import Any

from graphs.toolset import Outcome

CJK = re.compile(r"[\u4e00-\u9fff]")


def language(text: str) -> str:
    """``zh`` when the text has Chinese characters, else ``en``."""
    return "zh" if CJK.search(text) else "en"


def _km(x: float | None) -> str:
    return "?" if x is None else f"{x:.1f}"


def _draft_line(d: Any, lang: str) -> str:
    un = [u.order_id for u in d.unassigned]
    delta = ""
    if d.distance_delta_km is not None:
        delta = f"（比当前方案 {d.distance_delta_km:+.1f} 公里）" if lang == "zh" else f" ({d.distance_delta_km:+.1f} km vs the dispatched plan)"
    moved = ""
    if d.stops_moved:
        moved = f"，{d.stops_moved} 个站点换车" if lang == "zh" else f"; {d.stops_moved} stop(s) change vehicle"
    if lang == "zh":
        un_txt = f"，{len(un)} 单无法安排（{', '.join(un[:8])}）" if un else "，全部订单已安排"
        return (
            f"草稿方案 #{d.plan_id}：{d.vehicles_used} 辆车，{d.orders_served} 单，总里程 {_km(d.total_distance_km)} 公里{delta}{un_txt}{moved}。"
            "回复“批准”发送给司机，或“放弃”。"
        )
    un_txt = f"; {len(un)} unassigned ({', '.join(un[:8])})" if un else "; every order is assigned"
    return (
        f"Draft plan #{d.plan_id}: {d.orders_served} orders on {d.vehicles_used} vehicles, {_km(d.total_distance_km)} km{delta}{un_txt}{moved}. "
        "Reply 'approve' to send it to the drivers, or 'discard'."
    )


_PLAN_REASON_ZH = (
    (re.compile(r"no room left in the routes of (.+?) \(their capacity or time is taken by other orders\)"), r"\1 的路线已满（容量或时间被其他订单占用）"),
    (re.compile(r"no vehicle can serve it: "), "没有车辆能服务："),
    (re.compile(r"no vehicle available"), "没有可用车辆"),
    (re.compile(r"(\S+): the order is pinned to (\S+)"), r"\1：订单固定在 \2"),
    (re.compile(r"(\S+): has left the depot, where the goods wait"), r"\1：已出站，货在站里"),
    (re.compile(r"(\S+): may not serve it"), r"\1：不能服务"),
    (re.compile(r"(\S+): lacks skill (\S+)"), r"\1：缺少 \2 技能"),
    (re.compile(r"(\S+): demand (\d+) exceeds capacity (\d+)"), r"\1：件数 \2 超过容量 \3"),
    (re.compile(r"(\S+): cannot arrive inside the time window"), r"\1：赶不上时间窗"),
    (re.compile(r"(\S+): cannot serve it and return before its shift ends"), r"\1：班次结束前回不了站"),
    (re.compile(r"; "), "；"),
)


def plan_reason_zh(reason: str) -> str:
    """A plan's reason for an unassigned order (:func:`tools.planning.explain_unassigned`) in Chinese; ids and numbers kept."""
    for pattern, zh in _PLAN_REASON_ZH:
        reason = pattern.sub(zh, reason)
    return reason


def _where(d: Any, order_id: str, lang: str) -> str:
    """Where an order landed in a draft."""
    for r in d.routes:
        if order_id in r.stops:
            eta = r.etas[r.stops.index(order_id)]
            return f"{order_id} 安排在 {r.vehicle_id}，预计 {eta}。" if lang == "zh" else f"{order_id} goes on {r.vehicle_id}, ETA {eta}."
    for u in d.unassigned:
        if u.order_id == order_id:
            return f"{order_id} 无法安排：{plan_reason_zh(u.reason)}。" if lang == "zh" else f"{order_id} cannot be served: {u.reason}."
    return ""


EVENT_ACTIONS = ("breakdown", "delay", "new_order", "cancel_order", "restore_order", "change_window", "pin", "move", "edit_order", "edit_vehicle")
_HHMM = re.compile(r"\b\d{1,2}:\d{2}\b")

_FIELD_ZH = {
    "windows": "时间窗",
    "demand": "件数",
    "service_s": "服务时长",
    "priority": "优先级",
    "required_skill": "所需技能",
    "kind": "类型",
    "location": "位置",
    "customer": "客户名",
    "notes": "备注",
    "shift": "班次",
    "capacity": "容量",
    "skills": "技能",
    "back in service": "恢复出车",
    "delay cleared": "取消延误",
    "unavailable_from": "停用",
    "delayed_until": "延误",
    "pinned_vehicle": "固定车辆",
    "cancelled": "取消状态",
}


def _event_zh(o: Outcome) -> str:
    """The recorded fact in Chinese, from the tool's structured result (ids, times and numbers as the tool gave them)."""
    d = o.data
    times = _HHMM.findall(str(getattr(d, "event", "")))
    oid, vid = o.facts.get("order_id"), o.facts.get("vehicle_id")
    if o.action == "breakdown":
        return f"{vid} 从 {times[0]} 起停用" if times and "whole day" not in d.event else f"{vid} 今天停用（未设当前时间：全天）"
    if o.action == "delay":
        minutes = re.search(r"delayed (\d+) min", d.event)
        return f"{vid} 延误 {minutes.group(1) if minutes else '?'} 分钟" + (f"（到 {times[-1]}）" if times else "")
    if o.action == "new_order":
        return f"新订单 {oid}"
    if o.action == "cancel_order":
        pair = re.search(r"paired order (\S+)", d.event)
        return f"订单 {oid} 已取消" + (f"（连同配对订单 {pair.group(1)}）" if pair else "")
    if o.action == "restore_order":
        return f"订单 {oid} 已恢复"
    if o.action == "change_window":
        return f"订单 {oid} 时间窗改为 {'-'.join(times[:2])}"
    if o.action == "pin":
        return f"订单 {oid} 固定在 {vid}"
    if o.action == "move":
        return f"订单 {oid} 改派到 {vid}"
    if o.action == "edit_order":
        return f"订单 {d.order.order_id} 已修改：" + "、".join(_FIELD_ZH.get(f, f) for f in d.changed)
    if o.action == "edit_vehicle":
        text = f"{d.vehicle_id} 已修改：" + "、".join(_FIELD_ZH.get(f, f) for f in d.changed)
        return text + (f"（班次 {d.shift}）" if "shift" in d.changed else "")
    return ""


def _event_en(o: Outcome) -> str:
    return str(o.data.event)


def _hypo_line(d: Any, lang: str) -> str:
    """The numbers of a plan that was computed for a question and never saved."""
    un = [u.order_id for u in d.unassigned]
    delta = ""
    if d.distance_delta_km is not None:
        delta = f"（比当前方案 {d.distance_delta_km:+.1f} 公里）" if lang == "zh" else f" ({d.distance_delta_km:+.1f} km vs the dispatched plan)"
    if lang == "zh":
        un_txt = f"，{len(un)} 单无法安排（{', '.join(un[:8])}{' 等' if len(un) > 8 else ''}）" if un else "，全部订单都能安排"
        return f"会是 {d.vehicles_used} 辆车，{d.orders_served} 单，总里程 {_km(d.total_distance_km)} 公里{delta}{un_txt}。未做任何修改。"
    un_txt = f"; {len(un)} unassigned ({', '.join(un[:8])}{', ...' if len(un) > 8 else ''})" if un else "; every order would be served"
    return f"the plan would have {d.orders_served} orders on {d.vehicles_used} vehicles, {_km(d.total_distance_km)} km{delta}{un_txt}. Nothing was recorded."


def compose(o: Outcome, lang: str, *, hypothetical: bool = False) -> str:
    """The reply for an action's outcome (``hypothetical``: it answered a question, nothing was recorded)."""
    d = o.data
    zh = lang == "zh"
    if o.action == "plan" or o.action in EVENT_ACTIONS:
        draft = d if o.action == "plan" else d.draft
        if draft is None:  # an order edit that does not touch routing (customer name, notes)
            return f"已记录：{_event_zh(o)}。" if zh else f"Recorded: {_event_en(o)}."
        if hypothetical:
            what = "重新规划" if o.action == "plan" else _event_zh(o)
            head = f"假如{what}：" if zh else f"If {'we re-plan' if o.action == 'plan' else _event_en(o)}: "
            return head + _hypo_line(draft, lang)
        head = ""
        if o.action != "plan":
            head = f"已记录：{_event_zh(o)}。" if zh else f"Recorded: {_event_en(o)}. "
        extra = ""
        order_id = o.facts.get("order_id")
        if order_id:
            extra = _where(draft, order_id, lang) + ("" if zh else " ")
        return head + extra + _draft_line(draft, lang)
    if o.action == "undo":
        dropped = d.discarded_drafts
        if zh:
            kind, _, key = d.subject.partition(":")
            text = f"已撤销：{'车辆' if kind == 'vehicle' else '订单'} {key} 的记录（{_undo_fields_zh(d.reverted)}）。"
            text += f"草稿 {', '.join('#' + str(i) for i in dropped)} 已放弃，当前方案不变。" if dropped else ""
            if d.kept:
                text += f"之后又改过的字段保持不变：{_undo_fields_zh(d.kept)}。"
        else:
            what = ", ".join(dict.fromkeys(_UNDO_EN.get(f, f) for f in d.reverted)) or "nothing"
            text = f"Undone: the last change recorded on {d.subject.replace(':', ' ')} ({what} put back as before)."
            text += f" Draft {', '.join('#' + str(i) for i in dropped)} discarded; the dispatched plan stays as it is." if dropped else ""
            if d.kept:
                text += f" Fields changed again since are kept: {', '.join(d.kept)}."
        if d.draft is not None:
            text += ("" if zh else " ") + _draft_line(d.draft, lang)
        return text
    if o.action == "kpis":
        longest = o.facts.get("longest")
        if zh:
            text = (
                f"方案 #{d.plan_id}：今天用了 {d.vehicles_used} 辆车，总里程 {_km(d.total_distance_km)} 公里，"
                f"共 {d.order_count} 单，已安排 {d.orders_served} 单，{d.unassigned_count} 单无法安排。"
            )
            if longest:
                text += f"最长路线：{longest[0]}，{longest[1]:.1f} 公里。"
            return text
        text = (
            f"Plan #{d.plan_id} ({d.plan_status}): {d.vehicles_used} vehicles used, {_km(d.total_distance_km)} km in total, "
            f"{d.order_count} orders today, {d.orders_served} served, {d.unassigned_count} unassigned."
        )
        if longest:
            text += f" Longest route: {longest[0]} with {longest[1]:.1f} km."
        return text
    if o.action == "order_status":
        windows = ", ".join(d.windows) or ("任意时间" if zh else "any time")
        if d.vehicle_id:
            text = (
                f"{d.order_id}（{d.customer}）在 {d.vehicle_id} 上（司机 {d.driver}），第 {d.position}/{d.route_stops} 站，"
                f"预计 {d.eta} 到达（时间窗 {windows}），状态：{STATUS_ZH.get(d.status, d.status)}。"
                if zh
                else f"{d.order_id} ({d.customer}) is on {d.vehicle_id} (driver {d.driver}), stop {d.position} of {d.route_stops}, "
                f"ETA {d.eta} (window {windows}); status: {d.status}."
            )
        else:
            text = f"{d.order_id}（{d.customer}）未在路线上：{d.reason}。" if zh else f"{d.order_id} ({d.customer}) is not on a route: {d.reason}."
        if d.notes:
            text += f' 客户备注（原文引用，不作为指令）："{d.notes}"' if zh else f' Customer note (quoted as data, not an instruction): "{d.notes}"'
        return text
    if o.action == "notes":
        if not d.notes or not any(n.note for n in d.notes):
            return "没有客户备注。" if zh else "No customer notes."
        items = "; ".join(f'{n.order_id} ({n.customer}): "{n.note}"' for n in d.notes if n.note)
        if zh:
            return f"{d.orders_with_notes} 条客户备注（原文引用，仅作数据，不会执行其中的指令）：{items}"
        return f"{d.orders_with_notes} customer note(s), quoted as data (I never act on instructions inside them): {items}"
    if o.action == "vehicle_route":
        if not d.order_ids:
            return f"{d.vehicle_id} 今天没有站点。" if zh else f"{d.vehicle_id} has no stops in the plan. {d.note or ''}".strip()
        stops = ", ".join(f"{s.position}. {s.order_id} {s.eta}" for s in d.stops)
        if zh:
            return f"{d.vehicle_id}（司机 {d.driver}）{d.stop_count} 站，{_km(d.distance_km)} 公里，{d.route_start}–{d.route_end}：{stops}"
        return f"{d.vehicle_id} (driver {d.driver}): {d.stop_count} stops, {_km(d.distance_km)} km, {d.route_start}-{d.route_end}: {stops}"
    if o.action == "why_vehicle" and zh:
        return _why_zh(d)
    if o.action == "why_vehicle":
        text = str(d.summary).rstrip(".") + "."
        if d.required_skill:
            who = ", ".join(d.vehicles_with_skill) or "no vehicle"
            text += f" 它需要 {d.required_skill} 技能，只有 {who} 具备。" if zh else f" It needs the '{d.required_skill}' skill, which only {who} has."
        if d.window:
            text += f" 时间窗 {d.window}，服务开始 {d.eta}。" if zh else f" Its window is {d.window}; service starts {d.eta}."
        return text
    if o.action == "draft_cost":
        delta = d.distance_delta_km
        if zh:
            more = "多" if delta >= 0 else "少"
            return f"草稿 #{d.plan_id} 比当前方案 #{d.baseline_plan_id} {more} {abs(delta):.1f} 公里（{_km(d.distance_km)} 对 {_km(d.baseline_distance_km)} 公里）。"
        more = "more" if delta >= 0 else "less"
        return (
            f"Draft #{d.plan_id} drives {abs(delta):.1f} km {more} than the dispatched plan #{d.baseline_plan_id} "
            f"({_km(d.distance_km)} km vs {_km(d.baseline_distance_km)} km, {d.vehicles_used} vs {d.baseline_vehicles_used} vehicles). Nothing was changed."
        )
    if o.action == "unassigned":
        un = o.facts.get("unassigned") or []
        if not un:
            return f"0 单无法安排：全部 {d.orders_served} 单都已安排。" if zh else f"0 orders unassigned: all {d.orders_served} orders are served in plan #{d.plan_id}."
        fixes = o.facts.get("fixes")
        if fixes is not None and fixes.groups:
            return fixes_text(fixes, lang)
        ids = ", ".join(oid for oid, _ in un[:10]) + (" …" if len(un) > 10 else "")
        return f"{len(un)} 单无法安排：{ids}。" if zh else f"{len(un)} order(s) cannot be served: {ids}."
    if o.action == "what_if":
        s, b = d.scenario, d.baseline
        changes = "; ".join(d.changes)
        if zh:
            changes = _whatif_zh(o.facts) or "见请求"
            return (
                f"假设（{changes}）：{s.vehicles_used} 辆车，{_km(s.total_distance_km)} 公里，{s.unassigned_count} 单无法安排"
                f"（现在：{b.vehicles_used} 辆车，{_km(b.total_distance_km)} 公里，{b.unassigned_count} 单无法安排）。未做任何修改。"
            )
        return (
            f"What-if ({changes}): {s.vehicles_used} vehicles, {_km(s.total_distance_km)} km, {s.unassigned_count} unassigned "
            f"(now: {b.vehicles_used} vehicles, {_km(b.total_distance_km)} km, {b.unassigned_count} unassigned). Nothing was changed."
        )
    if o.action == "advise" and zh:
        return _advise_zh(d)
    if o.action == "move_cost" and zh:
        return _move_zh(d)
    if o.action in ("advise", "move_cost"):
        return str(d.summary) + " Nothing was changed."
    if o.action == "forecast":
        return _forecast_text(d, zh)
    if o.action == "query":
        return query_text(d, lang)
    if o.action == "dispatch":
        return (
            f"方案 #{d.plan_id} 已发送给司机：{d.vehicles_used} 辆车，{_km(d.total_distance_km)} 公里。"
            if zh
            else f"Plan #{d.plan_id} is dispatched to the drivers: {d.vehicles_used} vehicles, {_km(d.total_distance_km)} km."
        )
    if o.action == "discard":
        return f"草稿 #{d.plan_id} 已放弃，当前方案不变。" if zh else f"Draft #{d.plan_id} discarded; the dispatched plan stays as it is."
    if o.action == "cancel_all":
        n_o, n_v = len(o.facts["orders"]), len(o.facts["vehicles"])
        if zh:
            return f"我不会批量删除或取消：这将影响 {n_o} 个订单和 {n_v} 辆车。订单只能逐个取消（记录会保留以便审计）。未做任何修改。"
        return (
            f"I won't delete or cancel in bulk: that would touch {n_o} active orders and {n_v} vehicles. Orders can be cancelled one at a time "
            "(records are kept for the audit trail), and vehicles can be reported unavailable. Nothing was changed."
        )
    return chat_reply(lang)


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


_REASON_ZH = (
    (re.compile(r"there is no draft from this conversation waiting for approval.*"), "这个对话里没有等待批准的草稿；请先让我规划或报告一个变化"),
    (re.compile(r"this was asked as a question, so nothing is recorded.*"), "这是提问，所以没有记录任何改动"),
    (re.compile(r"order (\S+) is already cancelled"), r"订单 \1 已经取消"),
    (re.compile(r"order (\S+) is not cancelled"), r"订单 \1 没有被取消"),
    (re.compile(r"there is no recorded change(?: of (.+))? to undo"), r"没有可以撤销的记录 \1"),
    (re.compile(r"no vehicle has skill '([^']+)'.*"), r"没有车辆具备技能 \1"),
    (re.compile(r"unknown (?:order|vehicle)(?: id)? '?([^'\s]+)'?.*"), r"找不到 \1"),
)


def _reason_zh(message: str) -> str:
    """A tool's message in Chinese where it is one of the known forms (ids and numbers kept), else as it is."""
    for pattern, zh in _REASON_ZH:
        if pattern.match(message):
            return pattern.sub(zh, message).strip()
    return message


_UNDO_ZH = {
    "unavailable_from": "停用",
    "delayed_until": "延误",
    "shift_start": "班次开始",
    "shift_end": "班次结束",
    "capacity": "容量",
    "skills": "技能",
    "windows": "时间窗",
    "demand": "件数",
    "service_s": "服务时长",
    "priority": "优先级",
    "required_skill": "所需技能",
    "kind": "类型",
    "lat": "位置",
    "lng": "位置",
    "cancelled": "取消状态",
    "pinned_vehicle": "固定车辆",
    "notes": "备注",
    "customer": "客户名",
}


_UNDO_EN = {
    "unavailable_from": "the breakdown",
    "delayed_until": "the delay",
    "shift_start": "shift start",
    "shift_end": "shift end",
    "service_s": "service time",
    "required_skill": "required skill",
    "windows": "time window",
    "lat": "location",
    "lng": "location",
    "cancelled": "cancellation",
    "pinned_vehicle": "pin",
}


STATUS_ZH = {"planned": "已计划", "in_service": "服务中", "done": "已完成", "unassigned": "未安排", "cancelled": "已取消", "not_planned": "未进方案"}
REASON_CODE_ZH = {
    "unavailable": "车辆停用",
    "skill": "缺少所需技能",
    "capacity": "超出容量",
    "window": "赶不上时间窗",
    "later_window": "后面的站点会错过时间窗",
    "shift_end": "班次结束前回不了站",
    "max_duration": "路线时长超限",
    "depot_goods": "车已出站，货还在站里",
    "onboard": "货在别的车上",
    "pinned": "固定在其他车上",
    "paired": "配对订单须同车",
    "route_infeasible": "路线不可行",
    "started": "已开始服务",
    "": "其他原因",
}


def _after_zh(stop: str) -> str:
    return "车站" if stop == "depot" else str(stop)


def _why_zh(d: Any) -> str:
    text = f"{d.order_id} 是 {d.vehicle_id} 的第 {d.position}/{d.stops_on_route} 站（{d.eta} 开始服务）。"
    tight = [c.name for c in d.constraints if c.binding]
    names = {
        "window": "时间窗",
        "capacity": "容量",
        "skill": "技能",
        "shift_end": "班次结束",
        "max_duration": "路线时长",
        "pinned": "固定车辆",
        "paired": "配对",
        "started": "已开始",
    }
    text += f"起作用的约束：{'、'.join(names.get(t, t) for t in tight)}。" if tight else "没有约束卡得很紧。"
    if d.required_skill:
        text += f"它需要 {d.required_skill} 技能，只有 {', '.join(d.vehicles_with_skill) or '没有车辆'} 具备。"
    a = d.alternative
    if a is not None:
        text += (
            f"次优方案：{a.vehicle_id} 第 {a.position} 站（在 {_after_zh(a.insert_after)} 之后），"
            f"里程 {a.cost_delta_km:+.2f} 公里，路线时间 {a.time_delta_min:+.0f} 分钟。"
        )
    if d.window:
        text += f"时间窗 {d.window}，服务开始 {d.eta}。"
    return text


def _move_zh(d: Any) -> str:
    if not d.feasible:
        return f"{d.order_id} 不能改到 {d.vehicle_id}：{REASON_CODE_ZH.get(d.code or '', '其他原因')}。未做任何修改。"
    frm = f"从 {d.from_vehicle_id} " if d.from_vehicle_id else ""
    return (
        f"{d.order_id} {frm}改到 {d.vehicle_id} 第 {d.position} 站（在 {_after_zh(d.insert_after)} 之后）：里程 {d.cost_delta_km:+.2f} 公里，"
        f"路线时间 {d.time_delta_min:+.0f} 分钟，{len(d.shifted_stops)} 个站点时间变化。未做任何修改。"
    )


def _advise_zh(d: Any) -> str:
    if not d.feasible or not d.options:
        why = "；".join(f"{r.vehicle_id}：{REASON_CODE_ZH.get(r.code, '其他原因')}" for r in d.reasons[:6])
        return f"没有车辆能接这一单（{why}）。未做任何修改。"
    b = d.options[0]
    return (
        f"最合适：{b.vehicle_id} 第 {b.position} 站（在 {_after_zh(b.insert_after)} 之后），里程 +{b.extra_km:.2f} 公里，+{b.extra_min:.0f} 分钟，"
        f"{b.eta} 服务，{len(b.shifted_stops)} 个站点推后。未做任何修改。"
    )


def _whatif_zh(f: dict[str, Any]) -> str:
    parts = []
    if f.get("vehicles") is not None:
        parts.append(f"车队 {f['vehicles']} 辆")
    if f.get("remove_vehicle"):
        parts.append(f"去掉 {f['remove_vehicle']}")
    if f.get("add_vehicles"):
        parts.append(f"增加 {f['add_vehicles']} 辆车")
    if f.get("demand_percent"):
        parts.append(f"单量 {f['demand_percent']:+g}%")
    return "，".join(parts)


def _undo_fields_zh(fields: Any) -> str:
    return "、".join(dict.fromkeys(_UNDO_ZH.get(f, f) for f in fields)) or "无"


def ask_offer(lang: str) -> str:
    """The end of an answer to a question about a change: nothing was done, and how to do it."""
    return "这只是测算，没有记录任何改动；要执行请直接告诉我。" if lang == "zh" else "That was only a check: nothing was recorded. Tell me to do it and I will."


def chat_reply(lang: str) -> str:
    """The polite answer to anything outside the copilot's job."""
    if lang == "zh":
        return "这超出了我的范围：我负责今天的路线、订单、车辆和单量，例如“P546630 在哪辆车上？”或“HZ-V3 坏了”。"
    return "That's outside what I can help with: I plan and explain today's routes, orders, vehicles and volumes, e.g. 'Which van has P546630?' or 'HZ-V3 broke down'."


ACTION_ZH = {
    "plan": "规划",
    "kpis": "方案数据",
    "order_status": "查订单",
    "vehicle_route": "查路线",
    "why_vehicle": "解释分配",
    "unassigned": "未安排订单",
    "notes": "客户备注",
    "breakdown": "停用车辆",
    "delay": "延误",
    "new_order": "新订单",
    "cancel_order": "取消订单",
    "restore_order": "恢复订单",
    "change_window": "改时间窗",
    "pin": "固定车辆",
    "edit_order": "修改订单",
    "edit_vehicle": "修改车辆",
    "undo": "撤销",
    "move": "改派",
    "move_cost": "改派成本",
    "draft_cost": "草稿对比",
    "what_if": "假设测算",
    "advise": "插单建议",
    "forecast": "预测",
    "query": "数据查询",
    "dispatch": "发送方案",
    "discard": "放弃草稿",
    "cancel_all": "批量取消",
    "chat": "闲聊",
}
"""Each action's name in Chinese, for replies (the action names themselves are identifiers)."""


def error_reply(message: str, lang: str, action: str | None = None) -> str:
    """A tool refused the request: say why (and which action, in a message with several), changing nothing."""
    if lang == "zh":
        return f"没能完成{f'（{ACTION_ZH.get(action, action)}）' if action else ''}：{_reason_zh(message)}"
    return f"I couldn't do {action.replace('_', ' ')}: {message}" if action else f"I couldn't do that: {message}"


def approval_prompt(lang: str) -> str:
    return "回复“批准”发送给司机，或“放弃”。" if lang == "zh" else "Reply 'approve' to send it to the drivers, or 'discard'."


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def grounded_numbers_ok(reply: str, facts_text: str) -> bool:
    """Whether every number in a free-text reply also appears in the facts it was written from."""
    allowed = {n.replace(",", ".") for n in _NUMBER.findall(facts_text)}
    return all(n.replace(",", ".") in allowed for n in _NUMBER.findall(reply))


_ID = re.compile(r"\b[A-Z]{1,4}-?[A-Z]?\d+\b")


def ids_kept(reply: str, template: str) -> bool:
    """Whether a reworded reply keeps every id of the template and adds none."""
    return set(_ID.findall(reply)) == set(_ID.findall(template))
