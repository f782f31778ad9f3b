"""Budget allocation on response curves: the split that buys the most, and the least budget for a target.

Why it exists: the optimiser page, the target scenarios and the CLI all ask the same
questions — "given ¥B, how should it be split across channels?", "what is the
smallest budget that wins N new customers?", "where should the next ¥1,000 go?" —
and the answers must be right on S-shaped curves, respect per-channel minimums,
maximums and locks, and come back in milliseconds so a slider can re-run them.

Methods (``shared/guides/budget.md`` b.4–b.5):

* **Concave curves** (Michaelis–Menten, tanh, Hill α ≤ 1): KKT water-filling. At
  the optimum every channel strictly inside its bounds has the same marginal return
  λ, so ``x_i(λ) = clip(marginal_i⁻¹(λ), lb_i, ub_i)`` and λ is found so that
  ``Σ x_i(λ) = B`` (vectorised log-λ grid refinement, then exact interpolation).
* **Any S-curve** (Hill α > 1): Meridian's look-ahead greedy. From the minimums,
  each step compares, for every channel, the return per unit from its current
  spend to *every* reachable grid point and jumps to the best — one-step greedy
  never crosses an S-curve's flat start. The result is then polished: KKT
  water-filling restricted to the concave branch of the channels the greedy
  switched on, then pairwise budget transfers with shrinking steps.

Units: ``x`` is whatever the curves take (weekly spend for ``CurveFit``; a quarter's
total for ``CurveFit.over_periods(13)``); budgets, bounds and historical spend must
use the same units.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from lib.channels.curves import CurveFit, CurveSet
from lib.formatting import money
from lib.i18n import t

OBJECTIVES: tuple[str, ...] = ("new_customers", "revenue", "orders")
# Budget → (split, method, total response): the solves a minimum-budget search keeps (see min_budget_for_target).
SolvedBudgets = MutableMapping[float, tuple[np.ndarray, str, float]]
DEFAULT_GRID_STEPS = 256
_REL_TOL = 1e-9


@runtime_checkable
class ResponseCurve(Protocol):
    """What the optimiser needs from a curve (``lib.channels.curves.CurveFit`` provides it all).

    Optional extras used when present: ``marginal_inverse(m)`` (exact KKT),
    ``is_concave`` (default True), ``concave_from`` (S-curve inflexion, default 0),
    ``extrapolation_ratio(x)`` (for the explainability table).
    """

    def response(self, x: Any) -> np.ndarray: ...

    def marginal(self, x: Any) -> np.ndarray: ...


@dataclass(frozen=True)
class TimesHistorical:
    """A bound given as a multiple of the channel's historical spend (Robyn's ``low · x̄``)."""

    factor: float


Bound = float | int | TimesHistorical | None


class InfeasibleBudget(ValueError):
    """The bounds cannot hold the budget: Σ minimums > B, Σ maximums < B, or a minimum above a maximum."""

    def __init__(
        self,
        kind: Literal["below_minimums", "above_maximums", "min_above_max", "negative_budget"],
        total_budget: float,
        lower_sum: float = 0.0,
        upper_sum: float = math.inf,
        channel: str | None = None,
    ) -> None:
        self.kind = kind
        self.total_budget = float(total_budget)
        self.lower_sum = float(lower_sum)
        self.upper_sum = float(upper_sum)
        self.channel = channel
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        """The explanation in the user's language, with the amounts."""
        return t(
            f"optimizer.error.{self.kind}",
            lang,
            budget=money(self.total_budget, lang),
            lower=money(self.lower_sum, lang),
            upper=money(self.upper_sum, lang) if math.isfinite(self.upper_sum) else "∞",
            channel=self.channel or "",
        )


