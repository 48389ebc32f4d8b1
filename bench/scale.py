"""Benchmark: many sites over several exporter shards on one machine (issue 7).

    .venv/bin/python bench/scale.py [--sites 10000 30000] [--interval 30] [--shards 3]
        [--duration SECONDS] [--scrape-interval 15] [--no-baseline]

For each N of ``--sites``, one run after the other on the same machine:

(a) sharded: nginx on loopback serving N distinct URLs, ``--shards`` exporters
    (``upwatch-exporter --shard i/S``, one port each) on the same site list of N sites
    probed every ``--interval`` seconds, and one Prometheus scraping all of them and
    itself every ``--scrape-interval`` seconds (the shipped prometheus.yml's 15 s);
(b) baseline: the same with one unsharded exporter probing all N sites.

Before them, once, a small exporter (``--small-sites``, default 100) gives the RSS
that does not depend on the number of sites, for the marginal bytes per site.

Each run warms up for one interval, waits (at most 25 s) until Prometheus has
scraped every exporter once, and is measured over ``--duration`` seconds (default
two intervals). A run that cannot start or dies is reported as such; no figure is
made up for it.

How each figure is measured:

- probes/s achieved: requests that reached nginx in the window (its access log)
  over the window's length; cross-check: the increase of ``upwatch_probes_total``
  per exporter between the samples Prometheus scraped last before each end of the
  window, over the time between those samples. Scheduled: sites / interval.
- schedule lag: ``upwatch_exporter_schedule_lag_seconds`` bucket deltas over the
  window, per exporter and summed over the shards; quantiles interpolated as
  ``histogram_quantile`` does (buckets ... 50, 100, 250, 500 ms ...).
- CPU: utime+stime deltas over the window from /proc/<pid>/stat, per exporter,
  Prometheus and nginx; per 1,000 probes (an exporter's own probes for its row,
  nginx's count for the totals). "other work": busy time of the whole machine
  (/proc/stat) minus that of this benchmark's processes, the kernel's irq/softirq
  time and steal, in cores: what other people were running.
- memory: VmRSS after the window and VmHWM (peak) of every process; bytes per site
  = RSS / sites in that exporter; marginal = (RSS - RSS of the small exporter) /
  (sites - small sites), and the same per site of the whole list (every exporter
  parses the whole list).
- scrapes: ``scrape_duration_seconds`` (average, max) and ``scrape_samples_scraped``
  per exporter over the window, and failed scrapes (``up`` == 0).
- Prometheus' ingestion: the increase of ``prometheus_tsdb_head_samples_appended_total``
  (its self-scrape) between the samples before each end of the window, per second
  (``rate()`` over the window when that misses);
  ``prometheus_tsdb_head_series`` after the window (read from its /metrics).

Results are printed and written to bench/results/scale-<timestamp>.json. Helpers
(processes, nginx, Prometheus, /proc, PromQL, the table) come from bench/prober.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prober import (
    RESULTS,
    ROOT,
    VENV_BIN,
    Proc,
    Processes,
    Row,
    fmt,
    free_port,
    histogram_quantile,
    machine,
    measure,
    parse_text,
    proc_stat_busy,
    prometheus_yaml,
    promql,
    raise_nofile_limit,
    read_access_log,
    say,
    sleep_checked,
    start_nginx,
    start_prometheus,
    table,
    versions,
    wait_ready,
    write_sites,
)

CLK_TCK = os.sysconf("SC_CLK_TCK")
LAG_TARGET = 0.25
READY_CAP = 25.0  # seconds to wait, after the warm-up, for every exporter's first scrape


# --------------------------------------------------------------------------- PromQL


def by_label(prom_url: str, query: str, at: float, label: str = "instance") -> dict[str, float]:
    """The value of each series of an instant query, by one of its labels."""
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in promql(prom_url, query, at)}


def counter_increase(
    prom_url: str, metric: str, t0: float, t1: float, by: str = "instance"
) -> dict[str, dict[str, float]]:
    """Per ``by`` label: the increase of ``sum(metric)`` between the last samples
    scraped before t0 and before t1, and the time between those samples."""
    out: dict[str, dict[str, float]] = {}
    v0, v1 = (by_label(prom_url, f"sum by ({by}) ({metric})", t, by) for t in (t0, t1))
    s0, s1 = (by_label(prom_url, f"max by ({by}) (timestamp({metric}))", t, by) for t in (t0, t1))
    for key in v1:
        if key in v0 and key in s0 and key in s1 and s1[key] > s0[key]:
            span = s1[key] - s0[key]
            out[key] = {"increase": v1[key] - v0[key], "span_s": span}
            out[key]["per_s"] = out[key]["increase"] / span
    return out


def lag_buckets(prom_url: str, t0: float, t1: float) -> dict[str, list[tuple[float, float]]]:
    """Per instance: the lag histogram's cumulative (le, count) over the window."""
    q = "sum by (instance, le) (upwatch_exporter_schedule_lag_seconds_bucket)"
    snap = []
    for at in (t0, t1):
        d: dict[str, dict[float, float]] = {}
        for r in promql(prom_url, q, at):
            d.setdefault(r["metric"]["instance"], {})[float(r["metric"]["le"])] = float(
                r["value"][1]
            )
        snap.append(d)
    b0, b1 = snap
    return {
        inst: [(le, c - b0.get(inst, {}).get(le, 0.0)) for le, c in sorted(buckets.items())]
        for inst, buckets in b1.items()
    }


