"""SQLAlchemy 2.0 models of everything the admin app stores.

Timestamps are timezone-aware UTC (:class:`admin_app.db.UTCDateTime`). JSON columns
(headers, labels, expect_status) are replaced, never mutated in place: assign a new
dict/list so that SQLAlchemy sees the change. Schema changes need an Alembic
revision in ``admin_app/migrations/versions`` (``tests/admin_app/test_migrations.py``
fails when the models and the migrations differ).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.crypto import decrypt, encrypt
from admin_app.db import Base, UTCDateTime, utcnow
from admin_app.roles import Role

ROLE_VALUES = tuple(r.value for r in Role)
_ROLE_CHECK = "role IN (" + ", ".join(f"'{r}'" for r in ROLE_VALUES) + ")"

USERNAME_MAX = 64
SLUG_MAX = 64
NAME_MAX = 200
URL_MAX = 2048
DEFAULT_EXPECT_STATUS = ["200-299"]
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def new_session_nonce() -> str:
    return secrets.token_hex(8)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


# --------------------------------------------------------------------------- users


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_ROLE_CHECK, name="role_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Part of the flask-login id: rotating it (password, role or active change) ends
    # every session and "remember me" cookie of the user.
    session_nonce: Mapped[str] = mapped_column(
        String(32), default=new_session_nonce, nullable=False
    )

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_active(self) -> bool:  # flask-login
        return bool(self.active)

    def get_id(self) -> str:  # flask-login
        return f"{self.id}:{self.session_nonce}"

    def rotate_session_nonce(self) -> None:
        self.session_nonce = new_session_nonce()

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r} {self.role}>"


class ApiToken(Base):
    """An access or refresh token. Only the SHA-256 of the token is stored; a pair
    issued together shares a ``family`` so that revoking one revokes both, and a
    reused (already rotated) refresh token revokes the whole family."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("kind IN ('access', 'refresh')", name="kind_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    family: Mapped[str] = mapped_column(String(32), index=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[User] = relationship(back_populates="tokens")

    def is_valid(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


# --------------------------------------------------------------------------- sites

site_contacts = Table(
    "site_contacts",
    Base.metadata,
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
)

site_contact_groups = Table(
    "site_contact_groups",
    Base.metadata,
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("contact_groups.id", ondelete="CASCADE"), primary_key=True),
)

contact_group_members = Table(
    "contact_group_members",
    Base.metadata,
    Column("group_id", ForeignKey("contact_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
)


class Site(TimestampMixin, Base):
    """One monitored site, with every field of the site-list contract (DESIGN.md).

    ``interval_seconds``, ``timeout_seconds`` and ``confirmations`` are NULL when the
    site uses the defaults of the settings page. ``expect_status`` is a list of
    strings such as ``"200-299"``, ``"2xx"`` or ``"301"``. A paused site is left out
    of the generated site list; a site in maintenance is probed but pages nobody.
    """

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(NAME_MAX), default="", nullable=False)
    url: Mapped[str] = mapped_column(String(URL_MAX), nullable=False)
    interval_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    timeout_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    confirmations: Mapped[int | None] = mapped_column(Integer, nullable=True)
    method: Mapped[str] = mapped_column(String(10), default="GET", nullable=False)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, nullable=False)
    expect_status: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: list(DEFAULT_EXPECT_STATUS), nullable=False
    )
    body_contains: Mapped[str | None] = mapped_column(Text, nullable=True)
    body_regex: Mapped[str | None] = mapped_column(Text, nullable=True)
    follow_redirects: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    tls_verify: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    max_body_bytes: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_MAX_BODY_BYTES, nullable=False
    )
    maintenance: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, nullable=False)

    contacts: Mapped[list[Contact]] = relationship(
        secondary=site_contacts, back_populates="sites", order_by="Contact.name"
    )
    contact_groups: Mapped[list[ContactGroup]] = relationship(
        secondary=site_contact_groups, back_populates="sites", order_by="ContactGroup.name"
    )
    incidents: Mapped[list[Incident]] = relationship(back_populates="site")

    def all_contacts(self) -> list[Contact]:
        """Direct contacts and members of the site's groups, each once, by name."""
        seen: dict[int, Contact] = {c.id: c for c in self.contacts}
        for group in self.contact_groups:
            for member in group.members:
                seen.setdefault(member.id, member)
        return sorted(seen.values(), key=lambda c: (c.name.lower(), c.id))

    def __repr__(self) -> str:
        return f"<Site {self.slug!r}>"


