"""Altair charts of the target-scenarios page: feasibility frontier, tornado, current-vs-optimised spend.

Why a module of its own: the page stays thin and every chart is testable through
``to_dict()``. The feasibility chart is the guide's idea 6 — the best achievable new
customers against budget, with lines of equal CAC and the plan's target box — which
shows at a glance why "more growth at lower CAC" needs levers other than media. All
text comes from ``lib/locales/scenarios.json``; channels are named with
``lib.i18n.display_channel`` and coloured with ``lib.palette.channel_color``.
"""

from __future__ import annotations

import math
from typing import Any, cast

import altair as alt
import numpy as np
import pandas as pd

from lib.formatting import count, money, pct, points
from lib.i18n import display_channel, t
from lib.palette import OPACITY_LEGEND, channel_color
from lib.scenarios.frontier import iso_cac_lines, target_box
from lib.scenarios.inputs import PLAN_RANGES
from lib.scenarios.result import ScenarioResult

FRONTIER_COLOR = "#4C78A8"
ISO_COLOR = "#8A8A8A"
TARGET_ISO_COLOR = "#E4572E"
BOX_COLOR = "#F2B134"
POINT_COLOR = "#E4572E"
LOW_COLOR = "#4C9BE8"
HIGH_COLOR = "#E4572E"


def _iso_label(key: str, cac: float, lang: str) -> str:
    if key == "target":
        return t("scenarios.chart.iso_target", lang, cac=money(cac, lang, decimals=0))
    if key == "cut_0":
        return t("scenarios.chart.iso_today", lang, cac=money(cac, lang, decimals=0))
    if key.startswith("cut_"):
        return t("scenarios.chart.iso_cut", lang, cut=f"{key[4:]}%", cac=money(cac, lang, decimals=0))
    return t("scenarios.chart.iso_cac", lang, cac=money(cac, lang, decimals=0))


def feasibility_chart(result: ScenarioResult, frontier: pd.DataFrame, lang: str = "en") -> alt.LayerChart:
    """Frontier line, dashed iso-CAC lines (today, −10 %, −15 %, the scenario's target), the target box and the scenario's point.

    ``frontier`` is ``scenarios.feasibility_frontier(...)``. Iso-CAC lines are clipped to
    the plotted range and labelled at their ends.
    """
    box = target_box(result.baseline, result.inputs)
    front = frontier.dropna(subset=["best_new_customers"]).copy()
    budget_max = float(front["budget"].max()) if len(front) else max(result.plan_budget, 1.0)
    y_max = 1.1 * max(
        float(front["best_new_customers"].max()) if len(front) else 0.0,
        box["new_customers_max"], result.new_customers_required, 1.0,
    )
    x = alt.X("budget:Q", title=t("scenarios.chart.budget", lang), scale=alt.Scale(domain=[0, budget_max], nice=False),
              axis=_money_axis(lang))
    y = alt.Y("new_customers:Q", title=t("scenarios.chart.new_customers", lang),
              scale=alt.Scale(domain=[0, y_max], nice=False))
    layers = [
        *_box_layers(box, budget_max, x, y, lang),
        *_line_layers(front, _iso_frame(result, budget_max, y_max, lang), x, y, lang),
        *_point_layers(result, budget_max, x, y, lang),
    ]
    return alt.LayerChart(layer=layers).properties(height=380, title=t("scenarios.chart.feasibility_title", lang))


def _iso_frame(result: ScenarioResult, budget_max: float, y_max: float, lang: str) -> pd.DataFrame:
    """The iso-CAC lines (today, the plan's cuts, the scenario's target), each clipped where it leaves the plot."""
    cuts = sorted({0.0, *PLAN_RANGES["cac_cut"]})
    extra = {} if any(math.isclose(result.inputs.cac_cut, c) for c in cuts) else {"target": result.target_cac}
    iso = iso_cac_lines(result.baseline, [0.0, budget_max], cuts, extra=extra)
    # Clip each line to the plotted box: it ends where it leaves the top or the right edge.
    end_budget = np.minimum(iso["budget"], y_max * iso["cac"])
    iso = iso.assign(budget=end_budget, new_customers=end_budget / iso["cac"])
    iso["label"] = [_iso_label(k, c, lang) for k, c in zip(iso["line"], iso["cac"])]
    iso["is_target"] = iso["line"].eq("target") | np.isclose(iso["cac"], result.target_cac)
    return iso


