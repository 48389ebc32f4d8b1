"""Who gets what for one down or up event, and the key that makes each message
happen once. Pure.

A :class:`Delivery` is one message to one person on one channel. Its
``dedup_key`` (:func:`dedup_key`) is unique in the ``notifications`` table, so a
webhook delivered twice (Alertmanager's retries, a restarted Alertmanager sending
again, two Alertmanagers of a cluster) cannot message anyone twice for the same
event: the key is made of the site, the alert's fingerprint, the start of the
outage, the event (down/up), the contact and the channel.

* SMS: every contact of the site (directly or through a group) who wants SMS and
  has a phone number; only when the event pages (not in maintenance, only for the
  alerts that page).
* Email is sent by Alertmanager itself; when SMTP is configured the contacts who
  want email are recorded as ``routed``, for the alerts page.

An exporter that is down or back (``UpwatchExporterDown``) is planned the same way
for the operations contacts, with ``exporter:<instance>`` in place of the site
(:func:`admin_app.notify.service._operations_alert`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from admin_app.configgen.specs import wanted

SMS = "sms"
EMAIL = "email"
DOWN = "down"
UP = "up"


@dataclass(frozen=True)
class Recipient:
    """A contact, as far as messaging goes (built from a Contact row)."""

    contact_id: int
    name: str
    email: str | None = None
    phone: str | None = None
    wants_email: bool = True
    wants_sms: bool = False

    @property
    def sms_number(self) -> str | None:
        return wanted(self.wants_sms, self.phone)

    @property
    def email_address(self) -> str | None:
        return wanted(self.wants_email, self.email)


@dataclass(frozen=True)
class Delivery:
    contact_id: int
    contact_name: str
    channel: str  # sms | email
    event: str  # down | up
    to: str  # the E.164 number or the email address
    text: str  # the SMS text ("" for email: Alertmanager renders it)
    dedup_key: str


def dedup_key(
    site: str,
    fingerprint: str,
    started_at: datetime,
    event: str,
    contact_id: int,
    channel: str,
) -> str:
    """SHA-256 (hex) of site, fingerprint, outage start (ms), event, contact, channel."""
    start_ms = round(started_at.timestamp() * 1000)
    raw = "\x1f".join([site, fingerprint, str(start_ms), event, str(contact_id), channel])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def plan_deliveries(
    *,
    site: str,
    fingerprint: str,
    started_at: datetime,
    event: str,
    recipients: Iterable[Recipient],
    sms_text: str,
    pages: bool,
    email_routed: bool,
) -> list[Delivery]:
    """The messages of one event. ``pages``: whether people are told at all (False in
    maintenance and for alerts that do not page); ``email_routed``: whether
    Alertmanager has an email route (SMTP configured) to record."""
    if not pages:
        return []
    out: list[Delivery] = []
    seen: set[tuple[int, str]] = set()
    for r in recipients:
        channels = []
        if r.sms_number:
            channels.append((SMS, r.sms_number, sms_text))
        if email_routed and r.email_address:
            channels.append((EMAIL, r.email_address, ""))
        for channel, to, text in channels:
            if (r.contact_id, channel) in seen:
                continue
            seen.add((r.contact_id, channel))
            key = dedup_key(site, fingerprint, started_at, event, r.contact_id, channel)
            out.append(Delivery(r.contact_id, r.name, channel, event, to, text, key))
    return out
