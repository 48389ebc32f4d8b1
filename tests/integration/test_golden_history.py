"""The golden history (tests/golden_history.py) through every door: the history
API, the uptime API, the CSV and the Excel report, and a real Prometheus, each
checked against the uptime worked out by hand.

* The incident log (SQLite) gets the golden incidents; the admin app's clock is
  fixed at the golden "now". The API and both reports must give the hand-made
  figures **to the second**: downtime, maintenance, monitored time, longest outage
  exactly; incidents exactly; uptime % and MTTR as the exact ratios of those.
* Prometheus gets ``upwatch_site_up`` / ``upwatch_site_maintenance`` (and one
  site's probe-duration histogram) as OpenMetrics, turned into blocks by ``promtool
  tsdb create-blocks-from openmetrics``, and is started on them with the shipped
  recording rules loaded. Then:

  1. the shipped rule ``site:upwatch_site_up:unless_maintenance`` is evaluated over
     each window (24 h, 7 d, 30 d, 90 d) ending at "now", at a 60 s step, as the
     ratio of sums the rules compose; it must equal, to the sample, what the
     golden history predicts at that step, and be within the sampling tolerance of
     the exact figure (one 60 s step per change of state in the window, plus two:
     ``prometheus_tolerance``);
  2. the shipped uptime recording rules themselves are backfilled over the 90 days
     with ``promtool tsdb create-blocks-from rules``, group after group in the
     order they depend on each other, and ``site:upwatch_uptime:ratio_1h|24h|7d|
     30d`` at the last evaluation before "now" must be the exact uptime of the time
     their tiles cover, within the same tolerance.

  Prometheus leaves out whole maintenance windows, the incident log only the
  outages flagged as in maintenance (it has no record of the windows); so for the
  three sites whose window is more than their outage the Prometheus figures are
  checked against the window-based hand figures, and for every other site the two
  hand figures are the same (asserted).
* The response-time quantiles of the uptime endpoint come from the real Prometheus.
"""

from __future__ import annotations

import csv
import io
import math
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import httpx
import openpyxl
import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from admin_app import create_app
from admin_app.db import create_all, get_database, session_scope
from admin_app.models import Incident, Site
from admin_app.roles import Role
from tests.admin_app.conftest import base_config, create_test_user, mint_tokens
from tests.golden_history import (
    HISTORY_START_TS,
    LATENCY_EXPECTED,
    LATENCY_SITE,
    NOW,
    NOW_TS,
    PROM_STEP,
    WINDOWS,
    Expected,
    GoldenSite,
    dt,
    expected,
    expected_prometheus,
    expected_prometheus_points,
    golden_sites,
    incident_rows,
    prometheus_tolerance,
    transitions,
    write_openmetrics_file,
)
from tests.servers import binary, prometheus_on_tsdb

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RECORDING = ROOT / "prometheus" / "rules" / "recording.yml"
BASE_RULE = "site:upwatch_site_up:unless_maintenance"
RATIO_RULES = (
    "site:upwatch_uptime:ratio_1h",
    "site:upwatch_uptime:ratio_24h",
    "site:upwatch_uptime:ratio_7d",
    "site:upwatch_uptime:ratio_30d",
)
BLOCKS_OF = "--max-block-duration=2400h"  # one pass over the input, not one per 2 h


def rules_file() -> dict:
    assert RECORDING.exists(), "prometheus/rules/recording.yml is missing"
    return yaml.safe_load(RECORDING.read_text())


def rule_expr(name: str) -> str:
    for group in rules_file()["groups"]:
        for rule in group["rules"]:
            if rule.get("record") == name:
                return rule["expr"]
    raise AssertionError(f"{name} is not in {RECORDING}")


# --------------------------------------------------------------------------- Prometheus


