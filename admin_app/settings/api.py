"""``GET|PATCH /api/v1/settings``. Secret values are never returned: ``secrets``
says which are set. ``sources`` says where each value comes from (database,
environment, default). PATCH takes a flat object of keys to change; ``null`` or
``""`` clears a key. ``operations_group`` takes a contact group's id or name and is
stored as the id; ``operations`` (read only) says who that group pages about the
exporter-wide alerts, with a ``warning`` when nobody is
(:mod:`admin_app.settings.operations`)."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, jsonify
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from admin_app import changes
from admin_app.api import json_body
from admin_app.db import get_session
from admin_app.errors import ValidationError
from admin_app.logs import log
from admin_app.rbac import current_actor, requires
from admin_app.roles import Feature
from admin_app.settings import bp, operations
from admin_app.settings.schema import validate_changes
from admin_app.settings.store import apply_changes, describe, effective


def save_settings(data: dict) -> list[str]:
    """Validate and store ``data`` (all or nothing); the changed keys."""
    session = get_session()
    key = current_app.config["SECRET_KEY"]
    clean, errors = validate_changes(data, effective(session, key))
    ref = clean.get(operations.SETTING)
    if ref is not None and operations.SETTING not in errors:
        gid, problem = operations.resolve_group(session, ref)
        if problem:
            errors[operations.SETTING] = problem
        else:
            clean[operations.SETTING] = gid
    if errors:
        raise ValidationError(errors)
    changed = apply_changes(session, key, clean)
    session.commit()
    if changed:
        log("settings_changed", keys=",".join(changed), by=current_actor().username)
        if operations.SETTING in changed:
            _log_operations(session, key)
        changes.notify("settings")
    return changed


def _log_operations(session: Session, secret_key: str) -> None:
    state = operations.status(session, effective(session, secret_key))
    group = state["group"]
    log(
        "operations_group_set",
        logging.WARNING if state["warning"] else logging.INFO,
        group=group["name"] if group else "-",
        contacts=len(state["contacts"]),
        warning=state["warning"] or "-",
    )


def settings_json() -> dict[str, Any]:
    """The settings (:func:`describe`) and what the operations group means today."""
    session = get_session()
    key = current_app.config["SECRET_KEY"]
    out = describe(session, key)
    out["operations"] = operations.status(session, effective(session, key))
    return out


@bp.route("/api/v1/settings", methods=["GET"])
@requires(Feature.SYSTEM_SETTINGS)
def api_get() -> Response:
    return jsonify(settings_json())


@bp.route("/api/v1/settings", methods=["PATCH"])
@requires(Feature.SYSTEM_SETTINGS)
def api_patch() -> Response:
    save_settings(json_body())
    return jsonify(settings_json())
