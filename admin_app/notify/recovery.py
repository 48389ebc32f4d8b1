"""When a site came back, as the exporter saw it, from Prometheus.

A resolved alert's ``endsAt`` is the rule evaluation that found the site up again:
after the exporter's successful probe, Prometheus' next scrape and its next rule
evaluation, so up to a scrape and an evaluation interval late. The exporter records
the moment itself (``upwatch_site_state_change_timestamp_seconds``: for a recovery,
the successful probe), and the resolved alert's annotations cannot carry it (they
are those of its last firing evaluation). So the hook asks Prometheus, at the time
``endsAt``, for the site's last state change while it was up::

    upwatch_site_state_change_timestamp_seconds{site="shop",instance="..."}
      and on (site, instance) (upwatch_site_up{site="shop",instance="..."} == 1)

and uses it as the incident's end when it lies after the start and not after
``endsAt``. Prometheus unreachable, an error, no such series (the site was removed
from the list) or an implausible value: ``None``, and the end stays ``endsAt``.
Never an exception.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import httpx

from admin_app.logs import log

TIMEOUT = 2.0
# endsAt and the exporter's clock may differ a little (same host in the usual setup).
SLACK = timedelta(seconds=1)


def promql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def recovery_query(site: str, instance: str | None) -> str:
    """The PromQL expression (pure)."""
    matchers = f"site={promql_string(site)}"
    if instance:
        matchers += f",instance={promql_string(instance)}"
    return (
        f"upwatch_site_state_change_timestamp_seconds{{{matchers}}}"
        f" and on (site, instance) (upwatch_site_up{{{matchers}}} == 1)"
    )


def pick(result: object, started_at: datetime, ended_at: datetime) -> datetime | None:
    """The recovery time out of an instant query's ``data.result`` (pure): the
    latest plausible value, rounded to the millisecond."""
    if not isinstance(result, list):
        return None
    best: datetime | None = None
    for row in result:
        try:
            seconds = float(row["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if not math.isfinite(seconds) or seconds <= 0:
            continue
        try:
            when = datetime.fromtimestamp(round(seconds, 3), UTC)
        except (OverflowError, OSError, ValueError):
            continue
        if started_at < when <= ended_at + SLACK and (best is None or when > best):
            best = when
    if best is not None and best > ended_at:
        best = ended_at
    return best


def recovery_time(
    base_url: str | None,
    site: str,
    instance: str | None,
    started_at: datetime,
    ended_at: datetime,
    timeout: float = TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> datetime | None:
    if not base_url:
        return None
    url = base_url.split(",")[0].strip().rstrip("/") + "/api/v1/query"
    params = {"query": recovery_query(site, instance), "time": f"{ended_at.timestamp():.3f}"}
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            response = client.get(url, params=params)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log("recovery_time_unavailable", site=site, error=exc.__class__.__name__)
        return None
    if response.status_code != 200 or not isinstance(body, dict):
        log("recovery_time_unavailable", site=site, status=response.status_code)
        return None
    data = body.get("data")
    result = data.get("result") if isinstance(data, dict) else None
    return pick(result, started_at, ended_at)
