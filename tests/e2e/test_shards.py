"""Sharding end to end (issue 7): three exporters take ``--shard 1/3 .. 3/3`` of the
one site list the admin app writes, Prometheus scrapes all three, and

* every site is probed by exactly one exporter, once per interval;
* stopping one shard raises ``UpwatchExporterDown`` for that exporter and pages
  nobody about its sites: the ones that were up stay quiet, the one that was down
  stays down (no false "up", no second "down"), while the other shards keep
  paging as usual;
* the operations contact (the operations contact group of the settings page) is
  told about the exporter instead: one email and one SMS when it is down, one of
  each when it is back.

The stack is ``tests/e2e/stack.py`` with 1 s intervals (and ``for: 5s`` on
``UpwatchExporterDown``: the shipped minute is four failed scrapes at 15 s).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.shard import shard_of
from tests.e2e.smtp_catcher import Mail
from tests.e2e.stack import Contact, ExporterSpec, Stack, sms_kind, wait_until

pytestmark = pytest.mark.integration

SHARDS = 3
WAIT = 30.0
# Four sites per shard (slugs chosen by their SHA-256 shard below).
PER_SHARD = 4


def slugs_per_shard() -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in range(1, SHARDS + 1)}
    n = 0
    while any(len(v) < PER_SHARD for v in found.values()):
        slug = f"sh{n}"
        shard = shard_of(slug, SHARDS)
        if len(found[shard]) < PER_SHARD:
            found[shard].append(slug)
        n += 1
    return found


SHARD_SITES = slugs_per_shard()


def contact(slug: str) -> Contact:
    return Contact(f"Owner of {slug}", email=f"{slug}@example.com", phone=None)


# Who operates Upwatch: the one member of the operations contact group.
OPS = Contact("Ops on call", email="ops@example.com", phone="+14155552690")


def configure_operations(stack: Stack) -> None:
    """The group "Operations" with :data:`OPS`, set as the operations group on the
    settings API; waits for Alertmanager to route the exporter alerts to it."""
    created = stack.api("POST", "/api/v1/contacts", json=OPS.api_json(), expect=201)
    group = stack.api(
        "POST",
        "/api/v1/contact-groups",
        json={"name": "Operations", "members": [created["id"]]},
        expect=201,
    )
    state = stack.api("PATCH", "/api/v1/settings", json={"operations_group": group["id"]})
    assert state["operations"]["warning"] is None, state["operations"]
    wait_until(
        stack.alertmanager_config,
        lambda config: "upwatch-operations" in config and OPS.email in config,
        WAIT,
        what="Alertmanager to route the exporter alerts to the operations contact",
        context=stack.log_tails,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    specs = [ExporterSpec(shard=f"{i}/{SHARDS}") for i in range(1, SHARDS + 1)]
    with Stack(tmp_path_factory.mktemp("e2e-shards"), exporter_specs=specs) as stack:
        for slugs in SHARD_SITES.values():
            for slug in slugs:
                stack.add_site(slug, [contact(slug)], name=f"Site {slug}")
        stack.wait_monitored(*stack.sites.values())
        configure_operations(stack)
        yield stack


def mails(stack: Stack, slug: str, prefix: str = "") -> list[Mail]:
    return [
        m for m in stack.smtp.messages(to=f"{slug}@example.com") if m.subject.startswith(prefix)
    ]


def ops_mails(stack: Stack, prefix: str = "") -> list[Mail]:
    return [m for m in stack.smtp.messages(to=OPS.email) if m.subject.startswith(prefix)]


def ops_sms(stack: Stack, kind: str) -> list[str]:
    return [s.body for s in stack.twilio.messages(to=OPS.phone) if sms_kind(s.body) == kind]


def exporter_sites(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "upwatch_exporter_sites":
                return sample.value
    raise AssertionError(f"{url} has no upwatch_exporter_sites")


def test_every_site_is_probed_by_exactly_one_exporter_once_per_interval(stack: Stack) -> None:
    # Each exporter holds its shard and nothing else, and together they hold all.
    for i, url in enumerate(stack.exporter_urls, start=1):
        assert exporter_sites(url) == len(SHARD_SITES[i]), f"shard {i}"

    # Prometheus: one series per site, from the exporter of its shard.
    series = stack.query("upwatch_site_up")
    by_site: dict[str, list[str]] = {}
    for s in series:
        by_site.setdefault(s["metric"]["site"], []).append(s["metric"]["instance"])
    assert set(by_site) == set(stack.sites)
    for slug, instances in by_site.items():
        port = stack.exporter_ports[shard_of(slug, SHARDS) - 1]
        assert instances == [f"127.0.0.1:{port}"], slug

    # At the target: over ten intervals each site is probed about ten times, never
    # twice in one interval (a site in two shards would be probed about twice as
    # often, at unrelated moments).
    window = 10.0
    start = time.time()
    time.sleep(window)
    end = time.time()
    for slug, site in stack.sites.items():
        times = [t for t in stack.probes(site) if start <= t < end]
        expected = window / site.interval_seconds
        assert expected - 2 <= len(times) <= expected + 1, (slug, len(times))

    # The exporters' own counters agree: the probes of a site are counted by one
    # exporter only.
    counted = stack.query("count by (site) (upwatch_probes_total > 0)")
    assert {s["metric"]["site"]: s["value"][1] for s in counted} == {
        slug: "1" for slug in stack.sites
    }


def test_removing_a_shard_raises_exporter_down_and_pages_nobody_per_site(stack: Stack) -> None:
    gone = 2
    gone_sites = [stack.sites[slug] for slug in SHARD_SITES[gone]]
    was_down = gone_sites[0]  # down before its exporter goes away
    other = stack.sites[SHARD_SITES[1][0]]  # a site of a shard that stays
    exporter = stack.exporters[gone - 1]
    instance = f"127.0.0.1:{stack.exporter_ports[gone - 1]}"

    stack.down(was_down)
    stack.smtp.wait_for(
        lambda m: f"{was_down.slug}@example.com" in m.rcpt_tos and m.subject.startswith("[DOWN]"),
        timeout=WAIT,
    )

    exporter.stop()
    try:
        # One alert about the exporter, after its `for` ...
        def exporter_down() -> list[dict]:
            return [
                a
                for a in stack.query('ALERTS{alertname="UpwatchExporterDown",alertstate="firing"}')
                if a["metric"].get("instance") == instance
            ]

        wait_until(
            exporter_down, bool, 120, what="UpwatchExporterDown to fire", context=stack.log_tails
        )
        wait_until(
            lambda: stack.metric(
                "admin",
                "upwatch_admin_alerts_total",
                alertname="UpwatchExporterDown",
                status="firing",
            ),
            lambda n: n >= 1,
            WAIT,
            what="the admin app to receive UpwatchExporterDown",
        )
        # The operations contact is told: by email (Alertmanager) and SMS (the hook).
        down_subject = f"[DOWN] Upwatch exporter {instance} is down: its sites are not monitored"
        stack.smtp.wait_for(
            lambda m: OPS.email in m.rcpt_tos and m.subject == down_subject, timeout=WAIT
        )
        stack.twilio.wait_for(
            lambda s: (
                s.to == OPS.phone
                and s.body == f"Upwatch exporter {instance} is down: its sites are not monitored"
            ),
            timeout=WAIT,
        )
        # ... and none per site: SiteDown only for the site that was already down,
        # held (still firing in Alertmanager, no resolved message).
        firing = stack.query('ALERTS{alertname="SiteDown",alertstate="firing"}')
        assert {a["metric"]["site"] for a in firing} == {was_down.slug}
        held = httpx.get(
            f"{stack.alertmanager_url}/api/v2/alerts",
            params={"filter": f'site="{was_down.slug}"'},  # muted ones too
            timeout=10,
        ).json()
        assert [a["labels"]["alertname"] for a in held] == ["SiteDown"], held

        # The other shards still page: a site of shard 1 going down now is told.
        stack.down(other)
        stack.smtp.wait_for(
            lambda m: f"{other.slug}@example.com" in m.rcpt_tos and m.subject.startswith("[DOWN]"),
            timeout=WAIT,
        )
        stack.up(other)
        stack.smtp.wait_for(
            lambda m: f"{other.slug}@example.com" in m.rcpt_tos and m.subject.startswith("[UP]"),
            timeout=WAIT,
        )
    finally:
        exporter.start()

    # Back: the exporter confirms the outage again, which changes nothing for people.
    wait_until(
        lambda: stack.query(f'upwatch_site_up{{site="{was_down.slug}"}} == 0'),
        bool,
        WAIT,
        what="the restarted shard to confirm the outage",
        context=stack.log_tails,
    )
    # ... and the operations contact hears that the exporter is back.
    stack.smtp.wait_for(
        lambda m: (
            OPS.email in m.rcpt_tos and m.subject == f"[UP] Upwatch exporter {instance} is back"
        ),
        timeout=WAIT,
    )
    stack.twilio.wait_for(
        lambda s: s.to == OPS.phone and s.body == f"Upwatch exporter {instance} is back",
        timeout=WAIT,
    )
    stack.up(was_down)
    stack.smtp.wait_for(
        lambda m: f"{was_down.slug}@example.com" in m.rcpt_tos and m.subject.startswith("[UP]"),
        timeout=WAIT,
    )
    time.sleep(4)  # room for duplicates
    assert len(mails(stack, was_down.slug, "[DOWN]")) == 1
    assert len(mails(stack, was_down.slug, "[UP]")) == 1
    for site in gone_sites[1:]:
        assert mails(stack, site.slug) == [], f"{site.slug} was paged while its shard was away"
    assert len(mails(stack, other.slug, "[DOWN]")) == len(mails(stack, other.slug, "[UP]")) == 1
    # The exporter's alert reached the operations contact, once each way, and no
    # site's people; the operations contact got nothing about any site.
    assert [m.subject for m in ops_mails(stack)] == [
        f"[DOWN] Upwatch exporter {instance} is down: its sites are not monitored",
        f"[UP] Upwatch exporter {instance} is back",
    ]
    assert len(ops_sms(stack, "down")) == len(ops_sms(stack, "up")) == 1
    assert len(stack.twilio.messages(to=OPS.phone)) == 2
    everyone = {f"{slug}@example.com" for slug in stack.sites} | {OPS.email}
    assert all(set(m.rcpt_tos) <= everyone for m in stack.smtp.messages())
    incidents = stack.incidents(was_down)
    assert len(incidents) == 1 and incidents[0]["ended_at"] is not None
