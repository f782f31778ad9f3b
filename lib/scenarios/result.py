"""What a scenario works out: the per-channel plan, the levers that close a gap, and the result itself.

Why it exists: the evaluation (``evaluate.py``) fills these, and the page, texts,
charts, saved scenarios, the review pack and the CLI's ``--json`` read them; keeping
the data model apart lets each of those import it without the solver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pandas as pd

from lib.i18n import t
from lib.channels import optimizer
from lib.scenarios.baseline import Baseline
from lib.scenarios.inputs import LTV_CAC_RULE, ScenarioInputs, Verdict
from lib.scenarios.jsonable import jsonable_dict

@dataclass(frozen=True)
class ScenarioBounds:
    """Per-channel limits for the optimiser, in quarter amounts (see ``optimizer.allocate``).

    ``TimesHistorical(k)`` bounds are relative to the base quarter's spend per channel.
    """

    lower: Mapping[str, optimizer.Bound] | optimizer.Bound = None
    upper: Mapping[str, optimizer.Bound] | optimizer.Bound = None
    locked: Mapping[str, float] | Sequence[str] | None = None


@dataclass(frozen=True)
class ChannelPlan:
    """One channel's part of the scenario: base quarter against the optimised split."""

    channel: str
    has_curve: bool
    current_spend: float
    optimised_spend: float
    current_new_customers: float  # the curve at the base quarter's spend (channel data when no curve)
    optimised_new_customers: float
    marginal_cac: float | None
    max_observed_weekly_spend: float | None
    extrapolation_ratio: float | None  # planned weekly spend ÷ highest week ever observed

    @property
    def spend_change(self) -> float:
        return self.optimised_spend - self.current_spend

    @property
    def average_cac(self) -> float | None:
        return self.optimised_spend / self.optimised_new_customers if self.optimised_new_customers > 0 else None


@dataclass(frozen=True)
class MixValue:
    """What optimising the channel mix is worth, against the base quarter's mix.

    At the base quarter's budget: the customers the current mix buys on the curves and
    what the optimal split buys. For the scenario's target: the budget scaling the
    current mix would need, against the optimal split's ``S*``.
    """

    budget: float
    current_new_customers: float
    optimal_new_customers: float
    budget_current_mix_for_target: float | None  # None: the current mix never gets there
    budget_optimal_for_target: float | None

    @property
    def extra_new_customers(self) -> float:
        return self.optimal_new_customers - self.current_new_customers

    @property
    def budget_saving(self) -> float | None:
        if self.budget_current_mix_for_target is None or self.budget_optimal_for_target is None:
            return None
        return self.budget_current_mix_for_target - self.budget_optimal_for_target


@dataclass(frozen=True)
class GapClosers:
    """How far each lever must move, on its own, for the revenue target to hold at the target CAC.

    ``affordable_new_customers`` (N_aff) is the largest number of new customers (organic
    included) whose budget stays within CAC* on average. The repurchase rate, the AOV
    change and the response scale-up (conversion/creative: every curve's response × s)
    are each the value that closes the gap alone, the other inputs as in the scenario.
    """

    affordable_new_customers: float
    affordable_budget: float
    repurchase_rate_required: float  # r_req
    repurchase_points_required: float  # r_req − r_base (compare with the scenario's repurchase_up)
    aov_change_required: float  # vs the baseline AOV (compare with the scenario's aov_change)
    response_scale_required: float | None  # s (1.25 = curves must respond 25 % better); None = no budget room
    mix: MixValue

    @property
    def repurchase_possible(self) -> bool:
        return 0.0 <= self.repurchase_rate_required <= 1.0


