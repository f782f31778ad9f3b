"""The 13-week Gantt chart as one layered Altair chart, in English or Chinese.

Why: Streamlit's Gantt components are weak (no dependency arrows, edits lost), so
the editable table is the source of truth and this module re-draws the plan each
run: phase swimlanes, task bars coloured by owner/channel/phase, progress, milestone
diamonds, the current-week line, dependency links (red when a task starts before
what it depends on ends), an optional baseline, the critical path and the
shopping-calendar anchors (618, 双11, 年货节, member days). The same spec is rendered
to PNG/SVG on the server by ``lib.timeline_exports``.

Geometry: x is a quantitative week axis where week ``w`` covers ``[w, w + 1)``; the
top axis puts "W1 / 03-02" at each week's Monday. y is the task label
(``"P1 · name"``), ordered by phase, then start week. Only the tasks, their links,
baseline rows and the anchors are embedded as data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

import altair as alt

from lib.i18n import t
from lib.palette import channel_color
from lib.timeline import (
    DEFAULT_WEEKS,
    PHASE_COLORS,
    PHASES,
    CalendarAnchor,
    Task,
    calendar_anchors,
    canonical_channel,
    channel_label,
    critical_path,
    date_position,
    dependency_conflicts,
    display_order,
    format_depends_on,
    path_weeks,
    phase_label,
    require_monday,
    slippage,
    task_dates,
    tier_label,
    weeks_text,
)

ColorBy = Literal["owner", "channel", "phase"]

OWNER_COLORS: tuple[str, ...] = (
    "#4C78A8", "#F58518", "#54A24B", "#B279A2", "#E45756",
    "#72B7B2", "#9D755D", "#EECA3B", "#FF9DA6", "#BAB0AC",
)
NONE_COLOR = "#B0B0B0"
LINK_COLOR = "#8A8A8A"
CONFLICT_COLOR = "#D62728"
TODAY_COLOR = "#D62728"
BASELINE_COLOR = "#9E9E9E"
CRITICAL_COLOR = "#111111"
ANCHOR_COLORS: dict[str, str] = {
    "618": "#FF5000",
    "double11_warmup": "#FFB000",
    "double11": "#FF2442",
    "new_year_festival": "#C81623",
    "member_day": "#7B4FBF",
    "flash_sale": "#F5A623",
}
#: Milestones sit on the middle of their Friday (see ``lib.timeline.milestone_date``).
MILESTONE_OFFSET = 4.5 / 7
LABEL_LIMIT = 34  # characters of a task name shown on the y axis


def task_label(task: Task, lang: str) -> str:
    """The y-axis text of a task: ``"P1 · Design the segmentation model"`` (long names shortened)."""
    name = task.display_name(lang) or "—"
    if len(name) > LABEL_LIMIT:
        name = name[: LABEL_LIMIT - 1] + "…"
    return f"{task.id} · {name}"


def _unique_labels(tasks: Sequence[Task], lang: str) -> list[str]:
    labels: list[str] = []
    seen: dict[str, int] = {}
    for task in tasks:
        label = task_label(task, lang)
        if label in seen:
            seen[label] += 1
            label = f"{label} #{seen[label]}"
        else:
            seen[label] = 1
        labels.append(label)
    return labels


def week_axis_labels(start_monday: date | None, weeks: int, lang: str) -> list[list[str] | str]:
    """Two-line labels per week boundary (``["W1", "03-02"]``) plus an empty one for the end."""
    labels: list[list[str] | str] = []
    for week in range(1, weeks + 1):
        head = t("timeline.chart.week_short", lang, week=week)
        if start_monday is None:
            labels.append([head])
        else:
            monday = start_monday + timedelta(days=7 * (week - 1))
            labels.append([head, monday.strftime("%m-%d")])
    labels.append("")
    return labels


def _color_group(task: Task, color_by: ColorBy, lang: str) -> tuple[str, str]:
    """(legend text, colour) of a task's bar under the chosen colouring."""
    none = t("timeline.chart.none", lang)
    if color_by == "phase":
        return phase_label(task.phase, lang), PHASE_COLORS.get(task.phase, NONE_COLOR)
    if color_by == "channel":
        if not task.channel:
            return none, NONE_COLOR
        stored = canonical_channel(task.channel)
        return channel_label(stored, lang), channel_color(stored)
    return (task.owner, "") if task.owner else (none, NONE_COLOR)


