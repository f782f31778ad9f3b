"""The revenue arithmetic of b.7: from the growth target to the new customers it needs.

Why it exists: the full scenario, the target box of the feasibility chart, the
tornado and the orders-only answer (no channel spend yet) all turn inputs into
``R*``, ``r*``, ``R_ret*``, ``R_other*`` and ``N*`` the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lib.formatting import pct
from lib.kpis import Period
from lib.scenarios.baseline import Baseline, measure_baseline
from lib.scenarios.inputs import ScenarioError, ScenarioInputs
from lib.workspace import Workspace

def revenue_targets(baseline: Baseline, inputs: ScenarioInputs) -> dict[str, float]:
    """R*, r*, R_ret*, R_other*, N* and the scenario AOVs (b.7)."""
    aov_factor = 1.0 + inputs.aov_change
    revenue_target = (1.0 + inputs.growth) * baseline.revenue
    rate_target = baseline.repurchase_rate + inputs.repurchase_up
    if not 0.0 <= rate_target <= 1.0:
        raise ScenarioError(
            "scenarios.error.repurchase_out_of_range",
            rate=pct(rate_target), base=pct(baseline.repurchase_rate),
        )
    aov_new = baseline.aov_new * aov_factor
    aov_ret = baseline.aov_retained * aov_factor
    retained = baseline.customer_base_next * rate_target * baseline.orders_per_repurchaser * aov_ret
    other = baseline.other_revenue * aov_factor
    new_revenue = revenue_target - retained - other
    per_new = baseline.orders_per_new_customer * aov_new
    return {
        "revenue_target": revenue_target,
        "rate_target": rate_target,
        "aov_new": aov_new,
        "aov_ret": aov_ret,
        "retained": retained,
        "other": other,
        "new_revenue": new_revenue,
        "per_new": per_new,
        "new_customers": max(0.0, new_revenue / per_new) if per_new > 0 else math.inf,
    }


@dataclass(frozen=True)
class OrdersOnlyAnswer:
    """What a target demands of customers when there is no channel spend yet (every new user's first situation).

    The revenue side of the scenario (b.7) from the orders alone: the revenue target, what
    returning customers bring at the target repurchase rate, what is left for new customers
    and how many that takes. Budget, CAC and the channel split need spend and appear once
    channel data is imported.
    """

    baseline: Baseline
    inputs: ScenarioInputs
    revenue_target: float
    repurchase_rate_target: float
    retained_revenue_target: float
    other_revenue_target: float
    new_revenue_required: float
    aov_new_target: float
    new_customers_required: float
    returning_customers_target: float


def orders_only(ws: Workspace, dataset_id: int, inputs: ScenarioInputs, quarter: Period | None = None) -> OrdersOnlyAnswer:
    """The scenario's revenue arithmetic on the orders alone (see :class:`OrdersOnlyAnswer`)."""
    baseline = measure_baseline(ws, dataset_id, quarter, require_spend=False)
    targets = revenue_targets(baseline, inputs)
    return OrdersOnlyAnswer(
        baseline=baseline, inputs=inputs, revenue_target=targets["revenue_target"],
        repurchase_rate_target=targets["rate_target"], retained_revenue_target=targets["retained"],
        other_revenue_target=targets["other"], new_revenue_required=targets["new_revenue"],
        aov_new_target=targets["aov_new"], new_customers_required=targets["new_customers"],
        returning_customers_target=baseline.customer_base_next * targets["rate_target"],
    )
