"""Overview: every site at a glance."""

from __future__ import annotations

from typing import Any

from grafana import kit
from grafana import promql as pq
from grafana.kit import q, table_q

UID = "upwatch-overview"
DAY = 86400


def build() -> dict[str, Any]:
    d = kit.dashboard(
        UID,
        "Upwatch / Overview",
        "Every monitored site: its state now, sites down, uptime over 24 h, 7 d and 30 d, "
        "the slowest sites and the certificates that expire first.",
        "now-6h",
        "30s",
    )

    d = d.with_row(kit.row("Now"))
    d = d.with_panel(
        kit.stat_panel(
            "Sites",
            q("count(max by (site) (upwatch_site_info))", instant=True),
            description="Sites the exporters probe (each counted once, whatever the number "
            "of shards and locations).",
            steps=[(None, "blue")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Up",
            q(pq.count_or_zero(pq.up_not_maintenance()), instant=True),
            description="Sites up by their quorum of locations, not counting maintenance.",
            steps=[(None, "green")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Down",
            q(pq.count_or_zero(pq.down_not_maintenance()), instant=True),
            description="Sites down after their confirmations, as seen by a quorum of the "
            "locations that probe them (what pages), not counting maintenance.",
            steps=[(None, "green"), (1, "red")],
            color_mode="background",
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "In maintenance",
            q("count(max by (site) (upwatch_site_maintenance) == 1) or vector(0)", instant=True),
            steps=[(None, "text"), (1, "blue")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Uptime, all sites (24 h)",
            q(f"avg({pq.uptime_ratio('24h')})", instant=True),
            unit="percentunit",
            decimals=3,
            steps=[(None, "red"), (0.99, "orange"), (0.999, "green")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Certificates expiring in 14 d",
            q(
                f"count(({pq.tls_seconds_left()}) < {14 * DAY}) or vector(0)",
                instant=True,
            ),
            steps=[(None, "green"), (1, "orange")],
        )
    )

    d = d.with_panel(
        kit.stat_panel(
            "Status per site",
            q(pq.named(pq.status_by_site()), "{{name}}", instant=True),
            w=24,
            h=8,
            description="UP, DOWN (after the site's confirmations, seen by a quorum of its "
            "locations: what pages), MAINTENANCE (probed, pages nobody) or PENDING (no "
            "result yet). Click a tile for the site's detail, and each location's view.",
            mappings=pq.STATUS_MAPPINGS,
            steps=[(None, "text")],
            color_mode="background",
            text_mode="value_and_name",
            links=[kit.site_link()],
        )
    )
    d = d.with_panel(
        kit.table_panel(
            "Sites down now",
            table_q(pq.named(pq.down_reasons(), "name, url")),
            h=7,
            description="Sites down now by their quorum of locations (not in maintenance), "
            "longest outage first, with the reason the last probe of the locations that see "
            "it down failed (a row per reason when they differ).",
            transformations=[
                kit.organize(
                    {"Value": "Down for", "reason": "Last failure", "name": "Name", "url": "URL"},
                    exclude=["Time"],
                    order=["site", "name", "url", "Value", "reason"],
                ),
            ],
            overrides=[("Down for", [kit.prop("unit", "s")])],
            sort=("Down for", True),
            links=[kit.site_link(table=True)],
        )
    )

    d = d.with_row(kit.row("Uptime"))
    d = d.with_panel(
        kit.table_panel(
            "Uptime per site",
            table_q(pq.named(pq.uptime_ratio("24h"), "name, url")),
            table_q(pq.named(pq.uptime_ratio("7d"), "name, url")),
            table_q(pq.named(pq.uptime_ratio("30d"), "name, url")),
            h=10,
            description="Share of the time each site was up (after its confirmations; time in "
            "maintenance left out). Lowest 24 h uptime first.",
            transformations=[
                kit.transformation("merge"),
                kit.organize(
                    {"Value #A": "24 h", "Value #B": "7 d", "Value #C": "30 d", "name": "Name"},
                    exclude=["Time"],
                    order=["site", "name", "url", "Value #A", "Value #B", "Value #C"],
                ),
            ],
            overrides=[
                (
                    col,
                    [
                        kit.prop("unit", "percentunit"),
                        kit.prop("decimals", 3),
                        kit.prop("custom.cellOptions", {"type": "color-text"}),
                        kit.prop("color", {"mode": "thresholds"}),
                        kit.prop(
                            "thresholds",
                            kit.thresholds(
                                (None, "red"), (0.99, "orange"), (0.999, "green")
                            ).build(),
                        ),
                    ],
                )
                for col in ("24 h", "7 d", "30 d")
            ],
            sort=("24 h", False),
            links=[kit.site_link(table=True)],
        )
    )

    d = d.with_row(kit.row("Latency and certificates"))
    d = d.with_panel(
        kit.bargauge_panel(
            "Slowest sites (p95, last 5 min)",
            q(f"topk(10, {pq.recorded_quantile(95)} > 0)", "{{site}}", instant=True),
            unit="s",
            description="The ten sites with the highest 95th percentile probe duration.",
            steps=[(None, "green"), (1, "orange"), (3, "red")],
            links=[kit.site_link()],
        )
    )
    d = d.with_panel(
        kit.bargauge_panel(
            "Certificates expiring soonest",
            q(f"bottomk(10, {pq.tls_seconds_left()})", "{{site}}", instant=True),
            unit="s",
            description="Time left on the TLS certificate of the ten HTTPS sites whose "
            "certificates expire first.",
            steps=[(None, "red"), (7 * DAY, "orange"), (21 * DAY, "green")],
            min_=None,
            links=[kit.site_link()],
        )
    )
    return kit.finish(d)
