"""Long-term storage: Prometheus remote-writes to a real VictoriaMetrics, and the
history API reads ranges older than Prometheus' retention from it.

* A real Prometheus, configured with the ``remote_write`` block documented in the
  shipped prometheus/prometheus.yml (uncommented, pointed at the test's
  VictoriaMetrics), scrapes a real exporter; every exporter series reaches
  VictoriaMetrics with the same labels and the same samples.
* The uptime endpoint: VictoriaMetrics alone holds a probe-duration histogram of 60
  days ago (imported with millisecond timestamps) and Prometheus alone one of the
  last 6 hours (backfilled with promtool), with different quantiles. With a short
  ``PROMETHEUS_RETENTION`` a 90-day window is answered from VictoriaMetrics and a
  24-hour one from Prometheus; VictoriaMetrics down, or not configured, the 90-day
  window falls back to Prometheus with a warning.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from admin_app import create_app
from admin_app.db import create_all, get_database, session_scope
from admin_app.models import Site
from admin_app.roles import Role
from tests.admin_app.conftest import base_config, create_test_user, mint_tokens
from tests.golden_history import DURATION_BUCKETS, LATENCY_EXPECTED, LATENCY_PER_SCRAPE, NOW
from tests.servers import (
    binary,
    exporter,
    free_port,
    prometheus,
    prometheus_on_tsdb,
    victoria_metrics,
    wait_query,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "prometheus" / "prometheus.yml"
BEGIN, END = "# --- remote_write (begin)", "# --- remote_write (end)"


def shipped_remote_write(vm_url: str) -> list[dict[str, Any]]:
    """The commented-out remote_write block of the shipped prometheus.yml,
    uncommented as its comment says, with the URL of ``vm_url``."""
    text = SHIPPED.read_text()
    assert BEGIN in text and END in text, "the remote_write markers are missing"
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    lines = [line.removeprefix("# ") for line in block.strip("\n").splitlines()]
    assert all(not line.startswith("#") for line in lines), lines
    config = yaml.safe_load("\n".join(lines))
    (entry,) = config["remote_write"]
    assert entry["url"] == "http://127.0.0.1:8428/api/v1/write"
    entry["url"] = f"{vm_url}/api/v1/write"
    return config["remote_write"]


def flush(vm: str) -> None:
    httpx.get(f"{vm}/internal/force_flush", timeout=10).raise_for_status()


def query_at(url: str, expr: str, at: float | None = None) -> list[dict]:
    params = {"query": expr}
    if at is not None:
        params["time"] = f"{at:.3f}"
    r = httpx.get(f"{url}/api/v1/query", params=params, timeout=10)
    r.raise_for_status()
    return r.json()["data"]["result"]


def wait_vm(vm: str, expr: str, predicate, at: float | None = None, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        flush(vm)
        result = query_at(vm, expr, at)
        if predicate(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"VictoriaMetrics: {expr!r} never satisfied; last: {result}")
        time.sleep(0.5)


def metric_values(url: str, name: str) -> float:
    """The sum of ``name``'s samples on ``url``/metrics."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    pattern = re.compile(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", re.M)
    return sum(float(v) for v in pattern.findall(text))


def samples(row: dict) -> set[tuple[float, str]]:
    return {(round(t, 3), v) for t, v in row["values"]}


def labelsets(rows: list[dict]) -> set[frozenset]:
    return {frozenset(row["metric"].items()) for row in rows}


# --------------------------------------------------------------------------- remote_write


