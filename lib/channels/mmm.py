"""Marketing-mix model on one total weekly outcome, fitted in seconds, with honest intervals.

Why it exists
-------------
``lib.curves`` fits one curve per channel on that channel's *own* attributed outcome. Most
shops only know the *total* weekly outcome (revenue, orders) and the spend per channel; "what
did each channel add?" then needs a marketing-mix model (MMM). Robyn (ridge + evolutionary
search, ~20 min a model), Meridian (Bayesian, minutes on many cores) and PyMC-Marketing (MCMC,
minutes to hours) answer it slowly. This module answers it in about a second with the same
model structure, says how sure it is, and says so in plain words when the data cannot tell
channels apart. It is pure (numpy / scipy / pandas; no Streamlit, no DuckDB).

The model
---------
For week t::

    y_t = baseline_t + Σ_c β_c · hill(adstock(x_c)_t ; α_c, K_c) + ε_t

* baseline = intercept + trend + yearly Fourier terms + China's shopping festivals as weekly
  indicators (Double 11 and its pre-sale, 618 and its lead-up, 年货节 — the three weeks before
  the Spring Festival week — and the Spring Festival fortnight, when couriers stop) + controls
  with signed coefficients. Its form is chosen by BIC among 12 candidates: Fourier order 2–4,
  additive or multiplicative seasonality (seasonal and festival columns also multiplied by the
  trend, Prophet's multiplicative mode linearised), linear or quadratic trend.
* media: ``lib.curves.geometric_adstock`` (``a_t = x_t + θ·a_{t−1}``) then ``lib.curves.hill``
  with β_c ≥ 0 (the most channel c can add in a week). Grid per channel: θ 0–0.8 (step 0.1) ×
  α ∈ {0.7, 1, 1.4, 2} × K = 0.25–4 × its mean non-zero adstocked spend (9 steps) = 324 shapes.
* fitting by variable projection: the baseline columns are projected out (pivoted QR), the
  media coefficients solved by ``scipy.optimize.nnls``; shapes are chosen by coordinate descent
  over channels (until no channel moves) minimising the residual sum of squares (the profile
  likelihood). All 324 shapes of a channel are scored in one matrix product (the RSS drop of
  adding a column given the others), then the best three are checked with a real NNLS.
* plans and curves use ``lib.curves``' steady-state convention (a weekly spend x sustained is
  worth ``x / (1 − θ)`` of adstocked spend); the 13-week forward plan runs the adstock week by
  week from the last observed week's carry-over.

The interval method, and why (measured: tests/test_mmm.py, ``bench/bench_mmm.py --coverage 50``)
--------------------------------------------------------------------------------------------
Moving-block *pairs* bootstrap: B = 200 replicates, each resampling whole weeks (outcome,
baseline row, every candidate column) in 8-week blocks, which keeps autocorrelation and — unlike
resampling residuals around the fit — also carries the error of the model's own form. Every
replicate *re-chooses every channel's shape* (one coordinate sweep from the point estimate) and
re-solves the coefficients. Intervals (80 % = P10–P90) and all other uncertainty (ROI / CPA,
marginal ROI, curves, plan outcomes) are percentiles of the same replicates. The reported point
estimates are bagged: each channel's weekly contribution is the mean of the replicates whose
total lies in the central 60 %; the baseline is then the least-squares fit of its columns to
what the media leave (each replicate's own baseline drives the plan forecasts).

Why, on 50 data sets × 5 channels from ``simulate_weekly_data`` (true contributions known, B = 100):
the 80 % intervals cover the truth for 81 % of channels (75 % and 78 % on the next two sets of
50 seeds; 83 % with B = 200); holding the shapes fixed covers 37 % (intervals a third as wide —
false precision), resampling residuals with shapes re-chosen 66 %. The shape is what the data
pin down worst: estimates *given* the true curves land within 20 % for ~92 % of the channels
with ≥ 10 % of spend; ours (bagged) for 79 % (74–75 % on the next seeds), the single best fit
for 73 %. With noisier data (3 % / 5 % of the mean outcome instead of 2 %) coverage stays at
80 % / 79 % while 68 % / 55 % land within 20 %: the intervals widen instead of lying.

Identifiability
---------------
When two channels' spends move together (|corr| ≥ 0.9) no method can split their effect. Such
channels are reported as a group (``MmmFit.groups``): the group's contribution keeps its
interval; each member's point estimate is the group total split by spend share (a stated
convention, not a finding) and its interval runs from 0 to the group's upper bound, so nothing
looks more precise than it is. Warnings are codes with parameters (``MmmFit.warnings``),
rendered in English or Simplified Chinese by ``explain_warning``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.linalg import qr as _qr
from scipy.linalg import solve_triangular
from scipy.optimize import minimize, nnls

from lib.channels.curves import CurveFit, geometric_adstock, hill, hill_marginal
from lib.i18n import normalize_lang

_Array = np.ndarray

REVENUE_KINDS = frozenset({"revenue", "gmv", "sales"})
THETA_GRID: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
HILL_ALPHAS: tuple[float, ...] = (0.7, 1.0, 1.4, 2.0)
K_MULTIPLES: tuple[float, ...] = tuple(float(m) for m in np.geomspace(0.25, 4.0, 9))
START_ALPHA = 1.0  # Michaelis–Menten: where the search starts, and the scouting grid's only shape
# Baseline candidates (Fourier order, multiplicative seasonality, trend degree); BIC picks one.
BASELINE_SPECS: tuple[tuple[int, bool, int], ...] = tuple(
    (k, mult, deg) for k in (2, 3, 4) for mult in (False, True) for deg in (1, 2))
BLOCK_WEEKS = 8
BOOT_SWEEPS = 1
MAX_SWEEPS = 8
CURRENT_WEEKS = 13  # "current spend" = mean weekly spend over the last 13 weeks
COLLINEAR_CORR = 0.9
VIF_LIMIT = 10.0
MIN_ACTIVE_WEEKS = 8
EXTRAPOLATION_FAR = 1.5  # planned weekly spend above 1.5× the highest observed week is a guess
RESERVED_COLUMNS = frozenset({
    "week", "outcome", "fitted", "residual", "baseline", "baseline_trend", "baseline_seasonality",
    "baseline_festivals", "baseline_controls", "p10", "p50", "p90", "expected",
})

# Chinese New Year (Spring Festival) day, 2014–2030: the 年货节 (goods festival) runs in the weeks before it.
CNY_DATES: dict[int, str] = {
    2014: "2014-01-31", 2015: "2015-02-19", 2016: "2016-02-08", 2017: "2017-01-28", 2018: "2018-02-16",
    2019: "2019-02-05", 2020: "2020-01-25", 2021: "2021-02-12", 2022: "2022-02-01", 2023: "2023-01-22",
    2024: "2024-02-10", 2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06", 2028: "2028-01-26",
    2029: "2029-02-13", 2030: "2030-02-03",
}
FESTIVALS: tuple[str, ...] = (
    "double11", "double11_presale", "618", "618_lead", "nianhuojie", "spring_festival",
)
_DAY_NS = 86_400_000_000_000


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def _week_index(weeks: Any) -> pd.DatetimeIndex:
    """Week start dates as a day-normalised, nanosecond DatetimeIndex (``asi8`` in ns everywhere)."""
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(weeks))).normalize().as_unit("ns")


@dataclass(frozen=True, eq=False)
class MmmData:
    """One row per week: the total outcome, spend per channel, optional controls.

    ``weeks`` are the first days of consecutive weeks (Mondays by convention); ``spend`` has one
    column per paid channel (currency per week, ≥ 0); ``controls`` numeric columns with signed
    effects (price index, competitor sales, events as 0/1, …); ``volumes`` optional delivered
    volumes (impressions, clicks) kept alongside for reporting. ``outcome_kind`` decides whether
    results show ROI (revenue-like outcomes) or CPA (conversions, orders, new customers).
    """

    weeks: pd.DatetimeIndex
    outcome: _Array
    spend: pd.DataFrame
    controls: pd.DataFrame | None = None
    volumes: pd.DataFrame | None = None
    outcome_kind: str = "revenue"

    def __post_init__(self) -> None:
        weeks = _week_index(self.weeks)
        n = len(weeks)
        if n < 26:
            raise ValueError(f"a marketing-mix model needs at least 26 weeks, got {n}")
        if np.any(np.diff(weeks.asi8) != 7 * _DAY_NS):
            raise ValueError("weeks must be consecutive and 7 days apart, in ascending order")
        outcome = np.asarray(self.outcome, dtype=float).reshape(-1)
        if outcome.size != n or not np.all(np.isfinite(outcome)):
            raise ValueError("outcome must be one finite number per week")
        spend = pd.DataFrame(self.spend).reset_index(drop=True).astype(float)
        if len(spend) != n or spend.shape[1] == 0:
            raise ValueError("spend needs one row per week and at least one channel column")
        spend.columns = [str(c) for c in spend.columns]
        if not np.all(np.isfinite(spend.to_numpy())) or (spend.to_numpy() < 0).any():
            raise ValueError("spend must be finite and non-negative")
        if RESERVED_COLUMNS.intersection(spend.columns) or spend.columns.duplicated().any():
            raise ValueError(f"channel names must be unique and not one of {sorted(RESERVED_COLUMNS)}")
        controls = None
        if self.controls is not None and pd.DataFrame(self.controls).shape[1]:
            controls = pd.DataFrame(self.controls).reset_index(drop=True).astype(float)
            controls.columns = [str(c) for c in controls.columns]
            if len(controls) != n or not np.all(np.isfinite(controls.to_numpy())):
                raise ValueError("controls need one finite row per week")
        volumes = None if self.volumes is None else pd.DataFrame(self.volumes).reset_index(drop=True)
        object.__setattr__(self, "weeks", weeks)
        object.__setattr__(self, "outcome", outcome)
        object.__setattr__(self, "spend", spend)
        object.__setattr__(self, "controls", controls)
        object.__setattr__(self, "volumes", volumes)
        object.__setattr__(self, "outcome_kind", str(self.outcome_kind).strip().lower())

    @property
    def channels(self) -> list[str]:
        return list(self.spend.columns)

    @property
    def is_revenue(self) -> bool:
        return self.outcome_kind in REVENUE_KINDS


# ---------------------------------------------------------------------------
# Baseline design: trend, yearly seasonality, festivals, controls
# ---------------------------------------------------------------------------


def festival_indicators(weeks: Sequence[Any] | pd.DatetimeIndex) -> pd.DataFrame:
    """0/1 per week for China's shopping festivals; a week is the 7 days from its start date.

    double11: the week containing 11 November; double11_presale: the two weeks before it;
    618: the week containing 18 June; 618_lead: the two weeks before it; nianhuojie (年货节):
    the three weeks before the Spring Festival week; spring_festival: the week containing
    Chinese New Year's day and the week after (couriers pause, sales dip).
    """
    idx = _week_index(weeks)
    start = idx.asi8 // 86_400_000_000_000  # days since epoch
    out = {name: np.zeros(len(idx)) for name in FESTIVALS}
    years = sorted(set(idx.year) | {y + 1 for y in idx.year} | {y - 1 for y in idx.year})

    def week_of(day: pd.Timestamp) -> _Array:
        d = day.value // 86_400_000_000_000
        return (start <= d) & (d < start + 7)

    def weeks_before(day: pd.Timestamp, first: int, last: int) -> _Array:
        # weeks whose start lies 7·first … 7·last days before the start of the week containing `day`
        d = day.value // 86_400_000_000_000
        hit = np.zeros(len(idx), dtype=bool)
        for k in range(first, last + 1):
            hit |= (start <= d - 7 * k) & (d - 7 * k < start + 7)
        return hit

    for year in years:
        d11 = pd.Timestamp(year=year, month=11, day=11)
        out["double11"][week_of(d11)] = 1.0
        out["double11_presale"][weeks_before(d11, 1, 2)] = 1.0
        d618 = pd.Timestamp(year=year, month=6, day=18)
        out["618"][week_of(d618)] = 1.0
        out["618_lead"][weeks_before(d618, 1, 2)] = 1.0
        if year in CNY_DATES:
            cny = pd.Timestamp(CNY_DATES[year])
            out["nianhuojie"][weeks_before(cny, 1, 3)] = 1.0
            out["spring_festival"][week_of(cny) | week_of(cny + pd.Timedelta(days=7))] = 1.0
    return pd.DataFrame(out, index=idx)


@dataclass(frozen=True, eq=False)
class _Baseline:
    """How to build the baseline columns for any weeks (history or future), and their names.

    ``multiplicative``: seasonality and festivals scale with the trend (Prophet's multiplicative
    mode, linearised: (a + b·t)·(1 + s_t) = a + b·t + a·s_t + b·t·s_t), so every seasonal and
    festival column also enters multiplied by the centred trend. ``trend_degree`` 2 adds t².
    """

    origin_ns: int
    span_weeks: float
    fourier: int
    festivals: tuple[str, ...]
    control_names: tuple[str, ...]
    control_mean: _Array
    control_sd: _Array
    multiplicative: bool
    trend_degree: int
    columns: tuple[str, ...]
    groups: tuple[str, ...]  # per column: trend | seasonality | festivals | controls

    def matrix(self, weeks: Any, controls: _Array | None) -> _Array:
        weeks = _week_index(weeks)
        n = len(weeks)
        t = (weeks.asi8 - self.origin_ns) / (7 * _DAY_NS) / self.span_weeks - 0.5
        cols = [np.ones(n), t]
        if self.trend_degree >= 2:
            cols.append(t * t - 1.0 / 12.0)
        angle = 2 * np.pi * ((weeks + pd.Timedelta(days=3)).day_of_year.to_numpy() - 1) / 365.25
        seasonal = []
        for k in range(1, self.fourier + 1):
            seasonal += [np.sin(k * angle), np.cos(k * angle)]
        fest_cols = []
        if self.festivals:
            fest = festival_indicators(weeks)
            fest_cols = [fest[name].to_numpy() for name in self.festivals]
        cols += seasonal + fest_cols
        if self.multiplicative:
            cols += [c * t for c in seasonal] + [c * t for c in fest_cols]
        if self.control_names:
            z = (np.asarray(controls, dtype=float).reshape(n, -1) - self.control_mean) / self.control_sd
            cols += list(z.T)
        return np.column_stack(cols)

    @property
    def spec(self) -> dict[str, Any]:
        return {"fourier": self.fourier, "multiplicative": self.multiplicative, "trend_degree": self.trend_degree,
                "festivals": list(self.festivals), "controls": list(self.control_names)}


def _make_baseline(data: MmmData, festivals: bool, fourier: int = 2, multiplicative: bool = False,
                   trend_degree: int = 1) -> _Baseline:
    n = len(data.weeks)
    fest_names: tuple[str, ...] = ()
    if festivals:
        fest = festival_indicators(data.weeks)
        fest_names = tuple(name for name in FESTIVALS if 0 < fest[name].sum() < n)
    names: tuple[str, ...] = ()
    mean = sd = np.zeros(0)
    if data.controls is not None:
        c = data.controls.to_numpy()
        keep = c.std(axis=0) > 0
        names = tuple(str(x) for x in np.asarray(data.controls.columns)[keep])
        mean, sd = c[:, keep].mean(axis=0), c[:, keep].std(axis=0)
    seasonal = [f"{f}{k}" for k in range(1, fourier + 1) for f in ("sin", "cos")]
    trend = ["intercept", "trend"] + (["trend2"] if trend_degree >= 2 else [])
    columns: tuple[str, ...] = (*trend, *seasonal, *fest_names)
    groups: tuple[str, ...] = (("trend",) * len(trend) + ("seasonality",) * len(seasonal)
                               + ("festivals",) * len(fest_names))
    if multiplicative:
        columns += tuple(f"{c}*trend" for c in (*seasonal, *fest_names))
        groups += ("seasonality",) * len(seasonal) + ("festivals",) * len(fest_names)
    columns += names
    groups += ("controls",) * len(names)
    return _Baseline(int(data.weeks.asi8[0]), float(max(n - 1, 1)), fourier, fest_names, names, mean, sd,
                     multiplicative, trend_degree, columns, groups)


def _controls_array(data: MmmData, base: _Baseline) -> _Array | None:
    if not base.control_names or data.controls is None:
        return None
    return data.controls[list(base.control_names)].to_numpy()


# ---------------------------------------------------------------------------
# Media candidates and the variable-projection solver
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Candidates:
    """Per channel: every grid shape, its transformed column and its baseline-projected twin."""

    theta: _Array  # (J,)
    k: _Array  # (J,) absolute half-saturation in adstocked spend
    alpha: _Array  # (J,) Hill shape
    mult: _Array  # (J,) K as a multiple of the mean non-zero adstocked spend
    cols: _Array  # (J, n) hill(adstock(x; θ); 1, α, K)
    proj: _Array  # (J, n) cols with the baseline projected out
    norm2: _Array  # (J,) squared norms of proj
    last_adstock: _Array  # (J,) adstocked spend in the last observed week (carry-over into a plan)


def _candidates(x: _Array) -> _Candidates:
    """Every grid shape's transformed column for one channel's spend (projection filled in later)."""
    alphas = np.asarray(HILL_ALPHAS, dtype=float)
    mults = np.asarray(K_MULTIPLES, dtype=float)
    per_theta = len(alphas) * len(mults)
    thetas = np.repeat(np.asarray(THETA_GRID, dtype=float), per_theta)
    alpha_col = np.tile(np.repeat(alphas, len(mults)), len(THETA_GRID))
    mult_col = np.tile(mults, len(THETA_GRID) * len(alphas))
    ks = np.empty(thetas.size)
    last = np.empty(thetas.size)
    cols = np.empty((thetas.size, x.size))
    for i, theta in enumerate(THETA_GRID):
        a = geometric_adstock(x, theta)
        positive = a[a > 0]
        ref = float(positive.mean()) if positive.size else 1.0
        rows = slice(i * per_theta, (i + 1) * per_theta)
        ks[rows] = mult_col[rows] * ref
        last[rows] = a[-1]
        cols[rows] = hill(a[None, :], 1.0, alpha_col[rows, None], ks[rows, None])  # type: ignore[arg-type]
    return _Candidates(thetas, ks, alpha_col, mult_col, cols, cols, np.zeros(thetas.size), last)


_SINGLE_THREAD_MACS = 200_000  # OpenBLAS hands a product to its thread pool above ~262 144 multiply-adds


def _mm(a: _Array, b: _Array) -> _Array:
    """``a @ b`` in row chunks small enough for BLAS to stay on one thread.

    Thousands of medium products per fit are far slower through a thread pool (hand-off and
    spin-waiting, worst on a busy machine) than on one core; measured on 2 cores under load,
    a 10-channel fit took 3.9 s CPU threaded vs 1.3 s chunked.
    """
    rows = max(8, _SINGLE_THREAD_MACS // max(a.shape[1] * (b.shape[1] if b.ndim > 1 else 1), 1))
    if a.shape[0] <= rows:
        return a @ b
    return np.concatenate([a[i:i + rows] @ b for i in range(0, a.shape[0], rows)])


def _subset(cand: _Candidates, index: _Array) -> _Candidates:
    return _Candidates(cand.theta[index], cand.k[index], cand.alpha[index], cand.mult[index], cand.cols[index],
                       cand.proj[index], cand.norm2[index], cand.last_adstock[index])


def _project(cand: _Candidates, q: _Array) -> _Candidates:
    """The same candidates with the baseline columns (orthonormal ``q``) projected out."""
    proj = cand.cols - _mm(_mm(cand.cols, q), np.ascontiguousarray(q.T))
    return replace(cand, proj=proj, norm2=np.einsum("ij,ij->i", proj, proj))


def _start_index(cand: _Candidates) -> int:
    """The grid point closest to θ = 0.3, α = 1, K = mean adstocked spend: where the search starts."""
    score = np.abs(cand.theta - 0.3) + np.abs(np.log(cand.mult)) + np.abs(cand.alpha - START_ALPHA)
    return int(np.argmin(score))


def _solve(x: _Array, y: _Array) -> tuple[_Array, float]:
    """Non-negative least squares; returns coefficients and the residual sum of squares."""
    coef, rnorm = nnls(x, y, maxiter=50 * max(x.shape[1], 1))
    return coef, float(rnorm) ** 2


def _select(cands: Sequence[_Candidates], y_p: _Array, start: _Array, sweeps: int) -> tuple[_Array, _Array, float]:
    """Coordinate descent over channels: each channel in turn takes the shape with the lowest RSS.

    All shapes of a channel are scored at once: with the other channels' active (β > 0) columns S
    fixed, adding column m lowers the RSS by ``(mᵀr⊥)² / ‖m⊥‖²`` (r⊥, m⊥ = residuals after
    regressing on S), and by nothing when ``mᵀr⊥ ≤ 0`` (β must stay ≥ 0). The best three are then
    checked with a real NNLS and a move is kept only if that RSS falls, so the search never
    goes uphill. Returns the choice per channel, the media coefficients and the RSS.
    """
    n_ch = len(cands)
    choice = start.copy()
    x = np.column_stack([cands[c].proj[choice[c]] for c in range(n_ch)])
    coef, best = _solve(x, y_p)
    for _ in range(sweeps):
        changed = False
        for c in range(n_ch):
            proj, norms = cands[c].proj, cands[c].norm2
            vc = proj @ y_p
            others = [o for o in range(n_ch) if o != c and coef[o] > 0]
            if others:
                xs = x[:, others]
                g = _mm(proj, xs)  # (J, |S|)
                a_inv = np.linalg.pinv(xs.T @ xs)
                num = vc - g @ (a_inv @ (xs.T @ y_p))
                den = norms - np.einsum("ij,ij->i", g @ a_inv, g)
            else:
                num, den = vc, norms
            ok = (num > 0) & (den > 1e-9 * np.maximum(norms, 1e-300))
            gain = np.where(ok, num * num / np.where(ok, den, 1.0), 0.0)
            if not np.any(gain > 0):
                continue
            keep = x[:, c].copy()
            best_j = choice[c]
            for j in np.argsort(gain)[::-1][:3]:
                if j == choice[c]:
                    continue
                x[:, c] = proj[j]
                b, rss = _solve(x, y_p)
                if rss < best - 1e-12 * abs(best):
                    best, best_j, coef, keep = rss, int(j), b, x[:, c].copy()
            x[:, c] = keep
            if best_j != choice[c]:
                choice[c] = best_j
                changed = True
        if not changed:
            break
    return choice, coef, best


@dataclass(frozen=True, eq=False)
class _Design:
    base: _Baseline
    bmat: _Array
    q: _Array
    r: _Array
    piv: _Array
    rank: int
    cands: tuple[_Candidates, ...]
    y_p: _Array
    choice: _Array
    coef: _Array
    rss: float
    bic: float


def _design(data: MmmData, festivals: bool, spec: tuple[int, bool, int], raw: Sequence[_Candidates],
            ys: _Array, start: _Array | None = None) -> _Design:
    """Baseline columns for ``spec`` = (Fourier order, multiplicative, trend degree), projected media, the fit."""
    n = len(ys)
    base = _make_baseline(data, festivals, *spec)
    bmat = base.matrix(data.weeks, _controls_array(data, base))
    q_full, r_full, piv = _qr(bmat, mode="economic", pivoting=True)
    rank = int(np.sum(np.abs(np.diag(r_full)) > 1e-9 * abs(r_full[0, 0])))
    q = q_full[:, :rank]
    cands = tuple(_project(cd, q) for cd in raw)
    y_p = ys - q @ (q.T @ ys)
    if start is None:
        start = np.array([_start_index(cd) for cd in cands])
    choice, coef, rss = _select(cands, y_p, start, MAX_SWEEPS)
    k = rank + 4 * int(np.sum(coef > 0))
    bic = n * math.log(max(rss, 1e-300) / n) + k * math.log(n)
    return _Design(base, bmat, q, r_full, piv, rank, cands, y_p, choice, coef, rss, bic)


def _block_indices(rng: np.random.Generator, n: int, length: int, draws: int, block: int = BLOCK_WEEKS) -> _Array:
    """Moving-block bootstrap positions into a series of length n: (draws, length)."""
    block = max(1, min(block, n))
    per = -(-length // block)
    starts = rng.integers(0, n - block + 1, size=(draws, per))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(draws, per * block)
    return idx[:, :length]


def _corr_groups(series: _Array, limit: float) -> list[tuple[list[int], float]]:
    """Connected groups of columns whose weekly series correlate at |corr| ≥ limit, with the weakest link."""
    n_ch = series.shape[1]
    sd = series.std(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.atleast_2d(np.nan_to_num(np.corrcoef(series.T))) if n_ch > 1 else np.ones((1, 1))
    parent = list(range(n_ch))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n_ch):
        for j in range(i + 1, n_ch):
            if sd[i] > 0 and sd[j] > 0 and abs(corr[i, j]) >= limit:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(n_ch):
        groups.setdefault(find(i), []).append(i)
    out = []
    for members in groups.values():
        if len(members) > 1:
            sub = np.abs(corr[np.ix_(members, members)])
            links = [max(sub[a, b] for b in range(len(members)) if b != a) for a in range(len(members))]
            out.append((sorted(members), float(min(links))))
    return out


def _vif(x: _Array) -> _Array:
    """Variance-inflation factor of each column of an (already baseline-projected) design."""
    n_ch = x.shape[1]
    out = np.ones(n_ch)
    for c in range(n_ch):
        y = x[:, c]
        if n_ch < 2 or not np.any(y):
            continue
        others = np.delete(x, c, axis=1)
        coef, *_ = np.linalg.lstsq(others, y, rcond=None)
        resid = y - others @ coef
        ratio = float(resid @ resid) / float(y @ y)
        out[c] = np.inf if ratio <= 1e-12 else 1.0 / ratio
    return out


def _pct(values: _Array, q: float, axis: int = 0) -> _Array:
    return np.percentile(values, q, axis=axis)


TRIM = 0.2  # bagged estimates average the central 60 % of the bootstrap replicates


def _central(values: _Array) -> _Array:
    """Mask of the draws between the TRIM and 1 − TRIM quantiles (all draws if that leaves none)."""
    lo, hi = np.percentile(values, [100 * TRIM, 100 * (1 - TRIM)])
    keep = (values >= lo) & (values <= hi)
    return keep if keep.any() else np.ones(values.size, dtype=bool)


def _trim_mean(values: _Array) -> _Array:
    """Trimmed mean over axis 0 (the central 60 % of draws, per column)."""
    ordered = np.sort(values, axis=0)
    cut = int(math.floor(TRIM * ordered.shape[0]))
    return ordered[cut: ordered.shape[0] - cut].mean(axis=0) if ordered.shape[0] > 2 * cut else ordered.mean(axis=0)


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelResult:
    """One channel over the fitted history. Intervals are 80 % (P10–P90 of the bootstrap).

    ``roi`` = contribution / spend (revenue-like outcomes, else None); ``cpa`` = spend /
    contribution (conversion-type outcomes, else None; ∞ when the contribution is 0).
    ``marginal_roi`` is the extra weekly outcome per extra unit of weekly spend at the current
    spend (mean of the last 13 weeks, steady state) — mROAS for revenue, 1 / marginal CPA
    otherwise. ``identifiable`` is False when the channel's spend moves with another's: the
    split between them is then a convention (spend share), not a finding, and ``group`` indexes
    ``MmmFit.groups``. ``theta`` and ``saturation`` (Hill parameters on adstocked spend: β in
    outcome units per week, α, γ = half-saturation point) describe the single best fit; the
    contribution, ROI and marginal ROI are bagged over the bootstrap replicates.
    """

    channel: str
    spend: float
    share_of_spend: float
    contribution: float
    contribution_low: float
    contribution_high: float
    roi: float | None
    roi_low: float | None
    roi_high: float | None
    cpa: float | None
    cpa_low: float | None
    cpa_high: float | None
    current_weekly_spend: float
    marginal_roi: float
    marginal_roi_low: float
    marginal_roi_high: float
    theta: float
    saturation: Mapping[str, float]
    identifiable: bool = True
    group: int | None = None


@dataclass(frozen=True)
class GroupResult:
    """Channels whose spends cannot be told apart, reported together (80 % interval)."""

    channels: tuple[str, ...]
    spend: float
    contribution: float
    contribution_low: float
    contribution_high: float
    corr: float


@dataclass(frozen=True, eq=False)
class MmmFit:
    """A fitted model: per-channel results, the weekly decomposition, fit quality, warnings, draws.

    ``decomposition`` has one row per week: ``outcome``, ``fitted``, ``residual``, ``baseline`` (and
    its parts ``baseline_trend`` / ``_seasonality`` / ``_festivals`` / ``_controls``) and one column
    per channel; ``baseline + Σ channels == fitted`` every week and ``residual = outcome − fitted``.
    ``warnings`` are ``(code, params)`` pairs; ``explain_warning`` renders them.
    """

    data: MmmData
    channels: tuple[str, ...]
    results: Mapping[str, ChannelResult]
    groups: tuple[GroupResult, ...]
    decomposition: pd.DataFrame
    baseline_total: float
    baseline_total_low: float
    baseline_total_high: float
    r2: float
    mape: float
    nrmse: float
    seconds: float
    warnings: tuple[tuple[str, dict[str, Any]], ...]
    n_boot: int
    seed: int
    baseline_spec: Mapping[str, Any]
    interval_method: str
    _base: _Baseline = field(repr=False)
    _cands: tuple[_Candidates, ...] = field(repr=False)
    _choice: _Array = field(repr=False)  # (C,) grid index per channel
    _coef: _Array = field(repr=False)  # (C,) media coefficients β (outcome units)
    _gamma: _Array = field(repr=False)  # (p,) baseline coefficients (outcome units)
    _draw_choice: _Array = field(repr=False)  # (B, C)
    _draw_coef: _Array = field(repr=False)  # (B, C)
    _draw_gamma: _Array = field(repr=False)  # (B, p)
    _residuals: _Array = field(repr=False)  # (n,) centred, inflated residuals (outcome units) for noise draws
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def collinear_groups(self) -> list[list[str]]:
        return [list(g.channels) for g in self.groups]

    @property
    def media_total(self) -> float:
        return float(sum(r.contribution for r in self.results.values()))

    def summary(self) -> pd.DataFrame:
        """One row per channel: spend, contribution with interval, ROI or CPA with interval, mROI, shape."""
        total = self.media_total or 1.0
        rows = []
        for name in self.channels:
            r = self.results[name]
            rows.append({
                "channel": name, "spend": r.spend, "share_of_spend": r.share_of_spend,
                "contribution": r.contribution, "contribution_low": r.contribution_low,
                "contribution_high": r.contribution_high, "share_of_effect": r.contribution / total,
                "roi": r.roi, "roi_low": r.roi_low, "roi_high": r.roi_high,
                "cpa": r.cpa, "cpa_low": r.cpa_low, "cpa_high": r.cpa_high,
                "current_weekly_spend": r.current_weekly_spend, "marginal_roi": r.marginal_roi,
                "marginal_roi_low": r.marginal_roi_low, "marginal_roi_high": r.marginal_roi_high,
                "theta": r.theta, "alpha": r.saturation["alpha"], "half_saturation": r.saturation["gamma"],
                "identifiable": r.identifiable,
            })
        return pd.DataFrame(rows)

    def curve(self, channel: str) -> CurveFit | None:
        """The single best fit's response curve as a ``lib.curves.CurveFit`` (None when β = 0).

        Lets the existing optimiser and charts use the model's curves; the bagged curve with its
        band is ``response_curve``.
        """
        c = self.channels.index(channel)
        beta = float(self._coef[c])
        if beta <= 0:
            return None
        cand, j = self._cands[c], int(self._choice[c])
        spend = self.data.spend[channel].to_numpy()
        return CurveFit(
            family="hill", params={"beta": beta, "alpha": float(cand.alpha[j]), "gamma": float(cand.k[j])},
            theta=float(cand.theta[j]), r2=self.r2, mape=self.mape, n_weeks=len(spend),
            max_observed_weekly_spend=float(spend.max()) if spend.max() > 0 else None,
            metric=self.data.outcome_kind,
        )


# ---------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------


def fit_mmm(
    data: MmmData,
    *,
    n_boot: int = 200,
    seed: int = 0,
    festivals: bool = True,
    bootstrap: str = "pairs",
    reselect: bool = True,
    progress: Callable[[float, str], None] | None = None,
) -> MmmFit:
    """Fit the model (see the module docstring) and bootstrap its intervals.

    ``festivals`` adds China's shopping-festival indicators to the baseline. ``bootstrap``:
    ``"pairs"`` (default) resamples whole weeks in 8-week blocks; ``"residual"`` adds block-resampled
    residuals to the fitted values. ``reselect=False`` holds every channel's shape at the point
    estimate inside the bootstrap. Both alternatives are faster and measured to under-cover (kept
    for the benchmark's comparison). ``progress(fraction, stage)`` is called as work advances.
    The fit is deterministic for a given ``seed``.
    """
    if bootstrap not in ("pairs", "residual"):
        raise ValueError("bootstrap must be 'pairs' or 'residual'")
    t0 = time.perf_counter()
    notify = progress or (lambda fraction, stage: None)
    names = data.channels
    n, n_ch = len(data.weeks), len(names)
    n_boot = max(int(n_boot), 1)
    y = data.outcome
    scale = float(np.std(y)) or float(np.abs(y).mean()) or 1.0
    ys = y / scale
    spend = data.spend.to_numpy()
    active = spend.sum(axis=0) > 0

    # ---- baseline form by BIC on a coarse media grid, then the full grid ----
    specs = BASELINE_SPECS if n >= 78 else ((1, False, 1),) if n >= 52 else ((0, False, 1),)
    raw = [_candidates(spend[:, c]) for c in range(n_ch)]
    coarse_index = np.flatnonzero((raw[0].alpha == START_ALPHA) & np.isin(raw[0].mult, np.asarray(K_MULTIPLES)[::2]))
    coarse = [_subset(cd, coarse_index) for cd in raw]
    scout: _Design | None = None
    best_spec = specs[0]
    for spec in specs:
        trial = _design(data, festivals, spec, coarse, ys)
        if scout is None or trial.bic < scout.bic:
            scout, best_spec = trial, spec
    assert scout is not None
    design = _design(data, festivals, best_spec, raw, ys, start=coarse_index[scout.choice])
    base, bmat, q, rank = design.base, design.bmat, design.q, design.rank
    cands, choice, coef = design.cands, design.choice, design.coef
    notify(0.2, "fit")

    def baseline_coef(target: _Array, media: _Array) -> _Array:
        """Least-squares baseline coefficients given the media part (pivoted QR, rank-deficient safe)."""
        g = np.zeros(bmat.shape[1])
        g[design.piv[:rank]] = solve_triangular(design.r[:rank, :rank], q.T @ (target - media))
        return g

    media_cols = np.column_stack([cands[c].cols[choice[c]] for c in range(n_ch)])
    gamma_s = baseline_coef(ys, media_cols @ coef)
    fitted_s = bmat @ gamma_s + media_cols @ coef
    resid_s = ys - fitted_s
    p_eff = rank + 4 * int(np.sum(coef > 0))
    resid_boot = (resid_s - resid_s.mean()) * math.sqrt(n / max(n - p_eff, n / 4))

    # ---- moving-block bootstrap -----------------------------------------
    rng = np.random.default_rng(seed)
    blocks = _block_indices(rng, n, n, n_boot)
    draw_choice = np.empty((n_boot, n_ch), dtype=int)
    draw_coef = np.empty((n_boot, n_ch))
    draw_gamma = np.empty((n_boot, bmat.shape[1]))
    x_point = np.column_stack([cands[c].proj[choice[c]] for c in range(n_ch)])
    all_cols = np.concatenate([cd.cols for cd in cands])
    offsets = np.cumsum([0] + [len(cd.theta) for cd in cands])
    if bootstrap == "residual":
        y_star = fitted_s[None, :] + resid_boot[blocks]  # (B, n)
        y_star_p = y_star - (y_star @ q) @ q.T
    for b in range(n_boot):
        if bootstrap == "residual":
            if reselect:
                ch, cf, _ = _select(cands, y_star_p[b], choice, BOOT_SWEEPS)
            else:
                ch, (cf, _) = choice, _solve(x_point, y_star_p[b])
            media_b = np.zeros(n)
            for c in range(n_ch):
                if cf[c] > 0:
                    media_b += cands[c].cols[ch[c]] * cf[c]
            g_b = baseline_coef(y_star[b], media_b)
        else:  # pairs: resample whole weeks (outcome, baseline row, every candidate column) in blocks
            idx = blocks[b]
            bm = bmat[idx]
            qb_full, rb, pb = _qr(bm, mode="economic", pivoting=True)
            rk = int(np.sum(np.abs(np.diag(rb)) > 1e-9 * abs(rb[0, 0])))
            qb = qb_full[:, :rk]
            yb = ys[idx]
            yb_p = yb - qb @ (qb.T @ yb)
            if reselect:
                # one projection for every channel's shapes at once (few, large BLAS calls)
                sub = all_cols[:, idx]
                proj_all = sub - _mm(_mm(sub, qb), np.ascontiguousarray(qb.T))
                norms_all = np.einsum("ij,ij->i", proj_all, proj_all)
                cb = tuple(replace(cd, proj=proj_all[lo:hi], norm2=norms_all[lo:hi])
                           for cd, lo, hi in zip(cands, offsets[:-1], offsets[1:]))
                ch, cf, _ = _select(cb, yb_p, choice, BOOT_SWEEPS)
            else:
                xb = np.column_stack([cands[c].cols[choice[c], idx] for c in range(n_ch)])
                ch, (cf, _) = choice, _solve(xb - qb @ (qb.T @ xb), yb_p)
            media_b = np.zeros(n)
            for c in range(n_ch):
                if cf[c] > 0:
                    media_b += cands[c].cols[ch[c], idx] * cf[c]
            if rk == rank:
                g_b = np.zeros(bmat.shape[1])
                g_b[pb[:rk]] = solve_triangular(rb[:rk, :rk], qb.T @ (yb - media_b))
            else:  # a festival or control missing from the resampled weeks: baseline given this media
                media_full = np.zeros(n)
                for c in range(n_ch):
                    if cf[c] > 0:
                        media_full += cands[c].cols[ch[c]] * cf[c]
                g_b = baseline_coef(ys, media_full)
        draw_choice[b], draw_coef[b], draw_gamma[b] = ch, cf, g_b
        if progress is not None and b % 25 == 0:
            notify(0.2 + 0.75 * b / n_boot, "bootstrap")

    # ---- back to outcome units; the reported model is the bagged one ------
    # Each channel's weekly contribution is the mean path of the bootstrap replicates whose total lies
    # in the central 60 % (a trimmed mean: bagging steadies the shape choice, trimming the skew); the
    # baseline is the least-squares fit of its columns to what the media leave. Fitted = baseline +
    # Σ channels, exactly, every week.
    coef_o = coef * scale
    draw_coef_o, draw_gamma_o = draw_coef * scale, draw_gamma * scale
    col_sums = [cd.cols.sum(axis=1) for cd in cands]
    draw_contrib = np.column_stack([draw_coef_o[:, c] * col_sums[c][draw_choice[:, c]] for c in range(n_ch)])
    contrib_weekly = np.zeros((n, n_ch))
    for c in range(n_ch):
        keep = _central(draw_contrib[:, c])
        jb = draw_choice[keep, c]
        contrib_weekly[:, c] = (draw_coef_o[keep, c, None] * cands[c].cols[jb]).mean(axis=0)
    # the baseline is what its columns explain once the media part is fixed at the bagged estimate
    gamma_o = baseline_coef(ys, contrib_weekly.sum(axis=1) / scale) * scale
    parts = {}
    for group in ("trend", "seasonality", "festivals", "controls"):
        mask = np.array([g == group for g in base.groups])
        parts[group] = bmat[:, mask] @ gamma_o[mask] if mask.any() else np.zeros(n)
    baseline_w = parts["trend"] + parts["seasonality"] + parts["festivals"] + parts["controls"]
    point_contrib = contrib_weekly.sum(axis=0)
    draw_baseline_total = draw_gamma_o @ bmat.sum(axis=0)

    # ---- identifiability -------------------------------------------------
    warnings: list[tuple[str, dict[str, Any]]] = []
    groups_idx = _corr_groups(spend, COLLINEAR_CORR)
    grouped = {c for members, _ in groups_idx for c in members}
    # VIF on the chosen, baseline-projected media columns (one summed column per spend group)
    units = [[c] for c in range(n_ch) if active[c] and c not in grouped] + [m for m, _ in groups_idx]
    if len(units) > 1:
        unit_x = np.column_stack([x_point[:, u].sum(axis=1) for u in units])
        for u, v in zip(units, _vif(unit_x)):
            if len(u) == 1 and v >= VIF_LIMIT:
                warnings.append(("mmm.vif", {"channel": names[u[0]], "vif": round(float(min(v, 1e6)), 1)}))
    group_results = []
    member_group: dict[int, int] = {}
    total_spend = spend.sum(axis=0)
    for gi, (members, corr) in enumerate(groups_idx):
        for m in members:
            member_group[m] = gi
        draws = draw_contrib[:, members].sum(axis=1)
        group_results.append(GroupResult(
            channels=tuple(names[m] for m in members), spend=float(total_spend[members].sum()),
            contribution=float(point_contrib[members].sum()), contribution_low=float(_pct(draws, 10)),
            contribution_high=float(_pct(draws, 90)), corr=round(corr, 3)))
        warnings.append(("mmm.collinear", {"channels": [names[m] for m in members], "corr": round(corr, 3)}))

    # in a group the split is by spend share, week by week the same way
    report_weekly = contrib_weekly.copy()
    report_point = point_contrib.copy()
    report_low, report_high = _pct(draw_contrib, 10), _pct(draw_contrib, 90)
    ident = np.ones(n_ch, dtype=bool)
    for gi, (members, _) in enumerate(groups_idx):
        share = total_spend[members] / max(float(total_spend[members].sum()), 1e-300)
        weekly_group = contrib_weekly[:, members].sum(axis=1)
        for k, m in enumerate(members):
            report_weekly[:, m] = weekly_group * share[k]
            report_point[m] = group_results[gi].contribution * share[k]
            report_low[m], report_high[m] = 0.0, group_results[gi].contribution_high
            ident[m] = False

    # ---- per channel results ---------------------------------------------
    results: dict[str, ChannelResult] = {}
    all_spend = float(total_spend.sum()) or 1.0
    for c, name in enumerate(names):
        s = float(total_spend[c])
        cur = float(spend[max(0, n - CURRENT_WEEKS):, c].mean())
        if cur <= 0:
            cur = float(spend[:, c].mean())
        cd, j = cands[c], int(choice[c])
        jb = draw_choice[:, c]
        m_draws = draw_coef_o[:, c] * hill_marginal(cur / (1 - cd.theta[jb]), 1.0, cd.alpha[jb], cd.k[jb]) \
            / (1 - cd.theta[jb])  # type: ignore[arg-type]
        m_point = float(m_draws[_central(m_draws)].mean())
        contrib, lo, hi = float(report_point[c]), float(report_low[c]), float(report_high[c])
        roi = roi_lo = roi_hi = cpa = cpa_lo = cpa_hi = None
        if s > 0 and data.is_revenue:
            roi, roi_lo, roi_hi = contrib / s, lo / s, hi / s
        elif s > 0:
            cpa = s / contrib if contrib > 0 else math.inf
            cpa_lo = s / hi if hi > 0 else math.inf
            cpa_hi = s / lo if lo > 0 else math.inf
        m_lo = 0.0 if not ident[c] else float(_pct(m_draws, 10))
        results[name] = ChannelResult(
            channel=name, spend=s, share_of_spend=s / all_spend, contribution=contrib,
            contribution_low=lo, contribution_high=hi, roi=roi, roi_low=roi_lo, roi_high=roi_hi,
            cpa=cpa, cpa_low=cpa_lo, cpa_high=cpa_hi, current_weekly_spend=cur, marginal_roi=m_point,
            marginal_roi_low=m_lo, marginal_roi_high=float(_pct(m_draws, 90)), theta=float(cd.theta[j]),
            saturation={"beta": float(coef_o[c]), "alpha": float(cd.alpha[j]), "gamma": float(cd.k[j])},
            identifiable=bool(ident[c]), group=member_group.get(c),
        )
        if not active[c]:
            warnings.append(("mmm.no_spend", {"channel": name}))
            continue
        nonzero = int((spend[:, c] > 0).sum())
        cv = float(spend[:, c].std() / max(spend[:, c].mean(), 1e-300))
        if nonzero < MIN_ACTIVE_WEEKS or cv < 0.1:
            warnings.append(("mmm.flat_spend", {"channel": name, "weeks": nonzero, "cv": round(cv, 2)}))
        if ident[c]:
            if hi <= 0:
                warnings.append(("mmm.no_effect", {"channel": name}))
            elif hi - lo > contrib:
                warnings.append(("mmm.wide_interval", {"channel": name, "contribution": contrib, "low": lo,
                                                       "high": hi}))

    decomposition = pd.DataFrame({
        "week": data.weeks, "outcome": y, "fitted": 0.0, "residual": 0.0, "baseline": baseline_w,
        "baseline_trend": parts["trend"], "baseline_seasonality": parts["seasonality"],
        "baseline_festivals": parts["festivals"], "baseline_controls": parts["controls"],
    })
    for c, name in enumerate(names):
        decomposition[name] = report_weekly[:, c]
    fitted = baseline_w + report_weekly.sum(axis=1)
    decomposition["fitted"] = fitted
    decomposition["residual"] = y - fitted
    residual = y - fitted
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / ss_tot if ss_tot > 0 else float("nan")
    nonzero_y = np.abs(y) > 0
    mape = float(np.mean(np.abs(residual[nonzero_y] / y[nonzero_y]))) if nonzero_y.any() else float("nan")
    y_range = float(y.max() - y.min())
    nrmse = float(np.sqrt(np.mean(residual**2)) / y_range) if y_range > 0 else float("nan")
    if n < 78:
        warnings.append(("mmm.short_history", {"weeks": n}))
    if r2 < 0.5:
        warnings.append(("mmm.weak_fit", {"r2": round(r2, 3)}))

    notify(1.0, "done")
    method = (f"moving-block {bootstrap} bootstrap ({BLOCK_WEEKS}-week blocks, B={n_boot}, "
              + ("shapes re-chosen in every replicate)" if reselect else "shapes held fixed)"))
    return MmmFit(
        data=data, channels=tuple(names), results=results, groups=tuple(group_results),
        decomposition=decomposition, baseline_total=float(baseline_w.sum()),
        baseline_total_low=float(_pct(draw_baseline_total, 10)),
        baseline_total_high=float(_pct(draw_baseline_total, 90)), r2=r2, mape=mape, nrmse=nrmse,
        seconds=time.perf_counter() - t0, warnings=tuple(warnings), n_boot=n_boot, seed=seed,
        baseline_spec=base.spec, interval_method=method,
        _base=base, _cands=cands, _choice=choice, _coef=coef_o, _gamma=gamma_o, _draw_choice=draw_choice,
        _draw_coef=draw_coef_o, _draw_gamma=draw_gamma_o, _residuals=resid_boot * scale,
    )


def draw_contributions(fit: MmmFit) -> pd.DataFrame:
    """Bootstrap draws of each channel's total contribution over the history (B rows × channels).

    These are the model's own draws, before the spend-share convention for collinear groups.
    """
    out = {}
    for c, name in enumerate(fit.channels):
        sums = fit._cands[c].cols.sum(axis=1)
        out[name] = fit._draw_coef[:, c] * sums[fit._draw_choice[:, c]]
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------
# Response curves
# ---------------------------------------------------------------------------


def _draw_shapes(fit: MmmFit, c: int) -> tuple[_Array, _Array, _Array, _Array, _Array]:
    """Per bootstrap draw for channel c: β, θ, α, K and the last observed adstocked spend."""
    cd, jb = fit._cands[c], fit._draw_choice[:, c]
    return fit._draw_coef[:, c], cd.theta[jb], cd.alpha[jb], cd.k[jb], cd.last_adstock[jb]


def response_curve(fit: MmmFit, channel: str, spend_grid: Sequence[float] | _Array | None = None,
                   points: int = 41) -> pd.DataFrame:
    """Weekly spend sustained at steady state → expected weekly contribution, with its 80 % band.

    Columns: ``spend`` (per week), ``expected`` (bagged: trimmed mean over the bootstrap replicates,
    like the contributions), ``p10`` / ``p50`` / ``p90`` over the replicates, ``marginal`` (bagged
    marginal return at that spend, mROI for revenue) and ``beyond_observed`` (spend
    above the highest observed week: the curve is extrapolated there). The default grid runs
    from 0 to twice the highest observed weekly spend. For a channel in a collinear group the
    curve is the model's own split and should be read with the group's warning.
    """
    c = fit.channels.index(channel)
    max_obs = float(fit.data.spend[channel].max())
    grid = (np.linspace(0.0, 2.0 * max(max_obs, 1.0), int(points)) if spend_grid is None
            else np.asarray(spend_grid, dtype=float))
    beta, theta, alpha, k, _ = _draw_shapes(fit, c)
    a = grid[None, :] / (1.0 - theta[:, None])
    draws = beta[:, None] * hill(a, 1.0, alpha[:, None], k[:, None])  # type: ignore[arg-type]
    marginal = beta[:, None] * hill_marginal(np.maximum(a, 1e-9), 1.0, alpha[:, None], k[:, None]) \
        / (1.0 - theta[:, None])  # type: ignore[arg-type]
    expected, marginal = _trim_mean(draws), _trim_mean(marginal)
    return pd.DataFrame({
        "spend": grid, "expected": expected, "p10": _pct(draws, 10), "p50": _pct(draws, 50),
        "p90": _pct(draws, 90), "marginal": marginal, "beyond_observed": grid > max_obs * (1 + 1e-9),
    })


# ---------------------------------------------------------------------------
# Plans: forward weeks, outcome draws, targets, allocation
# ---------------------------------------------------------------------------


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
    draws: _Array
    weekly_draws: _Array
    media_draws: _Array
    baseline_draws: _Array
    expected: float
    expected_weekly: _Array
    warnings: tuple[tuple[str, dict[str, Any]], ...] = ()

    @property
    def p10(self) -> float:
        return float(_pct(self.draws, 10))

    @property
    def p50(self) -> float:
        return float(_pct(self.draws, 50))

    @property
    def p90(self) -> float:
        return float(_pct(self.draws, 90))

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
        frame["p10"] = _pct(self.weekly_draws, 10)
        frame["p50"] = _pct(self.weekly_draws, 50)
        frame["p90"] = _pct(self.weekly_draws, 90)
        return frame


@dataclass(frozen=True, eq=False)
class _PlanContext:
    weeks: pd.DatetimeIndex
    base_draws: _Array  # (B, H)
    noise: _Array  # (B, H)


def _future_weeks(fit: MmmFit, weeks: int) -> pd.DatetimeIndex:
    last = fit.data.weeks[-1]
    return _week_index([last + pd.Timedelta(weeks=i) for i in range(1, int(weeks) + 1)])


def _plan_context(fit: MmmFit, weeks: int, controls: pd.DataFrame | None = None) -> _PlanContext:
    """Baseline draws and noise for the next ``weeks`` weeks; cached (they do not depend on spend)."""
    key = ("plan", int(weeks), None if controls is None else pd.util.hash_pandas_object(controls).sum())
    if key in fit._cache:
        return fit._cache[key]
    future = _future_weeks(fit, weeks)
    base = fit._base
    ctrl = None
    if base.control_names:
        if controls is not None:
            ctrl = pd.DataFrame(controls).reset_index(drop=True)[list(base.control_names)].to_numpy(dtype=float)
            if len(ctrl) != weeks:
                raise ValueError(f"future controls need {weeks} rows")
        else:
            recent = _controls_array(fit.data, base)
            assert recent is not None
            ctrl = np.tile(recent[-CURRENT_WEEKS:].mean(axis=0), (weeks, 1))
    bmat = base.matrix(future, ctrl)
    rng = np.random.default_rng(fit.seed + 7919)
    noise = fit._residuals[_block_indices(rng, len(fit._residuals), weeks, fit.n_boot)]
    ctx = _PlanContext(future, fit._draw_gamma @ bmat.T, noise)
    fit._cache[key] = ctx
    return ctx


def _media_path(shapes: tuple[_Array, _Array, _Array, _Array, _Array], plan: _Array,
                pattern: _Array | None = None) -> tuple[_Array, _Array | None]:
    """Weekly media contribution (D, H) of one channel's weekly spend ``plan`` (H,) for D shape draws.

    The adstock carries on from the last observed week. With ``pattern`` (H,), also the derivative
    (D,) of the plan's total contribution with respect to v when the plan is ``v · pattern``.
    """
    beta, theta, alpha, k, a = shapes
    a = a.copy()
    out = np.empty((beta.size, plan.size))
    grad = None if pattern is None else np.zeros(beta.size)
    da = np.zeros(beta.size)
    for t, x in enumerate(plan):
        a = x + theta * a
        out[:, t] = beta * hill(a, 1.0, alpha, k)  # type: ignore[arg-type]
        if grad is not None and pattern is not None:
            da = pattern[t] + theta * da
            grad += beta * hill_marginal(np.maximum(a, 1e-4 * k), 1.0, alpha, k) * da  # type: ignore[arg-type]
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
        if not plan.any() and not fit._cands[c].last_adstock.any():
            continue
        media += _media_path(_draw_shapes(fit, c), plan)[0]
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


def _units(fit: MmmFit) -> list[tuple[list[int], _Array]]:
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
    n_ch = len(fit.channels)
    units = _units(fit)
    lo = np.zeros(n_ch)
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
    shapes = [_draw_shapes(fit, c) for c in range(n_ch)]
    ones = np.ones(weeks)

    def value_and_grad(u_total: _Array) -> tuple[float, _Array]:
        val, grad = 0.0, np.zeros(len(units))
        for i, (idx, w) in enumerate(units):
            for c, share in zip(idx, w):
                path, g = _media_path(shapes[c], np.full(weeks, u_total[i] * share / weeks), ones)
                val += float(path.sum(axis=1).mean())
                grad[i] += float(g.mean()) * share / weeks  # type: ignore[union-attr]
        return val, grad

    # starts: current mix and historical mix, clipped into the bounds and rescaled to the budget
    mixes = [current_mix(fit), {c: float(s) for c, s in (fit.data.spend.sum() / max(
        float(fit.data.spend.to_numpy().sum()), 1e-300)).items()}]
    best_x, best_val = None, -np.inf
    budget = max(total_budget, 1e-300)
    scale = max(value_and_grad(np.clip(np.full(len(units), total_budget / len(units)), u_lo, u_hi))[0], 1e-300)

    def objective(share: _Array) -> tuple[float, _Array]:  # variables are shares of the budget
        val, grad = value_and_grad(share * budget)
        return -val / scale, -grad * budget / scale

    for mix in mixes:
        x0 = np.array([sum(mix[fit.channels[c]] for c in idx) for idx, _ in units]) * total_budget
        x0 = np.clip(x0, u_lo, u_hi)
        if x0.sum() > 0:
            x0 = np.clip(x0 * total_budget / x0.sum(), u_lo, u_hi)
        if total_budget > 0:
            res = minimize(
                objective, x0 / budget, jac=True, method="SLSQP", bounds=list(zip(u_lo / budget, u_hi / budget)),
                constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1.0, "jac": lambda v: np.ones_like(v)}],
                options={"maxiter": 300, "ftol": 1e-12},
            )
            x = np.clip(res.x * budget, u_lo, u_hi)
        else:
            x = np.zeros(len(units))
        val = value_and_grad(x)[0]
        if val > best_val:
            best_x, best_val = x, val
    assert best_x is not None
    totals = np.zeros(n_ch)
    for (idx, w), u in zip(units, best_x):
        totals[idx] = u * w
    weekly = {c: float(totals[i]) / weeks for i, c in enumerate(fit.channels)}
    forecast = predict_plan(fit, weekly, weeks)
    marg = {}
    for c, name in enumerate(fit.channels):
        g = _media_path(shapes[c], np.full(weeks, weekly[name]), ones)[1]
        marg[name] = float(g.mean()) / weeks  # type: ignore[union-attr]
    return OptimisedPlan(total_budget, {c: float(totals[i]) for i, c in enumerate(fit.channels)}, weekly,
                         forecast, marg, tuple(warnings) + forecast.warnings)


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
    if optimal and mix != "optimal":
        raise ValueError("mix must be None, a mapping of shares, or 'optimal'")
    if mix is None or optimal:
        shares = current_mix(fit)
    else:
        shares = {str(c): float(v) for c, v in dict(mix).items()}  # type: ignore[arg-type]
    total_share = sum(shares.values())
    if total_share <= 0:
        raise ValueError("the mix has no positive share")
    shares = {c: v / total_share for c, v in shares.items()}

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


# ---------------------------------------------------------------------------
# Warnings in plain words (English / Simplified Chinese)
# ---------------------------------------------------------------------------

WARNING_TEXT: dict[str, dict[str, str]] = {
    "mmm.collinear": {
        "en": "The spends of {channels} moved together (correlation {corr}), so the data cannot tell their effects "
              "apart. Read their combined effect; each one's share is split by spend, not measured.",
        "zh": "{channels} 的投放金额同涨同跌（相关系数 {corr}），数据无法区分各自的效果。请看它们的合计效果；"
              "单个渠道的份额按花费比例分摊，并非测量结果。",
    },
    "mmm.vif": {
        "en": "{channel} overlaps strongly with the other channels and the baseline (variance inflation {vif}); "
              "its estimate is unstable.",
        "zh": "{channel} 与其他渠道及基线高度重叠（方差膨胀因子 {vif}），其估计不稳定。",
    },
    "mmm.wide_interval": {
        "en": "{channel}: the data allow anything from {low} to {high} (estimate {contribution}); the interval is "
              "wider than the estimate itself, so treat the figure as a rough guide.",
        "zh": "{channel}：数据允许的范围是 {low} 到 {high}（估计值 {contribution}），区间比估计值本身还宽，"
              "请仅作粗略参考。",
    },
    "mmm.no_effect": {
        "en": "{channel}: no effect could be detected in this history.",
        "zh": "{channel}：在这段历史数据中未能检测到效果。",
    },
    "mmm.no_spend": {
        "en": "{channel} has no spend in this history, so its effect cannot be measured.",
        "zh": "{channel} 在这段历史中没有花费，无法测量其效果。",
    },
    "mmm.flat_spend": {
        "en": "{channel} spent in only {weeks} weeks or barely varied (variation {cv}); its curve is mostly a guess.",
        "zh": "{channel} 仅在 {weeks} 周有花费或几乎没有变化（变异系数 {cv}），其曲线主要是推测。",
    },
    "mmm.short_history": {
        "en": "Only {weeks} weeks of history: yearly seasonality is simplified, so the baseline is less certain.",
        "zh": "历史数据只有 {weeks} 周：年度季节性被简化，基线的不确定性更大。",
    },
    "mmm.weak_fit": {
        "en": "The model explains little of the weekly ups and downs (R² {r2}); every figure is uncertain.",
        "zh": "模型只解释了每周波动的一小部分（R² {r2}），所有数字的不确定性都较大。",
    },
    "mmm.extrapolation": {
        "en": "{channel}: the plan spends {ratio}× the highest week ever observed; beyond the data the curve is a "
              "guess.",
        "zh": "{channel}：计划花费是历史最高周的 {ratio} 倍；超出数据范围的曲线只是推测。",
    },
    "mmm.unseen_channel": {
        "en": "{channel} was never spent on in this history, so the plan counts no effect for it.",
        "zh": "{channel} 在这段历史中从未投放过，计划中不计算它的效果。",
    },
    "mmm.bounds_relaxed": {
        "en": "The budget does not fit within twice the highest observed weekly spends; the limits were "
              "raised {factor}×, so part of the plan is beyond the data.",
        "zh": "预算超出了历史最高周花费两倍的上限；上限已提高 {factor} 倍，计划中部分花费超出数据范围。",
    },
}


def _fmt_number(value: Any, lang: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    v = float(value)
    if not math.isfinite(v):
        return "∞" if v > 0 else "—"
    a = abs(v)
    if lang == "zh":
        if a >= 1e8:
            return f"{v / 1e8:,.2f}亿"
        if a >= 1e4:
            return f"{v / 1e4:,.1f}万"
    elif a >= 1e6:
        return f"{v / 1e6:,.2f}M"
    elif a >= 1e4:
        return f"{v / 1e3:,.1f}K"
    return f"{v:,.0f}" if a >= 100 else f"{v:,.2f}".rstrip("0").rstrip(".")


def explain_warning(code: str, params: Mapping[str, Any], lang: str = "en") -> str:
    """A warning code and its parameters in plain words, in English (``en``) or Simplified Chinese (``zh``)."""
    language = normalize_lang(lang)
    texts = WARNING_TEXT.get(code)
    if texts is None:
        return code
    sep = "、" if language == "zh" else ", "
    values = {k: sep.join(map(str, v)) if isinstance(v, (list, tuple)) else _fmt_number(v, language)
              for k, v in params.items()}
    return texts[language].format(**values)


# ---------------------------------------------------------------------------
# Simulation: weekly data from known curves
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SimTruth:
    """What generated a simulated data set: per channel parameters and true contributions."""

    contribution: Mapping[str, float]
    share_of_spend: Mapping[str, float]
    theta: Mapping[str, float]
    alpha: Mapping[str, float]
    gamma: Mapping[str, float]
    beta: Mapping[str, float]
    weekly: pd.DataFrame  # week, baseline, noise and one column per channel

    def roi(self, channel: str, spend: float) -> float:
        return self.contribution[channel] / spend if spend else float("nan")


def simulate_weekly_data(
    seed: int,
    n_weeks: int = 156,
    n_channels: int = 5,
    *,
    start: str = "2022-01-03",
    noise: float = 0.02,
    ar: float = 0.3,
    media_share: float = 0.3,
    collinear_pair: bool = False,
    with_control: bool = True,
    outcome_kind: str = "revenue",
    burn_in: int = 26,
    dark_weeks: float = 0.15,
    volatility: float = 0.9,
) -> tuple[MmmData, SimTruth]:
    """Weekly data from known curves (total outcome only) and the truth behind it.

    Baseline ≈ 1 000 000 a week, multiplicative: growth (+15 %/year, slightly curved) × (1 + yearly
    seasonality (four harmonics, amplitudes 8 / 4 / 2 / 1.2 %) + festivals (Double 11 +35 %, its
    pre-sale +10 %, 618 +20 %, its lead-up +5 %, 年货节 +8 %, Spring Festival −15 %)) × a price-index
    control (signed effect) — so the model's low-order baseline is only an approximation, as with
    real data. Spends follow demand (seasonality and festivals, raised to
    a random power 0.5–1.5), change budget every quarter and vary week to week (lognormal,
    ``volatility`` 0.9 ≈ the week-to-week spread of the non-zero weeks in Robyn's example file);
    channels cycle through always-on (``dark_weeks`` 15 % zero weeks), flighted (bursts of 2–8
    weeks, gaps of 2–8, about half the weeks dark, like Robyn's TV / print / OOH) and pulsed
    (high in festival months, low otherwise); levels differ ×10 between channels. Each channel:
    geometric adstock θ (0.3–0.7 flighted, 0–0.5 otherwise), Hill α ∈ [0.8, 1.5], half-saturation
    0.5–2× its mean adstocked spend, scale set so media add ``media_share`` of the outcome with
    ROIs differing ×4. Noise is AR(1) (ρ = ``ar``) with sd = ``noise`` × mean outcome (default 2 %;
    the tests' accuracy figures depend on it — see the module docstring for 3 % and 5 %). Spend
    in the ``burn_in`` weeks before the first shown week feeds the carry-over but is not shown.
    ``collinear_pair`` makes channel 2's spend exactly half of channel 1's.
    """
    rng = np.random.default_rng(seed)
    total_weeks = n_weeks + burn_in
    weeks_all = pd.date_range(pd.Timestamp(start) - pd.Timedelta(weeks=burn_in), periods=total_weeks, freq="7D")
    weeks = weeks_all[burn_in:]
    doy = (weeks_all + pd.Timedelta(days=3)).day_of_year.to_numpy()
    angle = 2 * np.pi * (doy - 1) / 365.25
    fest = festival_indicators(weeks_all)
    amplitude = (0.08, 0.04, 0.02, 0.012)  # yearly shape with higher harmonics than the model's default
    season = sum(a * np.sin((k + 1) * angle + rng.uniform(0, 2 * np.pi)) for k, a in enumerate(amplitude))
    fest_effect = (0.35 * fest["double11"] + 0.10 * fest["double11_presale"] + 0.20 * fest["618"]
                   + 0.05 * fest["618_lead"] + 0.08 * fest["nianhuojie"] - 0.15 * fest["spring_festival"]).to_numpy()
    years = np.arange(total_weeks) / 52.0
    growth = 1.0 + 0.15 * years + 0.01 * years**2
    demand = 1.0 + season + fest_effect  # what marketers plan spend around
    price = 1.0 + 0.03 * np.sin(2 * np.pi * np.arange(total_weeks) / 37.0) + rng.normal(0, 0.02, total_weeks)
    baseline = 1_000_000 * growth * demand
    if with_control:
        baseline = baseline * (1.0 - 1.5 * (price - 1.0))

    names = [f"ch{i + 1}" for i in range(n_channels)]
    styles = ("always_on", "flighted", "pulsed")
    level = np.exp(rng.uniform(np.log(8_000), np.log(80_000), n_channels))
    spends = np.zeros((total_weeks, n_channels))
    for i in range(n_channels):
        style = styles[i % len(styles)]
        wobble = rng.lognormal(0.0, volatility, total_weeks)
        follow = rng.uniform(0.5, 1.5)
        shape = np.maximum(demand, 0.2) ** follow
        quarter = np.arange(total_weeks) // 13
        steps = rng.lognormal(0.0, 0.3, quarter.max() + 1)[quarter]  # budget changes each quarter
        dark = rng.random(total_weeks) < dark_weeks
        if style == "always_on":
            x = level[i] * shape * steps * wobble * ~dark
        elif style == "flighted":
            on = np.zeros(total_weeks, dtype=bool)
            t = int(rng.integers(0, 4))
            while t < total_weeks:
                length = int(rng.integers(2, 9))
                on[t:t + length] = True
                t += length + int(rng.integers(2, 9))
            x = level[i] * 1.6 * shape * wobble * on
        else:
            month = (weeks_all + pd.Timedelta(days=3)).month.to_numpy()
            high = np.isin(month, [1, 5, 6, 10, 11, 12])
            x = level[i] * np.where(high, 1.6, 0.45) * steps * wobble * ~(dark & ~high)
        spends[:, i] = x
    if collinear_pair and n_channels >= 2:
        spends[:, 1] = 0.5 * spends[:, 0]

    thetas, alphas, gammas, unit = {}, {}, {}, {}
    for i, name in enumerate(names):
        style = styles[i % len(styles)]
        theta = float(rng.uniform(0.3, 0.7) if style == "flighted" else rng.uniform(0.0, 0.5))
        a = geometric_adstock(spends[:, i], theta)
        alpha = float(rng.uniform(0.8, 1.5))
        gamma = float(rng.uniform(0.5, 2.0) * a[a > 0].mean())
        thetas[name], alphas[name], gammas[name] = theta, alpha, gamma
        unit[name] = hill(a, 1.0, alpha, gamma)
    roi_weight = rng.uniform(0.5, 2.0, n_channels)
    visible = slice(burn_in, None)
    media_total = media_share / (1 - media_share) * baseline[visible].sum()
    weight = spends[visible].sum(axis=0) * roi_weight
    target = media_total * weight / weight.sum()
    betas = {name: float(target[i] / unit[name][visible].sum()) for i, name in enumerate(names)}
    contrib = {name: betas[name] * unit[name] for name in names}

    eps = np.zeros(total_weeks)
    innov = rng.normal(0, 1, total_weeks) * math.sqrt(1 - ar**2)
    for t in range(total_weeks):
        eps[t] = (ar * eps[t - 1] if t else 0.0) + innov[t]
    mean_level = baseline[visible].mean() + sum(contrib[n_][visible].mean() for n_ in names)
    eps = eps * noise * mean_level
    outcome = baseline + sum(contrib.values()) + eps

    spend_df = pd.DataFrame(spends[visible], columns=names)
    controls = pd.DataFrame({"price_index": price[visible]}) if with_control else None
    data = MmmData(weeks=weeks, outcome=outcome[visible], spend=spend_df, controls=controls,
                   outcome_kind=outcome_kind)
    weekly = pd.DataFrame({"week": weeks, "baseline": baseline[visible], "noise": eps[visible]})
    for name in names:
        weekly[name] = contrib[name][visible]
    total_spend = spend_df.sum().sum()
    truth = SimTruth(
        contribution={name: float(contrib[name][visible].sum()) for name in names},
        share_of_spend={name: float(spend_df[name].sum() / total_spend) for name in names},
        theta=thetas, alpha=alphas, gamma=gammas, beta=betas, weekly=weekly,
    )
    return data, truth
