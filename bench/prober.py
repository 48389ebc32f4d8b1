"""Benchmark: Upwatch's exporter against blackbox_exporter, on the same targets.

    .venv/bin/python bench/prober.py [--sites 1000 5000] [--interval 15]
        [--duration SECONDS] [--exporter-only-sites 10000] [--profile]

For each N of ``--sites`` it runs, one after the other on the same machine:

(a) nginx on loopback serving N distinct URLs, ``upwatch-exporter`` probing them
    every I seconds, and Prometheus scraping the exporter's /metrics every I seconds;
(b) the same nginx targets, ``prometheus-blackbox-exporter`` (module http_2xx) and
    Prometheus scraping the N probe targets every I seconds (the usual relabeling).

and then (c) the exporter alone at ``--exporter-only-sites``. Each run warms up for
one interval and is measured over ``--duration`` seconds. Every binary runs as a
child process on loopback with its own files in a temporary directory and is
stopped at the end (also on Ctrl-C or an error).

How each figure is measured (the same way for both stacks unless said):

- probes: requests that reached nginx in the window, from nginx's access log
  (``$msec $status $uri``, on tmpfs). Cross-checks: the exporter's
  ``upwatch_probes_total`` and Prometheus' count of blackbox scrapes.
- CPU: utime+stime deltas of each process over the window, from /proc/<pid>/stat;
  per 1,000 probes. "together" = prober + Prometheus.
- peak RSS: VmHWM from /proc/<pid>/status at the end of the run.
- schedule lag. Upwatch: its own ``upwatch_exporter_schedule_lag_seconds`` histogram
  (bucket deltas over the window, read from Prometheus, quantiles interpolated as
  ``histogram_quantile`` does; the share of probes later than 250 ms is exact).
  blackbox: Prometheus' ``prometheus_target_interval_length_seconds`` summary
  quantiles minus the interval (how late a scrape came after the previous one).
  Both: the interval jitter seen at the target, |Δt - I| between two consecutive
  requests for the same URL in nginx's log: one method for both stacks.
- render. Upwatch: wall time of GET /metrics (all N sites in one response), several
  times after the window, and the exporter's own render gauge. blackbox: wall time
  of GET /probe?target=…&module=http_2xx (one site, the probe included). Both:
  Prometheus' ``scrape_duration_seconds`` (one scrape of all N sites against one
  scrape per site). The Upwatch/blackbox ratio of these rows compares unlike units
  and is printed for completeness only.

Results are printed and written to bench/results/prober-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import datetime as dt
import importlib.metadata
import itertools
import json
import math
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
LAG_TARGET = 0.25
TARGETS = {"p99_lag_s": 0.25, "rss_mb": 150.0, "render_s": 0.3}


def say(msg: str = "") -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- processes


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the benchmark itself dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _cpu_of(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


cpu_seconds = _cpu_of  # user + system CPU seconds of a process so far (0 when gone)


def pid_of(marker: str) -> int | None:
    """The process whose command line contains ``marker``, for processes another
    helper started (tests.servers), or None."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    return int(entry.name)
            except OSError:
                continue
    return None


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def cpu_seconds(self) -> float:
        """utime + stime of the process (all its threads) and of its live children
        (nginx's workers), in seconds."""
        return sum(_cpu_of(pid) for pid in [self.pid, *_children(self.pid)])

    def status(self, key: str) -> int:
        """A ``kB`` figure of /proc/<pid>/status (VmHWM, VmRSS), in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Processes:
    """Starts children and stops every one of them at the end, whatever happens."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[Proc] = []

    def start(self, name: str, args: list[str]) -> Proc:
        log = self.workdir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # Ctrl-C reaches us only; we stop them in order
                preexec_fn=_die_with_parent,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def stop(self, proc: Proc, grace: float = 10.0) -> None:
        if proc.alive():
            with contextlib.suppress(ProcessLookupError):
                proc.popen.terminate()
            try:
                proc.popen.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.popen.kill()
                proc.popen.wait(5)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(proc: Proc, url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{proc.name} not ready at {url} after {timeout:.0f}s:\n{proc.tail()}")


def binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin")
    if not path:
        sys.exit(f"bench: {name} is not installed (make bench installs it with apt-get)")
    return path


def raise_nofile_limit() -> None:
    """Children inherit it: thousands of probes may be in flight at once."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --------------------------------------------------------------------------- configs


def dur(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms" if seconds != int(seconds) else f"{int(seconds)}s"


def site_url(port: int, i: int) -> str:
    return f"http://127.0.0.1:{port}/site/{i}"


NGINX_CONF = """\
worker_processes 1;
worker_rlimit_nofile 65536;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 32768; }}
http {{
    client_body_temp_path {d}/nginx-body;
    proxy_temp_path {d}/nginx-proxy;
    fastcgi_temp_path {d}/nginx-fastcgi;
    uwsgi_temp_path {d}/nginx-uwsgi;
    scgi_temp_path {d}/nginx-scgi;
    log_format probe '$msec $status $uri';
    access_log {d}/access.log probe buffer=256k flush=1s;
    keepalive_timeout 5s;
    server {{
        listen 127.0.0.1:{port} backlog=8192;
        location ~ ^/site/(\\d+)$ {{ default_type text/plain; return 200 "ok $1\\n"; }}
        location = /ready {{ access_log off; return 200 "ready\\n"; }}
        location / {{ access_log off; return 404; }}
    }}
}}
"""


def start_nginx(procs: Processes, d: Path) -> tuple[Proc, int]:
    port = free_port()
    conf = d / "nginx.conf"
    conf.write_text(NGINX_CONF.format(d=d, port=port))
    proc = procs.start(
        "nginx",
        [
            binary("nginx"),
            "-p",
            str(d),
            "-c",
            str(conf),
            "-e",
            str(d / "nginx-error.log"),
            "-g",
            "daemon off;",
        ],
    )
    wait_ready(proc, f"http://127.0.0.1:{port}/ready", timeout=20)
    return proc, port


def write_sites(path: Path, n: int, port: int, interval: float, timeout: float) -> None:
    lines = [f"defaults: {{interval: {dur(interval)}, timeout: {dur(timeout)}}}", "sites:"]
    lines += [
        f'  - {{id: s{i:05d}, url: "{site_url(port, i)}", interval: {dur(interval)}, '
        f"timeout: {dur(timeout)}}}"
        for i in range(1, n + 1)
    ]
    path.write_text("\n".join(lines) + "\n")


def prometheus_yaml(
    job: dict[str, Any] | list[dict[str, Any]],
    interval: float,
    rule_files: list[str] | None = None,
    evaluation_interval: float | None = None,
) -> str:
    """A Prometheus configuration with one scrape job (or several), all at ``interval``;
    with ``rule_files`` (absolute paths), evaluated every ``evaluation_interval``
    seconds (Prometheus' default is 1 m; the shipped prometheus.yml has 15 s)."""
    import yaml

    scrape = {
        "scrape_interval": dur(interval),
        "scrape_timeout": dur(max(1.0, round(interval * 0.9, 3))),
    }
    jobs = job if isinstance(job, list) else [job]
    glob: dict[str, Any] = dict(scrape)
    if evaluation_interval:
        glob["evaluation_interval"] = dur(evaluation_interval)
    config: dict[str, Any] = {"global": glob}
    if rule_files:
        config["rule_files"] = list(rule_files)
    config["scrape_configs"] = [{**scrape, **j} for j in jobs]
    return yaml.safe_dump(config, sort_keys=False)


def start_prometheus(
    procs: Processes, d: Path, config: str, port: int | None = None
) -> tuple[Proc, str]:
    """``port``: when the configuration must know it already (Prometheus scraping itself)."""
    port = port or free_port()
    (d / "prometheus.yml").write_text(config)
    proc = procs.start(
        "prometheus",
        [
            binary("prometheus"),
            f"--config.file={d / 'prometheus.yml'}",
            f"--storage.tsdb.path={d / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ],
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, f"{url}/-/ready")
    return proc, url


BLACKBOX_YAML = """\
modules:
  http_2xx:
    prober: http
    timeout: {timeout}
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
"""


# --------------------------------------------------------------------------- reading figures


def promql(url: str, query: str, at: float | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"query": query}
    if at is not None:
        params["time"] = f"{at:.3f}"
    r = httpx.get(f"{url}/api/v1/query", params=params, timeout=60)
    r.raise_for_status()
    return r.json()["data"]["result"]


def promql_value(url: str, query: str, at: float | None = None) -> float | None:
    result = promql(url, query, at)
    return float(result[0]["value"][1]) if result else None


def parse_text(text: str, prefixes: tuple[str, ...]) -> list[tuple[str, dict[str, str], float]]:
    """The samples of a text exposition whose names start with one of ``prefixes``
    (a small parser: label values here hold no commas or escaped quotes)."""
    out = []
    for line in text.splitlines():
        if not line.startswith(prefixes):
            continue
        head, _, value = line.rpartition(" ")
        name, _, rest = head.partition("{")
        labels = {}
        for pair in rest.rstrip("}").split(","):
            if "=" in pair:
                k, _, v = pair.partition("=")
                labels[k.strip()] = v.strip().strip('"')
        out.append((name, labels, float(value)))
    return out


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile over cumulative (le, count) pairs."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    prev_le, prev_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return prev_le
            if count == prev_count:
                return le
            return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count)
        prev_le, prev_count = le, count
    return prev_le


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


@dataclass
class AccessLog:
    probes: int
    non_200: int
    jitter_p50: float | None
    jitter_p99: float | None
    jitter_max: float | None
    sites_seen: int


def read_access_log(path: Path, t0: float, t1: float, interval: float) -> AccessLog:
    """Requests in [t0, t1) and the jitter of the interval between two consecutive
    requests for the same URL (the later one in the window)."""
    times: dict[str, list[float]] = collections.defaultdict(list)
    probes = non_200 = 0
    with path.open() as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3 or not parts[2].startswith("/site/"):
                continue
            t = float(parts[0])
            if t0 - 2 * interval <= t < t1:
                times[parts[2]].append(t)
            if t0 <= t < t1:
                probes += 1
                non_200 += parts[1] != "200"
    jitter = []
    for ts in times.values():
        ts.sort()
        jitter += [abs(b - a - interval) for a, b in itertools.pairwise(ts) if b >= t0]
    return AccessLog(
        probes=probes,
        non_200=non_200,
        jitter_p50=quantile(jitter, 0.5),
        jitter_p99=quantile(jitter, 0.99),
        jitter_max=max(jitter) if jitter else None,
        sites_seen=sum(1 for ts in times.values() if any(t >= t0 for t in ts)),
    )


def proc_stat_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


@dataclass
class Window:
    t0: float = 0.0
    t1: float = 0.0
    cpu0: dict[str, float] = field(default_factory=dict)
    cpu1: dict[str, float] = field(default_factory=dict)
    machine0: tuple[float, float] = (0.0, 0.0)
    machine1: tuple[float, float] = (0.0, 0.0)

    def cpu(self, name: str) -> float:
        return self.cpu1[name] - self.cpu0[name]

    @property
    def machine_busy(self) -> float:
        busy = self.machine1[0] - self.machine0[0]
        total = self.machine1[1] - self.machine0[1]
        return busy / total if total else 0.0


def measure(
    procs: list[Proc], warmup: float, duration: float, label: str, ready: Callable[[], bool]
) -> Window:
    """Warm up (at least until ``ready()``: Prometheus has scraped every target once),
    then snapshot CPU at both ends of ``duration`` seconds."""
    say(f"  warming up {warmup:.0f}s, then measuring {duration:.0f}s ({label})")
    sleep_checked(procs, warmup)
    deadline = time.monotonic() + max(warmup, 30.0)
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{label}: Prometheus has not scraped every target yet")
        sleep_checked(procs, 1.0)
    w = Window()
    w.cpu0 = {p.name: p.cpu_seconds() for p in procs}
    w.machine0 = proc_stat_busy()
    w.t0 = time.time()
    sleep_checked(procs, duration)
    w.cpu1 = {p.name: p.cpu_seconds() for p in procs}
    w.machine1 = proc_stat_busy()
    w.t1 = time.time()
    return w


def sleep_checked(procs: list[Proc], seconds: float) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(1.0, left))
        for p in procs:
            if not p.alive():
                raise RuntimeError(f"{p.name} exited with {p.popen.returncode}:\n{p.tail()}")


