"""``GET|POST /api/v1/contacts`` and ``GET|PATCH|DELETE /api/v1/contacts/<id>``."""

from __future__ import annotations

from flask import jsonify, url_for
from werkzeug.wrappers import Response

from admin_app.api import json_body
from admin_app.contacts import bp
from admin_app.contacts.commit import KIND_CONTACTS, commit_change
from admin_app.contacts.lookup import get_contact
from admin_app.contacts.service import (
    all_contacts,
    contact_json,
    create_contact,
    delete_contact,
    update_contact,
)
from admin_app.db import get_session
from admin_app.rbac import requires
from admin_app.roles import Feature


@bp.route("/api/v1/contacts", methods=["GET"])
@requires(Feature.SERVER_MANAGEMENT)
def api_list() -> Response:
    return jsonify({"contacts": [contact_json(c) for c in all_contacts(get_session())]})


@bp.route("/api/v1/contacts", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def api_create() -> tuple[Response, int, dict[str, str]]:
    data = json_body()
    session = get_session()
    contact = create_contact(session, data)
    commit_change(session, KIND_CONTACTS)
    location = url_for("contacts.api_get", contact_id=contact.id)
    return jsonify(contact_json(contact)), 201, {"Location": location}


@bp.route("/api/v1/contacts/<int:contact_id>", methods=["GET"])
@requires(Feature.SERVER_MANAGEMENT)
def api_get(contact_id: int) -> Response:
    return jsonify(contact_json(get_contact(contact_id)))


@bp.route("/api/v1/contacts/<int:contact_id>", methods=["PATCH"])
@requires(Feature.SERVER_MANAGEMENT)
def api_update(contact_id: int) -> Response:
    contact = get_contact(contact_id)
    data = json_body()
    session = get_session()
    update_contact(session, contact, data)
    commit_change(session, KIND_CONTACTS)
    return jsonify(contact_json(contact))


@bp.route("/api/v1/contacts/<int:contact_id>", methods=["DELETE"])
@requires(Feature.SERVER_MANAGEMENT)
def api_delete(contact_id: int) -> tuple[str, int]:
    contact = get_contact(contact_id)
    session = get_session()
    delete_contact(session, contact)
    commit_change(session, KIND_CONTACTS)
    return "", 204
