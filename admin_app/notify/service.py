"""One Alertmanager webhook, handled: the incident log, then the messages.

For each alert of the payload (see :func:`admin_app.notify.payload.classify`):

* ``SiteDown`` (with a ``site`` label): firing records the outage
  (:func:`~admin_app.notify.incidents.record_down`), resolved closes it
  (:func:`~admin_app.notify.incidents.record_up`) at the exporter's own time of the
  recovery when Prometheus can tell it (:mod:`~admin_app.notify.recovery`), else
  at the alert's ``endsAt``; then, unless the site is in
  maintenance (or paused), every contact of the site who wants SMS gets the down or
  up text, once (:mod:`~admin_app.notify.deliver`). Only ``SiteDown`` pages.
* ``UpwatchExporterDown`` (an exporter cannot be scraped, so its sites are not
  monitored): an event (below), and every operations contact (the operations
  contact group of the settings page, :mod:`admin_app.settings.operations`) who
  wants SMS gets "exporter ... is down" when it fires and "... is back" when it
  resolves, once per event, with the same planning, dedup keys and delivery as a
  site's outage; no incident. Alertmanager emails the operations contacts itself.
  Nobody to page is a warning in the log (``operations_nobody_paged``).
* Other alerts (``SiteSlow``, ``SiteCertificateExpiring``,
  ``UpwatchConfigReloadFailed``, ...) are events: one log line and the
  ``upwatch_admin_alerts_total`` counter; no incident, no SMS (Alertmanager still
  emails them: to the site's contacts, or to the operations contacts).
  ``Watchdog`` is only counted.

The incident is committed before any message is sent, so a failed send (which
makes the hook answer 5xx) never loses the incident.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from admin_app import metrics
from admin_app.configgen.alertmanager_yml import nobody_warning
from admin_app.logs import log
from admin_app.models import Contact, Site
from admin_app.notify import incidents, messages, payload, recovery, sms
from admin_app.notify.deliver import Report, deliver
from admin_app.notify.plan import DOWN, UP, Delivery, Recipient, plan_deliveries
from admin_app.notify.sms.base import ProviderConfigError, SmsProvider
from admin_app.settings import operations

SettingsLoader = Callable[[], Mapping[str, Any]]


@dataclass
class HookResult:
    alerts: int = 0
    events: int = 0  # alerts recorded as events only
    ignored: int = 0
    opened: int = 0
    closed: int = 0
    incidents: list[int] = field(default_factory=list)
    report: Report = field(default_factory=Report)

    @property
    def needs_retry(self) -> bool:
        return self.report.needs_retry

    def as_dict(self) -> dict[str, Any]:
        return {
            "alerts": self.alerts,
            "events": self.events,
            "ignored": self.ignored,
            "incidents_opened": self.opened,
            "incidents_closed": self.closed,
            "incidents": self.incidents,
            "notifications": self.report.as_dict(),
        }


def recipients(contacts: Iterable[Contact]) -> list[Recipient]:
    return [
        Recipient(c.id, c.name, c.email, c.phone, bool(c.wants_email), bool(c.wants_sms))
        for c in contacts
    ]


def recipients_of(site: Site | None) -> list[Recipient]:
    return [] if site is None else recipients(site.all_contacts())


def email_is_routed(settings: Mapping[str, Any]) -> bool:
    """Whether the generated Alertmanager config emails contacts: SMTP server and
    sender are set (as config generation requires)."""
    return bool(settings.get("smtp_host") and settings.get("smtp_from"))


def sms_text(event: payload.SiteEvent, site: Site | None, incident: Any) -> str:
    name = (site.name if site is not None else "") or event.site_name or event.site
    if event.kind == DOWN:
        url = (site.url if site is not None else "") or event.url
        return messages.down_text(name, url, incident.started_at, incident.reason or event.reason)
    return messages.up_text(name, incident.duration_seconds or 0.0)


def handle(
    session: Session,
    data: payload.Payload,
    load_settings: SettingsLoader,
    prometheus_url: str | None = None,
) -> HookResult:
    """Record and message every alert of ``data``. ``prometheus_url``: where to read
    the exact recovery time of a resolved outage (:mod:`admin_app.notify.recovery`)."""
    result = HookResult(alerts=len(data.alerts))
    log(
        "webhook_received",
        receiver=data.receiver or "-",
        status=data.status,
        alerts=len(data.alerts),
        truncated=data.truncated_alerts,
    )
    settings: Mapping[str, Any] | None = None
    jobs: list[tuple[Delivery, int | None, str]] = []
    for alert in data.alerts:
        metrics.count_alert(alert.alertname, alert.status)
        kind = payload.classify(alert)
        if kind == payload.IGNORED:
            result.ignored += 1
            continue
        if kind == payload.EVENT:
            result.events += 1
            log(
                "alert_event",
                alertname=alert.alertname or "-",
                site=alert.site or "-",
                status=alert.status,
                severity=alert.severity or "-",
                fingerprint=alert.fingerprint,
            )
            if alert.alertname in payload.OPERATIONS_SMS_ALERTS:
                if settings is None:
                    settings = load_settings()
                jobs.extend(_operations_alert(session, alert, settings))
            continue
        if settings is None:
            settings = load_settings()
        jobs.extend(_incident_alert(session, alert, settings, result, prometheus_url))

    if jobs:
        assert settings is not None
        name = sms.provider_name(settings)
        with ExitStack() as stack:
            result.report = deliver(session, jobs, _provider_source(settings, stack), name)
    session.commit()
    return result


def _incident_alert(
    session: Session,
    alert: payload.Alert,
    settings: Mapping[str, Any],
    result: HookResult,
    prometheus_url: str | None,
) -> list[tuple[Delivery, int | None, str]]:
    event = payload.site_event(alert)
    if event.kind == UP and event.ended_at is not None:
        session.commit()  # no transaction stays open during the query
        recovered = recovery.recovery_time(
            prometheus_url,
            event.site,
            alert.labels.get("instance"),
            event.started_at,
            event.ended_at,
        )
        if recovered is not None:
            event = dataclasses.replace(event, ended_at=recovered)
    site = incidents.find_site(session, event.site)
    if event.kind == DOWN:
        outcome = incidents.record_down(session, event, site)
    else:
        outcome = incidents.record_up(session, event, site)
    incident = outcome.incident
    result.incidents.append(incident.id)
    if outcome.action == incidents.OPENED:
        result.opened += 1
    elif outcome.action in (incidents.CLOSED, incidents.RECORDED_CLOSED):
        result.closed += 1
    log(
        f"incident_{outcome.action}",
        site=event.site,
        incident=incident.id,
        fingerprint=event.fingerprint,
        started=incident.started_at.isoformat(),
        ended=incident.ended_at.isoformat() if incident.ended_at else "-",
        duration=incident.duration_seconds if incident.duration_seconds is not None else "-",
        reason=incident.reason or "-",
        maintenance=str(incident.maintenance).lower(),
        pages=str(outcome.pages).lower(),
        known_site=str(site is not None).lower(),
    )
    deliveries = plan_deliveries(
        site=event.site,
        fingerprint=incident.fingerprint,
        started_at=incident.started_at,
        event=DOWN if event.kind == DOWN else UP,
        recipients=recipients_of(site),
        sms_text=sms_text(event, site, incident),
        pages=outcome.pages,
        email_routed=email_is_routed(settings),
    )
    return [(d, incident.id, event.site) for d in deliveries]


def _operations_alert(
    session: Session, alert: payload.Alert, settings: Mapping[str, Any]
) -> list[tuple[Delivery, int | None, str]]:
    """An exporter down (firing) or back (resolved): the operations contacts who want
    SMS are texted, once per event, through the same planning and dedup keys as a
    site's outage (the subject ``exporter:<instance>`` in place of the site, the
    alert's start as the outage's). Those who want email are recorded as routed:
    Alertmanager mails them (the receiver ``upwatch-operations``)."""
    instance = alert.labels.get("instance", "")
    location = alert.labels.get("location", "")
    shard = alert.labels.get("shard", "")
    event = DOWN if alert.firing else UP
    if event == DOWN:
        text = messages.exporter_down_text(instance, location, shard)
    else:
        text = messages.exporter_up_text(instance, location, shard)
    group = operations.operations_group(session, settings)
    contacts = operations.members(group)
    subject = f"exporter:{instance or '-'}"
    nobody = nobody_warning(group.name if group is not None else None, contacts)
    if nobody:
        log(
            "operations_nobody_paged",
            logging.WARNING,
            alertname=alert.alertname,
            instance=instance or "-",
            status=alert.status,
            warning=nobody,
        )
    deliveries = plan_deliveries(
        site=subject,
        fingerprint=alert.fingerprint,
        started_at=payload.outage_start(alert),
        event=event,
        recipients=recipients(contacts),
        sms_text=text,
        pages=True,
        email_routed=email_is_routed(settings),
    )
    return [(d, None, subject) for d in deliveries]


def _provider_source(
    settings: Mapping[str, Any], stack: ExitStack
) -> Callable[[], tuple[SmsProvider | None, str]]:
    def source() -> tuple[SmsProvider | None, str]:
        client = stack.enter_context(sms.new_client())
        try:
            return sms.provider_from_settings(settings, client), ""
        except ProviderConfigError as exc:
            log("sms_provider_not_configured", provider=exc.provider, problems=str(exc))
            return None, str(exc)

    return source
