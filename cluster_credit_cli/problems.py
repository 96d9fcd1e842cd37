"""Validation problems as data (not exceptions): each one names file, sheet, row and column.

A ``Problems`` report is collected while reading, merging and scoring; it is shown as a table in
the terminal, written to the workbook and the JSON, and decides the exit code (1 when non-empty).
Row numbers are the spreadsheet's own (1-based, header rows counted) so a user can go straight
to the cell.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from cluster_credit_cli.text import cut

MAX_MESSAGE = 1000  # characters of a problem's message (it may quote a cell)
MAX_COLUMN = 120  # a header is a few words; a longer one is quoted in part


@dataclass(frozen=True)
class Problem:
    file: str
    sheet: str | None
    row: int | None
    column: str | None
    code: str
    message: str
    severity: str = "error"  # error | warning

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, file: str, sheet: str | None, row: int | None, column: str | None,
            code: str, message: str, severity: str = "error") -> None:
        # A message may quote a cell: a 250 MB line or a 32,767-character cell is cut to an
        # excerpt here, once, for every report (terminal, workbook, JSON, batch error report).
        if len(message) > MAX_MESSAGE:
            message = cut(message, MAX_MESSAGE)
        if column is not None and len(column) > MAX_COLUMN:
            column = cut(column, MAX_COLUMN)
        self.items.append(Problem(str(file), sheet, row, column, code, message, severity))

    def extend(self, other: "Problems | list[Problem]") -> None:
        self.items.extend(other.items if isinstance(other, Problems) else other)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def by_code(self) -> Counter:
        return Counter(p.code for p in self.items)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.items]


class UsageError(Exception):
    """A problem with how the tool was called or configured: exit code 2, no results."""


class ConfigError(UsageError):
    """The model/config file is invalid; the message names the file and the key."""
