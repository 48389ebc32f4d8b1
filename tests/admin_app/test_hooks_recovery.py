"""A resolved outage ends when the exporter saw the site come back, read from
Prometheus (a fake answering ``GET /api/v1/query`` on loopback), not at the later
``endsAt``; without an answer it ends at ``endsAt``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.admin_app.conftest import BACKENDS
from tests.admin_app.test_hooks import (  # noqa: F401  (fixtures)
    ALICE,
    CAROL,
    DOWN_AT,
    FIRING,
    RESOLVED,
    UP_AT,
    World,
    fake,
    world,
)

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

RECOVERED = datetime(2024, 5, 2, 10, 4, 3, 250000, tzinfo=UTC)


class FakePrometheus:
    def __init__(self) -> None:
        self.result: list[dict[str, Any]] = []
        self.queries: list[dict[str, list[str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_a: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                outer.queries.append(parse_qs(parts.query))
                body = json.dumps(
                    {"status": "success", "data": {"resultType": "vector", "result": outer.result}}
                ).encode()
                self.send_response(200 if parts.path == "/api/v1/query" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def prometheus(world: World) -> Iterator[FakePrometheus]:  # noqa: F811
    prom = FakePrometheus()
    world.app.config["PROMETHEUS_URL"] = prom.url
    yield prom
    prom.stop()


def test_the_end_is_the_exporters_recovery(world: World, prometheus: FakePrometheus) -> None:  # noqa: F811
    prometheus.result = [
        {
            "metric": {"site": "shop", "instance": "127.0.0.1:9115"},
            "value": [1714644252.5, str(RECOVERED.timestamp())],
        }
    ]
    world.post(FIRING)
    assert prometheus.queries == []  # only a resolve asks
    world.post(RESOLVED)
    (incident,) = world.incidents()
    assert (incident.started_at, incident.ended_at) == (DOWN_AT, RECOVERED)
    assert incident.duration_seconds == 242.75
    up = "[Upwatch] UP: Web shop is back after 4m 3s"
    assert sorted(t for to, t in world.sms() if t and "UP" in t) == [up, up]
    assert {to for to, _ in world.sms()} == {ALICE, CAROL}
    (query,) = prometheus.queries
    assert query["time"] == ["1714644252.500"]
    assert query["query"] == [
        'upwatch_site_state_change_timestamp_seconds{site="shop",instance="127.0.0.1:9115"}'
        ' and on (site, instance) (upwatch_site_up{site="shop",instance="127.0.0.1:9115"} == 1)'
    ]


def test_no_answer_keeps_ends_at(world: World, prometheus: FakePrometheus) -> None:  # noqa: F811
    world.post(FIRING)
    world.post(RESOLVED)
    (incident,) = world.incidents()
    assert incident.ended_at == UP_AT and len(prometheus.queries) == 1