def _promtool(*args: str) -> None:
    proc = subprocess.run([binary("promtool"), *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


_RECORDED_NAME = re.compile(r"\b[a-z_]+:[a-z0-9_:]+")


def _recording_rules() -> dict[str, tuple[dict, dict]]:
    """record name -> (its group, the rule)."""
    return {
        r["record"]: (g, r) for g in rules_file()["groups"] for r in g["rules"] if "record" in r
    }


def expanded_expr(name: str, keep: set[str] = frozenset()) -> str:
    """A recording rule's expression with every recorded series it reads (not over
    a range) replaced by that rule's own expression, recursively: the same values
    from the raw series alone, at any step. The rules in ``keep`` stay as they are
    (the quorum threshold: the golden sites have no `quorum` label, so it has no
    series either way, and expanding it would read an hour of upwatch_site_info at
    every step of a 90-day subquery)."""
    rules = _recording_rules()

    def expand(expr: str) -> str:
        def sub(m: re.Match) -> str:
            ref = m.group(0)
            after = expr[m.end() :].lstrip()
            if ref not in rules or ref == name or ref in keep or after.startswith("["):
                return ref
            return f"({expand(rules[ref][1]['expr'])})"

        return _RECORDED_NAME.sub(sub, expr)

    return expand(rule_expr(name))


def _backfill_passes() -> list[tuple[list[dict], bool]]:
    """The uptime recording rules of the shipped file, and every rule they read, in
    the order they depend on each other: [(groups, short)]. promtool backfills each
    rule from the data already in the TSDB, so a rule goes in a later pass than
    every rule it reads, also within one group (a rule's fallback to itself does not
    count). ``short``: a pass of ratio rules only, whose values matter at "now"."""
    rules = _recording_rules()

    def reads(name: str) -> set[str]:
        expr = rules[name][1]["expr"]
        return {ref for ref in _RECORDED_NAME.findall(expr) if ref in rules and ref != name}

    wanted = {n for n in rules if n.startswith(("site:upwatch_site_up:", "site:upwatch_uptime:"))}
    todo = list(wanted)
    while todo:
        for ref in reads(todo.pop()):
            if ref not in wanted:
                wanted.add(ref)
                todo.append(ref)
    passes: list[list[str]] = []
    done: set[str] = set()
    while len(done) < len(wanted):
        ready = sorted(n for n in wanted - done if reads(n) <= done)
        assert ready, f"the uptime rules depend on each other in a circle: {wanted - done}"
        # the ratios apart: they are backfilled over the last minutes only
        ratios = [n for n in ready if n.startswith("site:upwatch_uptime:")]
        passes += [p for p in ([n for n in ready if n not in ratios], ratios) if p]
        done |= set(ready)
    out = []
    for names in passes:
        groups = []
        for g in rules_file()["groups"]:
            mine = [r for r in g["rules"] if r.get("record") in names]
            if mine:
                groups.append({**{k: v for k, v in g.items() if k != "rules"}, "rules": mine})
        out.append((groups, all(n.startswith("site:upwatch_uptime:") for n in names)))
    return out


def _prom_config() -> dict:
    return {"global": {"evaluation_interval": "15s"}, "rule_files": [str(RECORDING)]}


@pytest.fixture(scope="module")
def sites() -> list[GoldenSite]:
    return golden_sites()


@pytest.fixture(scope="module")
def tsdb(tmp_path_factory: pytest.TempPathFactory, sites: list[GoldenSite]) -> Path:
    """The golden series as TSDB blocks, with the uptime recording rules backfilled."""
    work = tmp_path_factory.mktemp("golden")
    source = work / "history.om"
    write_openmetrics_file(sites, source)
    tsdb = work / "tsdb"
    _promtool("tsdb", "create-blocks-from", "openmetrics", BLOCKS_OF, "-q", str(source), str(tsdb))
    source.unlink()
    for n, (groups, short) in enumerate(_backfill_passes()):
        rules = work / f"pass{n}.yml"
        rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
        out = work / f"pass{n}-blocks"
        # the tiles need the whole history; the ratios only their value at "now"
        start = NOW_TS - 600 if short else HISTORY_START_TS - 86400
        with prometheus_on_tsdb(work, tsdb, {"global": {}}) as url:
            _promtool(
                "tsdb",
                "create-blocks-from",
                "rules",
                f"--url={url}",
                f"--start={start}",
                f"--end={NOW_TS}",
                f"--output-dir={out}",
                f"--eval-interval={PROM_STEP}s",
                "--max-block-duration=162h",  # under 11,000 points a query at 60 s
                str(rules),
            )
        for block in out.iterdir():
            shutil.move(str(block), tsdb / block.name)
    return tsdb


@pytest.fixture(scope="module")
def prom(tsdb: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with prometheus_on_tsdb(tmp_path_factory.mktemp("prom"), tsdb, _prom_config()) as url:
        yield url


def instant(prom: str, expr: str, at: float = NOW_TS) -> dict[str, tuple[float, float]]:
    r = httpx.get(f"{prom}/api/v1/query", params={"query": expr, "time": at}, timeout=120)
    assert r.status_code == 200, r.text
    result = r.json()["data"]["result"]
    if r.json()["data"]["resultType"] == "matrix":
        return {
            row["metric"]["site"]: (float(row["values"][0][0]), float(row["values"][-1][0]))
            for row in result
        }
    return {
        row["metric"]["site"]: (float(row["value"][1]), float(row["value"][0])) for row in result
    }


# --------------------------------------------------------------------------- the app


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, sites: list[GoldenSite], prom: str):
    tmp = tmp_path_factory.mktemp("golden-app")
    application = create_app(base_config(f"sqlite:///{tmp / 'golden.db'}", tmp))
    application.config["CLOCK"] = lambda: NOW
    application.config["PROMETHEUS_URL"] = prom
    with application.app_context():
        create_all(application)
    with session_scope(application) as session:
        for golden in sites:
            site = Site(
                slug=golden.slug,
                name=golden.name,
                url=f"https://{golden.slug}.example.com/",
                created_at=dt(golden.created),
            )
            session.add(site)
            session.flush()
            session.add_all(Incident(site_id=site.id, **row) for row in incident_rows(golden))
    yield application
    get_database(application).dispose()


@dataclass
class Api:
    client: FlaskClient
    headers: dict[str, str]

    def get(self, path: str):
        response = self.client.get(path, headers=self.headers)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:500])
        return response


