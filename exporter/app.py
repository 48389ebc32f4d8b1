"""The running exporter: the site list, per-site state, the scheduler and reloads.

State is kept per site id across reloads, so a site that did not go away keeps its
up/down state, confirmations and counters: a reload never produces a false
"up again" for a site that was down.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from exporter import config
from exporter.config import ConfigError, Site, SiteList
from exporter.logs import log
from exporter.metrics import ExporterMetrics, SiteRenderer
from exporter.probes import ProbeContext, ProbeResult, run_probe
from exporter.scheduler import ProbeScheduler
from exporter.shard import shard_of
from exporter.sinks import ResultSink
from exporter.state import DOWN, UP, SiteState


class Exporter:
    def __init__(
        self,
        config_path: str | Path,
        shard: tuple[int, int] = (1, 1),
        max_concurrency: int = 1000,
        watch_interval: float = 1.0,
        location: str | None = None,
    ) -> None:
        self.config_path = Path(config_path)
        self.shard = shard
        self.location = location  # --location: a label on every per-site series
        self.watch_interval = watch_interval
        self.max_concurrency = max_concurrency
        self.metrics = ExporterMetrics()
        self.metrics.set_identity(shard, location)
        self.site_list = SiteList()
        self.sites: dict[str, Site] = {}  # this shard's sites
        self.states: dict[str, SiteState] = {}
        self.renderer = SiteRenderer(())
        self.last_reload_errors: list[str] = []
        self._loaded_digest: bytes | None = None
        self._failed_digest: bytes | None = None  # content that failed: not retried by the watcher
        self._watch_task: asyncio.Task | None = None
        self._reload_lock = asyncio.Lock()
        self.ctx: ProbeContext | None = None
        self.scheduler: ProbeScheduler | None = None
        self.sink: ResultSink | None = None  # optional raw-result sink (--influx-url)

    # ------------------------------------------------------------------ lifecycle

    def load_initial(self) -> None:
        """Load the site list before starting; raises ConfigError if it is invalid."""
        text, digest = self._read()
        site_list = config.parse_yaml(text, str(self.config_path))
        self._install(site_list, digest)

    async def start(self) -> None:
        self.ctx = ProbeContext(self.location)
        self.scheduler = ProbeScheduler(
            self._probe_job,
            max_concurrency=self.max_concurrency,
            on_lag=self.metrics.lag.observe,
            on_skip=lambda _id: self.metrics.skipped.inc(),
        )
        self.scheduler.apply(self.sites.values())
        self.scheduler.start()
        self._watch_task = asyncio.create_task(self._watch(), name="config-watch")

    async def stop(self) -> None:
        if self._watch_task:
            self._watch_task.cancel()
        if self.scheduler:
            await self.scheduler.stop()
        if self.ctx:
            await self.ctx.aclose()

    # ------------------------------------------------------------------ reload

    def _read(self) -> tuple[str, bytes]:
        try:
            data = self.config_path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                [f"cannot read the file: {exc.strerror or exc}"], str(self.config_path)
            ) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError([f"not UTF-8 text: {exc}"], str(self.config_path)) from None
        return text, hashlib.sha256(data).digest()

    def _install(self, site_list: SiteList, digest: bytes | None) -> None:
        i, n = self.shard
        mine = {s.id: s for s in site_list.sites if n == 1 or shard_of(s.id, n) == i}
        for site_id in list(self.states):
            if site_id not in mine:
                del self.states[site_id]
        for site_id in mine:
            self.states.setdefault(site_id, SiteState())
        self.site_list = site_list
        self.sites = mine
        self.renderer = SiteRenderer(mine.values(), self.location)
        self._loaded_digest = digest
        self.last_reload_errors = []
        self.metrics.reload_ok.set(1)
        self.metrics.reload_ts.set(time.time())
        self.metrics.sites.set(len(mine))
        if self.scheduler:
            self.scheduler.apply(mine.values())

    async def reload(self, trigger: str = "api") -> list[str]:
        """Reload the site list from disk. Returns [] on success, else the errors; on
        failure the running site list is kept and the reload gauge set to 0."""
        async with self._reload_lock:
            before = dict(self.sites)
            try:
                text, digest = self._read()
                site_list = config.parse_yaml(text, str(self.config_path))
            except ConfigError as exc:
                self.last_reload_errors = exc.errors
                self.metrics.reload_ok.set(0)
                log(
                    "config_reload_failed",
                    logging.ERROR,
                    trigger=trigger,
                    file=self.config_path,
                    errors=" | ".join(exc.errors),
                )
                return exc.errors
            self._install(site_list, digest)
            added = sorted(set(self.sites) - set(before))
            removed = sorted(set(before) - set(self.sites))
            changed = sorted(k for k in set(before) & set(self.sites) if before[k] != self.sites[k])
            log(
                "config_reloaded",
                trigger=trigger,
                sites=len(self.sites),
                added=len(added),
                removed=len(removed),
                changed=len(changed),
            )
            return []

    async def _watch(self) -> None:
        """Reload when the file's content changes (polling: works with editors, atomic
        renames, bind mounts and network filesystems alike). A change must hold still
        for one poll before it is read, so a half-written file is not applied."""
        last_seen = self._stat()
        while True:
            await asyncio.sleep(self.watch_interval)
            seen = self._stat()
            if seen != last_seen:
                last_seen = seen
                continue
            if seen is None:
                continue
            try:
                _text, digest = self._read()
            except ConfigError:
                continue
            if digest not in (self._loaded_digest, self._failed_digest):
                errors = await self.reload("file_change")
                if errors:
                    self._failed_digest = digest  # do not retry the same bad content

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.config_path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    # ------------------------------------------------------------------ probing

    async def _probe_job(self, site_id: str) -> None:
        site = self.sites.get(site_id)
        if site is None or self.ctx is None:
            return
        self.metrics.in_flight.inc()
        try:
            result = await run_probe(site, self.ctx)
        finally:
            self.metrics.in_flight.dec()
        self.record(site_id, result)

    def record(self, site_id: str, result: ProbeResult) -> str | None:
        """Feed one probe result into the site's state machine."""
        site = self.sites.get(site_id)
        state = self.states.get(site_id)
        if site is None or state is None:
            return None  # removed while the probe ran
        transition = state.observe(result, site.confirmations)
        self.renderer.update(site_id, state)  # /metrics lines, ready for the next scrape
        if self.sink is not None:
            self.sink.submit(site_id, site.kind, result, state.up)  # never blocks
        if transition == DOWN:
            log(
                "site_down",
                logging.WARNING,
                site=site_id,
                reason=result.reason,
                message=result.message,
                since=state.last_change,
                maintenance=site.maintenance,
            )
        elif transition == UP:
            log("site_up", site=site_id, message=result.message)
        return transition

    async def probe_now(self, site_id: str) -> ProbeResult | None:
        """Probe one site of the file (any shard) now, without touching its state."""
        site = self.site_list.by_id().get(site_id)
        if site is None:
            return None
        ctx = self.ctx or ProbeContext(self.location)
        try:
            return await run_probe(site, ctx)
        finally:
            if ctx is not self.ctx:
                await ctx.aclose()

    def metrics_chunks(self) -> Iterator[str]:
        """The /metrics exposition in pieces (see SiteRenderer.chunks); the time spent
        rendering them, waits excluded, becomes upwatch_exporter_metrics_render_seconds."""
        spent = 0.0
        t0 = time.perf_counter()
        for chunk in self.renderer.chunks(self.states):
            spent += time.perf_counter() - t0
            yield chunk
            t0 = time.perf_counter()
        self.metrics.render_seconds.set(spent)
        yield self.metrics.render()

    def render_metrics(self) -> str:
        return "".join(self.metrics_chunks())
