"""Altair charts of the Segments page: shares, the R×F heatmap, distributions, sizes over time, migration.

Why a module of its own: the page stays thin and every chart is testable through
``to_dict()``. Each builder takes frames already aggregated by ``lib.segments`` in
DuckDB (at most a few hundred rows), and uses the tier/segment colours of
``lib.palette`` so a tier looks the same everywhere.
"""

from __future__ import annotations

from typing import Any, cast

import altair as alt
import pandas as pd

from lib.i18n import Translator
from lib.palette import OPACITY_LEGEND, ink_on_sequential, SEGMENT_COLORS, SEGMENT_ORDER, TIER_COLORS, TIER_ORDER
from lib.segments import NOT_YET_CUSTOMER, group_label


def _group_scale(scheme: str, lang: str) -> tuple[list[str], alt.Scale]:
    keys = TIER_ORDER if scheme == "plan" else SEGMENT_ORDER
    colors = TIER_COLORS if scheme == "plan" else SEGMENT_COLORS
    labels = [group_label(k, scheme, lang) for k in keys]
    return labels, alt.Scale(domain=labels, range=[colors[k] for k in keys])


def share_chart(summary: pd.DataFrame, scheme: str, t: Translator) -> alt.Chart:
    """Share of customers next to share of revenue per tier/segment: who is worth what."""
    labels, scale = _group_scale(scheme, t.lang)
    rows = []
    for _, r in summary.iterrows():
        label = group_label(r["group"], scheme, t.lang)
        rows.append({"group": label, "measure": t("segments_page.share_customers"), "share": r["share_customers"],
                     "count": int(r["customers"])})
        rows.append({"group": label, "measure": t("segments_page.share_revenue"), "share": r["share_revenue"],
                     "count": int(r["customers"])})
    frame = pd.DataFrame(rows)
    measures = [t("segments_page.share_customers"), t("segments_page.share_revenue")]
    return cast(alt.Chart, (
        alt.Chart(frame)
        .mark_bar(cornerRadiusEnd=2)
        .encode(
            y=alt.Y("group:N", sort=labels, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=180)),
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title=None),
            yOffset=alt.YOffset("measure:N", sort=measures),
            color=alt.Color("group:N", scale=scale, legend=None),
            opacity=alt.Opacity("measure:N", sort=measures, scale=alt.Scale(range=[0.45, 1.0]),
                                legend=alt.Legend(orient="top", title=None, **cast(dict[str, Any], OPACITY_LEGEND))),
            tooltip=[
                alt.Tooltip("group:N", title=t("segments_page.group")),
                alt.Tooltip("measure:N", title=t("chart.measure")),
                alt.Tooltip("share:Q", format=".1%", title=t("chart.share")),
                alt.Tooltip("count:Q", format=",", title=t("segments_page.customers")),
            ],
        )
        .properties(height=max(220, 44 * len(summary)), title=t("segments_page.share_title"))
    ))


