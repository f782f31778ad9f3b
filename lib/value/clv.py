"""Predicted customer value: who will buy again, when, and for how much (BG/NBD + Gamma-Gamma).

Why this exists: RFM segments describe the past; a plan also needs a forecast per customer —
the chance they are still a customer, how many purchases to expect over the next 90 or 365
days, what those purchases are worth, and when the next one is likely. This module is the
pure numeric core behind that view: numpy/scipy/pandas only (no Streamlit, no DuckDB), so
it can be tested on its own and called from any page, export or CLI. It reproduces the
``lifetimes`` package (0.11.3) on CDNOW and scores a million customers in seconds.

Inputs are exactly lifetimes' summary columns (``lib.segments.customer_summary`` computes
them): ``frequency`` x = repeat purchase *days* (purchase days − 1); ``recency`` t_x = days
from the first to the last purchase day (lifetimes' recency, *not* days since the last
order); ``T`` = days from the first purchase day to the as-of date; ``monetary_value`` m̄ =
mean spend of the repeat purchase days (0 when x = 0). All times are in days.

Models (Fader, Hardie & Lee 2005):

* BG/NBD — purchase rate λ ~ Gamma(r, α); after each *repeat* purchase a customer drops out
  with probability p ~ Beta(a, b). Per customer, with A4 only when x > 0::

      LL = lnΓ(r+x) − lnΓ(r) + r·ln α + lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
           + logaddexp(−(r+x)·ln(α+T), ln a − ln(b+x−1) − (r+x)·ln(α+t_x))

  It is fitted by L-BFGS-B on log-parameters (bounded to [−10, 10] in a time unit where the
  oldest customer's T = 1, as lifetimes scales time) with the analytic gradient, on the
  *distinct* (x, t_x, T) patterns weighted by their counts: a million customers have a
  few hundred thousand patterns at most, and terms that depend on x alone are summed per
  distinct x. A fit whose log-parameter sits on a bound is reported in ``at_boundary``
  (a → 0 means drop-out vanishes and P(alive) → 1: a boundary, not a failure).

  The likelihood is a density in time, so its value depends on the time unit: LL in days =
  LL in unit u + x·ln(days per u). lifetimes fits with T scaled by 1/max(T) and reports
  ``-mean(LL)`` in *that* unit. Computed with the formula above at lifetimes' own CDNOW
  parameters, the mean LL is −10.9922 per customer in days and +0.775565 in lifetimes'
  unit (= −0.775565 "mean negative log-likelihood", the json's figure): so lifetimes'
  negative number means a positive mean LL in its scaled unit, not in days.
  ``BgNbdFit.mean_neg_log_likelihood`` is in days; ``mean_neg_log_likelihood_lifetimes``
  is the figure to compare with lifetimes.

* P(alive) = 1 / (1 + [x>0]·a/(b+x−1)·((α+T)/(α+t_x))^(r+x)); 1 for x = 0 (in BG/NBD a
  customer can only drop out right after a repeat purchase).

* Expected purchases in (T, T+t], given the history::

      E = P(alive) · (a+b+x−1)/(a−1) · [1 − G],   G = (1−z)^(r+x)·₂F₁(r+x, b+x; a+b+x−1; z),
      z = t/(α+T+t)

  ₂F₁ is evaluated after Euler's transformation, G = (1−z)^(a−1)·₂F₁(a+b−1−r, a−1; a+b+x−1; z),
  whose first two parameters do not grow with x: the textbook form (used by lifetimes)
  multiplies a huge ₂F₁ by a tiny power and overflows for frequent customers and long
  horizons, and the Pfaff form ₂F₁(r+x, a−1; a+b+x−1; −t/(α+T)) goes wrong in scipy 1.17
  (NaN for x ≥ 150 at CDNOW's parameters, large errors elsewhere on a test grid). Against mpmath (40 digits) on 840 points the
  Euler form is within 5·10⁻¹⁰. For a within 10⁻⁴ of 1 (a removable 0/0) it interpolates
  between a = 1 ± 10⁻⁴; any non-finite value falls back to the equivalent one-dimensional integral
  over the drop-out probability, E/P(alive) = E_p[(1 − (1 + p·t/(α+T))^−(r+x))/p] with
  p ~ Beta(a, b+x) (scipy's quad with the Beta weight; tests check the two agree to 10⁻⁸).

* Next purchase: a customer alive at T buys again for certain (drop-out only follows a
  purchase), after a wait whose survival function, with λ ~ Gamma(r+x, α+T), is
  ((α+T)/(α+T+s))^(r+x). ``expected_next_purchase_window`` is its median (or another
  quantile) in days: (α+T)·(2^{1/(r+x)} − 1). NaN when P(alive) < 0.1 (lost: "when they
  buy next" is not a meaningful question) or when the median is beyond two years (the
  model is stationary; a date further out is not a forecast anyone should plan on).

* Gamma-Gamma — spend per purchase ~ Gamma(p, ν), ν ~ Gamma(q, v); fitted on customers with
  x > 0 and m̄ > 0. E[M | x, m̄] = p·(v + x·m̄)/(p·x + q − 1); for x = 0 that is the
  population mean p·v/(q − 1). The mean exists only for q > 1, so q is fitted as
  ln(q − 1) ≥ −7 (q ≥ 1.0009); a fit on a bound, or with q < 2 (customers' mean spend has
  infinite variance), is called out in the message. The model assumes spend
  per purchase is independent of frequency: ``frequency_monetary_corr`` (Pearson, over the
  fitted customers) is reported and |ρ| ≥ 0.3 is called out in the message.

* CLV over a horizon H (revenue, not margin — multiply by a margin outside): the horizon is
  cut into periods of ``period_days`` (30, the last one shorter if H is not a multiple);
  purchases expected in period k are valued at E[M] and discounted from the end of the
  period, e_k days out, by (1 + annual rate)^(−e_k/365) (annual compounding; 10 % a year is
  about 0.79 % per 30 days).

* Value tiers: "lost" when P(alive) < 0.1; the others are ranked by CLV at the longest
  horizon: CLV ≥ the 80th percentile (of the customers not lost) → "top", ≥ the 50th →
  "middle", else "low" (so about 20 % / 30 % / 50 %; equal values always share a tier).

Too little data raises :class:`ModelUnsupported`: BG/NBD needs at least 100 customers and
30 repeat buyers; Gamma-Gamma at least 30 repeat buyers with positive spend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import quad
from scipy.optimize import OptimizeResult, minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

FloatArray = NDArray[np.float64]

DAYS_PER_YEAR = 365.0
LOST_P_ALIVE = 0.1
TOP_SHARE = 0.2
MIDDLE_SHARE = 0.3
NEXT_PURCHASE_MAX_DAYS = 730.0
VALUE_TIERS: tuple[str, ...] = ("top", "middle", "low", "lost")

MIN_CUSTOMERS_BGNBD = 100
MIN_REPEAT_BUYERS_BGNBD = 30
MIN_SPENDERS_GAMMA_GAMMA = 30
STRONG_CORRELATION = 0.3
HEAVY_TAIL_Q = 2.0  # below this q the spread of customers' mean spend has no finite variance

LOG_BOUND = 10.0  # BG/NBD and Gamma-Gamma log-parameters live in [-LOG_BOUND, LOG_BOUND]
LOG_Q_MINUS_ONE_MIN = -7.0  # q >= 1 + e^-7 ≈ 1.0009: the mean spend p·v/(q−1) must exist
_BOUNDARY_TOL = 0.1  # a log-parameter this close to its bound (≈ 10 % of the parameter) is "at the boundary"
_GRADIENT_TOL = 1e-5  # max |gradient| of the mean log-likelihood accepted as converged
_A_NEAR_ONE = 1e-4  # |a − 1| below this: the closed form is 0/0; interpolate between a = 1 ± _A_NEAR_ONE

BGNBD_PARAMS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMS = ("p", "q", "v")


class ModelUnsupported(ValueError):
    """The data cannot support the model (too few customers or repeat buyers).

    ``code`` is stable for the UI (``bgnbd_too_few_customers``, ``bgnbd_too_few_repeat_buyers``,
    ``gamma_gamma_too_few_spenders``); ``needed`` and ``found`` are the counts in the message.
    """

    def __init__(self, code: str, message: str, needed: int, found: int) -> None:
        super().__init__(message)
        self.code = code
        self.needed = needed
        self.found = found


@dataclass(frozen=True)
class BgNbdFit:
    """BG/NBD parameters (α in days) and how the fit went.

    ``log_likelihood`` is the weighted sum over customers in days; ``mean_neg_log_likelihood``
    is −LL / customers in days; ``mean_neg_log_likelihood_lifetimes`` is the same in lifetimes'
    time unit (T / max T), the figure lifetimes calls ``_negative_log_likelihood_``.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    mean_neg_log_likelihood: float
    mean_neg_log_likelihood_lifetimes: float
    n_customers: int
    n_patterns: int
    converged: bool
    at_boundary: list[str] = field(default_factory=list)
    message: str = ""


