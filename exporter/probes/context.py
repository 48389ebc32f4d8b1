"""What probes share: HTTP clients (one per TLS-verification mode) and error mapping."""

from __future__ import annotations

import errno
import socket
import ssl
from functools import lru_cache

import httpx
from cryptography import x509

MAX_REDIRECTS = 10
USER_AGENT = "Upwatch/0.1 (+uptime probe)"

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


class ProbeContext:
    """Long-lived resources for probing. Every HTTP probe opens a fresh connection
    (no keep-alive), so DNS, TCP connect and the TLS handshake are checked each time,
    as a user's browser arriving cold would."""

    def __init__(self) -> None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        common = dict(
            limits=limits,
            max_redirects=MAX_REDIRECTS,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )
        self.clients = {
            True: httpx.AsyncClient(verify=True, **common),
            False: httpx.AsyncClient(verify=False, **common),
        }

    def client(self, tls_verify: bool) -> httpx.AsyncClient:
        return self.clients[tls_verify]

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def __aenter__(self) -> ProbeContext:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()


@lru_cache(maxsize=4096)
def cert_expiry(der: bytes) -> float:
    """The notAfter of a DER certificate, as unix time (cached: certificates repeat)."""
    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


def peer_cert_expiry(ssl_object: ssl.SSLObject | None) -> float | None:
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    try:
        return cert_expiry(der)
    except ValueError:
        return None


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _dns_text(e: BaseException) -> bool:
    text = str(e).lower()
    return any(h in text for h in _DNS_HINTS)


# (test, reason, message) in order of precedence; each is tried on the whole chain of
# causes, so that the most specific cause wins over a generic wrapper around it.
_RULES = (
    (lambda e: isinstance(e, httpx.TooManyRedirects), "status",
     lambda e: f"redirect loop: more than {MAX_REDIRECTS} redirects"),
    (lambda e: isinstance(e, ssl.SSLCertVerificationError), "tls",
     lambda e: f"TLS certificate verification failed: {e.verify_message or e.reason}"),
    (lambda e: isinstance(e, ssl.SSLError), "tls", lambda e: f"TLS error: {e.reason or e}"),
    (lambda e: isinstance(e, socket.gaierror), "dns",
     lambda e: f"DNS lookup failed: {e.strerror or e}"),
    (_dns_text, "dns", lambda e: f"DNS lookup failed: {e}"),
    (lambda e: isinstance(e, TimeoutError | httpx.TimeoutException), "timeout",
     lambda e: "timed out"),
    (lambda e: isinstance(e, ConnectionRefusedError), "connect", lambda e: "connection refused"),
    (lambda e: isinstance(e, ConnectionResetError), "connect",
     lambda e: "connection reset by peer"),
    (lambda e: isinstance(e, OSError) and e.errno in _CONNECT_ERRNOS, "connect",
     lambda e: f"connection failed: {e.strerror or e}"),
    (lambda e: isinstance(e, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError),
     "connect", lambda e: f"connection broken: {e or type(e).__name__}"),
    (lambda e: isinstance(e, httpx.ConnectError), "connect",
     lambda e: f"connection failed: {e or type(e).__name__}"),
)  # fmt: skip


def classify_error(exc: BaseException) -> tuple[str, str]:
    """Map an exception raised while probing to (reason, human message)."""
    chain = list(_chain(exc))
    for test, reason, message in _RULES:
        for e in chain:
            if test(e):
                return reason, message(e)
    return "other", f"{type(exc).__name__}: {exc}"
