"""Creating, changing and deleting contacts and contact groups.

Functions validate everything first, then add to the session and flush; the caller
commits (with :func:`admin_app.contacts.commit.commit_change`). On any error nothing
has been changed in the session. Deleting a contact or a group removes it from
every site and group; it never deletes the other side.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from admin_app.contacts.validation import validate_contact, validate_group
from admin_app.errors import Conflict, ValidationError
from admin_app.logs import log
from admin_app.models import Contact, ContactGroup, public_dict

CONTACT_PUBLIC_FIELDS = ("id", "name", "email", "phone", "wants_email", "wants_sms")
GROUP_PUBLIC_FIELDS = ("id", "name", "description")
STAMPS = ("created_at", "updated_at")


# --------------------------------------------------------------------------- JSON


def contact_brief(contact: Contact) -> dict[str, Any]:
    return public_dict(contact, CONTACT_PUBLIC_FIELDS)


def contact_json(contact: Contact) -> dict[str, Any]:
    out = contact_brief(contact)
    out["groups"] = [group_brief(g) for g in by_name(contact.groups)]
    out["sites"] = sorted(s.slug for s in contact.sites)
    out.update(public_dict(contact, STAMPS))
    return out


def group_brief(group: ContactGroup) -> dict[str, Any]:
    return {"id": group.id, "name": group.name}


def group_json(group: ContactGroup) -> dict[str, Any]:
    out = public_dict(group, GROUP_PUBLIC_FIELDS)
    out["members"] = [contact_brief(c) for c in by_name(group.members)]
    out["sites"] = sorted(s.slug for s in group.sites)
    out.update(public_dict(group, STAMPS))
    return out


def by_name(items: Iterable[Any]) -> list[Any]:
    """Contacts or groups in the order the pages and the API show them."""
    return sorted(items, key=lambda obj: (obj.name.lower(), obj.id or 0))


# --------------------------------------------------------------------------- lookups


def phone_region() -> str | None:
    """The region national phone numbers are read in (``PHONE_DEFAULT_REGION``,
    e.g. ``"GB"``); None: numbers must carry their country code."""
    region = current_app.config.get("PHONE_DEFAULT_REGION")
    return str(region).upper() if region else None


def contacts_by_ids(session: Session, ids: Iterable[int], field: str) -> list[Contact]:
    """The contacts with these ids, in the given order; a 422 naming ``field`` when
    any of them does not exist."""
    ids = list(ids)
    found = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError({field: "no contact with id " + ", ".join(str(i) for i in missing)})
    return [found[i] for i in ids]


def groups_by_ids(session: Session, ids: Iterable[int], field: str) -> list[ContactGroup]:
    ids = list(ids)
    found = {g.id: g for g in session.scalars(select(ContactGroup).where(ContactGroup.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError(
            {field: "no contact group with id " + ", ".join(str(i) for i in missing)}
        )
    return [found[i] for i in ids]


def all_contacts(session: Session) -> list[Contact]:
    query = select(Contact).options(selectinload(Contact.groups), selectinload(Contact.sites))
    return list(session.scalars(query.order_by(func.lower(Contact.name), Contact.id)))


def all_groups(session: Session) -> list[ContactGroup]:
    query = select(ContactGroup).options(
        selectinload(ContactGroup.members), selectinload(ContactGroup.sites)
    )
    return list(session.scalars(query.order_by(func.lower(ContactGroup.name), ContactGroup.id)))


# --------------------------------------------------------------------------- contacts


def _contact_values(contact: Contact) -> dict[str, Any]:
    return {k: getattr(contact, k) for k in CONTACT_PUBLIC_FIELDS if k != "id"}


def build_contact(data: dict[str, Any], prefix: str = "") -> Contact:
    """A new, validated contact (not yet added to a session). ``prefix`` is put
    before the field names of the errors (``"contact."`` for an inline contact)."""
    clean, errors = validate_contact(data, None, phone_region())
    if errors:
        raise ValidationError({prefix + k: v for k, v in errors.items()})
    return Contact(**clean)


def create_contact(session: Session, data: dict[str, Any]) -> Contact:
    contact = build_contact(data)
    session.add(contact)
    session.flush()
    log("contact_created", contact_id=contact.id)
    return contact


def update_contact(session: Session, contact: Contact, data: dict[str, Any]) -> Contact:
    clean, errors = validate_contact(data, _contact_values(contact), phone_region())
    if errors:
        raise ValidationError(errors)
    changed = [k for k, v in clean.items() if getattr(contact, k) != v]
    for key in changed:
        setattr(contact, key, clean[key])
    session.flush()
    if changed:
        log("contact_updated", contact_id=contact.id, changed=",".join(sorted(changed)))
    return contact


def delete_contact(session: Session, contact: Contact) -> None:
    contact_id = contact.id
    session.delete(contact)  # association rows go with it; sites and groups stay
    session.flush()
    log("contact_deleted", contact_id=contact_id)


# --------------------------------------------------------------------------- groups


def _name_taken(session: Session, name: str, except_id: int | None) -> bool:
    query = select(func.count()).select_from(ContactGroup).where(ContactGroup.name == name)
    if except_id is not None:
        query = query.where(ContactGroup.id != except_id)
    return bool(session.scalar(query))


def _group_taken() -> Conflict:
    return Conflict(
        "a contact group with that name already exists",
        {"name": "is already used by another contact group"},
    )


def _flush_group(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise _group_taken() from None


def _apply_group(session: Session, group: ContactGroup, clean: dict[str, Any]) -> None:
    members = None
    if "members" in clean:
        members = contacts_by_ids(session, clean["members"], "members")
    if "name" in clean and _name_taken(session, clean["name"], group.id):
        raise _group_taken()
    for key in ("name", "description"):
        if key in clean:
            setattr(group, key, clean[key])
    if members is not None:
        group.members = members


def create_group(session: Session, data: dict[str, Any]) -> ContactGroup:
    clean, errors = validate_group(data)
    if errors:
        raise ValidationError(errors)
    group = ContactGroup(name=clean["name"], description=clean["description"])
    _apply_group(session, group, clean)
    session.add(group)
    _flush_group(session)
    log("contact_group_created", group_id=group.id)
    return group


def update_group(session: Session, group: ContactGroup, data: dict[str, Any]) -> ContactGroup:
    clean, errors = validate_group(data, current={"name": group.name})
    if errors:
        raise ValidationError(errors)
    with session.no_autoflush:
        _apply_group(session, group, clean)
    _flush_group(session)
    log("contact_group_updated", group_id=group.id, changed=",".join(sorted(clean)))
    return group


def delete_group(session: Session, group: ContactGroup) -> None:
    """Delete the group; a 409 for the operations group of the settings page (it
    would leave nobody paged about Upwatch itself)."""
    from admin_app.settings.operations import is_operations_group

    group_id = group.id
    if is_operations_group(session, group_id):
        raise Conflict(
            f"the contact group {group.name!r} is the operations group (settings page): "
            "choose another operations group there first, so that someone is still "
            "paged when an Upwatch exporter is down"
        )
    session.delete(group)  # memberships and site links go; contacts and sites stay
    session.flush()
    log("contact_group_deleted", group_id=group_id)
