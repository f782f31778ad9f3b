"""The 13-week Gantt chart as one layered Altair chart, in English or Chinese.

Why: Streamlit's Gantt components are weak (no dependency arrows, edits lost), so
the editable table is the source of truth and this module re-draws the plan each
run: phase swimlanes, task bars coloured by owner/channel/phase, progress, milestone
diamonds, the current-week line, dependency links (red when a task starts before
what it depends on ends), an optional baseline, the critical path, overdue and
behind-schedule flags and the shopping-calendar anchors (618, 双11, 年货节, member
days). The same spec is rendered to PNG/SVG on the server by ``lib.timeline.exports``.

Geometry: x is a quantitative week axis where week ``w`` covers ``[w, w + 1)``; the
top axis puts "W1 / Oct 5" (第1周 / 10月5日) at each week's Monday, naming the month
only where it changes. y is the task label (``"P1 · name"``, never shortened),
ordered by phase, then start week; the label column is as wide as the widest label
line, measured with per-character widths (``text_width``: CJK characters count a
full em, about twice a Latin letter), and a label wider than ``LABEL_WRAP_PX``
wraps onto more lines. Only the tasks, their links, baseline rows and the anchors
are embedded as data.

``gantt_chart`` works in three steps: ``_plan`` orders, labels, colours and flags
the tasks (their data rows); ``_frame`` sizes the label column and builds the
scales, axes and legends every layer shares; the ``_*_layer(s)`` functions below
each draw one layer — swimlanes, week grid, calendar anchors, baseline, bars and
progress, dependency links, critical path, milestones, schedule flags, the
today rule — and ``gantt_chart`` stacks them back to front.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import altair as alt

from lib.i18n import t
from lib.palette import channel_color, readable_on, text_on
from lib.timeline.calendar import CalendarAnchor, calendar_anchors, date_position, require_monday, task_dates, weeks_text
from lib.timeline.checks import critical_path, dependency_conflicts, path_weeks
from lib.timeline.model import (
    DEFAULT_WEEKS,
    PHASE_COLORS,
    PHASES,
    Task,
    canonical_channel,
    channel_label,
    display_order,
    format_depends_on,
    phase_label,
    tier_label,
    tint,
)
from lib.timeline.tracking import ScheduleFlag, Slippage, schedule_flags, slippage, status_counts

__all__ = [
    "BOLD_FACTOR",
    "LABEL_FONT_SIZE",
    "LABEL_WRAP_PX",
    "ColorBy",
    "LabelColumn",
    "gantt_chart",
    "label_column",
    "task_label",
    "text_width",
    "week_axis_labels",
    "wrap_text",
]

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
GRID_COLOR = "#D9D9D9"
LABEL_COLOR = "#1A1A1A"
#: Overdue and behind-schedule flags (the y label of an overdue task takes ``OVERDUE_TEXT``).
STATUS_COLORS: dict[str, str] = {"overdue": "#C62828", "behind": "#F5A623"}
OVERDUE_TEXT = "#B3261E"
#: Share of a phase colour kept in its swimlane band (the rest is white); the legend shows the same tint.
LANE_TINT = 0.16
ANCHOR_COLORS: dict[str, str] = {
    "618": "#FF5000",
    "double11_warmup": "#FFB000",
    "double11": "#FF2442",
    "new_year_festival": "#C81623",
    "member_day": "#7B4FBF",
    "flash_sale": "#F5A623",
}
#: Space around the chart, set here because Streamlit draws a chart without one on the top, left and right:
#: the CJK title's glyphs rise above Vega's estimate of their height, and were cut at the top.
CHART_PADDING: dict[str, int] = {"top": 8, "left": 5, "right": 5, "bottom": 5}
#: Milestones sit on the middle of their Friday (see ``lib.timeline.milestone_date``).
MILESTONE_OFFSET = 4.5 / 7

# --- Label geometry -------------------------------------------------------------------
LABEL_FONT_SIZE = 11
LABEL_LINE_HEIGHT = 13
#: A task label wider than this (in px at ``LABEL_FONT_SIZE``) wraps onto another line.
LABEL_WRAP_PX = 300
#: Advance widths (em) of ASCII 32–126: the larger of DejaVu Sans (the browser's sans-serif
#: here) and Noto Sans CJK SC (the PNG/SVG export font), so a measured label never falls short.
_ASCII_EM: tuple[float, ...] = (
    0.32, 0.41, 0.48, 0.84, 0.64, 0.96, 0.78, 0.28, 0.4, 0.4, 0.5, 0.84, 0.32, 0.37, 0.32, 0.4,
    0.64, 0.64, 0.64, 0.64, 0.64, 0.64, 0.64, 0.64, 0.64, 0.64, 0.34, 0.34, 0.84, 0.84, 0.84, 0.54,
    1.0, 0.69, 0.69, 0.7, 0.78, 0.64, 0.58, 0.78, 0.76, 0.3, 0.54, 0.66, 0.56, 0.87, 0.75, 0.79,
    0.64, 0.79, 0.7, 0.64, 0.62, 0.74, 0.69, 0.99, 0.69, 0.62, 0.69, 0.4, 0.4, 0.4, 0.84, 0.56,
    0.61, 0.62, 0.64, 0.55, 0.64, 0.62, 0.36, 0.64, 0.64, 0.28, 0.28, 0.58, 0.29, 0.98, 0.64, 0.62,
    0.64, 0.64, 0.42, 0.53, 0.4, 0.64, 0.6, 0.82, 0.6, 0.6, 0.53, 0.64, 0.34, 0.64, 0.84,
)
#: Characters that never start a line (they stay with the text before them).
_NO_LINE_START = set("，。、；：！？）」』】》,.;:!?)]}")
_CJK = r"\u2E80-\u9FFF\u3000-\u303F\uF900-\uFAFF\uFF00-\uFFEF"
_TOKENS = re.compile(rf"\s+|[^\s{_CJK}]+|.")


def text_width(text: str, font_size: float = LABEL_FONT_SIZE) -> float:
    """Width of ``text`` in px: ASCII from ``_ASCII_EM``, anything else (CJK, arrows, ·) a full em."""
    em = 0.0
    for char in text:
        code = ord(char)
        em += _ASCII_EM[code - 32] if 32 <= code <= 126 else 1.0
    return em * font_size


def wrap_text(text: str, max_px: float = LABEL_WRAP_PX, font_size: float = LABEL_FONT_SIZE) -> list[str]:
    """``text`` in lines no wider than ``max_px``: Latin breaks between words, CJK between characters.

    Nothing is dropped: a word wider than a line is split by characters, and closing
    punctuation stays at the end of its line. Joining the lines (with a space where
    a line ended between words) gives the text back.
    """
    def fits(candidate: str) -> bool:
        return text_width(candidate, font_size) <= max_px

    lines: list[str] = []
    current = ""
    for token in _TOKENS.findall(text):
        if token.isspace():
            current += " " if current else ""
            continue
        if token in _NO_LINE_START or fits(current + token):
            current += token
            continue
        if current.strip():
            lines.append(current.rstrip())
            current = ""
        if fits(token):
            current = token
            continue
        for char in token:  # one word wider than a line: split it by characters
            if current and not fits(current + char):
                lines.append(current)
                current = ""
            current += char
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines


def task_label(task: Task, lang: str) -> str:
    """The y-axis text of a task: ``"P1 · Design the segmentation model (RFM + scene tags)"`` — never shortened."""
    return f"{task.id} · {task.display_name(lang) or '—'}"


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


@dataclass(frozen=True)
class LabelColumn:
    """How the task labels are laid out: their lines, the column width and the row height they need."""

    labels: list[str]
    lines: list[list[str]]
    width: float  # px of the widest line (measured with ``text_width``)
    row_height: int

    @property
    def wrapped(self) -> bool:
        return any(len(lines) > 1 for lines in self.lines)

    @property
    def label_limit(self) -> int:
        """Vega's ``labelLimit``: the widest line plus a margin, so no label is ever cut."""
        return math.ceil(self.width) + 8


