"""Sites through the JSON API on SQLite and PostgreSQL: create, read, update, delete,
bad input for each field (the field named, nothing half-saved), duplicate ids,
pause and maintenance, contacts and groups of a site, and the config signal."""

from __future__ import annotations

import pytest

from admin_app.roles import Role
from tests.admin_app.conftest import BACKENDS
from tests.admin_app.sites_fixtures import CONTACT, SITE, counts, record_changes, site_row

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def admin(api):
    return api.as_role(Role.ADMIN, "boss")


def test_crud(admin, db, app) -> None:
    with record_changes(app) as changes:
        created = admin.post("/api/v1/sites", SITE)
    assert created.status_code == 201, created.json
    assert created.headers["Location"] == "/api/v1/sites/shop"
    site = created.json
    for key in (
        "id",
        "name",
        "url",
        "interval",
        "timeout",
        "confirmations",
        "method",
        "headers",
        "expect",
        "follow_redirects",
        "tls_verify",
        "max_body_bytes",
        "maintenance",
        "labels",
    ):
        assert site[key] == SITE[key], key
    assert site["paused"] is False and site["contacts"] == [] and site["contact_groups"] == []
    assert changes == ["sites"]
    assert admin.get("/api/v1/sites/shop").json == site
    assert [s["id"] for s in admin.get("/api/v1/sites").json["sites"]] == ["shop"]

    with record_changes(app) as changes:
        patched = admin.patch(
            "/api/v1/sites/shop", {"interval": 60, "timeout": None, "name": "Shop"}
        )
    assert patched.status_code == 200, patched.json
    assert patched.json["interval"] == "60s" and patched.json["timeout"] is None
    assert patched.json["name"] == "Shop" and patched.json["headers"] == SITE["headers"]
    assert changes == ["sites"]
    row = site_row(db, "shop")
    assert row.interval_seconds == 60.0 and row.timeout_seconds is None

    # What GET returns can be sent back as it is.
    again = admin.patch("/api/v1/sites/shop", admin.get("/api/v1/sites/shop").json)
    assert again.status_code == 200, again.json

    with record_changes(app) as changes:
        assert admin.delete("/api/v1/sites/shop").status_code == 204
    assert changes == ["sites"]
    missing = admin.get("/api/v1/sites/shop")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert admin.delete("/api/v1/sites/shop").status_code == 404


def test_minimal_site_and_tcp(admin) -> None:
    created = admin.post("/api/v1/sites", {"name": "Main DB", "url": "tcp://db.internal:5432"})
    assert created.status_code == 201, created.json
    site = created.json
    assert site["id"] == "main-db"
    assert site["interval"] is None and site["timeout"] is None and site["confirmations"] is None
    assert "method" not in site and "expect" not in site  # HTTP-only fields, as in the site list
    turned = admin.patch("/api/v1/sites/main-db", {"url": "https://db.internal/health"})
    assert turned.status_code == 200 and turned.json["method"] == "GET"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"id": "Not A Slug"}, "id", "must be a slug"),
        ({"id": ""}, "id", None),  # made from the name: fine
        ({"name": "two\nlines"}, "name", "must not contain a line break"),
        ({"name": 5}, "name", "must be a string"),
        ({"url": "not a url"}, "url", "the scheme must be http, https or tcp"),
        ({"url": ""}, "url", "is required"),
        ({"interval": "fast"}, "interval", "'fast' is not a duration"),
        ({"interval": 0.5}, "interval", "must be between 1s and 24h"),
        ({"timeout": "1h"}, "timeout", "3600s is longer than the interval 15s"),
        ({"timeout": "abc"}, "timeout", "'abc' is not a duration"),
        ({"confirmations": 101}, "confirmations", "must be a whole number from 1 to 100"),
        ({"method": "BREW"}, "method", "'BREW' must be one of"),
        ({"headers": "Authorization: x"}, "headers", "must be a mapping"),
        ({"expect": {"status": ["20x"]}}, "expect.status", "'20x' is not a status code"),
        ({"expect": {"body_regex": "[a-"}}, "expect.body_regex", "not a valid regular expression"),
        ({"expect": "200"}, "expect", "must be a mapping"),
        ({"follow_redirects": "often"}, "follow_redirects", "must be true or false"),
        ({"tls_verify": None}, "tls_verify", None),  # null: the default
        ({"max_body_bytes": 0}, "max_body_bytes", "must be a positive whole number"),
        ({"maintenance": 2}, "maintenance", "must be true or false"),
        ({"labels": {"url": "x"}}, "labels", "url: is a reserved label name"),
        ({"paused": "often"}, "paused", "must be true or false"),
        ({"max_body_bytes": 2**40}, "max_body_bytes", "must be at most 2147483647 bytes"),
        ({"contacts": [999]}, "contacts", "no contact with id 999"),
        ({"contacts": [2**40]}, "contacts", "is not one"),
        ({"contact_groups": [999]}, "contact_groups", "no contact group with id 999"),
        ({"owner": "me"}, "owner", "unknown field"),
    ],
)
def test_create_bad_input(admin, db, change, field, message) -> None:
    before = counts(db)
    response = admin.post("/api/v1/sites", {**SITE, **change})
    if message is None:
        assert response.status_code == 201, response.json
        return
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "validation_error"
    assert message in error["fields"][field]
    assert f"{field}: " in error["message"]
    assert counts(db) == before


