"""Scenario scripts: YAML validation, the report equals the what-if tool, process pool, outputs, Ray, the CLI."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.apps.cli import main
from copilot.apps.scenario import BASE, ForecastDaySpec, Planning, Scenario, ScenarioFileError, ScenarioReport, Variant, resolve_scenario, run_scenarios, write_report
from copilot.core.domain import PlanStatus, World
from copilot.core.errors import InputError
from solvers.auto import AutoSolver
from solvers.checker import PlanChecker
from tools.context import ToolContext, parse_user_time
from tools.forecast_day import ForecastDayRequest
from tools.planning import PlanningDeps
from tools.sql import SqlStore
from tools.whatif import AddVehicles, ChangeShift, RemoveVehicles, ResampleOrders, ScaleDemand, WhatIfRequest, apply_changes, what_if
from tools.world_io import read_world

DATA = Path(__file__).resolve().parents[1] / "data"
HZ = DATA / "worlds" / "hangzhou-0501"
TINY = DATA / "worlds" / "tiny"
REGIONS = DATA / "lade_jilin" / "daily_volume_by_region.csv"
BUDGET = {"iterations": 20, "time_limit_s": 30, "seed": 0}  # a work budget: repeatable plans in a fraction of a second


def write(tmp_path: Path, text: str, name: str = "sc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioFileError) as info:
        Scenario.from_yaml(path)
    assert str(path) in str(info.value)
    return info.value.problems


# ------------------------------------------------------------------------------------------- parsing


def test_a_valid_file_with_short_and_full_forms(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
world: {HZ}
planning: {{iterations: 20, seed: 3}}
variants:
  - name: more
    changes: [{{scale_demand: {{factor: 1.2}}}}, {{kind: add_vehicles, count: 2, like: HZ-V1}}]
  - name: breakdown
    at: 9:30  # unquoted: YAML 1.1 reads the number 570 (base 60), taken back as 09:30
    changes: [{{remove_vehicles: {{vehicle_ids: [HZ-V3]}}}}, {{change_shift: {{end: 15:00}}}}]
  - name: forecast
    changes: [{{forecast_day: {{history: h.csv, history_end: 2022-09-30, series: ["31"]}}}}]
""",
    )
    sc = Scenario.from_yaml(path)
    assert sc.name == "sc" and sc.planning.iterations == 20 and sc.planning.seed == 3
    assert sc.variants[0].changes == [ScaleDemand(factor=1.2), AddVehicles(count=2, like="HZ-V1")]
    assert sc.variants[1].at == "09:30" and sc.variants[1].changes[1] == ChangeShift(end="15:00")
    fc = sc.variants[2].changes[0]
    assert isinstance(fc, ForecastDaySpec) and fc.history_end == "2022-09-30" and fc.request() == ForecastDayRequest(series=["31"])
    assert sc.relative("h.csv") == tmp_path / "h.csv"
    assert sc.planning.settings().iterations == 20


def test_yaml_errors_name_the_file_the_variant_and_the_problem(tmp_path: Path) -> None:
    bad_yaml = problems_of(write(tmp_path, "world: x\nvariants: [\n  - name: a\n"))
    assert bad_yaml[0].startswith("not valid YAML at line")
    assert problems_of(write(tmp_path, "")) == ["the file is empty; expected world, planning and variants"]
    assert problems_of(write(tmp_path, "- just a list\n")) == ["expected a mapping with world, planning and variants, got list"]
    text = """
world: somewhere
planing: {iterations: 5}
planning: {iterations: 0}
variants:
  - name: more-demand
    changes: [{scale_demand: {factor: -1}}]
  - name: vans
    changes: [{add_vehicles: {count: 2}}]
  - name: typo
    changes: [{scale_demnd: {factor: 2}}]
  - name: late
    at: "25:00"
    changes: [{delay_vehicle: {vehicle_id: HZ-V1, minutes: 30}}]
  - name: typo-field
    changes: [{delay_vehicle: {vehicle_id: HZ-V1, minutes: 30, extra: 1}}]
  - name: vans
    changes: [{fleet_size: {count: 3}}]
  - name: base
    changes: [{fleet_size: {count: 2}}]
  - name: beam
    changes: [{kind: teleport}]
"""
    found = problems_of(write(tmp_path, text))
    joined = "\n".join(found)
    assert "planing: is not a known field" in found
    assert "planning.iterations: Input should be greater than or equal to 1" in found
    assert "variant 'more-demand' (variants[0]): changes[0] (scale_demand): factor: Input should be greater than 0" in found
    assert "variant 'vans' (variants[1]): changes[0] (add_vehicles): like: is required" in found
    assert "variant 'typo' (variants[2]): changes[0]: unknown change 'scale_demnd'; expected one of add_vehicles" in joined
    assert "variant 'late' (variants[3]): at: expected a time of day HH:MM like 11:00, got '25:00'" in found
    assert "variant 'typo-field' (variants[4]): changes[0] (delay_vehicle): unknown field(s) extra; delay_vehicle takes vehicle_id, minutes" in found
    assert "variant 'base' (variants[6]): name: 'base' is the unchanged world's row; give the variant another name" in found
    assert "variant 'beam' (variants[7]): changes[0]: unknown change kind 'teleport'" in joined
    no_variants = problems_of(write(tmp_path, "world: w\nvariants: []\n"))
    assert no_variants == ["variants: List should have at least 1 item after validation, not 0"]
    twice = problems_of(write(tmp_path, "world: w\nvariants:\n  - {name: a, changes: [{fleet_size: {count: 2}}]}\n  - {name: a, changes: [{fleet_size: {count: 3}}]}\n"))
    assert twice == ["two variants are named 'a'; names must be unique"]


