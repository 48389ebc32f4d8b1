"""Reading the incident log for the history API and the reports.

A site's history is keyed by its slug (``Incident.site_slug``), so it outlives the
site. A site is measured from when it was added (``Site.created_at``): before that
it was not monitored, and it counts neither as up nor as down.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from admin_app.errors import NotFound
from admin_app.models import Incident, Site
from admin_app.uptime import OutageRecord


@dataclass(frozen=True, slots=True)
class SiteRef:
    """What history needs of a site: its id (slug), name and when it was added
    (``None`` for a deleted site known only from its incidents)."""

    slug: str
    name: str
    monitored_since: datetime | None


def site_ref(site: Site) -> SiteRef:
    return SiteRef(site.slug, site.name or site.slug, site.created_at)


def find_site(session: Session, slug: str) -> SiteRef:
    """The site with this id; a deleted one while its incidents remain; else 404."""
    site = session.scalar(select(Site).where(Site.slug == slug))
    if site is not None:
        return site_ref(site)
    first = session.scalar(select(Incident.id).where(Incident.site_slug == slug).limit(1))
    if first is None:
        raise NotFound(f"there is no site with id {slug!r}")
    return SiteRef(slug, slug, None)


def sites_by_slug(session: Session, slugs: Iterable[str] | None) -> tuple[list[SiteRef], list[str]]:
    """The named sites (every site when ``slugs`` is None), sorted by id, and the
    ids that match no site."""
    query = select(Site.slug, Site.name, Site.created_at)
    wanted = None if slugs is None else list(slugs)
    if wanted is not None:
        query = query.where(Site.slug.in_(wanted))
    found = sorted(
        (SiteRef(slug, name or slug, created) for slug, name, created in session.execute(query)),
        key=lambda s: s.slug,
    )
    missing = [] if wanted is None else sorted(set(wanted) - {s.slug for s in found})
    return found, missing


def overlapping(query: Select, start: datetime, end: datetime) -> Select:
    """Incidents that overlap ``[start, end)``: started before its end, and not
    ended by its start (open ones always)."""
    return query.where(
        Incident.started_at < end,
        or_(Incident.ended_at.is_(None), Incident.ended_at > start),
    )


def outage_records(
    session: Session, slug: str, start: datetime, end: datetime
) -> list[OutageRecord]:
    """The site's incidents overlapping ``[start, end)`` as outage records."""
    query = overlapping(
        select(Incident.started_at, Incident.ended_at, Incident.reason, Incident.maintenance),
        start,
        end,
    ).where(Incident.site_slug == slug)
    return [
        OutageRecord(started, ended, reason or "", bool(maint))
        for started, ended, reason, maint in session.execute(query.order_by(Incident.started_at))
    ]


def outage_records_by_site(
    session: Session,
    slugs: list[str] | None,
    start: datetime,
    end: datetime,
    batch: int = 2000,
) -> Iterator[tuple[str, OutageRecord]]:
    """``(slug, record)`` of every incident overlapping ``[start, end)``, sorted by
    site then start, read in batches (server-side cursor on PostgreSQL) so that a
    large range never sits in memory whole. ``slugs=None``: every site."""
    query = overlapping(
        select(
            Incident.site_slug,
            Incident.started_at,
            Incident.ended_at,
            Incident.reason,
            Incident.maintenance,
        ),
        start,
        end,
    )
    if slugs is not None:
        query = query.where(Incident.site_slug.in_(slugs))
    slug_order = Incident.site_slug
    if session.get_bind().dialect.name == "postgresql":
        # Code-point order, as Python sorts the sites (not the locale's collation).
        slug_order = slug_order.collate("C")
    query = query.order_by(slug_order, Incident.started_at, Incident.id)
    result = session.execute(query.execution_options(yield_per=batch, stream_results=True))
    for slug, started, ended, reason, maint in result:
        yield slug, OutageRecord(started, ended, reason or "", bool(maint))


def incident_page_query(
    slugs: list[str],
    start: datetime | None,
    end: datetime | None,
    status: str | None,
    after: tuple[datetime, int] | None,
) -> Select:
    """Incidents newest first (``started_at`` then ``id`` descending: a stable order),
    filtered, continuing after the cursor position ``after``."""
    query = select(Incident, Site.name).outerjoin(Site, Site.id == Incident.site_id)
    if slugs:
        query = query.where(Incident.site_slug.in_(slugs))
    if end is not None:
        query = query.where(Incident.started_at < end)
    if start is not None:
        query = query.where(or_(Incident.ended_at.is_(None), Incident.ended_at > start))
    if status == "open":
        query = query.where(Incident.ended_at.is_(None))
    elif status == "closed":
        query = query.where(Incident.ended_at.is_not(None))
    if after is not None:
        at, ident = after
        query = query.where(
            or_(
                Incident.started_at < at,
                and_(Incident.started_at == at, Incident.id < ident),
            )
        )
    return query.order_by(Incident.started_at.desc(), Incident.id.desc())