@dataclass
class Timed:
    ttfb: list[float] = field(default_factory=list)  # until the response headers arrived
    total: list[float] = field(default_factory=list)  # until the last byte
    size: int = 0
    render_gauge: list[float] = field(default_factory=list)  # the exporter's own figure
    timeouts: int = 0


def timed_gets(urls: list[str], limit: float = 30.0) -> Timed:
    """GET each URL in turn, timing the first byte and the last; a GET still running
    after ``limit`` seconds is abandoned and counted as timed out. For the exporter,
    also the render time it reports itself (that of the GET before)."""
    out = Timed()
    with httpx.Client(timeout=limit) as client:
        for url in urls:
            t = time.perf_counter()
            body = bytearray()
            try:
                with client.stream("GET", url) as r:
                    out.ttfb.append(time.perf_counter() - t)
                    for chunk in r.iter_bytes():
                        body += chunk
                        if time.perf_counter() - t > limit:
                            raise httpx.ReadTimeout("too slow")
            except httpx.TimeoutException:
                out.timeouts += 1
                continue
            out.total.append(time.perf_counter() - t)
            out.size = len(body)
            tail = bytes(body[-20000:]).decode(errors="replace")
            for name, _labels, value in parse_text(tail, ("upwatch_exporter_metrics_render",)):
                if name == "upwatch_exporter_metrics_render_seconds":
                    out.render_gauge.append(value)
    return out


