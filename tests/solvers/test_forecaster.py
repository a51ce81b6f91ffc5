"""The statsforecast forecaster and the core backtest: determinism, zero days, gaps, short series, fallbacks, accuracy."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

import solvers.forecast_statsforecast as sfc
from copilot.core.errors import InputError
from copilot.core.forecasting import DailySeries, backtest, naive_forecast, seasonal_naive_forecast, seasonal_scale
from solvers.forecast_statsforecast import StatsForecaster
from tools.history_io import read_history_csv, to_series

DATA = Path(__file__).resolve().parents[1] / "data" / "lade_jilin"
START = date(2022, 5, 2)  # a Monday


@pytest.fixture(scope="module")
def forecaster() -> StatsForecaster:
    f = StatsForecaster()
    f.warm_up()
    return f


def _series(values: list[float], key: str = "s", start: date = START) -> DailySeries:
    return DailySeries(key, start, tuple(float(v) for v in values))


def _weekly(n: int, level: float = 50.0, seed: int = 3) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(max(0, round(level + 8 * math.sin(2 * math.pi * i / 7) + rng.normal(0, 6)))) for i in range(n)]


def test_same_history_gives_exactly_the_same_forecast(forecaster: StatsForecaster) -> None:
    series = [_series(_weekly(120), "a"), _series(_weekly(90, 20, seed=5), "b")]
    first = forecaster.forecast(series, 7)
    again = StatsForecaster().forecast(series, 7)  # a fresh instance too
    assert first == again
    assert [f.key for f in first] == ["a", "b"]


def test_forecast_shape_intervals_and_total(forecaster: StatsForecaster) -> None:
    s = _series(_weekly(120))
    fc = forecaster.forecast([s], 10, level=80)[0]
    assert [d.day for d in fc.days] == [s.end + timedelta(days=i) for i in range(1, 11)]
    assert all(0 <= d.lower <= d.point <= d.upper for d in fc.days)
    assert fc.total == pytest.approx(sum(d.point for d in fc.days))
    assert fc.total_lower <= fc.total <= fc.total_upper
    assert not fc.fallback and fc.model
    wider = forecaster.forecast([s], 10, level=95)[0]
    assert wider.total_upper - wider.total_lower > fc.total_upper - fc.total_lower
    # days beyond a week get wider intervals
    assert fc.days[9].upper - fc.days[9].lower > fc.days[0].upper - fc.days[0].lower


def test_shorter_horizon_is_a_prefix_of_the_longer_one(forecaster: StatsForecaster) -> None:
    s = _series(_weekly(100))
    seven = forecaster.forecast([s], 7)[0]
    three = forecaster.forecast([s], 3)[0]
    assert three.points == seven.points[:3]
    assert three.model == seven.model


def test_zero_days_and_intermittent_series(forecaster: StatsForecaster) -> None:
    values = [0.0 if i % 3 else 4.0 for i in range(60)]
    fc = forecaster.forecast([_series(values)], 7)[0]
    assert all(d.point >= 0 and d.lower >= 0 for d in fc.days)
    zero = forecaster.forecast([_series([0.0] * 40)], 5)[0]
    assert zero.total == 0 and all(d.point == 0 for d in zero.days)


def test_gaps_are_filled_with_zero_and_reported(forecaster: StatsForecaster) -> None:
    points = [((START + timedelta(days=i)).isoformat(), v) for i, v in enumerate(_weekly(50))]
    del points[20:22]
    s = DailySeries.from_points("gappy", points)
    assert len(s) == 50 and s.values[20] == s.values[21] == 0.0
    assert s.filled == (START + timedelta(days=20), START + timedelta(days=21))
    fc = forecaster.forecast([s], 7)[0]
    assert any("2 missing day(s) counted as zero" in n for n in fc.notes)
    with pytest.raises(InputError, match=r"2 missing day\(s\).*2022-05-22"):
        DailySeries.from_points("gappy", points, missing="error")


@pytest.mark.parametrize("n", [1, 5, 20])
def test_short_series_fall_back_and_say_why(forecaster: StatsForecaster, n: int) -> None:
    fc = forecaster.forecast([_series([3.0 + (i % 2) for i in range(n)])], 7)[0]
    assert fc.fallback
    assert f"only {n} day(s) of history" in fc.reason
    assert len(fc.days) == 7 and fc.total > 0 and fc.total_upper > fc.total


def test_a_model_that_fails_is_dropped_or_replaced_and_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    real = sfc._candidates

    def broken(names: list[str]) -> list[sfc.Candidate]:
        out = []
        for c in real(names):
            if c.name == "window_7":  # fails only on the whole history (longer than any validation cut)

                def fit(y: sfc.Array, h: int, base: sfc.FitPredict = c.fit_predict) -> sfc.Array:
                    if len(y) >= 84:
                        raise RuntimeError("singular matrix")
                    return base(y, h)

                c = sfc.Candidate(c.name, c.min_days, fit)
            if c.name == "theta":  # fails everywhere

                def bad(y: sfc.Array, h: int) -> sfc.Array:
                    raise ValueError("cannot fit")

                c = sfc.Candidate(c.name, c.min_days, bad)
            out.append(c)
        return out

    monkeypatch.setattr(sfc, "_candidates", broken)
    f = StatsForecaster(("window_7", "theta", "naive"), combine=1)
    fc = f.forecast([_series([10.0, 12.0, 11.0] * 28)], 7)[0]  # window_7 is perfect in validation
    assert any(n.startswith("theta dropped") for n in fc.notes)
    assert fc.fallback and "window_7 (RuntimeError: singular matrix)" in fc.reason
    assert fc.model == "naive"
    everything_fails = StatsForecaster(("theta",)).forecast([_series(_weekly(60))], 3)[0]
    assert everything_fails.fallback and "every model failed" in everything_fails.reason


def test_bad_arguments_are_input_errors(forecaster: StatsForecaster) -> None:
    s = _series(_weekly(30))
    with pytest.raises(InputError, match="horizon"):
        forecaster.forecast([s], 0)
    with pytest.raises(InputError, match="horizon"):
        forecaster.forecast([s], 400)
    with pytest.raises(InputError, match="level"):
        forecaster.forecast([s], 7, level=100)
    with pytest.raises(InputError, match="unknown forecasting model"):
        StatsForecaster(("prophet",))
    with pytest.raises(InputError, match="zero or more"):
        _series([1.0, -2.0])
    with pytest.raises(InputError, match="two values"):
        DailySeries.from_points("x", [("2022-05-01", 1.0), ("2022-05-01", 2.0)])
    with pytest.raises(InputError, match="date like"):
        DailySeries.from_points("x", [("2022-5-1", 1.0)])


def test_baselines_follow_their_definitions() -> None:
    y = [1.0, 2, 3, 4, 5, 6, 7, 8, 9]
    assert naive_forecast(y, 3) == [9.0, 9.0, 9.0]
    assert seasonal_naive_forecast(y, 9) == [3.0, 4, 5, 6, 7, 8, 9, 3, 4]
    assert seasonal_scale(y) == 7.0


def test_region_backtest_reproduces_the_baselines_and_beats_seasonal_naive(forecaster: StatsForecaster) -> None:
    """Issue 7: 8 weekly origins, horizon 7, steady period to 2022-09-30: our WAPE <= 0.85 x seasonal naive's (24.2%)."""
    data = read_history_csv(DATA / "daily_volume_by_region.csv", key="region_id", value="deliveries", end="2022-09-30")
    report = backtest(forecaster, to_series(data.rows), horizon=7, origins=8)
    wape, mase = report.overall("ours")
    wape_sn, mase_sn = report.overall("seasonal_naive")
    wape_nv, _ = report.overall("naive")
    assert (round(100 * wape_sn, 1), round(100 * wape_nv, 1), round(mase_sn, 2)) == (24.2, 24.1, 0.60)  # the data README's figures
    assert wape <= 0.85 * wape_sn and mase < mase_sn
    assert len(report.series) == 4 and not report.skipped
    assert report.series[0].test_start == date(2022, 8, 6) and report.series[0].test_end == date(2022, 9, 30)
    day_cov, _ = report.coverage()
    assert 0.7 <= day_cov <= 0.9


def test_backtest_skips_series_too_short_for_the_origins(forecaster: StatsForecaster) -> None:
    data = read_history_csv(DATA / "daily_volume_by_courier_region165.csv", key="courier_id", value="deliveries")
    report = backtest(forecaster, to_series(data.rows), horizon=7, origins=2)
    assert set(report.skipped) == {"3867", "290"}  # 1 and 22 days; 2 weekly origins of 7 days need 23
    assert "22 days" in report.skipped["290"]
    assert {s.key for s in report.series} == {"1656", "2709", "3156"}
    assert all(len(s.models) == 2 for s in report.series)
