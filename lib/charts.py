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

TREND_METRICS: tuple[str, ...] = ("gmv", "orders", "new_customers", "spend")


def weekly_trend_chart(
    weekly: pd.DataFrame, metric: str, t: Translator, highlight: tuple[date, date] | None = None
) -> alt.Chart:
    """The chosen weekly metric as an area, with the selected period shaded."""
    label = t(f"kpi.{metric}")
    frame = weekly[["week", metric]].rename(columns={metric: "value"}).dropna()
    base = alt.Chart(frame).encode(
        x=alt.X("week:T", title=t("chart.week")),
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
    """GMV share and spend share per channel, side by side."""
    rows = []
    for _, r in mix.iterrows():
        name = display_channel(str(r["channel"]), t.lang)
        rows.append({"channel": name, "measure": t("chart.gmv_share"), "share": r["gmv_share"] or 0.0})
        if pd.notna(r.get("spend_share")):
            rows.append({"channel": name, "measure": t("chart.spend_share"), "share": r["spend_share"]})
    frame = pd.DataFrame(rows)
    order = [display_channel(str(c), t.lang) for c in mix["channel"]]
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("channel:N", sort=order, title=None),
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title=t("chart.share")),
            yOffset=alt.YOffset("measure:N"),
            color=alt.Color("measure:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("channel:N", title=t("chart.channel")),
                alt.Tooltip("measure:N", title=t("chart.measure")),
                alt.Tooltip("share:Q", format=".1%", title=t("chart.share")),
            ],
        )
        .properties(height=max(160, 34 * len(order)), title=t("chart.mix_title"))
    )


def channel_color_encoding(channels: list[str], lang: str) -> alt.Color:
    """A colour encoding that gives each channel its palette colour, labels translated."""
    domain, colors = channel_scale(channels)
    return alt.Color(
        "channel_label:N",
        scale=alt.Scale(domain=[display_channel(c, lang) for c in domain], range=colors),
        title=None,
    )
