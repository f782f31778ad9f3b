"""The 13-week execution plan as data: tasks, the default plan, validation, critical path, calendar and saved plans.

Why: the domain brief's §7 (筹备期 → 启动期 → 运营期 → 优化期) is the backbone of a
quarter, and a marketing lead needs to edit it in a table, see what breaks (a task
that starts before the work it depends on ends, a dependency loop), know which
chain of tasks decides the quarter's end (critical path), see the shopping-festival
calendar (618, 双11, 年货节, member days) against the weeks, and keep several named
plans plus a baseline per dataset. The page, the chart builder, the exports and the
CLI all work on the same ``Task`` list defined here; nothing in this module draws
or renders.

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

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol

import pandas as pd

from lib.i18n import LANGUAGES, catalogs, display_channel, t

DEFAULT_WEEKS = 13

PHASES: tuple[str, ...] = ("prep", "launch", "operation", "optimisation")
#: The brief's phase weeks (inclusive); used for the default plan and as a fallback band.
PHASE_WEEKS: dict[str, tuple[int, int]] = {
    "prep": (1, 2),
    "launch": (3, 4),
    "operation": (5, 12),
    "optimisation": (13, 13),
}
#: Phase colours (bars' swimlane bands in the chart, week-grid fills in Excel).
PHASE_COLORS: dict[str, str] = {
    "prep": "#5B7DB1",
    "launch": "#E39B2D",
    "operation": "#2CA58D",
    "optimisation": "#7B4FBF",
}

#: Tiers a campaign task can target ("" = not tier-specific); same keys as lib.palette.TIER_ORDER.
TIERS: tuple[str, ...] = ("new", "active", "lapsing", "dormant", "high_value")

#: The brief's weekly content cadence in the operation weeks.
CONTENT_WEEKS: tuple[int, int] = (5, 12)
CONTENT_CADENCE: dict[str, int] = {"xiaohongshu": 2, "douyin": 3, "wechat": 1}
#: Suggested publishing weekdays (0 = Monday) per platform, one per weekly item.
CONTENT_WEEKDAYS: dict[str, tuple[int, ...]] = {
    "xiaohongshu": (1, 4),  # Tue, Fri
    "douyin": (0, 2, 5),  # Mon, Wed, Sat
    "wechat": (3,),  # Thu
}

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

#: Editor-table columns, in order (stable internal names; labels via ``column_labels``).
TABLE_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "phase",
    "owner",
    "channel",
    "tier",
    "start_week",
    "end_week",
    "progress",
    "milestone",
    "depends_on",
)

PLAN_KEY_PREFIX = "timeline.plan."
MAX_PLAN_NAME = 60
_PLAN_FORMAT_VERSION = 1


# ---------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One row of the plan: a piece of work (or a milestone) across inclusive weeks.

    ``template`` is the default plan's key for this task (empty for tasks the
    user added); while the name is still the default text, ``display_name``
    shows it in the reader's language.
    """

    id: str
    name: str
    phase: str
    owner: str = ""
    channel: str = ""
    tier: str = ""
    start_week: int = 1
    end_week: int = 1
    progress: float = 0.0
    milestone: bool = False
    depends_on: tuple[str, ...] = ()
    template: str = ""

    @property
    def duration_weeks(self) -> int:
        """Weeks the task occupies (inclusive); 0 for a milestone."""
        if self.milestone:
            return 0
        return max(0, self.end_week - self.start_week + 1)

    def display_name(self, lang: str) -> str:
        """The name in ``lang`` if it is still a default-plan name, else the user's text."""
        if self.template:
            key = f"timeline.task.{self.template}"
            if self.name in {t(key, other) for other in LANGUAGES}:
                return t(key, lang)
        return self.name

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict (used for saved plans)."""
        return {
            "id": self.id,
            "name": self.name,
            "phase": self.phase,
            "owner": self.owner,
            "channel": self.channel,
            "tier": self.tier,
            "start_week": self.start_week,
            "end_week": self.end_week,
            "progress": self.progress,
            "milestone": self.milestone,
            "depends_on": list(self.depends_on),
            "template": self.template,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Task:
        """Inverse of ``to_dict``; tolerant of missing keys and of loose types."""
        return cls(
            id=_clean_text(data.get("id")),
            name=_clean_text(data.get("name")),
            phase=_clean_text(data.get("phase")),
            owner=_clean_text(data.get("owner")),
            channel=_clean_text(data.get("channel")),
            tier=_clean_text(data.get("tier")),
            start_week=_to_int(data.get("start_week")),
            end_week=_to_int(data.get("end_week")),
            progress=_to_float(data.get("progress")),
            milestone=_to_bool(data.get("milestone")),
            depends_on=parse_depends_on(data.get("depends_on")),
            template=_clean_text(data.get("template")),
        )


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        if value is pd.NA or value is pd.NaT:
            return True
    except TypeError:  # pragma: no cover - exotic objects
        return False
    return isinstance(value, str) and not value.strip()


def _clean_text(value: object) -> str:
    if _is_blank(value):
        return ""
    return " ".join(str(value).split())


def _to_int(value: object) -> int:
    """Whole week number; blanks and junk become 0, which validation reports as out of range."""
    if _is_blank(value) or isinstance(value, bool):
        return 0
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
    if math.isnan(number) or math.isinf(number):
        return 0
    return int(round(number))


def _to_float(value: object) -> float:
    if _is_blank(value) or isinstance(value, bool):
        return 0.0
    text = str(value).strip()
    try:
        if isinstance(value, str) and text.endswith("%"):
            return float(text[:-1]) / 100
        number = float(text) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(number) else number


def _to_bool(value: object) -> bool:
    if _is_blank(value):
        return False
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "y", "x", "✓", "是"}
    return bool(value)


_DEPENDS_SPLIT = re.compile(r"[,，;；、\s]+")


def parse_depends_on(value: object) -> tuple[str, ...]:
    """Ids from ``"P1, P2"`` (commas, Chinese commas, semicolons or spaces) or a list; deduplicated."""
    if _is_blank(value):
        return ()
    if isinstance(value, str):
        parts: Iterable[object] = _DEPENDS_SPLIT.split(value)
    elif isinstance(value, Iterable):
        parts = value
    else:
        parts = [value]
    ids = [_clean_text(part) for part in parts]
    return tuple(dict.fromkeys(i for i in ids if i))


def format_depends_on(ids: Sequence[str]) -> str:
    """The editor's text for a dependency list: ``"P1, P2"``."""
    return ", ".join(ids)


