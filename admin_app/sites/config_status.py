"""What the sites page says about the last configuration change: applied, waiting
to be regenerated, not applied because validation failed (and why), or written but
with a reload still pending.

Read as the config page reads it (:func:`admin_app.configgen.views.status_dict`: this
process's :class:`~admin_app.configgen.apply.ConfigApplier`, else the status file
the appliers of all worker processes write), plus whether this process has a
regeneration waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask

APPLIED = "applied"
FAILED = "failed"
RELOAD_PENDING = "reload_pending"
REGENERATING = "regenerating"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ConfigStatus:
    state: str
    message: str
    at: str | None = None
    details: tuple[str, ...] = field(default_factory=tuple)


def _raw_status(app: Flask) -> dict[str, Any] | None:
    from admin_app.configgen import apply
    from admin_app.configgen.views import status_dict

    raw = dict(status_dict())
    applier = app.extensions.get(apply.EXTENSION_KEY)
    if applier is not None and applier.status().regeneration_requested:
        raw["regeneration_requested"] = True
    return raw


def summarize(raw: dict[str, Any] | None) -> ConfigStatus:
    """The status dict of ``ConfigApplier.status().to_dict()`` in a sentence."""
    if not raw:
        return ConfigStatus(UNKNOWN, "No configuration has been generated yet.")
    last = raw.get("last_result") or {}
    if raw.get("regeneration_requested"):
        return ConfigStatus(
            REGENERATING,
            "Changes saved; the exporter and Alertmanager configuration is being regenerated.",
        )
    if not last:
        return ConfigStatus(UNKNOWN, "No configuration has been generated yet.")
    at = last.get("at")
    if not last.get("ok"):
        errors = tuple(str(e) for e in last.get("errors") or ())
        return ConfigStatus(
            FAILED,
            "The last change was not applied: the generated configuration failed "
            "validation, so the files on disk were left as they were.",
            at,
            errors,
        )
    if "pending_reloads" in raw:
        pending = list(raw["pending_reloads"] or ())
    else:
        pending = [r for r in last.get("reloads") or () if not r.get("ok")]
    if pending:
        details = tuple(
            f"{p.get('target')} at {p.get('url')}: {p.get('last_error') or p.get('error')}"
            for p in pending
        )
        return ConfigStatus(
            RELOAD_PENDING,
            "The configuration was written, but a reload is pending (it is retried): "
            "the running exporter or Alertmanager still has the previous one.",
            at,
            details,
        )
    return ConfigStatus(APPLIED, "The configuration is applied.", at)


def current_status(app: Flask) -> ConfigStatus:
    try:
        return summarize(_raw_status(app))
    except Exception as exc:  # a status line must never break the page
        return ConfigStatus(UNKNOWN, f"The configuration status is unavailable ({exc}).")
