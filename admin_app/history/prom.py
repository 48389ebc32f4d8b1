"""Response-time quantiles of one site over a range, from Prometheus' HTTP API.

One instant query at the end of the range::

    histogram_quantile(q, sum by (le) (
        increase(upwatch_probe_duration_seconds_bucket{site="<id>"}[<range>s])))

for q = 0.5, 0.95 and 0.99 together (``label_replace`` tags each with its quantile).
Prometheus that cannot be reached, answers an error, or has no samples gives
``None`` for each quantile and a warning that says why; never an exception.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import datetime

import httpx

QUANTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
HISTOGRAM = "upwatch_probe_duration_seconds_bucket"


@dataclass
class Latency:
    quantiles: dict[str, float | None] = field(
        default_factory=lambda: {name: None for name, _ in QUANTILES}
    )
    warnings: list[str] = field(default_factory=list)
    # The store could not answer (unreachable, an error, or not a PromQL answer).
    failed: bool = False
    # Which store answered (``prometheus`` or ``long_term``; admin_app.history.sources).
    source: str | None = None


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def quantile_query(site: str, range_seconds: int) -> str:
    """The one PromQL expression that yields p50, p95 and p99 labelled ``quantile``."""
    selector = f"{HISTOGRAM}{{site={promql_string(site)}}}[{range_seconds}s]"
    inner = f"sum by (le) (increase({selector}))"
    parts = [
        f'label_replace(histogram_quantile({q}, {inner}), "quantile", "{name}", "", "")'
        for name, q in QUANTILES
    ]
    return " or ".join(parts)


@functools.lru_cache(maxsize=8)
def _shared_client(timeout: float) -> httpx.Client:
    """One client per timeout for the process: building one loads the CA bundle
    (tens of milliseconds), and a kept client reuses its connections."""
    return httpx.Client(timeout=timeout)


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def latency_quantiles(
    base_url: str,
    site: str,
    start: datetime,
    end: datetime,
    timeout: float = 2.0,
    transport: httpx.BaseTransport | None = None,
    store: str = "Prometheus",
) -> Latency:
    """p50/p95/p99 of ``site``'s probe duration over ``[start, end)``, in seconds.
    ``store`` names the server at ``base_url`` in warnings (any PromQL API)."""
    out = Latency()
    range_seconds = math.ceil((end - start).total_seconds())
    if range_seconds <= 0:
        out.warnings.append("response time: the range is empty")
        return out
    url = base_url.rstrip("/") + "/api/v1/query"
    params = {"query": quantile_query(site, range_seconds), "time": f"{end.timestamp():.3f}"}
    try:
        if transport is None:
            response = _shared_client(timeout).get(url, params=params)
        else:
            with httpx.Client(timeout=timeout, transport=transport) as client:
                response = client.get(url, params=params)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        out.warnings.append(
            f"response time unavailable: {store} at {base_url} could not be queried "
            f"({type(exc).__name__})"
        )
        out.failed = True
        return out
    if response.status_code != 200 or not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        out.warnings.append(
            f"response time unavailable: {store} answered {response.status_code}"
            + (f" ({error})" if error else "")
        )
        out.failed = True
        return out
    try:
        for row in body["data"]["result"]:
            name = row["metric"].get("quantile")
            if name in out.quantiles:
                out.quantiles[name] = _float(row["value"][1])
    except (KeyError, TypeError, IndexError):
        out.warnings.append(f"response time unavailable: unexpected answer from {store}")
        out.failed = True
        return out
    if all(v is None for v in out.quantiles.values()):
        out.warnings.append(f"response time: {store} has no probe durations in this range")
    return out
