"""Plans on a fitted marketing-mix model: the outcome of a weekly spend plan, the best split, the budget for a target.

Why a module of its own: the Channels and Scenarios pages ask "what happens if we spend this?",
"how should this budget be split?" and "what budget reaches this target?" of a fitted model
(:class:`lib.channels.fitting.MmmFit`). Every answer is a set of bootstrap draws, so it comes
with its range; warnings are codes rendered by :mod:`lib.channels.texts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from lib.channels.curves import hill, hill_marginal
from lib.channels.design import CURRENT_WEEKS, Array, controls_array, week_index
from lib.channels.intervals import block_indices, pct
from lib.channels.results import MmmFit, draw_shapes

EXTRAPOLATION_FAR = 1.5  # planned weekly spend above 1.5× the highest observed week is a guess


@dataclass(frozen=True, eq=False)
class PlanForecast:
    """The outcome of a weekly spend plan over the next weeks, as bootstrap draws.

    ``draws`` are totals over the plan (baseline projected forward — trend, seasonality, festivals,
    controls held at their last-13-week mean unless given — plus media under the plan with
    carry-over from the last observed week, plus residual noise resampled in 8-week blocks).
    ``weekly_draws`` is the same per week; ``media_draws`` the media part alone (no noise);
    ``expected`` the mean over the draws without noise (``expected_weekly`` per week).
    """

    weeks: pd.DatetimeIndex
    spend: pd.DataFrame
    draws: Array
    weekly_draws: Array
    media_draws: Array
    baseline_draws: Array
    expected: float
    expected_weekly: Array
    warnings: tuple[tuple[str, dict[str, Any]], ...] = ()

    @property
    def p10(self) -> float:
        return float(pct(self.draws, 10))

    @property
    def p50(self) -> float:
        return float(pct(self.draws, 50))

    @property
    def p90(self) -> float:
        return float(pct(self.draws, 90))

    @property
    def total_spend(self) -> float:
        return float(self.spend.to_numpy().sum())

    def probability_of_reaching(self, target: float) -> float:
        """Share of draws whose total outcome over the plan is at least ``target``."""
        return float(np.mean(self.draws >= float(target)))

    @property
    def weekly(self) -> pd.DataFrame:
        """The weekly forward plan: week, spend per channel, expected outcome and its P10/P50/P90."""
        frame = pd.DataFrame({"week": self.weeks})
        for name in self.spend.columns:
            frame[name] = self.spend[name].to_numpy()
        frame["expected"] = self.expected_weekly
        frame["p10"] = pct(self.weekly_draws, 10)
        frame["p50"] = pct(self.weekly_draws, 50)
        frame["p90"] = pct(self.weekly_draws, 90)
        return frame


@dataclass(frozen=True, eq=False)
class _PlanContext:
    weeks: pd.DatetimeIndex
    base_draws: Array  # (B, H)
    noise: Array  # (B, H)


def _future_weeks(fit: MmmFit, weeks: int) -> pd.DatetimeIndex:
    last = fit.data.weeks[-1]
    return week_index([last + pd.Timedelta(weeks=i) for i in range(1, int(weeks) + 1)])


def _plan_context(fit: MmmFit, weeks: int, controls: pd.DataFrame | None = None) -> _PlanContext:
    """Baseline draws and noise for the next ``weeks`` weeks; cached (they do not depend on spend)."""
    key = ("plan", int(weeks), None if controls is None else pd.util.hash_pandas_object(controls).sum())
    cached: _PlanContext | None = fit.state.cache.get(key)
    if cached is not None:
        return cached
    future = _future_weeks(fit, weeks)
    base = fit.state.base
    ctrl = None
    if base.control_names:
        if controls is not None:
            ctrl = pd.DataFrame(controls).reset_index(drop=True)[list(base.control_names)].to_numpy(dtype=float)
            if len(ctrl) != weeks:
                raise ValueError(f"future controls need {weeks} rows")
        else:
            recent = controls_array(fit.data, base)
            assert recent is not None
            ctrl = np.tile(recent[-CURRENT_WEEKS:].mean(axis=0), (weeks, 1))
    bmat = base.matrix(future, ctrl)
    rng = np.random.default_rng(fit.seed + 7919)
    noise = fit.state.residuals[block_indices(rng, len(fit.state.residuals), weeks, fit.n_boot)]
    ctx = _PlanContext(future, fit.state.draw_gamma @ bmat.T, noise)
    fit.state.cache[key] = ctx
    return ctx


def _media_path(shapes: tuple[Array, Array, Array, Array, Array], plan: Array,
                pattern: Array | None = None) -> tuple[Array, Array]:
    """Weekly media contribution (D, H) of one channel's weekly spend ``plan`` (H,) for D shape draws.

    The adstock carries on from the last observed week. With ``pattern`` (H,), also the derivative
    (D,) of the plan's total contribution with respect to v when the plan is ``v · pattern`` (zeros without).
    """
    beta, theta, alpha, k, a = shapes
    a = a.copy()
    out = np.empty((beta.size, plan.size))
    grad = np.zeros(beta.size)
    da = np.zeros(beta.size)
    for t, x in enumerate(plan):
        a = x + theta * a
        out[:, t] = beta * hill(a, 1.0, alpha, k)
        if pattern is not None:
            da = pattern[t] + theta * da
            grad += beta * hill_marginal(np.maximum(a, 1e-4 * k), 1.0, alpha, k) * da
    return out, grad


def _spend_frame(fit: MmmFit, weekly_spend: Mapping[str, float] | pd.DataFrame, weeks: int) -> pd.DataFrame:
    if isinstance(weekly_spend, pd.DataFrame):
        frame = weekly_spend.reset_index(drop=True)
        unknown = set(map(str, frame.columns)) - set(fit.channels)
        if unknown:
            raise ValueError(f"unknown channels in the plan: {sorted(unknown)}")
        if len(frame) != weeks:
            raise ValueError(f"the plan has {len(frame)} weeks, expected {weeks}")
        frame = frame.rename(columns=str).reindex(columns=list(fit.channels), fill_value=0.0).astype(float)
    else:
        unknown = set(map(str, weekly_spend)) - set(fit.channels)
        if unknown:
            raise ValueError(f"unknown channels in the plan: {sorted(unknown)}")
        frame = pd.DataFrame({c: np.full(weeks, float(weekly_spend.get(c, 0.0))) for c in fit.channels})
    if (frame.to_numpy() < 0).any() or not np.all(np.isfinite(frame.to_numpy())):
        raise ValueError("planned spend must be finite and non-negative")
    return frame


def predict_plan(
    fit: MmmFit,
    weekly_spend: Mapping[str, float] | pd.DataFrame,
    weeks: int = 13,
    *,
    controls: pd.DataFrame | None = None,
) -> PlanForecast:
    """Forecast the total outcome of a plan over the ``weeks`` weeks after the last observed week.

    ``weekly_spend``: a constant weekly spend per channel (missing channels spend 0), or a frame
    with one row per plan week and one column per channel. ``controls``: future control values
    (one row per week); by default their mean over the last 13 weeks. Draw b uses bootstrap
    replicate b's baseline, curves and a block of its residuals, so every plan sees the same
    noise (plans compare like with like, and P(outcome ≥ target) rises with spend).
    """
    frame = _spend_frame(fit, weekly_spend, weeks)
    ctx = _plan_context(fit, weeks, controls)
    media = np.zeros((fit.n_boot, weeks))
    warnings: list[tuple[str, dict[str, Any]]] = []
    for c, name in enumerate(fit.channels):
        plan = frame[name].to_numpy()
        if not plan.any() and not fit.state.cands[c].last_adstock.any():
            continue
        media += _media_path(draw_shapes(fit, c), plan)[0]
        max_obs = float(fit.data.spend[name].max())
        peak = float(plan.max())
        if peak > 0 and max_obs <= 0:
            warnings.append(("mmm.unseen_channel", {"channel": name}))
        elif peak > EXTRAPOLATION_FAR * max_obs:
            warnings.append(("mmm.extrapolation", {"channel": name, "ratio": round(peak / max_obs, 2)}))
    weekly_draws = ctx.base_draws + media + ctx.noise
    return PlanForecast(
        weeks=ctx.weeks, spend=frame, draws=weekly_draws.sum(axis=1), weekly_draws=weekly_draws,
        media_draws=media.sum(axis=1), baseline_draws=ctx.base_draws.sum(axis=1),
        expected=float((ctx.base_draws + media).sum(axis=1).mean()),
        expected_weekly=(ctx.base_draws + media).mean(axis=0),
        warnings=tuple(warnings),
    )


def current_mix(fit: MmmFit) -> dict[str, float]:
    """Each channel's share of spend over the last 13 weeks (all weeks if those were empty)."""
    recent = fit.data.spend.iloc[-CURRENT_WEEKS:].sum()
    if recent.sum() <= 0:
        recent = fit.data.spend.sum()
    total = float(recent.sum()) or 1.0
    return {c: float(recent[c]) / total for c in fit.channels}


