"""What the status page shows of each site: its live row and its uptime figures,
for one page of sites (search, state filter, pagination)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.history.store import outage_records_by_site
from admin_app.models import Site
from admin_app.status.bars import SiteUptime, bar_start, site_uptime
from admin_app.status.board import STATES, BoardSnapshot, LiveRow, SiteFlags, live_row

PER_PAGE = 100


@dataclass(frozen=True, slots=True)
class DashRow:
    slug: str
    name: str
    url: str
    live: LiveRow
    uptime: SiteUptime


@dataclass(frozen=True, slots=True)
class DashPage:
    rows: list[DashRow]
    total: int  # sites matching the filters
    page: int
    pages: int
    counts: dict[str, int]  # per state, over every site


def _row_of(site: Any, snap: BoardSnapshot) -> LiveRow:
    row = snap.rows.get(site.slug)
    if row is not None:
        return row
    # Newer than the shared snapshot: its flags are known, its live state not yet.
    return live_row(SiteFlags(site.slug, site.name, site.paused, site.maintenance), None)


def dashboard_page(
    session: Session,
    snap: BoardSnapshot,
    now: datetime,
    query: str = "",
    state: str = "",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> DashPage:
    columns = (Site.slug, Site.name, Site.url, Site.paused, Site.maintenance, Site.created_at)
    sites = list(session.execute(select(*columns)))
    sites.sort(key=lambda s: ((s.name or s.slug).lower(), s.slug))
    live = {s.slug: _row_of(s, snap) for s in sites}
    counts = dict.fromkeys(STATES, 0)
    for row in live.values():
        counts[row.state] += 1
    needle = query.strip().lower()
    if needle:
        sites = [s for s in sites if needle in s.slug.lower() or needle in (s.name or "").lower()]
    if state in STATES:
        sites = [s for s in sites if live[s.slug].state == state]
    total = len(sites)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    chosen = sites[(page - 1) * per_page : page * per_page]
    records: dict[str, list] = {}
    if chosen:
        stream = outage_records_by_site(session, [s.slug for s in chosen], bar_start(now), now)
        for slug, group in groupby(stream, key=lambda item: item[0]):
            records[slug] = [record for _, record in group]
    rows = [
        DashRow(
            slug=s.slug,
            name=s.name or s.slug,
            url=s.url,
            live=live[s.slug],
            uptime=site_uptime(records.get(s.slug, []), now, s.created_at),
        )
        for s in chosen
    ]
    return DashPage(rows, total, page, pages, counts)
