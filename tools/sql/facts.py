"""Facts on a stored vehicle or order: field updates that keep what they changed, and undoing them.

A fact writes only the fields it changes (:func:`apply_fields`, :func:`changed_columns`), so two facts
reported at once on one vehicle both land; its audit row keeps the old and new column values (an order's
windows under :data:`WINDOWS`), and :func:`revert_fields` puts back each field that nothing has changed
since. Like :mod:`tools.sql.queries`, these work on an open connection; the caller owns the transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, select, update

from copilot.core.domain import Order, Vehicle
from copilot.core.errors import InputError
from tools.sql import queries as q
from tools.sql.schema import order_windows, orders, vehicles

_KEYS = ("world_id", "id", "position")
WINDOWS = "windows"  # key of an order's windows in an audit row's before/after
_T = TypeVar("_T", Order, Vehicle)


def changes(old: object, new: object) -> str:
    """A readable list of the fields that differ between two dataclass instances."""

    def show(value: object) -> str:
        return repr(sorted(value)) if isinstance(value, frozenset) else repr(value)

    diffs = [
        f"{f.name}: {show(getattr(old, f.name))} -> {show(getattr(new, f.name))}"
        for f in dataclasses.fields(old)  # type: ignore[arg-type]
        if getattr(old, f.name) != getattr(new, f.name)
    ]
    return "; ".join(diffs) or "no change"


def apply_fields(stored: _T, base: _T, wanted: _T) -> _T:
    """``stored`` with the fields that ``wanted`` changes against ``base`` (a field update on the current row)."""
    fields = dataclasses.fields(wanted)
    return dataclasses.replace(stored, **{f.name: getattr(wanted, f.name) for f in fields if getattr(wanted, f.name) != getattr(base, f.name)})


def changed_columns(old: dict[str, object], new: dict[str, object]) -> dict[str, object]:
    """The columns of ``new`` whose value differs from ``old`` (keys excluded): a field update, not a row rewrite."""
    return {k: v for k, v in new.items() if k not in _KEYS and old.get(k) != v}


def write_windows(conn: Connection, wid: int, order_id: str, windows: Sequence[Sequence[int]]) -> None:
    """Replace the stored time windows of one order."""
    conn.execute(delete(order_windows).where(order_windows.c.world_id == wid, order_windows.c.order_id == order_id))
    items = [{"world_id": wid, "order_id": order_id, "seq": i, "start_at": int(a), "end_at": int(b)} for i, (a, b) in enumerate(windows)]
    q.insert_rows(conn, order_windows, items)


def revert_fields(conn: Connection, wid: int, subject: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Put back the ``before`` value of each field of ``subject`` (``vehicle:ID`` or ``order:ID``) that still holds
    its ``after`` value; the fields reverted and the fields kept (changed since). InputError when it is gone."""
    kind, _, key = subject.partition(":")
    table = vehicles if kind == "vehicle" else orders
    current = conn.execute(select(table).where(table.c.world_id == wid, table.c.id == key)).mappings().first()
    if current is None:
        raise InputError(f"{kind} {key} no longer exists")
    reverted, kept = [], []
    values: dict[str, object] = {}
    for col, old in before.items():
        if col == WINDOWS:
            stored_windows = [
                [w["start_at"], w["end_at"]]
                for w in conn.execute(
                    select(order_windows).where(order_windows.c.world_id == wid, order_windows.c.order_id == key).order_by(order_windows.c.seq)
                ).mappings()
            ]
            if stored_windows == after.get(col):
                write_windows(conn, wid, key, old)
                reverted.append("windows")
            else:
                kept.append("windows")
            continue
        now = current[col]
        if isinstance(now, list | tuple | set | frozenset):
            now = sorted(now)
        if now == after.get(col):
            values[col] = old
            reverted.append(col)
        else:
            kept.append(col)
    if values:
        conn.execute(update(table).where(table.c.world_id == wid, table.c.id == key).values(**values))
    return reverted, kept
