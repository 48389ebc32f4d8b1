"""The golden history: 90 days of up and down times of 20 sites, with known
outages, and what their uptime is, worked out by hand.

"By hand" means without :mod:`admin_app.uptime`: every second of the 90 days is a
byte of a ``bytearray`` (up, down, maintenance or not yet monitored), outages are
painted onto it, and the figures are counts of bytes (``bytearray.count``) and
runs of bytes (``bytes.find`` over a mask). It is slow-witted on purpose, so that it
cannot share a mistake with the interval arithmetic it checks.

The sites cover the cases the arithmetic must get right: outages across each
window's left edge (24 h, 7 d, 30 d, 90 d), one still open, duplicated and
overlapping records of one outage, records that touch, an outage during
maintenance, a site added during the 90 days, many short outages, one long one,
outages of one second.

The same history goes two ways:

* into the incident log: :func:`incident_rows` (what the Alertmanager webhook would
  have recorded);
* into Prometheus: :func:`write_openmetrics` writes ``upwatch_site_up`` and
  ``upwatch_site_maintenance`` (and, for one site, the probe duration histogram) as
  OpenMetrics for ``promtool tsdb create-blocks-from openmetrics``.

Maintenance is the one place where the two differ, on purpose, because the two
stores know different things. The incident log records outages *during*
maintenance (the site is still probed, the hook records them, flagged); it has no
record of when maintenance began and ended. Prometheus has the whole window
(``upwatch_site_maintenance``), and the shipped recording rules leave the whole
window out. So :func:`expected` (the API and the reports) leaves out the outages
flagged maintenance, and :func:`expected_prometheus` leaves out the maintenance
windows. Where a window is exactly its outage (site ``maintenance``) the two agree;
``maintenance-long`` (a 40-minute outage in a 6-hour window) and ``maint-overlap``
show how they differ.

Prometheus is read through a subquery at a step (:data:`PROM_STEP`); the series
have a sample at every change of state (and every :data:`SAMPLE_GRID` seconds
between), so the state at each step is exact and :func:`expected_prometheus_points`
predicts Prometheus' answer to the sample. The step is Prometheus' only error
against the exact figure, at most one step per change of state in the window, plus
one for the window's edge: :func:`prometheus_tolerance`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

NOW = datetime(2025, 3, 1, 0, 0, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())
DAY = 86400
HISTORY_DAYS = 90
HISTORY_START_TS = NOW_TS - HISTORY_DAYS * DAY
WINDOWS: dict[str, int] = {"24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY, "90d": 90 * DAY}
SAMPLE_GRID = 240  # a sample at least this often, below Prometheus' 5-minute lookback
PROM_STEP = 60  # the subquery step Prometheus is read at
INSTANCE = "exporter-1:9115"
JOB = "upwatch-exporter"
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENCY_SITE = "latency"
# Per scrape, how many probes ended in each bucket (non-cumulative, last is +Inf):
# 50 of 100 at or under 0.1 s, 95 at or under 0.25 s, 99 at or under 0.5 s, so that
# histogram_quantile lands exactly on a bucket bound: p50 0.1, p95 0.25, p99 0.5.
LATENCY_PER_SCRAPE = (0, 0, 0, 0, 50, 45, 4, 1, 0, 0, 0, 0)
LATENCY_EXPECTED = {"p50": 0.1, "p95": 0.25, "p99": 0.5}
LATENCY_HOURS = 30  # the histogram covers the last 30 h (the 24 h window and more)

# bytes of the second-by-second picture
_UP, _DOWN, _MAINT, _UNMONITORED = 0, 1, 2, 3


def ts(days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> int:
    """A unix time, that long before :data:`NOW`."""
    return NOW_TS - int(days * DAY + hours * 3600 + minutes * 60 + seconds)


def dt(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


@dataclass(frozen=True)
class GoldenIncident:
    """A row of the incident log; ``end`` None: still open at :data:`NOW`."""

    start: int
    end: int | None
    reason: str = "timeout"
    maintenance: bool = False


@dataclass(frozen=True)
class GoldenSite:
    slug: str
    name: str
    created: int
    incidents: tuple[GoldenIncident, ...] = ()
    # when upwatch_site_maintenance was 1 (what Prometheus knows)
    maintenance_windows: tuple[tuple[int, int], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Expected:
    """Figures over a window, in whole seconds."""

    up: int
    down: int
    maintenance: int
    incidents: int
    longest: int
    runs: list[int] = field(default_factory=list)

    @property
    def monitored(self) -> int:
        return self.up + self.down

    @property
    def uptime_percent(self) -> float | None:
        return None if not self.monitored else self.up / self.monitored * 100

    @property
    def mttr(self) -> float | None:
        return None if not self.incidents else self.down / self.incidents


# --------------------------------------------------------------------------- the sites


def _blips(rng: random.Random, count: int, low: int, high: int) -> tuple[GoldenIncident, ...]:
    """``count`` short outages spread over the 90 days, never overlapping."""
    out = []
    slot = (HISTORY_DAYS * DAY - 3600) // count
    for i in range(count):
        start = HISTORY_START_TS + 1800 + i * slot + rng.randrange(0, slot - high - 1)
        out.append(GoldenIncident(start, start + rng.randint(low, high), rng.choice(REASONS)))
    return tuple(out)


REASONS = ("timeout", "dns", "connect", "tls", "status", "body_mismatch")


def golden_sites() -> list[GoldenSite]:
    rng = random.Random(20250301)
    old = HISTORY_START_TS - 30 * DAY  # added before the 90 days
    sites = [
        GoldenSite("steady", "Steady site", old, note="never down"),
        GoldenSite(
            "daily-blips",
            "Daily blips",
            old,
            _blips(rng, 90, 37, 300),
            note="one short outage a day",
        ),
        GoldenSite(
            "flappy",
            "Flappy API",
            old,
            _blips(rng, 300, 30, 120),
            note="300 outages of 30 s to 2 min",
        ),
        GoldenSite(
            "edge-24h",
            "Across the 24 h edge",
            old,
            (GoldenIncident(ts(1, minutes=20), ts(1, minutes=-13, seconds=-7), "timeout"),),
            note="20 min before the 24 h window, 13 min 7 s inside",
        ),
        GoldenSite(
            "edge-7d",
            "Across the 7 d edge",
            old,
            (
                GoldenIncident(ts(7, hours=2), ts(7, hours=-1, seconds=-1), "dns"),
                GoldenIncident(ts(3, hours=5), ts(3, hours=4, minutes=30), "status"),
            ),
        ),
        GoldenSite(
            "edge-30d",
            "Across the 30 d edge",
            old,
            (
                GoldenIncident(ts(30, seconds=1), ts(30, seconds=-1), "connect"),
                GoldenIncident(ts(12, hours=1), ts(12), "tls"),
            ),
            note="a 2 s outage centred on the 30 d edge",
        ),
        GoldenSite(
            "edge-90d",
            "Across the 90 d edge",
            old,
            (
                GoldenIncident(ts(90, hours=3), ts(90, hours=-2, minutes=-11), "timeout"),
                GoldenIncident(ts(45, hours=6), ts(45, hours=5, minutes=1), "status"),
            ),
            note="an outage from before the history into it",
        ),
        GoldenSite(
            "still-open",
            "Down right now",
            old,
            (
                GoldenIncident(ts(20, hours=2), ts(20, hours=1, minutes=15), "dns"),
                GoldenIncident(ts(hours=3, minutes=17, seconds=5), None, "connect"),
            ),
            note="open since 3 h 17 min 5 s before now",
        ),
        GoldenSite(
            "maintenance",
            "In maintenance",
            old,
            (
                GoldenIncident(ts(5, hours=2), ts(5), "deploy", maintenance=True),
                GoldenIncident(ts(2, hours=1), ts(2, minutes=10), "timeout"),
            ),
            maintenance_windows=((ts(5, hours=2), ts(5)),),
            note="2 h down during maintenance (the window is the outage)",
        ),
        GoldenSite(
            "maintenance-long",
            "Long maintenance",
            old,
            (
                GoldenIncident(ts(9, hours=4), ts(9, hours=3, minutes=20), "deploy", True),
                GoldenIncident(ts(15, hours=1), ts(15, minutes=30), "timeout"),
            ),
            maintenance_windows=((ts(9, hours=6), ts(9)),),
            note="a 6 h window with 40 min down in it",
        ),
        GoldenSite(
            "maint-overlap",
            "Down into maintenance",
            old,
            (
                GoldenIncident(ts(4, hours=3), ts(4, hours=1), "timeout"),
                GoldenIncident(ts(4, hours=2), ts(4), "deploy", maintenance=True),
            ),
            maintenance_windows=((ts(4, hours=2), ts(4)),),
            note="down, then put in maintenance while down: down wins in the log",
        ),
        GoldenSite(
            "duplicates",
            "Retried webhooks",
            old,
            (
                GoldenIncident(ts(10, hours=1), ts(10), "timeout"),
                GoldenIncident(ts(10, hours=1), ts(10), "timeout"),  # the same again
                GoldenIncident(ts(10, minutes=50), ts(10, minutes=-20), "connect"),  # overlaps
                GoldenIncident(ts(60, hours=1), ts(60), "dns"),
                GoldenIncident(ts(60, minutes=30), ts(60, minutes=10), "dns"),  # inside
            ),
            note="one outage recorded twice, one overlapping it, one inside another",
        ),
        GoldenSite(
            "touching",
            "Back to back",
            old,
            (
                GoldenIncident(ts(6, hours=2), ts(6, hours=1), "timeout"),
                GoldenIncident(ts(6, hours=1), ts(6), "status"),
            ),
            note="two records, end = next start: one outage of 2 h",
        ),
        GoldenSite(
            "new-site",
            "Added 10 days ago",
            ts(10, hours=3, minutes=33),
            (GoldenIncident(ts(8, hours=1), ts(8, minutes=1), "tls"),),
            note="measured only from when it was added",
        ),
        GoldenSite(
            "long-outage",
            "Two days down",
            old,
            (GoldenIncident(ts(40), ts(38), "connect"),),
        ),
        GoldenSite(
            "recovered",
            "30 h down, up for an hour",
            old,
            (GoldenIncident(ts(hours=31), ts(hours=1), "timeout"),),
            note="down for 23 of the last 24 h",
        ),
        GoldenSite(
            "seconds",
            "One-second outages",
            old,
            tuple(
                GoldenIncident(ts(d, seconds=s), ts(d, seconds=s - 1), "timeout")
                for d, s in ((1, 17), (3, 59), (6, 1), (29, 3600), (70, 86399))
            ),
            note="outages of exactly one second",
        ),
        GoldenSite(
            "ended-now",
            "Recovered just now",
            old,
            (GoldenIncident(ts(minutes=10), NOW_TS, "status"),),
        ),
        GoldenSite(
            LATENCY_SITE,
            "Latency measured",
            old,
            (GoldenIncident(ts(hours=5), ts(hours=4, minutes=45), "timeout"),),
            note="the site with a probe duration histogram",
        ),
        GoldenSite(
            "maint-no-outage",
            "Maintenance, never down",
            old,
            (),
            maintenance_windows=((ts(3, hours=2), ts(3)),),
            note="Prometheus leaves the window out; the log knows nothing of it",
        ),
    ]
    return sites


# --------------------------------------------------------------------------- by hand


def _picture(site: GoldenSite, prometheus: bool) -> bytearray:
    """One byte per second of the 90 days (and the day before, for the edges)."""
    origin = HISTORY_START_TS - DAY
    pic = bytearray(NOW_TS - origin)

    def paint(start: int, end: int | None, value: int) -> None:
        a = max(start, origin) - origin
        b = min(NOW_TS if end is None else end, NOW_TS) - origin
        if b > a:
            pic[a:b] = bytes([value]) * (b - a)

    if prometheus:
        for inc in site.incidents:  # up is 0 whatever the maintenance flag
            paint(inc.start, inc.end, _DOWN)
        for start, end in site.maintenance_windows:
            paint(start, end, _MAINT)
    else:
        for inc in site.incidents:
            if inc.maintenance:
                paint(inc.start, inc.end, _MAINT)
        for inc in site.incidents:  # an outage not in maintenance is down, whatever else
            if not inc.maintenance:
                paint(inc.start, inc.end, _DOWN)
    paint(origin, site.created, _UNMONITORED)
    return pic


def _runs(part: bytes, value: int) -> list[int]:
    """Lengths of the runs of ``value`` in ``part``, in order (``bytes.find`` over a
    0/1 mask: C speed over millions of seconds)."""
    mask = part.translate(bytes(int(i == value) for i in range(256)))
    runs = []
    pos = 0
    while (first := mask.find(b"\x01", pos)) >= 0:
        after = mask.find(b"\x00", first)
        if after < 0:
            after = len(mask)
        runs.append(after - first)
        pos = after
    return runs


def _figures(pic: bytearray, start: int, end: int) -> Expected:
    origin = HISTORY_START_TS - DAY
    part = bytes(pic[start - origin : end - origin])
    runs = _runs(part, _DOWN)
    return Expected(
        up=part.count(_UP),
        down=part.count(_DOWN),
        maintenance=part.count(_MAINT),
        incidents=len(runs),
        longest=max(runs, default=0),
        runs=runs,
    )


def expected(site: GoldenSite, start: int, end: int = NOW_TS) -> Expected:
    """What the API and the reports must say of ``[start, end)`` (incident log)."""
    return _figures(_picture(site, prometheus=False), start, end)


def expected_prometheus(site: GoldenSite, start: int, end: int = NOW_TS) -> Expected:
    """The exact figures with Prometheus' maintenance windows instead of the log's."""
    return _figures(_picture(site, prometheus=True), start, end)


def expected_prometheus_points(
    site: GoldenSite, window: int, step: int = PROM_STEP
) -> float | None:
    """Prometheus' answer to ``sum_over_time(BASE[window:step]) /
    count_over_time(BASE[window:step])`` at :data:`NOW`: the state at every step
    from ``NOW - window`` to ``NOW`` (both included), maintenance and the time
    before the series began left out."""
    origin = HISTORY_START_TS - DAY
    pic = _picture(site, prometheus=True)
    first = NOW_TS - window
    if first < site.created:  # the first step at or after the series began
        first += -(-(site.created - first) // step) * step
    # every step before now, then the sample at now
    states = bytes(pic[first - origin : NOW_TS - origin : step]) + bytes([_state_at_now(site)])
    up = states.count(_UP)
    known = up + states.count(_DOWN)
    return None if not known else up / known


def _state_at_now(site: GoldenSite) -> int:
    """The last sample, at NOW: down while an outage is open."""
    if any(inc.end is None for inc in site.incidents):
        return _DOWN
    return _UP


def transitions(site: GoldenSite, start: int, end: int = NOW_TS) -> int:
    """Changes of state (Prometheus' view) inside ``[start, end)``."""
    origin = HISTORY_START_TS - DAY
    part = bytes(_picture(site, prometheus=True)[start - origin : end - origin])
    runs = sum(len(_runs(part, value)) for value in (_UP, _DOWN, _MAINT, _UNMONITORED))
    return max(0, runs - 1)


def prometheus_tolerance(site: GoldenSite, window: int, step: int = PROM_STEP) -> float:
    """How far Prometheus' ratio may be from the exact one: one step of error per
    change of state, one for the left edge and one for the sample at now, over the
    monitored time."""
    exact = expected_prometheus(site, NOW_TS - window)
    if not exact.monitored:
        return 0.0
    return (transitions(site, NOW_TS - window) + 2) * step / exact.monitored


# --------------------------------------------------------------------------- outputs


def incident_rows(site: GoldenSite) -> Iterator[dict]:
    """The site's incidents as ``Incident`` column values (no ids)."""
    for n, inc in enumerate(site.incidents):
        yield {
            "site_slug": site.slug,
            "started_at": dt(inc.start),
            "ended_at": None if inc.end is None else dt(inc.end),
            "reason": inc.reason,
            "maintenance": inc.maintenance,
            "fingerprint": f"{site.slug}-{n}",
        }


def _changes(intervals: list[tuple[int, int | None]]) -> list[int]:
    out = []
    for start, end in intervals:
        out.append(start)
        if end is not None:
            out.append(end)
    return out


def _series_times(site: GoldenSite, first: int, extra: list[int]) -> list[int]:
    times = set(range(first, NOW_TS + 1, SAMPLE_GRID))
    times.update(t for t in extra if first <= t <= NOW_TS)
    times.add(NOW_TS)
    return sorted(times)


def _labels(site: str, **more: str) -> str:
    pairs = {"instance": INSTANCE, "job": JOB, "site": site, **more}
    return ",".join(f'{k}="{v}"' for k, v in pairs.items())


def write_openmetrics(sites: list[GoldenSite], out: TextIO) -> int:
    """The Prometheus side of the history as OpenMetrics text; returns the number of
    samples. Each series starts when its site was added (or at the start of the
    history) and has a sample at every change of state."""
    samples = 0
    out.write("# TYPE upwatch_site_up gauge\n")
    for site in sites:
        first = max(site.created, HISTORY_START_TS - DAY)
        pic = _picture(site, prometheus=True)
        origin = HISTORY_START_TS - DAY
        edges = _changes([(i.start, i.end) for i in site.incidents])
        labels = _labels(site.slug)
        for t in _series_times(site, first, edges):
            if t < NOW_TS:
                value = (
                    0
                    if pic[t - origin] == _DOWN or (pic[t - origin] == _MAINT and _down_at(site, t))
                    else 1
                )
            else:
                value = 0 if _state_at_now(site) == _DOWN else 1
            out.write(f"upwatch_site_up{{{labels}}} {value} {t}\n")
            samples += 1
    out.write("# TYPE upwatch_site_maintenance gauge\n")
    for site in sites:
        if not site.maintenance_windows:
            continue
        first = max(site.created, HISTORY_START_TS - DAY)
        labels = _labels(site.slug)
        edges = _changes(list(site.maintenance_windows))
        for t in _series_times(site, first, edges):
            value = int(any(a <= t < b for a, b in site.maintenance_windows))
            out.write(f"upwatch_site_maintenance{{{labels}}} {value} {t}\n")
            samples += 1
    out.write("# TYPE upwatch_probe_duration_seconds histogram\n")
    latency = next(s for s in sites if s.slug == LATENCY_SITE)
    bounds = [*(repr(b) for b in DURATION_BUCKETS), "+Inf"]
    first_scrape = NOW_TS - LATENCY_HOURS * 3600
    for scrapes, t in enumerate(range(first_scrape, NOW_TS + 1, 15), 1):
        cumulative = 0
        for bound, per in zip(bounds, LATENCY_PER_SCRAPE, strict=True):
            cumulative += per * scrapes
            labels = _labels(latency.slug, le=bound)
            out.write(f"upwatch_probe_duration_seconds_bucket{{{labels}}} {cumulative} {t}\n")
        total = sum(LATENCY_PER_SCRAPE) * scrapes
        labels = _labels(latency.slug)
        out.write(f"upwatch_probe_duration_seconds_count{{{labels}}} {total} {t}\n")
        out.write(f"upwatch_probe_duration_seconds_sum{{{labels}}} {total * 0.12:.3f} {t}\n")
        samples += len(bounds) + 2
    out.write("# EOF\n")
    return samples


def _down_at(site: GoldenSite, t: int) -> bool:
    return any(inc.start <= t < (NOW_TS if inc.end is None else inc.end) for inc in site.incidents)


def write_openmetrics_file(sites: list[GoldenSite], path: Path) -> int:
    with path.open("w") as out:
        return write_openmetrics(sites, out)


if __name__ == "__main__":  # a look at the fixture: python -m tests.golden_history
    for site in golden_sites():
        row = [site.slug.ljust(18)]
        for name, seconds in WINDOWS.items():
            e = expected(site, NOW_TS - seconds)
            pct = "-" if e.uptime_percent is None else f"{e.uptime_percent:.5f}"
            row.append(f"{name}: {pct:>9} {e.incidents:>3} inc {e.down:>7}s")
        print("  ".join(row))
