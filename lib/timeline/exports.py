"""Take the 13-week plan out of the app: Excel, iCalendar, PNG and SVG, in English or Chinese.

Why: the plan is run from people's calendars, spreadsheets and slide decks, not from
the dashboard. Excel gets the task table plus a week grid painted with phase
colours (the view managers print); calendar apps get one all-day event per task and
milestone with stable UIDs, so re-importing updates events instead of duplicating
them; review decks get the Gantt chart rendered on the server by vl-convert with a
CJK font registered, so Chinese labels do not turn into boxes.

Spreadsheet safety follows the product's policy in ``lib.exports``: every string
cell is written as a string (never a formula), control characters are stripped,
and text that looks like a formula (leading ``= + - @``, tab, CR, LF) keeps its
exact value with Excel's ``quotePrefix`` style, so it is shown and kept as text.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import altair as alt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from lib.exports import sanitize_sheet_name, xlsx_text
from lib.i18n import t
from lib.timeline.calendar import (
    CalendarAnchor,
    WeekSpan,
    calendar_anchors,
    require_monday,
    task_dates,
    week_dates,
    weeks_text,
)
from lib.timeline.checks import critical_path
from lib.timeline.defaults import content_calendar
from lib.timeline.model import (
    DEFAULT_WEEKS,
    PHASE_COLORS,
    PHASES,
    Task,
    channel_label,
    display_order,
    format_depends_on,
    phase_label,
    tier_label,
    tint,
)
from lib.timeline.tracking import slippage

__all__ = [
    "CJK_FONT_DIR_ENV",
    "CJK_FONT_FAMILY",
    "EXPORT_SUFFIXES",
    "chart_png",
    "chart_svg",
    "cjk_font_dirs",
    "event_uid",
    "export_plan",
    "ics_escape",
    "register_cjk_font",
    "to_ics",
    "to_xlsx",
]

CJK_FONT_FAMILY = "Noto Sans CJK SC"
CJK_FONT_DIR_ENV = "GROWTH_PLANNER_CJK_FONT_DIR"
CJK_FONT_DIRS: tuple[Path, ...] = (
    Path(__file__).resolve().parents[2] / "assets" / "fonts",  # the repository's own assets/fonts
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
    Path("/usr/share/fonts/truetype/noto"),
)
ICS_PRODID = "-//Growth Planner//13-week timeline//EN"
MILESTONE_MARK = "◆"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ---------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------

_THIN = Side(style="thin", color="D0D0D0")
_GRID_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
_ANCHOR_FILL = PatternFill("solid", fgColor="FFF4E5")


def _put(sheet: Any, row: int, column: int, value: object) -> Any:
    """Write one cell; strings always as text (``lib.exports.xlsx_text``: cleaned, quotePrefix if formula-like)."""
    cell = sheet.cell(row, column)
    if isinstance(value, str):
        text, looks_like_formula = xlsx_text(value)
        cell.value = text
        cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
        if looks_like_formula:
            cell.quotePrefix = True
    else:
        cell.value = value
    return cell


def _fill(hex_color: str) -> PatternFill:
    return PatternFill("solid", fgColor=hex_color.lstrip("#").upper())


def _dates_ok(task: Task, weeks: int) -> bool:
    return 1 <= task.start_week <= task.end_week <= weeks


def to_xlsx(
    tasks: Sequence[Task],
    start_monday: date,
    lang: str = "en",
    *,
    baseline: Sequence[Task] | None = None,
    weeks: int = DEFAULT_WEEKS,
    include_content_calendar: bool = True,
    include_flash_sales: bool = False,
) -> bytes:
    """A workbook: the task table, a week grid painted with phase colours, and the content calendar.

    Task table: the editor's columns plus dates, critical-path flag and (with a
    baseline) baseline weeks and slippage. Week grid: one row per task (grouped by
    phase), one column per week headed "W1 / 03-02"; a task's weeks are filled
    with its phase colour, a milestone's week shows ◆; a "Calendar" row names the
    shopping-calendar anchors of each week and a legend explains the colours.
    """
    start = require_monday(start_monday)
    ordered = display_order(tasks)
    on_critical = set(critical_path(tasks))
    book = Workbook()
    _write_task_sheet(book.active, tasks, ordered, start, lang, baseline, weeks, on_critical)
    _write_week_grid(book, ordered, start, lang, weeks, on_critical, include_flash_sales)
    if include_content_calendar:
        _write_content_sheet(book, start, lang)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_TASK_COLUMNS: tuple[str, ...] = (
    "id", "name", "phase", "owner", "channel", "tier", "start_week", "end_week",
    "start_date", "end_date", "progress", "milestone", "depends_on", "critical",
)
_BASELINE_COLUMNS: tuple[str, ...] = ("baseline_start", "baseline_end", "slippage")
_TASK_COLUMN_WIDTHS = {"id": 7, "name": 46, "phase": 12, "owner": 16, "channel": 14, "tier": 14, "depends_on": 16}


def _header_row(sheet: Any, labels: Sequence[str]) -> None:
    """Bold, grey-filled headers in row 1."""
    for col, label in enumerate(labels, start=1):
        cell = _put(sheet, 1, col, label)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL


def _write_task_sheet(sheet: Any, tasks: Sequence[Task], ordered: Sequence[Task], start: date, lang: str,
                      baseline: Sequence[Task] | None, weeks: int, on_critical: set[str]) -> None:
    """The task table: one row per task in display order, dates and percentages formatted, a filter on top."""
    sheet.title = sanitize_sheet_name(t("timeline.export.sheet_tasks", lang))
    columns = list(_TASK_COLUMNS) + (list(_BASELINE_COLUMNS) if baseline else [])
    _header_row(sheet, [t(f"timeline.column.{column}", lang) for column in columns])
    slips = slippage(tasks, baseline) if baseline else {}
    base_by_id: dict[str, Task] = {}
    for task in baseline or ():
        base_by_id.setdefault(task.id, task)
    for row, task in enumerate(ordered, start=2):
        values = _task_values(task, start, lang, weeks, on_critical)
        if baseline:
            before, slip = base_by_id.get(task.id), slips.get(task.id)
            values["baseline_start"] = before.start_week if before else None
            values["baseline_end"] = before.end_week if before else None
            values["slippage"] = slip.end_weeks if slip else None
        for col, column in enumerate(columns, start=1):
            _put(sheet, row, col, values[column])
        sheet.cell(row, columns.index("progress") + 1).number_format = "0%"
        for name in ("start_date", "end_date"):
            sheet.cell(row, columns.index(name) + 1).number_format = "yyyy-mm-dd"
        if baseline and values["slippage"]:
            sheet.cell(row, columns.index("slippage") + 1).number_format = '+0;-0;0'
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _TASK_COLUMN_WIDTHS.get(column, 12)
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(1, sheet.max_row)}"


def _task_values(task: Task, start: date, lang: str, weeks: int, on_critical: set[str]) -> dict[str, Any]:
    """One task's cells in the task table, by column (dates only for tasks whose weeks are valid)."""
    first, last = task_dates(start, task) if _dates_ok(task, weeks) else (None, None)
    yes = t("timeline.export.yes", lang)
    return {
        "id": task.id,
        "name": task.display_name(lang),
        "phase": phase_label(task.phase, lang),
        "owner": task.owner,
        "channel": channel_label(task.channel, lang),
        "tier": tier_label(task.tier, lang),
        "start_week": task.start_week,
        "end_week": task.end_week,
        "start_date": first,
        "end_date": last,
        "progress": float(task.progress),
        "milestone": yes if task.milestone else "",
        "depends_on": format_depends_on(task.depends_on),
        "critical": yes if task.id in on_critical else "",
    }


