"""``GET|POST /api/v1/contact-groups`` and ``GET|PATCH|DELETE
/api/v1/contact-groups/<id>``; ``members`` is a list of contact ids (or of the
contact objects GET returns), replaced as a whole."""

from __future__ import annotations

from flask import jsonify, url_for
from werkzeug.wrappers import Response

from admin_app.api import json_body
from admin_app.contacts import bp
from admin_app.contacts.commit import KIND_GROUPS, commit_change
from admin_app.contacts.lookup import get_group
from admin_app.contacts.service import (
    all_groups,
    create_group,
    delete_group,
    group_json,
    update_group,
)
from admin_app.db import get_session
from admin_app.rbac import requires
from admin_app.roles import Feature


@bp.route("/api/v1/contact-groups", methods=["GET"])
@requires(Feature.SERVER_MANAGEMENT)
def api_groups_list() -> Response:
    return jsonify({"contact_groups": [group_json(g) for g in all_groups(get_session())]})


@bp.route("/api/v1/contact-groups", methods=["POST"])
@requires(Feature.SERVER_MANAGEMENT)
def api_groups_create() -> tuple[Response, int, dict[str, str]]:
    data = json_body()
    session = get_session()
    group = create_group(session, data)
    commit_change(session, KIND_GROUPS)
    location = url_for("contacts.api_groups_get", group_id=group.id)
    return jsonify(group_json(group)), 201, {"Location": location}


@bp.route("/api/v1/contact-groups/<int:group_id>", methods=["GET"])
@requires(Feature.SERVER_MANAGEMENT)
def api_groups_get(group_id: int) -> Response:
    return jsonify(group_json(get_group(group_id)))


@bp.route("/api/v1/contact-groups/<int:group_id>", methods=["PATCH"])
@requires(Feature.SERVER_MANAGEMENT)
def api_groups_update(group_id: int) -> Response:
    group = get_group(group_id)
    data = json_body()
    session = get_session()
    update_group(session, group, data)
    commit_change(session, KIND_GROUPS)
    return jsonify(group_json(group))


@bp.route("/api/v1/contact-groups/<int:group_id>", methods=["DELETE"])
@requires(Feature.SERVER_MANAGEMENT)
def api_groups_delete(group_id: int) -> tuple[str, int]:
    group = get_group(group_id)
    session = get_session()
    delete_group(session, group)
    commit_change(session, KIND_GROUPS)
    return "", 204
