"""When each site is probed.

APScheduler runs one interval job per site. Sites that share an interval are spread
evenly over it, ordered by a stable hash of their id, so that neither startup nor a
reload sends every probe at once. A job that is still running when its next run is
due is skipped (and counted), so a slow site never piles up or delays the others;
the number of probes in flight is bounded by a semaphore. The lag between when a
probe was due and when it started is reported to ``on_lag``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from exporter.config import Site
from exporter.shard import phase_fraction

logging.getLogger("apscheduler").setLevel(logging.ERROR)

ADD_JOB_SECONDS = 0.0003  # a generous cost of one add_job, to place the first probes


def spread(sites: Iterable[Site]) -> dict[str, float]:
    """Offset (seconds into its interval) of each site's first probe: sites with the
    same interval are spaced evenly over it, in a stable order."""
    groups: dict[float, list[str]] = {}
    for site in sites:
        groups.setdefault(site.interval, []).append(site.id)
    offsets = {}
    for interval, ids in groups.items():
        ids.sort(key=phase_fraction)
        step = interval / len(ids)
        for rank, site_id in enumerate(ids):
            offsets[site_id] = rank * step
    return offsets


def due_time(anchor: float, interval: float, now: float) -> float:
    """The run time, on the grid ``anchor + k * interval``, that a run at ``now`` is for.
    A run a hair early (clock rounding) counts as the run it was for, not the one before."""
    k = math.floor((now - anchor) / interval + 1e-3)
    return anchor + max(k, 0) * interval


class ProbeScheduler:
    def __init__(
        self,
        run: Callable[[str], Awaitable[None]],
        max_concurrency: int = 1000,
        on_lag: Callable[[float], None] = lambda lag: None,
        on_skip: Callable[[str], None] = lambda site_id: None,
    ) -> None:
        self._run = run
        self._on_lag = on_lag
        self._on_skip = on_skip
        self._sem = asyncio.Semaphore(max_concurrency)
        self._anchors: dict[str, tuple[float, float]] = {}  # id -> (first run, interval)
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
        self._running: set[asyncio.Task] = set()

    def start(self) -> None:
        self._scheduler.start()

    async def stop(self) -> None:
        """Stop scheduling and cancel the probes in flight."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        tasks = list(self._running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def site_ids(self) -> set[str]:
        return set(self._anchors)

    def anchors(self) -> dict[str, tuple[float, float]]:
        return dict(self._anchors)

    def apply(self, sites: Iterable[Site], now: float | None = None) -> None:
        """Make the jobs match ``sites``: drop removed sites, add new ones, re-time the
        ones whose interval changed, and leave every other job exactly as it was."""
        now = time.time() if now is None else now
        sites = list(sites)
        wanted = {s.id: s for s in sites}
        for site_id in list(self._anchors):
            if site_id not in wanted:
                self._remove(site_id)
        offsets = spread(sites)
        # Adding a job takes APScheduler ~0.1 ms: start the grid after the last one is
        # in, or the first second's sites would all be overdue and run at once.
        new = sum(1 for s in sites if self._anchors.get(s.id, (0, None))[1] != s.interval)
        now += new * ADD_JOB_SECONDS
        for site in sites:
            anchor = self._anchors.get(site.id)
            if anchor is not None and anchor[1] == site.interval:
                continue
            if anchor is not None:
                self._remove(site.id)
            start = now + offsets[site.id]
            self._anchors[site.id] = (start, site.interval)
            self._scheduler.add_job(
                self._job,
                IntervalTrigger(
                    seconds=site.interval, start_date=datetime.fromtimestamp(start, UTC)
                ),
                args=(site.id,),
                id=site.id,
                replace_existing=True,
                next_run_time=datetime.fromtimestamp(start, UTC),
            )

    def _remove(self, site_id: str) -> None:
        self._anchors.pop(site_id, None)
        with contextlib.suppress(Exception):
            self._scheduler.remove_job(site_id)

    def _skipped(self, event: JobExecutionEvent) -> None:
        self._on_skip(event.job_id)

    async def _job(self, site_id: str) -> None:
        anchor = self._anchors.get(site_id)
        if anchor is None:
            return
        due = due_time(anchor[0], anchor[1], time.time())
        task = asyncio.current_task()
        self._running.add(task)
        try:
            async with self._sem:
                self._on_lag(max(0.0, time.time() - due))
                await self._run(site_id)
        except asyncio.CancelledError:
            return  # stop() cancelled it: the exporter is shutting down
        finally:
            self._running.discard(task)