def test_ids_and_worlds_are_checked_before_anything_is_solved(tmp_path: Path) -> None:
    path = write(tmp_path, "world: ../nowhere/world\nvariants: [{name: a, changes: [{fleet_size: {count: 2}}]}]\n")
    with pytest.raises(InputError, match=r"world '../nowhere/world': no such folder"):
        run_scenarios(Scenario.from_yaml(path), "sequential")
    path = write(
        tmp_path,
        f"world: {TINY}\nvariants:\n  - {{name: a, changes: [{{remove_vehicles: {{vehicle_ids: [V9]}}}}]}}\n  - {{name: b, changes: [{{fleet_size: {{count: 1}}}}]}}\n",
    )
    with pytest.raises(ScenarioFileError) as info:
        run_scenarios(Scenario.from_yaml(path), "sequential")
    assert info.value.problems == ["variant 'a': unknown vehicle id 'V9' (known vehicle ids include: V1, V2, V3)"]


def test_resample_orders_drops_or_adds_deterministically(hz_world: World, hz_report: ScenarioReport) -> None:
    fewer, words = apply_changes(hz_world, [ResampleOrders(count=100, seed=2)])
    assert len(fewer.active_orders()) == 100 and "16 of 116 active order(s) dropped" in words[0]
    assert apply_changes(hz_world, [ResampleOrders(count=100, seed=2)])[0] == fewer
    more, words = apply_changes(hz_world, [ResampleOrders(count=130, seed=2, jitter_m=200)])
    new = [o for o in more.orders if o.id.startswith("WHATIF-O")]
    assert len(more.active_orders()) == 130 and len(new) == 14 and "116 + 14 new order(s) within 200 m" in words[0]
    originals = {(o.windows, o.demand) for o in hz_world.orders}
    assert all((o.windows, o.demand) in originals and o.pinned_vehicle is None and o.notes == "" for o in new)
    _, base_plan = hz_report.plan(BASE)
    with pytest.raises(InputError, match=r"resample_orders: \d+ order\(s\) must stay \(started, under way"):
        apply_changes(hz_world, [ResampleOrders(count=0)], clock=parse_user_time("12:00", hz_world), committed=base_plan)


# --------------------------------------------------------------------------- the same numbers as the tools


@pytest.fixture(scope="module")
def hz_world() -> World:
    return read_world(HZ)


@pytest.fixture(scope="module")
def hz_report() -> ScenarioReport:
    """hangzhou-0501 with three variants, planned sequentially on a small work budget."""
    sc = Scenario(
        name="hz-equal",
        world=HZ,
        planning=BUDGET,
        variants=[
            Variant(name="peak", changes=[ScaleDemand(factor=1.2), AddVehicles(count=2, like="HZ-V1")]),
            Variant(name="breakdown-11h", at="11:00", changes=[RemoveVehicles(vehicle_ids=["HZ-V3"])]),
            Variant(name="orders-90", changes=[ResampleOrders(count=90, seed=1)]),
        ],
    )
    return run_scenarios(sc, "sequential")


@pytest.fixture
def hz_ctx(tmp_path: Path, hz_world: World) -> Iterator[ToolContext]:
    store = SqlStore(f"sqlite:///{tmp_path / 'tools.sqlite3'}")
    store.upgrade()
    store.import_world(hz_world)
    settings = Planning.model_validate(BUDGET).settings()
    ctx = ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name=hz_world.name, settings=settings)
    try:
        yield ctx
    finally:
        store.close()


