"""What every response carries and how errors look: security headers, JSON errors
with a code and a message for the API, HTML error pages for the browser, and never
a stack trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from admin_app import create_app
from admin_app.db import create_all, get_database
from admin_app.rbac import public
from admin_app.roles import Role
from tests.admin_app.conftest import base_config

EXPECTED_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@pytest.mark.parametrize(
    "path", ["/login", "/healthz", "/api/v1/users", "/nope", "/static/upwatch.css"]
)
def test_security_headers_everywhere(client, path: str) -> None:
    response = client.get(path)
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers[name] == value
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "Strict-Transport-Security" not in response.headers  # only with Secure cookies


def test_pages_use_no_external_resources(auth) -> None:
    auth.login_as(Role.ADMIN)
    for path in (
        "/",
        "/admin",
        "/admin/users",
        "/admin/users/new",
        "/admin/settings",
        "/account",
        "/login",
    ):
        page = auth.client.get(path).get_data(as_text=True)
        assert "http://" not in page and "https://" not in page, path


def test_api_errors_are_json(api) -> None:
    admin = api.as_role(Role.ADMIN)
    response = admin.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    response = admin.request("PUT", "/api/v1/users")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_page_errors_are_html(auth) -> None:
    auth.login_as(Role.ADMIN)
    response = auth.client.get("/admin/users/424242/edit")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "there is no user with id 424242" in response.get_data(as_text=True)


def test_forbidden_page_says_why(auth) -> None:
    auth.login_as(Role.FLEXIPAY_SUPPORT)
    response = auth.client.get("/admin/settings")
    assert response.status_code == 403
    assert "does not have the &#39;System Settings&#39; permission" in response.get_data(
        as_text=True
    )


def test_client_asking_for_json_gets_json(client) -> None:
    response = client.get("/nope", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


@pytest.fixture
def boom_app(tmp_path: Path) -> Flask:
    app = create_app(base_config(f"sqlite:///{tmp_path / 'b.db'}", tmp_path))
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @public
    def boom() -> str:
        raise RuntimeError("secret detail: password=hunter2")

    app.add_url_rule("/api/v1/boom", "boom_api", boom)
    app.add_url_rule("/boom", "boom_page", boom)
    with app.app_context():
        create_all(app)
    yield app
    get_database(app).dispose()


def test_unexpected_errors_never_show_a_trace(
    boom_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = boom_app.test_client()
    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json == {
        "error": {
            "code": "internal_error",
            "message": "Something went wrong on the server; it has been logged.",
        }
    }
    page = client.get("/boom")
    assert page.status_code == 500
    text = page.get_data(as_text=True)
    assert "Traceback" not in text and "hunter2" not in text and "RuntimeError" not in text
    assert any("unhandled_exception" in r.getMessage() for r in caplog.records)


def test_healthz(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}


def test_logs_redact_secrets() -> None:
    from admin_app.logs import redact

    assert redact({"password": "x", "access_token": "y", "SMTP_Secret": "z", "user": "ann"}) == {
        "password": "[redacted]",
        "access_token": "[redacted]",
        "SMTP_Secret": "[redacted]",
        "user": "ann",
    }


def test_login_failures_do_not_log_passwords(
    auth, make_user, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    make_user(Role.ADMIN, "ann")
    with caplog.at_level(logging.INFO, logger="upwatch"):
        auth.login("ann", "my-very-secret-guess")
        auth.client.post(
            "/api/v1/auth/token", json={"username": "ann", "password": "another-secret-guess"}
        )
    text = caplog.text + " ".join(str(getattr(r, "kv", "")) for r in caplog.records)
    assert "login_failed" in caplog.text
    assert "my-very-secret-guess" not in text and "another-secret-guess" not in text
