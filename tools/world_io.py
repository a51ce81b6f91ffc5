"""Read and write a world in the partner CSV format (``depots.csv``, ``vehicles.csv``, ``orders.csv``,
optional ``history.csv``, ``world.json``), as described in ``shared/eval/README.md``.

Format details this module adds to the README:

* Times are ISO 8601 with a UTC offset (``2022-05-01T08:00:00+08:00``). Every offset must equal the
  world's time zone (``world.json`` ``timezone``, e.g. ``"+08:00"``).
* Several time windows per order: ``tw_start`` and ``tw_end`` may hold ``|``-separated lists of the
  same length, paired in order, in time order and not overlapping, e.g. tw_start
  ``2022-05-01T08:00:00+08:00|2022-05-01T14:00:00+08:00`` with tw_end
  ``2022-05-01T10:00:00+08:00|2022-05-01T16:00:00+08:00``. Both cells empty: no time window.
* ``service_min`` is minutes, zero or more; fractions are allowed when they make whole seconds (1.5 = 90 s).
* Optional columns: orders ``pair_id`` (the other half of a pickup-and-delivery pair, each names the
  other) and ``cancelled`` (true/false); vehicles ``max_route_min`` (minutes), ``fixed_cost`` and
  ``unavailable_from`` (a time). Columns whose cells may be empty may also be left out entirely:
  depots ``name``; vehicles ``skills``, ``driver``; orders ``customer``, ``tw_start``/``tw_end``,
  ``priority`` (empty = normal), ``required_skill``, ``notes``. Unknown extra columns are ignored.
* ``world.json`` is kept whole as ``World.meta``. Without it (or without one of its keys) the name is
  the folder's name, the city is empty, the time zone is the offset of the first time read (depots
  first) and the date is that first time's local date (``+00:00`` and an empty date if there is no time).

Every problem found is collected; :class:`copilot.core.errors.ImportFailed` lists them all, each naming
file, row (header = row 1, first data row = row 2) and column. A demand larger than every vehicle's
capacity is not an import error (it is a planning matter).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from copilot.core.domain import Depot, HistoryRow, Location, Order, OrderKind, Priority, TimeWindow, Vehicle, World
from copilot.core.errors import ImportFailed, InputError
from copilot.core.units import format_offset, format_time, parse_offset
from tools._csv import Clock, Problems, Row, is_valid_date, read_rows

__all__ = ["read_world", "write_world"]

DEPOT_COLUMNS = ("depot_id", "name", "lat", "lng", "open", "close")
VEHICLE_COLUMNS = ("vehicle_id", "depot_id", "capacity", "shift_start", "shift_end", "speed_kmh", "cost_per_km", "skills", "driver")
ORDER_COLUMNS: tuple[str, ...] = ("order_id", "kind", "customer", "lat", "lng", "demand", "service_min")
ORDER_COLUMNS += ("tw_start", "tw_end", "priority", "required_skill", "notes")
HISTORY_COLUMNS = ("date", "region", "volume")
VEHICLE_EXTRA = ("max_route_min", "fixed_cost", "unavailable_from")
ORDER_EXTRA = ("pair_id", "cancelled")
_MAY_BE_LEFT_OUT = {"name", "skills", "driver", "customer", "tw_start", "tw_end", "priority", "required_skill", "notes"}
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0", "")


def _split(columns: Sequence[str], extra: Sequence[str] = ()) -> tuple[tuple[str, ...], tuple[str, ...]]:
    required = tuple(c for c in columns if c not in _MAY_BE_LEFT_OUT)
    return required, (*(c for c in columns if c in _MAY_BE_LEFT_OUT), *extra)


# --------------------------------------------------------------------------------------------- read


def read_world(directory: Path) -> World:
    """Import the world in ``directory``; raise :class:`ImportFailed` listing every problem found."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ImportFailed([f"{directory}: expected a folder holding depots.csv, vehicles.csv and orders.csv"])
    problems = Problems()
    meta, offset = _read_meta(directory / "world.json", problems)
    clock = Clock(offset, "world.json")
    depots, depot_ids = _read_depots(directory, problems, clock)
    vehicles, skills = _read_vehicles(directory, problems, clock, depot_ids)
    orders = _read_orders(directory, problems, clock, skills)
    history = _read_history(directory / "history.csv", problems) if (directory / "history.csv").exists() else []
    if problems.items:
        raise ImportFailed(problems.items)
    offset_s = clock.offset_s if clock.offset_s is not None else 0
    date = meta.get("date") or (format_time(clock.first, offset_s)[:10] if clock.first is not None else "")
    try:
        return World(
            name=str(meta.get("name") or directory.resolve().name),
            date=str(date),
            utc_offset_s=offset_s,
            depots=tuple(depots),
            vehicles=tuple(vehicles),
            orders=tuple(orders),
            history=tuple(history),
            city=str(meta.get("city") or ""),
            meta=meta,
        )
    except InputError as exc:
        raise ImportFailed([f"{directory.name}: {exc}"]) from None


