"""Shared fixtures: the misbehaving test server (``tests/badsite.py``) over HTTP, over
HTTPS with a valid self-signed certificate and with an expired one, a port on
which nothing listens, and a port that accepts connections but never answers.

The servers are started once per session (certificates generated then, in a temp
dir); the function-scoped fixtures hand them to each test with an empty request log
and every switch up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.badsite import BadSite, TLSFiles, make_self_signed, refusing_socket, silent_socket


@pytest.fixture(scope="session")
def badsite_certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TLSFiles]:
    """``valid``: self-signed for 127.0.0.1/localhost, valid for 30 days;
    ``expired``: self-signed, expired a day ago."""
    directory: Path = tmp_path_factory.mktemp("badsite-certs")
    return {
        "valid": make_self_signed(directory, "valid", valid_days=30),
        "expired": make_self_signed(directory, "expired", valid_days=-1),
    }


@pytest.fixture(scope="session")
def _badsite_http() -> Iterator[BadSite]:
    with BadSite() as site:
        yield site


@pytest.fixture(scope="session")
def _badsite_https(badsite_certs: dict[str, TLSFiles]) -> Iterator[BadSite]:
    with BadSite(tls=badsite_certs["valid"]) as site:
        yield site


@pytest.fixture(scope="session")
def _badsite_https_expired(badsite_certs: dict[str, TLSFiles]) -> Iterator[BadSite]:
    with BadSite(tls=badsite_certs["expired"]) as site:
        yield site


@pytest.fixture
def badsite(_badsite_http: BadSite) -> BadSite:
    """The misbehaving server over plain HTTP (``badsite.url("/status/503")``)."""
    _badsite_http.reset()
    return _badsite_http


@pytest.fixture
def badsite_tls(_badsite_https: BadSite) -> BadSite:
    """The same server over HTTPS with a self-signed certificate valid for 30 days;
    ``badsite_tls.cert_not_valid_after`` is its expiry as unix time."""
    _badsite_https.reset()
    return _badsite_https


@pytest.fixture
def badsite_tls_expired(_badsite_https_expired: BadSite) -> BadSite:
    """The same server over HTTPS with a self-signed certificate that expired."""
    _badsite_https_expired.reset()
    return _badsite_https_expired


@pytest.fixture(scope="session")
def refused_port() -> Iterator[int]:
    """A loopback port on which nothing listens: connecting is refused. The port is
    held (bound, not listening) for the session so nothing else can take it."""
    sock = refusing_socket()
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture(scope="session")
def silent_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections and then never says anything:
    an HTTP request gets no answer and a TLS handshake never completes."""
    sock = silent_socket()
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()