def rf_heatmap_chart(cells: pd.DataFrame, t: Translator) -> alt.LayerChart:
    """Customers per R score × F score, each cell labelled with its count and named segment."""
    frame = cells.copy()
    frame["segment_label"] = [group_label(s, "rfm", t.lang) for s in frame["segment"]]
    highest = float(frame["customers"].max()) if len(frame) else 0.0
    frame["light_ink"] = [ink_on_sequential(float(v), highest) == "#FFFFFF" for v in frame["customers"]]
    base = alt.Chart(frame).encode(
        x=alt.X("f_score:O", title=t("segments_page.f_score"), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("r_score:O", sort="descending", title=t("segments_page.r_score")),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("customers:Q", scale=alt.Scale(scheme="oranges"), title=t("segments_page.customers")),
        tooltip=[
            alt.Tooltip("segment_label:N", title=t("segments_page.segment")),
            alt.Tooltip("r_score:O", title="R"), alt.Tooltip("f_score:O", title="F"),
            alt.Tooltip("customers:Q", format=",", title=t("segments_page.customers")),
            alt.Tooltip("window_revenue:Q", format=",.0f", title=t("segments_page.window_revenue")),
        ],
    )
    count = base.mark_text(baseline="bottom", dy=-2, fontSize=13, fontWeight="bold").encode(
        text=alt.Text("customers:Q", format=","),
        color=alt.condition("datum.light_ink", alt.value("#FFFFFF"), alt.value("#222222")),
    )
    name = base.mark_text(baseline="top", dy=3, fontSize=10).encode(
        text="segment_label:N",
        color=alt.condition("datum.light_ink", alt.value("#FFFFFF"), alt.value("#333333")),
    )
    return cast(alt.LayerChart, alt.layer(rect, count, name).properties(height=360, title=t("segments_page.heatmap_title")))


def histogram_chart(bins: pd.DataFrame, measure: str, t: Translator) -> alt.Chart:
    """A histogram binned in SQL (bin_start, bin_end, customers)."""
    label = t(f"segments_page.measure.{measure}")
    frame = bins.copy()
    return cast(alt.Chart, (
        alt.Chart(frame)
        .mark_bar(color="#4C78A8")
        .encode(
            x=alt.X("bin_start:Q", bin="binned", title=label),
            x2="bin_end:Q",
            y=alt.Y("customers:Q", title=t("segments_page.customers")),
            tooltip=[
                alt.Tooltip("bin_start:Q", title=t("segments_page.from"), format=",.0f"),
                alt.Tooltip("bin_end:Q", title=t("segments_page.to"), format=",.0f"),
                alt.Tooltip("customers:Q", format=",", title=t("segments_page.customers")),
            ],
        )
        .properties(height=260, title=t("segments_page.distribution_title", measure=label))
    ))


def sizes_over_time_chart(sizes: pd.DataFrame, scheme: str, t: Translator) -> alt.Chart:
    """Weekly tier/segment sizes as stacked areas (thresholds frozen, so movement is customers moving)."""
    labels, scale = _group_scale(scheme, t.lang)
    frame = sizes.copy()
    frame["label"] = [group_label(g, scheme, t.lang) for g in frame["group"]]
    frame["order"] = [labels.index(label) if label in labels else 99 for label in frame["label"]]
    return cast(alt.Chart, (
        alt.Chart(frame)
        .mark_area()
        .encode(
            x=alt.X("as_of:T", title=t("chart.week"), axis=alt.Axis(format="%Y-%m-%d")),
            y=alt.Y("customers:Q", stack=True, title=t("segments_page.customers")),
            color=alt.Color("label:N", scale=scale, title=None, legend=alt.Legend(orient="bottom")),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("as_of:T", title=t("chart.week_of")),
                alt.Tooltip("label:N", title=t("segments_page.group")),
                alt.Tooltip("customers:Q", format=",", title=t("segments_page.customers")),
            ],
        )
        .properties(height=300, title=t("segments_page.sizes_title"))
    ))


def migration_chart(matrix: pd.DataFrame, scheme: str, t: Translator, date_a: str, date_b: str) -> alt.LayerChart:
    """From × to heatmap of customers moving between two as-of dates."""
    labels, _ = _group_scale(scheme, t.lang)
    frame = matrix.copy()
    frame["from"] = [group_label(k, scheme, t.lang) for k in frame["from_key"]]
    frame["to"] = [group_label(k, scheme, t.lang) for k in frame["to_key"]]
    from_order = [group_label(NOT_YET_CUSTOMER, scheme, t.lang), *labels]
    base = alt.Chart(frame).encode(
        x=alt.X("to:N", sort=labels, title=t("segments_page.to_date", date=date_b), axis=alt.Axis(labelAngle=-30)),
        y=alt.Y("from:N", sort=from_order, title=t("segments_page.from_date", date=date_a)),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("customers:Q", scale=alt.Scale(scheme="blues"), title=t("segments_page.customers")),
        tooltip=[
            alt.Tooltip("from:N", title=t("segments_page.from")), alt.Tooltip("to:N", title=t("segments_page.to")),
            alt.Tooltip("customers:Q", format=",", title=t("segments_page.customers")),
            alt.Tooltip("share_of_from:Q", format=".1%", title=t("segments_page.share_of_from")),
        ],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("customers:Q", format=","),
        color=alt.condition("datum.share_of_from > 0.5", alt.value("white"), alt.value("#222")),
    )
    return cast(alt.LayerChart, alt.layer(rect, text).properties(
        height=max(220, 34 * len(from_order)), title=t("segments_page.migration_title")
    ))