def _read_meta(path: Path, problems: Problems) -> tuple[dict[str, Any], int | None]:
    if not path.is_file():
        return {}, None
    try:
        meta = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.add("world.json", f"expected a JSON object with name, city, date and timezone ({exc})")
        return {}, None
    if not isinstance(meta, dict):
        problems.add("world.json", f"expected a JSON object with name, city, date and timezone, got {type(meta).__name__}")
        return {}, None
    for key in ("name", "city", "date", "timezone"):
        if key in meta and not isinstance(meta[key], str):
            problems.add(f"world.json, key {key}", f"expected a text, got {meta[key]!r}")
    date = meta.get("date")
    if isinstance(date, str) and date and not is_valid_date(date):
        problems.add("world.json, key date", f"expected a date like 2022-05-01, got {date!r}")
    tz = meta.get("timezone")
    if isinstance(tz, str) and tz:
        try:
            return meta, parse_offset(tz)
        except ValueError:
            problems.add("world.json, key timezone", f"wrong time zone format: expected a UTC offset like +08:00, got {tz!r}")
    return meta, None


def _unique(row: Row, column: str, kind: str, value: str, seen: dict[str, int]) -> None:
    if value in seen:
        row.problem(column, f"duplicate {kind} id {value!r}: rows {seen[value]} and {row.number} both use it")
    elif value:
        seen[value] = row.number


def _window(row: Row, clock: Clock, start_col: str, end_col: str, start_text: str, end_text: str) -> TimeWindow | None:
    before = len(row.problems)
    start, end = clock.parse(row, start_col, start_text), clock.parse(row, end_col, end_text)
    if len(row.problems) > before:
        return None
    if end < start:
        row.bad(end_col, f"a time not before {start_col} ({start_text.strip()})", end_text)
        return None
    return TimeWindow(start, end)


def _build(row: Row, make: Callable[..., Any], *args: Any) -> Any:
    """``make(*args)`` (a domain constructor) when the row is clean so far; its InputError is reported at this row."""
    if not row.ok:
        return None
    try:
        return make(*args)
    except InputError as exc:
        row.problem(None, str(exc))
        return None


def _location(row: Row) -> Location:
    lat = row.real("lat", "a latitude between -90 and 90", lambda v: -90 <= v <= 90)
    lng = row.real("lng", "a longitude between -180 and 180", lambda v: -180 <= v <= 180)
    return Location(lat, lng)  # placeholders for bad cells are valid too


def _read_depots(directory: Path, problems: Problems, clock: Clock) -> tuple[list[Depot], set[str] | None]:
    required, optional = _split(DEPOT_COLUMNS)
    rows = read_rows(directory / "depots.csv", "depots.csv", required, optional, problems)
    if rows is None:
        return [], None
    depots: list[Depot] = []
    seen: dict[str, int] = {}
    for row in rows:
        depot_id = row.ident("depot_id")
        _unique(row, "depot_id", "depot", depot_id, seen)
        location = _location(row)
        hours = _window(row, clock, "open", "close", row.raw("open"), row.raw("close"))
        depot = _build(row, Depot, depot_id, row.raw("name"), location, hours)
        if depot is not None:
            depots.append(depot)
    return depots, set(seen)


