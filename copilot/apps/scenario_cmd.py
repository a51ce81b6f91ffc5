"""``logistics-copilot scenario ...``: run a scenario file (base world + variants) and write the comparison.

::

    logistics-copilot scenario run bench/scenarios/hangzhou-8.yaml --out out/hz8
    logistics-copilot scenario run hz.yaml --out out/hz --executor ray --ray-address ray://head:10001
    logistics-copilot scenario check bench/scenarios/hangzhou-8.yaml

The heavy modules (the scenario API, the solvers, matplotlib, Ray) load only when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from copilot.apps.scenario import Scenario

EXAMPLE_YAML = """\
scenario file (YAML):
  name: hangzhou-8
  world: ../../copilot/apps/demo/hangzhou-0501    # a world folder (relative to this file) or a stored world's name
  planning: {time_limit_s: 30, iterations: 300, seed: 0}
  variants:
    - name: demand-x1.2
      changes: [{scale_demand: {factor: 1.2}}]
    - name: plus-2-vans
      changes: [{add_vehicles: {count: 2, like: HZ-V1}}]
    - name: breakdown-11h
      at: "11:00"                                    # the base plan is dispatched; the change happens at 11:00
      changes: [{remove_vehicles: {vehicle_ids: [HZ-V3]}}]

changes: add_vehicles, remove_vehicles, change_shift, scale_demand, remove_orders, delay_vehicle, fleet_size,
resample_orders (the what-if tool's changes, same fields) and forecast_day (the day's orders follow a forecast).
"""


def add_parser(sub: Any) -> None:
    """Add the ``scenario`` command and its sub-commands to the CLI's sub-parsers."""
    sc = sub.add_parser(
        "scenario",
        help="run a scenario file: plan a base world and its variants, write a comparison (table, plots, maps)",
        description="Scenario scripts for planners: a YAML file names a base world and variants; each variant is planned\n"
        "through the what-if tool and compared with the base.",
        epilog=EXAMPLE_YAML,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ssub = sc.add_subparsers(dest="scenario_command", required=True, metavar="ACTION")
    run = ssub.add_parser(
        "run",
        help="plan every variant and write comparison.csv/.md, plots/, maps/ and report.json",
        epilog="examples:\n  logistics-copilot scenario run bench/scenarios/hangzhou-8.yaml --out out/hz8\n"
        "  logistics-copilot scenario run hz.yaml --out out/hz --executor sequential --iterations 100\n"
        "  logistics-copilot scenario run hz.yaml --out out/hz --executor ray --ray-address auto",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("file", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the outputs (created)")
    run.add_argument("--executor", choices=["process", "ray", "sequential"], default="process", help="where variants run (default: a local process pool)")
    run.add_argument("--workers", type=int, default=None, metavar="N", help="worker processes (or local Ray CPUs); default: the CPU count")
    run.add_argument("--ray-address", metavar="ADDR", help="Ray cluster address (e.g. auto, ray://head:10001); default: start a local Ray")
    _common(run)
    run.add_argument("--time-limit", type=float, metavar="S", help="override the file's time limit per plan")
    run.add_argument("--iterations", type=int, metavar="N", help="override the file's work budget per plan")
    run.add_argument("--seed", type=int, metavar="N", help="override the file's search seed")
    run.add_argument("--no-maps", action="store_true", help="skip the route maps")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    check = ssub.add_parser("check", help="validate a scenario file against its world without planning")
    check.add_argument("file", type=Path, help="scenario YAML file")
    _common(check)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--world", metavar="DIR|NAME", help="base world instead of the file's: a world folder (relative to here) or a stored world's name")


def _load(args: argparse.Namespace) -> Scenario:
    from copilot.apps.scenario import Scenario

    world: str | Path | None = args.world
    if args.world is not None and Path(args.world).expanduser().is_dir():
        world = Path(args.world).expanduser().resolve()
    return Scenario.from_yaml(args.file, world=world)


def cmd_scenario(args: argparse.Namespace) -> int:
    """Run the ``scenario`` sub-command; returns the exit code (1 when a variant could not be planned)."""
    from copilot.apps.scenario import ForecastDaySpec, Planning, check_variants, load_base_world, run_scenarios, summary_lines, write_report
    from copilot.core.errors import InputError

    scenario = _load(args)
    db_url = getattr(args, "db", None)
    if args.scenario_command == "check":
        base = load_base_world(scenario, db_url=db_url)
        changes = {v.name: [c for c in v.changes if not isinstance(c, ForecastDaySpec)] for v in scenario.variants}
        check_variants(scenario, base.world, changes)
        print(f"{args.file}: valid; {len(scenario.variants)} variant(s) on {base.source}")
        return 0
    overrides = {k: v for k, v in (("time_limit_s", args.time_limit), ("iterations", args.iterations), ("seed", args.seed)) if v is not None}
    if overrides:
        try:
            scenario.planning = Planning.model_validate({**scenario.planning.model_dump(), **overrides})
        except ValueError as exc:
            raise InputError(f"planning overrides: {exc}") from None
    report = run_scenarios(
        scenario,
        args.executor,
        args.workers,
        progress=not args.quiet,
        ray_address=args.ray_address,
        maps_dir=None if args.no_maps else args.out / "maps",
        db_url=db_url,
    )
    files = write_report(report, args.out, maps=not args.no_maps)
    for line in summary_lines(report):
        print(line)
    run = report.run
    print(f"{len(report.rows)} plans in {run.solve_wall_s:.1f} s ({run.executor}, {run.workers} worker(s)); wrote {len(files)} files to {args.out}", file=sys.stderr)
    print(f"table: {args.out / 'comparison.md'}  report: {args.out / 'report.json'}", file=sys.stderr)
    return 0 if report.ok else 1