def timing_figures(t: Timed, what: str) -> dict[str, Any]:
    return {
        "what": what,
        "ttfb_median": statistics.median(t.ttfb) if t.ttfb else None,
        "median": statistics.median(t.total) if t.total else None,
        "max": max(t.total) if t.total else None,
        "timeouts": t.timeouts,
        "bytes": t.size or None,
        "exporter_render_gauge": statistics.median(t.render_gauge) if t.render_gauge else None,
    }


def common_figures(
    w: Window, prober: Proc, prom: Proc, nginx: Proc, log: AccessLog, duration: float
) -> dict[str, Any]:
    probes = max(log.probes, 1)
    per_k = 1000 / probes
    return {
        "window_s": round(w.t1 - w.t0, 2),
        "probes": log.probes,
        "probes_non_200": log.non_200,
        "sites_probed_in_window": log.sites_seen,
        "probes_per_s": round(log.probes / duration, 1),
        "cpu_s": {
            "prober": w.cpu(prober.name),
            "prometheus": w.cpu("prometheus"),
            "nginx": w.cpu("nginx"),
        },
        "cpu_s_per_1k_probes": {
            "prober": w.cpu(prober.name) * per_k,
            "prometheus": w.cpu("prometheus") * per_k,
            "together": (w.cpu(prober.name) + w.cpu("prometheus")) * per_k,
            "nginx": w.cpu("nginx") * per_k,
        },
        "cpu_core_share": {
            "prober": w.cpu(prober.name) / duration,
            "prometheus": w.cpu("prometheus") / duration,
        },
        "machine_busy": w.machine_busy,
        "peak_rss_mb": {
            "prober": prober.status("VmHWM") / 2**20,
            "prometheus": prom.status("VmHWM") / 2**20,
            "together": (prober.status("VmHWM") + prom.status("VmHWM")) / 2**20,
        },
        "rss_end_mb": {"prober": prober.status("VmRSS") / 2**20},
        "nginx_jitter_s": {"p50": log.jitter_p50, "p99": log.jitter_p99, "max": log.jitter_max},
    }


