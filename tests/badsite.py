"""A real HTTP(S) server on loopback that misbehaves on demand, for probe tests.

``BadSite`` runs a threaded ``http.server`` on ``127.0.0.1`` on a free port, in a
background thread, so it serves sync and async tests alike (one thread per
connection: a slow or endless answer never blocks the others). Every response
carries ``Connection: close``. Any method is accepted (GET, HEAD, POST, PUT, PATCH,
DELETE, OPTIONS); a HEAD answer has the GET answer's headers and no body.

Paths:

``/ok``
    200, body ``all OK here`` (contains ``KEYWORD``).
``/status/<code>``
    answers ``<code>`` (100-599) with a short body.
``/slow?seconds=S``
    waits S seconds (default 5), then answers 200 ``all OK here``.
``/reset?after=N``
    sends the status line, headers announcing a 4096-byte body and N bytes of it
    (default 100), then resets the connection (SO_LINGER 0, close: an RST, not a FIN).
``/nokeyword``
    200 with a body that lacks ``KEYWORD``.
``/endless?chunk=N&interval=S``
    200, chunked, a body that never ends: N bytes (default 1024) every S seconds
    (default 0.005) until the client goes away or the server stops.
``/redirect-loop``
    302 to itself, forever.
``/redirect-ok``
    302 to ``/ok``.
``/redirect?to=URL&code=C``
    C (default 302) to URL.
``/big?bytes=N``
    200 with a body of exactly N bytes (``x`` repeated), with Content-Length.
``/switch/<name>``
    200 ``all OK here`` or 503, as set by ``set_switch(name, up=...)`` (default up);
    ``set_switch(name, up=..., location="eu")`` sets it for the probes whose
    User-Agent says ``location=eu`` (exporters started with ``--location eu``).
``/echo``
    200, a JSON body with the method, path, headers and request body received.

Anything else is 404. Every request is recorded (``requests()``, ``count()``), with
its method, path, query, headers, body and arrival time, so tests can count probes
and see what a probe sent.

With ``tls=`` (a ``TLSFiles``, see ``make_self_signed``) the same handler is served
over HTTPS; the handshake runs in the connection's thread.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

KEYWORD = "OK"
OK_BODY = b"all OK here"
NOKEYWORD_BODY = b"maintenance in progress, come back later"
RESET_ANNOUNCED_BYTES = 4096

__all__ = [
    "KEYWORD",
    "NOKEYWORD_BODY",
    "OK_BODY",
    "BadSite",
    "RecordedRequest",
    "TLSFiles",
    "make_self_signed",
    "refusing_socket",
    "silent_socket",
]


# ------------------------------------------------------------------ certificates


@dataclass(frozen=True)
class TLSFiles:
    cert_path: Path
    key_path: Path
    not_valid_after: float  # unix time, whole seconds (X.509 keeps seconds)


def make_self_signed(directory: Path, name: str, *, valid_days: float) -> TLSFiles:
    """A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.

    A negative ``valid_days`` makes a certificate that expired that many days ago
    (it was valid for the 30 days before)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    not_after = now + dt.timedelta(days=valid_days)
    not_before = min(now, not_after) - dt.timedelta(days=30 if valid_days < 0 else 1)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"upwatch-test-{name}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path = directory / f"{name}.crt"
    key_path = directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TLSFiles(cert_path, key_path, cert.not_valid_after_utc.timestamp())


# ------------------------------------------------------------------ refused port


def refusing_socket() -> socket.socket:
    """A loopback socket bound to a free port but not listening: connecting to its
    port is refused, and while it stays open no one else can take the port.
    Close it when done; its port is ``sock.getsockname()[1]``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def silent_socket() -> socket.socket:
    """A loopback socket that listens but never accepts: the kernel completes TCP
    connections to it, and then nothing is ever said (no HTTP answer, no TLS
    handshake). Close it when done; its port is ``sock.getsockname()[1]``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


# ------------------------------------------------------------------ the server


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query
    query: str
    headers: dict[str, str]  # names lowercased
    body: bytes
    time: float  # unix time the request line arrived


