"""Validation of a site, in one place for the pages and the JSON API: the same
mistake gets the same message in both.

A site is checked by the exporter's own parser (:func:`exporter.config.parse_site_list`,
what ``upwatch-exporter --check-config`` runs) inside a site list with the same
``defaults`` block that config generation writes, so a site accepted here is a site
the exporter accepts. Its messages (``sites[0] (shop).timeout: ...``) become
field-level ones (``timeout`` -> ``...``). Added here: what only the admin app knows
(``paused``, contacts and groups), lengths of the database columns, the slug being
fixed once created, and a slug made from the name when none is given.

Pure: no database. Unique slugs and existing contact ids are checked by the service.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from admin_app.api import bool_value
from admin_app.contacts.validation import INT_MAX, id_list
from admin_app.models import (
    DEFAULT_EXPECT_STATUS,
    DEFAULT_MAX_BODY_BYTES,
    NAME_MAX,
    SLUG_MAX,
    URL_MAX,
)
from exporter.config import HTTP_ONLY_KEYS, SITE_FIELDS, ConfigError, parse_site_list

CONTRACT_FIELDS = SITE_FIELDS  # the site-list contract, as the exporter reads it
APP_FIELDS = ("paused", "contacts", "contact_groups")
# What GET returns besides the fields above; ignored when sent back.
READ_ONLY_FIELDS = frozenset({"all_contacts", "created_at", "updated_at"})
ALL_FIELDS = frozenset(CONTRACT_FIELDS + APP_FIELDS)

_OPTIONAL_SCALARS = ("interval", "timeout", "confirmations", "method", "max_body_bytes")
_BOOLS = ("follow_redirects", "tls_verify", "maintenance")
_INTS = ("confirmations", "max_body_bytes")
_SITE_LABEL = "sites[0]"
# Slugs that would collide with the pages' own paths (/sites/new).
RESERVED_SLUGS = frozenset({"new"})
SITE_COLUMNS = (
    "slug",
    "name",
    "url",
    "interval_seconds",
    "timeout_seconds",
    "confirmations",
    "method",
    "headers",
    "expect_status",
    "body_contains",
    "body_regex",
    "follow_redirects",
    "tls_verify",
    "max_body_bytes",
    "maintenance",
    "labels",
)


@dataclass(frozen=True)
class Defaults:
    """The ``defaults`` block of the generated site list (the settings page)."""

    interval: float = 30.0
    timeout: float = 10.0
    confirmations: int = 2

    def block(self) -> dict[str, Any]:
        return {
            "interval": self.interval,
            "timeout": self.timeout,
            "confirmations": self.confirmations,
        }


@dataclass
class SiteValues:
    """A validated site as the database stores it (``None``: use the default)."""

    slug: str
    name: str
    url: str
    interval_seconds: float | None
    timeout_seconds: float | None
    confirmations: int | None
    method: str
    headers: dict[str, str]
    expect_status: list[str]
    body_contains: str | None
    body_regex: str | None
    follow_redirects: bool
    tls_verify: bool
    max_body_bytes: int
    maintenance: bool
    labels: dict[str, str]
    # Only what was given: None leaves it as it is.
    paused: bool | None = None
    contact_ids: list[int] | None = None
    group_ids: list[int] | None = None

    def column_values(self) -> dict[str, Any]:
        """The values of the :class:`~admin_app.models.Site` columns."""
        return {name: getattr(self, name) for name in SITE_COLUMNS}


# --------------------------------------------------------------------------- helpers


def slugify(text: Any) -> str:
    """``"Web shop: EU"`` -> ``"web-shop-eu"``; accents dropped; ``""`` when nothing
    usable is left."""
    if not isinstance(text, str):
        return ""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


def _site_label(site_id: Any) -> str:
    """The exporter's name for the site in its messages (see ``_parse_site``)."""
    if isinstance(site_id, str) and site_id:
        return f"{_SITE_LABEL} ({site_id})"
    return _SITE_LABEL