class TargetUnreachable(ValueError):
    """No budget within the bounds reaches the target response."""

    def __init__(self, target: float, best_response: float, budget: float) -> None:
        self.target = float(target)
        self.best_response = float(best_response)
        self.budget = float(budget)
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        return t(
            "optimizer.error.target_unreachable",
            lang,
            target=f"{self.target:,.0f}",
            best=f"{self.best_response:,.0f}",
            budget=money(self.budget, lang) if math.isfinite(self.budget) else "∞",
        )


@dataclass(frozen=True)
class Allocation:
    """A split of the budget with each channel's response and marginal return.

    ``common_marginal_return`` is λ: the return of the next unit of budget at the
    optimum, equal for every channel strictly inside its bounds (mROAS for
    revenue; 1/λ is the marginal CAC for new customers).
    """

    channels: tuple[str, ...]
    spend: np.ndarray
    response: np.ndarray
    marginal: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    locked: tuple[str, ...]
    total_budget: float
    objective: str
    common_marginal_return: float
    method: str
    extrapolation_ratio: np.ndarray | None = None

    @property
    def total_response(self) -> float:
        return float(self.response.sum())

    @property
    def total_spend(self) -> float:
        return float(self.spend.sum())

    @property
    def marginal_cost(self) -> float:
        """1/λ: the cost of the next unit of response (marginal CAC for new customers)."""
        lam = self.common_marginal_return
        return 1.0 / lam if lam and math.isfinite(lam) and lam > 0 else math.inf

    def spend_by_channel(self) -> dict[str, float]:
        return {c: float(s) for c, s in zip(self.channels, self.spend)}

    def status(self) -> list[str]:
        """Per channel: "locked", "at_minimum", "at_maximum" or "free"."""
        out = []
        for i, name in enumerate(self.channels):
            tol = _REL_TOL * max(1.0, self.total_budget) * 1e3
            if name in self.locked:
                out.append("locked")
            elif self.upper[i] - self.lower[i] <= tol or self.spend[i] <= self.lower[i] + tol:
                out.append("at_minimum")
            elif self.spend[i] >= self.upper[i] - tol:
                out.append("at_maximum")
            else:
                out.append("free")
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per channel; stable column names, labelled in pages with ``optimizer.col.<name>``."""
        spend = self.spend
        response = self.response
        with np.errstate(divide="ignore", invalid="ignore"):
            frame = pd.DataFrame(
                {
                    "channel": list(self.channels),
                    "spend": spend,
                    "spend_share": spend / spend.sum() if spend.sum() > 0 else np.zeros_like(spend),
                    "response": response,
                    "response_share": response / response.sum() if response.sum() > 0 else np.zeros_like(response),
                    "average_return": np.where(spend > 0, response / spend, np.nan),
                    "average_cost": np.where(response > 0, spend / response, np.nan),
                    "marginal_return": self.marginal,
                    "marginal_cost": np.where(self.marginal > 0, 1.0 / self.marginal, np.inf),
                    "lower": self.lower,
                    "upper": self.upper,
                    "status": self.status(),
                }
            )
        if self.extrapolation_ratio is not None:
            frame["extrapolation_ratio"] = self.extrapolation_ratio
        return frame


# ---------------------------------------------------------------------------
# Bounds
# ---------------------------------------------------------------------------


def _per_channel(value: Mapping[str, Bound] | Bound, channels: list[str]) -> list[Bound]:
    if isinstance(value, Mapping):
        unknown = set(value) - set(channels)
        if unknown:
            raise ValueError(f"bounds given for channels without a curve: {', '.join(sorted(map(str, unknown)))}")
        return [value.get(c) for c in channels]
    return [value for _ in channels]


def _resolve(bound: Bound, channel: str, historical: Mapping[str, float] | None, default: float) -> float:
    if bound is None:
        return default
    if isinstance(bound, TimesHistorical):
        if historical is None or channel not in historical:
            raise ValueError(f"a bound relative to history needs the historical spend of {channel!r}")
        return float(bound.factor) * float(historical[channel])
    return float(bound)


def resolve_bounds(
    channels: Iterable[str],
    lower: Mapping[str, Bound] | Bound = None,
    upper: Mapping[str, Bound] | Bound = None,
    locked: Mapping[str, float] | Iterable[str] | None = None,
    historical_spend: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Absolute per-channel minimums and maximums, with locked channels fixed.

    Bounds are absolute amounts or ``TimesHistorical(k)`` (k × historical spend); a
    single value applies to every channel. ``locked`` maps channels to a fixed
    amount, or lists channels to keep at their historical spend.
    """
    names = list(channels)
    lows = _per_channel(lower, names)
    ups = _per_channel(upper, names)
    lb = np.array([max(0.0, _resolve(b, c, historical_spend, 0.0)) for b, c in zip(lows, names)], dtype=float)
    ub = np.array([_resolve(b, c, historical_spend, math.inf) for b, c in zip(ups, names)], dtype=float)
    locked_names: list[str] = []
    if locked:
        fixed = (
            dict(locked)
            if isinstance(locked, Mapping)
            else {c: _resolve(TimesHistorical(1.0), c, historical_spend, 0.0) for c in locked}
        )
        for name, amount in fixed.items():
            if name not in names:
                raise ValueError(f"locked channel {name!r} has no curve")
            i = names.index(name)
            lb[i] = ub[i] = max(0.0, float(amount))
            locked_names.append(name)
    for i, name in enumerate(names):
        if lb[i] > ub[i] * (1 + 1e-12):
            raise InfeasibleBudget("min_above_max", 0.0, lb[i], ub[i], channel=name)
    return lb, ub, tuple(locked_names)


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


