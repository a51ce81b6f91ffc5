"""The store's reads and writes on an open connection; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, CursorResult, Table, func, insert, select, update

from copilot.core.domain import Order, Plan, PlanStatus, World
from copilot.core.errors import InputError, NotFound
from copilot.core.ports import StoredPlan
from tools.sql import rows
from tools.sql.schema import depots, history, order_windows, orders, plan_routes, plan_unassigned, plan_visits, plans, vehicles, worlds


def insert_rows(conn: Connection, table: Table, items: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows at once (nothing for an empty list)."""
    if items:
        conn.execute(insert(table), list(items))


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "an INSERT of one row reports its primary key"
    return int(key[0])


def world_names(conn: Connection) -> list[str]:
    """Names of stored worlds, sorted."""
    return list(conn.scalars(select(worlds.c.name).order_by(worlds.c.name)))


def world_id(conn: Connection, name: str, *, lock: bool = False) -> int:
    """The row id of a world (NotFound when unknown); ``lock`` holds its row until the transaction ends."""
    query = select(worlds.c.id).where(worlds.c.name == name)
    wid = conn.scalar(query.with_for_update() if lock else query)
    if wid is None:
        raise NotFound("world", name, world_names(conn))
    return int(wid)


def insert_world(conn: Connection, world: World, meta: Mapping[str, Any], now: int) -> int:
    """Insert a world and everything in it; returns its row id."""
    values = {"name": world.name, "date": world.date, "utc_offset_s": world.utc_offset_s, "city": world.city, "meta": dict(meta)}
    wid = _new_id(conn.execute(insert(worlds).values(**values, clock=None, created_at=now, updated_at=now)))
    insert_rows(conn, depots, [rows.depot_row(wid, i, d) for i, d in enumerate(world.depots)])
    insert_rows(conn, vehicles, [rows.vehicle_row(wid, i, v) for i, v in enumerate(world.vehicles)])
    insert_orders(conn, wid, world.orders, 0)
    insert_rows(conn, history, [rows.history_row(wid, i, h) for i, h in enumerate(world.history)])
    return wid


def insert_orders(conn: Connection, wid: int, items: Sequence[Order], first_position: int | None = None) -> None:
    """Insert orders with their windows, after the world's last order unless ``first_position`` is given."""
    if first_position is None:
        top = conn.scalar(select(func.max(orders.c.position)).where(orders.c.world_id == wid))
        first_position = 0 if top is None else int(top) + 1
    insert_rows(conn, orders, [rows.order_row(wid, first_position + i, o) for i, o in enumerate(items)])
    insert_rows(conn, order_windows, [w for o in items for w in rows.window_rows(wid, o)])


def load_world(conn: Connection, name: str) -> World:
    """The stored world of that name (NotFound when unknown)."""
    w = conn.execute(select(worlds).where(worlds.c.name == name)).mappings().first()
    if w is None:
        raise NotFound("world", name, world_names(conn))
    wid = w["id"]

    def fetch(table: Table, *order: Any) -> list[Any]:
        return list(conn.execute(select(table).where(table.c.world_id == wid).order_by(*order)).mappings())

    windows: dict[str, list[Any]] = {}
    for r in fetch(order_windows, order_windows.c.order_id, order_windows.c.seq):
        windows.setdefault(r["order_id"], []).append(r)
    return World(
        name=w["name"],
        date=w["date"],
        utc_offset_s=w["utc_offset_s"],
        depots=tuple(rows.depot_from(r) for r in fetch(depots, depots.c.position)),
        vehicles=tuple(rows.vehicle_from(r) for r in fetch(vehicles, vehicles.c.position)),
        orders=tuple(rows.order_from(r, windows.get(r["id"], [])) for r in fetch(orders, orders.c.position)),
        history=tuple(rows.history_from(r) for r in fetch(history, history.c.seq)),
        city=w["city"],
        meta=w["meta"],
    )


def touch(conn: Connection, wid: int, now: int, **values: Any) -> None:
    """Record a change of the world (and set any given world columns)."""
    conn.execute(update(worlds).where(worlds.c.id == wid).values(updated_at=now, **values))


