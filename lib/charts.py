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
