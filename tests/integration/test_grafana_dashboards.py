"""Every query of every shipped Grafana dashboard, run against a real Prometheus that
scrapes real exporters (and a real Alertmanager) with the shipped rules loaded.

Also running: the admin app (gunicorn, SQLite), whose ``/metrics`` Prometheus
scrapes, and an Alertmanager that sends every alert to the admin app's hook (the
always-firing Watchdog makes a webhook call at once).

Two exporters, started with ``--location eu`` and ``--location us``, probe the same
four sites at 1 s: ``up`` (HTTP 200), ``down`` (connection refused), ``maint`` (up,
in maintenance) and ``flap`` (HTTPS with a self-signed certificate, switched down and
up twice while the test watches: seen by both locations, so by the default quorum,
majority). ``$site`` is ``flap``, the one site that has every kind of data: TLS
expiry, status codes, failures by reason, incidents and recoveries; ``$location`` is
All. A third exporter, without ``--location``, probes one more site, ``solo``: a
single-location deployment, whose series have no location label, which the
per-location panels must show too.

Prometheus is configured from ``deploy/prometheus/prometheus.yml`` (the one the
compose file ships), its targets pointed at the loopback servers, so the job names
the dashboards filter on are the deployed ones. It loads ``prometheus/rules/*.yml``
with every group's interval set to 1 s, so that the recorded series the dashboards
read (uptime ratios and tiles, latency quantiles) exist within seconds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.badsite import BadSite
from tests.servers import binary, exporter, free_port, process, wait_http, wait_query

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "grafana" / "dashboards"
DEPLOY_PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
RULES = ROOT / "prometheus" / "rules"

SITE = "flap"
# What Grafana would put in place of its variables, for a dashboard range of the last
# ten minutes (longer than the test's data) and Prometheus scraping every second.
SUBSTITUTIONS = {
    "$__rate_interval": "5s",
    "$__interval": "2s",
    "$__range_s": "600",
    "$__range_ms": "600000",
    "$__range": "10m",
    "$site": SITE,
    "$slo": "99.9",
    "$location": ".*",  # All
}
LOCATIONS = ("eu", "us")
SOLO = "solo"  # probed by an exporter without --location
# The site-detail panels that show each location (legend {{location}}).
PER_LOCATION = ("Locations now", "State per location", "Probe duration p95 per location")

# Queries that cannot return series in this run; each is still run and must not
# fail. Keyed by (dashboard uid, panel title, refId). None so far: the admin app
# declares its SMS counters at zero, and Watchdog's webhook makes the alert counters.
MAY_BE_EMPTY: dict[tuple[str, str, str], str] = {}
WEBHOOK_TOKEN = "grafana-test-token"


def dashboards() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))]


def panels(dash: dict[str, Any]) -> Iterator[dict[str, Any]]:
    def walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from walk(panel.get("panels") or [])

    yield from walk(dash.get("panels") or [])


def substitute(expr: str) -> str:
    # Longest names first: $__range_s before $__range.
    for name in sorted(SUBSTITUTIONS, key=len, reverse=True):
        expr = expr.replace(name, SUBSTITUTIONS[name])
    # $1 and the like are label_replace() group references, not variables
    leftover = re.findall(r"\$[A-Za-z_]\w*", expr)
    assert not leftover, f"unsubstituted variables {leftover} in {expr}"
    return expr


def all_targets(**values: str) -> list[tuple[tuple[str, str, str], str]]:
    """Every query, its variables substituted (``values`` override SUBSTITUTIONS,
    e.g. ``site="solo"``)."""
    out = []
    for dash in dashboards():
        for panel in panels(dash):
            for target in panel.get("targets") or []:
                key = (dash["uid"], panel["title"], target["refId"])
                expr = target["expr"]
                for name, value in values.items():
                    expr = expr.replace(f"${name}", value)
                out.append((key, substitute(expr)))
    return out


# --------------------------------------------------------------------------- the stack


def fast_rules(out_dir: Path) -> Path:
    """The shipped rule files with every group evaluated each second (the 5-minute
    and hourly tile groups too), so that a short run has every recorded series."""
    out_dir.mkdir()
    for path in sorted(RULES.glob("*.yml")):
        rules = yaml.safe_load(path.read_text())
        for group in rules["groups"]:
            group["interval"] = "1s"
        (out_dir / path.name).write_text(yaml.safe_dump(rules, sort_keys=False))
    return out_dir


def prometheus_config(local: dict[str, str | list[str]], rules_dir: Path) -> dict:
    """deploy/prometheus/prometheus.yml with loopback targets (a list: several in place
    of one), 1 s scrapes and rule evaluation, and the shipped rules."""
    config = yaml.safe_load(DEPLOY_PROMETHEUS.read_text())
    not_run = {"grafana:3000"}  # Grafana is not part of this test
    config["global"] = {
        "scrape_interval": "1s",
        "scrape_timeout": "900ms",
        "evaluation_interval": "1s",
    }
    config["rule_files"] = [str(rules_dir / "*.yml")]
    for am in config["alerting"]["alertmanagers"]:
        for sc in am["static_configs"]:
            sc["targets"] = [local[t] for t in sc["targets"]]
    jobs = []
    for job in config["scrape_configs"]:
        job.pop("scrape_interval", None)
        job.pop("scrape_timeout", None)
        targets = [t for sc in job["static_configs"] for t in sc["targets"]]
        unknown = set(targets) - set(local) - not_run
        assert not unknown, f"test does not know how to run {unknown}"
        kept = [a for t in targets if t in local for a in _as_list(local[t])]
        if kept:
            job["static_configs"] = [{"targets": kept}]
            jobs.append(job)
    config["scrape_configs"] = jobs
    return config


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def alertmanager_config(admin_url: str) -> dict:
    hook = {
        "url": f"{admin_url}/hooks/alertmanager",
        "send_resolved": True,
        "http_config": {"authorization": {"type": "Bearer", "credentials": WEBHOOK_TOKEN}},
    }
    return {
        "route": {"receiver": "admin", "group_wait": "0s", "group_by": ["alertname", "site"]},
        "receivers": [{"name": "admin", "webhook_configs": [hook]}],
    }


def admin_env(tmp: Path, port: int, env: dict[str, str]) -> dict[str, str]:
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **env, "UPWATCH_DATA_DIR": str(tmp), "UPWATCH_ADMIN_URL": url}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # one worker: counters in memory
    return env


@contextmanager
def admin_app(tmp: Path, port: int, env: dict[str, str]) -> Iterator[str]:
    """The admin app under gunicorn (one worker) on the SQLite database in ``tmp``
    (made by ``upwatch-admin init-db`` beforehand)."""
    url = f"http://127.0.0.1:{port}"
    env = admin_env(tmp, port, env)
    bin_dir = Path(sys.executable).parent
    args = [str(bin_dir / "gunicorn"), "admin_app.wsgi:app", "--bind", f"127.0.0.1:{port}"]
    log = open(tmp / "admin.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_http(f"{url}/healthz", proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def prom(
    tmp_path_factory: pytest.TempPathFactory,
    _badsite_http: BadSite,
    _badsite_https: BadSite,
    refused_port: int,
) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("grafana-dashboards")
    _badsite_https.set_switch("flap", up=True)
    sites = {
        "defaults": {"interval": "1s", "timeout": "800ms", "confirmations": 1},
        "sites": [
            {"id": "up", "name": "Always up", "url": _badsite_http.url("/ok")},
            {"id": "down", "name": "Never up", "url": f"tcp://127.0.0.1:{refused_port}"},
            {
                "id": "maint",
                "name": "In maintenance",
                "url": _badsite_http.url("/ok"),
                "maintenance": True,
            },
            {
                "id": SITE,
                "name": "Goes down and up",
                "url": _badsite_https.url("/switch/flap"),
                "tls_verify": False,
            },
        ],
    }
    am_port, prom_port = free_port(), free_port()
    am_url = f"http://127.0.0.1:{am_port}"
    prom_url = f"http://127.0.0.1:{prom_port}"
    (tmp / "admin").mkdir()
    am_dir = tmp / "alertmanager"
    am_dir.mkdir()
    admin_port = free_port()
    admin_settings = {
        "UPWATCH_SECRET_KEY": "grafana-test-secret",
        "UPWATCH_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "UPWATCH_ALERTMANAGER_URL": am_url,
        "UPWATCH_PROMETHEUS_URL": prom_url,
    }
    # The admin app's database is made while the exporter starts.
    init_db = subprocess.Popen(
        [str(Path(sys.executable).parent / "upwatch-admin"), "init-db"],
        env=admin_env(tmp / "admin", admin_port, admin_settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    solo = {
        "defaults": sites["defaults"],
        "sites": [{"id": SOLO, "name": "One location", "url": _badsite_http.url("/ok")}],
    }
    with ExitStack() as stack:
        stack.callback(init_db.kill)
        exp_urls = []
        for location in LOCATIONS:
            (tmp / location).mkdir()
            exp_urls.append(
                stack.enter_context(exporter(tmp / location, sites, "--location", location))
            )
        (tmp / SOLO).mkdir()
        exp_urls.append(stack.enter_context(exporter(tmp / SOLO, solo)))
        out, _ = init_db.communicate(timeout=120)
        assert init_db.returncode == 0, out
        admin_settings["UPWATCH_EXPORTER_URL"] = exp_urls[0]
        admin_url = stack.enter_context(admin_app(tmp / "admin", admin_port, admin_settings))
        (am_dir / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager_config(admin_url)))
        local = {
            "exporter:9115": [u.removeprefix("http://") for u in exp_urls],
            "admin:8000": admin_url.removeprefix("http://"),
            "alertmanager:9093": f"127.0.0.1:{am_port}",
            "localhost:9090": f"127.0.0.1:{prom_port}",
        }
        config = prometheus_config(local, fast_rules(tmp / "rules"))
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
        am_args = [
            binary("prometheus-alertmanager"),
            f"--config.file={am_dir / 'alertmanager.yml'}",
            f"--storage.path={am_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        prom_args = [
            binary("prometheus"),
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            "--log.level=warn",
        ]
        stack.enter_context(process(am_args, tmp / "alertmanager.log", f"{am_url}/-/ready"))
        stack.enter_context(process(prom_args, tmp / "prometheus.log", f"{prom_url}/-/ready"))
        rules = httpx.get(f"{prom_url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert rules, f"no rule groups loaded from {RULES}"
        wait_query(prom_url, 'up{job="upwatch-exporter"} == 1', lambda r: len(r) == len(exp_urls))
        wait_query(prom_url, 'up{job="upwatch-admin"} == 1')
        # Watchdog fires at once and Alertmanager hands it to the admin app's hook.
        wait_query(prom_url, 'upwatch_admin_webhooks_total{result="ok"} > 0')
        # The site's state by the quorum (both locations), as the rules record it.
        up = f'site:upwatch_site_up:unless_maintenance{{site="{SITE}"}}'
        both = lambda r: len(r) == len(LOCATIONS)  # noqa: E731
        wait_query(prom_url, f"{up} == 1")
        wait_query(prom_url, f'upwatch_site_up{{site="{SITE}"}} == 1', both)
        # Two outages of the flapping site, each seen by both locations and recorded.
        for _ in range(2):
            _badsite_https.set_switch("flap", up=False)
            wait_query(prom_url, f'upwatch_site_up{{site="{SITE}"}} == 0', both)
            wait_query(prom_url, f"{up} == 0")
            _badsite_https.set_switch("flap", up=True)
            wait_query(prom_url, f'upwatch_site_up{{site="{SITE}"}} == 1', both)
            wait_query(prom_url, f"{up} == 1")
        wait_query(prom_url, f'site:upwatch_site_up:unless_maintenance{{site="{SOLO}"}}')
        yield prom_url


CLIENT = httpx.Client(timeout=10)


def run(prom_url: str, expr: str) -> tuple[str | None, list[dict]]:
    """(error, result) of an instant query."""
    r = CLIENT.get(f"{prom_url}/api/v1/query", params={"query": expr})
    body = r.json()
    if body.get("status") != "success":
        return f"{body.get('errorType')}: {body.get('error')}", []
    data = body["data"]
    if data["resultType"] in ("scalar", "string"):
        return None, [{"metric": {}, "value": data["result"]}]
    return None, data["result"]


# --------------------------------------------------------------------------- tests


def test_every_panel_query_returns_series(prom: str) -> None:
    targets = all_targets()
    assert len(targets) > 40
    assert set(MAY_BE_EMPTY) <= {key for key, _ in targets}, "stale MAY_BE_EMPTY entries"
    # Recording rules and rates need a few evaluations: poll until every query that
    # must return series does, then report what never did.
    deadline = time.monotonic() + 30
    errors: dict[tuple[str, str, str], tuple[str, str]] = {}
    pending = dict(targets)
    while True:
        empty = {}
        for key, expr in pending.items():
            error, result = run(prom, expr)
            if error:
                errors[key] = (expr, error)
            elif not result and key not in MAY_BE_EMPTY:
                empty[key] = expr
        if errors or not empty or time.monotonic() > deadline:
            break
        pending = empty
        time.sleep(1)
    assert not errors, "queries that Prometheus rejected:\n" + "\n".join(
        f"{k}: {e}\n  {x}" for k, (x, e) in errors.items()
    )
    assert not empty, "queries that returned no series:\n" + "\n".join(
        f"{k}:\n  {x}" for k, x in empty.items()
    )


def test_every_variable_query_returns_values(prom: str) -> None:
    seen = 0
    for dash in dashboards():
        for var in dash.get("templating", {}).get("list", []):
            if var["type"] == "query":
                m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", var["query"])
                assert m, f"{dash['uid']} ${var['name']}: unsupported query {var['query']}"
                metric, label = m.groups()
                r = httpx.get(
                    f"{prom}/api/v1/label/{label}/values", params={"match[]": metric}, timeout=5
                )
                values = r.json()["data"]
                want = {
                    "site": {"up", "down", "maint", SITE, SOLO},
                    "location": set(LOCATIONS),  # the exporter without --location has none
                }[var["name"]]
                assert want == set(values), (dash["uid"], var["name"], values)
            else:
                assert var["type"] == "custom", var
                assert [o["value"] for o in var["options"]], (dash["uid"], var["name"])
            seen += 1
    assert seen >= 4


def test_the_panels_show_what_happened(prom: str) -> None:
    """A few values checked, not just presence: the status tiles, the down list, the
    flapping site's incidents and its certificate."""
    by_key = dict(all_targets())
    _, tiles = run(prom, by_key[("upwatch-overview", "Status per site", "A")])
    status = {r["metric"]["site"]: float(r["value"][1]) for r in tiles}
    assert status == {"up": 1, "down": 0, "maint": 2, SITE: 1, SOLO: 1}
    assert {r["metric"]["name"] for r in tiles} >= {"Always up", "Never up"}

    _, down = run(prom, by_key[("upwatch-overview", "Sites down now", "A")])
    assert [(r["metric"]["site"], r["metric"]["reason"]) for r in down] == [("down", "connect")]

    _, incidents = run(prom, by_key[("upwatch-site", "Incidents", "A")])
    assert [float(r["value"][1]) for r in incidents] == [2]

    _, tls = run(prom, by_key[("upwatch-site", "TLS certificate expires in", "A")])
    (left,) = [float(r["value"][1]) for r in tls]
    assert 29 * 86400 < left <= 30 * 86400


