"""Benchmark: the CPU the raw-result sink (``--influx-url``) adds per 1,000 probes.

    .venv/bin/python bench/influx_sink.py [--points 100000] [--sites 1000]
        [--interval 5] [--duration 30] [--skip-exporter]

Both parts write to a real VictoriaMetrics (Debian's ``victoria-metrics``) on a free
loopback port, through its InfluxDB-compatible ``/api/v2/write``.

1. **The sink alone**, in this process: ``--points`` probe results are submitted to
   an ``InfluxSink`` (batches of 1,000, then of 100), and the CPU is split into
   the probe path (``submit``: the event loop's share, this thread's CPU time) and
   the whole sink (``submit`` plus the writer thread's line protocol and HTTP
   requests: process CPU time until every point is written).
2. **In the exporter**: ``upwatch-exporter`` probing ``--sites`` TCP sites (a closed
   port: cheap probes, so the sink's share shows) every ``--interval`` seconds, for
   ``--duration`` seconds after a warm-up, once without and once with
   ``--influx-url``. CPU seconds of the exporter process (/proc/<pid>/stat) per
   1,000 probes (the increase of ``upwatch_probes_total``), and the difference.

Prints the figures and writes them to bench/results/influx-sink-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from prober import cpu_seconds, pid_of  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

from exporter.probes import ProbeResult  # noqa: E402
from exporter.sinks.influx import InfluxSettings, InfluxSink  # noqa: E402
from tests.servers import exporter, victoria_metrics  # noqa: E402


def sink_alone(vm: str, points: int, batch_size: int) -> dict:
    settings = InfluxSettings(url=vm, batch_size=batch_size, queue_size=points, flush_interval=0.2)
    registry = CollectorRegistry()
    sink = InfluxSink(settings, registry)
    sink.start()
    now = time.time()
    results = [
        ProbeResult(
            success=i % 10 != 0,
            duration_seconds=0.0123 + i % 7 / 1000,
            reason=None if i % 10 else "timeout",
            status_code=200 if i % 10 else None,
            tls_expiry=1800000000.0,
            started_at=now - 60 + i / points * 60,
        )
        for i in range(points)
    ]
    sites = [f"site-{i % 1000:04d}" for i in range(points)]
    proc0, thread0, wall0 = time.process_time(), time.thread_time(), time.perf_counter()
    for site, result in zip(sites, results, strict=True):
        sink.submit(site, "http", result, result.success)
    submit_cpu = time.thread_time() - thread0
    while sink.counts()["written"] + sink.counts()["dropped_error"] < points:
        time.sleep(0.01)
    total_cpu = time.process_time() - proc0
    wall = time.perf_counter() - wall0
    counts = sink.counts()
    sink.close(5)
    requests = registry.get_sample_value(
        "upwatch_exporter_sink_write_requests_total", {"sink": "influx", "result": "success"}
    )
    return {
        "points": points,
        "batch_size": batch_size,
        "written": counts["written"],
        "requests": requests,
        "submit_cpu_s_per_1000": submit_cpu / points * 1000,
        "sink_cpu_s_per_1000": total_cpu / points * 1000,
        "wall_s": wall,
    }


def exporter_run(tmp: Path, sites: dict, warmup: float, duration: float, *extra: str) -> dict:
    def probes(url: str) -> float:
        text = httpx.get(f"{url}/metrics", timeout=30).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("upwatch_probes_total{")
        )

    with exporter(tmp, sites, *extra) as url:
        port = url.rsplit(":", 1)[1]
        pid = pid_of(f"127.0.0.1:{port}")
        time.sleep(warmup)
        p0, c0 = probes(url), cpu_seconds(pid)
        time.sleep(duration)
        p1, c1 = probes(url), cpu_seconds(pid)
        text = httpx.get(f"{url}/metrics", timeout=30).text
    dropped = [
        ln
        for ln in text.splitlines()
        if ln.startswith("upwatch_exporter_sink_points_total") and "dropped" in ln
    ]
    return {
        "probes": p1 - p0,
        "cpu_s": c1 - c0,
        "cpu_s_per_1000_probes": (c1 - c0) / (p1 - p0) * 1000,
        "sink_drops": dropped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--skip-exporter", action="store_true")
    args = parser.parse_args()
    out: dict = {"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory(prefix="upwatch-influx-sink-") as tmp_dir:
        tmp = Path(tmp_dir)
        with victoria_metrics(tmp) as vm:
            out["sink_alone"] = [sink_alone(vm, args.points, b) for b in (1000, 100)]
            for r in out["sink_alone"]:
                print(
                    f"sink alone, batches of {r['batch_size']}: {r['points']} points in "
                    f"{r['requests']:.0f} requests; CPU s per 1,000 probes: probe path "
                    f"(submit) {r['submit_cpu_s_per_1000'] * 1000:.2f} ms, whole sink "
                    f"{r['sink_cpu_s_per_1000'] * 1000:.1f} ms"
                )
            if not args.skip_exporter:
                sites = {
                    "defaults": {
                        "interval": f"{args.interval}s",
                        "timeout": "2s",
                        "confirmations": 1,
                    },
                    "sites": [
                        {"id": f"s{i:05d}", "url": "tcp://127.0.0.1:1"} for i in range(args.sites)
                    ],
                }
                warmup = args.interval * 2
                runs = {}
                for name, extra in [("without", ()), ("with", (f"--influx-url={vm}",))]:
                    d = tmp / name
                    d.mkdir()
                    runs[name] = exporter_run(d, sites, warmup, args.duration, *extra)
                    r = runs[name]
                    print(
                        f"exporter {name} the sink: {r['probes']:.0f} probes, "
                        f"{r['cpu_s']:.2f} CPU s, {r['cpu_s_per_1000_probes']:.3f} CPU s "
                        f"per 1,000 probes {' '.join(r['sink_drops'])}"
                    )
                delta = runs["with"]["cpu_s_per_1000_probes"] - runs["without"]["cpu_s_per_1000_probes"]  # fmt: skip
                runs["sink_adds_cpu_s_per_1000_probes"] = delta
                out["exporter"] = runs
                print(f"the sink adds {delta * 1000:.0f} ms of CPU per 1,000 probes")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = results / f"influx-sink-{stamp}.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
