"""The role matrix: for every role (and the anonymous visitor) and every page and
API endpoint of the app, the server allows or denies as the table in
``admin_app/rbac.py`` says. The cases are generated from that table and from the
app's own endpoint registry, so neither can change without this test following.

Allowed means anything but 401/403 (and no redirect to the login page): requests
are sent with empty or unknown ids and empty bodies, so an allowed request ends in
404/422 or a harmless success without changing data. Denied means 403 for a signed
-in role; for the anonymous visitor, 401 on the API and a redirect to the login page
for pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from admin_app import create_app
from admin_app.db import create_all, get_database
from admin_app.rbac import (
    AUTHENTICATED,
    MATRIX,
    PUBLIC,
    EndpointAccess,
    endpoint_registry,
    has_feature,
    unmapped_endpoints,
)
from admin_app.roles import Feature, Role
from tests.admin_app.conftest import (
    AuthActions,
    base_config,
    create_test_user,
    mint_tokens,
)

MISSING_ID = "999999"


def _registry() -> list[EndpointAccess]:
    app = create_app(base_config("sqlite://", Path("/nonexistent-upwatch-test-dir")))
    try:
        return endpoint_registry(app)
    finally:
        get_database(app).dispose()


REGISTRY = _registry()
IDENTITIES: list[Role | None] = [None, *Role]


def _cases() -> Iterator[pytest.param]:
    for entry in REGISTRY:
        if entry.endpoint == "static" or entry.endpoint.endswith(".static"):
            continue
        for method in entry.methods:
            for role in IDENTITIES:
                who = role.value if role else "anonymous"
                yield pytest.param(entry, method, role, id=f"{method} {entry.rule} as {who}")


def expected_allowed(entry: EndpointAccess, role: Role | None) -> bool:
    """Straight from the table: public; any user; or the role holds the feature (and,
    for the API, "API Access")."""
    if entry.access == PUBLIC:
        return True
    if role is None:
        return False
    if entry.api and Feature.API_ACCESS not in MATRIX[role]:
        return False
    return entry.access == AUTHENTICATED or Feature(entry.access) in MATRIX[role]


def sample_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?[^<>]+>", MISSING_ID, rule)


@pytest.fixture(scope="module")
def matrix_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("matrix")
    app = create_app(
        {**base_config(f"sqlite:///{tmp / 'matrix.db'}", tmp), "LOGIN_RATE_LIMIT": 10_000}
    )
    with app.app_context():
        create_all(app)
    app.config["MATRIX_USERS"] = {role: create_test_user(app, role) for role in Role}
    yield app
    get_database(app).dispose()


@pytest.mark.parametrize(("entry", "method", "role"), list(_cases()))
def test_role_matrix(
    matrix_app: Flask, entry: EndpointAccess, method: str, role: Role | None
) -> None:
    client = matrix_app.test_client()
    headers: dict[str, str] = {}
    if role is not None:
        user = matrix_app.config["MATRIX_USERS"][role]
        if entry.api:
            headers["Authorization"] = "Bearer " + mint_tokens(matrix_app, user.id)["access_token"]
        else:
            response = AuthActions(matrix_app, client).login(user.username)
            assert response.status_code == 302
    path = sample_path(entry.rule)
    kwargs: dict = {"headers": headers}
    if method in ("POST", "PATCH", "PUT"):
        if entry.api:
            kwargs["json"] = {}
        else:
            from tests.admin_app.conftest import csrf_token

            token_page = "/login" if role is None else "/account"
            kwargs["data"] = {"csrf_token": csrf_token(client, token_page)}
    response = client.open(path, method=method, **kwargs)
    status = response.status_code
    # The unauthorized redirect carries ?next= (log out's own redirect to /login does not).
    location = response.headers.get("Location", "")
    redirected_to_login = status in (301, 302, 303) and "/login?next=" in location

    if expected_allowed(entry, role):
        assert status not in (401, 403) and not redirected_to_login, (
            f"{role} should be allowed {method} {path} ({entry.access}), got {status}: "
            f"{response.get_data(as_text=True)[:300]}"
        )
    elif role is None:
        if entry.api:
            assert status == 401, f"anonymous {method} {path}: {status}"
            assert response.json["error"]["code"] == "unauthorized"
        else:
            assert redirected_to_login, f"anonymous {method} {path}: {status}"
    else:
        assert status == 403, f"{role} should be denied {method} {path}, got {status}"
        if entry.api:
            assert response.json["error"]["code"] == "forbidden"


def test_every_endpoint_has_an_access_rule() -> None:
    app = create_app(base_config("sqlite://", Path("/nonexistent-upwatch-test-dir")))
    try:
        assert unmapped_endpoints(app) == []
    finally:
        get_database(app).dispose()


def test_the_matrix_is_the_table_of_the_requirements() -> None:
    """REQUIREMENTS.md, "Role-based access", copied cell by cell."""
    table = """
        User Management         | yes | yes | yes | no  | no  | yes
        Server Management       | yes | yes | yes | no  | no  | yes
        Real-Time Server Status | yes | yes | yes | yes | yes | yes
        Server Logs             | yes | yes | yes | no  | no  | yes
        Alerts                  | yes | yes | yes | yes | yes | yes
        Reports                 | yes | yes | yes | yes | yes | yes
        Admin Dashboard         | yes | yes | yes | no  | no  | yes
        System Settings         | yes | yes | yes | no  | no  | yes
        API Access              | yes | no  | yes | no  | no  | no
        Codebase Access         | yes | no  | yes | no  | no  | no
    """
    columns = [
        Role.ADMIN,
        Role.IT_STAFF,
        Role.DEVELOPER,
        Role.CUSTOMER_ENGAGEMENT,
        Role.FLEXIPAY_SUPPORT,
        Role.EBANKING_SUPPORT,
    ]
    by_label = {f.label: f for f in Feature}
    rows = [line.split("|") for line in table.strip().splitlines()]
    assert len(rows) == len(Feature)
    for cells in rows:
        feature = by_label[cells[0].strip()]
        for role, cell in zip(columns, cells[1:], strict=True):
            assert has_feature(role, feature) == (cell.strip() == "yes"), (role, feature)


def test_registry_maps_the_known_endpoints() -> None:
    access = {(e.rule, m): e.access for e in REGISTRY for m in e.methods}
    assert access[("/api/v1/users", "GET")] == Feature.USER_MANAGEMENT
    assert access[("/api/v1/users/<int:user_id>", "DELETE")] == Feature.USER_MANAGEMENT
    assert access[("/admin/users", "GET")] == Feature.USER_MANAGEMENT
    assert access[("/admin", "GET")] == Feature.ADMIN_DASHBOARD
    assert access[("/admin/settings", "POST")] == Feature.SYSTEM_SETTINGS
    assert access[("/api/v1/settings", "PATCH")] == Feature.SYSTEM_SETTINGS
    assert access[("/", "GET")] == Feature.REAL_TIME_STATUS
    assert access[("/api/v1/auth/token", "POST")] == PUBLIC
    assert access[("/healthz", "GET")] == PUBLIC
    assert access[("/logout", "POST")] == AUTHENTICATED
    assert (
        len(list(_cases())) == sum(len(e.methods) for e in REGISTRY if e.endpoint != "static") * 7
    )