#: Bold Latin text runs up to about 12 % wider than regular (CJK glyphs keep their full em).
BOLD_FACTOR = 1.12


def label_column(labels: Sequence[str], row_height: int = 24, wrap_px: float = LABEL_WRAP_PX,
                 bold: Sequence[str] = ()) -> LabelColumn:
    """Wrap each label at ``wrap_px`` and size the column and the rows to the result (``bold`` labels wider)."""
    lines = [wrap_text(label, wrap_px) for label in labels]
    heavy = set(bold)
    width = max(
        (text_width(line) * (BOLD_FACTOR if label in heavy else 1.0)
         for label, group in zip(labels, lines) for line in group),
        default=0.0,
    )
    most = max((len(group) for group in lines), default=1)
    return LabelColumn(list(labels), lines, width, max(row_height, LABEL_LINE_HEIGHT * most + 4))


def week_axis_labels(start_monday: date | None, weeks: int, lang: str) -> list[list[str] | str]:
    """Two-line labels per week boundary (``["W1", "Oct 5"]``, ``["W2", "12"]``) plus an empty one for the end.

    The month is named on week 1 and wherever a week's Monday is in a new month, so no
    month label repeats along the axis.
    """
    labels: list[list[str] | str] = []
    previous_month: int | None = None
    for week in range(1, weeks + 1):
        head = t("timeline.chart.week_short", lang, week=week)
        if start_monday is None:
            labels.append([head])
            continue
        monday = start_monday + timedelta(days=7 * (week - 1))
        if monday.month != previous_month:
            day = t("timeline.chart.day_with_month", lang, month=t(f"timeline.month.{monday.month}", lang),
                    day=monday.day)
        else:
            day = t("timeline.chart.day_only", lang, day=monday.day)
        previous_month = monday.month
        labels.append([head, day])
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
        fill = ANCHOR_COLORS.get(anchor.key, "#999999")
        rows.append(
            {
                "anchor": anchor.label(lang),
                "kind": anchor.key,
                "x": round(x, 4),
                "x2": round(x2, 4),
                "mid": round((x + x2) / 2, 4),
                "fill": fill,
                "text_fill": readable_on(fill),  # the label under the plot, dark enough to read on white
                "dates": f"{anchor.start.isoformat()} – {anchor.end.isoformat()}"
                if anchor.end != anchor.start
                else anchor.start.isoformat(),
                "line": 1 if anchor.key == "member_day" else 0,
                "labelled": anchor.key != "flash_sale",
            }
        )
    return rows


