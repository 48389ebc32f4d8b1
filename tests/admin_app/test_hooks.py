"""``POST /hooks/alertmanager`` on SQLite and PostgreSQL, with SMS through a fake
Twilio API (a real HTTP server on loopback).

The world: site ``shop`` ("Web shop") with Alice (email and SMS; directly and
through the group), Bob (email only) and, through the group "On call", Carol (SMS
only); site ``blog`` with Dave (SMS). The golden outage of ``tests/admin_app/
payloads``: down at 10:00:00.5 (``down_since_unix``), back at 10:04:12.5.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.metrics import sample_value
from admin_app.models import Contact, ContactGroup, Incident, Notification, Site
from admin_app.notify.plan import dedup_key
from admin_app.settings.store import apply_changes
from tests.admin_app import payloads
from tests.admin_app.conftest import BACKENDS
from tests.admin_app.fake_sms import FakeSmsServer
from tests.admin_app.payloads import FINGERPRINT, alert, webhook
from tests.servers import free_port

TOKEN = "hook-token-0123456789"
SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "twilio-auth-secret"
FROM = "+15005550006"
ALICE, BOB, CAROL, DAVE = "+447700900123", "+447700900124", "+14155552671", "+14155552672"

DOWN_AT = datetime(2024, 5, 2, 10, 0, 0, 500000, tzinfo=UTC)
UP_AT = datetime(2024, 5, 2, 10, 4, 12, 500000, tzinfo=UTC)
DOWN_SMS = (
    "[Upwatch] DOWN: Web shop (https://shop.example.com/health) since "
    "2024-05-02 10:00:00 UTC: timeout"
)
UP_SMS = "[Upwatch] UP: Web shop is back after 4m 12s"

FIRING = webhook(alert("firing"))
RESOLVED = webhook(alert("resolved"))


@dataclass
class World:
    app: Flask
    client: FlaskClient
    db: Session
    fake: FakeSmsServer
    shop_id: int
    contact_ids: dict[str, int]

    def post(self, data: Any, token: str | None = TOKEN, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(kw.pop("headers", {}))
        return self.client.post("/hooks/alertmanager", json=data, headers=headers, **kw)

    def incidents(self) -> list[Incident]:
        self.db.expire_all()
        return list(self.db.scalars(select(Incident).order_by(Incident.id)))

    def notifications(self, channel: str | None = None) -> list[Notification]:
        self.db.expire_all()
        query = select(Notification).order_by(Notification.id)
        if channel:
            query = query.where(Notification.channel == channel)
        return list(self.db.scalars(query))

    def sms(self) -> list[tuple[str | None, str | None]]:
        """(to, text) of the messages the fake accepted."""
        return [(m.to, m.text) for m in self.fake.messages()]

    def set_maintenance(self, on: bool) -> None:
        site = self.db.get(Site, self.shop_id)
        assert site is not None
        site.maintenance = on
        self.db.commit()

    def settings(self, **changes: Any) -> None:
        apply_changes(self.db, self.app.config["SECRET_KEY"], changes)
        self.db.commit()


@pytest.fixture
def fake() -> Iterator[FakeSmsServer]:
    with FakeSmsServer() as server:
        yield server


def arrange(db: Session) -> tuple[int, dict[str, int]]:
    alice = Contact(
        name="Alice", email="alice@example.com", phone=ALICE, wants_email=True, wants_sms=True
    )
    bob = Contact(name="Bob", email="bob@example.com", phone=BOB, wants_email=True, wants_sms=False)
    carol = Contact(name="Carol", email=None, phone=CAROL, wants_email=False, wants_sms=True)
    dave = Contact(name="Dave", email="dave@example.com", phone=DAVE, wants_sms=True)
    oncall = ContactGroup(name="On call", members=[carol, alice])
    shop = Site(
        slug="shop",
        name="Web shop",
        url="https://shop.example.com/health",
        contacts=[alice, bob],
        contact_groups=[oncall],
    )
    blog = Site(slug="blog", name="Blog", url="https://blog.example.com/", contacts=[dave])
    db.add_all([shop, blog])
    db.commit()
    ids = {c.name: c.id for c in (alice, bob, carol, dave)}
    return shop.id, ids


@pytest.fixture
def world(app: Flask, client: FlaskClient, db: Session, fake: FakeSmsServer) -> World:
    app.config["WEBHOOK_TOKEN"] = TOKEN
    # No Prometheus: an outage ends at the alert's endsAt (test_hooks_recovery.py
    # has one that knows better).
    app.config["PROMETHEUS_URL"] = f"http://127.0.0.1:{free_port()}"
    shop_id, ids = arrange(db)
    w = World(app, client, db, fake, shop_id, ids)
    w.settings(
        sms_provider="twilio",
        twilio_account_sid=SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=FROM,
        twilio_base_url=fake.url,
    )
    return w


def counter(name: str, **labels: str) -> float:
    return sample_value(name, labels) or 0.0


# --------------------------------------------------------------------------- auth


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        "Bearer ",
        f"Token {TOKEN}",
        TOKEN,
        _basic("alertmanager", "wrong"),
        _basic(TOKEN, ""),  # the token as the user name is not the password
        "Basic not-base64!",
        "Basic " + base64.b64encode(TOKEN.encode()).decode(),  # no colon
    ],
)
def test_wrong_or_missing_credentials_are_401(world: World, authorization: str | None) -> None:
    before = counter("upwatch_admin_webhooks_total", result="unauthorized")
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = world.post(FIRING, token=None, headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert world.incidents() == [] and world.fake.requests == []
    assert counter("upwatch_admin_webhooks_total", result="unauthorized") == before + 1


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}", f"bearer   {TOKEN}", _basic("alertmanager", TOKEN), _basic("", TOKEN)],
)
def test_bearer_or_basic_with_the_token_is_accepted(world: World, authorization: str) -> None:
    response = world.post(webhook(), token=None, headers={"Authorization": authorization})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ok"


def test_no_token_configured_refuses_with_503(world: World) -> None:
    world.app.config["WEBHOOK_TOKEN"] = None
    before = counter("upwatch_admin_webhooks_total", result="unconfigured")
    response = world.post(FIRING)
    assert response.status_code == 503
    assert response.json["error"]["code"] == "webhook_token_unset"
    assert "UPWATCH_WEBHOOK_TOKEN" in response.json["error"]["message"]
    assert world.incidents() == []
    assert counter("upwatch_admin_webhooks_total", result="unconfigured") == before + 1


def test_only_post(world: World) -> None:
    response = world.client.get("/hooks/alertmanager")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b'{"version": "4", "status": "firing"}', "alerts"),
        (b'{"status": "firing", "alerts": []}', "version"),
    ],
)
def test_bad_payloads_are_400_naming_the_field(world: World, body: bytes, field: str) -> None:
    before = counter("upwatch_admin_webhooks_total", result="invalid")
    response = world.client.post(
        "/hooks/alertmanager",
        data=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "invalid_payload"
    assert error["message"].startswith(f"{field}: ") and field in error["fields"]
    assert counter("upwatch_admin_webhooks_total", result="invalid") == before + 1


def test_bad_alert_is_400_and_records_nothing(world: World) -> None:
    data = webhook(alert("firing"), alert("resolved", fingerprint="f2"))
    del data["alerts"][1]["fingerprint"]
    response = world.post(data)
    assert response.status_code == 400
    assert response.json["error"]["message"] == (
        "alerts[1].fingerprint: is required (Alertmanager's alert id)"
    )
    assert world.incidents() == [] and world.fake.requests == []


# --------------------------------------------------------------------------- the outage

pytestmark_backends = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytestmark_backends
def test_firing_then_resolved_is_one_closed_incident_and_a_down_and_up_sms(world: World) -> None:
    down = world.post(FIRING)
    assert down.status_code == 200, down.json
    assert down.json["incidents_opened"] == 1
    assert down.json["notifications"]["sent"] == 2

    (incident,) = world.incidents()
    assert incident.site_slug == "shop" and incident.site_id == world.shop_id
    assert incident.alertname == "SiteDown" and incident.fingerprint == FINGERPRINT
    assert incident.started_at == DOWN_AT and incident.ended_at is None
    assert incident.reason == "timeout" and incident.maintenance is False
    assert sorted(world.sms()) == sorted([(ALICE, DOWN_SMS), (CAROL, DOWN_SMS)])

    up = world.post(RESOLVED)
    assert up.status_code == 200, up.json
    assert up.json["incidents_closed"] == 1 and up.json["incidents"] == [incident.id]

    (incident,) = world.incidents()
    assert incident.started_at == DOWN_AT and incident.ended_at == UP_AT
    assert incident.duration_seconds == 252.0
    assert incident.reason == "timeout"
    assert sorted(world.sms()) == sorted(
        [(ALICE, DOWN_SMS), (CAROL, DOWN_SMS), (ALICE, UP_SMS), (CAROL, UP_SMS)]
    )
    # Bob wants email only, Dave is the blog's: neither got an SMS
    assert {to for to, _ in world.sms()} == {ALICE, CAROL}

    rows = world.notifications("sms")
    assert [(n.event, n.recipient, n.status) for n in rows] == [
        (e, to, "sent") for e in ("down", "up") for to in sorted([ALICE, CAROL], key=_order(world))
    ]
    for n in rows:
        assert n.incident_id == incident.id and n.provider == "twilio" and n.attempts == 1
        assert n.sent_at is not None and n.error == ""
        contact = world.contact_ids["Alice" if n.recipient == ALICE else "Carol"]
        assert n.dedup_key == dedup_key("shop", FINGERPRINT, DOWN_AT, n.event, contact, "sms")
    # SMTP is not configured: no email is recorded as routed
    assert world.notifications("email") == []


def _order(world: World) -> Any:
    """Contacts are messaged in name order: Alice, Carol."""
    return lambda number: {ALICE: 0, CAROL: 1}[number]


@pytestmark_backends
def test_the_same_webhook_twice_is_one_incident_and_one_sms_each(world: World) -> None:
    for _ in range(3):  # a retry, then Alertmanager's repeat_interval
        response = world.post(FIRING)
        assert response.status_code == 200, response.json
    assert len(world.incidents()) == 1
    assert sorted(world.sms()) == sorted([(ALICE, DOWN_SMS), (CAROL, DOWN_SMS)])
    assert response.json["notifications"]["already_done"] == 2
    assert response.json["notifications"]["sent"] == 0

    for _ in range(2):
        assert world.post(RESOLVED).status_code == 200
    (incident,) = world.incidents()
    assert incident.ended_at == UP_AT
    assert len(world.fake.requests) == 4 and len(world.notifications("sms")) == 4


@pytestmark_backends
def test_a_late_copy_of_the_firing_does_not_reopen_or_page(world: World) -> None:
    world.post(FIRING)
    world.post(RESOLVED)
    world.fake.clear()
    response = world.post(FIRING)  # e.g. a restarted Alertmanager replaying old state
    assert response.status_code == 200
    (incident,) = world.incidents()
    assert incident.ended_at == UP_AT
    assert world.fake.requests == []


@pytestmark_backends
def test_a_new_outage_of_the_same_alert_is_a_new_incident(world: World) -> None:
    world.post(FIRING)
    world.post(RESOLVED)
    later = {"starts_at": "2024-05-02T11:00:31Z", "down_since_unix": "1714647600"}
    world.post(webhook(alert("firing", **later)))
    world.post(webhook(alert("resolved", ends_at="2024-05-02T11:01:00Z", **later)))
    first, second = world.incidents()
    assert (first.started_at, first.ended_at) == (DOWN_AT, UP_AT)
    assert second.started_at == datetime(2024, 5, 2, 11, 0, tzinfo=UTC)
    assert second.duration_seconds == 60
    assert len(world.sms()) == 8
    assert world.sms()[-1][1] == "[Upwatch] UP: Web shop is back after 1m 0s"


@pytestmark_backends
def test_a_moved_start_while_open_is_the_same_outage(world: World) -> None:
    """The exporter restarted mid-outage: down_since changes, the alert does not."""
    world.post(FIRING)
    moved = alert("firing", down_since_unix="1714644020")
    assert world.post(webhook(moved)).status_code == 200
    (incident,) = world.incidents()
    assert incident.started_at == DOWN_AT
    assert len(world.sms()) == 2
    world.post(webhook(alert("resolved", down_since_unix="1714644020")))
    (incident,) = world.incidents()
    assert incident.ended_at == UP_AT and incident.duration_seconds == 252


@pytestmark_backends
def test_a_resolve_without_its_firing_is_recorded_closed(world: World) -> None:
    response = world.post(RESOLVED)
    assert response.status_code == 200 and response.json["incidents_closed"] == 1
    (incident,) = world.incidents()
    assert (incident.started_at, incident.ended_at, incident.reason) == (DOWN_AT, UP_AT, "timeout")
    assert sorted(world.sms()) == sorted([(ALICE, UP_SMS), (CAROL, UP_SMS)])


@pytestmark_backends
def test_without_down_since_the_start_is_starts_at(world: World) -> None:
    world.post(webhook(alert("firing", down_since_unix=None)))
    (incident,) = world.incidents()
    assert incident.started_at == datetime(2024, 5, 2, 10, 0, 31, 228000, tzinfo=UTC)


# --------------------------------------------------------------------------- maintenance


@pytestmark_backends
@pytest.mark.parametrize("where", ["label", "database"])
def test_maintenance_is_recorded_and_pages_nobody(world: World, where: str) -> None:
    if where == "label":
        firing, resolved = (
            webhook(alert("firing", maintenance="true")),
            webhook(alert("resolved", maintenance="true")),
        )
    else:
        world.set_maintenance(True)
        firing, resolved = FIRING, RESOLVED  # the label says false: the database wins
    world.settings(smtp_host="smtp.example.com", smtp_from="upwatch@example.com")
    assert world.post(firing).status_code == 200
    (incident,) = world.incidents()
    assert incident.maintenance is True
    assert world.post(resolved).status_code == 200
    (incident,) = world.incidents()
    assert incident.ended_at == UP_AT
    assert world.fake.requests == [] and world.notifications() == []


@pytestmark_backends
def test_maintenance_ended_during_an_outage_still_sends_no_up(world: World) -> None:
    world.set_maintenance(True)
    world.post(FIRING)
    world.set_maintenance(False)
    world.post(RESOLVED)
    assert world.fake.requests == []


@pytestmark_backends
def test_a_paused_site_pages_nobody(world: World) -> None:
    site = world.db.get(Site, world.shop_id)
    assert site is not None
    site.paused = True
    world.db.commit()
    world.post(FIRING)
    assert len(world.incidents()) == 1 and world.fake.requests == []


# --------------------------------------------------------------------------- who


@pytestmark_backends
def test_email_routes_are_recorded_when_smtp_is_configured(world: World) -> None:
    world.settings(smtp_host="smtp.example.com", smtp_from="upwatch@example.com")
    world.post(FIRING)
    world.post(FIRING)
    emails = world.notifications("email")
    assert [(n.recipient, n.status, n.event) for n in emails] == [
        ("alice@example.com", "routed", "down"),
        ("bob@example.com", "routed", "down"),
    ]
    assert all(n.provider == "alertmanager" for n in emails)
    # and no SMS for Bob, who wants email only
    assert BOB not in {to for to, _ in world.sms()}


@pytestmark_backends
def test_only_the_sites_own_contacts_are_told(world: World) -> None:
    blog_down = alert("firing", site="blog", fingerprint="b10b", site_name="Blog", url="")
    assert world.post(webhook(blog_down, receiver="site-blog")).status_code == 200
    assert world.sms() == [
        (
            DAVE,
            "[Upwatch] DOWN: Blog (https://blog.example.com/) since "
            "2024-05-02 10:00:00 UTC: timeout",
        )
    ]


@pytestmark_backends
def test_an_unknown_site_is_recorded_and_pages_nobody(world: World) -> None:
    gone = alert("firing", site="deleted-site", fingerprint="dead")
    assert world.post(webhook(gone, receiver="upwatch-admin")).status_code == 200
    (incident,) = world.incidents()
    assert incident.site_slug == "deleted-site" and incident.site_id is None
    assert world.fake.requests == []


@pytestmark_backends
def test_other_alerts_are_events_only(world: World) -> None:
    before = counter("upwatch_admin_alerts_total", alertname="SiteSlow", status="firing")
    response = world.post(payloads.load("siteslow_and_cert_firing"))
    assert response.status_code == 200
    assert response.json["events"] == 3 and response.json["incidents"] == []
    response = world.post(payloads.load("watchdog"))
    assert response.json["ignored"] == 1
    assert world.incidents() == [] and world.fake.requests == [] and world.notifications() == []
    assert counter("upwatch_admin_alerts_total", alertname="SiteSlow", status="firing") == (
        before + 1
    )


@pytestmark_backends
def test_the_golden_payloads_through_the_hook(world: World) -> None:
    assert world.post(payloads.load("sitedown_firing")).status_code == 200
    assert world.post(payloads.load("sitedown_resolved")).status_code == 200
    (incident,) = world.incidents()
    assert (incident.started_at, incident.ended_at) == (DOWN_AT, UP_AT)
    assert sorted(world.sms()) == sorted(
        [(ALICE, DOWN_SMS), (CAROL, DOWN_SMS), (ALICE, UP_SMS), (CAROL, UP_SMS)]
    )


# --------------------------------------------------------------------------- providers


@pytestmark_backends
def test_the_fake_twilio_gets_exactly_the_expected_requests(world: World) -> None:
    world.post(FIRING)
    requests = sorted(world.fake.requests, key=lambda r: r.form["To"])
    assert [r.path for r in requests] == [f"/2010-04-01/Accounts/{SID}/Messages.json"] * 2
    assert [r.form for r in requests] == [
        {"To": CAROL, "From": FROM, "Body": DOWN_SMS},
        {"To": ALICE, "From": FROM, "Body": DOWN_SMS},
    ]
    expected_auth = "Basic " + base64.b64encode(f"{SID}:{AUTH_TOKEN}".encode()).decode()
    for r in requests:
        assert r.method == "POST"
        assert r.headers["Authorization"] == expected_auth
        assert r.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert r.body.decode() == (
            f"To=%2B{r.form['To'][1:]}&From=%2B15005550006&Body=%5BUpwatch%5D+DOWN%3A+Web+shop+"
            "%28https%3A%2F%2Fshop.example.com%2Fhealth%29+since+2024-05-02+10%3A00%3A00+UTC"
            "%3A+timeout"
        )


@pytestmark_backends
def test_the_generic_gateway_gets_the_json_body(world: World) -> None:
    world.settings(
        sms_provider="http",
        sms_gateway_url=f"{world.fake.url}/v1/messages",
        sms_gateway_token="gateway-secret",
        sms_gateway_body='{"recipient": "{to}", "message": {"body": "{text}"}, "sender": "Upwatch"}',
    )
    assert world.post(FIRING).status_code == 200
    requests = sorted(world.fake.requests, key=lambda r: r.json["recipient"])
    assert [r.body for r in requests] == [
        (f'{{"recipient":"{to}","message":{{"body":"{DOWN_SMS}"}},"sender":"Upwatch"}}').encode()
        for to in (CAROL, ALICE)
    ]
    assert all(r.path == "/v1/messages" for r in requests)
    assert all(r.headers["Authorization"] == "Bearer gateway-secret" for r in requests)
    assert {n.provider for n in world.notifications("sms")} == {"http"}


@pytestmark_backends
def test_the_console_provider_logs_masked_numbers(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    world.settings(sms_provider="console")
    logger = logging.getLogger("upwatch.admin")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="upwatch.admin"):
            assert world.post(FIRING).status_code == 200
    finally:
        logger.removeHandler(caplog.handler)
    # (the handler is added in case the "upwatch" logger does not propagate; a record
    # may then reach it twice)
    records = list({id(r): r for r in caplog.records}.values())
    lines = [r for r in records if r.getMessage() == "sms_console"]
    assert sorted(r.kv["to"] for r in lines) == ["+14******671", "+44*******123"]
    assert all(r.kv["text"] == DOWN_SMS for r in lines)
    everything = " ".join(f"{r.getMessage()} {getattr(r, 'kv', '')}" for r in records)
    assert ALICE not in everything and CAROL not in everything
    assert AUTH_TOKEN not in everything and TOKEN not in everything
    assert world.fake.requests == []
    assert {n.status for n in world.notifications("sms")} == {"sent"}


# --------------------------------------------------------------------------- failures


@pytestmark_backends
def test_a_provider_500_is_retried_until_sent_once(world: World) -> None:
    failed_before = counter(
        "upwatch_admin_notifications_failed_total",
        channel="sms",
        provider="twilio",
        retryable="true",
    )
    retry_before = counter("upwatch_admin_webhooks_total", result="retry")
    world.fake.fail(500, times=2)  # both messages of the first delivery fail
    first = world.post(FIRING)
    assert first.status_code == 503
    assert first.json["error"]["code"] == "notification_retry"
    assert "2 SMS failed with a retryable error" in first.json["error"]["message"]
    assert len(world.incidents()) == 1  # the incident is recorded anyway
    assert {n.status for n in world.notifications("sms")} == {"retry"}
    assert world.sms() == []

    world.fake.fail(500, times=1)  # the retry: one fails again, one goes through
    second = world.post(FIRING)
    assert second.status_code == 503
    assert sorted(n.status for n in world.notifications("sms")) == ["retry", "sent"]

    third = world.post(FIRING)  # the next retry sends only the one still missing
    assert third.status_code == 200, third.json
    assert third.json["notifications"] | {} == {
        "sent": 1,
        "failed": 0,
        "retry": 0,
        "in_progress": 0,
        "already_done": 1,
        "email_routed": 0,
    }
    assert sorted(world.sms()) == sorted([(ALICE, DOWN_SMS), (CAROL, DOWN_SMS)])
    assert len(world.fake.requests) == 5
    rows = world.notifications("sms")
    assert sorted(n.attempts for n in rows) == [2, 3]
    assert {n.status for n in rows} == {"sent"} and {n.error for n in rows} == {""}
    assert len(world.incidents()) == 1
    assert (
        counter(
            "upwatch_admin_notifications_failed_total",
            channel="sms",
            provider="twilio",
            retryable="true",
        )
        == failed_before + 3
    )
    assert counter("upwatch_admin_webhooks_total", result="retry") == retry_before + 2


@pytestmark_backends
def test_a_provider_400_is_not_retried(world: World) -> None:
    before = counter(
        "upwatch_admin_notifications_failed_total",
        channel="sms",
        provider="twilio",
        retryable="false",
    )
    world.fake.fail(400, times=None)
    response = world.post(FIRING)
    assert response.status_code == 200, response.json
    assert response.json["notifications"]["failed"] == 2
    rows = world.notifications("sms")
    assert {n.status for n in rows} == {"failed"}
    assert all(n.error.startswith("HTTP 400: The 'To' number +") for n in rows)
    assert not any(ALICE in n.error or CAROL in n.error for n in rows)
    world.fake.recover()
    assert world.post(FIRING).status_code == 200  # Alertmanager's repeat: no new attempt
    assert len(world.fake.requests) == 2 and world.sms() == []
    assert (
        counter(
            "upwatch_admin_notifications_failed_total",
            channel="sms",
            provider="twilio",
            retryable="false",
        )
        == before + 2
    )


@pytestmark_backends
def test_an_unconfigured_provider_is_retried_once_configured(world: World) -> None:
    world.settings(twilio_from=None)  # stored settings are validated; the env may be incomplete
    response = world.post(FIRING)
    assert response.status_code == 503
    assert "twilio_from is required" in response.json["error"]["message"]
    assert {n.status for n in world.notifications("sms")} == {"retry"}
    world.settings(twilio_from=FROM)
    assert world.post(FIRING).status_code == 200
    assert sorted(world.sms()) == sorted([(ALICE, DOWN_SMS), (CAROL, DOWN_SMS)])


@pytestmark_backends
def test_a_send_in_progress_elsewhere_answers_503_and_a_stale_one_is_taken_over(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from admin_app.notify import deliver

    monkeypatch.setattr(deliver, "BUSY_WAIT", 0.3)

    world.fake.fail(500, times=2)
    world.post(FIRING)  # two rows in "retry"
    rows = world.notifications("sms")
    now = datetime.now(UTC)
    for row in rows:  # pretend another request is sending them right now
        row.status, row.last_attempt_at = deliver.SENDING, now
    world.db.commit()
    busy = world.post(FIRING)
    assert (
        busy.status_code == 503
        and "2 are being sent by another request" in (busy.json["error"]["message"])
    )
    for row in rows:  # ...and that request died long ago
        row.last_attempt_at = now - deliver.STALE_AFTER - timedelta(seconds=1)
    world.db.commit()
    assert world.post(FIRING).status_code == 200
    assert sorted(world.sms()) == sorted([(ALICE, DOWN_SMS), (CAROL, DOWN_SMS)])


@pytestmark_backends
def test_concurrent_deliveries_send_once(world: World) -> None:
    """Two Alertmanagers (or a retry racing the first try) deliver at the same time."""
    world.fake.delay = 0.2
    barrier = threading.Barrier(4)
    answers: list[int] = []

    def deliver_once() -> None:
        client = world.app.test_client()
        barrier.wait()
        response = client.post(
            "/hooks/alertmanager", json=FIRING, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        answers.append(response.status_code)

    threads = [threading.Thread(target=deliver_once) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # A request that finds a message being sent by another waits for it to end; if
    # the requests split the messages between them, all may answer 503 (each knows
    # only its own): Alertmanager comes back and finds everything done.
    assert len(answers) == 4 and set(answers) <= {200, 503}
    assert world.post(FIRING).status_code == 200
    assert len(world.incidents()) == 1
    assert sorted(world.sms()) == sorted([(ALICE, DOWN_SMS), (CAROL, DOWN_SMS)])
    assert len(world.fake.requests) == 2


# --------------------------------------------------------------------------- operations

EXPORTER = "10.0.0.7:9115"
OPS_FP = "0e0e0e0e0e0e0e0e"
EXPORTER_STARTS = "2024-05-02T11:00:00Z"
EXPORTER_DOWN_SMS = (
    f"Upwatch exporter {EXPORTER} (eu, shard 2/3) is down: its sites are not monitored"
)
EXPORTER_UP_SMS = f"Upwatch exporter {EXPORTER} (eu, shard 2/3) is back"
ERIN, FRANK = "+14155552673", "+14155552674"


def exporter_alert(
    status: str = "firing", alertname: str = "UpwatchExporterDown", **labels: str
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {
            "alertname": alertname,
            "instance": EXPORTER,
            "job": "upwatch-exporter",
            "severity": "critical" if alertname == "UpwatchExporterDown" else "warning",
            "location": "eu",
            "shard": "2/3",
            **labels,
        },
        "annotations": {"summary": f"Upwatch exporter {EXPORTER} is down"},
        "startsAt": EXPORTER_STARTS,
        "endsAt": "2024-05-02T11:09:00Z" if status == "resolved" else payloads.ZERO,
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": OPS_FP,
    }


def exporter_webhook(status: str = "firing", **kw: Any) -> dict[str, Any]:
    return webhook(exporter_alert(status, **kw), receiver="upwatch-operations")


def with_operations(world: World) -> dict[str, int]:
    """The group "Ops": Erin (SMS and email), Frank (SMS), Gina (email only) and
    Alice (also a contact of the shop, SMS and email); set as the operations group."""
    erin = Contact(name="Erin", email="erin@example.com", phone=ERIN, wants_sms=True)
    frank = Contact(name="Frank", phone=FRANK, wants_email=False, wants_sms=True)
    gina = Contact(name="Gina", email="gina@example.com", phone=None, wants_sms=False)
    alice = world.db.get(Contact, world.contact_ids["Alice"])
    ops = ContactGroup(name="Ops", members=[erin, frank, gina, alice])
    world.db.add(ops)
    world.db.commit()
    world.settings(operations_group=ops.id)
    return {"Erin": erin.id, "Frank": frank.id, "Gina": gina.id, "Alice": alice.id}


@pytestmark_backends
def test_exporter_down_and_back_text_each_operations_contact_once(world: World) -> None:
    ids = with_operations(world)
    down = world.post(exporter_webhook("firing"))
    assert down.status_code == 200, down.json
    assert down.json["events"] == 1 and down.json["incidents"] == []
    assert down.json["notifications"]["sent"] == 3
    assert sorted(world.sms()) == sorted(
        [(ALICE, EXPORTER_DOWN_SMS), (ERIN, EXPORTER_DOWN_SMS), (FRANK, EXPORTER_DOWN_SMS)]
    )
    # the shop's other people are not operations contacts
    assert not {BOB, CAROL, DAVE} & {to for to, _ in world.sms()}

    up = world.post(exporter_webhook("resolved"))
    assert up.status_code == 200, up.json
    assert sorted(t for _, t in world.sms()) == sorted(
        [EXPORTER_DOWN_SMS] * 3 + [EXPORTER_UP_SMS] * 3
    )
    assert world.incidents() == []  # an exporter outage is no site's incident

    rows = world.notifications("sms")
    assert len(rows) == 6
    started = datetime(2024, 5, 2, 11, 0, tzinfo=UTC)
    names = {v: k for k, v in ids.items()}
    phones = {"Alice": ALICE, "Erin": ERIN, "Frank": FRANK}
    for n in rows:
        assert n.incident_id is None and n.status == "sent" and n.attempts == 1
        contact = next(i for i, name in names.items() if phones.get(name) == n.recipient)
        assert n.dedup_key == dedup_key(
            f"exporter:{EXPORTER}", OPS_FP, started, n.event, contact, "sms"
        )


@pytestmark_backends
def test_a_retried_exporter_webhook_texts_nobody_twice(world: World) -> None:
    with_operations(world)
    for _ in range(3):  # a retry, then Alertmanager's repeat_interval
        response = world.post(exporter_webhook("firing"))
        assert response.status_code == 200, response.json
    assert response.json["notifications"] == {
        **response.json["notifications"],
        "sent": 0,
        "already_done": 3,
    }
    for _ in range(2):
        assert world.post(exporter_webhook("resolved")).status_code == 200
    assert len(world.fake.requests) == 6
    assert sorted(t for _, t in world.sms()) == sorted(
        [EXPORTER_DOWN_SMS] * 3 + [EXPORTER_UP_SMS] * 3
    )

    # The exporter goes away again later: a new event, texted again.
    again = exporter_alert("firing")
    again["startsAt"] = "2024-05-02T12:00:00Z"
    assert world.post(webhook(again, receiver="upwatch-operations")).status_code == 200
    assert len(world.fake.requests) == 9


@pytestmark_backends
def test_exporter_email_is_recorded_as_routed_when_smtp_is_configured(world: World) -> None:
    with_operations(world)
    world.settings(smtp_host="smtp.example.com", smtp_from="upwatch@example.com")
    world.post(exporter_webhook("firing"))
    world.post(exporter_webhook("firing"))
    emails = world.notifications("email")
    assert sorted(n.recipient for n in emails) == [
        "alice@example.com",
        "erin@example.com",
        "gina@example.com",
    ]
    assert {(n.status, n.event, n.incident_id) for n in emails} == {("routed", "down", None)}


@pytestmark_backends
def test_config_reload_failed_texts_nobody(world: World) -> None:
    with_operations(world)
    for status in ("firing", "resolved"):
        response = world.post(exporter_webhook(status, alertname="UpwatchConfigReloadFailed"))
        assert response.status_code == 200, response.json
        assert response.json["events"] == 1
    assert world.fake.requests == [] and world.notifications() == []


@pytestmark_backends
def test_without_an_operations_group_nobody_is_texted_and_the_log_says_so(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    logger = logging.getLogger("upwatch.admin")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="upwatch.admin"):
            response = world.post(exporter_webhook("firing"))
    finally:
        logger.removeHandler(caplog.handler)
    assert response.status_code == 200 and response.json["events"] == 1
    assert world.fake.requests == [] and world.notifications() == []
    lines = [r for r in caplog.records if r.getMessage() == "operations_nobody_paged"]
    assert lines and lines[0].levelname == "WARNING"
    assert lines[0].kv["instance"] == EXPORTER and "nobody" in lines[0].kv["warning"]


def test_exporter_texts_fit_one_sms() -> None:
    from admin_app.notify import messages

    assert messages.exporter_down_text(EXPORTER) == (
        f"Upwatch exporter {EXPORTER} is down: its sites are not monitored"
    )
    assert messages.exporter_up_text(EXPORTER, "us") == f"Upwatch exporter {EXPORTER} (us) is back"
    long = messages.exporter_down_text("x" * 300, "loc\nation", "1/2")
    assert len(long) <= messages.SMS_MAX and long.endswith("is down: its sites are not monitored")
    assert "no exporter is scraped" in messages.exporter_down_text("")
