"""Scheduling: sites spread evenly over their interval, stable across reloads, and
the schedule lag measured against the grid a probe was due on."""

from __future__ import annotations

import asyncio

import pytest

from exporter.config import parse_site_list
from exporter.scheduler import ProbeScheduler, due_time, spread
from exporter.shard import parse_shard, shard_of


def sites(n: int, interval: str = "30s", prefix: str = "s"):
    return parse_site_list(
        {
            "sites": [
                {"id": f"{prefix}{i}", "url": "http://x", "interval": interval} for i in range(n)
            ]
        }
    ).sites


def test_sites_with_the_same_interval_are_spaced_evenly():
    offsets = sorted(spread(sites(10, "10s")).values())
    assert offsets == pytest.approx([i * 1.0 for i in range(10)])


def test_each_interval_group_is_spread_over_its_own_interval():
    mixed = sites(4, "20s", "a") + sites(5, "5s", "b")
    offsets = spread(mixed)
    assert sorted(v for k, v in offsets.items() if k.startswith("a")) == [0, 5, 10, 15]
    assert sorted(v for k, v in offsets.items() if k.startswith("b")) == [0, 1, 2, 3, 4]


def test_spread_order_is_stable_and_independent_of_file_order():
    s = sites(20)
    assert spread(s) == spread(tuple(reversed(s)))


def test_due_time_is_the_grid_point_a_run_belongs_to():
    assert due_time(100.0, 10.0, 100.0) == 100.0
    assert due_time(100.0, 10.0, 125.3) == 120.0
    assert due_time(100.0, 10.0, 129.9999) == 130.0  # a hair early counts as on time
    assert due_time(100.0, 10.0, 95.0) == 100.0


async def test_apply_creates_one_job_per_site_evenly_timed_and_keeps_unchanged_jobs():
    async def run(_site_id: str) -> None:
        return None

    sched = ProbeScheduler(run)
    s = sites(6, "6s")
    sched.apply(s, now=1000.0)
    anchors = sched.anchors()
    starts = sorted(a for a, _ in anchors.values())
    # evenly spaced, starting once every job is in (never in the past)
    assert [a - starts[0] for a in starts] == pytest.approx([float(i) for i in range(6)])
    assert 1000.0 < starts[0] < 1000.1
    # a reload adding one site and changing another's interval re-times only those two
    changed = parse_site_list(
        {
            "sites": [{"id": x.id, "url": "http://x", "interval": "6s"} for x in s[1:]]
            + [{"id": "s0", "url": "http://x", "interval": "12s"}, {"id": "new", "url": "http://y"}]
        }
    ).sites
    sched.apply(changed, now=2000.0)
    after = sched.anchors()
    for x in s[1:]:
        assert after[x.id] == anchors[x.id]
    assert after["s0"][1] == 12.0 and after["s0"][0] >= 2000.0
    assert after["new"][0] >= 2000.0
    # removing a site removes its job
    sched.apply(changed[:2], now=3000.0)
    assert sched.site_ids == {changed[0].id, changed[1].id}


async def test_probes_run_measure_lag_and_respect_the_concurrency_bound():
    running = 0
    peak = 0
    ran: list[str] = []
    lags: list[float] = []

    async def run(site_id: str) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.3)
        running -= 1
        ran.append(site_id)

    sched = ProbeScheduler(run, max_concurrency=2, on_lag=lags.append)
    sched.start()
    try:
        sched.apply(sites(6, "1s"))
        for _ in range(100):
            if len(set(ran)) == 6:
                break
            await asyncio.sleep(0.05)
    finally:
        await sched.stop()
    assert len(set(ran)) == 6
    assert peak <= 2
    assert lags and all(lag >= 0 for lag in lags)


def test_shards_cover_every_site_exactly_once():
    ids = [f"site-{i}" for i in range(3000)]
    for n in (1, 2, 3, 7):
        owners = {sid: [i for i in range(1, n + 1) if shard_of(sid, n) == i] for sid in ids}
        assert all(len(o) == 1 for o in owners.values())
        counts = [sum(1 for o in owners.values() if o == [i]) for i in range(1, n + 1)]
        assert min(counts) > len(ids) / n * 0.8  # roughly balanced


@pytest.mark.parametrize("bad", ["0/3", "4/3", "1/0", "a/b", "1-3", ""])
def test_bad_shard_specs(bad):
    with pytest.raises(ValueError):
        parse_shard(bad)
