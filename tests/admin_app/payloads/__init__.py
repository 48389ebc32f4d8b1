"""Alertmanager webhook payloads for the tests: the golden files of this folder
(the shape of Alertmanager's documentation, version 4, with the labels and
annotations Upwatch's rules set) and builders for variations.

The golden outage: "Web shop" (site ``shop``) went down at 2024-05-02T10:00:00.5Z
(``down_since_unix``), Prometheus fired ``SiteDown`` at 10:00:31, and it resolved at
10:04:12.5: down for 4m 12s, reason ``timeout``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

FINGERPRINT = "c6a2f5e1d0b9a874"
DOWN_SINCE = "2024-05-02T10:00:00.5Z"
DOWN_SINCE_UNIX = "1.7146440005e+09"
STARTS_AT = "2024-05-02T10:00:31.228461789Z"
ENDS_AT = "2024-05-02T10:04:12.5Z"
ZERO = "0001-01-01T00:00:00Z"


def load(name: str) -> dict[str, Any]:
    """A golden payload (``sitedown_firing``, ``sitedown_resolved``, ``watchdog``,
    ``siteslow_and_cert_firing``), a fresh copy each time."""
    return json.loads((HERE / f"{name}.json").read_text())


def alert(
    status: str = "firing",
    *,
    site: str = "shop",
    alertname: str = "SiteDown",
    fingerprint: str = FINGERPRINT,
    starts_at: str = STARTS_AT,
    ends_at: str | None = None,
    down_since_unix: str | None = DOWN_SINCE_UNIX,
    reason: str = "timeout",
    maintenance: str | None = "false",
    site_name: str = "Web shop",
    url: str = "https://shop.example.com/health",
    **extra_annotations: str,
) -> dict[str, Any]:
    labels = {
        "alertname": alertname,
        "instance": "127.0.0.1:9115",
        "job": "upwatch",
        "severity": "critical",
        "site": site,
    }
    if maintenance is not None:
        labels["maintenance"] = maintenance
    annotations = {"reason": reason, "site_name": site_name, "url": url, **extra_annotations}
    if down_since_unix is not None:
        annotations["down_since_unix"] = down_since_unix
    if ends_at is None:
        ends_at = ENDS_AT if status == "resolved" else ZERO
    return {
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": fingerprint,
    }


def webhook(*alerts: dict[str, Any], receiver: str = "site-shop") -> dict[str, Any]:
    """A payload around ``alerts`` (common labels computed as Alertmanager does)."""
    alerts_list = [copy.deepcopy(a) for a in alerts]
    common: dict[str, str] = {}
    if alerts_list:
        common = dict(alerts_list[0]["labels"])
        for a in alerts_list[1:]:
            common = {k: v for k, v in common.items() if a["labels"].get(k) == v}
    firing = any(a["status"] == "firing" for a in alerts_list)
    return {
        "version": "4",
        "groupKey": '{}:{alertname="SiteDown"}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": {k: common[k] for k in ("alertname", "site") if k in common},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": alerts_list,
    }
