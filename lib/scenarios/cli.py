"""What ``python -m lib.cli scenario`` prints: the scenario, its headline and levers, optionally saved.

Why it exists: ``lib.cli`` stays argument parsing; the scenario's work for it is here,
on the same :func:`prepare` / :func:`run` path as the page.
"""

from __future__ import annotations

from typing import Any

from lib.formatting import use_currency
from lib.i18n import t
from lib.scenarios.model import prepare
from lib.scenarios.evaluate import run
from lib.scenarios.inputs import ScenarioInputs
from lib.scenarios.store import save_scenario, validate_scenario_name
from lib.scenarios.texts import headline, lever_texts, verdict_text
from lib.workspace import Workspace

def run_scenario_cli(
    ws: Workspace,
    dataset_name: str,
    growth: float,
    cac_cut: float,
    repurchase_up: float,
    aov_change: float = 0.0,
    save: str | None = None,
    lang: str = "en",
) -> dict[str, Any]:
    """Everything ``python -m lib.cli scenario … --json`` prints: the scenario, its headline and levers.

    Raises ``workspace.DatasetNotFound`` for an unknown dataset and ``ScenarioError``
    (message in ``lang`` via ``.message(lang)``) for bad inputs or data without a baseline.
    """
    dataset = ws.get_dataset(dataset_name)
    inputs = ScenarioInputs(growth=growth, cac_cut=cac_cut, repurchase_up=repurchase_up, aov_change=aov_change)
    name = validate_scenario_name(save) if save is not None else None
    result = run(prepare(ws, dataset.dataset_id), inputs, name=name)
    with use_currency(dataset.currency):  # the texts' amounts are in the dataset's currency
        out = {"dataset": dataset.name, **result.to_dict(), "headline": headline(result, lang),
               "verdict_text": verdict_text(result, lang), "levers": lever_texts(result, lang),
               "notes_text": [t(k, lang) for k in result.notes] + inputs.plan_notes(lang), "saved": None}
    if name is not None:
        save_scenario(ws, dataset.dataset_id, name, result)
        out["saved"] = name
    return out
