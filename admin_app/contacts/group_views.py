"""Contact group pages: the list, create, edit (name, description, members) and
delete."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin_app.contacts import bp
from admin_app.contacts.commit import KIND_GROUPS, commit_change
from admin_app.contacts.lookup import get_group
from admin_app.contacts.service import (
    all_contacts,
    all_groups,
    create_group,
    delete_group,
    update_group,
)
from admin_app.db import get_session
from admin_app.errors import AppError
from admin_app.models import ContactGroup
from admin_app.rbac import requires
from admin_app.roles import Feature

Page = Response | str | tuple[str, int]


def _form_data() -> dict[str, Any]:
    return {
        "name": request.form.get("name", ""),
        "description": request.form.get("description", ""),
        "members": request.form.getlist("members"),
    }


def _render_form(group: ContactGroup | None, values: dict[str, Any], err: AppError | None) -> Page:
    selected = {str(m) for m in values.get("members", [])}
    page = render_template(
        "contacts/group_form.html",
        group=group,
        values=values,
        selected=selected,
        contacts=all_contacts(get_session()),
        error=err.message if err else None,
        field_errors=err.fields if err else {},
    )
    return (page, err.status) if err else page


@bp.route("/contact-groups")
@requires(Feature.SERVER_MANAGEMENT)
def groups() -> str:
    return render_template("contacts/groups.html", groups=all_groups(get_session()))


@bp.route("/contact-groups/new", methods=["GET", "POST"])
@requires(Feature.SERVER_MANAGEMENT)
def group_create() -> Page:
    if request.method == "GET":
        return _render_form(None, {"name": "", "description": "", "members": []}, None)
    data = _form_data()
    session = get_session()
    try:
        group = create_group(session, data)
        commit_change(session, KIND_GROUPS)
    except AppError as err:
        session.rollback()
        return _render_form(None, data, err)
    flash(f"Contact group {group.name!r} created.", "success")
    return redirect(url_for("contacts.groups"))


@bp.route("/contact-groups/<int:group_id>/edit", methods=["GET", "POST"])
@requires(Feature.SERVER_MANAGEMENT)
def group_edit(group_id: int) -> Page:
    group = get_group(group_id)
    if request.method == "GET":
        values = {
            "name": group.name,
            "description": group.description,
            "members": [c.id for c in group.members],
        }
        return _render_form(group, values, None)
    data = _form_data()
    session = get_session()
    try:
        update_group(session, group, data)
        commit_change(session, KIND_GROUPS)
    except AppError as err:
        session.rollback()
        return _render_form(group, data, err)
    flash(f"Contact group {group.name!r} saved.", "success")
    return redirect(url_for("contacts.groups"))


@bp.route("/contact-groups/<int:group_id>/delete", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def group_delete(group_id: int) -> Response:
    group = get_group(group_id)
    name = group.name
    session = get_session()
    try:
        delete_group(session, group)
        commit_change(session, KIND_GROUPS)
    except AppError as err:
        session.rollback()
        flash(f"Contact group {name!r} was not deleted: {err.message}.", "error")
        return redirect(url_for("contacts.groups"), code=303)
    flash(f"Contact group {name!r} deleted.", "success")
    return redirect(url_for("contacts.groups"), code=303)
