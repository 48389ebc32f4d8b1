"""The exporter's HTTP endpoints as a client sees them."""

from __future__ import annotations

import shutil
import subprocess

import yaml

from tests.exporter.harness import closed_port, running_exporter, sample, tcp_listener, wait_for


def write(path, sites):
    path.write_text(
        yaml.safe_dump({"defaults": {"interval": "1s", "confirmations": 1}, "sites": sites})
    )


async def test_probe_now_returns_the_result_as_json_without_touching_state(tmp_path):
    path = tmp_path / "sites.yml"
    async with tcp_listener() as port:
        write(path, [{"id": "db", "url": f"tcp://127.0.0.1:{port}", "interval": "1h"}])
        async with running_exporter(path) as (exp, client):
            r = await client.get("/probe", params={"site": "db"})
            assert r.status_code == 200
            body = r.json()
            assert body["site"] == "db" and body["success"] is True and body["reason"] is None
            assert body["duration_seconds"] >= 0 and body["started_at"] > 0
            # the state machine did not see it (the scheduled probe is an hour away... or
            # ran once at start): probing on demand never counts as a scheduled probe
            assert exp.states["db"].probes <= 1


async def test_probe_now_reports_failures_and_bad_requests(tmp_path):
    path = tmp_path / "sites.yml"
    write(path, [{"id": "dead", "url": f"tcp://127.0.0.1:{closed_port()}"}])
    async with running_exporter(path) as (_exp, client):
        body = (await client.get("/probe?site=dead")).json()
        assert body["success"] is False and body["reason"] == "connect"
        assert body["message"] == "connection refused"
        r = await client.get("/probe?site=nope")
        assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_site"
        r = await client.get("/probe")
        assert r.status_code == 400 and "site" in r.json()["error"]["message"]
        r = await client.get("/-/reload")
        assert r.status_code == 405


async def test_healthz_and_index(tmp_path):
    path = tmp_path / "sites.yml"
    write(path, [{"id": "a", "url": "tcp://127.0.0.1:1"}])
    async with running_exporter(path) as (_exp, client):
        health = (await client.get("/healthz")).json()
        assert health["status"] == "ok" and health["sites"] == 1 and health["shard"] == "1/1"
        assert "/metrics" in (await client.get("/")).text


async def test_metrics_cover_the_contract_and_pass_promtool(tmp_path):
    path = tmp_path / "sites.yml"
    async with tcp_listener() as port:
        write(path, [
            {"id": "up", "url": f"tcp://127.0.0.1:{port}", "name": 'Quote " and \\ back'},
            {"id": "down", "url": f"tcp://127.0.0.1:{closed_port()}", "labels": {"team": "ops"}},
            {"id": "maint", "url": "tcp://127.0.0.1:1", "maintenance": True},
        ])  # fmt: skip
        async with running_exporter(path) as (exp, client):
            await wait_for(
                lambda: all(s.up is not None for s in exp.states.values()), what="states"
            )
            r = await client.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.text
    assert sample(text, "upwatch_site_up", site="up") == 1
    assert sample(text, "upwatch_site_up", site="down") == 0
    assert sample(text, "upwatch_site_maintenance", site="maint") == 1
    assert sample(text, "upwatch_probes_total", site="down", result="failure") >= 1
    assert sample(text, "upwatch_probe_failures_total", site="down", reason="connect") >= 1
    assert sample(text, "upwatch_site_failure_reason", site="down", reason="connect") == 1
    assert sample(text, "upwatch_probe_duration_seconds_count", site="up") >= 1
    assert sample(text, "upwatch_probe_duration_seconds_bucket", site="up", le="+Inf") >= 1
    assert sample(text, "upwatch_site_state_change_timestamp_seconds", site="down") > 0
    assert 'upwatch_site_info{site="up",name="Quote \\" and \\\\ back",url=' in text
    assert 'upwatch_site_info{site="down",name="down",url="tcp://' in text and 'team="ops"' in text
    for name in (
        "upwatch_exporter_config_last_reload_successful",
        "upwatch_exporter_config_last_reload_success_timestamp_seconds",
        "upwatch_exporter_sites",
        "upwatch_exporter_schedule_lag_seconds_count",
    ):
        assert sample(text, name) is not None, name
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is required: run make test"
    proc = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


async def test_location_labels_every_site_series_and_passes_promtool(tmp_path):
    """--location eu: every per-site series carries location="eu" (the rules count
    locations with it), upwatch_exporter_info names the shard and the location, and
    the output still passes promtool. Without it, no location label at all."""
    path = tmp_path / "sites.yml"
    write(path, [
        {"id": "down", "url": f"tcp://127.0.0.1:{closed_port()}", "labels": {"quorum": "all"}},
    ])  # fmt: skip
    async with running_exporter(path, location="eu", shard=(1, 1)) as (exp, client):
        await wait_for(lambda: exp.states["down"].up is not None, what="a verdict")
        text = (await client.get("/metrics")).text
        health = (await client.get("/healthz")).json()
    assert health["location"] == "eu"
    site_lines = [
        line for line in text.splitlines()
        if line.startswith("upwatch_") and not line.startswith("upwatch_exporter_")
    ]  # fmt: skip
    assert site_lines and all('site="down",location="eu"' in line for line in site_lines)
    assert sample(text, "upwatch_site_up", site="down", location="eu") == 0
    assert 'upwatch_site_info{site="down",location="eu",name="down",' in text
    assert 'quorum="all"' in text
    assert sample(text, "upwatch_exporter_info", location="eu", shard="1/1") == 1
    proc = subprocess.run(
        [shutil.which("promtool"), "check", "metrics"], input=text, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

    async with running_exporter(path) as (exp, client):
        await wait_for(lambda: exp.states["down"].up is not None, what="a verdict")
        text = (await client.get("/metrics")).text
    assert "location=" not in text
    assert 'upwatch_site_up{site="down"} 0' in text
    assert sample(text, "upwatch_exporter_info", shard="1/1") == 1