def _write_content_sheet(book: Workbook, start: date, lang: str) -> None:
    """The content calendar: every post of the weekly cadence with its suggested day."""
    content = book.create_sheet(sanitize_sheet_name(t("timeline.export.sheet_content", lang)))
    _header_row(content, [t(f"timeline.column.{c}", lang) for c in ("week", "date", "platform", "content_item", "task")])
    for row, item in enumerate(content_calendar(lang, start), start=2):
        values = [item.week, item.day, t(f"timeline.platform.{item.platform}", lang), item.title, item.task_id]
        for col, value in enumerate(values, start=1):
            _put(content, row, col, value)
        content.cell(row, 2).number_format = "yyyy-mm-dd"
    for letter, width in zip("ABCDE", (8, 12, 14, 36, 10)):
        content.column_dimensions[letter].width = width
    content.freeze_panes = "A2"


#: Week grid layout: title row 1; headers, dates and calendar anchors in rows 3–5; tasks from row 6; weeks from column D.
_GRID_HEADER_ROW, _GRID_DATE_ROW, _GRID_CALENDAR_ROW = 3, 4, 5
_GRID_FIRST_WEEK_COL = 4


def _write_week_grid(
    book: Workbook,
    ordered: Sequence[Task],
    start: date,
    lang: str,
    weeks: int,
    on_critical: set[str],
    include_flash_sales: bool,
) -> None:
    """The week grid sheet: week headers, the calendar row, one painted row per task, a legend."""
    grid = book.create_sheet(sanitize_sheet_name(t("timeline.export.sheet_grid", lang)))
    grid.cell(1, 1, t("timeline.export.grid_title", lang, start=start.isoformat())).font = Font(bold=True, size=13)
    spans = week_dates(start, weeks)
    _grid_headers(grid, spans, lang)
    _grid_calendar_row(grid, spans, calendar_anchors(start, weeks, include_flash_sales=include_flash_sales), lang)
    row = _GRID_CALENDAR_ROW + 1
    for task in ordered:
        _grid_task_row(grid, row, task, lang, weeks, task.id in on_critical)
        row += 1
    _grid_legend(grid, row + 1, lang)
    grid.column_dimensions["A"].width = 7
    grid.column_dimensions["B"].width = 44
    grid.column_dimensions["C"].width = 16
    for span in spans:
        grid.column_dimensions[get_column_letter(_GRID_FIRST_WEEK_COL + span.week - 1)].width = 8
    grid.freeze_panes = grid.cell(_GRID_CALENDAR_ROW + 1, _GRID_FIRST_WEEK_COL)


