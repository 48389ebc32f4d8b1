"""Creating, changing and deleting sites, and who is told about them.

Every function validates everything first (:mod:`admin_app.sites.validation`, then
what needs the database: a unique slug, existing contacts and groups), then changes
the session and flushes; the caller commits with
:func:`admin_app.contacts.commit.commit_change`. On any error nothing has been
changed. Deleting a site removes its links to contacts and groups, never the
contacts or groups themselves; its incidents keep their history (``site_slug``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from admin_app.contacts.service import build_contact, contacts_by_ids, groups_by_ids
from admin_app.contacts.validation import id_list
from admin_app.errors import Conflict, NotFound, ValidationError
from admin_app.logs import log
from admin_app.models import Contact, ContactGroup, Site
from admin_app.sites.defaults import load_defaults
from admin_app.sites.validation import SiteValues, contract_of, validate_site


def get_site(session: Session, slug: str) -> Site:
    site = session.scalar(select(Site).where(Site.slug == slug))
    if site is None:
        raise NotFound(f"there is no site with id {slug!r}")
    return site


def all_sites(session: Session) -> list[Site]:
    """Every site with its contacts and groups loaded in a fixed number of queries."""
    query = select(Site).options(
        selectinload(Site.contacts),
        selectinload(Site.contact_groups).selectinload(ContactGroup.members),
    )
    return list(session.scalars(query.order_by(Site.slug)))


def _slug_taken(session: Session, slug: str, except_id: int | None = None) -> bool:
    query = select(func.count()).select_from(Site).where(Site.slug == slug)
    if except_id is not None:
        query = query.where(Site.id != except_id)
    return bool(session.scalar(query))


def _slug_conflict(slug: str) -> Conflict:
    return Conflict(
        f"a site with id {slug!r} already exists",
        {"id": f"{slug!r} is already used by another site"},
    )


def _validated(
    session: Session,
    data: Any,
    current: Mapping[str, Any] | None,
    fixed_id: str | None,
) -> tuple[SiteValues, list[Contact] | None, list[ContactGroup] | None]:
    values, errors = validate_site(data, load_defaults(session), current, fixed_id)
    if errors or values is None:
        raise ValidationError(errors)
    contacts = groups = None
    if values.contact_ids is not None:
        contacts = contacts_by_ids(session, values.contact_ids, "contacts")
    if values.group_ids is not None:
        groups = groups_by_ids(session, values.group_ids, "contact_groups")
    return values, contacts, groups


def _flush(session: Session, slug: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise _slug_conflict(slug) from None


def _apply(
    site: Site,
    values: SiteValues,
    contacts: list[Contact] | None,
    groups: list[ContactGroup] | None,
) -> list[str]:
    changed = []
    for name, value in values.column_values().items():
        if getattr(site, name, None) != value:
            setattr(site, name, value)
            changed.append(name)
    if values.paused is not None and site.paused != values.paused:
        site.paused = values.paused
        changed.append("paused")
    if contacts is not None and [c.id for c in site.contacts] != [c.id for c in contacts]:
        site.contacts = contacts
        changed.append("contacts")
    if groups is not None and [g.id for g in site.contact_groups] != [g.id for g in groups]:
        site.contact_groups = groups
        changed.append("contact_groups")
    return changed


def create_site(session: Session, data: Any) -> Site:
    values, contacts, groups = _validated(session, data, None, None)
    if _slug_taken(session, values.slug):
        raise _slug_conflict(values.slug)
    site = Site(paused=bool(values.paused), contacts=[], contact_groups=[])
    with session.no_autoflush:
        _apply(site, values, contacts, groups)
    session.add(site)
    _flush(session, values.slug)
    log("site_created", site=site.slug)
    return site


def update_site(session: Session, site: Site, data: Any, replace: bool = False) -> Site:
    """Change the given fields (``replace``: ``data`` is the whole site, as a form
    sends it, and fields left out go back to their defaults)."""
    current = None if replace else contract_of(site)
    values, contacts, groups = _validated(session, data, current, site.slug)
    with session.no_autoflush:
        changed = _apply(site, values, contacts, groups)
    _flush(session, site.slug)
    if changed:
        log("site_updated", site=site.slug, changed=",".join(changed))
    return site


def set_flag(session: Session, site: Site, flag: str, value: Any) -> Site:
    """Pause/resume (``paused``) or maintenance on/off (``maintenance``)."""
    if flag not in ("paused", "maintenance"):
        raise ValueError(flag)
    if value is None:
        raise ValidationError({flag: "must be true or false"})
    return update_site(session, site, {flag: value})


def delete_site(session: Session, site: Site) -> None:
    slug = site.slug
    session.delete(site)
    session.flush()
    log("site_deleted", site=slug)


# --------------------------------------------------------------------------- contacts

ADD_CONTACT_FIELDS = ("contact_id", "contact", "group_id")


def add_to_site(session: Session, site: Site, data: Any) -> tuple[str, Contact | ContactGroup]:
    """Add one contact or group to a site (the original ``website/addmail/<id>``):
    ``{"contact_id": 3}`` (an existing contact), ``{"contact": {...}}`` (a new one,
    with the fields of ``POST /api/v1/contacts``) or ``{"group_id": 2}``.

    Returns ``("contact", contact)`` or ``("group", group)``. Adding what is already
    there changes nothing and is no error."""
    if not isinstance(data, Mapping):
        raise ValidationError({"site": "must be an object"})
    unknown = [k for k in data if k not in ADD_CONTACT_FIELDS]
    given = [k for k in ADD_CONTACT_FIELDS if data.get(k) not in (None, "")]
    if unknown:
        raise ValidationError(
            {str(k): f"unknown field (allowed: {', '.join(ADD_CONTACT_FIELDS)})" for k in unknown}
        )
    if len(given) != 1:
        raise ValidationError(
            {
                "contact_id": "give exactly one of contact_id (an existing contact), "
                "contact (a new contact) or group_id"
            }
        )
    key = given[0]
    if key == "contact":
        if not isinstance(data["contact"], Mapping):
            raise ValidationError({"contact": "must be an object with the contact's fields"})
        contact = build_contact(dict(data["contact"]), prefix="contact.")
        session.add(contact)
        site.contacts.append(contact)
        session.flush()
        log("site_contact_added", site=site.slug, contact_id=contact.id, new=True)
        return "contact", contact
    what = "contact" if key == "contact_id" else "contact group"
    ids, problem = id_list([data[key]], what)
    if problem:
        raise ValidationError({key: f"must be the id of an existing {what}"})
    if key == "contact_id":
        contact = contacts_by_ids(session, ids, key)[0]
        if contact not in site.contacts:
            site.contacts.append(contact)
            session.flush()
            log("site_contact_added", site=site.slug, contact_id=contact.id)
        return "contact", contact
    group = groups_by_ids(session, ids, key)[0]
    if group not in site.contact_groups:
        site.contact_groups.append(group)
        session.flush()
        log("site_group_added", site=site.slug, group_id=group.id)
    return "group", group


def remove_contact(session: Session, site: Site, contact_id: int) -> None:
    contact = next((c for c in site.contacts if c.id == contact_id), None)
    if contact is None:
        raise NotFound(f"contact {contact_id} is not a direct contact of {site.slug!r}")
    site.contacts.remove(contact)
    session.flush()
    log("site_contact_removed", site=site.slug, contact_id=contact_id)


def remove_group(session: Session, site: Site, group_id: int) -> None:
    group = next((g for g in site.contact_groups if g.id == group_id), None)
    if group is None:
        raise NotFound(f"contact group {group_id} is not a group of {site.slug!r}")
    site.contact_groups.remove(group)
    session.flush()
    log("site_group_removed", site=site.slug, group_id=group_id)