@pytest.fixture(scope="module")
def api(app: Flask) -> Api:
    user = create_test_user(app, Role.ADMIN, "golden")
    token = mint_tokens(app, user.id)["access_token"]
    return Api(app.test_client(), {"Authorization": f"Bearer {token}"})


def iso(unix: int, tz: timezone = UTC) -> str:
    return dt(unix).astimezone(tz).isoformat().replace("+00:00", "Z")


def check_figures(where: str, got: dict, want: Expected) -> None:
    """``got``: downtime, maintenance, monitored, longest, incidents, mttr, uptime %."""
    assert got["downtime"] == want.down, where
    assert got["maintenance"] == want.maintenance, where
    assert got["monitored"] == want.monitored, where
    assert got["incidents"] == want.incidents, where
    assert got["longest"] == want.longest, where
    if want.mttr is None:
        assert got["mttr"] is None, where
    else:
        assert got["mttr"] == pytest.approx(want.mttr, abs=1e-6), where
    if want.uptime_percent is None:
        assert got["uptime"] is None, where
    else:
        assert got["uptime"] == pytest.approx(want.uptime_percent, rel=1e-12, abs=1e-12), where
        # to the second: the uptime % times the monitored time is the up time
        assert abs(got["uptime"] / 100 * want.monitored - want.up) < 1e-3, where


# --------------------------------------------------------------------------- the API


@pytest.mark.parametrize("window", list(WINDOWS))
def test_uptime_api_matches_the_hand_count(api: Api, sites: list[GoldenSite], window: str):
    for site in sites:
        body = api.get(f"/api/v1/sites/{site.slug}/uptime?window={window}").json
        want = expected(site, NOW_TS - WINDOWS[window])
        got = {
            "downtime": body["downtime_seconds"],
            "maintenance": body["maintenance_seconds"],
            "monitored": body["monitored_seconds"],
            "incidents": body["incidents"],
            "longest": body["longest_outage_seconds"],
            "mttr": body["mttr_seconds"],
            "uptime": body["uptime_percent"],
        }
        check_figures(f"{site.slug} {window}", got, want)
        assert body["to"] == iso(NOW_TS)


def test_uptime_api_with_offsets_is_the_same_range(api: Api, sites: list[GoldenSite]) -> None:
    ist, pst = timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))
    start = NOW_TS - WINDOWS["7d"]
    query = f"from={iso(start, ist)}&to={iso(NOW_TS, pst)}".replace("+", "%2B")
    for site in sites:
        ranged = api.get(f"/api/v1/sites/{site.slug}/uptime?{query}").json
        window = api.get(f"/api/v1/sites/{site.slug}/uptime?window=7d").json
        for key in ("from", "to", "uptime_percent", "downtime_seconds", "incidents"):
            assert ranged[key] == window[key], (site.slug, key)


def test_history_api_intervals_add_up(api: Api, sites: list[GoldenSite]) -> None:
    start = NOW_TS - WINDOWS["90d"]
    for site in sites:
        body = api.get(f"/api/v1/sites/{site.slug}/history?from={iso(start)}&to={iso(NOW_TS)}").json
        want = expected(site, start)
        intervals = body["intervals"]
        assert intervals[0]["start"] == body["from"] and intervals[-1]["end"] == iso(NOW_TS)
        for a, b in pairwise(intervals):
            assert a["end"] == b["start"] and a["state"] != b["state"], site.slug
        total = {"up": 0.0, "down": 0.0, "maintenance": 0.0}
        for interval in intervals:
            total[interval["state"]] += interval["duration_seconds"]
        assert total == {"up": want.up, "down": want.down, "maintenance": want.maintenance}
        downs = [i["duration_seconds"] for i in intervals if i["state"] == "down"]
        assert downs == want.runs, site.slug


