"""The alert path end to end (issue 4): a site going down reaches its people by email
and SMS through the real exporter, Prometheus, Alertmanager and admin app, and so
does its recovery; the incident log keeps the outage.

One stack (``tests/e2e/stack.py``, 1 s intervals, 2 confirmations) serves every
scenario; each scenario has its own site and its own people, so that what one sends
never counts for another. The scenarios that stop a part of the stack come last.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.e2e.smtp_catcher import Mail
from tests.e2e.stack import Contact, Site, Stack, sms_kind, stated_seconds, wait_until

pytestmark = pytest.mark.integration

WAIT = 30.0  # seconds any one message may take with the stack's 1 s intervals

ANN = Contact("Ann Email", email="ann@shop.example.com")
BOB = Contact("Bob Both", email="bob@shop.example.com", phone="+14155552671")
CAROL = Contact("Carol Other", email="carol@blog.example.com", phone="+14155552672")
DAN = Contact("Dan Maintenance", email="dan@docs.example.com", phone="+14155552673")
ERIN = Contact("Erin Flaky", email="erin@flaky.example.com", phone="+14155552674")
HAL = Contact("Hal Sms Retry", email="hal@sms.example.com", phone="+14155552675")
FINN = Contact("Finn Restart", email="finn@am.example.com", phone="+14155552676")
GUS = Contact("Gus Hook", email="gus@hook.example.com", phone="+14155552677")
EVERYONE = (ANN, BOB, CAROL, DAN, ERIN, HAL, FINN, GUS)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("e2e-alert-path")) as stack:
        stack.add_site("shop", [ANN, BOB], name="Web shop")
        stack.add_site("blog", [CAROL], name="Blog")
        stack.add_site("docs", [DAN], name="Docs", maintenance=True)
        stack.add_site("flaky", [ERIN], name="Flaky")
        stack.add_site("smsretry", [HAL], name="SMS retry")
        stack.add_site("amrestart", [FINN], name="AM restart")
        stack.add_site("hookdown", [GUS], name="Hook down")
        stack.wait_monitored(*stack.sites.values())
        yield stack


# --------------------------------------------------------------------------- helpers


def is_down(mail: Mail) -> bool:
    return mail.subject.startswith("[DOWN]")


def is_up(mail: Mail) -> bool:
    return mail.subject.startswith("[UP]")


def mails(stack: Stack, contact: Contact, kind=None) -> list[Mail]:
    assert contact.email
    found = stack.smtp.messages(to=contact.email)
    return [m for m in found if kind is None or kind(m)]


def wait_mail(stack: Stack, contact: Contact, kind, timeout: float = WAIT) -> Mail:
    assert contact.email
    address = contact.email.lower()
    return stack.smtp.wait_for(lambda m: address in m.rcpt_tos and kind(m), timeout=timeout)[0]


def sms(stack: Stack, contact: Contact, word: str | None = None) -> list:
    assert contact.phone
    found = stack.twilio.messages(to=contact.phone)
    return [s for s in found if word is None or sms_kind(s.body) == word]


def wait_sms(stack: Stack, contact: Contact, word: str, timeout: float = WAIT):
    phone = contact.phone
    return stack.twilio.wait_for(
        lambda s: s.to == phone and sms_kind(s.body) == word, timeout=timeout
    )[0]


def settle(seconds: float = 4.0) -> None:
    """Give duplicates a chance to arrive: a few group intervals and evaluations."""
    time.sleep(seconds)


def parse_time(value: str) -> float:
    """An ISO 8601 time of the history API (``2024-05-01T12:00:00.123Z``) as unix time."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def started(incident: dict) -> float:
    return parse_time(incident["started_at"])


def ended(incident: dict) -> float | None:
    value = incident["ended_at"]
    return None if value is None else parse_time(value)


def closed(incidents: list[dict]) -> bool:
    return len(incidents) >= 1 and all(ended(i) is not None for i in incidents)


def assert_nothing_sent_to(stack: Stack, *contacts: Contact) -> None:
    for contact in contacts:
        if contact.email:
            assert mails(stack, contact) == [], f"{contact.name} was mailed"
        if contact.phone:
            got = [r for r in stack.twilio.requests() if r.to == contact.phone]
            assert got == [], f"{contact.name} was sent an SMS: {got}"


# --------------------------------------------------------------------------- scenarios


