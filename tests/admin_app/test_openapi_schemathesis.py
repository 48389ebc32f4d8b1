"""Schemathesis against the app's own OpenAPI description, through WSGI: every
operation is called with generated parameters and bodies (valid and not) and a
valid admin token, and none may answer 500. A few examples per operation keep it
short; the database holds a site, an incident, a contact, a group and users so that
some generated ids exist. Services the app talks to (exporter, Alertmanager,
Prometheus) are a loopback port that refuses connections: their errors must be
answered cleanly too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from sqlalchemy import select

from admin_app import create_app
from admin_app.db import create_all, get_database, session_scope
from admin_app.docs.openapi import build_spec
from admin_app.models import Contact, ContactGroup, Incident, Site, User
from admin_app.roles import Role
from tests.admin_app.conftest import base_config, create_test_user, mint_tokens

API_USER = "schemathesis-admin"
MAX_EXAMPLES = 4


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, refused_port: int) -> Iterator[Flask]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    nowhere = f"http://127.0.0.1:{refused_port}"
    app = create_app(
        {
            **base_config(f"sqlite:///{tmp / 'fuzz.db'}", tmp),
            "EXPORTER_URL": nowhere,
            "ALERTMANAGER_URL": nowhere,
            "PROMETHEUS_URL": nowhere,
            "WEBHOOK_TOKEN": "schemathesis-webhook-token",
            "LOGIN_RATE_LIMIT": 1_000_000,
        }
    )
    with app.app_context():
        create_all(app)
    # Users first, so that the token's own user has an id the fuzzer rarely picks.
    for i in range(12):
        create_test_user(app, Role.CUSTOMER_ENGAGEMENT, f"user{i}")
    create_test_user(app, Role.ADMIN, API_USER)
    now = datetime.now(UTC)
    with session_scope(app) as session:
        site = Site(slug="shop", name="Web shop", url="https://shop.example.com/")
        contact = Contact(name="Ann", email="ann@example.com")
        session.add_all([site, contact, ContactGroup(name="Ops", members=[contact])])
        session.flush()
        session.add(
            Incident(
                site_id=site.id,
                site_slug="shop",
                started_at=now - timedelta(hours=2),
                ended_at=now - timedelta(hours=1),
                reason="timeout",
                fingerprint="fp",
            )
        )
    yield app
    get_database(app).dispose()


def fresh_token(app: Flask) -> str:
    """A new token of an active admin (a fuzzed request may have revoked the last
    one, changed its user's password, or deleted or deactivated the user)."""
    with session_scope(app) as session:
        user = session.scalar(select(User).where(User.username == API_USER))
        usable = user is not None and user.active and user.role == Role.ADMIN.value
        user_id = user.id if usable else None
    if user_id is None:
        with session_scope(app) as session:
            old = session.scalar(select(User).where(User.username == API_USER))
            if old is not None:
                old.username = f"{API_USER}-{old.id}"
        user_id = create_test_user(app, Role.ADMIN, API_USER).id
    return mint_tokens(app, user_id)["access_token"]


def _operations() -> list[tuple[str, str]]:
    """``(METHOD, path)`` of every operation, read at collection time from an app."""
    app = create_app(base_config("sqlite://", Path("/nonexistent-upwatch-test-dir")))
    try:
        spec = build_spec(app)
    finally:
        get_database(app).dispose()
    return [(m.upper(), p) for p, item in spec["paths"].items() for m in item]


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Flask) -> Any:
    token = fresh_token(fuzz_app)
    return schemathesis.openapi.from_wsgi(
        "/api/openapi.json", fuzz_app, headers={"Authorization": f"Bearer {token}"}
    )


def check(case: Any, fuzz_app: Flask) -> None:
    headers = {"Authorization": f"Bearer {fresh_token(fuzz_app)}"}
    if case.path == "/hooks/alertmanager":
        headers = {"Authorization": "Bearer schemathesis-webhook-token"}
    response = case.call(headers=headers)
    body = response.content.decode("utf-8", "replace")
    where = f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r}"
    assert response.status_code != 500, f"{where}: {body[:500]}"
    assert "Traceback" not in body, where
    if response.status_code >= 500:
        # Only the documented ones: an exporter that cannot be reached (502), a
        # webhook whose SMS must be retried (503).
        documented = case.operation.definition.raw.get("responses", {})
        assert str(response.status_code) in documented, (
            f"{where}: undocumented {response.status_code}: {body[:300]}"
        )
    if response.status_code >= 400 and "json" in response.headers.get("Content-Type", ""):
        error = response.json()["error"]
        assert error["code"] and error["message"], where


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_answers_500(
    api_schema: Any, fuzz_app: Flask, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        check(case, fuzz_app)

    run()


def test_an_id_beyond_the_database_is_404(fuzz_app: Flask) -> None:
    token = fresh_token(fuzz_app)
    client = fuzz_app.test_client()
    response = client.get(f"/api/v1/users/{2**63}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
