"""Live states from a real Prometheus scraping a real exporter that probes the
misbehaving test site: what :func:`fetch_live` reads, the dashboard's rows, and the
event stream's change when a site goes down."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from admin_app.models import Site
from admin_app.roles import Role
from admin_app.status.live import fetch_live
from tests import servers
from tests.admin_app.conftest import AuthActions
from tests.admin_app.test_status_pages import cell, row_html
from tests.badsite import BadSite

SITES = ("good", "bad", "maint")


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BadSite, str]]:
    """An exporter probing good/bad/maint every second, scraped every second."""
    tmp = tmp_path_factory.mktemp("status-live")
    with BadSite() as target:
        target.set_switch("bad", up=False)
        sites = {
            "defaults": {"interval": "1s", "timeout": "1s", "confirmations": 1},
            "sites": [
                {"id": s, "name": s.title(), "url": target.url(f"/switch/{s}")} for s in SITES
            ],
        }
        sites["sites"][2]["maintenance"] = True
        with servers.exporter(tmp, sites) as exporter_url:
            config = {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "upwatch-exporter",
                        "static_configs": [{"targets": [exporter_url.removeprefix("http://")]}],
                    }
                ],
            }
            with servers.prometheus(tmp, config) as prom_url:
                # Two scrapes of every site with a probe between them: rate() has data.
                servers.wait_query(
                    prom_url,
                    "rate(upwatch_probe_duration_seconds_count[1m]) > 0",
                    lambda r: len(r) == len(SITES),
                    timeout=60,
                )
                yield target, prom_url


def wait_for(get, predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if predicate(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s; last value: {value!r}")
        time.sleep(0.2)


def test_fetch_live_reads_state_response_time_since_and_reason(live_stack) -> None:
    _, prom_url = live_stack
    snap = wait_for(
        lambda: fetch_live(prom_url),
        lambda s: s.ok and all(s.sites.get(x) and s.sites[x].response_seconds for x in SITES),
    )
    good, bad, maint = (snap.sites[s] for s in SITES)
    assert good.up == 1 and good.reason == "" and not good.maintenance
    assert bad.up == 0 and bad.reason == "status"
    assert maint.maintenance and maint.up == 1
    assert 0 < good.response_seconds < 1
    assert good.since and bad.since and abs(bad.since - time.time()) < 300


def test_fetch_live_when_prometheus_is_down(refused_port: int) -> None:
    snap = fetch_live(f"http://127.0.0.1:{refused_port}")
    assert not snap.ok and snap.sites == {}
    assert "unreachable" in snap.error and str(refused_port) in snap.error


def test_fetch_live_when_prometheus_says_no(live_stack) -> None:
    _, prom_url = live_stack
    snap = fetch_live(prom_url + "/no-such-prefix")
    assert not snap.ok and "404" in snap.error


@pytest.fixture
def live_app(app: Flask, db: Session, live_stack) -> Flask:
    _, prom_url = live_stack
    app.config.update(
        PROMETHEUS_URL=prom_url,
        STATUS_CACHE_SECONDS=0.2,
        STATUS_STREAM_POLL=0.1,
        STATUS_STREAM_SECONDS=30,
        STATUS_STREAM_RESPONSE_SECONDS=300,
    )
    for slug in SITES:
        db.add(Site(slug=slug, name=slug.title(), url=f"https://{slug}.example.com/"))
    db.add(Site(slug="off", name="Off", url="https://off.example.com/", paused=True))
    db.commit()
    return app


def test_dashboard_shows_live_states(live_app: Flask, auth: AuthActions, client) -> None:
    auth.login_as(Role.CUSTOMER_ENGAGEMENT)

    def page() -> str:
        return client.get("/status").get_data(as_text=True)

    text = wait_for(page, lambda p: "ms" in cell(row_html(p, "good"), "response"))
    assert cell(row_html(text, "good"), "state") == "up"
    bad = row_html(text, "bad")
    assert cell(bad, "state") == "down" and cell(bad, "reason") == "status"
    assert cell(row_html(text, "maint"), "state") == "maintenance"
    assert cell(row_html(text, "off"), "state") == "paused"
    assert 'id="prom-banner" class="banner banner-bad" role="alert" hidden' in text


def test_event_stream_tells_when_a_site_goes_down(
    live_app: Flask, auth: AuthActions, client, live_stack
) -> None:
    target, _ = live_stack
    auth.login_as(Role.ADMIN)
    response = client.get("/status/events", buffered=False)
    chunks = iter(response.response)
    try:

        def next_event() -> tuple[str, dict]:
            for chunk in chunks:
                text = chunk.decode()
                if text.startswith("event: "):
                    head, data = text.strip().split("\n", 1)
                    return head[7:], json.loads(data[6:])
            raise AssertionError("the stream ended")

        kind, data = next_event()
        assert kind == "snapshot"
        seen = dict(data["sites"])
        while seen["good"]["state"] != "up":  # until Prometheus has a verdict
            seen.update(next_event()[1]["sites"])
        target.set_switch("good", up=False)
        while True:
            kind, change = next_event()
            if kind == "change" and change["sites"].get("good", {}).get("state") == "down":
                break
        assert change["sites"]["good"]["reason"] == "status"
        assert change["counts"]["down"] == 2
        assert "bad" not in change["sites"]  # only what changed (not response times)
    finally:
        response.close()
        target.set_switch("good", up=True)
