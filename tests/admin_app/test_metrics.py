"""The admin app's ``GET /metrics``: public, Prometheus text format that promtool
accepts, the counters of the webhook and the SMS sends, the gauges read from the
database and config generation, and the multiprocess mode of gunicorn's workers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from tests.admin_app.conftest import BACKENDS
from tests.admin_app.payloads import alert, webhook
from tests.admin_app.test_hooks import TOKEN, World, fake, world  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parents[2]
NAMES = (
    "upwatch_admin_webhooks",
    "upwatch_admin_alerts",
    "upwatch_admin_notifications",
    "upwatch_admin_notifications_failed",
    "upwatch_admin_incidents_open",
    "upwatch_admin_notifications_pending",
    "upwatch_admin_config_reload_pending",
)


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return parse(response.get_data(as_text=True))


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_metrics_are_public_and_in_the_text_format(client: FlaskClient) -> None:
    response = client.get("/metrics")  # no session, no token
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f.type for f in text_string_to_metric_families(response.get_data(True))}
    assert {n: families.get(n) for n in NAMES} == {
        "upwatch_admin_webhooks": "counter",
        "upwatch_admin_alerts": "counter",
        "upwatch_admin_notifications": "counter",
        "upwatch_admin_notifications_failed": "counter",
        "upwatch_admin_incidents_open": "gauge",
        "upwatch_admin_notifications_pending": "gauge",
        "upwatch_admin_config_reload_pending": "gauge",
    }
    samples = scrape(client)
    # every result and provider is there from the start, at 0 or more
    for result in ("ok", "retry", "invalid", "unauthorized", "unconfigured", "error"):
        assert value(samples, "upwatch_admin_webhooks_total", result=result) is not None
    for provider in ("console", "twilio", "http"):
        for retryable in ("true", "false"):
            assert (
                value(
                    samples,
                    "upwatch_admin_notifications_failed_total",
                    channel="sms",
                    provider=provider,
                    retryable=retryable,
                )
                is not None
            )
    assert value(samples, "upwatch_admin_incidents_open") == 0
    assert value(samples, "upwatch_admin_config_reload_pending") == 0


def test_promtool_accepts_the_output(client: FlaskClient) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is required: run make test"
    text = client.get("/metrics").get_data(as_text=True)
    check = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_the_counts_follow_the_webhooks(world: World) -> None:  # noqa: F811
    client = world.client
    before = scrape(client)

    def delta(name: str, **labels: str) -> float:
        now = value(scrape(client), name, **labels) or 0.0
        return now - (value(before, name, **labels) or 0.0)

    world.fake.fail(500)  # one of the two SMS fails, retryably
    assert world.post(webhook(alert("firing"))).status_code == 503
    samples = scrape(client)
    assert value(samples, "upwatch_admin_incidents_open") == 1
    assert value(samples, "upwatch_admin_notifications_pending") == 1
    assert world.post(webhook(alert("firing"))).status_code == 200
    assert world.post(webhook(alert("firing")), token="wrong").status_code == 401
    assert value(scrape(client), "upwatch_admin_notifications_pending") == 0
    assert world.post(webhook(alert("resolved"))).status_code == 200

    samples = scrape(client)
    assert value(samples, "upwatch_admin_incidents_open") == 0
    assert delta("upwatch_admin_webhooks_total", result="ok") == 2
    assert delta("upwatch_admin_webhooks_total", result="retry") == 1
    assert delta("upwatch_admin_webhooks_total", result="unauthorized") == 1
    assert delta("upwatch_admin_alerts_total", alertname="SiteDown", status="firing") == 2
    assert delta("upwatch_admin_alerts_total", alertname="SiteDown", status="resolved") == 1
    # down: 2 tries + 1 retry; up: 2
    assert delta("upwatch_admin_notifications_total", channel="sms", provider="twilio") == 5
    assert (
        delta(
            "upwatch_admin_notifications_failed_total",
            channel="sms",
            provider="twilio",
            retryable="true",
        )
        == 1
    )


def test_config_reload_pending_comes_from_config_generation(client: FlaskClient, app) -> None:
    status = {"last_result": {"ok": True, "errors": []}, "reload_pending": True}
    path = Path(app.config["DATA_DIR"]) / "configgen-status.json"
    path.write_text(json.dumps(status))
    assert value(scrape(client), "upwatch_admin_config_reload_pending") == 1
    path.write_text(json.dumps({**status, "reload_pending": False}))
    assert value(scrape(client), "upwatch_admin_config_reload_pending") == 0


def test_other_alert_names_are_counted_as_other(world: World) -> None:  # noqa: F811
    before = value(
        scrape(world.client), "upwatch_admin_alerts_total", alertname="other", status="firing"
    )
    world.post(webhook(alert("firing", alertname="SomethingMadeUp", fingerprint="x1")))
    after = value(
        scrape(world.client), "upwatch_admin_alerts_total", alertname="other", status="firing"
    )
    assert after == (before or 0) + 1


def test_multiprocess_mode_sums_every_worker(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR (gunicorn's workers), a scrape answered by any
    process counts what every process did, exited ones included."""
    directory = tmp_path / "multiproc"
    directory.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("UPWATCH_")},
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "PYTHONPATH": str(REPO),
    }
    worker = textwrap.dedent(
        """
        from admin_app import metrics
        metrics.count_webhook("ok")
        metrics.count_notification("sms", "twilio", ok=False, retryable=True)
        """
    )
    for _ in range(2):  # two workers, both gone by the time of the scrape
        subprocess.run([sys.executable, "-c", worker], env=env, check=True, timeout=60)
    scraper = textwrap.dedent(
        f"""
        from admin_app import create_app
        from admin_app.db import create_all
        app = create_app({{"TESTING": True, "SECRET_KEY": "k", "DATA_DIR": {str(tmp_path)!r},
                          "DATABASE_URL": "sqlite:///{tmp_path / "mp.db"}"}})
        with app.app_context():
            create_all(app)
        print(app.test_client().get("/metrics").get_data(as_text=True))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", scraper],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    samples = parse(out)
    assert value(samples, "upwatch_admin_webhooks_total", result="ok") == 2
    assert (
        value(
            samples,
            "upwatch_admin_notifications_failed_total",
            channel="sms",
            provider="twilio",
            retryable="true",
        )
        == 2
    )
    assert (
        value(samples, "upwatch_admin_notifications_total", channel="sms", provider="twilio") == 2
    )
    assert value(samples, "upwatch_admin_incidents_open") == 0