def test_shipped_remote_write_block_is_valid(tmp_path: Path) -> None:
    config = yaml.safe_load(SHIPPED.read_text())
    config["rule_files"] = []
    config["remote_write"] = shipped_remote_write("http://127.0.0.1:8428")
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [binary("promtool"), "check", "config", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_exporter_series_reach_victoria_metrics_with_the_same_labels(tmp_path: Path) -> None:
    with victoria_metrics(tmp_path) as vm:
        sites = {
            "defaults": {"interval": "1s", "timeout": "500ms", "confirmations": 1},
            "sites": [
                {"id": "lt-up", "name": "Up", "url": f"{vm}/health"},
                {"id": "lt-down", "name": "Down", "url": "tcp://127.0.0.1:1"},
            ],
        }
        with exporter(tmp_path, sites) as exp:
            config = {
                "global": {"scrape_interval": "1s", "scrape_timeout": "900ms"},
                "scrape_configs": [
                    {
                        "job_name": "upwatch-exporter",
                        "static_configs": [{"targets": [exp.removeprefix("http://")]}],
                    }
                ],
                "remote_write": shipped_remote_write(vm),
            }
            with prometheus(tmp_path, config) as prom:
                started = time.monotonic()
                sent_before = metric_values(prom, "prometheus_remote_storage_samples_total")
                for expr in (
                    'upwatch_site_up{site="lt-up"} == 1',
                    'upwatch_site_up{site="lt-down"} == 0',
                    'upwatch_probe_duration_seconds_bucket{site="lt-up",le="+Inf"} > 0',
                    'upwatch_probe_failures_total{site="lt-down"} > 0',
                ):
                    wait_query(prom, expr)
                # Every series of the exporter's sites in Prometheus, then the same in VM.
                selector = '{site=~"lt-.+"}'
                in_prom = labelsets(query_at(prom, selector))
                assert len(in_prom) > 20
                assert all(dict(s)["job"] == "upwatch-exporter" for s in in_prom)
                wait_vm(vm, selector, lambda rows: labelsets(rows) >= in_prom)
                assert labelsets(query_at(vm, selector)) >= in_prom

                # The same samples: the raw samples of a past 10 s in both stores.
                wait_query(prom, 'count_over_time(upwatch_site_up{site="lt-up"}[10s]) >= 8')
                at = time.time() - 1
                expr = 'upwatch_site_up{site="lt-up"}[10s]'
                (prom_row,) = query_at(prom, expr, at)
                prom_samples = samples(prom_row)
                assert len(prom_samples) >= 5
                # Prometheus' range includes its left edge, VictoriaMetrics' does not.
                edge = {(round(at - 10, 3), "1")}
                (vm_row,) = wait_vm(
                    vm,
                    expr,
                    lambda rows: len(rows) == 1 and prom_samples - samples(rows[0]) <= edge,
                    at,
                )
                assert prom_samples - samples(vm_row) <= edge
                assert prom_row["metric"] == vm_row["metric"]

                sent = metric_values(prom, "prometheus_remote_storage_samples_total")
                failed = metric_values(prom, "prometheus_remote_storage_samples_failed_total")
                elapsed = time.monotonic() - started
                assert sent > sent_before and failed == 0
            flush(vm)
            rows = metric_values(vm, "vm_rows")
            size = metric_values(vm, "vm_data_size_bytes")
            print(
                f"\nremote_write: {sent - sent_before:.0f} samples in {elapsed:.1f} s "
                f"({(sent - sent_before) / elapsed:.0f}/s), none failed; VictoriaMetrics "
                f"{rows:.0f} rows, {size:.0f} bytes on disk"
            )


# --------------------------------------------------------------------------- history API

SITE = "longterm"
NOW_TS = int(NOW.timestamp())
DAY = 86400
# VictoriaMetrics only: 6 hours of probes 60 days ago, slower than now: 50 of 100 at
# or under 0.25 s, 95 at or under 0.5 s, 99 at or under 1 s.
OLD_PER_SCRAPE = (0, 0, 0, 0, 0, 50, 45, 4, 1, 0, 0, 0)
OLD_EXPECTED = {"p50": 0.25, "p95": 0.5, "p99": 1.0}
OLD_START = NOW_TS - 60 * DAY
# Prometheus only: the last 6 hours, the golden history's distribution (p50 0.1,
# p95 0.25, p99 0.5).
RECENT_START = NOW_TS - 6 * 3600
LABELS = f'instance="exporter-1:9115",job="upwatch-exporter",site="{SITE}"'


def histogram_lines(per_scrape: tuple[int, ...], first: int, last: int, step: int, ms: bool):
    """Cumulative bucket, count and sum samples of one site's probe-duration
    histogram, scraped every ``step`` s from ``first`` to ``last``."""
    bounds = [*(repr(b) for b in DURATION_BUCKETS), "+Inf"]
    for scrapes, t in enumerate(range(first, last + 1, step), 1):
        stamp = t * 1000 if ms else t
        cumulative = 0
        for bound, per in zip(bounds, per_scrape, strict=True):
            cumulative += per * scrapes
            yield f'upwatch_probe_duration_seconds_bucket{{{LABELS},le="{bound}"}} {cumulative} {stamp}'
        total = sum(per_scrape) * scrapes
        yield f"upwatch_probe_duration_seconds_count{{{LABELS}}} {total} {stamp}"
        yield f"upwatch_probe_duration_seconds_sum{{{LABELS}}} {total * 0.3:.3f} {stamp}"


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with victoria_metrics(tmp_path_factory.mktemp("vm")) as url:
        body = "\n".join(histogram_lines(OLD_PER_SCRAPE, OLD_START, OLD_START + 6 * 3600, 60, True))
        r = httpx.post(f"{url}/api/v1/import/prometheus", content=body + "\n", timeout=30)
        assert r.status_code == 204, r.text
        flush(url)
        yield url


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("prom-recent")
    source = work / "recent.om"
    with source.open("w") as out:
        out.write("# TYPE upwatch_probe_duration_seconds histogram\n")
        for line in histogram_lines(LATENCY_PER_SCRAPE, RECENT_START, NOW_TS, 15, False):
            out.write(line + "\n")
        out.write("# EOF\n")
    tsdb = work / "tsdb"
    proc = subprocess.run(
        [binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(source), str(tsdb)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with prometheus_on_tsdb(work, tsdb, {"global": {}}) as url:
        yield url


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, vm: str, prom: str) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("long-term-app")
    application = create_app(base_config(f"sqlite:///{tmp / 'app.db'}", tmp))
    application.config.update(
        CLOCK=lambda: NOW,
        PROMETHEUS_URL=prom,
        LONG_TERM_URL=vm,
        PROMETHEUS_RETENTION="2d",  # short: anything older comes from VictoriaMetrics
    )
    with application.app_context():
        create_all(application)
    with session_scope(application) as session:
        session.add(
            Site(
                slug=SITE,
                name="Long term",
                url="https://longterm.example.com/",
                created_at=NOW.replace(year=NOW.year - 1),
            )
        )
    yield application
    get_database(application).dispose()


@dataclass
class Api:
    app: Flask
    client: FlaskClient
    headers: dict[str, str]

    def uptime(self, window: str, **config: Any) -> dict:
        saved = {k: self.app.config.get(k) for k in config}
        self.app.config.update(config)
        try:
            r = self.client.get(
                f"/api/v1/sites/{SITE}/uptime?window={window}", headers=self.headers
            )
        finally:
            self.app.config.update(saved)
        assert r.status_code == 200, r.get_data(as_text=True)[:500]
        return r.get_json()


@pytest.fixture(scope="module")
def api(app: Flask) -> Api:
    user = create_test_user(app, Role.ADMIN, "long-term")
    token = mint_tokens(app, user.id)["access_token"]
    return Api(app, app.test_client(), {"Authorization": f"Bearer {token}"})


def close(got: dict, want: dict) -> bool:
    return all(got[k] is not None and abs(got[k] - v) < 1e-9 for k, v in want.items())


def test_the_stores_hold_different_data(vm: str, prom: str) -> None:
    """The premise: each store alone has its histogram."""
    expr = f'upwatch_probe_duration_seconds_count{{site="{SITE}"}}[90d]'
    assert query_at(prom, expr, NOW_TS)[0]["values"][0][0] >= RECENT_START
    assert query_at(vm, expr, NOW_TS)[0]["values"][-1][0] <= OLD_START + 6 * 3600


def test_a_long_window_is_read_from_victoria_metrics(api: Api) -> None:
    body = api.uptime("90d")
    assert body["response_time_source"] == "long_term", body
    assert close(body["response_time_seconds"], OLD_EXPECTED), body
    assert body["warnings"] == []


def test_a_window_inside_the_retention_is_read_from_prometheus(api: Api) -> None:
    body = api.uptime("24h")
    assert body["response_time_source"] == "prometheus", body
    assert close(body["response_time_seconds"], LATENCY_EXPECTED), body
    assert body["warnings"] == []


def test_victoria_metrics_down_falls_back_to_prometheus(api: Api) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    body = api.uptime("90d", LONG_TERM_URL=dead)
    assert body["response_time_source"] == "prometheus", body
    # only what Prometheus keeps: the last 6 hours
    assert close(body["response_time_seconds"], LATENCY_EXPECTED), body
    assert body["warnings"] == [
        f"response time unavailable: the long-term store at {dead} could not be queried "
        "(ConnectError)",
        "response time: answered by Prometheus instead, which keeps 2d: data older than "
        "that may be missing",
    ]


def test_without_a_long_term_store_prometheus_answers_with_a_warning(api: Api) -> None:
    body = api.uptime("90d", LONG_TERM_URL=None)
    assert body["response_time_source"] == "prometheus"
    assert close(body["response_time_seconds"], LATENCY_EXPECTED), body
    assert len(body["warnings"]) == 1 and "older data may be missing" in body["warnings"][0]


def test_the_history_page_says_when_the_long_term_store_answered(app: Flask) -> None:
    from tests.admin_app.conftest import AuthActions

    client = app.test_client()
    AuthActions(app, client).login_as(Role.ADMIN, "long-term-browser")
    page = client.get(f"/history/{SITE}?window=90d").get_data(as_text=True)
    assert "250 ms / 500 ms / 1000 ms" in page
    assert 'data-figure="latency-source">(long-term store)' in page
    page = client.get(f"/history/{SITE}?window=24h").get_data(as_text=True)
    assert "100 ms / 250 ms / 500 ms" in page and "latency-source" not in page