# --------------------------------------------------------------------------- runs


def run_upwatch(args: argparse.Namespace, n: int, tmp: Path) -> dict[str, Any]:
    d = tmp / f"upwatch-{n}"
    d.mkdir()
    procs = Processes(d)
    try:
        nginx, port = start_nginx(procs, d)
        sites = d / "sites.yml"
        write_sites(sites, n, port, args.interval, args.timeout)
        exp_port = free_port()
        exp_url = f"http://127.0.0.1:{exp_port}"
        exporter = procs.start(
            "exporter",
            [
                str(args.exporter),
                "--config",
                str(sites),
                "--listen",
                f"127.0.0.1:{exp_port}",
                "--log-level",
                "warning",
                *args.exporter_arg,
            ],
        )
        wait_ready(exporter, f"{exp_url}/healthz")
        job = {"job_name": "upwatch", "static_configs": [{"targets": [f"127.0.0.1:{exp_port}"]}]}
        prom, prom_url = start_prometheus(procs, d, prometheus_yaml(job, args.interval))
        profile = start_profile(args, exporter, d) if args.profile else None
        w = measure(
            [nginx, exporter, prom],
            args.warmup,
            args.duration,
            f"Upwatch, {n} sites",
            ready=lambda: bool(promql(prom_url, 'up{job="upwatch"} == 1')),
        )
        # everything below runs after the CPU snapshot: it is not in the figures
        if profile is not None:
            profile.wait()
        render = timed_gets([f"{exp_url}/metrics"] * (args.render_gets + 1))
        time.sleep(2.5)  # nginx flushes its log every second
        log = read_access_log(d / "access.log", w.t0, w.t1, args.interval)
        fig = common_figures(w, exporter, prom, nginx, log, args.duration)

        # the exporter's own figures, as Prometheus scraped them at both ends of the window
        def buckets(at: float) -> dict[float, float]:
            q = "upwatch_exporter_schedule_lag_seconds_bucket"
            return {float(r["metric"]["le"]): float(r["value"][1]) for r in promql(prom_url, q, at)}

        b0, b1 = buckets(w.t0), buckets(w.t1)
        lag = [(le, b1[le] - b0.get(le, 0.0)) for le in b1]
        total = max((c for le, c in lag if math.isinf(le)), default=0.0)
        within = next((c for le, c in lag if le == LAG_TARGET), None)
        rng = f"{int(args.duration)}s"
        scrape_avg = promql_value(
            prom_url, f'avg_over_time(scrape_duration_seconds{{job="upwatch"}}[{rng}])', w.t1
        )
        scrape_max = promql_value(
            prom_url, f'max_over_time(scrape_duration_seconds{{job="upwatch"}}[{rng}])', w.t1
        )

        def delta(query: str) -> float | None:
            a, b = (promql_value(prom_url, query, at) for at in (w.t0, w.t1))
            return None if a is None or b is None else b - a

        fig.update(
            {
                "stack": "upwatch",
                "sites": n,
                "probes_counter_delta": delta("sum(upwatch_probes_total)"),
                "lag_source": "upwatch_exporter_schedule_lag_seconds (bucket deltas)",
                "lag_s": {
                    "p50": histogram_quantile(0.5, lag),
                    "p99": histogram_quantile(0.99, lag),
                    "share_over_250ms": (1 - within / total)
                    if within is not None and total
                    else None,
                    "observations": total,
                },
                "render_s": timing_figures(render, "GET /metrics, all sites in one response"),
                "prometheus_scrape_s": {
                    "what": "scrape_duration_seconds of the one exporter target",
                    "avg": scrape_avg,
                    "max": scrape_max,
                },
                "probe_failures_in_window": delta('sum(upwatch_probes_total{result="failure"})'),
                "skipped_probes_in_window": delta("sum(upwatch_exporter_probes_skipped_total)"),
                "profile": profile_summary(d, args) if profile is not None else None,
            }
        )
        return fig
    finally:
        procs.stop_all()


