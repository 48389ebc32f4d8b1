"""Which time-series store answers a history range: Prometheus for ranges inside its
retention, the long-term store for ranges reaching further back.

Prometheus keeps ``UPWATCH_PROMETHEUS_RETENTION`` (default ``15d``, its own default)
and remote-writes everything to a long-term store with the same query API
(VictoriaMetrics, ``UPWATCH_LONG_TERM_URL``). A range whose start is older than
now minus the retention is read from the long-term store; any other from
Prometheus. Without a long-term store such a range is read from Prometheus with a
warning that older data may be missing; a long-term store that cannot answer
(down, an error) falls back to Prometheus with a warning saying so. The answer says
which store answered (``source``: ``prometheus``, ``long_term``, or ``None`` when
neither could). :func:`pick_store` is the pure rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from admin_app.config import DEFAULT_PROMETHEUS_RETENTION, parse_duration
from admin_app.history.prom import Latency, latency_quantiles

PROMETHEUS = "prometheus"
LONG_TERM = "long_term"
SOURCES = (PROMETHEUS, LONG_TERM)
DEFAULT_PROMETHEUS_URL = "http://127.0.0.1:9090"


@dataclass(frozen=True, slots=True)
class Stores:
    """Where range queries go: read from the app config by :meth:`from_config`."""

    prometheus_url: str
    long_term_url: str | None = None
    retention: timedelta = timedelta(days=15)
    retention_text: str = DEFAULT_PROMETHEUS_RETENTION
    timeout: float = 2.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Stores:
        text = str(config.get("PROMETHEUS_RETENTION") or DEFAULT_PROMETHEUS_RETENTION)
        return cls(
            prometheus_url=config.get("PROMETHEUS_URL") or DEFAULT_PROMETHEUS_URL,
            long_term_url=(config.get("LONG_TERM_URL") or None),
            retention=parse_duration(text),
            retention_text=text,
            timeout=float(config.get("PROMETHEUS_TIMEOUT", 2.0)),
        )


def beyond_retention(start: datetime, current: datetime, retention: timedelta) -> bool:
    """Whether ``start`` is older than what Prometheus keeps at ``current``."""
    return start < current - retention


def pick_store(start: datetime, current: datetime, stores: Stores) -> str:
    """``long_term`` for a range starting before Prometheus' retention when a
    long-term store is configured; ``prometheus`` otherwise."""
    if stores.long_term_url and beyond_retention(start, current, stores.retention):
        return LONG_TERM
    return PROMETHEUS


Query = Callable[..., Latency]


def latency_for_range(
    stores: Stores,
    site: str,
    start: datetime,
    end: datetime,
    current: datetime,
    transport: httpx.BaseTransport | None = None,
    query: Query = latency_quantiles,
) -> Latency:
    """The response-time quantiles of ``site`` over ``[start, end)`` from the store
    :func:`pick_store` names, falling back to Prometheus; ``source`` says which
    store answered, ``warnings`` what may be missing."""
    old = beyond_retention(start, current, stores.retention)
    warnings: list[str] = []
    if pick_store(start, current, stores) == LONG_TERM:
        assert stores.long_term_url is not None
        answer = query(
            stores.long_term_url,
            site,
            start,
            end,
            timeout=stores.timeout,
            transport=transport,
            store="the long-term store",
        )
        if not answer.failed:
            answer.source = LONG_TERM
            return answer
        warnings.extend(answer.warnings)
        warnings.append(
            f"response time: answered by Prometheus instead, which keeps "
            f"{stores.retention_text}: data older than that may be missing"
        )
    elif old:
        warnings.append(
            f"response time: the range starts before Prometheus' retention "
            f"({stores.retention_text}) and no long-term store is configured "
            "(UPWATCH_LONG_TERM_URL): older data may be missing"
        )
    answer = query(
        stores.prometheus_url,
        site,
        start,
        end,
        timeout=stores.timeout,
        transport=transport,
    )
    answer.source = None if answer.failed else PROMETHEUS
    answer.warnings[:0] = warnings
    return answer
