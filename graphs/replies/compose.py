"""The reply for an action's outcome, in the dispatcher's language (:func:`compose`): every number comes from the
tool's output, customer text is quoted as data."""

from __future__ import annotations

from graphs.replies.answers import _forecast_text, fixes_text, query_text
from graphs.replies.chinese import STATUS_ZH, _advise_zh, _move_zh, _undo_fields_zh, _whatif_zh, _why_zh
from graphs.replies.common import _km, chat_reply
from graphs.replies.plans import EVENT_ACTIONS, _draft_line, _event_en, _event_zh, _hypo_line, _where
from graphs.toolset import Outcome


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