@dataclass(frozen=True)
class ScenarioResult:
    """Everything a scenario works out, in the order of b.7. ``to_dict()`` is JSON-ready."""

    inputs: ScenarioInputs
    baseline: Baseline
    name: str | None
    revenue_target: float  # R*
    repurchase_rate_target: float  # r*
    retained_revenue_target: float  # R_ret*
    other_revenue_target: float  # R_other at the scenario AOV, order volume held
    new_revenue_required: float  # R* − R_ret* − R_other*
    aov_new_target: float
    aov_retained_target: float
    new_customers_required: float  # N*
    organic_new_customers: float  # held at the baseline level (+ curves' own organic baselines)
    held_channel_new_customers: float  # channels without a curve, held at the base quarter
    held_channel_spend: float
    paid_new_customers_required: float  # what the curves must win
    target_cac: float  # CAC*
    linear_budget: float  # S_lin = N*·CAC*
    required_budget: float | None  # S* (None: unreachable)
    implied_cac: float | None  # S*/N*
    marginal_cac: float | None  # 1/λ at the optimum
    verdict: Verdict
    max_paid_new_customers: float  # the curves' saturation over the quarter
    split_basis: Literal["required_budget", "linear_budget", "none"]
    split: tuple[ChannelPlan, ...]
    gap: GapClosers
    ltv: float | None  # the baseline LTV at the scenario's AOV
    notes: tuple[str, ...]  # i18n keys of the assumptions and warnings that apply

    # -- derived --------------------------------------------------------------

    @property
    def target_met(self) -> bool:
        return self.verdict == "met"

    @property
    def budget_gap(self) -> float | None:
        """S* − S_lin: how much more than the target CAC allows (negative = headroom)."""
        return None if self.required_budget is None else self.required_budget - self.linear_budget

    @property
    def plan_budget(self) -> float:
        """The budget the split and the weekly line are for: S*, or S_lin when S* does not exist."""
        return self.required_budget if self.required_budget is not None else self.linear_budget

    @property
    def ltv_cac(self) -> float | None:
        """LTV ÷ implied CAC; the plan's rule wants at least 3."""
        if self.ltv is None or not self.implied_cac:
            return None
        return self.ltv / self.implied_cac

    @property
    def ltv_cac_ok(self) -> bool | None:
        value = self.ltv_cac
        return None if value is None else value >= LTV_CAC_RULE

    @property
    def max_cac_for_ltv(self) -> float | None:
        """The highest CAC the LTV/CAC ≥ 3 rule allows."""
        return None if self.ltv is None else self.ltv / LTV_CAC_RULE

    @property
    def revenue_growth_from_retention(self) -> float:
        return self.retained_revenue_target - self.baseline.retained_revenue

    def label(self, lang: str = "en") -> str:
        """The scenario's name in a sentence: "the base scenario", "scenario “Q4 push”"."""
        if self.name:
            return t("scenarios.label.named", lang, name=self.name)
        key = self.inputs.preset_name() or "custom"
        return t(f"scenarios.label.{key}", lang)

    def split_frame(self) -> pd.DataFrame:
        """One row per channel: current and optimised spend and customers, marginal CAC, extrapolation."""
        rows = []
        for plan in self.split:
            rows.append({**asdict(plan), "spend_change": plan.spend_change, "average_cac": plan.average_cac})
        columns = ["channel", "has_curve", "current_spend", "optimised_spend", "spend_change",
                   "current_new_customers", "optimised_new_customers", "average_cac", "marginal_cac",
                   "max_observed_weekly_spend", "extrapolation_ratio"]
        return pd.DataFrame(rows, columns=columns)

    def summary(self) -> dict[str, Any]:
        """The headline numbers (flat, JSON-ready): what saved scenarios store and ``compare`` shows."""
        return jsonable_dict({
            "quarter": self.baseline.quarter_label("en"),
            "growth": self.inputs.growth,
            "cac_cut": self.inputs.cac_cut,
            "repurchase_up": self.inputs.repurchase_up,
            "aov_change": self.inputs.aov_change,
            "weeks": self.inputs.weeks,
            "revenue_base": self.baseline.revenue,
            "revenue_target": self.revenue_target,
            "repurchase_rate_target": self.repurchase_rate_target,
            "retained_revenue_target": self.retained_revenue_target,
            "new_customers_required": self.new_customers_required,
            "paid_new_customers_required": self.paid_new_customers_required,
            "organic_new_customers": self.organic_new_customers,
            "target_cac": self.target_cac,
            "linear_budget": self.linear_budget,
            "required_budget": self.required_budget,
            "budget_gap": self.budget_gap,
            "implied_cac": self.implied_cac,
            "marginal_cac": self.marginal_cac,
            "ltv_cac": self.ltv_cac,
            "ltv_cac_ok": self.ltv_cac_ok,
            "verdict": self.verdict,
            "affordable_new_customers": self.gap.affordable_new_customers,
            "repurchase_points_required": self.gap.repurchase_points_required,
            "aov_change_required": self.gap.aov_change_required,
            "response_scale_required": self.gap.response_scale_required,
            "mix_budget_saving": self.gap.mix.budget_saving,
        })

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (for the CLI's ``--json``): inputs, baseline, targets, budget, split, levers."""
        gap = self.gap
        return jsonable_dict({
            "name": self.name,
            "preset": self.inputs.preset_name(),
            "inputs": self.inputs.to_dict(),
            "baseline": self.baseline.to_dict(),
            "targets": {
                "revenue_target": self.revenue_target,
                "repurchase_rate_target": self.repurchase_rate_target,
                "retained_revenue_target": self.retained_revenue_target,
                "other_revenue_target": self.other_revenue_target,
                "new_revenue_required": self.new_revenue_required,
                "aov_new_target": self.aov_new_target,
                "aov_retained_target": self.aov_retained_target,
                "new_customers_required": self.new_customers_required,
                "organic_new_customers": self.organic_new_customers,
                "held_channel_new_customers": self.held_channel_new_customers,
                "paid_new_customers_required": self.paid_new_customers_required,
                "target_cac": self.target_cac,
            },
            "budget": {
                "linear_budget": self.linear_budget,
                "required_budget": self.required_budget,
                "held_channel_spend": self.held_channel_spend,
                "budget_gap": self.budget_gap,
                "implied_cac": self.implied_cac,
                "marginal_cac": self.marginal_cac,
                "max_paid_new_customers": self.max_paid_new_customers,
                "split_basis": self.split_basis,
            },
            "verdict": self.verdict,
            "target_met": self.target_met,
            "ltv": {"ltv": self.ltv, "ltv_cac": self.ltv_cac, "rule": LTV_CAC_RULE, "ok": self.ltv_cac_ok,
                    "max_cac": self.max_cac_for_ltv},
            "split": [{**asdict(p), "spend_change": p.spend_change, "average_cac": p.average_cac}
                      for p in self.split],
            "gap_closers": {
                "affordable_new_customers": gap.affordable_new_customers,
                "affordable_budget": gap.affordable_budget,
                "repurchase_rate_required": gap.repurchase_rate_required,
                "repurchase_points_required": gap.repurchase_points_required,
                "repurchase_possible": gap.repurchase_possible,
                "aov_change_required": gap.aov_change_required,
                "response_scale_required": gap.response_scale_required,
                "mix": {**asdict(gap.mix), "extra_new_customers": gap.mix.extra_new_customers,
                        "budget_saving": gap.mix.budget_saving},
            },
            "notes": list(self.notes),
        })
