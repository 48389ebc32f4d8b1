"""Reading and writing settings: typed values from the database, the environment
or the defaults; secret values encrypted in the database and never returned by
:func:`describe` (only whether they are set)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.crypto import SecretDecryptError
from admin_app.models import Setting
from admin_app.settings.schema import BY_KEY, FIELDS, deserialize, serialize


def _rows(session: Session) -> dict[str, Setting]:
    return {s.key: s for s in session.scalars(select(Setting))}


def effective(
    session: Session, secret_key: str, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Every setting's typed value (secrets decrypted): for use by the app only."""
    return {k: v for k, (v, _src) in _resolve(session, secret_key, env).items()}


def _resolve(
    session: Session, secret_key: str, env: Mapping[str, str] | None
) -> dict[str, tuple[Any, str]]:
    env = os.environ if env is None else env
    rows = _rows(session)
    out: dict[str, tuple[Any, str]] = {}
    for field in FIELDS:
        row = rows.get(field.key)
        if row is not None and row.value is not None:
            try:
                out[field.key] = (deserialize(field, row.get_value(secret_key) or ""), "database")
            except SecretDecryptError:
                out[field.key] = (None, "undecryptable")
        elif field.env and env.get(field.env):
            out[field.key] = (deserialize(field, env[field.env]), "environment")
        else:
            out[field.key] = (field.default, "default")
    return out


def describe(
    session: Session, secret_key: str, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """What the page and the API show: values (secrets left out), which secrets are
    set, and where each value comes from."""
    resolved = _resolve(session, secret_key, env)
    values: dict[str, Any] = {}
    secrets: dict[str, bool] = {}
    sources: dict[str, str] = {}
    for field in FIELDS:
        value, source = resolved[field.key]
        sources[field.key] = source
        if field.secret:
            secrets[field.key] = bool(value)
        else:
            values[field.key] = value
    return {"settings": values, "secrets": secrets, "sources": sources}


def apply_changes(session: Session, secret_key: str, changes: Mapping[str, Any]) -> list[str]:
    """Store validated changes (None deletes the row). Returns the changed keys."""
    rows = _rows(session)
    changed = []
    for key, value in changes.items():
        field = BY_KEY[key]
        row = rows.get(key)
        if value is None:
            if row is not None:
                session.delete(row)
                changed.append(key)
            continue
        text = serialize(field, value)
        if row is None:
            row = Setting(key=key)
            session.add(row)
        else:
            try:
                if row.get_value(secret_key) == text and row.is_secret == field.secret:
                    continue
            except SecretDecryptError:
                pass  # overwritten with a value encrypted under the current key
        row.set_value(secret_key, text, field.secret)
        changed.append(key)
    session.flush()
    return changed