def test_the_open_incident_is_counted_to_now(api: Api) -> None:
    body = api.get("/api/v1/incidents?site=still-open&status=open").json
    (row,) = body["incidents"]
    assert row["ended_at"] is None and row["duration_seconds"] == 3 * 3600 + 17 * 60 + 5
    history = api.get("/api/v1/sites/still-open/history").json
    assert history["intervals"][-1] == {
        "state": "down",
        "start": iso(NOW_TS - row["duration_seconds"]),
        "end": iso(NOW_TS),
        "duration_seconds": row["duration_seconds"],
        "reason": "connect",
    }


def test_response_time_from_prometheus(api: Api) -> None:
    body = api.get(f"/api/v1/sites/{LATENCY_SITE}/uptime?window=24h").json
    assert body["warnings"] == []
    for name, value in LATENCY_EXPECTED.items():
        assert body["response_time_seconds"][name] == pytest.approx(value, abs=1e-9), name
    # a site with no probe durations in Prometheus: null, with a warning, not an error
    steady = api.get("/api/v1/sites/steady/uptime?window=24h").json
    assert steady["response_time_seconds"] == {"p50": None, "p95": None, "p99": None}
    assert "no probe durations" in steady["warnings"][0]
    assert steady["uptime_percent"] == 100.0


# --------------------------------------------------------------------------- the reports


def _per_site_rows(rows: list[dict], key: str, value: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row[key], []).append(row)
    return out


@pytest.mark.parametrize("window", list(WINDOWS))
def test_csv_report_matches_the_hand_count(api: Api, sites: list[GoldenSite], window: str):
    start = NOW_TS - WINDOWS[window]
    text = api.get(f"/api/v1/reports/downtime.csv?from={iso(start)}&to={iso(NOW_TS)}").text
    incident_part, _, summary_part = text.partition("\r\n\r\n")
    incidents = list(csv.DictReader(io.StringIO(incident_part)))
    summary = {row["site_id"]: row for row in csv.DictReader(io.StringIO(summary_part))}
    by_site = _per_site_rows(incidents, "site_id", "")
    assert sorted(summary) == sorted(s.slug for s in sites)
    for site in sites:
        want = expected(site, start)
        row = summary[site.slug]
        got = {
            "downtime": int(row["downtime_seconds"]),
            "maintenance": int(row["maintenance_seconds"]),
            "monitored": int(row["monitored_seconds"]),
            "incidents": int(row["incidents"]),
            "longest": int(row["longest_outage_seconds"]),
            "mttr": float(row["mttr_seconds"]) if row["mttr_seconds"] else None,
            "uptime": float(row["uptime_percent"]) if row["uptime_percent"] else None,
        }
        check_figures(f"{site.slug} {window} csv", got, want)
        rows = by_site.get(site.slug, [])
        downs = [int(r["in_range_seconds"]) for r in rows if r["maintenance"] == "false"]
        maint = [int(r["in_range_seconds"]) for r in rows if r["maintenance"] == "true"]
        assert downs == want.runs and sum(maint) == want.maintenance, site.slug


@pytest.mark.parametrize("window", list(WINDOWS))
def test_excel_report_matches_the_hand_count(
    api: Api, sites: list[GoldenSite], window: str, tmp_path: Path
):
    start = NOW_TS - WINDOWS[window]
    data = api.get(f"/api/v1/reports/downtime.xlsx?from={iso(start)}&to={iso(NOW_TS)}").data
    path = tmp_path / "report.xlsx"
    path.write_bytes(data)
    wb = openpyxl.load_workbook(path, read_only=True)
    header, *rows = list(wb["Summary"].iter_rows(values_only=True))
    col = {name: i for i, name in enumerate(header)}
    summary = {row[col["Site ID"]]: row for row in rows}
    header, *incident_rows_ = list(wb["Incidents"].iter_rows(values_only=True))
    icol = {name: i for i, name in enumerate(header)}
    for site in sites:
        want = expected(site, start)
        row = summary[site.slug]
        got = {
            "downtime": row[col["Downtime (s)"]],
            "maintenance": row[col["Maintenance (s)"]],
            "monitored": row[col["Monitored (s)"]],
            "incidents": row[col["Incidents"]],
            "longest": row[col["Longest outage (s)"]],
            "mttr": row[col["MTTR (s)"]],
            "uptime": row[col["Uptime (%)"]],
        }
        check_figures(f"{site.slug} {window} xlsx", got, want)
        assert row[col["From (UTC)"]] == max(dt(start), dt(site.created)).replace(tzinfo=None)
        assert row[col["Downtime"]] == timedelta(seconds=want.down)
        downs = [
            r[icol["In range (s)"]]
            for r in incident_rows_
            if r[icol["Site ID"]] == site.slug and r[icol["Maintenance"]] is False
        ]
        assert downs == want.runs, site.slug
    wb.close()