def _grid_headers(grid: Any, spans: Sequence[WeekSpan], lang: str) -> None:
    """Id, name and owner headers, then "W1" over "03-02" for each week."""
    for col, key in enumerate(("id", "name", "owner"), start=1):
        cell = grid.cell(_GRID_HEADER_ROW, col, t(f"timeline.column.{key}", lang))
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        grid.cell(_GRID_DATE_ROW, col).fill = _HEADER_FILL
    for span in spans:
        col = _GRID_FIRST_WEEK_COL + span.week - 1
        head = grid.cell(_GRID_HEADER_ROW, col, t("timeline.chart.week_short", lang, week=span.week))
        head.font = Font(bold=True)
        head.alignment = Alignment(horizontal="center")
        head.fill = _HEADER_FILL
        sub = grid.cell(_GRID_DATE_ROW, col, span.start.strftime("%m-%d"))
        sub.alignment = Alignment(horizontal="center")
        sub.fill = _HEADER_FILL
        sub.font = Font(size=9, color="555555")


def _grid_calendar_row(grid: Any, spans: Sequence[WeekSpan], anchors: Sequence[CalendarAnchor], lang: str) -> None:
    """The "Calendar" row: the shopping-calendar anchors that touch each week."""
    grid.cell(_GRID_CALENDAR_ROW, 2, t("timeline.column.calendar", lang)).font = Font(italic=True)
    for span in spans:
        names = [a.label(lang) for a in anchors if a.start <= span.end and a.end >= span.start]
        if names:
            cell = grid.cell(_GRID_CALENDAR_ROW, _GRID_FIRST_WEEK_COL + span.week - 1, "\n".join(dict.fromkeys(names)))
            cell.fill = _ANCHOR_FILL
            cell.font = Font(size=8)
            cell.alignment = Alignment(wrap_text=True, vertical="top", horizontal="center")
    grid.row_dimensions[_GRID_CALENDAR_ROW].height = 36


def _grid_task_row(grid: Any, row: int, task: Task, lang: str, weeks: int, critical: bool) -> None:
    """One task: its weeks filled with the phase colour (✓ on the share done), or ◆ in a milestone's week."""
    _put(grid, row, 1, task.id)
    name_cell = _put(grid, row, 2, task.display_name(lang))
    if critical:
        name_cell.font = Font(bold=True)
    _put(grid, row, 3, task.owner)
    color = PHASE_COLORS.get(task.phase, "#9E9E9E")
    if _dates_ok(task, weeks) and task.milestone:
        cell = grid.cell(row, _GRID_FIRST_WEEK_COL + task.end_week - 1, MILESTONE_MARK)
        cell.font = Font(bold=True, size=12, color=color.lstrip("#"))
        cell.alignment = Alignment(horizontal="center")
        cell.fill = _fill(tint(color, 0.25))
    elif _dates_ok(task, weeks):
        for week in range(task.start_week, task.end_week + 1):
            grid.cell(row, _GRID_FIRST_WEEK_COL + week - 1).fill = _fill(color)
        share_done = min(max(task.progress, 0.0), 1.0)
        done_weeks = round(share_done * (task.end_week - task.start_week + 1))
        for week in range(task.start_week, task.start_week + max(0, done_weeks)):
            grid.cell(row, _GRID_FIRST_WEEK_COL + week - 1, "✓").font = Font(color="FFFFFF", bold=True)
    for col in range(1, _GRID_FIRST_WEEK_COL + weeks):
        grid.cell(row, col).border = _GRID_BORDER


