"""CSV helpers for importing worlds: every problem is collected with its file, row and column.

Row numbers are what a spreadsheet user sees: the header is row 1, the first data row is row 2.
Cell parsers never raise; on bad input they record a problem and return a placeholder, and the
caller asks :attr:`Row.ok` before building domain objects from the row.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date as _date
from pathlib import Path

from copilot.core.units import format_offset, format_time, parse_offset, parse_time

_OFFSET_AT_END_RE = re.compile(r"(Z|[+-]\d{2}:\d{2})$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_EXAMPLE = "2022-05-01T08:00:00+08:00"
MAX_PROBLEM_CHARS = 300


@dataclass
class Problems:
    """The located problems found so far, in the order found."""

    items: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        if len(message) > MAX_PROBLEM_CHARS:  # a bad cell can be megabytes long: quote its start only
            message = message[: MAX_PROBLEM_CHARS - 3] + "..."
        self.items.append(f"{where}: {message}")

    def __len__(self) -> int:
        return len(self.items)


def where(file: str, row: int | None = None, column: str | None = None) -> str:
    """``orders.csv row 5, column lat`` (parts left out when not known)."""
    text = file if row is None else f"{file} row {row}"
    return text if column is None else f"{text}, column {column}"


def is_valid_date(text: str) -> bool:
    """True for a real calendar date written ``YYYY-MM-DD``."""
    if not _DATE_RE.match(text):
        return False
    try:
        _date.fromisoformat(text)
    except ValueError:
        return False
    return True


class Clock:
    """Parses times and checks that every offset equals the world's time zone.

    With no time zone given, the first parsed time's offset becomes the world's (and its place is
    remembered to explain later disagreements).
    """

    def __init__(self, offset_s: int | None, source: str) -> None:
        self.offset_s = offset_s
        self.source = source
        self.first: int | None = None

    def parse(self, row: Row, column: str, text: str) -> int:
        t = text.strip()
        try:
            epoch = parse_time(t)
        except ValueError:
            row.bad(column, f"an ISO 8601 time with a UTC offset like {TIME_EXAMPLE}", text)
            return 0
        m = _OFFSET_AT_END_RE.search(t)
        assert m is not None  # parse_time accepted it, so it ends in an offset
        try:
            offset = 0 if m.group(1) == "Z" else parse_offset(m.group(1))
        except ValueError:
            row.bad(column, "a UTC offset between -14:00 and +14:00", text)
            return 0
        if self.offset_s is None:
            self.offset_s, self.source = offset, where(row.file, row.number, column)
        elif offset != self.offset_s:
            row.problem(
                column,
                f"wrong time zone: {t!r} has offset {format_offset(offset)} but the world's time zone is "
                f"{format_offset(self.offset_s)} (from {self.source}); write it as {format_time(epoch, self.offset_s)!r}",
            )
            return 0
        if self.first is None:
            self.first = epoch
        return epoch


@dataclass
class Row:
    """One data row of a CSV file, with typed accessors that record problems."""

    file: str
    number: int
    cells: dict[str, str]
    problems: Problems
    start: int = 0

    def __post_init__(self) -> None:
        self.start = len(self.problems)

    @property
    def ok(self) -> bool:
        """True while no problem has been recorded for this row."""
        return len(self.problems) == self.start

    def problem(self, column: str | None, message: str) -> None:
        self.problems.add(where(self.file, self.number, column), message)

    def bad(self, column: str, expected: str, got: str) -> None:
        self.problem(column, f"expected {expected}, got {got!r}")

    def raw(self, column: str) -> str:
        """The cell as written ("" when the column is absent)."""
        return self.cells.get(column, "")

    def has(self, column: str) -> bool:
        """True when the cell holds something other than spaces."""
        return self.raw(column).strip() != ""

    def ident(self, column: str) -> str:
        """A non-empty id (surrounding spaces are dropped)."""
        value = self.raw(column).strip()
        if not value:
            self.bad(column, "a non-empty id", self.raw(column))
        return value

    def real(self, column: str, expected: str, ok: Callable[[float], bool]) -> float:
        """A finite decimal number accepted by ``ok``."""
        text = self.raw(column)
        try:
            value = float(text.strip())
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not ok(value):
            self.bad(column, expected, text)
            return 0.0
        return value

    def whole(self, column: str, expected: str, ok: Callable[[int], bool], scale: int = 1) -> int:
        """A whole number accepted by ``ok``; with ``scale`` the cell times ``scale`` must be whole (minutes -> seconds)."""
        text = self.raw(column)
        try:
            value = float(text.strip()) * scale
        except ValueError:
            value = math.nan
        result = round(value) if math.isfinite(value) else 0
        if not math.isfinite(value) or abs(value - result) > 1e-6 or not ok(result):
            self.bad(column, expected, text)
            return 0
        return result

    def choice(self, column: str, options: Sequence[str], default: str | None = None) -> str:
        """One of ``options`` (case-insensitive); an empty cell gives ``default`` when there is one."""
        text = self.raw(column)
        value = text.strip().lower()
        if not value and default is not None:
            return default
        if value not in options:
            self.bad(column, " or ".join(options), text)
            return options[0]
        return value


def read_rows(path: Path, file: str, required: Sequence[str], optional: Sequence[str], problems: Problems) -> list[Row] | None:
    """The non-blank data rows of ``path``, or None when the file cannot be used at all (problem recorded)."""
    if not path.is_file():
        problems.add(file, f"file is missing (expected it at {path})")
        return None
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            records = list(csv.reader(f))
    except UnicodeDecodeError as exc:
        problems.add(file, f"expected UTF-8 text, found an undecodable byte at offset {exc.start}")
        return None
    except csv.Error as exc:
        problems.add(file, f"not a readable CSV file ({exc})")
        return None
    columns = ", ".join((*required, *optional))
    if not records or not any(c.strip() for c in records[0]):
        problems.add(where(file, 1), f"expected a header row with the columns {columns}, the first row is empty")
        return None
    header = [h.strip() for h in records[0]]
    before = len(problems)
    for i, name in enumerate(header):
        if name and name in header[:i]:
            problems.add(where(file, 1, name), "the column appears twice in the header")
    for name in required:
        if name not in header:
            problems.add(where(file, 1), f"missing required column {name} (the header has: {', '.join(header)})")
    if len(problems) > before:
        return None
    rows: list[Row] = []
    for number, record in enumerate(records[1:], start=2):
        if not any(c.strip() for c in record):
            continue
        if len(record) != len(header):
            problems.add(where(file, number), f"expected {len(header)} values like the header, got {len(record)}")
            continue
        rows.append(Row(file, number, dict(zip(header, record, strict=True)), problems))
    return rows
