"""The optimiser's solver as it was before the vectorised one (commit 5eac4b7): the benchmark's baseline only.

Why it exists: ``bench_optimizer.py`` times one scenario evaluation with the old solver
against the new one in the same run, and checks that they agree. The old code evaluated
every curve one call at a time, solved a budget again when asked twice, and re-ran the
doubling search's solves from budget 1; it lives here, not in ``lib/``, so the app has
one solver. Only the solving functions are copied; bounds, errors and the result type
are the library's own.
"""

# ruff: noqa
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from scipy.optimize import brentq

from lib.channels.optimizer import (
    DEFAULT_GRID_STEPS,
    OBJECTIVES,
    Allocation,
    Bound,
    InfeasibleBudget,
    ResponseCurve,
    TargetUnreachable,
    TimesHistorical,
    resolve_bounds,
)

_REL_TOL = 1e-9


def response_ceiling(*_: Any) -> float:
    """The old search had no bound: every doubling step was a full solve."""
    return math.inf


def _check_objective(objective: str) -> str:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}")
    return objective


def _check_feasible(budget: float, lb: np.ndarray, ub: np.ndarray) -> None:
    if budget < 0 or not math.isfinite(budget):
        raise InfeasibleBudget("negative_budget", budget, float(lb.sum()), float(ub.sum()))
    slack = 1e-9 * max(1.0, budget)
    if lb.sum() > budget + slack:
        raise InfeasibleBudget("below_minimums", budget, float(lb.sum()), float(ub.sum()))
    if ub.sum() < budget - slack:
        raise InfeasibleBudget("above_maximums", budget, float(lb.sum()), float(ub.sum()))


# ---------------------------------------------------------------------------
# Curve helpers
# ---------------------------------------------------------------------------


def _is_concave(curve: ResponseCurve) -> bool:
    return bool(getattr(curve, "is_concave", True))


def _concave_from(curve: ResponseCurve) -> float:
    return float(getattr(curve, "concave_from", 0.0) or 0.0)


def _responses(curves: list[ResponseCurve], x: np.ndarray) -> np.ndarray:
    return np.array([float(c.response(v)) for c, v in zip(curves, x)])


def _marginals(curves: list[ResponseCurve], x: np.ndarray) -> np.ndarray:
    return np.array([float(c.marginal(v)) for c, v in zip(curves, x)])