def display_order(tasks: Sequence[Task]) -> list[Task]:
    """Tasks grouped by phase (plan order), then by start week, end week and original position."""
    phase_rank = {phase: i for i, phase in enumerate(PHASES)}
    indexed = list(enumerate(tasks))
    indexed.sort(
        key=lambda pair: (
            phase_rank.get(pair[1].phase, len(PHASES)),
            pair[1].start_week,
            pair[1].end_week,
            pair[0],
        )
    )
    return [task for _, task in indexed]


# ---------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------


def phase_label(phase: str, lang: str) -> str:
    """A phase key's name in ``lang`` ("launch" → "Launch" / "启动期"); unknown text unchanged."""
    return t(f"timeline.phase.{phase}", lang) if phase in PHASES else phase


def tier_label(tier: str, lang: str) -> str:
    """A tier's name in ``lang``; empty for no tier."""
    if not tier:
        return ""
    return t(f"timeline.tier.{tier}", lang) if tier in TIERS else tier


def phase_options(lang: str) -> list[str]:
    """Choices for the editor's phase column (labels in ``lang``)."""
    return [phase_label(p, lang) for p in PHASES]


def tier_options(lang: str) -> list[str]:
    """Choices for the editor's tier column: blank first, then the tiers in ``lang``."""
    return [""] + [tier_label(tier, lang) for tier in TIERS]


def column_labels(lang: str) -> dict[str, str]:
    """Header text for each of ``TABLE_COLUMNS`` in ``lang`` (editor and exports)."""
    return {column: t(f"timeline.column.{column}", lang) for column in TABLE_COLUMNS}


def _key_for_label(value: str, keys: Sequence[str], prefix: str) -> str:
    """Map a key or a label in any language back to its key (case-insensitive); unknown text is kept."""
    text = _clean_text(value)
    if not text:
        return ""
    folded = text.casefold()
    for key in keys:
        if folded == key.casefold():
            return key
        for lang in LANGUAGES:
            if folded == t(f"{prefix}{key}", lang).casefold():
                return key
    return text


def phase_key(value: str) -> str:
    """``"Launch"``, ``"启动期"`` or ``"launch"`` → ``"launch"``; unknown text returned unchanged."""
    return _key_for_label(value, PHASES, "timeline.phase.")


def tier_key(value: str) -> str:
    """``"Dormant"``, ``"沉睡用户"`` or ``"dormant"`` → ``"dormant"``; unknown text returned unchanged."""
    return _key_for_label(value, TIERS, "timeline.tier.")


# ---------------------------------------------------------------------------
# The default plan (domain brief §7)
# ---------------------------------------------------------------------------

# Channels are stored under lib.palette's (Chinese) names in both languages, so a
# task's channel matches the orders/channel_spend data and keeps its colour;
# ``channel_label`` shows the English name to English readers (lib.i18n.display_channel).
#: Extra spellings of a channel → its stored name (English names from the core
#: catalog are recognised too, see ``canonical_channel``).
CHANNEL_ALIASES: dict[str, str] = {
    "red": "小红书",
    "rednote": "小红书",
    "xhs": "小红书",
    "tiktok": "抖音",
    "wechat": "微信私域",
    "微信": "微信私域",
    "jd.com": "京东",
    "stores": "线下门店",
}


