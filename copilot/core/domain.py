"""The domain model: frozen dataclasses in integer units, validated at construction.

Times are epoch seconds (UTC); a :class:`World` carries the UTC offset used to show them.
Distances are metres, durations seconds, demand whole parcel units.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from copilot.core.errors import InputError, NotFound

# Bounds of every stored number and name: generous for any courier day, small enough that no door (CSV,
# HTTP, MCP, chat) can hand a database or a solver a number it overflows on.
MAX_UNITS = 1_000_000  # parcels: an order's demand, a vehicle's capacity
EPOCH_MIN = 0  # 1970-01-01
EPOCH_MAX = 7_258_118_400  # 2200-01-01: times, windows and shifts lie between
MAX_SERVICE_S = 24 * 3600
MAX_ROUTE_S = 7 * 24 * 3600
MAX_ID_CHARS = 100
MAX_VOLUME = 1_000_000_000  # one day's orders in a history series


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise InputError(message)


def _check_id(kind: str, value: str) -> None:
    _require(isinstance(value, str) and value.strip() != "", f"{kind} id must be a non-empty text, got {value!r}")
    _require(value == value.strip(), f"{kind} id {value!r} has leading or trailing spaces")
    _require(len(value) <= MAX_ID_CHARS, f"{kind} id must have at most {MAX_ID_CHARS} characters, got {len(value)}")
    _require("/" not in value and value.isprintable(), f"{kind} id {value[:40]!r} must not contain '/' or control characters")


def _check_time(what: str, value: int) -> None:
    _require(EPOCH_MIN <= value <= EPOCH_MAX, f"{what} must lie between 1970 and 2200, got epoch second {value}")


class OrderKind(enum.StrEnum):
    """What happens at the customer: goods are collected (pickup) or handed over (delivery)."""

    PICKUP = "pickup"
    DELIVERY = "delivery"


class Priority(enum.StrEnum):
    """How bad it is to leave an order unserved."""

    NORMAL = "normal"
    HIGH = "high"


class PlanStatus(enum.StrEnum):
    """Life cycle of a plan: draft -> committed (dispatched) -> superseded."""

    DRAFT = "draft"
    COMMITTED = "committed"
    SUPERSEDED = "superseded"
    DISCARDED = "discarded"


@dataclass(frozen=True, slots=True)
class Location:
    """A point given by latitude and longitude in degrees (WGS84)."""

    lat: float
    lng: float

    def __post_init__(self) -> None:
        _require(
            isinstance(self.lat, int | float) and math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0,
            f"latitude must be a number between -90 and 90, got {self.lat!r}",
        )
        _require(
            isinstance(self.lng, int | float) and math.isfinite(self.lng) and -180.0 <= self.lng <= 180.0,
            f"longitude must be a number between -180 and 180, got {self.lng!r}",
        )


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A closed interval ``[start, end]`` of epoch seconds."""

    start: int
    end: int

    def __post_init__(self) -> None:
        _require(isinstance(self.start, int) and isinstance(self.end, int), "time window bounds must be whole seconds")
        _check_time("a time", self.start)
        _check_time("a time", self.end)
        _require(self.end >= self.start, f"time window ends ({self.end}) before it starts ({self.start})")

    def contains(self, t: int) -> bool:
        """True when ``t`` lies inside the window."""
        return self.start <= t <= self.end


