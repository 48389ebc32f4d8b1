"""Contacts and contact groups through the JSON API on SQLite and PostgreSQL: CRUD,
bad input for each field (named, nothing half-saved), membership, deletion that
keeps the other side, and the config signal after each change."""

from __future__ import annotations

import pytest

from admin_app.roles import Role
from tests.admin_app.conftest import BACKENDS
from tests.admin_app.sites_fixtures import CONTACT, SITE, contact_row, counts, record_changes

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def admin(api):
    return api.as_role(Role.ADMIN, "boss")


def test_contact_crud(admin, db, app) -> None:
    with record_changes(app) as changes:
        created = admin.post("/api/v1/contacts", {**CONTACT, "wants_sms": True})
    assert created.status_code == 201, created.json
    contact = created.json
    assert created.headers["Location"] == f"/api/v1/contacts/{contact['id']}"
    assert contact["phone"] == "+442079460958" and contact["email"] == "ada@example.com"
    assert contact["wants_email"] is True and contact["wants_sms"] is True
    assert contact["groups"] == [] and contact["sites"] == []
    assert changes == ["contacts"]
    assert admin.get(f"/api/v1/contacts/{contact['id']}").json == contact
    assert [c["name"] for c in admin.get("/api/v1/contacts").json["contacts"]] == ["Ada Lovelace"]

    patched = admin.patch(
        f"/api/v1/contacts/{contact['id']}", {"wants_email": False, "name": "Ada L."}
    )
    assert patched.status_code == 200, patched.json
    assert patched.json["wants_email"] is False and patched.json["name"] == "Ada L."
    assert contact_row(db, contact["id"]).name == "Ada L."
    # What GET returns can be sent back as it is.
    assert admin.patch(f"/api/v1/contacts/{contact['id']}", patched.json).status_code == 200

    with record_changes(app) as changes:
        assert admin.delete(f"/api/v1/contacts/{contact['id']}").status_code == 204
    assert changes == ["contacts"]
    assert admin.get(f"/api/v1/contacts/{contact['id']}").status_code == 404
    assert admin.patch(f"/api/v1/contacts/{contact['id']}", {"name": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "a name is required"),
        ({"name": "a\nb"}, "name", "must not contain a line break"),
        ({"email": "ada-at-example"}, "email", "is not a valid email address"),
        ({"email": 12}, "email", "must be a string"),
        ({"phone": "12345"}, "phone", "has no country code"),
        ({"phone": "+44 12"}, "phone", "is not a valid phone number"),
        ({"wants_email": "yes please"}, "wants_email", "must be true or false"),
        ({"wants_sms": True, "phone": None}, "phone", "is required to send this contact SMS"),
        ({"wants_email": True, "email": ""}, "email", "is required to send this contact email"),
        ({"wants_email": False, "wants_sms": False}, "wants_email", "choose at least one channel"),
        ({"pager": "1234"}, "pager", "unknown field"),
    ],
)
def test_contact_bad_input(admin, db, change, field, message) -> None:
    before = counts(db)
    response = admin.post("/api/v1/contacts", {**CONTACT, **change})
    assert response.status_code == 422, response.json
    assert message in response.json["error"]["fields"][field]
    assert counts(db) == before
    made = admin.post("/api/v1/contacts", CONTACT).json
    before = counts(db)
    response = admin.patch(f"/api/v1/contacts/{made['id']}", change)
    assert response.status_code == 422, response.json
    assert message in response.json["error"]["fields"][field]
    assert counts(db) == before
    assert admin.get(f"/api/v1/contacts/{made['id']}").json["email"] == "ada@example.com"


@pytest.mark.parametrize(
    "name", ['O\'Brien "Bob": on call', "Zoë Ødegård", "李小龍", "# not: a comment"]
)
def test_contact_names(admin, name) -> None:
    created = admin.post("/api/v1/contacts", {"name": name, "email": "x@example.com"})
    assert created.status_code == 201 and created.json["name"] == name


