"""The uptime arithmetic (admin_app/uptime.py): ISO 8601 in and out, merging of
overlapping and duplicated records, open incidents, maintenance, clipping to the
range, and the figures, checked by hand and against a brute-force count of minutes
on random histories."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from admin_app.uptime import (
    DOWN,
    MAINTENANCE,
    UP,
    OutageRecord,
    Segment,
    TimestampError,
    analyse,
    format_timestamp,
    merge_outages,
    parse_timestamp,
    parse_window,
    summarize,
    timeline,
)

T0 = datetime(2024, 5, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=10)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def rec(start: float, end: float | None, reason: str = "", maintenance: bool = False):
    return OutageRecord(at(start), None if end is None else at(end), reason, maintenance)


def spans(segments: list[Segment]) -> list[tuple[str, float, float, str]]:
    return [
        (
            s.state,
            (s.start - T0) / timedelta(minutes=1),
            (s.end - T0) / timedelta(minutes=1),
            s.reason,
        )
        for s in segments
    ]


# --------------------------------------------------------------------------- ISO 8601


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T07:30:00-04:30", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01 12:00:00.250000+00:00", datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)),
        ("  2024-05-01T12:00Z ", datetime(2024, 5, 1, 12, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_accepts_z_and_offsets(text: str, expected: datetime) -> None:
    value = parse_timestamp(text)
    assert value == expected and value.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2024-05-01T12:00:00", "no time zone"),
        ("2024-05-01", "no time zone"),
        ("yesterday", "not an ISO 8601 timestamp"),
        ("1714564800", "not an ISO 8601 timestamp"),
        ("2024-13-01T00:00:00Z", "not an ISO 8601 timestamp"),
        ("", "not an ISO 8601 timestamp"),
        ("2024-05-01T12:00:00+25:00", "not an ISO 8601 timestamp"),
        ("0001-01-01T00:00:00+01:00", "out of range"),
    ],
)
def test_parse_timestamp_rejects_naive_and_garbage(text: str, says: str) -> None:
    with pytest.raises(TimestampError, match=says):
        parse_timestamp(text)


def test_format_timestamp_is_utc_with_z() -> None:
    assert format_timestamp(datetime(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2)))) == (
        "2024-05-01T12:00:00Z"
    )
    assert format_timestamp(datetime(2024, 5, 1, 12, 0, 0, 5, tzinfo=UTC)) == (
        "2024-05-01T12:00:00.000005Z"
    )
    with pytest.raises(TimestampError):
        format_timestamp(datetime(2024, 5, 1))
    text = "2024-02-29T23:59:59.123456Z"
    assert format_timestamp(parse_timestamp(text)) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("30d", timedelta(days=30)),
        ("90d", timedelta(days=90)),
        ("2w", timedelta(days=14)),
        ("90m", timedelta(minutes=90)),
    ],
)
def test_parse_window(text: str, expected: timedelta) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", ["", "24", "0d", "-1d", "1.5h", "1y", "7 d", "99999w", "d7"])
def test_parse_window_rejects(text: str) -> None:
    with pytest.raises(TimestampError):
        parse_window(text)


# --------------------------------------------------------------------------- merging


def test_overlapping_duplicated_and_touching_records_merge() -> None:
    records = [
        rec(50, 70, "dns"),
        rec(0, 10, "timeout"),
        rec(0, 10, "timeout"),  # a retried webhook's duplicate
        rec(5, 20, "connect"),  # overlaps
        rec(20, 30, "timeout"),  # touches
        rec(55, 60, "dns"),  # contained
        rec(31, 32, "tls"),  # a gap of one minute: separate
    ]
    merged = merge_outages(records, NOW)
    assert [(o.start, o.end, o.reason, o.records) for o in merged] == [
        (at(0), at(30), "timeout, connect", 4),
        (at(31), at(32), "tls", 1),
        (at(50), at(70), "dns", 2),
    ]
    assert not any(o.open or o.maintenance for o in merged)


def test_open_record_runs_to_now_and_future_records_are_ignored() -> None:
    now = at(100)
    merged = merge_outages(
        [
            rec(90, None, "timeout"),
            rec(95, 99, "dns"),
            rec(100, None),  # starts at now: nothing yet
            rec(120, 130),  # from a skewed clock: after now
            rec(40, 30),  # ends before it starts
        ],
        now,
    )
    assert [(o.start, o.end, o.open, o.reason) for o in merged] == [
        (at(90), now, True, "timeout, dns")
    ]
    # a record "ending" after now is still going on
    (late,) = merge_outages([rec(90, 200)], now)
    assert late.end == now and late.open


def test_down_wins_over_maintenance_where_they_overlap() -> None:
    merged = merge_outages(
        [rec(0, 60, "deploy", maintenance=True), rec(20, 30, "timeout"), rec(50, 80, "dns")],
        NOW,
    )
    assert [(o.start, o.end, o.maintenance, o.reason) for o in merged] == [
        (at(0), at(20), True, "deploy"),
        (at(20), at(30), False, "timeout"),
        (at(30), at(50), True, "deploy"),
        (at(50), at(80), False, "dns"),
    ]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(TimestampError):
        merge_outages([OutageRecord(datetime(2024, 5, 1), None)], NOW)
    with pytest.raises(TimestampError):
        summarize([], T0, NOW, datetime(2024, 5, 2))


# --------------------------------------------------------------------------- timeline


def test_timeline_covers_the_range_exactly_and_clips_edges() -> None:
    records = [
        rec(-30, 10, "before the range"),
        rec(100, 110, "timeout"),
        rec(200, 260, "deploy", maintenance=True),
        rec(290, 400, "after the end"),
    ]
    assert spans(timeline(records, at(0), at(300), NOW)) == [
        (DOWN, 0, 10, "before the range"),
        (UP, 10, 100, ""),
        (DOWN, 100, 110, "timeout"),
        (UP, 110, 200, ""),
        (MAINTENANCE, 200, 260, "deploy"),
        (UP, 260, 290, ""),
        (DOWN, 290, 300, "after the end"),
    ]


def test_timeline_without_incidents_is_one_up_interval() -> None:
    assert spans(timeline([], at(0), at(60), NOW)) == [(UP, 0, 60, "")]


def test_range_is_cut_at_now_and_at_monitoring_start() -> None:
    now = at(120)
    analysis = analyse([rec(100, None, "timeout")], at(0), at(600), now, monitored_since=at(30))
    assert spans(analysis.segments) == [(UP, 30, 100, ""), (DOWN, 100, 120, "timeout")]
    s = analysis.summary
    assert (s.start, s.end) == (at(30), now)
    assert s.down == timedelta(minutes=20) and s.incidents == 1
    # an empty range: a site added after it, or a range in the future
    empty = summarize([], at(0), at(60), NOW, monitored_since=at(90))
    assert empty.total == timedelta(0) and empty.uptime_percent is None and empty.mttr is None
    assert timeline([], at(0), at(60), at(-5)) == []


def test_offsets_in_the_input_give_the_same_result() -> None:
    plus2 = timezone(timedelta(hours=2))
    a = summarize([rec(10, 20)], at(0), at(60), NOW)
    b = summarize(
        [OutageRecord(at(10).astimezone(plus2), at(20).astimezone(plus2))],
        at(0).astimezone(plus2),
        at(60).astimezone(plus2),
        NOW.astimezone(plus2),
    )
    assert a == b and a.start.tzinfo is UTC


# --------------------------------------------------------------------------- figures


def test_figures_by_hand() -> None:
    # A day; outages of 30 min (straddling the start: 20 min inside), 10 min and
    # 1 h of maintenance during which it was down for 15 min; one open for 5 min.
    day_start, now = at(0), at(24 * 60)
    records = [
        rec(-10, 20, "timeout"),
        rec(600, 610, "dns"),
        rec(600, 605, "dns"),  # duplicate part
        rec(700, 715, "deploy", maintenance=True),
        rec(24 * 60 - 5, None, "connect"),
    ]
    s = summarize(records, day_start, at(24 * 60), now)
    assert s.incidents == 3
    assert s.down == timedelta(minutes=20 + 10 + 5)
    assert s.maintenance == timedelta(minutes=15)
    assert s.monitored == timedelta(minutes=24 * 60 - 15)
    assert s.up == timedelta(minutes=24 * 60 - 15 - 35)
    assert s.uptime_percent == pytest.approx((1440 - 15 - 35) / (1440 - 15) * 100, abs=1e-12)
    assert s.mttr == timedelta(minutes=35) / 3
    assert s.longest_outage == timedelta(minutes=20)


def test_no_incidents_and_only_maintenance() -> None:
    clean = summarize([], at(0), at(60), NOW)
    assert clean.uptime_percent == 100.0 and clean.incidents == 0 and clean.mttr is None
    assert clean.longest_outage == timedelta(0)
    maint = summarize([rec(-5, 70, maintenance=True)], at(0), at(60), NOW)
    assert maint.monitored == timedelta(0) and maint.uptime_percent is None
    down = summarize([rec(-5, 70)], at(0), at(60), NOW)
    assert down.uptime_percent == 0.0 and down.incidents == 1


def test_exact_to_the_microsecond() -> None:
    start = T0
    records = [
        OutageRecord(start + timedelta(seconds=1, microseconds=1), start + timedelta(seconds=2)),
        OutageRecord(start + timedelta(seconds=3), start + timedelta(seconds=3, microseconds=7)),
    ]
    s = summarize(records, start, start + timedelta(seconds=10), NOW)
    assert s.down == timedelta(microseconds=999_999 + 7)
    assert s.up + s.down == timedelta(seconds=10)


def _brute_force(records: list[tuple[int, int | None, bool]], start: int, end: int, now: int):
    """Minute by minute: down if any ordinary record covers it, else maintenance if
    a maintenance record does, else up."""
    end = min(end, now)
    states = []
    for minute in range(start, end):
        covering = [m for s, e, m in records if s <= minute < (now if e is None else min(e, now))]
        if any(not m for m in covering):
            states.append(DOWN)
        elif covering:
            states.append(MAINTENANCE)
        else:
            states.append(UP)
    outages = sum(
        1 for i, st in enumerate(states) if st == DOWN and (i == 0 or states[i - 1] != DOWN)
    )
    return states.count(UP), states.count(DOWN), states.count(MAINTENANCE), outages


@pytest.mark.parametrize("seed", range(40))
def test_random_histories_match_a_minute_by_minute_count(seed: int) -> None:
    rng = random.Random(seed)
    now = rng.randint(200, 1500)
    raw: list[tuple[int, int | None, bool]] = []
    for _ in range(rng.randint(0, 25)):
        s = rng.randint(-100, 1500)
        e = None if rng.random() < 0.1 else s + rng.randint(0, 120)
        raw.append((s, e, rng.random() < 0.25))
    start = rng.randint(-50, 600)
    end = start + rng.randint(1, 1000)
    records = [rec(s, e, maintenance=m) for s, e, m in raw]
    up, down, maint, outages = _brute_force(raw, start, end, now)
    summary = summarize(records, at(start), at(end), at(now))
    assert summary.up == timedelta(minutes=up)
    assert summary.down == timedelta(minutes=down)
    assert summary.maintenance == timedelta(minutes=maint)
    assert summary.incidents == outages
    segments = timeline(records, at(start), at(end), at(now))
    if segments:
        assert segments[0].start == at(start) and segments[-1].end == at(min(end, now))
        for a, b in pairwise(segments):
            assert a.end == b.start and a.state != b.state
