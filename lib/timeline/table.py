"""The editor table and the task list, both ways: what the page's data editor shows and what it gives back.

Why a module of its own: the editable table is the single source of truth of the
Timeline page. Cells arrive as labels in either language, loose numbers, blanks
and fresh rows; this module turns them into ``Task`` values (and back) without
guessing — what it cannot read becomes a value ``validate`` reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from lib.timeline.model import (
    TABLE_COLUMNS,
    Task,
    canonical_channel,
    channel_label,
    clean_text,
    format_depends_on,
    is_blank,
    phase_key,
    phase_label,
    tier_key,
    tier_label,
)

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
    taken = {clean_text(v) for v in frame["id"]} if "id" in frame.columns else set()
    counter = 1
    tasks: list[Task] = []
    for record in frame.to_dict(orient="records"):
        values = {column: record.get(column) for column in TABLE_COLUMNS}
        meaningful = [values[c] for c in ("id", "name", "start_week", "end_week", "depends_on")]
        if all(is_blank(v) for v in meaningful):
            continue
        task_id = clean_text(values["id"])
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
