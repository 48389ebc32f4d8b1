"""Multi-location probing end to end (issue 7): two exporters on the same site list,
``--location eu`` and ``--location us``; the site answers each location on its own
(the target reads the location from the probe's User-Agent).

With the default quorum (majority: with two locations, both) one location alone
seeing the site down pages nobody, while Prometheus shows that location's verdict;
both seeing it down pages its people once, by email and SMS, and says which
locations see it; one location recovering brings the "up". A site labelled
``quorum: any`` pages at the first location that sees it down.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.stack import Contact, ExporterSpec, Stack, sms_kind, wait_until

pytestmark = pytest.mark.integration

WAIT = 30.0
QUIET = 8.0  # seconds in which a page would have arrived: several evaluations

ANN = Contact("Ann Both", email="ann@regions.example.com", phone="+14155550201")
BEA = Contact("Bea Any", email="bea@regions.example.com", phone="+14155550202")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    specs = [ExporterSpec(location="eu"), ExporterSpec(location="us")]
    with Stack(tmp_path_factory.mktemp("e2e-locations"), exporter_specs=specs) as stack:
        stack.add_site("regional", [ANN], name="Regional shop")
        stack.add_site("anyloc", [BEA], name="Any-location shop")
        stack.api("PATCH", "/api/v1/sites/anyloc", json={"labels": {"quorum": "any"}})
        stack.wait_monitored(*stack.sites.values())
        wait_until(
            lambda: stack.query('upwatch_site_info{site="anyloc",quorum="any"}'),
            lambda found: len(found) == 2,
            WAIT,
            what="both locations to report anyloc's quorum label",
            context=stack.log_tails,
        )
        yield stack


def verdicts(stack: Stack, slug: str) -> dict[str, str]:
    """location -> the exporter's verdict (``"1"`` up, ``"0"`` down)."""
    found = stack.query(f'upwatch_site_up{{site="{slug}"}}')
    return {s["metric"]["location"]: s["value"][1] for s in found}


def pages(stack: Stack, contact: Contact) -> tuple[list, list]:
    assert contact.email and contact.phone
    return stack.smtp.messages(to=contact.email), stack.twilio.messages(to=contact.phone)


def test_each_location_reports_the_site(stack: Stack) -> None:
    assert verdicts(stack, "regional") == {"eu": "1", "us": "1"}
    info = stack.query('upwatch_exporter_info{job="upwatch-exporter"}')
    assert sorted(s["metric"]["location"] for s in info) == ["eu", "us"]
    # each location probes the site itself, and says so in its User-Agent
    agents = {r.headers.get("user-agent", "") for r in stack.target.requests("/switch/regional")}
    assert any("location=eu" in a for a in agents) and any("location=us" in a for a in agents)


def test_one_location_alone_pages_nobody_both_page_once(stack: Stack) -> None:
    site = stack.sites["regional"]

    stack.down(site, location="eu")
    wait_until(
        lambda: verdicts(stack, "regional"),
        lambda v: v == {"eu": "0", "us": "1"},
        WAIT,
        what="eu to confirm the outage and us to see the site up",
        context=stack.log_tails,
    )
    time.sleep(QUIET)
    assert stack.query('ALERTS{alertname="SiteDown",site="regional"}') == []
    assert pages(stack, ANN) == ([], [])
    assert stack.incidents(site) == []

    stack.down(site, location="us")
    mail = stack.smtp.wait_for(
        lambda m: ANN.email in m.rcpt_tos and m.subject.startswith("[DOWN]"), timeout=WAIT
    )[0]
    stack.twilio.wait_for(lambda s: s.to == ANN.phone and sms_kind(s.body) == "down", timeout=WAIT)
    assert "Regional shop is down" in mail.subject
    (alert,) = stack.query('ALERTS{alertname="SiteDown",site="regional",alertstate="firing"}')
    assert "location" not in alert["metric"] and "instance" not in alert["metric"]
    held = stack.alertmanager_alerts(site)
    assert [a["annotations"]["locations"] for a in held] == ["eu, us"]

    # one location back is enough to end the outage for a majority of two
    stack.up(site, location="eu")
    stack.smtp.wait_for(
        lambda m: ANN.email in m.rcpt_tos and m.subject.startswith("[UP]"), timeout=WAIT
    )
    stack.twilio.wait_for(lambda s: s.to == ANN.phone and sms_kind(s.body) == "up", timeout=WAIT)
    stack.up(site, location="us")
    stack.wait_incidents(site, lambda found: len(found) == 1 and found[0]["ended_at"] is not None)
    time.sleep(QUIET)
    mails, texts = pages(stack, ANN)
    assert sorted(m.subject.split("]")[0] for m in mails) == ["[DOWN", "[UP"]
    assert sorted(sms_kind(t.body) for t in texts) == ["down", "up"]


def test_a_site_with_quorum_any_pages_at_the_first_location(stack: Stack) -> None:
    site = stack.sites["anyloc"]
    stack.down(site, location="us")
    stack.smtp.wait_for(
        lambda m: BEA.email in m.rcpt_tos and m.subject.startswith("[DOWN]"), timeout=WAIT
    )
    held = stack.alertmanager_alerts(site)
    assert [a["annotations"]["locations"] for a in held] == ["us"]
    assert verdicts(stack, "anyloc") == {"eu": "1", "us": "0"}
    stack.up(site, location="us")
    stack.smtp.wait_for(
        lambda m: BEA.email in m.rcpt_tos and m.subject.startswith("[UP]"), timeout=WAIT
    )
    time.sleep(QUIET / 2)
    mails, texts = pages(stack, BEA)
    assert len(mails) == 2 and sorted(sms_kind(t.body) for t in texts) == ["down", "up"]
