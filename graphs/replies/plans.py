"""Replies about plan changes: a draft's line (its numbers, unassigned orders, the change against the dispatched
plan), where an order landed, a plan computed for a question, and the recorded fact in either language."""

from __future__ import annotations

import re
from typing import Any

from graphs.replies.common import _km
from graphs.toolset import Outcome


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
