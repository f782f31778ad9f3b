"""The scenario's charts' numbers: the feasibility frontier, iso-CAC lines, the target box, the tornado, the weeks.

Why it exists: the feasibility chart (guide idea 6) and the tornado need the best
customers at many budgets and the budget gap at many inputs; the weekly line spreads
the plan over its weeks. They share the evaluation's solver and arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from lib.channels.curves import CurveFit
from lib.scenarios.baseline import Baseline
from lib.scenarios.budget import DEFAULT_PHASE_SPLIT, weekly_phasing
from lib.scenarios.inputs import PLAN_RANGES, PRESETS, QUARTER_WEEKS, SENSITIVITY_RANGES, ScenarioInputs
from lib.scenarios.model import prepare
from lib.scenarios.result import ScenarioBounds, ScenarioResult
from lib.scenarios.solve import Solver, held_back, quarter_curves
from lib.scenarios.targets import revenue_targets
from lib.workspace import Workspace

def feasibility_frontier(
    baseline: Baseline,
    curves: Mapping[str, CurveFit],
    budgets: Sequence[float] | None = None,
    *,
    weeks: int = QUARTER_WEEKS,
    bounds: ScenarioBounds | None = None,
) -> pd.DataFrame:
    """The best achievable new customers (organic included) per quarter budget: the chart's frontier.

    Columns: budget (total, channels without a curve included at their base spend),
    paid_new_customers (the optimiser's best split on the curves), best_new_customers
    (+ organic and held channels) and blended_cac (budget ÷ best_new_customers).
    Default budgets: 41 points from 0 to 2.5× the base quarter's spend.
    """
    solver = Solver(quarter_curves(curves, weeks), bounds, baseline.channel_spend)
    return _frontier(baseline, curves, solver, budgets, weeks)


def frontier_dataset(ws: Workspace, dataset_id: int, weeks: int = QUARTER_WEEKS) -> pd.DataFrame:
    """:func:`feasibility_frontier` on the dataset's prepared model, sharing its solver (the page's entry)."""
    model = prepare(ws, dataset_id)
    return _frontier(model.baseline, model.curves, model.solver(weeks), None, weeks)


def _frontier(baseline: Baseline, curves: Mapping[str, CurveFit], solver: Solver,
              budgets: Sequence[float] | None, weeks: int) -> pd.DataFrame:
    organic, held_n, held_s = held_back(baseline, curves, weeks)
    points = np.linspace(0.0, 2.5 * baseline.spend, 41) if budgets is None else np.asarray(budgets, dtype=float)
    rows = []
    for b in map(float, points):
        curve_budget = b - held_s
        feasible = curve_budget >= solver.min_total - 1e-9
        paid = solver.best(curve_budget) if feasible else math.nan
        best = organic + held_n + paid if feasible else math.nan
        rows.append({"budget": b, "paid_new_customers": paid, "best_new_customers": best,
                     "blended_cac": b / best if feasible and best > 0 else math.nan})
    return pd.DataFrame(rows, columns=["budget", "paid_new_customers", "best_new_customers", "blended_cac"])


def iso_cac_lines(
    baseline: Baseline, budgets: Sequence[float], cac_cuts: Sequence[float] = (0.0, 0.10, 0.15),
    *, extra: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Lines of equal blended CAC (N = budget ÷ CAC): today's CAC and the plan's −10 % / −15 %.

    Columns: line (key: ``cut_0``, ``cut_10``, ``cut_15`` or a key of ``extra``), cac,
    budget, new_customers. ``extra`` adds named CACs (e.g. the scenario's target).
    """
    levels = {f"cut_{round(c * 100):d}": (1.0 - c) * baseline.cac for c in cac_cuts}
    levels.update(extra or {})
    rows = []
    for key, cac in levels.items():
        for b in budgets:
            rows.append({"line": key, "cac": float(cac), "budget": float(b), "new_customers": float(b) / cac})
    return pd.DataFrame(rows, columns=["line", "cac", "budget", "new_customers"])


def target_box(
    baseline: Baseline,
    inputs: ScenarioInputs | None = None,
    growth: tuple[float, float] = PLAN_RANGES["growth"],
    cac_cut: tuple[float, float] = PLAN_RANGES["cac_cut"],
) -> dict[str, float]:
    """The plan's target region in budget × new-customer space: growth 15–20 % × CAC −10–15 %.

    New customers range from N*(15 %) to N*(20 %) (the scenario's repurchase and AOV
    inputs held); budgets from N*(15 %) at −15 % CAC to N*(20 %) at −10 % CAC. The
    region that meets both targets is the box between the two iso-CAC lines.
    """
    inputs = inputs or PRESETS["base"]
    n_low = revenue_targets(baseline, replace(inputs, growth=growth[0]))["new_customers"]
    n_high = revenue_targets(baseline, replace(inputs, growth=growth[1]))["new_customers"]
    cac_high = (1.0 - cac_cut[0]) * baseline.cac
    cac_low = (1.0 - cac_cut[1]) * baseline.cac
    return {
        "new_customers_min": n_low,
        "new_customers_max": n_high,
        "budget_min": n_low * cac_low,
        "budget_max": n_high * cac_high,
        "cac_min": cac_low,
        "cac_max": cac_high,
    }


