"""The exporter scraped by a real Prometheus: every contract metric arrives, shards
together cover every site exactly once, and the shipped prometheus.yml is valid."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.servers import binary, exporter, prometheus, wait_query

ROOT = Path(__file__).resolve().parents[2]


def scrape(targets: list[str]) -> dict:
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "900ms"},
        "scrape_configs": [
            {
                "job_name": "upwatch-exporter",
                "static_configs": [{"targets": [t.removeprefix("http://") for t in targets]}],
            }
        ],
    }


def test_shipped_prometheus_config_is_valid():
    proc = subprocess.run(
        [binary("promtool"), "check", "config", str(ROOT / "prometheus/prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_prometheus_scrapes_every_contract_metric(tmp_path):
    sites = {
        "defaults": {"interval": "1s", "timeout": "500ms", "confirmations": 1},
        "sites": [{"id": "dead", "name": 'Dead: "x"', "url": "tcp://127.0.0.1:1"}],
    }
    with exporter(tmp_path, sites) as exp_url, prometheus(tmp_path, scrape([exp_url])) as prom:
        wait_query(prom, 'up{job="upwatch-exporter"} == 1')
        (row,) = wait_query(prom, 'upwatch_site_up{site="dead"}')
        assert row["value"][1] == "0"
        for expr in (
            'upwatch_site_info{site="dead",name="Dead: \\"x\\""}',
            'upwatch_probes_total{site="dead",result="failure"} > 0',
            'upwatch_probe_failures_total{site="dead",reason="connect"} > 0',
            'upwatch_probe_duration_seconds_bucket{site="dead",le="+Inf"}',
            'upwatch_site_state_change_timestamp_seconds{site="dead"}',
            "upwatch_exporter_config_last_reload_successful == 1",
            "upwatch_exporter_config_last_reload_success_timestamp_seconds",
            "upwatch_exporter_schedule_lag_seconds_count > 0",
            "upwatch_exporter_sites == 1",
        ):
            wait_query(prom, expr)
        # every line of the exposition became a sample: nothing was dropped as invalid
        (scraped,) = wait_query(prom, 'scrape_samples_scraped{job="upwatch-exporter"}')
        assert int(scraped["value"][1]) > 20


def test_three_shards_cover_every_site_exactly_once(tmp_path):
    ids = [f"site-{i:02d}" for i in range(30)]
    sites = {
        "defaults": {"interval": "1s", "timeout": "500ms", "confirmations": 1},
        "sites": [{"id": i, "url": "tcp://127.0.0.1:1"} for i in ids],
    }
    a, b, c = (tmp_path / n for n in "abc")
    for d in (a, b, c):
        d.mkdir()
    with (
        exporter(a, sites, "--shard", "1/3") as e1,
        exporter(b, sites, "--shard", "2/3") as e2,
        exporter(c, sites, "--shard", "3/3") as e3,
        prometheus(tmp_path, scrape([e1, e2, e3])) as prom,
    ):
        wait_query(prom, "sum(upwatch_exporter_sites)", lambda r: r and r[0]["value"][1] == "30")
        rows = wait_query(prom, "count by (site) (upwatch_site_info)", lambda r: len(r) == 30)
        assert sorted(r["metric"]["site"] for r in rows) == ids
        assert all(r["value"][1] == "1" for r in rows)  # each site on exactly one exporter
        per_shard = wait_query(prom, "upwatch_exporter_sites", lambda r: len(r) == 3)
        assert all(int(r["value"][1]) > 0 for r in per_shard)