def _grid_legend(grid: Any, row: int, lang: str) -> None:
    """Under the tasks: the phase colours, the milestone mark and the progress tick."""
    grid.cell(row, 2, t("timeline.export.legend", lang)).font = Font(bold=True)
    for phase in PHASES:
        row += 1
        grid.cell(row, 3).fill = _fill(PHASE_COLORS[phase])
        grid.cell(row, 2, phase_label(phase, lang))
    for mark, key in ((MILESTONE_MARK, "timeline.column.milestone"), ("✓", "timeline.column.progress")):
        row += 1
        grid.cell(row, 3, mark).alignment = Alignment(horizontal="center")
        grid.cell(row, 2, t(key, lang))


# ---------------------------------------------------------------------------
# iCalendar
# ---------------------------------------------------------------------------


def ics_escape(text: str) -> str:
    """RFC 5545 TEXT escaping: backslash, semicolon, comma and newlines; other control characters dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text.replace("\t", " "))
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """Split a content line into pieces of at most 75 octets (RFC 5545 folding).

    Continuation lines start with a space; a UTF-8 character is never split.
    """
    pieces: list[str] = []
    current = ""
    limit = 75
    for char in line:
        if len((current + char).encode("utf-8")) > limit:
            pieces.append(current)
            current = " " + char
            limit = 75
        else:
            current += char
    pieces.append(current)
    return pieces


def event_uid(task_id: str, *, plan_name: str = "", dataset_name: str = "") -> str:
    """A UID that stays the same for the same task of the same plan, so re-imports update events."""
    digest = hashlib.sha1(f"{dataset_name}\x1f{plan_name}\x1f{task_id}".encode()).hexdigest()[:16]
    readable = re.sub(r"[^A-Za-z0-9_-]", "", task_id)[:24] or "task"
    return f"{readable}-{digest}@growth-planner"


def _event_description(task: Task, lang: str) -> str:
    """An event's description: phase and weeks, then owner, channel and tier where set, progress, dependencies."""
    details = [
        t("timeline.export.event_phase", lang, phase=phase_label(task.phase, lang)),
        t("timeline.export.event_weeks", lang, weeks=weeks_text(task, lang)),
    ]
    if task.owner:
        details.append(t("timeline.export.event_owner", lang, owner=task.owner))
    if task.channel:
        details.append(t("timeline.export.event_channel", lang, channel=channel_label(task.channel, lang)))
    if task.tier:
        details.append(t("timeline.export.event_tier", lang, tier=tier_label(task.tier, lang)))
    details.append(t("timeline.export.event_progress", lang, progress=f"{task.progress:.0%}"))
    if task.depends_on:
        details.append(t("timeline.export.event_depends", lang, depends=format_depends_on(task.depends_on)))
    return "\n".join(details)


def _event_lines(task: Task, start: date, lang: str, *, uid: str, stamp: str) -> list[str]:
    """One all-day VEVENT (unfolded lines): the task's first day to the day after its last."""
    first, last = task_dates(start, task)
    summary = task.display_name(lang)
    if task.milestone:
        summary = t("timeline.export.milestone_prefix", lang) + summary
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{first.strftime('%Y%m%d')}",
        f"DTEND;VALUE=DATE:{(last + timedelta(days=1)).strftime('%Y%m%d')}",
        f"SUMMARY:{ics_escape(summary)}",
        f"DESCRIPTION:{ics_escape(_event_description(task, lang))}",
        f"CATEGORIES:{ics_escape(phase_label(task.phase, lang))}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]


