"""Evaluating a scenario: from "+17.5 % sales at −12.5 % CAC" to new customers, budget and a verdict.

Why it exists: the written plans set quarterly targets ("three up, one down": sales
+15–20 %, CAC −10–15 %, repurchase +5 points) without saying whether they fit together.
On the measured baseline quarter (``baseline.py``) this module turns the targets into the
new customers they require (``shared/guides/budget.md`` b.7), asks the response curves
(``lib.channels.curves``) and the optimiser (``lib.channels.optimizer``) what budget wins
them, and says whether the CAC target holds — and when it does not, which lever
(repurchase, AOV, conversion, channel mix) closes the gap and by how much. The same
numbers feed the scenarios page, saved scenarios, the feasibility and tornado charts,
the timeline's budget line and the CLI's ``scenario --json``.

The arithmetic (b.7), with the quarter Q the latest full calendar quarter in the data:

* ``R = R_new + R_ret + R_other``; ``R_new = N·f_new·AOV_new``; ``R_ret = C·r·f_ret·AOV_ret``.
  ``R_other`` — guest orders and customers back after more than a year (in neither C
  nor N) — is measured and held at its baseline order volume, so the parts add up to
  the GMV (guide idea 14: be explicit about the baseline).
* ``R* = (1+g)·R_base``; ``r* = r_base + Δr``; ``R_ret* = C_next·r*·f_ret·AOV_ret``;
  ``N* = max(0, (R* − R_ret* − R_other) / (f_new·AOV_new))`` — AOVs times ``1 + aov_change``.
* Organic new customers (N_base minus those the channel data credits to paid media)
  are held at the baseline level; the curves must win ``N* − organic``.
* ``S_lin = N*·CAC*`` with ``CAC* = (1−c)·CAC_base`` (blended: all spend ÷ all new
  customers, as on the overview); ``S*`` = ``optimizer.min_budget_for_target`` over the
  curves evaluated for a quarter (``CurveFit.over_periods(weeks)``); the CAC target is
  met iff ``S*/N* ≤ CAC*``.

The curves are directional, not causal (``curves.directional_note``), and so is every
budget derived from them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from lib.channels.curves import CurveFit
from lib.channels import optimizer
from lib.scenarios.baseline import Baseline
from lib.scenarios.inputs import QUARTER_WEEKS, ScenarioInputs, Verdict
from lib.scenarios.model import ScenarioModel, prepare
from lib.scenarios.result import ChannelPlan, GapClosers, MixValue, ScenarioBounds, ScenarioResult
from lib.scenarios.solve import Solver, budget_for_current_mix, held_back, quarter_curves
from lib.scenarios.targets import revenue_targets
from lib.workspace import Workspace


def plan_weekly_spend(result: ScenarioResult, channels: Sequence[str]) -> dict[str, float]:
    """The scenario's split as weekly spend per channel (the base quarter's spend when the target is unreachable)."""
    weeks = result.inputs.weeks
    planned = {p.channel: (p.optimised_spend if result.required_budget is not None else p.current_spend) / weeks
               for p in result.split}
    return {c: float(planned.get(c, result.baseline.channel_spend.get(c, 0.0) / QUARTER_WEEKS)) for c in channels}


def outcome_target(result: ScenarioResult, outcome_kind: str) -> float | None:
    """The scenario's target in a marketing-mix model's outcome: net sales for revenue, N* for new customers."""
    if outcome_kind == "revenue":
        return float(result.revenue_target)
    if outcome_kind == "new_customers":
        return float(result.new_customers_required)
    return None


def run(model: ScenarioModel, inputs: ScenarioInputs, name: str | None = None) -> ScenarioResult:
    """Evaluate one scenario on a prepared model (see :func:`evaluate`), reusing the model's solver answers."""
    return _evaluate(model.baseline, inputs, model.curves, model.solver(inputs.weeks), name)


def evaluate_dataset(ws: Workspace, dataset_id: int, inputs: ScenarioInputs) -> ScenarioResult:
    """:func:`run` on the dataset's prepared model: the page's entry (``ui.cached(scenarios.evaluate_dataset, …)``)."""
    return run(prepare(ws, dataset_id), inputs)


def evaluate(
    baseline: Baseline,
    inputs: ScenarioInputs,
    curves: Mapping[str, CurveFit],
    *,
    bounds: ScenarioBounds | None = None,
    name: str | None = None,
) -> ScenarioResult:
    """Work a scenario through b.7: targets, required customers, the curve-aware budget, verdict, levers.

    ``curves`` are weekly new-customer curves per channel (``scenario_curves`` or typed-in
    ``CurveFit.from_params``); they are evaluated for the quarter with
    ``over_periods(inputs.weeks)``. ``bounds`` limit the optimiser per channel (quarter
    amounts). A target beyond the curves' saturation gives ``verdict == "unreachable"``,
    not an exception.
    """
    solver = Solver(quarter_curves(curves, inputs.weeks), bounds, baseline.channel_spend)
    return _evaluate(baseline, inputs, curves, solver, name)


