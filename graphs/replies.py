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


def _where(d: Any, order_id: str, lang: str) -> str:
    """Where an order landed in a draft."""
    for r in d.routes:
        if order_id in r.stops:
            eta = r.etas[r.stops.index(order_id)]
            return f"{order_id} 安排在 {r.vehicle_id}，预计 {eta}。" if lang == "zh" else f"{order_id} goes on {r.vehicle_id}, ETA {eta}."
    for u in d.unassigned:
        if u.order_id == order_id:
            return f"{order_id} 无法安排：{u.reason}。" if lang == "zh" else f"{order_id} cannot be served: {u.reason}."
    return ""


def compose(o: Outcome, lang: str) -> str:
    """The reply for an action's outcome."""
    d = o.data
    zh = lang == "zh"
    if o.action in ("plan", "breakdown", "delay", "new_order", "cancel_order", "restore_order", "change_window", "pin", "move"):
        draft = d if o.action == "plan" else d.draft
        head = ""
        if o.action != "plan":
            head = f"已记录：{d.event}。" if zh else f"Recorded: {d.event}. "
        extra = ""
        order_id = o.facts.get("order_id")
        if order_id:
            extra = _where(draft, order_id, lang) + ("" if zh else " ")
        return head + extra + _draft_line(draft, lang)
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
                f"预计 {d.eta} 到达（时间窗 {windows}），状态：{d.status}。"
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
            return f"{d.vehicle_id} 今天没有站点。{d.note or ''}" if zh else f"{d.vehicle_id} has no stops in the plan. {d.note or ''}".strip()
        stops = ", ".join(f"{s.position}. {s.order_id} {s.eta}" for s in d.stops)
        if zh:
            return f"{d.vehicle_id}（司机 {d.driver}）{d.stop_count} 站，{_km(d.distance_km)} 公里，{d.route_start}–{d.route_end}：{stops}"
        return f"{d.vehicle_id} (driver {d.driver}): {d.stop_count} stops, {_km(d.distance_km)} km, {d.route_start}-{d.route_end}: {stops}"
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
        items = "; ".join(f"{oid}: {why}" for oid, why in un[:10])
        return f"{len(un)} 单无法安排：{items}" if zh else f"{len(un)} order(s) cannot be served: {items}"
    if o.action == "what_if":
        s, b = d.scenario, d.baseline
        changes = "; ".join(d.changes)
        if zh:
            return (
                f"假设（{changes}）：{s.vehicles_used} 辆车，{_km(s.total_distance_km)} 公里，{s.unassigned_count} 单无法安排"
                f"（现在：{b.vehicles_used} 辆车，{_km(b.total_distance_km)} 公里，{b.unassigned_count} 单无法安排）。未做任何修改。"
            )
        return (
            f"What-if ({changes}): {s.vehicles_used} vehicles, {_km(s.total_distance_km)} km, {s.unassigned_count} unassigned "
            f"(now: {b.vehicles_used} vehicles, {_km(b.total_distance_km)} km, {b.unassigned_count} unassigned). Nothing was changed."
        )
    if o.action in ("advise", "move_cost"):
        return str(d.summary) + (" 未做任何修改。" if zh else " Nothing was changed.")
    if o.action == "forecast":
        return _forecast_text(d, zh)
    if o.action == "history":
        return _history_text(d, zh)
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


def _history_text(d: Any, zh: bool) -> str:
    if zh:
        return f"{d.series} 区 {d.start} 至 {d.end} 共 {d.total} 单。"
    return f"Region {d.series} had {d.total} orders in total from {d.start} to {d.end}."


def chat_reply(lang: str) -> str:
    """The polite answer to anything outside the copilot's job."""
    if lang == "zh":
        return "这超出了我的范围：我负责今天的路线、订单、车辆和单量，例如“P546630 在哪辆车上？”或“HZ-V3 坏了”。"
    return "That's outside what I can help with: I plan and explain today's routes, orders, vehicles and volumes, e.g. 'Which van has P546630?' or 'HZ-V3 broke down'."


def error_reply(message: str, lang: str) -> str:
    """A tool refused the request: say why, changing nothing."""
    return f"没能完成：{message}" if lang == "zh" else f"I couldn't do that: {message}"


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
