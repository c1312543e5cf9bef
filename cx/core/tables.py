"""Tables shown on dashboards and exported as CSV from the very same formatted cells.

A dashboard builds ``DataTable`` objects; the template ``core/partials/data_table.html`` renders one with an
"Export CSV" link (``?export=<slug>`` plus the page's own filters), and ``table_export_response`` answers that
link. Both go through ``DataTable.cells()``, so the file always matches the numbers on the screen.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

NO_DATA = "no data"


def _duration(value: Any) -> str:
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


FORMATS: dict[str, Callable[[Any], str]] = {
    "text": str,
    "int": lambda v: f"{round(float(v))}",
    "float1": lambda v: f"{float(v):.1f}",
    "float2": lambda v: f"{float(v):.2f}",
    "float3": lambda v: f"{float(v):.3f}",
    "pct": lambda v: f"{float(v):.1f}%",  # the value is already a percentage (0-100)
    "ratio_pct": lambda v: f"{float(v) * 100:.1f}%",  # the value is a ratio (0-1)
    "money": lambda v: f"{float(v):,.2f}",
    "duration": _duration,  # seconds or timedelta
    "date": lambda v: v.isoformat() if isinstance(v, date) and not isinstance(v, datetime)
    else timezone.localtime(v).strftime("%Y-%m-%d") if isinstance(v, datetime) else str(v),
    "datetime": lambda v: timezone.localtime(v).strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else str(v),
}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    fmt: str = "text"
    numeric: bool = False  # right-aligned on screen

    def format(self, value: Any) -> str:
        """A missing value (None or NaN) is shown and exported as "no data", never as 0."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return NO_DATA
        return FORMATS[self.fmt](value)


@dataclass
class DataTable:
    slug: str  # unique on its page: the ?export= value and the CSV file name
    title: str
    columns: Sequence[Column]
    rows: Sequence[dict[str, Any]]
    note: str = ""  # e.g. a small-sample warning or the definition of a metric
    links: dict[str, Callable[[dict[str, Any]], str]] = field(default_factory=dict)  # column key → row URL

    def __post_init__(self) -> None:
        unknown = {c.fmt for c in self.columns} - FORMATS.keys()
        if unknown:
            raise ValueError(f"unknown column format(s): {sorted(unknown)}")

    def cells(self) -> list[list[str]]:
        return [[column.format(row.get(column.key)) for column in self.columns] for row in self.rows]

    def display_rows(self) -> list[list[dict[str, Any]]]:
        """Cells with their column and optional link, for the template."""
        out = []
        for row, cells in zip(self.rows, self.cells(), strict=True):
            out.append([{"text": text, "numeric": column.numeric,
                         "url": self.links[column.key](row) if column.key in self.links else ""}
                        for column, text in zip(self.columns, cells, strict=True)])
        return out

    @property
    def is_empty(self) -> bool:
        return not self.rows


def table_csv(table: DataTable) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.label for column in table.columns])
    writer.writerows(table.cells())
    return buffer.getvalue()


def table_csv_response(table: DataTable) -> HttpResponse:
    response = HttpResponse(table_csv(table), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{table.slug}-{stamp}.csv"'
    return response


def table_export_response(request: HttpRequest, tables: Iterable[DataTable]) -> HttpResponse | None:
    """The CSV response when the request asks for one of these tables (``?export=<slug>``), else None.

    An unknown slug is a 404 so a stale link never downloads the wrong table.
    """
    wanted = request.GET.get("export")
    if not wanted:
        return None
    for table in tables:
        if table.slug == wanted:
            return table_csv_response(table)
    return HttpResponse(f"No table named {wanted!r} on this page.", status=404, content_type="text/plain")