def test_update_bad_input_saves_nothing(admin, db, app) -> None:
    contact = admin.post("/api/v1/contacts", CONTACT).json
    admin.post("/api/v1/sites", {**SITE, "contacts": [contact["id"]]})
    before = counts(db)
    with record_changes(app) as changes:
        response = admin.patch(
            "/api/v1/sites/shop",
            {"name": "Changed", "contacts": [], "timeout": "1 minute", "paused": True},
        )
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["timeout"]
    assert changes == []
    assert counts(db) == before
    row = site_row(db, "shop")
    assert (
        row.name == "Web shop"
        and not row.paused
        and [c.id for c in row.contacts] == [contact["id"]]
    )
    fixed = admin.patch("/api/v1/sites/shop", {"id": "renamed"})
    assert fixed.status_code == 422 and "cannot be changed" in fixed.json["error"]["fields"]["id"]


def test_duplicate_id(admin, db) -> None:
    assert admin.post("/api/v1/sites", SITE).status_code == 201
    before = counts(db)
    again = admin.post("/api/v1/sites", {**SITE, "name": "Another"})
    assert again.status_code == 409
    assert again.json["error"]["fields"] == {"id": "'shop' is already used by another site"}
    assert counts(db) == before
    # a slug made from a name collides the same way
    assert (
        admin.post("/api/v1/sites", {"name": "Web Shop", "url": "https://x.example"}).status_code
        == 201
    )
    assert (
        admin.post("/api/v1/sites", {"name": "web shop!", "url": "https://y.example"}).status_code
        == 409
    )


@pytest.mark.parametrize(
    "name",
    ['Shop "EU": main', "Café — Zürich ☕", "a: b # c", "it's 'quoted'", "- [x] {y}: &z *w !v"],
)
def test_names_with_quotes_colons_and_non_ascii(admin, db, name) -> None:
    response = admin.post(
        "/api/v1/sites",
        {
            "id": "s",
            "name": name,
            "url": "https://e.example",
            "labels": {"team": name},
            "headers": {"X-Note": name},
        },
    )
    assert response.status_code == 201, response.json
    assert response.json["name"] == name and response.json["labels"] == {"team": name}
    row = site_row(db, "s")
    assert row.name == name and row.headers == {"X-Note": name}


def test_bad_bodies(admin) -> None:
    not_json = admin.client.post(
        "/api/v1/sites", data="id=x", headers={**admin._headers(), "Content-Type": "text/plain"}
    )
    assert not_json.status_code == 415 and not_json.json["error"]["code"] == "invalid_body"
    listed = admin.post("/api/v1/sites", [SITE])
    assert listed.status_code == 400


def test_pause_and_maintenance(admin, db, app) -> None:
    admin.post("/api/v1/sites", SITE)
    with record_changes(app) as changes:
        paused = admin.patch("/api/v1/sites/shop", {"paused": True})
        maint = admin.patch("/api/v1/sites/shop", {"maintenance": True})
    assert paused.json["paused"] is True and maint.json["maintenance"] is True
    assert changes == ["sites", "sites"]
    row = site_row(db, "shop")
    assert row.paused and row.maintenance
    resumed = admin.patch("/api/v1/sites/shop", {"paused": False, "maintenance": "false"})
    assert resumed.json["paused"] is False and resumed.json["maintenance"] is False


