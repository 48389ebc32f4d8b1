"""Sending the planned messages exactly once, through the ``notifications`` table.

Each SMS :class:`~admin_app.notify.plan.Delivery` is *claimed* before it is sent:
a row with its unique ``dedup_key`` is inserted with status ``sending`` and
committed, so that another request (a retry, the other worker, a second
Alertmanager) finds it and does not send again. After the send the row becomes:

* ``sent``: done; never sent again;
* ``failed``: a permanent error (a 4xx from the provider); logged, counted, never
  retried;
* ``retry``: a retryable error (5xx, timeout, connection error, the provider not
  configured); the hook answers 5xx so that Alertmanager sends the webhook again,
  and that request claims the row again (``attempts`` + 1).

A row still ``sending`` after :data:`STALE_AFTER` belongs to a request that died
mid-send; it is claimed again (the message may then go out twice: better than not
at all). A younger one is being sent right now by another request: the request
waits up to :data:`BUSY_WAIT` for it to end, and if it has not, answers 5xx so
that Alertmanager comes back and finds out how it ended.

Claims use the ``attempts`` column as a version: ``UPDATE ... WHERE status = old
AND attempts = old``, so two requests cannot both claim a row. Email is recorded as
``routed`` (Alertmanager sends it), once per key. Sends run in a small thread pool
so that several contacts do not wait for each other; the database is only touched
on the request's thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin_app import metrics
from admin_app.db import utcnow
from admin_app.logs import log
from admin_app.models import Notification
from admin_app.notify.plan import EMAIL, SMS, Delivery
from admin_app.notify.sms.base import SendResult, SmsProvider, mask_number

SENDING = "sending"
SENT = "sent"
FAILED = "failed"
RETRY = "retry"
ROUTED = "routed"
PENDING_STATUSES = (SENDING, RETRY)
DONE_STATUSES = (SENT, FAILED, ROUTED)

STALE_AFTER = timedelta(minutes=2)
# How long a request waits for sends that another request is making before it
# answers 5xx ("in progress": Alertmanager comes back later).
BUSY_WAIT = 3.0
BUSY_POLL = 0.1
MAX_PARALLEL = 8

# A provider, or the reason there is none (its settings are incomplete).
ProviderSource = Callable[[], tuple[SmsProvider | None, str]]


@dataclass
class Report:
    """What happened to the deliveries of one webhook."""

    sent: int = 0
    failed: int = 0  # permanent
    retry: int = 0  # retryable: the hook answers 5xx
    busy: int = 0  # being sent by another request: the hook answers 5xx
    done_before: int = 0  # already sent (or failed for good) by an earlier delivery
    routed: int = 0  # email routes recorded
    errors: list[str] = field(default_factory=list)

    @property
    def needs_retry(self) -> bool:
        return bool(self.retry or self.busy)

    def as_dict(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "retry": self.retry,
            "in_progress": self.busy,
            "already_done": self.done_before,
            "email_routed": self.routed,
        }


@dataclass(frozen=True)
class Job:
    """A claimed SMS: the row's id and what to send."""

    notification_id: int
    delivery: Delivery
    incident_id: int | None
    site: str


# --------------------------------------------------------------------------- claims


def _find(session: Session, key: str) -> Notification | None:
    return session.scalar(
        select(Notification)
        .where(Notification.dedup_key == key)
        .execution_options(populate_existing=True)
    )


