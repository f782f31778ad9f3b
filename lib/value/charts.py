"""Altair charts of predicted customer value: P(alive), predicted value by value tier, the holdout check.

Why a module of its own: the Segments page's "Predicted value" tab stays thin, and every
chart is testable through ``to_dict()``. Builders take frames already aggregated here (a
few rows each) from :mod:`lib.value.prediction`'s per-customer table; labels come from the
locale files so both languages read naturally.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lib.value.clv import VALUE_TIERS
from lib.i18n import Translator

VALUE_TIER_COLORS: dict[str, str] = {"top": "#1f6f5c", "middle": "#4e9f8a", "low": "#a7cfc3", "lost": "#b9b9b9"}
P_ALIVE_BINS = 10


def p_alive_bins(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers per P(alive) tenth (0–10 %, …, 90–100 %), with their predicted value tier mix."""
    edges = np.minimum((customers["p_alive"].to_numpy() * P_ALIVE_BINS).astype(int), P_ALIVE_BINS - 1)
    frame = pd.DataFrame({"bin": edges, "tier": customers["value_tier"].astype(str)})
    counts = frame.groupby(["bin", "tier"]).size().rename("customers").reset_index()
    counts["start"] = counts["bin"] / P_ALIVE_BINS
    counts["end"] = (counts["bin"] + 1) / P_ALIVE_BINS
    return counts


def p_alive_chart(bins: pd.DataFrame, t: Translator) -> alt.Chart:
    """How many customers are probably still with us: a histogram of P(alive), stacked by value tier."""
    labels = [t(f"predict.tier.{k}") for k in VALUE_TIERS]
    frame = bins.assign(tier=[t(f"predict.tier.{k}") for k in bins["tier"]])
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("start:Q", bin=alt.Bin(binned=True, step=1 / P_ALIVE_BINS), title=t("predict.p_alive"),
                    axis=alt.Axis(format="%", values=[i / P_ALIVE_BINS for i in range(P_ALIVE_BINS + 1)])),
            x2="end:Q",
            y=alt.Y("sum(customers):Q", title=t("segments_page.customers"), axis=alt.Axis(format="~s")),
            color=alt.Color("tier:N", sort=labels, title=t("predict.value_tier"),
                            scale=alt.Scale(domain=labels, range=[VALUE_TIER_COLORS[k] for k in VALUE_TIERS]),
                            legend=alt.Legend(orient="top")),
            tooltip=[alt.Tooltip("tier:N", title=t("predict.value_tier")),
                     alt.Tooltip("customers:Q", format=",", title=t("segments_page.customers"))],
        )
        .properties(height=260, title=t("predict.p_alive_title"))
    )
    return chart


def tier_value_frame(customers: pd.DataFrame, value_column: str) -> pd.DataFrame:
    """Per value tier: customers and predicted value, in tier order."""
    grouped = customers.groupby(customers["value_tier"].astype(str))
    frame = pd.DataFrame({"customers": grouped.size(), "value": grouped[value_column].sum(min_count=1)})
    return frame.reindex(list(VALUE_TIERS)).fillna(0.0).rename_axis("tier").reset_index()


