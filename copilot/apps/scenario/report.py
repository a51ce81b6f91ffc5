"""The scenario report: its models (one row per variant against the base) and writing it out.

:class:`ScenarioReport` holds a :class:`VariantRow` per variant (key figures, deltas against the base,
routes); :func:`write_report` writes the comparison table (CSV, Markdown), the plots (matplotlib, imported
here only), the route maps and ``report.json``; :func:`summary_lines` gives the terminal's short lines.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr

from copilot.apps.scenario.spec import BASE, Planning
from copilot.core.domain import Plan, World
from copilot.core.errors import ConfigurationError
from tools.context import UnassignedOut
from tools.forecast_day import ForecastDayOut
from tools.kpis import Kpis
from tools.whatif import KpiDeltas

# --------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------


class RouteRow(BaseModel):
    """One vehicle's route in a variant's plan."""

    vehicle_id: str
    stops: list[str] = Field(description="order ids in visiting order")
    distance_km: float
    start: str = Field(description="leaves the depot, HH:MM local")
    end: str = Field(description="back at the depot, HH:MM local")


class VariantRow(BaseModel):
    """One row of the comparison: a variant's key figures and their change against the base."""

    variant: str
    description: str = ""
    at: str | None = Field(default=None, description="HH:MM the changes happen (the base plan dispatched, re-planned from then); None: the whole day")
    status: Literal["ok", "failed"]
    error: str | None = None
    changes: list[str] = Field(default_factory=list, description="the changes applied, in words (the what-if tool's words)")
    kpis: Kpis | None = Field(default=None, description="key figures of the variant's plan (tools.kpis.plan_kpis)")
    deltas: KpiDeltas | None = Field(default=None, description="variant minus base (tools.whatif.kpi_deltas)")
    solve_s: float = Field(description="seconds to apply the changes, plan and measure")
    solver: str | None = None
    unassigned: list[UnassignedOut] = Field(default_factory=list)
    routes: list[RouteRow] = Field(default_factory=list)
    maps: list[str] = Field(default_factory=list, description="route map files")


class RunInfo(BaseModel):
    """How the scenario ran."""

    executor: str
    workers: int
    ray_address: str | None = None
    started: str
    resolve_s: float = Field(description="seconds to load the world, resolve forecasts and check the variants")
    solve_wall_s: float = Field(description="wall seconds from the first submitted plan to the last result")
    cpu_count: int | None = None
    worker_pids: int = Field(description="distinct processes that planned variants")


class ScenarioReport(BaseModel):
    """Every variant against the base world; ``rows[0]`` is the base."""

    name: str
    description: str = ""
    world: str
    world_source: str
    planning: Planning
    run: RunInfo
    rows: list[VariantRow]
    forecasts: dict[str, list[ForecastDayOut]] = Field(default_factory=dict)
    scenario: dict[str, Any] = Field(default_factory=dict, description="the scenario as validated")
    files: list[str] = Field(default_factory=list)

    _plans: dict[str, tuple[World, Plan]] = PrivateAttr(default_factory=dict)

    def row(self, name: str) -> VariantRow:
        """The row of a variant (``base`` for the unchanged world)."""
        for r in self.rows:
            if r.variant == name:
                return r
        raise KeyError(name)

    def plan(self, name: str) -> tuple[World, Plan]:
        """A variant's changed world and plan (only in the process that ran the scenario)."""
        return self._plans[name]

    @property
    def ok(self) -> bool:
        """Every row was planned."""
        return all(r.status == "ok" for r in self.rows)


# --------------------------------------------------------------------------------------------------
# Writing the report: table (CSV, Markdown), plots, maps, JSON
# --------------------------------------------------------------------------------------------------

_COLUMNS = (
    "variant", "at", "status", "vehicles_used", "total_distance_km", "unassigned_count", "on_time_share", "utilisation", "orders_served", "parcels_served",
    "late_visits", "driving_time_min", "vehicles_available", "d_vehicles_used", "d_total_distance_km", "d_unassigned_count", "d_on_time_share", "d_utilisation",
    "d_orders_served", "solve_s", "changes", "error",
)  # fmt: skip


