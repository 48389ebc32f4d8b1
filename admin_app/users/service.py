"""Creating, changing and deleting users, with the escalation rule: nobody grants
a role holding a permission they lack, nor edits or deletes a user whose role holds
one. ``actor=None`` is the system itself (the CLI).

Functions add to the session and flush; the caller commits. On any error nothing
has been changed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin_app.auth.passwords import hash_password
from admin_app.auth.tokens import revoke_user_tokens
from admin_app.errors import Conflict, Forbidden, ValidationError
from admin_app.logs import log
from admin_app.models import User, public_dict
from admin_app.rbac import missing_features
from admin_app.roles import Role
from admin_app.users.validation import validate_user

USER_PUBLIC_FIELDS = (
    "id",
    "username",
    "role",
    "active",
    "created_at",
    "updated_at",
    "last_login_at",
)


def user_json(user: User) -> dict[str, Any]:
    return public_dict(user, USER_PUBLIC_FIELDS)


def _lacking(actor: User, role: str) -> str:
    return ", ".join(f.label for f in missing_features(actor.role, role))


def check_grant(actor: User | None, role: str) -> None:
    if actor is not None and missing_features(actor.role, role):
        raise Forbidden(
            f"you cannot give the role {Role(role).label!r}: it has permissions your role "
            f"lacks ({_lacking(actor, role)})",
            code="role_escalation",
        )


def check_manage(actor: User | None, target: User) -> None:
    if actor is not None and missing_features(actor.role, target.role):
        raise Forbidden(
            f"you cannot change or delete {target.username!r}: their role "
            f"{Role(target.role).label!r} has permissions yours lacks "
            f"({_lacking(actor, target.role)})",
            code="role_escalation",
        )


def _username_taken(session: Session, username: str, except_id: int | None = None) -> bool:
    query = select(func.count()).select_from(User).where(User.username == username)
    if except_id is not None:
        query = query.where(User.id != except_id)
    return bool(session.scalar(query))


def _flush_unique(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("that username is already taken", {"username": "is already taken"}) from None


def create_user(session: Session, actor: User | None, data: dict[str, Any]) -> User:
    clean, errors = validate_user(data, creating=True)
    if errors:
        raise ValidationError(errors)
    check_grant(actor, clean["role"])
    if _username_taken(session, clean["username"]):
        raise Conflict("that username is already taken", {"username": "is already taken"})
    user = User(
        username=clean["username"],
        password_hash=hash_password(clean["password"]),
        role=clean["role"],
        active=clean["active"],
    )
    session.add(user)
    _flush_unique(session)
    log(
        "user_created",
        username=user.username,
        role=user.role,
        by=actor.username if actor else "cli",
    )
    return user


def update_user(session: Session, actor: User | None, user: User, data: dict[str, Any]) -> User:
    check_manage(actor, user)
    clean, errors = validate_user(data, creating=False)
    if actor is not None and actor.id == user.id:
        if "role" in clean and clean["role"] != user.role:
            errors["role"] = "you cannot change your own role"
        if clean.get("active") is False:
            errors["active"] = "you cannot deactivate your own account"
    if errors:
        raise ValidationError(errors)
    if "role" in clean:
        check_grant(actor, clean["role"])
    if "username" in clean and _username_taken(session, clean["username"], except_id=user.id):
        raise Conflict("that username is already taken", {"username": "is already taken"})

    changed = []
    end_sessions = False
    for key in ("username", "role", "active"):
        if key in clean and getattr(user, key) != clean[key]:
            setattr(user, key, clean[key])
            changed.append(key)
    if "password" in clean:
        user.password_hash = hash_password(clean["password"])
        changed.append("password")
        end_sessions = True
    if clean.get("active") is False and "active" in changed:
        end_sessions = True
    if end_sessions:
        user.rotate_session_nonce()
        revoke_user_tokens(session, user.id)
    _flush_unique(session)
    if changed:
        log(
            "user_updated",
            username=user.username,
            changed=",".join(changed),
            by=actor.username if actor else "cli",
        )
    return user


def delete_user(session: Session, actor: User | None, user: User) -> None:
    check_manage(actor, user)
    if actor is not None and actor.id == user.id:
        raise Forbidden("you cannot delete your own account", code="self_delete")
    session.delete(user)
    session.flush()
    log("user_deleted", username=user.username, by=actor.username if actor else "cli")