@dataclass(frozen=True)
class GammaGammaFit:
    """Gamma-Gamma parameters (v in the currency of ``monetary_value``) and how the fit went."""

    p: float
    q: float
    v: float
    log_likelihood: float
    n_customers: int
    converged: bool
    frequency_monetary_corr: float
    at_boundary: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def mean_spend(self) -> float:
        """Population mean spend per purchase, p·v/(q − 1)."""
        return self.p * self.v / (self.q - 1.0)


@dataclass(frozen=True)
class ScoreResult:
    """Per-customer predictions and the fits behind them.

    ``customers`` has customer_id, p_alive, expected_purchases_<h> and clv_<h> for each
    horizon h, expected_spend, next_purchase_days and value_tier (categorical, VALUE_TIERS
    order). ``gamma_gamma`` is None when spend could not be modelled (then expected_spend and
    clv_* are NaN and tiers rank expected purchases instead); ``notes`` says why.
    """

    customers: pd.DataFrame
    bgnbd: BgNbdFit
    gamma_gamma: GammaGammaFit | None
    horizons: tuple[int, ...]
    discount_rate_annual: float
    period_days: float
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# Input helpers
# --------------------------------------------------------------------------------------


def _as_float(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _weights(weights: ArrayLike | None, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n)
    w = _as_float(weights)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite, non-negative and one per customer")
    return w


def _check_summary_arrays(x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
    if not (x.shape == t_x.shape == T.shape) or x.ndim != 1:
        raise ValueError("frequency, recency and T must be 1-D arrays of the same length")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t_x)) and np.all(np.isfinite(T))):
        raise ValueError("frequency, recency and T must be finite")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be a non-negative whole number (repeat purchase days)")
    if np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("recency must lie in [0, T] (lifetimes' recency: first to last purchase day)")


