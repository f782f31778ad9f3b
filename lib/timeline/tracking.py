"""Is the plan on track? Slippage against the baseline, and overdue or behind-schedule tasks as of a day.

Why a module of its own: a plan is re-planned as the quarter runs; the page's
cards, the chart's badges and the review pack ask the same two questions of it —
how far did each task move since the baseline, and which tasks are late today.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from lib.i18n import t
from lib.timeline.calendar import require_monday, task_dates, week_of
from lib.timeline.model import DEFAULT_WEEKS, Task

# ---------------------------------------------------------------------------
# Baseline and slippage
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Slippage:
    """How far a task moved against the baseline, in weeks (positive = later)."""

    task_id: str
    start_weeks: int
    end_weeks: int

    @property
    def status(self) -> Literal["late", "early", "on_plan"]:
        if self.end_weeks > 0:
            return "late"
        if self.end_weeks < 0:
            return "early"
        return "on_plan"

    def label(self, lang: str = "en") -> str:
        """``"2 weeks late"`` / ``"晚2周"``, ``"on plan"`` / ``"按计划"``."""
        if self.status == "on_plan":
            return t("timeline.slip.on_plan", lang)
        return t(f"timeline.slip.{self.status}", lang, weeks=abs(self.end_weeks))


def slippage(tasks: Sequence[Task], baseline: Sequence[Task]) -> dict[str, Slippage]:
    """Per task id present in both: weeks the start and end moved since the baseline."""
    base: dict[str, Task] = {}
    for task in baseline:
        base.setdefault(task.id, task)
    result: dict[str, Slippage] = {}
    for task in tasks:
        if task.id in base and task.id not in result:
            before = base[task.id]
            result[task.id] = Slippage(task.id, task.start_week - before.start_week, task.end_week - before.end_week)
    return result


# ---------------------------------------------------------------------------
# Schedule status: overdue and behind, as of a given day
# ---------------------------------------------------------------------------

ScheduleStatus = Literal["overdue", "behind"]
SCHEDULE_STATUSES: tuple[ScheduleStatus, ...] = ("overdue", "behind")


@dataclass(frozen=True)
class ScheduleFlag:
    """A task that is late as of ``today``: its weeks are over (overdue) or it is less done than its weeks past."""

    task_id: str
    status: ScheduleStatus
    progress: float  # share done, 0..1
    expected: float  # share of the task's weeks already over on ``today``

    def label(self, lang: str = "en") -> str:
        """``"Overdue"`` / ``"已逾期"``, ``"Behind schedule"`` / ``"进度落后"``."""
        return t(f"timeline.status.{self.status}", lang)

    def detail(self, lang: str = "en") -> str:
        """``"Overdue: 40% done, all of its weeks are over"`` (tooltips and tables)."""
        return t(f"timeline.status.{self.status}_detail", lang, progress=f"{self.progress:.0%}",
                 expected=f"{self.expected:.0%}")


def schedule_flags(
    tasks: Sequence[Task], start_monday: date, today: date, weeks: int = DEFAULT_WEEKS
) -> dict[str, ScheduleFlag]:
    """Per task id, the tasks that are late on ``today`` (pass it explicitly: the function is pure).

    * **overdue** — the task's last day (a milestone's Friday) is before ``today``
      and its progress is below 100 %;
    * **behind** — the task is under way (its first day is on or before ``today``),
      and its progress is below the share of its weeks already over: in week 3 of a
      4-week task, 2 of 4 weeks are over, so less than 50 % done is behind. In its
      first week a task is never behind.

    Finished tasks and tasks not started yet are not flagged; tasks whose weeks or
    progress are invalid are left to ``validate`` (never guessed at). The first task
    with an id wins, as everywhere in this module.
    """
    start = require_monday(start_monday)
    if isinstance(today, datetime):
        today = today.date()
    flags: dict[str, ScheduleFlag] = {}
    for task in tasks:
        if task.id in flags or not 1 <= task.start_week <= task.end_week <= weeks:
            continue
        if not 0.0 <= task.progress < 1.0:
            continue
        first, last = task_dates(start, task)
        if last < today:
            flags[task.id] = ScheduleFlag(task.id, "overdue", task.progress, 1.0)
        elif first <= today and not task.milestone:
            weeks_over = week_of(start, today) - task.start_week
            expected = weeks_over / task.duration_weeks
            if task.progress < expected - 1e-9:
                flags[task.id] = ScheduleFlag(task.id, "behind", task.progress, expected)
    return flags


def status_counts(flags: Mapping[str, ScheduleFlag]) -> dict[ScheduleStatus, int]:
    """How many tasks are overdue and how many behind (both keys always present)."""
    counts: dict[ScheduleStatus, int] = {status: 0 for status in SCHEDULE_STATUSES}
    for flag in flags.values():
        counts[flag.status] += 1
    return counts
