"""The raw-result sink: every completed probe becomes one InfluxDB line-protocol
point, written with influxdb-client to any store that speaks InfluxDB's v2 write
API (InfluxDB 2, or VictoriaMetrics' ``/api/v2/write``).

Probing never waits for the store. The probe path (``submit``, on the event loop)
appends the result to a bounded in-memory queue and returns; when the queue is full
the point is dropped and counted (``result="dropped_queue_full"``). One dedicated
writer thread takes the queue in batches (``batch_size`` points, or whatever is
there every ``flush_interval`` seconds), turns them into line protocol and sends
each batch with influxdb-client's SYNCHRONOUS write API.

Why a thread and not an asyncio task: influxdb-client's write is a blocking
urllib3 request (its async client would add a second HTTP stack to the exporter),
and a store that is slow or down must cost the event loop nothing: the thread
blocks, sleeps between retries and serialises the points without ever holding the
loop. Its own batching (rather than the client's reactivex ``batching`` mode) keeps
the retry policy, the drop accounting and the bounded shutdown in this file, where
the tests can see them.

Errors, as Alertmanager's notifiers treat them: a connection error, a timeout, a
5xx, 408 or 429 is retried up to ``max_retries`` times with exponential backoff
(honouring ``Retry-After``); any other 4xx (a bad token, an unknown bucket) is
permanent and the batch is dropped at once. Dropped batches count as
``result="dropped_error"``; log lines about them are throttled to one a minute per
kind of error, with the number held back.

On shutdown ``close(timeout)`` sends what is queued, and gives up (counting the rest
as ``result="dropped_shutdown"``) when ``timeout`` runs out.

The line protocol is built here (``to_line``), not with influxdb-client's ``Point``:
13 us a point through ``Point`` against 0.6 us here, on the 2-core build machine.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from exporter.logs import log

if TYPE_CHECKING:  # imported lazily: the CLI imports this module for its options
    from prometheus_client import CollectorRegistry

    from exporter.probes import ProbeResult

MEASUREMENT = "upwatch_probe_result"
TOKEN_ENV = "UPWATCH_INFLUX_TOKEN"
WRITE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
POINT_RESULTS = ("written", "dropped_queue_full", "dropped_error", "dropped_shutdown")
REQUEST_RESULTS = ("success", "transient_error", "permanent_error")
MAX_BACKOFF = 30.0
LOG_EVERY = 60.0  # seconds between two log lines about the same kind of trouble

LIMITS = {
    "batch_size": (1, 100_000),
    "queue_size": (1, 10_000_000),
    "flush_interval": (0.01, 3600.0),
    "timeout": (0.1, 600.0),
    "max_retries": (0, 100),
}
CLOSE_TIMEOUT = 5.0  # seconds the exporter gives the sink to send what is queued on exit


# ---------------------------------------------------------------- settings


def check_url(text: str) -> str:
    """The store's base URL (``http(s)://host[:port][/path]``), or ValueError."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{text!r}: expected an http:// or https:// URL, such as http://127.0.0.1:8086"
        )
    if parts.username or parts.password:
        raise ValueError("credentials in the URL are not supported: put the token in " + TOKEN_ENV)
    if parts.query or parts.fragment:
        raise ValueError(f"{text!r}: give the base URL only, without ?query or #fragment")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError(f"{text!r}: bad port number") from None
    return text.rstrip("/")


def check_number(name: str, value: float) -> None:
    lo, hi = LIMITS[name]
    if not lo <= value <= hi:
        raise ValueError(f"must be between {lo} and {hi}, not {value}")


@dataclass(frozen=True)
class InfluxSettings:
    url: str
    org: str = "upwatch"
    bucket: str = "upwatch"
    token: str = field(default="", repr=False)  # never shown, never logged
    batch_size: int = 1000
    flush_interval: float = 1.0
    queue_size: int = 50_000
    timeout: float = 10.0  # one write request
    max_retries: int = 3
    retry_backoff: float = 1.0  # first retry after this, doubling
    tags: tuple[tuple[str, str], ...] = ()  # on every point, e.g. (("location", "fra"),)

    def __post_init__(self) -> None:
        check_url(self.url)
        for name in LIMITS:
            check_number(name, getattr(self, name))
        if not self.org or not self.bucket:
            raise ValueError("org and bucket must not be empty")


