"""Tests of tools.world_io: the partner CSV world format (read, write, located import errors)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from copilot.core.domain import Depot, HistoryRow, Location, Order, OrderKind, Priority, TimeWindow, Vehicle, World
from copilot.core.errors import ImportFailed, InputError
from copilot.core.units import parse_time
from tools.world_io import read_world, write_world

DATA = Path(__file__).resolve().parents[1] / "data"
WORLDS = DATA / "worlds"
BAD = DATA / "bad_worlds"
DEMO = Path(__file__).resolve().parents[2] / "copilot" / "apps" / "demo" / "hangzhou-0501"
BAD_KINDS = sorted(p.name for p in BAD.iterdir() if (p / "expected.txt").is_file())


def _tiny(tmp_path: Path, name: str = "tiny") -> Path:
    target = tmp_path / name
    shutil.copytree(WORLDS / "tiny", target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(directory: Path) -> list[str]:
    with pytest.raises(ImportFailed) as info:
        read_world(directory)
    return info.value.problems


# ------------------------------------------------------------------------------------ valid worlds


@pytest.mark.parametrize("directory", [WORLDS / "hangzhou-0501", DEMO], ids=["tests-data", "demo"])
def test_hangzhou_loads(directory: Path) -> None:
    w = read_world(directory)
    assert (w.name, w.city, w.date, w.utc_offset_s) == ("hangzhou-0501", "Hangzhou", "2022-05-01", 8 * 3600)
    assert (len(w.depots), len(w.vehicles), len(w.orders)) == (1, 6, 116)
    assert any("bulky" in v.skills for v in w.vehicles)
    assert sum(o.required_skill == "bulky" for o in w.orders) == 11
    assert sum(o.priority is Priority.HIGH for o in w.orders) == 6
    assert all(o.kind is OrderKind.PICKUP and len(o.windows) == 1 for o in w.orders)
    assert w.meta["generator_seed"] == 501 and w.meta["depot"] == "HZ-D1"
    o = w.order("P23511")
    assert o.service_s == 180 and o.demand == 3 and o.location == Location(30.42768, 120.27042)
    assert o.windows == (TimeWindow(parse_time("2022-05-01T14:22:00+08:00"), parse_time("2022-05-01T16:22:00+08:00")),)
    assert "ignore all previous instructions" in w.order("P865463").notes  # untrusted text kept as data
    assert w.vehicle("HZ-V2").driver == "Zhu Hong"


def test_demo_world_is_an_unchanged_copy_with_attribution() -> None:
    for name in ("depots.csv", "vehicles.csv", "orders.csv", "world.json"):
        assert (DEMO / name).read_bytes() == (WORLDS / "hangzhou-0501" / name).read_bytes()
    for folder in (DEMO, WORLDS / "hangzhou-0501", WORLDS / "jilin-1001"):
        text = (folder / "ATTRIBUTION.md").read_text(encoding="utf-8")
        assert "LaDe: The First Comprehensive Last-mile Delivery Dataset from Industry" in text
        assert "Apache-2.0" in text and "research purposes" in text


def test_jilin_loads_with_history() -> None:
    w = read_world(WORLDS / "jilin-1001")
    assert (w.name, w.date, len(w.orders), len(w.vehicles), len(w.depots)) == ("jilin-1001", "2022-10-01", 0, 4, 1)
    assert len(w.history) == 565
    assert {h.series for h in w.history} == {"31", "53", "129", "165"}
    assert w.history[0] == HistoryRow("2022-05-13", "31", 2)


def test_tiny_base_world_loads() -> None:
    w = read_world(WORLDS / "tiny")
    assert (len(w.depots), len(w.vehicles), len(w.orders)) == (1, 3, 5)
    assert w.vehicle("V2").skills == frozenset({"bulky", "cold"})
    assert w.vehicle("V1").skills == frozenset()
    o2 = w.order("O2")
    assert o2.priority is Priority.HIGH and o2.notes == "second floor, no lift" and o2.required_skill is None
    assert w.order("O3").kind is OrderKind.DELIVERY and w.order("O3").required_skill == "bulky"


# ---------------------------------------------------------------------------------- malformed worlds


def test_corpus_is_complete() -> None:
    needed = {
        "bad_latitude", "bad_longitude_text", "window_end_before_start", "unknown_depot", "duplicate_order_id",
        "duplicate_vehicle_id", "wrong_timezone_format", "offset_differs_from_world", "unknown_skill", "missing_column",
        "bad_demand", "bad_kind", "bad_priority", "shift_end_before_start", "missing_orders_file",
    }  # fmt: skip
    assert needed <= set(BAD_KINDS)
    assert len(BAD_KINDS) >= 12


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_malformed_world_is_rejected_with_location(kind: str) -> None:
    expected = [line for line in (BAD / kind / "expected.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    with pytest.raises(ImportFailed) as info:
        read_world(BAD / kind)
    message = str(info.value)
    for part in expected:
        assert part in message, f"{part!r} not in:\n{message}"
    assert len(info.value.problems) == 1, info.value.problems  # one defect, one problem: no follow-on noise


def test_all_problems_are_collected(tmp_path: Path) -> None:
    d = _tiny(tmp_path)
    _edit(d / "orders.csv", "O1,pickup,Alice,30.43,", "O1,pickup,Alice,95,")
    _edit(d / "orders.csv", "Bob,30.44,120.28,1,", "Bob,30.44,120.28,-1,")
    _edit(d / "orders.csv", "normal,cold,fragile", "normal,frozen,fragile")
    _edit(d / "vehicles.csv", "V3,D1,10", "V3,D9,10")
    _edit(d / "depots.csv", "30.4321,120.2701", "30.4321,north")
    problems = _problems(d)
    assert len(problems) == 5
    wanted = [
        "orders.csv row 2, column lat",
        "orders.csv row 3, column demand",
        "orders.csv row 6, column required_skill",
        "vehicles.csv row 4, column depot_id",
        "depots.csv row 2, column lng",
    ]
    for part in wanted:
        assert any(part in p for p in problems), part


def test_domain_errors_are_located(tmp_path: Path) -> None:
    d = _tiny(tmp_path)
    t = "2022-05-01T{}:00+08:00".format
    _edit(d / "orders.csv", f"{t('09:00')},{t('11:00')}", f"{t('09:00')}|{t('10:00')},{t('11:00')}|{t('12:00')}")
    (problem,) = _problems(d)
    assert problem.startswith("orders.csv row 2: ") and "overlap" in problem


def test_several_problems_in_one_row_are_all_reported(tmp_path: Path) -> None:
    d = _tiny(tmp_path)
    _edit(d / "orders.csv", "O4,delivery,Dan,30.425,120.275,1,2,2022-05-01T14:00", "O4,later,Dan,300,120.275,x,2,2022-05-01T17:00")
    problems = _problems(d)
    columns = sorted(p.split("column ")[1].split(":")[0] for p in problems)
    assert columns == ["demand", "kind", "lat", "tw_end"]


def test_header_only_missing_file_and_unreadable_world_json(tmp_path: Path) -> None:
    d = _tiny(tmp_path)
    (d / "vehicles.csv").unlink()
    (d / "depots.csv").write_text("", encoding="utf-8")
    (d / "world.json").write_text("{not json", encoding="utf-8")
    problems = _problems(d)
    assert any(p.startswith("vehicles.csv: file is missing") for p in problems)
    assert any(p.startswith("depots.csv row 1: expected a header row") for p in problems)
    assert any(p.startswith("world.json: expected a JSON object") for p in problems)


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="expected a folder"):
        read_world(tmp_path / "nowhere")


# -------------------------------------------------------------------------------- format features


def test_multiple_windows_syntax(tmp_path: Path) -> None:
    d = _tiny(tmp_path)
    t = "2022-05-01T{}:00+08:00".format
    _edit(d / "orders.csv", f"{t('09:00')},{t('11:00')}", f"{t('09:00')} | {t('14:00')},{t('10:00')}|{t('16:00')}")
    _edit(d / "orders.csv", f"{t('14:00')},{t('16:00')}", ",")  # O4: no window at all
    w = read_world(d)
    assert w.order("O1").windows == (
        TimeWindow(parse_time(t("09:00")), parse_time(t("10:00"))),
        TimeWindow(parse_time(t("14:00")), parse_time(t("16:00"))),
    )
    assert w.order("O4").windows == ()
    back = tmp_path / "back"
    write_world(w, back)
    assert f"{t('09:00')}|{t('14:00')}" in (back / "orders.csv").read_text(encoding="utf-8")
    assert read_world(back) == w


def test_demand_above_every_capacity_is_not_an_import_error(tmp_path: Path) -> None:
    d = _tiny(tmp_path)
    _edit(d / "orders.csv", "Bob,30.44,120.28,1,", "Bob,30.44,120.28,500,")
    assert read_world(d).order("O2").demand == 500


def test_optional_columns(tmp_path: Path) -> None:
    d = _tiny(tmp_path)
    rows = (d / "orders.csv").read_text(encoding="utf-8").splitlines()
    rows[0] += ",pair_id,cancelled"
    extra = {"O1": ",O4,", "O4": ",O1,", "O5": ",,TRUE"}
    rows[1:] = [r + extra.get(r.split(",")[0], ",,") for r in rows[1:]]
    (d / "orders.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    _edit(d / "vehicles.csv", "skills,driver", "skills,driver,max_route_min,fixed_cost,unavailable_from")
    for vid, tail in (("V1", ",480,25.5,"), ("V2", ",,,2022-05-01T12:00:00+08:00"), ("V3", ",,,")):
        name = {"V1": "Driver One", "V2": "Driver Two", "V3": "Driver Three"}[vid]
        _edit(d / "vehicles.csv", name, name + tail)
    w = read_world(d)
    assert w.order("O1").pair_id == "O4" and w.order("O4").pair_id == "O1" and w.order("O2").pair_id is None
    assert w.order("O5").cancelled and not w.order("O1").cancelled
    v1, v2 = w.vehicle("V1"), w.vehicle("V2")
    assert (v1.max_route_duration_s, v1.fixed_cost, v1.unavailable_from) == (480 * 60, 25.5, None)
    assert v2.unavailable_from == parse_time("2022-05-01T12:00:00+08:00") and v2.max_route_duration_s is None
    back = tmp_path / "back"
    write_world(w, back)
    assert read_world(back) == w


def test_pair_must_name_back_and_mix_kinds(tmp_path: Path) -> None:
    d = _tiny(tmp_path)
    rows = (d / "orders.csv").read_text(encoding="utf-8").splitlines()
    rows[0] += ",pair_id"
    extra = {"O1": ",O2", "O2": ",O1", "O3": ",O4"}  # O1/O2 both pickups; O3 -> O4 but O4 names nobody
    rows[1:] = [r + extra.get(r.split(",")[0], ",") for r in rows[1:]]
    (d / "orders.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    problems = _problems(d)
    assert any("orders.csv row 2, column pair_id: a pair needs one pickup and one delivery" in p for p in problems)
    assert any("orders.csv row 4, column pair_id: order 'O4' (row 5) does not name 'O3' back" in p for p in problems)


def test_columns_that_may_be_empty_may_be_left_out(tmp_path: Path) -> None:
    d = _tiny(tmp_path)
    (d / "orders.csv").write_text(
        "order_id,kind,lat,lng,demand,service_min\nA,delivery,30.1,120.1,1,1.5\n",
        encoding="utf-8",
    )
    (a,) = read_world(d).orders
    assert (a.customer, a.notes, a.windows, a.priority, a.required_skill, a.service_s) == ("", "", (), Priority.NORMAL, None, 90)


def test_bom_crlf_blank_rows_and_padded_cells(tmp_path: Path) -> None:
    d = _tiny(tmp_path)
    text = (d / "orders.csv").read_text(encoding="utf-8")
    text = text.replace(",pickup,", ", Pickup ,").replace("\n", "\r\n") + ",,,,,,,,,,,\r\n\r\n"
    (d / "orders.csv").write_text("\ufeff" + text, encoding="utf-8", newline="")
    w = read_world(d)
    assert w == read_world(WORLDS / "tiny")


def test_missing_world_json_infers_name_date_and_timezone(tmp_path: Path) -> None:
    d = _tiny(tmp_path, "station-7")
    (d / "world.json").unlink()
    w = read_world(d)
    assert (w.name, w.city, w.date, w.utc_offset_s, dict(w.meta)) == ("station-7", "", "2022-05-01", 8 * 3600, {})
    _edit(d / "orders.csv", "2022-05-01T11:00:00+08:00,2022-05-01T13:00", "2022-05-01T04:00:00+01:00,2022-05-01T13:00")
    (problem,) = _problems(d)
    assert "orders.csv row 6, column tw_start: wrong time zone" in problem and "depots.csv row 2, column open" in problem


# ------------------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("name", ["hangzhou-0501", "jilin-1001", "tiny"])
def test_round_trip_of_data_worlds(tmp_path: Path, name: str) -> None:
    w = read_world(WORLDS / name)
    write_world(w, tmp_path / name)
    assert read_world(tmp_path / name) == w
    for csv_name in ("depots.csv", "vehicles.csv", "orders.csv"):  # same cells, only line endings may differ
        again = (tmp_path / name / csv_name).read_text(encoding="utf-8").splitlines()
        assert again == (WORLDS / name / csv_name).read_text(encoding="utf-8").splitlines()


def _rich_world() -> World:
    t = "2022-11-06T{}:00-05:00".format
    p = parse_time
    depot = Depot("NY-1", "Brooklyn, Pier 5", Location(40.69, -73.99), TimeWindow(p(t("06:00")), p(t("22:00"))))
    vehicles = (
        Vehicle("VAN 1", "NY-1", 30, TimeWindow(p(t("07:00")), p(t("15:00"))), 27.5, 0.85, frozenset({"cold", "lift"}), 'Ann "A" Lee'),
        Vehicle("VAN-2", "NY-1", 12, TimeWindow(p(t("08:00")), p(t("16:00"))), 30, 1, unavailable_from=p(t("11:15")),
                max_route_duration_s=5 * 3600 + 30, fixed_cost=40.0),
    )  # fmt: skip
    orders = (
        Order("pk-1", OrderKind.PICKUP, Location(40.7, -74.0), 3, 90, (TimeWindow(p(t("08:00")), p(t("09:00"))),), pair_id="dl-1"),
        Order("dl-1", OrderKind.DELIVERY, Location(40.71, -73.95), 3, 7, priority=Priority.HIGH, required_skill="cold", pair_id="pk-1"),
        Order("x", OrderKind.DELIVERY, Location(-33.9, 151.2), 0, 0, (TimeWindow(p(t("09:00")), p(t("10:00"))),
              TimeWindow(p(t("13:00")), p(t("13:00")))), customer="Zoë, Ltd.", notes="line one\nline two, \"quoted\"", cancelled=True),
    )  # fmt: skip
    history = (HistoryRow("2022-11-04", "north", 10), HistoryRow("2022-11-05", "north", 0))
    return World(
        "ny-1106", "2022-11-06", -5 * 3600, (depot,), vehicles, orders, history, city="New York", meta={"source": "test", "n": [1, 2]}
    )


def test_round_trip_of_every_feature(tmp_path: Path) -> None:
    w = _rich_world()
    write_world(w, tmp_path / "w")
    back = read_world(tmp_path / "w")
    assert back.meta == {"name": "ny-1106", "city": "New York", "date": "2022-11-06", "timezone": "-05:00", "source": "test", "n": [1, 2]}
    assert back == dataclasses.replace(w, meta=back.meta)
    write_world(back, tmp_path / "w")  # overwriting in place is stable
    assert read_world(tmp_path / "w") == back


def test_write_removes_stale_history_and_rejects_odd_offsets(tmp_path: Path) -> None:
    w = _rich_world()
    write_world(w, tmp_path / "w")
    assert (tmp_path / "w" / "history.csv").exists()
    write_world(dataclasses.replace(w, history=()), tmp_path / "w")
    assert not (tmp_path / "w" / "history.csv").exists()
    assert read_world(tmp_path / "w").history == ()
    with pytest.raises(InputError, match="whole minutes"):
        write_world(dataclasses.replace(w, utc_offset_s=3601), tmp_path / "odd")