def test_down_and_up_reach_the_sites_people_and_no_one_else(stack: Stack, record_property) -> None:
    shop = stack.sites["shop"]
    t_down = stack.down(shop)

    down_ann = wait_mail(stack, ANN, is_down)
    down_bob = wait_mail(stack, BOB, is_down)
    down_sms = wait_sms(stack, BOB, "down")
    for mail in (down_ann, down_bob):
        assert "Web shop is down" in mail.subject
        assert shop.url in mail.text
    assert "Web shop" in down_sms.body
    assert down_sms.from_ == stack.twilio.from_number

    t_up = stack.up(shop)
    up_ann = wait_mail(stack, ANN, is_up)
    up_bob = wait_mail(stack, BOB, is_up)
    up_sms = wait_sms(stack, BOB, "up")
    for mail in (up_ann, up_bob):
        assert "Web shop is back up" in mail.subject
    # each says how long the site was down: from the probe that saw it down to the
    # one that saw it up, give or take the few seconds the path takes to notice
    seen_down, seen_up = stack.first_probe_after(shop, t_down), stack.first_probe_after(shop, t_up)
    assert seen_down is not None and seen_up is not None
    outage = seen_up - seen_down
    stated = {
        "email subject": stated_seconds(up_ann.subject, "back up after"),
        "email body": stated_seconds(up_bob.text, "Down for:"),
        "sms": stated_seconds(up_sms.body, "back after"),
    }
    for where, seconds in stated.items():
        assert abs(seconds - outage) <= 3 * shop.interval_seconds + 0.5, (where, seconds, outage)

    # the figure: from the switch to the first message, with the test's 1 s intervals
    figures = {
        "down_to_email_s": round(min(down_ann.received_at, down_bob.received_at) - t_down, 2),
        "down_to_sms_s": round(down_sms.received_at - t_down, 2),
        "up_to_email_s": round(min(up_ann.received_at, up_bob.received_at) - t_up, 2),
        "up_to_sms_s": round(up_sms.received_at - t_up, 2),
        "outage_s": round(outage, 2),
        **{f"stated_{k.replace(' ', '_')}_s": v for k, v in stated.items()},
    }
    for key, value in figures.items():
        record_property(key, value)
    print(f"alert latency with the e2e intervals: {figures}")

    settle()
    # exactly one of each, to the site's people only
    assert len(mails(stack, ANN, is_down)) == len(mails(stack, ANN, is_up)) == 1
    assert len(mails(stack, BOB, is_down)) == len(mails(stack, BOB, is_up)) == 1
    assert len(mails(stack, ANN)) == 2 and len(mails(stack, BOB)) == 2
    assert [sms_kind(s.body) for s in sms(stack, BOB)] == ["down", "up"]
    assert [r for r in stack.twilio.requests() if r.to != BOB.phone] == []
    assert_nothing_sent_to(stack, CAROL)
    assert stack.incidents("blog") == []

    # the incident log: one closed incident, from the switch to the switch back, each
    # within one probe interval
    incidents = stack.wait_incidents(shop, closed)
    assert len(incidents) == 1, incidents
    start, end = started(incidents[0]), ended(incidents[0])
    assert end is not None
    seen = {"switched down": t_down, "switched up": t_up, "probe saw down": seen_down,
            "probe saw up": seen_up}  # fmt: skip
    assert t_down - 0.5 <= start <= t_down + shop.interval_seconds + 0.5, (seen, incidents[0])
    assert t_up - 0.5 <= end <= t_up + shop.interval_seconds + 0.5, (seen, incidents[0])


def test_maintenance_records_the_incident_but_pages_nobody(stack: Stack) -> None:
    docs = stack.sites["docs"]
    t_down = stack.down(docs)
    # the alert reaches the admin app, which records it as maintenance
    incidents = stack.wait_incidents(docs, lambda found: len(found) == 1)
    assert incidents[0].get("maintenance") is True, incidents
    assert t_down - 0.5 <= started(incidents[0]) <= t_down + docs.interval_seconds + 0.5
    stack.up(docs)
    incidents = stack.wait_incidents(docs, closed)
    assert len(incidents) == 1 and incidents[0].get("maintenance") is True, incidents
    settle()
    assert_nothing_sent_to(stack, DAN)


def next_probe(stack: Stack, site: Site) -> None:
    """Wait until the next probe of ``site`` has reached the target and been answered."""
    seen = len(stack.probes(site))
    wait_until(
        lambda: len(stack.probes(site)), lambda n: n > seen, 10, what="a probe", interval=0.01
    )
    time.sleep(0.05)  # it read the switch right after it arrived


def fail_one_probe(stack: Stack, site: Site) -> None:
    """Make exactly one probe of ``site`` fail: after a probe (which saw the site up)
    switch down; after the next one (which saw it down) switch up again. The site is
    down for one probe interval and a few hundredths of a second."""
    next_probe(stack, site)
    stack.down(site)
    next_probe(stack, site)
    stack.up(site)