def config_errors_to_fields(messages: list[str], site_id: Any) -> dict[str, str]:
    """The exporter's messages about ``sites[0]`` as ``{field: message}``.

    ``sites[0] (shop).timeout: 'x' is not a duration`` -> ``{"timeout": "'x' is not a
    duration"}``; nested fields keep their path (``expect.status``), except labels,
    which are one field (``labels`` -> ``"site: is a reserved label name"``)."""
    label = _site_label(site_id)
    out: dict[str, str] = {}
    for message in messages:
        if message.startswith(label + "."):
            path, _, text = message[len(label) + 1 :].partition(": ")
        elif message.startswith(label + ": "):
            path, text = "site", message[len(label) + 2 :]
        elif message.startswith("defaults"):
            path, text = "site", f"the default settings are invalid ({message})"
        else:
            path, text = "site", message
        if path.startswith("labels."):
            path, text = "labels", f"{path[len('labels.') :]}: {text}"
        out[path] = f"{out[path]}; {text}" if path in out else text
    return out


def _normalize(key: str, value: Any) -> Any:
    """One given contract field, made uniform whichever way it was sent (a form's
    strings or JSON). ``None`` means "leave out: use the default"."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip() if key != "name" else value.strip(" \t")
        if value == "" and key in (*_OPTIONAL_SCALARS, "url", "id"):
            return None
    if key in _INTS and isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    if key in _BOOLS and isinstance(value, str):
        parsed = bool_value(value)
        return parsed if parsed is not None else value
    if key in ("headers", "labels") and value == {}:
        return None
    if key == "expect" and isinstance(value, Mapping):
        expect = {k: v for k, v in value.items() if v is not None and v != ""}
        if isinstance(expect.get("status"), str):
            expect["status"] = [p.strip() for p in expect["status"].split(",") if p.strip()]
        elif isinstance(expect.get("status"), list):
            expect["status"] = [s.strip() if isinstance(s, str) else s for s in expect["status"]]
        return expect or None
    return value


def _check_lengths(site: Mapping[str, Any], errors: dict[str, str]) -> None:
    name = site.get("name")
    if isinstance(name, str) and len(name) > NAME_MAX:
        errors["name"] = f"must be at most {NAME_MAX} characters"
    url = site.get("url")
    if isinstance(url, str) and len(url) > URL_MAX:
        errors["url"] = f"must be at most {URL_MAX} characters"
    size = site.get("max_body_bytes")
    if isinstance(size, int) and not isinstance(size, bool) and size > INT_MAX:
        errors["max_body_bytes"] = f"must be at most {INT_MAX} bytes"


def _app_fields(data: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "paused" in data:
        paused = bool_value(data["paused"])
        if paused is None:
            errors["paused"] = "must be true or false"
        out["paused"] = paused
    for key, what in (("contacts", "contact"), ("contact_groups", "contact group")):
        if key in data:
            ids, problem = id_list(data[key], what)
            if problem:
                errors[key] = problem
            out[key] = ids
    return out


# --------------------------------------------------------------------------- contract


def validate_site(
    data: Any,
    defaults: Defaults,
    current: Mapping[str, Any] | None = None,
    fixed_id: str | None = None,
) -> tuple[SiteValues | None, dict[str, str]]:
    """``(values, errors)``; ``values`` is None when there is any error.

    ``data`` holds site-list fields (as in DESIGN.md; ``interval`` and ``timeout`` as
    ``"30s"`` strings or seconds; ``expect.status`` as a list or a comma-separated
    string), plus ``paused``, ``contacts`` and ``contact_groups`` (lists of ids).
    ``current`` is the site as it is stored (:func:`contract_of`): the given fields
    change it (``null`` puts a field back to its default; ``expect`` is replaced as a
    whole). ``fixed_id`` is the slug of an existing site, which cannot change.
    """
    if not isinstance(data, Mapping):
        return None, {"site": "must be an object with the site's fields"}
    errors: dict[str, str] = {}
    for key in data:
        if key not in ALL_FIELDS and key not in READ_ONLY_FIELDS:
            errors[str(key)] = f"unknown field (allowed: {', '.join(sorted(ALL_FIELDS))})"

    site: dict[str, Any] = dict(current or {})
    for key in CONTRACT_FIELDS:
        if key in data:
            value = _normalize(key, data[key])
            if value is None:
                site.pop(key, None)
            else:
                site[key] = value

    if fixed_id is not None:
        if "id" in site and site["id"] != fixed_id:
            errors["id"] = (
                f"cannot be changed (it is the site's label in metrics, alerts and "
                f"history); keep {fixed_id!r} or create a new site"
            )
        site["id"] = fixed_id
    elif "id" not in site:
        slug = slugify(site.get("name"))
        if slug:
            site["id"] = slug
        else:
            errors["id"] = (
                "is required: a slug of lowercase letters, digits, - and _ "
                "(none could be made from the name)"
            )
    if site.get("id") in RESERVED_SLUGS and fixed_id is None:
        errors["id"] = f"{site['id']!r} is reserved; choose another id"
    _check_lengths(site, errors)
    extra = _app_fields(data, errors)

    try:
        parsed = parse_site_list({"defaults": defaults.block(), "sites": [site]}).sites[0]
    except ConfigError as exc:
        for key, message in config_errors_to_fields(exc.errors, site.get("id")).items():
            errors.setdefault(key, message)
        parsed = None
    if errors or parsed is None:
        return None, errors

    expect = site.get("expect") or {}
    status = expect.get("status")
    return (
        SiteValues(
            slug=parsed.id,
            name=parsed.name,
            url=parsed.url,
            interval_seconds=parsed.interval if "interval" in site else None,
            timeout_seconds=parsed.timeout if "timeout" in site else None,
            confirmations=parsed.confirmations if "confirmations" in site else None,
            method=parsed.method,
            headers=dict(parsed.headers),
            expect_status=[str(s) for s in status] if status else list(DEFAULT_EXPECT_STATUS),
            body_contains=parsed.body_contains,
            body_regex=parsed.body_regex,
            follow_redirects=parsed.follow_redirects,
            tls_verify=parsed.tls_verify,
            max_body_bytes=parsed.max_body_bytes,
            maintenance=parsed.maintenance,
            labels=dict(parsed.labels),
            paused=extra.get("paused"),
            contact_ids=extra.get("contacts"),
            group_ids=extra.get("contact_groups"),
        ),
        {},
    )


def contract_of(site: Any) -> dict[str, Any]:
    """A stored site as site-list fields, leaving out what is at its default, so that
    a change (an http site made tcp, say) is checked as the site it becomes."""
    out: dict[str, Any] = {"id": site.slug, "url": site.url}
    if site.name:
        out["name"] = site.name
    if site.interval_seconds is not None:
        out["interval"] = site.interval_seconds
    if site.timeout_seconds is not None:
        out["timeout"] = site.timeout_seconds
    if site.confirmations is not None:
        out["confirmations"] = site.confirmations
    if (site.method or "GET") != "GET":
        out["method"] = site.method
    if site.headers:
        out["headers"] = dict(site.headers)
    expect: dict[str, Any] = {}
    if site.expect_status and list(site.expect_status) != DEFAULT_EXPECT_STATUS:
        expect["status"] = list(site.expect_status)
    if site.body_contains:
        expect["body_contains"] = site.body_contains
    if site.body_regex:
        expect["body_regex"] = site.body_regex
    if expect:
        out["expect"] = expect
    if site.follow_redirects is False:
        out["follow_redirects"] = False
    if site.tls_verify is False:
        out["tls_verify"] = False
    if site.max_body_bytes not in (None, DEFAULT_MAX_BODY_BYTES):
        out["max_body_bytes"] = site.max_body_bytes
    if site.maintenance:
        out["maintenance"] = True
    if site.labels:
        out["labels"] = dict(site.labels)
    return out


def is_tcp_url(url: Any) -> bool:
    return isinstance(url, str) and url.strip().lower().startswith("tcp://")


__all__ = [
    "ALL_FIELDS",
    "CONTRACT_FIELDS",
    "HTTP_ONLY_KEYS",
    "Defaults",
    "SiteValues",
    "config_errors_to_fields",
    "contract_of",
    "is_tcp_url",
    "slugify",
    "validate_site",
]
