"""The dashboard's live rows: each site of the database with its state right now.

:func:`site_state` decides the state shown, from the site's own flags and what
Prometheus says (pure):

* ``paused`` -- the site is paused in the admin app (not probed at all);
* ``maintenance`` -- in maintenance in the admin app, or per the exporter;
* ``up`` / ``down`` -- the exporter's verdict after confirmations;
* ``unknown`` -- no verdict yet (a new site, an exporter not scraped) or Prometheus
  cannot be asked.

:class:`Board` is what every viewer of a process reads: the rows of every site
made from one database read and one :func:`~admin_app.status.live.fetch_live`,
kept for ``ttl`` seconds (:class:`~admin_app.status.live.LiveCache`). The page
renders from it and the event stream sends its changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from admin_app.db import get_database
from admin_app.models import Site
from admin_app.status.live import LiveCache, LiveSnapshot, SiteLive, fetch_live

STATES = ("up", "down", "maintenance", "paused", "unknown")
EXTENSION_KEY = "upwatch.status"
DEFAULT_TTL = 2.0


@dataclass(frozen=True, slots=True)
class SiteFlags:
    slug: str
    name: str
    paused: bool
    maintenance: bool


@dataclass(frozen=True, slots=True)
class LiveRow:
    """One site's live cells; :meth:`as_json` is what the event stream sends."""

    state: str
    response_ms: float | None = None
    since: float | None = None  # unix time
    reason: str = ""
    probe_down: bool = False  # in maintenance but the probes fail

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "response_ms": self.response_ms,
            "since": None if self.since is None else _iso(self.since),
            "reason": self.reason,
            "probe_down": self.probe_down,
        }


@dataclass(frozen=True, slots=True)
class BoardSnapshot:
    rows: dict[str, LiveRow] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    prometheus_ok: bool = True
    prometheus_error: str = ""
    fetched_at: float = 0.0

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for row in self.rows.values():
            out[row.state] += 1
        return out

    def prometheus_json(self) -> dict[str, Any]:
        return {"ok": self.prometheus_ok, "error": self.prometheus_error}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def site_state(flags: SiteFlags, live: SiteLive | None) -> str:
    if flags.paused:
        return "paused"
    if flags.maintenance or (live is not None and live.maintenance):
        return "maintenance"
    if live is None or live.up is None:
        return "unknown"
    return "up" if live.up == 1 else "down"


def live_row(flags: SiteFlags, live: SiteLive | None) -> LiveRow:
    state = site_state(flags, live)
    if live is None or state == "paused":
        return LiveRow(state)
    response_ms = None
    if live.response_seconds is not None:
        response_ms = round(live.response_seconds * 1000.0, 1)
    return LiveRow(
        state=state,
        response_ms=response_ms,
        since=live.since,
        reason=live.reason if (state == "down" or live.up == 0) else "",
        probe_down=state == "maintenance" and live.up == 0,
    )


def build_snapshot(sites: list[SiteFlags], live: LiveSnapshot) -> BoardSnapshot:
    rows = {s.slug: live_row(s, live.sites.get(s.slug) if live.ok else None) for s in sites}
    return BoardSnapshot(
        rows=rows,
        names={s.slug: s.name for s in sites},
        prometheus_ok=live.ok,
        prometheus_error=live.error,
        fetched_at=live.fetched_at,
    )


def read_flags(app: Flask) -> list[SiteFlags]:
    """Every site's id, name and flags, with a session of its own (the event
    stream runs outside any request)."""
    session = get_database(app).sessionmaker()
    try:
        query = select(Site.slug, Site.name, Site.paused, Site.maintenance).order_by(Site.slug)
        return [
            SiteFlags(slug, name or slug, bool(paused), bool(maint))
            for slug, name, paused, maint in session.execute(query)
        ]
    finally:
        session.close()


class Board:
    """The shared, briefly cached :class:`BoardSnapshot` of one app in one process."""

    def __init__(
        self,
        load_flags: Callable[[], list[SiteFlags]],
        load_live: Callable[[], LiveSnapshot],
        ttl: float = DEFAULT_TTL,
    ) -> None:
        self._cache = LiveCache(lambda: build_snapshot(load_flags(), load_live()), ttl)

    def snapshot(self) -> BoardSnapshot:
        return self._cache.get()

    @property
    def version(self) -> int:
        return self._cache.version

    def invalidate(self) -> None:
        self._cache.invalidate()


def _fetch_for(app: Flask) -> LiveSnapshot:
    cfg = app.config
    return fetch_live(
        cfg.get("PROMETHEUS_URL") or "http://127.0.0.1:9090",
        timeout=float(cfg.get("STATUS_PROMETHEUS_TIMEOUT", 2.0)),
    )


def board_for(app: Flask) -> Board:
    """The app's board, made on first use (the settings are read then; the
    Prometheus URL at each fetch)."""
    board = app.extensions.get(EXTENSION_KEY)
    if board is None:
        board = app.extensions.setdefault(
            EXTENSION_KEY,
            Board(
                lambda: read_flags(app),
                lambda: _fetch_for(app),
                ttl=float(app.config.get("STATUS_CACHE_SECONDS", DEFAULT_TTL)),
            ),
        )
    return board
