"""Checking a username and password, with the login rate limit, for both the login
form and the token endpoint."""

from __future__ import annotations

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.auth.passwords import hash_password, needs_rehash, verify_password
from admin_app.auth.ratelimit import get_limiter, too_many_message
from admin_app.db import utcnow
from admin_app.errors import AppError
from admin_app.logs import log
from admin_app.models import User

INVALID_CREDENTIALS = "Invalid username or password."


def client_ip() -> str:
    return request.remote_addr or "unknown"


def check_rate_limit(username: str) -> None:
    retry = get_limiter().retry_after(username, client_ip())
    if retry is not None:
        log("login_rate_limited", username=username, ip=client_ip(), retry_after=retry)
        raise AppError(
            429, "too_many_attempts", too_many_message(retry), headers={"Retry-After": str(retry)}
        )


def authenticate(session: Session, username: str, password: str) -> User:
    """The active user with these credentials; raise 429 when rate limited and 401
    (one message for every failure, to not reveal which usernames exist)."""
    username = (username or "").strip().lower()
    check_rate_limit(username)
    user = session.scalar(select(User).where(User.username == username)) if username else None
    ok = verify_password(user.password_hash if user else None, password or "")
    if not ok or user is None or not user.active:
        get_limiter().record_failure(username, client_ip())
        log("login_failed", username=username, ip=client_ip())
        raise AppError(401, "invalid_credentials", INVALID_CREDENTIALS)
    get_limiter().reset(username, client_ip())
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user
