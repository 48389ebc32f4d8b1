"""What probes share: HTTP clients (one per TLS-verification mode) and error mapping."""

from __future__ import annotations

import asyncio
import contextvars
import errno
import socket
import ssl
from functools import lru_cache

import aiohttp
import certifi
from cryptography import x509

MAX_REDIRECTS = 10
USER_AGENT = "Upwatch/0.1 (+uptime probe)"


def user_agent(location: str | None = None) -> str:
    """What probes send as User-Agent (a site's own ``headers`` can override it).
    With ``--location``, the location is in it, so a site's operator can tell
    where a probe came from in the access log."""
    return USER_AGENT if not location else f"Upwatch/0.1 (+uptime probe; location={location})"


_CONNECT_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ENETUNREACH,
    errno.EHOSTUNREACH,
    errno.EHOSTDOWN,
}
_DNS_HINTS = (
    "name or service not known",
    "temporary failure in name resolution",
    "nodename nor servname",
    "no address associated",
    "name has no usable address",
)


def _ssl_context(verify: bool) -> ssl.SSLContext:
    if not verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    # Mozilla's roots (certifi) and the system's, so that a private CA installed
    # on the host is trusted too
    ctx = ssl.create_default_context(cafile=certifi.where())
    ctx.load_default_certs()
    return ctx


# Each HTTP probe puts a list here; the connector appends the DER certificate of
# every TLS connection the probe opens (one per redirect hop), since aiohttp may
# release a response's connection before the caller can look at it.
PEER_CERTS: contextvars.ContextVar[list[bytes] | None] = contextvars.ContextVar(
    "upwatch_peer_certs", default=None
)


class _CertRecordingConnector(aiohttp.TCPConnector):
    async def _create_direct_connection(self, *args, **kwargs):
        transport, proto = await super()._create_direct_connection(*args, **kwargs)
        certs = PEER_CERTS.get()
        ssl_object = transport.get_extra_info("ssl_object")
        if certs is not None and ssl_object is not None:
            der = ssl_object.getpeercert(binary_form=True)
            if der:
                certs.append(der)
        return transport, proto


class ProbeContext:
    """What HTTP probes share: one aiohttp session (created in the running loop on
    first use) and one TLS context per verification mode, since loading the CA roots
    is the costly part.

    The session never keeps a connection alive (``force_close``), so every probe
    checks DNS, the TCP connect and the TLS handshake, as a browser arriving cold
    would; and it keeps no cookies, so one probe never changes what the next sends.
    """

    def __init__(self, location: str | None = None) -> None:
        self.ssl_contexts = {True: _ssl_context(True), False: _ssl_context(False)}
        self.user_agent = user_agent(location)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = _CertRecordingConnector(
                force_close=True, limit=0, use_dns_cache=False, enable_cleanup_closed=False
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self.user_agent},
                raise_for_status=False,
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def __aenter__(self) -> ProbeContext:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()


@lru_cache(maxsize=4096)
def cert_expiry(der: bytes) -> float:
    """The notAfter of a DER certificate, as unix time (cached: certificates repeat)."""
    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


def peer_cert_expiry(der: bytes | None) -> float | None:
    if not der:
        return None
    try:
        return cert_expiry(der)
    except ValueError:
        return None


def _chain(exc: BaseException):
    """The exception and its causes, stopping at a cancellation: what was in flight
    when a timeout cancelled the probe (an ``SSLWantReadError`` in the middle of a
    TLS read, say) is not why the probe failed."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        if isinstance(exc, asyncio.CancelledError):
            return
        exc = exc.__cause__ or exc.__context__


def _dns_text(e: BaseException) -> bool:
    text = str(e).lower()
    return any(h in text for h in _DNS_HINTS)


# (test, reason, message) in order of precedence; each is tried on the whole chain of
# causes, so that the most specific cause wins over a generic wrapper around it.
_RULES = (
    (lambda e: isinstance(e, aiohttp.TooManyRedirects), "status",
     lambda e: f"redirect loop: more than {MAX_REDIRECTS} redirects"),
    (lambda e: isinstance(e, aiohttp.ClientConnectorCertificateError), "tls",
     lambda e: f"TLS certificate verification failed: {e.certificate_error}"),
    (lambda e: isinstance(e, ssl.SSLCertVerificationError), "tls",
     lambda e: f"TLS certificate verification failed: {getattr(e, 'verify_message', None) or e}"),
    (lambda e: isinstance(e, ssl.SSLError)
     and not isinstance(e, ssl.SSLWantReadError | ssl.SSLWantWriteError),
     "tls", lambda e: f"TLS error: {e.reason or e}"),
    (lambda e: isinstance(e, aiohttp.ClientSSLError), "tls", lambda e: f"TLS error: {e}"),
    (lambda e: isinstance(e, socket.gaierror), "dns",
     lambda e: f"DNS lookup failed: {e.strerror or e}"),
    (_dns_text, "dns", lambda e: f"DNS lookup failed: {e}"),
    (lambda e: isinstance(e, TimeoutError), "timeout", lambda e: "timed out"),
    (lambda e: isinstance(e, ConnectionRefusedError), "connect", lambda e: "connection refused"),
    (lambda e: isinstance(e, ConnectionResetError), "connect",
     lambda e: "connection reset by peer"),
    (lambda e: isinstance(e, OSError) and e.errno in _CONNECT_ERRNOS, "connect",
     lambda e: f"connection failed: {e.strerror or e}"),
    (lambda e: isinstance(e, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError),
     "connect", lambda e: f"connection broken: {e or type(e).__name__}"),
    (lambda e: isinstance(e, aiohttp.ClientOSError | aiohttp.ClientConnectionError),
     "connect", lambda e: f"connection failed: {e or type(e).__name__}"),
)  # fmt: skip


def classify_error(exc: BaseException) -> tuple[str, str]:
    """Map an exception raised while probing to (reason, human message)."""
    chain = list(_chain(exc))
    for test, reason, message in _RULES:
        for e in chain:
            if test(e):
                return reason, message(e)
    return "other", f"{type(exc).__name__}: {exc}"
