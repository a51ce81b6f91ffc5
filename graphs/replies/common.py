"""What every reply shares: the dispatcher's language, the short fixed answers (out of scope, approval prompt,
only-a-check, a refusal), and the checks a reworded reply must pass (its numbers and ids are the template's)."""

from __future__ import annotations

import re

CJK = re.compile(r"[\u4e00-\u9fff]")


def language(text: str) -> str:
    """``zh`` when the text has Chinese characters, else ``en``."""
    return "zh" if CJK.search(text) else "en"


def _km(x: float | None) -> str:
    return "?" if x is None else f"{x:.1f}"


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