def test_report_rows_equal_the_what_if_tool(hz_report: ScenarioReport, hz_ctx: ToolContext) -> None:
    assert hz_report.ok and [r.variant for r in hz_report.rows] == [BASE, "peak", "breakdown-11h", "orders-90"]
    for name, changes in (("peak", [ScaleDemand(factor=1.2), AddVehicles(count=2, like="HZ-V1")]), ("orders-90", [ResampleOrders(count=90, seed=1)])):
        result = what_if(hz_ctx, WhatIfRequest(changes=changes))
        row = hz_report.row(name)
        assert result.baseline_source == "fresh_plan"
        assert row.kpis == result.scenario
        assert hz_report.row(BASE).kpis == result.baseline
        assert row.deltas == result.deltas
        assert row.changes == result.changes
        assert [u.order_id for u in row.unassigned] == [u.order_id for u in result.unassigned]
    assert hz_report.row("orders-90").kpis is not None and hz_report.row("orders-90").kpis.order_count == 90  # type: ignore[union-attr]

    # a breakdown at 11:00: the base plan dispatched, the clock at 11:00, the what-if re-plans from there
    world, base_plan = hz_report.plan(BASE)
    plan_id = hz_ctx.store.save_plan(world.name, base_plan, PlanStatus.DRAFT)
    hz_ctx.store.commit_plan(world.name, plan_id)
    hz_ctx.store.set_clock(world.name, parse_user_time("11:00", world))
    result = what_if(hz_ctx, WhatIfRequest(changes=[RemoveVehicles(vehicle_ids=["HZ-V3"])]))
    row = hz_report.row("breakdown-11h")
    assert result.baseline_source == "committed" and result.clock == "11:00"
    assert row.kpis == result.scenario and row.kpis.vehicles_available == 5  # type: ignore[union-attr]
    assert row.changes == result.changes == ["removed HZ-V3 from 11:00 (work already started stays done)"]
    assert hz_report.row(BASE).kpis == result.baseline.model_copy(update={"plan_id": None, "plan_status": None})


# ------------------------------------------------------------------------- process pool, outputs, CLI


def test_process_pool_end_to_end_with_a_forecast_day_writes_every_output(tmp_path: Path, hz_report: ScenarioReport) -> None:
    path = write(
        tmp_path,
        f"""
name: hz-pool
world: {HZ}
planning: {{iterations: 20, time_limit_s: 30}}
variants:
  - name: peak
    changes:
      - scale_demand: {{factor: 1.2}}
      - add_vehicles: {{count: 2, like: HZ-V1}}
  - name: breakdown-11h
    at: "11:00"
    changes: [{{remove_vehicles: {{vehicle_ids: [HZ-V3]}}}}]
  - name: forecast-day
    changes:
      - forecast_day: {{history: {REGIONS}, key: region_id, value: deliveries, series: ["31"], history_end: "2022-09-30", mode: relative}}
""",
    )
    seen: list[str] = []
    report = run_scenarios(Scenario.from_yaml(path), "process", 2, progress=lambda row: seen.append(row.variant), maps_dir=tmp_path / "out" / "maps")
    assert report.ok and report.run.executor == "process" and report.run.workers == 2
    assert sorted(seen) == sorted([BASE, "peak", "breakdown-11h", "forecast-day"])
    # the pool's numbers are the sequential run's numbers (same budget, same seed)
    for name in (BASE, "peak", "breakdown-11h"):
        assert report.row(name).kpis == hz_report.row(name).kpis
    (fc,) = report.forecasts["forecast-day"]
    assert fc.series == ["31"] and fc.day == "2022-10-01" and fc.mode == "relative" and fc.reference is not None
    assert fc.count == round(116 * fc.forecast / fc.reference) and fc.change == ResampleOrders(count=fc.count)
    assert report.row("forecast-day").kpis.order_count == fc.count  # type: ignore[union-attr]

    out = tmp_path / "out"
    files = write_report(report, out)
    names = {p.relative_to(out).as_posix() for p in files}
    expected = {"comparison.csv", "comparison.md", "report.json", "plots/distance_km.png", "plots/unassigned.png", "plots/vehicles_used.png", "plots/service.png"}
    assert expected <= names
    for v in (BASE, "peak", "breakdown-11h", "forecast-day"):
        assert {f"maps/{v}.png", f"maps/{v}.html"} <= names
    for p in files:
        assert p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader((out / "comparison.csv").read_text(encoding="utf-8").splitlines()))
    assert [r["variant"] for r in rows] == [BASE, "peak", "breakdown-11h", "forecast-day"]
    peak = report.row("peak")
    assert float(rows[1]["total_distance_km"]) == peak.kpis.total_distance_km  # type: ignore[union-attr]
    assert float(rows[1]["d_total_distance_km"]) == peak.deltas.total_distance_km  # type: ignore[union-attr]
    assert int(rows[1]["unassigned_count"]) == peak.kpis.unassigned_count and rows[2]["at"] == "11:00"  # type: ignore[union-attr]
    md = (out / "comparison.md").read_text(encoding="utf-8")
    assert "| variant | at | vehicles used | km | unassigned | on-time | utilisation | Δ vehicles | Δ km |" in md
    assert f"| peak |  | {peak.kpis.vehicles_used} | {peak.kpis.total_distance_km:.1f} |" in md  # type: ignore[union-attr]
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert doc["rows"][1]["kpis"] == peak.kpis.model_dump()  # type: ignore[union-attr]
    assert doc["forecasts"]["forecast-day"][0]["count"] == fc.count and doc["planning"]["iterations"] == 20
    assert doc["rows"][1]["routes"] and doc["scenario"]["variants"][2]["changes"][0]["kind"] == "forecast_day"
    assert "<svg" in (out / "maps" / "peak.html").read_text(encoding="utf-8")

    resolved, _ = resolve_scenario(Scenario.from_yaml(path))
    assert resolved.variants[2].changes == [fc.change]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOGISTICS_COPILOT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LOGISTICS_COPILOT_DB_URL", raising=False)
    return tmp_path


