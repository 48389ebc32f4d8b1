"""Small helpers over grafana-foundation-sdk shared by every Upwatch dashboard.

Every panel and every query points at one data source, the provisioned Prometheus
with uid ``prometheus`` (``grafana/provisioning/datasources/prometheus.yml``). Panel
ids are not set by hand: :func:`finish` numbers every panel of a dashboard 1..N in
layout order, and gives each query of a panel its refId (A, B, ...).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from grafana_foundation_sdk.builders import (
    bargauge,
    piechart,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import heatmap as hb
from grafana_foundation_sdk.builders import prometheus as pb
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

DATASOURCE_UID = "prometheus"
DATASOURCE_TYPE = "prometheus"
TAG = "upwatch"


def datasource() -> dm.DataSourceRef:
    return dm.DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)


# --------------------------------------------------------------------------- queries


def q(
    expr: str,
    legend: str = "",
    *,
    instant: bool = False,
    fmt: str = "time_series",
) -> pb.Dataquery:
    """A Prometheus query. ``fmt``: time_series, table or heatmap."""
    query = (
        pb.Dataquery()
        .expr(expr)
        .datasource(datasource())
        .format(pm.PromQueryFormat(fmt))
        .editor_mode(pm.QueryEditorMode.CODE)
    )
    if legend:
        query = query.legend_format(legend)
    return query.instant() if instant else query.range()


def table_q(expr: str) -> pb.Dataquery:
    """An instant query whose labels become table columns."""
    return q(expr, instant=True, fmt="table")


# --------------------------------------------------------------------------- field config


def thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    """``thresholds((None, "green"), (80, "red"))``: the first step is the base."""
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=v, color=c) for v, c in steps])
    )


def value_map(mapping: dict[float | str, tuple[str, str]]) -> list[dm.ValueMapping]:
    """``{1: ("UP", "green")}``: a value-to-text-and-colour mapping."""
    options = {
        _key(value): dm.ValueMappingResult(text=text, color=color, index=i)
        for i, (value, (text, color)) in enumerate(mapping.items())
    }
    return [dm.ValueMap(options=options)]


def _key(value: float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def prop(id_: str, value: Any) -> dm.DynamicConfigValue:
    return dm.DynamicConfigValue(id_val=id_, value=value)


def transformation(id_: str, options: dict[str, Any] | None = None) -> dm.DataTransformerConfig:
    return dm.DataTransformerConfig(id_val=id_, options=options or {})


def organize(
    rename: dict[str, str], exclude: Sequence[str] = (), order: Sequence[str] = ()
) -> dm.DataTransformerConfig:
    """Rename, hide and order table columns (the "Organize fields" transformation)."""
    return transformation(
        "organize",
        {
            "renameByName": dict(rename),
            "excludeByName": {name: True for name in exclude},
            "indexByName": {name: i for i, name in enumerate(order)},
        },
    )


def legend(placement: str = "bottom", mode: str = "list", calcs: Sequence[str] = ()) -> Any:
    return (
        cb.VizLegendOptions()
        .show_legend(True)
        .placement(cm.LegendPlacement(placement))
        .display_mode(cm.LegendDisplayMode(mode))
        .calcs(list(calcs))
    )


def reduce(calc: str = "lastNotNull", *, values: bool = False) -> cb.ReduceDataOptions:
    return cb.ReduceDataOptions().calcs([calc]).values(values).fields("")


def site_link(title: str = "Site detail", *, table: bool = False) -> db.DashboardLink:
    """A data link to Site detail from a series (its ``site`` label) or, with
    ``table``, from a table row (its ``site`` column)."""
    site = "${__data.fields.site}" if table else "${__field.labels.site}"
    return (
        db.DashboardLink(title)
        .url(f"/d/upwatch-site/upwatch-site-detail?var-site={site}&${{__url_time_range}}")
        .target_blank(False)
    )


# --------------------------------------------------------------------------- panels

Query = pb.Dataquery


def _common(panel: Any, title: str, queries: Iterable[Query], w: int, h: int, description: str):
    panel = panel.title(title).datasource(datasource()).span(w).height(h)
    for query in queries:
        panel = panel.with_target(query)
    if description:
        panel = panel.description(description)
    return panel


def stat_panel(
    title: str,
    *queries: Query,
    w: int = 4,
    h: int = 4,
    unit: str = "none",
    description: str = "",
    steps: Sequence[tuple[float | None, str]] = ((None, "green"),),
    mappings: dict[float | str, tuple[str, str]] | None = None,
    color_mode: str = "value",
    text_mode: str = "auto",
    decimals: int | None = None,
    calc: str = "lastNotNull",
    links: Sequence[db.DashboardLink] = (),
    no_value: str | None = None,
) -> stat.Panel:
    panel = (
        _common(stat.Panel(), title, queries, w, h, description)
        .unit(unit)
        .thresholds(thresholds(*steps))
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .reduce_options(reduce(calc))
        .color_mode(cm.BigValueColorMode(color_mode))
        .graph_mode(cm.BigValueGraphMode.NONE)
        .text_mode(cm.BigValueTextMode(text_mode))
        .justify_mode(cm.BigValueJustifyMode.AUTO)
        .orientation(cm.VizOrientation.AUTO)
    )
    if mappings:
        panel = panel.mappings(value_map(mappings))
    if decimals is not None:
        panel = panel.decimals(decimals)
    if links:
        panel = panel.data_links(list(links))
    if no_value is not None:
        panel = panel.no_value(no_value)
    return panel


def timeseries_panel(
    title: str,
    *queries: Query,
    w: int = 12,
    h: int = 8,
    unit: str = "none",
    description: str = "",
    bars: bool = False,
    stack: bool = False,
    min_: float | None = None,
    max_: float | None = None,
    legend_calcs: Sequence[str] = (),
    steps: Sequence[tuple[float | None, str]] | None = None,
    links: Sequence[db.DashboardLink] = (),
) -> timeseries.Panel:
    panel = (
        _common(timeseries.Panel(), title, queries, w, h, description)
        .unit(unit)
        .legend(legend("bottom", "table" if legend_calcs else "list", legend_calcs))
        .tooltip(
            cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING)
        )
        .draw_style(cm.GraphDrawStyle.BARS if bars else cm.GraphDrawStyle.LINE)
        .fill_opacity(80 if bars else 10)
        .line_width(1)
        .show_points(cm.VisibilityMode.NEVER)
        .span_nulls(False)
    )
    if stack:
        panel = panel.stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL).group("A"))
    if min_ is not None:
        panel = panel.min(min_)
    if max_ is not None:
        panel = panel.max(max_)
    if steps:
        panel = panel.thresholds(thresholds(*steps)).thresholds_style(
            cb.GraphThresholdsStyleConfig().mode(cm.GraphTresholdsStyleMode.LINE)
        )
    if links:
        panel = panel.data_links(list(links))
    return panel


def state_timeline_panel(
    title: str,
    *queries: Query,
    w: int = 24,
    h: int = 5,
    description: str = "",
    mappings: dict[float | str, tuple[str, str]] | None = None,
    steps: Sequence[tuple[float | None, str]] = ((None, "green"),),
    overrides: Sequence[tuple[str, list[dm.DynamicConfigValue]]] = (),
) -> statetimeline.Panel:
    panel = (
        _common(statetimeline.Panel(), title, queries, w, h, description)
        .show_value(cm.VisibilityMode.AUTO)
        .merge_values(True)
        .align_value(cm.TimelineValueAlignment.LEFT)
        .row_height(0.9)
        .line_width(0)
        .fill_opacity(80)
        .legend(legend())
        .thresholds(thresholds(*steps))
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
    )
    if mappings:
        panel = panel.mappings(value_map(mappings))
    for name, properties in overrides:
        panel = panel.override_by_name(name, properties)
    return panel


def heatmap_panel(
    title: str, *queries: Query, w: int = 12, h: int = 8, unit: str = "s", description: str = ""
) -> hb.Panel:
    return (
        _common(hb.Panel(), title, queries, w, h, description)
        .calculate(False)
        .y_axis(hb.YAxisConfig().unit(unit).axis_placement(cm.AxisPlacement.LEFT))
        .color(
            hb.HeatmapColorOptions()
            .mode(_heatmap_mode("scheme"))
            .scheme("Oranges")
            .fill("dark-orange")
            .scale(_heatmap_scale("exponential"))
            .exponent(0.5)
            .steps(64)
            .reverse(False)
        )
        .cell_values(hb.CellValues().unit("short"))
        .filter_values(hb.FilterValueRange().le(1e-9))
        .rows_frame(hb.RowsHeatmapOptions().layout(cm.HeatmapCellLayout.LE))
        .show_legend()
        .show_tooltip()
        .show_y_histogram()
        .max_data_points(60)
    )


def _heatmap_mode(name: str) -> Any:
    from grafana_foundation_sdk.models import heatmap as hm

    return hm.HeatmapColorMode(name)


def _heatmap_scale(name: str) -> Any:
    from grafana_foundation_sdk.models import heatmap as hm

    return hm.HeatmapColorScale(name)


def table_panel(
    title: str,
    *queries: Query,
    w: int = 24,
    h: int = 8,
    description: str = "",
    transformations: Sequence[dm.DataTransformerConfig] = (),
    overrides: Sequence[tuple[str, list[dm.DynamicConfigValue]]] = (),
    sort: tuple[str, bool] | None = None,
    links: Sequence[db.DashboardLink] = (),
) -> table.Panel:
    panel = _common(table.Panel(), title, queries, w, h, description).show_header(True)
    for t in transformations:
        panel = panel.with_transformation(t)
    for name, properties in overrides:
        panel = panel.override_by_name(name, properties)
    if sort:
        panel = panel.sort_by([cb.TableSortByFieldState().display_name(sort[0]).desc(sort[1])])
    if links:
        panel = panel.data_links(list(links))
    return panel


def bargauge_panel(
    title: str,
    *queries: Query,
    w: int = 12,
    h: int = 8,
    unit: str = "none",
    description: str = "",
    steps: Sequence[tuple[float | None, str]] = ((None, "green"),),
    min_: float | None = 0,
    max_: float | None = None,
    links: Sequence[db.DashboardLink] = (),
) -> bargauge.Panel:
    panel = (
        _common(bargauge.Panel(), title, queries, w, h, description)
        .unit(unit)
        .thresholds(thresholds(*steps))
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .reduce_options(reduce())
        .display_mode(cm.BarGaugeDisplayMode.GRADIENT)
        .orientation(cm.VizOrientation.HORIZONTAL)
        .show_unfilled(True)
        .value_mode(cm.BarGaugeValueMode.COLOR)
    )
    if min_ is not None:
        panel = panel.min(min_)
    if max_ is not None:
        panel = panel.max(max_)
    if links:
        panel = panel.data_links(list(links))
    return panel


def pie_panel(
    title: str, *queries: Query, w: int = 8, h: int = 8, unit: str = "none", description: str = ""
) -> piechart.Panel:
    return (
        _common(piechart.Panel(), title, queries, w, h, description)
        .unit(unit)
        .pie_type(_pie_type("donut"))
        .reduce_options(reduce())
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.PALETTE_CLASSIC))
        .legend(
            piechart.PieChartLegendOptions()
            .show_legend(True)
            .display_mode(cm.LegendDisplayMode.TABLE)
            .placement(cm.LegendPlacement.RIGHT)
            .values([_pie_value("value"), _pie_value("percent")])
        )
    )


def _pie_type(name: str) -> Any:
    from grafana_foundation_sdk.models import piechart as pcm

    return pcm.PieChartType(name)


def _pie_value(name: str) -> Any:
    from grafana_foundation_sdk.models import piechart as pcm

    return pcm.PieChartLegendValues(name)


def row(title: str) -> db.Row:
    return db.Row(title).collapsed(False)


# --------------------------------------------------------------------------- variables


def site_variable(*, multi: bool = False, label: str = "Site") -> db.QueryVariable:
    """``$site``: every site id the exporters report (``upwatch_site_info``)."""
    var = (
        db.QueryVariable("site")
        .label(label)
        .datasource(datasource())
        .query("label_values(upwatch_site_info, site)")
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        var = var.multi(True).include_all(True).all_value(".*")
    return var


def location_variable() -> db.QueryVariable:
    """``$location``: the locations the exporters probe from (their ``--location``,
    on ``upwatch_exporter_info``), several at once, All by default. All is ``.*``,
    which also matches series without a location label: exporters run without
    ``--location`` have none, the variable then has no value but All, and the panels
    that filter on it show everything."""
    return (
        db.QueryVariable("location")
        .label("Location")
        .datasource(datasource())
        .query("label_values(upwatch_exporter_info, location)")
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(dm.VariableOption(selected=True, text=["All"], value=["$__all"]))
    )


def slo_variable() -> db.CustomVariable:
    """``$slo``: the uptime objective, in percent."""
    values = ["99", "99.5", "99.9", "99.95", "99.99"]
    return (
        db.CustomVariable("slo")
        .label("SLO (%)")
        .values(",".join(values))
        .current(dm.VariableOption(selected=True, text="99.9", value="99.9"))
    )


# --------------------------------------------------------------------------- dashboards


def dashboard(uid: str, title: str, description: str, time_from: str, refresh: str) -> db.Dashboard:
    return (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .editable()
        .timezone("browser")
        .time(time_from, "now")
        .refresh(refresh)
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .link(
            db.DashboardLink("Upwatch")
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .include_vars(False)
            .keep_time(True)
        )
    )


def finish(dash: db.Dashboard) -> dict[str, Any]:
    """The dashboard as a plain JSON-ready dict: panels numbered 1..N in layout
    order, each query given its refId (A, B, ...)."""
    data = json.loads(json.dumps(dash.build(), cls=JSONEncoder))
    for panel_id, panel in enumerate(_walk(data.get("panels", [])), start=1):
        panel["id"] = panel_id
        for i, target in enumerate(panel.get("targets") or []):
            target["refId"] = chr(ord("A") + i)
    data.pop("id", None)
    data.pop("style", None)  # deprecated
    for var in data.get("templating", {}).get("list", []):
        var.pop("id", None)  # the SDK gives every variable the same placeholder id
        if var["type"] != "interval":
            for key in ("auto", "auto_count", "auto_min"):
                var.pop(key, None)
        if var["type"] == "custom" and not var.get("options"):
            current = var.get("current", {}).get("value")
            var["options"] = [
                {"selected": value == current, "text": value, "value": value}
                for value in var["query"].split(",")
            ]
    data["annotations"] = {"list": [BUILTIN_ANNOTATIONS]}
    return data


# Grafana's own "Annotations & Alerts" entry, which it adds to every dashboard.
BUILTIN_ANNOTATIONS = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}


def _walk(panels: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _walk(panel.get("panels") or [])


def render(data: dict[str, Any]) -> str:
    """Stable text for the committed file: sorted keys, two-space indent."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
