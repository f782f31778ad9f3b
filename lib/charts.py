"""Altair chart builders for the overview and data pages, in the user's language.

Why: pages stay thin and tests can assert on a chart's ``to_dict()`` without a
browser. Every builder takes data already aggregated in DuckDB (a row per week
or per channel), so no chart sends more than a few thousand rows to the browser.
"""

from __future__ import annotations

import os
import threading
from datetime import date
from typing import Any

import altair as alt
import pandas as pd
from altair.utils import schemapi

from lib.i18n import Translator, display_channel
from lib.palette import channel_scale

TREND_METRICS: tuple[str, ...] = ("gmv", "orders", "new_customers", "spend")

# Every chart here draws aggregated rows, but a long weekly history of many channels can pass
# Altair's default 5,000-row guard; the guard protects notebooks, not an app that aggregates in SQL.
alt.data_transformers.disable_max_rows()
# Altair validates every schema object as it is created ("debug mode", for better tracebacks in
# notebooks): a third of the time to build a chart here. The finished spec of every builder is
# validated by the unit tests (``to_dict()``), so the app builds without it.
schemapi.disable_debug_mode()


def _build_schema_class_table_once() -> None:
    """Make Altair's ``from_dict`` reuse its table of schema classes instead of rebuilding it per call.

    Every shorthand string, ``alt.condition`` or ``alt.value`` passed to ``.encode()``
    goes through ``SchemaBase.from_dict``, which in Altair 6.3 rebuilds a table of all
    ~570 schema classes (a ``json.dumps`` of each): ~8 ms per call, over half the
    time to build the feasibility chart. The table depends only on the class, so it
    is built once per class (upstream: vega/altair#3547). The replacement does what
    the original does otherwise; ``tests/test_charts.py`` checks that specs are unchanged.
    """
    if getattr(schemapi.SchemaBase.from_dict, "_growth_planner_cached", False):
        return
    tables: dict[type, Any] = {}
    lock = threading.Lock()

    def from_dict(cls: Any, dct: dict[str, Any], validate: bool = True) -> Any:
        if validate:
            cls.validate(dct)
        table = tables.get(cls)
        if table is None:
            with lock:
                table = tables.get(cls) or schemapi._FromDict(cls._default_wrapper_classes())
                tables[cls] = table
        return table.from_dict(dct, cls)

    from_dict._growth_planner_cached = True  # type: ignore[attr-defined]
    schemapi.SchemaBase.from_dict = classmethod(from_dict)  # type: ignore[method-assign, assignment]


#: Altair's own ``from_dict``, kept for the benchmark's baseline (bench/bench_charts.py).
ALTAIR_FROM_DICT = schemapi.SchemaBase.__dict__["from_dict"]
if hasattr(schemapi, "_FromDict"):
    _build_schema_class_table_once()

#: Set to "1" (the test suite does) to validate every drawn chart against the Vega-Lite schema.
VALIDATE_ENV = "GROWTH_PLANNER_VALIDATE_CHARTS"
# What Altair's default theme adds to every spec (Streamlit renders with that theme switched off).
_THEME_VIEW_DEFAULTS = ("continuousWidth", "continuousHeight")


def vega_lite_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart as a Vega-Lite dict: data inline under ``datasets``, width fitted to the container.

    Why not ``st.altair_chart``: it validates the whole spec against the Vega-Lite JSON
    schema on every rerun, holding a process-wide lock (Altair's theme and data
    transformer are globals it switches) — under load the largest single cost of the
    Segments and Scenarios pages. The test suite sets ``GROWTH_PLANNER_VALIDATE_CHARTS=1``
    (tests/conftest.py), so every chart the pages draw there is validated; in the app
    the spec is only serialised, and Altair's globals are left alone. Height stays the chart's own: Streamlit's default "fit"
    both ways squeezes charts with many rows into a strip.
    """
    spec = chart.to_dict(validate=os.environ.get(VALIDATE_ENV) == "1")
    config = spec.get("config", {})
    view = config.get("view", {})
    for key in _THEME_VIEW_DEFAULTS:
        view.pop(key, None)
    if "view" in config and not view:
        del config["view"]
    if "config" in spec and not config:
        del spec["config"]
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    return spec


def weekly_trend_chart(
    weekly: pd.DataFrame, metric: str, t: Translator, highlight: tuple[date, date] | None = None
) -> alt.Chart:
    """The chosen weekly metric as an area, with the selected period shaded."""
    label = t(f"kpi.{metric}")
    frame = weekly[["week", metric]].rename(columns={metric: "value"}).dropna()
    base = alt.Chart(frame).encode(
        x=alt.X("week:T", title=t("chart.week"), axis=alt.Axis(format="%Y-%m")),
        y=alt.Y("value:Q", title=label),
        tooltip=[alt.Tooltip("week:T", title=t("chart.week_of")), alt.Tooltip("value:Q", title=label, format=",.0f")],
    )
    area = base.mark_area(opacity=0.25, line={"strokeWidth": 2}, color="#E4572E")
    layers: list[alt.Chart] = []
    if highlight:
        band = pd.DataFrame({"start": [pd.Timestamp(highlight[0])], "end": [pd.Timestamp(highlight[1])]})
        layers.append(
            alt.Chart(band).mark_rect(opacity=0.12, color="#4C78A8").encode(x="start:T", x2="end:T")
        )
    layers.append(area)
    return alt.layer(*layers).properties(height=280, title=t("chart.weekly_title", metric=label))


def channel_mix_chart(mix: pd.DataFrame, t: Translator) -> alt.Chart:
    """Share of GMV per channel as bars in the channel's colour; share of spend as a black tick."""
    frame = mix.copy()
    frame["channel_label"] = [display_channel(str(c), t.lang) for c in frame["channel"]]
    frame["gmv_share"] = frame["gmv_share"].fillna(0.0)
    order = list(frame["channel_label"])
    domain, colors = channel_scale([str(c) for c in frame["channel"]])
    color = alt.Color(
        "channel_label:N", legend=None,
        scale=alt.Scale(domain=[display_channel(c, t.lang) for c in domain], range=colors),
    )
    y = alt.Y("channel_label:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=220))
    tooltip = [
        alt.Tooltip("channel_label:N", title=t("chart.channel")),
        alt.Tooltip("gmv_share:Q", format=".1%", title=t("chart.gmv_share")),
        alt.Tooltip("spend_share:Q", format=".1%", title=t("chart.spend_share")),
    ]
    bars = alt.Chart(frame).mark_bar(opacity=0.85).encode(
        y=y, x=alt.X("gmv_share:Q", axis=alt.Axis(format="%"), title=t("chart.mix_axis")), color=color,
        tooltip=tooltip,
    )
    layers: list[alt.Chart] = [bars]
    if frame["spend_share"].notna().any():
        ticks = alt.Chart(frame.dropna(subset=["spend_share"])).mark_tick(
            color="#222222", thickness=3, size=22
        ).encode(y=y, x="spend_share:Q", tooltip=tooltip)
        layers.append(ticks)
    return alt.layer(*layers).properties(
        height=max(160, 30 * len(order)), title=t("chart.mix_title")
    )


def channel_color_encoding(channels: list[str], lang: str) -> alt.Color:
    """A colour encoding that gives each channel its palette colour, labels translated."""
    domain, colors = channel_scale(channels)
    return alt.Color(
        "channel_label:N",
        scale=alt.Scale(domain=[display_channel(c, lang) for c in domain], range=colors),
        title=None,
    )
