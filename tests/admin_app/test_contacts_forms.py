"""Contacts and contact groups through the pages: list, create, edit, delete, with
bad input in each field shown next to it, the same message as the JSON API, what
was typed kept, and nothing saved."""

from __future__ import annotations

import pytest

from admin_app.roles import Role
from tests.admin_app.conftest import BACKENDS
from tests.admin_app.sites_fixtures import (
    CONTACT,
    SITE,
    contact_row,
    counts,
    field_errors,
    group_row,
    page_text,
    record_changes,
)

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

FORM = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "+44 20 7946 0958",
    "wants_email": "on",
}


@pytest.fixture
def browser(auth):
    auth.login_as(Role.ADMIN, "boss")
    return auth


@pytest.fixture
def caller(api):
    return api.as_role(Role.ADMIN, "api-boss")


def _contact_id(db, name: str) -> int:
    from sqlalchemy import select

    from admin_app.models import Contact

    db.expire_all()
    return db.scalar(select(Contact.id).where(Contact.name == name))


def test_contact_pages(browser, db, app) -> None:
    assert "No contacts yet" in page_text(browser.client.get("/contacts"))
    assert browser.client.get("/contacts/new").status_code == 200
    with record_changes(app) as changes:
        response = browser.form_post("/contacts/new", {**FORM, "wants_sms": "on"})
    assert response.status_code == 302 and response.headers["Location"] == "/contacts"
    assert changes == ["contacts"]
    contact_id = _contact_id(db, "Ada Lovelace")
    row = contact_row(db, contact_id)
    assert row.phone == "+442079460958" and row.wants_email and row.wants_sms
    listing = page_text(browser.client.get("/contacts"))
    assert "Ada Lovelace" in listing and "+442079460958" in listing and "SMS" in listing

    edit = page_text(browser.client.get(f"/contacts/{contact_id}/edit"))
    assert 'value="ada@example.com"' in edit
    response = browser.form_post(
        f"/contacts/{contact_id}/edit", {**FORM, "name": "Ada “Countess” L: ☕"}
    )
    assert response.status_code == 302
    row = contact_row(db, contact_id)
    assert row.name == "Ada “Countess” L: ☕" and not row.wants_sms  # unchecked box: off

    with record_changes(app) as changes:
        assert browser.form_post(f"/contacts/{contact_id}/delete", {}).status_code == 303
    assert changes == ["contacts"]
    assert contact_row(db, contact_id) is None
    assert browser.client.get(f"/contacts/{contact_id}/edit").status_code == 404


# (form change, the same through the API, field)
CASES = [
    ({"name": ""}, {"name": ""}, "name"),
    ({"name": "a\nb"}, {"name": "a\nb"}, "name"),
    ({"email": "ada@"}, {"email": "ada@"}, "email"),
    ({"email": "ada at example.com"}, {"email": "ada at example.com"}, "email"),
    ({"phone": "020 7946 0958"}, {"phone": "020 7946 0958"}, "phone"),
    ({"phone": "+44 12"}, {"phone": "+44 12"}, "phone"),
    ({"phone": "not a number"}, {"phone": "not a number"}, "phone"),
    ({"email": "", "wants_email": "on"}, {"email": "", "wants_email": True}, "email"),
    ({"phone": "", "wants_sms": "on"}, {"phone": "", "wants_sms": True}, "phone"),
    ({"wants_email": None}, {"wants_email": False, "wants_sms": False}, "wants_email"),
]


@pytest.mark.parametrize(("form_change", "api_change", "field"), CASES)
def test_contact_bad_input_same_message_as_the_api(
    browser, caller, db, app, form_change, api_change, field
) -> None:
    before = counts(db)
    form = {k: v for k, v in {**FORM, **form_change}.items() if v is not None}
    with record_changes(app) as changes:
        response = browser.form_post("/contacts/new", form)
        from_api = caller.post("/api/v1/contacts", {**CONTACT, "wants_email": True, **api_change})
    assert response.status_code == 422 and from_api.status_code == 422
    assert field_errors(response)[field] == from_api.json["error"]["fields"][field]
    assert counts(db) == before and changes == []
    typed = form.get(field)
    if typed and "\n" not in typed and field != "wants_email":
        assert f'value="{typed}"' in page_text(response)


def test_contact_edit_bad_input_changes_nothing(browser, db) -> None:
    browser.form_post("/contacts/new", FORM)
    contact_id = _contact_id(db, "Ada Lovelace")
    response = browser.form_post(
        f"/contacts/{contact_id}/edit", {**FORM, "name": "Changed", "phone": "+1 2"}
    )
    assert response.status_code == 422 and "phone" in field_errors(response)
    assert contact_row(db, contact_id).name == "Ada Lovelace"


def test_group_pages(browser, caller, db, app) -> None:
    ada = caller.post("/api/v1/contacts", CONTACT).json
    bob = caller.post("/api/v1/contacts", {"name": "Bob", "email": "bob@example.com"}).json
    assert "No contact groups yet" in page_text(browser.client.get("/contact-groups"))
    new_page = page_text(browser.client.get("/contact-groups/new"))
    assert "Ada Lovelace" in new_page and "Bob" in new_page
    with record_changes(app) as changes:
        response = browser.form_post(
            "/contact-groups/new",
            {
                "name": 'Ops: "night"',
                "description": "on call",
                "members": [str(ada["id"]), str(bob["id"])],
            },
        )
    assert response.status_code == 302 and response.headers["Location"] == "/contact-groups"
    assert changes == ["groups"]
    group = caller.get("/api/v1/contact-groups").json["contact_groups"][0]
    assert group["name"] == 'Ops: "night"' and len(group["members"]) == 2
    listing = page_text(browser.client.get("/contact-groups"))
    assert 'Ops: "night"' in listing and "Ada Lovelace, Bob" in listing

    response = browser.form_post(
        f"/contact-groups/{group['id']}/edit", {"name": "Ops", "members": [str(bob["id"])]}
    )
    assert response.status_code == 302
    row = group_row(db, group["id"])
    assert row.name == "Ops" and [m.name for m in row.members] == ["Bob"] and row.description == ""

    caller.post("/api/v1/sites", {**SITE, "contact_groups": [group["id"]]})
    edit = page_text(browser.client.get(f"/contact-groups/{group['id']}/edit"))
    assert "Sites told through this group" in edit and "Web shop" in edit

    before = counts(db)
    for form, status, field, message in [
        ({"name": ""}, 422, "name", "a name is required"),
        ({"name": "Ops"}, 409, "name", "is already used by another contact group"),
        ({"name": "Dev", "members": ["999"]}, 422, "members", "no contact with id 999"),
        ({"name": "Dev", "members": ["x"]}, 422, "members", "must be a list of contact ids"),
    ]:
        response = browser.form_post("/contact-groups/new", form)
        assert response.status_code == status, form
        assert message in field_errors(response)[field]
    assert counts(db) == before

    assert browser.form_post(f"/contact-groups/{group['id']}/delete", {}).status_code == 303
    assert group_row(db, group["id"]) is None
    assert counts(db)["contacts"] == 2


def test_without_server_management(auth) -> None:
    auth.login_as(Role.FLEXIPAY_SUPPORT)
    for path in ("/contacts", "/contact-groups", "/contacts/new"):
        assert auth.client.get(path).status_code == 403
