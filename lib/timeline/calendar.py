"""Plan weeks as dates, and the shopping calendar (618, 双11, 年货节, member days) against them.

Why a module of its own: week 1 starts on a Monday the user picks; every date the
page, the chart and the exports show (week spans, a task's first and last day, a
milestone's Friday, the chart's x position of a day) is computed here, as are the
calendar anchors a quarter is planned around.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from lib.i18n import t
from lib.timeline.model import DEFAULT_WEEKS, Task

#: Chinese New Year's day (春节), for the New-Year goods festival (年货节) anchor.
CHINESE_NEW_YEAR: dict[int, date] = {
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}
NEW_YEAR_FESTIVAL_DAYS = 21  # the festival runs the three weeks before CNY


# ---------------------------------------------------------------------------
# Calendar
# ---------------------------------------------------------------------------


class NotAMondayError(ValueError):
    """Week 1 must start on a Monday."""


def snap_to_monday(day: date) -> date:
    """The Monday on or before ``day``."""
    return day - timedelta(days=day.weekday())


def require_monday(day: date) -> date:
    """``day`` itself if it is a Monday; otherwise raise ``NotAMondayError`` naming the Monday before."""
    if isinstance(day, datetime):
        day = day.date()
    if day.weekday() != 0:
        monday = snap_to_monday(day)
        raise NotAMondayError(
            f"Week 1 must start on a Monday; {day.isoformat()} is a {day.strftime('%A')}. "
            f"Use {monday.isoformat()} (the Monday before) or {(monday + timedelta(days=7)).isoformat()}."
        )
    return day


@dataclass(frozen=True)
class WeekSpan:
    """Week ``week`` of the plan: Monday ``start`` to Sunday ``end``."""

    week: int
    start: date
    end: date

    def label(self, lang: str = "en") -> str:
        """``"W1 · 03-02"`` / ``"第1周 · 03-02"``."""
        return t("timeline.week_label", lang, week=self.week, date=self.start.strftime("%m-%d"))


def week_dates(start_monday: date, weeks: int = DEFAULT_WEEKS) -> list[WeekSpan]:
    """Monday–Sunday of each week. Rejects a start that is not a Monday (``NotAMondayError``)."""
    start = require_monday(start_monday)
    return [
        WeekSpan(week=w, start=start + timedelta(days=7 * (w - 1)), end=start + timedelta(days=7 * w - 1))
        for w in range(1, weeks + 1)
    ]


def week_of(start_monday: date, day: date) -> int:
    """The plan week containing ``day`` (1-based; ≤ 0 before the plan, > weeks after it)."""
    return (day - start_monday).days // 7 + 1


def current_week(start_monday: date, today: date | None = None, weeks: int = DEFAULT_WEEKS) -> int | None:
    """The week containing today (or ``today``), or None when it falls outside the plan."""
    week = week_of(start_monday, today or date.today())
    return week if 1 <= week <= weeks else None


def date_position(start_monday: date, day: date) -> float:
    """Chart x coordinate of the start of ``day`` (week ``w`` spans ``[w, w + 1)``)."""
    return 1 + (day - start_monday).days / 7


def milestone_date(start_monday: date, week: int) -> date:
    """The day a milestone in ``week`` is dated: that week's Friday."""
    return start_monday + timedelta(days=7 * (week - 1) + 4)


def weeks_text(task: Task, lang: str = "en") -> str:
    """``"W3–W4"`` / ``"第3周–第4周"``; a single week (or a milestone's week) alone."""
    if task.milestone or task.start_week == task.end_week:
        return t("timeline.chart.week_short", lang, week=task.end_week)
    first = t("timeline.chart.week_short", lang, week=task.start_week)
    last = t("timeline.chart.week_short", lang, week=task.end_week)
    return f"{first}–{last}"


def task_dates(start_monday: date, task: Task) -> tuple[date, date]:
    """First and last day (inclusive) of a task; a milestone is its Friday twice."""
    if task.milestone:
        day = milestone_date(start_monday, task.end_week)
        return day, day
    first = start_monday + timedelta(days=7 * (task.start_week - 1))
    last = start_monday + timedelta(days=7 * task.end_week - 1)
    return first, last


AnchorKind = Literal["618", "double11_warmup", "double11", "new_year_festival", "member_day", "flash_sale"]


@dataclass(frozen=True)
class CalendarAnchor:
    """A shopping-calendar span (inclusive dates) to mark on the timeline."""

    key: AnchorKind
    start: date
    end: date

    def label(self, lang: str = "en") -> str:
        return t(f"timeline.anchor.{self.key}", lang)


def calendar_anchors(
    start_monday: date,
    weeks: int = DEFAULT_WEEKS,
    *,
    include_flash_sales: bool = False,
) -> list[CalendarAnchor]:
    """The anchors that overlap the plan's weeks, sorted by start date.

    618 (June 1–18); Double 11 warm-up (Oct 20–31) and burst (Nov 1–11); the
    New-Year goods festival (the 21 days before Chinese New Year, for the years in
    ``CHINESE_NEW_YEAR`` — other years get no festival anchor); member day on the
    8th of each month; optionally Tuesday/Thursday flash sales. Dates are the real
    ones (a span may start before week 1 or end after the last week).
    """
    first = require_monday(start_monday)
    last = first + timedelta(days=7 * weeks - 1)
    found: list[CalendarAnchor] = []

    def add(key: AnchorKind, begin: date, end: date) -> None:
        if begin <= last and end >= first:
            found.append(CalendarAnchor(key, begin, end))

    for year in range(first.year - 1, last.year + 2):
        add("618", date(year, 6, 1), date(year, 6, 18))
        add("double11_warmup", date(year, 10, 20), date(year, 10, 31))
        add("double11", date(year, 11, 1), date(year, 11, 11))
        if year in CHINESE_NEW_YEAR:
            cny = CHINESE_NEW_YEAR[year]
            add("new_year_festival", cny - timedelta(days=NEW_YEAR_FESTIVAL_DAYS), cny - timedelta(days=1))
    month = date(first.year, first.month, 1)
    while month <= last:
        member_day = month.replace(day=8)
        add("member_day", member_day, member_day)
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    if include_flash_sales:
        day = first
        while day <= last:
            if day.weekday() in (1, 3):
                add("flash_sale", day, day)
            day += timedelta(days=1)
    found.sort(key=lambda a: (a.start, a.end, a.key))
    return found