def claim(
    session: Session,
    delivery: Delivery,
    incident_id: int | None,
    provider: str,
    now: datetime,
) -> tuple[str, Notification | None]:
    """``("claimed", row)``, ``("done", row)`` or ``("busy", row|None)``. Commits."""
    session.commit()
    row = _find(session, delivery.dedup_key)
    if row is None:
        row = Notification(
            incident_id=incident_id,
            dedup_key=delivery.dedup_key,
            event=delivery.event,
            channel=delivery.channel,
            recipient=delivery.to,
            status=SENDING,
            provider=provider,
            attempts=1,
            last_attempt_at=now,
            created_at=now,
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # another request claimed it a moment ago
            session.rollback()
            return "busy", _find(session, delivery.dedup_key)
        return "claimed", row
    if row.status in DONE_STATUSES:
        return "done", row
    stale = row.last_attempt_at is None or row.last_attempt_at < now - STALE_AFTER
    if row.status == SENDING and not stale:
        return "busy", row
    result = session.execute(
        update(Notification)
        .where(
            Notification.id == row.id,
            Notification.status == row.status,
            Notification.attempts == row.attempts,
        )
        .values(status=SENDING, attempts=row.attempts + 1, last_attempt_at=now, provider=provider)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if result.rowcount != 1:
        return "busy", row
    session.refresh(row)
    return "claimed", row


def record_routed(session: Session, delivery: Delivery, incident_id: int | None) -> bool:
    """Record that Alertmanager routes this email (once per key). True if new."""
    session.commit()
    if _find(session, delivery.dedup_key) is not None:
        return False
    session.add(
        Notification(
            incident_id=incident_id,
            dedup_key=delivery.dedup_key,
            event=delivery.event,
            channel=EMAIL,
            recipient=delivery.to,
            status=ROUTED,
            provider="alertmanager",
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def _finish(session: Session, notification_id: int, result: SendResult, now: datetime) -> None:
    if result.ok:
        values = {"status": SENT, "sent_at": now, "error": ""}
    else:
        values = {"status": RETRY if result.retryable else FAILED, "error": result.error}
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


# --------------------------------------------------------------------------- sending


def deliver(
    session: Session,
    jobs_in: Sequence[tuple[Delivery, int | None, str]],
    provider_source: ProviderSource,
    provider_name: str,
    now: datetime | None = None,
) -> Report:
    """Claim, send and record ``(delivery, incident_id, site)`` items."""
    now = now or utcnow()
    report = Report()
    jobs: list[Job] = []
    busy: list[str] = []
    for delivery, incident_id, site in jobs_in:
        if delivery.channel == EMAIL:
            report.routed += int(record_routed(session, delivery, incident_id))
            continue
        if delivery.channel != SMS:  # pragma: no cover - the plan makes only these
            continue
        state, row = claim(session, delivery, incident_id, provider_name, now)
        if state == "claimed" and row is not None:
            jobs.append(Job(row.id, delivery, incident_id, site))
        elif state == "done":
            report.done_before += 1
        else:
            busy.append(delivery.dedup_key)
    if jobs:
        _send_and_record(session, jobs, provider_source, provider_name, report)
    if busy:
        _wait_for_others(session, busy, report)
    return report


def _wait_for_others(session: Session, keys: list[str], report: Report) -> None:
    """Wait (at most :data:`BUSY_WAIT`) for the sends another request is making;
    what is still being sent then counts as busy (the hook answers 5xx)."""
    deadline = time.monotonic() + BUSY_WAIT
    waiting = list(keys)
    unsent = 0  # the other request failed to send it (retryable): it needs a retry
    while True:
        session.commit()  # a new transaction sees the other request's commits
        still = []
        for key in waiting:
            row = _find(session, key)
            if row is not None and row.status in DONE_STATUSES:
                report.done_before += 1
            elif row is not None and row.status == RETRY:
                unsent += 1
            else:
                still.append(key)
        waiting = still
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(BUSY_POLL)
    report.busy += len(waiting) + unsent
    for key in waiting:
        log("sms_in_progress_elsewhere", dedup_key=key[:12])


def _send_and_record(
    session: Session,
    jobs: list[Job],
    provider_source: ProviderSource,
    provider_name: str,
    report: Report,
) -> None:

    provider, problem = provider_source()
    if provider is None:
        results = [SendResult.failure(problem, retryable=True)] * len(jobs)
    else:
        results = _send_all(provider, jobs)

    finished = utcnow()
    for job, result in zip(jobs, results, strict=True):
        _finish(session, job.notification_id, result, finished)
        metrics.count_notification(SMS, provider_name, result.ok, result.retryable)
        _log_result(job, result, provider_name)
        if result.ok:
            report.sent += 1
        elif result.retryable:
            report.retry += 1
            report.errors.append(result.error)
        else:
            report.failed += 1
            report.errors.append(result.error)
    session.commit()


def _send_one(provider: SmsProvider, job: Job) -> SendResult:
    try:
        return provider.send(job.delivery.to, job.delivery.text)
    except Exception as exc:  # a provider bug must not lose the others' results
        return SendResult.failure(f"{exc.__class__.__name__}: {exc}", retryable=True)


def _send_all(provider: SmsProvider, jobs: Sequence[Job]) -> list[SendResult]:
    if len(jobs) == 1:
        return [_send_one(provider, jobs[0])]
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(jobs))) as pool:
        return list(pool.map(lambda j: _send_one(provider, j), jobs))


def _log_result(job: Job, result: SendResult, provider: str) -> None:
    d = job.delivery
    common = {
        "site": job.site,
        "change": d.event,
        "contact": d.contact_id,
        "to": mask_number(d.to),
        "provider": provider,
        "incident": job.incident_id,
    }
    if result.ok:
        log("sms_sent", **common, message_id=result.message_id or "-")
    else:
        log(
            "sms_failed",
            logging.WARNING if result.retryable else logging.ERROR,
            **common,
            retryable=str(result.retryable).lower(),
            status=result.status_code or "-",
            error=result.error,
        )
