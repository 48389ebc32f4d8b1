"""Configuration of the admin app from ``UPWATCH_*`` environment variables.

Every setting has a safe default on loopback, so ``upwatch-admin run`` works with no
environment at all: SQLite under ``var/`` and a secret key generated once and kept in
the data directory (mode 0600). Tests and embedders pass a mapping to ``create_app``
that overrides anything read here.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = "var"
SECRET_KEY_FILE = "secret_key"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigurationError(ValueError):
    """An ``UPWATCH_*`` variable has a value that cannot be used."""


def _env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean (use true or false)")


def _env_int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigurationError(f"{name}={raw!r} must be at least {minimum}")
    return value


# Prometheus' duration syntax: units in descending order, e.g. 15d, 1y, 2w3d, 36h.
_DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1)
DEFAULT_PROMETHEUS_RETENTION = "15d"  # Prometheus' own default


def parse_duration(text: str) -> timedelta:
    """A Prometheus duration (``15d``, ``1y``, ``2w3d``, ``36h``) as a timedelta;
    ``ValueError`` naming the accepted form when it is not one or is zero."""
    raw = text.strip() if isinstance(text, str) else ""
    match = _DURATION_RE.match(raw)
    if not raw or not match:
        raise ValueError(
            f"{text!r} is not a duration: use e.g. 15d, 30d, 1y or 2w3d (units y w d h m s)"
        )
    total = sum(int(g) * unit for g, unit in zip(match.groups(), _DURATION_UNITS, strict=True) if g)
    if total <= 0:
        raise ValueError(f"{text!r} is not a duration longer than zero")
    return timedelta(seconds=total)


def _env_duration(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        parse_duration(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name}: {exc}") from None
    return raw.strip()


def _env_url(env: Mapping[str, str], name: str) -> str | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if not re.match(r"^https?://[^/\s]+", raw):
        raise ConfigurationError(
            f"{name}={raw!r} is not an http(s) URL (e.g. http://127.0.0.1:8428)"
        )
    return raw.rstrip("/")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def load_secret_key(data_dir: Path) -> str:
    """The key kept in ``<data dir>/secret_key``, created on first use (mode 0600)."""
    path = data_dir / SECRET_KEY_FILE
    try:
        key = path.read_text().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def from_env(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Flask config mapping built from ``UPWATCH_*`` variables."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("UPWATCH_DATA_DIR") or DEFAULT_DATA_DIR)
    secret_key = env.get("UPWATCH_SECRET_KEY") or None
    cookie_secure = _env_bool(env, "UPWATCH_COOKIE_SECURE", False)
    return {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": env.get("UPWATCH_DATABASE_URL") or sqlite_url(data_dir / "upwatch.db"),
        # None means: read or create <data dir>/secret_key when the app is built.
        "SECRET_KEY": secret_key,
        "SITES_FILE": env.get("UPWATCH_SITES_FILE") or str(data_dir / "sites.yml"),
        "ALERTMANAGER_CONFIG": env.get("UPWATCH_ALERTMANAGER_CONFIG")
        or str(data_dir / "alertmanager.yml"),
        "EXPORTER_URL": env.get("UPWATCH_EXPORTER_URL") or "http://127.0.0.1:9115",
        "PROMETHEUS_URL": env.get("UPWATCH_PROMETHEUS_URL") or "http://127.0.0.1:9090",
        # A long-term store with Prometheus' query API (VictoriaMetrics, fed by
        # remote_write): history ranges older than PROMETHEUS_RETENTION are read there.
        "LONG_TERM_URL": _env_url(env, "UPWATCH_LONG_TERM_URL"),
        "PROMETHEUS_RETENTION": _env_duration(
            env, "UPWATCH_PROMETHEUS_RETENTION", DEFAULT_PROMETHEUS_RETENTION
        ),
        "ALERTMANAGER_URL": env.get("UPWATCH_ALERTMANAGER_URL") or "http://127.0.0.1:9093",
        "WEBHOOK_TOKEN": env.get("UPWATCH_WEBHOOK_TOKEN") or None,
        "SMS_PROVIDER": env.get("UPWATCH_SMS_PROVIDER") or None,
        "ACCESS_TOKEN_TTL": _env_int(env, "UPWATCH_ACCESS_TOKEN_TTL", 3600),
        "REFRESH_TOKEN_TTL": _env_int(env, "UPWATCH_REFRESH_TOKEN_TTL", 30 * 24 * 3600),
        "LOGIN_RATE_LIMIT": _env_int(env, "UPWATCH_LOGIN_RATE_LIMIT", 5),
        "LOGIN_RATE_WINDOW": _env_int(env, "UPWATCH_LOGIN_RATE_WINDOW", 300),
        "PASSWORD_HASH_PROFILE": "default",
        "SESSION_COOKIE_SECURE": cookie_secure,
        "REMEMBER_COOKIE_SECURE": cookie_secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "upwatch_session",
        "REMEMBER_COOKIE_NAME": "upwatch_remember",
        "REMEMBER_COOKIE_DURATION": 14 * 24 * 3600,
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    }
