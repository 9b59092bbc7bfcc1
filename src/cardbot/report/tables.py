"""The report's tables: named columns and rows of aggregated figures, written as CSV files."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Table:
    """One table of the report; `name` is also its CSV file's stem."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def column(self, name: str) -> list[Any]:
        """Every value of one column, in row order."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


def table(name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table from any sequences."""
    return Table(name, tuple(columns), tuple(tuple(row) for row in rows))


def write_csv(folder: Path, tables: Iterable[Table]) -> list[Path]:
    """Write each table to `folder/<name>.csv` (UTF-8 with a BOM, so spreadsheets read
    Chinese right); returns the paths."""
    paths = []
    for each in tables:
        path = folder / f"{each.name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(each.columns)
            writer.writerows(each.rows)
        paths.append(path)
    return paths
