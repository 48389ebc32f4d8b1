"""The PromQL behind the dashboards, one function per question, so that every
dashboard asks a question the same way.

``sel`` is a label selector body without braces (``site="$site"``, ``site=~"$site"``
or empty). Per-site results are aggregated ``by (site)`` first, so that several
exporters (shards) or a second scrape job never double a site.
"""

from __future__ import annotations

# Values of the combined status (status_by_site): one scale for tiles and timelines.
STATUS_PENDING = -1  # configured, no result yet
STATUS_DOWN = 0
STATUS_UP = 1
STATUS_MAINTENANCE = 2
STATUS_MAPPINGS = {
    STATUS_UP: ("UP", "green"),
    STATUS_DOWN: ("DOWN", "red"),
    STATUS_MAINTENANCE: ("MAINTENANCE", "blue"),
    STATUS_PENDING: ("PENDING", "text"),
}


def s(metric: str, sel: str = "") -> str:
    """``metric{sel}``."""
    return f"{metric}{{{sel}}}" if sel else metric


def by_site(metric: str, sel: str = "", agg: str = "max") -> str:
    return f"{agg} by (site) ({s(metric, sel)})"


def named(expr: str, labels: str = "name") -> str:
    """``expr`` (one series per site) with the site's human labels joined on."""
    return (
        f"({expr})\n  * on (site) group_left ({labels})\n"
        f"  max by (site, {labels}) (upwatch_site_info)"
    )


# --------------------------------------------------------------------------- state


def status_by_site(sel: str = "") -> str:
    """2 maintenance, 1 up, 0 down, -1 no result yet."""
    maint = by_site("upwatch_site_maintenance", sel)
    up = by_site("upwatch_site_up", sel)
    return f"(2 * {maint} == 2)\n  or on (site) {up}\n  or on (site) ({maint} - 1)"


def down_not_maintenance(sel: str = "") -> str:
    """Sites down now (value 0), not counting those in maintenance."""
    return (
        f"{by_site('upwatch_site_up', sel)} == 0\n"
        f"  unless on (site) {by_site('upwatch_site_maintenance', sel)} == 1"
    )


def count_or_zero(expr: str) -> str:
    return f"count(\n  {expr}\n) or vector(0)"


def up_not_maintenance(sel: str = "") -> str:
    return (
        f"{by_site('upwatch_site_up', sel)} == 1\n"
        f"  unless on (site) {by_site('upwatch_site_maintenance', sel)} == 1"
    )


def seconds_in_state(sel: str = "") -> str:
    """Seconds since the site's last up/down change."""
    return f"time() - {by_site('upwatch_site_state_change_timestamp_seconds', sel)}"


def last_failure_reason(sel: str = "") -> str:
    """The reason the last probe failed, or ``none`` when it succeeded."""
    ok = f"{by_site('upwatch_probe_success', sel)} == 1"
    return (
        f"max by (site, reason) ({s('upwatch_site_failure_reason', sel)})\n"
        f'  or on (site) label_replace({ok}, "reason", "none", "", "")'
    )


# --------------------------------------------------------------------------- uptime
#
# Uptime comes from the recording rules (prometheus/rules/recording.yml):
# ``site:upwatch_site_up:unless_maintenance`` is 1/0 per site with maintenance and
# unknown time left out; 5-minute tiles of it (sums and counts) make long windows
# cheap; ``site:upwatch_uptime:ratio_{1h,24h,7d,30d}`` are the ratios.

STATE = "site:upwatch_site_up:unless_maintenance"
TILE_SUM = "site:upwatch_site_up:sum_over_time5m"
TILE_COUNT = "site:upwatch_site_up:count_over_time5m"


def uptime_ratio(window: str, sel: str = "") -> str:
    """A recorded ratio: window is 1h, 24h, 7d or 30d."""
    return s(f"site:upwatch_uptime:ratio_{window}", sel)


def uptime(window: str, sel: str = "") -> str:
    """Share of the window the site was up (after confirmations, maintenance left
    out), 0..1, exact, from the 15 s state: for one site or short windows."""
    return f"avg by (site) (avg_over_time({s(STATE, sel)}[{window}]))"


def uptime_tiled(window: str, sel: str = "") -> str:
    """The same from the 5-minute tiles: cheap for every site over 30 days; the
    1 h ratio while no tile exists yet (the first minutes of a new install)."""
    return (
        f"(\n    sum by (site) (sum_over_time({s(TILE_SUM, sel)}[{window}]))\n"
        f"  / sum by (site) (sum_over_time({s(TILE_COUNT, sel)}[{window}]))\n)\n"
        f"or max by (site) ({uptime_ratio('1h', sel)})"
    )


def downtime_seconds(uptime_expr: str, window_seconds: str) -> str:
    return f"(1 - (\n{uptime_expr}\n)) * {window_seconds}"


def incidents(window: str, sel: str = "") -> str:
    """Outages that began in the window: up->down changes. Of the k changes of
    ``upwatch_site_up`` in the window, floor((k + 1 - up_now) / 2) are downs (the
    changes alternate, and the last one is a down exactly when the site is down)."""
    changes = f"sum by (site) (changes({s('upwatch_site_up', sel)}[{window}]))"
    up_now = f"max by (site) (last_over_time({s('upwatch_site_up', sel)}[{window}]))"
    return f"floor(({changes} + 1 - {up_now}) / 2)"


def mttr_seconds(downtime_expr: str, incidents_expr: str) -> str:
    """Mean time to recovery: downtime over the window / incidents (none if 0)."""
    return f"{downtime_expr}\n  / ({incidents_expr} > 0)"


def error_budget_remaining(uptime_expr: str, slo_percent: str) -> str:
    """1 = none of the budget spent, 0 = all of it, below 0 = SLO missed."""
    return f"1 - (1 - (\n{uptime_expr}\n)) / (1 - {slo_percent} / 100)"


# --------------------------------------------------------------------------- latency


def latency_quantile(q: float, window: str, sel: str = "", by: str = "site") -> str:
    """From the raw histogram: follows the dashboard's resolution; for one site."""
    bucket = s("upwatch_probe_duration_seconds_bucket", sel)
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({bucket}[{window}])))"


def recorded_quantile(p: int, sel: str = "") -> str:
    """The recorded 5-minute quantile per site (p = 50, 95 or 99), in seconds."""
    return f"max by (site) ({s(f'site:upwatch_probe_duration_seconds:p{p}_5m', sel)})"


def latency_heatmap(window: str, sel: str = "") -> str:
    bucket = s("upwatch_probe_duration_seconds_bucket", sel)
    return f"sum by (le) (increase({bucket}[{window}]))"


# --------------------------------------------------------------------------- TLS


def tls_seconds_left(sel: str = "") -> str:
    return f"{by_site('upwatch_probe_tls_cert_expiry_timestamp_seconds', sel, 'min')} - time()"


# --------------------------------------------------------------------------- probes


def failures_by_reason(window: str, sel: str = "") -> str:
    return f"sum by (reason) (increase({s('upwatch_probe_failures_total', sel)}[{window}]))"


def probes_by_result(window: str, sel: str = "") -> str:
    return f"sum by (result) (rate({s('upwatch_probes_total', sel)}[{window}]))"
