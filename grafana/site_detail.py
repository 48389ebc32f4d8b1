"""Site detail: one site (``$site``) in depth, with its uptime against ``$slo``."""

from __future__ import annotations

from typing import Any

from grafana import kit
from grafana import promql as pq
from grafana.kit import q, table_q

UID = "upwatch-site"
SEL = 'site="$site"'
DAY = 86400
UPTIME = pq.uptime("$__range", SEL)
DOWNTIME = pq.downtime_seconds(UPTIME, "$__range_s")
INCIDENTS = pq.incidents("$__range", SEL)


def build() -> dict[str, Any]:
    d = (
        kit.dashboard(
            UID,
            "Upwatch / Site detail",
            "One site: its state over time, latency, status codes, failure reasons, "
            "TLS certificate, and uptime and error budget against the SLO.",
            "now-24h",
            "30s",
        )
        .with_variable(kit.site_variable())
        .with_variable(kit.slo_variable())
    )

    d = d.with_row(kit.row("$site now"))
    d = d.with_panel(
        kit.stat_panel(
            "Status",
            q(pq.status_by_site(SEL), instant=True),
            mappings=pq.STATUS_MAPPINGS,
            steps=[(None, "text")],
            color_mode="background",
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "In this state for",
            q(pq.seconds_in_state(SEL), instant=True),
            unit="s",
            description="Since the last up/down change (for an outage: its first failed probe).",
            steps=[(None, "blue")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Last status code",
            q(pq.by_site("upwatch_probe_http_status_code", SEL), instant=True),
            description="HTTP status of the last probe; 0 when no response arrived.",
            mappings={0: ("no response", "red")},
            steps=[(None, "red"), (200, "green"), (300, "blue"), (400, "orange"), (500, "red")],
            no_value="TCP",
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Last failure",
            q(pq.last_failure_reason(SEL), "{{reason}}", instant=True),
            description="Why the last probe failed, or none when it succeeded.",
            text_mode="name",
            steps=[(None, "red")],
            mappings={1: ("failed", "red")},
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "TLS certificate expires in",
            q(pq.tls_seconds_left(SEL), instant=True),
            unit="s",
            steps=[(None, "red"), (7 * DAY, "orange"), (21 * DAY, "green")],
            no_value="not HTTPS",
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "TLS certificate expiry date",
            q(
                f"{pq.by_site('upwatch_probe_tls_cert_expiry_timestamp_seconds', SEL, 'min')} * 1000",
                instant=True,
            ),
            unit="dateTimeAsIso",
            steps=[(None, "text")],
            no_value="not HTTPS",
        )
    )

    d = d.with_row(kit.row("Uptime over the dashboard range, against the $slo% SLO"))
    d = d.with_panel(
        kit.stat_panel(
            "Uptime",
            q(UPTIME, instant=True),
            unit="percentunit",
            decimals=3,
            steps=[(None, "red"), (0.99, "orange"), (0.999, "green")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Error budget remaining",
            q(pq.error_budget_remaining(UPTIME, "$slo"), instant=True),
            unit="percentunit",
            decimals=1,
            description="The share of the downtime the SLO allows over the dashboard range "
            "that is not spent yet. Below 0: the SLO is missed.",
            steps=[(None, "red"), (0, "orange"), (0.25, "green")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Downtime",
            q(DOWNTIME, instant=True),
            unit="s",
            steps=[(None, "green"), (1, "orange")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Allowed downtime (SLO)",
            q("vector((1 - $slo / 100) * $__range_s)", instant=True),
            unit="s",
            steps=[(None, "blue")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Incidents",
            q(INCIDENTS, instant=True),
            description="Outages that began in the dashboard range.",
            steps=[(None, "green"), (1, "orange")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Mean time to recovery",
            q(pq.mttr_seconds(DOWNTIME, INCIDENTS), instant=True),
            unit="s",
            steps=[(None, "blue")],
            no_value="no incidents",
        )
    )

    d = d.with_row(kit.row("History"))
    d = d.with_panel(
        kit.state_timeline_panel(
            "State",
            q(pq.status_by_site(SEL), "state"),
            q(pq.by_site("upwatch_probe_success", SEL), "last probe"),
            h=5,
            description="state: UP/DOWN after confirmations (or MAINTENANCE); last probe: "
            "the raw result of each probe.",
            mappings=pq.STATUS_MAPPINGS,
            steps=[(None, "text")],
            overrides=[
                (
                    "last probe",
                    [
                        kit.prop(
                            "mappings", kit.value_map({1: ("ok", "green"), 0: ("failed", "red")})
                        )
                    ],
                )
            ],
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Uptime and error budget",
            q(pq.uptime_ratio("1h", SEL), "uptime (1 h window)"),
            q(
                pq.by_site("site:upwatch_probe_success:ratio_rate5m", SEL),
                "probes that succeeded (5 min, before confirmations)",
            ),
            q("vector($slo / 100)", "SLO"),
            unit="percentunit",
            max_=1,
            description="Uptime over a sliding hour (confirmed outages only), the raw "
            "share of successful probes (a single failed probe shows here), and the SLO.",
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Probe results",
            q(pq.probes_by_result("$__rate_interval", SEL), "{{result}}"),
            unit="reqps",
            bars=True,
            stack=True,
        )
    )

    d = d.with_row(kit.row("Latency"))
    d = d.with_panel(
        kit.heatmap_panel(
            "Probe duration heatmap",
            q(pq.latency_heatmap("$__rate_interval", SEL), "{{le}}", fmt="heatmap"),
            description="Probes per duration bucket (5 ms .. 10 s).",
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Probe duration p50 / p95 / p99",
            q(pq.latency_quantile(0.5, "$__rate_interval", SEL), "p50"),
            q(pq.latency_quantile(0.95, "$__rate_interval", SEL), "p95"),
            q(pq.latency_quantile(0.99, "$__rate_interval", SEL), "p99"),
            q(
                pq.by_site("site:upwatch_probe_duration_seconds:slow_threshold", SEL),
                "SiteSlow threshold (p95)",
            ),
            unit="s",
            legend_calcs=["mean", "max", "lastNotNull"],
        )
    )

    d = d.with_row(kit.row("Responses and failures"))
    d = d.with_panel(
        kit.state_timeline_panel(
            "HTTP status codes",
            q(pq.by_site("upwatch_probe_http_status_code", SEL), "status"),
            w=12,
            h=8,
            description="Status of each probe; 0 when no response arrived (timeout, refused, "
            "TLS or DNS error).",
            mappings={0: ("no response", "red")},
            steps=[(None, "red"), (200, "green"), (300, "blue"), (400, "orange"), (500, "red")],
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Failures by reason",
            q(pq.failures_by_reason("$__rate_interval", SEL), "{{reason}}"),
            w=6,
            bars=True,
            stack=True,
        )
    )
    d = d.with_panel(
        kit.pie_panel(
            "Failure reasons over the range",
            q(pq.failures_by_reason("$__range", SEL), "{{reason}}", instant=True),
            w=6,
        )
    )
    d = d.with_panel(
        kit.table_panel(
            "Site",
            table_q(
                f"max by (site, name, url, type) (upwatch_site_info{{{SEL}}})\n"
                f"  * on (site) group_left {pq.by_site('upwatch_site_interval_seconds', SEL)}"
            ),
            h=4,
            description="The site as the exporter has it (from sites.yml), with its interval.",
            transformations=[
                kit.organize(
                    {"Value": "Interval", "name": "Name", "url": "URL", "type": "Check"},
                    exclude=["Time"],
                    order=["site", "name", "url", "type", "Value"],
                ),
            ],
            overrides=[("Interval", [kit.prop("unit", "s")])],
        )
    )
    return kit.finish(d)