class _Curves:
    """The curves of one solve, evaluated together (``curves.CurveSet``) or, for other curve types, one by one."""

    def __init__(self, curves: Sequence[ResponseCurve]) -> None:
        self.curves = list(curves)
        fitted = bool(self.curves) and all(isinstance(c, CurveFit) for c in self.curves)
        self.together = CurveSet([c for c in self.curves if isinstance(c, CurveFit)]) if fitted else None

    def __len__(self) -> int:
        return len(self.curves)

    def subset(self, keep: np.ndarray) -> _Curves:
        return _Curves([c for c, k in zip(self.curves, keep) if k])

    def _each(self, method: str, x: np.ndarray) -> np.ndarray:
        if x.ndim == 1:
            return np.array([float(getattr(c, method)(v)) for c, v in zip(self.curves, x)])
        return np.vstack([np.asarray(getattr(c, method)(row), dtype=float) for c, row in zip(self.curves, x)])

    def response(self, x: np.ndarray) -> np.ndarray:
        """Each curve's response at its value (``(n,)``) or row of values (``(n, k)``)."""
        x = np.asarray(x, dtype=float)
        return self.together.response(x) if self.together is not None else self._each("response", x)

    def marginal(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return self.together.marginal(x) if self.together is not None else self._each("marginal", x)

    def marginal_inverse(self, m: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Spend where each curve's marginal return equals each of ``m`` (channels × values)."""
        grid = np.broadcast_to(np.asarray(m, dtype=float), (len(self.curves), np.size(m)))
        if self.together is not None:
            return self.together.marginal_inverse(grid)
        return np.vstack([_marginal_inverse(c, row, float(a), float(b))
                          for c, row, a, b in zip(self.curves, grid, lo, hi)])


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
    return np.asarray(0.5 * (left + right), dtype=float)


def response_ceiling(curves: Sequence[ResponseCurve], budget: float, lb: np.ndarray, ub: np.ndarray) -> float:
    """An upper bound of the best response ``budget`` can buy: every channel alone given all the room.

    No split can beat it (curves rise with spend), so a search that only needs to know
    "does this budget reach the target?" can skip the solve whenever the bound says no.
    """
    room = max(0.0, float(budget) - float(lb.sum()))
    return float(_Curves(curves).response(np.minimum(ub, lb + room)).sum())


# ---------------------------------------------------------------------------
# Solvers
# ---------------------------------------------------------------------------


def _water_fill(curves: _Curves, budget: float, lb: np.ndarray, ub: np.ndarray) -> tuple[np.ndarray, float]:
    """KKT water-filling for concave curves: equal marginal λ for channels inside their bounds.

    λ is bracketed on a log grid refined four times; every refinement inverts all
    channels' marginals at all grid values in one call (channels × λ).
    """
    if budget <= lb.sum() + _REL_TOL * max(1.0, budget):
        return lb.copy(), math.nan
    if budget >= ub.sum() - _REL_TOL * max(1.0, budget):
        return ub.copy(), math.nan
    room = budget - lb.sum()
    hi_limit = np.minimum(ub, lb + room)

    def spend_at(lams: np.ndarray) -> np.ndarray:  # channels × λ values
        return np.asarray(np.clip(curves.marginal_inverse(lams, lb, hi_limit), lb[:, None], hi_limit[:, None]))

    log_lo, log_hi = _lambda_bracket(curves, spend_at, budget, lb, hi_limit, room)
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


def _lambda_bracket(
    curves: _Curves, spend_at: Callable[[np.ndarray], np.ndarray], budget: float, lb: np.ndarray,
    hi_limit: np.ndarray, room: float,
) -> tuple[float, float]:
    """log λ at both ends: the highest marginal at the minimums, and a λ low enough to spend the budget."""
    eps = np.maximum(room * 1e-12, 1e-12)
    lam_hi = float(np.max(curves.marginal(lb + eps))) * 1.0001
    lam_lo = float(np.min(curves.marginal(hi_limit))) * 0.9999
    if not math.isfinite(lam_hi) or lam_hi <= 0:
        lam_hi = 1e12
    lam_lo = max(lam_lo, lam_hi * 1e-18, 1e-300)
    for _ in range(40):  # make sure the low end spends at least the budget
        if spend_at(np.array([lam_lo])).sum() >= budget:
            break
        lam_lo /= 1e3
    return math.log(lam_lo), math.log(lam_hi)


def _lookahead_greedy(
    curves: _Curves, budget: float, lb: np.ndarray, ub: np.ndarray, steps: int
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
    values = curves.response(lb[:, None] + (np.arange(steps + 1) * step)[None, :])
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
    # Channels' maximums fell between grid points: top up by marginal return.
    return _spend_remainder(curves, x, ub, budget, strict=True), step


def _pairwise_polish(curves: _Curves, x: np.ndarray, lb: np.ndarray, ub: np.ndarray, step: float) -> np.ndarray:
    """Move budget from the channel that loses least to the one that gains most, halving the step."""
    x = x.copy()
    n = len(curves)
    if n < 2 or step <= 0:
        return x
    scale = max(1.0, float(np.sum(x)))
    values = curves.response(x)
    moves = 0
    while step > scale * 1e-8 and moves < 2000:
        give = np.minimum(step, x - lb)
        take = np.minimum(step, ub - x)
        probes = curves.response(np.stack([x + take, x - give], axis=1))  # one step up and one step down
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
        new_j = float(curves.curves[j].response(x[j] + amount))
        new_i = float(curves.curves[i].response(x[i] - amount))
        if (new_j - values[j]) + (new_i - values[i]) <= 1e-12 * max(1.0, abs(values.sum())):
            step /= 2.0
            continue
        x[j] += amount
        x[i] -= amount
        values[j], values[i] = new_j, new_i
        moves += 1
    return x


def _solve(
    curves: _Curves, budget: float, lb: np.ndarray, ub: np.ndarray, steps: int
) -> tuple[np.ndarray, str]:
    free = ub - lb > 0
    x = lb.copy()
    if not free.any():
        return x, "fixed"
    free_curves = curves.subset(free)
    lb_f, ub_f = lb[free], ub[free]
    budget_f = budget - lb[~free].sum()
    if all(_is_concave(c) for c in free_curves.curves):
        filled, _ = _water_fill(free_curves, budget_f, lb_f, ub_f)
        x[free] = _spend_remainder(free_curves, filled, ub_f, budget_f)
        return x, "kkt_water_filling"
    x[free] = _solve_s_curves(free_curves, budget_f, lb_f, ub_f, steps)
    return x, "lookahead_greedy"


def _solve_s_curves(curves: _Curves, budget: float, lb: np.ndarray, ub: np.ndarray, steps: int) -> np.ndarray:
    """The look-ahead greedy, KKT on the S-curves' concave branches, and the corners: the best of them, polished."""
    greedy, step = _lookahead_greedy(curves, budget, lb, ub, steps)
    branches = _branch_candidates(curves, budget, lb, ub, greedy, step)
    corners = []
    # Corners: the whole free budget in one channel. With a small budget, a steep S-curve can
    # beat any split, and the grid's first steps may not see it (found by the property test).
    for i in range(len(curves)):
        corner = lb.copy()
        corner[i] = min(ub[i], lb[i] + (budget - lb.sum()))
        corners.append(_spend_remainder(curves, corner, ub, budget))
    candidates = [greedy, *branches, *corners]
    totals = curves.response(np.stack(candidates, axis=1)).sum(axis=0)
    winner = int(np.argmax(totals))
    best = candidates[winner]
    if not 1 <= winner <= len(branches):
        # The grid or a corner won: refine it locally (e.g. an S-curve that must sit
        # below its inflexion because others are capped).
        best = _pairwise_polish(curves, best, lb, ub, step)
    return _spend_remainder(curves, best, ub, budget)


def _branch_candidates(
    curves: _Curves, budget: float, lb: np.ndarray, ub: np.ndarray, greedy: np.ndarray, step: float
) -> list[np.ndarray]:
    """KKT on the falling-marginal branch of the S-curves that are on (the others at their minimum).

    "On" as the greedy left them, all of them, and each S-curve flipped: the greedy grid
    can stop one S-curve short (or long) — two identical S-curves at zero, where the best
    plan lifts exactly one over its inflexion (found by the property test).
    """
    concave_start = np.array([_concave_from(c) for c in curves.curves])
    s_curve = np.array([not _is_concave(c) for c in curves.curves])
    switched_on = greedy > lb + step / 2
    on_sets = [switched_on, np.ones_like(switched_on)]
    for i in np.flatnonzero(s_curve):
        flipped = switched_on.copy()
        flipped[i] = not flipped[i]
        on_sets.append(flipped)
    out = []
    seen: set[bytes] = set()
    for on in on_sets:
        if on.tobytes() in seen:  # the same branch twice (e.g. every S-curve was already on) is solved once
            continue
        seen.add(on.tobytes())
        low = np.where(s_curve & on, np.maximum(lb, np.minimum(concave_start, ub)), lb)
        high = np.where(s_curve & ~on, lb, ub)
        if low.sum() <= budget <= high.sum():
            branch, _ = _water_fill(curves, budget, low, high)
            # Exact KKT already, unless an S-curve is held at its inflexion by the branch floor.
            held = s_curve & on & (branch <= low + 1e-9 * max(1.0, budget)) & (low > lb)
            out.append(_pairwise_polish(curves, branch, lb, ub, step) if held.any() else branch)
    return out


def _spend_remainder(
    curves: _Curves, x: np.ndarray, ub: np.ndarray, budget: float, *, strict: bool = False
) -> np.ndarray:
    """Place budget the search left unspent where there is room, best marginal return first.

    Saturated curves have ~zero marginal, so a search can stop short of the budget;
    ``strict`` tops up any positive remainder (the greedy's grid), otherwise only
    more than a rounding error.
    """
    x = x.copy()
    remainder = budget - x.sum()
    if remainder <= 0 or (not strict and remainder <= 1e-9 * max(1.0, budget)):
        return x
    for i in np.argsort(-curves.marginal(x)):
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
    curves: _Curves,
    x: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    locked: tuple[str, ...],
    budget: float,
    objective: str,
    method: str,
    lam: float | None = None,
) -> Allocation:
    response = curves.response(x)
    marginal = curves.marginal(x)
    ratios = []
    for c, v in zip(curves.curves, x):
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


def _check_objective(objective: str) -> str:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}")
    return objective


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
    curve_list = _Curves([curves[n] for n in names])
    lb, ub, locked_names = resolve_bounds(names, lower, upper, locked, historical_spend)
    budget = float(total_budget)
    _check_feasible(budget, lb, ub)
    x, method = _solve(curve_list, budget, lb, ub, int(grid_steps))
    return _build(names, curve_list, x, lb, ub, locked_names, budget, objective, method)


def evaluate(
    curves: Mapping[str, ResponseCurve], spend: Mapping[str, float], objective: str = "new_customers"
) -> Allocation:
    """The response of a given split (e.g. the current one), for comparison with an optimised one."""
    _check_objective(objective)
    names = list(curves)
    x = np.array([float(spend.get(n, 0.0)) for n in names])
    curve_list = _Curves([curves[n] for n in names])
    zeros, infs = np.zeros(len(names)), np.full(len(names), math.inf)
    return _build(names, curve_list, x, zeros, infs, (), float(x.sum()), objective, "as_given", math.nan)


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
    solved: SolvedBudgets | None = None,
) -> Allocation:
    """The smallest budget whose optimal split reaches ``target`` (b.5: ``B* = min{B : Y_opt(B) ≥ Y*}``).

    Y_opt(B) rises with B, so B* is found by a bracketed root search (Brent) on
    ``Y_opt(B) − target``. Raises ``TargetUnreachable`` when even the maximums
    (or, without maximums, the curves' saturation) cannot reach the target.
    ``solved`` keeps the splits found per budget: a caller asking for several
    targets on the same curves and bounds passes the same mapping, and the budgets
    every search tries (the minimums, the doubling steps) are solved once.
    """
    _check_objective(objective)
    names = list(curves)
    curve_list = _Curves([curves[n] for n in names])
    lb, ub, locked_names = resolve_bounds(names, lower, upper, locked, historical_spend)
    target = float(target)
    if solved is None:
        solved = {}

    def best_at(budget: float) -> tuple[np.ndarray, str, float]:
        found = solved.get(budget)
        if found is None:  # brentq asks for its root twice; solve each budget once
            x, method = _solve(curve_list, budget, lb, ub, DEFAULT_GRID_STEPS)
            found = (x, method, float(curve_list.response(x).sum()))
            solved[budget] = found
        return found

    def reaches(budget: float) -> float:
        """The best response at ``budget``, or a bound below the target when the bound already says no."""
        bound = response_ceiling(curve_list.curves, budget, lb, ub)
        return bound if bound < target else best_at(budget)[2]

    low = float(lb.sum())
    x_low, method_low, y_low = best_at(low)
    if y_low >= target:
        return _build(names, curve_list, x_low, lb, ub, locked_names, low, objective, method_low)
    high = _bracket_target(best_at, reaches, target, low, float(ub.sum()))
    root = brentq(
        lambda b: best_at(b)[2] - target, low, high, xtol=max(relative_tolerance * high, 1e-9), rtol=1e-12
    )
    x, method, y = best_at(root)
    if y < target:  # land on the reaching side of the tolerance
        root = min(high, root * (1.0 + relative_tolerance))
        x, method, y = best_at(root)
    return _build(names, curve_list, x, lb, ub, locked_names, root, objective, method)


