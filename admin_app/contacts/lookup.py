"""Loading one contact or group by id for a view, or a 404 the client can read."""

from __future__ import annotations

from admin_app.contacts.validation import INT_MAX
from admin_app.db import get_session
from admin_app.errors import NotFound
from admin_app.models import Contact, ContactGroup


def get_contact(contact_id: int) -> Contact:
    contact = get_session().get(Contact, contact_id) if 0 < contact_id <= INT_MAX else None
    if contact is None:
        raise NotFound(f"there is no contact with id {contact_id}")
    return contact


def get_group(group_id: int) -> ContactGroup:
    group = get_session().get(ContactGroup, group_id) if 0 < group_id <= INT_MAX else None
    if group is None:
        raise NotFound(f"there is no contact group with id {group_id}")
    return group
