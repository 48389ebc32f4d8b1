"""Benchmark: many sites over several exporter shards on one machine (issue 7).

    .venv/bin/python bench/scale.py [--sites 10000 30000] [--interval 30] [--shards 3]
        [--duration SECONDS] [--scrape-interval 15] [--no-baseline] [--no-rules]

For each N of ``--sites``, one run after the other on the same machine:

(a) sharded: nginx on loopback serving N distinct URLs, ``--shards`` exporters
    (``upwatch-exporter --shard i/S``, one port each) on the same site list of N sites
    probed every ``--interval`` seconds, and one Prometheus scraping all of them and
    itself every ``--scrape-interval`` seconds (the shipped prometheus.yml's 15 s),
    and evaluating the shipped rules, prometheus/rules/*.yml (absolute paths), every
    ``--evaluation-interval`` seconds (15 s; groups with their own ``interval`` keep
    it) unless ``--no-rules``;
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
- rule evaluation, per group: every evaluation that started in the window, from
  /api/v1/rules read every 2 s in a thread (the group's and each rule's
  evaluationTime; avg, max, max / the group's interval); avg and max of the
  self-scraped ``prometheus_rule_group_last_duration_seconds``; the increase of
  ``prometheus_rule_group_iterations_missed_total`` and
  ``prometheus_rule_evaluation_failures_total``;
  ``prometheus_rule_group_last_evaluation_samples``; the series the recording rules
  wrote (``count({__name__=~".+:.+"})``). Groups not evaluated in the window (5 m,
  1 h) have their queries timed once after it (``stats=all``). The rules' [1h]
  windows hold only the run's few minutes of samples: the report says how many.

Results are printed and written to bench/results/scale-<timestamp>.json. Helpers
(processes, nginx, Prometheus, /proc, PromQL, the table) come from bench/prober.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
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
    promql_value,
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
# The shipped rules read up{job="upwatch-exporter"}: the exporters' job has that name.
JOB = "upwatch-exporter"
RULES_DIR = ROOT / "prometheus" / "rules"  # *.yml only: rules/tests/ are promtool's tests


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


# --------------------------------------------------------------------------- rules


def rfc3339(text: str) -> float | None:
    """Unix seconds of Prometheus' RFC 3339 times (nanoseconds, Z or an offset);
    None for Go's zero time (a group or rule not evaluated yet)."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text or "")
    if not m or m[1].startswith("0001-"):
        return None
    tz = "+00:00" if m[3] == "Z" else m[3]
    return dt.datetime.fromisoformat(m[1] + tz).timestamp() + float(m[2] or 0)


class RulePoller:
    """Reads /api/v1/rules every ``every`` seconds in a thread, from Prometheus' start
    to the window's end: each group's and each rule's last evaluation (its start) and
    how long it took. A group's figures stay until its next evaluation (15 s or more
    later), so every evaluation is seen, once (kept by its start time)."""

    def __init__(self, url: str, every: float = 2.0) -> None:
        self.url, self.every = url, every
        # (file, group) -> its interval and rules, as the API lists them
        self.groups: dict[tuple[str, str], dict[str, Any]] = {}
        # (file, group, start) -> seconds; (file, group, rule index, start) -> seconds
        self.group_evals: dict[tuple[str, str, float], float] = {}
        self.rule_evals: dict[tuple[str, str, int, float], float] = {}
        self.polls = self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rule-poller", daemon=True)

    def __enter__(self) -> RulePoller:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(15)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                r = httpx.get(f"{self.url}/api/v1/rules", timeout=10)
                r.raise_for_status()
                self.poll(r.json()["data"]["groups"])
            except (httpx.HTTPError, ValueError, KeyError):
                self.errors += 1
            self._stop.wait(self.every)

    def poll(self, groups: list[dict[str, Any]]) -> None:
        self.polls += 1
        for grp in groups:
            file, name = grp["file"], grp["name"]
            self.groups[(file, name)] = {
                "interval_s": float(grp.get("interval") or 0) or None,
                "rules": [rule.get("name", "?") for rule in grp["rules"]],
                "queries": [rule.get("query") for rule in grp["rules"]],
            }
            at = rfc3339(grp.get("lastEvaluation", ""))
            if at is not None:
                self.group_evals.setdefault((file, name, at), float(grp["evaluationTime"]))
            for i, rule in enumerate(grp["rules"]):
                at = rfc3339(rule.get("lastEvaluation", ""))
                if at is not None:
                    self.rule_evals.setdefault((file, name, i, at), float(rule["evaluationTime"]))

    def in_window(self, t0: float, t1: float) -> dict[tuple[str, str], list[float]]:
        out: dict[tuple[str, str], list[float]] = {key: [] for key in self.groups}
        for (file, name, at), secs in sorted(self.group_evals.items()):
            if t0 <= at < t1:
                out.setdefault((file, name), []).append(secs)
        return out

    def rules_in_window(self, t0: float, t1: float) -> dict[tuple[str, str, int], list[float]]:
        out: dict[tuple[str, str, int], list[float]] = {}
        for (file, name, i, at), secs in sorted(self.rule_evals.items()):
            if t0 <= at < t1:
                out.setdefault((file, name, i), []).append(secs)
        return out


