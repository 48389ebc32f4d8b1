"""Users through the JSON API on SQLite and PostgreSQL: create, read, update,
delete, and bad input for each field (a clear error and nothing half-saved)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from admin_app.models import User
from admin_app.roles import Role
from tests.admin_app.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

VALID = {"username": "newbie", "password": "long enough pw", "role": "it_staff"}


def _count(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(User))


def test_crud(api, client) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    created = admin.post("/api/v1/users", VALID)
    assert created.status_code == 201
    user = created.json
    assert created.headers["Location"] == f"/api/v1/users/{user['id']}"
    assert user["username"] == "newbie" and user["role"] == "it_staff" and user["active"] is True
    assert "password" not in user and "password_hash" not in user
    assert admin.get(f"/api/v1/users/{user['id']}").json == user
    listed = admin.get("/api/v1/users").json["users"]
    assert [u["username"] for u in listed] == ["boss", "newbie"]

    patched = admin.patch(
        f"/api/v1/users/{user['id']}", {"role": "ebanking_support", "username": "Renamed"}
    )
    assert patched.status_code == 200
    assert patched.json["role"] == "ebanking_support" and patched.json["username"] == "renamed"
    login = client.post(
        "/api/v1/auth/token", json={"username": "renamed", "password": "long enough pw"}
    )
    assert login.status_code == 403  # right password; ebanking support has no API access

    assert admin.delete(f"/api/v1/users/{user['id']}").status_code == 204
    assert admin.get(f"/api/v1/users/{user['id']}").status_code == 404
    missing = admin.delete(f"/api/v1/users/{user['id']}")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"username": ""}, "username", "a username is required"),
        ({"username": "has space"}, "username", "may contain only"),
        ({"username": "x" * 65}, "username", "at most 64"),
        ({"username": 42}, "username", "a username is required"),
        ({"password": "short"}, "password", "at least 8 characters"),
        ({"password": "x" * 300}, "password", "at most 256"),
        ({"password": None}, "password", "a password is required"),
        ({"role": "root"}, "role", "'root' is not a role"),
        ({"role": ""}, "role", "a role is required"),
        ({"active": "maybe"}, "active", "must be true or false"),
        ({"is_admin": True}, "is_admin", "unknown field"),
    ],
)
def test_create_bad_input(api, db, change, field, message) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    before = _count(db)
    response = admin.post("/api/v1/users", {**VALID, **change})
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == [field]
    assert message in error["fields"][field]
    assert field in error["message"]
    assert _count(db) == before


def test_create_missing_fields(api) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    response = admin.post("/api/v1/users", {})
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"username", "password", "role"}


def test_duplicate_username(api, db) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    assert admin.post("/api/v1/users", VALID).status_code == 201
    before = _count(db)
    response = admin.post("/api/v1/users", {**VALID, "username": "NEWBIE"})
    assert response.status_code == 409
    assert response.json["error"]["fields"] == {"username": "is already taken"}
    other = admin.post("/api/v1/users", {**VALID, "username": "other"}).json
    response = admin.patch(f"/api/v1/users/{other['id']}", {"username": "newbie"})
    assert response.status_code == 409
    assert _count(db) == before + 1
    assert admin.get(f"/api/v1/users/{other['id']}").json["username"] == "other"


def test_update_is_all_or_nothing(api) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    user = admin.post("/api/v1/users", VALID).json
    response = admin.patch(f"/api/v1/users/{user['id']}", {"username": "changed", "role": "wizard"})
    assert response.status_code == 422
    assert admin.get(f"/api/v1/users/{user['id']}").json == user


def test_body_must_be_a_json_object(api) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    response = admin.post("/api/v1/users", ["not", "an", "object"])
    assert response.status_code == 400
    response = admin.client.post(
        "/api/v1/users", data="username=x", headers={"Authorization": f"Bearer {admin.token}"}
    )
    assert response.status_code == 415
    assert admin.patch("/api/v1/users/abc", {}).status_code == 404