def sensitivity(
    baseline: Baseline,
    inputs: ScenarioInputs,
    curves: Mapping[str, CurveFit],
    *,
    bounds: ScenarioBounds | None = None,
    ranges: Mapping[str, tuple[float, float]] = SENSITIVITY_RANGES,
) -> pd.DataFrame:
    """Tornado rows: the budget gap S* − N*·CAC* when each input moves to the ends of its range.

    The gap is the outcome because every input moves it (the CAC cut moves only the
    target, not S*). Columns: input, low_value, high_value, gap_low, gap_high,
    budget_low, budget_high, base_gap, base_budget, swing (|gap_high − gap_low|);
    rows sorted by swing, widest first. A variant beyond the curves' reach gets NaN
    and ``unreachable_low``/``unreachable_high`` True.
    """
    solver = Solver(quarter_curves(curves, inputs.weeks), bounds, baseline.channel_spend)
    return _sensitivity(baseline, inputs, curves, solver, ranges)


def sensitivity_dataset(ws: Workspace, dataset_id: int, inputs: ScenarioInputs) -> pd.DataFrame:
    """:func:`sensitivity` on the dataset's prepared model, sharing its solver (the page's entry)."""
    model = prepare(ws, dataset_id)
    return _sensitivity(model.baseline, inputs, model.curves, model.solver(inputs.weeks), SENSITIVITY_RANGES)


def _sensitivity(baseline: Baseline, inputs: ScenarioInputs, curves: Mapping[str, CurveFit], solver: Solver,
                 ranges: Mapping[str, tuple[float, float]]) -> pd.DataFrame:
    organic, held_n, held_s = held_back(baseline, curves, inputs.weeks)

    def outcome(variant: ScenarioInputs) -> tuple[float, float]:
        n_req = revenue_targets(baseline, variant)["new_customers"]
        paid = max(0.0, n_req - organic - held_n)
        curve_budget = solver.min_budget(paid)
        if curve_budget is None:
            return math.nan, math.nan
        budget = curve_budget + held_s
        return budget, budget - n_req * (1.0 - variant.cac_cut) * baseline.cac

    base_budget, base_gap = outcome(inputs)
    rows = []
    for name, (low, high) in ranges.items():
        b_low, g_low = outcome(_moved(inputs, name, low))
        b_high, g_high = outcome(_moved(inputs, name, high))
        rows.append({
            "input": name, "low_value": low, "high_value": high, "gap_low": g_low, "gap_high": g_high,
            "budget_low": b_low, "budget_high": b_high, "base_gap": base_gap, "base_budget": base_budget,
            "swing": abs(g_high - g_low) if math.isfinite(g_high) and math.isfinite(g_low) else math.inf,
            "unreachable_low": not math.isfinite(g_low), "unreachable_high": not math.isfinite(g_high),
        })
    frame = pd.DataFrame(rows)
    return frame.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------
# Weekly budget and headline
# ---------------------------------------------------------------------------


def weekly_budget(
    result: ScenarioResult,
    phase_split: Sequence[float] = DEFAULT_PHASE_SPLIT,
    *,
    seasonality: Sequence[float] | None = None,
    unit: float | None = None,
) -> pd.DataFrame:
    """The scenario's budget (``plan_budget``) over its weeks, phased launch/peak/wrap-up (``budget.weekly_phasing``).

    Columns as ``weekly_phasing`` (week, plan_phase, budget_phase, spend, share,
    cumulative_spend, …) plus ``cumulative_new_customers_target``: N* spread in proportion
    to spend, for a plan-versus-target line.
    """
    frame = weekly_phasing(result.plan_budget, result.inputs.weeks, phase_split,
                           seasonality=seasonality, unit=unit)
    frame["cumulative_new_customers_target"] = frame["share"].cumsum() * result.new_customers_required
    return frame


def _moved(inputs: ScenarioInputs, name: str, value: float) -> ScenarioInputs:
    """The inputs with one of them moved (validated again, as any inputs are)."""
    changes: dict[str, Any] = {name: value}
    return replace(inputs, **changes)
