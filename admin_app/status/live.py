"""The live part of the status dashboard: each site's current state and response time,
read from Prometheus' HTTP API.

One :func:`fetch_live` asks Prometheus five instant queries (a few milliseconds
each, one round trip per family however many sites there are):

* ``upwatch_site_up`` -- 1 up, 0 down, after the exporter's confirmations;
* ``upwatch_site_maintenance == 1`` -- sites the exporter treats as in maintenance;
* the response time: the mean probe duration of the last minute from the histogram's
  ``_sum`` and ``_count``, falling back on the recording rule
  ``site:upwatch_probe_duration_seconds:mean5m`` for sites probed less often;
* ``upwatch_site_state_change_timestamp_seconds`` -- since when the state holds;
* ``upwatch_site_failure_reason == 1`` -- why the last probe failed.

Prometheus that cannot be reached, or that answers an error, gives a
:class:`LiveSnapshot` with ``ok=False`` and an ``error`` a person can act on;
never an exception. :class:`LiveCache` shares one snapshot between every viewer
of a process for a short time, so that many dashboards and their event streams
cost Prometheus one set of queries per ``ttl``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

# A site probed from several locations (exporters with --location) has a series per
# location: each query aggregates by site. The state follows the same quorum as the
# SiteDown alert (site:upwatch_site_up:unless_maintenance, prometheus/rules/
# recording.yml), falling back on "up if any location sees it up" for sites the
# rule does not cover (in maintenance, or before its first evaluation); "since" is
# when the outage began as the quorum sees it while the site is down per its
# quorum. The response time is the mean over every location's probes.
UP_QUERY = "site:upwatch_site_up:unless_maintenance or max by (site) (upwatch_site_up)"
MAINTENANCE_QUERY = "max by (site) (upwatch_site_maintenance) == 1"
LATENCY_QUERY = (
    "(sum by (site) (rate(upwatch_probe_duration_seconds_sum[1m]))"
    " / sum by (site) (rate(upwatch_probe_duration_seconds_count[1m]))) >= 0"
    " or max by (site) (site:upwatch_probe_duration_seconds:mean5m) >= 0"
)
SINCE_QUERY = (
    "site:upwatch_site_down:quorum or max by (site) (upwatch_site_state_change_timestamp_seconds)"
)
REASON_QUERY = "upwatch_site_failure_reason == 1"


@dataclass(frozen=True, slots=True)
class SiteLive:
    """What Prometheus knows of one site right now."""

    up: int | None = None  # 1, 0, or None: no result yet
    maintenance: bool = False
    response_seconds: float | None = None
    since: float | None = None  # unix time of the last up/down change
    reason: str = ""  # why the last probe failed ("" when it did not)


@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    sites: dict[str, SiteLive] = field(default_factory=dict)
    ok: bool = True
    error: str = ""
    fetched_at: float = 0.0  # unix time


class PrometheusError(Exception):
    pass


def _vector(client: httpx.Client, base_url: str, expr: str) -> list[dict[str, Any]]:
    try:
        response = client.get(f"{base_url}/api/v1/query", params={"query": expr})
    except httpx.TimeoutException:
        raise PrometheusError(f"Prometheus at {base_url} did not answer in time") from None
    except httpx.HTTPError as exc:
        raise PrometheusError(
            f"Prometheus at {base_url} is unreachable ({type(exc).__name__})"
        ) from None
    try:
        body = response.json()
    except ValueError:
        raise PrometheusError(
            f"Prometheus at {base_url} answered {response.status_code} without JSON"
        ) from None
    if response.status_code != 200 or not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        raise PrometheusError(
            f"Prometheus at {base_url} answered {response.status_code}"
            + (f": {error}" if error else "")
        )
    data = body.get("data")
    result = data.get("result") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("resultType") != "vector"
        or not isinstance(result, list)
    ):
        raise PrometheusError(f"Prometheus at {base_url} gave an unexpected answer")
    return result


def _samples(rows: list[dict[str, Any]]) -> dict[str, tuple[float, dict[str, str]]]:
    """``site -> (value, labels)`` of an instant vector; NaN and rows without a site
    are left out."""
    out: dict[str, tuple[float, dict[str, str]]] = {}
    for row in rows:
        try:
            labels = row["metric"]
            value = float(row["value"][1])
        except (KeyError, TypeError, ValueError, IndexError):
            continue
        site = labels.get("site") if isinstance(labels, dict) else None
        if not site or math.isnan(value):
            continue
        out[site] = (value, labels)
    return out


def fetch_live(
    base_url: str,
    timeout: float = 2.0,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> LiveSnapshot:
    """Every site's live state from Prometheus (see the module doc)."""
    base_url = base_url.rstrip("/")
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            up = _samples(_vector(client, base_url, UP_QUERY))
            maintenance = _samples(_vector(client, base_url, MAINTENANCE_QUERY))
            latency = _samples(_vector(client, base_url, LATENCY_QUERY))
            since = _samples(_vector(client, base_url, SINCE_QUERY))
            reasons = _samples(_vector(client, base_url, REASON_QUERY))
    except PrometheusError as exc:
        return LiveSnapshot({}, ok=False, error=str(exc), fetched_at=clock())
    sites: dict[str, SiteLive] = {}
    for site in set(up) | set(maintenance) | set(latency) | set(since):
        up_value = up.get(site, (None, {}))[0]
        latency_value = latency.get(site, (None, {}))[0]
        since_value = since.get(site, (None, {}))[0]
        sites[site] = SiteLive(
            up=None if up_value is None else (1 if up_value >= 1 else 0),
            maintenance=site in maintenance,
            response_seconds=latency_value
            if latency_value is not None and math.isfinite(latency_value)
            else None,
            since=since_value if since_value and math.isfinite(since_value) else None,
            reason=reasons[site][1].get("reason", "") if site in reasons else "",
        )
    return LiveSnapshot(sites, ok=True, error="", fetched_at=clock())


class LiveCache:
    """One value shared by every thread of a process, fetched again when older than
    ``ttl`` seconds. One thread fetches; the others wait for it (the fetch is
    bounded by its own timeout) rather than asking Prometheus at the same time.
    ``version`` changes whenever a new value is stored."""

    def __init__(
        self,
        fetch: Callable[[], Any],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._value: Any = None
        self._at: float | None = None
        self.version = 0

    def get(self) -> Any:
        at = self._at
        if at is not None and self._clock() - at < self.ttl:
            return self._value
        with self._lock:
            at = self._at
            if at is None or self._clock() - at >= self.ttl:
                self._value = self._fetch()
                self._at = self._clock()
                self.version += 1
            return self._value

    def invalidate(self) -> None:
        with self._lock:
            self._at = None