@dataclass(frozen=True, slots=True)
class Depot:
    """A station where vehicles start and end their shifts."""

    id: str
    name: str
    location: Location
    hours: TimeWindow

    def __post_init__(self) -> None:
        _check_id("depot", self.id)


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A vehicle with its driver's shift.

    ``unavailable_from`` marks a breakdown or sick driver from that time on; ``delayed_until`` a
    reported delay (the vehicle starts nothing new before then).
    """

    id: str
    depot_id: str
    capacity: int
    shift: TimeWindow
    speed_kmh: float
    cost_per_km: float = 1.0
    skills: frozenset[str] = frozenset()
    driver: str = ""
    unavailable_from: int | None = None
    max_route_duration_s: int | None = None
    fixed_cost: float = 0.0
    delayed_until: int | None = None  # reported delay: no new work starts before this time

    def __post_init__(self) -> None:
        _check_id("vehicle", self.id)
        _check_id("depot", self.depot_id)
        _require(
            isinstance(self.capacity, int) and 0 < self.capacity <= MAX_UNITS,
            f"vehicle {self.id}: capacity must be a positive whole number (at most {MAX_UNITS} parcels), got {self.capacity!r}",
        )
        _require(
            isinstance(self.speed_kmh, int | float) and math.isfinite(self.speed_kmh) and 0 < self.speed_kmh <= 200,
            f"vehicle {self.id}: speed must be between 0 and 200 km/h, got {self.speed_kmh!r}",
        )
        _require(
            isinstance(self.cost_per_km, int | float) and math.isfinite(self.cost_per_km) and self.cost_per_km >= 0,
            f"vehicle {self.id}: cost per km must be zero or more, got {self.cost_per_km!r}",
        )
        _require(self.cost_per_km <= 1e6, f"vehicle {self.id}: cost per km must be at most 1000000, got {self.cost_per_km!r}")
        _require(
            isinstance(self.fixed_cost, int | float) and math.isfinite(self.fixed_cost) and 0 <= self.fixed_cost <= 1e9,
            f"vehicle {self.id}: fixed cost must be between 0 and 1e9, got {self.fixed_cost!r}",
        )
        if self.max_route_duration_s is not None:
            _require(0 < self.max_route_duration_s <= MAX_ROUTE_S, f"vehicle {self.id}: maximum route duration must be positive and at most 7 days")
        for what, at in (("unavailable from", self.unavailable_from), ("delayed until", self.delayed_until)):
            if at is not None:
                _check_time(f"vehicle {self.id}: {what}", at)
        for s in self.skills:
            _require(s.strip() != "" and s == s.strip(), f"vehicle {self.id}: skill names must be non-empty words, got {s!r}")

    @property
    def available(self) -> bool:
        """False once the vehicle has been reported unavailable (from some time on)."""
        return self.unavailable_from is None


@dataclass(frozen=True, slots=True)
class Order:
    """A customer order: a pickup or a delivery, or one half of a pickup-and-delivery pair.

    ``pair_id`` links a pickup to the delivery of the same goods (each names the other); both must
    then be served by one vehicle, pickup first.
    """

    id: str
    kind: OrderKind
    location: Location
    demand: int
    service_s: int = 0
    windows: tuple[TimeWindow, ...] = ()
    priority: Priority = Priority.NORMAL
    required_skill: str | None = None
    customer: str = ""
    notes: str = ""
    pair_id: str | None = None
    cancelled: bool = False
    pinned_vehicle: str | None = None  # a dispatcher's pin or manual move: only this vehicle may serve it

    def __post_init__(self) -> None:
        _check_id("order", self.id)
        _require(isinstance(self.kind, OrderKind), f"order {self.id}: kind must be pickup or delivery, got {self.kind!r}")
        _require(
            isinstance(self.demand, int) and 0 <= self.demand <= MAX_UNITS,
            f"order {self.id}: demand must be a whole number of parcels, zero or more (at most {MAX_UNITS}), got {self.demand!r}",
        )
        _require(
            isinstance(self.service_s, int) and 0 <= self.service_s <= MAX_SERVICE_S,
            f"order {self.id}: service time must be zero or more seconds (at most {MAX_SERVICE_S}, a day), got {self.service_s!r}",
        )
        starts = [w.start for w in self.windows]
        _require(starts == sorted(starts), f"order {self.id}: time windows must be in time order")
        for a, b in zip(self.windows, self.windows[1:], strict=False):
            _require(a.end < b.start, f"order {self.id}: time windows overlap")
        if self.required_skill is not None:
            _require(self.required_skill.strip() != "", f"order {self.id}: required skill must be a word or empty")
        if self.pair_id is not None:
            _require(self.pair_id != self.id, f"order {self.id}: an order cannot be paired with itself")


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One day's order volume for one series (region, courier, ...)."""

    date: str
    series: str
    volume: int

    def __post_init__(self) -> None:
        _require(0 <= self.volume <= MAX_VOLUME, f"history {self.series} {self.date}: volume must be zero or more (at most {MAX_VOLUME}), got {self.volume}")


