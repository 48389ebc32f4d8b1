"""The downtime report as an Excel workbook, written with openpyxl's write-only
mode: rows go to disk as they are made, so memory stays flat however long the range.

Two sheets: "Summary" (first: one row per site) and "Incidents" (one row per
outage). Each has a bold header row, frozen, with an autofilter; dates are real date
cells (UTC: Excel has no time zones), lengths are numbers of seconds, plus a
duration (``[hh]:mm:ss``) column for people; column widths fit the content (sized before the
first row is written, from the site names and the longest reason in the range).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from admin_app.reports.data import DowntimeReport, IncidentRow, SiteSummary
from admin_app.uptime import seconds

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXTENSION = "xlsx"
PERCENT_FORMAT = "0.0000"
DATE_WIDTH = 20
MAX_TEXT_WIDTH = 60

INCIDENT_HEADERS: tuple[tuple[str, int], ...] = (
    ("Site ID", 10),
    ("Site name", 12),
    ("Start (UTC)", DATE_WIDTH),
    ("End (UTC)", DATE_WIDTH),
    ("Duration (s)", 13),
    ("Duration", 11),
    ("In range (s)", 13),
    ("Reason", 10),
    ("Maintenance", 13),
    ("Status", 8),
)
SUMMARY_HEADERS: tuple[tuple[str, int], ...] = (
    ("Site ID", 10),
    ("Site name", 12),
    ("From (UTC)", DATE_WIDTH),
    ("To (UTC)", DATE_WIDTH),
    ("Uptime (%)", 12),
    ("Incidents", 10),
    ("Downtime (s)", 13),
    ("Downtime", 11),
    ("Maintenance (s)", 16),
    ("Monitored (s)", 14),
    ("MTTR (s)", 10),
    ("Longest outage (s)", 19),
)


class _Writer:
    def __init__(self, ws: WriteOnlyWorksheet):
        self.ws = ws
        self.rows = 0
        self.bold = Font(bold=True)

    def cell(self, value: Any, number_format: str | None = None) -> Any:
        """A value as openpyxl should write it. Plain values are cheapest (openpyxl
        gives datetimes and timedeltas a date/duration format of its own); a cell
        object only where a format or a type must be forced."""
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)  # UTC; Excel has no time zones
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(self.ws, value)
            cell.data_type = "s"  # text that looks like a formula stays text
            return cell
        if number_format is None or value is None:
            return value
        cell = WriteOnlyCell(self.ws, value)
        cell.number_format = number_format
        return cell

    def setup(self, headers: tuple[tuple[str, int], ...], widths: dict[int, int]) -> None:
        for index, (title, width) in enumerate(headers, 1):
            wanted = max(width, len(title) + 2, widths.get(index, 0))
            self.ws.column_dimensions[get_column_letter(index)].width = min(wanted, MAX_TEXT_WIDTH)
        self.ws.freeze_panes = "A2"
        header = []
        for title, _ in headers:
            cell = WriteOnlyCell(self.ws, title)
            cell.font = self.bold
            header.append(cell)
        self.ws.append(header)
        self.columns = len(headers)

    def append(self, cells: list[Any]) -> None:
        self.ws.append(cells)
        self.rows += 1

    def finish(self) -> None:
        last = get_column_letter(self.columns)
        self.ws.auto_filter.ref = f"A1:{last}{self.rows + 1}"


def _seconds(value: timedelta | None) -> int | float | None:
    """A number of seconds: whole when it is whole."""
    if value is None:
        return None
    if value.microseconds == 0:
        return value // timedelta(seconds=1)
    return seconds(value)


def _incident(w: _Writer, row: IncidentRow) -> list[Any]:
    return [
        w.cell(row.site.slug),
        w.cell(row.site.name),
        w.cell(row.start),
        w.cell(row.end),
        _seconds(row.duration),
        w.cell(row.duration),
        _seconds(row.in_range),
        w.cell(row.reason),
        row.maintenance,
        row.status,
    ]


def _summary(w: _Writer, item: SiteSummary) -> list[Any]:
    s = item.summary
    return [
        w.cell(item.site.slug),
        w.cell(item.site.name),
        w.cell(s.start),
        w.cell(s.end),
        w.cell(s.uptime_percent, PERCENT_FORMAT),
        s.incidents,
        _seconds(s.down),
        w.cell(s.down),
        _seconds(s.maintenance),
        _seconds(s.monitored),
        _seconds(s.mttr),
        _seconds(s.longest_outage),
    ]


def render(report: DowntimeReport, out: IO[bytes]) -> None:
    """Write the workbook to the binary file ``out``."""
    wb = Workbook(write_only=True)
    summary = _Writer(wb.create_sheet("Summary"))
    incidents = _Writer(wb.create_sheet("Incidents"))
    slug_width = max((len(s.slug) for s in report.sites), default=0) + 2
    name_width = max((len(s.name) for s in report.sites), default=0) + 2
    widths = {1: slug_width, 2: name_width}
    summary.setup(SUMMARY_HEADERS, widths)
    incidents.setup(INCIDENT_HEADERS, {**widths, 8: report.longest_reason() + 2})
    for row in report.rows():
        incidents.append(_incident(incidents, row))
    for item in report.summaries:
        summary.append(_summary(summary, item))
    summary.finish()
    incidents.finish()
    wb.save(out)
