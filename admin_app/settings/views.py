"""The settings page."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin_app.contacts.service import all_groups
from admin_app.db import get_session
from admin_app.errors import ValidationError
from admin_app.rbac import requires
from admin_app.roles import Feature
from admin_app.settings import bp
from admin_app.settings.api import save_settings, settings_json
from admin_app.settings.schema import FIELDS, GROUPS
from admin_app.settings.store import describe


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def _form_data(current: dict[str, Any]) -> dict[str, Any]:
    """The fields the person changed (the page shows effective values, so a field
    left as shown is not stored as an override)."""
    data: dict[str, Any] = {}
    for field in FIELDS:
        if field.secret:
            if request.form.get(f"clear_{field.key}") == "on":
                data[field.key] = None
            elif request.form.get(field.key):
                data[field.key] = request.form[field.key]
        elif field.kind == "bool":
            checked = request.form.get(field.key) == "on"
            if checked != bool(current.get(field.key)):
                data[field.key] = checked
        elif field.key in request.form and request.form[field.key].strip() != _shown(
            current.get(field.key)
        ):
            data[field.key] = request.form[field.key]
    return data


def _render(
    values: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    session = get_session()
    state = settings_json()
    shown = dict(state["settings"])
    if values:
        shown.update({k: v for k, v in values.items() if k in shown})
    page = render_template(
        "settings/index.html",
        fields=FIELDS,
        groups=GROUPS,
        values=shown,
        secrets=state["secrets"],
        sources=state["sources"],
        field_errors=errors or {},
        contact_groups=all_groups(session),
        operations=state["operations"],
    )
    return page, status


@bp.route("/admin/settings", methods=["GET", "POST"])
@requires(Feature.SYSTEM_SETTINGS)
def index() -> Response | tuple[str, int]:
    if request.method == "GET":
        return _render()
    current = describe(get_session(), current_app.config["SECRET_KEY"])["settings"]
    data = _form_data(current)
    try:
        changed = save_settings(data)
    except ValidationError as err:
        get_session().rollback()
        return _render(data, err.fields, 422)
    flash("Settings saved." if changed else "Nothing changed.", "success")
    return redirect(url_for("settings.index"), code=303)