def _bracket_target(
    best_at: Callable[[float], tuple[np.ndarray, str, float]], reaches: Callable[[float], float],
    target: float, low: float, upper_sum: float,
) -> float:
    """A budget that reaches ``target``: the sum of the maximums, or doubling from ``low`` without them."""
    if math.isfinite(upper_sum):
        y_high = best_at(upper_sum)[2]
        if y_high < target:
            raise TargetUnreachable(target, y_high, upper_sum)
        return upper_sum
    high = max(low * 2.0, 1.0)
    doublings = 0
    while reaches(high) < target:
        doublings += 1
        if doublings > 80:
            raise TargetUnreachable(target, best_at(high)[2], math.inf)
        high *= 2.0
    return high


def next_increment(
    curves: Mapping[str, ResponseCurve], allocation: Allocation, step: float = 1000.0
) -> pd.DataFrame:
    """Where the next ``step`` of budget should go.

    One row per channel that can still grow, best first: the response ``step``
    more would buy there (``extra_response``), per unit and as a cost per unit of
    response; plus ``reoptimised_extra_spend``, the change of each channel when
    the whole budget + step is re-optimised (on S-curves the best use of the next
    step can be to move money, not only to add it).
    """
    step = float(step)
    rows = []
    locked = set(allocation.locked)
    for i, name in enumerate(allocation.channels):
        if name in locked:
            continue
        extra = min(step, float(allocation.upper[i] - allocation.spend[i]))
        if extra <= 0:
            continue
        curve = curves[name]
        gain = float(curve.response(allocation.spend[i] + extra)) - float(allocation.response[i])
        rows.append(
            {
                "channel": name,
                "extra_spend": extra,
                "extra_response": gain,
                "response_per_unit": gain / extra,
                "cost_per_response": extra / gain if gain > 0 else math.inf,
            }
        )
    frame = pd.DataFrame(
        rows, columns=["channel", "extra_spend", "extra_response", "response_per_unit", "cost_per_response"]
    )
    frame = frame.sort_values("extra_response", ascending=False, kind="stable").reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame["reoptimised_extra_spend"] = _reoptimised_change(curves, allocation, frame["channel"], step)
    return frame


