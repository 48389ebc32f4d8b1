"""The shipped Prometheus configuration and rules: valid for promtool, unit-tested
with `promtool test rules` (prometheus/rules/tests/*.yml), consistent with what the
Alertmanager side reads, and, against the real binaries, an exporter that goes away
neither resolves nor pages for its sites."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.servers import binary, exporter, prometheus, query, wait_query

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "prometheus"
RULES = PROM / "rules"
RULE_TESTS = sorted((RULES / "tests").glob("*.yml"))
ALERTMANAGER = ROOT / "alertmanager"

CONTRACT_ALERTS = {
    "SiteDown",
    "SiteSlow",
    "SiteCertificateExpiring",
    "UpwatchExporterDown",
    "UpwatchConfigReloadFailed",
    "Watchdog",
}
SITE_LABELS = {"severity", "maintenance"}  # plus site and instance, from the series
SITE_ANNOTATIONS = {"site_name", "url", "reason", "summary", "description"}
DOWN_ANNOTATIONS = SITE_ANNOTATIONS | {"down_since", "down_since_unix", "down_for", "locations"}


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary("promtool"), *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def rules(path: Path) -> list[dict]:
    return [r for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]]


def alert_rules() -> list[dict]:
    return [r for r in rules(RULES / "alerts.yml") if "alert" in r]


# --- promtool ------------------------------------------------------------------


def test_config_is_valid_with_its_rules():
    proc = promtool("check", "config", str(PROM / "prometheus.yml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 rule files found" in proc.stdout


def test_rule_files_are_valid():
    files = sorted(str(p) for p in RULES.glob("*.yml"))
    proc = promtool("check", "rules", *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda p: p.name)
def test_rule_unit_tests_pass(test_file: Path):
    proc = promtool("test", "rules", str(test_file))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


# --- coverage and contracts ------------------------------------------------------


def test_the_contract_alerts_exist():
    assert {r["alert"] for r in alert_rules()} == CONTRACT_ALERTS


def test_every_alert_and_recording_rule_is_unit_tested():
    tested_alerts: set[str] = set()
    tested_text = ""
    for path in RULE_TESTS:
        tested_text += path.read_text()
        for t in yaml.safe_load(path.read_text())["tests"]:
            tested_alerts |= {a["alertname"] for a in t.get("alert_rule_test", [])}
    assert tested_alerts >= CONTRACT_ALERTS
    records = {
        r["record"]
        for f in ("recording.yml", "alerts.yml")
        for r in rules(RULES / f)
        if "record" in r
    }
    untested = {name for name in records if name not in tested_text}
    assert not untested, f"recording rules without a unit test: {sorted(untested)}"


def test_recording_rule_names_follow_level_metric_operations():
    for rule in [r for f in ("recording.yml", "alerts.yml") for r in rules(RULES / f)]:
        if "record" not in rule:
            continue
        level, metric, ops = rule["record"].split(":")
        assert level in {"site", "instance", "site_location", "site_instance"}, rule["record"]
        assert metric.startswith("upwatch_") and not metric.endswith("_total"), rule["record"]
        assert ops, rule["record"]


def test_site_alerts_carry_what_alertmanager_and_the_hook_read():
    """Every Site* alert has the labels and annotations of the contract, and every
    annotation the email templates read (alertmanager/templates/upwatch.tmpl) is one
    the rules produce."""
    template = (ALERTMANAGER / "templates" / "upwatch.tmpl").read_text()
    read = set(re.findall(r"\.(?:Common)?Annotations\.(\w+)", template))
    assert read, "the template reads no annotation: the regex is out of date"
    for rule in alert_rules():
        if not rule["alert"].startswith("Site"):
            continue
        expected = DOWN_ANNOTATIONS if rule["alert"] == "SiteDown" else SITE_ANNOTATIONS
        assert set(rule["labels"]) == SITE_LABELS, rule["alert"]
        assert set(rule["annotations"]) == expected, rule["alert"]
        # down_since, down_for and locations exist on SiteDown only; the template
        # falls back on StartsAt and EndsAt - StartsAt, and shows them (locations only
        # when non-empty) for SiteDown alone
        only_down = {"down_since", "down_for", "locations"}
        assert read - only_down <= set(rule["annotations"]), rule["alert"]
    site_down = next(r for r in alert_rules() if r["alert"] == "SiteDown")
    assert read <= set(site_down["annotations"])


def test_alertmanager_inhibitions_name_real_alerts_and_labels():
    base = yaml.safe_load((ALERTMANAGER / "base.yml").read_text())
    names = {r["alert"] for r in alert_rules()}
    for rule in base["inhibit_rules"]:
        for m in rule["source_matchers"] + rule["target_matchers"]:
            label, op, value = re.fullmatch(r'(\w+)(=~|=)"(.*)"', m).groups()
            if label != "alertname":
                continue
            hits = {n for n in names if re.fullmatch(value, n)} if op == "=~" else {value} & names
            assert hits, f"inhibition matcher {m} matches no alert rule"
    exporter_down = next(r for r in base["inhibit_rules"] if "UpwatchExporterDown" in str(r))
    assert exporter_down["equal"] == ["instance"]


# --- the real binaries -----------------------------------------------------------


def notes_of(alert: dict) -> dict:
    return alert["annotations"]


def _alerts(prom: str, name: str) -> list[dict]:
    r = httpx.get(f"{prom}/api/v1/alerts", timeout=10)
    r.raise_for_status()
    return [a for a in r.json()["data"]["alerts"] if a["labels"]["alertname"] == name]


@pytest.mark.integration
def test_exporter_going_away_holds_site_down_and_pages_once(tmp_path, refused_port, badsite):
    """A real exporter with a site that is down and one that is up, scraped every
    second by a real Prometheus with the shipped rules. SiteDown fires for the down
    site with its annotations; the exporter is stopped: SiteDown stays the same
    firing alert (no false "back up"), the up site does not fire, and
    UpwatchExporterDown is on its way (pending: its `for` is a minute)."""
    sites = {
        "defaults": {"interval": "1s", "timeout": "500ms", "confirmations": 1},
        "sites": [
            {"id": "dead", "name": "Dead site", "url": f"tcp://127.0.0.1:{refused_port}"},
            {"id": "alive", "name": "Alive", "url": badsite.url("/ok")},
        ],
    }
    exp_dir = tmp_path / "exporter"
    exp_dir.mkdir()
    exp = exporter(exp_dir, sites)
    exp_url = exp.__enter__()
    try:
        config = {
            "global": {
                "scrape_interval": "1s",
                "scrape_timeout": "900ms",
                "evaluation_interval": "1s",
            },
            "rule_files": [str(RULES / "alerts.yml"), str(RULES / "recording.yml")],
            "scrape_configs": [
                {
                    "job_name": "upwatch-exporter",
                    "static_configs": [{"targets": [exp_url.removeprefix("http://")]}],
                }
            ],
        }
        with prometheus(tmp_path, config) as prom:
            instance = exp_url.removeprefix("http://")
            wait_query(prom, 'ALERTS{alertname="SiteDown",site="dead",alertstate="firing"}')
            wait_query(prom, 'upwatch_site_up{site="alive"} == 1')
            (before,) = _alerts(prom, "SiteDown")
            (since,) = query(prom, 'upwatch_site_state_change_timestamp_seconds{site="dead"}')
            # one alert per site, whatever the exporters: no instance, job or location
            assert before["labels"] == {
                "alertname": "SiteDown",
                "severity": "critical",
                "maintenance": "false",
                "site": "dead",
            }
            assert instance in notes_of(before)["description"]
            notes = before["annotations"]
            assert notes["site_name"] == "Dead site"
            assert notes["url"] == f"tcp://127.0.0.1:{refused_port}"
            assert notes["reason"] == "connect"
            assert notes["summary"] == "Dead site is down (connect)"
            assert float(notes["down_since_unix"]) == pytest.approx(float(since["value"][1]))
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", notes["down_since"])

            exp.__exit__(None, None, None)
            exp = None
            wait_query(prom, 'up{job="upwatch-exporter"} == 0')
            wait_query(prom, 'ALERTS{alertname="UpwatchExporterDown",alertstate="pending"}')
            time.sleep(2)  # two more evaluations with the exporter's series stale
            assert not query(prom, 'upwatch_site_up{site="dead"}')  # stale indeed
            (after,) = _alerts(prom, "SiteDown")
            assert after["state"] == "firing"
            assert after["labels"] == before["labels"]
            assert after["activeAt"] == before["activeAt"]  # the same alert throughout
            assert after["annotations"]["down_since_unix"] == notes["down_since_unix"]
            assert "not reporting this site" in after["annotations"]["description"]
            assert not query(prom, 'ALERTS{alertname="SiteDown",site="alive"}')
    finally:
        if exp is not None:
            exp.__exit__(None, None, None)
