"""Users through the pages: list, create, edit, delete, with bad input in each
field shown next to the field, the form keeping what was typed, and nothing saved."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from admin_app.models import User
from admin_app.roles import Role

VALID = {"username": "newbie", "password": "long enough pw", "role": "it_staff", "active": "on"}


def _count(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(User))


def test_create_edit_delete(auth, db) -> None:
    auth.login_as(Role.ADMIN, "boss")
    response = auth.form_post("/admin/users/new", VALID)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    listing = auth.client.get("/admin/users").get_data(as_text=True)
    assert "newbie" in listing and "User &#39;newbie&#39; created." in listing
    user = db.scalar(select(User).where(User.username == "newbie"))
    assert user.role == "it_staff" and user.active
    user_id, old_hash = user.id, user.password_hash

    edit_page = auth.client.get(f"/admin/users/{user_id}/edit").get_data(as_text=True)
    assert 'value="newbie"' in edit_page
    response = auth.form_post(
        f"/admin/users/{user_id}/edit", {"username": "newbie", "role": "developer", "password": ""}
    )
    assert response.status_code == 302
    db.expire_all()
    changed = db.get(User, user_id)
    assert changed.role == "developer" and not changed.active
    assert changed.password_hash == old_hash  # empty password = unchanged

    response = auth.form_post(f"/admin/users/{user_id}/delete", {})
    assert response.status_code == 303
    db.expunge_all()
    assert db.get(User, user_id) is None
    assert auth.client.get(f"/admin/users/{user_id}/edit").status_code == 404


@pytest.mark.parametrize(
    ("change", "field_message"),
    [
        ({"username": ""}, "a username is required"),
        ({"username": "bad name!"}, "may contain only letters"),
        ({"password": ""}, "a password is required"),
        ({"password": "1234567"}, "must be at least 8 characters"),
        ({"role": ""}, "a role is required"),
        ({"role": "emperor"}, "&#39;emperor&#39; is not a role"),
        ({"username": "boss"}, "is already taken"),
    ],
)
def test_create_bad_input(auth, db, change, field_message) -> None:
    auth.login_as(Role.ADMIN, "boss")
    before = _count(db)
    response = auth.form_post("/admin/users/new", {**VALID, **change})
    assert response.status_code in (409, 422)
    page = response.get_data(as_text=True)
    assert 'class="field-error"' in page and field_message in page
    if change.get("username", "x"):
        assert f'value="{change.get("username", "newbie")}"' in page  # kept what was typed
    assert _count(db) == before


@pytest.mark.parametrize(
    ("change", "field_message"),
    [
        ({"username": ""}, "a username is required"),
        ({"password": "short"}, "must be at least 8 characters"),
        ({"role": "emperor"}, "is not a role"),
    ],
)
def test_edit_bad_input(auth, db, make_user, change, field_message) -> None:
    auth.login_as(Role.ADMIN, "boss")
    user = make_user(Role.FLEXIPAY_SUPPORT, "flexi")
    response = auth.form_post(
        f"/admin/users/{user.id}/edit", {"username": "flexi", "role": "it_staff", **change}
    )
    assert response.status_code == 422
    assert field_message in response.get_data(as_text=True)
    db.expire_all()
    same = db.get(User, user.id)
    assert (same.username, same.role, same.active, same.password_hash) == (
        "flexi",
        "flexipay_support",
        True,
        user.password_hash,
    )


def test_list_marks_who_can_be_managed(auth, make_user) -> None:
    auth.login_as(Role.IT_STAFF, "it")
    admin = make_user(Role.ADMIN, "the-admin")
    peer = make_user(Role.EBANKING_SUPPORT, "peer")
    page = auth.client.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{peer.id}/edit" in page
    assert f"/admin/users/{admin.id}/edit" not in page
    assert "higher permissions" in page


def test_dashboard_counts(auth, make_user) -> None:
    auth.login_as(Role.EBANKING_SUPPORT, "eb")
    make_user(Role.ADMIN, "off", active=False)
    page = auth.client.get("/admin").get_data(as_text=True)
    assert "2 (1 active)" in page