# ---------------------------------------------------------------- command line

_FLAGS = {  # option -> InfluxSettings field
    "--influx-org": "org",
    "--influx-bucket": "bucket",
    "--influx-batch-size": "batch_size",
    "--influx-flush-interval": "flush_interval",
    "--influx-queue-size": "queue_size",
    "--influx-timeout": "timeout",
}


def _url_arg(text: str) -> str:
    try:
        return check_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _number_arg(name: str, kind: type) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            noun = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {noun}, not {text!r}") from None
        try:
            check_number(name, value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value

    return parse


def _name_arg(text: str) -> str:
    if not text.strip() or any(ord(c) < 32 for c in text):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a non-empty name")
    return text


def _refuse_token(_text: str) -> str:
    raise argparse.ArgumentTypeError(
        f"pass the token in the environment variable {TOKEN_ENV}, never on the command "
        "line (where every user of the machine can read it)"
    )


def add_options(parser: argparse.ArgumentParser, environ: Mapping[str, str] | None = None) -> None:
    """The sink's options, all off unless ``--influx-url`` is given. The URL, org and
    bucket can also come from ``UPWATCH_INFLUX_URL``, ``UPWATCH_INFLUX_ORG`` and
    ``UPWATCH_INFLUX_BUCKET`` (docker-compose.yml; empty means unset); an option
    given on the command line wins."""
    env = os.environ if environ is None else environ
    d = InfluxSettings.__dataclass_fields__
    g = parser.add_argument_group(
        "raw probe results to InfluxDB / VictoriaMetrics",
        f"Write every probe result as a point to an InfluxDB v2 write API. The token "
        f"(InfluxDB 2: one with write permission on the bucket) is read from ${TOKEN_ENV}.",
    )
    g.add_argument(
        "--influx-url", type=_url_arg, metavar="URL", default=env.get("UPWATCH_INFLUX_URL") or None,
        help="the store's base URL, e.g. http://127.0.0.1:8086 (InfluxDB 2) or "
        "http://127.0.0.1:8428 (VictoriaMetrics); enables the sink",
    )  # fmt: skip
    g.add_argument("--influx-org", type=_name_arg, metavar="ORG", default=env.get("UPWATCH_INFLUX_ORG") or None,
                   help=f"organization (default {d['org'].default}; VictoriaMetrics ignores it)")  # fmt: skip
    g.add_argument("--influx-bucket", type=_name_arg, metavar="BUCKET", default=env.get("UPWATCH_INFLUX_BUCKET") or None,
                   help=f"bucket (default {d['bucket'].default}; VictoriaMetrics ignores it)")  # fmt: skip
    g.add_argument("--influx-batch-size", type=_number_arg("batch_size", int), metavar="N",
                   help=f"most points per write request (default {d['batch_size'].default})")  # fmt: skip
    g.add_argument("--influx-flush-interval", type=_number_arg("flush_interval", float),
                   metavar="SECONDS",
                   help=f"longest a point waits for its batch (default {d['flush_interval'].default})")  # fmt: skip
    g.add_argument("--influx-queue-size", type=_number_arg("queue_size", int), metavar="N",
                   help="most points waiting to be written; more are dropped and counted "
                   f"(default {d['queue_size'].default})")  # fmt: skip
    g.add_argument("--influx-timeout", type=_number_arg("timeout", float), metavar="SECONDS",
                   help=f"timeout of one write request (default {d['timeout'].default})")  # fmt: skip
    g.add_argument("--influx-token", type=_refuse_token, help=argparse.SUPPRESS)


def settings_from_args(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> InfluxSettings | None:
    """The sink's settings from parsed options and the environment; None when the
    sink is off. ValueError with a message naming the option when they don't fit."""
    given = {flag: getattr(args, flag[2:].replace("-", "_")) for flag in _FLAGS}
    if args.influx_url is None:
        for flag, value in given.items():
            if value is not None:
                raise ValueError(f"{flag} needs --influx-url")
        return None
    token = environ.get(TOKEN_ENV, "").strip()
    if token and not (token.isascii() and token.isprintable()):
        raise ValueError(f"{TOKEN_ENV}: the token has characters an HTTP header cannot carry")
    kwargs = {_FLAGS[flag]: v for flag, v in given.items() if v is not None}
    location = getattr(args, "location", None)
    tags = (("location", location),) if location else ()
    return InfluxSettings(url=args.influx_url, token=token, tags=tags, **kwargs)


# ---------------------------------------------------------------- line protocol

_ESCAPE_TAG = str.maketrans(
    {"\\": "\\\\", ",": "\\,", " ": "\\ ", "=": "\\=", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
)


def escape_tag(text: str) -> str:
    """A tag key or value escaped for line protocol."""
    return text.translate(_ESCAPE_TAG)


def static_tags(tags: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Escaped (key, value) pairs; empty values are left out (line protocol has none)."""
    return tuple((escape_tag(k), escape_tag(v)) for k, v in tags if v)


def to_line(
    site_id: str,
    kind: str,
    result: ProbeResult,
    up: bool | None,
    tags: tuple[tuple[str, str], ...] = (),
) -> str:
    """One probe result as a line of line protocol (millisecond timestamps).

    Tags: ``site``, ``reason`` (failed probes only) and the static ``tags`` (already
    escaped, see ``static_tags``), sorted by key. Fields: ``success`` and ``up``
    (1/0 integers, so that a mean is an uptime ratio; ``up`` is the site's state
    after confirmations, left out while unknown), ``duration_seconds``,
    ``http_status_code`` (HTTP sites; 0 when no response arrived) and
    ``tls_cert_expiry_timestamp_seconds`` (when a certificate was seen)."""
    pairs = [*tags, ("site", escape_tag(site_id))]
    if not result.success and result.reason:
        pairs.append(("reason", escape_tag(result.reason)))
    pairs.sort()
    fields = f"success={1 if result.success else 0}i"
    if up is not None:
        fields += f",up={1 if up else 0}i"
    fields += f",duration_seconds={result.duration_seconds:.6f}"
    if kind == "http" or result.status_code is not None:
        fields += f",http_status_code={result.status_code or 0}i"
    if result.tls_expiry is not None:
        fields += f",tls_cert_expiry_timestamp_seconds={result.tls_expiry:.3f}"
    ts = round((result.started_at or time.time()) * 1000)
    head = ",".join(f"{k}={v}" for k, v in pairs)
    return f"{MEASUREMENT},{head} {fields} {ts}"


# ---------------------------------------------------------------- errors


def classify(exc: BaseException) -> tuple[bool, str, float | None]:
    """(retryable, a one-line description, Retry-After seconds or None) of an error
    raised by a write. 5xx, 408, 429 and connection errors are retryable."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status > 0:
        message = getattr(exc, "message", None) or getattr(exc, "reason", "") or ""
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        retry_after = None
        raw = getattr(exc, "retry_after", None)
        try:
            retry_after = float(raw) if raw is not None else None
        except (TypeError, ValueError):
            retry_after = None
        retryable = status >= 500 or status in (408, 429)
        return retryable, f"HTTP {status}: {' '.join(str(message).split())[:200]}", retry_after
    import urllib3

    text = " ".join(str(exc).split())[:200]
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return True, f"{type(exc).__name__}: {text}", None
    return False, f"{type(exc).__name__}: {text}", None


class _Throttle:
    """At most one log line per key every ``every`` seconds; counts what it held back."""

    def __init__(self, every: float = LOG_EVERY) -> None:
        self.every = every
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def allow(self, key: str) -> tuple[bool, int]:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            self._held[key] = self._held.get(key, 0) + 1
            return False, 0
        self._last[key] = now
        return True, self._held.pop(key, 0)


# ---------------------------------------------------------------- metrics


class SinkMetrics:
    """The sink's self-metrics, in the exporter's own registry, labelled ``sink``."""

    def __init__(self, registry: CollectorRegistry, sink: str, queue: deque, capacity: int):
        from prometheus_client import Counter, Gauge, Histogram

        self.points = Counter(
            "upwatch_exporter_sink_points",
            "Probe results handed to a raw-result sink, by what became of them.",
            ["sink", "result"],
            registry=registry,
        )
        self.requests = Counter(
            "upwatch_exporter_sink_write_requests",
            "Write requests a raw-result sink sent, by outcome.",
            ["sink", "result"],
            registry=registry,
        )
        self.duration = Histogram(
            "upwatch_exporter_sink_write_duration_seconds",
            "Time one write request (one batch) to the store took, failed ones included.",
            ["sink"],
            buckets=WRITE_BUCKETS,
            registry=registry,
        ).labels(sink)
        self.last_success = Gauge(
            "upwatch_exporter_sink_last_success_timestamp_seconds",
            "Unix time of the last successful write to the store.",
            ["sink"],
            registry=registry,
        ).labels(sink)
        length = Gauge(
            "upwatch_exporter_sink_queue_length",
            "Probe results waiting in a raw-result sink's queue.",
            ["sink"],
            registry=registry,
        )
        length.labels(sink).set_function(lambda: len(queue))
        Gauge(
            "upwatch_exporter_sink_queue_capacity",
            "Most probe results a raw-result sink's queue holds; more are dropped.",
            ["sink"],
            registry=registry,
        ).labels(sink).set(capacity)
        self.point = {r: self.points.labels(sink, r) for r in POINT_RESULTS}
        self.request = {r: self.requests.labels(sink, r) for r in REQUEST_RESULTS}


# ---------------------------------------------------------------- the sink

Item = tuple[str, str, "ProbeResult", "bool | None"]


class InfluxSink:
    name = "influx"

    def __init__(self, settings: InfluxSettings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self._tags = static_tags(settings.tags)
        self._queue: deque[Item] = deque()
        self._capacity = settings.queue_size
        self._batch_size = settings.batch_size
        if registry is None:
            from prometheus_client import CollectorRegistry

            registry = CollectorRegistry()
        self.registry = registry
        self.metrics = SinkMetrics(self.registry, self.name, self._queue, settings.queue_size)
        self._dropped_full = self.metrics.point["dropped_queue_full"]
        self._wake = threading.Event()  # a full batch is waiting, or closing
        self._closing = threading.Event()
        self._abort = threading.Event()  # the shutdown deadline has passed
        self._deadline: float | None = None
        self._thread: threading.Thread | None = None
        self._throttle = _Throttle()
        self._failing = False
        self._client = None
        self._write_api = None

    # -------------------------------------------------------------- probe path

    def submit(self, site_id: str, kind: str, result: ProbeResult, up: bool | None) -> None:
        """Queue one result for writing; never blocks, never raises. A full queue
        drops the result and counts it."""
        queue = self._queue
        if self._closing.is_set():
            self.metrics.point["dropped_shutdown"].inc()
            return
        if len(queue) >= self._capacity:
            self._dropped_full.inc()
            ok, held = self._throttle.allow("queue_full")
            if ok:
                log(
                    "influx_sink_queue_full",
                    logging.WARNING,
                    capacity=self._capacity,
                    dropped_since_last_log=held + 1,
                )
            return
        queue.append((site_id, kind, result, up))
        if len(queue) >= self._batch_size and not self._wake.is_set():
            self._wake.set()

    # -------------------------------------------------------------- lifecycle

    def start(self) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        s = self.settings
        self._client = InfluxDBClient(
            url=s.url, token=s.token or None, org=s.org, timeout=int(s.timeout * 1000)
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        self._thread = threading.Thread(target=self._run, name="influx-sink", daemon=True)
        self._thread.start()
        log(
            "influx_sink_started",
            url=s.url,
            org=s.org,
            bucket=s.bucket,
            token="set" if s.token else "unset",
            batch_size=s.batch_size,
            flush_interval=s.flush_interval,
            queue_size=s.queue_size,
        )

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued, for at most ``timeout`` seconds (blocking: call it in
        a thread from async code). Whatever is left then is dropped and counted."""
        thread = self._thread
        if thread is None:
            return
        self._deadline = time.monotonic() + timeout
        self._closing.set()
        self._wake.set()
        thread.join(timeout)
        if thread.is_alive():
            self._abort.set()
            thread.join(0.5)
        if thread.is_alive():  # stuck in a request: the daemon thread dies with us
            left = len(self._queue)
            self._queue.clear()
            self.metrics.point["dropped_shutdown"].inc(left)
            log("influx_sink_close_timeout", logging.WARNING, abandoned=left, **self.counts())
        else:
            log("influx_sink_stopped", **self.counts())
            if self._client is not None:
                self._client.close()
        self._thread = None

    def counts(self) -> dict[str, int]:
        """What became of the points so far, by ``result`` (as in the metric)."""
        get = self.registry.get_sample_value
        name = "upwatch_exporter_sink_points_total"
        return {r: int(get(name, {"sink": self.name, "result": r}) or 0) for r in POINT_RESULTS}

    # -------------------------------------------------------------- writer thread

    def _run(self) -> None:
        while True:
            if len(self._queue) < self._batch_size and not self._closing.is_set():
                self._wake.wait(self.settings.flush_interval)
                self._wake.clear()
            if self._abort.is_set() or self._past_deadline():
                self._drop_rest()
                return
            batch = self._take()
            if batch:
                try:
                    self._send(batch)
                except Exception as exc:  # a bug here must not end the thread
                    self.metrics.point["dropped_error"].inc(len(batch))
                    log("influx_sink_error", logging.ERROR, error=f"{type(exc).__name__}: {exc}")
            elif self._closing.is_set():
                return

    def _take(self) -> list[Item]:
        queue = self._queue
        n = min(len(queue), self._batch_size)
        return [queue.popleft() for _ in range(n)]

    def _past_deadline(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _drop_rest(self, batch: Sequence[Item] = ()) -> None:
        n = len(batch) + len(self._queue)
        self._queue.clear()
        if n:
            self.metrics.point["dropped_shutdown"].inc(n)

    def _send(self, batch: list[Item]) -> None:
        from influxdb_client import WritePrecision

        tags = self._tags
        body = "\n".join([to_line(*item, tags) for item in batch]).encode()
        n = len(batch)
        s = self.settings
        m = self.metrics
        attempt = 0
        while True:
            t0 = time.perf_counter()
            try:
                self._write_api.write(
                    bucket=s.bucket, org=s.org, record=body, write_precision=WritePrecision.MS
                )
            except Exception as exc:
                m.duration.observe(time.perf_counter() - t0)
                retryable, error, retry_after = classify(exc)
                m.request["transient_error" if retryable else "permanent_error"].inc()
                self._failing = True
                if self._abort.is_set() or self._past_deadline():
                    self._drop_rest(batch)  # shutting down, out of time
                    return
                if retryable and attempt < s.max_retries:
                    delay = min(s.retry_backoff * 2**attempt, MAX_BACKOFF)
                    delay *= random.uniform(0.8, 1.2)
                    if retry_after is not None:
                        delay = min(max(delay, retry_after), MAX_BACKOFF)
                    if self._deadline is not None:  # shutting down: retry only in time
                        delay = min(delay, max(0.0, self._deadline - time.monotonic()))
                    self._log_failure("influx_write_retry", error, n, attempt + 1, delay)
                    if self._abort.wait(delay):
                        self._drop_rest(batch)
                        return
                    attempt += 1
                    continue
                m.point["dropped_error"].inc(n)
                self._log_failure("influx_write_failed", error, n, attempt, None, retryable)
                return
            m.duration.observe(time.perf_counter() - t0)
            m.request["success"].inc()
            m.point["written"].inc(n)
            m.last_success.set(time.time())
            if self._failing:
                self._failing = False
                log("influx_write_recovered", points=n, retries=attempt)
            return

    def _log_failure(
        self,
        event: str,
        error: str,
        points: int,
        attempt: int,
        delay: float | None,
        retryable: bool = True,
    ) -> None:
        ok, held = self._throttle.allow(f"{event} {error[:40]}")
        if not ok:
            return
        kv: dict[str, object] = {"error": error, "points": points}
        if delay is not None:
            kv.update(attempt=attempt, retry_in=f"{delay:.2f}s")
        else:
            kv.update(
                retries=attempt,
                dropped="permanent error" if not retryable else "retries exhausted",
            )
        if held:
            kv["similar_lines_held_back"] = held
        log(event, logging.ERROR if delay is None else logging.WARNING, **kv)
