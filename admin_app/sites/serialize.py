"""A site as the JSON API returns it: the site-list fields (DESIGN.md), then what the
admin app adds (``paused``, direct ``contacts``, ``contact_groups``, and
``all_contacts``: everyone told, directly or through a group).

``interval``, ``timeout`` and ``confirmations`` are ``null`` when the site uses the
defaults of the settings page. The HTTP-only fields are left out for tcp:// sites,
as in the site list, so that what GET returns can be sent back as it is.
"""

from __future__ import annotations

from typing import Any

from admin_app.contacts.service import by_name, contact_brief, group_brief
from admin_app.models import Site, public_dict
from admin_app.sites.validation import is_tcp_url
from exporter.config import format_duration


def _duration(seconds: float | None) -> str | None:
    return None if seconds is None else format_duration(seconds)


def site_json(site: Site) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": site.slug,
        "name": site.name,
        "url": site.url,
        "interval": _duration(site.interval_seconds),
        "timeout": _duration(site.timeout_seconds),
        "confirmations": site.confirmations,
    }
    if not is_tcp_url(site.url):
        expect: dict[str, Any] = {"status": list(site.expect_status or [])}
        if site.body_contains:
            expect["body_contains"] = site.body_contains
        if site.body_regex:
            expect["body_regex"] = site.body_regex
        out.update(
            {
                "method": site.method,
                "headers": dict(site.headers or {}),
                "expect": expect,
                "follow_redirects": site.follow_redirects,
                "tls_verify": site.tls_verify,
                "max_body_bytes": site.max_body_bytes,
            }
        )
    out.update(
        {
            "maintenance": site.maintenance,
            "labels": dict(site.labels or {}),
            "paused": site.paused,
            "contacts": [contact_brief(c) for c in by_name(site.contacts)],
            "contact_groups": [group_brief(g) for g in by_name(site.contact_groups)],
            "all_contacts": [contact_brief(c) for c in site.all_contacts()],
        }
    )
    out.update(public_dict(site, ("created_at", "updated_at")))
    return out
