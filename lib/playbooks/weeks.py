"""When: the weeks of the 13-week plan each play runs in.

Why a module of its own: a play's weeks come from a saved timeline plan when one
names the play (lib.timeline), else from the playbook's defaults; the page, the
export and the review pack all ask here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lib.i18n import t
from lib.playbooks.content import GroupContent, Playbook
from lib.timeline import Task, list_plans, load_plan
from lib.workspace import Workspace

# --------------------------------------------------------------------------------------
# When: weeks of the 13-week plan
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayWeeks:
    """The weeks a play runs: from the timeline's tasks for its tier (``source="timeline"``, with their
    ids) or the play's default weeks (``source="default"``)."""

    start: int
    end: int
    source: str
    task_ids: tuple[str, ...] = ()

    def text(self, lang: str = "en") -> str:
        """``"W5–W8"`` / ``"第5–8周"`` (one week alone when start = end)."""
        if self.start == self.end:
            return t("playbooks.week_one", lang, week=self.start)
        return t("playbooks.weeks_range", lang, start=self.start, end=self.end)


def group_tier(group: GroupContent) -> str:
    """The plan tier whose timeline tasks schedule this group's plays (itself for tiers)."""
    return group.key if group.scheme == "plan" else (group.like_tier or "")


def play_weeks(playbook: Playbook, tasks: Sequence[Task] | None = None) -> dict[str, dict[str, PlayWeeks]]:
    """``{group: {play id: PlayWeeks}}`` for every tier and segment.

    With ``tasks`` (a saved timeline plan): a tier's plays run over the span of
    that plan's tasks for the tier (first start week to last end week; segments
    use their ``like_tier``); a tier the plan has no task for (lapsing, by
    default) keeps the plays' default weeks. Without tasks every play keeps its
    default weeks, which follow the default plan's tier campaigns
    (:func:`lib.timeline.default_plan`).
    """
    spans: dict[str, tuple[int, int, tuple[str, ...]]] = {}
    for task in tasks or ():
        if not task.tier:
            continue
        start, end = int(task.start_week), int(task.end_week)
        if start > end:
            start, end = end, start
        if task.tier in spans:
            s, e, ids = spans[task.tier]
            spans[task.tier] = (min(s, start), max(e, end), (*ids, task.id))
        else:
            spans[task.tier] = (start, end, (task.id,))
    out: dict[str, dict[str, PlayWeeks]] = {}
    for key, group in playbook.groups.items():
        span = spans.get(group_tier(group))
        weeks: dict[str, PlayWeeks] = {}
        for play in group.plays:
            if span is not None:
                weeks[play.id] = PlayWeeks(span[0], span[1], "timeline", span[2])
            else:
                weeks[play.id] = PlayWeeks(play.weeks[0], play.weeks[1], "default")
        out[key] = weeks
    return out


def plan_tasks(ws: Workspace, dataset_id: int, plan_name: str | None = None) -> tuple[list[Task], str] | None:
    """A saved timeline plan's tasks and name: ``plan_name`` if given, else the most recently saved
    plan; None when the dataset has no saved plan (the playbooks then use their default weeks)."""
    if plan_name:
        plan = load_plan(ws, dataset_id, plan_name)
        return list(plan.tasks), plan.name
    latest = None
    for name in list_plans(ws, dataset_id):
        plan = load_plan(ws, dataset_id, name)
        if latest is None or plan.saved_at > latest.saved_at:
            latest = plan
    return (list(latest.tasks), latest.name) if latest is not None else None