def _units(fit: MmmFit) -> list[tuple[list[int], Array]]:
    """Decision units for allocation: single channels, and collinear groups split by their spend mix."""
    grouped = {fit.channels.index(ch) for g in fit.groups for ch in g.channels}
    units = [([c], np.ones(1)) for c in range(len(fit.channels)) if c not in grouped]
    for g in fit.groups:
        idx = [fit.channels.index(ch) for ch in g.channels]
        sp = fit.data.spend.iloc[:, idx].sum().to_numpy()
        units.append((idx, sp / sp.sum() if sp.sum() > 0 else np.full(len(idx), 1.0 / len(idx))))
    return units


@dataclass(frozen=True, eq=False)
class OptimisedPlan:
    """The split of a budget that maximises the expected outcome, and its forecast.

    ``spend`` is the total per channel over the plan, ``weekly_spend`` the same per week
    (constant weeks); ``forecast.p10/p50/p90`` give the outcome's range; ``marginal_roi`` the
    expected extra outcome per extra unit of spend at the optimum (equal across channels that
    are not at a bound, the KKT condition). Channels in a collinear group keep their historical
    mix with each other: the data cannot say which of them to favour.
    """

    total_budget: float
    spend: Mapping[str, float]
    weekly_spend: Mapping[str, float]
    forecast: PlanForecast
    marginal_roi: Mapping[str, float]
    warnings: tuple[tuple[str, dict[str, Any]], ...] = ()


