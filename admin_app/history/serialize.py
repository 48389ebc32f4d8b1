"""History as JSON: timestamps ISO 8601 UTC with ``Z``, lengths in seconds."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from admin_app.history.params import InvalidParameter
from admin_app.history.store import SiteRef
from admin_app.models import Incident
from admin_app.uptime import Segment, Summary, format_timestamp, parse_timestamp, seconds


def site_brief(site: SiteRef) -> dict[str, Any]:
    return {"id": site.slug, "name": site.name}


def range_json(
    start: datetime, end: datetime, requested: tuple[datetime, datetime], current: datetime
) -> dict[str, Any]:
    """``from``/``to``: the range measured (not before the site was added, not after
    now); ``requested``: the range asked for; ``now``: the time of the answer."""
    return {
        "from": format_timestamp(start),
        "to": format_timestamp(max(start, end)),
        "requested": {
            "from": format_timestamp(requested[0]),
            "to": format_timestamp(requested[1]),
        },
        "now": format_timestamp(current),
    }


def segment_json(seg: Segment) -> dict[str, Any]:
    return {
        "state": seg.state,
        "start": format_timestamp(seg.start),
        "end": format_timestamp(seg.end),
        "duration_seconds": seconds(seg.duration),
        "reason": seg.reason,
    }


def summary_json(summary: Summary) -> dict[str, Any]:
    mttr = summary.mttr
    return {
        "uptime_percent": summary.uptime_percent,
        "incidents": summary.incidents,
        "downtime_seconds": seconds(summary.down),
        "maintenance_seconds": seconds(summary.maintenance),
        "monitored_seconds": seconds(summary.monitored),
        "mttr_seconds": None if mttr is None else seconds(mttr),
        "longest_outage_seconds": seconds(summary.longest_outage),
    }


def incident_json(incident: Incident, site_name: str | None, current: datetime) -> dict[str, Any]:
    ended = incident.ended_at
    return {
        "id": incident.id,
        "site": {"id": incident.site_slug, "name": site_name},
        "alertname": incident.alertname,
        "status": "open" if ended is None else "closed",
        "started_at": format_timestamp(incident.started_at),
        "ended_at": None if ended is None else format_timestamp(ended),
        # an open incident's duration so far, up to now
        "duration_seconds": seconds(
            (ended or max(current, incident.started_at)) - incident.started_at
        ),
        "reason": incident.reason,
        "maintenance": incident.maintenance,
    }


# --------------------------------------------------------------------------- cursors


def encode_cursor(started_at: datetime, ident: int) -> str:
    raw = json.dumps([format_timestamp(started_at), ident], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, int]:
    """The position a cursor stands for; 400 naming ``cursor`` when it is not one."""
    try:
        padded = text + "=" * (-len(text) % 4)
        started, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(ident, int) or isinstance(ident, bool) or not 0 < ident < 2**63:
            raise ValueError
        return parse_timestamp(started), ident
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidParameter(
            "cursor", "is not a cursor from a previous page (use next_cursor as it is)"
        ) from None