def _read_vehicles(directory: Path, problems: Problems, clock: Clock, depot_ids: set[str] | None) -> tuple[list[Vehicle], set[str] | None]:
    required, optional = _split(VEHICLE_COLUMNS, VEHICLE_EXTRA)
    rows = read_rows(directory / "vehicles.csv", "vehicles.csv", required, optional, problems)
    if rows is None:
        return [], None
    vehicles: list[Vehicle] = []
    seen: dict[str, int] = {}
    all_skills: set[str] = set()
    for row in rows:
        vehicle_id = row.ident("vehicle_id")
        _unique(row, "vehicle_id", "vehicle", vehicle_id, seen)
        depot_id = row.ident("depot_id")
        if depot_id and depot_ids is not None and depot_id not in depot_ids:
            known = ", ".join(sorted(depot_ids)) or "none"
            row.problem("depot_id", f"unknown depot {depot_id!r}: expected one of the depots in depots.csv ({known})")
        capacity = row.whole("capacity", "a positive whole number of parcels", lambda v: v > 0)
        shift = _window(row, clock, "shift_start", "shift_end", row.raw("shift_start"), row.raw("shift_end"))
        speed = row.real("speed_kmh", "a speed in km/h above 0 and at most 200", lambda v: 0 < v <= 200)
        cost = row.real("cost_per_km", "a cost per km of zero or more", lambda v: v >= 0)
        skills = frozenset(s.strip() for s in row.raw("skills").split(";") if s.strip())
        all_skills |= skills
        max_route = None
        if row.has("max_route_min"):
            max_route = row.whole("max_route_min", "a positive number of minutes", lambda v: v > 0, scale=60)
        fixed = row.real("fixed_cost", "a fixed cost of zero or more", lambda v: v >= 0) if row.has("fixed_cost") else 0.0
        gone = clock.parse(row, "unavailable_from", row.raw("unavailable_from")) if row.has("unavailable_from") else None
        vehicle = _build(
            row, Vehicle, vehicle_id, depot_id, capacity, shift, speed, cost, skills, row.raw("driver"), gone, max_route, fixed
        )
        if vehicle is not None:
            vehicles.append(vehicle)
    return vehicles, all_skills


def _windows(row: Row, clock: Clock) -> tuple[TimeWindow, ...]:
    start_text, end_text = row.raw("tw_start").strip(), row.raw("tw_end").strip()
    if not start_text and not end_text:
        return ()
    for column, text, other in (("tw_start", start_text, end_text), ("tw_end", end_text, start_text)):
        if not text and other:
            row.bad(column, "a time (or both tw_start and tw_end empty for no time window)", text)
            return ()
    starts, ends = start_text.split("|"), end_text.split("|")
    if len(starts) != len(ends):
        row.bad("tw_end", f"as many |-separated times as tw_start ({len(starts)})", end_text)
        return ()
    windows = [_window(row, clock, "tw_start", "tw_end", s, e) for s, e in zip(starts, ends, strict=True)]
    return tuple(w for w in windows if w is not None)


def _read_orders(directory: Path, problems: Problems, clock: Clock, skills: set[str] | None) -> list[Order]:
    required, optional = _split(ORDER_COLUMNS, ORDER_EXTRA)
    rows = read_rows(directory / "orders.csv", "orders.csv", required, optional, problems)
    if rows is None:
        return []
    orders: list[Order] = []
    seen: dict[str, int] = {}
    pairs: dict[str, tuple[Row, str, str | None]] = {}
    for row in rows:
        order_id = row.ident("order_id")
        _unique(row, "order_id", "order", order_id, seen)
        kind = OrderKind(row.choice("kind", [k.value for k in OrderKind]))
        location = _location(row)
        demand = row.whole("demand", "a whole number of parcels, zero or more", lambda v: v >= 0)
        service = row.whole("service_min", "a number of minutes, zero or more, in whole seconds", lambda v: v >= 0, scale=60)
        windows = _windows(row, clock)
        priority = Priority(row.choice("priority", [p.value for p in Priority], default=Priority.NORMAL.value))
        skill = row.raw("required_skill").strip() or None
        if skill is not None and skills is not None and skill not in skills:
            known = ", ".join(sorted(skills)) or "none"
            row.problem("required_skill", f"unknown skill {skill!r}: no vehicle in vehicles.csv has it (vehicle skills: {known})")
        pair = row.raw("pair_id").strip() or None
        cancelled_text = row.raw("cancelled").strip().lower()
        if cancelled_text not in _TRUE + _FALSE:
            row.bad("cancelled", "true or false", row.raw("cancelled"))
        pairs.setdefault(order_id, (row, kind.value, pair))
        text = row.raw("customer"), row.raw("notes")
        order = _build(
            row, Order, order_id, kind, location, demand, service, windows, priority, skill, *text, pair, cancelled_text in _TRUE
        )
        if order is not None:
            orders.append(order)
    for order_id, (row, kind_value, pair) in pairs.items():
        if pair is None:
            continue
        other = pairs.get(pair)
        if other is None:
            row.bad("pair_id", "the id of another order in orders.csv", pair)
        elif other[2] != order_id:
            row.problem("pair_id", f"order {pair!r} (row {other[0].number}) does not name {order_id!r} back in its pair_id")
        elif other[1] == kind_value:
            row.problem("pair_id", f"a pair needs one pickup and one delivery, but {order_id!r} and {pair!r} are both {kind_value}")
    return orders