def to_ics(
    tasks: Sequence[Task],
    start_monday: date,
    lang: str = "en",
    *,
    plan_name: str = "",
    dataset_name: str = "",
    weeks: int = DEFAULT_WEEKS,
    now: datetime | None = None,
) -> bytes:
    """An iCalendar file: one all-day VEVENT per task (Monday of its first week to the Sunday of its last)
    and per milestone (its Friday).

    UIDs derive from dataset, plan and task id (``event_uid``). Tasks whose weeks
    are invalid (outside the plan, or ending before they start) are left out:
    they cannot be dated — ``lib.timeline.validate`` reports them.
    """
    start = require_monday(start_monday)
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    calendar_name = t("timeline.export.calendar_name", lang, plan=plan_name or t("timeline.chart.title", lang))
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{ICS_PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{ics_escape(calendar_name)}",
    ]
    uid = {"plan_name": plan_name, "dataset_name": dataset_name}
    for task in display_order(tasks):
        if _dates_ok(task, weeks):
            lines += _event_lines(task, start, lang, uid=event_uid(task.id, **uid), stamp=stamp)
    lines.append("END:VCALENDAR")
    folded = [piece for line in lines for piece in _fold(line)]
    return ("\r\n".join(folded) + "\r\n").encode("utf-8")


# ---------------------------------------------------------------------------
# PNG / SVG
# ---------------------------------------------------------------------------

_registered_font_dir: Path | None = None


def cjk_font_dirs() -> list[Path]:
    """Candidate font directories, ``$GROWTH_PLANNER_CJK_FONT_DIR`` first."""
    candidates = []
    override = os.environ.get(CJK_FONT_DIR_ENV)
    if override:
        candidates.append(Path(override))
    candidates.extend(CJK_FONT_DIRS)
    return candidates


def register_cjk_font() -> Path | None:
    """Register the first directory holding a Noto CJK font with vl-convert (once); None if there is none."""
    global _registered_font_dir
    if _registered_font_dir is not None:
        return _registered_font_dir
    import vl_convert

    for directory in cjk_font_dirs():
        if directory.is_dir() and any("cjk" in p.name.lower() for p in directory.iterdir()):
            vl_convert.register_font_directory(str(directory))
            _registered_font_dir = directory
            return directory
    return None


def _render_spec(chart: alt.TopLevelMixin | dict[str, Any]) -> dict[str, Any]:
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    spec = dict(spec)
    if register_cjk_font() is None:
        warnings.warn(
            t(
                "timeline.export.font_missing",
                "en",
                dirs=", ".join(str(d) for d in cjk_font_dirs()),
                env=CJK_FONT_DIR_ENV,
            ),
            RuntimeWarning,
            stacklevel=3,
        )
        return spec
    config = dict(spec.get("config") or {})
    config["font"] = CJK_FONT_FAMILY
    spec["config"] = config
    return spec


def chart_png(chart: alt.TopLevelMixin | dict[str, Any], *, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes, rendered on the server with the CJK font (``scale`` 2 = sharp on slides)."""
    import vl_convert

    return vl_convert.vegalite_to_png(_render_spec(chart), scale=scale)


def chart_svg(chart: alt.TopLevelMixin | dict[str, Any]) -> str:
    """The chart as SVG text (text stays text; the font family is Noto Sans CJK SC)."""
    import vl_convert

    return vl_convert.vegalite_to_svg(_render_spec(chart))


# ---------------------------------------------------------------------------
# One entry point for the CLI
# ---------------------------------------------------------------------------

EXPORT_SUFFIXES: tuple[str, ...] = (".xlsx", ".ics", ".png", ".svg")


def export_plan(
    path: str | os.PathLike[str],
    tasks: Sequence[Task],
    start_monday: date,
    lang: str = "en",
    *,
    baseline: Sequence[Task] | None = None,
    plan_name: str = "",
    dataset_name: str = "",
    color_by: str = "owner",
    current_week: int | date | None = None,
    today: date | None = None,
    weeks: int = DEFAULT_WEEKS,
) -> Path:
    """Write the plan to ``path`` in the format its suffix names (.xlsx, .ics, .png, .svg); returns the path.

    ``today`` flags overdue and behind-schedule tasks on the PNG/SVG chart.
    Raises ValueError (message in ``lang``) for any other suffix.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise ValueError(t("timeline.export.unsupported", lang, suffix=suffix or target.name))
    if suffix == ".xlsx":
        payload: bytes = to_xlsx(tasks, start_monday, lang, baseline=baseline, weeks=weeks)
    elif suffix == ".ics":
        payload = to_ics(tasks, start_monday, lang, plan_name=plan_name, dataset_name=dataset_name, weeks=weeks)
    else:
        from lib.timeline.charts import gantt_chart

        chart = gantt_chart(
            tasks,
            start_monday,
            lang,
            color_by=color_by,  # type: ignore[arg-type]
            baseline=baseline,
            current_week=current_week,
            today=today,
            weeks=weeks,
        )
        payload = chart_png(chart) if suffix == ".png" else chart_svg(chart).encode("utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(payload)
    return target
