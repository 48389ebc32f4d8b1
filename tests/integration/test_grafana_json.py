"""The committed Grafana dashboards and provisioning, checked without Grafana: the
JSON is what the generator (``python -m grafana.build``) produces, panel ids are
unique, every data source reference is the provisioned Prometheus, every variable a
query uses exists, panels do not overlap, and links point at dashboards that exist.
(``test_grafana_dashboards.py`` runs every query against a real Prometheus.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from grafana import build

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
# Grafana's own variables that a query may use.
BUILTIN_VARIABLES = {"__range", "__range_s", "__range_ms", "__rate_interval", "__interval"}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def panels(dash: dict[str, Any]) -> Iterator[dict[str, Any]]:
    def walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from walk(panel.get("panels") or [])

    yield from walk(dash.get("panels") or [])


def provisioned_datasource() -> dict[str, Any]:
    data = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (ds,) = data["datasources"]
    return ds


dashboards = pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)


def test_committed_json_is_what_the_generator_writes() -> None:
    assert build.stale() == [], "run: python -m grafana.build"
    assert {p.name for p in DASHBOARD_FILES} == set(build.DASHBOARDS)
    assert len(DASHBOARD_FILES) == 4


@dashboards
def test_panel_ids_and_titles_are_unique(path: Path) -> None:
    dash = load(path)
    ids = [p["id"] for p in panels(dash)]
    assert all(isinstance(i, int) and i > 0 for i in ids)
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {path.name}"
    titles = [p["title"] for p in panels(dash) if p["type"] != "row"]
    assert len(titles) == len(set(titles)), f"duplicate panel titles in {path.name}"
    for p in panels(dash):
        refs = [t["refId"] for t in p.get("targets") or []]
        assert len(refs) == len(set(refs)) and all(refs), (path.name, p["title"])


def test_dashboard_uids_are_unique() -> None:
    uids = [load(p)["uid"] for p in DASHBOARD_FILES]
    assert len(uids) == len(set(uids))
    assert all(re.fullmatch(r"[a-z0-9-]{1,40}", u) for u in uids)


@dashboards
def test_every_datasource_ref_is_the_provisioned_prometheus(path: Path) -> None:
    ds = provisioned_datasource()
    assert ds["uid"] == "prometheus" and ds["type"] == "prometheus"
    want = {"type": ds["type"], "uid": ds["uid"]}
    dash = load(path)
    queries = 0
    for p in panels(dash):
        if p["type"] == "row":
            assert not p.get("targets")
            continue
        assert p.get("datasource") == want, (path.name, p["title"])
        assert p.get("targets"), f"{path.name}: panel {p['title']!r} has no query"
        for t in p["targets"]:
            assert t.get("datasource") == want, (path.name, p["title"], t["refId"])
            assert t["expr"].strip()
            queries += 1
    for var in dash.get("templating", {}).get("list", []):
        if var["type"] == "query":
            assert var.get("datasource") == want, (path.name, var["name"])
    # nothing else in the file names a data source
    text = json.dumps(dash)
    for uid in re.findall(r'"uid": "([^"]+)"', text):
        assert uid in {ds["uid"], dash["uid"], "-- Grafana --"}, uid
    assert queries > 0


@dashboards
def test_every_variable_used_is_defined(path: Path) -> None:
    dash = load(path)
    defined = {v["name"] for v in dash.get("templating", {}).get("list", [])}
    texts = [t["expr"] for p in panels(dash) for t in p.get("targets") or []]
    texts += [p["title"] for p in panels(dash)]
    # ($1 and the like in a query are label_replace() group references)
    used = {m for text in texts for m in re.findall(r"\$\{?([A-Za-z_]\w*)", text)}
    assert used <= defined | BUILTIN_VARIABLES, used - defined - BUILTIN_VARIABLES
    # and every defined variable is used somewhere
    assert defined <= used, defined - used


@dashboards
def test_panels_fit_the_grid_and_do_not_overlap(path: Path) -> None:
    cells: dict[tuple[int, int], str] = {}
    for p in load(path)["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, (path.name, p["title"])
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = p["title"]


def test_links_point_at_dashboards_that_exist() -> None:
    uids = {load(p)["uid"] for p in DASHBOARD_FILES}
    for path in DASHBOARD_FILES:
        text = path.read_text()
        for uid in re.findall(r"/d/([\w-]+)", text):
            assert uid in uids, f"{path.name} links to unknown dashboard {uid}"
    assert "/d/upwatch-site/" in (GRAFANA / "dashboards/overview.json").read_text()


def test_variables() -> None:
    site = load(GRAFANA / "dashboards/site-detail.json")
    variables = {v["name"]: v for v in site["templating"]["list"]}
    assert variables["site"]["query"] == "label_values(upwatch_site_info, site)"
    # $location: All by default, and All matches series without a location label
    # (exporters run without --location), so that single-location panels show data.
    location = variables["location"]
    assert location["query"] == "label_values(upwatch_exporter_info, location)"
    assert location["multi"] and location["includeAll"] and location["allValue"] == ".*"
    assert location["current"]["value"] == ["$__all"]
    slo = variables["slo"]
    assert slo["type"] == "custom" and slo["current"]["value"] == "99.9"
    assert "99.9" in [o["value"] for o in slo["options"]]
    assert all(float(o["value"]) < 100 for o in slo["options"])


def test_dashboards_provider_is_a_file_provider() -> None:
    data = yaml.safe_load((GRAFANA / "provisioning/dashboards/upwatch.yml").read_text())
    (provider,) = data["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")  # the container path, see compose