def canonical_channel(name: str) -> str:
    """The stored name of a channel spelled any known way ("Douyin", "douyin" → "抖音"); unknown text unchanged."""
    text = _clean_text(name)
    if not text:
        return ""
    folded = text.casefold()
    if folded in CHANNEL_ALIASES:
        return CHANNEL_ALIASES[folded]
    prefix = "channel_name."
    for lang in LANGUAGES:
        for key, label in catalogs()[lang].items():
            if key.startswith(prefix) and label.casefold() == folded:
                return key[len(prefix):]
    return text


def channel_label(name: str, lang: str) -> str:
    """A stored channel name as the reader sees it ("小红书" → "Xiaohongshu" in English)."""
    return display_channel(name, lang) if name else ""


# (id, template, phase, owner role, channel, tier, start, end, milestone, depends_on)
_DEFAULT_ROWS: tuple[tuple[str, str, str, str, str, str, int, int, bool, tuple[str, ...]], ...] = (
    ("P1", "segmentation_model", "prep", "data", "", "", 1, 2, False, ()),
    ("P2", "content_matrix", "prep", "content", "", "", 1, 2, False, ()),
    ("P3", "omni_integration", "prep", "channel", "", "", 1, 2, False, ()),
    ("P4", "data_monitoring", "prep", "data", "", "", 1, 2, False, ()),
    ("L1", "first_xhs_notes", "launch", "content", "小红书", "", 3, 4, False, ("P2",)),
    ("L2", "first_douyin_shorts", "launch", "content", "抖音", "", 3, 4, False, ("P2",)),
    ("L3", "first_wechat_articles", "launch", "content", "微信私域", "", 3, 4, False, ("P2",)),
    ("L4", "traffic_routing", "launch", "channel", "线下门店", "", 3, 4, False, ("P3",)),
    ("L5", "wechat_communities", "launch", "community", "微信私域", "", 3, 4, False, ("P1", "P3")),
    ("L6", "team_training", "launch", "lead", "", "", 3, 4, False, ("P1", "P2")),
    ("R1", "monthly_review_1", "launch", "lead", "", "", 4, 4, True, ("P4",)),
    ("O1", "cadence_xhs", "operation", "content", "小红书", "", 5, 12, False, ("L1",)),
    ("O2", "cadence_douyin", "operation", "content", "抖音", "", 5, 12, False, ("L2",)),
    ("O3", "cadence_wechat", "operation", "content", "微信私域", "", 5, 12, False, ("L3",)),
    ("C1", "campaign_new_first_order", "operation", "campaign", "天猫", "new", 5, 8, False, ("L5",)),
    ("C2", "campaign_repurchase", "operation", "campaign", "微信私域", "active", 7, 10, False, ("L5",)),
    ("C3", "campaign_dormant_wakeup", "operation", "community", "微信私域", "dormant", 9, 12, False, ("L5",)),
    ("C4", "campaign_high_value_vip", "operation", "campaign", "微信私域", "high_value", 6, 12, False, ("L5",)),
    ("O4", "omni_scenarios", "operation", "channel", "", "", 5, 12, False, ("L4",)),
    ("O5", "weekly_review", "operation", "data", "", "", 5, 12, False, ("P4",)),
    ("R2", "monthly_review_2", "operation", "lead", "", "", 8, 8, True, ("R1",)),
    ("R3", "monthly_review_3", "operation", "lead", "", "", 12, 12, True, ("R2",)),
    ("Z1", "quarter_review", "optimisation", "lead", "", "", 13, 13, True, ("R3", "O5")),
    ("Z2", "scale_what_worked", "optimisation", "campaign", "", "", 13, 13, False, ("C1", "C2", "O1", "O2")),
    ("Z3", "fix_or_cut", "optimisation", "lead", "", "", 13, 13, False, ("C3", "C4", "O3", "O4")),
    ("Z4", "plan_next_quarter", "optimisation", "lead", "", "", 13, 13, False, ("R3",)),
)

#: Default-plan templates of the weekly content cadence tasks, per platform.
CADENCE_TEMPLATES: dict[str, str] = {
    "xiaohongshu": "cadence_xhs",
    "douyin": "cadence_douyin",
    "wechat": "cadence_wechat",
}
#: Default-plan templates of the four tier campaigns.
CAMPAIGN_TEMPLATES: dict[str, str] = {
    "new": "campaign_new_first_order",
    "active": "campaign_repurchase",
    "dormant": "campaign_dormant_wakeup",
    "high_value": "campaign_high_value_vip",
}