def test_a_flap_shorter_than_the_confirmations_pages_nobody(stack: Stack) -> None:
    flaky = stack.sites["flaky"]
    failures = 'upwatch_probes_total{site="flaky",result="failure"}'
    assert stack.query(failures) == [] or float(stack.query(failures)[0]["value"][1]) == 0
    for _ in range(4):  # each time one failed probe, then at least one good one
        fail_one_probe(stack, flaky)
    # the four failed probes were seen...
    wait_until(
        lambda: stack.query(failures),
        lambda r: r and float(r[0]["value"][1]) >= 4,
        15,
        what="four failed probes in Prometheus",
    )
    settle(5)
    # ...and never made the site down, fired an alert or told anyone
    assert stack.query('min_over_time(upwatch_site_up{site="flaky"}[5m]) == 0') == []
    assert stack.query('max_over_time(ALERTS{site="flaky"}[5m])') == []
    assert stack.incidents(flaky) == []
    assert_nothing_sent_to(stack, ERIN)


def test_an_sms_provider_error_is_retried_until_sent_once(stack: Stack) -> None:
    site = stack.sites["smsretry"]
    stack.twilio.fail(500)
    try:
        stack.down(site)
        wait_mail(stack, HAL, is_down)
        # the hook answered 5xx, and Alertmanager tried again
        wait_until(
            lambda: [r for r in stack.twilio.requests() if r.to == HAL.phone],
            lambda tries: len(tries) >= 2,
            WAIT,
            what="Alertmanager to retry the SMS",
            context=stack.log_tails,
        )
    finally:
        stack.twilio.recover()
    wait_sms(stack, HAL, "down")
    # the admin app counted the failures and its answers asking for a retry
    failed = stack.metric(
        "admin", "upwatch_admin_notifications_failed_total", provider="twilio", retryable="true"
    )
    assert failed >= 2
    assert stack.metric("admin", "upwatch_admin_webhooks_total", result="retry") >= 2
    stack.up(site)
    wait_sms(stack, HAL, "up")
    stack.wait_incidents(site, closed)
    settle()
    assert [sms_kind(s.body) for s in sms(stack, HAL)] == ["down", "up"]
    assert len(stack.incidents(site)) == 1
    assert len(mails(stack, HAL, is_down)) == len(mails(stack, HAL, is_up)) == 1


def test_alertmanager_restarted_while_down_sends_the_up_message_once(stack: Stack) -> None:
    site = stack.sites["amrestart"]
    stack.down(site)
    wait_mail(stack, FINN, is_down)
    wait_sms(stack, FINN, "down")

    stack.alertmanager.restart()
    # Prometheus tells the new Alertmanager about the firing alert again...
    wait_until(
        lambda: stack.alertmanager_alerts(site),
        bool,
        WAIT,
        what="the restarted Alertmanager to hold the alert",
        context=stack.log_tails,
    )
    settle(3)  # ...which must not page anyone twice
    assert len(mails(stack, FINN, is_down)) == 1
    assert len(sms(stack, FINN, "down")) == 1

    stack.up(site)
    wait_mail(stack, FINN, is_up)
    wait_sms(stack, FINN, "up")
    stack.wait_incidents(site, closed)
    settle()
    assert len(mails(stack, FINN, is_down)) == len(mails(stack, FINN, is_up)) == 1
    assert [sms_kind(s.body) for s in sms(stack, FINN)] == ["down", "up"]
    assert len(stack.incidents(site)) == 1


def test_admin_app_down_when_the_webhook_fires_gets_it_when_back(stack: Stack) -> None:
    site = stack.sites["hookdown"]

    def webhook_failures() -> float:  # failed requests to the admin app's hook
        name = "alertmanager_notification_requests_failed_total"
        return stack.metric("alertmanager", name, integration="webhook")

    failed_before = webhook_failures()
    stack.admin.stop()
    try:
        t_down = stack.down(site)
        # the email goes out without the admin app; its webhook fails and is retried
        wait_mail(stack, GUS, is_down)
        wait_until(
            webhook_failures,
            lambda failed: failed > failed_before,
            WAIT,
            what="Alertmanager to fail to call the webhook",
        )
        assert sms(stack, GUS) == []
    finally:
        stack.admin.start()
    wait_sms(stack, GUS, "down")
    incidents = stack.wait_incidents(site, lambda found: len(found) == 1)
    # the incident starts when the site went down, not when the hook got through
    assert t_down - 0.5 <= started(incidents[0]) <= t_down + site.interval_seconds + 0.5

    stack.up(site)
    wait_mail(stack, GUS, is_up)
    wait_sms(stack, GUS, "up")
    stack.wait_incidents(site, closed)
    settle()
    assert [sms_kind(s.body) for s in sms(stack, GUS)] == ["down", "up"]
    assert len(stack.incidents(site)) == 1
    assert len(mails(stack, GUS, is_down)) == len(mails(stack, GUS, is_up)) == 1


def test_nobody_else_was_told_anything(stack: Stack) -> None:
    """Across every scenario above: the site that never went down paged nobody."""
    assert_nothing_sent_to(stack, CAROL)
    everyone = {c.email for c in EVERYONE} | {c.phone for c in EVERYONE}
    strangers = [m for m in stack.smtp.messages() if not set(m.rcpt_tos) <= everyone]
    assert strangers == []
