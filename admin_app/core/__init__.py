"""The home page and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from sqlalchemy import text
from werkzeug.wrappers import Response

from admin_app.db import get_session
from admin_app.rbac import public, requires
from admin_app.roles import Feature

bp = Blueprint("core", __name__)


@bp.route("/healthz")
@public
def healthz() -> tuple[Response, int]:
    try:
        get_session().execute(text("SELECT 1"))
    except Exception:
        return jsonify({"status": "error", "database": "unreachable"}), 503
    return jsonify({"status": "ok", "database": "ok"}), 200


@bp.route("/")
@requires(Feature.REAL_TIME_STATUS)
def index() -> Response | str:
    """The live status page once it exists; until then a page of links."""
    from flask import current_app

    if "status.index" in current_app.view_functions:
        return redirect(url_for("status.index"))
    return render_template("index.html")
