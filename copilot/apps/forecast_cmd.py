"""``logistics-copilot forecast ...``: backtest the forecaster on a CSV, show a stored series' forecast, import history.

::

    logistics-copilot forecast backtest --history daily_volume_by_region.csv --key region_id --value deliveries \\
        --horizon 7 --origins 8 --end 2022-09-30 --json bench/results/forecast_regions_steady.json
    logistics-copilot forecast show --world jilin-1001 --series 31 --days 7
    logistics-copilot forecast import --world jilin-1001 --history couriers.csv --key courier_id --value deliveries

The backtest reports, per series and overall, WAPE and MASE of our forecaster and of the seasonal
naive and naive baselines on the same rolling origins (definitions in :mod:`copilot.core.forecasting`),
the interval coverage, the fit+predict seconds (per origin and in all) and, separately, the one-off
warm-up (import and first call; statsforecast 2.x has no JIT compilation), plus the seconds to fit and
forecast every series of the file once. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot.core.errors import InputError

if TYPE_CHECKING:  # the command line stays quick to start: the heavy modules load when a forecast command runs
    from copilot.core.forecasting import BacktestReport


def add_parser(sub: Any) -> None:
    """Add the ``forecast`` command and its sub-commands to the CLI's sub-parsers."""
    fc = sub.add_parser(
        "forecast",
        help="demand forecasts: backtest on a CSV, show a stored series' forecast, import history",
        description="Daily demand forecasts: statsforecast models chosen per series by a rolling-origin backtest.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  logistics-copilot forecast backtest --history daily_volume_by_region.csv --key region_id --value deliveries \\\n"
        "      --horizon 7 --origins 8 --end 2022-09-30 --json regions.json\n"
        "  logistics-copilot forecast show --world jilin-1001 --series 31 --days 7\n"
        "  logistics-copilot forecast import --world jilin-1001 --history couriers.csv --key courier_id --value deliveries",
    )
    fsub = fc.add_subparsers(dest="forecast_command", required=True, metavar="ACTION")

    bt = fsub.add_parser("backtest", help="rolling-origin backtest against naive and seasonal naive; writes JSON")
    _csv_options(bt)
    bt.add_argument("--horizon", type=int, default=7, metavar="DAYS", help="days forecast at each origin (default 7)")
    bt.add_argument("--origins", type=int, default=8, metavar="N", help="rolling origins per series (default 8)")
    bt.add_argument("--step", type=int, default=7, metavar="DAYS", help="days between origins (default 7: weekly)")
    bt.add_argument("--end", metavar="DATE", help="cut every series after this ISO date first (e.g. 2022-09-30)")
    bt.add_argument("--level", type=int, default=80, metavar="PCT", help="interval level in percent (default 80)")
    bt.add_argument("--models", metavar="A,B,...", help="candidate models (default: seasonal_naive,naive,ses,theta,window_7,window_14,window_28)")
    bt.add_argument("--json", type=Path, required=True, metavar="OUT", help="where to write the JSON report")

    sh = fsub.add_parser("show", help="forecast a series of a stored world (read-only)")
    sh.add_argument("--world", help="world name (default: the most recently imported)")
    sh.add_argument("--series", required=True, help="series key, e.g. 31")
    sh.add_argument("--days", type=int, default=7)
    sh.add_argument("--level", type=int, default=80)
    sh.add_argument("--json", action="store_true", help="print the tool's JSON answer")

    im = fsub.add_parser("import", help="import daily history from a CSV into a stored world")
    im.add_argument("--world", help="world name (default: the most recently imported)")
    _csv_options(im)
    im.add_argument("--replace", action="store_true", help="replace series that already have history")


