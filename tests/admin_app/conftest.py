"""Fixtures of the admin app's tests (flaskr style).

* ``backend``: ``"sqlite"`` unless a module parametrizes it: modules that must run
  on both databases say ``pytestmark = pytest.mark.parametrize("backend", BACKENDS,
  indirect=True)`` (``from tests.admin_app.conftest import BACKENDS``).
* ``app``: a fresh app on a fresh database of that backend (tables from the models;
  the migrations are checked against them in test_migrations). CSRF is on, as in
  production; tests that post forms use ``csrf_token(client)`` or ``auth.login``.
* ``client``; ``db`` (a session in an app context); ``make_user(role, ...)``;
  ``auth`` logs a browser client in as a role; ``api`` makes bearer-token JSON calls
  as a role.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from admin_app import create_app
from admin_app.auth.tokens import issue_pair
from admin_app.db import Base, create_all, get_database, session_scope
from admin_app.models import User
from admin_app.roles import Role
from tests.admin_app import pg

BACKENDS = ("sqlite", "postgresql")
PASSWORD = "correct horse battery"


def password_for(username: str) -> str:
    return f"{PASSWORD} {username}"


# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PostgresServer]:
    try:
        server = pg.start()
    except pg.PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL is required for these tests and could not be started: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_test_url(pg_server: pg.PostgresServer) -> str:
    """A database whose tables are created once; each test empties them after."""
    url = pg_server.create_database("upwatch_test")
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with every table, made once and copied for each test (creating
    the tables takes far longer than copying the file)."""
    directory = tmp_path_factory.mktemp("sqlite-template")
    path = directory / "template.db"
    application = create_app(base_config(f"sqlite:///{path}", directory))
    with application.app_context():
        create_all(application)
    get_database(application).dispose()
    return path


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


def base_config(url: str, tmp_path: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": url,
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": "test-secret-key",
        "SITES_FILE": str(tmp_path / "sites.yml"),
        "ALERTMANAGER_CONFIG": str(tmp_path / "alertmanager.yml"),
        "PASSWORD_HASH_PROFILE": "fast",
        "LOGIN_RATE_LIMIT": 5,
        "LOGIN_RATE_WINDOW": 300,
    }


def _truncate_all(app: Flask) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_database(app).engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app(backend: str, tmp_path: Any, request: pytest.FixtureRequest) -> Iterator[Flask]:
    if backend == "postgresql":
        url = request.getfixturevalue("pg_test_url")
    else:
        path = tmp_path / "upwatch.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    application = create_app(base_config(url, tmp_path))
    if backend == "postgresql":
        with application.app_context():
            create_all(application)  # once: checkfirst skips existing tables
    try:
        yield application
    finally:
        if backend == "postgresql":
            _truncate_all(application)
        get_database(application).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session for arranging and checking data directly (commit what you add)."""
    with app.app_context():
        session = get_database(app).sessionmaker()
        try:
            yield session
        finally:
            session.close()


# --------------------------------------------------------------------------- users


def create_test_user(
    app: Flask,
    role: Role | str,
    username: str | None = None,
    password: str | None = None,
    active: bool = True,
) -> User:
    from admin_app.users.service import create_user

    username = username or str(Role(role).value).replace("_", "-")
    with app.app_context(), session_scope(app) as session:
        user = create_user(
            session,
            None,
            {
                "username": username,
                "password": password or password_for(username),
                "role": Role(role).value,
                "active": active,
            },
        )
        session.flush()
        session.expunge(user)
    return user


@pytest.fixture
def make_user(app: Flask):
    def _make(role: Role | str, username: str | None = None, **kw: Any) -> User:
        return create_test_user(app, role, username, **kw)

    return _make


_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page's form."""
    page = client.get(path).get_data(as_text=True)
    match = _CSRF_RE.search(page)
    assert match, f"no CSRF token in {path}"
    return match.group(1)


class AuthActions:
    """Log a browser client in and out, with the CSRF token a real form carries."""

    def __init__(self, app: Flask, client: FlaskClient):
        self.app = app
        self.client = client

    def login(
        self,
        username: str,
        password: str | None = None,
        remember: bool = False,
        follow: bool = False,
    ) -> Any:
        data = {
            "username": username,
            "password": password if password is not None else password_for(username),
            "csrf_token": csrf_token(self.client),
        }
        if remember:
            data["remember"] = "on"
        return self.client.post("/login", data=data, follow_redirects=follow)

    def login_as(self, role: Role | str, username: str | None = None) -> User:
        user = create_test_user(self.app, role, username)
        response = self.login(user.username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    def logout(self) -> Any:
        token = csrf_token(self.client, "/account")
        return self.client.post("/logout", data={"csrf_token": token})

    def form_post(self, path: str, data: dict[str, Any], token_page: str | None = None) -> Any:
        """POST a form as the browser would, with the session's CSRF token."""
        body = dict(data)
        body["csrf_token"] = csrf_token(self.client, token_page or "/account")
        return self.client.post(path, data=body)


@pytest.fixture
def auth(app: Flask, client: FlaskClient) -> AuthActions:
    return AuthActions(app, client)


def mint_tokens(app: Flask, user_id: int) -> dict[str, Any]:
    """A token pair straight from the token service (no API-access check), so that
    tests can prove the server refuses roles that should never have one."""
    with app.app_context(), session_scope(app) as session:
        user = session.get(User, user_id)
        pair = issue_pair(session, user, 3600, 86400)
    return pair.as_json()


class ApiClient:
    """JSON calls with a bearer token: ``api.as_role(Role.ADMIN).get(...)``."""

    def __init__(self, app: Flask, client: FlaskClient, token: str | None = None):
        self.app = app
        self.client = client
        self.token = token
        self.user: User | None = None

    def as_role(self, role: Role | str, username: str | None = None) -> ApiClient:
        user = create_test_user(self.app, role, username)
        other = ApiClient(self.app, self.client, mint_tokens(self.app, user.id)["access_token"])
        other.user = user
        return other

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, json: Any = None) -> Any:
        kwargs: dict[str, Any] = {"headers": self._headers()}
        if json is not None:
            kwargs["json"] = json
        return self.client.open(path, method=method, **kwargs)

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json)

    def patch(self, path: str, json: Any = None) -> Any:
        return self.request("PATCH", path, json)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)