def test_cli_run_check_and_errors(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path,
        "world: tiny\nplanning: {iterations: 20}\nvariants:\n  - {name: more, changes: [{scale_demand: {factor: 1.5}}]}\n"
        "  - {name: late, at: '10:00', changes: [{delay_vehicle: {vehicle_id: V2, minutes: 30}}]}\n",
    )
    assert main(["scenario", "check", str(path), "--world", str(TINY)]) == 0
    assert "valid; 2 variant(s)" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["scenario", "run", str(path), "--world", str(TINY), "--out", str(out), "--executor", "sequential", "--quiet", "--iterations", "10"]) == 0
    text = capsys.readouterr()
    assert "base " in text.out and "more " in text.out and "late " in text.out
    assert "3 plans in" in text.err
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert doc["planning"]["iterations"] == 10 and [r["variant"] for r in doc["rows"]] == [BASE, "more", "late"]
    assert (out / "maps" / "late.png").exists() and (out / "comparison.md").exists()
    # the default executor (a process pool) with its progress bar on stderr
    assert main(["scenario", "run", str(path), "--world", str(TINY), "--out", str(tmp_path / "pool"), "--workers", "2", "--no-maps"]) == 0
    text = capsys.readouterr()
    assert "scenario sc" in text.err and "3/3" in text.err and "(process, 2 worker(s))" in text.err
    assert not (tmp_path / "pool" / "maps").exists() and (tmp_path / "pool" / "plots" / "distance_km.png").exists()
    # a stored world's name is not known here: the error says what was looked for
    assert main(["scenario", "check", str(path)]) == 2
    assert "world 'tiny': not a folder" in capsys.readouterr().err
    bad = write(tmp_path, "world: tiny\nvariants: [{name: x, changes: [{scale_demand: {factor: 0}}]}]\n", "bad.yaml")
    assert main(["scenario", "run", str(bad), "--out", str(out)]) == 2
    assert "variant 'x' (variants[0]): changes[0] (scale_demand): factor: Input should be greater than 0" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ Ray


def test_ray_executor_on_a_local_ray_instance(hz_report: ScenarioReport) -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        sc = Scenario(
            name="hz-ray",
            world=HZ,
            planning=BUDGET,
            variants=[
                Variant(name="peak", changes=[ScaleDemand(factor=1.2), AddVehicles(count=2, like="HZ-V1")]),
                Variant(name="breakdown-11h", at="11:00", changes=[RemoveVehicles(vehicle_ids=["HZ-V3"])]),
            ],
        )
        report = run_scenarios(sc, "ray")
        assert ray.is_initialized()  # a Ray the caller started is left running
    finally:
        ray.shutdown()
    assert report.ok and report.run.executor == "ray"
    for name in (BASE, "peak", "breakdown-11h"):
        assert report.row(name).kpis == hz_report.row(name).kpis