def test_group_crud_and_members(admin, db, app) -> None:
    ada = admin.post("/api/v1/contacts", CONTACT).json
    bob = admin.post("/api/v1/contacts", {"name": "Bob", "email": "bob@example.com"}).json
    with record_changes(app) as changes:
        created = admin.post(
            "/api/v1/contact-groups",
            {"name": 'On call: "night"', "description": "pages at night", "members": [ada["id"]]},
        )
    assert created.status_code == 201, created.json
    group = created.json
    assert created.headers["Location"] == f"/api/v1/contact-groups/{group['id']}"
    assert [m["name"] for m in group["members"]] == ["Ada Lovelace"] and group["sites"] == []
    assert changes == ["groups"]
    assert admin.get(f"/api/v1/contact-groups/{group['id']}").json == group
    assert admin.get(f"/api/v1/contacts/{ada['id']}").json["groups"] == [
        {"id": group["id"], "name": 'On call: "night"'}
    ]

    patched = admin.patch(f"/api/v1/contact-groups/{group['id']}", {"members": [bob, ada]})
    assert [m["name"] for m in patched.json["members"]] == ["Ada Lovelace", "Bob"]
    renamed = admin.patch(f"/api/v1/contact-groups/{group['id']}", {"name": "Ops"})
    assert renamed.json["name"] == "Ops" and len(renamed.json["members"]) == 2
    assert renamed.json["description"] == "pages at night"
    assert [g["name"] for g in admin.get("/api/v1/contact-groups").json["contact_groups"]] == [
        "Ops"
    ]

    # deleting a member keeps the group; deleting the group keeps the members
    admin.post("/api/v1/sites", {**SITE, "contact_groups": [group["id"]]})
    assert admin.delete(f"/api/v1/contacts/{bob['id']}").status_code == 204
    assert [
        m["name"] for m in admin.get(f"/api/v1/contact-groups/{group['id']}").json["members"]
    ] == ["Ada Lovelace"]
    with record_changes(app) as changes:
        assert admin.delete(f"/api/v1/contact-groups/{group['id']}").status_code == 204
    assert changes == ["groups"]
    assert counts(db)["contacts"] == 1 and counts(db)["contact_group_members"] == 0
    assert admin.get("/api/v1/sites/shop").json["contact_groups"] == []
    assert admin.get(f"/api/v1/contact-groups/{group['id']}").status_code == 404


def test_group_bad_input(admin, db) -> None:
    ada = admin.post("/api/v1/contacts", CONTACT).json
    admin.post("/api/v1/contact-groups", {"name": "Ops"})
    before = counts(db)
    for body, status, field, message in [
        ({"name": ""}, 422, "name", "a name is required"),
        ({"name": "Ops"}, 409, "name", "is already used by another contact group"),
        ({"name": "Dev", "members": [ada["id"], 999]}, 422, "members", "no contact with id 999"),
        ({"name": "Dev", "members": "everyone"}, 422, "members", "must be a list of contact ids"),
        ({"name": "Dev", "description": 5}, 422, "description", "must be a string"),
        ({"name": "Dev", "owner": "me"}, 422, "owner", "unknown field"),
    ]:
        response = admin.post("/api/v1/contact-groups", body)
        assert response.status_code == status, (body, response.json)
        assert message in response.json["error"]["fields"][field]
    assert counts(db) == before
    dev = admin.post("/api/v1/contact-groups", {"name": "Dev", "members": [ada["id"]]}).json
    before = counts(db)
    clash = admin.patch(f"/api/v1/contact-groups/{dev['id']}", {"name": "Ops", "members": []})
    assert clash.status_code == 409
    bad = admin.patch(f"/api/v1/contact-groups/{dev['id']}", {"name": "Dev 2", "members": [999]})
    assert bad.status_code == 422
    assert counts(db) == before
    assert admin.get(f"/api/v1/contact-groups/{dev['id']}").json["name"] == "Dev"


def test_ids_out_of_range_are_not_found(admin) -> None:
    for path in ("/api/v1/contacts/99999999999", "/api/v1/contact-groups/99999999999"):
        assert admin.get(path).status_code == 404
        assert admin.delete(path).status_code == 404
    made = admin.post("/api/v1/contact-groups", {"name": "Ops", "members": [2**40]})
    assert made.status_code == 422 and "is not one" in made.json["error"]["fields"]["members"]


def test_refused_without_server_management(api) -> None:
    caller = api.as_role(Role.IT_STAFF)  # Server Management, but no API access
    assert caller.get("/api/v1/contacts").status_code == 403
    assert caller.post("/api/v1/contact-groups", {"name": "x"}).status_code == 403
