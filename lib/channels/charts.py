"""Altair charts of the Channels page: spend vs new-customer shares, weekly spend, response curves, splits.

Why a module of its own: the page stays thin and each chart is testable through
``to_dict()``. Inputs are already aggregated (a row per channel, per week, or a
101-point curve), channels are labelled in the reader's language and coloured by
``lib.palette``.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from lib.channels.curves import CurveFit, curve_points
from lib.i18n import Translator, display_channel
from lib.palette import channel_scale


def _channel_color(channels: list[str], lang: str, field: str = "label") -> alt.Color:
    domain, colors = channel_scale(channels)
    return alt.Color(
        f"{field}:N", title=None, legend=alt.Legend(orient="bottom"),
        scale=alt.Scale(domain=[display_channel(c, lang) for c in domain], range=colors),
    )


def share_gap_chart(table: pd.DataFrame, t: Translator) -> alt.Chart:
    """Share of spend against share of new customers per channel: who earns their budget."""
    rows = []
    for _, r in table.iterrows():
        label = display_channel(str(r["channel"]), t.lang)
        rows.append({"label": label, "measure": t("channels_page.spend_share"), "share": r["spend_share"]})
        rows.append({"label": label, "measure": t("channels_page.new_share"), "share": r["new_share"]})
    frame = pd.DataFrame(rows).dropna()
    order = [display_channel(str(c), t.lang) for c in table["channel"]]
    measures = [t("channels_page.spend_share"), t("channels_page.new_share")]
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title=None),
            yOffset=alt.YOffset("measure:N", sort=measures),
            color=alt.Color("measure:N", sort=measures, title=None, legend=alt.Legend(orient="bottom"),
                            scale=alt.Scale(range=["#9E9E9E", "#E4572E"])),
            tooltip=[alt.Tooltip("label:N", title=t("chart.channel")), alt.Tooltip("measure:N", title=t("chart.measure")),
                     alt.Tooltip("share:Q", format=".1%", title=t("chart.share"))],
        )
        .properties(height=max(200, 40 * len(order)), title=t("channels_page.share_title"))
    )
    return chart


def week_ticks(weeks: pd.Series, most: int = 12) -> list[alt.DateTime]:
    """Axis ticks on the data's own week starts, every n-th week so that at most ``most`` are labelled.

    Left to itself Vega picks every fourth calendar day and restarts at each month,
    so labels fall between the weekly points and crowd at month ends (07-31 08-03).
    """
    days = sorted(pd.to_datetime(weeks.dropna().unique()))
    step = max(1, -(-len(days) // most))
    return [alt.DateTime(year=d.year, month=d.month, date=d.day) for d in days[::step]]


def weekly_spend_chart(weekly: pd.DataFrame, metric: str, t: Translator) -> alt.Chart:
    """A weekly metric per channel as stacked areas."""
    frame = weekly.dropna(subset=[metric]).copy()
    frame["label"] = [display_channel(str(c), t.lang) for c in frame["channel"]]
    label = t(f"channels_page.metric.{metric}")
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_area(opacity=0.85)
        .encode(
            x=alt.X("week:T", title=t("chart.week"), axis=alt.Axis(format="%m-%d", values=week_ticks(frame["week"]))),
            y=alt.Y(f"{metric}:Q", stack=True, title=label),
            color=_channel_color([str(c) for c in frame["channel"].unique()], t.lang),
            tooltip=[alt.Tooltip("week:T", title=t("chart.week_of")), alt.Tooltip("label:N", title=t("chart.channel")),
                     alt.Tooltip(f"{metric}:Q", format=",.0f", title=label)],
        )
        .properties(height=300, title=t("channels_page.weekly_title", metric=label))
    )
    return chart


def response_curve_chart(curve: CurveFit, channel: str, current: float | None, t: Translator,
                         metric: str = "new_customers") -> alt.LayerChart | alt.FacetChart:
    """The fitted curve over weekly spend, the observed weeks, current spend and the observed range."""
    upto = max(curve.max_observed_weekly_spend or 0.0, current or 0.0) * 1.6 or 1.0
    points = curve_points(curve, upto=upto, points=101)
    y_title = t(f"channels_page.metric.{metric}")
    x = alt.X("spend:Q", title=t("channels_page.weekly_spend"), axis=alt.Axis(format=",.0f"))
    line = alt.Chart(points).mark_line(color="#E4572E", strokeWidth=3).encode(
        x=x, y=alt.Y("response:Q", title=y_title),
        strokeDash=alt.condition("datum.beyond_observed", alt.value([5, 4]), alt.value([1, 0])),
        tooltip=[alt.Tooltip("spend:Q", format=",.0f", title=t("channels_page.weekly_spend")),
                 alt.Tooltip("response:Q", format=",.1f", title=y_title),
                 alt.Tooltip("marginal_cost:Q", format=",.0f", title=t("channels_page.marginal_cost"))],
    )
    layers: list[alt.Chart] = []
    if curve.observed is not None and len(curve.observed):
        observed = curve.observed[["equivalent_spend", "response"]].rename(columns={"equivalent_spend": "spend"})
        layers.append(alt.Chart(observed.dropna()).mark_circle(color="#4C78A8", opacity=0.45, size=36).encode(
            x="spend:Q", y="response:Q",
            tooltip=[alt.Tooltip("spend:Q", format=",.0f", title=t("channels_page.weekly_spend")),
                     alt.Tooltip("response:Q", format=",.0f", title=y_title)]))
    layers.append(line)
    if current:
        marker = pd.DataFrame({"spend": [current], "response": [float(curve.response(current))],
                               "label": [t("channels_page.current")]})
        layers.append(alt.Chart(marker).mark_point(shape="diamond", size=180, filled=True, color="#111").encode(
            x="spend:Q", y="response:Q", tooltip=[alt.Tooltip("spend:Q", format=",.0f"),
                                                  alt.Tooltip("response:Q", format=",.1f")]))
    if curve.max_observed_weekly_spend:
        rule = pd.DataFrame({"spend": [curve.max_observed_weekly_spend], "label": [t("channels_page.max_observed")]})
        layers.append(alt.Chart(rule).mark_rule(strokeDash=[2, 2], color="#999").encode(x="spend:Q"))
        layers.append(alt.Chart(rule).mark_text(align="left", dx=4, dy=-6, color="#777", fontSize=11).encode(
            x="spend:Q", y=alt.value(10), text="label:N"))
    chart: alt.LayerChart | alt.FacetChart = alt.layer(*layers).properties(
        height=320, title={"text": display_channel(channel, t.lang), "subtitle": t("channels_page.directional")}
    )
    return chart


def allocation_chart(comparison: pd.DataFrame, t: Translator) -> alt.Chart:
    """Current against optimised spend per channel."""
    rows = []
    for _, r in comparison.iterrows():
        label = display_channel(str(r["channel"]), t.lang)
        rows.append({"label": label, "which": t("channels_page.current"), "spend": r["current_spend"]})
        rows.append({"label": label, "which": t("channels_page.optimised"), "spend": r["optimised_spend"]})
    frame = pd.DataFrame(rows)
    order = [display_channel(str(c), t.lang) for c in comparison.sort_values("optimised_spend", ascending=False)["channel"]]
    which = [t("channels_page.current"), t("channels_page.optimised")]
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("spend:Q", title=t("channels_page.quarter_spend"), axis=alt.Axis(format=",.0f")),
            yOffset=alt.YOffset("which:N", sort=which),
            color=alt.Color("which:N", sort=which, title=None, legend=alt.Legend(orient="top"),
                            scale=alt.Scale(range=["#9E9E9E", "#2CA58D"])),
            tooltip=[alt.Tooltip("label:N", title=t("chart.channel")), alt.Tooltip("which:N", title=" "),
                     alt.Tooltip("spend:Q", format=",.0f", title=t("channels_page.quarter_spend"))],
        )
        .properties(height=max(220, 40 * len(order)), title=t("channels_page.allocation_title"))
    )
    return chart


def phasing_chart(weekly: pd.DataFrame, t: Translator) -> alt.Chart:
    """The quarter's budget per week, coloured by budget phase."""
    frame = weekly.copy()
    frame["phase_label"] = [t(f"budget.phase.{p}") for p in frame["budget_phase"]]
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("week:O", title=t("channels_page.plan_week"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("spend:Q", title=t("channels_page.weekly_budget"), axis=alt.Axis(format=",.0f")),
            color=alt.Color("phase_label:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=[alt.Tooltip("week:O", title=t("channels_page.plan_week")),
                     alt.Tooltip("spend:Q", format=",.0f", title=t("channels_page.weekly_budget"))],
        )
        .properties(height=240, title=t("channels_page.phasing_title"))
    )
    return chart


