"""Chinese words for fields, statuses and reasons, and the Chinese replies of the explaining actions (why a
vehicle, moving an order, advice for a new order, a what-if's changes): ids and numbers as the tool gave them."""

from __future__ import annotations

from typing import Any

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
