"""The running exporter against a site that misbehaves on demand: the metric values
and failure reasons for each kind of failure, confirmations across consecutive
probes, and a flapping site."""

from __future__ import annotations

import shutil
import subprocess

import yaml

from tests.badsite import BadSite
from tests.exporter.harness import running_exporter, sample, wait_for


def write(path, sites, confirmations=1):
    data = {"defaults": {"interval": "1s", "timeout": "700ms", "confirmations": confirmations}}
    data["sites"] = sites
    path.write_text(yaml.safe_dump(data))


async def test_every_failure_kind_gives_its_reason_and_metrics(
    tmp_path, badsite: BadSite, badsite_tls: BadSite, badsite_tls_expired: BadSite, refused_port
):
    cases = {
        # id: (site fields, expected reason or None for up, expected status code)
        "ok": ({"url": badsite.url("/ok")}, None, 200),
        "unavailable": ({"url": badsite.url("/status/503")}, "status", 503),
        "slow": ({"url": badsite.url("/slow?seconds=3"), "timeout": "300ms"}, "timeout", 0),
        "refused": ({"url": f"http://127.0.0.1:{refused_port}/"}, "connect", 0),
        "reset": ({"url": badsite.url("/reset")}, "connect", 200),
        "keyword": (
            {"url": badsite.url("/nokeyword"), "expect": {"body_contains": "OK"}},
            "body_mismatch",
            200,
        ),
        "endless": (
            {"url": badsite.url("/endless"), "max_body_bytes": 65536},
            "body_too_large",
            200,
        ),
        "loop": ({"url": badsite.url("/redirect-loop")}, "status", 302),
        "dns": ({"url": "http://no-such-host.invalid/"}, "dns", 0),
        "selfsigned": ({"url": badsite_tls.url("/ok")}, "tls", 0),
        "selfsigned-noverify": ({"url": badsite_tls.url("/ok"), "tls_verify": False}, None, 200),
        "expired": ({"url": badsite_tls_expired.url("/ok")}, "tls", 0),
        "expired-noverify": (
            {"url": badsite_tls_expired.url("/ok"), "tls_verify": False},
            None,
            200,
        ),
    }
    path = tmp_path / "sites.yml"
    write(path, [{"id": k, **fields} for k, (fields, _r, _s) in cases.items()])
    async with running_exporter(path) as (exp, client):
        await wait_for(
            lambda: all(s.up is not None for s in exp.states.values()), 15, "every site decided"
        )
        text = (await client.get("/metrics")).text
    for site_id, (_fields, reason, status) in cases.items():
        up = 1 if reason is None else 0
        assert sample(text, "upwatch_site_up", site=site_id) == up, site_id
        assert sample(text, "upwatch_probe_success", site=site_id) == up, site_id
        assert sample(text, "upwatch_probe_http_status_code", site=site_id) == status, site_id
        if reason is not None:
            assert sample(text, "upwatch_site_failure_reason", site=site_id, reason=reason) == 1
            assert sample(text, "upwatch_probe_failures_total", site=site_id, reason=reason) >= 1
            assert sample(text, "upwatch_probes_total", site=site_id, result="failure") >= 1
    # the certificate's expiry, read even where verification is off, to the second
    expiry = sample(
        text, "upwatch_probe_tls_cert_expiry_timestamp_seconds", site="selfsigned-noverify"
    )
    assert expiry == badsite_tls.cert_not_valid_after
    expired = sample(
        text, "upwatch_probe_tls_cert_expiry_timestamp_seconds", site="expired-noverify"
    )
    assert expired == badsite_tls_expired.cert_not_valid_after
    # the slow site timed out at its own timeout, not the server's delay
    assert sample(text, "upwatch_probe_duration_seconds_bucket", site="slow", le="1.0") >= 1
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is required: run make test"
    proc = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


async def test_confirmations_and_flapping_through_the_scheduler(tmp_path, badsite: BadSite):
    """confirmations: 3. Two failed probes in a row, then a good one: never down.
    Three in a row: down, dated from the first failure; the next success: up."""
    path = tmp_path / "sites.yml"
    url = badsite.url("/switch/flappy")
    write(path, [{"id": "flappy", "url": url}], confirmations=3)
    badsite.set_switch("flappy", up=True)
    async with running_exporter(path) as (exp, client):
        state = exp.states["flappy"]
        await wait_for(lambda: state.up is True, what="first up")
        first_change = state.last_change
        for _ in range(3):  # flaps of two failures each
            seen = state.failures
            badsite.set_switch("flappy", up=False)
            await wait_for(lambda seen=seen: state.failures >= seen + 2, what="two failures")
            badsite.set_switch("flappy", up=True)
            ok = state.successes
            await wait_for(lambda ok=ok: state.successes > ok, what="a success")
            assert state.up is True and state.last_change == first_change
        text = (await client.get("/metrics")).text
        assert sample(text, "upwatch_site_up", site="flappy") == 1
        assert sample(text, "upwatch_probes_total", site="flappy", result="failure") >= 6
        # a real outage
        badsite.set_switch("flappy", up=False)
        await wait_for(lambda: state.up is False, what="down after three failures")
        assert state.consecutive_failures == 3
        went_down = state.last_change
        failed_at = [r.time for r in badsite.requests("/switch/flappy")][-3]
        assert abs(went_down - failed_at) < 0.5  # dated from the first failed probe
        text = (await client.get("/metrics")).text
        assert sample(text, "upwatch_site_up", site="flappy") == 0
        assert sample(text, "upwatch_site_failure_reason", site="flappy", reason="status") == 1
        badsite.set_switch("flappy", up=True)
        await wait_for(lambda: state.up is True, what="up again on the first success")
        assert state.last_change > went_down


async def test_a_slow_site_never_delays_the_others(tmp_path, badsite: BadSite):
    path = tmp_path / "sites.yml"
    write(path, [
        {"id": "slow", "url": badsite.url("/slow?seconds=5"), "timeout": "950ms"},
        {"id": "fast", "url": badsite.url("/ok")},
    ])  # fmt: skip
    async with running_exporter(path) as (exp, _client):
        await wait_for(lambda: exp.states["slow"].failures >= 3, 15, "three slow timeouts")
        # while the slow site hung for its whole timeout every second, the fast one
        # was probed on its own schedule and never failed
        assert exp.states["fast"].successes >= 3
        assert exp.states["fast"].failures == 0
        assert exp.states["slow"].failures_by_reason == {"timeout": exp.states["slow"].failures}
