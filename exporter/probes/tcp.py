"""TCP connect probe: succeeds when a connection to host:port opens in time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import urlsplit

from exporter.config import Site
from exporter.probes import ProbeResult
from exporter.probes.context import ProbeContext, classify_error


async def probe_tcp(site: Site, ctx: ProbeContext) -> ProbeResult:
    started, t0 = time.time(), time.perf_counter()
    parts = urlsplit(site.url)
    try:
        async with asyncio.timeout(site.timeout):
            _reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
    except Exception as exc:  # a probe never raises: every failure is a result
        reason, message = classify_error(exc)
        return ProbeResult(
            success=False,
            duration_seconds=time.perf_counter() - t0,
            reason=reason,
            message=message,
            started_at=started,
        )
    return ProbeResult(
        success=True,
        duration_seconds=time.perf_counter() - t0,
        message=f"connected to {parts.hostname}:{parts.port}",
        started_at=started,
    )