# ---------------------------------------------------------------------------
# The shared frame of every layer
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """What every layer shares: language, weeks, the scales and axes, the label column, the colours."""

    lang: str
    weeks: int
    start_monday: date | None
    height: int
    column: LabelColumn
    x_scale: alt.Scale
    x_axis: alt.Axis
    y_axis: alt.Axis
    color: alt.Color
    tooltip: list[alt.Tooltip]
    legend_offset: int

    @property
    def y(self) -> alt.Y:
        return alt.Y("label:N", scale=alt.Scale(domain=self.column.labels), axis=self.y_axis)

    def y_of(self, name: str) -> alt.Y:
        return alt.Y(f"{name}:N", scale=alt.Scale(domain=self.column.labels), axis=self.y_axis)

    def x_of(self, name: str) -> alt.X:
        return alt.X(f"{name}:Q", scale=self.x_scale, axis=self.x_axis)

    @property
    def row_height(self) -> int:
        return self.column.row_height


def _x_axis(start_monday: date | None, weeks: int, lang: str) -> alt.Axis:
    axis_labels = week_axis_labels(start_monday, weeks, lang)
    return alt.Axis(
        orient="top",
        values=list(range(1, weeks + 2)),
        labelExpr=f"{_js_array(axis_labels)}[datum.value - 1]",
        labelAlign="left",
        labelBaseline="bottom",
        labelPadding=16 if start_monday is not None else 6,  # the date line sits under the week line
        labelColor=LABEL_COLOR,
        ticks=False,
        grid=False,  # drawn by _grid_layer, above the opaque swimlanes
        title=t("timeline.chart.x_title", lang) if start_monday else t("timeline.chart.x_title_weeks", lang),
        labelFontSize=10,
        labelLineHeight=12,
    )


def _y_axis(column: LabelColumn, overdue_labels: Sequence[str]) -> alt.Axis:
    """Task labels at full length (multi-line where wrapped); overdue tasks' labels in dark red."""
    options: dict[str, Any] = {
        "title": None,
        "labelLimit": column.label_limit,
        "labelFontSize": LABEL_FONT_SIZE,
        "labelLineHeight": LABEL_LINE_HEIGHT,
        "labelColor": LABEL_COLOR,
        "labelPadding": 6,
        "domain": False,
        "ticks": False,
    }
    if column.wrapped:
        shown = [lines if len(lines) > 1 else lines[0] for lines in column.lines]
        options["labelExpr"] = f"{_js_array(shown)}[indexof({_js_array(column.labels)}, datum.value)]"
        # Vega sets a multi-line label's first line on the row's middle: lift the block to centre it.
        conditions = []
        for count in sorted({len(lines) for lines in column.lines if len(lines) > 1}):
            members = [label for label, lines in zip(column.labels, column.lines) if len(lines) == count]
            conditions.append({"test": f"indexof({_js_array(members)}, datum.value) >= 0",
                               "value": -LABEL_LINE_HEIGHT * (count - 1) / 2})
        options["labelOffset"] = {"condition": conditions, "value": 0}
    if overdue_labels:
        test = f"indexof({_js_array(overdue_labels)}, datum.value) >= 0"
        options["labelColor"] = {"condition": {"test": test, "value": OVERDUE_TEXT}, "value": LABEL_COLOR}
        options["labelFontWeight"] = {"condition": {"test": test, "value": "bold"}, "value": "normal"}
    return alt.Axis(**options)