@dataclass(frozen=True)
class SummaryPatterns:
    """Distinct (x, t_x, T) triples, their total weights, and each customer's pattern index."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    weight: FloatArray
    inverse: NDArray[np.int64]


def _distinct(keys: Sequence[FloatArray]) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    """Group equal rows of ``keys`` (columns): (first index of each group, group of each row, groups).

    A lexsort and one comparison pass: about ten times faster than ``np.unique(axis=0)``.
    """
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    order = np.lexsort(tuple(reversed(keys)))
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for key in keys:
        k = key[order]
        new[1:] |= k[1:] != k[:-1]
    group_sorted = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group_sorted
    return order[new], inverse, int(group_sorted[-1]) + 1


def summary_patterns(x: FloatArray, t_x: FloatArray, T: FloatArray, weights: FloatArray) -> SummaryPatterns:
    """Each distinct (x, t_x, T) once with its total weight: the models are fitted and scored per pattern, not per customer."""
    first, inverse, groups = _distinct((x, t_x, T))
    return SummaryPatterns(
        x=x[first], t_x=t_x[first], T=T[first],
        weight=np.asarray(np.bincount(inverse, weights=weights, minlength=groups), dtype=np.float64), inverse=inverse,
    )


def _dot(a: FloatArray, b: FloatArray) -> float:
    """Σ a·b without BLAS: a multi-threaded BLAS ddot on a busy 2-core machine was 100× slower."""
    return float(np.einsum("i,i->", a, b))


def _by_value(values: FloatArray, weights: FloatArray) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """Distinct values, their total weights and each row's index into them."""
    distinct, inverse = np.unique(values, return_inverse=True)
    return (np.asarray(distinct, dtype=np.float64), np.asarray(np.bincount(inverse, weights=weights, minlength=len(distinct)), dtype=np.float64),
            np.asarray(inverse, dtype=np.int64))


# --------------------------------------------------------------------------------------
# Shared optimiser
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Optimum:
    theta: FloatArray
    mean_ll: float
    converged: bool
    at_boundary: list[str]
    message: str


def _maximise(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    starts: Sequence[Sequence[float]],
    bounds: Sequence[tuple[float, float]],
    names: Sequence[str],
) -> _Optimum:
    """Minimise ``objective`` (−mean LL and its gradient) by L-BFGS-B from each start; keep the best.

    Later starts run only while the best so far has not converged or sits on a bound.
    Converged means scipy's own test passed or every free log-parameter's gradient is below
    ``_GRADIENT_TOL`` (L-BFGS-B can stop on a line search at a flat optimum).
    """
    lower = np.array([lo for lo, _ in bounds])
    upper = np.array([hi for _, hi in bounds])

    def assess(res: OptimizeResult) -> tuple[bool, NDArray[np.bool_]]:
        on_bound = (res.x - lower < _BOUNDARY_TOL) | (upper - res.x < _BOUNDARY_TOL)
        free_gradient = np.where(on_bound, 0.0, res.jac)
        return bool(res.success or np.max(np.abs(free_gradient)) < _GRADIENT_TOL), on_bound

    best: OptimizeResult | None = None
    for start in starts:
        res = minimize(objective, np.asarray(start, dtype=np.float64), jac=True, method="L-BFGS-B",
                       bounds=bounds, options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9})
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
        if best is not None:
            converged, on_bound = assess(best)
            if converged and not on_bound.any():
                break
    if best is None:
        return _Optimum(np.full(len(names), np.nan), float("nan"), False, [], "the likelihood was not finite")
    converged, on_bound = assess(best)
    text = f"{'converged' if converged else 'did not converge'} after {best.nit} iterations"
    if not converged:
        text += f" (optimizer: {best.message})"
    return _Optimum(best.x, -float(best.fun), converged, [n for n, hit in zip(names, on_bound) if hit], text)


# --------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------