def mmm_response_chart(curve: pd.DataFrame, current_weekly_spend: float, channel: str, t: Translator) -> alt.LayerChart:
    """A channel's response curve from the marketing-mix model with its 80 % band; today's weekly spend marked.

    ``curve`` is :func:`lib.channels.response_curve`; the part beyond the highest observed week is drawn dashed
    (extrapolated), the band is the P10–P90 of the bootstrap replicates.
    """
    frame = curve.assign(part=[t("mmm_page.curve.beyond") if b else t("mmm_page.curve.observed")
                               for b in curve["beyond_observed"]])
    x = alt.X("spend:Q", title=t("mmm_page.curve.x"), axis=alt.Axis(format="~s"))
    band = alt.Chart(frame).mark_area(opacity=0.2, color="#1f6f5c").encode(
        x=x, y=alt.Y("p10:Q", title=t("mmm_page.curve.y"), axis=alt.Axis(format="~s")), y2="p90:Q")
    line = alt.Chart(frame).mark_line(color="#1f6f5c").encode(
        x=x, y="expected:Q",
        strokeDash=alt.StrokeDash("part:N", title=None, legend=alt.Legend(orient="top"),
                                  sort=[t("mmm_page.curve.observed"), t("mmm_page.curve.beyond")]),
        tooltip=[alt.Tooltip("spend:Q", format=",.0f", title=t("mmm_page.curve.x")),
                 alt.Tooltip("expected:Q", format=",.0f", title=t("mmm_page.curve.y")),
                 alt.Tooltip("p10:Q", format=",.0f", title="P10"), alt.Tooltip("p90:Q", format=",.0f", title="P90"),
                 alt.Tooltip("marginal:Q", format=",.2f", title=t("mmm_page.col.marginal"))])
    now = alt.Chart(pd.DataFrame({"spend": [current_weekly_spend]})).mark_rule(color="#d9822b").encode(
        x="spend:Q", tooltip=[alt.Tooltip("spend:Q", format=",.0f", title=t("mmm_page.curve.now"))])
    chart: alt.LayerChart = (band + line + now).properties(height=260, title=t("mmm_page.curve.title", channel=channel))
    return chart
