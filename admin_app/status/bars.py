"""Uptime figures of the dashboard from the incident log: 24 hours, 30 days and a
bar of the last 90 days, one cell per UTC day. Pure: the arithmetic is
:mod:`admin_app.uptime`'s (the history API's and the reports'), "now" is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from admin_app.uptime import (
    ZERO,
    Outage,
    OutageRecord,
    Summary,
    build_timeline,
    effective_range,
    merge_outages,
    outages_in,
    summarize_segments,
)

BAR_DAYS = 90
DAY = timedelta(days=1)

# A day's cell: no data (not monitored yet, or all of it in maintenance), all up,
# a little down (at least 99 % up), or down for longer.
NODATA = "nodata"
UP_ALL = "up"
MINOR = "minor"
MAJOR = "major"
MAINTENANCE_ONLY = "maintenance"
MINOR_THRESHOLD = 0.99
NO_VALUE = "\u2013"  # an en dash: no figure


@dataclass(frozen=True, slots=True)
class DayCell:
    day: date
    summary: Summary
    level: str

    @property
    def uptime_percent(self) -> float | None:
        return self.summary.uptime_percent

    def title(self) -> str:
        """The cell's tooltip."""
        label = self.day.isoformat()
        s = self.summary
        if self.level == NODATA:
            return f"{label}: no data"
        if self.level == MAINTENANCE_ONLY:
            return f"{label}: in maintenance"
        pct = s.uptime_percent
        text = f"{label}: {format_percent(pct)} up"
        if s.incidents:
            text += f", {s.incidents} incident{'s' if s.incidents != 1 else ''}"
            text += f", down {format_duration(s.down)}"
        return text


@dataclass(frozen=True, slots=True)
class SiteUptime:
    day: Summary
    month: Summary
    cells: list[DayCell]


def level_of(summary: Summary) -> str:
    if summary.total <= timedelta(0):
        return NODATA
    ratio = summary.uptime_ratio
    if ratio is None:
        return MAINTENANCE_ONLY
    if summary.down <= timedelta(0):
        return UP_ALL
    return MINOR if ratio >= MINOR_THRESHOLD else MAJOR


def _summary(
    merged: Sequence[Outage], start: datetime, end: datetime, now: datetime, since: datetime | None
) -> Summary:
    eff_start, eff_end = effective_range(start, end, now, since)
    if not merged:  # the common day: up all the time it was watched
        return Summary(eff_start, max(eff_start, eff_end), up=max(eff_end - eff_start, ZERO))
    segments = build_timeline(outages_in(merged, eff_start, eff_end), eff_start, eff_end)
    return summarize_segments(segments, eff_start, eff_end)


def daily_cells(
    merged: Sequence[Outage],
    now: datetime,
    monitored_since: datetime | None,
    days: int = BAR_DAYS,
) -> list[DayCell]:
    """``days`` cells, oldest first, the last one today (up to ``now``)."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    first = today - (days - 1) * DAY
    # Outages are sorted and disjoint: walk them once instead of per day.
    cells: list[DayCell] = []
    i = 0
    for n in range(days):
        start = first + n * DAY
        end = start + DAY
        while i < len(merged) and merged[i].end <= start:
            i += 1
        j = i
        todays: list[Outage] = []
        while j < len(merged) and merged[j].start < end:
            todays.append(merged[j])
            j += 1
        summary = _summary(todays, start, end, now, monitored_since)
        cells.append(DayCell(start.date(), summary, level_of(summary)))
    return cells


def site_uptime(
    records: Iterable[OutageRecord],
    now: datetime,
    monitored_since: datetime | None,
    days: int = BAR_DAYS,
) -> SiteUptime:
    """The 24-hour and 30-day summaries and the daily bar of one site from its
    incident records (those overlapping the last ``days`` days are enough)."""
    merged = merge_outages(records, now)
    return SiteUptime(
        day=_summary(merged, now - timedelta(hours=24), now, now, monitored_since),
        month=_summary(merged, now - timedelta(days=30), now, now, monitored_since),
        cells=daily_cells(merged, now, monitored_since, days),
    )


def bar_start(now: datetime, days: int = BAR_DAYS) -> datetime:
    """The start of the oldest day of the bar: what must be read from the log."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    return min(today - (days - 1) * DAY, now - timedelta(days=30))


# --------------------------------------------------------------------------- formats


def format_percent(value: float | None) -> str:
    """``99.95 %``; ``100 %`` only when nothing was down; ``-`` without data."""
    if value is None:
        return NO_VALUE
    if value >= 100.0:
        return "100%"
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    if float(text) >= 100.0:  # 99.9996 must not round up to 100
        text = "99.999"
    return f"{text}%"


def format_duration(value: timedelta | float | None) -> str:
    """``3d 4h``, ``2h 5m``, ``4m 12s``, ``12s``, ``0s``."""
    if value is None:
        return NO_VALUE
    total = round(value.total_seconds() if isinstance(value, timedelta) else value)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"