def _color_scale(groups: Sequence[tuple[str, str]]) -> alt.Scale:
    """Legend domain in first-seen order; owners (no fixed colour) take the categorical palette in turn."""
    domain: list[str] = []
    colors: list[str] = []
    next_owner = 0
    for label, color in groups:
        if label in domain:
            continue
        domain.append(label)
        if not color:
            color = OWNER_COLORS[next_owner % len(OWNER_COLORS)]
            next_owner += 1
        colors.append(color)
    return alt.Scale(domain=domain, range=colors)


def _anchor_rows(anchors: Sequence[CalendarAnchor], start_monday: date, weeks: int, lang: str) -> list[dict[str, Any]]:
    rows = []
    lo, hi = 1.0, float(weeks + 1)
    for anchor in anchors:
        x = max(lo, date_position(start_monday, anchor.start))
        x2 = min(hi, date_position(start_monday, anchor.end + timedelta(days=1)))
        if x2 <= x:
            continue
        rows.append(
            {
                "anchor": anchor.label(lang),
                "kind": anchor.key,
                "x": round(x, 4),
                "x2": round(x2, 4),
                "mid": round((x + x2) / 2, 4),
                "fill": ANCHOR_COLORS.get(anchor.key, "#999999"),
                "dates": f"{anchor.start.isoformat()} – {anchor.end.isoformat()}"
                if anchor.end != anchor.start
                else anchor.start.isoformat(),
                "line": 1 if anchor.key == "member_day" else 0,
                "labelled": anchor.key != "flash_sale",
            }
        )
    return rows