def default_plan(lang: str = "en") -> list[Task]:
    """The brief's 13-week plan in ``lang``: four phases, the content cadence, tier campaigns and reviews.

    Weeks 1–2 preparation, 3–4 launch, 5–12 operation (2 Xiaohongshu notes, 3 Douyin
    videos and 1 WeChat article a week; new-user first order, repurchase drive,
    dormant wake-up and high-value VIP campaigns; omni-channel scenarios; weekly
    review), week 13 optimisation. Monthly reviews are milestones in weeks 4, 8 and
    12, the quarter review a milestone in week 13. The plan passes ``validate``.
    """
    tasks = []
    for task_id, template, phase, owner, channel, tier, start, end, milestone, deps in _DEFAULT_ROWS:
        tasks.append(
            Task(
                id=task_id,
                name=t(f"timeline.task.{template}", lang),
                phase=phase,
                owner=t(f"timeline.owner.{owner}", lang),
                channel=channel,
                tier=tier,
                start_week=start,
                end_week=end,
                progress=0.0,
                milestone=milestone,
                depends_on=deps,
                template=template,
            )
        )
    return tasks


@dataclass(frozen=True)
class ContentItem:
    """One planned post of the weekly content cadence."""

    week: int
    platform: str  # a CONTENT_CADENCE key
    number: int  # 1-based within its week and platform
    title: str
    day: date | None  # suggested publishing day (None without a start Monday)
    task_id: str  # the cadence task it belongs to in the default plan


def content_calendar(
    lang: str = "en",
    start_monday: date | None = None,
    *,
    weeks: tuple[int, int] = CONTENT_WEEKS,
    cadence: Mapping[str, int] | None = None,
) -> list[ContentItem]:
    """Every post of the weekly cadence (48 for weeks 5–12 at 2 + 3 + 1 a week), in date order.

    With ``start_monday`` each post gets a suggested day (Xiaohongshu Tue/Fri,
    Douyin Mon/Wed/Sat, WeChat Thu; extra posts beyond those days go on the
    last suggested day).
    """
    if start_monday is not None:
        require_monday(start_monday)
    per_week = dict(cadence or CONTENT_CADENCE)
    task_ids = {"xiaohongshu": "O1", "douyin": "O2", "wechat": "O3"}
    items: list[ContentItem] = []
    for week in range(weeks[0], weeks[1] + 1):
        week_items: list[ContentItem] = []
        for platform, count in per_week.items():
            weekdays = CONTENT_WEEKDAYS.get(platform, (0,))
            for number in range(1, count + 1):
                weekday = weekdays[min(number - 1, len(weekdays) - 1)]
                day = None
                if start_monday is not None:
                    day = start_monday + timedelta(days=7 * (week - 1) + weekday)
                week_items.append(
                    ContentItem(
                        week=week,
                        platform=platform,
                        number=number,
                        title=t(f"timeline.content.{platform}", lang, n=number, week=week),
                        day=day,
                        task_id=task_ids.get(platform, ""),
                    )
                )
        order = {p: i for i, p in enumerate(per_week)}
        week_items.sort(
            key=lambda item: (
                CONTENT_WEEKDAYS.get(item.platform, (0,))[
                    min(item.number - 1, len(CONTENT_WEEKDAYS.get(item.platform, (0,))) - 1)
                ],
                order[item.platform],
                item.number,
            )
        )
        items.extend(week_items)
    return items


def content_calendar_frame(items: Sequence[ContentItem], lang: str = "en") -> pd.DataFrame:
    """The content calendar as a table with headers in ``lang``."""
    rows = [
        {
            t("timeline.column.week", lang): item.week,
            t("timeline.column.date", lang): item.day.isoformat() if item.day else "",
            t("timeline.column.platform", lang): t(f"timeline.platform.{item.platform}", lang),
            t("timeline.column.content_item", lang): item.title,
            t("timeline.column.task", lang): item.task_id,
        }
        for item in items
    ]
    columns = [
        t(f"timeline.column.{c}", lang) for c in ("week", "date", "platform", "content_item", "task")
    ]
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------
# Editor table <-> tasks
# ---------------------------------------------------------------------------


def tasks_to_frame(tasks: Sequence[Task], lang: str | None = None) -> pd.DataFrame:
    """The editor table: one row per task, columns ``TABLE_COLUMNS``.

    With ``lang`` the phase and tier cells hold labels in that language (matching
    ``phase_options``/``tier_options``), channels and default task names are shown
    in it; without, they hold the stored keys. ``depends_on`` is comma-separated ids.
    """
    rows = []
    for task in tasks:
        rows.append(
            {
                "id": task.id,
                "name": task.display_name(lang) if lang else task.name,
                "phase": phase_label(task.phase, lang) if lang else task.phase,
                "owner": task.owner,
                "channel": channel_label(task.channel, lang) if lang else task.channel,
                "tier": tier_label(task.tier, lang) if lang else task.tier,
                "start_week": task.start_week,
                "end_week": task.end_week,
                "progress": float(task.progress),
                "milestone": bool(task.milestone),
                "depends_on": format_depends_on(task.depends_on),
            }
        )
    frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    return frame.astype(
        {
            "id": "object",
            "name": "object",
            "phase": "object",
            "owner": "object",
            "channel": "object",
            "tier": "object",
            "start_week": "int64",
            "end_week": "int64",
            "progress": "float64",
            "milestone": "bool",
            "depends_on": "object",
        }
    )


