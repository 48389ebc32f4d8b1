"""Alertmanager's webhook payload (version 4) as typed values. Pure: no Flask, no
database.

The shape (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config)::

    {"version": "4", "groupKey": "...", "truncatedAlerts": 0, "status": "firing",
     "receiver": "site-shop", "groupLabels": {...}, "commonLabels": {...},
     "commonAnnotations": {...}, "externalURL": "http://am:9093",
     "alerts": [{"status": "firing", "labels": {...}, "annotations": {...},
                 "startsAt": "RFC 3339", "endsAt": "RFC 3339 or 0001-01-01T00:00:00Z",
                 "generatorURL": "...", "fingerprint": "c6a2f5e1d0b9a874"}]}

:func:`parse_payload` checks what Alertmanager guarantees (the structure, the
statuses, the times, the fingerprint) and raises :class:`PayloadError` naming the
field (``alerts[0].startsAt``); the hook answers it with 400, which Alertmanager does
not retry. What the *rules* put in annotations is read leniently: an annotation that
cannot be used (an unparsable ``down_since_unix``) falls back to the next source,
because refusing the whole webhook would lose the incident and every message.

:func:`classify` sorts the alerts: ``SiteDown`` opens and closes incidents
(:data:`INCIDENT`); other alerts about a site (``SiteSlow``,
``SiteCertificateExpiring``) and alerts about Upwatch itself are events that are
logged and counted only (:data:`EVENT`); ``Watchdog`` is ignored (:data:`IGNORED`).
:func:`site_event` turns an incident alert into a :class:`SiteEvent` (down or up).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

SUPPORTED_VERSION = "4"
FIRING = "firing"
RESOLVED = "resolved"
STATUSES = (FIRING, RESOLVED)

INCIDENT = "incident"
EVENT = "event"
IGNORED = "ignored"

# The alerts that open incidents and page people by SMS.
INCIDENT_ALERTS = frozenset({"SiteDown"})
IGNORED_ALERTS = frozenset({"Watchdog"})
# The alerts about Upwatch itself that go to the operations contacts (the contact
# group of the settings page): Alertmanager emails them (config generation routes
# them to the receiver "upwatch-operations"), and the hook texts the ones here that
# page by SMS. UpwatchConfigReloadFailed is a warning: email only.
OPERATIONS_ALERTS = ("UpwatchExporterDown", "UpwatchConfigReloadFailed")
OPERATIONS_SMS_ALERTS = frozenset({"UpwatchExporterDown"})

# Alertmanager's Go zero time: "no end time".
_ZERO_YEAR = 1
# A down_since_unix later than startsAt by more than this is not believed (the state
# change cannot come after the alert began; a little slack for clocks).
_DOWN_SINCE_SLACK = timedelta(hours=1)


class PayloadError(ValueError):
    """The payload is not what Alertmanager sends; ``field`` names where."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Alert:
    status: str  # firing | resolved
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None  # None: unset (Go's zero time)
    fingerprint: str
    generator_url: str = ""
    index: int = 0  # position in the payload, for messages

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def site(self) -> str:
        return self.labels.get("site", "")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    @property
    def firing(self) -> bool:
        return self.status == FIRING


