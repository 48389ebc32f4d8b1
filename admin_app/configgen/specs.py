"""The input of config generation: plain, immutable values, free of SQLAlchemy.

:mod:`admin_app.configgen.from_models` builds these from the database rows; tests and
tools can build them by hand. Every mapping is stored as a tuple of ``(key, value)``
pairs so that the specs are hashable and comparable; the constructors accept dicts
and convert them.

``None`` in a per-site field means "use the default": the site list then leaves the
key out and the exporter applies the ``defaults`` block or its own default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Pairs = tuple[tuple[str, str], ...]


def to_pairs(value: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> Pairs:
    """A mapping (or pairs) as a tuple of ``(str, str)`` pairs, in the given order."""
    if not value:
        return ()
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), str(v)) for k, v in items)


def _freeze(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def wanted(wants: bool, value: str | None) -> str | None:
    """A contact's address or number for a channel: when they want that channel
    and have a non-blank one, stripped; else None. One rule for Alertmanager's
    emails (ContactSpec) and the admin app's messages (notify.plan.Recipient)."""
    if wants and value and value.strip():
        return value.strip()
    return None


@dataclass(frozen=True)
class ContactSpec:
    """A person told about a site. Email goes through Alertmanager (``email_configs``);
    SMS goes through the admin app's webhook, which looks the contacts up itself."""

    name: str
    email: str | None = None
    phone: str | None = None
    wants_email: bool = True
    wants_sms: bool = False

    @property
    def email_address(self) -> str | None:
        """The address to mail, when this contact wants email and has one."""
        return wanted(self.wants_email, self.email)


@dataclass(frozen=True)
class SiteSpec:
    """One site, with every field of the site-list contract (DESIGN.md) plus what the
    admin app alone knows: ``paused`` and the resolved ``contacts``."""

    slug: str
    url: str
    name: str = ""
    interval_seconds: float | None = None
    timeout_seconds: float | None = None
    confirmations: int | None = None
    method: str | None = None
    headers: Pairs = ()
    expect_status: tuple[str, ...] = ()
    body_contains: str | None = None
    body_regex: str | None = None
    follow_redirects: bool | None = None
    tls_verify: bool | None = None
    max_body_bytes: int | None = None
    maintenance: bool = False
    paused: bool = False
    labels: Pairs = ()
    # Direct contacts and contacts through groups, each once.
    contacts: tuple[ContactSpec, ...] = ()

    def __post_init__(self) -> None:
        _freeze(self, "headers", to_pairs(self.headers))
        _freeze(self, "labels", to_pairs(self.labels))
        status = self.expect_status
        if isinstance(status, str | int):
            status = (status,)
        _freeze(self, "expect_status", tuple(str(s) for s in status or ()))
        _freeze(self, "contacts", dedupe_contacts(self.contacts or ()))

    @property
    def is_tcp(self) -> bool:
        return self.url.strip().lower().startswith("tcp://")

    @property
    def display_name(self) -> str:
        return self.name or self.slug

    def email_addresses(self) -> tuple[str, ...]:
        """The addresses to mail about this site, each once (compared without case),
        in contact order. Empty for a site in maintenance."""
        if self.maintenance:
            return ()
        return email_addresses(self.contacts)


def email_addresses(contacts: Iterable[ContactSpec]) -> tuple[str, ...]:
    """The addresses to mail of ``contacts`` (those who want email), each once
    (compared without case), in contact order."""
    seen: dict[str, str] = {}
    for contact in contacts:
        address = contact.email_address
        if address:
            seen.setdefault(address.lower(), address)
    return tuple(seen.values())


def dedupe_contacts(contacts: Iterable[ContactSpec]) -> tuple[ContactSpec, ...]:
    """Contacts in first-seen order with exact duplicates removed (a person who is a
    direct contact and also in one of the site's groups)."""
    out: dict[ContactSpec, None] = {}
    for contact in contacts:
        out.setdefault(contact, None)
    return tuple(out)


@dataclass(frozen=True)
class SmtpSpec:
    """Alertmanager's global SMTP settings. ``smarthost`` is ``host:port``."""

    smarthost: str | None = None
    from_address: str | None = None
    auth_username: str | None = None
    auth_password: str | None = field(default=None, repr=False)
    require_tls: bool | None = None
    hello: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.smarthost and self.from_address)


@dataclass(frozen=True)
class GlobalSpec:
    """What every site shares: the defaults of the settings page, where Alertmanager
    reaches the admin app, how it mails, and the links put in the emails."""

    default_interval_seconds: float = 30.0
    default_timeout_seconds: float = 10.0
    default_confirmations: int = 2
    # Base URL of the admin app as Alertmanager reaches it (the webhook) and as people
    # reach it (the links in emails).
    admin_base_url: str = "http://127.0.0.1:8000"
    webhook_token: str | None = field(default=None, repr=False)
    smtp: SmtpSpec = field(default_factory=SmtpSpec)
    grafana_url: str | None = None
    # Who operates Upwatch itself: the members of the operations contact group of
    # the settings page, told about the exporter-wide alerts (UpwatchExporterDown,
    # UpwatchConfigReloadFailed). ``operations_group`` is the group's name, None
    # when no group is set.
    operations_group: str | None = None
    operations: tuple[ContactSpec, ...] = ()

    def __post_init__(self) -> None:
        _freeze(self, "operations", dedupe_contacts(self.operations or ()))

    @property
    def webhook_url(self) -> str:
        return self.admin_base_url.rstrip("/") + "/hooks/alertmanager"
