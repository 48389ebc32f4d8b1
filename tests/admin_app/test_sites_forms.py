"""Sites through the pages: list, create, the site page, edit, delete, pause and
maintenance, adding and removing contacts and groups. Bad input in each field is
shown next to the field with the same message the JSON API gives, the form keeps
what was typed, and nothing is saved."""

from __future__ import annotations

import pytest

from admin_app.roles import Role
from tests.admin_app.conftest import BACKENDS
from tests.admin_app.sites_fixtures import (
    CONTACT,
    SITE,
    counts,
    field_errors,
    page_text,
    record_changes,
    site_row,
)

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

FORM = {
    "id": "shop",
    "name": "Web shop",
    "url": "https://shop.example.com/health",
    "interval": "15s",
    "timeout": "5s",
    "confirmations": "3",
    "method": "GET",
    "headers": "Authorization: Bearer abc",
    "expect_status": "200-299",
    "body_contains": "OK",
    "body_regex": "",
    "max_body_bytes": "1048576",
    "follow_redirects": "on",
    "tls_verify": "on",
    "labels": "group=payments",
}


@pytest.fixture
def admin_browser(auth):
    auth.login_as(Role.ADMIN, "boss")
    return auth


def test_create_view_edit_delete(admin_browser, api, db, app) -> None:
    auth = admin_browser
    assert "No sites yet" in auth.client.get("/sites").get_data(as_text=True)
    assert auth.client.get("/sites/new").status_code == 200
    with record_changes(app) as changes:
        response = auth.form_post("/sites/new", FORM)
    assert response.status_code == 302, page_text(response)
    assert response.headers["Location"] == "/sites/shop"
    assert changes == ["sites"]
    # The form and the API store the same site.
    from_api = api.as_role(Role.ADMIN, "api-boss").get("/api/v1/sites/shop").json
    for key, value in SITE.items():
        assert from_api[key] == value, key

    page = page_text(auth.client.get("/sites/shop"))
    assert "Web shop" in page and "Site 'Web shop' created." in page
    assert "https://shop.example.com/health" in page and "Test now" in page
    listing = page_text(auth.client.get("/sites"))
    assert "Web shop" in listing and "/sites/shop" in listing

    edit_page = page_text(auth.client.get("/sites/shop/edit"))
    assert 'value="15s"' in edit_page and "Authorization: Bearer abc" in edit_page
    changed = {**FORM, "interval": "", "timeout": "", "name": 'Shop: "EU" ☕', "labels": ""}
    changed.pop("follow_redirects")
    response = auth.form_post("/sites/shop/edit", changed)
    assert response.status_code == 302, page_text(response)
    row = site_row(db, "shop")
    assert row.interval_seconds is None and row.timeout_seconds is None
    assert row.name == 'Shop: "EU" ☕' and row.labels == {} and row.follow_redirects is False

    with record_changes(app) as changes:
        response = auth.form_post("/sites/shop/delete", {})
    assert response.status_code == 303 and changes == ["sites"]
    assert site_row(db, "shop") is None
    assert auth.client.get("/sites/shop").status_code == 404
    assert auth.form_post("/sites/shop/delete", {}).status_code == 404


def test_tcp_site_through_the_form(admin_browser, db) -> None:
    form = {
        **FORM,
        "id": "",
        "name": "Main DB",
        "url": "tcp://db.internal:5432",
        "headers": "",
        "body_contains": "",
        "labels": "",
    }
    response = admin_browser.form_post("/sites/new", form)
    assert response.status_code == 302, page_text(response)
    assert site_row(db, "main-db").url == "tcp://db.internal:5432"
    # an HTTP-only setting that differs from its default is a real mistake
    response = admin_browser.form_post(
        "/sites/main-db/edit", {**form, "id": "main-db", "method": "POST"}
    )
    assert response.status_code == 422
    assert field_errors(response)["method"] == "applies only to http and https sites, not tcp"


