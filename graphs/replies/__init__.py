"""Replies built from tool results (English or Chinese). Every number in a reply comes from a tool's output;
customer text is quoted as data. :func:`grounded_numbers_ok` checks a free-text reply against the facts.

* :mod:`~graphs.replies.common`: the language, the fixed answers, the checks of a reworded reply;
* :mod:`~graphs.replies.compose`: :func:`compose`, the reply for an action's outcome;
* :mod:`~graphs.replies.plans`: drafts, hypothetical plans and recorded facts;
* :mod:`~graphs.replies.answers`: data queries, forecasts, fixes for unassigned orders;
* :mod:`~graphs.replies.chinese`: Chinese words and the Chinese explanations.
"""

from graphs.replies.answers import FIX_CAUSES, fixes_text, query_text
from graphs.replies.chinese import REASON_CODE_ZH, STATUS_ZH
from graphs.replies.common import ACTION_ZH, CJK, approval_prompt, ask_offer, chat_reply, error_reply, grounded_numbers_ok, ids_kept, language
from graphs.replies.compose import compose
from graphs.replies.plans import EVENT_ACTIONS, plan_reason_zh

__all__ = [
    "ACTION_ZH",
    "CJK",
    "EVENT_ACTIONS",
    "FIX_CAUSES",
    "REASON_CODE_ZH",
    "STATUS_ZH",
    "approval_prompt",
    "ask_offer",
    "chat_reply",
    "compose",
    "error_reply",
    "fixes_text",
    "grounded_numbers_ok",
    "ids_kept",
    "language",
    "plan_reason_zh",
    "query_text",
]
