"""Saved scenarios: a scenario's inputs and headline numbers kept in the workspace under a name.

Why it exists: people compare a few named scenarios over time, pick one for the
presentation and the timeline's budget line; names are user text and are checked here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from lib.scenarios.inputs import ScenarioError, ScenarioInputs
from lib.scenarios.result import ScenarioResult
from lib.workspace import Workspace

SETTING_PREFIX = "scenarios."
MAX_NAME_LENGTH = 60

@dataclass(frozen=True)
class SavedScenario:
    """A scenario stored in the workspace: its inputs and the headline results when saved."""

    name: str
    inputs: ScenarioInputs
    summary: Mapping[str, Any]
    saved_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "inputs": self.inputs.to_dict(), "summary": dict(self.summary),
                "saved_at": self.saved_at}


def validate_scenario_name(name: str) -> str:
    """Trim a scenario name; raises ``ScenarioError`` when empty, too long or with control characters."""
    clean = " ".join(str(name or "").split())
    if not clean:
        raise ScenarioError("scenarios.error.name_empty")
    if len(clean) > MAX_NAME_LENGTH:
        raise ScenarioError("scenarios.error.name_too_long", limit=MAX_NAME_LENGTH)
    if any(ord(ch) < 32 for ch in clean):
        raise ScenarioError("scenarios.error.name_control")
    return clean


def save_scenario(ws: Workspace, dataset_id: int, name: str, result: ScenarioResult) -> SavedScenario:
    """Store the scenario's inputs and headline results under ``scenarios.<name>`` (replacing one of that name)."""
    clean = validate_scenario_name(name)
    saved = SavedScenario(
        name=clean, inputs=result.inputs, summary=replace(result, name=clean).summary(),
        saved_at=datetime.now().isoformat(timespec="seconds"),
    )
    ws.set_setting(int(dataset_id), SETTING_PREFIX + clean, saved.to_dict())
    return saved


def _saved_from(name: str, data: Mapping[str, Any]) -> SavedScenario:
    return SavedScenario(
        name=str(data.get("name") or name), inputs=ScenarioInputs.from_dict(data.get("inputs") or {}),
        summary=dict(data.get("summary") or {}), saved_at=str(data.get("saved_at") or ""),
    )


def load_scenario(ws: Workspace, dataset_id: int, name: str) -> SavedScenario:
    """A saved scenario by name; raises ``ScenarioError`` (scenarios.error.not_found) when there is none."""
    clean = validate_scenario_name(name)
    data = ws.get_setting(int(dataset_id), SETTING_PREFIX + clean)
    if data is None:
        raise ScenarioError("scenarios.error.not_found", name=clean)
    return _saved_from(clean, data)


def list_scenarios(ws: Workspace, dataset_id: int) -> list[SavedScenario]:
    """Every saved scenario of the dataset, by name."""
    stored = ws.settings_with_prefix(int(dataset_id), SETTING_PREFIX)
    return [_saved_from(name, data) for name, data in sorted(stored.items()) if isinstance(data, Mapping)]


def delete_scenario(ws: Workspace, dataset_id: int, name: str) -> bool:
    """Remove a saved scenario; False when there was none of that name."""
    clean = validate_scenario_name(name)
    key = SETTING_PREFIX + clean
    if ws.get_setting(int(dataset_id), key) is None:
        return False
    ws.delete_setting(int(dataset_id), key)
    return True
