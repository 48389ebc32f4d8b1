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

from collections.abc import Iterable, Iterator, Mapping
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


def _head(name: str) -> str:
    kind, help_text = _FAMILIES[name]
    return f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n"


# One format string renders a site's whole histogram: {0} is its label, then the
# cumulative bucket counts, the sum and the count.
_HISTOGRAM = "".join(
    f"upwatch_probe_duration_seconds_bucket{{{{{{0}},{le}}}}} {{{i + 1}}}\n"
    for i, le in enumerate(_LE)
) + (
    f"upwatch_probe_duration_seconds_sum{{{{{{0}}}}}} {{{len(_LE) + 1}!r}}\n"
    f"upwatch_probe_duration_seconds_count{{{{{{0}}}}}} {{{len(_LE)}}}\n"
)

Row = tuple[Site, str, "SiteState | None"]


def _seen(rows: list[Row]):
    return [(s, lb, st) for s, lb, st in rows if st is not None and st.last_result is not None]


def _up(rows: list[Row]) -> list[str]:
    return [
        f"upwatch_site_up{{{lb}}} {1 if st.up else 0}\n"
        for _s, lb, st in _seen(rows)
        if st.up is not None
    ]


def _success(rows: list[Row]) -> list[str]:
    return [
        f"upwatch_probe_success{{{lb}}} {1 if st.last_result.success else 0}\n"
        for _s, lb, st in _seen(rows)
    ]


def _change(rows: list[Row]) -> list[str]:
    return [
        f"upwatch_site_state_change_timestamp_seconds{{{lb}}} {st.last_change:.3f}\n"
        for _s, lb, st in _seen(rows)
        if st.last_change is not None
    ]


def _reason(rows: list[Row]) -> list[str]:
    return [
        f'upwatch_site_failure_reason{{{lb},reason="{st.last_result.reason}"}} 1\n'
        for _s, lb, st in _seen(rows)
        if not st.last_result.success
    ]


def _maintenance(rows: list[Row]) -> list[str]:
    return [f"upwatch_site_maintenance{{{lb}}} {1 if s.maintenance else 0}\n" for s, lb, _ in rows]


def _interval(rows: list[Row]) -> list[str]:
    return [f"upwatch_site_interval_seconds{{{lb}}} {_fmt(s.interval)}\n" for s, lb, _ in rows]


def _status(rows: list[Row]) -> list[str]:
    return [
        f"upwatch_probe_http_status_code{{{lb}}} {st.status_code}\n"
        for s, lb, st in _seen(rows)
        if s.kind == "http" and st.status_code is not None
    ]


def _tls(rows: list[Row]) -> list[str]:
    return [
        f"upwatch_probe_tls_cert_expiry_timestamp_seconds{{{lb}}} {_fmt(st.tls_expiry)}\n"
        for _s, lb, st in _seen(rows)
        if st.tls_expiry is not None
    ]


def _duration(rows: list[Row]) -> list[str]:
    fmt = _HISTOGRAM.format
    return [fmt(lb, *accumulate(st.buckets), st.duration_sum) for _s, lb, st in _seen(rows)]


def _probes(rows: list[Row]) -> list[str]:
    return [
        f'upwatch_probes_total{{{lb},result="success"}} {st.successes}\n'
        f'upwatch_probes_total{{{lb},result="failure"}} {st.failures}\n'
        for _s, lb, st in _seen(rows)
    ]


def _failures(rows: list[Row]) -> list[str]:
    return [
        f'upwatch_probe_failures_total{{{lb},reason="{reason}"}} {n}\n'
        for _s, lb, st in _seen(rows)
        for reason, n in st.failures_by_reason.items()
    ]


_RENDERERS = (
    ("upwatch_site_up", _up),
    ("upwatch_probe_success", _success),
    ("upwatch_site_state_change_timestamp_seconds", _change),
    ("upwatch_site_failure_reason", _reason),
    ("upwatch_site_maintenance", _maintenance),
    ("upwatch_site_interval_seconds", _interval),
    ("upwatch_probe_http_status_code", _status),
    ("upwatch_probe_tls_cert_expiry_timestamp_seconds", _tls),
    ("upwatch_probe_duration_seconds", _duration),
    ("upwatch_probes_total", _probes),
    ("upwatch_probe_failures_total", _failures),
)


