"""The models on SQLite and PostgreSQL: every entity stores and loads what it was
given, constraints hold, deletes cascade where they should and not where history
must survive, and secret settings are encrypted at rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin_app.crypto import SecretDecryptError
from admin_app.models import (
    ApiToken,
    Contact,
    ContactGroup,
    Incident,
    Notification,
    Setting,
    Site,
    User,
    site_contacts,
)
from tests.admin_app.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def test_site_round_trips_every_contract_field(db: Session) -> None:
    site = Site(
        slug="shop",
        name='Web shop: «ünïcode» "quoted"',
        url="https://shop.example.com/health",
        interval_seconds=15,
        timeout_seconds=2.5,
        confirmations=3,
        method="POST",
        headers={"Authorization": "Bearer x", "X-Empty": ""},
        expect_status=["200-299", "301", "4xx"],
        body_contains="OK",
        body_regex=r"^up\s+\d+$",
        follow_redirects=False,
        tls_verify=False,
        max_body_bytes=4096,
        maintenance=True,
        paused=True,
        labels={"group": "payments"},
    )
    db.add(site)
    db.commit()
    db.expunge_all()
    loaded = db.scalar(select(Site).where(Site.slug == "shop"))
    assert loaded is not None
    assert loaded.name == 'Web shop: «ünïcode» "quoted"'
    assert (loaded.interval_seconds, loaded.timeout_seconds, loaded.confirmations) == (15, 2.5, 3)
    assert loaded.headers == {"Authorization": "Bearer x", "X-Empty": ""}
    assert loaded.expect_status == ["200-299", "301", "4xx"]
    assert loaded.body_regex == r"^up\s+\d+$"
    assert not loaded.follow_redirects and not loaded.tls_verify
    assert loaded.max_body_bytes == 4096 and loaded.maintenance and loaded.paused
    assert loaded.labels == {"group": "payments"}
    assert loaded.created_at.tzinfo is not None


def test_site_defaults(db: Session) -> None:
    db.add(Site(slug="min", url="tcp://db.internal:5432"))
    db.commit()
    site = db.scalar(select(Site))
    assert site.interval_seconds is None and site.timeout_seconds is None
    assert site.confirmations is None  # "use the default of the settings page"
    assert site.method == "GET" and site.headers == {} and site.labels == {}
    assert site.expect_status == ["200-299"]
    assert site.follow_redirects and site.tls_verify and not site.maintenance and not site.paused
    assert site.max_body_bytes == 1024 * 1024


def test_site_slug_is_unique(db: Session) -> None:
    db.add_all([Site(slug="dup", url="https://a"), Site(slug="dup", url="https://b")])
    with pytest.raises(IntegrityError):
        db.commit()


def test_contacts_directly_and_through_groups(db: Session) -> None:
    ann = Contact(name="Ann", email="ann@example.com", wants_email=True)
    bob = Contact(name="Bob", phone="+15551234567", wants_email=False, wants_sms=True)
    cid = Contact(name="Cid", email="cid@example.com", phone="+447700900123", wants_sms=True)
    ops = ContactGroup(name="ops", members=[bob, cid])
    site = Site(
        slug="api", url="https://api.example.com", contacts=[ann, bob], contact_groups=[ops]
    )
    db.add(site)
    db.commit()
    db.expunge_all()
    site = db.scalar(select(Site))
    assert [c.name for c in site.contacts] == ["Ann", "Bob"]
    assert [g.name for g in site.contact_groups] == ["ops"]
    assert [c.name for c in site.all_contacts()] == ["Ann", "Bob", "Cid"]  # Bob once
    bob = db.scalar(select(Contact).where(Contact.name == "Bob"))
    assert bob.phone == "+15551234567" and bob.wants_sms and not bob.wants_email


def test_deleting_a_contact_or_site_removes_only_the_links(db: Session) -> None:
    ann = Contact(name="Ann", email="ann@example.com")
    group = ContactGroup(name="ops", members=[ann])
    site = Site(slug="x", url="https://x.example", contacts=[ann], contact_groups=[group])
    db.add(site)
    db.commit()
    db.delete(ann)
    db.commit()
    db.expunge_all()
    assert db.scalar(select(Site)).contacts == []
    assert db.scalar(select(ContactGroup)).members == []
    db.delete(db.scalar(select(Site)))
    db.commit()
    assert db.scalar(select(ContactGroup)) is not None
    assert db.execute(select(site_contacts)).all() == []


def test_database_cascades_hold_without_the_orm(db: Session) -> None:
    """ON DELETE rules are in the schema, not only in the ORM."""
    ann = Contact(name="Ann")
    site = Site(slug="raw", url="https://raw.example", contacts=[ann])
    db.add(site)
    db.commit()
    db.add(Incident(site=site, site_slug="raw", started_at=datetime.now(UTC), fingerprint="f1"))
    db.commit()
    db.execute(text("DELETE FROM sites WHERE slug = 'raw'"))
    db.commit()
    db.expunge_all()
    assert db.execute(select(site_contacts)).all() == []
    incident = db.scalar(select(Incident))
    assert incident.site_id is None and incident.site_slug == "raw"  # history survives


def test_user_role_must_be_one_of_the_six(db: Session) -> None:
    db.add(User(username="x", password_hash="h", role="superuser"))
    with pytest.raises(IntegrityError):
        db.commit()


def test_username_unique_and_session_id(db: Session) -> None:
    user = User(username="ann", password_hash="h", role="admin")
    db.add(user)
    db.commit()
    old_id = user.get_id()
    assert old_id.startswith(f"{user.id}:")
    user.rotate_session_nonce()
    assert user.get_id() != old_id
    db.add(User(username="ann", password_hash="h2", role="developer"))
    with pytest.raises(IntegrityError):
        db.commit()


def test_tokens_cascade_with_their_user_and_store_only_hashes(db: Session) -> None:
    user = User(username="dev", password_hash="h", role="developer")
    db.add(user)
    db.commit()
    now = datetime.now(UTC)
    db.add(
        ApiToken(
            user_id=user.id,
            kind="access",
            token_hash="a" * 64,
            family="f",
            expires_at=now + timedelta(hours=1),
        )
    )
    db.commit()
    token = db.scalar(select(ApiToken))
    assert token.is_valid(now) and not token.is_valid(now + timedelta(hours=2))
    db.execute(text("DELETE FROM users"))
    db.commit()
    assert db.scalar(select(ApiToken)) is None


def test_secret_settings_are_encrypted_at_rest(db: Session) -> None:
    row = Setting(key="smtp_password")
    row.set_value("key-one", "hunter2", secret=True)
    plain = Setting(key="smtp_host")
    plain.set_value("key-one", "mail.example.com", secret=False)
    db.add_all([row, plain])
    db.commit()
    stored = db.execute(text("SELECT value FROM settings WHERE key = 'smtp_password'")).scalar()
    assert "hunter2" not in stored
    assert row.get_value("key-one") == "hunter2"
    assert plain.get_value("key-one") == "mail.example.com"
    assert "hunter2" not in repr(row)
    with pytest.raises(SecretDecryptError, match="UPWATCH_SECRET_KEY"):
        row.get_value("another-key")


def test_incident_is_unique_per_alert_and_start(db: Session) -> None:
    start = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    site = Site(slug="s", url="https://s.example")
    db.add(site)
    db.add(
        Incident(site=site, site_slug="s", started_at=start, fingerprint="abc", reason="timeout")
    )
    db.commit()
    incident = db.scalar(select(Incident))
    assert incident.started_at == start and incident.duration_seconds is None
    incident.ended_at = start + timedelta(minutes=5)
    db.add(
        Notification(
            incident=incident,
            dedup_key="abc:down:sms:+1555",
            event="down",
            channel="sms",
            recipient="+1555",
        )
    )
    db.commit()
    assert incident.duration_seconds == 300
    db.add(Incident(site_slug="s", started_at=start, fingerprint="abc"))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()
    db.add(
        Notification(dedup_key="abc:down:sms:+1555", event="down", channel="sms", recipient="+1555")
    )
    with pytest.raises(IntegrityError):
        db.commit()


def test_timestamps_come_back_in_utc(db: Session) -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    db.add(Incident(site_slug="tz", started_at=local, fingerprint="tz"))
    db.commit()
    db.expunge_all()
    loaded = db.scalar(select(Incident)).started_at
    assert loaded == local and loaded.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(db: Session) -> None:
    db.add(Incident(site_slug="n", started_at=datetime(2026, 1, 1), fingerprint="n"))
    with pytest.raises(Exception, match="naive datetime"):
        db.commit()