def lag_figures(buckets: list[tuple[float, float]] | None) -> dict[str, Any]:
    if not buckets:
        return {"p50": None, "p99": None, "max_bucket": None, "share_over_250ms": None}
    total = max((c for le, c in buckets if math.isinf(le)), default=0.0)
    within = next((c for le, c in buckets if le == LAG_TARGET), None)
    # the smallest bucket that holds every observation: an upper bound of the max
    top = next((le for le, c in buckets if c >= total), None) if total else None
    return {
        "p50": histogram_quantile(0.5, buckets),
        "p99": histogram_quantile(0.99, buckets),
        "max_bucket": top,
        "share_over_250ms": (1 - within / total) if within is not None and total else None,
        "observations": total,
    }


def sum_buckets(many: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    acc: dict[float, float] = {}
    for buckets in many:
        for le, c in buckets:
            acc[le] = acc.get(le, 0.0) + c
    return sorted(acc.items())


# --------------------------------------------------------------------------- runs


class KernelTime:
    """Machine-wide CPU no process is charged with, from /proc/stat, looking like a
    process to ``measure()``: "irq" (irq + softirq: loopback networking, mostly) and
    "steal" (time the virtual machine's host took)."""

    FIELDS = {"irq": (5, 6), "steal": (7,)}  # after "cpu": user nice system idle iowait ...

    def __init__(self, name: str) -> None:
        self.name = name

    def cpu_seconds(self) -> float:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        return sum(int(fields[i]) for i in self.FIELDS[self.name]) / CLK_TCK

    def alive(self) -> bool:
        return True


def start_exporter(
    procs: Processes, args: argparse.Namespace, name: str, sites: Path, shard: str | None
) -> tuple[Proc, int]:
    port = free_port()
    cmd = [str(args.exporter), "--config", str(sites), "--listen", f"127.0.0.1:{port}"]
    cmd += ["--shard", shard] if shard else []
    return procs.start(name, [*cmd, "--log-level", "warning", *args.exporter_arg]), port


def run_small(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The RSS of an exporter with few sites: what does not grow with the site count.
    Probed at a short interval so that every site has a result, then scraped."""
    d = tmp / "small"
    d.mkdir()
    procs = Processes(d)
    try:
        _nginx, port = start_nginx(procs, d)
        sites = d / "sites.yml"
        interval = min(args.interval, 5.0)
        write_sites(sites, args.small_sites, port, interval, min(args.timeout, interval))
        exporter, exp_port = start_exporter(procs, args, "exporter", sites, None)
        wait_ready(exporter, f"http://127.0.0.1:{exp_port}/healthz")
        sleep_checked([exporter], 2 * interval + 1)
        for _ in range(2):
            httpx.get(f"http://127.0.0.1:{exp_port}/metrics", timeout=30).raise_for_status()
        time.sleep(1)
        return {
            "sites": args.small_sites,
            "interval_s": interval,
            "rss_mb": exporter.status("VmRSS") / 2**20,
            "peak_rss_mb": exporter.status("VmHWM") / 2**20,
        }
    finally:
        procs.stop_all()


def run_stack(
    args: argparse.Namespace, n: int, shards: int, tmp: Path, small: dict[str, Any] | None
) -> dict[str, Any]:
    kind = "sharded" if shards > 1 else "baseline"
    d = tmp / f"{kind}-{n}"
    d.mkdir()
    procs = Processes(d)
    try:
        nginx, port = start_nginx(procs, d)
        sites = d / "sites.yml"
        write_sites(sites, n, port, args.interval, args.timeout)
        exporters: list[tuple[Proc, int]] = []
        for i in range(1, shards + 1):
            shard = f"{i}/{shards}" if shards > 1 else None
            exporters.append(start_exporter(procs, args, f"exporter-{i}", sites, shard))
        t_start = time.monotonic()
        for proc, p in exporters:
            wait_ready(proc, f"http://127.0.0.1:{p}/healthz", timeout=180)
        startup_s = time.monotonic() - t_start
        health = [
            httpx.get(f"http://127.0.0.1:{p}/healthz", timeout=10).json() for _, p in exporters
        ]
        prom_port = free_port()
        jobs = [
            {
                "job_name": "upwatch",
                "static_configs": [{"targets": [f"127.0.0.1:{p}" for _, p in exporters]}],
            },
            {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{prom_port}"]}]},
        ]
        prom, prom_url = start_prometheus(
            procs, d, prometheus_yaml(jobs, args.scrape_interval), port=prom_port
        )
        say(
            f"  {shards} exporter(s) ready in {startup_s:.1f}s, sites per exporter: "
            + " / ".join(f"{h['sites']:,}" for h in health)
        )

        waited: list[float] = []

        def ready() -> bool:
            up = promql(prom_url, 'up{job="upwatch"} == 1')
            if len(up) >= shards:
                return True
            waited.append(time.monotonic())
            return waited[-1] - waited[0] > READY_CAP  # measure what there is

        procs_measured = [nginx, *(p for p, _ in exporters), prom]
        kernel: list[Any] = [KernelTime("irq"), KernelTime("steal")]
        w = measure(
            [*procs_measured, *kernel], args.warmup, args.duration, f"{kind}, {n:,} sites", ready
        )
        all_up_at_start = not waited or waited[-1] - waited[0] <= READY_CAP
        window = w.t1 - w.t0
        # everything below runs after the CPU snapshot: it is not in the figures
        rss = {p.name: p.status("VmRSS") for p in procs_measured}
        hwm = {p.name: p.status("VmHWM") for p in procs_measured}
        prom_metrics = parse_text(
            httpx.get(f"{prom_url}/metrics", timeout=30).text, ("prometheus_tsdb_head_series",)
        )
        time.sleep(2.5)  # nginx flushes its log every second
        log = read_access_log(d / "access.log", w.t0, w.t1, args.interval)

        probes = counter_increase(prom_url, "upwatch_probes_total", w.t0, w.t1)
        failures = counter_increase(prom_url, 'upwatch_probes_total{result="failure"}', w.t0, w.t1)
        skipped = counter_increase(prom_url, "upwatch_exporter_probes_skipped_total", w.t0, w.t1)
        lags = lag_buckets(prom_url, w.t0, w.t1)
        rng = f"{round(window)}s"
        scrape_avg = by_label(
            prom_url, f'avg_over_time(scrape_duration_seconds{{job="upwatch"}}[{rng}])', w.t1
        )
        scrape_max = by_label(
            prom_url, f'max_over_time(scrape_duration_seconds{{job="upwatch"}}[{rng}])', w.t1
        )
        samples = by_label(
            prom_url, f'max_over_time(scrape_samples_scraped{{job="upwatch"}}[{rng}])', w.t1
        )
        scrapes_failed = by_label(
            prom_url,
            f'count_over_time(up{{job="upwatch"}}[{rng}]) - sum_over_time(up{{job="upwatch"}}[{rng}])',
            w.t1,
        )
        appended = counter_increase(
            prom_url, "prometheus_tsdb_head_samples_appended_total", w.t0, w.t1, by="job"
        ).get("prometheus")
        self_scrapes = by_label(
            prom_url, f'count_over_time(up{{job="prometheus"}}[{rng}])', w.t1, "job"
        ).get("prometheus")
        if appended is None:  # fewer than two self-scrapes on either side: the window's own
            rate = by_label(
                prom_url,
                f"sum by (job) (rate(prometheus_tsdb_head_samples_appended_total[{rng}]))",
                w.t1,
                "job",
            ).get("prometheus")
            appended = {"per_s": rate, "source": "rate() over the window"} if rate else None

        small_rss = small["rss_mb"] * 2**20 if small else None
        small_n = small["sites"] if small else 0
        per_exporter = []
        for i, ((proc, p), h) in enumerate(zip(exporters, health, strict=True), start=1):
            inst = f"127.0.0.1:{p}"
            m = h["sites"]
            pr = probes.get(inst)
            probes_in_window = pr["per_s"] * window if pr else None
            cpu = w.cpu(proc.name)
            per_exporter.append(
                {
                    "shard": f"{i}/{shards}",
                    "instance": inst,
                    "sites": m,
                    "scheduled_per_s": m / args.interval,
                    "probes_per_s": pr["per_s"] if pr else None,
                    "failed_per_s": failures[inst]["per_s"] if inst in failures else 0.0,
                    "skipped_in_window": skipped[inst]["increase"] if inst in skipped else None,
                    "lag_s": lag_figures(lags.get(inst)),
                    "cpu_s": cpu,
                    "cpu_cores": cpu / window,
                    "cpu_s_per_1k_probes": cpu * 1000 / probes_in_window
                    if probes_in_window
                    else None,
                    "rss_mb": rss[proc.name] / 2**20,
                    "peak_rss_mb": hwm[proc.name] / 2**20,
                    "rss_bytes_per_site": round(rss[proc.name] / m) if m else None,
                    "marginal_bytes_per_site": round((rss[proc.name] - small_rss) / (m - small_n))
                    if small_rss is not None and m > small_n
                    else None,
                    "scrape_s": {"avg": scrape_avg.get(inst), "max": scrape_max.get(inst)},
                    "samples_per_scrape": round(samples[inst]) if inst in samples else None,
                    "scrapes_failed": scrapes_failed.get(inst),
                }
            )

        ours = sum(w.cpu(p.name) for p in procs_measured)
        busy = (w.machine1[0] - w.machine0[0]) / CLK_TCK
        nginx_probes = max(log.probes, 1)
        exp_cpu = sum(e["cpu_s"] for e in per_exporter)
        exp_rss = sum(rss[p.name] for p, _ in exporters)
        counted = [e["probes_per_s"] for e in per_exporter]
        head_series = next((v for name, _, v in prom_metrics if name.endswith("head_series")), None)
        return {
            "kind": kind,
            "sites": n,
            "exporters": shards,
            "interval_s": args.interval,
            "scrape_interval_s": args.scrape_interval,
            "scrape_timeout_s": max(1.0, round(args.scrape_interval * 0.9, 3)),
            "window_s": round(window, 2),
            "startup_s": round(startup_s, 2),
            "all_targets_up_at_start": all_up_at_start,
            "scheduled_per_s": n / args.interval,
            "probes": log.probes,
            "probes_per_s": log.probes / window,
            "achieved_share": log.probes / window / (n / args.interval),
            "probes_per_s_counters": sum(counted) if None not in counted else None,
            "probes_non_200": log.non_200,
            "sites_probed_in_window": log.sites_seen,
            "failed_per_s": sum(e["failed_per_s"] for e in per_exporter),
            "skipped_in_window": sum(e["skipped_in_window"] or 0 for e in per_exporter),
            "lag_s": lag_figures(sum_buckets(list(lags.values()))),
            "lag_p99_worst_shard": max(
                (e["lag_s"]["p99"] for e in per_exporter if e["lag_s"]["p99"] is not None),
                default=None,
            ),
            "nginx_jitter_s": {"p50": log.jitter_p50, "p99": log.jitter_p99},
            "cpu_s_per_1k_probes": {
                "exporters": exp_cpu * 1000 / nginx_probes,
                "prometheus": w.cpu("prometheus") * 1000 / nginx_probes,
                "together": (exp_cpu + w.cpu("prometheus")) * 1000 / nginx_probes,
                "nginx": w.cpu("nginx") * 1000 / nginx_probes,
            },
            "cpu_cores": {
                "exporters": exp_cpu / window,
                "busiest_exporter": max(e["cpu_cores"] for e in per_exporter),
                "prometheus": w.cpu("prometheus") / window,
                "nginx": w.cpu("nginx") / window,
                "kernel_irq": w.cpu("irq") / window,
                "steal": w.cpu("steal") / window,
                "other_work": max(0.0, busy - ours - w.cpu("irq") - w.cpu("steal")) / window,
            },
            "machine_busy": w.machine_busy,
            "memory": {
                "exporters_rss_mb": exp_rss / 2**20,
                "largest_exporter_rss_mb": max(rss[p.name] for p, _ in exporters) / 2**20,
                "largest_exporter_peak_mb": max(hwm[p.name] for p, _ in exporters) / 2**20,
                "bytes_per_site": round(exp_rss / n),
                "marginal_bytes_per_site": round(
                    (exp_rss - shards * small_rss) / (n - shards * small_n)
                )
                if small_rss is not None and n > shards * small_n
                else None,
                "prometheus_rss_mb": rss["prometheus"] / 2**20,
                "prometheus_peak_mb": hwm["prometheus"] / 2**20,
            },
            "scrape": {
                "avg_s_worst": max(
                    (e["scrape_s"]["avg"] for e in per_exporter if e["scrape_s"]["avg"]),
                    default=None,
                ),
                "max_s": max(
                    (e["scrape_s"]["max"] for e in per_exporter if e["scrape_s"]["max"]),
                    default=None,
                ),
                "samples_per_scrape_total": sum(e["samples_per_scrape"] or 0 for e in per_exporter)
                or None,
                "failed": sum(e["scrapes_failed"] or 0 for e in per_exporter),
            },
            "prometheus": {
                "samples_appended_per_s": appended["per_s"] if appended else None,
                "appended_source": (appended or {}).get("source", "self-scrape samples"),
                "self_scrapes_in_window": self_scrapes,
                "head_series": head_series,
                "cpu_s_per_1k_samples": w.cpu("prometheus") * 1000 / (appended["per_s"] * window)
                if appended and appended["per_s"]
                else None,
            },
            "per_exporter": per_exporter,
        }
    finally:
        procs.stop_all()


# --------------------------------------------------------------------------- report


def g(*keys: str) -> Callable[[dict[str, Any]], Any]:
    """A getter for a table row: r[k1][k2]..."""

    def get(r: dict[str, Any]) -> Any:
        for k in keys:
            r = r[k]
        return r

    return get


SUMMARY_ROWS: list[Row] = [
    ("exporters", g("exporters"), "", False),
    ("probes/s scheduled (sites / interval)", g("scheduled_per_s"), "/s", False),
    ("probes/s achieved (nginx log)", g("probes_per_s"), "/s", True),
    ("  achieved / scheduled", g("achieved_share"), "%", False),
    ("  cross-check: upwatch_probes_total", g("probes_per_s_counters"), "/s", True),
    ("  sites probed in the window", g("sites_probed_in_window"), "", False),
    ("  failed probes/s", g("failed_per_s"), "/s", False),
    ("  skipped (previous still running)", g("skipped_in_window"), "", False),
    ("schedule lag p50, all exporters", g("lag_s", "p50"), "ms", True),
    ("schedule lag p99, all exporters", g("lag_s", "p99"), "ms", True),
    ("  p99 of the worst shard", g("lag_p99_worst_shard"), "ms", True),
    ("  probes later than 250 ms", g("lag_s", "share_over_250ms"), "%", False),
    ("  max lag, at most (its bucket)", g("lag_s", "max_bucket"), "ms", False),
    ("  interval jitter at nginx p99", g("nginx_jitter_s", "p99"), "ms", False),
    ("CPU s / 1k probes: exporters", g("cpu_s_per_1k_probes", "exporters"), "s", True),
    ("CPU s / 1k probes: Prometheus", g("cpu_s_per_1k_probes", "prometheus"), "s", True),
    ("CPU s / 1k probes: together", g("cpu_s_per_1k_probes", "together"), "s", True),
    ("  (nginx, the target)", g("cpu_s_per_1k_probes", "nginx"), "s", False),
    ("cores: exporters together", g("cpu_cores", "exporters"), "", True),
    ("cores: busiest exporter", g("cpu_cores", "busiest_exporter"), "", True),
    ("cores: Prometheus", g("cpu_cores", "prometheus"), "", True),
    ("cores: nginx", g("cpu_cores", "nginx"), "", False),
    ("cores: kernel irq/softirq (network)", g("cpu_cores", "kernel_irq"), "", False),
    ("cores: stolen by the VM's host", g("cpu_cores", "steal"), "", False),
    ("cores: other work on the machine", g("cpu_cores", "other_work"), "", False),
    ("  machine busy (both cores)", g("machine_busy"), "%", False),
    ("RSS: exporters together", g("memory", "exporters_rss_mb"), "MB", True),
    ("RSS: largest exporter (peak)", g("memory", "largest_exporter_peak_mb"), "MB", True),
    ("bytes per site (RSS / sites)", g("memory", "bytes_per_site"), "", True),
    ("  marginal bytes per site", g("memory", "marginal_bytes_per_site"), "", True),
    ("scrape duration avg (worst exporter)", g("scrape", "avg_s_worst"), "ms", True),
    ("scrape duration max", g("scrape", "max_s"), "ms", True),
    ("samples per scrape (all exporters)", g("scrape", "samples_per_scrape_total"), "", True),
    ("  failed scrapes in the window", g("scrape", "failed"), "", False),
    ("Prometheus samples appended/s", g("prometheus", "samples_appended_per_s"), "/s", True),
    ("Prometheus head series", g("prometheus", "head_series"), "", True),
    ("Prometheus CPU s / 1k samples", g("prometheus", "cpu_s_per_1k_samples"), "s", True),
    ("Prometheus RSS (peak)", g("memory", "prometheus_peak_mb"), "MB", True),
    ("  Prometheus RSS after the window", g("memory", "prometheus_rss_mb"), "MB", True),
    ("exporters' start-up (load + listen)", g("startup_s"), "s", False),
]

SHARD_ROWS: list[Row] = [
    ("sites", g("sites"), "", False),
    ("probes/s scheduled", g("scheduled_per_s"), "/s", False),
    ("probes/s (upwatch_probes_total)", g("probes_per_s"), "/s", False),
    ("schedule lag p50", g("lag_s", "p50"), "ms", False),
    ("schedule lag p99", g("lag_s", "p99"), "ms", False),
    ("  probes later than 250 ms", g("lag_s", "share_over_250ms"), "%", False),
    ("skipped in the window", g("skipped_in_window"), "", False),
    ("CPU cores", g("cpu_cores"), "", False),
    ("CPU s / 1k probes", g("cpu_s_per_1k_probes"), "s", False),
    ("RSS after the window", g("rss_mb"), "MB", False),
    ("RSS peak", g("peak_rss_mb"), "MB", False),
    ("bytes per site (RSS / sites)", g("rss_bytes_per_site"), "", False),
    ("  marginal bytes per site", g("marginal_bytes_per_site"), "", False),
    ("  marginal, per site of the whole list", g("marginal_bytes_per_listed_site"), "", False),
    ("scrape duration avg", g("scrape_s", "avg"), "ms", False),
    ("scrape duration max", g("scrape_s", "max"), "ms", False),
    ("samples per scrape", g("samples_per_scrape"), "", False),
    ("failed scrapes in the window", g("scrapes_failed"), "", False),
]

NOTES = """\
Lag: due time to probe start, from the exporters' own histograms as Prometheus
scraped them (buckets 1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms, 1 s ...; p99
interpolated inside its bucket); "-" when no scrape succeeded. The nginx jitter row
measures lateness at the target without Prometheus: |dt - interval| between two
consecutive probes of the same URL. Cores: CPU seconds per second of the window
(the machine has {cores}). "other work": busy time of the whole machine not used by
this benchmark's processes nor by the kernel's interrupts, i.e. other people's
work (and this script). Marginal bytes per site: (RSS - {small_mb:.1f} MB, the RSS of an
exporter with {small_n} sites) / (sites - {small_n}), per exporter; "together" subtracts
it once per exporter. Every exporter parses and validates the whole site list, so a
shard's RSS follows the length of the list more than its own share: "per site of the
whole list" divides by all N sites."""


def derive(results: dict[str, Any]) -> None:
    """Figures computed from the others (also for results files written before them):
    every exporter loads and validates the whole site list, so its RSS also follows
    the number of sites in the list, not only those of its shard."""
    small = results.get("small")
    for runs in results["runs"].values():
        for r in runs.values():
            for e in r.get("per_exporter", []):
                n = r["sites"]
                if small and n > small["sites"]:
                    e["marginal_bytes_per_listed_site"] = round(
                        (e["rss_mb"] - small["rss_mb"]) * 2**20 / (n - small["sites"])
                    )


def report(results: dict[str, Any]) -> str:
    derive(results)
    m, v, p = results["machine"], results["versions"], results["params"]
    out = [
        f"machine: {m['cores']} cores, {m['cpu_model']}, {m['memory_gb']} GB RAM"
        " (shared: see 'other work')",
        f"versions: upwatch {v['upwatch']} (Python {v['python']}, aiohttp {v['aiohttp']}, "
        f"APScheduler {v['APScheduler']}); {v['prometheus']}; {v['nginx']}; Linux {v['kernel']}",
        f"probe interval {p['interval']:g} s, timeout {p['timeout']:g} s, scrape interval "
        f"{p['scrape_interval']:g} s, warm-up {p['warmup']:g} s, measured {p['duration']:g} s "
        "per run; runs one after another",
        "",
    ]
    small = results.get("small")
    if small:
        out.append(
            f"small exporter ({small['sites']} sites): RSS {small['rss_mb']:.1f} MB "
            f"(peak {small['peak_rss_mb']:.1f} MB)"
        )
        out.append("")
    for n, runs in results["runs"].items():
        ok = [(k, r) for k, r in runs.items() if "error" not in r]
        for k, r in runs.items():
            if "error" in r:
                out.append(f"{n} sites, {k}: COULD NOT RUN: {r['error']}")
        if ok:
            sharded = [r for _, r in ok if r["kind"] == "sharded"]
            cols = [(label_of(r), r) for _, r in ok]
            pair = (0, 1) if len(cols) == 2 else None
            shards = sharded[0]["exporters"] if sharded else 1
            out.append(
                table(
                    f"{n} sites at {p['interval']:g} s",
                    cols,
                    pair,
                    rows=SUMMARY_ROWS,
                    ratio_head=f"{shards} / 1",
                )
            )
            for _, r in ok:
                if not r["all_targets_up_at_start"]:
                    out.append(
                        f"  note ({label_of(r)}): Prometheus had not scraped every exporter "
                        f"{READY_CAP:.0f} s after the warm-up; measured anyway"
                    )
                if r["lag_s"]["p99"] is None:
                    out.append(
                        f"  note ({label_of(r)}): no scrape of the exporters succeeded in the "
                        f"window (timeout {r['scrape_timeout_s']:g} s): no lag or counter "
                        "figures from Prometheus; nginx's log still counts the probes"
                    )
            out.append("")
            cols = [(f"{label_of(r)} {e['shard']}", e) for _, r in ok for e in r["per_exporter"]]
            out.append(table(f"{n} sites, per exporter", cols, None, rows=SHARD_ROWS))
            out.append("")
    if small:
        out.append(NOTES.format(cores=m["cores"], small_mb=small["rss_mb"], small_n=small["sites"]))
    out.append("")
    out += targets(results)
    return "\n".join(out)


def label_of(r: dict[str, Any]) -> str:
    return f"{r['exporters']} shards" if r["kind"] == "sharded" else "1 exporter"


def targets(results: dict[str, Any]) -> list[str]:
    out = ["scale target (DESIGN): one machine, 10,000 sites at a 30 s interval:"]
    for n, runs in results["runs"].items():
        for k, r in runs.items():
            if "error" in r:
                out.append(f"- {n} sites, {k}: could not run")
                continue
            share, p99 = r["achieved_share"], r["lag_s"]["p99"]
            kept = share >= 0.99 and p99 is not None and p99 < LAG_TARGET
            lag = (
                f"lag p99 {fmt(p99, 'ms')}"
                if p99 is not None
                else f"lag unknown (scrapes failed), nginx jitter p99 "
                f"{fmt(r['nginx_jitter_s']['p99'], 'ms')}"
            )
            out.append(
                f"- {n} sites, {label_of(r)}: {r['probes_per_s']:.1f} of "
                f"{r['scheduled_per_s']:.1f} probes/s ({share:.1%}), {lag} "
                f"-> {'keeps up' if kept else 'FALLS BEHIND'}"
            )
    return out


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sites", type=int, nargs="+", default=[10000, 30000], metavar="N")
    p.add_argument("--shards", type=int, default=3, help="exporters in the sharded run (3)")
    p.add_argument(
        "--interval", type=float, default=30.0, metavar="SECONDS",
        help="probe interval of every site (default 30, the product's scale target)",
    )  # fmt: skip
    p.add_argument(
        "--scrape-interval", type=float, default=15.0, metavar="SECONDS",
        help="Prometheus' scrape interval (default 15, as prometheus/prometheus.yml)",
    )  # fmt: skip
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS")
    p.add_argument(
        "--duration", type=float, default=None, metavar="SECONDS",
        help="measured window per run (default 2 intervals)",
    )  # fmt: skip
    p.add_argument(
        "--warmup", type=float, default=None, metavar="SECONDS",
        help="warm-up before the window (default 1 interval)",
    )  # fmt: skip
    p.add_argument(
        "--no-baseline", action="store_true",
        help="skip the single unsharded exporter run",
    )  # fmt: skip
    p.add_argument(
        "--small-sites", type=int, default=100, metavar="N",
        help="sites of the small exporter for the marginal bytes per site (0 to skip)",
    )  # fmt: skip
    p.add_argument("--exporter", type=Path, default=VENV_BIN / "upwatch-exporter")
    p.add_argument(
        "--exporter-arg", action="append", default=[], metavar="ARG",
        help="extra argument for every upwatch-exporter (repeatable)",
    )  # fmt: skip
    p.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory")
    p.add_argument(
        "--report", type=Path, metavar="JSON",
        help="print the report of an earlier run's results file, run nothing",
    )  # fmt: skip
    args = p.parse_args(argv)
    args.duration = args.duration or 2 * args.interval
    args.warmup = args.interval if args.warmup is None else args.warmup
    args.stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    if args.shards < 2:
        p.error("--shards must be at least 2 (the baseline is the single exporter)")
    return args


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        say(report(json.loads(args.report.read_text())))
        return 0
    if not args.exporter.exists():
        sys.exit(
            f"bench: {args.exporter} not found: install the package (.venv/bin/pip install -e .)"
        )
    raise_nofile_limit()
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    tmp = Path(tempfile.mkdtemp(prefix="upwatch-scale-", dir=base))
    results: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(args.exporter),
        "params": {k: v for k, v in vars(args).items() if k not in ("exporter", "stamp")},
        "small": None,
        "runs": {},
    }
    results["params"]["exporter"] = str(args.exporter)
    out = RESULTS / f"scale-{args.stamp}.json"

    def save() -> None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str) + "\n")

    status = 0
    busy0 = proc_stat_busy()
    try:
        if args.small_sites:
            say(f"small exporter, {args.small_sites} sites (RSS that does not grow with sites)")
            results["small"] = run_small(args, tmp)
            say(f"  -> RSS {results['small']['rss_mb']:.1f} MB")
        for n in args.sites:
            runs: dict[str, Any] = {}
            results["runs"][f"{n:,}"] = runs
            plan = [("sharded", args.shards)] + ([] if args.no_baseline else [("baseline", 1)])
            for kind, shards in plan:
                say(f"{kind}: {shards} exporter(s), {n:,} sites every {args.interval:g} s")
                try:
                    runs[kind] = run_stack(args, n, shards, tmp, results["small"])
                except (RuntimeError, httpx.HTTPError, OSError) as exc:
                    # reported, never made up: the table says this run could not be done
                    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                    runs[kind] = {"error": msg, "detail": str(exc)[-2000:]}
                    say(f"  -> could not run: {msg}")
                else:
                    say(f"  -> {one_line(runs[kind])}")
                save()
    except KeyboardInterrupt:
        say("interrupted: stopped every process; the report below has the finished runs only")
        status = 130
    finally:
        if args.keep_tmp:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    busy1 = proc_stat_busy()
    results["machine_busy_whole_run"] = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
    save()
    say()
    say(report(results))
    say(f"\nresults: {out.relative_to(ROOT)}")
    return status


def one_line(r: dict[str, Any]) -> str:
    return (
        f"{r['probes_per_s']:.1f} of {r['scheduled_per_s']:.1f} probes/s, "
        f"lag p99 {fmt(r['lag_s']['p99'], 'ms')}, "
        f"exporters {r['cpu_cores']['exporters']:.2f} cores, "
        f"CPU/1k probes {r['cpu_s_per_1k_probes']['together']:.3f} s, "
        f"other work {r['cpu_cores']['other_work']:.2f} cores"
    )


if __name__ == "__main__":
    sys.exit(main())
