"""The 13-week execution plan: tasks, the default plan, validation, critical path, calendar and saved plans.

Why: the domain brief's §7 (筹备期 → 启动期 → 运营期 → 优化期) is the backbone of a
quarter, and a marketing lead needs to edit it in a table, see what breaks (a task
that starts before the work it depends on ends, a dependency loop), know which
chain of tasks decides the quarter's end (critical path), see the shopping-festival
calendar (618, 双11, 年货节, member days) against the weeks, and keep several named
plans plus a baseline per dataset. The page, the chart, the exports, the CLI and
the review pack all work on the same ``Task`` list.

Where things live (callers use the names re-exported here, ``from lib import timeline``):

* ``model``    — the ``Task`` value, phases, tiers, channels and their labels;
* ``defaults`` — the brief's default plan and its weekly content cadence;
* ``table``    — the editor table ↔ tasks;
* ``checks``   — validation, dependency graph, critical path;
* ``calendar`` — weeks as dates, the shopping-calendar anchors;
* ``tracking`` — slippage against the baseline, overdue / behind-schedule flags;
* ``store``    — named plans and baselines in the workspace's settings;
* ``charts``   — the Gantt chart (Altair), and ``exports`` — Excel, iCalendar, PNG, SVG.
  These two are public submodules with their own ``__all__``, imported where they
  are used (``from lib.timeline import charts``): they load Altair, openpyxl and
  vl-convert, which the rest of the plan does not need (``tests/test_startup.py``).

Conventions used throughout:

* Weeks are numbered 1..``weeks`` (13 by default); ``start_week``/``end_week`` are
  inclusive. Week 1 starts on the Monday the user picks (``week_dates`` rejects any
  other weekday with a message naming the Monday before; ``snap_to_monday`` is
  there for a UI that prefers to snap).
* A dependency is finish-to-start at week granularity: a task may start, at the
  earliest, in the week *after* its predecessor's end week.
* A milestone is dated on the Friday of its end week (the chart puts its diamond
  there, the .ics export uses that day) and has zero duration on the critical path.
* Chart position of a day ``d``: ``1 + (d - start_monday).days / 7``, so week ``w``
  covers ``[w, w + 1)``.
"""

from lib.timeline.calendar import (
    CHINESE_NEW_YEAR,
    CalendarAnchor,
    NotAMondayError,
    calendar_anchors,
    current_week,
    date_position,
    milestone_date,
    require_monday,
    snap_to_monday,
    task_dates,
    week_dates,
    week_of,
    weeks_text,
)
from lib.timeline.checks import (
    DependencyCycleError,
    Issue,
    critical_path,
    dependency_conflicts,
    drawable_tasks,
    find_cycles,
    path_weeks,
    topological_order,
    validate,
)
from lib.timeline.defaults import CADENCE_TEMPLATES, CONTENT_CADENCE, content_calendar, content_calendar_frame, default_plan
from lib.timeline.model import (
    DEFAULT_WEEKS,
    PHASE_COLORS,
    PHASES,
    TABLE_COLUMNS,
    TIERS,
    Task,
    canonical_channel,
    channel_label,
    column_labels,
    display_order,
    phase_label,
    phase_options,
    tier_label,
    tier_options,
)
from lib.timeline.store import (
    PlanNotFound,
    SavedPlan,
    SettingsStore,
    clear_baseline,
    delete_plan,
    list_plans,
    load_plan,
    save_baseline,
    save_plan,
    validate_plan_name,
)
from lib.timeline.table import frame_to_tasks, tasks_to_frame
from lib.timeline.tracking import ScheduleFlag, Slippage, schedule_flags, slippage, status_counts

__all__ = [
    "CADENCE_TEMPLATES",
    "CHINESE_NEW_YEAR",
    "CONTENT_CADENCE",
    "DEFAULT_WEEKS",
    "PHASES",
    "PHASE_COLORS",
    "TABLE_COLUMNS",
    "TIERS",
    "CalendarAnchor",
    "DependencyCycleError",
    "Issue",
    "NotAMondayError",
    "PlanNotFound",
    "SavedPlan",
    "ScheduleFlag",
    "SettingsStore",
    "Slippage",
    "Task",
    "calendar_anchors",
    "canonical_channel",
    "channel_label",
    "clear_baseline",
    "column_labels",
    "content_calendar",
    "content_calendar_frame",
    "critical_path",
    "current_week",
    "date_position",
    "default_plan",
    "delete_plan",
    "dependency_conflicts",
    "display_order",
    "drawable_tasks",
    "find_cycles",
    "frame_to_tasks",
    "list_plans",
    "load_plan",
    "milestone_date",
    "path_weeks",
    "phase_label",
    "phase_options",
    "require_monday",
    "save_baseline",
    "save_plan",
    "schedule_flags",
    "slippage",
    "snap_to_monday",
    "status_counts",
    "task_dates",
    "tier_label",
    "tier_options",
    "tasks_to_frame",
    "topological_order",
    "validate",
    "validate_plan_name",
    "week_dates",
    "week_of",
    "weeks_text",
]