def table_rows(report: ScenarioReport) -> list[dict[str, Any]]:
    """The comparison table, one dict per row (the CSV's columns)."""
    out: list[dict[str, Any]] = []
    for r in report.rows:
        k, d = r.kpis, r.deltas
        row: dict[str, Any] = {"variant": r.variant, "at": r.at or "", "status": r.status, "solve_s": r.solve_s, "changes": "; ".join(r.changes), "error": r.error or ""}
        for name in ("vehicles_used", "total_distance_km", "unassigned_count", "on_time_share", "utilisation", "orders_served", "parcels_served", "late_visits",
                     "driving_time_min", "vehicles_available"):  # fmt: skip
            row[name] = getattr(k, name) if k is not None else None
        for name in ("vehicles_used", "total_distance_km", "unassigned_count", "on_time_share", "utilisation", "orders_served"):
            row[f"d_{name}"] = getattr(d, name) if d is not None else None
        out.append({c: row.get(c) for c in _COLUMNS})
    return out


def _fmt(x: Any, digits: int = 1, *, sign: bool = False, pct: bool = False) -> str:
    if x is None:
        return "-"
    if pct:
        x = x * 100
    if isinstance(x, int) and not pct:
        return f"{x:+d}" if sign else str(x)
    text = f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"
    return text + ("%" if pct else "")


