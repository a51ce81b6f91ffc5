"""Reading a benchmark file: its lines (gzip or not), the instance name, and errors that name the file and line."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from pathlib import Path

from copilot.core.errors import InputError
from copilot.core.routing import Matrix
from tools.instances.model import _num


def _read_lines(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read benchmark file ({e.strerror or e})") from e
    if path.name.endswith(".gz") or raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise InputError(f"{path}: not a valid gzip file ({e})") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.splitlines()


def instance_name(path: Path) -> str:
    """The instance name from its file name (``C101.txt`` -> ``C101``, ``bar-n100-1.txt.gz`` -> ``bar-n100-1``)."""
    name = path.name
    for suffix in (".gz", ".txt", ".vrp", ".TXT", ".VRP"):
        name = name.removesuffix(suffix)
    return name


class _Reader:
    """Helpers that name the file and line in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = _read_lines(path)

    def fail(self, lineno: int | None, msg: str) -> InputError:
        where = f"{self.path}:{lineno}" if lineno else str(self.path)
        return InputError(f"{where}: {msg}")

    def ints(self, lineno: int, fields: Sequence[str], what: str) -> list[int]:
        try:
            return [int(f) for f in fields]
        except ValueError:
            raise self.fail(lineno, f"expected integers for {what}, got {' '.join(fields)!r}") from None

    def nums(self, lineno: int, fields: Sequence[str], what: str) -> list[int | float]:
        try:
            return [_num(f) for f in fields]
        except ValueError:
            raise self.fail(lineno, f"expected numbers for {what}, got {' '.join(fields)!r}") from None


def _check_ids(r: _Reader, ids: Sequence[tuple[int, int]]) -> None:
    """Node ids must be 0..n in file order (so that node number = matrix index)."""
    for expected, (lineno, node_id) in enumerate(ids):
        if node_id != expected:
            raise r.fail(lineno, f"node id {node_id} out of order (expected {expected}; the depot is node 0, then 1..n)")


def _euclid_matrix(coords: Sequence[tuple[float, float]], arc: Callable[[float, float], int]) -> Matrix:
    """Square matrix of ``arc(dx, dy)``, zero on the diagonal."""
    return tuple(tuple(0 if i == j else arc(xi - xj, yi - yj) for j, (xj, yj) in enumerate(coords)) for i, (xi, yi) in enumerate(coords))