def tier_value_chart(frame: pd.DataFrame, t: Translator) -> alt.Chart:
    """Predicted value per value tier: where next year's revenue is expected to come from."""
    labels = [t(f"predict.tier.{k}") for k in VALUE_TIERS]
    data = frame.assign(tier=[t(f"predict.tier.{k}") for k in frame["tier"]])
    chart: alt.Chart = (
        alt.Chart(data)
        .mark_bar(cornerRadiusEnd=2)
        .encode(
            y=alt.Y("tier:N", sort=labels, title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("value:Q", title=t("predict.value_axis"), axis=alt.Axis(format="~s")),
            color=alt.Color("tier:N", sort=labels, legend=None,
                            scale=alt.Scale(domain=labels, range=[VALUE_TIER_COLORS[k] for k in VALUE_TIERS])),
            tooltip=[alt.Tooltip("tier:N", title=t("predict.value_tier")),
                     alt.Tooltip("customers:Q", format=",", title=t("segments_page.customers")),
                     alt.Tooltip("value:Q", format=",.0f", title=t("predict.value_axis"))],
        )
        .properties(height=200, title=t("predict.tier_value_title"))
    )
    return chart


def calibration_chart(table: pd.DataFrame, t: Translator) -> alt.Chart:
    """Predicted against actual purchases in the holdout, by purchases before it (the standard calibration chart)."""
    rows = table[table["group"] != "all"]
    predicted, actual = t("predict.predicted"), t("predict.actual")
    frame = pd.concat([
        pd.DataFrame({"group": rows["group"], "series": predicted, "mean": rows["predicted_mean"],
                      "customers": rows["customers"]}),
        pd.DataFrame({"group": rows["group"], "series": actual, "mean": rows["actual_mean"],
                      "customers": rows["customers"]}),
    ]).dropna(subset=["mean"])
    order = list(rows["group"])
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("group:N", sort=order, title=t("predict.calibration_x"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("mean:Q", title=t("predict.calibration_y")),
            color=alt.Color("series:N", sort=[predicted, actual], title=None, legend=alt.Legend(orient="top"),
                            scale=alt.Scale(domain=[predicted, actual], range=["#1f6f5c", "#d9822b"])),
            tooltip=[alt.Tooltip("group:N", title=t("predict.calibration_x")),
                     alt.Tooltip("series:N", title=t("chart.measure")),
                     alt.Tooltip("mean:Q", format=".2f", title=t("predict.calibration_y")),
                     alt.Tooltip("customers:Q", format=",", title=t("segments_page.customers"))],
        )
        .properties(height=260, title=t("predict.calibration_title"))
    )
    return chart


def cohort_retention_chart(table: pd.DataFrame, t: Translator) -> alt.Chart:
    """Share of each first-order month's customers who ordered again k months later (a cohort heat map)."""
    frame = table[table["month"] > 0].assign(cohort=lambda d: pd.to_datetime(d["cohort"]).dt.strftime("%Y-%m"))
    cohorts = sorted(frame["cohort"].unique())
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X("month:O", title=t("predict.cohort_month"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("cohort:O", sort=cohorts, title=t("predict.cohort")),
            color=alt.Color("retention:Q", title=t("predict.retention"), scale=alt.Scale(scheme="greens"),
                            legend=alt.Legend(format="%", orient="top")),
            tooltip=[alt.Tooltip("cohort:O", title=t("predict.cohort")),
                     alt.Tooltip("month:O", title=t("predict.cohort_month")),
                     alt.Tooltip("retention:Q", format=".1%", title=t("predict.retention")),
                     alt.Tooltip("customers:Q", format=",", title=t("segments_page.customers"))],
        )
        .properties(height=max(200, 16 * len(cohorts)), title=t("predict.retention_title"))
    )
    return chart


def cohort_curve_chart(pooled: pd.DataFrame, measure: str, t: Translator) -> alt.Chart:
    """All cohorts together by months since the first order, what happened beside what the models expect.

    ``measure`` is ``"revenue"`` (cumulative net revenue per customer) or ``"retention"`` (share
    ordering in that month; from month 1).
    """
    actual, predicted = t("predict.actual"), t("predict.predicted")
    columns = {"revenue": ("actual", "predicted"), "retention": ("retention", "predicted_retention")}[measure]
    rows = pooled if measure == "revenue" else pooled[pooled["month"] > 0]
    frame = pd.concat([
        pd.DataFrame({"month": rows["month"], "series": actual, "value": rows[columns[0]]}),
        pd.DataFrame({"month": rows["month"], "series": predicted, "value": rows[columns[1]]}),
    ])
    axis_title = t("predict.cohort_value_axis" if measure == "revenue" else "predict.retention")
    number = ",.0f" if measure == "revenue" else ".0%"
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:Q", title=t("predict.cohort_month"), axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("value:Q", title=axis_title, axis=alt.Axis(format=number)),
            color=alt.Color("series:N", sort=[actual, predicted], title=None, legend=alt.Legend(orient="top"),
                            scale=alt.Scale(domain=[actual, predicted], range=["#d9822b", "#1f6f5c"])),
            tooltip=[alt.Tooltip("month:Q", title=t("predict.cohort_month")),
                     alt.Tooltip("series:N", title=t("chart.measure")),
                     alt.Tooltip("value:Q", format=number, title=axis_title)],
        )
        .properties(height=240, title=t(f"predict.cohort_{measure}_title"))
    )
    return chart