def test_per_location_panels_show_each_location(prom: str) -> None:
    """The site-detail panels per location have a series for each location (the
    legend {{location}}), and picking one location in $location keeps only it."""
    for values, want in (({}, set(LOCATIONS)), ({"location": "us"}, {"us"})):
        by_key = dict(all_targets(**values))
        for title in PER_LOCATION:
            _, result = run(prom, by_key[("upwatch-site", title, "A")])
            assert {r["metric"].get("location") for r in result} == want, (title, values)
    # The stat for the always-up site: `flap` may still be seen down by one location
    # when this runs (its last outage, confirmed per location), which made this flaky.
    steady = dict(all_targets(site="up"))
    _, down = run(prom, steady[("upwatch-site", "Locations seeing it down", "A")])
    _, probing = run(prom, steady[("upwatch-site", "Locations seeing it down", "B")])
    _, quorum = run(prom, steady[("upwatch-site", "Locations seeing it down", "C")])
    assert [float(r["value"][1]) for r in down + probing + quorum] == [0, 2, 2]

    _, exporters = run(prom, by_key[("upwatch-self", "Exporters", "A")])
    located = sorted(r["metric"].get("location", "") for r in exporters)
    assert located == ["", *LOCATIONS]
    assert all(r["metric"]["shard"] == "1/1" for r in exporters), exporters


def test_a_site_without_locations_still_has_every_per_location_panel(prom: str) -> None:
    """``solo`` is probed by an exporter without --location (no location label): the
    per-location panels show it under the exporter's address, the status and the
    location count work as with locations."""
    by_key = dict(all_targets(site=SOLO))
    _, solo_exporter = run(prom, f'upwatch_site_up{{site="{SOLO}"}}')
    (instance,) = {r["metric"]["instance"] for r in solo_exporter}
    for title in PER_LOCATION:
        _, result = run(prom, by_key[("upwatch-site", title, "A")])
        assert [r["metric"].get("location") for r in result] == [instance], title
    _, status = run(prom, by_key[("upwatch-site", "Status", "A")])
    assert [float(r["value"][1]) for r in status] == [1]
    _, probing = run(prom, by_key[("upwatch-site", "Locations seeing it down", "B")])
    assert [float(r["value"][1]) for r in probing] == [1]
