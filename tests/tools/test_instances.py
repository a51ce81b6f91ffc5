"""Benchmark readers: counts, scaling, and that ``cost()`` reproduces each set's published BKS value."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import pytest

from copilot.core.errors import InputError
from copilot.core.routing import Objective, route_distance
from tools.instances import BenchmarkInstance, instance_name, load_bks, read_instance, read_solution

DATA = Path(__file__).resolve().parents[1] / "data" / "instances"


def _stop_routes(inst: BenchmarkInstance, node_routes: list[list[int]]) -> list[list[int]]:
    stop_of = {n: i for i, n in enumerate(inst.node_of_stop)}
    return [[stop_of[n] for n in r] for r in node_routes]


def _assert_partition(inst: BenchmarkInstance, node_routes: list[list[int]]) -> None:
    visited = sorted(n for r in node_routes for n in r)
    assert visited == list(range(1, inst.num_nodes))


# ---------------------------------------------------------------------------------------------- Solomon


def test_solomon_c101() -> None:
    inst = read_instance(DATA / "solomon" / "C101.txt", "solomon")
    p = inst.problem
    assert (inst.name, inst.fmt, p.name) == ("C101", "solomon", "C101")
    assert len(p.stops) == 100 and inst.num_nodes == 101 and len(p.distance) == 101
    assert inst.node_of_stop == tuple(range(1, 101))
    assert [s.location for s in p.stops] == list(range(1, 101))
    assert len(p.vehicles) == 25 and {v.capacity for v in p.vehicles} == {200}
    v = p.vehicles[0]
    assert (v.start, v.end, v.ready, v.latest_end, v.fixed_cost) == (0, 0, 0, 12360, 0)
    assert p.objective is Objective.DISTANCE and p.vehicle_cost == 0 and not p.pairs
    # customer 1: 45 68 demand 10, ready 912, due 967, service 90
    s = p.stops[0]
    assert (s.delivery, s.pickup, s.windows, s.service, s.penalty) == (10, 0, ((9120, 9670),), 900, None)
    assert inst.coords[0] == (40, 50) and inst.coords[1] == (45, 68)
    # depot (40,50) -> 1 (45,68): sqrt(349) = 18.681..., truncated to 18.6 -> 186 tenths
    assert p.distance[0][1] == p.distance[1][0] == 186
    assert p.durations == (p.distance,)
    assert inst.cost([[1]]) == pytest.approx(37.2)
    # 1 -> 2: (45,68) -> (45,70) = 2.0 exactly; 2 -> depot: sqrt(25 + 400) = 20.615... -> 20.6
    assert inst.cost([[1, 2]]) == pytest.approx(18.6 + 2.0 + 20.6)
    assert inst.cost([[1], [], [2]]) == pytest.approx(37.2 + 2 * 20.6)
    assert route_distance(p, 0, [0, 1]) == 186 + 20 + 206  # matrix is the cost in tenths


def test_solomon_bks() -> None:
    assert load_bks(DATA / "solomon") == {"C101": (10, 827.3)}


# ---------------------------------------------------------------------------------------------- X / VRPLIB


def test_vrplib_x_n101_k25_reproduces_sol_cost() -> None:
    inst = read_instance(DATA / "cvrp_x" / "X-n101-k25.vrp", "vrplib")
    p = inst.problem
    assert inst.name == "X-n101-k25" and p.name == "X-n101-k25"
    assert len(p.stops) == 100 and len(p.vehicles) == 100 and {v.capacity for v in p.vehicles} == {206}
    assert all(not s.windows and s.pickup == 0 for s in p.stops)
    assert inst.coords[0] == (365, 689)  # node id 1 in the file is the depot, node 0 here
    assert p.stops[0].delivery == 38 and p.stops[0].location == 1
    routes, stated = read_solution(DATA / "cvrp_x" / "X-n101-k25.sol")
    assert stated == 27591 and len(routes) == 26
    _assert_partition(inst, routes)
    assert inst.cost(routes) == 27591
    assert load_bks(DATA / "cvrp_x") == {"X-n101-k25": (26, 27591.0)}
    # the integer matrix gives the same value, route by route
    stop_routes = _stop_routes(inst, routes)
    assert sum(route_distance(p, 0, r) for r in stop_routes) == 27591
    for r in stop_routes:
        assert sum(p.stops[i].delivery for i in r) <= 206
    assert inst.node_routes(stop_routes) == routes


# ---------------------------------------------------------------------------------------------- Li & Lim


def test_lilim_lc101_reproduces_bks() -> None:
    inst = read_instance(DATA / "li_lim_100" / "lc101.txt", "lilim")
    p = inst.problem
    assert inst.name == "lc101" and len(p.stops) == 106 and len(p.pairs) == 53
    assert len(p.vehicles) == 25 and {v.capacity for v in p.vehicles} == {200}
    assert p.objective is Objective.VEHICLES_THEN_DISTANCE and p.vehicle_cost == 10**9
    assert p.vehicle_cost == 10**9 and {v.fixed_cost for v in p.vehicles} == {0}
    assert p.vehicles[0].latest_end == 1236 * 1000
    # row 1 is a delivery (demand -10) of pickup 11; row 3 a pickup (demand 10) of delivery 75
    assert p.stops[0].delivery == 10 and p.stops[0].pickup == 0 and p.stops[0].windows == ((912000, 967000),)
    assert p.stops[2].pickup == 10 and p.stops[2].service == 90000
    pairs = {(pr.pickup, pr.delivery) for pr in p.pairs}
    assert (10, 0) in pairs and (2, 74) in pairs
    for pr in p.pairs:
        assert p.stops[pr.pickup].pickup == p.stops[pr.delivery].delivery > 0
    # scaled matrices: distance rounds, travel time rounds up
    e = math.dist(inst.coords[0], inst.coords[1])
    assert p.distance[0][1] == round(1000 * e) and p.durations[0][0][1] == math.ceil(1000 * e)
    routes, stated = read_solution(DATA / "li_lim_100" / "solutions" / "lc101.10_828.9369.txt")
    assert stated is None and len(routes) == 10
    _assert_partition(inst, routes)
    assert round(inst.cost(routes), 4) == 828.9369
    assert load_bks(DATA / "li_lim_100") == {"lc101": (10, 828.9369)}


# ---------------------------------------------------------------------------------------------- Sartori


def test_sartori_bar_n100_1_reproduces_bks() -> None:
    path = DATA / "sartori_pdptw_osrm" / "instances" / "bar-n100-1.txt.gz"
    inst = read_instance(path, "sartori")
    p = inst.problem
    assert inst.name == "bar-n100-1" and instance_name(path) == "bar-n100-1"
    assert len(p.stops) == 100 and len(p.pairs) == 50 and len(p.vehicles) == 50
    assert all(pr.delivery == pr.pickup + 50 for pr in p.pairs)
    assert {v.capacity for v in p.vehicles} == {300} and p.vehicles[0].latest_end == 240
    assert p.objective is Objective.VEHICLES_THEN_DISTANCE and p.vehicle_cost == 10**9
    # node 1: 41.40052560 2.11713440 22 129 240 5 0 51
    assert p.stops[0].pickup == 22 and p.stops[0].windows == ((129, 240),) and p.stops[0].service == 5
    assert p.stops[50].delivery == 22 and p.stops[50].pickup == 0
    assert inst.coords[1] == (41.4005256, 2.1171344)
    assert p.distance[0][1] == 2 and p.durations == (p.distance,)
    assert p.distance[0] != tuple(row[0] for row in p.distance)  # asymmetric
    routes, _ = read_solution(DATA / "sartori_pdptw_osrm" / "bks_solutions" / "bar-n100-1.6_732.txt")
    assert len(routes) == 6
    _assert_partition(inst, routes)
    assert inst.cost(routes) == 732
    assert load_bks(DATA / "sartori_pdptw_osrm") == {"bar-n100-1": (6, 732.0)}


# ---------------------------------------------------------------------------------------------- errors


def test_malformed_files_name_file_and_line(tmp_path: Path) -> None:
    lines = (DATA / "solomon" / "C101.txt").read_text().splitlines()
    lines[12] = "    3      42         66         10         65"  # 5 columns instead of 7
    bad = tmp_path / "C101.txt"
    bad.write_text("\n".join(lines))
    with pytest.raises(InputError, match=r"C101\.txt:13: expected 7 columns"):
        read_instance(bad, "solomon")

    lilim = (DATA / "li_lim_100" / "lc101.txt").read_text().splitlines()
    lilim[4] = lilim[4].replace("\t75", "\t76")  # pickup 3 names the wrong delivery
    bad = tmp_path / "lc101.txt"
    bad.write_text("\n".join(lilim))
    with pytest.raises(InputError, match=r"lc101\.txt:\d+: delivery 76 does not point back"):
        read_instance(bad, "lilim")

    text = gzip.decompress((DATA / "sartori_pdptw_osrm" / "instances" / "bar-n100-1.txt.gz").read_bytes()).decode()
    cut = tmp_path / "bar-n100-1.txt.gz"
    cut.write_bytes(gzip.compress(text[: len(text) // 2].encode()))
    with pytest.raises(InputError, match=r"bar-n100-1\.txt\.gz"):
        read_instance(cut, "sartori")

    vrp = (DATA / "cvrp_x" / "X-n101-k25.vrp").read_text().replace("EUC_2D", "GEO")
    bad = tmp_path / "x.vrp"
    bad.write_text(vrp)
    with pytest.raises(InputError, match=r"x\.vrp: EDGE_WEIGHT_TYPE GEO"):
        read_instance(bad, "vrplib")

    with pytest.raises(InputError, match="unknown benchmark format"):
        read_instance(bad, "tsplib")
    with pytest.raises(InputError, match="cannot read"):
        read_instance(tmp_path / "missing.txt", "solomon")


def test_gzip_any_format(tmp_path: Path) -> None:
    gz = tmp_path / "C101.txt.gz"
    gz.write_bytes(gzip.compress((DATA / "solomon" / "C101.txt").read_bytes()))
    inst = read_instance(gz, "solomon")
    assert inst.name == "C101" and len(inst.problem.stops) == 100


def test_cost_rejects_unknown_nodes() -> None:
    inst = read_instance(DATA / "solomon" / "C101.txt", "solomon")
    with pytest.raises(InputError, match="not a customer"):
        inst.cost([[0, 1]])
    with pytest.raises(InputError, match="not a customer"):
        inst.cost([[101]])
