"""The admin app's ``GET /metrics`` (Prometheus text format).

Counters (incremented where things happen; ``_total`` in the output):

* ``upwatch_admin_webhooks_total{result}``: calls of ``POST /hooks/alertmanager`` by
  answer: ``ok``; ``retry`` (5xx: an SMS failed with a retryable error or is being
  sent by another request, so Alertmanager sends again); ``invalid`` (400);
  ``unauthorized`` (401); ``unconfigured`` (503: no webhook token); ``error`` (500).
* ``upwatch_admin_alerts_total{alertname,status}``: alerts received, by rule name
  (the six rules of DESIGN.md, anything else as ``other``) and firing/resolved.
* ``upwatch_admin_notifications_total{channel,provider}``: SMS send attempts, as in
  Alertmanager's ``alertmanager_notifications_total``: every attempt, successful
  or not;
* ``upwatch_admin_notifications_failed_total{channel,provider,retryable}``: the
  attempts that failed; ``retryable="true"`` ones are sent again on Alertmanager's
  retry, ``"false"`` ones never.

Gauges, read at each scrape from shared state, so that every worker process
answers the same:

* ``upwatch_admin_incidents_open``: incidents without an end (from the database);
* ``upwatch_admin_notifications_pending``: SMS waiting for a retry or being sent;
* ``upwatch_admin_config_reload_pending``: 1 while a generated configuration is
  written but the exporter or Alertmanager has not reloaded it (config generation's
  status, shared between workers through its status file).

**Several worker processes** (gunicorn runs two): each process counts on its own,
so a scrape would see one worker's counters and then the other's. Set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory, writable by the workers and
emptied before the server starts (prometheus_client's multiprocess mode): the
counters are then kept in files there and every scrape sums them over all workers,
dead ones included (right for counters). The gauges above need no such care, and
no ``mark_process_dead`` hook is needed since this module keeps no live gauges in
process memory. Without the variable (one process, the tests) the counters live in
memory and ``process_*`` metrics are added.

Access: ``@public``, like ``/healthz`` and the exporter's ``/metrics``. It shows
counts only: no site names, numbers, addresses or tokens, so a scrape needs no
credentials; keep the admin app on a network where that is acceptable, as with the
exporter.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response
from prometheus_client import (
    CollectorRegistry,
    Counter,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from admin_app.logs import log
from admin_app.rbac import public

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The classic text format, as the exporter serves it (every metric name here is a
# legacy name, so the output is the same as prometheus_client's newer 1.0.0).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOK_RESULTS = ("ok", "retry", "invalid", "unauthorized", "unconfigured", "error")
KNOWN_ALERTS = (
    "SiteDown",
    "SiteSlow",
    "SiteCertificateExpiring",
    "UpwatchExporterDown",
    "UpwatchConfigReloadFailed",
    "Watchdog",
)
SMS_PROVIDER_NAMES = ("console", "twilio", "http")

WEBHOOKS = Counter(
    "upwatch_admin_webhooks",
    "Calls of POST /hooks/alertmanager, by answer.",
    ["result"],
    registry=REGISTRY,
)
ALERTS = Counter(
    "upwatch_admin_alerts",
    "Alerts received from Alertmanager, by alert name and status.",
    ["alertname", "status"],
    registry=REGISTRY,
)
NOTIFICATIONS = Counter(
    "upwatch_admin_notifications",
    "Notification send attempts, successful or not.",
    ["channel", "provider"],
    registry=REGISTRY,
)
NOTIFICATIONS_FAILED = Counter(
    "upwatch_admin_notifications_failed",
    "Notification send attempts that failed; retryable ones are tried again.",
    ["channel", "provider", "retryable"],
    registry=REGISTRY,
)

for _result in WEBHOOK_RESULTS:
    WEBHOOKS.labels(_result)
for _provider in SMS_PROVIDER_NAMES:
    NOTIFICATIONS.labels("sms", _provider)
    for _retryable in ("true", "false"):
        NOTIFICATIONS_FAILED.labels("sms", _provider, _retryable)

if not os.environ.get(MULTIPROC_ENV):
    ProcessCollector(registry=REGISTRY)
    PlatformCollector(registry=REGISTRY)


def alert_label(alertname: str) -> str:
    """Bounded: the known rule names, anything else ``other``."""
    return alertname if alertname in KNOWN_ALERTS else "other"


def count_webhook(result: str) -> None:
    WEBHOOKS.labels(result if result in WEBHOOK_RESULTS else "error").inc()


def count_alert(alertname: str, status: str) -> None:
    ALERTS.labels(alert_label(alertname), status).inc()


def count_notification(channel: str, provider: str, ok: bool, retryable: bool) -> None:
    NOTIFICATIONS.labels(channel, provider).inc()
    if not ok:
        NOTIFICATIONS_FAILED.labels(channel, provider, "true" if retryable else "false").inc()


# --------------------------------------------------------------------------- state


class StateCollector(Collector):
    """The gauges read at scrape time (values computed before, in the request)."""

    def __init__(self, values: dict[str, float | None]):
        self.values = values

    def collect(self) -> Iterator[Metric]:
        helps = {
            "upwatch_admin_incidents_open": "Incidents that have not ended.",
            "upwatch_admin_notifications_pending": (
                "SMS waiting for a retry or being sent right now."
            ),
            "upwatch_admin_config_reload_pending": (
                "1 while a generated config is written but not yet reloaded."
            ),
        }
        for name, text in helps.items():
            value = self.values.get(name)
            if value is not None:
                yield GaugeMetricFamily(name, text, value=value)


def state_values() -> dict[str, float | None]:
    """The gauges' values, from the database and config generation's status."""
    values: dict[str, float | None] = {}
    try:
        from sqlalchemy import func, select

        from admin_app.db import get_session
        from admin_app.models import Incident, Notification
        from admin_app.notify.deliver import PENDING_STATUSES

        session = get_session()
        values["upwatch_admin_incidents_open"] = session.scalar(
            select(func.count()).select_from(Incident).where(Incident.ended_at.is_(None))
        )
        values["upwatch_admin_notifications_pending"] = session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.status.in_(PENDING_STATUSES))
        )
    except Exception as exc:  # the database is down: leave the gauges out
        log("metrics_database_failed", logging.WARNING, error=exc.__class__.__name__)
    try:
        from admin_app.configgen.views import status_dict

        values["upwatch_admin_config_reload_pending"] = (
            1.0 if status_dict().get("reload_pending") else 0.0
        )
    except Exception as exc:
        log("metrics_config_status_failed", logging.WARNING, error=exc.__class__.__name__)
    return values


def scrape_registry(values: dict[str, float | None]) -> CollectorRegistry:
    """The registry of one scrape: the counters (summed over the worker processes in
    multiprocess mode) and the state gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(StateCollector(values))
    return registry


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def render() -> bytes:
    return generate_latest(scrape_registry(state_values()))


# --------------------------------------------------------------------------- endpoint

bp = Blueprint("metrics", __name__)


@bp.route("/metrics")
@public
def metrics() -> Response:
    return Response(render(), status=200, content_type=CONTENT_TYPE)


def sample_value(name: str, labels: dict[str, str] | None = None) -> float | None:
    """A counter's value in this process (tests and debugging)."""
    return REGISTRY.get_sample_value(name, labels or {})


__all__: list[Any] = [
    "ALERTS",
    "NOTIFICATIONS",
    "NOTIFICATIONS_FAILED",
    "REGISTRY",
    "WEBHOOKS",
    "bp",
    "count_alert",
    "count_notification",
    "count_webhook",
    "render",
]
