"""The status dashboard's pure parts: the state shown for a site, the live rows, the
event stream's events and lifetime, the 90-day bar and the figures' formats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from admin_app.alerts.events import status_text
from admin_app.status.bars import (
    MAINTENANCE_ONLY,
    MAJOR,
    MINOR,
    NODATA,
    UP_ALL,
    bar_start,
    format_duration,
    format_percent,
    site_uptime,
)
from admin_app.status.board import (
    BoardSnapshot,
    LiveRow,
    SiteFlags,
    build_snapshot,
    live_row,
    site_state,
)
from admin_app.status.events import StreamLimit, StreamSettings, diff_event, sse, stream
from admin_app.status.history_page import MIN_MARK, timeline_marks
from admin_app.status.live import LiveCache, LiveSnapshot, SiteLive
from admin_app.status.ranges import RangeError, page_range
from admin_app.uptime import OutageRecord, Segment

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
FLAGS = SiteFlags("shop", "Web shop", paused=False, maintenance=False)


# --------------------------------------------------------------------------- state


@pytest.mark.parametrize(
    ("flags", "live", "state"),
    [
        (FLAGS, SiteLive(up=1), "up"),
        (FLAGS, SiteLive(up=0, reason="timeout"), "down"),
        (FLAGS, None, "unknown"),
        (FLAGS, SiteLive(up=None), "unknown"),
        (SiteFlags("shop", "", paused=True, maintenance=False), SiteLive(up=0), "paused"),
        (SiteFlags("shop", "", paused=False, maintenance=True), SiteLive(up=0), "maintenance"),
        (FLAGS, SiteLive(up=1, maintenance=True), "maintenance"),
        (SiteFlags("shop", "", paused=True, maintenance=True), SiteLive(up=1), "paused"),
    ],
)
def test_site_state(flags: SiteFlags, live: SiteLive | None, state: str) -> None:
    assert site_state(flags, live) == state


def test_live_row_carries_response_time_since_and_reason() -> None:
    row = live_row(FLAGS, SiteLive(up=0, response_seconds=0.1234, since=1715342400, reason="dns"))
    assert row == LiveRow("down", 123.4, 1715342400, "dns", False)
    assert row.as_json() == {
        "state": "down",
        "response_ms": 123.4,
        "since": "2024-05-10T12:00:00Z",
        "reason": "dns",
        "probe_down": False,
    }
    # Up: no reason even if the last raw probe failed.
    assert live_row(FLAGS, SiteLive(up=1, reason="timeout")).reason == ""
    maint = live_row(SiteFlags("shop", "", False, True), SiteLive(up=0, reason="connect"))
    assert maint.state == "maintenance" and maint.probe_down and maint.reason == "connect"


def test_prometheus_down_makes_every_site_unknown_except_paused() -> None:
    sites = [FLAGS, SiteFlags("blog", "Blog", paused=True, maintenance=False)]
    snap = build_snapshot(sites, LiveSnapshot({}, ok=False, error="Prometheus at x is unreachable"))
    assert {s: r.state for s, r in snap.rows.items()} == {"shop": "unknown", "blog": "paused"}
    assert snap.prometheus_json() == {"ok": False, "error": "Prometheus at x is unreachable"}
    assert snap.counts() == {"up": 0, "down": 0, "maintenance": 0, "paused": 1, "unknown": 1}


# --------------------------------------------------------------------------- cache


def test_live_cache_fetches_once_per_ttl() -> None:
    t = [0.0]
    calls = []
    cache = LiveCache(lambda: calls.append(1) or len(calls), ttl=2.0, clock=lambda: t[0])
    assert cache.get() == 1 and cache.get() == 1 and cache.version == 1
    t[0] = 1.9
    assert cache.get() == 1
    t[0] = 2.0
    assert cache.get() == 2 and cache.version == 2
    cache.invalidate()
    assert cache.get() == 3


# --------------------------------------------------------------------------- events


def _snap(states: dict[str, str], ok: bool = True) -> BoardSnapshot:
    return BoardSnapshot(
        rows={s: LiveRow(st) for s, st in states.items()},
        names={s: s.title() for s in states},
        prometheus_ok=ok,
        prometheus_error="" if ok else "unreachable",
    )


def test_diff_event_sends_only_what_changed() -> None:
    old = _snap({"a": "up", "b": "up"})
    assert diff_event(old, _snap({"a": "up", "b": "up"}))[0] is None
    event, shown = diff_event(old, _snap({"a": "down", "b": "up", "c": "unknown"}))
    assert event is not None
    assert set(event["sites"]) == {"a", "c"} and event["sites"]["a"]["state"] == "down"
    assert event["added"] == ["c"] and event["removed"] == [] and event["names"] == {"c": "C"}
    assert event["counts"]["down"] == 1
    assert {s: r.state for s, r in shown.rows.items()} == {"a": "down", "b": "up", "c": "unknown"}
    gone, shown = diff_event(old, _snap({"a": "up"}))
    assert gone is not None and gone["removed"] == ["b"] and set(shown.rows) == {"a"}
    prom, _ = diff_event(old, _snap({"a": "up", "b": "up"}, ok=False))
    assert prom is not None and prom["prometheus"] == {"ok": False, "error": "unreachable"}


def _timed(ms: dict[str, float | None]) -> BoardSnapshot:
    return BoardSnapshot(rows={s: LiveRow("up", v) for s, v in ms.items()}, names={})


def test_response_times_are_sent_only_when_asked_and_when_they_moved() -> None:
    shown = _timed({"a": 100.0, "b": 100.0, "c": None})
    new = _timed({"a": 104.0, "b": 150.0, "c": 20.0})
    assert diff_event(shown, new, include_response=False)[0] is None
    event, after = diff_event(shown, new, include_response=True)
    assert event is not None and set(event["sites"]) == {"b", "c"}  # a moved by 4 %
    assert after.rows["a"].response_ms == 100.0  # what the viewer still has
    assert after.rows["b"].response_ms == 150.0
    # A state change carries the row's current response time with it.
    event, _ = diff_event(shown, BoardSnapshot({"a": LiveRow("down", 104.0)}), False)
    assert event is not None and event["sites"]["a"]["response_ms"] == 104.0


class FakeBoard:
    """A board whose snapshots a test scripts: one per call, the last one repeated."""

    def __init__(self, snaps: list[BoardSnapshot]) -> None:
        self.snaps = snaps
        self.calls = 0

    def snapshot(self) -> BoardSnapshot:
        snap = self.snaps[min(self.calls, len(self.snaps) - 1)]
        self.calls += 1
        return snap


def _events(chunks: list[str]) -> list[tuple[str, dict]]:
    out = []
    for chunk in chunks:
        lines = chunk.strip().split("\n")
        if lines[0].startswith("event: "):
            out.append((lines[0][7:], json.loads(lines[1][6:])))
    return out


def test_stream_sends_snapshot_changes_heartbeats_and_ends() -> None:
    t = [0.0]

    def sleep(seconds: float) -> None:
        t[0] += seconds

    up = _snap({"shop": "up"})
    down = _snap({"shop": "down"})
    board = FakeBoard([up, up, down, down, down, down, down, down])
    settings = StreamSettings(lifetime=10, poll=1, heartbeat=3, retry_ms=1500, max_streams=1)
    limit = StreamLimit(settings.max_streams)
    chunks = list(stream(board, settings, limit, clock=lambda: t[0], sleep=sleep))  # type: ignore[arg-type]
    assert chunks[0] == "retry: 1500\n\n"
    events = _events(chunks)
    assert events[0][0] == "snapshot" and events[0][1]["sites"]["shop"]["state"] == "up"
    assert events[1][0] == "change" and events[1][1]["sites"] == {"shop": LiveRow("down").as_json()}
    assert events[-1] == ("bye", {"reason": "lifetime", "retry_ms": 1500})
    assert len(events) == 3  # nothing else changed
    assert chunks.count(": heartbeat\n\n") >= 2
    assert t[0] == pytest.approx(10)  # the lifetime bounds the stream
    assert limit.open == 0


def test_stream_over_the_limit_sends_a_snapshot_and_ends_at_once() -> None:
    board = FakeBoard([_snap({"shop": "up"})])
    settings = StreamSettings(lifetime=60, poll=1, busy_retry_ms=7000, max_streams=1)
    limit = StreamLimit(1)
    first = stream(board, settings, limit, sleep=lambda s: None)  # type: ignore[arg-type]
    assert next(first) == "retry: 1000\n\n"  # holds the one slot
    busy = list(stream(board, settings, limit, sleep=lambda s: None))  # type: ignore[arg-type]
    assert busy[0] == "retry: 7000\n\n"
    assert [e for e, _ in _events(busy)] == ["snapshot", "bye"]
    first.close()  # the browser went away: the slot is free again
    assert limit.open == 0


def test_sse_format() -> None:
    assert sse("change", {"a": 1}) == 'event: change\ndata: {"a":1}\n\n'
    assert sse(None, [1]) == "data: [1]\n\n"


# --------------------------------------------------------------------------- the bar


def rec(start_h: float, end_h: float | None, maintenance: bool = False) -> OutageRecord:
    """An outage from ``start_h`` to ``end_h`` hours before NOW (None: open)."""
    return OutageRecord(
        NOW - timedelta(hours=start_h),
        None if end_h is None else NOW - timedelta(hours=end_h),
        "timeout",
        maintenance,
    )


def test_site_uptime_figures_and_daily_cells() -> None:
    since = NOW - timedelta(days=40)
    records = [
        rec(1, 0.5),  # 30 min today (12:00 now; 11:00-11:30)
        rec(24 * 3 + 12, 24 * 3 + 11.99),  # 36 s three days ago
        rec(24 * 10 + 12, 24 * 10 + 6, maintenance=True),  # maintenance 10 days ago
    ]
    up = site_uptime(records, NOW, since)
    # 24 h: 30 minutes down of 24 hours.
    assert up.day.down == timedelta(minutes=30)
    assert up.day.uptime_ratio == pytest.approx(1 - 30 / 1440)
    assert up.month.incidents == 2
    assert up.month.maintenance == timedelta(hours=6)
    cells = up.cells
    assert len(cells) == 90 and cells[-1].day == NOW.date()
    today = cells[-1]
    # Today is 12 hours long so far, 30 minutes of them down.
    assert today.summary.total == timedelta(hours=12)
    assert today.level == MAJOR and "30m 0s" in today.title()
    three = cells[-4]
    assert three.level == MINOR and three.summary.down == timedelta(seconds=36)
    ten = cells[-11]
    assert ten.level == UP_ALL and ten.summary.maintenance == timedelta(hours=6)
    assert cells[-2].level == UP_ALL
    # Before the site was added: no data.
    assert cells[0].level == NODATA and cells[0].title().endswith("no data")


def test_a_day_all_in_maintenance_and_an_open_outage() -> None:
    since = NOW - timedelta(days=5)
    day2 = datetime(2024, 5, 8, tzinfo=UTC)
    records = [
        OutageRecord(day2, day2 + timedelta(days=1), "", True),
        OutageRecord(NOW - timedelta(hours=2), None, "dns"),
    ]
    up = site_uptime(records, NOW, since)
    assert up.cells[-3].level == MAINTENANCE_ONLY
    assert up.cells[-1].summary.down == timedelta(hours=2)
    assert up.day.down == timedelta(hours=2)


def test_bar_start_covers_the_bar_and_thirty_days() -> None:
    assert bar_start(NOW) == datetime(2024, 2, 11, tzinfo=UTC)
    assert bar_start(NOW, days=7) == NOW - timedelta(days=30)


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "\u2013"), (100.0, "100%"), (99.95, "99.95%"), (99.99996, "99.999%"), (0.0, "0%")],
)
def test_format_percent(value: float | None, text: str) -> None:
    assert format_percent(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (12, "12s"), (252, "4m 12s"), (7500, "2h 5m"), (3 * 86400 + 4 * 3600, "3d 4h")],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text
    assert format_duration(float(seconds)) == text


# --------------------------------------------------------------------------- ranges


def test_page_range() -> None:
    r = page_range({}, NOW, "24h")
    assert (r.start, r.end, r.window) == (NOW - timedelta(hours=24), NOW, "24h")
    r = page_range({"from": "2024-05-01", "to": "2024-05-03"}, NOW, "24h")
    assert r.start == datetime(2024, 5, 1, tzinfo=UTC)
    assert r.end == datetime(2024, 5, 4, tzinfo=UTC)  # "to" includes its day
    assert (r.from_date, r.to_date) == ("2024-05-01", "2024-05-03")
    assert r.query() == {"from": "2024-05-01T00:00:00Z", "to": "2024-05-04T00:00:00Z"}
    r = page_range({"from": "2024-05-01T10:00", "to": "2024-05-01T13:00:00+02:00"}, NOW, "1d")
    assert r.start == datetime(2024, 5, 1, 10, tzinfo=UTC)  # datetime-local: UTC
    assert r.end == datetime(2024, 5, 1, 11, tzinfo=UTC)
    for bad in ({"window": "3x"}, {"from": "2024-05-03", "to": "2024-05-01"}, {"from": "nope"}):
        with pytest.raises(RangeError):
            page_range(bad, NOW, "24h")


# --------------------------------------------------------------------------- pages' helpers


def test_timeline_marks_keep_short_outages_visible() -> None:
    start = NOW - timedelta(days=90)
    segments = [
        Segment("up", start, NOW - timedelta(days=1)),
        Segment("down", NOW - timedelta(days=1), NOW - timedelta(days=1) + timedelta(seconds=30)),
        Segment("up", NOW - timedelta(days=1) + timedelta(seconds=30), NOW),
    ]
    marks = timeline_marks(segments, start, NOW)
    down = marks[1]
    assert down.state == "down" and down.width == MIN_MARK
    assert down.x == pytest.approx(1000 * 89 / 90, abs=0.01)
    assert "30s" in down.title
    assert sum(m.width for m in marks if m.state == "up") == pytest.approx(1000, abs=0.01)


def test_status_words() -> None:
    assert status_text("sms", "retry") == "SMS failed, retrying"
    assert status_text("email", "routed") == "email routed"
    assert status_text("sms", "odd") == "sms odd"
