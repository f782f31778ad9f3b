"""The scenario's questions to the optimiser — best customers for a budget, least budget for a target — cached.

Why it exists: one scenario asks the optimiser the same few questions many times (the
minimum budget, the affordable budget, the mix's value, the frontier, the tornado); a
:class:`Solver` answers each distinct budget once and, kept on a prepared
:class:`~lib.scenarios.baseline.ScenarioModel`, across every scenario of the dataset —
so a slider step re-solves only what the new value changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.optimize import brentq

from lib.channels.curves import CurveFit
from lib.channels import optimizer
from lib.scenarios.baseline import Baseline
from lib.scenarios.inputs import ScenarioError
from lib.scenarios.result import ScenarioBounds

MAX_CACHED_BUDGETS = 4096  # allocations kept per solver (a frontier is 41, a scenario a few dozen)

class Solver:
    """Best paid new customers for a quarter budget, on the optimiser, with a cache.

    Wraps ``optimizer.allocate`` so the frontier, N_aff and the tornado can share
    evaluations; exact minimum budgets come from ``optimizer.min_budget_for_target``.
    """

    def __init__(self, quarter_curves: Mapping[str, CurveFit], bounds: ScenarioBounds | None,
                 historical: Mapping[str, float]) -> None:
        self.curves = dict(quarter_curves)
        self.bounds = bounds or ScenarioBounds()
        self.historical = {c: float(historical.get(c, 0.0)) for c in self.curves}
        if self.curves:
            lb, ub, _ = optimizer.resolve_bounds(
                list(self.curves), self.bounds.lower, self.bounds.upper, self.bounds.locked, self.historical
            )
            self.min_total, self.max_total = float(lb.sum()), float(ub.sum())
            self.saturation = sum(
                min(float(c.saturation_level) * c.periods,
                    float(c.response(u)) if math.isfinite(u) else math.inf)
                for c, u in zip(self.curves.values(), ub)
            )
        else:
            self.min_total, self.max_total, self.saturation = 0.0, 0.0, 0.0
            lb, ub = np.zeros(0), np.zeros(0)
        self._lower, self._upper = lb, ub
        self._cache: dict[float, optimizer.Allocation] = {}
        self._solved: dict[float, tuple[np.ndarray, str, float]] = {}  # the minimum-budget searches' solves

    def _kwargs(self) -> dict[str, Any]:
        return {"lower": self.bounds.lower, "upper": self.bounds.upper, "locked": self.bounds.locked,
                "historical_spend": self.historical}

    def allocation(self, budget: float) -> optimizer.Allocation | None:
        if not self.curves:
            return None
        b = min(max(float(budget), self.min_total), self.max_total)
        key = round(b, 6)
        found = self._cache.get(key)
        if found is None:
            found = optimizer.allocate(self.curves, b, **self._kwargs())
            if len(self._cache) >= MAX_CACHED_BUDGETS:
                self._cache.clear()
            self._cache[key] = found
        return found

    def best(self, budget: float) -> float:
        """Most paid new customers ``budget`` can buy (0 without curves or below the minimums)."""
        if not self.curves or budget < self.min_total - 1e-9:
            return 0.0
        alloc = self.allocation(budget)
        return alloc.total_response if alloc is not None else 0.0

    def reaches(self, budget: float, target: float) -> bool:
        """``best(budget) >= target``, without solving when a bound on every split already says no."""
        b = min(max(float(budget), self.min_total), self.max_total)
        if optimizer.response_ceiling(list(self.curves.values()), b, self._lower, self._upper) < target:
            return False
        return self.best(budget) >= target

    def min_allocation(self, target: float) -> optimizer.Allocation | None:
        """``optimizer.min_budget_for_target``; None when the target is out of reach."""
        if not self.curves:
            return None
        if len(self._solved) >= MAX_CACHED_BUDGETS:
            self._solved.clear()
        try:
            return optimizer.min_budget_for_target(self.curves, target, **self._kwargs(), solved=self._solved)
        except optimizer.TargetUnreachable:
            return None

    def min_budget(self, target: float) -> float | None:
        """The least budget reaching ``target``, by a bracketed root search on ``best`` (fast path)."""
        if target <= 0:
            return self.min_total if self.curves else 0.0
        if not self.curves or target >= self.saturation * (1 - 1e-9):
            return None
        low = self.min_total
        if self.best(low) >= target:
            return low
        high = max(low * 2.0, 1000.0)
        while not self.reaches(high, target):
            if high >= self.max_total:
                return None
            low, high = high, min(high * 2.0, self.max_total)
            if high > 1e15:
                return None
        return float(brentq(lambda b: self.best(b) - target, low, high, xtol=max(1e-7 * high, 1e-6)))

    def last_affordable(self, cac: float, held_customers: float, held_spend: float) -> tuple[float, float]:
        """The largest total budget B with B ≤ cac·(held + best(B − held_spend)); returns (B, N at B)."""

        def total_n(b: float) -> float:
            return held_customers + self.best(max(0.0, b - held_spend))

        def slack(b: float) -> float:
            return cac * total_n(b) - b

        start = held_spend + self.min_total
        if cac <= 0 or slack(start) < 0:
            return start, total_n(start)
        if not self.curves:
            return start, total_n(start)
        # Scan up to where the curves have saturated beyond what cac can pay for.
        top = max(start * 2.0, cac * (held_customers + self.saturation) * 1.05, 1000.0)
        top = min(top, held_spend + self.max_total) if math.isfinite(self.max_total) else top
        if slack(top) >= 0:
            return top, total_n(top)
        grid = np.linspace(start, top, 16)
        values = [slack(b) for b in grid]
        last = max(i for i, v in enumerate(values) if v >= 0)
        lo, hi = float(grid[last]), float(grid[last + 1])
        root = float(brentq(slack, lo, hi, xtol=max(1e-7 * hi, 1e-6)))
        return root, total_n(root)


def held_back(baseline: Baseline, curves: Mapping[str, CurveFit], weeks: int) -> tuple[float, float, float]:
    """What the scenario holds at the base quarter's level: (organic N, N and spend of channels without a curve).

    Organic = new customers no channel claims, plus any organic baseline inside a
    channel's own curve (``CurveFit.baseline`` × weeks, at most what the channel was
    credited with): the curves' ``response`` is the media-driven part only.
    """
    organic = baseline.organic_new_customers + sum(
        min(float(c.baseline) * weeks, float(baseline.channel_new_customers.get(k, 0.0)))
        for k, c in curves.items()
    )
    held_n = sum(float(v) for k, v in baseline.channel_new_customers.items()
                 if k not in curves and baseline.channel_spend.get(k, 0.0) > 0)
    held_s = sum(float(v) for k, v in baseline.channel_spend.items() if k not in curves)
    return organic, held_n, held_s


def quarter_curves(curves: Mapping[str, CurveFit], weeks: int) -> dict[str, CurveFit]:
    if not curves:
        raise ScenarioError("scenarios.error.no_curves")
    return {name: c.over_periods(weeks) for name, c in curves.items()}


def budget_for_current_mix(q_curves: Mapping[str, CurveFit], current: Mapping[str, float],
                            target: float) -> float | None:
    """The budget at which the base quarter's mix, scaled up or down, reaches ``target`` paid customers."""
    names = [c for c in q_curves if current.get(c, 0.0) > 0]
    if target <= 0:
        return 0.0
    if not names:
        return None
    total = sum(current[c] for c in names)
    shares = {c: current[c] / total for c in names}

    def reach(budget: float) -> float:
        return float(sum(float(q_curves[c].response(budget * shares[c])) for c in names))

    ceiling = sum(float(q_curves[c].saturation_level) * q_curves[c].periods for c in names)
    if target >= ceiling * (1 - 1e-9):
        return None
    high = max(total, 1.0)
    while reach(high) < target:
        high *= 2.0
        if high > 1e15:
            return None
    return float(brentq(lambda b: reach(b) - target, 0.0, high, xtol=max(1e-7 * high, 1e-6)))
