"""The downtime report as CSV, streamed in pieces of about 64 KiB.

By default two tables, one after the other, each with its header row and separated
by one empty line: the incidents (one row per outage, ``INCIDENT_COLUMNS``) and the
per-site summary (``SUMMARY_COLUMNS``). ``part="incidents"`` or ``part="summary"``
gives that table alone, for tools that read one table per file.

Timestamps are ISO 8601 UTC with ``Z``; an open incident has an empty ``end`` and
its ``duration_seconds`` runs to now. Lengths are seconds (fractions only when there
are some); ``maintenance`` is ``true``/``false``; a missing value is empty. Text that
a spreadsheet would take for a formula (``=``, ``+``, ``-``, ``@`` first) is
prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta

from admin_app.reports.data import (
    INCIDENT_COLUMNS,
    SUMMARY_COLUMNS,
    DowntimeReport,
    IncidentRow,
    SiteSummary,
)
from admin_app.uptime import format_timestamp

MEDIA_TYPE = "text/csv; charset=utf-8"
EXTENSION = "csv"
PARTS = ("all", "incidents", "summary")
CHUNK = 64 * 1024
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def number_of_seconds(value: timedelta | None) -> str:
    if value is None:
        return ""
    micro = value // timedelta(microseconds=1)
    whole, frac = divmod(micro, 1_000_000)
    return str(whole) if not frac else f"{micro / 1_000_000:.6f}".rstrip("0")


def incident_cells(row: IncidentRow) -> list[str]:
    return [
        text(row.site.slug),
        text(row.site.name),
        format_timestamp(row.start),
        "" if row.end is None else format_timestamp(row.end),
        number_of_seconds(row.duration),
        number_of_seconds(row.in_range),
        text(row.reason),
        "true" if row.maintenance else "false",
        row.status,
    ]


def summary_cells(item: SiteSummary) -> list[str]:
    s = item.summary
    percent = s.uptime_percent
    return [
        text(item.site.slug),
        text(item.site.name),
        format_timestamp(s.start),
        format_timestamp(s.end),
        "" if percent is None else repr(percent),
        str(s.incidents),
        number_of_seconds(s.down),
        number_of_seconds(s.maintenance),
        number_of_seconds(s.monitored),
        number_of_seconds(s.mttr),
        number_of_seconds(s.longest_outage),
    ]


def render(report: DowntimeReport, part: str = "all") -> Iterator[bytes]:
    """The CSV file as UTF-8 pieces; the report's rows are read as it goes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def drain() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return data

    if part in ("all", "incidents"):
        writer.writerow(INCIDENT_COLUMNS)
        for row in report.rows():
            writer.writerow(incident_cells(row))
            if buffer.tell() >= CHUNK:
                yield drain()
    else:
        for _ in report.rows():  # the summaries are made while the rows go by
            pass
    if part == "all":
        buffer.write("\r\n")
    if part in ("all", "summary"):
        writer.writerow(SUMMARY_COLUMNS)
        for item in report.summaries:
            writer.writerow(summary_cells(item))
    yield drain()
