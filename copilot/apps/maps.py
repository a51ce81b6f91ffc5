"""Route maps of a plan: a PNG (matplotlib, the ``viz`` extra) and a self-contained HTML page (inline SVG,
works offline: no map tiles are fetched). Coordinates are drawn in an equirectangular projection."""

from __future__ import annotations

import html
import math
from pathlib import Path

from copilot.core.domain import Plan, World
from copilot.core.errors import ConfigurationError

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _paths(world: World, plan: Plan) -> list[tuple[str, list[tuple[float, float]]]]:
    """Each route as (vehicle id, [(lng, lat), ...]) from its depot, through its stops, back to the depot."""
    out: list[tuple[str, list[tuple[float, float]]]] = []
    for r in plan.routes:
        if not r.visits:
            continue
        depot = world.depot(world.vehicle(r.vehicle_id).depot_id).location
        pts = [(depot.lng, depot.lat)]
        pts += [(world.order(v.order_id).location.lng, world.order(v.order_id).location.lat) for v in r.visits]
        pts.append((depot.lng, depot.lat))
        out.append((r.vehicle_id, pts))
    return out


def write_png(world: World, plan: Plan, path: Path, title: str = "") -> Path:
    """Draw the plan's routes to a PNG file."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigurationError("PNG maps need matplotlib: pip install 'logistics-copilot[viz]'") from exc
    fig, ax = plt.subplots(figsize=(8, 8))
    for i, (vid, pts) in enumerate(_paths(world, plan)):
        xs, ys = zip(*pts, strict=True)
        ax.plot(xs, ys, "-o", color=PALETTE[i % len(PALETTE)], markersize=3, linewidth=1.2, label=f"{vid} ({len(pts) - 2} stops)")
    for d in world.depots:
        ax.plot(d.location.lng, d.location.lat, "ks", markersize=9)
    mid = sum(d.location.lat for d in world.depots) / max(len(world.depots), 1)
    ax.set_aspect(1 / math.cos(math.radians(mid)))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title or f"{world.name}: {plan.vehicles_used} vehicles, {plan.distance_m / 1000:.1f} km")
    ax.legend(fontsize=8, loc="best")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def write_html(world: World, plan: Plan, path: Path, title: str = "") -> Path:
    """Write the plan's routes as an HTML page with an inline SVG (hover a stop for its order id)."""
    paths = _paths(world, plan)
    pts = [p for _, ps in paths for p in ps] or [(d.location.lng, d.location.lat) for d in world.depots]
    lo_x, hi_x = min(x for x, _ in pts), max(x for x, _ in pts)
    lo_y, hi_y = min(y for _, y in pts), max(y for _, y in pts)
    mid = (lo_y + hi_y) / 2
    sx = math.cos(math.radians(mid))
    w, h, pad = 800, 800, 30
    span = max((hi_x - lo_x) * sx, hi_y - lo_y, 1e-9)

    def xy(lng: float, lat: float) -> tuple[float, float]:
        return pad + (lng - lo_x) * sx / span * (w - 2 * pad), h - pad - (lat - lo_y) / span * (h - 2 * pad)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" style="background:#fafafa">']
    legend = []
    for i, (vid, ps) in enumerate(paths):
        color = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*p) for p in ps))
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        route = next(r for r in plan.routes if r.vehicle_id == vid)
        for v, p in zip(route.visits, ps[1:-1], strict=True):
            x, y = xy(*p)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{html.escape(v.order_id)} ({html.escape(vid)})</title></circle>')
        legend.append(f'<li style="color:{color}">{html.escape(vid)}: {len(route.visits)} stops, {route.distance_m / 1000:.1f} km</li>')
    for d in world.depots:
        x, y = xy(d.location.lng, d.location.lat)
        parts.append(f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="black"><title>depot {html.escape(d.id)}</title></rect>')
    parts.append("</svg>")
    heading = html.escape(title or f"{world.name}: {plan.vehicles_used} vehicles, {plan.distance_m / 1000:.1f} km")
    head = f"<!doctype html><meta charset='utf-8'><title>{heading}</title><h1 style='font-family:sans-serif'>{heading}</h1>"
    page = f"{head}<ul style='font-family:sans-serif'>{''.join(legend)}</ul>{''.join(parts)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