def bgnbd_log_likelihood(
    r: float, alpha: float, a: float, b: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Per-customer BG/NBD log-likelihood (the module docstring's formula), in T's time unit."""
    x, t_x, T = _as_float(x), _as_float(t_x), _as_float(T)
    repeat = x > 0
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.full(np.broadcast(x, t_x).shape, -np.inf)
    a4[repeat] = (np.log(a) - np.log(b + x[repeat] - 1.0) - (r + x[repeat]) * np.log(alpha + t_x[repeat]))
    return np.asarray(a1 + a2 + np.logaddexp(a3, a4), dtype=np.float64)


def _check_bgnbd_support(x: FloatArray, weights: FloatArray) -> None:
    customers = int(round(weights.sum()))
    repeat = int(round(weights[x > 0].sum()))
    if customers < MIN_CUSTOMERS_BGNBD:
        raise ModelUnsupported(
            "bgnbd_too_few_customers",
            f"Predicting purchases needs at least {MIN_CUSTOMERS_BGNBD} customers; this data has {customers}.",
            MIN_CUSTOMERS_BGNBD, customers,
        )
    if repeat < MIN_REPEAT_BUYERS_BGNBD:
        raise ModelUnsupported(
            "bgnbd_too_few_repeat_buyers",
            f"Predicting purchases needs at least {MIN_REPEAT_BUYERS_BGNBD} customers who bought again "
            f"(on a later day); this data has {repeat} of {customers} customers.",
            MIN_REPEAT_BUYERS_BGNBD, repeat,
        )


def bgnbd_objective(pat: SummaryPatterns, scale: float) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """−mean LL and its gradient in log(r, α, a, b), with times divided by ``scale``.

    Terms in x alone are summed over distinct x; the logaddexp term runs over patterns,
    split into one-time buyers (A3 only) and repeat buyers.
    """
    total = pat.weight.sum()
    ux, wx, _ = _by_value(pat.x, pat.weight)
    zero = pat.x == 0
    w0, T0 = pat.weight[zero], pat.T[zero] / scale
    rep = ~zero
    w1, x1, tx1, T1 = pat.weight[rep], pat.x[rep], pat.t_x[rep] / scale, pat.T[rep] / scale
    x1_minus_1 = x1 - 1.0  # b + x − 1 = b + x1_minus_1

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(theta)
        # x-only terms
        ll = _dot(wx, gammaln(r + ux) + gammaln(b + ux) - gammaln(a + b + ux)) + total * (
            -gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b))
        dig_rx, dig_abx = digamma(r + ux), digamma(a + b + ux)
        g_r = _dot(wx, dig_rx) + total * (np.log(alpha) - digamma(r))
        g_alpha = total * r / alpha
        g_a = total * digamma(a + b) - _dot(wx, dig_abx)
        g_b = total * (digamma(a + b) - digamma(b)) + _dot(wx, digamma(b + ux) - dig_abx)
        # one-time buyers: A3 = −r·ln(α+T)
        log_t0 = np.log(alpha + T0)
        ll -= r * _dot(w0, log_t0)
        g_r -= _dot(w0, log_t0)
        g_alpha -= r * _dot(w0, 1.0 / (alpha + T0))
        # repeat buyers: logaddexp(A3, A4)
        rx = r + x1
        log_t1, log_tx1 = np.log(alpha + T1), np.log(alpha + tx1)
        a3 = -rx * log_t1
        a4 = np.log(a) - np.log(b + x1_minus_1) - rx * log_tx1
        d = np.logaddexp(a3, a4)
        ll += _dot(w1, d)
        p4 = np.exp(a4 - d)  # share of the "dropped out at t_x" branch
        p3 = 1.0 - p4
        g_r -= _dot(w1, p3 * log_t1 + p4 * log_tx1)
        g_alpha -= _dot(w1, rx * (p3 / (alpha + T1) + p4 / (alpha + tx1)))
        wp4 = w1 * p4
        g_a += wp4.sum() / a
        g_b -= _dot(wp4, 1.0 / (b + x1_minus_1))
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
        return -ll / total, -grad / total

    return objective


# Starting points in log(r, α·scale⁻¹, a, b): neutral, then a CDNOW-like shape, then a flatter one.
_BGNBD_STARTS = (
    (0.0, 0.0, 0.0, 0.0),
    (np.log(0.3), np.log(0.1), np.log(0.5), np.log(2.0)),
    (np.log(2.0), np.log(5.0), np.log(2.0), np.log(5.0)),
)


def _fit_bgnbd_patterns(pat: SummaryPatterns) -> BgNbdFit:
    _check_bgnbd_support(pat.x, pat.weight)
    scale = float(pat.T.max())
    opt = _maximise(bgnbd_objective(pat, scale), _BGNBD_STARTS, [(-LOG_BOUND, LOG_BOUND)] * 4, BGNBD_PARAMS)
    r, alpha_scaled, a, b = np.exp(opt.theta)
    alpha = float(alpha_scaled * scale)
    total = float(pat.weight.sum())
    ll = _dot(pat.weight, bgnbd_log_likelihood(r, alpha, a, b, pat.x, pat.t_x, pat.T))
    mean_x = _dot(pat.weight, pat.x) / total
    message = opt.message
    if "a" in opt.at_boundary and opt.theta[2] < 0:
        message += "; a is at its lower bound: drop-out is negligible in this data (P(alive) ≈ 1)"
    elif opt.at_boundary:
        message += f"; at the bound of log-parameter(s) {', '.join(opt.at_boundary)}"
    return BgNbdFit(
        r=float(r), alpha=alpha, a=float(a), b=float(b),
        log_likelihood=ll,
        mean_neg_log_likelihood=-ll / total,
        mean_neg_log_likelihood_lifetimes=float(-ll / total - mean_x * np.log(scale)),
        n_customers=int(round(total)), n_patterns=len(pat.x),
        converged=opt.converged, at_boundary=opt.at_boundary, message=message,
    )


def fit_bgnbd(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
) -> BgNbdFit:
    """Fit BG/NBD by maximum likelihood on the distinct (x, t_x, T) patterns.

    ``weights`` counts customers per row (a row with weight 3 is three identical customers).
    Raises :class:`ModelUnsupported` below 100 customers or 30 repeat buyers.
    """
    x, t_x, T_ = _as_float(frequency), _as_float(recency), _as_float(T)
    _check_summary_arrays(x, t_x, T_)
    w = _weights(weights, len(x))
    keep = w > 0
    return _fit_bgnbd_patterns(summary_patterns(x[keep], t_x[keep], T_[keep], w[keep]))


def _log_dead_odds(fit: BgNbdFit, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    """ln of a/(b+x−1)·((α+T)/(α+t_x))^(r+x) — the odds of having dropped out; −inf for x = 0."""
    x, t_x, T = np.broadcast_arrays(x, t_x, T)
    out = np.full(x.shape, -np.inf)
    rep = x > 0
    xr = x[rep]
    out[rep] = (np.log(fit.a) - np.log(fit.b + xr - 1.0)
                + (fit.r + xr) * (np.log(fit.alpha + T[rep]) - np.log(fit.alpha + t_x[rep])))
    return out


def p_alive(fit: BgNbdFit, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """Probability that each customer is still active at T (1 for customers with x = 0)."""
    return np.asarray(expit(-_log_dead_odds(fit, _as_float(x), _as_float(t_x), _as_float(T))), dtype=np.float64)


def expected_alive_integral(fit: BgNbdFit, t: float, x: float, T: float) -> float:
    """E[purchases in (T, T+t] | alive] as E_p[(1 − (1 + p·w)^−(r+x))/p], p ~ Beta(a, b+x), w = t/(α+T)."""
    w, k = t / (fit.alpha + T), fit.r + x

    def integrand(p: float) -> float:
        return float(-np.expm1(-k * np.log1p(p * w)) / p) if p > 0 else k * w

    value, _ = quad(integrand, 0.0, 1.0, weight="alg", wvar=(fit.a - 1.0, fit.b + x - 1.0),
                    epsabs=0.0, epsrel=1e-11, limit=200)
    return float(value) / float(np.exp(betaln(fit.a, fit.b + x)))


def _expected_alive_closed(fit: BgNbdFit, a: float, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
    """(a+b+x−1)/(a−1)·(1 − G) with G after Euler's transformation (see the module docstring)."""
    r, alpha, b = fit.r, fit.alpha, fit.b
    log_one_minus_z = np.log(alpha + T) - np.log(alpha + T + t)
    c = a + b + x - 1.0
    g = np.exp((a - 1.0) * log_one_minus_z) * hyp2f1(a + b - 1.0 - r, a - 1.0, c, -np.expm1(log_one_minus_z))
    return np.asarray(c / (a - 1.0) * (1.0 - g), dtype=np.float64)


def expected_purchases_if_alive(fit: BgNbdFit, t: ArrayLike, x: ArrayLike, T: ArrayLike) -> FloatArray:
    """Expected purchases in (T, T+t] for a customer who is alive at T (depends on x and T only)."""
    t_, x_, T_ = (arr.ravel() for arr in np.broadcast_arrays(_as_float(t), _as_float(x), _as_float(T)))
    shape = np.broadcast_shapes(np.shape(t), np.shape(x), np.shape(T))
    if np.any(t_ < 0):
        raise ValueError("t must be non-negative")
    with np.errstate(all="ignore"):
        if abs(fit.a - 1.0) < _A_NEAR_ONE:  # removable 0/0 at a = 1: interpolate across it, error O(δ²)
            below = _expected_alive_closed(fit, 1.0 - _A_NEAR_ONE, t_, x_, T_)
            above = _expected_alive_closed(fit, 1.0 + _A_NEAR_ONE, t_, x_, T_)
            share = (fit.a - 1.0 + _A_NEAR_ONE) / (2.0 * _A_NEAR_ONE)
            out = below + share * (above - below)
        else:
            out = _expected_alive_closed(fit, fit.a, t_, x_, T_)
    for i in np.flatnonzero(~np.isfinite(out) | (out < 0)):
        out[i] = expected_alive_integral(fit, float(t_[i]), float(x_[i]), float(T_[i]))
    return np.where(t_ > 0, out, 0.0).reshape(shape)


def expected_purchases(fit: BgNbdFit, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """Conditional expected number of purchases in (T, T+t] (lifetimes'
    ``conditional_expected_number_of_purchases_up_to_time``), vectorised and broadcasting."""
    return p_alive(fit, x, t_x, T) * expected_purchases_if_alive(fit, t, x, T)


def probability_purchase_within(fit: BgNbdFit, days: ArrayLike, x: ArrayLike, t_x: ArrayLike,
                                T: ArrayLike) -> FloatArray:
    """P(at least one purchase in (T, T+days]) = P(alive)·(1 − ((α+T)/(α+T+days))^(r+x))."""
    d, x_, T_ = _as_float(days), _as_float(x), _as_float(T)
    survive = np.exp((fit.r + x_) * (np.log(fit.alpha + T_) - np.log(fit.alpha + T_ + d)))
    return np.asarray(p_alive(fit, x_, t_x, T_) * (1.0 - survive), dtype=np.float64)


def expected_next_purchase_window(
    fit: BgNbdFit,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    quantile: float = 0.5,
    min_p_alive: float = LOST_P_ALIVE,
    max_days: float | None = NEXT_PURCHASE_MAX_DAYS,
) -> FloatArray:
    """Days from T until the next purchase of a customer who is alive: the ``quantile`` (median by
    default) of the wait, (α+T)·((1−quantile)^(−1/(r+x)) − 1).

    NaN where P(alive) < ``min_p_alive`` (the customer is most likely lost) and where the value
    exceeds ``max_days`` (beyond the horizon a stationary model can speak to).
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError("quantile must be in (0, 1)")
    x_, T_ = np.broadcast_arrays(_as_float(x), _as_float(T))
    days = (fit.alpha + T_) * np.expm1(-np.log1p(-quantile) / (fit.r + x_))
    meaningless = p_alive(fit, x_, t_x, T_) < min_p_alive
    if max_days is not None:
        meaningless |= days > max_days
    return np.where(meaningless, np.nan, days)


# --------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------


def gamma_gamma_log_likelihood(p: float, q: float, v: float, x: ArrayLike, m: ArrayLike) -> FloatArray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend m̄ of x purchases (x, m̄ > 0)."""
    x, m = _as_float(x), _as_float(m)
    px = p * x
    return np.asarray(gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1.0) * np.log(m)
                      + px * np.log(x) - (px + q) * np.log(x * m + v), dtype=np.float64)


def gamma_gamma_objective(x: FloatArray, m: FloatArray, w: FloatArray
                           ) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """−mean LL and its gradient in (ln p, ln(q − 1), ln v); m already scaled to O(1)."""
    total = w.sum()
    ux, wx, _ = _by_value(x, w)
    log_ux = np.log(ux)
    log_m = np.log(m)
    wx_ = w * x
    s_x_log_m, s_log_m = _dot(wx_, log_m), _dot(w, log_m)
    wx_log = _dot(wx, ux * log_ux)

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        p, q, v = np.exp(theta[0]), 1.0 + np.exp(theta[1]), np.exp(theta[2])
        pux = p * ux
        xm_v = x * m + v
        log_xm_v = np.log(xm_v)
        w_pxq = p * wx_ + q * w
        ll = (_dot(wx, gammaln(pux + q) - gammaln(pux)) + total * (q * np.log(v) - gammaln(q))
              + p * (s_x_log_m + wx_log) - s_log_m - _dot(w_pxq, log_xm_v))
        dig = digamma(pux + q)
        g_p = _dot(wx, ux * (dig - digamma(pux))) + wx_log + s_x_log_m - _dot(wx_, log_xm_v)
        g_q = _dot(wx, dig) - total * digamma(q) + total * np.log(v) - _dot(w, log_xm_v)
        g_v = total * q / v - _dot(w_pxq, 1.0 / xm_v)
        grad = np.array([g_p * p, g_q * (q - 1.0), g_v * v])
        return -ll / total, -grad / total

    return objective


_GAMMA_GAMMA_STARTS = ((0.0, 0.0, 0.0), (np.log(5.0), np.log(3.0), np.log(4.0)), (np.log(0.5), np.log(0.5), -1.0))


def _weighted_corr(x: FloatArray, y: FloatArray, w: FloatArray) -> float:
    mx, my = _dot(w, x) / w.sum(), _dot(w, y) / w.sum()
    cov = _dot(w, (x - mx) * (y - my))
    den = np.sqrt(_dot(w, (x - mx) ** 2) * _dot(w, (y - my) ** 2))
    return float(cov / den) if den > 0 else float("nan")


def fit_gamma_gamma(frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None) -> GammaGammaFit:
    """Fit Gamma-Gamma on customers with frequency > 0 and monetary_value > 0 (others are ignored).

    Raises :class:`ModelUnsupported` below 30 such customers.
    """
    x_all, m_all = _as_float(frequency), _as_float(monetary_value)
    if x_all.shape != m_all.shape or x_all.ndim != 1:
        raise ValueError("frequency and monetary_value must be 1-D arrays of the same length")
    w_all = _weights(weights, len(x_all))
    use = (x_all > 0) & (m_all > 0) & np.isfinite(m_all) & (w_all > 0)
    x, m, w = x_all[use], m_all[use], w_all[use]
    found = int(round(w.sum()))
    if found < MIN_SPENDERS_GAMMA_GAMMA:
        raise ModelUnsupported(
            "gamma_gamma_too_few_spenders",
            f"Predicting spend needs at least {MIN_SPENDERS_GAMMA_GAMMA} customers who bought again with a "
            f"positive amount; this data has {found}.",
            MIN_SPENDERS_GAMMA_GAMMA, found,
        )
    scale = float(np.median(m))  # v scales with the currency; the LL only shifts by a constant
    opt = _maximise(
        gamma_gamma_objective(x, m / scale, w), _GAMMA_GAMMA_STARTS,
        [(-LOG_BOUND, LOG_BOUND), (LOG_Q_MINUS_ONE_MIN, LOG_BOUND), (-LOG_BOUND, LOG_BOUND)], GAMMA_GAMMA_PARAMS,
    )
    p, q, v = float(np.exp(opt.theta[0])), float(1.0 + np.exp(opt.theta[1])), float(np.exp(opt.theta[2]) * scale)
    corr = _weighted_corr(x, m, w)
    message = opt.message
    if opt.at_boundary:
        message += f"; at the bound of log-parameter(s) {', '.join(opt.at_boundary)}"
    if q < HEAVY_TAIL_Q:
        message += (f"; q = {q:.3g} < {HEAVY_TAIL_Q:g}: spend is so heavy-tailed that its variance across customers "
                    "is infinite (at q → 1 the mean itself stops existing), so expected spend leans on a few big "
                    "spenders and is unreliable")
    if abs(corr) >= STRONG_CORRELATION:
        message += (f"; frequency and spend per purchase are correlated (ρ = {corr:.2f}), which the model assumes "
                    "they are not")
    return GammaGammaFit(
        p=p, q=q, v=v, log_likelihood=_dot(w, gamma_gamma_log_likelihood(p, q, v, x, m)),
        n_customers=found, converged=opt.converged, frequency_monetary_corr=corr,
        at_boundary=opt.at_boundary, message=message,
    )


def expected_spend(gg: GammaGammaFit, x: ArrayLike, m: ArrayLike) -> FloatArray:
    """E[spend per purchase | x, m̄] = p·(v + x·m̄)/(p·x + q − 1); the population mean p·v/(q−1) for x = 0.

    A negative m̄ (refunds exceeding purchases) is treated as 0.
    """
    x_ = _as_float(x)
    m_ = np.where(x_ > 0, np.maximum(_as_float(m), 0.0), 0.0)
    return gg.p * (gg.v + x_ * m_) / (gg.p * x_ + gg.q - 1.0)


# --------------------------------------------------------------------------------------
# CLV and tiers
# --------------------------------------------------------------------------------------


def period_ends(horizon_days: float, period_days: float = 30.0) -> FloatArray:
    """Ends of the discounting periods: period_days, 2·period_days, …, horizon_days (last one partial)."""
    if horizon_days <= 0 or period_days <= 0:
        raise ValueError("horizon_days and period_days must be positive")
    full = np.arange(period_days, horizon_days, period_days)
    return np.append(full[full < horizon_days], float(horizon_days))


def _discounted_purchases(cumulative: Callable[[float], FloatArray], horizon_days: float,
                          discount_rate_annual: float, period_days: float) -> FloatArray:
    """Σ_k (E(e_k) − E(e_{k−1}))·(1 + rate)^(−e_k/365), given cumulative expected purchases E(t)."""
    total: FloatArray | float = 0.0
    previous: FloatArray | float = 0.0
    for end in period_ends(horizon_days, period_days):
        current = cumulative(float(end))
        total = total + (current - previous) * (1.0 + discount_rate_annual) ** (-end / DAYS_PER_YEAR)
        previous = current
    return np.asarray(total, dtype=np.float64)


def clv(
    bg: BgNbdFit,
    gg: GammaGammaFit,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    m: ArrayLike,
    horizon_days: float,
    discount_rate_annual: float = 0.10,
    period_days: float = 30.0,
) -> FloatArray:
    """Discounted expected revenue over ``horizon_days``: Σ over periods of expected purchases in the
    period × E[spend] × (1 + discount_rate_annual)^(−period end / 365)."""
    x_, T_ = np.broadcast_arrays(_as_float(x), _as_float(T))
    discounted = _discounted_purchases(lambda t: expected_purchases_if_alive(bg, t, x_, T_), horizon_days,
                                       discount_rate_annual, period_days)
    return p_alive(bg, x_, t_x, T_) * discounted * expected_spend(gg, x_, m)


def value_tier(
    value: ArrayLike,
    alive: ArrayLike,
    top_share: float = TOP_SHARE,
    middle_share: float = MIDDLE_SHARE,
    lost_below: float = LOST_P_ALIVE,
) -> NDArray[np.object_]:
    """Value tier per customer: "lost" when P(alive) < ``lost_below``; otherwise "top", "middle" or
    "low" by ``value`` (predicted CLV) against the (1 − top_share) and (1 − top_share − middle_share)
    quantiles of the customers not lost. Ties go to the higher tier, so equal values share a tier."""
    value_, alive_ = _as_float(value), _as_float(alive)
    lost = alive_ < lost_below
    tiers = np.full(value_.shape, "low", dtype=object)
    tiers[lost] = "lost"
    ranked = value_[~lost]
    if ranked.size:
        top_cut, middle_cut = np.quantile(ranked, [1.0 - top_share, 1.0 - top_share - middle_share])
        tiers[~lost & (value_ >= middle_cut)] = "middle"
        tiers[~lost & (value_ >= top_cut)] = "top"
    return tiers


# --------------------------------------------------------------------------------------
# Scoring a whole summary
# --------------------------------------------------------------------------------------

SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")


def _summary_arrays(summary: pd.DataFrame) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """frequency, recency, T and monetary_value of a lifetimes summary as float arrays, checked."""
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise ValueError(f"summary is missing column(s) {', '.join(missing)}")
    x = summary["frequency"].to_numpy(dtype=np.float64)
    t_x = summary["recency"].to_numpy(dtype=np.float64)
    T = summary["T"].to_numpy(dtype=np.float64)
    m = summary["monetary_value"].to_numpy(dtype=np.float64)
    _check_summary_arrays(x, t_x, T)
    return x, t_x, T, m


def _spend_model(x: FloatArray, m: FloatArray, notes: list[str]) -> GammaGammaFit | None:
    """Gamma-Gamma on the repeat buyers, or None when it cannot be fitted; what to tell the reader goes to ``notes``."""
    try:
        gg = fit_gamma_gamma(x, m)
    except ModelUnsupported as exc:
        notes.append(f"{exc} Spend and value are not predicted; tiers rank expected purchases.")
        return None
    if (not gg.converged or gg.at_boundary or gg.q < HEAVY_TAIL_Q
            or abs(gg.frequency_monetary_corr) >= STRONG_CORRELATION):
        notes.append(f"Spend model: {gg.message}.")
    return gg


def score_customers(
    summary: pd.DataFrame,
    horizons: Sequence[int] = (90, 365),
    discount_rate_annual: float = 0.10,
    period_days: float = 30.0,
) -> ScoreResult:
    """Fit BG/NBD and Gamma-Gamma on a lifetimes summary and score every customer.

    Predictions are computed once per distinct (x, t_x, T) pattern (and the ₂F₁ terms once per
    distinct (x, T)) and mapped back. Raises :class:`ModelUnsupported` when BG/NBD cannot be
    fitted; when only Gamma-Gamma cannot, spend columns are NaN and ``notes`` says why.
    """
    horizons = tuple(dict.fromkeys(int(h) for h in horizons))  # in the given order, once each
    if not horizons or min(horizons) <= 0:
        raise ValueError("horizons must be positive numbers of days")
    x, t_x, T, m = _summary_arrays(summary)
    pat = summary_patterns(x, t_x, T, np.ones(len(x)))
    bg = _fit_bgnbd_patterns(pat)
    notes: list[str] = []
    if not bg.converged or bg.at_boundary:
        notes.append(f"Purchase model: {bg.message}.")
    gg = _spend_model(x, m, notes)

    # ₂F₁ work on distinct (x, T); P(alive) on distinct patterns; everything else per customer.
    first, pair_of_pattern, _ = _distinct((pat.x, pat.T))
    px, pT = pat.x[first], pat.T[first]
    cache: dict[float, FloatArray] = {}

    def cumulative(t: float) -> FloatArray:
        if t not in cache:
            cache[t] = expected_purchases_if_alive(bg, t, px, pT)
        return cache[t]

    alive_pattern = p_alive(bg, pat.x, pat.t_x, pat.T)
    index = pair_of_pattern[pat.inverse]  # customer → (x, T) pair
    alive = alive_pattern[pat.inverse]
    columns: dict[str, object] = {"customer_id": summary["customer_id"].to_numpy(), "p_alive": alive}
    for h in horizons:
        columns[f"expected_purchases_{h}"] = alive * cumulative(float(h))[index]
    spend = expected_spend(gg, x, m) if gg is not None else np.full(len(x), np.nan)
    columns["expected_spend"] = spend
    for h in horizons:
        discounted = _discounted_purchases(cumulative, h, discount_rate_annual, period_days)
        columns[f"clv_{h}"] = alive * discounted[index] * spend
    columns["next_purchase_days"] = expected_next_purchase_window(bg, pat.x, pat.t_x, pat.T)[pat.inverse]
    ranking = np.asarray(columns[f"clv_{max(horizons)}" if gg is not None else f"expected_purchases_{max(horizons)}"])
    columns["value_tier"] = pd.Categorical(value_tier(ranking, alive), categories=list(VALUE_TIERS))
    return ScoreResult(
        customers=pd.DataFrame(columns, index=summary.index), bgnbd=bg, gamma_gamma=gg, horizons=horizons,
        discount_rate_annual=discount_rate_annual, period_days=period_days, notes=notes,
    )


# --------------------------------------------------------------------------------------
# Calibration / holdout check
# --------------------------------------------------------------------------------------


def calibration_table(
    predicted: ArrayLike, actual: ArrayLike, calibration_frequency: ArrayLike, max_frequency: int = 7
) -> pd.DataFrame:
    """Mean predicted vs actual holdout purchases by calibration-period repeat purchases.

    Rows "0", "1", …, "6", "7+" (every group, NaN means when empty) and a final "all" row.
    Columns: group, customers, predicted_mean, actual_mean, predicted_total, actual_total.
    ``actual`` should count holdout purchase *days* per customer, as lifetimes does (see
    :func:`calibration_holdout_summary`); ``predicted`` is :func:`expected_purchases` over the
    holdout length.
    """
    pred, act, freq = _as_float(predicted), _as_float(actual), _as_float(calibration_frequency)
    if not (pred.shape == act.shape == freq.shape):
        raise ValueError("predicted, actual and calibration_frequency must have the same length")
    group = np.minimum(freq, max_frequency).astype(np.int64)
    groups = max_frequency + 1
    count = np.bincount(group, minlength=groups)
    pred_total = np.bincount(group, weights=pred, minlength=groups)
    act_total = np.bincount(group, weights=act, minlength=groups)
    labels = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame({
            "group": labels + ["all"],
            "customers": np.append(count, count.sum()),
            "predicted_mean": np.append(pred_total / count, pred.sum() / max(len(pred), 1)),
            "actual_mean": np.append(act_total / count, act.sum() / max(len(act), 1)),
            "predicted_total": np.append(pred_total, pred.sum()),
            "actual_total": np.append(act_total, act.sum()),
        })
    return table


def calibration_holdout_summary(
    transactions: pd.DataFrame,
    calibration_end: date | datetime | str,
    observation_end: date | datetime | str,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str | None = None,
) -> pd.DataFrame:
    """lifetimes' ``calibration_and_holdout_data(..., freq="D")`` in pandas.

    Timestamps are floored to days. Calibration columns (frequency, recency, T, monetary_value)
    come from the purchase days up to and including ``calibration_end``; ``frequency_holdout``
    counts each calibration customer's distinct purchase days in (calibration_end,
    observation_end]; ``duration_holdout`` is that span in days. Customers whose first purchase
    is in the holdout are left out, as in lifetimes.
    """
    cal_end, obs_end = pd.Timestamp(calibration_end).normalize(), pd.Timestamp(observation_end).normalize()
    if obs_end < cal_end:
        raise ValueError("observation_end must not be before calibration_end")
    values = transactions[value_col] if value_col else pd.Series(0.0, index=transactions.index)
    days = pd.DataFrame({
        "customer_id": transactions[customer_col].to_numpy(),
        "day": pd.to_datetime(transactions[date_col]).dt.floor("D").to_numpy(),
        "value": values.to_numpy(dtype=np.float64),
    })
    days = days[days["day"] <= obs_end].groupby(  # type: ignore[assignment]  # as_index=False keeps a frame
        ["customer_id", "day"], sort=True, as_index=False)["value"].sum()
    cal = days[days["day"] <= cal_end]
    grouped = cal.groupby("customer_id", sort=True)
    first, last, n = grouped["day"].min(), grouped["day"].max(), grouped["day"].size()
    first_value = cal.loc[~cal["customer_id"].duplicated(), ["customer_id", "value"]].set_index("customer_id")["value"]
    repeat_value = grouped["value"].sum() - first_value
    out = pd.DataFrame({
        "frequency": (n - 1).astype(np.float64),
        "recency": (last - first).dt.days.astype(np.float64),
        "T": (cal_end - first).dt.days.astype(np.float64),
        "monetary_value": (repeat_value / (n - 1)).where(n > 1, 0.0),
    })
    holdout = days[days["day"] > cal_end].groupby("customer_id").size()
    out["frequency_holdout"] = holdout.reindex(out.index, fill_value=0).astype(np.float64)
    out["duration_holdout"] = float((obs_end - cal_end).days)
    return out.rename_axis("customer_id").reset_index()


# --------------------------------------------------------------------------------------
# Simulation (tests, benchmarks, demos)
# --------------------------------------------------------------------------------------


def simulate_bgnbd(
    T: ArrayLike,
    r: float,
    alpha: float,
    a: float,
    b: float,
    holdout_days: float = 0.0,
    gamma_gamma: Mapping[str, float] | None = None,
    whole_days: bool = False,
    seed: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Simulate customers from BG/NBD (and Gamma-Gamma spend) and summarise them like lifetimes.

    Each customer's first purchase is at time 0 and ``T`` is their age at the calibration end.
    Returns customer_id, frequency, recency, T, monetary_value (0 without ``gamma_gamma``, a dict
    with p, q, v) and frequency_holdout (purchases in (T, T + holdout_days]). With ``whole_days``
    times are floored to days and purchases on the same day count once, as in real summaries.
    Vectorised over customers; the loop runs once per purchase of the most frequent customer.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    T_ = _as_float(T).ravel()
    n = len(T_)
    rate = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    end = T_ + holdout_days
    x = np.zeros(n, np.int64)
    t_x = np.zeros(n)
    x_holdout = np.zeros(n, np.int64)
    now = np.zeros(n)
    active = np.arange(n)
    with np.errstate(divide="ignore"):
        while active.size:
            t = now[active] + rng.standard_exponential(active.size) / rate[active]
            inside = t <= end[active]
            active, t = active[inside], t[inside]
            if whole_days:  # the purchase counts on its day, unless that day already had one
                when = np.floor(t)
                counted = when > np.floor(now[active])
            else:
                when, counted = t, np.ones(active.size, dtype=bool)
            in_cal = when <= T_[active]
            cal = in_cal & counted
            x[active[cal]] += 1
            t_x[active[cal]] = when[cal]
            x_holdout[active[~in_cal & counted]] += 1
            now[active] = t
            active = active[rng.random(active.size) >= drop[active]]
    monetary = np.zeros(n)
    if gamma_gamma is not None:
        nu = rng.gamma(gamma_gamma["q"], 1.0 / gamma_gamma["v"], n)
        rep = x > 0
        monetary[rep] = rng.gamma(gamma_gamma["p"] * x[rep], 1.0 / (nu[rep] * x[rep]))
    return pd.DataFrame({
        "customer_id": np.arange(n), "frequency": x.astype(np.float64), "recency": t_x, "T": T_,
        "monetary_value": monetary, "frequency_holdout": x_holdout.astype(np.float64),
    })