@dataclass(frozen=True)
class _Demand:
    """What the targets ask of the curves: N*, the part held outside them, and the CAC the plan allows."""

    targets: dict[str, float]
    n_required: float
    organic: float
    held_n: float
    held_s: float
    paid_required: float
    target_cac: float
    linear_budget: float


@dataclass(frozen=True)
class _Budget:
    """The curve-aware budget: S* (None when unreachable), its split and the verdict."""

    alloc: optimizer.Allocation | None
    curve_budget: float | None
    required_budget: float | None
    implied_cac: float | None
    marginal_cac: float | None
    verdict: Verdict
    split_basis: Literal["required_budget", "linear_budget", "none"]


def _evaluate(baseline: Baseline, inputs: ScenarioInputs, curves: Mapping[str, CurveFit], solver: Solver,
              name: str | None) -> ScenarioResult:
    demand = _demand(baseline, inputs, curves)
    budget = _required_budget(solver, demand)
    current_resp = {c: float(q.response(baseline.channel_spend.get(c, 0.0))) for c, q in solver.curves.items()}
    split, beyond = _split(baseline, solver.curves, budget.alloc, current_resp)
    gap = _gap_closers(baseline, inputs, solver, demand, budget.curve_budget, current_resp)
    ltv = baseline.ltv * (1.0 + inputs.aov_change) if baseline.ltv is not None else None
    targets = demand.targets
    result = ScenarioResult(
        inputs=inputs, baseline=baseline, name=name,
        revenue_target=targets["revenue_target"], repurchase_rate_target=targets["rate_target"],
        retained_revenue_target=targets["retained"], other_revenue_target=targets["other"],
        new_revenue_required=targets["new_revenue"], aov_new_target=targets["aov_new"],
        aov_retained_target=targets["aov_ret"], new_customers_required=demand.n_required,
        organic_new_customers=demand.organic, held_channel_new_customers=demand.held_n,
        held_channel_spend=demand.held_s, paid_new_customers_required=demand.paid_required,
        target_cac=demand.target_cac, linear_budget=demand.linear_budget,
        required_budget=budget.required_budget, implied_cac=budget.implied_cac, marginal_cac=budget.marginal_cac,
        verdict=budget.verdict, max_paid_new_customers=solver.saturation,
        split_basis=budget.split_basis, split=tuple(split), gap=gap, ltv=ltv, notes=(),
    )
    notes = _notes(baseline, demand, budget, beyond, result.ltv_cac_ok is False)
    return replace(result, notes=notes)


def _demand(baseline: Baseline, inputs: ScenarioInputs, curves: Mapping[str, CurveFit]) -> _Demand:
    targets = revenue_targets(baseline, inputs)
    n_required = targets["new_customers"]
    organic, held_n, held_s = held_back(baseline, curves, inputs.weeks)
    target_cac = (1.0 - inputs.cac_cut) * baseline.cac
    return _Demand(targets, n_required, organic, held_n, held_s, max(0.0, n_required - organic - held_n),
                   target_cac, n_required * target_cac)


def _required_budget(solver: Solver, demand: _Demand) -> _Budget:
    """S*: the optimiser's minimum budget for the paid customers required (or the linear budget's split)."""
    if demand.paid_required <= 0:
        alloc = solver.allocation(solver.min_total)
        curve_budget: float | None = solver.min_total
    else:
        alloc = solver.min_allocation(demand.paid_required)
        curve_budget = alloc.total_budget if alloc is not None else None
    if curve_budget is None:
        linear = demand.linear_budget - demand.held_s
        basis: Literal["linear_budget", "none"] = "linear_budget" if linear > solver.min_total else "none"
        alloc = solver.allocation(max(linear, solver.min_total)) if basis != "none" else None
        return _Budget(alloc, None, None, None, None, "unreachable", basis)
    required = curve_budget + demand.held_s
    implied = required / demand.n_required if demand.n_required > 0 else None
    marginal = alloc.marginal_cost if alloc is not None and demand.paid_required > 0 else None
    if marginal is not None and not math.isfinite(marginal):
        marginal = None
    met = demand.n_required <= 0 or required <= demand.linear_budget * (1 + 1e-9)
    return _Budget(alloc, curve_budget, required, implied, marginal, "met" if met else "over_cac", "required_budget")


