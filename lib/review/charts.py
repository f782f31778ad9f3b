"""The story's own charts (tier economics, the scenario's channel plan) and their PNG images for the pack.

Why a module of its own: the pack renders each view's chart once, at projector
font sizes (:func:`projector_spec`), for both the workbook and the deck; the
presentation page draws the same charts through ``ui.chart`` with the same style.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any, cast

import altair as alt
import pandas as pd

from lib import segments as seg
from lib.i18n import t
from lib.palette import OPACITY_LEGEND, TIER_COLORS, TIER_ORDER
from lib.review.model import StoryView
from lib.timeline.exports import chart_png

# Chart images: width given to charts that do not set one, pixel density, projector-sized fonts.
CHART_WIDTH_PX = 560
CHART_SCALE = 2.0
_PROJECTOR_CONFIG: dict[str, dict[str, Any]] = {
    "axis": {"labelFontSize": 16, "titleFontSize": 16},
    "legend": {"labelFontSize": 16, "titleFontSize": 16},
    "header": {"labelFontSize": 16, "titleFontSize": 16},
    "title": {"fontSize": 20, "subtitleFontSize": 16},
}

def tier_economics_chart(frame: pd.DataFrame, lang: str) -> alt.Chart:
    """Incremental revenue (solid) and cost (pale) of the plays per tier, in the tier's colour."""
    revenue_label, cost_label = t("review.playbooks.revenue", lang), t("review.playbooks.cost", lang)
    labels = [seg.tier_label(k, lang) for k in TIER_ORDER]
    rows = []
    for _, r in frame.iterrows():
        rows.append({"tier": r["label"], "measure": revenue_label, "value": float(r["revenue"])})
        rows.append({"tier": r["label"], "measure": cost_label, "value": float(r["cost"])})
    measures = [revenue_label, cost_label]
    chart: alt.Chart = (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar(cornerRadiusEnd=2)
        .encode(
            y=alt.Y("tier:N", sort=labels, title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("value:Q", title=t("review.playbooks.axis", lang), axis=alt.Axis(format=",.0f")),
            yOffset=alt.YOffset("measure:N", sort=measures),
            color=alt.Color("tier:N", scale=alt.Scale(domain=labels, range=[TIER_COLORS[k] for k in TIER_ORDER]),
                            legend=None),
            opacity=alt.Opacity("measure:N", sort=measures, scale=alt.Scale(range=[1.0, 0.4]),
                                legend=alt.Legend(orient="top", title=None, **cast(dict[str, Any], OPACITY_LEGEND))),
            tooltip=[
                alt.Tooltip("tier:N", title=t("segments.col.tier", lang)),
                alt.Tooltip("measure:N", title=t("review.playbooks.measure", lang)),
                alt.Tooltip("value:Q", format=",.0f", title=t("review.playbooks.axis", lang)),
            ],
        )
        .properties(height=max(220, 44 * len(frame)), title=t("review.playbooks.chart_title", lang))
    )
    return chart


def channel_plan_chart(split: pd.DataFrame, lang: str) -> alt.Chart:
    """Base-quarter spend (grey) against the scenario's planned spend (green) per channel."""
    current, planned = t("review.channels.current", lang), t("review.channels.planned", lang)
    rows = []
    for _, r in split.iterrows():
        rows.append({"channel": r["label"], "which": current, "spend": float(r["current_spend"])})
        rows.append({"channel": r["label"], "which": planned, "spend": float(r["optimised_spend"])})
    which = [current, planned]
    chart: alt.Chart = (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            y=alt.Y("channel:N", sort=list(split["label"]), title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("spend:Q", title=t("review.channels.axis", lang), axis=alt.Axis(format=",.0f")),
            yOffset=alt.YOffset("which:N", sort=which),
            color=alt.Color("which:N", sort=which, title=None, legend=alt.Legend(orient="top"),
                            scale=alt.Scale(domain=which, range=["#9E9E9E", "#2CA58D"])),
            tooltip=[alt.Tooltip("channel:N", title=t("review.channels.col.channel", lang)),
                     alt.Tooltip("which:N", title=" "),
                     alt.Tooltip("spend:Q", format=",.0f", title=t("review.channels.axis", lang))],
        )
        .properties(height=max(220, 40 * len(split)), title=t("review.channels.chart_title", lang))
    )
    return chart

# --------------------------------------------------------------------------------------
# Chart images
# --------------------------------------------------------------------------------------


def projector_spec(chart: alt.TopLevelMixin | Mapping[str, Any], *, width: int = CHART_WIDTH_PX) -> dict[str, Any]:
    """The chart's Vega-Lite spec with projector-sized fonts, and a width when it has none."""
    spec = dict(chart if isinstance(chart, Mapping) else chart.to_dict())
    config = dict(spec.get("config") or {})
    for part, sizes in _PROJECTOR_CONFIG.items():
        config[part] = {**sizes, **dict(config.get(part) or {})}
    spec["config"] = config
    composite = any(k in spec for k in ("hconcat", "vconcat", "concat", "facet", "repeat"))
    if "width" not in spec and not composite:
        spec["width"] = width
    return spec


def chart_images(views: Sequence[StoryView], *, scale: float = CHART_SCALE) -> dict[str, bytes]:
    """Each view's chart as PNG bytes (key → PNG), rendered once for the workbook and the deck."""
    return {view.key: chart_png(projector_spec(view.chart), scale=scale) for view in views if view.chart is not None}


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)
