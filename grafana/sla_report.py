"""SLA report: uptime, incidents and downtime per site over the dashboard range.

The table is what a report needs: pick the range (default: the last 30 days) and the
sites, then Inspect > Data > Download CSV.
"""

from __future__ import annotations

from typing import Any

from grafana import kit
from grafana import promql as pq
from grafana.kit import q, table_q

UID = "upwatch-sla"
SEL = 'site=~"$site"'
R, RS = "$__range", "$__range_s"
UPTIME = pq.uptime_tiled(R, SEL)
DOWNTIME = pq.downtime_seconds(UPTIME, RS)
INCIDENTS = pq.incidents(R, SEL)
P95 = f"max by (site) (avg_over_time(site:upwatch_probe_duration_seconds:p95_5m{{{SEL}}}[{R}]))"


def _pct(decimals: int = 3) -> list:
    return [kit.prop("unit", "percentunit"), kit.prop("decimals", decimals)]


def build() -> dict[str, Any]:
    d = (
        kit.dashboard(
            UID,
            "Upwatch / SLA report",
            "Uptime, incidents, downtime and mean time to recovery per site over the "
            "dashboard range, against the SLO. Inspect > Data downloads the table as CSV.",
            "now-30d",
            "",
        )
        .with_variable(kit.site_variable(multi=True, label="Sites"))
        .with_variable(kit.slo_variable())
    )

    d = d.with_row(kit.row("All selected sites"))
    d = d.with_panel(
        kit.stat_panel(
            "Mean uptime",
            q(f"avg({UPTIME})", instant=True),
            w=6,
            unit="percentunit",
            decimals=3,
            steps=[(None, "red"), (0.99, "orange"), (0.999, "green")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Sites meeting the $slo% SLO",
            q(f"count(({UPTIME}) >= $slo / 100) or vector(0)", instant=True),
            w=6,
            steps=[(None, "blue")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Incidents",
            q(f"sum({INCIDENTS})", instant=True),
            w=6,
            steps=[(None, "green"), (1, "orange")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Total downtime",
            q(f"sum({DOWNTIME})", instant=True),
            w=6,
            unit="s",
            steps=[(None, "green"), (1, "orange")],
        )
    )

    d = d.with_row(kit.row("Per site"))
    labels = "name, url"
    d = d.with_panel(
        kit.table_panel(
            "SLA per site",
            table_q(pq.named(UPTIME, labels)),
            table_q(pq.named(f"({UPTIME}) >= bool ($slo / 100)", labels)),
            table_q(pq.named(INCIDENTS, labels)),
            table_q(pq.named(DOWNTIME, labels)),
            table_q(pq.named(pq.mttr_seconds(DOWNTIME, INCIDENTS), labels)),
            table_q(pq.named(P95, labels)),
            table_q(pq.named(pq.error_budget_remaining(UPTIME, "$slo"), labels)),
            h=16,
            description="One row per site over the dashboard range. MTTR: downtime / "
            "incidents. Budget: the share of the downtime allowed by the SLO not yet spent.",
            transformations=[
                kit.transformation("merge"),
                kit.organize(
                    {
                        "name": "Name",
                        "url": "URL",
                        "Value #A": "Uptime",
                        "Value #B": "SLO met",
                        "Value #C": "Incidents",
                        "Value #D": "Downtime",
                        "Value #E": "MTTR",
                        "Value #F": "p95 latency (mean)",
                        "Value #G": "Error budget left",
                    },
                    exclude=["Time"],
                    order=[
                        "site",
                        "name",
                        "url",
                        "Value #A",
                        "Value #B",
                        "Value #C",
                        "Value #D",
                        "Value #E",
                        "Value #F",
                        "Value #G",
                    ],
                ),
            ],
            overrides=[
                (
                    "Uptime",
                    [
                        *_pct(),
                        kit.prop("custom.cellOptions", {"type": "color-text"}),
                        kit.prop("color", {"mode": "thresholds"}),
                        kit.prop(
                            "thresholds",
                            kit.thresholds(
                                (None, "red"), (0.99, "orange"), (0.999, "green")
                            ).build(),
                        ),
                    ],
                ),
                (
                    "SLO met",
                    [
                        kit.prop(
                            "mappings", kit.value_map({1: ("yes", "green"), 0: ("no", "red")})
                        ),
                        kit.prop("custom.cellOptions", {"type": "color-text"}),
                        kit.prop("color", {"mode": "thresholds"}),
                    ],
                ),
                ("Downtime", [kit.prop("unit", "s")]),
                ("MTTR", [kit.prop("unit", "s")]),
                ("p95 latency (mean)", [kit.prop("unit", "s")]),
                ("Error budget left", _pct(1)),
            ],
            sort=("Uptime", False),
            links=[kit.site_link(table=True)],
        )
    )

    d = d.with_row(kit.row("Over time"))
    d = d.with_panel(
        kit.timeseries_panel(
            "Daily uptime",
            q(pq.uptime_ratio("24h", SEL), "{{site}}"),
            w=24,
            unit="percentunit",
            max_=1,
            description="Uptime over the day before each point.",
        )
    )
    return kit.finish(d)
