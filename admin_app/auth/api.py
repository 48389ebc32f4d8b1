"""API tokens: ``POST /api/v1/auth/token``, ``/refresh`` and ``/revoke``.

These endpoints authenticate by what they are sent (a password or a token), so they
are ``@public`` in the RBAC registry; the token endpoint itself refuses roles
without "API Access" (403).
"""

from __future__ import annotations

from flask import jsonify
from werkzeug.wrappers import Response

from admin_app.api import json_body, string_field
from admin_app.auth import bp
from admin_app.auth import tokens as token_service
from admin_app.auth.credentials import authenticate
from admin_app.db import get_session
from admin_app.errors import ValidationError
from admin_app.logs import log
from admin_app.rbac import public


@bp.route("/api/v1/auth/token", methods=["POST"])
@public
def api_token() -> Response:
    body = json_body()
    errors: dict[str, str] = {}
    username = string_field(body, "username", errors)
    password = string_field(body, "password", errors, strip=False)
    if errors:
        raise ValidationError(errors)
    session = get_session()
    user = authenticate(session, username, password)
    token_service.ensure_api_access(user)
    pair = token_service.issue_for_app(session, user)
    session.commit()
    log("api_token_issued", username=user.username, role=user.role)
    return jsonify(pair.as_json())


@bp.route("/api/v1/auth/refresh", methods=["POST"])
@public
def api_refresh() -> Response:
    body = json_body()
    errors: dict[str, str] = {}
    raw = string_field(body, "refresh_token", errors, strip=False)
    if errors:
        raise ValidationError(errors)
    session = get_session()
    pair = token_service.refresh(session, raw)
    session.commit()
    return jsonify(pair.as_json())


@bp.route("/api/v1/auth/revoke", methods=["POST"])
@public
def api_revoke() -> Response:
    """Revoke the pair of ``{"token": ...}`` (access or refresh), or of the bearer
    token when no body is sent. Unknown tokens answer ``revoked: false``."""
    body = json_body(optional=True)
    raw = body.get("token") if body else None
    if raw is not None and not isinstance(raw, str):
        raise ValidationError({"token": "must be a string"})
    raw = raw or token_service.bearer_token()
    if not raw:
        raise ValidationError(
            {"token": 'send the token to revoke as {"token": ...} or as a bearer token'}
        )
    session = get_session()
    token = token_service.find(session, raw)
    if token is None:
        return jsonify({"revoked": False})
    token_service.revoke_family(session, token.family)
    session.commit()
    log("api_token_revoked", user_id=token.user_id, kind=token.kind)
    return jsonify({"revoked": True})
