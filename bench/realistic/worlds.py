"""Realistic worlds built from the real LaDe-P pickup slices (Chongqing, Hangzhou, Shanghai).

Every order keeps a real LaDe-P row's coordinates and promised window (clipped to the operating day);
what LaDe does not record is drawn from a seeded generator and stated here:

* **stops:** the regions nearest a randomly drawn region are taken until there are enough rows, then
  ``stops`` rows are drawn from them;
* **depots (1-3):** k-means centres of the drawn stops, each with a van fleet in proportion to its
  cluster;
* **orders:** a share become depot deliveries (same place and window) mixed with the pickups; parcels
  1-4; service 2-5 min; some high priority; some need the ``bulky`` or ``cold`` skill;
* **fleet:** about one van per ``stops_per_van`` stops, 40-70 parcels, 22-30 km/h, shifts 08:00-18:00
  with a share ending at 15:00; a share of the vans has each skill;
* **mid-day** (``midday=True``): the day is first planned by the project's engine for 5 s and committed,
  and the benchmark problem is the re-plan at 12:00 with the vans under way: work done is frozen, goods
  on board stay on their van, depot deliveries cannot join a van that has left.

A :class:`WorldSpec` names everything, so a world is reproducible from its spec alone.
"""

from __future__ import annotations

import calendar
import csv
import gzip
import math
import random
from dataclasses import dataclass, replace
from pathlib import Path

from copilot.core.domain import Depot, Location, Order, OrderKind, Plan, PlanStatus, Priority, TimeWindow, Vehicle, World

CITIES = {"Chongqing": ("cq", "2022-05-01"), "Hangzhou": ("hz", "2022-05-01"), "Shanghai": ("sh", "2022-06-07")}
UTC_OFFSET_S = 8 * 3600
DAY_START_H, DAY_END_H, NOON_H = 8, 18, 12


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """Everything a generated world depends on."""

    city: str
    stops: int
    depots: int
    seed: int
    midday: bool = False
    skills: bool = True
    delivery_share: float = 0.25
    high_share: float = 0.1
    stops_per_van: float = 24.0

    @property
    def name(self) -> str:
        tag = CITIES[self.city][0]
        return f"{tag}-{self.stops}-d{self.depots}{'-mid' if self.midday else ''}{'' if self.skills else '-noskill'}-s{self.seed}"


#: The benchmark's twelve worlds: all three cities, 100 to 1,000 stops, 1-3 depots, half of them mid-day.
STANDARD = (
    WorldSpec("Chongqing", 120, 1, 1, skills=False),
    WorldSpec("Hangzhou", 150, 1, 2, midday=True),
    WorldSpec("Shanghai", 200, 2, 3),
    WorldSpec("Chongqing", 250, 2, 4, midday=True),
    WorldSpec("Hangzhou", 300, 1, 5, skills=False),
    WorldSpec("Shanghai", 350, 3, 6, midday=True),
    WorldSpec("Chongqing", 450, 3, 7),
    WorldSpec("Hangzhou", 500, 2, 8, midday=True),
    WorldSpec("Shanghai", 600, 2, 9),
    WorldSpec("Chongqing", 700, 3, 10, midday=True),
    WorldSpec("Hangzhou", 850, 3, 11),
    WorldSpec("Shanghai", 1000, 3, 12, midday=True),
)


def read_rows(data: Path) -> dict[str, list[dict[str, str]]]:
    """LaDe-P rows per city from ``pickups.csv.gz`` (``data`` is that file or its folder)."""
    path = data / "pickups.csv.gz" if data.is_dir() else data
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    out: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        out.setdefault(r["city"], []).append(r)
    return out


def _epoch(date: str, hhmmss: str) -> int:
    y, m, d = (int(x) for x in date.split("-"))
    h, mi, s = (int(x) for x in hhmmss.split(":"))
    return calendar.timegm((y, m, d, h, mi, s)) - UTC_OFFSET_S


def _lade_time(date: str, stamp: str) -> int:
    """``MM-DD HH:MM:SS`` on the world's year (LaDe times have no year)."""
    day, clock = stamp.split(" ")
    return _epoch(f"{date[:4]}-{day}", clock)


def _kmeans(points: list[tuple[float, float]], k: int, rng: random.Random) -> tuple[list[tuple[float, float]], list[int]]:
    centres = rng.sample(points, k)
    label = [0] * len(points)
    for _ in range(25):
        label = [min(range(k), key=lambda c: (p[0] - centres[c][0]) ** 2 + (p[1] - centres[c][1]) ** 2) for p in points]
        for c in range(k):
            mine = [p for p, lab in zip(points, label, strict=True) if lab == c]
            if mine:
                centres[c] = (sum(p[0] for p in mine) / len(mine), sum(p[1] for p in mine) / len(mine))
    return centres, label


