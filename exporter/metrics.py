"""The exporter's /metrics: per-site families rendered from the current state, plus
the exporter's own metrics.

The per-site families are rendered straight to the text exposition format from
label strings prepared once per reload. prometheus_client's generic path
(Metric/Sample objects, then generate_latest) takes about 1.6 s for 10,000 sites
(210,000 samples) on our 2-core machine, against ~0.1 s here; see bench/prober.py.
The exporter's own metrics (reload status, schedule lag, process) stay ordinary
prometheus_client metrics in a registry of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import accumulate

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.process_collector import ProcessCollector

from exporter.config import Site
from exporter.state import DURATION_BUCKETS, SiteState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def escape(value: str) -> str:
    return value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")


def _fmt(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


_LE = (
    *tuple(f'le="{_fmt(b) if b < 1 else repr(float(b))}"' for b in DURATION_BUCKETS),
    'le="+Inf"',
)

_FAMILIES = {
    "upwatch_site_up": ("gauge", "1 if the site is up, 0 if down, after confirmations."),
    "upwatch_probe_success": ("gauge", "1 if the last probe succeeded, else 0."),
    "upwatch_site_state_change_timestamp_seconds": (
        "gauge",
        "Unix time of the site's last up/down change (for down: its first failed probe).",
    ),
    "upwatch_site_failure_reason": (
        "gauge",
        "1 for the reason the last probe failed; absent when it succeeded.",
    ),
    "upwatch_site_maintenance": ("gauge", "1 while the site is in maintenance (pages nobody)."),
    "upwatch_site_interval_seconds": ("gauge", "How often the site is probed."),
    "upwatch_probe_http_status_code": (
        "gauge",
        "HTTP status code of the last probe (0 when no response arrived).",
    ),
    "upwatch_probe_tls_cert_expiry_timestamp_seconds": (
        "gauge",
        "Unix time the site's TLS certificate expires.",
    ),
    "upwatch_probe_duration_seconds": ("histogram", "Duration of probes, in seconds."),
    "upwatch_probes_total": ("counter", "Probes run, by result (success, failure)."),
    "upwatch_probe_failures_total": ("counter", "Failed probes, by failure reason."),
    "upwatch_site_info": ("gauge", "Human labels of each site (always 1); join on site."),
}


def _head(name: str) -> list[str]:
    kind, help_text = _FAMILIES[name]
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


class SiteRenderer:
    """Renders the per-site families. Build one per site list (on each reload)."""

    def __init__(self, sites: Iterable[Site]) -> None:
        self.sites = tuple(sites)
        self.labels = {s.id: f'site="{escape(s.id)}"' for s in self.sites}
        self.info = {}
        for s in self.sites:
            pairs = [("site", s.id), ("name", s.display_name), ("url", s.url), ("type", s.kind)]
            pairs += list(s.labels)
            body = ",".join(f'{k}="{escape(v)}"' for k, v in pairs)
            self.info[s.id] = f"upwatch_site_info{{{body}}} 1"

    def render(self, states: Mapping[str, SiteState]) -> str:
        rows = [(s, self.labels[s.id], states.get(s.id)) for s in self.sites]
        seen = [(s, lb, st) for s, lb, st in rows if st is not None and st.last_result is not None]
        out: list[str] = []
        add = out.append

        out += _head("upwatch_site_up")
        for _s, lb, st in seen:
            if st.up is not None:
                add(f"upwatch_site_up{{{lb}}} {1 if st.up else 0}")
        out += _head("upwatch_probe_success")
        for _s, lb, st in seen:
            add(f"upwatch_probe_success{{{lb}}} {1 if st.last_result.success else 0}")
        out += _head("upwatch_site_state_change_timestamp_seconds")
        for _s, lb, st in seen:
            if st.last_change is not None:
                add(f"upwatch_site_state_change_timestamp_seconds{{{lb}}} {st.last_change:.3f}")
        out += _head("upwatch_site_failure_reason")
        for _s, lb, st in seen:
            if not st.last_result.success:
                add(f'upwatch_site_failure_reason{{{lb},reason="{st.last_result.reason}"}} 1')
        out += _head("upwatch_site_maintenance")
        out += [
            f"upwatch_site_maintenance{{{lb}}} {1 if s.maintenance else 0}" for s, lb, _ in rows
        ]
        out += _head("upwatch_site_interval_seconds")
        out += [f"upwatch_site_interval_seconds{{{lb}}} {_fmt(s.interval)}" for s, lb, _ in rows]
        out += _head("upwatch_probe_http_status_code")
        for s, lb, st in seen:
            if s.kind == "http" and st.status_code is not None:
                add(f"upwatch_probe_http_status_code{{{lb}}} {st.status_code}")
        out += _head("upwatch_probe_tls_cert_expiry_timestamp_seconds")
        for _s, lb, st in seen:
            if st.tls_expiry is not None:
                add(
                    f"upwatch_probe_tls_cert_expiry_timestamp_seconds{{{lb}}} {_fmt(st.tls_expiry)}"
                )
        out += _head("upwatch_probe_duration_seconds")
        for _s, lb, st in seen:
            cumulative = list(accumulate(st.buckets))
            out += [
                f"upwatch_probe_duration_seconds_bucket{{{lb},{le}}} {n}"
                for le, n in zip(_LE, cumulative, strict=True)
            ]
            add(f"upwatch_probe_duration_seconds_sum{{{lb}}} {st.duration_sum!r}")
            add(f"upwatch_probe_duration_seconds_count{{{lb}}} {cumulative[-1]}")
        out += _head("upwatch_probes_total")
        for _s, lb, st in seen:
            add(f'upwatch_probes_total{{{lb},result="success"}} {st.successes}')
            add(f'upwatch_probes_total{{{lb},result="failure"}} {st.failures}')
        out += _head("upwatch_probe_failures_total")
        for _s, lb, st in seen:
            for reason, n in st.failures_by_reason.items():
                add(f'upwatch_probe_failures_total{{{lb},reason="{reason}"}} {n}')
        out += _head("upwatch_site_info")
        out += [self.info[s.id] for s, _lb, _st in rows]
        out.append("")
        return "\n".join(out)


class ExporterMetrics:
    """The exporter's own metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.reload_ok = Gauge(
            "upwatch_exporter_config_last_reload_successful",
            "1 if the last site-list (re)load succeeded, else 0.",
            registry=r,
        )
        self.reload_ts = Gauge(
            "upwatch_exporter_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful site-list (re)load.",
            registry=r,
        )
        self.lag = Histogram(
            "upwatch_exporter_schedule_lag_seconds",
            "Delay between when a probe was due and when it started.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.sites = Gauge(
            "upwatch_exporter_sites", "Sites this exporter probes (its shard).", registry=r
        )
        self.in_flight = Gauge(
            "upwatch_exporter_probes_in_flight", "Probes running right now.", registry=r
        )
        self.skipped = Counter(
            "upwatch_exporter_probes_skipped",
            "Probes skipped because the site's previous probe was still running.",
            registry=r,
        )
        self.render_seconds = Gauge(
            "upwatch_exporter_metrics_render_seconds",
            "Time taken to render the previous /metrics response.",
            registry=r,
        )
        ProcessCollector(registry=r)

    def render(self) -> str:
        return generate_latest(self.registry).decode()