class Contact(TimestampMixin, Base):
    """A person who is told about a site. ``phone`` is E.164 (``+15551234567``)."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    wants_email: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    wants_sms: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    sites: Mapped[list[Site]] = relationship(secondary=site_contacts, back_populates="contacts")
    groups: Mapped[list[ContactGroup]] = relationship(
        secondary=contact_group_members, back_populates="members"
    )

    def __repr__(self) -> str:
        return f"<Contact {self.id} {self.name!r}>"


class ContactGroup(TimestampMixin, Base):
    __tablename__ = "contact_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)

    members: Mapped[list[Contact]] = relationship(
        secondary=contact_group_members, back_populates="groups", order_by="Contact.name"
    )
    sites: Mapped[list[Site]] = relationship(
        secondary=site_contact_groups, back_populates="contact_groups"
    )

    def __repr__(self) -> str:
        return f"<ContactGroup {self.id} {self.name!r}>"


# --------------------------------------------------------------------------- settings


class Setting(Base):
    """One key of the settings page. Secret values are Fernet-encrypted with a key
    derived from the app's secret key; use :meth:`get_value` / :meth:`set_value`."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_secret: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )

    def get_value(self, secret_key: str) -> str | None:
        if self.value is None or not self.is_secret:
            return self.value
        return decrypt(secret_key, self.value)

    def set_value(self, secret_key: str, value: str | None, secret: bool) -> None:
        self.is_secret = secret
        self.value = encrypt(secret_key, value) if (secret and value is not None) else value

    def __repr__(self) -> str:  # never the value: it may be a secret
        return f"<Setting {self.key!r}{' (secret)' if self.is_secret else ''}>"


# --------------------------------------------------------------------------- incidents


class Incident(Base):
    """One outage of one site, opened by a firing alert and closed by its resolve.

    ``fingerprint`` is Alertmanager's alert fingerprint; with ``started_at`` it
    identifies the outage, so a retried webhook finds the incident it already made.
    ``site_slug`` is kept so that history outlives a deleted site.
    """

    __tablename__ = "incidents"
    __table_args__ = (UniqueConstraint("fingerprint", "started_at", name="uq_incident_alert"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL"), index=True, nullable=True
    )
    site_slug: Mapped[str] = mapped_column(String(SLUG_MAX), index=True, nullable=False)
    alertname: Mapped[str] = mapped_column(String(100), default="SiteDown", nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    maintenance: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )

    site: Mapped[Site | None] = relationship(back_populates="incidents")
    notifications: Mapped[list[Notification]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def duration_seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def __repr__(self) -> str:
        return f"<Incident {self.id} {self.site_slug!r} {self.started_at.isoformat()}>"


class Notification(Base):
    """A message sent (or tried) for an incident. ``dedup_key`` is unique, so that a
    retried webhook cannot send the same down/up message to the same person twice."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True, nullable=True
    )
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    event: Mapped[str] = mapped_column(String(16), nullable=False)  # down | up
    channel: Mapped[str] = mapped_column(String(16), nullable=False)  # sms | email
    recipient: Mapped[str] = mapped_column(String(320), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    error: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Revision 0002: the SMS provider used, and the attempts so far (a retried webhook
    # claims a failed or abandoned send again; see admin_app/notify/deliver.py).
    provider: Mapped[str] = mapped_column(String(32), default="", server_default="", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    incident: Mapped[Incident | None] = relationship(back_populates="notifications")


ALL_MODELS: tuple[type[Base], ...] = (
    User,
    ApiToken,
    Site,
    Contact,
    ContactGroup,
    Setting,
    Incident,
    Notification,
)


def public_dict(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The named attributes of a model as a JSON-ready dict (datetimes as ISO 8601)."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out