# --------------------------------------------------------------------------- Prometheus


def test_the_two_stores_agree_except_on_maintenance_windows(sites: list[GoldenSite]) -> None:
    differ = {"maintenance-long", "maint-overlap", "maint-no-outage"}
    for site in sites:
        for window in WINDOWS.values():
            same = expected(site, NOW_TS - window) == expected_prometheus(site, NOW_TS - window)
            assert same or site.slug in differ, (site.slug, window)
    assert expected(
        next(s for s in sites if s.slug == "maintenance-long"), NOW_TS - 86400 * 30
    ) != (
        expected_prometheus(
            next(s for s in sites if s.slug == "maintenance-long"), NOW_TS - 86400 * 30
        )
    )


@pytest.mark.parametrize("window", list(WINDOWS))
def test_the_base_rule_over_each_window(prom: str, sites: list[GoldenSite], window: str):
    seconds = WINDOWS[window]
    base = expanded_expr(BASE_RULE, keep={"site:upwatch_site_quorum:threshold"})
    sub = f"({base})[{seconds}s:{PROM_STEP}s]"
    got = instant(prom, f"avg_over_time({sub})")  # sum / count, one evaluation
    assert sorted(got) == sorted(s.slug for s in sites)
    for site in sites:
        value = got[site.slug][0]
        # to the sample: what the golden series hold at each 60 s step
        assert value == pytest.approx(expected_prometheus_points(site, seconds), abs=1e-12)
        # to the step: the exact uptime (Prometheus' view of maintenance)
        exact = expected_prometheus(site, NOW_TS - seconds)
        assert exact.uptime_percent is not None
        tolerance = prometheus_tolerance(site, seconds)
        assert abs(value - exact.uptime_percent / 100) <= tolerance, (site.slug, window)


def _coverage(prom: str, rule: str, at: float, site: str) -> tuple[float, float]:
    """The time the value of a ratio rule at ``at`` covers: from its window of the
    15 s samples (ratio_1h) or of the tiles it sums (the others)."""
    expr = rule_expr(rule)
    match = re.search(r"_over_time\((site:[a-z0-9_:]+)\[(\d+)([mhd])\]\)", expr)
    assert match, f"cannot tell what {rule} reads: {expr}"
    series, amount, unit = match.group(1), int(match.group(2)), match.group(3)
    window = amount * {"m": 60, "h": 3600, "d": 86400}[unit]
    if series == BASE_RULE:
        return at - window, at
    tile = re.search(r"(\d+)([mh])$", series)
    assert tile, series
    tile_seconds = int(tile.group(1)) * {"m": 60, "h": 3600}[tile.group(2)]
    first, last = instant(prom, f'{series}{{site="{site}"}}[{window}s]', at)[site]
    return first - tile_seconds, last


def test_the_shipped_uptime_rules_backfilled(prom: str, sites: list[GoldenSite]) -> None:
    for rule in RATIO_RULES:
        values = instant(prom, f"last_over_time({rule}[5m])")
        assert sorted(values) == sorted(s.slug for s in sites), rule
        for site in sites:
            value = values[site.slug][0]
            # when the rule was last evaluated: its last sample's own timestamp
            _, at = instant(prom, f'{rule}{{site="{site.slug}"}}[10m]')[site.slug]
            start, end = _coverage(prom, rule, at, site.slug)
            exact = expected_prometheus(site, math.ceil(start), math.floor(end))
            assert exact.uptime_percent is not None
            tolerance = (transitions(site, math.ceil(start), math.floor(end)) + 2) * PROM_STEP
            tolerance /= exact.monitored
            assert abs(value - exact.uptime_percent / 100) <= tolerance, (
                rule,
                site.slug,
                value,
                exact.uptime_percent,
                (start, end),
            )
            # behind "now" by at most one tile (the rules' own promise)
            assert NOW_TS - end <= 3600 + 60, (rule, site.slug, NOW_TS - end)