def _split(baseline: Baseline, q_curves: Mapping[str, CurveFit], alloc: optimizer.Allocation | None,
           current_resp: Mapping[str, float]) -> tuple[list[ChannelPlan], bool]:
    """One plan per channel (curves first, then channels without one, held); and whether any goes beyond the data."""
    planned = alloc.spend_by_channel() if alloc is not None else {c: 0.0 for c in q_curves}
    split: list[ChannelPlan] = []
    beyond = False
    for c, curve in q_curves.items():
        x = float(planned.get(c, 0.0))
        ratio_value = curve.extrapolation_ratio(x)
        ratio_f = float(ratio_value) if ratio_value is not None else None
        beyond = beyond or (ratio_f is not None and ratio_f > 1.0 + 1e-9)
        marginal = float(curve.marginal(x))
        split.append(ChannelPlan(
            channel=c, has_curve=True, current_spend=float(baseline.channel_spend.get(c, 0.0)),
            optimised_spend=x, current_new_customers=current_resp[c],
            optimised_new_customers=float(curve.response(x)),
            marginal_cac=1.0 / marginal if marginal > 0 else None,
            max_observed_weekly_spend=curve.max_observed_weekly_spend, extrapolation_ratio=ratio_f,
        ))
    for c, spend in baseline.channel_spend.items():
        if c in q_curves:
            continue
        n_c = float(baseline.channel_new_customers.get(c, 0.0))
        split.append(ChannelPlan(
            channel=c, has_curve=False, current_spend=float(spend), optimised_spend=float(spend),
            current_new_customers=n_c, optimised_new_customers=n_c, marginal_cac=None,
            max_observed_weekly_spend=None, extrapolation_ratio=None,
        ))
    return split, beyond


def _gap_closers(baseline: Baseline, inputs: ScenarioInputs, solver: Solver, demand: _Demand,
                 curve_budget: float | None, current_resp: Mapping[str, float]) -> GapClosers:
    """How far each lever must move alone for the target to hold at the target CAC (see :class:`GapClosers`)."""
    targets = demand.targets
    budget_aff, n_aff = solver.last_affordable(demand.target_cac, demand.organic + demand.held_n, demand.held_s)
    per_ret = baseline.customer_base_next * baseline.orders_per_repurchaser * targets["aov_ret"]
    rate_required = ((targets["revenue_target"] - targets["other"] - n_aff * targets["per_new"]) / per_ret
                     if per_ret > 0 else math.inf)
    at_aff = n_aff * targets["per_new"] + targets["retained"] + targets["other"]
    multiplier = targets["revenue_target"] / at_aff if at_aff > 0 else math.inf
    linear_curves = demand.linear_budget - demand.held_s
    room = solver.best(max(0.0, linear_curves)) if linear_curves >= solver.min_total else 0.0
    scale: float | None
    if demand.paid_required <= 0:
        scale = 0.0  # the curves need to win nobody
    else:
        scale = demand.paid_required / room if room > 0 else None
    current_curve_budget = sum(baseline.channel_spend.get(c, 0.0) for c in solver.curves)
    mix = MixValue(
        budget=current_curve_budget,
        current_new_customers=sum(current_resp.values()),
        optimal_new_customers=solver.best(current_curve_budget) if current_curve_budget >= solver.min_total
        else sum(current_resp.values()),
        budget_current_mix_for_target=budget_for_current_mix(solver.curves, baseline.channel_spend,
                                                             demand.paid_required),
        budget_optimal_for_target=curve_budget,
    )
    return GapClosers(
        affordable_new_customers=n_aff,
        affordable_budget=budget_aff,
        repurchase_rate_required=rate_required,
        repurchase_points_required=rate_required - baseline.repurchase_rate,
        aov_change_required=(1.0 + inputs.aov_change) * multiplier - 1.0,
        response_scale_required=scale,
        mix=mix,
    )


def _notes(baseline: Baseline, demand: _Demand, budget: _Budget, beyond: bool, ltv_low: bool) -> tuple[str, ...]:
    """The i18n keys of the assumptions and warnings that apply, in the order the page lists them."""
    notes: list[str] = ["scenarios.note.organic_held", "scenarios.note.other_revenue_held",
                        "scenarios.note.directional", f"scenarios.note.source.{baseline.new_customers_source}"]
    if demand.held_s > 0 or demand.held_n > 0:
        notes.append("scenarios.note.channels_without_curve")
    if baseline.short_history:
        notes.append("scenarios.note.short_history")
    if baseline.attribution_exceeds_orders:
        notes.append("scenarios.note.attribution_exceeds_orders")
    if budget.verdict == "unreachable":
        notes.append("scenarios.note.unreachable")
    if demand.n_required <= 0:
        notes.append("scenarios.note.no_new_customers_needed")
    if beyond:
        notes.append("scenarios.note.beyond_observed")
    if ltv_low:
        notes.append("scenarios.note.ltv_cac_below_rule")
    return tuple(dict.fromkeys(notes))
