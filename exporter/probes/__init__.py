"""Probe types behind one small interface.

A probe is an async function ``probe(site, ctx) -> ProbeResult``; the registry
``PROBES`` names one per site kind (``http``, ``tcp``). A probe never raises: every
failure comes back as a result with one of ``REASONS`` and a human message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from exporter.config import Site

REASONS = (
    "timeout",
    "dns",
    "connect",
    "tls",
    "status",
    "body_mismatch",
    "body_too_large",
    "other",
)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    success: bool
    duration_seconds: float
    reason: str | None = None  # one of REASONS when success is False
    message: str = ""
    status_code: int | None = None
    tls_expiry: float | None = None  # unix time the peer certificate expires
    started_at: float = 0.0  # unix time the probe started

    def to_json(self) -> dict:
        return asdict(self)


ProbeFn = Callable[[Site, "ProbeContext"], Awaitable[ProbeResult]]


from exporter.probes.context import ProbeContext  # noqa: E402
from exporter.probes.http import probe_http  # noqa: E402
from exporter.probes.tcp import probe_tcp  # noqa: E402

PROBES: dict[str, ProbeFn] = {"http": probe_http, "tcp": probe_tcp}


async def run_probe(site: Site, ctx: ProbeContext) -> ProbeResult:
    """Probe ``site`` with the probe type its URL names."""
    return await PROBES[site.kind](site, ctx)


__all__ = ["PROBES", "REASONS", "ProbeContext", "ProbeResult", "run_probe"]
