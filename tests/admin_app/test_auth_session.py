"""Browser sessions: log in and out, wrong passwords, CSRF, remember me, cookie
flags, session protection, rate limiting, and sessions ending when a password
changes or an account is disabled."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from admin_app import create_app
from admin_app.auth.ratelimit import get_limiter
from admin_app.db import create_all, get_database
from admin_app.models import User
from admin_app.roles import Role
from tests.admin_app.conftest import AuthActions, base_config, csrf_token, password_for


def _logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def test_login_and_logout(auth, make_user) -> None:
    make_user(Role.ADMIN, "ann")
    response = auth.login("ann")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert _logged_in(auth.client)
    home = auth.client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "ann" in home and "Log out" in home
    response = auth.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not _logged_in(auth.client)
    assert auth.client.get("/admin").headers["Location"].startswith("/login?next=")


def test_login_returns_to_a_safe_next_page_only(auth, make_user) -> None:
    make_user(Role.ADMIN, "ann")
    token = csrf_token(auth.client)
    data = {"username": "ann", "password": password_for("ann"), "csrf_token": token}
    response = auth.client.post("/login", data={**data, "next": "/admin/users"})
    assert response.headers["Location"] == "/admin/users"
    auth.client.post("/logout", data={"csrf_token": csrf_token(auth.client, "/account")})
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        token = csrf_token(auth.client)
        response = auth.client.post("/login", data={**data, "csrf_token": token, "next": evil})
        assert response.headers["Location"] == "/", evil
        auth.client.post("/logout", data={"csrf_token": csrf_token(auth.client, "/account")})


@pytest.mark.parametrize(
    ("username", "password"),
    [("ann", "wrong password"), ("nobody", "whatever it is"), ("ann", ""), ("", "")],
)
def test_wrong_credentials_are_refused_with_one_message(
    auth, make_user, username, password
) -> None:
    make_user(Role.ADMIN, "ann")
    response = auth.login(username, password)
    assert response.status_code == 200
    assert "Invalid username or password." in response.get_data(as_text=True)
    assert not _logged_in(auth.client)


def test_disabled_account_cannot_log_in(auth, make_user) -> None:
    make_user(Role.ADMIN, "gone", active=False)
    response = auth.login("gone")
    assert "Invalid username or password." in response.get_data(as_text=True)
    assert not _logged_in(auth.client)


def test_username_is_case_insensitive(auth, make_user) -> None:
    make_user(Role.ADMIN, "ann")
    assert auth.login("ANN", password_for("ann")).status_code == 302


def test_login_form_without_csrf_token_is_rejected(client, make_user) -> None:
    make_user(Role.ADMIN, "ann")
    client.get("/login")
    response = client.post("/login", data={"username": "ann", "password": password_for("ann")})
    assert response.status_code == 400
    assert "reload the page" in response.get_data(as_text=True)
    assert not _logged_in(client)


def test_form_post_with_a_wrong_csrf_token_changes_nothing(auth, db) -> None:
    auth.login_as(Role.ADMIN, "ann")
    before = db.scalar(select(func.count()).select_from(User))
    response = auth.client.post(
        "/admin/users/new",
        data={
            "username": "x",
            "password": "long enough pw",
            "role": "admin",
            "csrf_token": "forged",
        },
    )
    assert response.status_code == 400
    response = auth.client.post("/logout", data={})
    assert response.status_code == 400
    assert _logged_in(auth.client)
    assert db.scalar(select(func.count()).select_from(User)) == before


def test_csrf_token_of_another_session_is_rejected(app, auth, make_user) -> None:
    make_user(Role.ADMIN, "ann")
    other = app.test_client()
    foreign = csrf_token(other)
    auth.client.get("/login")
    response = auth.client.post(
        "/login", data={"username": "ann", "password": password_for("ann"), "csrf_token": foreign}
    )
    assert response.status_code == 400


def test_logout_is_post_only(auth) -> None:
    auth.login_as(Role.ADMIN)
    assert auth.client.get("/logout").status_code == 405
    assert _logged_in(auth.client)


def test_cookie_flags_and_remember_me(auth, make_user) -> None:
    make_user(Role.ADMIN, "ann")
    response = auth.login("ann")
    cookies = response.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("upwatch_session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Secure" not in session
    assert not any(c.startswith("upwatch_remember=") for c in cookies)
    auth.logout()
    response = auth.login("ann", remember=True)
    remember = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("upwatch_remember=")
    )
    assert "HttpOnly" in remember and "SameSite=Lax" in remember and "Expires=" in remember


def test_remember_me_survives_the_end_of_the_browser_session(app, make_user) -> None:
    make_user(Role.ADMIN, "ann")
    client = app.test_client()
    AuthActions(app, client).login("ann", remember=True)
    client.delete_cookie("upwatch_session")
    assert _logged_in(client)
    plain = app.test_client()
    AuthActions(app, plain).login("ann")
    plain.delete_cookie("upwatch_session")
    assert not _logged_in(plain)


def test_secure_cookies_when_configured(tmp_path, make_user) -> None:
    app = create_app(
        {
            **base_config(f"sqlite:///{tmp_path / 's.db'}", tmp_path),
            "SESSION_COOKIE_SECURE": True,
            "REMEMBER_COOKIE_SECURE": True,
            "WTF_CSRF_ENABLED": False,  # the test client sends no Secure cookie back
        }
    )
    with app.app_context():
        create_all(app)
    try:
        from tests.admin_app.conftest import create_test_user

        create_test_user(app, Role.ADMIN, "ann")
        response = app.test_client().post(
            "/login",
            data={"username": "ann", "password": password_for("ann"), "remember": "on"},
            base_url="https://localhost",
        )
        assert response.status_code == 302
        cookies = response.headers.getlist("Set-Cookie")
        assert all(
            "Secure" in c for c in cookies if c.startswith(("upwatch_session", "upwatch_remember"))
        )
        assert "Strict-Transport-Security" in response.headers
    finally:
        get_database(app).dispose()


def test_session_protection_strong_drops_a_moved_session(auth, make_user) -> None:
    make_user(Role.ADMIN, "ann")
    auth.client.get("/login", headers={"User-Agent": "browser-a"})
    token = csrf_token(auth.client)
    auth.client.post(
        "/login",
        data={"username": "ann", "password": password_for("ann"), "csrf_token": token},
        headers={"User-Agent": "browser-a"},
    )
    assert auth.client.get("/account", headers={"User-Agent": "browser-a"}).status_code == 200
    assert auth.client.get("/account", headers={"User-Agent": "stolen-cookie"}).status_code == 302


def test_rate_limit_after_repeated_failures(app, auth, make_user) -> None:
    make_user(Role.ADMIN, "ann")
    for _ in range(app.config["LOGIN_RATE_LIMIT"]):
        assert auth.login("ann", "wrong password").status_code == 200
    response = auth.login("ann")  # even the right password, while limited
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.get_data(as_text=True)
    assert not _logged_in(auth.client)
    # the API token endpoint shares the limit
    api = auth.client.post(
        "/api/v1/auth/token", json={"username": "ann", "password": password_for("ann")}
    )
    assert api.status_code == 429
    assert api.json["error"]["code"] == "too_many_attempts"
    assert int(api.headers["Retry-After"]) > 0
    # another user from the same address is not locked out by ann's failures
    make_user(Role.DEVELOPER, "dev")
    assert auth.login("dev").status_code == 302


def test_rate_limit_window_passes(app, auth, make_user) -> None:
    make_user(Role.ADMIN, "ann")
    with app.app_context():
        limiter = get_limiter()
    now = [1000.0]
    limiter.clock = lambda: now[0]
    for _ in range(app.config["LOGIN_RATE_LIMIT"]):
        auth.login("ann", "wrong password")
    assert auth.login("ann").status_code == 429
    now[0] += app.config["LOGIN_RATE_WINDOW"] + 1
    assert auth.login("ann").status_code == 302


def test_password_change_ends_other_sessions(app, auth, make_user) -> None:
    make_user(Role.IT_STAFF, "ann")
    other = app.test_client()
    AuthActions(app, other).login("ann")
    auth.login("ann")
    response = auth.form_post(
        "/account",
        {
            "current_password": password_for("ann"),
            "new_password": "a brand new password",
            "confirm_password": "a brand new password",
        },
    )
    assert response.status_code == 302
    assert not _logged_in(other)
    assert not _logged_in(auth.client)
    assert auth.login("ann", "a brand new password").status_code == 302


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"current_password": "nope"}, "is not your current password"),
        ({"confirm_password": "different password"}, "does not match"),
        ({"new_password": "short", "confirm_password": "short"}, "at least 8 characters"),
    ],
)
def test_password_change_bad_input(auth, make_user, fields, error) -> None:
    make_user(Role.FLEXIPAY_SUPPORT, "ann")
    auth.login("ann")
    data = {
        "current_password": password_for("ann"),
        "new_password": "a brand new password",
        "confirm_password": "a brand new password",
        **fields,
    }
    response = auth.form_post("/account", data)
    assert response.status_code == 422
    assert error in response.get_data(as_text=True)
    assert _logged_in(auth.client)  # nothing changed


def test_disabling_a_user_ends_their_session(app, auth, make_user) -> None:
    victim = make_user(Role.CUSTOMER_ENGAGEMENT, "cust")
    victim_client = app.test_client()
    AuthActions(app, victim_client).login("cust", remember=True)
    assert _logged_in(victim_client)
    auth.login_as(Role.ADMIN, "boss")
    response = auth.form_post(
        f"/admin/users/{victim.id}/edit", {"username": "cust", "role": "customer_engagement"}
    )
    assert response.status_code == 302
    assert not _logged_in(victim_client)


def test_nav_shows_only_what_the_role_allows(auth) -> None:
    auth.login_as(Role.CUSTOMER_ENGAGEMENT)
    page = auth.client.get("/", follow_redirects=True).get_data(as_text=True)
    for hidden in ("/admin/users", "/admin/settings", 'href="/admin"'):
        assert hidden not in page
    auth.logout()
    auth.login_as(Role.IT_STAFF)
    page = auth.client.get("/", follow_redirects=True).get_data(as_text=True)
    for shown in ("/admin/users", "/admin/settings", 'href="/admin"'):
        assert shown in page
