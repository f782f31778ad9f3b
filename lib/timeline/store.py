"""Named plans per dataset, with an optional baseline snapshot, kept in the workspace's settings.

Why a module of its own: a marketing lead keeps several plans (and a baseline to
measure slippage against) per dataset; this is the only code that reads or writes
them, through the small ``SettingsStore`` part of ``lib.workspace.Workspace``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Protocol

from lib.timeline.calendar import require_monday
from lib.timeline.model import Task

PLAN_KEY_PREFIX = "timeline.plan."
MAX_PLAN_NAME = 60
_PLAN_FORMAT_VERSION = 1


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