def _marginal_inverse(curve: ResponseCurve, m: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Spend where the marginal return equals m (vectorised); numeric when the curve has no inverse."""
    inverse = getattr(curve, "marginal_inverse", None)
    if inverse is not None:
        return np.asarray(inverse(m), dtype=float)
    left = np.full_like(m, lo, dtype=float)
    right = np.full_like(m, hi, dtype=float)
    for _ in range(60):
        mid = 0.5 * (left + right)
        above = np.asarray(curve.marginal(mid), dtype=float) > m
        left = np.where(above, mid, left)
        right = np.where(above, right, mid)
    return 0.5 * (left + right)


# ---------------------------------------------------------------------------
# Solvers
# ---------------------------------------------------------------------------


def _water_fill(
    curves: list[ResponseCurve], budget: float, lb: np.ndarray, ub: np.ndarray
) -> tuple[np.ndarray, float]:
    """KKT water-filling for concave curves: equal marginal λ for channels inside their bounds."""
    if budget <= lb.sum() + _REL_TOL * max(1.0, budget):
        return lb.copy(), math.nan
    if budget >= ub.sum() - _REL_TOL * max(1.0, budget):
        return ub.copy(), math.nan
    room = budget - lb.sum()
    hi_limit = np.minimum(ub, lb + room)

    def spend_at(lams: np.ndarray) -> np.ndarray:
        cols = [
            np.clip(_marginal_inverse(c, lams, lo, hi), lo, hi)
            for c, lo, hi in zip(curves, lb, hi_limit)
        ]
        return np.vstack(cols)  # channels × λ values

    eps = np.maximum(room * 1e-12, 1e-12)
    lam_hi = float(np.max(_marginals(curves, lb + eps))) * 1.0001
    lam_lo = float(np.min(_marginals(curves, hi_limit))) * 0.9999
    if not math.isfinite(lam_hi) or lam_hi <= 0:
        lam_hi = 1e12
    lam_lo = max(lam_lo, lam_hi * 1e-18, 1e-300)
    for _ in range(40):  # make sure the low end spends at least the budget
        if spend_at(np.array([lam_lo])).sum() >= budget:
            break
        lam_lo /= 1e3
    log_lo, log_hi = math.log(lam_lo), math.log(lam_hi)
    points = 33
    for _ in range(4):
        grid = np.linspace(log_lo, log_hi, points)
        sums = spend_at(np.exp(grid)).sum(axis=0)  # falls as λ rises
        j = int(np.searchsorted(-sums, -budget, side="right")) - 1
        j = min(max(j, 0), points - 2)
        log_lo, log_hi = grid[j], grid[j + 1]
    both = spend_at(np.exp(np.array([log_lo, log_hi])))
    s_lo, s_hi = both[:, 0].sum(), both[:, 1].sum()
    share = 0.0 if s_lo == s_hi else (s_lo - budget) / (s_lo - s_hi)
    x = both[:, 0] - min(max(share, 0.0), 1.0) * (both[:, 0] - both[:, 1])
    x = np.clip(x, lb, ub)
    return x, math.exp(0.5 * (log_lo + log_hi))


def _lookahead_greedy(
    curves: list[ResponseCurve], budget: float, lb: np.ndarray, ub: np.ndarray, steps: int
) -> tuple[np.ndarray, float]:
    """Meridian's rule: jump to the grid point with the best return per unit from the current spend.

    Each channel's best jump is cached and recomputed only when that channel
    moved or its best jump no longer fits in the budget left, so a step costs
    one row of the grid instead of the whole grid.
    """
    room = budget - lb.sum()
    n = len(curves)
    if room <= 0 or n == 0:
        return lb.copy(), 0.0
    step = room / steps
    reach = np.minimum(np.floor((ub - lb) / step + 1e-9), steps).astype(int)
    k = np.arange(steps + 1)
    values = np.vstack([np.asarray(c.response(lb[i] + k * step), dtype=float) for i, c in enumerate(curves)])
    index = np.zeros(n, dtype=int)
    left = steps
    best_rate = np.full(n, -np.inf)
    best_to = np.zeros(n, dtype=int)

    def refresh(i: int) -> None:
        start = int(index[i])
        stop = min(int(reach[i]), start + left)
        if stop <= start:
            best_rate[i], best_to[i] = -np.inf, start
            return
        rates = (values[i, start + 1 : stop + 1] - values[i, start]) / np.arange(1, stop - start + 1)
        j = int(np.argmax(rates))
        best_rate[i], best_to[i] = rates[j], start + 1 + j

    for i in range(n):
        refresh(i)
    while left > 0:
        i = int(np.argmax(best_rate))
        if not np.isfinite(best_rate[i]):
            break
        left -= int(best_to[i] - index[i])
        index[i] = best_to[i]
        refresh(i)
        for other in np.flatnonzero(best_to - index > left):
            refresh(int(other))
    x = lb + index * step
    leftover = budget - x.sum()
    if leftover > 0:  # channels' maximums fell between grid points: top up by marginal return
        for i in np.argsort(-_marginals(curves, x)):
            give = min(leftover, ub[i] - x[i])
            if give > 0:
                x[i] += give
                leftover -= give
            if leftover <= 0:
                break
    return x, step


def _pairwise_polish(
    curves: list[ResponseCurve], x: np.ndarray, lb: np.ndarray, ub: np.ndarray, step: float
) -> np.ndarray:
    """Move budget from the channel that loses least to the one that gains most, halving the step."""
    x = x.copy()
    n = len(curves)
    if n < 2 or step <= 0:
        return x
    scale = max(1.0, float(np.sum(x)))
    values = _responses(curves, x)
    moves = 0
    while step > scale * 1e-8 and moves < 2000:
        give = np.minimum(step, x - lb)
        take = np.minimum(step, ub - x)
        # One call per curve: response one step up and one step down.
        probes = np.array(
            [np.asarray(c.response(np.array([v + d_up, v - d_down])), dtype=float)
             for c, v, d_up, d_down in zip(curves, x, take, give)]
        )
        gain = np.where(take > 0, probes[:, 0] - values, -np.inf)
        loss = np.where(give > 0, values - probes[:, 1], np.inf)
        with np.errstate(invalid="ignore", divide="ignore"):
            gain_rate = np.where(take > 0, gain / np.where(take > 0, take, 1), -np.inf)
            loss_rate = np.where(give > 0, loss / np.where(give > 0, give, 1), np.inf)
        order_gain = np.argsort(-gain_rate)
        order_loss = np.argsort(loss_rate)
        j = int(order_gain[0])
        i = int(order_loss[0]) if order_loss[0] != j else int(order_loss[1])
        if not (np.isfinite(gain_rate[j]) and np.isfinite(loss_rate[i])) or gain_rate[j] <= loss_rate[i]:
            step /= 2.0
            continue
        amount = min(take[j], give[i])
        new_j = float(curves[j].response(x[j] + amount))
        new_i = float(curves[i].response(x[i] - amount))
        if (new_j - values[j]) + (new_i - values[i]) <= 1e-12 * max(1.0, abs(values.sum())):
            step /= 2.0
            continue
        x[j] += amount
        x[i] -= amount
        values[j], values[i] = new_j, new_i
        moves += 1
    return x


def _solve(
    curves: list[ResponseCurve], budget: float, lb: np.ndarray, ub: np.ndarray, steps: int
) -> tuple[np.ndarray, str]:
    free = ub - lb > 0
    x = lb.copy()
    if not free.any():
        return x, "fixed"
    free_curves = [c for c, f in zip(curves, free) if f]
    lb_f, ub_f = lb[free], ub[free]
    budget_f = budget - lb[~free].sum()
    if all(_is_concave(c) for c in free_curves):
        filled, _ = _water_fill(free_curves, budget_f, lb_f, ub_f)
        x[free] = _spend_remainder(free_curves, filled, ub_f, budget_f)
        return x, "kkt_water_filling"

    greedy, step = _lookahead_greedy(free_curves, budget_f, lb_f, ub_f, steps)
    candidates = [greedy]
    concave_start = np.array([_concave_from(c) for c in free_curves])
    s_curve = np.array([not _is_concave(c) for c in free_curves])
    switched_on = greedy > lb_f + step / 2
    on_sets = [switched_on, np.ones_like(switched_on)]
    for i in np.flatnonzero(s_curve):
        # The greedy grid can stop one S-curve short (or long): two identical S-curves at zero,
        # where the best plan lifts exactly one over its inflexion (found by the property test).
        flipped = switched_on.copy()
        flipped[i] = not flipped[i]
        on_sets.append(flipped)
    for on in on_sets:
        # KKT on the falling-marginal branch of the S-curves that are on; the others stay at minimum.
        low = np.where(s_curve & on, np.maximum(lb_f, np.minimum(concave_start, ub_f)), lb_f)
        high = np.where(s_curve & ~on, lb_f, ub_f)
        if low.sum() <= budget_f <= high.sum():
            branch, _ = _water_fill(free_curves, budget_f, low, high)
            # Exact KKT already, unless an S-curve is held at its inflexion by the branch floor.
            held = s_curve & on & (branch <= low + 1e-9 * max(1.0, budget_f)) & (low > lb_f)
            candidates.append(_pairwise_polish(free_curves, branch, lb_f, ub_f, step) if held.any() else branch)
    # Corners: the whole free budget in one channel. With a small budget, a steep S-curve can
    # beat any split, and the grid's first steps may not see it (found by the property test).
    for i in range(len(free_curves)):
        corner = lb_f.copy()
        corner[i] = min(ub_f[i], lb_f[i] + (budget_f - lb_f.sum()))
        candidates.append(_spend_remainder(free_curves, corner, ub_f, budget_f))
    best = max(candidates, key=lambda v: _responses(free_curves, v).sum())
    if not any(best is c for c in candidates[1:len(candidates) - len(free_curves)]):
        # The grid or a corner won: refine it locally (e.g. an S-curve that must sit
        # below its inflexion because others are capped).
        best = _pairwise_polish(free_curves, best, lb_f, ub_f, step)
    x[free] = _spend_remainder(free_curves, best, ub_f, budget_f)
    return x, "lookahead_greedy"


def _spend_remainder(curves: list[ResponseCurve], x: np.ndarray, ub: np.ndarray, budget: float) -> np.ndarray:
    """Place budget the search left unspent (saturated curves have ~zero marginal) where there is room."""
    x = x.copy()
    remainder = budget - x.sum()
    if remainder <= 1e-9 * max(1.0, budget):
        return x
    for i in np.argsort(-_marginals(curves, x)):
        room = ub[i] - x[i]
        if room > 0:
            add = min(room, remainder)
            x[i] += add
            remainder -= add
        if remainder <= 0:
            break
    return x


def _common_marginal(marginal: np.ndarray, spend: np.ndarray, lb: np.ndarray, ub: np.ndarray, budget: float) -> float:
    tol = 1e-6 * max(1.0, budget)
    interior = (spend > lb + tol) & (spend < ub - tol)
    if interior.any():
        return float(np.median(marginal[interior]))
    can_grow = spend < ub - tol
    return float(marginal[can_grow].max()) if can_grow.any() else math.nan


def _build(
    names: list[str],
    curves: list[ResponseCurve],
    x: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    locked: tuple[str, ...],
    budget: float,
    objective: str,
    method: str,
    lam: float | None = None,
) -> Allocation:
    response = _responses(curves, x)
    marginal = _marginals(curves, x)
    ratios = []
    for c, v in zip(curves, x):
        fn = getattr(c, "extrapolation_ratio", None)
        r = fn(v) if fn is not None else None
        ratios.append(float(r) if r is not None else math.nan)
    return Allocation(
        channels=tuple(names),
        spend=x,
        response=response,
        marginal=marginal,
        lower=lb,
        upper=ub,
        locked=locked,
        total_budget=float(budget),
        objective=objective,
        common_marginal_return=_common_marginal(marginal, x, lb, ub, budget) if lam is None else lam,
        method=method,
        extrapolation_ratio=np.array(ratios),
    )



def allocate(
    curves: Mapping[str, ResponseCurve],
    total_budget: float,
    lower: Mapping[str, Bound] | Bound = None,
    upper: Mapping[str, Bound] | Bound = None,
    locked: Mapping[str, float] | Iterable[str] | None = None,
    objective: str = "new_customers",
    *,
    historical_spend: Mapping[str, float] | None = None,
    grid_steps: int = DEFAULT_GRID_STEPS,
) -> Allocation:
    """The split of ``total_budget`` that maximises the summed response of ``curves``.

    ``curves`` maps channel → curve for the objective's metric (new customers or
    revenue). ``lower``/``upper``: absolute amounts or ``TimesHistorical(k)``,
    per channel (mapping) or one value for all. ``locked``: channels fixed at an
    amount (mapping) or at their historical spend (names). Raises
    ``InfeasibleBudget`` when Σ minimums > budget or Σ maximums < budget.
    """
    _check_objective(objective)
    names = list(curves)
    if not names:
        raise ValueError("no channel curves to allocate over")
    curve_list = [curves[n] for n in names]
    lb, ub, locked_names = resolve_bounds(names, lower, upper, locked, historical_spend)
    budget = float(total_budget)
    _check_feasible(budget, lb, ub)
    x, method = _solve(curve_list, budget, lb, ub, int(grid_steps))
    return _build(names, curve_list, x, lb, ub, locked_names, budget, objective, method)



def min_budget_for_target(
    curves: Mapping[str, ResponseCurve],
    target: float,
    lower: Mapping[str, Bound] | Bound = None,
    upper: Mapping[str, Bound] | Bound = None,
    locked: Mapping[str, float] | Iterable[str] | None = None,
    objective: str = "new_customers",
    *,
    historical_spend: Mapping[str, float] | None = None,
    relative_tolerance: float = 1e-6,
    solved: Any = None,  # the old search kept nothing between calls
) -> Allocation:
    """The smallest budget whose optimal split reaches ``target`` (b.5: ``B* = min{B : Y_opt(B) ≥ Y*}``).

    Y_opt(B) rises with B, so B* is found by a bracketed root search (Brent) on
    ``Y_opt(B) − target``. Raises ``TargetUnreachable`` when even the maximums
    (or, without maximums, the curves' saturation) cannot reach the target.
    """
    _check_objective(objective)
    names = list(curves)
    curve_list = [curves[n] for n in names]
    lb, ub, locked_names = resolve_bounds(names, lower, upper, locked, historical_spend)
    target = float(target)

    def best_at(budget: float) -> tuple[np.ndarray, str, float]:
        x, method = _solve(curve_list, budget, lb, ub, DEFAULT_GRID_STEPS)
        return x, method, float(_responses(curve_list, x).sum())

    low = float(lb.sum())
    x_low, method_low, y_low = best_at(low)
    if y_low >= target:
        return _build(names, curve_list, x_low, lb, ub, locked_names, low, objective, method_low)
    if math.isfinite(ub.sum()):
        high = float(ub.sum())
        _, _, y_high = best_at(high)
        if y_high < target:
            raise TargetUnreachable(target, y_high, high)
    else:
        high = max(low * 2.0, 1.0)
        y_high = best_at(high)[2]
        doublings = 0
        while y_high < target:
            doublings += 1
            if doublings > 80:
                raise TargetUnreachable(target, y_high, math.inf)
            high *= 2.0
            y_high = best_at(high)[2]
    root = brentq(
        lambda b: best_at(b)[2] - target, low, high, xtol=max(relative_tolerance * high, 1e-9), rtol=1e-12
    )
    x, method, y = best_at(root)
    if y < target:  # land on the reaching side of the tolerance
        root = min(high, root * (1.0 + relative_tolerance))
        x, method, y = best_at(root)
    return _build(names, curve_list, x, lb, ub, locked_names, root, objective, method)

