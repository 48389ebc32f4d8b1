"""API tokens: issue, authenticate, refresh (with rotation) and revoke.

A token is ``uwa_<random>`` (access) or ``uwr_<random>`` (refresh); the database
keeps only its SHA-256. An access and a refresh token issued together share a
family. Refreshing revokes the old pair and issues a new one in the same family;
presenting an already rotated or revoked refresh token again revokes the whole
family (a stolen refresh token stops working for the thief and the owner alike).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, request
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from admin_app.db import get_session, utcnow
from admin_app.errors import AppError, Forbidden
from admin_app.models import ApiToken, User
from admin_app.rbac import has_feature
from admin_app.roles import Feature, Role

ACCESS_PREFIX = "uwa_"
REFRESH_PREFIX = "uwr_"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def as_json(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


class TokenError(AppError):
    def __init__(self, message: str, code: str = "invalid_token"):
        super().__init__(
            401,
            code,
            message,
            headers={"WWW-Authenticate": 'Bearer realm="upwatch", error="invalid_token"'},
        )


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def ensure_api_access(user: User) -> None:
    if not has_feature(user.role, Feature.API_ACCESS):
        raise Forbidden(
            f"the role {Role(user.role).label!r} has no API access, so it cannot get API tokens",
            code="no_api_access",
        )


def issue_pair(
    session: Session,
    user: User,
    access_ttl: int,
    refresh_ttl: int,
    family: str | None = None,
    now: datetime | None = None,
) -> TokenPair:
    """Create and add (not commit) an access and a refresh token for ``user``."""
    now = now or utcnow()
    family = family or secrets.token_hex(16)
    access, refresh = _new_token(ACCESS_PREFIX), _new_token(REFRESH_PREFIX)
    session.add_all(
        [
            ApiToken(
                user_id=user.id,
                kind="access",
                token_hash=hash_token(access),
                family=family,
                created_at=now,
                expires_at=now + timedelta(seconds=access_ttl),
            ),
            ApiToken(
                user_id=user.id,
                kind="refresh",
                token_hash=hash_token(refresh),
                family=family,
                created_at=now,
                expires_at=now + timedelta(seconds=refresh_ttl),
            ),
        ]
    )
    return TokenPair(access, refresh, access_ttl)


def issue_for_app(session: Session, user: User) -> TokenPair:
    cfg = current_app.config
    return issue_pair(session, user, cfg["ACCESS_TOKEN_TTL"], cfg["REFRESH_TOKEN_TTL"])


def find(session: Session, raw: str) -> ApiToken | None:
    if not raw or len(raw) > 200:
        return None
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))


def revoke_family(session: Session, family: str, now: datetime | None = None) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.family == family, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )


def revoke_user_tokens(session: Session, user_id: int, now: datetime | None = None) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )


def authenticate_access(session: Session, raw: str, now: datetime | None = None) -> User:
    """The active user owning the access token ``raw``; raise :class:`TokenError`."""
    now = now or utcnow()
    token = find(session, raw)
    if token is None or token.kind != "access":
        raise TokenError("the access token is not valid")
    if token.revoked_at is not None:
        raise TokenError("the access token has been revoked", code="token_revoked")
    if now >= token.expires_at:
        raise TokenError("the access token has expired; refresh it", code="token_expired")
    user = token.user
    if not user.active:
        raise TokenError("the account of this token is disabled", code="account_disabled")
    return user


def refresh(session: Session, raw: str, now: datetime | None = None) -> TokenPair:
    """Rotate the pair of the refresh token ``raw`` (adds; the caller commits)."""
    now = now or utcnow()
    token = find(session, raw)
    if token is None or token.kind != "refresh":
        raise TokenError("the refresh token is not valid")
    if token.revoked_at is not None:
        revoke_family(session, token.family, now)
        session.commit()
        raise TokenError(
            "the refresh token was already used or revoked; log in again", code="token_revoked"
        )
    if now >= token.expires_at:
        raise TokenError("the refresh token has expired; log in again", code="token_expired")
    user = token.user
    if not user.active:
        raise TokenError("the account of this token is disabled", code="account_disabled")
    ensure_api_access(user)
    revoke_family(session, token.family, now)
    cfg = current_app.config
    return issue_pair(
        session, user, cfg["ACCESS_TOKEN_TTL"], cfg["REFRESH_TOKEN_TTL"], token.family, now
    )


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def bearer_user() -> User:
    """The user of the request's bearer access token; raise 401 when there is none."""
    raw = bearer_token()
    if raw is None:
        raise AppError(
            401,
            "unauthorized",
            "an access token is required: send 'Authorization: Bearer <token>' "
            "(get one from POST /api/v1/auth/token)",
            headers={"WWW-Authenticate": 'Bearer realm="upwatch"'},
        )
    session = get_session()
    user = authenticate_access(session, raw)
    return user
