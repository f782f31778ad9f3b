"""Target scenarios: from "+17.5 % sales at −12.5 % CAC" to new customers, budget and a verdict.

Why a package: the scenarios are one capability with clear seams, and each has a room
of its own — ``inputs`` (targets, limits, presets, errors), ``baseline`` (the measured
quarter and its curves), ``targets`` (the revenue arithmetic), ``solve`` (the scenario's
cached questions to the optimiser, ``lib.channels.optimizer``, which lives beside the curves it allocates on),
``result`` (the data model), ``evaluate`` (b.7 end to end), ``frontier`` (the charts'
numbers), ``texts`` (sentences), ``store`` (saved scenarios), ``compare`` (the
side-by-side table and its files), ``charts`` (Altair), ``budget`` (split templates
and weekly phasing) and ``cli`` (``python -m lib.cli scenario``).

Callers use this surface: ``from lib import scenarios; scenarios.run(...)``; the budget
templates, which the channels and timeline pages use too, as ``from lib.scenarios import budget``.
Imports run one way: scenarios → channels (curves, optimiser), never back.
"""

from lib.scenarios import budget, charts
from lib.scenarios.baseline import Baseline, measure_baseline, scenario_curves
from lib.scenarios.model import ScenarioModel, prepare
from lib.scenarios.cli import run_scenario_cli
from lib.scenarios.compare import (
    COMPARE_ROWS,
    MAX_COMPARED,
    compare,
    comparison_csv,
    comparison_table,
    comparison_workbook,
)
from lib.scenarios.evaluate import (
    evaluate,
    evaluate_dataset,
    outcome_target,
    plan_weekly_spend,
    run,
)
from lib.scenarios.frontier import (
    feasibility_frontier,
    frontier_dataset,
    iso_cac_lines,
    sensitivity,
    sensitivity_dataset,
    target_box,
    weekly_budget,
)
from lib.scenarios.inputs import (
    INPUT_FIELDS,
    INPUT_LIMITS,
    LTV_CAC_RULE,
    PLAN_RANGES,
    PRESETS,
    QUARTER_WEEKS,
    SENSITIVITY_RANGES,
    ScenarioError,
    ScenarioInputError,
    ScenarioInputs,
    preset,
)
from lib.scenarios.result import ChannelPlan, GapClosers, MixValue, ScenarioBounds, ScenarioResult
from lib.scenarios.store import (
    MAX_NAME_LENGTH,
    SavedScenario,
    delete_scenario,
    list_scenarios,
    load_scenario,
    save_scenario,
    validate_scenario_name,
)
from lib.scenarios.targets import OrdersOnlyAnswer, orders_only
from lib.scenarios.texts import SPLIT_COLUMNS, display_split, headline, lever_texts, ltv_text, verdict_text

__all__ = [
    "COMPARE_ROWS",
    "INPUT_FIELDS",
    "INPUT_LIMITS",
    "LTV_CAC_RULE",
    "MAX_COMPARED",
    "MAX_NAME_LENGTH",
    "PLAN_RANGES",
    "PRESETS",
    "QUARTER_WEEKS",
    "SENSITIVITY_RANGES",
    "Baseline",
    "ChannelPlan",
    "GapClosers",
    "MixValue",
    "OrdersOnlyAnswer",
    "SavedScenario",
    "ScenarioBounds",
    "ScenarioError",
    "ScenarioInputError",
    "ScenarioInputs",
    "ScenarioModel",
    "ScenarioResult",
    "budget",
    "charts",
    "compare",
    "comparison_csv",
    "comparison_table",
    "comparison_workbook",
    "delete_scenario",
    "display_split",
    "SPLIT_COLUMNS",
    "evaluate",
    "evaluate_dataset",
    "feasibility_frontier",
    "frontier_dataset",
    "headline",
    "iso_cac_lines",
    "lever_texts",
    "list_scenarios",
    "load_scenario",
    "ltv_text",
    "measure_baseline",
    "orders_only",
    "outcome_target",
    "plan_weekly_spend",
    "prepare",
    "preset",
    "run",
    "run_scenario_cli",
    "save_scenario",
    "scenario_curves",
    "sensitivity",
    "sensitivity_dataset",
    "target_box",
    "validate_scenario_name",
    "verdict_text",
    "weekly_budget",
]