def _pick_rows(rows: list[dict[str, str]], n: int, rng: random.Random) -> list[dict[str, str]]:
    by_region: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_region.setdefault(r["region_id"], []).append(r)
    centre = {k: (sum(float(r["lat"]) for r in v) / len(v), sum(float(r["lng"]) for r in v) / len(v)) for k, v in by_region.items()}
    first = rng.choice(sorted(by_region))
    a = centre[first]
    chosen: list[dict[str, str]] = []
    for region in sorted(by_region, key=lambda k: (centre[k][0] - a[0]) ** 2 + (centre[k][1] - a[1]) ** 2):
        chosen.extend(by_region[region])
        if len(chosen) >= n:
            break
    if len(chosen) < n:
        raise ValueError(f"{rows[0]['city']} has {len(chosen)} rows, fewer than the {n} stops asked for")
    return rng.sample(chosen, n)


def build_world(spec: WorldSpec, rows_by_city: dict[str, list[dict[str, str]]]) -> World:
    """The world of ``spec`` (without the mid-day re-plan; see :func:`midday_state`)."""
    rng = random.Random(spec.seed * 7919 + spec.stops)
    tag, date = CITIES[spec.city]
    rows = _pick_rows(rows_by_city[spec.city], spec.stops, rng)
    day0, day1 = _epoch(date, f"{DAY_START_H:02d}:00:00"), _epoch(date, f"{DAY_END_H:02d}:00:00")
    points = [(float(r["lat"]), float(r["lng"])) for r in rows]
    centres, label = _kmeans(points, spec.depots, rng)
    depots = tuple(
        Depot(f"{tag.upper()}-D{c + 1}", f"{spec.city} station {c + 1}", Location(*centres[c]), TimeWindow(day0 - 1800, day1 + 3600))
        for c in range(spec.depots)
    )
    orders: list[Order] = []
    for i, r in enumerate(rows):
        start = max(day0, _lade_time(date, r["time_window_start"]))
        end = min(day1 - 600, _lade_time(date, r["time_window_end"]))
        if end - start < 3600:  # a window outside the day (or too short once clipped): one hour inside the day
            start = min(max(day0, start), day1 - 600 - 3600)
            end = start + 3600
        kind = OrderKind.DELIVERY if rng.random() < spec.delivery_share else OrderKind.PICKUP
        skill = None
        if spec.skills:
            u = rng.random()
            skill = "bulky" if u < 0.08 else "cold" if u < 0.13 else None
        orders.append(
            Order(
                id=f"{'D' if kind is OrderKind.DELIVERY else 'P'}{r['order_id']}-{i}",
                kind=kind,
                location=Location(float(r["lat"]), float(r["lng"])),
                demand=rng.choice((1, 1, 1, 2, 2, 3, 4)),
                service_s=60 * rng.randint(2, 5),
                windows=(TimeWindow(start, end),),
                priority=Priority.HIGH if rng.random() < spec.high_share else Priority.NORMAL,
                required_skill=skill,
            )
        )
    n_vans = max(spec.depots, math.ceil(spec.stops / spec.stops_per_van))
    share = [label.count(c) / len(label) for c in range(spec.depots)]
    per_depot = [max(1, round(n_vans * s)) for s in share]
    vehicles: list[Vehicle] = []
    for c, count in enumerate(per_depot):
        for _ in range(count):
            k = len(vehicles) + 1
            skills: set[str] = set()
            if spec.skills:
                if k % 3 == 1:
                    skills.add("bulky")
                if k % 4 == 2:
                    skills.add("cold")
            late = rng.random() < 0.25
            vehicles.append(
                Vehicle(
                    id=f"{tag.upper()}-V{k}",
                    depot_id=depots[c].id,
                    capacity=rng.choice((40, 50, 60, 70)),
                    shift=TimeWindow(day0, day1 - (3 * 3600 if late else 0)),
                    speed_kmh=float(rng.choice((22, 25, 28, 30))),
                    cost_per_km=1.0,
                    skills=frozenset(skills),
                )
            )
    return World(name=spec.name, date=date, utc_offset_s=UTC_OFFSET_S, depots=depots, vehicles=tuple(vehicles), orders=tuple(orders), city=spec.city)


def noon(world: World) -> int:
    """12:00 local on the world's day."""
    return _epoch(world.date, f"{NOON_H:02d}:00:00")


def committed(plan: Plan) -> Plan:
    """``plan`` as dispatched."""
    return replace(plan, status=PlanStatus.COMMITTED, id=1)