# (form change, the same mistake through the API, API field, form input)
CASES = [
    ({"id": "Bad Id"}, {"id": "Bad Id"}, "id", "id"),
    ({"id": "new"}, {"id": "new"}, "id", "id"),
    ({"name": "two\nlines"}, {"name": "two\nlines"}, "name", "name"),
    ({"url": "ftp://shop.example.com"}, {"url": "ftp://shop.example.com"}, "url", "url"),
    ({"url": ""}, {"url": ""}, "url", "url"),
    ({"interval": "soon"}, {"interval": "soon"}, "interval", "interval"),
    ({"interval": "0s"}, {"interval": "0s"}, "interval", "interval"),
    ({"timeout": "abc"}, {"timeout": "abc"}, "timeout", "timeout"),
    ({"timeout": "30s"}, {"timeout": "30s"}, "timeout", "timeout"),
    ({"confirmations": "three"}, {"confirmations": "three"}, "confirmations", "confirmations"),
    ({"confirmations": "0"}, {"confirmations": 0}, "confirmations", "confirmations"),
    ({"method": "FETCH"}, {"method": "FETCH"}, "method", "method"),
    ({"expect_status": "600"}, {"expect": {"status": ["600"]}}, "expect.status", "expect_status"),
    (
        {"expect_status": "200, 2x"},
        {"expect": {"status": "200, 2x"}},
        "expect.status",
        "expect_status",
    ),
    (
        {"body_regex": "(", "body_contains": ""},
        {"expect": {"body_regex": "("}},
        "expect.body_regex",
        "body_regex",
    ),
    (
        {"body_regex": "b"},
        {"expect": {"body_contains": "OK", "body_regex": "b"}},
        "expect",
        "body_contains",
    ),
    ({"max_body_bytes": "-5"}, {"max_body_bytes": -5}, "max_body_bytes", "max_body_bytes"),
    ({"max_body_bytes": "lots"}, {"max_body_bytes": "lots"}, "max_body_bytes", "max_body_bytes"),
    ({"labels": "site=x"}, {"labels": {"site": "x"}}, "labels", "labels"),
    ({"labels": "bad-name=x"}, {"labels": {"bad-name": "x"}}, "labels", "labels"),
]


@pytest.mark.parametrize(("form_change", "api_change", "field", "input_name"), CASES)
def test_bad_input_same_message_as_the_api(
    admin_browser, api, db, app, form_change, api_change, field, input_name
) -> None:
    before = counts(db)
    with record_changes(app) as changes:
        response = admin_browser.form_post("/sites/new", {**FORM, **form_change})
        from_api = api.as_role(Role.ADMIN, "api-boss").post("/api/v1/sites", {**SITE, **api_change})
    assert response.status_code == 422 and from_api.status_code == 422, from_api.json
    api_message = from_api.json["error"]["fields"][field]
    shown = field_errors(response)
    assert shown[input_name] == api_message, (shown, api_message)
    assert api_message in page_text(response)  # also in the summary at the top
    assert counts(db) == before and changes == []
    # what was typed is kept
    typed = next(iter(form_change.values()))
    if typed and "\n" not in typed:
        assert f'value="{typed}"' in page_text(response) or f">{typed}<" in page_text(response)


def test_form_only_mistakes(admin_browser, db) -> None:
    before = counts(db)
    response = admin_browser.form_post("/sites/new", {**FORM, "headers": "Authorization Bearer"})
    assert response.status_code == 422
    assert (
        field_errors(response)["headers"] == "line 1: 'Authorization Bearer' is not 'Name: value'"
    )
    response = admin_browser.form_post("/sites/new", {**FORM, "labels": "team"})
    assert field_errors(response)["labels"] == "line 1: 'team' is not 'name=value'"
    assert counts(db) == before


def test_duplicate_id_and_fixed_id(admin_browser, db) -> None:
    assert admin_browser.form_post("/sites/new", FORM).status_code == 302
    before = counts(db)
    response = admin_browser.form_post("/sites/new", {**FORM, "name": "Other"})
    assert response.status_code == 409
    assert field_errors(response)["id"] == "'shop' is already used by another site"
    response = admin_browser.form_post("/sites/shop/edit", {**FORM, "id": "other"})
    assert response.status_code == 422 and "cannot be changed" in field_errors(response)["id"]
    assert counts(db) == before and site_row(db, "shop").name == "Web shop"


def test_edit_bad_input_changes_nothing(admin_browser, db) -> None:
    admin_browser.form_post("/sites/new", FORM)
    response = admin_browser.form_post(
        "/sites/shop/edit", {**FORM, "name": "Changed", "interval": "x"}
    )
    assert response.status_code == 422
    assert 'value="Changed"' in page_text(response)  # kept what was typed
    row = site_row(db, "shop")
    assert row.name == "Web shop" and row.interval_seconds == 15.0


