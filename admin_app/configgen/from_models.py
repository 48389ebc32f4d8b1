"""Database rows -> specs (the input of generation).

The adapters read attributes only (``site.slug``, ``contact.email``, ...), so they
work on :mod:`admin_app.models` objects and on any object shaped like them (tests
use simple namespaces). :func:`load_specs` is the one function here that queries
the database; it reads everything generation needs in a fixed number of queries.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from typing import Any

from admin_app.configgen.specs import ContactSpec, GlobalSpec, SiteSpec, SmtpSpec

DEFAULT_ADMIN_URL = "http://127.0.0.1:8000"


def contact_spec(contact: Any) -> ContactSpec:
    return ContactSpec(
        name=contact.name or "",
        email=(contact.email or None),
        phone=(contact.phone or None),
        wants_email=bool(contact.wants_email),
        wants_sms=bool(contact.wants_sms),
    )


def site_contacts(site: Any) -> list[Any]:
    """Direct contacts and contacts through groups, each once (by ``id`` when the
    objects have one). Uses ``Site.all_contacts()`` when the model has it, so that
    the app has one definition of "the site's people"."""
    all_contacts = getattr(site, "all_contacts", None)
    if callable(all_contacts):
        return list(all_contacts())
    groups = getattr(site, "contact_groups", None)
    if groups is None:
        groups = getattr(site, "groups", ()) or ()
    seen: dict[Any, Any] = {}
    for contact in [*(site.contacts or ()), *(m for g in groups for m in (g.members or ()))]:
        seen.setdefault(getattr(contact, "id", None) or id(contact), contact)
    return list(seen.values())


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def site_spec(site: Any) -> SiteSpec:
    return SiteSpec(
        slug=site.slug,
        name=site.name or "",
        url=site.url,
        interval_seconds=_optional_float(site.interval_seconds),
        timeout_seconds=_optional_float(site.timeout_seconds),
        confirmations=site.confirmations,
        method=site.method or None,
        headers=dict(site.headers or {}),
        expect_status=tuple(site.expect_status or ()),
        body_contains=site.body_contains or None,
        body_regex=site.body_regex or None,
        follow_redirects=site.follow_redirects,
        tls_verify=site.tls_verify,
        max_body_bytes=site.max_body_bytes,
        maintenance=bool(site.maintenance),
        paused=bool(site.paused),
        labels=dict(site.labels or {}),
        contacts=tuple(contact_spec(c) for c in site_contacts(site)),
    )


def site_specs(sites: Iterable[Any]) -> list[SiteSpec]:
    return [site_spec(s) for s in sites]


def _setting(settings: Mapping[str, Any], key: str, default: Any) -> Any:
    value = settings.get(key)
    return default if value is None or value == "" else value


def global_spec(
    settings: Mapping[str, Any],
    config: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
) -> GlobalSpec:
    """``settings``: the effective settings (``admin_app.settings.store.effective``:
    smtp_host, smtp_port, smtp_from, smtp_username, smtp_password, smtp_require_tls,
    default_interval_seconds, default_timeout_seconds, default_confirmations).
    ``config``: the Flask config (WEBHOOK_TOKEN; ADMIN_URL and GRAFANA_URL when set,
    else ``UPWATCH_ADMIN_URL`` and ``UPWATCH_GRAFANA_URL`` from the environment)."""
    env = os.environ if env is None else env
    host = settings.get("smtp_host") or None
    port = settings.get("smtp_port") or 25
    smarthost = None
    if host:
        host_text = f"[{host}]" if ":" in str(host) and not str(host).startswith("[") else host
        smarthost = f"{host_text}:{int(port)}"
    require_tls = settings.get("smtp_require_tls")
    smtp = SmtpSpec(
        smarthost=smarthost,
        from_address=settings.get("smtp_from") or None,
        auth_username=settings.get("smtp_username") or None,
        auth_password=settings.get("smtp_password") or None,
        require_tls=None if require_tls is None else bool(require_tls),
    )
    admin_url = config.get("ADMIN_URL") or env.get("UPWATCH_ADMIN_URL") or DEFAULT_ADMIN_URL
    grafana_url = config.get("GRAFANA_URL") or env.get("UPWATCH_GRAFANA_URL") or None
    return GlobalSpec(
        default_interval_seconds=float(_setting(settings, "default_interval_seconds", 30.0)),
        default_timeout_seconds=float(_setting(settings, "default_timeout_seconds", 10.0)),
        default_confirmations=int(_setting(settings, "default_confirmations", 2)),
        admin_base_url=str(admin_url),
        webhook_token=config.get("WEBHOOK_TOKEN") or None,
        smtp=smtp,
        grafana_url=grafana_url,
    )


def load_specs(
    session: Any, settings: Mapping[str, Any], config: Mapping[str, Any]
) -> tuple[list[SiteSpec], GlobalSpec]:
    """Every site (with contacts and groups loaded up front) and the global spec."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from admin_app.models import ContactGroup, Site

    query = select(Site).options(
        selectinload(Site.contacts),
        selectinload(Site.contact_groups).selectinload(ContactGroup.members),
    )
    sites = session.scalars(query.order_by(Site.slug)).all()
    spec = with_operations(global_spec(settings, config), session, settings)
    return site_specs(sites), spec


def with_operations(spec: GlobalSpec, session: Any, settings: Mapping[str, Any]) -> GlobalSpec:
    """``spec`` with the operations contacts (the operations group of the settings)."""
    from admin_app.settings.operations import members, operations_group

    group = operations_group(session, settings)
    if group is None:
        return spec
    contacts = members(group)
    return dataclasses.replace(
        spec,
        operations_group=group.name,
        operations=tuple(contact_spec(c) for c in contacts),
    )