def _reoptimised_change(
    curves: Mapping[str, ResponseCurve], allocation: Allocation, channels: pd.Series, step: float
) -> np.ndarray:
    """Each channel's change when the whole budget + ``step`` is re-optimised (NaN when the bounds cannot hold it)."""
    locked = set(allocation.locked)
    reoptimised = np.full(len(channels), np.nan)
    locked_amounts = {n: float(s) for n, s in zip(allocation.channels, allocation.spend) if n in locked}
    free_lower = {n: float(v) for n, v in zip(allocation.channels, allocation.lower) if n not in locked}
    free_upper = {n: float(v) for n, v in zip(allocation.channels, allocation.upper) if n not in locked}
    try:
        bigger = allocate(
            {n: curves[n] for n in allocation.channels},
            allocation.total_budget + step,
            free_lower,
            free_upper,
            locked_amounts or None,
            allocation.objective,
        )
        delta = dict(zip(bigger.channels, bigger.spend - allocation.spend))
        reoptimised = channels.map(delta).to_numpy(dtype=float)
    except InfeasibleBudget:
        pass
    return reoptimised


def compare(current: Allocation, optimised: Allocation) -> pd.DataFrame:
    """Current against optimised per channel: spend, response, cost per response, marginal cost, deltas."""
    a = current.to_frame().set_index("channel")
    b = optimised.to_frame().set_index("channel").reindex(a.index)
    frame = pd.DataFrame(
        {
            "current_spend": a["spend"],
            "optimised_spend": b["spend"],
            "spend_change": b["spend"] - a["spend"],
            "current_response": a["response"],
            "optimised_response": b["response"],
            "response_change": b["response"] - a["response"],
            "current_average_cost": a["average_cost"],
            "optimised_average_cost": b["average_cost"],
            "current_marginal_cost": a["marginal_cost"],
            "optimised_marginal_cost": b["marginal_cost"],
        }
    )
    return frame.reset_index()