def gantt_chart(
    tasks: Sequence[Task],
    start_monday: date | None,
    lang: str = "en",
    color_by: ColorBy = "owner",
    baseline: Sequence[Task] | None = None,
    current_week: int | date | None = None,
    show_critical: bool = True,
    *,
    weeks: int = DEFAULT_WEEKS,
    anchors: Sequence[CalendarAnchor] | None = None,
    include_flash_sales: bool = False,
    show_links: bool = True,
    width: int = 860,
    row_height: int = 24,
) -> alt.LayerChart:
    """The plan as a layered Gantt chart with every text in ``lang``.

    ``start_monday`` dates the week axis and places the calendar anchors (None:
    week numbers only, no anchors). ``current_week`` is a week number (line through
    the middle of that week, "this week") or a date (line at that day, "today");
    outside the plan it is not drawn. ``baseline`` adds thin grey bars at the
    baseline weeks under each task that has one. ``anchors`` overrides
    ``calendar_anchors(start_monday, weeks)``. A ``start_monday`` that is not a
    Monday raises ``lib.timeline.NotAMondayError``.

    Layers, back to front: phase swimlanes, calendar anchors (+ labels below the
    plot), baseline, task bars, progress, dependency links (+ arrow heads),
    critical-path outlines, milestones, the current-week rule (+ label).
    """
    if start_monday is not None:
        start_monday = require_monday(start_monday)
    ordered = display_order(tasks)
    labels = _unique_labels(ordered, lang)
    label_of = {}
    for task, label in zip(ordered, labels):
        label_of.setdefault(task.id, label)
    path = critical_path(tasks) if show_critical else []
    critical = set(path)
    slips = slippage(tasks, baseline) if baseline else {}
    conflicts = {(s.id, p.id) for s, p in dependency_conflicts(tasks)}

    rows: list[dict[str, Any]] = []
    groups = [_color_group(task, color_by, lang) for task in ordered]
    for task, label, (group, _) in zip(ordered, labels, groups):
        start_x = _clamp(task.start_week, weeks)
        end_x = _clamp(task.end_week + 1, weeks)
        progress = min(max(task.progress, 0.0), 1.0)
        if start_monday is not None and 1 <= task.start_week and task.end_week >= task.start_week:
            first, last = task_dates(start_monday, task)
            dates = first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"
        else:
            dates = ""
        slip = slips.get(task.id)
        rows.append(
            {
                "id": task.id,
                "label": label,
                "name": task.display_name(lang),
                "phase": phase_label(task.phase, lang),
                "group": group,
                "owner": task.owner,
                "channel": channel_label(task.channel, lang),
                "tier": tier_label(task.tier, lang),
                "start": start_x,
                "end": end_x,
                "progress_end": start_x + (end_x - start_x) * progress,
                "progress": f"{progress:.0%}",
                "has_progress": progress > 0,
                "milestone": bool(task.milestone),
                "ms_x": _clamp(task.end_week + MILESTONE_OFFSET, weeks),
                "critical": task.id in critical,
                "weeks": weeks_text(task, lang),
                "dates": dates,
                "depends_on": format_depends_on(task.depends_on),
                "slip": slip.label(lang) if slip else "",
            }
        )

    height = max(1, len(rows)) * row_height
    y_domain = labels
    x_scale = alt.Scale(domain=[1, weeks + 1], nice=False, zero=False)
    axis_labels = week_axis_labels(start_monday, weeks, lang)
    x_axis = alt.Axis(
        orient="top",
        values=list(range(1, weeks + 2)),
        labelExpr=f"{_js_array(axis_labels)}[datum.value - 1]",
        labelAlign="left",
        labelBaseline="bottom",
        labelPadding=16 if start_monday is not None else 6,  # the date line sits under the week line
        ticks=False,
        grid=True,
        gridColor="#E6E6E6",
        title=t("timeline.chart.x_title", lang) if start_monday else t("timeline.chart.x_title_weeks", lang),
        labelFontSize=10,
        labelLineHeight=12,
    )
    y_axis = alt.Axis(title=None, labelLimit=280, labelFontSize=11, domain=False, ticks=False)
    y = alt.Y("label:N", scale=alt.Scale(domain=y_domain), axis=y_axis)
    x = alt.X("start:Q", scale=x_scale, axis=x_axis)
    tooltip = [
        alt.Tooltip("name:N", title=t("timeline.column.name", lang)),
        alt.Tooltip("phase:N", title=t("timeline.column.phase", lang)),
        alt.Tooltip("owner:N", title=t("timeline.column.owner", lang)),
        alt.Tooltip("channel:N", title=t("timeline.column.channel", lang)),
        alt.Tooltip("tier:N", title=t("timeline.column.tier", lang)),
        alt.Tooltip("weeks:N", title=t("timeline.chart.weeks", lang)),
        alt.Tooltip("dates:N", title=t("timeline.column.date", lang)),
        alt.Tooltip("progress:N", title=t("timeline.column.progress", lang)),
        alt.Tooltip("depends_on:N", title=t("timeline.column.depends_on", lang)),
    ]
    if baseline:
        tooltip.append(alt.Tooltip("slip:N", title=t("timeline.column.slippage", lang)))

    color_title = t(f"timeline.chart.color_{color_by}", lang)
    legend_offset = 44 if start_monday is not None else 12  # room for the anchor labels under the plot
    color = alt.Color(
        "group:N",
        scale=_color_scale(groups),
        legend=alt.Legend(title=color_title, orient="bottom", columns=4, labelLimit=200, offset=legend_offset),
    )
    base = alt.Chart()
    layers: list[alt.Chart] = []

    # Phase swimlanes: one faint full-width band per row, coloured by phase.
    phase_domain = [phase_label(p, lang) for p in PHASES]
    layers.append(
        base.mark_rect(opacity=0.10)
        .encode(
            y=y,
            x=alt.X("lane_start:Q", scale=x_scale, axis=x_axis),
            x2="lane_end:Q",
            fill=alt.Fill(
                "phase:N",
                scale=alt.Scale(domain=phase_domain, range=[PHASE_COLORS[p] for p in PHASES]),
                legend=None  # the bars' own legend already shows the phases
                if color_by == "phase"
                else alt.Legend(
                    title=t("timeline.column.phase", lang), orient="bottom", symbolOpacity=0.5, offset=legend_offset
                ),
            ),
        )
        .transform_calculate(lane_start="1", lane_end=str(weeks + 1))
    )

    # Calendar anchors: shaded spans over the whole height, labels under the plot.
    anchor_rows: list[dict[str, Any]] = []
    if start_monday is not None:
        chosen = (
            anchors
            if anchors is not None
            else calendar_anchors(start_monday, weeks, include_flash_sales=include_flash_sales)
        )
        anchor_rows = _anchor_rows(chosen, start_monday, weeks, lang)
    if anchor_rows:
        anchor_data = alt.Data(values=anchor_rows)
        layers.append(
            alt.Chart(anchor_data)
            .mark_rect(opacity=0.14)
            .encode(
                x=alt.X("x:Q", scale=x_scale, axis=x_axis),
                x2="x2:Q",
                fill=alt.Fill("fill:N", scale=None, legend=None),
                tooltip=[
                    alt.Tooltip("anchor:N", title=t("timeline.chart.anchor", lang)),
                    alt.Tooltip("dates:N", title=t("timeline.column.date", lang)),
                ],
            )
        )
        layers.append(
            alt.Chart(anchor_data)
            .transform_filter("datum.labelled")
            .transform_calculate(label_y=f"{height + 12} + datum.line * 12")
            .mark_text(fontSize=10, baseline="top", fontWeight="bold")
            .encode(
                x=alt.X("mid:Q", scale=x_scale, axis=x_axis),
                y=alt.Y("label_y:Q", scale=None),
                text="anchor:N",
                fill=alt.Fill("fill:N", scale=None, legend=None),
            )
        )

    # Baseline: thin grey bars (and small grey diamonds for milestones) under each task.
    if baseline:
        base_rows = []
        by_id = {}
        for task in baseline:
            by_id.setdefault(task.id, task)
        for task in ordered:
            before = by_id.get(task.id)
            if before is None or task.id not in label_of:
                continue
            base_rows.append(
                {
                    "label": label_of[task.id],
                    "start": _clamp(before.start_week, weeks),
                    "end": _clamp(before.end_week + 1, weeks),
                    "ms_x": _clamp(before.end_week + MILESTONE_OFFSET, weeks),
                    "milestone": bool(before.milestone),
                    "baseline": weeks_text(before, lang),
                }
            )
        if base_rows:
            base_data = alt.Data(values=base_rows)
            baseline_tooltip = [alt.Tooltip("baseline:N", title=t("timeline.chart.baseline", lang))]
            layers.append(
                alt.Chart(base_data)
                .transform_filter("!datum.milestone")
                .mark_bar(size=4, yOffset=9, color=BASELINE_COLOR)
                .encode(y=y, x=x, x2="end:Q", tooltip=baseline_tooltip)
            )
            layers.append(
                alt.Chart(base_data)
                .transform_filter("datum.milestone")
                .mark_point(shape="diamond", size=50, filled=True, yOffset=8, color=BASELINE_COLOR)
                .encode(y=y, x=alt.X("ms_x:Q", scale=x_scale, axis=x_axis), tooltip=baseline_tooltip)
            )

    # Task bars and progress.
    layers.append(
        base.transform_filter("!datum.milestone")
        .mark_bar(size=max(8, row_height - 10), cornerRadius=2)
        .encode(y=y, x=x, x2="end:Q", color=color, tooltip=tooltip)
    )
    layers.append(
        base.transform_filter("!datum.milestone && datum.has_progress")
        .mark_bar(size=4, color="#1A1A1A", opacity=0.55)
        .encode(y=y, x=x, x2="progress_end:Q", tooltip=tooltip)
    )

    # Dependency links: predecessor end → successor start; red where the successor starts too early.
    link_rows: list[dict[str, Any]] = []
    if show_links:
        by_id = {}
        for task in ordered:
            by_id.setdefault(task.id, task)
        for task in ordered:
            for dep in task.depends_on:
                pred = by_id.get(dep)
                if pred is None or pred.id == task.id:
                    continue
                conflict = (task.id, pred.id) in conflicts
                link_rows.append(
                    {
                        "from_label": label_of[pred.id],
                        "to_label": label_of[task.id],
                        "x": _clamp(pred.end_week + (MILESTONE_OFFSET if pred.milestone else 1), weeks),
                        "x2": _clamp(task.end_week + MILESTONE_OFFSET if task.milestone else task.start_week, weeks),
                        "stroke": CONFLICT_COLOR if conflict else LINK_COLOR,
                        "width": 2.4 if (pred.id in critical and task.id in critical) else 1.0,
                        "conflict": conflict,
                        "link": f"{pred.id} → {task.id}",
                    }
                )
    if link_rows:
        link_data = alt.Data(values=link_rows)
        link_tooltip = [alt.Tooltip("link:N", title=t("timeline.chart.dependency", lang))]
        layers.append(
            alt.Chart(link_data)
            .mark_rule(opacity=0.8)
            .encode(
                x=alt.X("x:Q", scale=x_scale, axis=x_axis),
                x2="x2:Q",
                y=alt.Y("from_label:N", scale=alt.Scale(domain=y_domain), axis=y_axis),
                y2="to_label:N",
                stroke=alt.Stroke("stroke:N", scale=None, legend=None),
                strokeWidth=alt.StrokeWidth("width:Q", scale=None, legend=None),
                tooltip=link_tooltip,
            )
        )
        layers.append(
            alt.Chart(link_data)
            .mark_point(shape="triangle-right", filled=True, size=30)
            .encode(
                x=alt.X("x2:Q", scale=x_scale, axis=x_axis),
                y=alt.Y("to_label:N", scale=alt.Scale(domain=y_domain), axis=y_axis),
                fill=alt.Fill("stroke:N", scale=None, legend=None),
                tooltip=link_tooltip,
            )
        )

    # Critical path: thick dark outline around its bars and milestones.
    if critical:
        layers.append(
            base.transform_filter("datum.critical && !datum.milestone")
            .mark_bar(
                size=max(10, row_height - 6), fillOpacity=0, stroke=CRITICAL_COLOR, strokeWidth=2.2, cornerRadius=2
            )
            .encode(y=y, x=x, x2="end:Q", tooltip=tooltip)
        )
        layers.append(
            base.transform_filter("datum.critical && datum.milestone")
            .mark_point(shape="diamond", size=330, filled=False, stroke=CRITICAL_COLOR, strokeWidth=2.2)
            .encode(y=y, x=alt.X("ms_x:Q", scale=x_scale, axis=x_axis))
        )

    # Milestones.
    layers.append(
        base.transform_filter("datum.milestone")
        .mark_point(shape="diamond", size=190, filled=True, opacity=1, stroke="#FFFFFF", strokeWidth=1)
        .encode(y=y, x=alt.X("ms_x:Q", scale=x_scale, axis=x_axis), color=color, tooltip=tooltip)
    )

    # Current week / today.
    position, now_label = _current_position(current_week, start_monday, weeks, lang)
    if position is not None:
        now_data = alt.Data(values=[{"x": position, "label": now_label}])
        layers.append(
            alt.Chart(now_data)
            .mark_rule(color=TODAY_COLOR, strokeWidth=2, strokeDash=[5, 3])
            .encode(x=alt.X("x:Q", scale=x_scale, axis=x_axis), tooltip=alt.Tooltip("label:N", title=""))
        )
        layers.append(
            alt.Chart(now_data)
            .mark_text(color=TODAY_COLOR, align="left", baseline="top", dx=4, dy=2, fontSize=10, fontWeight="bold")
            .encode(x=alt.X("x:Q", scale=x_scale, axis=x_axis), y=alt.value(0), text="label:N")
        )

    subtitle = _subtitle(tasks, start_monday, weeks, lang, path)
    # Built in one go (each .properties()/.resolve_scale() call deep-copies every layer).
    # Bars and milestones share the colour scale (one legend); bands, anchors and
    # links each carry their own fill/stroke.
    return alt.LayerChart(
        layer=layers,
        data=alt.Data(values=rows),
        width=width,
        height=height,
        title=alt.Title(t("timeline.chart.title", lang), subtitle=subtitle, anchor="start"),
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(fill="independent", stroke="independent")),
    )


