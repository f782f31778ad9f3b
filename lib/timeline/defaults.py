"""The brief's default 13-week plan and its weekly content cadence, in English or Chinese.

Why a module of its own: the domain brief's §7 (筹备期 → 启动期 → 运营期 → 优化期) is
the plan a marketing lead starts from — four phases, the content cadence, the tier
campaigns and the reviews. The rows here are data; the page, the CLI, the review
pack and the playbooks all start from ``default_plan``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from lib.i18n import t
from lib.timeline.calendar import require_monday
from lib.timeline.model import Task

#: The brief's weekly content cadence in the operation weeks.
CONTENT_WEEKS: tuple[int, int] = (5, 12)
CONTENT_CADENCE: dict[str, int] = {"xiaohongshu": 2, "douyin": 3, "wechat": 1}
#: Suggested publishing weekdays (0 = Monday) per platform, one per weekly item.
CONTENT_WEEKDAYS: dict[str, tuple[int, ...]] = {
    "xiaohongshu": (1, 4),  # Tue, Fri
    "douyin": (0, 2, 5),  # Mon, Wed, Sat
    "wechat": (3,),  # Thu
}


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
    task_ids = {row[1]: row[0] for row in _DEFAULT_ROWS}  # template → id of the cadence task
    slots: list[tuple[int, int, int, int, str]] = []  # (week, weekday, platform rank, number, platform)
    for week in range(weeks[0], weeks[1] + 1):
        for rank, (platform, count) in enumerate(per_week.items()):
            slots += [(week, _publishing_weekday(platform, number), rank, number, platform)
                      for number in range(1, count + 1)]
    return [
        ContentItem(
            week=week,
            platform=platform,
            number=number,
            title=t(f"timeline.content.{platform}", lang, n=number, week=week),
            day=start_monday + timedelta(days=7 * (week - 1) + weekday) if start_monday is not None else None,
            task_id=task_ids.get(CADENCE_TEMPLATES.get(platform, ""), ""),
        )
        for week, weekday, _, number, platform in sorted(slots)
    ]


def _publishing_weekday(platform: str, number: int) -> int:
    """The suggested weekday (0 = Monday) of a platform's ``number``-th post of a week; extra posts take the last."""
    weekdays = CONTENT_WEEKDAYS.get(platform, (0,))
    return weekdays[min(number - 1, len(weekdays) - 1)]


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
