"""Site detail: one site (``$site``) in depth, with its uptime against ``$slo``.

Up/down, uptime and incidents are the site's quorum verdict (what pages), whatever
``$location`` says; the probe details (status codes, latency, failures, TLS) and the
per-location panels cover the locations picked in ``$location`` (All by default;
exporters without ``--location`` have no location and always show)."""

from __future__ import annotations

from typing import Any

from grafana import kit
from grafana import promql as pq
from grafana.kit import q, table_q

UID = "upwatch-site"
SEL = 'site="$site"'
LSEL = 'site="$site",location=~"$location"'
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
        .with_variable(kit.location_variable())
        .with_variable(kit.slo_variable())
    )

    d = d.with_row(kit.row("$site now"))
    d = d.with_panel(
        kit.stat_panel(
            "Status",
            q(pq.status_by_site(SEL), instant=True),
            description="DOWN when a quorum of the locations that probe the site sees it "
            "down (what pages), else UP; MAINTENANCE; PENDING before the first result.",
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
            description="Down: since the quorum of locations saw it down (as the alert's "
            "down since). Up: since the latest up/down change of any location.",
            steps=[(None, "blue")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Last status code",
            q(pq.by_site("upwatch_probe_http_status_code", LSEL), instant=True),
            description="HTTP status of the last probe; 0 when no response arrived.",
            mappings={0: ("no response", "red")},
            steps=[(None, "red"), (200, "green"), (300, "blue"), (400, "orange"), (500, "red")],
            no_value="TCP",
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Last failure",
            q(pq.last_failure_reason(LSEL), "{{reason}}", instant=True),
            description="Why the last probe failed, or none when it succeeded.",
            text_mode="name",
            steps=[(None, "red")],
            mappings={1: ("failed", "red")},
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "TLS certificate expires in",
            q(pq.tls_seconds_left(LSEL), instant=True),
            unit="s",
            steps=[(None, "red"), (7 * DAY, "orange"), (21 * DAY, "green")],
            no_value="not HTTPS",
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "TLS certificate expiry date",
            q(
                f"{pq.by_site('upwatch_probe_tls_cert_expiry_timestamp_seconds', LSEL, 'min')} * 1000",
                instant=True,
            ),
            unit="dateTimeAsIso",
            steps=[(None, "text")],
            no_value="not HTTPS",
        )
    )

    d = d.with_row(kit.row("Locations: $location"))
    d = d.with_panel(
        kit.stat_panel(
            "Locations seeing it down",
            q(pq.locations_down(SEL), "see it down", instant=True),
            q(pq.s("site:upwatch_site_locations:count", SEL), "probe it", instant=True),
            q(pq.s("site:upwatch_site_locations_down:quorum", SEL), "must, to page", instant=True),
            w=6,
            h=6,
            description="How many of the locations that probe the site see it down now, "
            "how many probe it (held verdicts included), and how many must see it down for "
            "SiteDown to page (the site's quorum: any, majority or all). Without --location "
            "the exporters are one location.",
            steps=[(None, "blue")],
            text_mode="value_and_name",
        )
    )
    d = d.with_panel(
        kit.table_panel(
            "Locations now",
            table_q(pq.location_verdict_held(LSEL)),
            table_q(
                pq.located(
                    "time() - max by (site, location, instance) "
                    f"(last_over_time({pq.s('upwatch_site_state_change_timestamp_seconds', LSEL)}[1h]))"
                )
            ),
            w=18,
            h=6,
            description="Each location's own verdict, the one the quorum counts: kept for "
            "an hour while its exporter is not reporting. Location is the exporter's "
            "address when the exporters run without --location.",
            transformations=[
                kit.transformation("merge"),
                kit.organize(
                    {
                        "location": "Location",
                        "instance": "Exporter",
                        "Value #A": "Verdict",
                        "Value #B": "In this state for",
                    },
                    exclude=["Time", "site", "job", "__name__"],
                    order=["location", "instance", "Value #A", "Value #B"],
                ),
            ],
            overrides=[
                (
                    "Verdict",
                    [
                        kit.prop(
                            "mappings", kit.value_map({1: ("UP", "green"), 0: ("DOWN", "red")})
                        ),
                        kit.prop("custom.cellOptions", {"type": "color-background"}),
                    ],
                ),
                ("In this state for", [kit.prop("unit", "s")]),
            ],
            sort=("Location", False),
        )
    )
    d = d.with_panel(
        kit.state_timeline_panel(
            "State per location",
            q(pq.location_state(LSEL), "{{location}}"),
            w=12,
            h=6,
            description="UP/DOWN after confirmations as each location sees the site (or "
            "MAINTENANCE). The site is down (and pages) only when its quorum of locations "
            "sees it down.",
            mappings=pq.STATUS_MAPPINGS,
            steps=[(None, "text")],
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Probe duration p95 per location",
            q(pq.location_latency_quantile(0.95, "$__rate_interval", LSEL), "{{location}}"),
            w=12,
            h=6,
            unit="s",
            description="95th percentile probe duration from each location: DNS, TCP, TLS "
            "and the response, so the distance to the site shows here.",
            legend_calcs=["mean", "max", "lastNotNull"],
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
            q(pq.by_site("upwatch_probe_success", LSEL), "last probe"),
            h=5,
            description="state: UP/DOWN by the quorum of locations, after confirmations (or "
            "MAINTENANCE); last probe: the raw result of each probe (ok when any of the "
            "selected locations' last probe succeeded).",
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
                pq.by_site("site:upwatch_probe_success:ratio_rate5m", LSEL, "min"),
                "probes that succeeded (5 min, before confirmations)",
            ),
            q("vector($slo / 100)", "SLO"),
            unit="percentunit",
            max_=1,
            description="Uptime over a sliding hour (confirmed outages by the quorum of "
            "locations), the raw share of successful probes (of the selected location that "
            "fares worst: a single failed probe shows here), and the SLO.",
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Probe results",
            q(pq.probes_by_result("$__rate_interval", LSEL), "{{result}}"),
            unit="reqps",
            bars=True,
            stack=True,
        )
    )

    d = d.with_row(kit.row("Latency"))
    d = d.with_panel(
        kit.heatmap_panel(
            "Probe duration heatmap",
            q(pq.latency_heatmap("$__rate_interval", LSEL), "{{le}}", fmt="heatmap"),
            description="Probes per duration bucket (5 ms .. 10 s), of the selected locations.",
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Probe duration p50 / p95 / p99",
            q(pq.latency_quantile(0.5, "$__rate_interval", LSEL), "p50"),
            q(pq.latency_quantile(0.95, "$__rate_interval", LSEL), "p95"),
            q(pq.latency_quantile(0.99, "$__rate_interval", LSEL), "p99"),
            q(
                pq.by_site("site:upwatch_probe_duration_seconds:slow_threshold", LSEL),
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
            q(pq.by_site("upwatch_probe_http_status_code", LSEL), "status"),
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
            q(pq.failures_by_reason("$__rate_interval", LSEL), "{{reason}}"),
            w=6,
            bars=True,
            stack=True,
        )
    )
    d = d.with_panel(
        kit.pie_panel(
            "Failure reasons over the range",
            q(pq.failures_by_reason("$__range", LSEL), "{{reason}}", instant=True),
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