def frame_to_tasks(frame: pd.DataFrame, previous: Sequence[Task] = ()) -> list[Task]:
    """Tasks from an edited table (the inverse of ``tasks_to_frame``).

    Accepts phase/tier as keys or labels in either language and channels in any
    known spelling (stored under their palette names). Rows that are
    entirely blank (a fresh editor row) are dropped; a row without an id gets the
    next free ``T<n>``. Missing weeks become 0 so ``validate`` reports them.
    ``previous`` (the tasks before editing) keeps each task's ``template`` when
    its id survives.
    """
    templates = {task.id: task.template for task in previous}
    taken = {_clean_text(v) for v in frame["id"]} if "id" in frame.columns else set()
    counter = 1
    tasks: list[Task] = []
    for record in frame.to_dict(orient="records"):
        values = {column: record.get(column) for column in TABLE_COLUMNS}
        meaningful = [values[c] for c in ("id", "name", "start_week", "end_week", "depends_on")]
        if all(_is_blank(v) for v in meaningful):
            continue
        task_id = _clean_text(values["id"])
        if not task_id:
            while f"T{counter}" in taken:
                counter += 1
            task_id = f"T{counter}"
            taken.add(task_id)
        task = Task.from_dict({**values, "id": task_id})
        tasks.append(
            replace(
                task,
                phase=phase_key(task.phase),
                tier=tier_key(task.tier),
                channel=canonical_channel(task.channel),
                template=templates.get(task_id, ""),
            )
        )
    return tasks


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """One problem in a plan, with a stable code and a message in either language."""

    code: str
    severity: Severity
    task_ids: tuple[str, ...]
    values: tuple[tuple[str, Any], ...] = ()

    def message(self, lang: str = "en") -> str:
        """The message in ``lang`` (task names are quoted as the user typed them)."""
        values = dict(self.values)
        if "field" in values:
            values["field"] = t(f"timeline.column.{values['field']}", lang)
        return t(f"timeline.issue.{self.code}", lang, **values)


ISSUE_CODES: tuple[str, ...] = (
    "empty_name",
    "duplicate_id",
    "unknown_phase",
    "unknown_tier",
    "week_out_of_range",
    "end_before_start",
    "progress_out_of_range",
    "unknown_dependency",
    "dependency_cycle",
    "dependency_conflict",
)


def _ref(task: Task) -> str:
    return f"{task.id} “{task.name}”" if task.name else task.id


def _issue(code: str, severity: Severity, ids: Iterable[str], **values: Any) -> Issue:
    return Issue(code=code, severity=severity, task_ids=tuple(ids), values=tuple(values.items()))


def validate(tasks: Sequence[Task], weeks: int = DEFAULT_WEEKS) -> list[Issue]:
    """Every problem in the plan: per-task checks in table order, then dependency checks; warnings last.

    Errors: empty name, duplicate id, unknown phase or tier, week outside
    1..``weeks``, end before start, progress outside 0–100 %, unknown dependency,
    dependency cycle (the cycle is named). Warning: a task that starts before a
    task it depends on has ended (both are named) — the chart draws that link red.
    """
    issues: list[Issue] = []
    by_id: dict[str, Task] = {}
    seen_dupes: set[str] = set()
    for task in tasks:
        if not task.name.strip():
            issues.append(_issue("empty_name", "error", [task.id], task=task.id))
        if task.id in by_id:
            if task.id not in seen_dupes:
                seen_dupes.add(task.id)
                issues.append(_issue("duplicate_id", "error", [task.id], id=task.id))
        else:
            by_id[task.id] = task
        if task.phase not in PHASES:
            issues.append(_issue("unknown_phase", "error", [task.id], task=_ref(task), phase=task.phase or "—"))
        if task.tier and task.tier not in TIERS:
            issues.append(_issue("unknown_tier", "error", [task.id], task=_ref(task), tier=task.tier))
        for field_name in ("start_week", "end_week"):
            week = getattr(task, field_name)
            if not 1 <= week <= weeks:
                issues.append(
                    _issue(
                        "week_out_of_range",
                        "error",
                        [task.id],
                        task=_ref(task),
                        field=field_name,
                        week=week if week else "—",
                        weeks=weeks,
                    )
                )
        if task.start_week and task.end_week and task.end_week < task.start_week:
            issues.append(
                _issue(
                    "end_before_start", "error", [task.id], task=_ref(task), start=task.start_week, end=task.end_week
                )
            )
        if not 0.0 <= task.progress <= 1.0:
            issues.append(
                _issue("progress_out_of_range", "error", [task.id], task=_ref(task), progress=f"{task.progress:.0%}")
            )
    for task in tasks:
        for dep in task.depends_on:
            if dep not in by_id:
                issues.append(_issue("unknown_dependency", "error", [task.id], task=_ref(task), dependency=dep))
    for cycle in find_cycles(tasks):
        issues.append(
            _issue("dependency_cycle", "error", cycle[:-1], cycle=" → ".join(cycle))
        )
    for successor, predecessor in dependency_conflicts(tasks):
        issues.append(
            _issue(
                "dependency_conflict",
                "warning",
                [successor.id, predecessor.id],
                task=_ref(successor),
                start=successor.start_week,
                dependency=_ref(predecessor),
                end=predecessor.end_week,
            )
        )
    return issues


