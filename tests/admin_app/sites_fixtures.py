"""Helpers of the sites and contacts tests (imported by them).

* :class:`FakeExporter`: a tiny real HTTP server on loopback standing in for the
  exporter's ``GET /probe?site=ID``; it answers what the test sets per site and
  records the requests.
* :func:`counts`: the number of rows of every table the sites and contacts features
  write, to prove that bad input saved nothing.
* :func:`record_changes`: the ``config_changed`` signals sent while it is active.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from sqlalchemy import func, select, table
from sqlalchemy.orm import Session

from admin_app.changes import config_changed
from admin_app.models import Contact, ContactGroup, Site

TABLES = (
    "sites",
    "contacts",
    "contact_groups",
    "site_contacts",
    "site_contact_groups",
    "contact_group_members",
)

SITE = {
    "id": "shop",
    "name": "Web shop",
    "url": "https://shop.example.com/health",
    "interval": "15s",
    "timeout": "5s",
    "confirmations": 3,
    "method": "GET",
    "headers": {"Authorization": "Bearer abc"},
    "expect": {"status": ["200-299"], "body_contains": "OK"},
    "follow_redirects": True,
    "tls_verify": True,
    "max_body_bytes": 1048576,
    "maintenance": False,
    "labels": {"group": "payments"},
}

CONTACT = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0958"}


def counts(db: Session) -> dict[str, int]:
    db.expire_all()
    return {name: db.scalar(select(func.count()).select_from(table(name))) or 0 for name in TABLES}


def site_row(db: Session, slug: str) -> Site | None:
    db.expire_all()
    return db.scalar(select(Site).where(Site.slug == slug))


def contact_row(db: Session, contact_id: int) -> Contact | None:
    db.expire_all()
    return db.get(Contact, contact_id)


def group_row(db: Session, group_id: int) -> ContactGroup | None:
    db.expire_all()
    return db.get(ContactGroup, group_id)


def page_text(response: Any) -> str:
    """A page's HTML with entities decoded, to compare with API messages."""
    return html.unescape(response.get_data(as_text=True))


def field_errors(response: Any) -> dict[str, str]:
    """The ``<span class="field-error" data-field=...>`` messages of a page."""
    text = response.get_data(as_text=True)
    found = re.findall(
        r'<span class="field-error"(?: data-field="([^"]*)")?>(.*?)</span>', text, re.S
    )
    return {html.unescape(k): html.unescape(v) for k, v in found}


@contextmanager
def record_changes(app: Flask) -> Iterator[list[str]]:
    kinds: list[str] = []

    def receiver(sender: Any, kind: str = "", **_: Any) -> None:
        kinds.append(kind)

    config_changed.connect(receiver, sender=app, weak=False)
    try:
        yield kinds
    finally:
        config_changed.disconnect(receiver, sender=app)


def probe_result(site: str, success: bool = True, **extra: Any) -> dict[str, Any]:
    result = {
        "site": site,
        "success": success,
        "duration_seconds": 0.123,
        "reason": "" if success else "status",
        "message": "" if success else "HTTP 503 is not one of 200-299",
        "status_code": 200 if success else 503,
        "tls_expiry": 1893456000.0,
        "started_at": 1700000000.0,
    }
    result.update(extra)
    return result


class FakeExporter:
    """``GET /probe?site=ID`` on 127.0.0.1:<free port>.

    ``answers[site] = (status, body)``; a site without an answer gets the exporter's
    404 ``unknown_site``. ``delay`` makes every answer wait (seconds)."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, Any]] = {}
        self.requests: list[str] = []
        self.delay = 0.0
        self._release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                fake.requests.append(self.path)
                if fake.delay:
                    fake._release.wait(fake.delay)
                site = parse_qs(parts.query).get("site", [""])[0]
                if parts.path != "/probe":
                    status, body = 404, {"error": {"code": "not_found", "message": "no such page"}}
                elif site in fake.answers:
                    status, body = fake.answers[site]
                else:
                    status, body = (
                        404,
                        {
                            "error": {
                                "code": "unknown_site",
                                "message": f"no site with id {site!r} in the site list",
                            }
                        },
                    )
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


class TargetSite:
    """A monitored site on loopback: every GET answers ``status`` with ``body``."""

    def __init__(self, status: int = 200, body: bytes = b"all OK") -> None:
        self.status = status
        self.body = body
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(target.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(target.body)))
                self.end_headers()
                self.wfile.write(target.body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
