"""Who operates Upwatch itself: the *operations contact group* of the settings page
(the setting ``operations_group``, a contact group's id).

Its members are told about the alerts on Upwatch itself
(:data:`admin_app.notify.payload.OPERATIONS_ALERTS`): config generation gives them an
email route in Alertmanager (the receiver ``upwatch-operations``), and the hook
texts those who want SMS when an exporter is down or back
(:mod:`admin_app.notify.service`). Without a group (or with one whose members have
neither a wanted email address nor a wanted phone number) nobody is paged when an
exporter stops: :func:`admin_app.configgen.alertmanager_yml.nobody_warning` says
so on the settings page, in the
configuration status and in the log.

A group that is the operations group cannot be deleted
(:func:`admin_app.contacts.service.delete_group`): choose another one first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from admin_app.configgen.alertmanager_yml import nobody_warning, reachable
from admin_app.models import Contact, ContactGroup

SETTING = "operations_group"


def group_id(settings: Mapping[str, Any]) -> int | None:
    """The id the effective settings name (None: not set)."""
    value = settings.get(SETTING)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def operations_group(session: Session, settings: Mapping[str, Any]) -> ContactGroup | None:
    """The operations group with its members loaded (None: not set, or gone)."""
    gid = group_id(settings)
    if gid is None:
        return None
    query = (
        select(ContactGroup)
        .where(ContactGroup.id == gid)
        .options(selectinload(ContactGroup.members))
    )
    return session.scalar(query)


def members(group: ContactGroup | None) -> list[Contact]:
    """A group's members by name (empty without a group)."""
    if group is None:
        return []
    return sorted(group.members, key=lambda c: (c.name.lower(), c.id))


def status(session: Session, settings: Mapping[str, Any]) -> dict[str, Any]:
    """What the settings page and API show about the operations contacts."""
    group = operations_group(session, settings)
    contacts = members(group)
    out_contacts = []
    for c in contacts:
        email, sms = reachable(c)
        out_contacts.append({"id": c.id, "name": c.name, "email": email, "sms": sms})
    return {
        "group": {"id": group.id, "name": group.name} if group is not None else None,
        "contacts": out_contacts,
        "warning": nobody_warning(group.name if group is not None else None, contacts),
    }


def resolve_group(session: Session, ref: int | str) -> tuple[int | None, str | None]:
    """A group reference (an id, or a name) as the group's id, or a message."""
    if isinstance(ref, int):
        if session.get(ContactGroup, ref) is not None:
            return ref, None
        return None, f"no contact group with id {ref}"
    found = session.scalar(select(ContactGroup.id).where(ContactGroup.name == ref))
    if found is None:
        found = session.scalar(
            select(ContactGroup.id).where(func.lower(ContactGroup.name) == ref.lower())
        )
    if found is None:
        return None, f"no contact group named {ref!r}"
    return int(found), None


def is_operations_group(session: Session, gid: int) -> bool:
    """Whether the group with this id is the stored operations group."""
    from admin_app.models import Setting

    row = session.get(Setting, SETTING)
    return row is not None and (row.value or "").strip() == str(gid)
