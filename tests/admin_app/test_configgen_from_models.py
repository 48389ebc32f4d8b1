"""Database rows -> specs: contacts through groups, defaults left to the defaults
block, settings and app config -> the global spec."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy.orm import Session

from admin_app.configgen.from_models import global_spec, load_specs, site_spec
from admin_app.configgen.specs import ContactSpec, SmtpSpec
from admin_app.models import Contact, ContactGroup, Site


def contact(name: str, email: str | None = None, **kw: object) -> Contact:
    return Contact(
        name=name,
        email=email,
        phone=kw.get("phone"),
        wants_email=kw.get("wants_email", True),
        wants_sms=kw.get("wants_sms", False),
    )


def test_a_site_with_direct_and_group_contacts(db: Session) -> None:
    alice = contact("Alice", "alice@example.com", phone="+15551230001", wants_sms=True)
    bob = contact("Bob", "bob@example.com")
    carol = contact("Carol", None, phone="+15551230003", wants_email=False, wants_sms=True)
    oncall = ContactGroup(name="On call", members=[alice, carol])
    shop = Site(
        slug="shop",
        name="Web shop",
        url="https://shop.example.com/health",
        interval_seconds=15,
        confirmations=3,
        headers={"Authorization": "Bearer x"},
        expect_status=["200-299", "301"],
        body_contains="OK",
        labels={"team": "payments"},
        contacts=[alice, bob],
        contact_groups=[oncall],
    )
    paused = Site(slug="old", url="https://old.example.com", paused=True, maintenance=True)
    db.add_all([shop, paused])
    db.commit()

    sites, _ = load_specs(db, {}, {})
    by_slug = {s.slug: s for s in sites}
    spec = by_slug["shop"]
    assert [c.name for c in spec.contacts] == ["Alice", "Bob", "Carol"]  # Alice once
    assert spec.contacts[0] == ContactSpec("Alice", "alice@example.com", "+15551230001", True, True)
    assert spec.email_addresses() == ("alice@example.com", "bob@example.com")
    assert (spec.interval_seconds, spec.timeout_seconds, spec.confirmations) == (15.0, None, 3)
    assert spec.headers == (("Authorization", "Bearer x"),)
    assert spec.expect_status == ("200-299", "301")
    assert spec.labels == (("team", "payments"),)
    assert spec.method == "GET" and spec.follow_redirects is True and spec.tls_verify is True
    assert by_slug["old"].paused is True and by_slug["old"].maintenance is True


def test_the_operations_group_becomes_the_operations_contacts(db: Session) -> None:
    zed = contact("Zed", "zed@example.com")
    amy = contact("amy", None, phone="+15551230009", wants_email=False, wants_sms=True)
    ops = ContactGroup(name="Ops", members=[zed, amy])
    db.add(ops)
    db.commit()
    _, spec = load_specs(db, {}, {})
    assert spec.operations_group is None and spec.operations == ()
    _, spec = load_specs(db, {"operations_group": ops.id}, {})
    assert spec.operations_group == "Ops"
    assert [c.name for c in spec.operations] == ["amy", "Zed"]
    assert spec.operations[1] == ContactSpec("Zed", "zed@example.com", None, True, False)
    # a group that is gone (only possible by editing the database) is no group
    _, spec = load_specs(db, {"operations_group": ops.id + 100}, {})
    assert spec.operations_group is None and spec.operations == ()


def test_the_adapter_reads_attributes_only() -> None:
    member = SimpleNamespace(
        id=2, name="M", email="m@example.com", phone=None, wants_email=True, wants_sms=False
    )
    direct = SimpleNamespace(
        id=1, name="D", email=None, phone="+1555", wants_email=False, wants_sms=True
    )
    site = SimpleNamespace(
        slug="x",
        name=None,
        url="tcp://x:1",
        interval_seconds=None,
        timeout_seconds=None,
        confirmations=None,
        method="",
        headers=None,
        expect_status=None,
        body_contains="",
        body_regex=None,
        follow_redirects=None,
        tls_verify=None,
        max_body_bytes=None,
        maintenance=False,
        paused=False,
        labels=None,
        contacts=[direct, member],
        groups=[SimpleNamespace(members=[member])],
    )
    spec = site_spec(site)
    assert [c.name for c in spec.contacts] == ["D", "M"]
    assert spec.name == "" and spec.method is None and spec.body_contains is None
    assert spec.headers == () and spec.expect_status == ()


def test_global_spec_from_settings_and_config() -> None:
    settings = {
        "smtp_host": "smtp.example.com",
        "smtp_port": 587,
        "smtp_from": "upwatch@example.com",
        "smtp_username": "u",
        "smtp_password": "p",
        "smtp_require_tls": True,
        "default_interval_seconds": 60.0,
        "default_timeout_seconds": 5.0,
        "default_confirmations": 4,
    }
    config = {"WEBHOOK_TOKEN": "tok", "ADMIN_URL": "https://admin.example.com"}
    spec = global_spec(settings, config, env={"UPWATCH_GRAFANA_URL": "https://grafana.example"})
    assert spec.smtp == SmtpSpec("smtp.example.com:587", "upwatch@example.com", "u", "p", True)
    assert (spec.default_interval_seconds, spec.default_timeout_seconds) == (60.0, 5.0)
    assert spec.default_confirmations == 4
    assert spec.webhook_url == "https://admin.example.com/hooks/alertmanager"
    assert spec.webhook_token == "tok"
    assert spec.grafana_url == "https://grafana.example"


def test_global_spec_defaults() -> None:
    spec = global_spec({}, {}, env={})
    assert spec.smtp.smarthost is None and not spec.smtp.configured
    assert (spec.default_interval_seconds, spec.default_timeout_seconds) == (30.0, 10.0)
    assert spec.admin_base_url == "http://127.0.0.1:8000"
    assert spec.grafana_url is None and spec.webhook_token is None
    ipv6 = global_spec({"smtp_host": "::1", "smtp_port": 25}, {}, env={})
    assert ipv6.smtp.smarthost == "[::1]:25"
