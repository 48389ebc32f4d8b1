"""Config regeneration after changes to sites, contacts and groups: many quick edits
through the API cause one regeneration, the generated site list holds what was
entered (and the exporter accepts it), and the sites page tells whether the last
change was applied, failed validation (and why) or waits for a reload."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from admin_app.configgen import apply
from admin_app.models import Site
from admin_app.roles import Role
from admin_app.sites.config_status import summarize
from exporter.config import load_file
from tests.admin_app.configgen_fixtures import ReloadServer
from tests.admin_app.sites_fixtures import CONTACT, SITE, page_text


@pytest.fixture
def applier(app: Flask) -> Iterator[apply.ConfigApplier]:
    """The app's applier, regenerating after every change as in production, with a
    quiet period long enough that a test's quick edits always fall inside it."""
    app.config.update(
        CONFIGGEN_AUTO_APPLY=True,
        CONFIGGEN_QUIET_PERIOD=3.0,
        CONFIGGEN_MAX_DELAY=120.0,
        CONFIGGEN_RETRY_INITIAL=60.0,
        ALERTMANAGER_URL="",
    )
    old = app.extensions.pop(apply.EXTENSION_KEY, None)
    if old is not None:
        old.close()
    instance = apply.init_app(app)
    try:
        yield instance
    finally:
        from admin_app.changes import config_changed

        for receiver in list(config_changed.receivers_for(app)):
            config_changed.disconnect(receiver, sender=app)
        instance.close()


def test_quick_edits_cause_one_regeneration(app, api, applier, tmp_path) -> None:
    with ReloadServer() as exporter:
        app.config["EXPORTER_URL"] = exporter.url
        applier.settings = apply.settings_from_config(app.config)
        admin = api.as_role(Role.ADMIN, "boss")
        ada = admin.post("/api/v1/contacts", CONTACT).json
        group = admin.post(
            "/api/v1/contact-groups", {"name": 'On call: "night"', "members": [ada["id"]]}
        ).json
        admin.post(
            "/api/v1/sites", {**SITE, "name": 'Shop: "EU" ☕ # main', "contacts": [ada["id"]]}
        )
        admin.post(
            "/api/v1/sites",
            {"id": "db", "url": "tcp://db.internal:5432", "contact_groups": [group["id"]]},
        )
        admin.patch("/api/v1/sites/db", {"maintenance": True})
        admin.post("/api/v1/sites", {"id": "old", "url": "https://old.example"})
        admin.patch("/api/v1/sites/old", {"paused": True})
        assert applier.flush(timeout=60)
        status = applier.status()
        assert status.regenerations == 1, status.to_dict()
        assert status.last_result.ok, status.last_result.errors
        assert exporter.reloads == 1

    generated = load_file(tmp_path / "sites.yml")  # what the exporter itself reads
    sites = generated.by_id()
    assert sorted(sites) == ["db", "shop"]  # the paused site is left out
    assert sites["shop"].name == 'Shop: "EU" ☕ # main' and sites["shop"].interval == 15.0
    assert sites["shop"].headers == (("Authorization", "Bearer abc"),)
    assert sites["db"].maintenance is True
    alertmanager = (tmp_path / "alertmanager.yml").read_text(encoding="utf-8")
    assert 'site="shop"' in alertmanager and 'site="db"' in alertmanager
    assert 'site="old"' not in alertmanager


def test_sites_page_shows_the_last_application(app, api, auth, applier, db, tmp_path) -> None:
    auth.login_as(Role.ADMIN, "boss-browser")
    admin = api.as_role(Role.ADMIN, "boss")
    page = page_text(auth.client.get("/sites"))
    assert "No configuration has been generated yet." in page

    with ReloadServer(status=503, body='{"error": "reloading is broken"}') as exporter:
        app.config["EXPORTER_URL"] = exporter.url
        applier.settings = apply.settings_from_config(app.config)

        # Reload pending: the exporter refuses to reload.
        admin.post("/api/v1/sites", SITE)
        assert applier.flush(timeout=60)
        page = page_text(auth.client.get("/sites"))
        assert "Reload pending:" in page and "a reload is pending" in page
        assert exporter.url in page and "HTTP 503" in page

        # Validation failed: a row the validator would never let in, written directly.
        db.add(Site(slug="Bad Slug!", url="https://bad.example"))
        db.commit()
        before = (tmp_path / "sites.yml").read_text(encoding="utf-8")
        admin.patch("/api/v1/sites/shop", {"name": "Renamed"})
        assert applier.flush(timeout=60)
        page = page_text(auth.client.get("/sites"))
        assert "Configuration not applied:" in page and "failed validation" in page
        assert "Bad Slug!" in page  # the exporter's own message names the site
        assert (tmp_path / "sites.yml").read_text(encoding="utf-8") == before

        # Applied.
        db.delete(db.query(Site).filter_by(slug="Bad Slug!").one())
        db.commit()
        exporter.status = 200
        admin.patch("/api/v1/sites/shop", {"name": "Renamed again"})
        assert applier.flush(timeout=60)
        page = page_text(auth.client.get("/sites"))
        assert "Configuration applied:" in page, page


def test_a_refused_change_regenerates_nothing(app, api, applier) -> None:
    admin = api.as_role(Role.ADMIN, "boss")
    assert admin.post("/api/v1/sites", {**SITE, "timeout": "x"}).status_code == 422
    assert admin.post("/api/v1/contacts", {"name": ""}).status_code == 422
    assert applier.status().regeneration_requested is False
    assert applier.status().regenerations == 0


@pytest.mark.parametrize(
    ("raw", "state", "text"),
    [
        (None, "unknown", "No configuration has been generated yet."),
        (
            {"last_result": None, "regeneration_requested": True},
            "regenerating",
            "being regenerated",
        ),
        (
            {"last_result": {"ok": False, "errors": ["sites.yml: boom"], "at": "t"}},
            "failed",
            "failed validation",
        ),
        (
            {
                "last_result": {"ok": True, "at": "t"},
                "pending_reloads": [{"target": "exporter", "url": "u", "last_error": "down"}],
            },
            "reload_pending",
            "a reload is pending",
        ),
        ({"last_result": {"ok": True, "at": "t"}, "pending_reloads": []}, "applied", "applied"),
    ],
)
def test_status_summary(raw, state, text) -> None:
    status = summarize(raw)
    assert status.state == state and text in status.message
