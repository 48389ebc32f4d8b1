"""The downtime report's content, independent of its file format.

:class:`DowntimeReport` reads the incident log of the chosen sites for one range as
a stream (sorted by site, then start) and yields one :class:`IncidentRow` per merged
outage that overlaps the range; as each site's incidents go by it computes that
site's :class:`SiteSummary`, so that once the rows are exhausted ``summaries`` holds
one per chosen site (sites without incidents too). Only one site's incidents are in
memory at a time.

The arithmetic is :mod:`admin_app.uptime`'s, the same as the history API's: each
site is measured from when it was added to the end of the range or now, whichever
is first; overlapping or duplicated records are one outage; an open outage runs to
now; outages during maintenance are left out of the downtime and the denominator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from admin_app.history.store import SiteRef, outage_records_by_site, overlapping
from admin_app.models import Incident
from admin_app.uptime import Outage, OutageRecord, Summary, analyse, effective_range

INCIDENT_COLUMNS: tuple[str, ...] = (
    "site_id",
    "site_name",
    "start",
    "end",
    "duration_seconds",
    "in_range_seconds",
    "reason",
    "maintenance",
    "status",
)
SUMMARY_COLUMNS: tuple[str, ...] = (
    "site_id",
    "site_name",
    "from",
    "to",
    "uptime_percent",
    "incidents",
    "downtime_seconds",
    "maintenance_seconds",
    "monitored_seconds",
    "mttr_seconds",
    "longest_outage_seconds",
)


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One merged outage of one site. ``end`` is ``None`` while it is open, and then
    ``duration`` runs to now; ``in_range`` is the part inside the report's range."""

    site: SiteRef
    start: datetime
    end: datetime | None
    duration: timedelta
    in_range: timedelta
    reason: str
    maintenance: bool

    @property
    def status(self) -> str:
        return "open" if self.end is None else "closed"


@dataclass(frozen=True, slots=True)
class SiteSummary:
    site: SiteRef
    summary: Summary


@dataclass
class DowntimeReport:
    """The report over ``[start, end)`` for ``sites`` (sorted by id);
    ``all_sites`` means no filter on the incident query (every site is chosen)."""

    session: Session
    sites: list[SiteRef]
    start: datetime
    end: datetime
    now: datetime
    all_sites: bool = False
    summaries: list[SiteSummary] = field(default_factory=list)

    def rows(self) -> Iterator[IncidentRow]:
        """The incident rows, site by site; fills :attr:`summaries` as it goes."""
        by_slug = {s.slug: s for s in self.sites}
        done: dict[str, SiteSummary] = {}
        self.summaries = []
        read_end = min(self.end, self.now)
        stream = (
            outage_records_by_site(
                self.session,
                None if self.all_sites else list(by_slug),
                self.start,
                read_end,
            )
            if self.start < read_end
            else iter(())
        )
        for slug, group in groupby(stream, key=lambda item: item[0]):
            site = by_slug.get(slug)
            if site is None:  # a deleted site's incidents, when every site is chosen
                continue
            records = [record for _, record in group]
            summary, outages = self._site(site, records)
            done[slug] = SiteSummary(site, summary)
            eff_start, eff_end = summary.start, summary.end
            for outage in outages:
                yield _row(site, outage, eff_start, eff_end, self.now)
        for site in self.sites:
            found = done.get(site.slug)
            if found is None:
                summary, _ = self._site(site, [])
                found = SiteSummary(site, summary)
            self.summaries.append(found)

    def _site(self, site: SiteRef, records: list[OutageRecord]) -> tuple[Summary, list[Outage]]:
        analysis = analyse(records, self.start, self.end, self.now, site.monitored_since)
        assert analysis.summary is not None
        return analysis.summary, analysis.outages

    def measured_range(self, site: SiteRef) -> tuple[datetime, datetime]:
        return effective_range(self.start, self.end, self.now, site.monitored_since)

    def longest_reason(self) -> int:
        """The longest reason in the range (to size a column before writing it)."""
        query = overlapping(select(func.max(func.length(Incident.reason))), self.start, self.end)
        if not self.all_sites:
            query = query.where(Incident.site_slug.in_([s.slug for s in self.sites]))
        return int(self.session.scalar(query) or 0)


def _row(
    site: SiteRef, outage: Outage, start: datetime, end: datetime, now: datetime
) -> IncidentRow:
    return IncidentRow(
        site=site,
        start=outage.start,
        end=None if outage.open else outage.end,
        duration=(now if outage.open else outage.end) - outage.start,
        in_range=outage.overlap(start, end),
        reason=outage.reason,
        maintenance=outage.maintenance,
    )