def _box_layers(box: dict[str, float], budget_max: float, x: alt.X, y: alt.Y, lang: str) -> list[alt.Chart]:
    """The plan's target region (growth 15–20 % × CAC −10–15 %) and its label."""
    box_frame = pd.DataFrame([{
        "budget": box["budget_min"], "budget2": min(box["budget_max"], budget_max),
        "new_customers": box["new_customers_min"], "new_customers2": box["new_customers_max"],
        "label": t("scenarios.chart.target_box", lang),
    }])
    return [
        alt.Chart(box_frame).mark_rect(color=BOX_COLOR, opacity=0.22, stroke=BOX_COLOR, strokeWidth=1.5).encode(
            x=x, x2="budget2:Q", y=y, y2="new_customers2:Q", tooltip=[alt.Tooltip("label:N", title=" ")],
        ),
        alt.Chart(box_frame).mark_text(align="left", baseline="top", dx=2, dy=4, color="#9A6B00",
                                       fontSize=11).encode(x=x, y=y, text="label:N"),
    ]


def _line_layers(front: pd.DataFrame, iso: pd.DataFrame, x: alt.X, y: alt.Y, lang: str) -> list[alt.Chart]:
    """The frontier (solid) and the iso-CAC lines (dashed), from one frame so one legend names them all."""
    frontier_label = t("scenarios.chart.frontier", lang)
    columns = ["budget", "new_customers", "series", "kind", "blended_cac"]
    lines = pd.concat([
        front.rename(columns={"best_new_customers": "new_customers"}).assign(series=frontier_label,
                                                                             kind="frontier")[columns],
        iso.rename(columns={"label": "series", "cac": "blended_cac"}).assign(
            kind=np.where(iso["is_target"], "target", "iso"))[columns],
    ], ignore_index=True)
    series = list(dict.fromkeys(lines["series"]))
    kinds = dict(zip(lines["series"], lines["kind"]))
    greys = iter(("#5F5F5F", "#8A8A8A", "#B0B0B0", "#C8C8C8"))
    colors = [FRONTIER_COLOR if kinds[s] == "frontier" else TARGET_ISO_COLOR if kinds[s] == "target"
              else next(greys, ISO_COLOR) for s in series]
    color = alt.Color("series:N", sort=series, scale=alt.Scale(domain=series, range=colors),
                      legend=alt.Legend(orient="bottom", title=None, columns=2, symbolStrokeWidth=2.5,
                                        labelLimit=260))
    tooltip = [
        alt.Tooltip("series:N", title=" "),
        alt.Tooltip("budget:Q", title=t("scenarios.chart.budget", lang), format=",.0f"),
        alt.Tooltip("new_customers:Q", title=t("scenarios.chart.new_customers", lang), format=",.0f"),
        alt.Tooltip("blended_cac:Q", title=t("scenarios.chart.blended_cac", lang), format=",.0f"),
    ]
    return [
        alt.Chart(lines[lines["kind"] != "frontier"]).mark_line(clip=True, strokeDash=[6, 4], strokeWidth=1.4)
        .encode(x=x, y=y, color=color, detail="series:N", tooltip=tooltip),
        alt.Chart(lines[lines["kind"] == "frontier"]).mark_line(clip=True, strokeWidth=2.8)
        .encode(x=x, y=y, color=color, tooltip=tooltip),
    ]


def _point_layers(result: ScenarioResult, budget_max: float, x: alt.X, y: alt.Y, lang: str) -> list[alt.Chart]:
    """The linear budget's point and the scenario's point (S*, N*), labelled."""
    points_rows = [{
        "budget": result.linear_budget, "new_customers": result.new_customers_required,
        "label": t("scenarios.chart.linear_point", lang), "kind": "linear",
    }]
    if result.required_budget is not None:
        points_rows.append({
            "budget": result.required_budget, "new_customers": result.new_customers_required,
            "label": t("scenarios.chart.scenario_point", lang,
                       customers=count(result.new_customers_required, lang),
                       budget=money(result.required_budget, lang)),
            "kind": "scenario",
        })
    pts = pd.DataFrame(points_rows)
    pts = pts[pts["budget"] <= budget_max]
    return [
        alt.Chart(pts).mark_point(size=110, filled=True, color=POINT_COLOR).encode(
            x=x, y=y, shape=alt.condition("datum.kind == 'scenario'", alt.value("circle"), alt.value("diamond")),
            opacity=alt.condition("datum.kind == 'scenario'", alt.value(1.0), alt.value(0.55)),
            tooltip=[alt.Tooltip("label:N", title=" "),
                     alt.Tooltip("budget:Q", title=t("scenarios.chart.budget", lang), format=",.0f"),
                     alt.Tooltip("new_customers:Q", title=t("scenarios.chart.new_customers", lang),
                                 format=",.0f")],
        ),
        alt.Chart(pts[pts["kind"] == "scenario"]).mark_text(align="left", dx=8, dy=10, color=POINT_COLOR,
                                                            fontWeight="bold").encode(x=x, y=y, text="label:N"),
    ]