def markdown_table(report: ScenarioReport) -> str:
    """The comparison table as Markdown (shares in percent; deltas against the base)."""
    head = [
        "variant",
        "at",
        "vehicles used",
        "km",
        "unassigned",
        "on-time",
        "utilisation",
        "Δ vehicles",
        "Δ km",
        "Δ unassigned",
        "Δ on-time (pts)",
        "Δ utilisation (pts)",
        "solve s",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for r in report.rows:
        k, d = r.kpis, r.deltas
        if k is None:
            cells = [r.variant, r.at or "", *["-"] * (len(head) - 4), f"{r.solve_s:.1f}"]
            cells[2] = f"failed: {(r.error or '').replace('|', '/')}"
        else:
            cells = [
                r.variant, r.at or "", str(k.vehicles_used), _fmt(k.total_distance_km), str(k.unassigned_count), _fmt(k.on_time_share, pct=True),
                _fmt(k.utilisation, pct=True), _fmt(d.vehicles_used if d else None, sign=True), _fmt(d.total_distance_km if d else None, sign=True),
                _fmt(d.unassigned_count if d else None, sign=True), _fmt(d.on_time_share * 100 if d and d.on_time_share is not None else None, sign=True),
                _fmt(d.utilisation * 100 if d and d.utilisation is not None else None, sign=True), f"{r.solve_s:.1f}",
            ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    notes = [
        f"- **{r.variant}**{f' (at {r.at})' if r.at else ''}: {'; '.join([*(f.words for f in report.forecasts.get(r.variant, [])), *r.changes]) or r.description or '-'}"
        for r in report.rows
        if r.variant != BASE
    ]
    p = report.planning
    budget = f"{p.iterations} iterations (time cap {p.time_limit_s:g} s)" if p.iterations else f"{p.time_limit_s:g} s"
    title = f"# Scenario {report.name}: {report.world}\n\n{report.description + chr(10) + chr(10) if report.description else ''}"
    meta = f"Each plan: {budget}, seed {p.seed}, engine {p.engine}; executor {report.run.executor} ({report.run.workers} worker(s)), {report.run.solve_wall_s:.1f} s.\n\n"
    return title + meta + "\n".join(lines) + "\n\n## Variants\n\n" + "\n".join(notes) + "\n"


def _draw_maps(name: str, world: World, plan: Plan, directory: Path, title: str) -> list[str]:
    from copilot.apps import maps

    heading = f"{title or world.name} / {name}: {plan.vehicles_used} vehicles, {plan.distance_m / 1000:.1f} km, {len(plan.unassigned)} unassigned"
    return [str(maps.write_png(world, plan, directory / f"{name}.png", heading)), str(maps.write_html(world, plan, directory / f"{name}.html", heading))]


def write_report(report: ScenarioReport, out: Path, *, maps: bool = True) -> list[Path]:
    """Write comparison.csv, comparison.md, plots/*.png, maps/<variant>.png|.html and report.json into ``out``; returns the files."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    rows = table_rows(report)
    csv_path = out / "comparison.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(_COLUMNS))
        writer.writeheader()
        writer.writerows([{k: "" if v is None else v for k, v in r.items()} for r in rows])
    files.append(csv_path)
    md = out / "comparison.md"
    md.write_text(markdown_table(report), encoding="utf-8")
    files.append(md)
    files += write_plots(report, out / "plots")
    if maps:
        for r in report.rows:
            if r.status != "ok":
                continue
            if not r.maps or not all(Path(m).exists() for m in r.maps):
                if r.variant not in report._plans:
                    continue
                world, plan = report._plans[r.variant]
                r.maps = _draw_maps(r.variant, world, plan, out / "maps", report.name)
            files += [Path(m) for m in r.maps]
    js = out / "report.json"
    report.files = [str(f) for f in [*files, js]]
    js.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    files.append(js)
    return files


def write_plots(report: ScenarioReport, directory: Path) -> list[Path]:
    """Bar charts per variant: distance, unassigned orders, vehicles used, on-time share and utilisation (matplotlib, Agg)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigurationError("scenario plots need matplotlib: pip install 'logistics-copilot[scenario]'") from exc
    directory.mkdir(parents=True, exist_ok=True)
    ok = [r for r in report.rows if r.kpis is not None]
    names = [r.variant for r in ok]
    files: list[Path] = []

    def bars(values: Sequence[float], title: str, ylabel: str, filename: str, fmt: str) -> None:
        fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(names) + 2), 4.5))
        colors = ["#7f7f7f" if n == BASE else "#1f77b4" for n in names]
        drawn = ax.bar(names, values, color=colors)
        ax.bar_label(drawn, labels=[fmt.format(v) for v in values], fontsize=8)
        if names and names[0] == BASE:
            ax.axhline(values[0], color="#7f7f7f", linestyle="--", linewidth=1)
        ax.set_title(f"{report.name}: {title}")
        ax.set_ylabel(ylabel)
        ax.tick_params(axis="x", labelrotation=30)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
        fig.tight_layout()
        path = directory / filename
        fig.savefig(path, dpi=100)
        plt.close(fig)
        files.append(path)

    if not ok:
        return files
    kp = [r.kpis for r in ok if r.kpis is not None]
    bars([k.total_distance_km for k in kp], "total distance per variant", "km", "distance_km.png", "{:.1f}")
    bars([k.unassigned_count for k in kp], "unassigned orders per variant", "orders", "unassigned.png", "{:.0f}")
    bars([k.vehicles_used for k in kp], "vehicles used per variant", "vehicles", "vehicles_used.png", "{:.0f}")
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(names) + 2), 4.5))
    xs = list(range(len(names)))
    width = 0.4
    on_time = [100 * (k.on_time_share or 0.0) for k in kp]
    util = [100 * (k.utilisation or 0.0) for k in kp]
    a = ax.bar([x - width / 2 for x in xs], on_time, width, label="on-time share", color="#2ca02c")
    b = ax.bar([x + width / 2 for x in xs], util, width, label="utilisation", color="#ff7f0e")
    ax.bar_label(a, labels=[f"{v:.0f}" for v in on_time], fontsize=7)
    ax.bar_label(b, labels=[f"{v:.0f}" for v in util], fontsize=7)
    ax.set_xticks(xs, names, rotation=30, ha="right")
    ax.set_ylim(0, 110)
    ax.set_ylabel("%")
    ax.set_title(f"{report.name}: on-time share and utilisation")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = directory / "service.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    files.append(path)
    return files


def summary_lines(report: ScenarioReport) -> Iterable[str]:
    """Short text lines for the terminal: one per row."""
    for r in report.rows:
        if r.kpis is None:
            yield f"{r.variant:<20} failed: {r.error}"
            continue
        k, d = r.kpis, r.deltas
        delta = "" if d is None or r.variant == BASE else f"  (Δ km {d.total_distance_km:+.1f}, Δ unassigned {d.unassigned_count:+d})"
        share = "-" if k.on_time_share is None else f"{100 * k.on_time_share:.1f}%"
        yield f"{r.variant:<20} {k.vehicles_used:>2} vehicles {k.total_distance_km:>8.1f} km {k.unassigned_count:>3} unassigned  on-time {share}{delta}"
