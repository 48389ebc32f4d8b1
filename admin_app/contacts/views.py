"""Contact pages: the list, create, edit and delete."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin_app.contacts import bp
from admin_app.contacts.commit import KIND_CONTACTS, commit_change
from admin_app.contacts.lookup import get_contact
from admin_app.contacts.service import (
    all_contacts,
    create_contact,
    delete_contact,
    update_contact,
)
from admin_app.db import get_session
from admin_app.errors import AppError
from admin_app.models import Contact
from admin_app.rbac import requires
from admin_app.roles import Feature

Page = Response | str | tuple[str, int]


def contact_form_data(form: Any, prefix: str = "") -> dict[str, Any]:
    """A contact form (or the inline contact fields of another form) as the dict the
    API takes, so that both are validated the same way."""
    return {
        "name": form.get(prefix + "name", ""),
        "email": form.get(prefix + "email", ""),
        "phone": form.get(prefix + "phone", ""),
        "wants_email": form.get(prefix + "wants_email") == "on",
        "wants_sms": form.get(prefix + "wants_sms") == "on",
    }


def _values(contact: Contact) -> dict[str, Any]:
    return {
        "name": contact.name,
        "email": contact.email or "",
        "phone": contact.phone or "",
        "wants_email": contact.wants_email,
        "wants_sms": contact.wants_sms,
    }


def _render_form(contact: Contact | None, values: dict[str, Any], err: AppError | None) -> Page:
    page = render_template(
        "contacts/form.html",
        contact=contact,
        values=values,
        error=err.message if err else None,
        field_errors=err.fields if err else {},
    )
    return (page, err.status) if err else page


@bp.route("/contacts")
@requires(Feature.SERVER_MANAGEMENT)
def index() -> str:
    return render_template("contacts/list.html", contacts=all_contacts(get_session()))


@bp.route("/contacts/new", methods=["GET", "POST"])
@requires(Feature.SERVER_MANAGEMENT)
def create() -> Page:
    if request.method == "GET":
        blank = {"name": "", "email": "", "phone": "", "wants_email": True, "wants_sms": False}
        return _render_form(None, blank, None)
    data = contact_form_data(request.form)
    session = get_session()
    try:
        contact = create_contact(session, data)
        commit_change(session, KIND_CONTACTS)
    except AppError as err:
        session.rollback()
        return _render_form(None, data, err)
    flash(f"Contact {contact.name!r} created.", "success")
    return redirect(url_for("contacts.index"))


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@requires(Feature.SERVER_MANAGEMENT)
def edit(contact_id: int) -> Page:
    contact = get_contact(contact_id)
    if request.method == "GET":
        return _render_form(contact, _values(contact), None)
    data = contact_form_data(request.form)
    session = get_session()
    try:
        update_contact(session, contact, data)
        commit_change(session, KIND_CONTACTS)
    except AppError as err:
        session.rollback()
        return _render_form(contact, data, err)
    flash(f"Contact {contact.name!r} saved.", "success")
    return redirect(url_for("contacts.index"))


@bp.route("/contacts/<int:contact_id>/delete", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def delete(contact_id: int) -> Response:
    contact = get_contact(contact_id)
    name = contact.name
    session = get_session()
    delete_contact(session, contact)
    commit_change(session, KIND_CONTACTS)
    flash(f"Contact {name!r} deleted.", "success")
    return redirect(url_for("contacts.index"), code=303)