class SiteRenderer:
    """Renders the per-site families. Build one per site list (on each reload).

    ``location`` (``--location``): when set, every per-site series carries
    ``location="<name>"`` right after ``site``, so that Prometheus keeps the series
    of one site probed from several locations apart and the rules can count the
    locations that see it down. When unset, no location label at all (not an empty
    one): a single-location exporter's output is what it always was."""

    def __init__(self, sites: Iterable[Site], location: str | None = None) -> None:
        self.sites = tuple(sites)
        self._by_id = {s.id: s for s in self.sites}
        # site id -> (the state, its version, one string per family of _RENDERERS)
        self._cache: dict[str, tuple[SiteState | None, int, tuple[str, ...]]] = {}
        where = f',location="{escape(location)}"' if location else ""
        self.labels = {s.id: f'site="{escape(s.id)}"{where}' for s in self.sites}
        self.info = {}
        for s in self.sites:
            pairs = [("site", s.id)]
            pairs += [("location", location)] if location else []
            pairs += [("name", s.display_name), ("url", s.url), ("type", s.kind)]
            pairs += list(s.labels)
            body = ",".join(f'{k}="{escape(v)}"' for k, v in pairs)
            self.info[s.id] = f"upwatch_site_info{{{body}}} 1\n"

    def site_lines(self, site: Site, state: SiteState | None) -> tuple[str, ...]:
        """One site's lines of each per-site family (in _RENDERERS order), rendered
        again only when its state changed since the last call."""
        version = -1 if state is None else state.version
        hit = self._cache.get(site.id)
        if hit is not None and hit[0] is state and hit[1] == version:
            return hit[2]
        row = [(site, self.labels[site.id], state)]
        lines = tuple("".join(render(row)) for _name, render in _RENDERERS)
        self._cache[site.id] = (state, version, lines)
        return lines

    def update(self, site_id: str, state: SiteState) -> None:
        """Render a site's lines now, as its probe result arrives: a scrape then only
        joins ready strings, so its time does not grow with the work of rendering
        (issue 2: GET /metrics of 10,000 sites within 300 ms while probing)."""
        site = self._by_id.get(site_id)
        if site is not None:
            self.site_lines(site, state)

    def chunks(self, states: Mapping[str, SiteState], size: int = 1000) -> Iterator[str]:
        """The exposition in pieces of at most ``size`` sites of one family, so that a
        caller can hand the event loop back between pieces and never hold the whole
        text in memory at once. Each site's lines come from site_lines(): rendered
        when its result arrived (update()), or now if it changed since."""
        lines = [self.site_lines(s, states.get(s.id)) for s in self.sites]
        for family, (name, _render) in enumerate(_RENDERERS):
            yield _head(name)
            for i in range(0, len(lines), size):
                piece = "".join(site[family] for site in lines[i : i + size])
                if piece:
                    yield piece
        yield _head("upwatch_site_info")
        for i in range(0, len(self.sites), size):
            yield "".join(self.info[s.id] for s in self.sites[i : i + size])

    def render(self, states: Mapping[str, SiteState]) -> str:
        return "".join(self.chunks(states))


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

    def set_identity(self, shard: tuple[int, int], location: str | None) -> None:
        """``upwatch_exporter_info{shard="1/2",location="eu"} 1``: which shard of
        which location this exporter is (no ``location`` label without
        ``--location``), so that dashboards can list the locations and the shards."""
        labels = {"shard": f"{shard[0]}/{shard[1]}"}
        if location:
            labels["location"] = location
        Gauge(
            "upwatch_exporter_info",
            "Which shard of which location this exporter is (always 1).",
            list(labels),
            registry=self.registry,
        ).labels(**labels).set(1)

    def render(self) -> str:
        return generate_latest(self.registry).decode()
