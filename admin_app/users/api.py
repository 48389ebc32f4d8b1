"""``GET|POST /api/v1/users`` and ``GET|PATCH|DELETE /api/v1/users/<id>``."""

from __future__ import annotations

from flask import jsonify, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from admin_app.api import json_body
from admin_app.db import get_session
from admin_app.errors import NotFound
from admin_app.models import User
from admin_app.rbac import current_actor, requires
from admin_app.roles import Feature
from admin_app.users import bp
from admin_app.users.service import create_user, delete_user, update_user, user_json


def _get_user(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        raise NotFound(f"there is no user with id {user_id}")
    return user


@bp.route("/api/v1/users", methods=["GET"])
@requires(Feature.USER_MANAGEMENT)
def api_list() -> Response:
    users = get_session().scalars(select(User).order_by(User.username)).all()
    return jsonify({"users": [user_json(u) for u in users]})


@bp.route("/api/v1/users", methods=["POST"])
@requires(Feature.USER_MANAGEMENT)
def api_create() -> tuple[Response, int, dict[str, str]]:
    data = json_body()
    session = get_session()
    user = create_user(session, current_actor(), data)
    session.commit()
    location = url_for("users.api_get", user_id=user.id)
    return jsonify(user_json(user)), 201, {"Location": location}


@bp.route("/api/v1/users/<int:user_id>", methods=["GET"])
@requires(Feature.USER_MANAGEMENT)
def api_get(user_id: int) -> Response:
    return jsonify(user_json(_get_user(user_id)))


@bp.route("/api/v1/users/<int:user_id>", methods=["PATCH"])
@requires(Feature.USER_MANAGEMENT)
def api_update(user_id: int) -> Response:
    user = _get_user(user_id)
    data = json_body()
    session = get_session()
    update_user(session, current_actor(), user, data)
    session.commit()
    return jsonify(user_json(user))


@bp.route("/api/v1/users/<int:user_id>", methods=["DELETE"])
@requires(Feature.USER_MANAGEMENT)
def api_delete(user_id: int) -> tuple[str, int]:
    user = _get_user(user_id)
    session = get_session()
    delete_user(session, current_actor(), user)
    session.commit()
    return "", 204
