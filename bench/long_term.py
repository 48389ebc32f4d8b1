"""Benchmark: Prometheus remote-writing an exporter's samples to VictoriaMetrics.

    .venv/bin/python bench/long_term.py [--sites 2000] [--scrape-interval 5]
        [--duration 60]

Starts, on loopback with free ports: VictoriaMetrics (Debian's ``victoria-metrics``),
``upwatch-exporter`` with ``--sites`` TCP sites probed every 15 s (all to a closed
port, so probes are cheap and every per-site series exists), and Prometheus scraping
the exporter every ``--scrape-interval`` seconds with the ``remote_write`` block of
the shipped prometheus/prometheus.yml (uncommented, pointed at this
VictoriaMetrics). After a warm-up of two scrapes it measures over ``--duration``
seconds:

- samples/s remote-written: the increase of Prometheus'
  ``prometheus_remote_storage_samples_total`` over the window; failed and pending
  samples, and ``prometheus_remote_storage_highest_timestamp_in_seconds`` minus
  ``..._queue_highest_sent_timestamp_seconds`` (how far sending lags) at the end;
- VictoriaMetrics: rows stored (``vm_rows``) and bytes on disk
  (``vm_data_size_bytes``) after ``/internal/force_flush``, bytes per row; CPU
  seconds of the VictoriaMetrics process per million samples (/proc/<pid>/stat).

A minute of data is a poor sample of VictoriaMetrics' compression, which improves
as its background merges build bigger parts: the bytes per row are an upper bound.
Results are printed and written to bench/results/long-term-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from prober import cpu_seconds, pid_of  # noqa: E402

from tests.integration.test_long_term_storage import (  # noqa: E402
    flush,
    metric_values,
    shipped_remote_write,
)
from tests.servers import exporter, prometheus, victoria_metrics, wait_query  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--scrape-interval", type=int, default=5)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    sites = {
        "defaults": {"interval": "15s", "timeout": "2s", "confirmations": 1},
        "sites": [{"id": f"s{i:05d}", "url": "tcp://127.0.0.1:1"} for i in range(args.sites)],
    }
    with tempfile.TemporaryDirectory(prefix="upwatch-long-term-") as tmp_dir:
        tmp = Path(tmp_dir)
        with victoria_metrics(tmp) as vm, exporter(tmp, sites) as exp:
            vm_pid = pid_of(str(tmp / f"victoria-metrics-{vm.rsplit(':', 1)[1]}"))
            interval = f"{args.scrape_interval}s"
            config = {
                "global": {"scrape_interval": interval, "scrape_timeout": interval},
                "scrape_configs": [
                    {
                        "job_name": "upwatch-exporter",
                        "static_configs": [{"targets": [exp.removeprefix("http://")]}],
                    }
                ],
                "remote_write": shipped_remote_write(vm),
            }
            with prometheus(tmp, config) as prom:
                wait_query(prom, "upwatch_exporter_sites", timeout=60)
                time.sleep(2 * args.scrape_interval)
                sent0 = metric_values(prom, "prometheus_remote_storage_samples_total")
                cpu0 = cpu_seconds(vm_pid) if vm_pid else None
                t0 = time.monotonic()
                time.sleep(args.duration)
                sent1 = metric_values(prom, "prometheus_remote_storage_samples_total")
                elapsed = time.monotonic() - t0
                cpu1 = cpu_seconds(vm_pid) if vm_pid else None
                failed = metric_values(prom, "prometheus_remote_storage_samples_failed_total")
                pending = metric_values(prom, "prometheus_remote_storage_samples_pending")
                newest = metric_values(
                    prom, "prometheus_remote_storage_highest_timestamp_in_seconds"
                )
                sent_ts = metric_values(
                    prom, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds"
                )
                scraped = float(
                    wait_query(prom, 'scrape_samples_scraped{job="upwatch-exporter"}')[0]["value"][
                        1
                    ]
                )
            flush(vm)
            time.sleep(1)
            text = httpx.get(f"{vm}/metrics", timeout=10).text
            rows = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith('vm_rows{type="storage/')
            )
            size = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith('vm_data_size_bytes{type="storage/')
            )
            index = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith('vm_data_size_bytes{type="indexdb')
            )
    rate = (sent1 - sent0) / elapsed
    result = {
        "sites": args.sites,
        "scrape_interval_s": args.scrape_interval,
        "samples_per_scrape": scraped,
        "window_s": round(elapsed, 1),
        "remote_written_samples_per_s": round(rate, 1),
        "scraped_samples_per_s": round(scraped / args.scrape_interval, 1),
        "failed_samples": failed,
        "pending_samples_at_end": pending,
        "send_lag_s": round(newest - sent_ts, 1),
        "vm_rows": rows,
        "vm_storage_bytes": size,
        "vm_index_bytes": index,
        "vm_bytes_per_row": round(size / rows, 2) if rows else None,
        "vm_bytes_per_row_with_index": round((size + index) / rows, 2) if rows else None,
        "vm_cpu_s_per_million_samples": (
            round((cpu1 - cpu0) / (sent1 - sent0) * 1e6, 2)
            if cpu0 is not None and cpu1 is not None and sent1 > sent0
            else None
        ),
    }
    for key, value in result.items():
        print(f"{key:32} {value}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"long-term-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
