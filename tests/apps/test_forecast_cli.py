"""``logistics-copilot forecast``: backtest on a small CSV, show a stored series, import history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.apps.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"
REGIONS = DATA / "lade_jilin" / "daily_volume_by_region.csv"
COURIERS = DATA / "lade_jilin" / "daily_volume_by_courier_region165.csv"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOGISTICS_COPILOT_HOME", str(tmp_path))
    monkeypatch.delenv("LOGISTICS_COPILOT_DB_URL", raising=False)
    return tmp_path


def test_backtest_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bt" / "regions.json"
    args = ["forecast", "backtest", "--history", str(REGIONS), "--key", "region_id", "--value", "deliveries"]
    assert main([*args, "--end", "2022-09-30", "--horizon", "7", "--origins", "3", "--json", str(out)]) == 0
    captured = capsys.readouterr()
    assert "origin 3/3" in captured.err and "warm-up" in captured.err  # progress on stderr
    assert "overall" in captured.out
    doc = json.loads(out.read_text())
    for key in ("wape", "wape_seasonal_naive", "wape_naive", "mase", "mase_seasonal_naive", "mase_naive", "seconds", "compile_seconds", "seconds_all_series"):
        assert isinstance(doc[key], float), key
    assert doc["series_count"] == 4 and doc["origins"] == 3 and doc["end"] == "2022-09-30"
    assert [s["key"] for s in doc["series"]] == ["31", "53", "129", "165"]
    assert doc["series"][0]["test_end"] == "2022-09-30" and doc["series"][0]["test_start"] == "2022-09-10"
    assert doc["wape"] < doc["wape_seasonal_naive"]
    assert len(doc["seconds_per_origin"]) == 3


def test_backtest_reports_short_series_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "couriers.json"
    args = ["forecast", "backtest", "--history", str(COURIERS), "--key", "courier_id", "--value", "deliveries", "--origins", "2", "--step", "14"]
    assert main([*args, "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert set(doc["skipped"]) == {"290", "3867"} and doc["series_count"] == 3 and doc["step"] == 14
    capsys.readouterr()
    bad = tmp_path / "bad.csv"
    bad.write_text("date,region_id,deliveries\n2022-09-01,31,4\n2022-09-02,31,-1\n", encoding="utf-8")
    assert main(["forecast", "backtest", "--history", str(bad), "--key", "region_id", "--value", "deliveries", "--json", str(out)]) == 2
    assert "bad.csv row 3, column deliveries: expected a whole number of orders, zero or more, got '-1'" in capsys.readouterr().err


def test_show_and_import_on_a_stored_world(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(DATA / "worlds" / "jilin-1001")]) == 0
    capsys.readouterr()
    assert main(["forecast", "show", "--world", "jilin-1001", "--series", "53", "--days", "3"]) == 0
    text = capsys.readouterr().out
    assert "2022-10-01..2022-10-03" in text and "2022-10-01 Sat" in text and "model:" in text
    assert main(["forecast", "show", "--series", "53", "--days", "3", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["first_day"] == "2022-10-01" and len(doc["days"]) == 3
    assert main(["forecast", "show", "--series", "999"]) == 2
    assert "unknown series id '999'" in capsys.readouterr().err
    args = ["forecast", "import", "--world", "jilin-1001", "--history", str(COURIERS), "--key", "courier_id", "--value", "deliveries"]
    assert main(args) == 0
    assert "for 5 series into world 'jilin-1001'" in capsys.readouterr().out
    assert main(args) == 2
    assert "already has history" in capsys.readouterr().err
    assert main([*args, "--replace"]) == 0
    assert main(["forecast", "show", "--series", "3867", "--days", "2"]) == 0
    assert "FALLBACK: only 1 day(s) of history" in capsys.readouterr().out