def query_time(prom_url: str, query: str, at: float) -> float | None:
    """How long Prometheus takes to evaluate ``query`` once at ``at``: its own
    ``stats=all`` evalTotalTime when it reports one, else the request's wall time."""
    t = time.perf_counter()
    try:
        r = httpx.get(
            f"{prom_url}/api/v1/query",
            params={"query": query, "time": f"{at:.3f}", "stats": "all"},
            timeout=120,
        )
    except httpx.HTTPError:
        return None
    wall = time.perf_counter() - t
    if r.status_code != 200:
        return None
    timings = (r.json()["data"].get("stats") or {}).get("timings") or {}
    return timings.get("evalTotalTime", wall)


def rule_figures(
    prom_url: str, poller: RulePoller, t0: float, t1: float, rule_files: list[str]
) -> dict[str, Any]:
    """Per rule group over the window [t0, t1): its evaluations (from the poller), the
    self-scraped prometheus_rule_group_* metrics, and the series the rules wrote."""
    rng = f"{round(t1 - t0)}s"
    by_group = "rule_group"

    def per_group(query: str) -> dict[str, float]:
        return by_label(prom_url, query, t1, by_group)

    def increase(metric: str) -> dict[str, float]:
        exact = counter_increase(prom_url, metric, t0, t1, by=by_group)
        out = {k: v["increase"] for k, v in exact.items()}
        for k, v in per_group(f"sum by ({by_group}) (increase({metric}[{rng}]))").items():
            out.setdefault(k, v)  # fewer than two self-scrapes: increase() over the window
        return out

    last_avg = per_group(f"avg_over_time(prometheus_rule_group_last_duration_seconds[{rng}])")
    last_max = per_group(f"max_over_time(prometheus_rule_group_last_duration_seconds[{rng}])")
    interval = per_group("prometheus_rule_group_interval_seconds")
    samples = per_group("prometheus_rule_group_last_evaluation_samples")
    missed = increase("prometheus_rule_group_iterations_missed_total")
    failures = increase("prometheus_rule_evaluation_failures_total")
    iterations = increase("prometheus_rule_group_iterations_total")
    evals = poller.in_window(t0, t1)
    rule_evals = poller.rules_in_window(t0, t1)

    groups, all_rules = [], []
    for (file, name), info in poller.groups.items():
        key = f"{file};{name}"
        secs = evals.get((file, name), [])
        every = info["interval_s"] or interval.get(key)
        rules = []
        for i, rule in enumerate(info["rules"]):
            rs = rule_evals.get((file, name, i), [])
            if rs:
                label = rule if info["rules"].count(rule) == 1 else f"{rule} #{i + 1}"
                rules.append(
                    {
                        "group": name,
                        "rule": label,
                        "evaluations": len(rs),
                        "avg_s": sum(rs) / len(rs),
                        "max_s": max(rs),
                    }
                )
        rules.sort(key=lambda r: -r["avg_s"])
        all_rules += rules
        group: dict[str, Any] = {
            "group": name,
            "file": Path(file).name,
            "interval_s": every,
            "rules": len(info["rules"]),
            "evaluations": len(secs),
            "eval_s": {"avg": sum(secs) / len(secs), "max": max(secs)} if secs else None,
            "share_of_interval": max(secs) / every if secs and every else None,
            "last_duration_metric_s": {"avg": last_avg.get(key), "max": last_max.get(key)},
            "iterations": iterations.get(key),
            "iterations_missed": missed.get(key),
            "evaluation_failures": failures.get(key),
            "samples": samples.get(key),
            "slowest_rule": rules[0] if rules else None,
        }
        if not secs:
            # not evaluated in the window (5 m and 1 h groups start at an offset of up
            # to their interval): each rule's query timed once at the window's end
            times = [query_time(prom_url, q, t1) for q in info["queries"] if q]
            group["ad_hoc_s"] = sum(t for t in times if t is not None) if times else None
        groups.append(group)

    evaluated = [g for g in groups if g["share_of_interval"] is not None]
    slowest = max(evaluated, key=lambda g: g["share_of_interval"], default=None)
    total_missed = sum(g["iterations_missed"] or 0 for g in groups)
    total_failures = sum(g["evaluation_failures"] or 0 for g in groups)
    summary = by_label(prom_url, "prometheus_rule_group_duration_seconds", t1, "quantile")
    return {
        "loaded": True,
        "files": rule_files,
        "groups": groups,
        "rules_top": sorted(all_rules, key=lambda r: -r["avg_s"])[:8],
        "slowest": {
            "group": slowest["group"],
            "interval_s": slowest["interval_s"],
            "avg_s": slowest["eval_s"]["avg"],
            "max_s": slowest["eval_s"]["max"],
            "share": slowest["share_of_interval"],
        }
        if slowest
        else None,
        # seconds of rule evaluation per second of time, all groups (they run in
        # parallel, each on its own goroutine)
        "busy_per_s": sum(
            g["eval_s"]["avg"] / g["interval_s"] for g in evaluated if g["interval_s"]
        ),
        "missed": total_missed,
        "failures": total_failures,
        "keeps_up": bool(evaluated)
        and total_missed == 0
        and all(g["share_of_interval"] < 1 for g in evaluated),
        "recorded_series": promql_value(prom_url, 'count({__name__=~".+:.+"})', t1),
        "group_duration_quantiles_s": {q: v for q, v in summary.items() if not math.isnan(v)},
        # how full the rules' 1 h windows were: samples per series of upwatch_site_up
        # in the last hour at the window's end (240 at a 15 s scrape, in steady state)
        "samples_per_series_1h": promql_value(
            prom_url, f'avg(count_over_time(upwatch_site_up{{job="{JOB}"}}[1h]))', t1
        ),
        "poller": {"polls": poller.polls, "errors": poller.errors},
    }


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
                "job_name": JOB,
                "static_configs": [{"targets": [f"127.0.0.1:{p}" for _, p in exporters]}],
            },
            {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{prom_port}"]}]},
        ]
        # the shipped rules, as prometheus/prometheus.yml loads them (rules/*.yml)
        rule_files = [] if args.no_rules else sorted(str(f) for f in RULES_DIR.glob("*.yml"))
        config = prometheus_yaml(jobs, args.scrape_interval, rule_files, args.evaluation_interval)
        prom, prom_url = start_prometheus(procs, d, config, port=prom_port)
        poller = RulePoller(prom_url)
        say(
            f"  {shards} exporter(s) ready in {startup_s:.1f}s, sites per exporter: "
            + " / ".join(f"{h['sites']:,}" for h in health)
        )

        waited: list[float] = []

        def ready() -> bool:
            up = promql(prom_url, f'up{{job="{JOB}"}} == 1')
            if len(up) >= shards:
                return True
            waited.append(time.monotonic())
            return waited[-1] - waited[0] > READY_CAP  # measure what there is

        procs_measured = [nginx, *(p for p, _ in exporters), prom]
        kernel: list[Any] = [KernelTime("irq"), KernelTime("steal")]
        with poller:
            w = measure(
                [*procs_measured, *kernel],
                args.warmup,
                args.duration,
                f"{kind}, {n:,} sites" + ("" if rule_files else ", no rules"),
                ready,
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
            prom_url, f'avg_over_time(scrape_duration_seconds{{job="{JOB}"}}[{rng}])', w.t1
        )
        scrape_max = by_label(
            prom_url, f'max_over_time(scrape_duration_seconds{{job="{JOB}"}}[{rng}])', w.t1
        )
        samples = by_label(
            prom_url, f'max_over_time(scrape_samples_scraped{{job="{JOB}"}}[{rng}])', w.t1
        )
        scrapes_failed = by_label(
            prom_url,
            f'count_over_time(up{{job="{JOB}"}}[{rng}]) - sum_over_time(up{{job="{JOB}"}}[{rng}])',
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
        rules = (
            rule_figures(prom_url, poller, w.t0, w.t1, rule_files)
            if rule_files
            else {"loaded": False}
        )

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
            "rules": rules,
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
    ("rules: slowest group, max evaluation", g("rules", "slowest", "max_s"), "ms", True),
    ("  its average", g("rules", "slowest", "avg_s"), "ms", True),
    ("  max / its interval", g("rules", "slowest", "share"), "%", True),
    ("rule evaluation, s per s (all groups)", g("rules", "busy_per_s"), "", True),
    ("  missed iterations", g("rules", "missed"), "", False),
    ("  rule evaluation failures", g("rules", "failures"), "", False),
    ("  series written by the rules", g("rules", "recorded_series"), "", True),
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


RULES_NOTES = """\
Rules: the shipped prometheus/rules/*.yml, global evaluation interval {every:g} s (a
group's own `interval` overrides it). Each group's evaluations whose start fell in the
window, from /api/v1/rules read every 2 s (evaluationTime of the group and of each
rule); "metric" is max_over_time(prometheus_rule_group_last_duration_seconds) as the
self-scrape sampled it. missed / failed: increase of
prometheus_rule_group_iterations_missed_total / prometheus_rule_evaluation_failures_total.
samples: prometheus_rule_group_last_evaluation_samples (series a group wrote, or
alerts it returned, at its last evaluation). A group with no evaluation in the window
(the 5 m and 1 h groups start at an offset of up to their interval) has its rules'
queries timed once after the window instead ("ad hoc", Prometheus' evalTotalTime).
Prometheus' CPU, RSS, samples appended and head series include the rules' work.
These figures under-state the steady state: the Prometheus of a run is minutes old,
so the rules' [1h] windows (last_over_time in upwatch-sites and the quorum threshold,
ratio_1h) held {fill} samples per series at the window's end, not the 240 of a full
hour at a 15 s scrape; last_over_time reads whatever exists in its window, and
decoding 240 samples per series instead costs more. The 24 h, 7 d and 30 d ratios
read tiles that do not exist yet (they fall back to the shorter ratio), and the tile
groups sum minutes, not 5 m or 1 h. Scale the [1h] rules' cost with care."""


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
    rule_runs = [
        r
        for runs in results["runs"].values()
        for r in runs.values()
        if (r.get("rules") or {}).get("loaded")
    ]
    for n, runs in results["runs"].items():
        for r in runs.values():
            if (r.get("rules") or {}).get("loaded"):
                out += rules_table(n, r)
                out.append("")
    if small:
        out.append(NOTES.format(cores=m["cores"], small_mb=small["rss_mb"], small_n=small["sites"]))
    if rule_runs:
        fills = [r["rules"]["samples_per_series_1h"] for r in rule_runs]
        fill = (
            "-"
            if None in fills
            else " to ".join(sorted({f"{min(fills):.0f}", f"{max(fills):.0f}"}))
        )
        out.append("")
        out.append(RULES_NOTES.format(every=p.get("evaluation_interval", 15.0), fill=fill))
    out.append("")
    out += targets(results)
    return "\n".join(out)


def grid(head: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = []
    for r in [head, *body]:
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        lines.append(" | ".join(cells))
    lines.insert(1, "-" * len(lines[0]))
    return lines


def rules_table(n: str, r: dict[str, Any]) -> list[str]:
    """One line per rule group, then the rules that took longest."""
    ru = r["rules"]
    out = [f"{n} sites, {label_of(r)}: rule groups over the {r['window_s']:.0f} s window"]
    head = ["group", "interval", "evals", "avg", "max", "max/interval", "metric max"]
    head += ["missed", "failed", "samples", "slowest rule (avg)"]
    body = []
    for grp in ru["groups"]:
        ev, slow = grp["eval_s"] or {}, grp["slowest_rule"]
        if grp["evaluations"]:
            avg, mx = fmt(ev.get("avg"), "ms"), fmt(ev.get("max"), "ms")
        else:
            avg, mx = "-", f"ad hoc {fmt(grp.get('ad_hoc_s'), 'ms')}"
        body.append(
            [
                grp["group"],
                f"{grp['interval_s']:g} s" if grp["interval_s"] else "-",
                str(grp["evaluations"]),
                avg,
                mx,
                fmt(grp["share_of_interval"], "%"),
                fmt(grp["last_duration_metric_s"]["max"], "ms"),
                fmt(grp["iterations_missed"]),
                fmt(grp["evaluation_failures"]),
                fmt(grp["samples"]),
                f"{slow['rule']} {fmt(slow['avg_s'], 'ms')}" if slow else "-",
            ]
        )
    out += grid(head, body)
    top = ", ".join(
        f"{t['rule']} ({t['group']}) {fmt(t['avg_s'], 'ms')}" for t in ru["rules_top"][:5]
    )
    out.append(f"  longest rules, average per evaluation: {top or '-'}")
    q = ru.get("group_duration_quantiles_s") or {}
    if q:
        out.append(
            "  prometheus_rule_group_duration_seconds (every group, last 10 min): "
            + ", ".join(f"q{k} {fmt(v, 'ms')}" for k, v in sorted(q.items()))
        )
    return out


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
            ru = r.get("rules") or {}
            if ru.get("loaded"):
                slow = ru["slowest"]
                worst = (
                    f"slowest group {slow['group']} max {fmt(slow['max_s'], 'ms')}, "
                    f"{slow['share']:.1%} of its {slow['interval_s']:g} s"
                    if slow
                    else "no group evaluated in the window"
                )
                stale = (
                    " (on stale input: no scrape of the exporters succeeded in the window)"
                    if p99 is None
                    else ""
                )
                out.append(
                    f"  rules: {worst}; missed iterations {fmt(ru['missed'])}, failures "
                    f"{fmt(ru['failures'])} -> {'keep up' if ru['keeps_up'] else 'FALL BEHIND'}"
                    + stale
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
    p.add_argument(
        "--evaluation-interval", type=float, default=15.0, metavar="SECONDS",
        help="Prometheus' global rule evaluation interval (default 15, as prometheus.yml)",
    )  # fmt: skip
    p.add_argument(
        "--no-rules", action="store_true",
        help="load no rules (default: the shipped prometheus/rules/*.yml)",
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
        + (
            f", slowest rule group {fmt(slow['max_s'], 'ms')} ({slow['share']:.0%} of "
            f"{slow['interval_s']:g} s)"
            if (slow := (r.get("rules") or {}).get("slowest"))
            else ""
        )
    )


if __name__ == "__main__":
    sys.exit(main())
