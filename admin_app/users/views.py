"""Pages: the admin dashboard, the user list, create/edit/delete, and one's own
account (password change)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from admin_app.auth.passwords import verify_password
from admin_app.db import get_session
from admin_app.errors import AppError, NotFound
from admin_app.models import Contact, ContactGroup, Incident, Site, User
from admin_app.rbac import authenticated, current_actor, grantable_roles, may_manage, requires
from admin_app.roles import Feature
from admin_app.users import bp
from admin_app.users.service import create_user, delete_user, update_user

Page = Response | str | tuple[str, int]


def _count(model: Any, *where: Any) -> int:
    return int(get_session().scalar(select(func.count()).select_from(model).where(*where)) or 0)


@bp.route("/admin")
@requires(Feature.ADMIN_DASHBOARD)
def dashboard() -> str:
    counts = {
        "users": _count(User),
        "active_users": _count(User, User.active.is_(True)),
        "sites": _count(Site),
        "paused_sites": _count(Site, Site.paused.is_(True)),
        "maintenance_sites": _count(Site, Site.maintenance.is_(True)),
        "contacts": _count(Contact),
        "groups": _count(ContactGroup),
        "open_incidents": _count(Incident, Incident.ended_at.is_(None)),
    }
    return render_template("users/dashboard.html", counts=counts)


@bp.route("/admin/users")
@requires(Feature.USER_MANAGEMENT)
def index() -> str:
    users = get_session().scalars(select(User).order_by(User.username)).all()
    actor = current_actor()
    return render_template(
        "users/list.html",
        users=users,
        manageable={u.id for u in users if may_manage(actor.role, u.role) and u.id != actor.id},
    )


def _form_data(creating: bool) -> dict[str, Any]:
    form = request.form
    data: dict[str, Any] = {
        "username": form.get("username", ""),
        "role": form.get("role", ""),
        "active": form.get("active") == "on",
    }
    password = form.get("password", "")
    if creating or password:
        data["password"] = password
    return data


def _render_form(user: User | None, values: dict[str, Any], err: AppError | None = None) -> Page:
    page = render_template(
        "users/form.html",
        user=user,
        values=values,
        roles=grantable_roles(current_actor().role),
        error=err.message if err else None,
        field_errors=err.fields if err else {},
    )
    return (page, err.status) if err else page


@bp.route("/admin/users/new", methods=["GET", "POST"])
@requires(Feature.USER_MANAGEMENT)
def create() -> Page:
    if request.method == "GET":
        return _render_form(None, {"username": "", "role": "", "active": True})
    data = _form_data(creating=True)
    session = get_session()
    try:
        user = create_user(session, current_actor(), data)
        session.commit()
    except AppError as err:
        session.rollback()
        return _render_form(None, data, err)
    flash(f"User {user.username!r} created.", "success")
    return redirect(url_for("users.index"))


def _load(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        raise NotFound(f"there is no user with id {user_id}")
    return user


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@requires(Feature.USER_MANAGEMENT)
def edit(user_id: int) -> Page:
    user = _load(user_id)
    if request.method == "GET":
        values = {"username": user.username, "role": user.role, "active": user.active}
        return _render_form(user, values)
    data = _form_data(creating=False)
    session = get_session()
    try:
        update_user(session, current_actor(), user, data)
        session.commit()
    except AppError as err:
        session.rollback()
        return _render_form(user, data, err)
    flash(f"User {user.username!r} saved.", "success")
    return redirect(url_for("users.index"))


@bp.route("/admin/users/<int:user_id>/delete", methods=["POST"])
@requires(Feature.USER_MANAGEMENT)
def delete(user_id: int) -> Response:
    user = _load(user_id)
    session = get_session()
    name = user.username
    delete_user(session, current_actor(), user)  # a refusal renders the 403 page
    session.commit()
    flash(f"User {name!r} deleted.", "success")
    return redirect(url_for("users.index"), code=303)


@bp.route("/account", methods=["GET", "POST"])
@authenticated
def account() -> Page:
    actor = current_actor()
    if request.method == "GET":
        return render_template("users/account.html", field_errors={})
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    confirm = request.form.get("confirm_password", "")
    errors: dict[str, str] = {}
    if not verify_password(actor.password_hash, current):
        errors["current_password"] = "is not your current password"
    elif new != confirm:
        errors["confirm_password"] = "does not match the new password"
    session = get_session()
    if not errors:
        try:
            update_user(session, None, actor, {"password": new})
            session.commit()
        except AppError as err:
            session.rollback()
            errors = {"new_password": err.fields.get("password", err.message)}
    if errors:
        return render_template("users/account.html", field_errors=errors), 422
    flash("Your password has been changed; please log in again.", "success")
    return redirect(url_for("auth.login"))
