"""Upwatch itself: the exporters, the alert path and the notifications."""

from __future__ import annotations

from typing import Any

from grafana import kit
from grafana.kit import q

UID = "upwatch-self"
EXPORTER = 'job="upwatch-exporter"'
ADMIN = 'job="upwatch-admin"'
RI = "$__rate_interval"
# Every exporter that reported in the last hour, with its --location and --shard (1).
INFO = "max by (instance, location, shard) (last_over_time(upwatch_exporter_info[1h]))"

OK_FAILED = {1: ("OK", "green"), 0: ("FAILED", "red")}


def build() -> dict[str, Any]:
    d = kit.dashboard(
        UID,
        "Upwatch / Upwatch itself",
        "The monitoring stack's own health: exporters (their locations and shards, "
        "schedule lag, probes per second, site-list reloads), alerts, and notifications "
        "sent and failed.",
        "now-3h",
        "30s",
    )

    d = d.with_row(kit.row("Exporters"))
    d = d.with_panel(
        kit.stat_panel(
            "Exporters up",
            q(f"sum(up{{{EXPORTER}}})", "up", instant=True),
            q(f"count(up{{{EXPORTER}}})", "configured", instant=True),
            description="Exporters Prometheus scrapes successfully, of those configured.",
            steps=[(None, "red"), (1, "green")],
            text_mode="value_and_name",
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Site list reload",
            q("min(upwatch_exporter_config_last_reload_successful)", instant=True),
            description="FAILED: an exporter rejected its last site list (it keeps the "
            "previous one). Its /healthz shows the errors.",
            mappings=OK_FAILED,
            steps=[(None, "text")],
            color_mode="background",
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Last good reload",
            q(
                "time() - min(upwatch_exporter_config_last_reload_success_timestamp_seconds)",
                instant=True,
            ),
            unit="s",
            description="Time since the oldest of the exporters' last successful reloads.",
            steps=[(None, "blue")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Sites probed",
            q("sum(upwatch_exporter_sites)", instant=True),
            steps=[(None, "blue")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Probe rate",
            q("sum(instance:upwatch_probes:rate5m)", instant=True),
            unit="reqps",
            steps=[(None, "blue")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Schedule lag p99",
            q(
                "histogram_quantile(0.99, sum by (le) "
                f"(rate(upwatch_exporter_schedule_lag_seconds_bucket[{RI}])))",
                instant=True,
            ),
            unit="s",
            description="Delay between when a probe was due and when it started.",
            steps=[(None, "green"), (1, "orange"), (5, "red")],
        )
    )

    d = d.with_panel(
        kit.table_panel(
            "Exporters",
            kit.table_q(
                f"{INFO}\n  * on (instance) group_left () max by (instance) (up{{{EXPORTER}}})"
            ),
            kit.table_q(
                f"max by (instance) (upwatch_exporter_sites)\n"
                f"  * on (instance) group_left (location, shard) {INFO}"
            ),
            h=6,
            description="Every exporter that reported in the last hour: where it probes "
            "from (--location; empty without it), which shard of the site list it has "
            "(--shard), whether Prometheus scrapes it now, and how many sites it probes.",
            transformations=[
                kit.transformation("merge"),
                kit.organize(
                    {
                        "instance": "Exporter",
                        "location": "Location",
                        "shard": "Shard",
                        "Value #A": "Scraped",
                        "Value #B": "Sites",
                    },
                    exclude=["Time"],
                    order=["location", "shard", "instance", "Value #A", "Value #B"],
                ),
            ],
            overrides=[
                (
                    "Scraped",
                    [
                        kit.prop(
                            "mappings", kit.value_map({1: ("UP", "green"), 0: ("DOWN", "red")})
                        ),
                        kit.prop("custom.cellOptions", {"type": "color-background"}),
                    ],
                ),
            ],
            sort=("Location", False),
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Probes per second",
            q(f"sum by (result) (rate(upwatch_probes_total[{RI}]))", "{{result}}"),
            q(
                f"sum by (instance) (rate(upwatch_exporter_probes_skipped_total[{RI}]))",
                "skipped {{instance}}",
            ),
            unit="reqps",
            description="skipped: a probe was due while the site's previous one still ran.",
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Schedule lag",
            *(
                q(
                    f"histogram_quantile({p}, sum by (instance, le) "
                    f"(rate(upwatch_exporter_schedule_lag_seconds_bucket[{RI}])))",
                    f"p{round(p * 100)} {{{{instance}}}}",
                )
                for p in (0.5, 0.99)
            ),
            unit="s",
        )
    )
    d = d.with_panel(
        kit.state_timeline_panel(
            "Site list reloads",
            q("upwatch_exporter_config_last_reload_successful", "{{instance}}"),
            w=12,
            h=6,
            mappings=OK_FAILED,
            steps=[(None, "text")],
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Probes in flight",
            q("sum by (instance) (upwatch_exporter_probes_in_flight)", "{{instance}}"),
            h=6,
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Scrape and render time",
            q(f"scrape_duration_seconds{{{EXPORTER}}}", "scrape {{instance}}"),
            q("upwatch_exporter_metrics_render_seconds", "render {{instance}}"),
            h=7,
            unit="s",
            description="How long Prometheus's scrape of each exporter took, and the "
            "exporter's own time to render /metrics.",
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Exporter memory",
            q(f"process_resident_memory_bytes{{{EXPORTER}}}", "memory {{instance}}"),
            h=7,
            unit="bytes",
        )
    )

    d = d.with_row(kit.row("Alerts"))
    d = d.with_panel(
        kit.table_panel(
            "Alerts now",
            kit.table_q("ALERTS"),
            w=24,
            h=7,
            description="Alerts pending or firing in Prometheus. Watchdog always fires: "
            "if it is missing, the alert rules are not being evaluated.",
            transformations=[
                kit.organize(
                    {"alertname": "Alert", "alertstate": "State", "severity": "Severity"},
                    exclude=["Time", "Value", "__name__"],
                    order=["alertname", "alertstate", "severity", "site"],
                )
            ],
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Alertmanager notifications",
            q(
                f"sum by (integration) (increase(alertmanager_notifications_total[{RI}]))",
                "sent {{integration}}",
            ),
            q(
                f"sum by (integration) (increase(alertmanager_notifications_failed_total[{RI}]))",
                "failed {{integration}}",
            ),
            description="What Alertmanager sent itself: email, and the webhook to the "
            "admin app (which then sends SMS).",
            bars=True,
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Rule evaluation failures",
            q(
                f"sum by (rule_group) (increase(prometheus_rule_evaluation_failures_total[{RI}]))",
                "{{rule_group}}",
            ),
            q(
                f"sum(increase(prometheus_notifications_dropped_total[{RI}]))",
                "alerts dropped before Alertmanager",
            ),
            bars=True,
        )
    )

    d = d.with_row(kit.row("Admin app: alerts received, SMS sent, configuration"))
    d = d.with_panel(
        kit.stat_panel(
            "Admin app up",
            q(f"min(up{{{ADMIN}}})", instant=True),
            description="Prometheus can scrape the admin app's /metrics.",
            mappings={1: ("UP", "green"), 0: ("DOWN", "red")},
            steps=[(None, "text")],
            color_mode="background",
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Config reload",
            q("max(upwatch_admin_config_reload_pending)", instant=True),
            description="PENDING: the admin app wrote a new sites.yml or alertmanager.yml "
            "but the exporter or Alertmanager has not reloaded it yet (it retries).",
            mappings={0: ("OK", "green"), 1: ("PENDING", "orange")},
            steps=[(None, "text")],
            color_mode="background",
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "Open incidents",
            q("sum(upwatch_admin_incidents_open)", instant=True),
            steps=[(None, "green"), (1, "red")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "SMS waiting for a retry",
            q("sum(upwatch_admin_notifications_pending)", instant=True),
            steps=[(None, "green"), (1, "orange")],
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "SMS sent (range)",
            q("sum(increase(upwatch_admin_notifications_total[$__range]))", instant=True),
            steps=[(None, "blue")],
            no_value="0",
        )
    )
    d = d.with_panel(
        kit.stat_panel(
            "SMS failed (range)",
            q("sum(increase(upwatch_admin_notifications_failed_total[$__range]))", instant=True),
            steps=[(None, "green"), (1, "red")],
            no_value="0",
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Alertmanager webhooks received",
            q(
                f"sum by (result) (increase(upwatch_admin_webhooks_total[{RI}]))",
                "{{result}}",
            ),
            q(
                f"sum by (alertname, status) (increase(upwatch_admin_alerts_total[{RI}]))",
                "{{alertname}} {{status}}",
            ),
            bars=True,
            description="Calls of the admin app's hook by answer (ok, retry, invalid, "
            "unauthorized, ...), and the alerts they carried.",
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Notifications by channel",
            q(
                f"sum by (channel, provider) (increase(upwatch_admin_notifications_total[{RI}]))",
                "{{channel}} via {{provider}}",
            ),
            w=6,
            bars=True,
            stack=True,
        )
    )
    d = d.with_panel(
        kit.timeseries_panel(
            "Failed notifications",
            q(
                "sum by (channel, provider, retryable) "
                f"(increase(upwatch_admin_notifications_failed_total[{RI}]))",
                "{{channel}} via {{provider}} (retryable={{retryable}})",
            ),
            w=6,
            bars=True,
            stack=True,
            description="retryable=true: retried later (5xx, timeouts); false: given up "
            "(bad number, rejected by the provider).",
        )
    )
    return kit.finish(d)
