"""Scenario scripts: a base world and named variants (more demand, more vans, shorter shifts, a breakdown at
11:00, a forecast-driven day), each planned through the what-if tool's own planning step, compared in one report.

A scenario comes from a YAML file (:meth:`Scenario.from_yaml`) or is built in Python::

    from copilot.apps.scenario import Scenario, Variant, run_scenarios, write_report
    from tools.whatif import AddVehicles, ScaleDemand

    sc = Scenario(world="copilot/apps/demo/hangzhou-0501", planning={"iterations": 300},
                  variants=[Variant(name="demand-x1.2", changes=[ScaleDemand(factor=1.2)]),
                            Variant(name="plus-2-vans", changes=[AddVehicles(count=2, like="HZ-V1")])])
    report = run_scenarios(sc, executor="process", workers=2)
    write_report(report, Path("out"))

How a variant is planned: the base world is planned for the whole day (no clock, nothing committed: what
:func:`tools.whatif.what_if` does on a store with no dispatched plan). A variant's changes go through
:func:`tools.whatif.plan_changes`, the same function the what-if tool plans with, and its key figures
through :func:`tools.kpis.plan_kpis`; so with a work budget (``iterations``) the report's numbers equal
the what-if tool's numbers for the same changes. A variant with ``at: "11:00"`` happens during the day: the
base plan is dispatched, the clock stands at 11:00, work started before then stays done and the rest is
re-planned (a breakdown at 11:00 is ``at: "11:00"`` with ``remove_vehicles``).

A ``forecast_day`` change is resolved once, before the variants run, into a
:class:`tools.whatif.ResampleOrders` change by :func:`tools.forecast_day.forecast_day` (the forecast tools on
the world's history, or on a history CSV the file names); the report keeps the forecast's numbers.

Executors: ``process`` (a local process pool, one worker per CPU by default), ``sequential`` (in this
process) and ``ray`` (each variant a Ray task; ``ray.init(address)``, or a local Ray when no address is
given; the ``ray`` extra). Variants with ``at`` start when the base plan is done.

The package's modules:

* :mod:`~copilot.apps.scenario.spec`: the scenario file model (:class:`Scenario`, :class:`Variant`,
  :class:`Planning`, :class:`ForecastDaySpec`) and its parsing;
* :mod:`~copilot.apps.scenario.world`: the base world, the forecasts and the check of the variants;
* :mod:`~copilot.apps.scenario.executors`: one variant's run and the executors;
* :mod:`~copilot.apps.scenario.run`: :func:`run_scenarios`, the scheduler that builds the report;
* :mod:`~copilot.apps.scenario.report`: the report's models and :func:`write_report`.

The public names are importable from this package. PyYAML, Ray and matplotlib stay in this package
(PyYAML in ``spec``, Ray in ``executors``, matplotlib in ``report``; and matplotlib in :mod:`copilot.apps.maps`).
"""

from __future__ import annotations

from copilot.apps.scenario.executors import EXECUTORS, Executor
from copilot.apps.scenario.report import RouteRow, RunInfo, ScenarioReport, VariantRow, markdown_table, summary_lines, table_rows, write_plots, write_report
from copilot.apps.scenario.run import ProgressCallback, run_scenarios
from copilot.apps.scenario.spec import BASE, CHANGE_KINDS, ForecastDaySpec, Planning, Scenario, ScenarioChange, ScenarioFileError, Variant
from copilot.apps.scenario.world import check_variants, load_base_world, resolve_forecasts, resolve_scenario

__all__ = [
    "BASE",
    "CHANGE_KINDS",
    "EXECUTORS",
    "Executor",
    "ForecastDaySpec",
    "Planning",
    "ProgressCallback",
    "RouteRow",
    "RunInfo",
    "Scenario",
    "ScenarioChange",
    "ScenarioFileError",
    "ScenarioReport",
    "Variant",
    "VariantRow",
    "check_variants",
    "load_base_world",
    "markdown_table",
    "resolve_forecasts",
    "resolve_scenario",
    "run_scenarios",
    "summary_lines",
    "table_rows",
    "write_plots",
    "write_report",
]