def _tooltip(lang: str, with_baseline: bool, with_status: bool) -> list[alt.Tooltip]:
    fields = [
        ("name", "timeline.column.name"),
        ("phase", "timeline.column.phase"),
        ("owner", "timeline.column.owner"),
        ("channel", "timeline.column.channel"),
        ("tier", "timeline.column.tier"),
        ("weeks", "timeline.chart.weeks"),
        ("dates", "timeline.column.date"),
        ("progress", "timeline.column.progress"),
        ("depends_on", "timeline.column.depends_on"),
    ]
    if with_baseline:
        fields.append(("slip", "timeline.column.slippage"))
    if with_status:
        fields.append(("status_detail", "timeline.chart.status"))
    return [alt.Tooltip(f"{name}:N", title=t(key, lang)) for name, key in fields]


# ---------------------------------------------------------------------------
# Task rows
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """The tasks in drawing order and what the layers know about them (labels, critical path, flags, rows)."""

    tasks: Sequence[Task]  # as given: the critical path and the subtitle are computed on them
    ordered: list[Task]  # display order (phase, then start week)
    label_of: dict[str, str]  # task id → its y label (the first task with an id wins)
    path: list[str]  # critical path, first to last task ([] when not shown)
    slips: dict[str, Slippage]
    flags: dict[str, ScheduleFlag]
    groups: list[tuple[str, str]]  # (legend text, colour) per ordered task
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def critical(self) -> set[str]:
        return set(self.path)

    @property
    def conflicts(self) -> set[tuple[str, str]]:
        """(successor, predecessor) ids of links whose successor starts before its predecessor ends."""
        return {(successor.id, predecessor.id) for successor, predecessor in dependency_conflicts(self.tasks)}

    @property
    def overdue_labels(self) -> list[str]:
        return [row["label"] for row in self.rows if row["status_key"] == "overdue"]

    @property
    def statuses(self) -> list[str]:
        """The schedule statuses present, in legend order."""
        return [status for status in STATUS_COLORS if any(row["status_key"] == status for row in self.rows)]


def _plan(tasks: Sequence[Task], start_monday: date | None, lang: str, color_by: ColorBy,
          baseline: Sequence[Task] | None, show_critical: bool, today: date | None, weeks: int) -> _Plan:
    """Order, label, colour and flag the tasks, and build their data rows."""
    ordered = display_order(tasks)
    labels = _unique_labels(ordered, lang)
    label_of: dict[str, str] = {}
    for task, label in zip(ordered, labels):
        label_of.setdefault(task.id, label)
    groups = [_color_group(task, color_by, lang) for task in ordered]
    plan = _Plan(
        tasks=tasks, ordered=ordered, label_of=label_of,
        path=critical_path(tasks) if show_critical else [],
        slips=slippage(tasks, baseline) if baseline else {},
        flags=schedule_flags(tasks, start_monday, today, weeks) if (start_monday and today) else {},
        groups=groups,
    )
    plan.rows.extend(_task_row(task, label, group, plan, lang, weeks, start_monday)
                     for task, label, (group, _) in zip(ordered, labels, groups))
    return plan


def _dates_text(task: Task, start_monday: date | None) -> str:
    """``"2026-09-07 – 2026-09-20"`` (one day for a milestone); empty without a start or with invalid weeks."""
    if start_monday is None or task.start_week < 1 or task.end_week < task.start_week:
        return ""
    first, last = task_dates(start_monday, task)
    return first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"


def _task_row(task: Task, label: str, group: str, plan: _Plan, lang: str, weeks: int,
              start_monday: date | None) -> dict[str, Any]:
    """One task's data row: its label, bar geometry, texts for the tooltip and its schedule flag."""
    start_x = _clamp(task.start_week, weeks)
    end_x = _clamp(task.end_week + 1, weeks)
    progress = min(max(task.progress, 0.0), 1.0)
    slip = plan.slips.get(task.id)
    flag = plan.flags.get(task.id)
    return {
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
        "critical": task.id in plan.critical,
        "weeks": weeks_text(task, lang),
        "dates": _dates_text(task, start_monday),
        "depends_on": format_depends_on(task.depends_on),
        "slip": slip.label(lang) if slip else "",
        "status_key": flag.status if flag else "",
        "status": flag.label(lang) if flag else "",
        "status_detail": flag.detail(lang) if flag else "",
        "status_text": text_on(STATUS_COLORS[flag.status]) if flag else "",
    }


