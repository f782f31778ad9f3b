"""Next quarter's split of a budget across channels, on their fitted response curves.

Why a module of its own: the Channels page's optimiser asks, for a budget and bounds, for the
best split, today's split and where the next ¥1,000 goes, and for the smallest budget that
reaches a target. These run :mod:`lib.optimizer` on each channel's weekly curve stretched to a
13-week quarter, against the last 13 weeks' spend (:func:`lib.channels.performance.recent_weekly_spend`).
They take the workspace first, so the page caches them like every other answer of a dataset
(``ui.cached``); the curves are passed in, fitted once per data version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from lib.channels.curves import CurveFit
from lib.channels.performance import recent_weekly_spend
from lib.workspace import Workspace

if TYPE_CHECKING:
    from lib.channels import optimizer

# The optimiser is imported where it is used: it works on these curves (it imports lib.channels),
# so importing it here would make the two packages import each other.

QUARTER_WEEKS = 13


@dataclass(frozen=True)
class QuarterSplit:
    """The best split of the budget, today's split for comparison, and where the next ``step`` should go."""

    best: optimizer.Allocation
    now: optimizer.Allocation
    next_step: pd.DataFrame


def quarter_curves(ws: Workspace, dataset_id: int,
                   curves: Mapping[str, CurveFit]) -> tuple[dict[str, CurveFit], dict[str, float]]:
    """Each channel's curve over a quarter and its spend over the last quarter (13 × the recent weekly mean)."""
    weekly_now = recent_weekly_spend(ws, dataset_id, QUARTER_WEEKS)
    stretched = {c: curve.over_periods(QUARTER_WEEKS) for c, curve in curves.items()}
    return stretched, {c: weekly_now.get(c, 0.0) * QUARTER_WEEKS for c in stretched}


def optimise_quarter(ws: Workspace, dataset_id: int, curves: Mapping[str, CurveFit], metric: str, total: float,
                     low: float, high: float, locked: tuple[str, ...] = (), step: float = 1000.0) -> QuarterSplit:
    """The split of ``total`` that maximises ``metric``; each channel between ``low`` and ``high`` × its last quarter.

    Channels in ``locked`` keep their last quarter's spend. Raises ``optimizer.InfeasibleBudget``
    when the bounds cannot hold the budget.
    """
    from lib.channels import optimizer

    stretched, historical = quarter_curves(ws, dataset_id, curves)
    best = optimizer.allocate(stretched, total, optimizer.TimesHistorical(low), optimizer.TimesHistorical(high),
                              list(locked) or None, metric, historical_spend=historical)
    now = optimizer.evaluate(stretched, historical, metric)
    return QuarterSplit(best, now, optimizer.next_increment(stretched, best, step=step))


def min_quarter_budget(ws: Workspace, dataset_id: int, curves: Mapping[str, CurveFit], metric: str, target: float,
                       low: float, high: float, locked: tuple[str, ...] = ()) -> optimizer.Allocation:
    """The smallest quarter's budget (split optimally within the same bounds) whose response reaches ``target``.

    Raises ``optimizer.TargetUnreachable`` or ``optimizer.InfeasibleBudget`` with a translated message.
    """
    from lib.channels import optimizer

    stretched, historical = quarter_curves(ws, dataset_id, curves)
    return optimizer.min_budget_for_target(stretched, target, optimizer.TimesHistorical(low),
                                           optimizer.TimesHistorical(high), list(locked) or None, metric,
                                           historical_spend=historical)
