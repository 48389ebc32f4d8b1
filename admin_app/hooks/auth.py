"""The hooks' shared-token check.

Alertmanager sends ``Authorization: Bearer <token>`` (the generated config's
``http_config.authorization``); ``Authorization: Basic`` with the token as the
password (any user name) is accepted too, for setups that use ``basic_auth``. The
token is ``UPWATCH_WEBHOOK_TOKEN`` (``WEBHOOK_TOKEN`` in the Flask config); the
comparison takes constant time. With no token configured every call is refused
with 503: a hook open to anyone could write the incident log and send SMS.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from admin_app.errors import AppError

UNSET_MESSAGE = (
    "the webhook token is not configured: set UPWATCH_WEBHOOK_TOKEN for the admin app, "
    "then regenerate the Alertmanager configuration (upwatch-admin regen-config) so "
    "that Alertmanager sends it"
)


def presented_secret(authorization: str | None) -> str | None:
    """The token a request presents: the bearer token, or the basic-auth password."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        _user, sep, password = decoded.partition(":")
        return password if sep else None
    return None


def token_matches(authorization: str | None, token: str) -> bool:
    secret = presented_secret(authorization)
    if secret is None:
        return False
    return hmac.compare_digest(secret.encode("utf-8"), token.encode("utf-8"))


def check(authorization: str | None, token: str | None) -> None:
    """Raise the 503 or 401 :class:`AppError`; return when the request may go on."""
    if not token:
        raise AppError(503, "webhook_token_unset", UNSET_MESSAGE)
    if not token_matches(authorization, token):
        raise AppError(
            401,
            "unauthorized",
            "missing or wrong webhook token (Authorization: Bearer <UPWATCH_WEBHOOK_TOKEN>)",
            headers={"WWW-Authenticate": 'Bearer realm="upwatch-hooks"'},
        )