# ---------------------------------------------------------------------------
# Layers, back to front
# ---------------------------------------------------------------------------


def _lane_layer(frame: _Frame, color_by: ColorBy) -> alt.Chart:
    """Phase swimlanes: one full-width band per row in its phase's tint; the legend shows the same tint."""
    lang = frame.lang
    phase_domain = [phase_label(p, lang) for p in PHASES]
    legend = (
        None  # the bars' own legend already shows the phases
        if color_by == "phase"
        else alt.Legend(
            title=t("timeline.column.phase", lang), orient="bottom", offset=frame.legend_offset, columns=2,
            symbolType="square", symbolStrokeColor=BASELINE_COLOR, symbolStrokeWidth=0.5,
        )
    )
    lanes: alt.Chart = (  # typed here: Altair's encode() is untyped
        alt.Chart()
        .mark_rect()
        .encode(
            y=frame.y,
            x=frame.x_of("lane_start"),
            x2="lane_end:Q",
            fill=alt.Fill(
                "phase:N",
                scale=alt.Scale(domain=phase_domain, range=[tint(PHASE_COLORS[p], LANE_TINT) for p in PHASES]),
                legend=legend,
            ),
        )
        .transform_calculate(lane_start="1", lane_end=str(frame.weeks + 1))
    )
    return lanes


def _grid_layer(frame: _Frame) -> alt.Chart:
    """Week boundaries as thin rules over the swimlanes (an axis grid would hide under the opaque bands)."""
    rows = [{"x": week} for week in range(1, frame.weeks + 2)]
    grid: alt.Chart = alt.Chart(_inline(rows)).mark_rule(color=GRID_COLOR, strokeWidth=1).encode(x=frame.x_of("x"))
    return grid


def _anchor_layers(frame: _Frame, anchor_rows: list[dict[str, Any]]) -> list[alt.Chart]:
    """Calendar anchors: translucent spans over the whole height, their names under the plot."""
    if not anchor_rows:
        return []
    lang = frame.lang
    data = _inline(anchor_rows)
    spans = (
        alt.Chart(data)
        .mark_rect(opacity=0.14)
        .encode(
            x=frame.x_of("x"),
            x2="x2:Q",
            fill=alt.Fill("fill:N", scale=None, legend=None),
            tooltip=[
                alt.Tooltip("anchor:N", title=t("timeline.chart.anchor", lang)),
                alt.Tooltip("dates:N", title=t("timeline.column.date", lang)),
            ],
        )
    )
    names = (
        alt.Chart(data)
        .transform_filter("datum.labelled")
        .transform_calculate(label_y=f"{frame.height + 12} + datum.line * 12")
        .mark_text(fontSize=10, baseline="top", fontWeight="bold")
        .encode(
            x=frame.x_of("mid"),
            y=alt.Y("label_y:Q", scale=None),
            text="anchor:N",
            fill=alt.Fill("text_fill:N", scale=None, legend=None),
        )
    )
    return [spans, names]


def _baseline_layers(frame: _Frame, ordered: Sequence[Task], baseline: Sequence[Task],
                     label_of: dict[str, str]) -> list[alt.Chart]:
    """Baseline: thin grey bars (and small grey diamonds for milestones) under each task."""
    weeks = frame.weeks
    by_id: dict[str, Task] = {}
    for task in baseline:
        by_id.setdefault(task.id, task)
    rows = []
    for task in ordered:
        before = by_id.get(task.id)
        if before is None or task.id not in label_of:
            continue
        rows.append(
            {
                "label": label_of[task.id],
                "start": _clamp(before.start_week, weeks),
                "end": _clamp(before.end_week + 1, weeks),
                "ms_x": _clamp(before.end_week + MILESTONE_OFFSET, weeks),
                "milestone": bool(before.milestone),
                "baseline": weeks_text(before, frame.lang),
            }
        )
    if not rows:
        return []
    data = _inline(rows)
    tooltip = [alt.Tooltip("baseline:N", title=t("timeline.chart.baseline", frame.lang))]
    return [
        alt.Chart(data)
        .transform_filter("!datum.milestone")
        .mark_bar(size=4, yOffset=frame.row_height / 2 - 3, color=BASELINE_COLOR)
        .encode(y=frame.y, x=frame.x_of("start"), x2="end:Q", tooltip=tooltip),
        alt.Chart(data)
        .transform_filter("datum.milestone")
        .mark_point(shape="diamond", size=50, filled=True, yOffset=frame.row_height / 2 - 4, color=BASELINE_COLOR)
        .encode(y=frame.y, x=frame.x_of("ms_x"), tooltip=tooltip),
    ]


