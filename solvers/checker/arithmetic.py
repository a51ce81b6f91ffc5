"""The checker's own arithmetic: great-circle metres and driving seconds, deliberately not shared with :mod:`copilot.core.units`."""

from __future__ import annotations

import math

_EARTH_RADIUS_M = 6_371_008.8


def great_circle_m(lat_a: float, lng_a: float, lat_b: float, lng_b: float) -> int:
    """Haversine distance between two points in whole metres (Earth radius 6371008.8 m)."""
    phi_a = lat_a * math.pi / 180.0
    phi_b = lat_b * math.pi / 180.0
    half_dphi = (phi_b - phi_a) / 2.0
    half_dlam = (lng_b - lng_a) * math.pi / 360.0
    h = math.sin(half_dphi) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(half_dlam) ** 2
    h = min(1.0, max(0.0, h))
    return round(2.0 * _EARTH_RADIUS_M * math.asin(math.sqrt(h)))


def drive_seconds(metres: int, speed_kmh: float) -> int:
    """Whole seconds (rounded up) to drive ``metres`` at ``speed_kmh``."""
    exact = metres * 3.6 / speed_kmh
    # a hair of slack so that 900.0000000001 s is not rounded up to 901 s
    return max(0, math.ceil(exact - 1e-9))