def _clamp(position: float, weeks: int) -> float:
    """A week position kept inside the plot (tasks with out-of-range weeks are drawn at the edge)."""
    return float(min(max(position, 1), weeks + 1))


def _js_array(values: Sequence[Any]) -> str:
    """A Vega-expression array literal (JSON is valid expression syntax for strings and lists)."""
    return json.dumps(list(values), ensure_ascii=False)


def _current_position(
    current: int | date | None, start_monday: date | None, weeks: int, lang: str
) -> tuple[float | None, str]:
    if current is None:
        return None, ""
    if isinstance(current, date):
        if isinstance(current, datetime):
            current = current.date()
        if start_monday is None:
            return None, ""
        x = date_position(start_monday, current) + 0.5 / 7  # middle of the day
        if not 1 <= x <= weeks + 1:
            return None, ""
        return round(x, 4), t("timeline.chart.today", lang)
    week = int(current)
    if not 1 <= week <= weeks:
        return None, ""
    return week + 0.5, t("timeline.chart.this_week", lang)


def _subtitle(
    tasks: Sequence[Task], start_monday: date | None, weeks: int, lang: str, path: Sequence[str]
) -> list[str]:
    parts = []
    if start_monday is not None:
        end = start_monday + timedelta(days=7 * weeks - 1)
        parts.append(t("timeline.chart.range", lang, start=start_monday.isoformat(), end=end.isoformat(), weeks=weeks))
    if path:
        parts.append(t("timeline.chart.critical", lang, path=" → ".join(path), weeks=path_weeks(tasks, path)))
    return parts