@dataclass(frozen=True, slots=True)
class World:
    """One operating day: depots, vehicles, orders (and optional demand history)."""

    name: str
    date: str
    utc_offset_s: int
    depots: tuple[Depot, ...]
    vehicles: tuple[Vehicle, ...]
    orders: tuple[Order, ...]
    history: tuple[HistoryRow, ...] = ()
    city: str = ""
    meta: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(self.name.strip() != "", "world name must not be empty")
        _require(self.date == "" or "1970-01-01" <= self.date < "2200-01-01", f"world date must lie between 1970 and 2199, got {self.date!r}")
        for kind, items in (("depot", self.depots), ("vehicle", self.vehicles), ("order", self.orders)):
            seen: set[str] = set()
            for it in items:
                _require(it.id not in seen, f"duplicate {kind} id {it.id!r}")
                seen.add(it.id)
        depots = {d.id for d in self.depots}
        for v in self.vehicles:
            _require(v.depot_id in depots, f"vehicle {v.id}: unknown depot {v.depot_id!r}")
        skills = {s for v in self.vehicles for s in v.skills}
        orders = {o.id: o for o in self.orders}
        vehicles = {v.id for v in self.vehicles}
        for o in self.orders:
            if o.pinned_vehicle is not None:
                _require(o.pinned_vehicle in vehicles, f"order {o.id}: pinned to unknown vehicle {o.pinned_vehicle!r}")
            if o.required_skill is not None:
                _require(o.required_skill in skills, f"order {o.id}: no vehicle has skill {o.required_skill!r}")
            if o.pair_id is not None:
                other = orders.get(o.pair_id)
                _require(other is not None, f"order {o.id}: paired order {o.pair_id!r} does not exist")
                assert other is not None
                _require(other.pair_id == o.id, f"order {o.id}: paired order {o.pair_id} does not name it back")
                _require(other.kind != o.kind, f"order {o.id}: a pair needs one pickup and one delivery")

    def order(self, order_id: str) -> Order:
        """The order with this id (raises :class:`~copilot.core.errors.NotFound`)."""
        for o in self.orders:
            if o.id == order_id:
                return o
        raise NotFound("order", order_id, [o.id for o in self.orders])

    def vehicle(self, vehicle_id: str) -> Vehicle:
        """The vehicle with this id (raises :class:`~copilot.core.errors.NotFound`)."""
        for v in self.vehicles:
            if v.id == vehicle_id:
                return v
        raise NotFound("vehicle", vehicle_id, [v.id for v in self.vehicles])

    def depot(self, depot_id: str) -> Depot:
        """The depot with this id (raises :class:`~copilot.core.errors.NotFound`)."""
        for d in self.depots:
            if d.id == depot_id:
                return d
        raise NotFound("depot", depot_id, [d.id for d in self.depots])

    def active_orders(self) -> tuple[Order, ...]:
        """Orders that are not cancelled."""
        return tuple(o for o in self.orders if not o.cancelled)


@dataclass(frozen=True, slots=True)
class Visit:
    """A planned stop: arrival, service start and departure (epoch s) and the load after service."""

    order_id: str
    arrival: int
    start: int
    departure: int
    load_after: int

    def __post_init__(self) -> None:
        _require(self.arrival <= self.start <= self.departure, f"visit {self.order_id}: times must satisfy arrival <= start <= departure")


@dataclass(frozen=True, slots=True)
class Route:
    """One vehicle's tour: leaves its depot at ``start``, visits in order, back at ``end``."""

    vehicle_id: str
    start: int
    end: int
    visits: tuple[Visit, ...]
    distance_m: int
    start_load: int = 0

    def __post_init__(self) -> None:
        _require(self.end >= self.start, f"route of {self.vehicle_id}: ends before it starts")
        _require(self.distance_m >= 0, f"route of {self.vehicle_id}: negative distance")

    @property
    def order_ids(self) -> tuple[str, ...]:
        """The visited order ids in route order."""
        return tuple(v.order_id for v in self.visits)


@dataclass(frozen=True, slots=True)
class Unassigned:
    """An order left out of a plan, with the reason in words."""

    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """A plan for one world: routes, unassigned orders, status and provenance."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...] = ()
    status: PlanStatus = PlanStatus.DRAFT
    id: int | None = None
    solver: str = ""
    clock: int | None = None
    created_at: int | None = None
    note: str = ""

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for r in self.routes:
            for v in r.visits:
                _require(v.order_id not in seen, f"plan visits order {v.order_id} more than once")
                seen.add(v.order_id)
        for u in self.unassigned:
            _require(u.order_id not in seen, f"order {u.order_id} is both routed and unassigned")
        vehicles = [r.vehicle_id for r in self.routes]
        _require(len(vehicles) == len(set(vehicles)), "plan has two routes for one vehicle")

    def route_of(self, order_id: str) -> Route | None:
        """The route that visits the order, or None."""
        for r in self.routes:
            if order_id in r.order_ids:
                return r
        return None

    def orders_of_vehicle(self, vehicle_id: str) -> tuple[str, ...]:
        """The order ids on a vehicle's route, in order (empty when it has none)."""
        for r in self.routes:
            if r.vehicle_id == vehicle_id:
                return r.order_ids
        return ()

    def assigned_ids(self) -> set[str]:
        """Ids of every routed order."""
        return {v.order_id for r in self.routes for v in r.visits}

    @property
    def distance_m(self) -> int:
        """Total planned distance in metres."""
        return sum(r.distance_m for r in self.routes)

    @property
    def vehicles_used(self) -> int:
        """Routes with at least one visit."""
        return sum(1 for r in self.routes if r.visits)


_T = TypeVar("_T", Depot, Vehicle, Order)


def index_by_id(items: Iterable[_T]) -> dict[str, _T]:
    """Map items by their ``id``."""
    return {it.id: it for it in items}