def _csv_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--history", type=Path, required=True, metavar="CSV", help="daily history CSV")
    p.add_argument("--key", required=True, metavar="COLUMN", help="series key column(s), comma-separated (joined with /)")
    p.add_argument("--value", required=True, metavar="COLUMN", help="volume column")
    p.add_argument("--date-column", default="date", metavar="COLUMN", help="date column (default: date)")
    p.add_argument("--missing", choices=["error", "zero"], default="error", help="days missing inside a series: refuse (default) or count as zero")


def cmd_forecast(args: argparse.Namespace) -> int:
    """Dispatch ``forecast ACTION``."""
    action = {"backtest": cmd_backtest, "show": cmd_show, "import": cmd_import}[args.forecast_command]
    return action(args)


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _num(x: float, digits: int = 4) -> float | None:
    return None if not math.isfinite(x) else round(x, digits)


def report_json(report: BacktestReport, **extra: Any) -> dict[str, Any]:
    """The backtest as the JSON document the command writes."""
    wape, mase = report.overall("ours")
    wape_sn, mase_sn = report.overall("seasonal_naive")
    wape_nv, mase_nv = report.overall("naive")
    cov_day, cov_total = report.coverage()
    models: Counter[str] = Counter(m for s in report.series for m in s.models)
    series = []
    for s in report.series:
        row: dict[str, Any] = {"key": s.key, "test_start": s.test_start.isoformat(), "test_end": s.test_end.isoformat(), "actual": s.scores["ours"].actual}
        for method, suffix in (("ours", ""), ("seasonal_naive", "_seasonal_naive"), ("naive", "_naive")):
            row["wape" + suffix] = _num(s.scores[method].wape)
            row["mase" + suffix] = _num(s.scores[method].mean_mase)
        row["models"] = dict(Counter(s.models).most_common())
        row["fallbacks"] = s.fallbacks
        series.append(row)
    return {
        **extra,
        "forecaster": report.forecaster,
        "horizon": report.horizon,
        "origins": report.origins,
        "step": report.step,
        "season": report.season,
        "level": report.level,
        "series_count": len(report.series),
        "skipped": report.skipped,
        "wape": _num(wape),
        "wape_seasonal_naive": _num(wape_sn),
        "wape_naive": _num(wape_nv),
        "wape_ratio_to_seasonal_naive": _num(wape / wape_sn) if wape_sn and math.isfinite(wape_sn) and wape_sn > 0 else None,
        "mase": _num(mase),
        "mase_seasonal_naive": _num(mase_sn),
        "mase_naive": _num(mase_nv),
        "interval_coverage_daily": _num(cov_day),
        "interval_coverage_total": _num(cov_total),
        "fallbacks": sum(s.fallbacks for s in report.series),
        "models_chosen": dict(models.most_common()),
        "seconds": round(report.seconds, 3),
        "seconds_per_origin": [round(x, 3) for x in report.seconds_per_origin],
        "series": series,
    }


