"""Settings through the API (SQLite and PostgreSQL) and the page: typed values,
secrets encrypted and never shown, environment fallback, cross-field checks, and
bad input for each field with nothing saved."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from admin_app import changes
from admin_app.roles import Role
from admin_app.settings.schema import FIELDS
from tests.admin_app.conftest import BACKENDS


def _get(admin) -> dict:
    response = admin.get("/api/v1/settings")
    assert response.status_code == 200
    return response.json


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_defaults_update_and_clear(api) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    state = _get(admin)
    assert state["settings"]["default_interval_seconds"] == 30.0
    assert state["settings"]["default_confirmations"] == 2
    assert state["settings"]["sms_provider"] == "console"
    assert state["secrets"] == {
        "smtp_password": False,
        "twilio_auth_token": False,
        "sms_gateway_token": False,
    }
    assert set(state["sources"]) == {f.key for f in FIELDS}

    response = admin.patch(
        "/api/v1/settings",
        {
            "smtp_host": "mail.example.com",
            "smtp_port": "587",
            "smtp_from": "Upwatch@Example.com",
            "smtp_password": "hunter2 secret",
            "smtp_require_tls": True,
            "default_interval_seconds": 15,
            "default_timeout_seconds": 5.5,
            "default_confirmations": 3,
        },
    )
    assert response.status_code == 200, response.json
    state = response.json
    assert state["settings"]["smtp_port"] == 587
    assert state["settings"]["smtp_from"] == "Upwatch@example.com"
    assert state["settings"]["default_timeout_seconds"] == 5.5
    assert state["secrets"]["smtp_password"] is True
    assert "hunter2 secret" not in response.get_data(as_text=True)
    assert state["sources"]["smtp_host"] == "database"

    cleared = admin.patch("/api/v1/settings", {"smtp_host": None, "smtp_password": ""}).json
    assert cleared["settings"]["smtp_host"] is None and cleared["sources"]["smtp_host"] == "default"
    assert cleared["secrets"]["smtp_password"] is False


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_secrets_are_encrypted_in_the_database(api, db, app) -> None:
    from admin_app.settings.store import effective

    admin = api.as_role(Role.DEVELOPER, "dev")
    response = admin.patch(
        "/api/v1/settings",
        {
            "sms_provider": "twilio",
            "twilio_account_sid": "AC123",
            "twilio_auth_token": "tw-secret-token",
            "twilio_from": "+1 202 555 0143",
        },
    )
    assert response.status_code == 200, response.json
    assert response.json["settings"]["twilio_from"] == "+12025550143"
    stored = db.execute(
        text("SELECT value, is_secret FROM settings WHERE key = 'twilio_auth_token'")
    ).one()
    assert stored.is_secret and "tw-secret-token" not in stored.value
    assert effective(db, app.config["SECRET_KEY"])["twilio_auth_token"] == "tw-secret-token"


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"smtp_port": "abc"}, "smtp_port", "must be a number"),
        ({"smtp_port": 70000}, "smtp_port", "at most 65535"),
        ({"smtp_port": 2.5}, "smtp_port", "whole number"),
        ({"smtp_from": "not an address"}, "smtp_from", "not a valid email address"),
        ({"smtp_host": "mail\nevil"}, "smtp_host", "one line"),
        ({"smtp_require_tls": "perhaps"}, "smtp_require_tls", "true or false"),
        ({"sms_provider": "pigeon"}, "sms_provider", "one of: console, twilio, http"),
        ({"twilio_from": "12345"}, "twilio_from", "E.164"),
        ({"sms_gateway_url": "ftp://x"}, "sms_gateway_url", "http:// or https://"),
        ({"default_interval_seconds": 1}, "default_interval_seconds", "at least 5"),
        ({"default_timeout_seconds": 0}, "default_timeout_seconds", "at least 0.1"),
        (
            {"default_timeout_seconds": 60},
            "default_timeout_seconds",
            "longer than the default interval",
        ),
        ({"default_confirmations": 0}, "default_confirmations", "at least 1"),
        ({"default_confirmations": True}, "default_confirmations", "must be a number"),
        (
            {"sms_provider": "twilio"},
            "twilio_account_sid",
            "required when the SMS provider is twilio",
        ),
        ({"favourite_colour": "blue"}, "favourite_colour", "unknown setting"),
        ({"operations_group": True}, "operations_group", "a contact group's id or name"),
        ({"operations_group": 0}, "operations_group", "a contact group's id or name"),
        ({"operations_group": 2.5}, "operations_group", "a contact group's id or name"),
        ({"operations_group": ["Ops"]}, "operations_group", "a contact group's id or name"),
        ({"operations_group": 9999}, "operations_group", "no contact group with id 9999"),
        ({"operations_group": "Nobody"}, "operations_group", "no contact group named 'Nobody'"),
    ],
)
def test_bad_input_saves_nothing(api, change, field, message) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    before = _get(admin)
    response = admin.patch("/api/v1/settings", {"smtp_host": "mail.example.com", **change})
    assert response.status_code == 422
    error = response.json["error"]
    assert message in error["fields"][field]
    assert _get(admin) == before  # smtp_host was not saved either


def test_environment_fallback(api, monkeypatch) -> None:
    monkeypatch.setenv("UPWATCH_SMTP_HOST", "env-mail.example.com")
    monkeypatch.setenv("UPWATCH_SMTP_PASSWORD", "from-env")
    monkeypatch.setenv("UPWATCH_SMS_PROVIDER", "http")
    monkeypatch.setenv("UPWATCH_SMS_GATEWAY_URL", "https://gw.example/send")
    admin = api.as_role(Role.ADMIN, "boss")
    state = _get(admin)
    assert state["settings"]["smtp_host"] == "env-mail.example.com"
    assert state["sources"]["smtp_host"] == "environment"
    assert state["secrets"]["smtp_password"] is True
    assert "from-env" not in str(state)
    state = admin.patch("/api/v1/settings", {"smtp_host": "db-mail.example.com"}).json
    assert state["settings"]["smtp_host"] == "db-mail.example.com"
    assert state["sources"]["smtp_host"] == "database"


def test_changes_signal_config_regeneration(api) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    seen: list[str] = []

    def receiver(sender, kind: str) -> None:
        seen.append(kind)

    changes.config_changed.connect(receiver)
    try:
        admin.patch("/api/v1/settings", {"default_confirmations": 4})
        admin.patch("/api/v1/settings", {"default_confirmations": 4})  # no change, no signal
        admin.patch("/api/v1/settings", {"default_confirmations": -1})  # refused, no signal
    finally:
        changes.config_changed.disconnect(receiver)
    assert seen == ["settings"]


def test_page_shows_and_saves(auth) -> None:
    auth.login_as(Role.IT_STAFF, "it")
    page = auth.client.get("/admin/settings").get_data(as_text=True)
    assert 'name="smtp_host"' in page and 'name="smtp_password"' in page
    assert 'value="30.0"' in page
    response = auth.form_post(
        "/admin/settings",
        {
            "smtp_host": "mail.example.com",
            "smtp_port": "25",
            "smtp_password": "pw from form",
            "sms_provider": "console",
            "default_interval_seconds": "30.0",
            "default_timeout_seconds": "10.0",
            "default_confirmations": "2",
        },
        token_page="/admin/settings",
    )
    assert response.status_code == 303
    page = auth.client.get("/admin/settings").get_data(as_text=True)
    assert 'value="mail.example.com"' in page and "Settings saved." in page
    assert "pw from form" not in page
    assert "stored (database)" in page


def test_page_leaves_unchanged_fields_alone(auth, api) -> None:
    auth.login_as(Role.ADMIN, "boss")
    auth.form_post(
        "/admin/settings",
        {
            "smtp_port": "25",
            "sms_provider": "console",
            "default_interval_seconds": "30.0",
            "default_timeout_seconds": "10.0",
            "default_confirmations": "2",
        },
        token_page="/admin/settings",
    )
    state = api.as_role(Role.ADMIN, "reader").get("/api/v1/settings").json
    assert set(state["sources"].values()) == {"default"}


def test_page_bad_input(auth) -> None:
    auth.login_as(Role.ADMIN, "boss")
    response = auth.form_post(
        "/admin/settings",
        {"smtp_host": "mail.example.com", "smtp_port": "seventy", "default_confirmations": "0"},
        token_page="/admin/settings",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page
    assert "SMTP port must be a number" in page
    assert "Default confirmations must be at least 1" in page
    assert 'value="mail.example.com"' in page  # what was typed is kept
    again = auth.client.get("/admin/settings").get_data(as_text=True)
    assert "mail.example.com" not in again


# --------------------------------------------------------------------------- operations


def _ops_group(admin, name: str = "Ops", members: list[dict] | None = None) -> dict:
    ids = []
    for m in members or []:
        response = admin.post("/api/v1/contacts", m)
        assert response.status_code == 201, response.json
        ids.append(response.json["id"])
    response = admin.post("/api/v1/contact-groups", {"name": name, "members": ids})
    assert response.status_code == 201, response.json
    return response.json


OPS_ERIN = {"name": "Erin", "email": "erin@example.com", "phone": "+14155552673",
            "wants_email": True, "wants_sms": True}  # fmt: skip
OPS_GINA = {"name": "Gina", "email": "gina@example.com", "wants_email": True, "wants_sms": False}


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_operations_group_by_id_or_name_and_who_it_pages(api) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    state = _get(admin)
    assert state["settings"]["operations_group"] is None
    assert state["operations"]["group"] is None
    assert "nobody is emailed or texted" in state["operations"]["warning"]

    empty = _ops_group(admin, "Empty")
    state = admin.patch("/api/v1/settings", {"operations_group": "empty"}).json
    assert state["settings"]["operations_group"] == empty["id"]  # the name, stored as the id
    assert state["operations"]["group"] == {"id": empty["id"], "name": "Empty"}
    assert "has no member" in state["operations"]["warning"]

    ops = _ops_group(admin, "Ops", [OPS_ERIN, OPS_GINA])
    state = admin.patch("/api/v1/settings", {"operations_group": ops["id"]}).json
    assert state["settings"]["operations_group"] == ops["id"]
    assert state["sources"]["operations_group"] == "database"
    assert state["operations"]["warning"] is None
    assert [(c["name"], c["email"], c["sms"]) for c in state["operations"]["contacts"]] == [
        ("Erin", True, True),
        ("Gina", True, False),
    ]
    assert admin.patch("/api/v1/settings", {"operations_group": str(ops["id"])}).status_code == 200

    cleared = admin.patch("/api/v1/settings", {"operations_group": None}).json
    assert cleared["settings"]["operations_group"] is None
    assert cleared["operations"]["group"] is None


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_the_operations_group_cannot_be_deleted(api) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    ops = _ops_group(admin, "Ops", [OPS_ERIN])
    other = _ops_group(admin, "Other")
    assert admin.patch("/api/v1/settings", {"operations_group": ops["id"]}).status_code == 200
    response = admin.delete(f"/api/v1/contact-groups/{ops['id']}")
    assert response.status_code == 409
    assert "operations group" in response.json["error"]["message"]
    assert admin.get(f"/api/v1/contact-groups/{ops['id']}").status_code == 200
    assert _get(admin)["settings"]["operations_group"] == ops["id"]
    # other groups go as before, and the group goes once another is chosen
    assert admin.delete(f"/api/v1/contact-groups/{other['id']}").status_code == 204
    admin.patch("/api/v1/settings", {"operations_group": None})
    assert admin.delete(f"/api/v1/contact-groups/{ops['id']}").status_code == 204


def test_the_operations_group_on_the_page(auth, api) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    ops = _ops_group(admin, "Ops <team>", [OPS_ERIN])
    auth.login_as(Role.IT_STAFF, "it")  # System Settings, no API access
    page = auth.client.get("/admin/settings").get_data(as_text=True)
    assert 'name="operations_group"' in page
    assert "Ops &lt;team&gt; (1 member)" in page
    assert "nobody is emailed or texted" in page
    response = auth.form_post(
        "/admin/settings", {"operations_group": str(ops["id"])}, token_page="/admin/settings"
    )
    assert response.status_code == 303
    page = auth.client.get("/admin/settings").get_data(as_text=True)
    assert f'<option value="{ops["id"]}" selected>' in page
    assert "Erin: email and SMS" in page and "nobody is emailed" not in page
    assert _get(admin)["settings"]["operations_group"] == ops["id"]
    # deleting it from the contact groups page is refused with a message
    response = auth.form_post(
        f"/contact-groups/{ops['id']}/delete", {}, token_page="/contact-groups"
    )
    assert response.status_code == 303
    groups_page = auth.client.get("/contact-groups").get_data(as_text=True)
    assert "was not deleted" in groups_page and "operations group" in groups_page

    response = auth.form_post(
        "/admin/settings", {"operations_group": "12345"}, token_page="/admin/settings"
    )
    assert response.status_code == 422
    assert "no contact group with id 12345" in response.get_data(as_text=True)
    assert _get(admin)["settings"]["operations_group"] == ops["id"]


def test_a_role_without_system_settings_cannot_set_the_operations_group(auth, api) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    ops = _ops_group(admin, "Ops", [OPS_ERIN])
    outsider = api.as_role(Role.CUSTOMER_ENGAGEMENT, "ce-api")
    assert outsider.patch("/api/v1/settings", {"operations_group": ops["id"]}).status_code == 403
    assert outsider.get("/api/v1/settings").status_code == 403
    auth.login_as(Role.CUSTOMER_ENGAGEMENT, "ce")
    assert auth.client.get("/admin/settings").status_code == 403
    response = auth.form_post(
        "/admin/settings", {"operations_group": str(ops["id"])}, token_page="/account"
    )
    assert response.status_code == 403
    assert _get(admin)["settings"]["operations_group"] is None
