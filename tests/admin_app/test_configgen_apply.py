"""Applying the configuration: validation before writing, atomic writes, reloads of a
stand-in exporter, a real exporter and a real Alertmanager, pending reloads retried,
and many quick requests coalesced into one regeneration."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from flask import Flask

from admin_app import changes
from admin_app.configgen import apply as apply_module
from admin_app.configgen.apply import (
    ApplySettings,
    ConfigApplier,
    apply_config,
    get_applier,
    read_status_file,
    regenerate,
    write_atomic,
)
from admin_app.configgen.specs import ContactSpec, GlobalSpec, SiteSpec, SmtpSpec
from admin_app.db import session_scope
from admin_app.models import Contact, ContactGroup, Site
from exporter.config import load_file
from tests.admin_app import configgen_fixtures
from tests.admin_app.configgen_fixtures import ReloadServer, RunningAlertmanager, wait_until
from tests.servers import exporter as run_exporter
from tests.servers import free_port

# Fixtures shared with the other configgen tests.
alertmanager = configgen_fixtures.alertmanager
configgen_app = configgen_fixtures.configgen_app

ALICE = ContactSpec("Alice", "alice@example.com", "+15551230001", True, True)
GLOBAL = GlobalSpec(
    admin_base_url="http://127.0.0.1:8000",
    webhook_token="tok",
    smtp=SmtpSpec("127.0.0.1:2525", "upwatch@example.com", require_tls=False),
)


def sites(*slugs: str, **kw: Any) -> list[SiteSpec]:
    return [
        SiteSpec(slug, f"https://{slug}.example.com", name=f"Site {slug}", contacts=(ALICE,), **kw)
        for slug in slugs
    ]


def settings_for(tmp_path: Path, **kw: Any) -> ApplySettings:
    values: dict[str, Any] = {
        "sites_file": tmp_path / "sites.yml",
        "alertmanager_file": tmp_path / "alertmanager.yml",
    }
    values.update(kw)
    return ApplySettings(**values)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


class Counter:
    """A loader that counts its calls."""

    def __init__(self, specs: list[SiteSpec]):
        self.specs = specs
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> tuple[list[SiteSpec], GlobalSpec]:
        with self._lock:
            self.calls += 1
        return self.specs, GLOBAL


@pytest.fixture
def applier_factory() -> Iterator[Any]:
    made: list[ConfigApplier] = []

    def make(load: Any, settings: ApplySettings, **kw: Any) -> ConfigApplier:
        kw.setdefault("retry_initial", 0.05)
        kw.setdefault("retry_max", 0.2)
        applier = ConfigApplier(load, settings, **kw)
        made.append(applier)
        return applier

    yield make
    for applier in made:
        applier.close()


# --------------------------------------------------------------------------- apply


def test_apply_writes_validated_files_and_reloads_both(tmp_path: Path) -> None:
    with ReloadServer() as exp, ReloadServer() as am:
        settings = settings_for(tmp_path, exporter_urls=(exp.url,), alertmanager_urls=(am.url,))
        result = apply_config(sites("shop", "blog"), GLOBAL, settings)
        assert result.ok, result.errors
        links = settings.alertmanager_file.parent / "upwatch-links.tmpl"
        assert result.written == tuple(
            str(p) for p in (settings.sites_file, links, settings.alertmanager_file)
        )
        assert [(r.target, r.ok) for r in result.reloads] == [
            ("exporter", True),
            ("alertmanager", True),
        ]
        assert (exp.reloads, am.reloads) == (1, 1)
    assert [s.id for s in load_file(settings.sites_file).sites] == ["blog", "shop"]
    am_config = yaml.safe_load(settings.alertmanager_file.read_text())
    assert {r["name"] for r in am_config["receivers"]} >= {"site-shop", "site-blog"}
    assert leftovers(tmp_path) == []
    assert "reloaded exporter" in str(result)


def test_an_unchanged_configuration_is_neither_rewritten_nor_reloaded(tmp_path: Path) -> None:
    with ReloadServer() as exp:
        settings = settings_for(tmp_path, exporter_urls=(exp.url,))
        assert apply_config(sites("shop"), GLOBAL, settings).ok
        before = settings.sites_file.stat().st_mtime_ns, settings.sites_file.stat().st_ino
        again = apply_config(sites("shop"), GLOBAL, settings)
        assert again.ok and again.written == () and again.reloads == ()
        assert (settings.sites_file.stat().st_mtime_ns, settings.sites_file.stat().st_ino) == before
        forced = apply_config(sites("shop"), GLOBAL, settings, force_reload=True)
        assert [r.ok for r in forced.reloads] == [True]
        assert exp.reloads == 2


def test_only_the_changed_file_is_reloaded(tmp_path: Path) -> None:
    with ReloadServer() as exp, ReloadServer() as am:
        settings = settings_for(tmp_path, exporter_urls=(exp.url,), alertmanager_urls=(am.url,))
        assert apply_config(sites("shop"), GLOBAL, settings).ok
        # A new contact changes the routing only; the site list stays the same.
        bob = ContactSpec("Bob", "bob@example.com")
        changed = [SiteSpec("shop", "https://shop.example.com", "Site shop", contacts=(ALICE, bob))]
        result = apply_config(changed, GLOBAL, settings)
        assert result.written == (str(settings.alertmanager_file),)
        assert [r.target for r in result.reloads] == ["alertmanager"]
        assert (exp.reloads, am.reloads) == (1, 2)


def _snapshot(*paths: Path) -> list[tuple[bytes, int, int]]:
    return [(p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns) for p in paths]


def test_an_invalid_site_list_leaves_both_files_as_they_were(tmp_path: Path) -> None:
    with ReloadServer() as exp, ReloadServer() as am:
        settings = settings_for(tmp_path, exporter_urls=(exp.url,), alertmanager_urls=(am.url,))
        assert apply_config(sites("shop"), GLOBAL, settings).ok
        before = _snapshot(settings.sites_file, settings.alertmanager_file)
        bad = [
            *sites("shop", "blog"),
            SiteSpec("evil", "https://evil.example", headers={"X-Bad": "a\nInjected: 1"}),
        ]
        result = apply_config(bad, GLOBAL, settings)
        assert not result.ok
        assert any("evil" in e and "line break" in e for e in result.errors), result.errors
        assert _snapshot(settings.sites_file, settings.alertmanager_file) == before
        assert result.reloads == () and (exp.reloads, am.reloads) == (1, 1)
        assert "NOT applied" in str(result)
    assert leftovers(tmp_path) == []


def test_an_invalid_alertmanager_config_leaves_both_files_as_they_were(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    assert apply_config(sites("shop"), GLOBAL, settings).ok
    before = _snapshot(settings.sites_file, settings.alertmanager_file)
    broken_base = tmp_path / "base.yml"
    broken_base.write_text("route:\n  receiver: upwatch-admin\n  group_wait: soon\n")
    result = apply_config(
        sites("shop", "blog"), GLOBAL, settings_for(tmp_path, base_config=broken_base)
    )
    assert not result.ok
    assert any(e.startswith("alertmanager.yml:") for e in result.errors), result.errors
    assert _snapshot(settings.sites_file, settings.alertmanager_file) == before


def test_invalid_durations_in_the_settings_are_refused(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    bad_global = GlobalSpec(default_interval_seconds=10, default_timeout_seconds=20)
    result = apply_config(sites("shop"), bad_global, settings)
    assert not result.ok and any("defaults.timeout" in e for e in result.errors)
    assert not settings.sites_file.exists() and not settings.alertmanager_file.exists()


def test_the_files_are_created_private_and_keep_a_mode_set_later(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "new" / "dir")
    assert apply_config(sites("shop"), GLOBAL, settings).ok
    assert settings.alertmanager_file.stat().st_mode & 0o777 == 0o640
    os.chmod(settings.alertmanager_file, 0o604)
    assert apply_config(sites("shop", "blog"), GLOBAL, settings).ok
    assert settings.alertmanager_file.stat().st_mode & 0o777 == 0o604


def test_a_reader_never_sees_a_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    contents = ["a" * 300_000 + "\n", "b" * 300_000 + "\n"]
    write_atomic(path, contents[0])
    stop = threading.Event()
    seen: set[str] = set()
    bad: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            text = path.read_text()
            if text in contents:
                seen.add(text[0])
            else:
                bad.append(len(text))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(60):
            assert write_atomic(path, contents[(i + 1) % 2])
    finally:
        stop.set()
        thread.join()
    assert bad == []
    assert leftovers(tmp_path) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.yml"
    write_atomic(path, "old\n")

    def boom(*_a: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(apply_module.os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(path, "new\n")
    assert path.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_a_write_error_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path)

    def boom(*_a: object) -> None:
        raise OSError(13, "Permission denied", str(settings.sites_file))

    monkeypatch.setattr(apply_module.os, "replace", boom)
    result = apply_config(sites("shop"), GLOBAL, settings)
    assert not result.ok and "Permission denied" in result.errors[0]


def test_without_amtool_the_file_is_written_with_a_warning(tmp_path: Path) -> None:
    result = apply_config(sites("shop"), GLOBAL, settings_for(tmp_path, amtool="no-such-amtool"))
    assert result.ok and any("amtool not found" in w for w in result.warnings)


# --------------------------------------------------------------------------- reloads


def test_a_reload_of_a_service_that_is_down_is_pending_then_retried(
    tmp_path: Path, applier_factory: Any
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    applier = applier_factory(Counter(sites("shop")), settings_for(tmp_path, exporter_urls=(url,)))
    result = applier.apply_now()
    assert result.ok and result.reload_pending
    assert settings_for(tmp_path).sites_file.exists()  # the new files stay
    pending = applier.status().pending_reloads
    assert [(p["target"], p["url"]) for p in pending] == [("exporter", url)]
    assert "cannot reach" in pending[0]["last_error"]
    assert applier.status().to_dict()["reload_pending"] is True

    with ReloadServer(port=port) as exp:
        assert applier.wait_for_reloads(timeout=30)
        assert exp.reloads >= 1
    status = applier.status()
    assert status.pending_reloads == () and status.last_error is None
    assert all(r.ok for r in status.last_result.reloads)


def test_a_refused_reload_is_retried_until_accepted(tmp_path: Path, applier_factory: Any) -> None:
    with ReloadServer(status=500, body='{"status": "error", "errors": ["nope"]}') as exp:
        applier = applier_factory(
            Counter(sites("shop")), settings_for(tmp_path, exporter_urls=(exp.url,))
        )
        result = applier.apply_now()
        assert result.reload_pending and "HTTP 500" in result.reloads[0].error
        assert wait_until(lambda: exp.reloads >= 3)  # retried with backoff
        assert applier.status().pending_reloads[0]["attempts"] >= 2
        exp.status = 200
        assert applier.wait_for_reloads(timeout=30)


def test_a_new_regeneration_also_retries_a_pending_reload(
    tmp_path: Path, applier_factory: Any
) -> None:
    with ReloadServer(status=503) as exp:
        loader = Counter(sites("shop"))
        applier = applier_factory(
            loader,
            settings_for(tmp_path, exporter_urls=(exp.url,)),
            retry_initial=3600,
            retry_max=3600,
        )
        assert applier.apply_now().reload_pending
        exp.status = 200
        result = applier.apply_now()  # nothing changed, but the reload is still owed
        assert result.written == () and [r.ok for r in result.reloads] == [True]
        assert applier.status().pending_reloads == ()


# --------------------------------------------------------------------------- debounce


def test_twenty_quick_requests_cause_one_regeneration(tmp_path: Path, applier_factory: Any) -> None:
    loader = Counter(sites("shop"))
    applier = applier_factory(loader, settings_for(tmp_path), quiet_period=0.3)
    for _ in range(20):
        applier.request("sites")
    assert applier.flush(timeout=30)
    assert loader.calls == 1
    assert applier.status().regenerations == 1
    assert settings_for(tmp_path).sites_file.exists()

    applier.request("contacts")
    assert applier.flush(timeout=30)
    assert loader.calls == 2


def test_requests_from_many_threads_are_coalesced(tmp_path: Path, applier_factory: Any) -> None:
    loader = Counter(sites("shop"))
    applier = applier_factory(loader, settings_for(tmp_path), quiet_period=0.3)
    threads = [threading.Thread(target=applier.request) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert applier.flush(timeout=30)
    assert loader.calls == 1


def test_apply_now_serves_a_waiting_request(tmp_path: Path, applier_factory: Any) -> None:
    loader = Counter(sites("shop"))
    applier = applier_factory(loader, settings_for(tmp_path), quiet_period=3600, max_delay=3600)
    applier.request()
    assert applier.status().regeneration_requested
    applier.apply_now()
    assert applier.flush(timeout=5)
    assert loader.calls == 1 and not applier.status().regeneration_requested


def test_a_stream_of_requests_cannot_hold_regeneration_back(
    tmp_path: Path, applier_factory: Any
) -> None:
    loader = Counter(sites("shop"))
    applier = applier_factory(loader, settings_for(tmp_path), quiet_period=3600, max_delay=0.2)
    applier.request()
    assert applier.flush(timeout=30)  # well before the (hour-long) quiet period
    assert loader.calls == 1


def test_a_failing_loader_is_reported_and_the_applier_keeps_working(
    tmp_path: Path, applier_factory: Any
) -> None:
    calls = {"n": 0}

    def load() -> tuple[list[SiteSpec], GlobalSpec]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database is locked")
        return sites("shop"), GLOBAL

    applier = applier_factory(load, settings_for(tmp_path), quiet_period=0.05)
    applier.request()
    assert applier.flush(timeout=30)
    assert "database is locked" in applier.status().last_error
    applier.request()
    assert applier.flush(timeout=30)
    assert applier.status().last_error is None and applier.status().last_applied_at


def test_the_status_is_written_for_other_processes(tmp_path: Path, applier_factory: Any) -> None:
    status_path = tmp_path / "status.json"
    applier = applier_factory(
        Counter(sites("shop")),
        settings_for(tmp_path, exporter_urls=(f"http://127.0.0.1:{free_port()}",)),
        status_path=status_path,
    )
    applier.apply_now()
    status = read_status_file(status_path)
    assert status is not None
    assert status["last_result"]["ok"] is True
    assert status["reload_pending"] is True
    assert "tok" not in status_path.read_text()  # no secrets in the status


# --------------------------------------------------------------------------- real services


@pytest.mark.integration
def test_a_real_alertmanager_loads_the_new_config(
    tmp_path: Path,
    alertmanager: RunningAlertmanager,
) -> None:
    assert "site-shop" not in alertmanager.config_text()
    settings = settings_for(
        tmp_path,
        alertmanager_file=alertmanager.config_file,
        alertmanager_urls=(alertmanager.url,),
    )
    result = apply_config(sites("shop", "blog", maintenance=False), GLOBAL, settings)
    assert result.ok, result.errors
    assert [(r.target, r.ok) for r in result.reloads if r.target == "alertmanager"] == [
        ("alertmanager", True)
    ]
    loaded = yaml.safe_load(alertmanager.config_text())
    names = {r["name"] for r in loaded["receivers"]}
    assert {"site-shop", "site-blog", "upwatch-admin"} <= names
    assert any(r.get("matchers") == ['site="shop"'] for r in loaded["route"]["routes"])


@pytest.mark.integration
def test_a_real_exporter_and_alertmanager_are_both_reloaded(
    tmp_path: Path,
    alertmanager: RunningAlertmanager,
) -> None:
    initial = {"sites": [{"id": "first", "url": "http://127.0.0.1:9/"}]}
    with run_exporter(tmp_path, initial) as exporter_url:
        settings = settings_for(
            tmp_path,
            sites_file=tmp_path / "sites.yml",  # the file the exporter runs with
            alertmanager_file=alertmanager.config_file,
            exporter_urls=(exporter_url,),
            alertmanager_urls=(alertmanager.url,),
        )
        specs = [SiteSpec(s, f"http://127.0.0.1:9/{s}", interval_seconds=30) for s in "abc"]
        result = apply_config(specs, GLOBAL, settings)
        assert result.ok and not result.reload_pending, str(result)
        health = httpx.get(f"{exporter_url}/healthz", timeout=10, trust_env=False).json()
        assert health["sites"] == 3 and health["last_reload_successful"] is True
        assert "site-c" in alertmanager.config_text()


# --------------------------------------------------------------------------- the app


def _add_shop(app: Flask) -> None:
    with session_scope(app) as session:
        alice = Contact(name="Alice", email="alice@example.com", wants_email=True)
        bob = Contact(name="Bob", email="bob@example.com", wants_email=True)
        group = ContactGroup(name="Ops", members=[bob])
        session.add(
            Site(
                slug="shop",
                name='Web "shop": #1',
                url="https://shop.example.com",
                contacts=[alice],
                contact_groups=[group],
            )
        )
        session.add(Site(slug="old", url="https://old.example.com", paused=True))


def test_regenerate_writes_the_apps_database_and_reloads(
    configgen_app: tuple[Flask, ReloadServer, ReloadServer],
) -> None:
    app, exp, am = configgen_app
    _add_shop(app)
    result = regenerate(app)
    assert result.ok, result.errors
    assert (exp.reloads, am.reloads) == (1, 1)
    site_list = load_file(app.config["SITES_FILE"])
    assert [(s.id, s.name) for s in site_list.sites] == [("shop", 'Web "shop": #1')]
    am_config = yaml.safe_load(Path(app.config["ALERTMANAGER_CONFIG"]).read_text())
    shop = next(r for r in am_config["receivers"] if r["name"] == "site-shop")
    assert [e["to"] for e in shop.get("email_configs", [])] == []  # no SMTP configured yet
    hook = shop["webhook_configs"][0]
    assert hook["http_config"]["authorization"]["credentials"] == "hook-token"
    assert any("SMTP is not configured" in w for w in result.warnings)


def test_a_change_signal_regenerates_after_the_quiet_period(
    configgen_app: tuple[Flask, ReloadServer, ReloadServer],
) -> None:
    app, exp, _am = configgen_app
    _add_shop(app)
    with app.app_context():
        for kind in ("sites", "contacts", "groups", "settings") * 5:
            changes.notify(kind)
    applier = get_applier(app)
    assert applier.flush(timeout=30)
    assert applier.status().regenerations == 1
    assert exp.reloads == 1
    assert [s.id for s in load_file(app.config["SITES_FILE"]).sites] == ["shop"]


def test_settings_from_the_app_config(tmp_path: Path) -> None:
    settings = apply_module.settings_from_config(
        {
            "DATA_DIR": str(tmp_path),
            "SITES_FILE": None,
            "EXPORTER_URL": "http://a:9115/, http://b:9115",
            "ALERTMANAGER_URL": "http://am:9093",
            "ALERTMANAGER_TEMPLATES": "/etc/alertmanager/templates/*.tmpl",
            "CONFIG_FILE_MODE": "0644",
        }
    )
    assert settings.sites_file == tmp_path / "sites.yml"
    assert settings.alertmanager_file == tmp_path / "alertmanager.yml"
    assert settings.exporter_urls == ("http://a:9115", "http://b:9115")
    assert settings.reload_targets() == [
        ("exporter", "http://a:9115"),
        ("exporter", "http://b:9115"),
        ("alertmanager", "http://am:9093"),
    ]
    assert settings.templates == ("/etc/alertmanager/templates/*.tmpl",)
    assert settings.file_mode == 0o644
    assert settings.base_config == apply_module.DEFAULT_BASE_CONFIG
