"""The dashboard's server-sent events (``GET /status/events``, ``text/event-stream``).

A stream sends:

* ``retry: <ms>`` -- how long the browser's ``EventSource`` waits before it
  reconnects when the stream ends;
* ``event: snapshot`` -- every site's live row and the state of Prometheus;
* ``event: change`` -- whenever what the viewer sees changes: the rows whose state
  changed (``sites``), at once; rows whose response time moved noticeably, at most
  every ``response_every`` seconds; the ids of sites gone (``removed``) and new
  (``added``, with their rows in ``sites``); the counts per state and Prometheus'
  state;
* ``: heartbeat`` comments while nothing changes, so that proxies keep the
  connection open and a browser that went away is noticed (the next write fails);
* ``event: bye`` at the end of its lifetime.

A stream lives at most ``lifetime`` seconds and then ends; ``EventSource``
reconnects by itself and gets a fresh snapshot. So a thread of a threaded server
(gunicorn ``--threads``) is never held for ever, and at most ``max_streams``
streams of a process are open at once: a browser over that limit gets the snapshot
and an immediate end with a longer ``retry``, which makes it poll instead of
occupying a thread. Nothing here holds a database session or a request context
between writes: the board reads with sessions of its own.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from admin_app.status.board import Board, BoardSnapshot, LiveRow

RESPONSE_MIN_MS = 5.0
RESPONSE_SHARE = 0.1


@dataclass(frozen=True)
class StreamSettings:
    lifetime: float = 60.0  # seconds a stream stays open
    poll: float = 1.0  # how often the board is looked at
    heartbeat: float = 5.0  # a comment after this long without a write
    retry_ms: int = 1000  # EventSource's reconnection delay after a normal end
    busy_retry_ms: int = 5000  # ... when the stream limit was reached (polling)
    max_streams: int = 2  # open streams per process
    response_every: float = 15.0  # response times are sent at most this often


def sse(event: str | None, data: Any) -> str:
    """One event in the text/event-stream format (``data`` as one JSON line)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n"


def snapshot_event(snap: BoardSnapshot) -> dict[str, Any]:
    return {
        "sites": {slug: row.as_json() for slug, row in snap.rows.items()},
        "names": snap.names,
        "counts": snap.counts(),
        "prometheus": snap.prometheus_json(),
    }


def same_state(a: LiveRow, b: LiveRow) -> bool:
    """Whether two rows say the same apart from the response time."""
    return (a.state, a.since, a.reason, a.probe_down) == (b.state, b.since, b.reason, b.probe_down)


def response_moved(old: float | None, new: float | None) -> bool:
    """A response time worth sending again: it appeared, went, or moved by at least
    :data:`RESPONSE_MIN_MS` and :data:`RESPONSE_SHARE` of itself."""
    if old is None or new is None:
        return (old is None) != (new is None)
    return abs(new - old) >= max(RESPONSE_MIN_MS, RESPONSE_SHARE * old)


def diff_event(
    shown: BoardSnapshot, new: BoardSnapshot, include_response: bool = True
) -> tuple[dict[str, Any] | None, BoardSnapshot]:
    """The ``change`` event that brings a viewer who has ``shown`` to ``new`` (None
    when nothing they see changed), and what they have after it.

    A row is sent when its state, since, reason changed, and -- only when
    ``include_response`` -- when its response time moved noticeably: response times
    drift at every Prometheus answer, and sending every row each time would send
    the whole board every few seconds."""
    rows = dict(shown.rows)
    changed: dict[str, Any] = {}
    for slug, row in new.rows.items():
        old = shown.rows.get(slug)
        if (
            old is None
            or not same_state(old, row)
            or (include_response and response_moved(old.response_ms, row.response_ms))
        ):
            changed[slug] = row.as_json()
            rows[slug] = row
    added = sorted(set(new.rows) - set(shown.rows))
    removed = sorted(set(shown.rows) - set(new.rows))
    for slug in removed:
        del rows[slug]
    renamed = {s: n for s, n in new.names.items() if s in shown.names and shown.names[s] != n}
    now_shown = BoardSnapshot(
        rows, dict(new.names), new.prometheus_ok, new.prometheus_error, new.fetched_at
    )
    prom_changed = new.prometheus_json() != shown.prometheus_json()
    if not (changed or removed or renamed or prom_changed):
        return None, now_shown
    event = {
        "sites": changed,
        "added": added,
        "removed": removed,
        "names": {s: new.names[s] for s in added} | renamed,
        "counts": new.counts(),
        "prometheus": new.prometheus_json(),
    }
    return event, now_shown


class StreamLimit:
    """At most ``n`` streams at once in this process."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._lock = threading.Lock()
        self.open = 0

    def try_acquire(self) -> bool:
        with self._lock:
            if self.n > 0 and self.open >= self.n:
                return False
            self.open += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.open = max(0, self.open - 1)


def stream(
    board: Board,
    settings: StreamSettings,
    limit: StreamLimit,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    stopping: threading.Event | None = None,
) -> Iterator[str]:
    """The event stream of one viewer (see the module doc). The limit is taken when
    the first chunk is asked for, so a response that is never sent takes none."""
    if not limit.try_acquire():
        yield f"retry: {settings.busy_retry_ms}\n\n"
        yield sse("snapshot", snapshot_event(board.snapshot()))
        yield sse("bye", {"reason": "busy", "retry_ms": settings.busy_retry_ms})
        return
    try:
        start = clock()
        yield f"retry: {settings.retry_ms}\n\n"
        last = shown = board.snapshot()
        yield sse("snapshot", snapshot_event(last))
        last_write = last_response = clock()
        while clock() - start < settings.lifetime:
            if stopping is not None and stopping.is_set():
                break
            sleep(settings.poll)
            current = board.snapshot()
            with_response = clock() - last_response >= settings.response_every
            if current is not last or with_response:
                last = current
                event, shown = diff_event(shown, current, with_response)
                if with_response:
                    last_response = clock()
                if event is not None:
                    yield sse("change", event)
                    last_write = clock()
                    continue
            if clock() - last_write >= settings.heartbeat:
                yield ": heartbeat\n\n"
                last_write = clock()
        yield sse("bye", {"reason": "lifetime", "retry_ms": settings.retry_ms})
    finally:
        limit.release()
