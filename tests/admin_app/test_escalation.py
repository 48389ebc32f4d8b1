"""The escalation rule: nobody grants a role holding a permission they lack, nor
edits or deletes a user whose role holds one; and nobody locks themselves out.
Checked through the API and the forms, for every pair of roles that can manage
users, against the table."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from admin_app.models import User
from admin_app.rbac import features_of, grantable_roles, may_grant
from admin_app.roles import Feature, Role

MANAGERS = [r for r in Role if Feature.USER_MANAGEMENT in features_of(r)]
API_MANAGERS = [r for r in MANAGERS if Feature.API_ACCESS in features_of(r)]


def test_the_rule_against_the_table() -> None:
    for actor, target in itertools.product(Role, Role):
        assert may_grant(actor, target) == (features_of(target) <= features_of(actor))
    assert set(grantable_roles(Role.IT_STAFF)) == set(Role) - {Role.ADMIN, Role.DEVELOPER}
    assert set(grantable_roles(Role.ADMIN)) == set(Role)
    assert grantable_roles(Role.CUSTOMER_ENGAGEMENT) == [
        Role.CUSTOMER_ENGAGEMENT,
        Role.FLEXIPAY_SUPPORT,
    ]


@pytest.mark.parametrize(("actor", "target"), list(itertools.product(API_MANAGERS, Role)))
def test_api_create_with_role(api, db, actor: Role, target: Role) -> None:
    caller = api.as_role(actor, f"actor-{actor.value}".replace("_", "-"))
    response = caller.post(
        "/api/v1/users", {"username": "newbie", "password": "long enough pw", "role": target.value}
    )
    if may_grant(actor, target):
        assert response.status_code == 201, response.json
    else:
        assert response.status_code == 403
        assert response.json["error"]["code"] == "role_escalation"
        assert db.scalar(select(User).where(User.username == "newbie")) is None


@pytest.mark.parametrize(("actor", "target"), list(itertools.product(MANAGERS, Role)))
def test_form_edit_and_delete_of_a_higher_role(
    auth, make_user, db, actor: Role, target: Role
) -> None:
    auth.login_as(actor, "the-actor")
    victim = make_user(target, "victim")
    allowed = features_of(target) <= features_of(actor)
    page = auth.client.get(f"/admin/users/{victim.id}/edit")
    edit = auth.form_post(
        f"/admin/users/{victim.id}/edit",
        {"username": "victim", "role": target.value, "active": "on", "password": "new password 1"},
    )
    if allowed:
        assert page.status_code == 200
        assert edit.status_code == 302
    else:
        assert edit.status_code == 403
        assert "permissions yours lacks" in edit.get_data(as_text=True)
        delete = auth.form_post(f"/admin/users/{victim.id}/delete", {})
        assert delete.status_code == 403
        db.expire_all()
        still = db.get(User, victim.id)
        assert still is not None and still.password_hash == victim.password_hash


def test_equal_permissions_may_manage_each_other(api, make_user) -> None:
    """Developer holds every feature Admin does, so the rule lets them manage admins."""
    admin = make_user(Role.ADMIN, "the-admin")
    peer = make_user(Role.IT_STAFF, "peer")
    dev = api.as_role(Role.DEVELOPER, "dev")
    assert dev.patch(f"/api/v1/users/{peer.id}", {"role": "admin"}).status_code == 200
    assert dev.patch(f"/api/v1/users/{admin.id}", {"active": False}).status_code == 200


def test_it_staff_form_cannot_grant_admin_or_developer(auth, make_user, db) -> None:
    auth.login_as(Role.IT_STAFF, "it")
    peer = make_user(Role.EBANKING_SUPPORT, "peer")
    page = auth.client.get("/admin/users/new").get_data(as_text=True)
    assert 'value="admin"' not in page and 'value="developer"' not in page
    for role in ("admin", "developer"):
        response = auth.form_post(
            "/admin/users/new",
            {"username": f"new-{role}", "password": "long enough pw", "role": role},
        )
        assert response.status_code == 403
        assert "API Access, Codebase Access" in response.get_data(as_text=True)
        response = auth.form_post(
            f"/admin/users/{peer.id}/edit", {"username": "peer", "role": role, "active": "on"}
        )
        assert response.status_code == 403
    db.expire_all()
    assert db.get(User, peer.id).role == "ebanking_support"
    assert db.scalar(select(User).where(User.username.like("new-%"))) is None


def test_nobody_changes_their_own_role_or_disables_or_deletes_themselves(api) -> None:
    me = api.as_role(Role.ADMIN, "me")
    uid = me.user.id
    response = me.patch(f"/api/v1/users/{uid}", {"role": "it_staff"})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"role": "you cannot change your own role"}
    response = me.patch(f"/api/v1/users/{uid}", {"active": False})
    assert response.json["error"]["fields"] == {"active": "you cannot deactivate your own account"}
    response = me.delete(f"/api/v1/users/{uid}")
    assert response.status_code == 403
    assert me.get(f"/api/v1/users/{uid}").json["role"] == "admin"