def _bar_layers(frame: _Frame) -> list[alt.Chart]:
    """Task bars in their group's colour, and progress as a thin dark bar inside them."""
    return [
        alt.Chart()
        .transform_filter("!datum.milestone")
        .mark_bar(size=max(8, min(frame.row_height, 24) - 10), cornerRadius=2)
        .encode(y=frame.y, x=frame.x_of("start"), x2="end:Q", color=frame.color, tooltip=frame.tooltip),
        alt.Chart()
        .transform_filter("!datum.milestone && datum.has_progress")
        .mark_bar(size=4, color=LABEL_COLOR, opacity=0.55)
        .encode(y=frame.y, x=frame.x_of("start"), x2="progress_end:Q", tooltip=frame.tooltip),
    ]


def _link_rows(ordered: Sequence[Task], label_of: dict[str, str], critical: set[str],
               conflicts: set[tuple[str, str]], weeks: int) -> list[dict[str, Any]]:
    """Dependency links: predecessor end → successor start; red where the successor starts too early."""
    by_id: dict[str, Task] = {}
    for task in ordered:
        by_id.setdefault(task.id, task)
    rows = []
    for task in ordered:
        for dep in task.depends_on:
            pred = by_id.get(dep)
            if pred is None or pred.id == task.id:
                continue
            conflict = (task.id, pred.id) in conflicts
            rows.append(
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
    return rows


def _link_layers(frame: _Frame, link_rows: list[dict[str, Any]]) -> list[alt.Chart]:
    if not link_rows:
        return []
    data = _inline(link_rows)
    tooltip = [alt.Tooltip("link:N", title=t("timeline.chart.dependency", frame.lang))]
    return [
        alt.Chart(data)
        .mark_rule(opacity=0.8)
        .encode(
            x=frame.x_of("x"),
            x2="x2:Q",
            y=frame.y_of("from_label"),
            y2="to_label:N",
            stroke=alt.Stroke("stroke:N", scale=None, legend=None),
            strokeWidth=alt.StrokeWidth("width:Q", scale=None, legend=None),
            tooltip=tooltip,
        ),
        alt.Chart(data)
        .mark_point(shape="triangle-right", filled=True, size=30)
        .encode(
            x=frame.x_of("x2"),
            y=frame.y_of("to_label"),
            fill=alt.Fill("stroke:N", scale=None, legend=None),
            tooltip=tooltip,
        ),
    ]


def _critical_layers(frame: _Frame) -> list[alt.Chart]:
    """Critical path: a thick dark outline around its bars and milestones."""
    return [
        alt.Chart()
        .transform_filter("datum.critical && !datum.milestone")
        .mark_bar(
            size=max(10, min(frame.row_height, 24) - 6), fillOpacity=0, stroke=CRITICAL_COLOR, strokeWidth=2.2,
            cornerRadius=2,
        )
        .encode(y=frame.y, x=frame.x_of("start"), x2="end:Q", tooltip=frame.tooltip),
        alt.Chart()
        .transform_filter("datum.critical && datum.milestone")
        .mark_point(shape="diamond", size=330, filled=False, stroke=CRITICAL_COLOR, strokeWidth=2.2)
        .encode(y=frame.y, x=frame.x_of("ms_x")),
    ]


def _milestone_layer(frame: _Frame) -> alt.Chart:
    """Milestones: diamonds on their Friday, in their group's colour."""
    diamonds: alt.Chart = (
        alt.Chart()
        .transform_filter("datum.milestone")
        .mark_point(shape="diamond", size=190, filled=True, opacity=1, stroke="#FFFFFF", strokeWidth=1)
        .encode(y=frame.y, x=frame.x_of("ms_x"), color=frame.color, tooltip=frame.tooltip)
    )
    return diamonds


def _status_layers(frame: _Frame, present: Sequence[str]) -> list[alt.Chart]:
    """Overdue / behind flags: a round "!" badge at the end of the bar (right of a milestone), with a legend.

    The badge's place is the row's ``badge_x`` (:func:`_place_badges`)."""
    if not present:
        return []
    lang = frame.lang
    domain = [t(f"timeline.status.{status}", lang) for status in present]
    scale = alt.Scale(domain=domain, range=[STATUS_COLORS[s] for s in present])
    fill = alt.Fill(
        "status:N",
        scale=scale,
        legend=alt.Legend(title=t("timeline.chart.status", lang), orient="bottom", offset=frame.legend_offset,
                          columns=1, symbolType="circle", symbolSize=120, symbolStrokeColor="#FFFFFF"),
    )
    test = "datum.status_key != ''"
    return [  # one layer per mark (not per bar/milestone): each layer is a data flow the browser builds
        alt.Chart()
        .transform_filter(test)
        .mark_point(shape="circle", size=150, filled=True, opacity=1, stroke="#FFFFFF", strokeWidth=1)
        .encode(y=frame.y, x=frame.x_of("badge_x"), fill=fill, tooltip=frame.tooltip),
        alt.Chart()
        .transform_filter(test)
        .mark_text(text="!", fontSize=11, fontWeight="bold", baseline="middle", align="center")
        .encode(y=frame.y, x=frame.x_of("badge_x"), fill=alt.Fill("status_text:N", scale=None, legend=None),
                tooltip=frame.tooltip),
    ]


#: Where a schedule flag's badge sits, in pixels from the bar's end (inside it) or a milestone's centre (right of it).
BADGE_INSIDE_BAR_PX, BADGE_RIGHT_OF_MILESTONE_PX = -9, 13


def _place_badges(rows: list[dict[str, Any]], width: int, weeks: int) -> None:
    """Each row's ``badge_x``: its flag's position in weeks (the x scale spans ``weeks`` over ``width`` pixels)."""
    weeks_per_px = weeks / width
    for row in rows:
        row["badge_x"] = (row["ms_x"] + BADGE_RIGHT_OF_MILESTONE_PX * weeks_per_px if row["milestone"]
                          else row["end"] + BADGE_INSIDE_BAR_PX * weeks_per_px)


def _now_layers(frame: _Frame, current_week: int | date | None) -> list[alt.Chart]:
    """The current week (a dashed red line through its middle) or today (a line at that day), labelled."""
    position, now_label = _current_position(current_week, frame.start_monday, frame.weeks, frame.lang)
    if position is None:
        return []
    data = _inline([{"x": position, "label": now_label}])
    return [
        alt.Chart(data)
        .mark_rule(color=TODAY_COLOR, strokeWidth=2, strokeDash=[5, 3])
        .encode(x=frame.x_of("x"), tooltip=alt.Tooltip("label:N", title="")),
        alt.Chart(data)
        .mark_text(color=TODAY_COLOR, align="left", baseline="top", dx=4, dy=2, fontSize=10, fontWeight="bold")
        .encode(x=frame.x_of("x"), y=alt.value(0), text="label:N"),
    ]


# ---------------------------------------------------------------------------
# The chart
# ---------------------------------------------------------------------------


def gantt_chart(
    tasks: Sequence[Task],
    start_monday: date | None,
    lang: str = "en",
    color_by: ColorBy = "owner",
    baseline: Sequence[Task] | None = None,
    current_week: int | date | None = None,
    show_critical: bool = True,
    *,
    today: date | None = None,
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
    outside the plan it is not drawn. ``today`` (with ``start_monday``) flags overdue
    and behind-schedule tasks (``lib.timeline.schedule_flags``): a badge, a legend
    entry, a dark-red label and the counts in the subtitle. ``baseline`` adds thin
    grey bars at the baseline weeks under each task that has one. ``anchors``
    overrides ``calendar_anchors(start_monday, weeks)``. A ``start_monday`` that is
    not a Monday raises ``lib.timeline.NotAMondayError``. ``width`` is the plot's
    width; the label column is added to it, as wide as the longest label needs.

    Layers, back to front: phase swimlanes, week grid, calendar anchors (+ labels
    below the plot), baseline, task bars, progress, dependency links (+ arrow heads),
    critical-path outlines, milestones, schedule flags, the current-week rule (+ label).
    """
    if start_monday is not None:
        start_monday = require_monday(start_monday)
    if isinstance(today, datetime):
        today = today.date()
    plan = _plan(tasks, start_monday, lang, color_by, baseline, show_critical, today, weeks)
    frame = _frame(plan, start_monday, lang, color_by, weeks, row_height, with_baseline=bool(baseline))
    if start_monday is not None and anchors is None:
        anchors = calendar_anchors(start_monday, weeks, include_flash_sales=include_flash_sales)
    anchor_rows = _anchor_rows(anchors, start_monday, weeks, lang) if (start_monday is not None and anchors) else []
    links = _link_rows(plan.ordered, plan.label_of, plan.critical, plan.conflicts, weeks) if show_links else []

    _place_badges(plan.rows, width, weeks)
    layers: list[alt.Chart] = [_lane_layer(frame, color_by), _grid_layer(frame)]
    layers += _anchor_layers(frame, anchor_rows)
    if baseline:
        layers += _baseline_layers(frame, plan.ordered, baseline, plan.label_of)
    layers += _bar_layers(frame)
    layers += _link_layers(frame, links)
    if plan.path:
        layers += _critical_layers(frame)
    layers.append(_milestone_layer(frame))
    layers += _status_layers(frame, plan.statuses)
    layers += _now_layers(frame, current_week)

    _axes_once(layers, frame)
    # Built in one go (each .properties()/.resolve_scale() call deep-copies every layer).
    # Bars and milestones share the colour scale (one legend); bands, anchors, flags and
    # links each carry their own fill/stroke.
    return alt.LayerChart(
        layer=layers,
        data=_inline(plan.rows),
        width=width,
        height=frame.height,
        title=alt.Title(t("timeline.chart.title", lang),
                        subtitle=_subtitle(tasks, start_monday, weeks, lang, plan.path, plan.flags, today),
                        anchor="start"),
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(fill="independent", stroke="independent")),
        padding=CHART_PADDING,
    )


def _axes_once(layers: Sequence[alt.Chart], frame: _Frame) -> None:
    """Define the shared week and task axes on the first layer only; the others inherit them (shared scales).

    Every layer repeated both axes (label expressions and all): 17 copies doubled the spec
    the browser compiles. (``axis=None`` on a layer would remove the merged axis.)
    """
    shared = (id(frame.x_axis), id(frame.y_axis))
    for layer in layers[1:]:
        if layer.encoding is alt.Undefined:
            continue
        for channel in ("x", "y"):
            encoding = layer.encoding[channel]
            if not isinstance(encoding, alt.SchemaBase):
                continue
            try:
                axis = encoding["axis"]
            except KeyError:  # a channel with no axis property set (a datum or a plain value)
                continue
            if id(axis) in shared:
                encoding["axis"] = alt.Undefined


def _frame(plan: _Plan, start_monday: date | None, lang: str, color_by: ColorBy, weeks: int, row_height: int,
           *, with_baseline: bool) -> _Frame:
    """The scales, axes, label column and colours every layer shares."""
    overdue_labels = plan.overdue_labels
    column = label_column([row["label"] for row in plan.rows], row_height, bold=overdue_labels)
    legend_offset = 44 if start_monday is not None else 12  # room for the anchor labels under the plot
    return _Frame(
        lang=lang,
        weeks=weeks,
        start_monday=start_monday,
        height=max(1, len(plan.rows)) * column.row_height,
        column=column,
        x_scale=alt.Scale(domain=[1, weeks + 1], nice=False, zero=False),
        x_axis=_x_axis(start_monday, weeks, lang),
        y_axis=_y_axis(column, overdue_labels),
        color=alt.Color(
            "group:N",
            scale=_color_scale(plan.groups),
            # Legends sit side by side under the plot: owner 3 columns, phase 2, status 1 keep them inside its width.
            legend=alt.Legend(title=t(f"timeline.chart.color_{color_by}", lang), orient="bottom", columns=3,
                              labelLimit=240, offset=legend_offset, symbolType="square", symbolOpacity=1),
        ),
        tooltip=_tooltip(lang, with_baseline, bool(plan.flags)),
        legend_offset=legend_offset,
    )


def _inline(rows: list[dict[str, Any]]) -> alt.Data:
    """Rows embedded in the layer itself, as Vega-Lite ``data.values``.

    ``alt.Data`` is not consolidated into the spec's named ``datasets`` (``alt.InlineData``
    would be): the rows stay JSON in the spec, whichever path draws or renders it.
    """
    return alt.Data(values=rows)  # type: ignore[no-untyped-call]  # Altair's Data.__init__ is untyped


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
    tasks: Sequence[Task],
    start_monday: date | None,
    weeks: int,
    lang: str,
    path: Sequence[str],
    flags: dict[str, ScheduleFlag],
    today: date | None,
) -> list[str]:
    parts = []
    if start_monday is not None:
        end = start_monday + timedelta(days=7 * weeks - 1)
        parts.append(t("timeline.chart.range", lang, start=start_monday.isoformat(), end=end.isoformat(), weeks=weeks))
    if path:
        parts.append(t("timeline.chart.critical", lang, path=" → ".join(path), weeks=path_weeks(tasks, path)))
    if flags and today is not None:
        counts = status_counts(flags)
        parts.append(t("timeline.chart.status_summary", lang, today=today.isoformat(), **counts))
    return parts
