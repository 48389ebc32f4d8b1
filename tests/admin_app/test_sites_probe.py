"""The "test now" action: the site page's button and ``POST /api/v1/sites/<id>/probe`` ask the
exporter's ``GET /probe?site=ID`` and show its result, against a real tiny HTTP
server standing in for the exporter and against the real exporter. Whatever goes
wrong (exporter down, site not in its list yet, paused, nonsense answers) is a
clear 409/502/504 with a message, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import yaml

from admin_app.configgen.from_models import load_specs
from admin_app.configgen.sites_yml import build_sites_config
from admin_app.db import session_scope
from admin_app.roles import Role
from tests.admin_app.sites_fixtures import SITE, FakeExporter, TargetSite, page_text, probe_result
from tests.servers import exporter as real_exporter
from tests.servers import free_port

PROBE = "/api/v1/sites/shop/probe"


@pytest.fixture
def fake_exporter(app) -> Iterator[FakeExporter]:
    fake = FakeExporter()
    app.config["EXPORTER_URL"] = fake.url
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def admin(api):
    caller = api.as_role(Role.ADMIN, "boss")
    assert caller.post("/api/v1/sites", SITE).status_code == 201
    return caller


@pytest.fixture
def browser(auth, admin):
    auth.login_as(Role.DEVELOPER, "dev")
    return auth


def test_success(admin, browser, fake_exporter) -> None:
    fake_exporter.answers["shop"] = (200, probe_result("shop"))
    response = admin.post(PROBE)
    assert response.status_code == 200, response.json
    assert response.json == {**probe_result("shop"), "exporter": fake_exporter.url}
    assert fake_exporter.requests == ["/probe?site=shop"]

    page = browser.form_post("/sites/shop/probe", {})
    assert page.status_code == 200
    text = page_text(page)
    assert "Test result: UP" in text and "HTTP 200" in text and "123 ms" in text
    assert "TLS certificate expires 2030-01-01 00:00:00 UTC" in text
    assert f"probed by the exporter at {fake_exporter.url}" in text


def test_failure_is_a_result(admin, browser, fake_exporter) -> None:
    fake_exporter.answers["shop"] = (200, probe_result("shop", success=False))
    response = admin.post(PROBE)
    assert response.status_code == 200
    assert response.json["success"] is False and response.json["reason"] == "status"
    text = page_text(browser.form_post("/sites/shop/probe", {}))
    assert "Test result: DOWN" in text and "reason: status" in text
    assert "HTTP 503 is not one of 200-299" in text


def test_site_not_yet_in_the_exporters_list(admin, browser, fake_exporter) -> None:
    response = admin.post(PROBE)
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "not_in_site_list"
    assert "does not know the site 'shop' yet" in error["message"]
    assert "not been applied or reloaded yet" in error["message"]
    page = browser.form_post("/sites/shop/probe", {})
    assert page.status_code == 409
    assert "Could not test the site" in page_text(page) and error["message"] in page_text(page)


def test_paused_site(admin, fake_exporter) -> None:
    admin.patch("/api/v1/sites/shop", {"paused": True})
    response = admin.post(PROBE)
    assert response.status_code == 409
    assert (
        "is paused, so it is not in the exporter's site list" in response.json["error"]["message"]
    )


def test_exporter_down(admin, browser, app) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    app.config["EXPORTER_URL"] = down
    response = admin.post(PROBE)
    assert response.status_code == 502
    error = response.json["error"]
    assert error["code"] == "exporter_unreachable"
    assert f"cannot reach the exporter to test the site: {down}" in error["message"]
    assert "Is it running?" in error["message"]
    page = browser.form_post("/sites/shop/probe", {})
    assert page.status_code == 502
    assert "Traceback" not in page_text(page) and "cannot reach the exporter" in page_text(page)


def test_no_exporter_configured(admin, app) -> None:
    app.config["EXPORTER_URL"] = ""
    response = admin.post(PROBE)
    assert (
        response.status_code == 502 and response.json["error"]["code"] == "exporter_not_configured"
    )


def test_first_exporter_that_answers_is_used(admin, app, fake_exporter) -> None:
    fake_exporter.answers["shop"] = (200, probe_result("shop"))
    app.config["EXPORTER_URL"] = f"http://127.0.0.1:{free_port()}, {fake_exporter.url}"
    response = admin.post(PROBE)
    assert response.status_code == 200 and response.json["exporter"] == fake_exporter.url


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            500,
            {"error": {"code": "boom", "message": "probe crashed"}},
            "answered HTTP 500: probe crashed",
        ),
        (400, b"<html>bad</html>", "answered HTTP 400: <html>bad</html>"),
        (200, b"not json", "answered something that is not a probe result"),
        (200, {"site": "shop"}, "answered something that is not a probe result"),
    ],
)
def test_nonsense_from_the_exporter(admin, fake_exporter, status, body, message) -> None:
    fake_exporter.answers["shop"] = (status, body)
    response = admin.post(PROBE)
    assert response.status_code == 502
    assert response.json["error"]["code"] == "exporter_error"
    assert message in response.json["error"]["message"]


def test_exporter_too_slow(admin, app, fake_exporter) -> None:
    fake_exporter.answers["shop"] = (200, probe_result("shop"))
    fake_exporter.delay = 30  # released when the test ends
    app.config["EXPORTER_PROBE_TIMEOUT"] = 0.1  # the floor is the connect timeout
    response = admin.post(PROBE)
    assert response.status_code == 504
    assert "did not answer within" in response.json["error"]["message"]


def test_unknown_site_in_the_admin_app(admin, fake_exporter) -> None:
    response = admin.post("/api/v1/sites/nope/probe")
    assert response.status_code == 404 and fake_exporter.requests == []


def test_against_the_real_exporter(app, api, tmp_path) -> None:
    """The site list generated from the database, the real exporter on it, a real
    site on loopback: the probe runs; a site added later is reported as not yet
    reloaded, until the exporter reloads the regenerated list."""
    target = TargetSite(body=b"all OK")
    caller = api.as_role(Role.ADMIN, "boss")
    site = {
        "id": "local",
        "name": "Local",
        "url": target.url + "/health",
        "timeout": "2s",
        "expect": {"status": ["200"], "body_contains": "OK"},
    }
    assert caller.post("/api/v1/sites", site).status_code == 201

    def site_list() -> dict:
        with app.app_context(), session_scope(app) as session:
            sites, spec = load_specs(session, {}, app.config)
            return build_sites_config(sites, spec)

    exporter_dir = tmp_path / "exporter"
    exporter_dir.mkdir()
    try:
        with real_exporter(exporter_dir, site_list()) as url:
            app.config["EXPORTER_URL"] = url
            response = caller.post("/api/v1/sites/local/probe")
            assert response.status_code == 200, response.json
            result = response.json
            assert result["success"] is True and result["status_code"] == 200
            assert result["site"] == "local" and result["exporter"] == url

            target.status = 500
            failed = caller.post("/api/v1/sites/local/probe").json
            assert failed["success"] is False and failed["reason"] == "status"

            caller.post("/api/v1/sites", {**site, "id": "later"})
            pending = caller.post("/api/v1/sites/later/probe")
            assert (
                pending.status_code == 409
                and "not been applied" in pending.json["error"]["message"]
            )

            (exporter_dir / "sites.yml").write_text(yaml.safe_dump(site_list()))
            assert httpx.post(f"{url}/-/reload", timeout=10).status_code == 200
            assert caller.post("/api/v1/sites/later/probe").status_code == 200
    finally:
        target.close()