Shapes = tuple[Array, Array, Array, Array, Array]


class _PlanValue:
    """The expected media outcome of a plan over its weeks, and its gradient, per decision unit's total spend."""

    def __init__(self, fit: MmmFit, units: list[tuple[list[int], Array]], weeks: int) -> None:
        self.shapes: list[Shapes] = [draw_shapes(fit, c) for c in range(len(fit.channels))]
        self.units, self.weeks, self.ones = units, weeks, np.ones(weeks)

    def __call__(self, u_total: Array) -> tuple[float, Array]:
        val, grad = 0.0, np.zeros(len(self.units))
        for i, (idx, w) in enumerate(self.units):
            for c, share in zip(idx, w):
                path, g = _media_path(self.shapes[c], np.full(self.weeks, u_total[i] * share / self.weeks), self.ones)
                val += float(path.sum(axis=1).mean())
                grad[i] += float(g.mean()) * share / self.weeks
        return val, grad

    def marginal(self, c: int, weekly: float) -> float:
        """Extra expected outcome per extra unit of channel c's total spend, at a constant weekly spend."""
        g = _media_path(self.shapes[c], np.full(self.weeks, weekly), self.ones)[1]
        return float(g.mean()) / self.weeks


def _unit_bounds(fit: MmmFit, units: list[tuple[list[int], Array]], total_budget: float, weeks: int,
                 bounds: Mapping[str, tuple[float, float]] | None) -> tuple[Array, Array, list[tuple[str, dict[str, Any]]]]:
    """Each unit's (low, high) total spend; the highs relaxed proportionally (with a warning) if the budget does not fit."""
    lo = np.zeros(len(fit.channels))
    hi = np.array([2.0 * float(fit.data.spend[c].max()) * weeks for c in fit.channels])
    for name, (low, high) in (bounds or {}).items():
        c = fit.channels.index(name)
        lo[c], hi[c] = float(low), float(high)
    warnings: list[tuple[str, dict[str, Any]]] = []
    u_lo = np.array([max(lo[idx] / w) if np.all(w > 0) else 0.0 for idx, w in units])
    u_hi = np.array([min(hi[idx] / w) if np.all(w > 0) else 0.0 for idx, w in units])
    if u_lo.sum() > total_budget + 1e-6 * max(total_budget, 1.0):
        raise ValueError("the lower bounds add up to more than the budget")
    if u_hi.sum() < total_budget:
        factor = total_budget / max(u_hi.sum(), 1e-300)
        if u_hi.sum() <= 0:
            u_hi = np.full(len(units), total_budget)
        else:
            u_hi = u_hi * factor * (1 + 1e-9)
        warnings.append(("mmm.bounds_relaxed", {"factor": round(float(factor), 2)}))
    return u_lo, u_hi, warnings


