"""The raw-result sink (``--influx-url``): probe results written as InfluxDB line
protocol to a real VictoriaMetrics (its InfluxDB-compatible ``/api/v2/write``), and
what happens when the store is stuck, failing, refusing the token, or when the
exporter stops."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry

from exporter.probes import ProbeResult
from exporter.sinks.influx import (
    InfluxSettings,
    InfluxSink,
    classify,
    settings_from_args,
    static_tags,
    to_line,
)
from tests.badsite import BadSite
from tests.exporter.harness import sample
from tests.servers import exporter, query, victoria_metrics

TOKEN = "s3cr3t-influx-token-do-not-log"


# ---------------------------------------------------------------- helpers


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)


def vm_query(vm: str, expr: str) -> list[dict]:
    httpx.get(f"{vm}/internal/force_flush", timeout=10).raise_for_status()
    return query(vm, expr)


def vm_series(vm: str, expr: str) -> dict[str, dict]:
    """{site: {"labels": ..., "value": float}} of an instant query."""
    return {
        r["metric"]["site"]: {"labels": r["metric"], "value": float(r["value"][1])}
        for r in vm_query(vm, expr)
    }


def all_series(vm: str, name: str, n: int) -> dict[str, dict]:
    """``vm_series`` once ``n`` sites have a series (a write becomes searchable in
    VictoriaMetrics shortly after it was answered)."""
    deadline = time.monotonic() + 30
    while len(found := vm_series(vm, name)) < n:
        assert time.monotonic() < deadline, f"{name}: {n} sites never in VictoriaMetrics: {found}"
        time.sleep(0.1)
    return found


def metrics(url: str) -> str:
    return httpx.get(f"{url}/metrics", timeout=10).text


def sink_points(text: str, result: str) -> float:
    return sample(text, "upwatch_exporter_sink_points_total", sink="influx", result=result) or 0


def probes(text: str, site: str) -> float:
    return sample(text, "upwatch_probes_total", site=site, result="success") or 0


def requests_in(text: str, outcome: str) -> float:
    name = "upwatch_exporter_sink_write_requests_total"
    return sample(text, name, sink="influx", result=outcome) or 0


def queue_length(sink: InfluxSink) -> float | None:
    name = "upwatch_exporter_sink_queue_length"
    return sink.registry.get_sample_value(name, {"sink": "influx"})


def result(success: bool = True, **kw) -> ProbeResult:
    kw.setdefault("duration_seconds", 0.0125)
    kw.setdefault("started_at", time.time())
    if not success:
        kw.setdefault("reason", "status")
    return ProbeResult(success=success, **kw)


def counts(sink: InfluxSink) -> dict[str, int]:
    return sink.counts()


def requests_by(sink: InfluxSink, outcome: str) -> int:
    value = sink.registry.get_sample_value(
        "upwatch_exporter_sink_write_requests_total", {"sink": "influx", "result": outcome}
    )
    return int(value or 0)


def sites_file(sites: list[dict], interval: str = "1s") -> dict:
    return {
        "defaults": {"interval": interval, "timeout": "800ms", "confirmations": 1},
        "sites": sites,
    }


def exporter_log(tmp: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(tmp.glob("exporter-*.log")))


class FakeStore:
    """A misbehaving remote store on loopback: ``answer(n, request)`` decides the
    n-th write's reply as (status, body); ``forward_to`` passes the other writes on
    to a real store. Every request is recorded."""

    def __init__(self, answer: Callable[[int], tuple[int, bytes] | None], forward_to: str = ""):
        self.answer = answer
        self.forward_to = forward_to
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        store = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with store._lock:
                    n = len(store.requests)
                    store.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                reply = store.answer(n)
                if reply is None:  # pass it on to the real store
                    req = urllib.request.Request(
                        store.forward_to + self.path,
                        data=body,
                        method="POST",
                        headers={"Content-Type": self.headers.get("Content-Type", "")},
                    )
                    with urllib.request.urlopen(req, timeout=10) as r:
                        reply = (r.status, r.read())
                status, payload = reply
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeStore:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def lines(self) -> list[str]:
        with self._lock:
            return [ln for r in self.requests for ln in r["body"].decode().splitlines()]


@contextmanager
def running_sink(settings: InfluxSettings) -> Iterator[InfluxSink]:
    sink = InfluxSink(settings, CollectorRegistry())
    sink.start()
    try:
        yield sink
    finally:
        sink.close(timeout=5)


# ---------------------------------------------------------------- line protocol


def test_a_probe_result_becomes_one_line_with_tags_and_fields():
    up = to_line(
        "shop",
        "http",
        result(True, status_code=200, tls_expiry=1800000000.0, started_at=1795450000.1234),
        True,
        static_tags((("location", "eu west"),)),
    )
    assert up == (
        "upwatch_probe_result,location=eu\\ west,site=shop success=1i,up=1i,"
        "duration_seconds=0.012500,http_status_code=200i,"
        "tls_cert_expiry_timestamp_seconds=1800000000.000 1795450000123"
    )
    down = to_line("db", "tcp", result(False, reason="connect", started_at=1795450000.0), None)
    # the reason is a tag (failures only); no up while the state is unknown; a TCP
    # check has no status code
    assert down == (
        "upwatch_probe_result,reason=connect,site=db success=0i,duration_seconds=0.012500"
        " 1795450000000"
    )
    noanswer = to_line("api", "http", result(False, reason="timeout"), False)
    assert ",up=0i," in noanswer and "http_status_code=0i" in noanswer
    # tag values are escaped; an empty static tag is left out
    assert (
        to_line("a", "tcp", result(), True, static_tags((("x", "p,q=r\\"), ("y", "")))).split(" ")[
            0
        ]
        == "upwatch_probe_result,site=a,x=p\\,q\\=r\\\\"
    )


def test_errors_are_retryable_only_when_the_store_may_recover():
    from influxdb_client.rest import ApiException
    from urllib3.exceptions import NewConnectionError

    def api(status: int) -> ApiException:
        exc = ApiException(status=status, reason="nope")
        exc.message, exc.retry_after = "nope", "7" if status == 429 else None
        return exc

    assert classify(api(503))[:2] == (True, "HTTP 503: nope")
    assert classify(api(429)) == (True, "HTTP 429: nope", 7.0)
    assert classify(api(401))[0] is False
    assert classify(api(404))[0] is False
    assert classify(NewConnectionError(None, "refused"))[0] is True
    assert classify(ConnectionResetError("reset"))[0] is True
    assert classify(ValueError("a bug"))[0] is False


# ---------------------------------------------------------------- the real exporter


def test_the_exporter_writes_every_probe_to_victoria_metrics(
    tmp_path, badsite: BadSite, refused_port
):
    sites = sites_file(
        [
            {"id": "ok", "url": badsite.url("/ok")},
            {"id": "broken", "url": badsite.url("/status/503")},
            {"id": "refused", "url": f"http://127.0.0.1:{refused_port}/"},
            {"id": "tcp-refused", "url": f"tcp://127.0.0.1:{refused_port}"},
        ]
    )
    with (
        victoria_metrics(tmp_path) as vm,
        exporter(
            tmp_path,
            sites,
            "--location=eu",
            f"--influx-url={vm}",
            "--influx-flush-interval=0.2",
            "--influx-bucket=probes",
        ) as url,
    ):
        success = all_series(vm, "upwatch_probe_result_success", 4)
        up = all_series(vm, "upwatch_probe_result_up", 4)
        status = all_series(vm, "upwatch_probe_result_http_status_code", 3)
        duration = all_series(vm, "upwatch_probe_result_duration_seconds", 4)
        text = metrics(url)

    assert success["ok"]["value"] == 1 and up["ok"]["value"] == 1
    assert success["ok"]["labels"] == {
        "__name__": "upwatch_probe_result_success",
        "site": "ok",
        "location": "eu",  # from --location; the bucket adds no label in VM
    }
    assert status["ok"]["value"] == 200
    for site, reason in [("broken", "status"), ("refused", "connect"), ("tcp-refused", "connect")]:
        assert success[site]["value"] == 0, site
        assert up[site]["value"] == 0, site  # confirmations: 1
        assert success[site]["labels"]["reason"] == reason, site
    assert status["broken"]["value"] == 503
    assert status["refused"]["value"] == 0  # no answer at all
    assert "tcp-refused" not in status  # a TCP check has no status code
    assert all(d["value"] > 0 for d in duration.values())

    assert sink_points(text, "written") >= 4
    assert sink_points(text, "dropped_queue_full") == 0
    assert sink_points(text, "dropped_error") == 0
    assert sample(text, "upwatch_exporter_sink_queue_capacity", sink="influx") == 50000
    last = sample(text, "upwatch_exporter_sink_last_success_timestamp_seconds", sink="influx")
    assert last and last > 0
    assert sample(text, "upwatch_exporter_sink_write_duration_seconds_count", sink="influx") >= 1
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is required: run make test"
    proc = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "event=influx_sink_started" in exporter_log(tmp_path)


def test_a_stuck_store_drops_and_counts_points_while_probing_goes_on(
    tmp_path, badsite: BadSite, silent_port
):
    """The store accepts the connection and never answers: the writer is stuck on
    its first request for the whole test. The queue (3 points) fills, further
    points are dropped and counted, and every site keeps being probed."""
    sites = sites_file([{"id": f"s{i}", "url": badsite.url(f"/ok?s={i}")} for i in range(3)])
    with exporter(
        tmp_path,
        sites,
        f"--influx-url=http://127.0.0.1:{silent_port}",
        "--influx-queue-size=3",
        "--influx-batch-size=1",
        "--influx-flush-interval=0.05",
        "--influx-timeout=60",
    ) as url:
        wait_until(
            lambda: sink_points(metrics(url), "dropped_queue_full") >= 6,
            what="points dropped because the queue is full",
        )
        first = metrics(url)
        probed = [probes(first, f"s{i}") for i in range(3)]
        # probing goes on: every site gets probed several more times
        wait_until(
            lambda: all(
                sample(metrics(url), "upwatch_probes_total", site=f"s{i}", result="success")
                >= probed[i] + 3
                for i in range(3)
            ),
            what="three more probes of every site",
        )
        text = metrics(url)
    assert sample(text, "upwatch_exporter_sink_queue_length", sink="influx") == 3
    assert sink_points(text, "written") == 0
    dropped = sink_points(text, "dropped_queue_full")
    total = sum(
        sample(text, "upwatch_probes_total", site=f"s{i}", result="success") for i in range(3)
    )
    assert dropped > sink_points(first, "dropped_queue_full")  # it keeps rising
    # every probe was either queued, taken by the stuck writer (1), or dropped
    assert dropped == total - 3 - 1
    log = exporter_log(tmp_path)
    assert log.count("event=influx_sink_queue_full") == 1  # throttled to one a minute
    assert "event=influx_sink_close_timeout" in log  # exit did not wait for the store


def test_a_bad_token_drops_batches_with_one_clear_log_line_and_no_retries(
    tmp_path, badsite: BadSite, monkeypatch
):
    body = json.dumps({"code": "unauthorized", "message": "unauthorized access"}).encode()
    with FakeStore(lambda _n: (401, body)) as store:
        monkeypatch.setenv("UPWATCH_INFLUX_TOKEN", TOKEN)
        sites = sites_file([{"id": "ok", "url": badsite.url("/ok")}])
        with exporter(
            tmp_path, sites, f"--influx-url={store.url}", "--influx-flush-interval=0.1"
        ) as url:
            wait_until(lambda: sink_points(metrics(url), "dropped_error") >= 3, what="drops")
            text = metrics(url)
            sent = store.count()
        refused = requests_in(text, "permanent_error")
    # one request per batch, none retried: no batch (no point) was sent twice
    assert refused >= 3 and sent >= refused
    assert len(set(store.lines())) == len(store.lines())
    assert sink_points(text, "written") == 0
    assert requests_in(text, "transient_error") == 0
    first = store.requests[0]
    assert first["headers"]["Authorization"] == f"Token {TOKEN}"
    assert first["path"].startswith("/api/v2/write?")
    assert "org=upwatch" in first["path"] and "bucket=upwatch" in first["path"]
    log = exporter_log(tmp_path)
    failed = [ln for ln in log.splitlines() if "event=influx_write_failed" in ln]
    assert len(failed) == 1, log  # one line, then throttled
    assert "level=error" in failed[0]
    assert 'error="HTTP 401: unauthorized access"' in failed[0]
    assert 'dropped="permanent error"' in failed[0]
    assert "token=set" in log
    assert TOKEN not in log  # never logged


def test_the_exporter_flushes_queued_points_when_it_stops(tmp_path, badsite: BadSite):
    """Flush interval and batch size far beyond the test: the points reach the store
    only because the exporter sends what is queued when it stops."""
    sites = sites_file([{"id": "ok", "url": badsite.url("/ok")}])
    with victoria_metrics(tmp_path) as vm:
        with exporter(
            tmp_path,
            sites,
            f"--influx-url={vm}",
            "--influx-flush-interval=3600",
            "--influx-batch-size=100000",
        ) as url:
            wait_until(lambda: probes(metrics(url), "ok") >= 3, what="three probes")
            text = metrics(url)
            assert vm_query(vm, "upwatch_probe_result_success") == []  # nothing sent yet
            assert sample(text, "upwatch_exporter_sink_queue_length", sink="influx") >= 3
        probes_seen = sample(text, "upwatch_probes_total", site="ok", result="success")
        expr = "count_over_time(upwatch_probe_result_success[1h])"
        # (VictoriaMetrics makes a write searchable shortly after answering it)
        stored = wait_until(
            lambda: [r for r in vm_query(vm, expr) if float(r["value"][1]) >= probes_seen],
            what=f"{probes_seen} points in VictoriaMetrics",
        )
        assert len(stored) == 1
        assert float(stored[0]["value"][1]) <= badsite.count()  # no point made up
    assert "event=influx_sink_stopped" in exporter_log(tmp_path)


# ---------------------------------------------------------------- the sink alone


def test_5xx_is_retried_with_backoff_and_the_points_arrive(tmp_path):
    with (
        victoria_metrics(tmp_path) as vm,
        FakeStore(lambda n: (503, b'{"message":"busy"}') if n < 2 else None, vm) as store,
    ):
        settings = InfluxSettings(
            url=store.url, flush_interval=0.05, batch_size=10, retry_backoff=0.05
        )
        with running_sink(settings) as sink:
            for site in ("a", "b", "c"):
                sink.submit(site, "http", result(True, status_code=200), True)
            wait_until(lambda: counts(sink)["written"] == 3, what="the points written")
            assert requests_by(sink, "transient_error") == 2
            assert requests_by(sink, "success") == 1
        assert store.count() == 3  # two refusals, then the same batch again
        assert store.requests[0]["body"] == store.requests[2]["body"]
        wait_until(lambda: len(vm_series(vm, "upwatch_probe_result_success")) == 3, what="VM")
        assert sorted(vm_series(vm, "upwatch_probe_result_success")) == ["a", "b", "c"]
        assert counts(sink)["dropped_error"] == 0


def test_retries_are_bounded_then_the_batch_is_dropped():
    with FakeStore(lambda _n: (500, b'{"message":"broken"}')) as store:
        settings = InfluxSettings(url=store.url, flush_interval=0.05, retry_backoff=0.01)
        with running_sink(settings) as sink:
            sink.submit("a", "http", result(), True)
            wait_until(lambda: counts(sink)["dropped_error"] == 1, what="the point dropped")
        assert store.count() == 1 + settings.max_retries
        assert requests_by(sink, "transient_error") == 1 + settings.max_retries


def test_a_full_queue_drops_at_once_instead_of_blocking(silent_port):
    """The writer is stuck on a store that never answers; submitting goes on
    returning at once, keeps at most queue_size points and counts the rest."""
    settings = InfluxSettings(
        url=f"http://127.0.0.1:{silent_port}",
        queue_size=10,
        batch_size=5,
        flush_interval=0.01,
        timeout=60,
    )
    sink = InfluxSink(settings, CollectorRegistry())
    sink.start()
    try:
        sink.submit("first", "http", result(), True)
        wait_until(lambda: queue_length(sink) == 0, what="the writer stuck on its request")
        for i in range(1000):
            sink.submit(f"s{i}", "http", result(), True)
        assert queue_length(sink) == 10
        assert counts(sink)["dropped_queue_full"] == 990
        assert counts(sink)["written"] == 0
    finally:
        sink.close(timeout=0.2)  # bounded: the stuck request is abandoned
    assert counts(sink)["dropped_shutdown"] == 10


# ---------------------------------------------------------------- command line


@pytest.mark.parametrize(
    "args, message",
    [
        (["--influx-url=localhost:8086"], "expected an http:// or https:// URL"),
        (["--influx-url=http://user:pw@h:8086"], "credentials in the URL are not supported"),
        (["--influx-url=http://h:8086?db=x"], "without ?query"),
        (
            ["--influx-url=http://h", "--influx-batch-size=0"],
            "--influx-batch-size: must be between 1 and 100000, not 0",
        ),
        (
            ["--influx-url=http://h", "--influx-queue-size=lots"],
            "--influx-queue-size: expected a whole number, not 'lots'",
        ),
        (
            ["--influx-url=http://h", "--influx-flush-interval=-1"],
            "--influx-flush-interval: must be between",
        ),
        (["--influx-url=http://h", "--influx-timeout=0"], "--influx-timeout: must be between"),
        (["--influx-url=http://h", "--influx-org="], "--influx-org: '': must be a non-empty name"),
        (["--influx-bucket=b"], "--influx-bucket needs --influx-url"),
        (["--influx-url=http://h", f"--influx-token={TOKEN}"], "UPWATCH_INFLUX_TOKEN"),
    ],
)
def test_bad_sink_options_give_a_clear_error(tmp_path, args, message):
    path = tmp_path / "sites.yml"
    path.write_text(yaml.safe_dump(sites_file([{"id": "a", "url": "http://127.0.0.1:1/"}])))
    proc = subprocess.run(
        [sys.executable, "-m", "exporter", "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert TOKEN not in proc.stderr


def test_a_token_that_cannot_be_sent_is_refused_without_echoing_it():
    import argparse

    from exporter.sinks.influx import add_options

    parser = argparse.ArgumentParser()
    add_options(parser)
    args = parser.parse_args(["--influx-url=http://h"])
    with pytest.raises(ValueError, match=r"UPWATCH_INFLUX_TOKEN: .*HTTP header") as info:
        settings_from_args(args, {"UPWATCH_INFLUX_TOKEN": "tøken\n"})
    assert "tøken" not in str(info.value)
    settings = settings_from_args(args, {"UPWATCH_INFLUX_TOKEN": f" {TOKEN}\n"})
    assert settings.token == TOKEN and TOKEN not in repr(settings)
    assert settings_from_args(parser.parse_args([]), {}) is None
    assert re.search(r"\bupwatch\b", f"{settings.org} {settings.bucket}")


def test_the_sink_can_be_configured_from_the_environment_as_compose_does():
    """docker-compose.yml passes UPWATCH_INFLUX_URL/ORG/BUCKET, empty when off."""
    import argparse

    from exporter.sinks.influx import add_options

    def settings(env: dict[str, str], *argv: str):
        parser = argparse.ArgumentParser()
        add_options(parser, env)
        return settings_from_args(parser.parse_args(list(argv)), env)

    off = {"UPWATCH_INFLUX_URL": "", "UPWATCH_INFLUX_ORG": "", "UPWATCH_INFLUX_BUCKET": ""}
    assert settings(off) is None
    on = settings(
        {
            "UPWATCH_INFLUX_URL": "http://vm:8428",
            "UPWATCH_INFLUX_ORG": "ops",
            "UPWATCH_INFLUX_BUCKET": "probes",
        }
    )
    assert (on.url, on.org, on.bucket) == ("http://vm:8428", "ops", "probes")
    # the command line wins over the environment
    assert settings(
        {"UPWATCH_INFLUX_URL": "http://vm:8428"}, "--influx-url=http://other:8086"
    ).url == ("http://other:8086")
    with pytest.raises(SystemExit):
        settings({"UPWATCH_INFLUX_URL": "ftp://vm"})
