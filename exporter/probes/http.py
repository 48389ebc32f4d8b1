"""HTTP(S) probe: method, headers, expected status ranges, body keyword or regex,
redirects, TLS verification, a cap on the body bytes read, a per-site timeout, and
the peer certificate's expiry."""

from __future__ import annotations

import asyncio
import time

from exporter.config import Site
from exporter.probes import ProbeResult
from exporter.probes.context import ProbeContext, classify_error, peer_cert_expiry


def _fail(site: Site, t0: float, started: float, reason: str, message: str, **kw) -> ProbeResult:
    return ProbeResult(
        success=False,
        duration_seconds=time.perf_counter() - t0,
        reason=reason,
        message=message,
        started_at=started,
        **kw,
    )


async def probe_http(site: Site, ctx: ProbeContext) -> ProbeResult:
    started, t0 = time.time(), time.perf_counter()
    status: int | None = None
    tls_expiry: float | None = None
    client = ctx.client(site.tls_verify)
    want_body = site.body_contains is not None or site.body_regex is not None
    try:
        async with asyncio.timeout(site.timeout):
            request = client.build_request(
                site.method, site.url, headers=dict(site.headers), timeout=site.timeout
            )
            response = await client.send(
                request, stream=True, follow_redirects=site.follow_redirects
            )
            try:
                status = response.status_code
                stream = response.extensions.get("network_stream")
                if stream is not None:
                    tls_expiry = peer_cert_expiry(stream.get_extra_info("ssl_object"))
                if not site.status_ok(status):
                    return _fail(
                        site, t0, started, "status",
                        f"unexpected status {status} {response.reason_phrase}".rstrip(),
                        status_code=status, tls_expiry=tls_expiry,
                    )  # fmt: skip
                body = bytearray()
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > site.max_body_bytes:
                        return _fail(
                            site, t0, started, "body_too_large",
                            f"body larger than {site.max_body_bytes} bytes",
                            status_code=status, tls_expiry=tls_expiry,
                        )  # fmt: skip
                    if want_body:
                        body += chunk
            finally:
                await response.aclose()
    except Exception as exc:  # a probe never raises: every failure is a result
        reason, message = classify_error(exc)
        return _fail(site, t0, started, reason, message, status_code=status, tls_expiry=tls_expiry)
    if site.body_contains is not None and site.body_contains.encode() not in body:
        return _fail(
            site, t0, started, "body_mismatch",
            f"body does not contain {site.body_contains!r}",
            status_code=status, tls_expiry=tls_expiry,
        )  # fmt: skip
    if site.compiled_regex is not None and not site.compiled_regex.search(body):
        return _fail(
            site, t0, started, "body_mismatch",
            f"body does not match /{site.body_regex}/",
            status_code=status, tls_expiry=tls_expiry,
        )  # fmt: skip
    return ProbeResult(
        success=True,
        duration_seconds=time.perf_counter() - t0,
        message=f"{status} {response.reason_phrase}".rstrip(),
        status_code=status,
        tls_expiry=tls_expiry,
        started_at=started,
    )