def has_errors(issues: Iterable[Issue]) -> bool:
    """True when any issue is an error (warnings alone do not block saving)."""
    return any(issue.severity == "error" for issue in issues)


#: Problems of a row's own cells: such a task cannot be placed on the weeks, so the chart leaves it out.
ROW_ERROR_CODES: frozenset[str] = frozenset({"week_out_of_range", "end_before_start", "progress_out_of_range"})


def drawable_tasks(tasks: Sequence[Task], issues: Iterable[Issue]) -> tuple[list[Task], list[Task]]:
    """(tasks the chart can draw as they are, tasks left out because of their own cells).

    A row with a week outside the plan, an end before its start or a progress
    outside 0–100 % is left out rather than moved to the edge: the chart never
    shows a task anywhere the table does not say. Other problems (a cycle, an
    unknown dependency, a duplicate id) leave every row drawable.
    """
    bad = {task_id for issue in issues if issue.code in ROW_ERROR_CODES for task_id in issue.task_ids}
    bad_rows = [task for task in tasks if task.id in bad]
    return [task for task in tasks if task.id not in bad], bad_rows


def _graph(tasks: Sequence[Task]) -> tuple[list[str], dict[str, list[str]]]:
    """Node ids (first occurrence wins) and predecessor lists restricted to known ids."""
    nodes: list[str] = []
    preds: dict[str, list[str]] = {}
    for task in tasks:
        if task.id in preds:
            continue
        nodes.append(task.id)
        preds[task.id] = []
    first: dict[str, Task] = {}
    for task in tasks:
        first.setdefault(task.id, task)
    for task_id in nodes:
        preds[task_id] = [d for d in first[task_id].depends_on if d in preds]
    return nodes, preds


def dependency_conflicts(tasks: Sequence[Task]) -> list[tuple[Task, Task]]:
    """(successor, predecessor) pairs where the successor starts in or before the predecessor's end week."""
    first: dict[str, Task] = {}
    for task in tasks:
        first.setdefault(task.id, task)
    pairs = []
    for task in tasks:
        for dep in task.depends_on:
            predecessor = first.get(dep)
            if predecessor is None or predecessor.id == task.id:
                continue
            if task.start_week <= predecessor.end_week:
                pairs.append((task, predecessor))
    return pairs


def find_cycles(tasks: Sequence[Task]) -> list[list[str]]:
    """One named cycle per strongly connected group, e.g. ``["A", "B", "C", "A"]``.

    Uses Tarjan's algorithm on edges predecessor → successor; a self-dependency
    is the cycle ``["A", "A"]``.
    """
    nodes, preds = _graph(tasks)
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for node in nodes:
        for pred in preds[node]:
            succs[pred].append(node)

    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0

    for root in nodes:
        if root in index_of:
            continue
        # Iterative Tarjan: (node, iterator position)
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            for i in range(pos, len(succs[node])):
                nxt = succs[node][i]
                if nxt not in index_of:
                    work.append((node, i + 1))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index_of[nxt])
            if recurse:
                continue
            if low[node] == index_of[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(group)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])

    order = {n: i for i, n in enumerate(nodes)}
    cycles: list[list[str]] = []
    for group in groups:
        members = set(group)
        start = min(group, key=order.__getitem__)
        if len(group) == 1 and start not in succs[start]:
            continue
        cycles.append(_cycle_through(start, members, succs, order))
    cycles.sort(key=lambda c: order[c[0]])
    return cycles


def _cycle_through(
    start: str, members: set[str], succs: Mapping[str, list[str]], order: Mapping[str, int]
) -> list[str]:
    """A shortest cycle from ``start`` back to itself inside one strongly connected group (BFS)."""
    parent: dict[str, str] = {}
    queue = [start]
    seen = {start}
    while queue:
        node = queue.pop(0)
        for nxt in sorted(succs[node], key=order.__getitem__):
            if nxt not in members:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                path.reverse()
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                parent[nxt] = node
                queue.append(nxt)
    return [start, start]  # pragma: no cover - a strongly connected group always closes