def check_references(conn: Connection, wid: int, plan: Plan) -> None:
    """Raise NotFound when the plan names a vehicle or order the world does not have."""
    known_vehicles = list(conn.scalars(select(vehicles.c.id).where(vehicles.c.world_id == wid)))
    known_orders = list(conn.scalars(select(orders.c.id).where(orders.c.world_id == wid)))
    vehicle_set, order_set = set(known_vehicles), set(known_orders)
    for r in plan.routes:
        if r.vehicle_id not in vehicle_set:
            raise NotFound("vehicle", r.vehicle_id, known_vehicles)
    for oid in [v.order_id for r in plan.routes for v in r.visits] + [u.order_id for u in plan.unassigned]:
        if oid not in order_set:
            raise NotFound("order", oid, known_orders)


def insert_plan(conn: Connection, wid: int, plan: Plan, status: PlanStatus, note: str, created_at: int) -> tuple[int, str]:
    """Insert a plan with its routes, visits and unassigned orders; returns its id and a summary."""
    values = {"world_id": wid, "status": status.value, "solver": plan.solver, "clock": plan.clock, "created_at": created_at, "note": note}
    plan_id = _new_id(conn.execute(insert(plans).values(**values)))
    routes, visits, unassigned = rows.plan_child_rows(plan_id, plan)
    insert_rows(conn, plan_routes, routes)
    insert_rows(conn, plan_visits, visits)
    insert_rows(conn, plan_unassigned, unassigned)
    summary = f"solver {plan.solver or '-'}, {len(routes)} routes, {len(visits)} visits, {len(unassigned)} unassigned"
    return plan_id, summary


def supersede(conn: Connection, wid: int) -> int | None:
    """Mark the world's committed plan superseded; returns its id (None when there was none)."""
    committed = plans.c.world_id == wid, plans.c.status == PlanStatus.COMMITTED.value
    previous = conn.scalar(select(plans.c.id).where(*committed))
    if previous is not None:
        conn.execute(update(plans).where(*committed).values(status=PlanStatus.SUPERSEDED.value))
    return None if previous is None else int(previous)


def set_plan(conn: Connection, plan_id: int, **values: Any) -> None:
    """Update columns of one plan row."""
    conn.execute(update(plans).where(plans.c.id == plan_id).values(**values))


def plan_world(conn: Connection, plan_id: int) -> str:
    """The name of the world a plan belongs to (NotFound for an unknown plan)."""
    name = conn.scalar(select(worlds.c.name).join(plans, plans.c.world_id == worlds.c.id).where(plans.c.id == plan_id))
    if name is None:
        raise NotFound("plan", str(plan_id))
    return str(name)


def plan_status(conn: Connection, plan_id: int, world: str, wid: int) -> PlanStatus:
    """The status of a plan of this world (NotFound when unknown, InputError when of another world)."""
    row = conn.execute(select(plans.c.world_id, plans.c.status).where(plans.c.id == plan_id)).first()
    if row is None:
        raise NotFound("plan", str(plan_id))
    if row.world_id != wid:
        raise InputError(f"plan {plan_id} belongs to another world, not to {world!r}")
    return PlanStatus(row.status)


def load_plans(conn: Connection, where: ColumnElement[bool]) -> list[StoredPlan]:
    """The plans matching ``where``, rebuilt, oldest first (three queries for the children in all)."""
    query = select(plans, worlds.c.name).join(worlds, worlds.c.id == plans.c.world_id).where(where).order_by(plans.c.id)
    heads = list(conn.execute(query).mappings())
    if not heads:
        return []
    ids = select(plans.c.id).where(where)

    def children(table: Table, *order: Any) -> dict[int, list[Any]]:
        out: dict[int, list[Any]] = {}
        for r in conn.execute(select(table).where(table.c.plan_id.in_(ids)).order_by(table.c.plan_id, *order)).mappings():
            out.setdefault(r["plan_id"], []).append(r)
        return out

    routes = children(plan_routes, plan_routes.c.seq)
    visits = children(plan_visits, plan_visits.c.route_seq, plan_visits.c.seq)
    unassigned = children(plan_unassigned, plan_unassigned.c.seq)
    result = []
    for h in heads:
        pid = h["id"]
        plan = rows.plan_from(h, routes.get(pid, []), visits.get(pid, []), unassigned.get(pid, []))
        result.append(StoredPlan(id=pid, world=h["name"], status=plan.status, plan=plan, created_at=h["created_at"], note=h["note"]))
    return result
