"""The ``defaults`` a site is validated against: the same block config generation
writes at the top of ``sites.yml`` (from the settings page), so that a site accepted
here is accepted in the generated file."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from admin_app.configgen.from_models import global_spec
from admin_app.sites.validation import Defaults


def load_defaults(session: Session) -> Defaults:
    try:
        from admin_app.settings.store import effective
    except ImportError:  # pragma: no cover - the settings feature is optional
        settings: dict = {}
    else:
        settings = effective(session, current_app.config["SECRET_KEY"])
    spec = global_spec(settings, current_app.config)
    return Defaults(
        interval=spec.default_interval_seconds,
        timeout=spec.default_timeout_seconds,
        confirmations=spec.default_confirmations,
    )
