"""Committing a change that the generated configuration depends on: the one place
where sites, contacts and groups commit, so that every successful change (and only
a successful one) tells config generation, through :func:`admin_app.changes.notify`.
The applier coalesces many quick notifications into one regeneration."""

from __future__ import annotations

from sqlalchemy.orm import Session

from admin_app.changes import notify

KIND_SITES = "sites"
KIND_CONTACTS = "contacts"
KIND_GROUPS = "groups"


def commit_change(session: Session, kind: str) -> None:
    """Commit the session, then signal that ``kind`` changed (never before the commit:
    the regeneration reads the database from another session)."""
    session.commit()
    notify(kind)
