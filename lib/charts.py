"""Altair chart builders for the overview and data pages, in the user's language.

Why: pages stay thin and tests can assert on a chart's ``to_dict()`` without a
browser. Every builder takes data already aggregated in DuckDB (a row per week
or per channel), so no chart sends more than a few thousand rows to the browser.
"""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd

from lib.i18n import Translator, display_channel
from lib.palette import channel_scale

TREND_METRICS: tuple[str, ...] = ("net_sales", "gmv", "orders", "new_customers", "spend")


def weekly_trend_chart(
    weekly: pd.DataFrame, metric: str, t: Translator, highlight: tuple[date, date] | None = None
) -> alt.TopLevelMixin:
    """The chosen weekly metric as an area, with the selected period shaded and partial weeks marked.

    A week the data covers only in part (the export starts or stops mid-week) gets a
    hollow marker and says so in its tooltip, so a short first or last week does not
    read as a collapse. Month ticks are labelled once each.
    """
    label = t(f"kpi.{metric}")
    columns = ["week", metric, *(c for c in ("days_covered", "partial") if c in weekly.columns)]
    frame = weekly[columns].rename(columns={metric: "value"}).dropna(subset=["value"]).copy()
    if "partial" not in frame.columns:
        frame["days_covered"], frame["partial"] = 7, False
    frame["coverage"] = [
        t("chart.partial_week", days=int(d)) if p else t("chart.full_week") for d, p in
        zip(frame["days_covered"], frame["partial"])
    ]
    x = alt.X("week:T", title=t("chart.week"),
              axis=alt.Axis(format="%Y-%m", tickCount={"interval": "month", "step": 1}, labelOverlap=True))
    tooltip = [alt.Tooltip("week:T", title=t("chart.week_of"), format="%Y-%m-%d"),
               alt.Tooltip("value:Q", title=label, format=",.0f"),
               alt.Tooltip("coverage:N", title=t("chart.coverage"))]
    base = alt.Chart(frame).encode(x=x, y=alt.Y("value:Q", title=label, axis=alt.Axis(format=",.0f")),
                                   tooltip=tooltip)
    area = base.mark_area(opacity=0.25, line={"strokeWidth": 2, "color": "#E4572E"}, color="#E4572E")
    layers: list[alt.Chart] = []
    if highlight:
        band = pd.DataFrame({"start": [pd.Timestamp(highlight[0])], "end": [pd.Timestamp(highlight[1])]})
        layers.append(
            alt.Chart(band).mark_rect(opacity=0.12, color="#4C78A8").encode(x="start:T", x2="end:T")
        )
    layers.append(area)
    partial = frame[frame["partial"]]
    if len(partial):
        legend_label = t("chart.partial_legend")
        layers.append(
            alt.Chart(partial.assign(kind=legend_label)).mark_point(size=80, filled=False, strokeWidth=2.5)
            .encode(x=x, y="value:Q", tooltip=tooltip,
                    color=alt.Color("kind:N", title=None,
                                    scale=alt.Scale(domain=[legend_label], range=["#E4572E"]),
                                    legend=alt.Legend(orient="top-left", symbolType="circle", labelLimit=0)))
        )
    return alt.layer(*layers).properties(height=280, title=t("chart.weekly_title", metric=label))


def channel_mix_chart(mix: pd.DataFrame, t: Translator) -> alt.TopLevelMixin:
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