def _starts(fit: MmmFit, units: list[tuple[list[int], Array]], total_budget: float, u_lo: Array,
            u_hi: Array) -> list[Array]:
    """Start points: the current mix and the historical mix, clipped into the bounds and rescaled to the budget."""
    historical = fit.data.spend.sum() / max(float(fit.data.spend.to_numpy().sum()), 1e-300)
    mixes = [current_mix(fit), {str(c): float(s) for c, s in historical.items()}]
    starts = []
    for mix in mixes:
        x0 = np.array([sum(mix[fit.channels[c]] for c in idx) for idx, _ in units]) * total_budget
        x0 = np.clip(x0, u_lo, u_hi)
        if x0.sum() > 0:
            x0 = np.clip(x0 * total_budget / x0.sum(), u_lo, u_hi)
        starts.append(x0)
    return starts


def _best_split(value: _PlanValue, starts: list[Array], total_budget: float, u_lo: Array, u_hi: Array) -> Array:
    """SLSQP on the shares of the budget from every start; the split with the highest expected outcome."""
    n_units = len(u_lo)
    budget = max(total_budget, 1e-300)
    scale = max(value(np.clip(np.full(n_units, total_budget / n_units), u_lo, u_hi))[0], 1e-300)

    def objective(share: Array) -> tuple[float, Array]:  # variables are shares of the budget
        val, grad = value(share * budget)
        return -val / scale, -grad * budget / scale

    best_x, best_val = None, -np.inf
    for x0 in starts:
        if total_budget > 0:
            res = minimize(
                objective, x0 / budget, jac=True, method="SLSQP", bounds=list(zip(u_lo / budget, u_hi / budget)),
                constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1.0, "jac": lambda v: np.ones_like(v)}],
                options={"maxiter": 300, "ftol": 1e-12},
            )
            x = np.clip(res.x * budget, u_lo, u_hi)
        else:
            x = np.zeros(n_units)
        val = value(x)[0]
        if val > best_val:
            best_x, best_val = x, val
    assert best_x is not None
    best: Array = best_x
    return best


