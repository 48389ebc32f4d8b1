"""API tokens on SQLite and PostgreSQL: issue, use, expiry, refresh with rotation,
reuse detection, revocation, and the roles that may (not) have them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from admin_app.db import utcnow
from admin_app.models import ApiToken
from admin_app.rbac import has_feature
from admin_app.roles import Feature, Role
from tests.admin_app.conftest import BACKENDS, AuthActions, password_for

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def _token(client, username: str, password: str | None = None):
    return client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": password or password_for(username)},
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("role", list(Role))
def test_only_roles_with_api_access_get_tokens(client, make_user, role: Role) -> None:
    make_user(role, "someone")
    response = _token(client, "someone")
    if has_feature(role, Feature.API_ACCESS):
        assert response.status_code == 200
        body = response.json
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
        assert body["access_token"].startswith("uwa_") and body["refresh_token"].startswith("uwr_")
        assert client.get("/api/v1/users", headers=_bearer(body["access_token"])).status_code == 200
    else:
        assert response.status_code == 403
        assert response.json["error"]["code"] == "no_api_access"
        assert "no API access" in response.json["error"]["message"]


def test_only_hashes_are_stored(client, make_user, db) -> None:
    make_user(Role.DEVELOPER, "dev")
    body = _token(client, "dev").json
    rows = db.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert len(rows) == 2
    for raw in (body["access_token"], body["refresh_token"]):
        assert all(raw not in row for row in rows)


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"username": "dev", "password": "wrong password"}, 401, "invalid_credentials"),
        ({"username": "ghost", "password": "whatever"}, 401, "invalid_credentials"),
        ({"username": "dev"}, 422, "validation_error"),
        ({"username": 5, "password": []}, 422, "validation_error"),
        (["dev", "pw"], 400, "invalid_body"),
    ],
)
def test_token_bad_requests(client, make_user, payload, status, code) -> None:
    make_user(Role.DEVELOPER, "dev")
    response = client.post("/api/v1/auth/token", json=payload)
    assert response.status_code == status
    assert response.json["error"]["code"] == code


def test_token_needs_json(client) -> None:
    response = client.post("/api/v1/auth/token", data="username=dev")
    assert response.status_code == 415
    response = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_json"


def test_missing_malformed_and_unknown_bearer(client) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, _bearer("uwa_not-a-real-token")):
        response = client.get("/api/v1/users", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_api_ignores_session_cookies(app, make_user) -> None:
    make_user(Role.ADMIN, "ann")
    browser = app.test_client()
    AuthActions(app, browser).login("ann")
    assert browser.get("/api/v1/users").status_code == 401


def test_expired_access_token(client, make_user, db) -> None:
    make_user(Role.ADMIN, "ann")
    body = _token(client, "ann").json
    db.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    response = client.get("/api/v1/users", headers=_bearer(body["access_token"]))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "token_expired"
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert response.status_code == 401 and response.json["error"]["code"] == "token_expired"


def test_refresh_rotates_the_pair(client, make_user) -> None:
    make_user(Role.DEVELOPER, "dev")
    first = _token(client, "dev").json
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200
    second = response.json
    assert second["access_token"] != first["access_token"]
    assert client.get("/api/v1/users", headers=_bearer(second["access_token"])).status_code == 200
    old = client.get("/api/v1/users", headers=_bearer(first["access_token"]))
    assert old.status_code == 401 and old.json["error"]["code"] == "token_revoked"
    third = client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200


def test_reused_refresh_token_revokes_the_family(client, make_user) -> None:
    make_user(Role.DEVELOPER, "dev")
    first = _token(client, "dev").json
    second = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    ).json
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json["error"]["code"] == "token_revoked"
    # the thief's replay also ended the legitimate new pair
    assert client.get("/api/v1/users", headers=_bearer(second["access_token"])).status_code == 401
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert again.status_code == 401


def test_refresh_needs_a_refresh_token(client, make_user) -> None:
    make_user(Role.DEVELOPER, "dev")
    body = _token(client, "dev").json
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": body["access_token"]})
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_token"
    response = client.post("/api/v1/auth/refresh", json={})
    assert response.status_code == 422


def test_revoke_by_body_and_by_bearer(client, make_user) -> None:
    make_user(Role.ADMIN, "ann")
    one = _token(client, "ann").json
    two = _token(client, "ann").json
    response = client.post("/api/v1/auth/revoke", json={"token": one["refresh_token"]})
    assert response.status_code == 200 and response.json == {"revoked": True}
    revoked = client.get("/api/v1/users", headers=_bearer(one["access_token"]))
    assert revoked.status_code == 401 and revoked.json["error"]["code"] == "token_revoked"
    assert (
        client.post(
            "/api/v1/auth/refresh", json={"refresh_token": one["refresh_token"]}
        ).status_code
        == 401
    )
    # the other pair is untouched until it revokes itself
    assert client.get("/api/v1/users", headers=_bearer(two["access_token"])).status_code == 200
    assert client.post("/api/v1/auth/revoke", headers=_bearer(two["access_token"])).json == {
        "revoked": True
    }
    assert client.get("/api/v1/users", headers=_bearer(two["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/revoke", json={"token": "uwa_unknown"}).json == {
        "revoked": False
    }
    assert client.post("/api/v1/auth/revoke").status_code == 422


def test_disabled_user_and_lost_api_access(api, make_user, client, db) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    make_user(Role.DEVELOPER, "dev")
    body = _token(client, "dev").json
    dev_id = db.execute(text("SELECT id FROM users WHERE username = 'dev'")).scalar()
    # a role without API access: the old token is refused at once
    assert admin.patch(f"/api/v1/users/{dev_id}", {"role": "it_staff"}).status_code == 200
    response = client.get("/api/v1/users", headers=_bearer(body["access_token"]))
    assert response.status_code == 403
    refresh = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert refresh.status_code == 403
    # disabled: every token is revoked
    assert (
        admin.patch(f"/api/v1/users/{dev_id}", {"role": "developer", "active": False}).status_code
        == 200
    )
    assert client.get("/api/v1/users", headers=_bearer(body["access_token"])).status_code == 401
    assert db.scalar(select(ApiToken).where(ApiToken.revoked_at.is_(None))) is not None  # boss's
    assert _token(client, "dev").status_code == 401


def test_password_change_revokes_tokens(api, make_user, client) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    dev = make_user(Role.DEVELOPER, "dev")
    body = _token(client, "dev").json
    assert admin.patch(f"/api/v1/users/{dev.id}", {"password": "a new password"}).status_code == 200
    assert client.get("/api/v1/users", headers=_bearer(body["access_token"])).status_code == 401
    assert _token(client, "dev", "a new password").status_code == 200