def test_contacts_of_a_site_direct_inline_and_by_group(admin, db, app) -> None:
    admin.post("/api/v1/sites", SITE)
    ada = admin.post("/api/v1/contacts", CONTACT).json
    bob = admin.post("/api/v1/contacts", {"name": "Bob", "phone": "+1 415 555 2671"}).json
    ops = admin.post("/api/v1/contact-groups", {"name": "Ops", "members": [bob["id"]]}).json

    with record_changes(app) as changes:
        direct = admin.post("/api/v1/sites/shop/contacts", {"contact_id": ada["id"]})
    assert direct.status_code == 200, direct.json
    assert direct.json["added"]["type"] == "contact" and changes == ["sites"]
    assert [c["name"] for c in direct.json["site"]["contacts"]] == ["Ada Lovelace"]

    by_group = admin.post("/api/v1/sites/shop/contacts", {"group_id": ops["id"]})
    assert by_group.status_code == 200
    site = by_group.json["site"]
    assert [g["name"] for g in site["contact_groups"]] == ["Ops"]
    assert [c["name"] for c in site["all_contacts"]] == ["Ada Lovelace", "Bob"]

    inline = admin.post(
        "/api/v1/sites/shop/contacts",
        {"contact": {"name": "Cy", "email": "CY@Example.COM", "wants_email": True}},
    )
    assert inline.status_code == 200, inline.json
    assert inline.json["added"]["email"] == "CY@example.com"
    assert [c["name"] for c in inline.json["site"]["contacts"]] == ["Ada Lovelace", "Cy"]

    # adding again changes nothing
    twice = admin.post("/api/v1/sites/shop/contacts", {"contact_id": ada["id"]})
    assert len(twice.json["site"]["contacts"]) == 2

    before = counts(db)
    for body, field, message in [
        (
            {"contact": {"name": "Dee", "email": "not-an-email"}},
            "contact.email",
            "not a valid email",
        ),
        ({"contact": {"name": ""}}, "contact.name", "a name is required"),
        ({"contact": "Dee"}, "contact", "must be an object"),
        ({"contact_id": 999}, "contact_id", "no contact with id 999"),
        ({"contact_id": "x"}, "contact_id", "must be the id of an existing contact"),
        ({"group_id": 999}, "group_id", "no contact group with id 999"),
        ({}, "contact_id", "give exactly one of"),
        ({"contact_id": ada["id"], "group_id": ops["id"]}, "contact_id", "give exactly one of"),
        ({"email": "x@example.com"}, "email", "unknown field"),
    ]:
        response = admin.post("/api/v1/sites/shop/contacts", body)
        assert response.status_code == 422, (body, response.json)
        assert message in response.json["error"]["fields"][field], response.json
    assert counts(db) == before
    assert admin.post("/api/v1/sites/nope/contacts", {"contact_id": ada["id"]}).status_code == 404

    # replace the lists as a whole with PATCH (ids or the objects GET returns)
    replaced = admin.patch("/api/v1/sites/shop", {"contacts": [bob], "contact_groups": []})
    assert [c["name"] for c in replaced.json["contacts"]] == ["Bob"]
    assert replaced.json["contact_groups"] == []

    assert admin.delete(f"/api/v1/sites/shop/contacts/{bob['id']}").status_code == 204
    assert admin.delete(f"/api/v1/sites/shop/contacts/{bob['id']}").status_code == 404
    admin.post("/api/v1/sites/shop/contacts", {"group_id": ops["id"]})
    assert admin.delete(f"/api/v1/sites/shop/contact-groups/{ops['id']}").status_code == 204
    assert admin.get("/api/v1/sites/shop").json["all_contacts"] == []


def test_delete_removes_links_but_not_contacts_or_groups(admin, db) -> None:
    ada = admin.post("/api/v1/contacts", CONTACT).json
    ops = admin.post("/api/v1/contact-groups", {"name": "Ops", "members": [ada["id"]]}).json
    admin.post("/api/v1/sites", {**SITE, "contacts": [ada["id"]], "contact_groups": [ops["id"]]})
    admin.post("/api/v1/sites", {**SITE, "id": "blog", "contacts": [ada["id"]]})
    before = counts(db)
    assert before["site_contacts"] == 2 and before["site_contact_groups"] == 1

    assert admin.delete("/api/v1/sites/shop").status_code == 204
    after = counts(db)
    assert after == {
        **before,
        "sites": 1,
        "site_contacts": 1,
        "site_contact_groups": 0,
    }
    assert admin.get(f"/api/v1/contacts/{ada['id']}").json["sites"] == ["blog"]
    assert admin.get(f"/api/v1/contact-groups/{ops['id']}").json["members"][0]["id"] == ada["id"]


def test_roles_without_server_management_are_refused(api, db) -> None:
    # The full matrix is in test_rbac_matrix; here the API refuses and saves nothing.
    before = counts(db)
    for role in (Role.IT_STAFF, Role.CUSTOMER_ENGAGEMENT):
        caller = api.as_role(role)
        response = caller.post("/api/v1/sites", SITE)
        assert response.status_code == 403
    assert counts(db) == before
