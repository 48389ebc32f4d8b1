"""``GET|PATCH /api/v1/settings``. Secret values are never returned: ``secrets``
says which are set. ``sources`` says where each value comes from (database,
environment, default). PATCH takes a flat object of keys to change; ``null`` or
``""`` clears a key."""

from __future__ import annotations

from flask import current_app, jsonify
from werkzeug.wrappers import Response

from admin_app import changes
from admin_app.api import json_body
from admin_app.db import get_session
from admin_app.errors import ValidationError
from admin_app.logs import log
from admin_app.rbac import current_actor, requires
from admin_app.roles import Feature
from admin_app.settings import bp
from admin_app.settings.schema import validate_changes
from admin_app.settings.store import apply_changes, describe, effective


def save_settings(data: dict) -> list[str]:
    """Validate and store ``data`` (all or nothing); the changed keys."""
    session = get_session()
    key = current_app.config["SECRET_KEY"]
    clean, errors = validate_changes(data, effective(session, key))
    if errors:
        raise ValidationError(errors)
    changed = apply_changes(session, key, clean)
    session.commit()
    if changed:
        log("settings_changed", keys=",".join(changed), by=current_actor().username)
        changes.notify("settings")
    return changed


@bp.route("/api/v1/settings", methods=["GET"])
@requires(Feature.SYSTEM_SETTINGS)
def api_get() -> Response:
    return jsonify(describe(get_session(), current_app.config["SECRET_KEY"]))


@bp.route("/api/v1/settings", methods=["PATCH"])
@requires(Feature.SYSTEM_SETTINGS)
def api_patch() -> Response:
    save_settings(json_body())
    return jsonify(describe(get_session(), current_app.config["SECRET_KEY"]))