def _money_axis(lang: str) -> alt.Axis:
    """Money on an axis: 500k / 1M in English, 50万 / 100万 in Chinese."""
    if lang == "zh":
        return alt.Axis(labelExpr="datum.value == 0 ? '0' : format(datum.value / 10000, ',.0f') + '万'")
    return alt.Axis(format="~s")


def _input_value_text(name: str, value: float, lang: str) -> str:
    if name == "repurchase_up":
        return points(value, lang)
    shown = -value if name == "cac_cut" else value  # a CAC cut of 0.10 reads "−10%"
    return pct(shown, signed=True).replace("-", "−")


def tornado_chart(rows: pd.DataFrame, lang: str = "en") -> alt.LayerChart:
    """Bars from the scenario's budget gap to the gap at each end of an input's range, widest swing on top.

    ``rows`` is ``scenarios.sensitivity(...)``. The vertical rule at 0 is the target CAC:
    right of it the curves need more than the target allows. Variants beyond the
    curves' reach are marked in words instead of a bar.
    """
    frame, order = _tornado_frame(rows, lang)
    ends = [t("scenarios.chart.low", lang), t("scenarios.chart.high", lang)]
    gap_title = t("scenarios.chart.budget_gap", lang)
    y = alt.Y("input:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    bars = alt.Chart(frame.dropna(subset=["gap"])).mark_bar(height=16, opacity=0.85).encode(
        y=y,
        x=alt.X("gap:Q", title=gap_title, axis=_money_axis(lang)),
        x2="base:Q",
        color=alt.Color("end:N", sort=ends, scale=alt.Scale(domain=ends, range=[LOW_COLOR, HIGH_COLOR]),
                        legend=alt.Legend(orient="top", title=t("scenarios.chart.end", lang))),
        tooltip=[
            alt.Tooltip("input:N", title=t("scenarios.chart.input", lang)),
            alt.Tooltip("value:N", title=t("scenarios.chart.value", lang)),
            alt.Tooltip("gap:Q", title=gap_title, format=",.0f"),
            alt.Tooltip("budget:Q", title=t("scenarios.metric.required_budget", lang), format=",.0f"),
        ],
    )
    zero = alt.Chart(pd.DataFrame({"gap": [0.0]})).mark_rule(color="#222222", strokeWidth=1.5).encode(x="gap:Q")
    layers: list[alt.Chart] = [bars, zero]
    base_values = rows["base_gap"].astype(float)
    base_values = base_values[np.isfinite(base_values)]
    if len(base_values):
        layers.append(
            alt.Chart(pd.DataFrame({"gap": [float(base_values.iloc[0])]})).mark_rule(
                color="#555555", strokeDash=[3, 3]).encode(x="gap:Q")
        )
    notes = frame[frame["note"] != ""]
    if len(notes):
        layers.append(
            alt.Chart(notes.assign(x=notes["base"])).mark_text(align="left", dx=6, color=HIGH_COLOR)
            .encode(y=y, x="x:Q", text="note:N")
        )
    return alt.LayerChart(layer=layers).properties(
        height=max(160, 46 * len(order)), title=t("scenarios.chart.tornado_title", lang)
    )


def _tornado_frame(rows: pd.DataFrame, lang: str) -> tuple[pd.DataFrame, list[str]]:
    """One row per input and end of its range, labelled; and the inputs' labels in the rows' order."""
    long_rows = []
    order = []
    for _, r in rows.iterrows():
        name = str(r["input"])
        label = (f"{t(f'scenarios.input.{name}', lang)} "
                 f"({_input_value_text(name, r['low_value'], lang)} / {_input_value_text(name, r['high_value'], lang)})")
        order.append(label)
        for end in ("low", "high"):
            gap = r[f"gap_{end}"]
            reachable = gap is not None and math.isfinite(float(gap))
            long_rows.append({
                "input": label,
                "end": t(f"scenarios.chart.{end}", lang),
                "value": _input_value_text(name, r[f"{end}_value"], lang),
                "gap": float(gap) if reachable else np.nan,
                # A scenario out of reach has no gap of its own: its variants' bars start at 0.
                "base": float(r["base_gap"]) if math.isfinite(float(r["base_gap"])) else 0.0,
                "budget": float(r[f"budget_{end}"]) if reachable else np.nan,
                "note": "" if reachable else t("scenarios.chart.unreachable", lang),
            })
    return pd.DataFrame(long_rows), order