def optimise_budget(
    fit: MmmFit,
    total_budget: float,
    weeks: int = 13,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> OptimisedPlan:
    """Split ``total_budget`` (over ``weeks`` weeks, spent evenly each week) to maximise the expected outcome.

    The objective is the mean over the bootstrap draws of the media outcome over the plan (carry-over
    from the last observed week included), maximised with SLSQP and its analytic gradient from two
    starts (the current mix and the historical mix). ``bounds`` are per channel totals over the
    plan ``(low, high)``; by default 0 to twice the channel's highest observed week × weeks (beyond
    that the curve is a guess), relaxed proportionally (with a warning) if the budget does not fit.
    """
    total_budget = float(total_budget)
    if total_budget < 0:
        raise ValueError("the budget must be non-negative")
    units = _units(fit)
    u_lo, u_hi, warnings = _unit_bounds(fit, units, total_budget, weeks, bounds)
    value = _PlanValue(fit, units, weeks)
    best_x = _best_split(value, _starts(fit, units, total_budget, u_lo, u_hi), total_budget, u_lo, u_hi)
    totals = np.zeros(len(fit.channels))
    for (idx, w), u in zip(units, best_x):
        totals[idx] = u * w
    weekly = {c: float(totals[i]) / weeks for i, c in enumerate(fit.channels)}
    forecast = predict_plan(fit, weekly, weeks)
    marg = {name: value.marginal(c, weekly[name]) for c, name in enumerate(fit.channels)}
    return OptimisedPlan(total_budget, {c: float(totals[i]) for i, c in enumerate(fit.channels)}, weekly,
                         forecast, marg, tuple(warnings) + forecast.warnings)


def _shares(fit: MmmFit, mix: Mapping[str, float] | str | None) -> dict[str, float]:
    """The plan's shares of the budget, summing to 1: the last 13 weeks' mix (None or "optimal") or the given one."""
    if isinstance(mix, str) and mix != "optimal":
        raise ValueError("mix must be None, a mapping of shares, or 'optimal'")
    if mix is None or isinstance(mix, str):
        shares = current_mix(fit)
    else:
        shares = {str(c): float(v) for c, v in dict(mix).items()}
    total_share = sum(shares.values())
    if total_share <= 0:
        raise ValueError("the mix has no positive share")
    return {c: v / total_share for c, v in shares.items()}


def budget_for_target(
    fit: MmmFit,
    target_total: float,
    confidence: float = 0.8,
    weeks: int = 13,
    mix: Mapping[str, float] | str | None = None,
    *,
    max_multiple: float = 20.0,
) -> float | None:
    """The smallest total budget over ``weeks`` weeks with P(total outcome ≥ target) ≥ ``confidence``.

    ``mix``: None splits every budget like the last 13 weeks' spend (``current_mix``), a mapping
    gives shares, ``"optimal"`` re-optimises the split at each budget (``optimise_budget``, slower).
    Bisection on the budget to 0.1 %; the probability is computed on the same draws for every
    budget, so it only rises with the budget for a fixed mix. Returns None when even
    ``max_multiple`` × the current quarterly budget does not reach the target (saturation).
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    optimal = isinstance(mix, str)
    shares = _shares(fit, mix)

    def probability(budget: float) -> float:
        if optimal:
            return optimise_budget(fit, budget, weeks).forecast.probability_of_reaching(target_total)
        plan = {c: budget * s / weeks for c, s in shares.items()}
        return predict_plan(fit, plan, weeks).probability_of_reaching(target_total)

    if probability(0.0) >= confidence:
        return 0.0
    recent = float(fit.data.spend.iloc[-CURRENT_WEEKS:].to_numpy().sum()) / min(CURRENT_WEEKS, len(fit.data.weeks))
    reference = max(recent * weeks, 1.0)
    lo, hi = 0.0, reference
    while probability(hi) < confidence:
        lo, hi = hi, hi * 2.0
        if hi > max_multiple * reference:
            return None
    while hi - lo > 1e-3 * hi:
        mid = 0.5 * (lo + hi)
        if probability(mid) >= confidence:
            hi = mid
        else:
            lo = mid
    return hi


