"""Helpers and fixtures of the config generation tests (imported by them).

* :class:`ReloadServer`: a tiny real HTTP server on loopback standing in for an
  exporter's (or Alertmanager's) ``POST /-/reload``; it records what it received and
  answers with a status the test chooses.
* ``configgen_app``: an app on a fresh SQLite database whose exporter and
  Alertmanager URLs are two :class:`ReloadServer`, with automatic regeneration on
  (quiet period 0.1 s); yields ``(app, exporter, alertmanager)``.
* ``alertmanager``: the real ``prometheus-alertmanager`` binary on a free port,
  started with the generated config for no sites; yields :class:`RunningAlertmanager`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from flask import Flask

from admin_app import create_app
from admin_app.configgen import alertmanager_yml, sites_yml
from admin_app.configgen.apply import DEFAULT_BASE_CONFIG, get_applier, load_base_config
from admin_app.configgen.specs import GlobalSpec
from admin_app.db import create_all, get_database
from tests.admin_app.conftest import base_config
from tests.servers import binary, free_port, process


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, step: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true; False after ``timeout`` (a generous
    deadline for slow machines, never an assertion about how long it took)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step)


class ReloadServer:
    """``POST /-/reload`` on 127.0.0.1:<port>; ``requests`` lists ``(method, path)``."""

    def __init__(self, port: int = 0, status: int = 200, body: str = '{"status": "success"}'):
        self.status = status
        self.body = body
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                with server._lock:
                    server.requests.append((self.command, self.path))
                    status, body = server.status, server.body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = _answer
            do_GET = _answer

            def log_message(self, *_args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def reloads(self) -> int:
        with self._lock:
            return sum(1 for m, p in self.requests if m == "POST" and p == "/-/reload")

    def __enter__(self) -> ReloadServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


@pytest.fixture
def reload_server() -> Iterator[ReloadServer]:
    with ReloadServer() as server:
        yield server


@dataclass
class RunningAlertmanager:
    url: str
    config_file: Path

    def status(self) -> dict:
        r = httpx.get(f"{self.url}/api/v2/status", timeout=10, trust_env=False)
        r.raise_for_status()
        return r.json()

    def config_text(self) -> str:
        return self.status()["config"]["original"]


def initial_alertmanager_config(global_spec: GlobalSpec | None = None) -> str:
    base = load_base_config(DEFAULT_BASE_CONFIG)
    config = alertmanager_yml.build_alertmanager_config(
        [],
        global_spec or GlobalSpec(webhook_token="t"),
        base,
        base_dir=str(DEFAULT_BASE_CONFIG.parent),
    )
    return sites_yml.render_yaml(config, header=alertmanager_yml.HEADER)


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[RunningAlertmanager]:
    """A real Alertmanager on a free loopback port, clustering off."""
    directory = tmp_path / "am"
    directory.mkdir()
    config_file = directory / "alertmanager.yml"
    config_file.write_text(initial_alertmanager_config())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        binary("prometheus-alertmanager"),
        f"--config.file={config_file}",
        f"--storage.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    with process(args, directory / "alertmanager.log", f"{url}/-/ready"):
        yield RunningAlertmanager(url, config_file)


@pytest.fixture
def configgen_app(tmp_path: Path) -> Iterator[tuple[Flask, ReloadServer, ReloadServer]]:
    with ReloadServer() as exp, ReloadServer() as am:
        config = base_config(f"sqlite:///{tmp_path / 'upwatch.db'}", tmp_path)
        config.update(
            EXPORTER_URL=exp.url,
            ALERTMANAGER_URL=am.url,
            WEBHOOK_TOKEN="hook-token",
            CONFIGGEN_AUTO_APPLY=True,
            CONFIGGEN_QUIET_PERIOD=0.1,
        )
        app = create_app(config)
        with app.app_context():
            create_all(app)
        try:
            yield app, exp, am
        finally:
            get_applier(app).close()
            get_database(app).dispose()
