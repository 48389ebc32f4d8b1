"""Uptime arithmetic: pure, exact functions over a site's outage records.

Nothing here touches Flask, the database or the clock: "now" is always passed in.
Inside, every instant is a timezone-aware UTC :class:`~datetime.datetime` and every
length a :class:`~datetime.timedelta`, so sums are exact to the microsecond; seconds
(floats) appear only when a result is turned into JSON, CSV or Excel.

The model
---------
An :class:`OutageRecord` is one row of the incident log: a start, an end (``None``
while it is still open), a reason, and whether the site was in maintenance. From a
list of them:

* :func:`merge_outages` makes disjoint :class:`Outage` s. Overlapping, touching and
  duplicated records become one outage (reasons kept, each once, in order); an open
  record runs to ``now``; records starting after ``now`` are ignored. Where a
  maintenance record and an ordinary one overlap, the ordinary (down) one wins: a
  recorded outage is never hidden by maintenance.
* :func:`effective_range` is the part of a requested range that can be measured: not
  before the site was first monitored, not after ``now``.
* :func:`build_timeline` cuts that range into ``up``, ``down`` and ``maintenance``
  :class:`Segment` s covering it exactly, in order, with no two neighbours alike.
* :func:`summarize_segments` gives a :class:`Summary`:

  - ``down``: the time in ``down`` segments; ``maintenance`` likewise;
  - ``monitored = total - maintenance`` (maintenance is left out of the
    denominator; the site being *up* while in maintenance still counts as up, only
    an outage during maintenance is excluded);
  - ``uptime_ratio = up / monitored`` (``None`` when nothing was monitored);
  - ``incidents``: the outages that overlap the range;
  - ``longest_outage`` and ``mttr`` (mean time to recovery): both over the outages'
    parts *inside the range*, an open outage counted to ``now``; ``mttr`` is
    ``down / incidents`` (``None`` without incidents).

:func:`timeline` and :func:`summarize` do all of it from the records in one call.

ISO 8601 in and out: :func:`parse_timestamp` accepts ``Z`` and numeric offsets and
rejects naive or malformed text with a :class:`TimestampError` whose message a
client can act on; :func:`format_timestamp` writes UTC with a ``Z``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

State = Literal["up", "down", "maintenance"]
UP: State = "up"
DOWN: State = "down"
MAINTENANCE: State = "maintenance"

ZERO = timedelta(0)
REASON_SEPARATOR = ", "


# --------------------------------------------------------------------------- time


class TimestampError(ValueError):
    """Text that is not an ISO 8601 timestamp with a time zone, or a bad window."""


def ensure_utc(value: datetime, what: str = "timestamp") -> datetime:
    """``value`` converted to UTC; naive datetimes are refused, never guessed."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise TimestampError(f"{what} has no time zone")
    return value.astimezone(UTC)


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp with a time zone, as UTC.

    Accepts ``2024-05-01T12:00:00Z``, ``2024-05-01T14:00:00+02:00``, fractions of a
    second and a space instead of ``T``. A value without a time zone, a date alone
    and anything else raise :class:`TimestampError`.
    """
    if not isinstance(text, str):
        raise TimestampError("must be an ISO 8601 timestamp, e.g. 2024-05-01T12:00:00Z")
    raw = text.strip()
    if not raw or len(raw) > 64 or not raw[:4].isdigit():
        raise TimestampError(f"{text!r} is not an ISO 8601 timestamp (e.g. 2024-05-01T12:00:00Z)")
    candidate = raw[:-1] + "+00:00" if raw[-1] in "Zz" else raw
    try:
        value = datetime.fromisoformat(candidate)
    except ValueError:
        raise TimestampError(
            f"{text!r} is not an ISO 8601 timestamp (e.g. 2024-05-01T12:00:00Z)"
        ) from None
    if value.tzinfo is None:
        raise TimestampError(
            f"{text!r} has no time zone: add Z for UTC or an offset such as +02:00"
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise TimestampError(f"{text!r} is out of range") from None


def format_timestamp(value: datetime) -> str:
    """UTC ISO 8601 with ``Z``; microseconds only when there are some."""
    value = ensure_utc(value)
    spec = "microseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


_WINDOW_RE = re.compile(r"^([1-9][0-9]{0,5})([mhdw])$")
_UNIT = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_WINDOW = timedelta(days=3660)


def parse_window(text: str) -> timedelta:
    """``24h``, ``7d``, ``30d``, ``90d`` (any whole number of m, h, d or w)."""
    match = _WINDOW_RE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise TimestampError(
            f"{text!r} is not a window: use a whole number and a unit m, h, d or w "
            "(24h, 7d, 30d, 90d)"
        )
    window = timedelta(seconds=int(match.group(1)) * _UNIT[match.group(2)])
    if window > MAX_WINDOW:
        raise TimestampError(f"{text!r} is longer than {MAX_WINDOW.days} days")
    return window


def seconds(value: timedelta) -> float:
    """A length in seconds (exact for whole seconds; microseconds as a fraction)."""
    return value.total_seconds()


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class OutageRecord:
    """One row of the incident log (``end`` is ``None`` while it is open)."""

    start: datetime
    end: datetime | None = None
    reason: str = ""
    maintenance: bool = False


@dataclass(frozen=True, slots=True)
class Outage:
    """A merged outage: disjoint from every other outage of the same site.

    ``end`` is where it ended, or ``now`` when ``open``; ``records`` is how many
    records were merged into it.
    """

    start: datetime
    end: datetime
    reason: str = ""
    maintenance: bool = False
    open: bool = False
    records: int = 1

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def overlap(self, start: datetime, end: datetime) -> timedelta:
        """How much of this outage lies inside ``[start, end)``."""
        return max(ZERO, min(self.end, end) - max(self.start, start))


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the timeline in one state; ``reason`` for down and maintenance."""

    state: State
    start: datetime
    end: datetime
    reason: str = ""

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Summary:
    """The uptime figures of one site over ``[start, end)`` (see the module doc)."""

    start: datetime
    end: datetime
    up: timedelta = ZERO
    down: timedelta = ZERO
    maintenance: timedelta = ZERO
    incidents: int = 0
    longest_outage: timedelta = ZERO

    @property
    def total(self) -> timedelta:
        return max(ZERO, self.end - self.start)

    @property
    def monitored(self) -> timedelta:
        """The denominator: the range without the maintenance time."""
        return self.total - self.maintenance

    @property
    def uptime_ratio(self) -> float | None:
        if self.monitored <= ZERO:
            return None
        return self.up / self.monitored

    @property
    def uptime_percent(self) -> float | None:
        ratio = self.uptime_ratio
        return None if ratio is None else ratio * 100.0

    @property
    def mttr(self) -> timedelta | None:
        """Mean time to recovery: the mean in-range length of the outages."""
        if not self.incidents:
            return None
        return self.down / self.incidents


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything about one site and range: outages overlapping it, the timeline,
    the summary."""

    outages: list[Outage] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    summary: Summary | None = None


# --------------------------------------------------------------------------- merging


def _join_reasons(reasons: Iterable[str]) -> str:
    seen: dict[str, None] = {}
    for reason in reasons:
        for part in reason.split(REASON_SEPARATOR) if reason else ():
            part = part.strip()
            if part:
                seen.setdefault(part, None)
    return REASON_SEPARATOR.join(seen)


def _merge_one_kind(
    records: Iterable[tuple[datetime, datetime, str, bool]], maintenance: bool
) -> list[Outage]:
    """Union of intervals ``(start, end, reason, open)`` sorted by start."""
    out: list[Outage] = []
    cur_start: datetime | None = None
    cur_end = cur_start
    reasons: list[str] = []
    is_open = False
    count = 0
    for start, end, reason, rec_open in records:
        if cur_start is not None and cur_end is not None and start <= cur_end:
            if end > cur_end:
                cur_end = end
            reasons.append(reason)
            is_open = is_open or rec_open
            count += 1
            continue
        if cur_start is not None and cur_end is not None:
            out.append(
                Outage(cur_start, cur_end, _join_reasons(reasons), maintenance, is_open, count)
            )
        cur_start, cur_end, reasons, is_open, count = start, end, [reason], rec_open, 1
    if cur_start is not None and cur_end is not None:
        out.append(Outage(cur_start, cur_end, _join_reasons(reasons), maintenance, is_open, count))
    return out


def _subtract(pieces: list[Outage], cuts: Sequence[Outage]) -> list[Outage]:
    """``pieces`` minus the union of ``cuts`` (both sorted and disjoint)."""
    out: list[Outage] = []
    j = 0
    for piece in pieces:
        start = piece.start
        while j < len(cuts) and cuts[j].end <= start:
            j += 1
        k = j
        while k < len(cuts) and cuts[k].start < piece.end:
            cut = cuts[k]
            if cut.start > start:
                out.append(_with_span(piece, start, cut.start))
            start = max(start, cut.end)
            k += 1
        if start < piece.end:
            out.append(_with_span(piece, start, piece.end))
    return out


def _with_span(piece: Outage, start: datetime, end: datetime) -> Outage:
    return Outage(
        start,
        end,
        piece.reason,
        piece.maintenance,
        piece.open and end == piece.end,
        piece.records,
    )


def merge_outages(records: Iterable[OutageRecord], now: datetime) -> list[Outage]:
    """Disjoint outages, sorted by start, from possibly overlapping records.

    Open records end at ``now``; records that end before they start are taken as
    empty and dropped, as are records starting at or after ``now``. Down outages
    win over maintenance ones where they overlap.
    """
    now = ensure_utc(now, "now")
    down: list[tuple[datetime, datetime, str, bool]] = []
    maint: list[tuple[datetime, datetime, str, bool]] = []
    for rec in records:
        start = ensure_utc(rec.start, "start")
        if start >= now:
            continue
        end = now if rec.end is None else min(ensure_utc(rec.end, "end"), now)
        if end <= start:
            continue
        item = (start, end, rec.reason or "", rec.end is None or rec.end > now)
        (maint if rec.maintenance else down).append(item)
    down.sort(key=lambda r: (r[0], r[1]))
    maint.sort(key=lambda r: (r[0], r[1]))
    downs = _merge_one_kind(down, maintenance=False)
    maints = _subtract(_merge_one_kind(maint, maintenance=True), downs)
    return sorted(downs + maints, key=lambda o: o.start)


# --------------------------------------------------------------------------- ranges


def effective_range(
    start: datetime,
    end: datetime,
    now: datetime,
    monitored_since: datetime | None = None,
) -> tuple[datetime, datetime]:
    """The measurable part of ``[start, end)``: from ``monitored_since`` at the
    earliest, to ``now`` at the latest. May be empty (``start >= end``)."""
    start = ensure_utc(start, "from")
    end = min(ensure_utc(end, "to"), ensure_utc(now, "now"))
    if monitored_since is not None:
        start = max(start, ensure_utc(monitored_since, "monitored_since"))
    return start, end


def outages_in(outages: Sequence[Outage], start: datetime, end: datetime) -> list[Outage]:
    """The outages overlapping ``[start, end)`` by more than nothing, unclipped."""
    return [o for o in outages if o.start < end and o.end > start]


def build_timeline(outages: Sequence[Outage], start: datetime, end: datetime) -> list[Segment]:
    """``[start, end)`` as up/down/maintenance segments, in order, covering it exactly,
    from merged (disjoint) ``outages``. Empty when the range is."""
    if start >= end:
        return []
    segments: list[Segment] = []
    cursor = start
    for outage in outages_in(outages, start, end):
        seg_start = max(outage.start, start)
        seg_end = min(outage.end, end)
        if seg_start > cursor:
            segments.append(Segment(UP, cursor, seg_start))
        state: State = MAINTENANCE if outage.maintenance else DOWN
        last = segments[-1] if segments else None
        if last is not None and last.state == state and last.end == seg_start:
            # Touching pieces of one kind (a maintenance outage cut by nothing).
            segments[-1] = Segment(
                state, last.start, seg_end, _join_reasons([last.reason, outage.reason])
            )
        else:
            segments.append(Segment(state, seg_start, seg_end, outage.reason))
        cursor = seg_end
    if cursor < end:
        segments.append(Segment(UP, cursor, end))
    return segments


def summarize_segments(segments: Sequence[Segment], start: datetime, end: datetime) -> Summary:
    """The :class:`Summary` of a timeline made by :func:`build_timeline`."""
    up = down = maintenance = longest = ZERO
    incidents = 0
    for seg in segments:
        length = seg.duration
        if seg.state == UP:
            up += length
        elif seg.state == DOWN:
            down += length
            incidents += 1
            longest = max(longest, length)
        else:
            maintenance += length
    if start >= end:
        end = start
    return Summary(start, end, up, down, maintenance, incidents, longest)


# --------------------------------------------------------------------------- one call


def analyse(
    records: Iterable[OutageRecord],
    start: datetime,
    end: datetime,
    now: datetime,
    monitored_since: datetime | None = None,
) -> Analysis:
    """Merge ``records``, cut the effective range into a timeline and summarise it."""
    eff_start, eff_end = effective_range(start, end, now, monitored_since)
    merged = merge_outages(records, now)
    segments = build_timeline(merged, eff_start, eff_end)
    return Analysis(
        outages=outages_in(merged, eff_start, eff_end),
        segments=segments,
        summary=summarize_segments(segments, eff_start, eff_end),
    )


def timeline(
    records: Iterable[OutageRecord],
    start: datetime,
    end: datetime,
    now: datetime,
    monitored_since: datetime | None = None,
) -> list[Segment]:
    """The up/down/maintenance timeline of ``[start, end)`` from incident records."""
    return analyse(records, start, end, now, monitored_since).segments


def summarize(
    records: Iterable[OutageRecord],
    start: datetime,
    end: datetime,
    now: datetime,
    monitored_since: datetime | None = None,
) -> Summary:
    """Uptime, incidents, downtime, MTTR and longest outage of ``[start, end)``."""
    summary = analyse(records, start, end, now, monitored_since).summary
    assert summary is not None
    return summary


__all__ = [
    "DOWN",
    "MAINTENANCE",
    "UP",
    "ZERO",
    "Analysis",
    "Outage",
    "OutageRecord",
    "Segment",
    "State",
    "Summary",
    "TimestampError",
    "analyse",
    "build_timeline",
    "effective_range",
    "ensure_utc",
    "format_timestamp",
    "merge_outages",
    "outages_in",
    "parse_timestamp",
    "parse_window",
    "seconds",
    "summarize",
    "summarize_segments",
    "timeline",
]