class _Abort(Exception):
    """The handler has already dealt with (or reset) the connection."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    # Any method goes through one dispatcher.
    def _any(self) -> None:
        arrived = time.time()
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        self.close_connection = True
        rec = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            time=arrived,
        )
        self.server.site._record(rec)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            self._route(parts.path, query, rec)
        except (_Abort, BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _any

    # ---------------------------------------------------------------- responses

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "text/plain; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        no_body = status < 200 or status in (204, 304)
        if not no_body:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and not no_body:
            self.wfile.write(body)

    def _route(self, path: str, q: dict[str, str], rec: RecordedRequest) -> None:
        site = self.server.site
        if path == "/ok":
            self._send(200, OK_BODY)
        elif path.startswith("/status/"):
            code = _int(path.removeprefix("/status/"), 0)
            if not 100 <= code <= 599:
                self._send(400, b"status code must be 100-599")
            else:
                self._send(code, f"status {code}\n".encode())
        elif path == "/slow":
            if site._stopping.wait(_float(q.get("seconds"), 5.0)):
                raise _Abort
            self._send(200, OK_BODY)
        elif path == "/reset":
            self._reset(_int(q.get("after"), 100))
        elif path == "/nokeyword":
            self._send(200, NOKEYWORD_BODY)
        elif path == "/endless":
            self._endless(_int(q.get("chunk"), 1024), _float(q.get("interval"), 0.005))
        elif path == "/redirect-loop":
            self._send(302, b"again\n", headers={"Location": "/redirect-loop"})
        elif path == "/redirect-ok":
            self._send(302, b"see /ok\n", headers={"Location": "/ok"})
        elif path == "/redirect":
            code = _int(q.get("code"), 302)
            self._send(code, b"moved\n", headers={"Location": q.get("to", "/ok")})
        elif path == "/big":
            self._big(_int(q.get("bytes"), 0))
        elif path.startswith("/switch/"):
            found = re.search(r"location=([\w-]+)", rec.headers.get("user-agent", ""))
            if site.switch(path.removeprefix("/switch/"), found[1] if found else None):
                self._send(200, OK_BODY)
            else:
                self._send(503, b"switched off\n")
        elif path == "/echo":
            echo = {
                "method": rec.method,
                "path": rec.path,
                "query": rec.query,
                "headers": rec.headers,
                "body": rec.body.decode("utf-8", "replace"),
            }
            self._send(200, json.dumps(echo).encode(), "application/json")
        else:
            self._send(404, b"not found\n")

    def _reset(self, after: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(RESET_ANNOUNCED_BYTES))
        self.end_headers()
        self.wfile.write(b"y" * min(after, RESET_ANNOUNCED_BYTES - 1))
        self.wfile.flush()
        # Let the client read the head, so that it sees the reset mid-body.
        time.sleep(0.05)
        conn = self.connection
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # rfile holds a reference to the socket: close it too, or close() won't
        # really close (and send the RST).
        self.rfile.close()
        conn.close()
        raise _Abort

    def _endless(self, chunk: int, interval: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        piece = b"z" * max(chunk, 1)
        frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        while not self.server.site._stopping.is_set():
            self.wfile.write(frame)
            if interval > 0:
                time.sleep(interval)

    def _big(self, size: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        block = b"x" * 65536
        left = size
        while left > 0:
            n = min(left, len(block))
            self.wfile.write(block[:n])
            left -= n


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, site: BadSite, ssl_context: ssl.SSLContext | None) -> None:
        self.site = site
        self.ssl_context = ssl_context
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request, client_address) -> None:  # type: ignore[override]
        # Runs in the connection's own thread: a slow or failed TLS handshake (the
        # client refusing our certificate) never holds up the accept loop.
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        try:
            request.settimeout(10)
            tls_sock = self.ssl_context.wrap_socket(request, server_side=True)
            tls_sock.settimeout(None)
        except (ssl.SSLError, OSError):
            return
        # wrap_socket detached ``request``: the caller's shutdown/close of it are
        # no-ops, so the TLS socket is closed here.
        try:
            super().finish_request(tls_sock, client_address)
        except (ssl.SSLError, OSError):
            pass
        finally:
            tls_sock.close()

    def handle_error(self, request, client_address) -> None:  # quiet
        pass


@dataclass
class BadSite:
    """A misbehaving server: ``start()`` it (or use it as a context manager), point
    probes at ``url(path)``, and ``stop()`` it."""

    tls: TLSFiles | None = None
    _server: _Server | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _requests: list[RecordedRequest] = field(default_factory=list, init=False, repr=False)
    _switches: dict[tuple[str, str | None], bool] = field(
        default_factory=dict, init=False, repr=False
    )
    _stopping: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> BadSite:
        context = None
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls.cert_path, self.tls.key_path)
        self._stopping.clear()
        self._server = _Server(self, context)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"badsite:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> BadSite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- addresses

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not running"
        return self._server.server_address[1]

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def url(self, path: str = "/ok") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    @property
    def cert_not_valid_after(self) -> float | None:
        """The certificate's notAfter as unix time (whole seconds), or None for http."""
        return self.tls.not_valid_after if self.tls is not None else None

    # ---------------------------------------------------------------- switches

    def set_switch(self, name: str, *, up: bool, location: str | None = None) -> None:
        """``/switch/<name>`` answers 200 when up and 503 when down; with
        ``location``, only to probes from that location (their User-Agent says
        ``location=<name>``), which then no longer follow the switch for all."""
        with self._lock:
            self._switches[(name, location)] = up

    def switch(self, name: str, location: str | None = None) -> bool:
        with self._lock:
            if location is not None and (name, location) in self._switches:
                return self._switches[(name, location)]
            return self._switches.get((name, None), True)

    # ---------------------------------------------------------------- request log

    def _record(self, rec: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(rec)

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        """Requests received so far (for one path, if given), oldest first."""
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def count(self, path: str | None = None) -> int:
        return len(self.requests(path))

    def last(self, path: str | None = None) -> RecordedRequest:
        found = self.requests(path)
        assert found, f"no request received for {path or 'any path'}"
        return found[-1]

    def reset(self) -> None:
        """Forget the recorded requests and the switches (all up again)."""
        with self._lock:
            self._requests.clear()
            self._switches.clear()
