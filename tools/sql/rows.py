"""Conversion between domain objects and table rows (plain dicts keyed by column name)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from copilot.core.domain import (
    Depot,
    HistoryRow,
    Location,
    Order,
    OrderKind,
    Plan,
    PlanStatus,
    Priority,
    Route,
    TimeWindow,
    Unassigned,
    Vehicle,
    Visit,
)

Row = dict[str, Any]
RowIn = Mapping[Any, Any]  # a result row mapping (keys are column names)


def depot_row(world_id: int, position: int, d: Depot) -> Row:
    """The ``depots`` row of a depot."""
    return {
        "world_id": world_id,
        "id": d.id,
        "position": position,
        "name": d.name,
        "lat": d.location.lat,
        "lng": d.location.lng,
        "opens_at": d.hours.start,
        "closes_at": d.hours.end,
    }


def depot_from(r: RowIn) -> Depot:
    """The depot of a ``depots`` row."""
    return Depot(id=r["id"], name=r["name"], location=Location(r["lat"], r["lng"]), hours=TimeWindow(r["opens_at"], r["closes_at"]))


def vehicle_row(world_id: int, position: int, v: Vehicle) -> Row:
    """The ``vehicles`` row of a vehicle (skills as a sorted JSON list)."""
    return {
        "world_id": world_id,
        "id": v.id,
        "position": position,
        "depot_id": v.depot_id,
        "capacity": v.capacity,
        "shift_start": v.shift.start,
        "shift_end": v.shift.end,
        "speed_kmh": v.speed_kmh,
        "cost_per_km": v.cost_per_km,
        "skills": sorted(v.skills),
        "driver": v.driver,
        "unavailable_from": v.unavailable_from,
        "max_route_duration_s": v.max_route_duration_s,
        "fixed_cost": v.fixed_cost,
        "delayed_until": v.delayed_until,
    }


def vehicle_from(r: RowIn) -> Vehicle:
    """The vehicle of a ``vehicles`` row."""
    return Vehicle(
        id=r["id"],
        depot_id=r["depot_id"],
        capacity=r["capacity"],
        shift=TimeWindow(r["shift_start"], r["shift_end"]),
        speed_kmh=r["speed_kmh"],
        cost_per_km=r["cost_per_km"],
        skills=frozenset(r["skills"]),
        driver=r["driver"],
        unavailable_from=r["unavailable_from"],
        max_route_duration_s=r["max_route_duration_s"],
        fixed_cost=r["fixed_cost"],
        delayed_until=r["delayed_until"],
    )


def order_row(world_id: int, position: int, o: Order) -> Row:
    """The ``orders`` row of an order (its windows go to :func:`window_rows`)."""
    return {
        "world_id": world_id,
        "id": o.id,
        "position": position,
        "kind": o.kind.value,
        "lat": o.location.lat,
        "lng": o.location.lng,
        "demand": o.demand,
        "service_s": o.service_s,
        "priority": o.priority.value,
        "required_skill": o.required_skill,
        "customer": o.customer,
        "notes": o.notes,
        "pair_id": o.pair_id,
        "cancelled": o.cancelled,
        "pinned_vehicle": o.pinned_vehicle,
    }


def window_rows(world_id: int, o: Order) -> list[Row]:
    """The ``order_windows`` rows of an order, in time order."""
    return [{"world_id": world_id, "order_id": o.id, "seq": i, "start_at": w.start, "end_at": w.end} for i, w in enumerate(o.windows)]


def order_from(r: RowIn, windows: Sequence[RowIn]) -> Order:
    """The order of an ``orders`` row and its ``order_windows`` rows (sorted by ``seq``)."""
    return Order(
        id=r["id"],
        kind=OrderKind(r["kind"]),
        location=Location(r["lat"], r["lng"]),
        demand=r["demand"],
        service_s=r["service_s"],
        windows=tuple(TimeWindow(w["start_at"], w["end_at"]) for w in windows),
        priority=Priority(r["priority"]),
        required_skill=r["required_skill"],
        customer=r["customer"],
        notes=r["notes"],
        pair_id=r["pair_id"],
        cancelled=bool(r["cancelled"]),
        pinned_vehicle=r["pinned_vehicle"],
    )


def history_row(world_id: int, seq: int, h: HistoryRow) -> Row:
    """The ``history`` row of one history entry."""
    return {"world_id": world_id, "seq": seq, "date": h.date, "series": h.series, "volume": h.volume}


def history_from(r: RowIn) -> HistoryRow:
    """The history entry of a ``history`` row."""
    return HistoryRow(date=r["date"], series=r["series"], volume=r["volume"])


def plan_child_rows(plan_id: int, plan: Plan) -> tuple[list[Row], list[Row], list[Row]]:
    """The ``plan_routes``, ``plan_visits`` and ``plan_unassigned`` rows of a plan."""
    routes: list[Row] = []
    visits: list[Row] = []
    for i, r in enumerate(plan.routes):
        routes.append(
            {
                "plan_id": plan_id,
                "seq": i,
                "vehicle_id": r.vehicle_id,
                "start_at": r.start,
                "end_at": r.end,
                "distance_m": r.distance_m,
                "start_load": r.start_load,
            }
        )
        visits.extend(
            {
                "plan_id": plan_id,
                "route_seq": i,
                "seq": j,
                "order_id": v.order_id,
                "arrival": v.arrival,
                "start_at": v.start,
                "departure": v.departure,
                "load_after": v.load_after,
            }
            for j, v in enumerate(r.visits)
        )
    unassigned = [{"plan_id": plan_id, "seq": i, "order_id": u.order_id, "reason": u.reason} for i, u in enumerate(plan.unassigned)]
    return routes, visits, unassigned


def plan_from(
    r: RowIn,
    routes: Iterable[RowIn],
    visits: Iterable[RowIn],
    unassigned: Iterable[RowIn],
) -> Plan:
    """The plan of a ``plans`` row and its child rows (each sorted by sequence)."""
    by_route: dict[int, list[Visit]] = {}
    for v in visits:
        by_route.setdefault(v["route_seq"], []).append(
            Visit(order_id=v["order_id"], arrival=v["arrival"], start=v["start_at"], departure=v["departure"], load_after=v["load_after"])
        )
    return Plan(
        routes=tuple(
            Route(
                vehicle_id=x["vehicle_id"],
                start=x["start_at"],
                end=x["end_at"],
                visits=tuple(by_route.get(x["seq"], ())),
                distance_m=x["distance_m"],
                start_load=x["start_load"],
            )
            for x in routes
        ),
        unassigned=tuple(Unassigned(order_id=u["order_id"], reason=u["reason"]) for u in unassigned),
        status=PlanStatus(r["status"]),
        id=r["id"],
        solver=r["solver"],
        clock=r["clock"],
        created_at=r["created_at"],
        note=r["note"],
    )