def test_pause_and_maintenance_toggles(admin_browser, db, app) -> None:
    admin_browser.form_post("/sites/new", FORM)
    with record_changes(app) as changes:
        response = admin_browser.form_post("/sites/shop/pause", {"paused": "true"})
        assert response.status_code == 303 and response.headers["Location"] == "/sites/shop"
        response = admin_browser.form_post(
            "/sites/shop/maintenance", {"maintenance": "true", "back": "list"}
        )
        assert response.headers["Location"] == "/sites"
    assert changes == ["sites", "sites"]
    row = site_row(db, "shop")
    assert row.paused and row.maintenance
    listing = page_text(admin_browser.client.get("/sites"))
    assert "paused" in listing and "Resume" in listing and "End maintenance" in listing
    admin_browser.form_post("/sites/shop/pause", {"paused": "false"})
    admin_browser.form_post("/sites/shop/maintenance", {"maintenance": "false"})
    row = site_row(db, "shop")
    assert not row.paused and not row.maintenance
    bad = admin_browser.form_post("/sites/shop/pause", {})
    assert bad.status_code == 422 and "paused: must be true or false" in page_text(bad)


def test_contacts_on_the_site_page(admin_browser, api, db, app) -> None:
    admin_browser.form_post("/sites/new", FORM)
    caller = api.as_role(Role.ADMIN, "api-boss")
    ada = caller.post("/api/v1/contacts", CONTACT).json
    bob = caller.post("/api/v1/contacts", {"name": "Bob", "phone": "+14155552671"}).json
    ops = caller.post("/api/v1/contact-groups", {"name": "Ops", "members": [bob["id"]]}).json

    with record_changes(app) as changes:
        r1 = admin_browser.form_post(
            "/sites/shop/contacts", {"kind": "existing", "contact_id": ada["id"]}
        )
        r2 = admin_browser.form_post(
            "/sites/shop/contacts", {"kind": "group", "group_id": ops["id"]}
        )
        r3 = admin_browser.form_post(
            "/sites/shop/contacts",
            {
                "kind": "new",
                "contact.name": "Cy",
                "contact.email": "cy@example.com",
                "contact.wants_email": "on",
            },
        )
    assert [r.status_code for r in (r1, r2, r3)] == [303, 303, 303]
    assert changes == ["sites", "sites", "sites"]
    page = page_text(admin_browser.client.get("/sites/shop"))
    assert "Ada Lovelace" in page and "Ops" in page and "Cy" in page
    assert "SMS +14155552671" in page  # Bob, through the group
    row = site_row(db, "shop")
    assert sorted(c.name for c in row.all_contacts()) == ["Ada Lovelace", "Bob", "Cy"]

    before = counts(db)
    bad = admin_browser.form_post(
        "/sites/shop/contacts",
        {
            "kind": "new",
            "contact.name": "Dee",
            "contact.email": "dee@",
            "contact.wants_email": "on",
        },
    )
    assert bad.status_code == 422
    from_api = caller.post(
        "/api/v1/sites/shop/contacts",
        {"contact": {"name": "Dee", "email": "dee@", "wants_email": True}},
    )
    assert field_errors(bad)["contact.email"] == from_api.json["error"]["fields"]["contact.email"]
    assert 'value="Dee"' in page_text(bad)
    assert counts(db) == before

    r = admin_browser.form_post(f"/sites/shop/contacts/{ada['id']}/remove", {})
    assert r.status_code == 303
    r = admin_browser.form_post(f"/sites/shop/groups/{ops['id']}/remove", {})
    assert r.status_code == 303
    assert sorted(c.name for c in site_row(db, "shop").all_contacts()) == ["Cy"]
    assert counts(db)["contacts"] == 3  # removed from the site, not deleted
    assert admin_browser.form_post(f"/sites/shop/groups/{ops['id']}/remove", {}).status_code == 404


def test_without_server_management(auth) -> None:
    auth.login_as(Role.CUSTOMER_ENGAGEMENT)
    assert auth.client.get("/sites").status_code == 403
    assert auth.form_post("/sites/new", FORM).status_code == 403


def test_csrf_is_required(admin_browser, db) -> None:
    response = admin_browser.client.post("/sites/new", data=FORM)
    assert response.status_code == 400
    assert counts(db)["sites"] == 0
