"""HTTP(S) probe: method, headers, expected status ranges, body keyword or regex,
redirects, TLS verification, a cap on the body bytes read, a per-site timeout, and
the peer certificate's expiry.

Built on aiohttp's client rather than httpx: measured end to end in the running
exporter (2,000 sites on loopback nginx), a probe cost 1.79 ms of CPU through httpx
and 0.89 ms through aiohttp (bench/prober.py has the whole-stack figures); the
difference is httpx's pure-Python HTTP/1.1 stack (h11, httpcore, anyio).
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from exporter.config import Site
from exporter.probes import ProbeResult
from exporter.probes.context import (
    MAX_REDIRECTS,
    PEER_CERTS,
    ProbeContext,
    classify_error,
    peer_cert_expiry,
)


class _Failed(Exception):
    """Ends a probe early with a failure reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


async def probe_http(site: Site, ctx: ProbeContext) -> ProbeResult:
    started, t0 = time.time(), time.perf_counter()
    status: int | None = None
    tls_expiry: float | None = None
    body = bytearray()
    keep_body = site.body_contains is not None or site.body_regex is not None
    reason: str | None = None
    message = ""
    certs: list[bytes] = []
    PEER_CERTS.set(certs)
    try:
        async with (
            asyncio.timeout(site.timeout),
            ctx.session.request(
                site.method,
                site.url,
                headers=dict(site.headers),
                allow_redirects=site.follow_redirects,
                max_redirects=MAX_REDIRECTS,
                ssl=ctx.ssl_contexts[site.tls_verify],
                timeout=aiohttp.ClientTimeout(total=site.timeout + 1),
            ) as response,
        ):
            status = response.status
            message = f"{status} {response.reason or ''}".rstrip()
            if not site.status_ok(status):
                raise _Failed("status", f"unexpected status {message}")
            too_large = _Failed("body_too_large", f"body larger than {site.max_body_bytes} bytes")
            if (response.content_length or 0) > site.max_body_bytes:
                raise too_large
            size = 0
            async for chunk in response.content.iter_any():
                size += len(chunk)
                if size > site.max_body_bytes:
                    raise too_large
                if keep_body:
                    body += chunk
    except _Failed as failed:
        reason, message = failed.reason, failed.message
    except aiohttp.TooManyRedirects as exc:
        if exc.history:
            status = exc.history[-1].status
        reason, message = classify_error(exc)
    except Exception as exc:  # a probe never raises: every failure is a result
        reason, message = classify_error(exc)
    if certs:
        tls_expiry = peer_cert_expiry(certs[-1])  # the final hop's certificate
    if reason is None:
        if site.body_contains is not None and site.body_contains.encode() not in body:
            reason, message = "body_mismatch", f"body does not contain {site.body_contains!r}"
        elif site.compiled_regex is not None and not site.compiled_regex.search(body):
            reason, message = "body_mismatch", f"body does not match /{site.body_regex}/"
    return ProbeResult(
        success=reason is None,
        duration_seconds=time.perf_counter() - t0,
        reason=reason,
        message=message,
        status_code=status,
        tls_expiry=tls_expiry,
        started_at=started,
    )
