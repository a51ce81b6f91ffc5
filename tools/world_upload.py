"""A whole world sent as text (the partner CSV files and world.json), read with :func:`tools.world_io.read_world`.

What an HTTP or MCP caller sends instead of a folder: the same files, the same rules and the same
located problems (:class:`copilot.core.errors.ImportFailed`).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from copilot.core.domain import World
from copilot.core.errors import ImportFailed
from tools.world_io import read_world

# A world sent over the API is planned and listed within requests: its size is bounded (a bigger day is
# split by depot or region into several worlds).
MAX_DEPOTS = 50
MAX_VEHICLES = 500
MAX_ORDERS = 5000
MAX_HISTORY_ROWS = 200_000
WORLD_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


class WorldUpload(BaseModel):
    """A world in the partner CSV format: each file's whole text (see shared/eval/README.md for the columns)."""

    name: str = Field(pattern=WORLD_NAME_PATTERN, description="the world's name: letters, digits, '.', '_' or '-' (world.json's name is ignored)")
    world: dict[str, Any] = Field(default_factory=dict, description="world.json: city, date (ISO) and timezone (e.g. +08:00)")
    depots_csv: str = Field(description="depots.csv: depot_id,name,lat,lng,open,close")
    vehicles_csv: str = Field(description="vehicles.csv: vehicle_id,depot_id,capacity,shift_start,shift_end,speed_kmh,cost_per_km,skills,driver")
    orders_csv: str = Field(description="orders.csv: order_id,kind,customer,lat,lng,demand,service_min,tw_start,tw_end,priority,required_skill,notes")
    history_csv: str | None = Field(default=None, description="history.csv (optional): date,region,volume")
    replace: bool = Field(default=False, description="replace a stored world of this name, and its plans")


def read_uploaded_world(upload: WorldUpload, stored_name: str | None = None) -> World:
    """The uploaded world, named ``stored_name`` (default: ``upload.name``); ImportFailed lists every problem."""
    with tempfile.TemporaryDirectory(prefix="world-upload-") as tmp:
        folder = Path(tmp) / upload.name
        folder.mkdir()
        files = {"depots.csv": upload.depots_csv, "vehicles.csv": upload.vehicles_csv, "orders.csv": upload.orders_csv}
        if upload.history_csv is not None:
            files["history.csv"] = upload.history_csv
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        (folder / "world.json").write_text(json.dumps({**upload.world, "name": upload.name}), encoding="utf-8")
        world = read_world(folder)
    too_many = [f"{what}: {len(items)} rows, at most {cap} per world" for what, items, cap in (
        ("depots.csv", world.depots, MAX_DEPOTS), ("vehicles.csv", world.vehicles, MAX_VEHICLES), ("orders.csv", world.orders, MAX_ORDERS),
        ("history.csv", world.history, MAX_HISTORY_ROWS)) if len(items) > cap]
    if too_many:
        raise ImportFailed(too_many)
    return replace(world, name=stored_name or upload.name)