def cmd_backtest(args: argparse.Namespace) -> int:
    """Backtest the forecaster on a CSV and write the JSON report."""
    from copilot.apps.wiring import make_forecaster
    from copilot.core.forecasting import backtest
    from tools.history_io import read_history_csv, to_series

    if args.horizon < 1 or args.origins < 1 or args.step < 1:
        raise InputError("--horizon, --origins and --step must be 1 or more")
    _progress(f"reading {args.history} ...")
    data = read_history_csv(args.history, key=args.key, value=args.value, date_column=args.date_column, missing=args.missing, end=args.end)
    series = to_series(data.rows)
    forecaster = make_forecaster(args.models.split(",") if args.models else None)
    _progress(f"{len(series)} series, {len(data.rows)} days in all; warming up {forecaster.name} ...")
    compile_s = forecaster.warm_up()
    _progress(f"warm-up (import and first calls, once per process): {compile_s:.2f} s")
    report = backtest(forecaster, series, horizon=args.horizon, origins=args.origins, step=args.step, level=args.level, progress=_progress)
    started = time.perf_counter()
    forecaster.forecast(series, args.horizon, args.level)
    all_s = time.perf_counter() - started
    _progress(f"fit+predict of all {len(series)} series on their whole history: {all_s:.2f} s")
    doc = report_json(
        report,
        history=str(args.history),
        key=args.key,
        value=args.value,
        end=args.end,
        models=list(getattr(forecaster, "candidates", [])),
        compile_seconds=round(compile_s, 3),
        compile_note="statsforecast 2.x ships compiled C++ (no numba JIT): this is the import and the first call of each model",
        all_series_count=len(series),
        seconds_all_series=round(all_s, 3),
        filled_days={k: len(v) for k, v in data.filled.items()},
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(_summary(doc))
    print(f"report written to {args.json}")
    return 0


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _mase(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _row(label: str, span: str, item: dict[str, Any]) -> str:
    wapes = "".join(f" {_pct(item[k]):>7}" for k in ("wape", "wape_seasonal_naive", "wape_naive"))
    return f"{label:>12} {span:>23}{wapes} {_mase(item['mase']):>5} {_mase(item['mase_seasonal_naive']):>5}"


def _summary(doc: dict[str, Any]) -> str:
    lines = [f"{'series':>12} {'test days':>23} {'WAPE':>7} {'SN':>7} {'naive':>7} {'MASE':>5} {'SN':>5}"]
    lines += [_row(s["key"], f"{s['test_start']}..{s['test_end']}", s) for s in doc["series"]]
    lines.append(_row("overall", f"{doc['series_count']} series", doc))
    if doc["skipped"]:
        lines.append(f"skipped {len(doc['skipped'])} series too short for {doc['origins']} origins")
    lines.append(
        f"interval coverage ({doc['level']}%): daily {_pct(doc['interval_coverage_daily'])}, totals {_pct(doc['interval_coverage_total'])}; "
        f"fit+predict {doc['seconds']:.2f} s over {doc['origins']} origins, warm-up {doc['compile_seconds']:.2f} s"
    )
    return "\n".join(lines)


def cmd_show(args: argparse.Namespace) -> int:
    """Forecast one series of a stored world."""
    from copilot.apps.commands import _current_world
    from copilot.apps.wiring import make_deps, make_forecaster, make_store
    from tools.context import ToolContext
    from tools.forecast import ForecastRequest, forecast_demand

    store = make_store(getattr(args, "db", None))
    try:
        ctx = ToolContext(store=store, planning=make_deps(), world_name=_current_world(store, args.world), actor="cli", forecaster=make_forecaster())
        out = forecast_demand(ctx, ForecastRequest(series=args.series, days=args.days, level=args.level))
    finally:
        store.close()
    if args.json:
        print(out.model_dump_json(indent=1))
        return 0
    print(
        f"series {out.series}: {out.total:g} over {len(out.days)} day(s) {out.first_day}..{out.last_day} ({out.level}% interval {out.total_lower:g}..{out.total_upper:g})"
    )
    for d in out.days:
        print(f"  {d.date} {d.weekday}  {d.forecast:7.1f}   [{d.lower:.1f} .. {d.upper:.1f}]")
    print(f"model: {out.model}" + (f"; FALLBACK: {out.reason}" if out.fallback else ""))
    for n in out.notes:
        print(f"  note: {n}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import daily history from a CSV into a stored world."""
    from copilot.apps.commands import _current_world
    from copilot.apps.wiring import make_store
    from tools.history_io import read_history_csv

    data = read_history_csv(args.history, key=args.key, value=args.value, date_column=args.date_column, missing=args.missing)
    store = make_store(getattr(args, "db", None))
    try:
        world = _current_world(store, args.world)
        store.import_history(world, data.rows, replace=args.replace, actor="cli")
    finally:
        store.close()
    filled = sum(len(v) for v in data.filled.values())
    print(f"imported {len(data.rows)} history row(s) for {len(data.keys)} series into world {world!r}" + (f" ({filled} missing day(s) filled with 0)" if filled else ""))
    return 0
