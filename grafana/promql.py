"""The PromQL behind the dashboards, one function per question, so that every
dashboard asks a question the same way.

``sel`` is a label selector body without braces (``site="$site"``, ``site=~"$site"``
or empty). Per-site results are aggregated ``by (site)`` first, so that several
exporters (shards, locations) or a second scrape job never double a site.

Whether a site is up or down is the quorum's verdict (prometheus/rules/alerts.yml and
recording.yml): ``site:upwatch_site_down:quorum`` (the sites that page, value: down
since) and ``site:upwatch_site_up:unless_maintenance`` (1/0, what uptime counts), the
same with one location as with several. Each location's own view is in the
``per_location`` queries, whose series carry ``location`` (the exporter's
``instance`` where exporters run without ``--location``).
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


DOWN_QUORUM = "site:upwatch_site_down:quorum"
UP_QUORUM = "site:upwatch_site_up:unless_maintenance"


def status_by_site(sel: str = "") -> str:
    """2 maintenance, 0 down (a quorum of its locations sees it down: what pages),
    1 up, -1 no result yet."""
    maint = by_site("upwatch_site_maintenance", sel)
    return (
        f"(2 * {maint} == 2)\n"
        f"  or on (site) (0 * {s(DOWN_QUORUM, sel)})\n"
        f"  or on (site) {s(UP_QUORUM, sel)}\n"
        f"  or on (site) ({maint} - 1)"
    )


def down_not_maintenance(sel: str = "") -> str:
    """Sites down now per their quorum, not counting those in maintenance; the value
    is when the outage began (as the SiteDown alert has it)."""
    return (
        f"{s(DOWN_QUORUM, sel)}\n  unless on (site) {by_site('upwatch_site_maintenance', sel)} == 1"
    )


def count_or_zero(expr: str) -> str:
    return f"count(\n  {expr}\n) or vector(0)"


def up_not_maintenance(sel: str = "") -> str:
    """Sites up now per their quorum (maintenance left out by the rule)."""
    return f"{s(UP_QUORUM, sel)} == 1\n  unless on (site) {s(DOWN_QUORUM, sel)}"


def down_for_seconds(sel: str = "") -> str:
    """Seconds since the outage began, for the sites down per their quorum."""
    return f"time() - {s(DOWN_QUORUM, sel)}"


def seconds_in_state(sel: str = "") -> str:
    """Seconds since the site's last up/down change: for a site down per its quorum,
    since the quorum was reached; else since the latest change any location saw."""
    return (
        f"({down_for_seconds(sel)})\n"
        f"  or on (site) (time() - {by_site('upwatch_site_state_change_timestamp_seconds', sel)})"
    )


def down_reasons(sel: str = "") -> str:
    """Sites down now (not in maintenance), one series per failure reason that the
    locations seeing it down report (label ``reason``; ``unknown`` while none of them
    is reporting), the value how long it has been down, in seconds."""
    down = f"({down_for_seconds(sel)})\n  unless on (site) {by_site('upwatch_site_maintenance', sel)} == 1"
    reasons = (
        f"max by (site, reason) (\n    {s('upwatch_site_failure_reason', sel)} == 1\n"
        f"    and on (site, instance) {s('site_instance:upwatch_site_down_since:held', sel)}\n  )"
    )
    return (
        f"(0 * {reasons}\n  + on (site) group_left () ({down}))\n"
        f'or on (site) label_replace({down}, "reason", "unknown", "", "")'
    )


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
    """Outages that began in the window: up->down changes of the site's state by
    its quorum (``STATE``: what uptime counts, one series per site however many
    locations probe it; time in maintenance has no sample, so it is no change). Of
    the k changes in the window, floor((k + 1 - up_now) / 2) are downs (the changes
    alternate, and the last one is a down exactly when the site is down)."""
    changes = f"max by (site) (changes({s(STATE, sel)}[{window}]))"
    up_now = f"max by (site) (last_over_time({s(STATE, sel)}[{window}]))"
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


# --------------------------------------------------------------------------- locations
#
# Exporters started with --location NAME put ``location="NAME"`` on every per-site
# series; without it there is no location label at all. ``located`` gives every
# series a ``location``: its own, else its exporter's ``instance``, so that a
# ``{{location}}`` legend names each vantage point either way.


def located(expr: str) -> str:
    """``expr`` (series with ``instance``) with ``location`` set to ``instance`` where
    it has none: label_join makes "eu|host:9115" or "|host:9115", and the regex keeps
    the first non-empty part."""
    joined = f'label_join({expr}, "location", "|", "location", "instance")'
    return f'label_replace({joined}, "location", "$1", "location", "\\\\|?([^|]+).*")'


def location_state(sel: str = "") -> str:
    """Per location (and exporter): 2 maintenance, 1 up, 0 down, after
    confirmations, as that location sees the site; the live verdicts only."""
    by = "max by (site, location, instance)"
    maint = f"{by} ({s('upwatch_site_maintenance', sel)})"
    up = f"{by} ({s('upwatch_site_up', sel)})"
    return located(f"(2 * {maint} == 2)\n  or on (site, location, instance) {up}")


def location_verdict_held(sel: str = "") -> str:
    """Per location (and exporter): 1 up, 0 down, the verdict the SiteDown quorum
    counts (held for up to an hour while its exporter is not reporting)."""
    return located(
        f"max by (site, location, instance) ({s('site_instance:upwatch_site_up:held', sel)})"
    )


def location_latency_quantile(q: float, window: str, sel: str = "") -> str:
    """A probe duration quantile per location (and exporter), from the raw histogram."""
    return located(latency_quantile(q, window, sel, by="site, location, instance"))


def locations_down(sel: str = "") -> str:
    """How many locations see the site down (0 when none does)."""
    return (
        f"{s('site:upwatch_site_locations_down:count', sel)}\n"
        f"  or on (site) (0 * {s('site:upwatch_site_locations:count', sel)})"
    )
