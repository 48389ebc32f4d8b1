"""Query parameters of the history API and the reports, read one way everywhere.

Every bad value is a 400 ``invalid_parameter`` whose message starts with the
parameter's name and whose ``fields`` maps that name to what is wrong, e.g.
``{"error": {"code": "invalid_parameter", "message": "from: '2024-05-01' has no
time zone: add Z for UTC or an offset such as +02:00", "fields": {"from": ...}}}``.

"Now" comes from :func:`now`: the real clock, or ``app.config["CLOCK"]`` (a
callable returning an aware datetime) so that tests and the golden history can fix
it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app

from admin_app.errors import AppError
from admin_app.uptime import TimestampError, ensure_utc, parse_timestamp, parse_window


class InvalidParameter(AppError):
    def __init__(self, name: str, message: str):
        super().__init__(400, "invalid_parameter", f"{name}: {message}", fields={name: message})


def now() -> datetime:
    """The current time, UTC (``app.config["CLOCK"]`` when set)."""
    clock: Callable[[], datetime] | None = current_app.config.get("CLOCK")
    if clock is None:
        return datetime.now(UTC)
    return ensure_utc(clock(), "CLOCK")


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A requested range ``[start, end)``; ``window`` when it was given as one."""

    start: datetime
    end: datetime
    window: str | None = None


def _single(args: Any, name: str) -> str | None:
    values = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
    values = [v for v in values if v is not None]
    if not values:
        return None
    if len(values) > 1:
        raise InvalidParameter(name, "given more than once")
    value = values[0].strip()
    if not value:
        raise InvalidParameter(name, "is empty")
    return value


def timestamp_param(args: Mapping[str, str], name: str) -> datetime | None:
    raw = _single(args, name)
    if raw is None:
        return None
    try:
        return parse_timestamp(raw)
    except TimestampError as exc:
        raise InvalidParameter(name, str(exc)) from None


def time_range(
    args: Mapping[str, str],
    current: datetime,
    default_span: timedelta,
    allow_window: bool = False,
) -> TimeRange:
    """``from``/``to`` (ISO 8601 with a time zone), or ``window`` (``24h``, ``7d``,
    ``30d``, ``90d``) ending now when ``allow_window``.

    ``to`` defaults to now and ``from`` to ``to - default_span``; ``from`` must be
    before ``to``. A ``to`` in the future is allowed (the measured range stops now).
    """
    window_raw = _single(args, "window") if allow_window else None
    start = timestamp_param(args, "from")
    end = timestamp_param(args, "to")
    if window_raw is not None:
        if start is not None or end is not None:
            raise InvalidParameter("window", "give either window or from/to, not both")
        try:
            span = parse_window(window_raw)
        except TimestampError as exc:
            raise InvalidParameter("window", str(exc)) from None
        return TimeRange(current - span, current, window_raw)
    if end is None:
        end = current
    if start is None:
        try:
            start = end - default_span
        except OverflowError:
            raise InvalidParameter("to", "is too early (give from as well)") from None
    if start >= end:
        raise InvalidParameter("from", "must be before to")
    return TimeRange(start, end)


def site_params(args: Any, name: str = "site") -> list[str]:
    """A repeatable site id (``site=a&site=b`` or ``site=a,b``), each once, in order."""
    out: dict[str, None] = {}
    for raw in args.getlist(name):
        for part in raw.split(","):
            slug = part.strip()
            if not slug:
                raise InvalidParameter(name, "an empty site id was given")
            if len(slug) > 64:
                raise InvalidParameter(name, f"{slug[:20]!r}... is not a site id")
            out.setdefault(slug, None)
    return list(out)


def choice_param(args: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    raw = _single(args, name)
    if raw is None:
        return None
    if raw not in choices:
        raise InvalidParameter(name, f"{raw!r} is not one of: {', '.join(choices)}")
    return raw


def int_param(args: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = _single(args, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(name, f"{raw!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise InvalidParameter(name, f"must be between {minimum} and {maximum}")
    return value
