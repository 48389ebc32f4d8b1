"""Password hashing with argon2id (argon2-cffi). Tests use the cheapest profile
(``PASSWORD_HASH_PROFILE = "fast"``) so that hashing does not dominate the suite."""

from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context

PASSWORD_MIN = 8
PASSWORD_MAX = 256

_HASHERS = {
    "default": PasswordHasher(),
    "fast": PasswordHasher.from_parameters(profiles.CHEAPEST),
}
# Verified against when the username does not exist, so that a wrong username takes
# as long as a wrong password.
_DUMMY_HASH = _HASHERS["default"].hash("upwatch-dummy-password")


def _hasher() -> PasswordHasher:
    profile = (
        current_app.config.get("PASSWORD_HASH_PROFILE", "default")
        if has_app_context()
        else "default"
    )
    return _HASHERS.get(profile, _HASHERS["default"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    hasher = _hasher()
    try:
        return hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def password_problem(password: object) -> str | None:
    """Why ``password`` is not acceptable, or None."""
    if not isinstance(password, str) or not password:
        return "a password is required"
    if len(password) < PASSWORD_MIN:
        return f"must be at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"must be at most {PASSWORD_MAX} characters"
    if password.strip() != password and not password.strip():
        return "must not be only spaces"
    return None
