"""Optional sinks for raw probe results (one point per completed probe).

A sink is anything with ``submit(site_id, kind, result, up)`` (called on the probe
path: it must return at once and never raise), ``start()`` and ``close(timeout)``.
The one member today is ``influx`` (``exporter/sinks/influx.py``): any store that
speaks InfluxDB's v2 write API, such as InfluxDB 2 or VictoriaMetrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the CLI imports this package: keep it light
    from exporter.probes import ProbeResult


class ResultSink(Protocol):
    name: str

    def start(self) -> None: ...

    def submit(self, site_id: str, kind: str, result: ProbeResult, up: bool | None) -> None: ...

    def close(self, timeout: float) -> None: ...


__all__ = ["ResultSink"]
