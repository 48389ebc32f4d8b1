"""Reloading the site list: POST /-/reload, SIGHUP and a change on disk. A bad file
keeps the running list; a reload keeps the state of sites that stayed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import yaml

from tests.exporter.harness import (
    closed_port,
    running_exporter,
    sample,
    tcp_listener,
    wait_for,
)


def write(path, sites, defaults=None):
    data = {"defaults": defaults or {"interval": "1s", "timeout": "500ms", "confirmations": 1}}
    data["sites"] = sites
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(data))
    os.replace(tmp, path)  # as the admin app writes it: atomically


async def test_reload_good_file_adds_changes_and_removes_sites(tmp_path):
    path = tmp_path / "sites.yml"
    down = closed_port()
    async with tcp_listener() as up:
        write(
            path,
            [
                {"id": "up", "url": f"tcp://127.0.0.1:{up}"},
                {"id": "gone", "url": "tcp://127.0.0.1:1"},
            ],
        )
        async with running_exporter(path, watch_interval=3600) as (exp, client):
            await wait_for(lambda: exp.states["up"].up is True, what="site up")
            write(path, [
                {"id": "up", "url": f"tcp://127.0.0.1:{up}", "name": "Renamed"},
                {"id": "new", "url": f"tcp://127.0.0.1:{down}"},
            ])  # fmt: skip
            r = await client.post("/-/reload")
            assert r.status_code == 200 and r.json() == {"status": "success", "sites": 2}
            assert set(exp.sites) == {"up", "new"}
            text = (await client.get("/metrics")).text
            assert 'upwatch_site_info{site="up",name="Renamed"' in text
            assert 'site="gone"' not in text
            assert sample(text, "upwatch_exporter_config_last_reload_successful") == 1
            assert sample(text, "upwatch_exporter_sites") == 2
            await wait_for(lambda: exp.states["new"].up is False, what="new site probed down")


async def test_bad_file_keeps_the_running_list_and_reports_the_failure(tmp_path):
    path = tmp_path / "sites.yml"
    async with tcp_listener() as up:
        write(path, [{"id": "up", "url": f"tcp://127.0.0.1:{up}"}])
        async with running_exporter(path, watch_interval=3600) as (exp, client):
            await wait_for(lambda: exp.states["up"].probes >= 1, what="first probe")
            path.write_text("sites:\n  - id: up\n    url: ftp://nope\n  - id: other\n")
            r = await client.post("/-/reload")
            assert r.status_code == 500
            body = r.json()
            assert body["error"]["code"] == "invalid_config"
            assert (
                "sites[0] (up).url: 'ftp://nope': the scheme must be http, https or tcp"
                in body["errors"]
            )
            assert "sites[1] (other).url: is required" in body["errors"]
            text = (await client.get("/metrics")).text
            assert sample(text, "upwatch_exporter_config_last_reload_successful") == 0
            assert 'upwatch_site_info{site="up"' in text  # the old list still runs
            probes = exp.states["up"].probes
            await wait_for(lambda: exp.states["up"].probes > probes, what="probing goes on")
            health = (await client.get("/healthz")).json()
            assert health["last_reload_successful"] is False and health["last_reload_errors"]
            # fixing the file makes the gauge 1 again
            write(path, [{"id": "up", "url": f"tcp://127.0.0.1:{up}"}])
            assert (await client.post("/-/reload")).status_code == 200
            text = (await client.get("/metrics")).text
            assert sample(text, "upwatch_exporter_config_last_reload_successful") == 1


async def test_a_reload_keeps_a_down_site_down_no_false_recovery(tmp_path):
    path = tmp_path / "sites.yml"
    port = closed_port()
    write(path, [{"id": "dead", "url": f"tcp://127.0.0.1:{port}", "name": "Dead"}])
    async with running_exporter(path, watch_interval=3600) as (exp, client):
        await wait_for(lambda: exp.states["dead"].up is False, what="site down")
        since = exp.states["dead"].last_change
        state = exp.states["dead"]
        # a change to the site (its name, its interval) and an unrelated new site
        write(path, [
            {"id": "dead", "url": f"tcp://127.0.0.1:{port}", "name": "Still dead", "interval": "2s"},
            {"id": "other", "url": "tcp://127.0.0.1:1"},
        ])  # fmt: skip
        assert (await client.post("/-/reload")).status_code == 200
        assert exp.states["dead"] is state
        assert state.up is False and state.last_change == since
        text = (await client.get("/metrics")).text
        assert sample(text, "upwatch_site_up", site="dead") == 0
        assert sample(text, "upwatch_site_state_change_timestamp_seconds", site="dead") == round(
            since, 3
        )


async def test_a_change_on_disk_is_picked_up_without_a_request(tmp_path):
    path = tmp_path / "sites.yml"
    write(path, [{"id": "a", "url": "tcp://127.0.0.1:1"}])
    async with running_exporter(path, watch_interval=0.05) as (exp, _client):
        write(
            path, [{"id": "a", "url": "tcp://127.0.0.1:1"}, {"id": "b", "url": "tcp://127.0.0.1:1"}]
        )
        await wait_for(lambda: set(exp.sites) == {"a", "b"}, what="file reload")
        assert exp.metrics.reload_ok._value.get() == 1
        # a bad file on disk: kept running, gauge 0, and not retried over and over
        path.write_text("sites: [{id: a}]\n")
        await wait_for(lambda: exp.metrics.reload_ok._value.get() == 0, what="failed reload")
        assert set(exp.sites) == {"a", "b"}


def test_sighup_reloads_the_cli_exporter(tmp_path):
    path = tmp_path / "sites.yml"
    write(path, [{"id": "a", "url": "tcp://127.0.0.1:1"}])
    port_file_probe = closed_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "exporter", "--config", str(path), "--listen",
         f"127.0.0.1:{port_file_probe}", "--watch-interval", "3600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port_file_probe}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
        write(
            path, [{"id": "a", "url": "tcp://127.0.0.1:1"}, {"id": "b", "url": "tcp://127.0.0.1:1"}]
        )
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while httpx.get(f"{base}/healthz").json()["sites"] != 2:
            assert time.monotonic() < deadline, "SIGHUP did not reload"
            time.sleep(0.05)
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "event=config_reloaded trigger=sighup" in err
