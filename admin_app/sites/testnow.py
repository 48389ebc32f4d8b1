"""Running "test now" for a stored site with the app's exporter settings."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from admin_app.configgen.apply import split_urls
from admin_app.models import Site
from admin_app.sites.defaults import load_defaults
from admin_app.sites.probe import MAX_TIMEOUT, ProbeOutcome, probe_site, request_timeout


def effective_timeout(session: Session, site: Site) -> float:
    """The timeout the exporter uses for the site (its own, or the default cut to
    the interval, as the exporter does)."""
    if site.timeout_seconds is not None:
        return site.timeout_seconds
    defaults = load_defaults(session)
    interval = site.interval_seconds if site.interval_seconds is not None else defaults.interval
    return min(defaults.timeout, interval)


def probe_now(session: Session, site: Site) -> ProbeOutcome:
    config = current_app.config
    timeout = request_timeout(
        effective_timeout(session, site),
        float(config.get("EXPORTER_PROBE_TIMEOUT") or MAX_TIMEOUT),
    )
    return probe_site(split_urls(config.get("EXPORTER_URL")), site.slug, timeout, site.paused)