def run_blackbox(args: argparse.Namespace, n: int, tmp: Path) -> dict[str, Any]:
    d = tmp / f"blackbox-{n}"
    d.mkdir()
    procs = Processes(d)
    try:
        nginx, port = start_nginx(procs, d)
        (d / "blackbox.yml").write_text(BLACKBOX_YAML.format(timeout=dur(args.timeout)))
        bb_port = free_port()
        bb_url = f"http://127.0.0.1:{bb_port}"
        bb = procs.start(
            "blackbox",
            [
                binary("prometheus-blackbox-exporter"),
                f"--config.file={d / 'blackbox.yml'}",
                f"--web.listen-address=127.0.0.1:{bb_port}",
                "--log.level=warn",
            ],
        )
        wait_ready(bb, f"{bb_url}/-/healthy")
        job = {
            "job_name": "blackbox",
            "metrics_path": "/probe",
            "params": {"module": ["http_2xx"]},
            "static_configs": [{"targets": [site_url(port, i) for i in range(1, n + 1)]}],
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_target"},
                {"source_labels": ["__param_target"], "target_label": "instance"},
                {"target_label": "__address__", "replacement": f"127.0.0.1:{bb_port}"},
            ],
        }
        prom, prom_url = start_prometheus(procs, d, prometheus_yaml(job, args.interval))
        w = measure(
            [nginx, bb, prom],
            args.warmup,
            args.duration,
            f"blackbox, {n} sites",
            ready=lambda: (promql_value(prom_url, 'count(up{job="blackbox"})') or 0) >= n,
        )
        targets = [site_url(port, 1 + i * n // args.render_gets) for i in range(args.render_gets)]
        render = timed_gets(
            [f"{bb_url}/probe?{urlencode({'target': t, 'module': 'http_2xx'})}" for t in targets]
        )
        time.sleep(2.5)
        log = read_access_log(d / "access.log", w.t0, w.t1, args.interval)
        fig = common_figures(w, bb, prom, nginx, log, args.duration)
        rng = f"{int(args.duration)}s"
        scrapes = promql_value(prom_url, f'sum(count_over_time(up{{job="blackbox"}}[{rng}]))', w.t1)
        failed = promql_value(
            prom_url,
            f'sum(count_over_time(probe_success{{job="blackbox"}}[{rng}])) '
            f'- sum(sum_over_time(probe_success{{job="blackbox"}}[{rng}]))',
            w.t1,
        )
        scrape_avg = promql_value(
            prom_url, f'avg(avg_over_time(scrape_duration_seconds{{job="blackbox"}}[{rng}]))', w.t1
        )
        scrape_max = promql_value(
            prom_url, f'max(max_over_time(scrape_duration_seconds{{job="blackbox"}}[{rng}]))', w.t1
        )
        interval_q = {
            labels["quantile"]: v - args.interval
            for name, labels, v in parse_text(
                httpx.get(f"{prom_url}/metrics", timeout=30).text,
                ("prometheus_target_interval_length_seconds",),
            )
            if name == "prometheus_target_interval_length_seconds"
            and labels.get("interval") == dur(args.interval)
        }
        fig.update(
            {
                "stack": "blackbox",
                "sites": n,
                "prometheus_scrapes_in_window": scrapes,
                "probe_failures_in_window": failed,
                "lag_source": "prometheus_target_interval_length_seconds quantiles minus the "
                "interval (summary over the run so far)",
                "lag_s": {
                    "p50": interval_q.get("0.5"),
                    "p99": interval_q.get("0.99"),
                    "share_over_250ms": None,
                    "observations": None,
                },
                "render_s": timing_figures(
                    render, "GET /probe?target=...&module=http_2xx, one site, probe included"
                ),
                "prometheus_scrape_s": {
                    "what": "scrape_duration_seconds per probe target (avg, max over targets)",
                    "avg": scrape_avg,
                    "max": scrape_max,
                },
            }
        )
        return fig
    finally:
        procs.stop_all()


# --------------------------------------------------------------------------- profiling


def find_py_spy() -> str | None:
    return shutil.which("py-spy", path=f"{VENV_BIN}:{os.environ.get('PATH', '')}")


def start_profile(args: argparse.Namespace, exporter: Proc, d: Path) -> subprocess.Popen | None:
    """py-spy samples the exporter over the warm-up's end and the measured window (its
    own CPU is not counted, but it slows the exporter a little while sampling)."""
    py_spy = find_py_spy()
    if py_spy is None:
        say("  --profile: py-spy not found (.venv/bin/pip install py-spy); no profile")
        return None
    secs = int(args.warmup + args.duration)
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(exporter.pid),
            "--duration",
            str(secs),
            "--rate",
            "50",
            "--format",
            "raw",
            "--output",
            str(d / "profile.txt"),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(d / "py-spy.log").open("wb"),
        preexec_fn=_die_with_parent,
    )


_LOOP_PLUMBING = {
    "<module>", "main", "run", "Runner.run", "BaseEventLoop.run_until_complete",
    "BaseEventLoop.run_forever", "BaseEventLoop._run_once", "Handle._run",
}  # fmt: skip


def profile_summary(d: Path, args: argparse.Namespace, top: int = 15) -> dict[str, Any]:
    """From py-spy's folded stacks: own time (leaf frames), inclusive time (asyncio's
    plumbing left out) and what the event loop was running (the callback under
    ``_run_once``). The raw file is kept in bench/results/ for a flame graph."""
    path = d / "profile.txt"
    if not path.exists():
        return {"error": (d / "py-spy.log").read_text(errors="replace")[-500:]}
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    by_callback: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        c = int(count)
        names = [f.split(" (")[0] for f in stack.split(";")]
        where = [f.split(" (")[-1].rstrip(")").split("/")[-1] for f in stack.split(";")]
        frames = [f"{n} ({w})" for n, w in zip(names, where, strict=True)]
        total += c
        own[frames[-1]] += c
        for i in {i for i, n in enumerate(names) if n not in _LOOP_PLUMBING}:
            incl[frames[i]] += c
        if "BaseEventLoop._run_once" in names:
            i = len(names) - 1 - names[::-1].index("BaseEventLoop._run_once")
            below = [n for n in names[i + 1 : i + 3] if n != "Handle._run"] or ["(loop itself)"]
            by_callback[below[0]] += c
        else:
            by_callback["(partial stack: coroutine frames only)"] += c
    RESULTS.mkdir(parents=True, exist_ok=True)
    keep = RESULTS / f"profile-{args.stamp}-{d.name}.folded"
    shutil.copy(path, keep)

    def shares(counter: collections.Counter[str]) -> list[tuple[str, float]]:
        return [(f, n / total) for f, n in counter.most_common(top)] if total else []

    return {
        "samples": total,
        "folded_stacks": str(keep.relative_to(ROOT)),
        "own": shares(own),
        "inclusive": shares(incl),
        "loop_callbacks": shares(by_callback),
    }


# --------------------------------------------------------------------------- report


def versions(exporter: Path) -> dict[str, str]:
    def first_line(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        except OSError as exc:
            return f"unavailable ({exc})"
        return (out.stdout or out.stderr).strip().splitlines()[0]

    def dist(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "-"

    return {
        "upwatch": dist("upwatch"),
        "python": platform.python_version(),
        "httpx": dist("httpx"),
        "aiohttp": dist("aiohttp"),
        "APScheduler": dist("APScheduler"),
        "prometheus": first_line([binary("prometheus"), "--version"]),
        "blackbox_exporter": first_line([binary("prometheus-blackbox-exporter"), "--version"]),
        "nginx": first_line([binary("nginx"), "-v"]),
        "kernel": platform.release(),
        "exporter_binary": str(exporter),
    }


def machine() -> dict[str, Any]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(int(mem) / 2**20, 1),
        "hostname": platform.node(),
    }


def fmt(v: float | None, unit: str = "", digits: int = 3) -> str:
    if v is None:
        return "-"
    if unit == "ms":
        return f"{v * 1000:.{max(digits - 2, 0)}f} ms" if v * 1000 < 100 else f"{v * 1000:.0f} ms"
    if unit == "%":
        return f"{v * 100:.1f} %"
    if unit == "MB":
        return f"{v:.1f} MB"
    if unit == "/s":
        return f"{v:.1f}"
    if unit == "s":
        return f"{v:.{digits}f} s"
    if isinstance(v, float) and v != int(v):
        return f"{v:.{digits}f}"
    return f"{int(v):,}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


Row = tuple[str, Callable[[dict[str, Any]], float | None], str, bool]

ROWS: list[Row] = [
    ("probes in window (nginx log)", lambda r: r["probes"], "", False),
    ("  probes/s", lambda r: r["probes_per_s"], "/s", False),
    ("  non-200 at nginx", lambda r: r["probes_non_200"], "", False),
    (
        "  cross-check: counter | scrapes",
        lambda r: r.get("probes_counter_delta") or r.get("prometheus_scrapes_in_window"),
        "",
        False,
    ),
    ("  failed probes", lambda r: r.get("probe_failures_in_window"), "", False),
    ("  skipped (previous still running)", lambda r: r.get("skipped_probes_in_window"), "", False),
    ("CPU s / 1k probes: prober", lambda r: r["cpu_s_per_1k_probes"]["prober"], "s", True),
    ("CPU s / 1k probes: Prometheus", lambda r: r["cpu_s_per_1k_probes"]["prometheus"], "s", True),
    ("CPU s / 1k probes: together", lambda r: r["cpu_s_per_1k_probes"]["together"], "s", True),
    ("  (nginx, the target)", lambda r: r["cpu_s_per_1k_probes"]["nginx"], "s", False),
    ("  prober, share of one core", lambda r: r["cpu_core_share"]["prober"], "%", True),
    ("  machine busy (all cores)", lambda r: r["machine_busy"], "%", False),
    ("peak RSS: prober", lambda r: r["peak_rss_mb"]["prober"], "MB", True),
    ("  prober RSS at the end", lambda r: r["rss_end_mb"]["prober"], "MB", True),
    ("peak RSS: Prometheus", lambda r: r["peak_rss_mb"]["prometheus"], "MB", True),
    ("peak RSS: together", lambda r: r["peak_rss_mb"]["together"], "MB", True),
    ("schedule lag p50 (own metric) *", lambda r: r["lag_s"]["p50"], "ms", True),
    ("schedule lag p99 (own metric) *", lambda r: r["lag_s"]["p99"], "ms", True),
    ("  probes later than 250 ms", lambda r: r["lag_s"]["share_over_250ms"], "%", False),
    ("interval jitter at nginx p50", lambda r: r["nginx_jitter_s"]["p50"], "ms", True),
    ("interval jitter at nginx p99", lambda r: r["nginx_jitter_s"]["p99"], "ms", True),
    ("interval jitter at nginx max", lambda r: r["nginx_jitter_s"]["max"], "ms", True),
    (
        "render: time to first byte, median **",
        lambda r: r["render_s"].get("ttfb_median"),
        "ms",
        True,
    ),
    ("render: GET /metrics | /probe med **", lambda r: r["render_s"]["median"], "ms", True),
    ("render: same, max", lambda r: r["render_s"]["max"], "ms", True),
    ("  GETs abandoned after 30 s", lambda r: r["render_s"].get("timeouts"), "", False),
    ("  /metrics size", lambda r: (r["render_s"].get("bytes") or 0) / 1e6 or None, "MB", False),
    (
        "  exporter's own render gauge",
        lambda r: r["render_s"].get("exporter_render_gauge"),
        "ms",
        False,
    ),
    ("Prometheus scrape_duration avg **", lambda r: r["prometheus_scrape_s"]["avg"], "ms", True),
    ("Prometheus scrape_duration max", lambda r: r["prometheus_scrape_s"]["max"], "ms", True),
]

FOOTNOTES = """\
 *  Upwatch: its upwatch_exporter_schedule_lag_seconds histogram over the window
    (interpolated between buckets .1/.25/.5 s). blackbox: Prometheus'
    prometheus_target_interval_length_seconds quantile minus the interval, i.e. how
    much later than one interval a scrape followed the previous one.
    The nginx jitter rows measure both stacks the same way: |Δt - I| between two
    consecutive requests for the same URL.
 ** Upwatch: one response with every site (the exporter streams it, so the first
    byte comes early; the target is on the whole GET); blackbox: one response per
    site with the probe inside it. The ratio of these rows compares unlike units.
    The exporter's own gauge is its time spent rendering, waits excluded."""


def table(
    title: str,
    cols: list[tuple[str, dict[str, Any]]],
    ratio_of: tuple[int, int] | None,
    rows: list[Row] | None = None,
    ratio_head: str = "Upwatch/bb",
) -> str:
    head = ["", *[c[0] for c in cols]] + ([ratio_head] if ratio_of else [])
    body = []
    for label, get, unit, with_ratio in rows or ROWS:
        values = []
        for _name, r in cols:
            try:
                values.append(get(r))
            except (KeyError, TypeError):
                values.append(None)
        row = [label, *[fmt(v, unit) for v in values]]
        if ratio_of:
            a, b = values[ratio_of[0]], values[ratio_of[1]]
            row.append(ratio(a, b) if with_ratio else "")
        body.append(row)
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = [title, "-" * (sum(widths) + 3 * (len(widths) - 1))]
    for r in [head, *body]:
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def targets_report(results: dict[str, Any]) -> list[str]:
    out = []
    for key, pair in results["side_by_side"].items():
        up, bb = pair["upwatch"], pair["blackbox"]
        a, b = up["cpu_s_per_1k_probes"]["together"], bb["cpu_s_per_1k_probes"]["together"]
        verdict = "met" if a <= b else f"MISSED by {a / b - 1:.0%}"
        out.append(
            f"- whole-stack CPU per 1k probes at {key} sites: {a:.3f} s vs blackbox {b:.3f} s -> {verdict}"
        )
        p99 = up["lag_s"]["p99"]
        if up["sites"] >= 5000 and p99 is not None:
            verdict = "met" if p99 < TARGETS["p99_lag_s"] else f"MISSED by {p99 - 0.25:.3f} s"
            out.append(
                f"- p99 schedule lag at {key} sites: {p99 * 1000:.0f} ms (< 250 ms) -> {verdict}"
            )
    for r in results["exporter_only"]:
        rss, render = r["peak_rss_mb"]["prober"], r["render_s"]["median"]
        timeouts = r["render_s"].get("timeouts") or 0
        v1 = "met" if rss < TARGETS["rss_mb"] else f"MISSED by {rss - TARGETS['rss_mb']:.0f} MB"
        out.append(f"- exporter peak RSS at {r['sites']:,} sites: {rss:.0f} MB (< 150 MB) -> {v1}")
        if render is None:
            out.append(f"- /metrics at {r['sites']:,} sites: every GET timed out -> MISSED")
        else:
            v2 = (
                "met"
                if render < TARGETS["render_s"]
                else f"MISSED by {(render - 0.3) * 1000:.0f} ms"
            )
            if timeouts:
                v2 = f"MISSED ({timeouts} GETs timed out)"
            out.append(
                f"- /metrics at {r['sites']:,} sites: {render * 1000:.0f} ms median (< 300 ms) -> {v2}"
            )
        p99 = r["lag_s"]["p99"]
        if p99 is not None:
            out.append(
                f"- p99 schedule lag at {r['sites']:,} sites: {p99 * 1000:.0f} ms (for reference)"
            )
    return out


def report(results: dict[str, Any]) -> str:
    m, v, p = results["machine"], results["versions"], results["params"]
    out = [
        f"machine: {m['cores']} cores, {m['cpu_model']}, {m['memory_gb']} GB RAM",
        f"versions: upwatch {v['upwatch']} (Python {v['python']}, httpx {v['httpx']}, "
        f"aiohttp {v['aiohttp']}, APScheduler {v['APScheduler']}); {v['prometheus']}; "
        f"{v['blackbox_exporter']}; {v['nginx']}; Linux {v['kernel']}",
        f"interval {p['interval']} s, probe timeout {p['timeout']} s, warm-up {p['warmup']} s, "
        f"measured {p['duration']} s per run; runs one after another",
        "",
    ]
    for key, pair in results["side_by_side"].items():
        out.append(
            table(
                f"{key} sites at {p['interval']:g} s",
                [("Upwatch", pair["upwatch"]), ("blackbox", pair["blackbox"])],
                (0, 1),
            )
        )
        out.append("")
    if results["exporter_only"]:
        cols = [(f"Upwatch {r['sites']:,}", r) for r in results["exporter_only"]]
        out.append(table(f"exporter alone at {p['interval']:g} s", cols, None))
        out.append("")
    if results.get("blackbox_only"):
        cols = [(f"blackbox {r['sites']:,}", r) for r in results["blackbox_only"]]
        out.append(table(f"blackbox_exporter alone at {p['interval']:g} s", cols, None))
        out.append("")
    out.append(FOOTNOTES)
    out.append("")
    out.append("targets (issue 2):")
    out += targets_report(results)
    for label, r in all_upwatch(results):
        prof = r.get("profile")
        if prof and prof.get("own"):
            out.append("")
            out.append(
                f"profile of the exporter, {label} ({prof['samples']} samples, {prof['folded_stacks']}):"
            )
            out.append("  own time:")
            out += [f"    {share:6.1%}  {f}" for f, share in prof["own"]]
            out.append("  inclusive (asyncio plumbing left out):")
            out += [f"    {share:6.1%}  {f}" for f, share in prof["inclusive"]]
            out.append("  what the event loop was running:")
            out += [f"    {share:6.1%}  {f}" for f, share in prof["loop_callbacks"]]
    return "\n".join(out)


def all_upwatch(results: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for key, pair in results["side_by_side"].items():
        yield f"{key} sites", pair["upwatch"]
    for r in results["exporter_only"]:
        yield f"{r['sites']} sites (alone)", r


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--sites",
        type=int,
        nargs="*",
        default=[1000, 5000],
        metavar="N",
        help="site counts for the side-by-side runs (default 1000 5000)",
    )
    p.add_argument(
        "--interval",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="probe and scrape interval (default 15)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="probe timeout, both stacks (default 5)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="SECONDS",
        help="measured window per run (default 4 intervals)",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=None,
        metavar="SECONDS",
        help="warm-up before the window (default 1 interval)",
    )
    p.add_argument(
        "--exporter-only-sites",
        type=int,
        nargs="*",
        default=[10000],
        metavar="N",
        help="site counts for the exporter alone (default 10000; none to skip)",
    )
    p.add_argument(
        "--only", choices=["upwatch", "blackbox"], help="run one side of the side-by-side runs only"
    )
    p.add_argument(
        "--render-gets",
        type=int,
        default=7,
        metavar="K",
        help="GETs of /metrics (or /probe) timed after each window (default 7)",
    )
    p.add_argument(
        "--exporter",
        type=Path,
        default=VENV_BIN / "upwatch-exporter",
        help="the upwatch-exporter command (default: the venv's)",
    )
    p.add_argument(
        "--exporter-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for upwatch-exporter (repeatable), e.g. "
        "--exporter-arg=--max-concurrency=2000",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="sample the exporter with py-spy during each Upwatch run",
    )
    p.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory")
    args = p.parse_args(argv)
    args.duration = args.duration or 4 * args.interval
    args.warmup = args.interval if args.warmup is None else args.warmup
    args.stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return args


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if (
        not args.exporter.exists()
        and (args.sites or args.exporter_only_sites)
        and args.only != "blackbox"
    ):
        sys.exit(
            f"bench: {args.exporter} not found: install the package (.venv/bin/pip install -e .)"
        )
    raise_nofile_limit()
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if inherited as ignored
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    tmp = Path(tempfile.mkdtemp(prefix="upwatch-bench-", dir=base))
    results: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(args.exporter),
        "params": {k: v for k, v in vars(args).items() if k not in ("exporter", "stamp")},
        "side_by_side": {},
        "exporter_only": [],
        "blackbox_only": [],
    }
    results["params"]["exporter"] = str(args.exporter)
    out = RESULTS / f"prober-{args.stamp}.json"

    def save() -> None:  # after every run, so that an interrupted run keeps what it measured
        RESULTS.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str) + "\n")

    status = 0
    try:
        for n in args.sites:
            pair: dict[str, Any] = {}
            if args.only != "blackbox":
                say(f"(a) Upwatch exporter + Prometheus, {n} sites")
                pair["upwatch"] = run_upwatch(args, n, tmp)
                say(f"  {one_line(pair['upwatch'])}")
            if args.only != "upwatch":
                say(f"(b) blackbox_exporter + Prometheus, {n} sites")
                pair["blackbox"] = run_blackbox(args, n, tmp)
                say(f"  {one_line(pair['blackbox'])}")
            if len(pair) == 2:
                results["side_by_side"][f"{n:,}"] = pair
            else:
                key = "exporter_only" if "upwatch" in pair else "blackbox_only"
                results[key] += pair.values()
            save()
        if args.only != "blackbox":
            for n in args.exporter_only_sites:
                say(f"(c) Upwatch exporter + Prometheus alone, {n} sites")
                results["exporter_only"].append(run_upwatch(args, n, tmp))
                say(f"  {one_line(results['exporter_only'][-1])}")
                save()
    except KeyboardInterrupt:
        say("interrupted: stopped every process; the report below has the finished runs only")
        status = 130
    finally:
        if args.keep_tmp:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    save()
    say()
    say(report(results))
    say(f"\nresults: {out.relative_to(ROOT)}")
    return status


def one_line(r: dict[str, Any]) -> str:
    """A progress line, printed as each run ends."""
    cpu = r["cpu_s_per_1k_probes"]
    lag, render = r["lag_s"]["p99"], r["render_s"]["median"]
    return (
        f"-> {r['probes']:,} probes, CPU/1k probes {cpu['together']:.3f} s "
        f"(prober {cpu['prober']:.3f}, Prometheus {cpu['prometheus']:.3f}), "
        f"peak RSS {r['peak_rss_mb']['prober']:.0f} MB, "
        f"lag p99 {fmt(lag, 'ms')}, render {fmt(render, 'ms')}, "
        f"machine busy {r['machine_busy']:.0%}"
    )


if __name__ == "__main__":
    sys.exit(main())