def _read_history(path: Path, problems: Problems) -> list[HistoryRow]:
    rows = read_rows(path, "history.csv", HISTORY_COLUMNS, (), problems)
    history: list[HistoryRow] = []
    seen: dict[tuple[str, str], int] = {}
    for row in rows or []:
        date = row.raw("date").strip()
        if not is_valid_date(date):
            row.bad("date", "a date like 2022-05-13", row.raw("date"))
        region = row.ident("region")
        volume = row.whole("volume", "a whole number of orders, zero or more", lambda v: v >= 0)
        if (date, region) in seen:
            row.problem("region", f"region {region!r} on {date} appears twice: rows {seen[date, region]} and {row.number}")
        seen.setdefault((date, region), row.number)
        item = _build(row, HistoryRow, date, region, volume)
        if item is not None:
            history.append(item)
    return history


# -------------------------------------------------------------------------------------------- write


def _num(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _minutes(seconds: int) -> str:
    return str(seconds // 60) if seconds % 60 == 0 else repr(seconds / 60)


def _write_csv(path: Path, header: Sequence[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_world(world: World, directory: Path) -> None:
    """Write ``world`` in the CSV format :func:`read_world` reads (the folder is created if needed).

    Optional columns are written only when some row uses them; ``world.json`` is ``world.meta`` with
    name, city, date and timezone set from the world. A stale ``history.csv`` is removed when the
    world has no history, so that reading the folder back gives the same world.
    """
    off = world.utc_offset_s
    if off % 60 or abs(off) > 14 * 3600:
        raise InputError(f"world {world.name}: UTC offset must be whole minutes within ±14:00 to be written, got {off} s")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    def t(epoch: int | None) -> str:
        return "" if epoch is None else format_time(epoch, off)

    def col(name: str, used: bool) -> tuple[str, ...]:
        return (name,) if used else ()

    depot_rows = [[d.id, d.name, _num(d.location.lat), _num(d.location.lng), t(d.hours.start), t(d.hours.end)] for d in world.depots]
    _write_csv(directory / "depots.csv", DEPOT_COLUMNS, depot_rows)

    vs = world.vehicles
    v_extra = (
        *col("max_route_min", any(v.max_route_duration_s is not None for v in vs)),
        *col("fixed_cost", any(v.fixed_cost for v in vs)),
        *col("unavailable_from", any(v.unavailable_from is not None for v in vs)),
    )
    vehicle_rows = []
    for v in vs:
        extra = {
            "max_route_min": "" if v.max_route_duration_s is None else _minutes(v.max_route_duration_s),
            "fixed_cost": _num(v.fixed_cost),
            "unavailable_from": t(v.unavailable_from),
        }
        base = [v.id, v.depot_id, str(v.capacity), t(v.shift.start), t(v.shift.end), _num(v.speed_kmh), _num(v.cost_per_km)]
        vehicle_rows.append([*base, ";".join(sorted(v.skills)), v.driver, *(extra[c] for c in v_extra)])
    _write_csv(directory / "vehicles.csv", VEHICLE_COLUMNS + v_extra, vehicle_rows)

    os_ = world.orders
    o_extra = (*col("pair_id", any(o.pair_id for o in os_)), *col("cancelled", any(o.cancelled for o in os_)))
    order_rows = []
    for o in os_:
        extra = {"pair_id": o.pair_id or "", "cancelled": "true" if o.cancelled else "false"}
        base = [o.id, o.kind.value, o.customer, _num(o.location.lat), _num(o.location.lng), str(o.demand), _minutes(o.service_s)]
        windows = ["|".join(t(w.start) for w in o.windows), "|".join(t(w.end) for w in o.windows)]
        rest = [o.priority.value, o.required_skill or "", o.notes, *(extra[c] for c in o_extra)]
        order_rows.append([*base, *windows, *rest])
    _write_csv(directory / "orders.csv", ORDER_COLUMNS + o_extra, order_rows)

    history = directory / "history.csv"
    if world.history:
        _write_csv(history, HISTORY_COLUMNS, [[h.date, h.series, str(h.volume)] for h in world.history])
    elif history.exists():
        history.unlink()

    head = {"name": world.name, "city": world.city, "date": world.date, "timezone": format_offset(off)}
    meta = {**head, **{k: v for k, v in world.meta.items() if k not in head}}
    (directory / "world.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