def spend_comparison_chart(result: ScenarioResult, lang: str = "en") -> alt.Chart:
    """Quarter spend per channel: the base quarter (faint) beside the scenario's optimal split (solid)."""
    frame = result.split_frame()
    plans = [t("scenarios.chart.current", lang), t("scenarios.chart.optimised", lang)]
    rows = []
    for _, r in frame.iterrows():
        label = display_channel(str(r["channel"]), lang)
        for plan, spend_col, cust_col in (
            (plans[0], "current_spend", "current_new_customers"),
            (plans[1], "optimised_spend", "optimised_new_customers"),
        ):
            rows.append({
                "channel": str(r["channel"]), "channel_label": label, "plan": plan,
                "spend": float(r[spend_col]), "new_customers": float(r[cust_col]),
                "marginal_cac": r["marginal_cac"] if plan == plans[1] else None,
            })
    long = pd.DataFrame(rows)
    order = list(frame.sort_values("optimised_spend", ascending=False)["channel"])
    labels = [display_channel(c, lang) for c in order]
    color = alt.Color("channel_label:N", legend=None,
                      scale=alt.Scale(domain=labels, range=[channel_color(c) for c in order]))
    chart: alt.Chart = (
        alt.Chart(long)
        .mark_bar(cornerRadiusEnd=2)
        .encode(
            y=alt.Y("channel_label:N", sort=labels, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=180)),
            x=alt.X("spend:Q", title=t("scenarios.chart.spend", lang), axis=_money_axis(lang)),
            yOffset=alt.YOffset("plan:N", sort=plans),
            color=color,
            opacity=alt.Opacity("plan:N", sort=plans, scale=alt.Scale(domain=plans, range=[0.35, 1.0]),
                                legend=alt.Legend(orient="top", title=None, **cast(dict[str, Any], OPACITY_LEGEND))),
            tooltip=[
                alt.Tooltip("channel_label:N", title=t("scenarios.chart.channel", lang)),
                alt.Tooltip("plan:N", title=t("scenarios.chart.plan", lang)),
                alt.Tooltip("spend:Q", title=t("scenarios.chart.spend", lang), format=",.0f"),
                alt.Tooltip("new_customers:Q", title=t("scenarios.chart.new_customers_tooltip", lang), format=",.0f"),
                alt.Tooltip("marginal_cac:Q", title=t("scenarios.chart.marginal_cac", lang), format=",.0f"),
            ],
        )
        .properties(height=max(200, 44 * len(order)), title=t("scenarios.chart.spend_title", lang))
    )
    return chart


LEVER_ROWS: tuple[str, ...] = ("growth", "cac_cut", "repurchase_up", "aov_change")
COMPARE_COLORS: tuple[str, ...] = ("#4C78A8", "#E4572E", "#54A24B", "#B279A2")


def levers_chart(comparison: pd.DataFrame, lang: str = "en") -> alt.LayerChart:
    """The compared scenarios' four levers side by side: one group of bars per lever, a colour per scenario.

    ``comparison`` is :func:`lib.scenarios.compare` with raw values (``formatted=False``).
    Growth, CAC cut and AOV change are percentages and the repurchase lift is in
    points, so all four share one axis in percent / points; each bar carries its
    value as the table prints it.
    """
    titles = [c for c in comparison.columns if c not in ("metric", "label")]
    rows = []
    for _, r in comparison[comparison["metric"].isin(LEVER_ROWS)].iterrows():
        for title in titles:
            value = float(r[title] or 0.0)
            text = points(value, lang) if r["metric"] == "repurchase_up" else pct(value, signed=True)
            rows.append({"lever": r["label"], "scenario": title, "value": value * 100, "text": text})
    frame = pd.DataFrame(rows)
    levers = [t(f"scenarios.metric.{k}", lang) for k in LEVER_ROWS]
    colors = alt.Scale(domain=titles, range=list(COMPARE_COLORS[: len(titles)]))
    base = alt.Chart(frame).encode(
        y=alt.Y("lever:N", sort=levers, title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False)),
        yOffset=alt.YOffset("scenario:N", sort=titles),
        x=alt.X("value:Q", title=t("scenarios.chart.lever_axis", lang)),
    )
    bars = base.mark_bar(cornerRadiusEnd=2).encode(
        color=alt.Color("scenario:N", sort=titles, scale=colors,
                        legend=alt.Legend(orient="top", title=None, symbolType="square", labelLimit=260)),
        tooltip=[alt.Tooltip("scenario:N", title=t("scenarios.chart.scenario", lang)),
                 alt.Tooltip("lever:N", title=t("scenarios.chart.lever", lang)),
                 alt.Tooltip("text:N", title=t("scenarios.chart.value", lang))],
    )
    labels = base.mark_text(align="left", dx=4, fontSize=11, color="#333333").encode(text="text:N")
    return alt.LayerChart(layer=[bars, labels]).properties(
        height=max(200, 22 * len(titles) * len(LEVER_ROWS) + 40), title=t("scenarios.chart.levers_title", lang)
    )