class DependencyCycleError(ValueError):
    """The dependencies loop, so there is no order in which to do the tasks."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = list(cycle)
        super().__init__("Dependency cycle: " + " → ".join(self.cycle))


def topological_order(tasks: Sequence[Task]) -> list[str]:
    """Ids in an order where every task comes after the tasks it depends on (Kahn's algorithm).

    Unknown dependency ids are ignored; ties keep the tasks' own order. Raises
    ``DependencyCycleError`` naming a cycle.
    """
    nodes, preds = _graph(tasks)
    indegree = {n: len(set(preds[n])) for n in nodes}
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for node in nodes:
        for pred in dict.fromkeys(preds[node]):
            succs[pred].append(node)
    position = {n: i for i, n in enumerate(nodes)}
    ready = sorted((n for n in nodes if indegree[n] == 0), key=position.__getitem__)
    ordered: list[str] = []
    while ready:
        node = ready.pop(0)
        ordered.append(node)
        released = []
        for nxt in succs[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                released.append(nxt)
        ready = sorted(ready + released, key=position.__getitem__)
    if len(ordered) < len(nodes):
        cycles = find_cycles(tasks)
        raise DependencyCycleError(cycles[0] if cycles else [])
    return ordered


def critical_path(tasks: Sequence[Task]) -> list[str]:
    """Ids of the longest chain of dependent tasks, measured in weeks of duration.

    Each task weighs its duration (end − start + 1; milestones 0); the chain with
    the largest total is returned from first to last task. Ties go to the chain
    with more tasks, then to the one ending at the task listed first. Returns ``[]`` for an empty plan or when the
    dependencies contain a cycle (``validate`` reports the cycle).
    """
    if not tasks:
        return []
    try:
        order = topological_order(tasks)
    except DependencyCycleError:
        return []
    first: dict[str, Task] = {}
    for task in tasks:
        first.setdefault(task.id, task)
    # best[id] = (weeks, tasks) of the longest chain ending at id; more tasks break ties,
    # so a milestone that closes a chain stays on it.
    best: dict[str, tuple[int, int]] = {}
    came_from: dict[str, str | None] = {}
    for node in order:
        task = first[node]
        chosen: str | None = None
        for pred in task.depends_on:
            if pred in best and (chosen is None or best[pred] > best[chosen]):
                chosen = pred
        weeks, count = best[chosen] if chosen else (0, 0)
        best[node] = (weeks + task.duration_weeks, count + 1)
        came_from[node] = chosen
    position = {task_id: i for i, task_id in enumerate(first)}
    end = max(order, key=lambda n: (best[n], -position[n]))
    path = [end]
    while came_from[path[-1]] is not None:
        path.append(came_from[path[-1]])  # type: ignore[arg-type]
    path.reverse()
    return path


def path_weeks(tasks: Sequence[Task], ids: Sequence[str]) -> int:
    """Total duration in weeks of the tasks ``ids`` (e.g. of the critical path)."""
    first: dict[str, Task] = {}
    for task in tasks:
        first.setdefault(task.id, task)
    return sum(first[i].duration_weeks for i in ids if i in first)


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
    base = {}
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


# ---------------------------------------------------------------------------
# Saved plans (per dataset, in the workspace's settings)
# ---------------------------------------------------------------------------


class SettingsStore(Protocol):
    """The part of ``lib.workspace.Workspace`` this module needs."""

    def get_setting(self, dataset_id: int, key: str, default: Any = None) -> Any: ...

    def set_setting(self, dataset_id: int, key: str, value: Any) -> None: ...

    def delete_setting(self, dataset_id: int, key: str) -> None: ...

    def settings_with_prefix(self, dataset_id: int, prefix: str) -> dict[str, Any]: ...


class PlanNotFound(KeyError):
    """No saved plan has that name in this dataset."""


@dataclass(frozen=True)
class SavedPlan:
    """A named plan as stored: its tasks, week-1 Monday, and optional baseline snapshot."""

    name: str
    tasks: list[Task]
    start_monday: date | None = None
    baseline: list[Task] | None = None
    saved_at: str = ""
    baseline_saved_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def validate_plan_name(name: str) -> str:
    """Trimmed plan name; raises ValueError when empty, too long or containing control characters."""
    clean = " ".join(str(name or "").split())
    if not clean:
        raise ValueError("A plan needs a name.")
    if len(clean) > MAX_PLAN_NAME:
        raise ValueError(f"Plan names are limited to {MAX_PLAN_NAME} characters.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in clean):
        raise ValueError("Plan names cannot contain control characters.")
    return clean


def _plan_key(name: str) -> str:
    return PLAN_KEY_PREFIX + validate_plan_name(name)


def _plan_payload(plan: SavedPlan) -> dict[str, Any]:
    return {
        "version": _PLAN_FORMAT_VERSION,
        "name": plan.name,
        "start_monday": plan.start_monday.isoformat() if plan.start_monday else None,
        "tasks": [task.to_dict() for task in plan.tasks],
        "baseline": [task.to_dict() for task in plan.baseline] if plan.baseline is not None else None,
        "saved_at": plan.saved_at,
        "baseline_saved_at": plan.baseline_saved_at,
        **plan.extra,
    }


def _plan_from_payload(name: str, payload: Mapping[str, Any]) -> SavedPlan:
    start = payload.get("start_monday")
    baseline = payload.get("baseline")
    known = {"version", "name", "start_monday", "tasks", "baseline", "saved_at", "baseline_saved_at"}
    return SavedPlan(
        name=str(payload.get("name") or name),
        tasks=[Task.from_dict(item) for item in payload.get("tasks") or []],
        start_monday=date.fromisoformat(start) if start else None,
        baseline=[Task.from_dict(item) for item in baseline] if baseline is not None else None,
        saved_at=str(payload.get("saved_at") or ""),
        baseline_saved_at=payload.get("baseline_saved_at"),
        extra={k: v for k, v in payload.items() if k not in known},
    )


def save_plan(
    ws: SettingsStore,
    dataset_id: int,
    name: str,
    tasks: Sequence[Task],
    *,
    start_monday: date | None = None,
    now: datetime | None = None,
) -> SavedPlan:
    """Save (or overwrite) the plan ``name``; an existing baseline is kept."""
    clean = validate_plan_name(name)
    if start_monday is not None:
        require_monday(start_monday)
    existing = ws.get_setting(dataset_id, _plan_key(clean))
    previous = _plan_from_payload(clean, existing) if isinstance(existing, Mapping) else None
    plan = SavedPlan(
        name=clean,
        tasks=list(tasks),
        start_monday=start_monday,
        baseline=previous.baseline if previous else None,
        saved_at=(now or datetime.now()).isoformat(timespec="seconds"),
        baseline_saved_at=previous.baseline_saved_at if previous else None,
        extra=previous.extra if previous else {},
    )
    ws.set_setting(dataset_id, _plan_key(clean), _plan_payload(plan))
    return plan


def load_plan(ws: SettingsStore, dataset_id: int, name: str) -> SavedPlan:
    """The saved plan ``name``; raises ``PlanNotFound``."""
    clean = validate_plan_name(name)
    payload = ws.get_setting(dataset_id, _plan_key(clean))
    if not isinstance(payload, Mapping):
        raise PlanNotFound(clean)
    return _plan_from_payload(clean, payload)


def list_plans(ws: SettingsStore, dataset_id: int) -> list[str]:
    """Names of the dataset's saved plans, alphabetically."""
    return sorted(ws.settings_with_prefix(dataset_id, PLAN_KEY_PREFIX), key=str.casefold)


def delete_plan(ws: SettingsStore, dataset_id: int, name: str) -> None:
    """Remove the plan ``name`` (and its baseline); raises ``PlanNotFound`` if there is none."""
    clean = validate_plan_name(name)
    if ws.get_setting(dataset_id, _plan_key(clean)) is None:
        raise PlanNotFound(clean)
    ws.delete_setting(dataset_id, _plan_key(clean))


def save_baseline(
    ws: SettingsStore,
    dataset_id: int,
    name: str,
    tasks: Sequence[Task] | None = None,
    *,
    start_monday: date | None = None,
    now: datetime | None = None,
) -> SavedPlan:
    """Snapshot a plan as its baseline.

    With ``tasks`` the plan is saved with those tasks first and they become the
    baseline; without, the plan's stored tasks become the baseline (raises
    ``PlanNotFound`` if the plan was never saved).
    """
    moment = now or datetime.now()
    if tasks is not None:
        plan = save_plan(ws, dataset_id, name, tasks, start_monday=start_monday, now=moment)
    else:
        plan = load_plan(ws, dataset_id, name)
    stamped = replace(
        plan,
        baseline=list(plan.tasks),
        baseline_saved_at=moment.isoformat(timespec="seconds"),
    )
    ws.set_setting(dataset_id, _plan_key(plan.name), _plan_payload(stamped))
    return stamped


def clear_baseline(ws: SettingsStore, dataset_id: int, name: str) -> SavedPlan:
    """Drop the plan's baseline, keeping its tasks."""
    plan = replace(load_plan(ws, dataset_id, name), baseline=None, baseline_saved_at=None)
    ws.set_setting(dataset_id, _plan_key(plan.name), _plan_payload(plan))
    return plan
