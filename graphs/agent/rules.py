"""How the model's chosen actions become the turn's steps: the list made sound (:func:`_tidy`), which kinds of
action read or write, the read-only twin of a writing action in a question, and the ids a message lists
together (one action meant for several ids runs once per id)."""

from __future__ import annotations

import re
from typing import Any

from graphs.toolset import ACTIONS, Action, Grounded, ids_in_text, new_ids_in_text

UNTRUSTED_TEXT_ACTIONS = frozenset({"notes", "order_status"})
"""Replies that quote customer text: never sent back through the model."""


MAX_ACTIONS = 2
"""The most different actions one message may carry (one action may run for several ids)."""


READ_KINDS = frozenset({"read", "confirm", "chat"})


WRITE_KINDS = frozenset({"event", "plan", "dispatch", "discard"})


ASK_TWIN = {"new_order": "advise", "move": "move_cost", "pin": "move_cost"}
"""In a question, these writing actions are answered by their read-only twin; every other one runs read-only."""


OPPOSITES = (("cancel_order", "restore_order"), ("dispatch", "discard"))


def _tidy(names: list[str]) -> list[str]:
    """The model's action list made sound: each action once (one action covers several ids), no ``plan`` next
    to an event (every event re-plans), no ``chat`` next to a real action, at most :data:`MAX_ACTIONS`."""
    out = list(dict.fromkeys(names))
    for a, b in OPPOSITES:  # one message does not ask for a thing and its reverse: the first one stands
        if a in out and b in out:
            out.remove(b if out.index(a) < out.index(b) else a)
    if any(ACTIONS[n].kind == "event" for n in out):
        out = [n for n in out if n != "plan"]
    if len(out) > 1:
        # approving is its own message, about a draft the dispatcher has seen: never a side effect of another request
        out = [n for n in out if n != "chat" and ACTIONS[n].kind != "dispatch"] or out[:1]
    return out[:MAX_ACTIONS]


def _no_subject(action: Action, g: Grounded) -> bool:
    """Whether grounding found none of the ids the action is about (its required order/vehicle fields)."""
    ids = [f for f in action.required if f in ("order_id", "vehicle_id", "region")]
    return bool(ids) and not g.unknown and all(f in g.missing for f in ids)


def _asks_something(args: Any) -> bool:
    """Whether a grounded query has a period, a group or a filter of its own (else it is the whole history's total)."""
    return any(getattr(args, f, None) for f in ("date_from", "group_by", "vehicle_id", "status", "kind"))


def _subject_named(action: Action, text: str, world: Any) -> bool:
    """Whether the message names something of each kind the action is about (an order, a vehicle, a region)."""
    for f in action.required:
        if f == "order_id" and not (ids_in_text(text, world, "order") or (action.name == "new_order" and new_ids_in_text(text, world))):
            return False
        if f == "vehicle_id" and not ids_in_text(text, world, "vehicle"):
            return False
    return True


def _spread_field(action: Action) -> tuple[str, str] | None:
    """The one id field of an action that takes a single order or vehicle id (so it can run once per id)."""
    if action.args is None:
        return None
    fields = [f for f in action.args.model_fields if f in ("order_id", "vehicle_id")]
    if len(fields) != 1 or fields[0] not in action.required:
        return None
    return fields[0], "order" if fields[0] == "order_id" else "vehicle"


_LIST_GAP = re.compile(r"^\s*(?:,|，|、|/|&|\+|and|or|plus|as well as|和|与|跟|及|还有|以及)?\s*(?:also\s+)?$", re.IGNORECASE)


def listed_ids(text: str, ids: list[str]) -> list[str]:
    """The ids the message lists together ("P1 and P2", "V4、V6"): the longest run of ids joined only by list
    words. An id set apart ("where is P1? (not P2)") is not part of the list."""
    spots = sorted((text.lower().find(i.lower()), i) for i in ids if i.lower() in text.lower())
    best: list[str] = []
    run: list[str] = []
    prev_end = -1
    for pos, ident in spots:
        if run and _LIST_GAP.match(text[prev_end:pos]):
            run.append(ident)
        else:
            run = [ident]
        prev_end = pos + len(ident)
        if len(run) > len(best):
            best = list(run)
    return best
