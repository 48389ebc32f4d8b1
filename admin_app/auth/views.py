"""Login and logout pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from admin_app.auth import bp
from admin_app.auth.credentials import authenticate
from admin_app.db import get_session
from admin_app.errors import AppError
from admin_app.logs import log
from admin_app.rbac import authenticated, public


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, never ``//host`` or ``https://host``."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | str | tuple[str, int]:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(next_url or url_for("core.index"))
        return render_template("auth/login.html", next=next_url or "", username="")
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    remember = request.form.get("remember") in ("on", "1", "true", "yes")
    session = get_session()
    try:
        user = authenticate(session, username, password)
    except AppError as err:
        if err.status not in (401, 429):
            raise
        session.commit()  # keep nothing half done; the limiter is in memory
        response = render_template(
            "auth/login.html", next=next_url or "", username=username, error=err.message
        )
        # A wrong password re-renders the form (200); the rate limit answers 429.
        return response, (429 if err.status == 429 else 200)
    session.commit()
    login_user(user, remember=remember)
    log("login", username=user.username, role=user.role, remember=remember)
    return redirect(next_url or url_for("core.index"))


@bp.route("/logout", methods=["POST"])
@authenticated
def logout() -> Response:
    username = current_user.username
    logout_user()
    log("logout", username=username)
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))