@dataclass(frozen=True)
class Payload:
    version: str
    status: str
    receiver: str
    group_key: str
    truncated_alerts: int
    group_labels: Mapping[str, str]
    common_labels: Mapping[str, str]
    common_annotations: Mapping[str, str]
    external_url: str
    alerts: tuple[Alert, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SiteEvent:
    """One site going down (``kind="down"``) or coming back (``"up"``)."""

    kind: Literal["down", "up"]
    site: str
    alertname: str
    fingerprint: str
    # When the outage began: down_since_unix, else down_since, else startsAt.
    started_at: datetime
    # When it ended (endsAt); None for "down".
    ended_at: datetime | None
    reason: str
    site_name: str
    url: str
    # The maintenance label/annotation: True/False, None when the alert has none.
    maintenance: bool | None
    severity: str
    alert_starts_at: datetime


# --------------------------------------------------------------------------- parsing


def parse_json(body: bytes | str) -> Payload:
    """The payload of a request body (JSON text)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError("body", f"is not valid JSON ({exc})") from None
    return parse_payload(data)


def parse_payload(data: Any) -> Payload:
    if not isinstance(data, dict):
        raise PayloadError("body", "must be a JSON object (Alertmanager's webhook payload)")
    version = data.get("version")
    if version is None:
        raise PayloadError("version", 'is required (Alertmanager sends "4")')
    if str(version) != SUPPORTED_VERSION:
        raise PayloadError("version", f'{version!r} is not supported (only "4")')
    status = _status(data.get("status"), "status")
    alerts_raw = data.get("alerts")
    if alerts_raw is None:
        raise PayloadError("alerts", "is required")
    if not isinstance(alerts_raw, list):
        raise PayloadError("alerts", "must be a list")
    alerts = tuple(_alert(raw, i) for i, raw in enumerate(alerts_raw))
    truncated = data.get("truncatedAlerts", 0)
    if isinstance(truncated, bool) or not isinstance(truncated, int) or truncated < 0:
        raise PayloadError("truncatedAlerts", "must be a whole number, 0 or more")
    return Payload(
        version=SUPPORTED_VERSION,
        status=status,
        receiver=_string(data.get("receiver", ""), "receiver"),
        group_key=_string(data.get("groupKey", ""), "groupKey"),
        truncated_alerts=truncated,
        group_labels=_labels(data.get("groupLabels"), "groupLabels"),
        common_labels=_labels(data.get("commonLabels"), "commonLabels"),
        common_annotations=_labels(data.get("commonAnnotations"), "commonAnnotations"),
        external_url=_string(data.get("externalURL", ""), "externalURL"),
        alerts=alerts,
    )


def _alert(raw: Any, i: int) -> Alert:
    where = f"alerts[{i}]"
    if not isinstance(raw, dict):
        raise PayloadError(where, "must be an object")
    status = _status(raw.get("status"), f"{where}.status")
    labels = _labels(raw.get("labels"), f"{where}.labels", required=True)
    annotations = _labels(raw.get("annotations"), f"{where}.annotations")
    starts_at = parse_time(raw.get("startsAt"), f"{where}.startsAt")
    if starts_at is None:
        raise PayloadError(f"{where}.startsAt", "is required (an RFC 3339 time)")
    ends_at = parse_time(raw.get("endsAt"), f"{where}.endsAt")
    if status == RESOLVED and ends_at is None:
        raise PayloadError(f"{where}.endsAt", "is required for a resolved alert")
    fingerprint = raw.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint.strip():
        raise PayloadError(f"{where}.fingerprint", "is required (Alertmanager's alert id)")
    if len(fingerprint) > 64:
        raise PayloadError(f"{where}.fingerprint", "must be at most 64 characters")
    return Alert(
        status=status,
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        ends_at=ends_at,
        fingerprint=fingerprint.strip(),
        generator_url=_string(raw.get("generatorURL", ""), f"{where}.generatorURL"),
        index=i,
    )


def _status(value: Any, where: str) -> str:
    if value is None:
        raise PayloadError(where, "is required (firing or resolved)")
    if value not in STATUSES:
        raise PayloadError(where, f"must be firing or resolved, not {value!r}")
    return value


def _string(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(where, "must be a string")
    return value


def _labels(value: Any, where: str, required: bool = False) -> dict[str, str]:
    if value is None:
        if required:
            raise PayloadError(where, "is required")
        return {}
    if not isinstance(value, dict):
        raise PayloadError(where, "must be an object of strings")
    for key, item in value.items():
        if not isinstance(item, str):
            raise PayloadError(f"{where}.{key}", "must be a string")
    return dict(value)


def parse_time(value: Any, where: str) -> datetime | None:
    """An RFC 3339 time as an aware UTC datetime; None for absent, empty or Go's zero
    time (``0001-01-01T00:00:00Z``: "unset")."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(where, "must be an RFC 3339 time string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PayloadError(where, f"{value!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise PayloadError(where, f"{value!r} has no time zone")
    if parsed.year <= _ZERO_YEAR:
        return None
    return parsed.astimezone(UTC)


# --------------------------------------------------------------------------- meaning


def classify(alert: Alert) -> str:
    """:data:`INCIDENT`, :data:`EVENT` or :data:`IGNORED` (see the module doc)."""
    if alert.alertname in IGNORED_ALERTS:
        return IGNORED
    if alert.alertname in INCIDENT_ALERTS and alert.site:
        return INCIDENT
    return EVENT


def _value(alert: Alert, key: str) -> str:
    """A label, else an annotation, stripped ("" when neither)."""
    value = alert.labels.get(key)
    if value is None:
        value = alert.annotations.get(key, "")
    return value.strip()


def maintenance_flag(alert: Alert) -> bool | None:
    """The ``maintenance`` label (or annotation): True, False, or None if absent or
    not a boolean."""
    value = _value(alert, "maintenance").lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    return None


def outage_start(alert: Alert) -> datetime:
    """When the site went down: the ``down_since_unix`` annotation (seconds since the
    epoch, any float notation Go prints, e.g. ``1.7000001e+09``), else
    ``down_since`` (RFC 3339), else ``startsAt``. Rounded to the millisecond so that
    the same alert always gives the same start. A value later than ``startsAt``
    (beyond an hour of clock slack), zero or negative is not believed."""
    limit = alert.starts_at + _DOWN_SINCE_SLACK
    raw_unix = alert.annotations.get("down_since_unix", "").strip()
    if raw_unix:
        try:
            seconds = float(raw_unix)
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds) and seconds > 0:
            try:
                candidate = datetime.fromtimestamp(round(seconds, 3), UTC)
            except (OverflowError, OSError, ValueError):
                candidate = None
            if candidate is not None and candidate <= limit:
                return candidate
    raw_text = alert.annotations.get("down_since", "").strip()
    if raw_text:
        try:
            candidate = parse_time(raw_text, "down_since")
        except PayloadError:
            candidate = None
        if candidate is not None and candidate <= limit:
            return _millis(candidate)
    return _millis(alert.starts_at)


def _millis(value: datetime) -> datetime:
    return value.replace(microsecond=(value.microsecond // 1000) * 1000)


def site_event(alert: Alert) -> SiteEvent:
    """The down (firing) or up (resolved) event of an incident alert."""
    started_at = outage_start(alert)
    ended_at = None
    if not alert.firing:
        assert alert.ends_at is not None  # parse_payload guarantees it
        ended_at = max(_millis(alert.ends_at), started_at)
    return SiteEvent(
        kind="down" if alert.firing else "up",
        site=alert.site,
        alertname=alert.alertname,
        fingerprint=alert.fingerprint,
        started_at=started_at,
        ended_at=ended_at,
        reason=_one_line(alert.annotations.get("reason", "")),
        site_name=_one_line(alert.annotations.get("site_name", "")),
        url=_one_line(alert.annotations.get("url", "")),
        maintenance=maintenance_flag(alert),
        severity=alert.severity,
        alert_starts_at=alert.starts_at,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())
