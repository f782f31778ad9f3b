"""The marketing-mix model's design: weekly inputs, the baseline's columns, and every channel's candidate shapes.

Why a module of its own: the model (:mod:`lib.channels.fitting`), its plans
(:mod:`lib.channels.plans`) and the simulator all build the same columns — the baseline
(trend, yearly Fourier terms, China's shopping festivals, controls) for any weeks, history or
future, and per channel the grid of adstock × Hill saturation shapes
(``lib.channels.curves.geometric_adstock`` then ``hill``) with the baseline projected out.
Pure numpy / pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from lib.channels.curves import geometric_adstock, hill

Array = np.ndarray

REVENUE_KINDS = frozenset({"revenue", "gmv", "sales"})
THETA_GRID: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
HILL_ALPHAS: tuple[float, ...] = (0.7, 1.0, 1.4, 2.0)
K_MULTIPLES: tuple[float, ...] = tuple(float(m) for m in np.geomspace(0.25, 4.0, 9))
START_ALPHA = 1.0  # Michaelis–Menten: where the search starts, and the scouting grid's only shape
CURRENT_WEEKS = 13  # "current spend" = mean weekly spend over the last 13 weeks
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
DAY_NS = 86_400_000_000_000

# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def week_index(weeks: Any) -> pd.DatetimeIndex:
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
    outcome: Array
    spend: pd.DataFrame
    controls: pd.DataFrame | None = None
    volumes: pd.DataFrame | None = None
    outcome_kind: str = "revenue"

    def __post_init__(self) -> None:
        weeks = week_index(self.weeks)
        n = len(weeks)
        if n < 26:
            raise ValueError(f"a marketing-mix model needs at least 26 weeks, got {n}")
        if np.any(np.diff(weeks.asi8) != 7 * DAY_NS):
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
    idx = week_index(weeks)
    start = idx.asi8 // 86_400_000_000_000  # days since epoch
    out = {name: np.zeros(len(idx)) for name in FESTIVALS}
    years = sorted(set(idx.year) | {y + 1 for y in idx.year} | {y - 1 for y in idx.year})

    def week_of(day: pd.Timestamp) -> Array:
        d = day.value // 86_400_000_000_000
        return (start <= d) & (d < start + 7)

    def weeks_before(day: pd.Timestamp, first: int, last: int) -> Array:
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
class Baseline:
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
    control_mean: Array
    control_sd: Array
    multiplicative: bool
    trend_degree: int
    columns: tuple[str, ...]
    groups: tuple[str, ...]  # per column: trend | seasonality | festivals | controls

    def matrix(self, weeks: Any, controls: Array | None) -> Array:
        weeks = week_index(weeks)
        n = len(weeks)
        t = (weeks.asi8 - self.origin_ns) / (7 * DAY_NS) / self.span_weeks - 0.5
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


def make_baseline(data: MmmData, festivals: bool, fourier: int = 2, multiplicative: bool = False,
                   trend_degree: int = 1) -> Baseline:
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
    return Baseline(int(data.weeks.asi8[0]), float(max(n - 1, 1)), fourier, fest_names, names, mean, sd,
                     multiplicative, trend_degree, columns, groups)


def controls_array(data: MmmData, base: Baseline) -> Array | None:
    if not base.control_names or data.controls is None:
        return None
    return data.controls[list(base.control_names)].to_numpy()


# ---------------------------------------------------------------------------
# Media candidates and the variable-projection solver
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Candidates:
    """Per channel: every grid shape, its transformed column and its baseline-projected twin."""

    theta: Array  # (J,)
    k: Array  # (J,) absolute half-saturation in adstocked spend
    alpha: Array  # (J,) Hill shape
    mult: Array  # (J,) K as a multiple of the mean non-zero adstocked spend
    cols: Array  # (J, n) hill(adstock(x; θ); 1, α, K)
    proj: Array  # (J, n) cols with the baseline projected out
    norm2: Array  # (J,) squared norms of proj
    last_adstock: Array  # (J,) adstocked spend in the last observed week (carry-over into a plan)


def candidates_for(x: Array) -> Candidates:
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
        cols[rows] = hill(a[None, :], 1.0, alpha_col[rows, None], ks[rows, None])
    return Candidates(thetas, ks, alpha_col, mult_col, cols, cols, np.zeros(thetas.size), last)


_SINGLE_THREAD_MACS = 200_000  # OpenBLAS hands a product to its thread pool above ~262 144 multiply-adds


def matmul_chunked(a: Array, b: Array, out: Array | None = None) -> Array:
    """``a @ b`` in row chunks small enough for BLAS to stay on one thread (into ``out`` when given).

    Thousands of medium products per fit are far slower through a thread pool (hand-off and
    spin-waiting, worst on a busy machine) than on one core; measured on 2 cores under load,
    a 10-channel fit took 3.9 s CPU threaded vs 1.3 s chunked.
    """
    rows = max(8, _SINGLE_THREAD_MACS // max(a.shape[1] * (b.shape[1] if b.ndim > 1 else 1), 1))
    if out is not None:
        for i in range(0, a.shape[0], rows):
            np.matmul(a[i:i + rows], b, out=out[i:i + rows])
        return out
    if a.shape[0] <= rows:
        product: Array = a @ b
        return product
    return np.concatenate([a[i:i + rows] @ b for i in range(0, a.shape[0], rows)])


def subset(cand: Candidates, index: Array) -> Candidates:
    return Candidates(cand.theta[index], cand.k[index], cand.alpha[index], cand.mult[index], cand.cols[index],
                       cand.proj[index], cand.norm2[index], cand.last_adstock[index])


def project(cand: Candidates, q: Array) -> Candidates:
    """The same candidates with the baseline columns (orthonormal ``q``) projected out."""
    proj = cand.cols - matmul_chunked(matmul_chunked(cand.cols, q), np.ascontiguousarray(q.T))
    return replace(cand, proj=proj, norm2=np.einsum("ij,ij->i", proj, proj))


def start_index(cand: Candidates) -> int:
    """The grid point closest to θ = 0.3, α = 1, K = mean adstocked spend: where the search starts."""
    score = np.abs(cand.theta - 0.3) + np.abs(np.log(cand.mult)) + np.abs(cand.alpha - START_ALPHA)
    return int(np.argmin(score))




def baseline_matrix(data: MmmData, festivals: bool = True, fourier: int = 2) -> Array:
    """The weekly baseline columns of ``data`` (additive seasonality, linear trend): what a comparison model regresses on.

    ``bench/bench_mmm.py`` gives its Robyn-style baseline exactly these columns, so both models
    start from the same baseline.
    """
    base = make_baseline(data, festivals, fourier)
    return base.matrix(data.weeks, controls_array(data, base))
