"""Real servers for integration tests: free loopback ports, Prometheus, subprocesses
that are always stopped."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    assert path, f"{name} is not installed: run `make test`, which installs the Debian packages"
    return path


def wait_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"{proc.args[0]} exited with {proc.returncode}:\n{out}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer within {timeout}s")
        time.sleep(0.1)


@contextmanager
def process(args: list[str], log_path: Path, health_url: str | None = None):
    """Start a process, wait for its health URL, and always stop it."""
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        if health_url:
            try:
                wait_http(health_url, None, timeout=30)
            except AssertionError:
                proc.kill()
                raise AssertionError(f"{args[0]} did not start:\n{log_path.read_text()}") from None
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextmanager
def exporter(tmp: Path, sites: dict, *extra: str):
    """The upwatch-exporter CLI on a free port; yields its base URL."""
    path = tmp / "sites.yml"
    path.write_text(yaml.safe_dump(sites))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        sys.executable,
        "-m",
        "exporter",
        "--config",
        str(path),
        "--listen",
        f"127.0.0.1:{port}",
    ]
    with process([*args, *extra], tmp / f"exporter-{port}.log", f"{url}/healthz"):
        yield url


@contextmanager
def prometheus(tmp: Path, config: dict):
    """A real Prometheus on a free port with ``config``; yields its base URL."""
    port = free_port()
    data = tmp / f"prometheus-{port}"
    data.mkdir()
    cfg = data / "prometheus.yml"
    cfg.write_text(yaml.safe_dump(config))
    args = [
        binary("prometheus"),
        f"--config.file={cfg}",
        f"--storage.tsdb.path={data / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--log.level=warn",
    ]
    url = f"http://127.0.0.1:{port}"
    with process(args, data / "prometheus.log", f"{url}/-/ready"):
        yield url


@contextmanager
def prometheus_on_tsdb(tmp: Path, tsdb: Path, config: dict, *flags: str):
    """A real Prometheus serving an existing TSDB directory ``tsdb`` (blocks made by
    ``promtool tsdb create-blocks-from``), with no retention limit so that old
    blocks stay; yields its base URL. Leaving the context stops it: blocks added to
    the directory meanwhile are loaded by the next one started on it."""
    port = free_port()
    home = tmp / f"prometheus-{port}"
    home.mkdir()
    cfg = home / "prometheus.yml"
    cfg.write_text(yaml.safe_dump(config))
    args = [
        binary("prometheus"),
        f"--config.file={cfg}",
        f"--storage.tsdb.path={tsdb}",
        "--storage.tsdb.retention.time=100y",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
        *flags,
    ]
    url = f"http://127.0.0.1:{port}"
    with process(args, home / "prometheus.log", f"{url}/-/ready"):
        yield url


def query(prom_url: str, expr: str) -> list[dict]:
    r = httpx.get(f"{prom_url}/api/v1/query", params={"query": expr}, timeout=10)
    r.raise_for_status()
    return r.json()["data"]["result"]


def wait_query(prom_url: str, expr: str, predicate=bool, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        result = query(prom_url, expr)
        if predicate(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{expr!r} never satisfied the test; last result: {result}")
        time.sleep(0.25)


@contextmanager
def victoria_metrics(tmp: Path, *flags: str):
    """Debian's single-node VictoriaMetrics on a free port, with its own data
    directory; yields its base URL. It answers the Prometheus query API
    (``/api/v1/query``, ``/api/v1/query_range``), Prometheus ``remote_write``
    (``/api/v1/write``), InfluxDB line protocol (``/write``, ``/api/v2/write``) and
    imports (``/api/v1/import/prometheus``). ``-search.latencyOffset=0s`` makes
    freshly written samples queryable at once (the default hides the last 30 s)."""
    port = free_port()
    home = tmp / f"victoria-metrics-{port}"
    home.mkdir()
    args = [
        binary("victoria-metrics"),
        f"-httpListenAddr=127.0.0.1:{port}",
        f"-storageDataPath={home / 'data'}",
        "-retentionPeriod=100y",
        "-search.latencyOffset=0s",
        "-loggerLevel=WARN",
        *flags,
    ]
    url = f"http://127.0.0.1:{port}"
    with process(args, home / "victoria-metrics.log", f"{url}/health"):
        yield url
