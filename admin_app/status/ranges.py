"""The time range of the history and reports pages, from their forms.

``window`` (``24h``, ``7d``, ``30d``, ``90d``: the last so long) or ``from``/``to``:
a date (``2024-05-01``, a whole UTC day; ``to`` includes its day), a
``datetime-local`` value (``2024-05-01T12:00``, taken as UTC) or an ISO 8601
timestamp with a zone. Pure: "now" is passed in. A bad value raises
:class:`RangeError` with a message for the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from admin_app.uptime import TimestampError, format_timestamp, parse_timestamp, parse_window

QUICK_WINDOWS = ("24h", "7d", "30d", "90d")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")
MAX_SPAN = timedelta(days=3660)


class RangeError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PageRange:
    start: datetime
    end: datetime
    window: str | None = None

    @property
    def from_date(self) -> str:
        return self.start.date().isoformat()

    @property
    def to_date(self) -> str:
        """The last day the range touches (the form's inclusive ``to``)."""
        last = self.end - timedelta(microseconds=1) if self.end > self.start else self.end
        return last.date().isoformat()

    def query(self) -> dict[str, str]:
        """``from``/``to`` as the API and the downloads take them."""
        return {"from": format_timestamp(self.start), "to": format_timestamp(self.end)}


def _moment(name: str, text: str, end_of_day: bool) -> datetime:
    raw = text.strip()
    if _DATE.match(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise RangeError(f"{name}: {raw!r} is not a date") from None
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start + timedelta(days=1) if end_of_day else start
    if _LOCAL.match(raw):
        try:
            return datetime.fromisoformat(raw.replace(" ", "T")).replace(tzinfo=UTC)
        except ValueError:
            raise RangeError(f"{name}: {raw!r} is not a date and time") from None
    try:
        return parse_timestamp(raw)
    except TimestampError as exc:
        raise RangeError(f"{name}: {exc}") from None


def page_range(args: Mapping[str, str], now: datetime, default_window: str) -> PageRange:
    window = (args.get("window") or "").strip()
    from_text = (args.get("from") or "").strip()
    to_text = (args.get("to") or "").strip()
    if not window and not from_text and not to_text:
        window = default_window
    if window:
        try:
            span = parse_window(window)
        except TimestampError as exc:
            raise RangeError(f"window: {exc}") from None
        return PageRange(now - span, now, window)
    end = _moment("to", to_text, end_of_day=True) if to_text else now
    start = _moment("from", from_text, end_of_day=False) if from_text else end - timedelta(days=1)
    if start >= end:
        raise RangeError("from must be before to")
    if end - start > MAX_SPAN:
        raise RangeError(f"the range is longer than {MAX_SPAN.days} days")
    return PageRange(start, end)
