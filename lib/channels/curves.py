"""Response curves: how many new customers (or how much revenue) a channel's weekly spend buys.

Why it exists: the optimiser, the target scenarios and the channels page all need, per
channel, a smooth saturating function of spend with a marginal return and an inverse.
Marketing-mix tools (Robyn, Meridian, PyMC-Marketing) fit these with hours of
sampling; this module fits them in well under a second per channel from the uploaded
weekly table, so every number downstream can be recomputed the moment data changes.
Fitted curves are *directional*, not causal: they describe how spend and outcome moved
together, nothing more (see ``curves.directional_note`` in the locale file).

The maths follows ``shared/guides/budget.md``:

* Geometric, un-normalised adstock (Robyn ``adstock_geometric``):
  ``a_1 = x_1 + θ·a_0``, ``a_t = x_t + θ·a_{t-1}``; half-life ``h = ln 0.5 / ln θ``.
* Response families on adstocked spend ``a``:
  Hill ``β·a^α / (a^α + γ^α)``, Michaelis–Menten ``V·a / (K + a)``,
  tanh ``b·tanh(a / (b·c))`` (``c`` = cost per unit at zero spend), each with
  derivative, inverse and inverse of the derivative.
* Fitting: θ from a grid 0–0.8; for each θ and family the shape parameters are
  searched on a grid with the scale (and optional baseline) solved in closed form
  (variable projection), then the best θ candidates are polished with
  ``scipy.optimize.curve_fit`` under bounds (α 0.5–3, Hill γ within the observed
  adstocked range, MM ``K`` / tanh scale up to 2× it, β ≤ 5× the largest observed
  response). ``family="auto"`` keeps the family with the lowest AICc.

**How a fitted curve is evaluated for a plan (the steady-state convention).** A
plan is a weekly spend ``x`` sustained over weeks; with geometric carry-over the
adstocked spend of a constant ``x`` settles at ``x / (1 − θ)``, so

    y(x) = f(x / (1 − θ))

We chose this over Robyn's allocator convention ``f(x + c̄)`` (c̄ = mean historical
carry-over) because (1) ``f(x + c̄)`` credits a plan with carry-over from *past*
spend that a different plan would not keep producing, so zero spend would still
"buy" customers and a minimum-budget search would be biased low; (2) with the
steady state, zero spend gives zero media response, so baseline + media add up;
(3) every family stays in its own family (Hill γ, MM K and tanh c are simply
scaled by ``1 − θ``), so closed-form KKT allocations and inverses still hold; and
(4) with θ ≤ 0.8 the ramp-in reaches 95 % of the steady state within 13 weeks
(θ^13 ≤ 0.055), so a quarter is close to steady state — and the week-by-week
ramp with last quarter's carry-over is shown separately (``budget.weekly_phasing``).
Observed weeks are placed on the same x-axis at their steady-state-equivalent
spend ``(1 − θ)·a_t``. The historical mean carry-over is still reported
(``CurveFit.mean_carryover``) for the explainability table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit
from scipy.signal import lfilter
from scipy.special import expit

from lib.formatting import money
from lib.i18n import t
from lib.workspace import Workspace

Family = Literal["hill", "michaelis_menten", "tanh"]
FAMILIES: tuple[Family, ...] = ("hill", "michaelis_menten", "tanh")
PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "hill": ("beta", "alpha", "gamma"),
    "michaelis_menten": ("vmax", "k"),
    "tanh": ("b", "c"),
}
# Names people type when copying parameters from an external MMM, mapped to ours.
PARAM_ALIASES: dict[str, dict[str, str]] = {
    "hill": {"beta": "beta", "coef": "beta", "alpha": "alpha", "slope": "alpha", "s": "alpha",
             "gamma": "gamma", "inflexion": "gamma", "kappa": "gamma", "ec": "gamma",
             "half_saturation": "gamma"},
    "michaelis_menten": {"vmax": "vmax", "v": "vmax", "k": "k", "km": "k", "lam": "k"},
    "tanh": {"b": "b", "c": "c"},
}
RESPONSE_METRICS: tuple[str, ...] = ("new_customers", "revenue", "orders", "clicks", "impressions")

THETA_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(17))  # 0.00 … 0.80
MIN_NONZERO_WEEKS = 8
ALPHA_BOUNDS: tuple[float, float] = (0.5, 3.0)
BETA_MAX_MULTIPLE = 5.0  # saturation level at most 5× the largest observed weekly response
SCALE_MAX_MULTIPLE = 2.0  # MM half-saturation / tanh scale at most 2× the largest adstocked spend
MIN_INFLEXION_SHARE = 0.01  # inflexion no lower than 1 % of the largest adstocked spend
# curve_fit polishes this many best θ of the grid per family. Hill's two shape parameters sit on a
# coarse grid, and its polished optimum is often at the runner-up θ; the one-shape families' grid
# already ranks θ as polishing would (measured on the sample store's 18 fits), so one polish is enough.
POLISHED_THETAS: dict[str, int] = {"hill": 3, "michaelis_menten": 1, "tanh": 1}
EXTRAPOLATION_FAR = 1.5  # Robyn maintainers: beyond ~1.5–2× the data the curve is a guess

_Array = np.ndarray


class NotEnoughData(ValueError):
    """A channel's history cannot support a curve; ``reason`` is an i18n key suffix."""

    def __init__(self, reason: str, *, nonzero_weeks: int = 0) -> None:
        self.reason = reason
        self.nonzero_weeks = nonzero_weeks
        super().__init__(f"not enough data to fit a curve: {reason} (weeks with spend: {nonzero_weeks})")

    @property
    def message_key(self) -> str:
        return f"curves.status.{self.reason}"


# ---------------------------------------------------------------------------
# Adstock
# ---------------------------------------------------------------------------


def _check_theta(theta: float) -> float:
    value = float(theta)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"carry-over θ must be in [0, 1), got {theta}")
    return value


def geometric_adstock(spend: _Array | list[float], theta: float, initial: float = 0.0) -> _Array:
    """Un-normalised geometric adstock: ``a_t = x_t + θ·a_{t-1}`` with ``a_0 = initial``.

    ``initial`` is the adstocked spend carried in from before the first period
    (last quarter's carry-over); with the default 0, ``a_1 = x_1`` as in Robyn.
    """
    theta = _check_theta(theta)
    x = np.asarray(spend, dtype=float)
    if x.size == 0:
        return x.copy()
    if theta == 0.0:
        return x.copy()
    out, _ = lfilter([1.0], [1.0, -theta], x, zi=[theta * float(initial)])
    return np.asarray(out, dtype=float)




def steady_state_multiplier(theta: float) -> float:
    """How much a constant weekly spend is worth once carry-over has built up: ``1 / (1 − θ)``."""
    return 1.0 / (1.0 - _check_theta(theta))


def half_life(theta: float) -> float:
    """Periods until a unit of spend's effect halves: ``ln 0.5 / ln θ`` (0 when θ = 0)."""
    theta = _check_theta(theta)
    if theta == 0.0:
        return 0.0
    return math.log(0.5) / math.log(theta)




def robyn_inflexion(gamma: float, adstocked_spend: _Array | list[float], *, legacy: bool = False) -> float:
    """Robyn's relative Hill γ (0–1) as an absolute inflexion in currency.

    Robyn ≥ PR #1132: ``γ·max(a)``; older Robyn: ``(1 − γ)·min(a) + γ·max(a)``.
    Robyn parameters are not portable without the adstocked spend they were fitted on.
    """
    a = np.asarray(adstocked_spend, dtype=float)
    if legacy:
        return float((1.0 - gamma) * a.min() + gamma * a.max())
    return float(gamma * a.max())


# ---------------------------------------------------------------------------
# Response functions of adstocked spend a (vectorised, a < 0 treated as 0)
# ---------------------------------------------------------------------------


def _nonneg(a: _Array | float) -> _Array:
    return np.asarray(np.maximum(np.asarray(a, dtype=float), 0.0), dtype=float)


def hill(a: _Array | float, beta: _Array | float, alpha: _Array | float, gamma: _Array | float) -> _Array:
    """Hill saturation ``β·a^α / (a^α + γ^α)`` (γ = half-saturation, absolute)."""
    r = _nonneg(a) / gamma
    with np.errstate(divide="ignore", over="ignore"):
        return beta / (1.0 + r ** (-alpha))


def hill_marginal(a: _Array | float, beta: _Array | float, alpha: _Array | float, gamma: _Array | float) -> _Array:
    """dy/da of the Hill curve: ``β·α·γ^α·a^(α−1) / (a^α + γ^α)²`` (Robyn ``fx_gradient``)."""
    r = _nonneg(a) / gamma
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        out = (beta * alpha / gamma) * r ** (alpha - 1.0) / (1.0 + r**alpha) ** 2
    return np.where(np.isnan(out), 0.0, out)


def hill_inverse(y: _Array | float, beta: float, alpha: float, gamma: float) -> _Array:
    """Adstocked spend giving response y: ``γ·(y / (β − y))^(1/α)``; ∞ at or above β."""
    v = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = gamma * (np.clip(v, 0.0, None) / (beta - v)) ** (1.0 / alpha)
    return np.where(v >= beta, np.inf, np.where(v <= 0, 0.0, out))


def hill_peak_marginal_point(alpha: float, gamma: float) -> float:
    """Where a Hill curve's marginal return peaks (its inflexion): ``γ·((α−1)/(α+1))^(1/α)``; 0 if α ≤ 1."""
    if alpha <= 1.0:
        return 0.0
    return float(gamma * ((alpha - 1.0) / (alpha + 1.0)) ** (1.0 / alpha))


def hill_marginal_inverse(m: _Array | float, beta: _Array | float, alpha: _Array | float,
                          gamma: _Array | float) -> _Array:
    """Adstocked spend on the decreasing-marginal branch where dy/da = m.

    For α > 1 the branch starts at the marginal's peak; a marginal above the
    peak returns that point (0 for concave curves). The Hill derivative has no
    closed-form inverse: Newton's method on ``z = ln(a/γ)``, where
    ``ln dy/da = ln(βα/γ) + (α−1)·z − 2·ln(1 + e^{αz})`` is concave and falling on
    the branch, so iterates started right of the root converge monotonically.
    The parameters may be arrays (one row per curve, broadcast against ``m``), so
    many curves are inverted in one Newton loop (:class:`CurveSet`).
    """
    target = np.atleast_1d(np.asarray(m, dtype=float))
    b, a, g = (np.asarray(v, dtype=float) for v in (beta, alpha, gamma))
    s_shaped = a > 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        r_peak = np.where(s_shaped, g * np.abs((a - 1.0) / (a + 1.0)) ** (1.0 / a) / g, 0.0)
        peak = np.where(s_shaped, hill_marginal(r_peak * g, b, a, g), np.inf)
        z_floor = np.where(r_peak > 0, np.log(r_peak), -np.inf)
    log_scale = np.log(b * a / g)
    log_m = np.log(np.clip(target, 1e-300, None))
    # Right of the root: ln(1 + e^{αz}) ≥ αz makes the far-tail solution overshoot.
    gap = log_scale - log_m
    z = np.maximum(gap / (a + 1.0), z_floor)
    active = (target > 0) & (target < peak)
    rising, twice_a = a - 1.0, 2.0 * a
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # α = 1 rows (replaced below) run to −∞
        for _ in range(60):
            az = a * z
            value = gap + rising * z - 2.0 * np.logaddexp(0.0, az)
            slope = rising - twice_a * expit(az)
            move = np.where(slope < 0, value / slope, 0.0)
            z = np.maximum(z - move, z_floor)
            if not np.any(active & (np.abs(move) > 1e-13 * np.maximum(1.0, np.abs(z)))):
                break
    with np.errstate(invalid="ignore"):
        out = np.exp(z) * g
    out = np.where(target >= peak, r_peak * g, out)
    out = np.where(a == 1.0, michaelis_menten_marginal_inverse(target, b, g), out)
    out = np.where(target <= 0, np.inf, out)
    shape = np.broadcast_shapes(np.shape(m), np.shape(beta), np.shape(alpha), np.shape(gamma))
    return out.reshape(shape)


def michaelis_menten(a: _Array | float, vmax: float, k: float) -> _Array:
    """Michaelis–Menten ``V·a / (K + a)`` — Hill with α = 1."""
    x = _nonneg(a)
    return vmax * x / (k + x)


def michaelis_menten_marginal(a: _Array | float, vmax: float, k: float) -> _Array:
    """dy/da = ``V·K / (K + a)²``."""
    return vmax * k / (k + _nonneg(a)) ** 2


def michaelis_menten_inverse(y: _Array | float, vmax: float, k: float) -> _Array:
    """``K·y / (V − y)`` (Robyn ``mic_men(reverse = TRUE)``); ∞ at or above V."""
    v = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = k * np.clip(v, 0.0, None) / (vmax - v)
    return np.where(v >= vmax, np.inf, out)


def michaelis_menten_marginal_inverse(m: _Array | float, vmax: _Array | float, k: _Array | float) -> _Array:
    """Where dy/da = m: ``√(V·K/m) − K``, clipped at 0 (the KKT water-filling formula)."""
    target = np.asarray(m, dtype=float)
    with np.errstate(divide="ignore"):
        return np.asarray(np.clip(np.sqrt(vmax * k / np.clip(target, 0.0, None)) - k, 0.0, None), dtype=float)


def tanh_saturation(a: _Array | float, b: float, c: float) -> _Array:
    """``b·tanh(a / (b·c))``: b = saturation level, c = cost per unit at zero spend (slope 1/c)."""
    return b * np.tanh(_nonneg(a) / (b * c))


def tanh_marginal(a: _Array | float, b: float, c: float) -> _Array:
    """dN/da = ``sech²(a / (b·c)) / c``."""
    t = np.tanh(_nonneg(a) / (b * c))
    return (1.0 - t * t) / c


def tanh_inverse(y: _Array | float, b: float, c: float) -> _Array:
    """``b·c·artanh(y / b)``; ∞ at or above b."""
    v = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = b * c * np.arctanh(np.clip(v, 0.0, None) / b)
    return np.where(v >= b, np.inf, out)


def tanh_marginal_inverse(m: _Array | float, b: float, c: float) -> _Array:
    """Where dN/da = m: ``b·c·arccosh(1/√(m·c))``; 0 when m ≥ 1/c."""
    target = np.asarray(m, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = 1.0 / np.sqrt(np.clip(target * c, 0.0, None))
        out = b * c * np.arccosh(np.clip(arg, 1.0, None))
    return np.where(target <= 0, np.inf, out)


_Family = Callable[..., _Array]  # a family's function of spend (or marginal) and its parameters
_RESPONSE: dict[str, _Family] = {"hill": hill, "michaelis_menten": michaelis_menten, "tanh": tanh_saturation}
_MARGINAL: dict[str, _Family] = {"hill": hill_marginal, "michaelis_menten": michaelis_menten_marginal,
                                 "tanh": tanh_marginal}
_INVERSE: dict[str, _Family] = {"hill": hill_inverse, "michaelis_menten": michaelis_menten_inverse, "tanh": tanh_inverse}
_MARGINAL_INVERSE: dict[str, _Family] = {
    "hill": hill_marginal_inverse,
    "michaelis_menten": michaelis_menten_marginal_inverse,
    "tanh": tanh_marginal_inverse,
}


# ---------------------------------------------------------------------------
# A fitted (or typed-in) curve
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CurveFit:
    """One channel's response curve, evaluated at steady state for a sustained spend.

    ``params`` are on adstocked spend (as fitted, or as an external MMM reports
    them). ``x`` in ``response``/``marginal``/``inverse`` is spend per plan unit:
    weekly spend when ``periods == 1``; the total over ``periods`` weeks
    (spread evenly) otherwise — see ``over_periods``. ``baseline`` is the weekly
    response without any spend (organic) and is *not* part of ``response``,
    which is the media-driven part only. ``observed`` (fitted curves only) holds
    the weeks behind the fit: spend, response, adstocked spend, the
    steady-state-equivalent spend ``(1 − θ)·a_t`` to plot them on the curve's
    x-axis, and the fitted value (plus ``week`` when fitted through ``fit_all``).
    """

    family: Family
    params: Mapping[str, float]
    theta: float = 0.0
    r2: float | None = None
    mape: float | None = None
    n_weeks: int = 0
    max_observed_weekly_spend: float | None = None
    mean_carryover: float = 0.0
    baseline: float = 0.0
    aicc: float | None = None
    source: Literal["fitted", "manual"] = "fitted"
    metric: str | None = None
    periods: int = 1
    observed: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.family not in PARAM_NAMES:
            raise ValueError(f"unknown curve family {self.family!r}; use one of {', '.join(FAMILIES)}")
        _check_theta(self.theta)
        missing = [name for name in PARAM_NAMES[self.family] if name not in self.params]
        if missing:
            raise ValueError(f"{self.family} curve needs parameters {', '.join(missing)}")
        for name in PARAM_NAMES[self.family]:
            value = float(self.params[name])
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"parameter {name} must be a positive number, got {self.params[name]}")
        if int(self.periods) < 1:
            raise ValueError("periods must be at least 1")

    # -- construction ---------------------------------------------------------

    @classmethod
    def from_params(
        cls,
        family: str,
        params: Mapping[str, float],
        theta: float = 0.0,
        *,
        max_observed_weekly_spend: float | None = None,
        baseline: float = 0.0,
        metric: str | None = None,
    ) -> CurveFit:
        """A curve typed in from an external marketing-mix model; it overrides the fit.

        ``params`` use this module's names (Hill ``beta, alpha, gamma``; MM
        ``vmax, k``; tanh ``b, c``) or common aliases (``inflexion``, ``kappa``,
        ``V``, ``K``…). γ / K must be absolute amounts of adstocked weekly spend
        (convert Robyn's relative γ with ``robyn_inflexion``).
        """
        fam = str(family).strip().lower().replace("-", "_").replace(" ", "_")
        fam = {"mm": "michaelis_menten", "mic_men": "michaelis_menten", "logistic_tanh": "tanh"}.get(fam, fam)
        if fam not in PARAM_NAMES:
            raise ValueError(f"unknown curve family {family!r}; use one of {', '.join(FAMILIES)}")
        aliases = PARAM_ALIASES[fam]
        clean: dict[str, float] = {}
        for key, value in params.items():
            name = aliases.get(str(key).strip().lower())
            if name is None:
                raise ValueError(f"{fam} curves have no parameter {key!r}; expected {', '.join(PARAM_NAMES[fam])}")
            clean[name] = float(value)
        return cls(
            family=fam,  # type: ignore[arg-type]
            params=clean,
            theta=float(theta),
            max_observed_weekly_spend=max_observed_weekly_spend,
            baseline=float(baseline),
            source="manual",
            metric=metric,
        )

    def over_periods(self, periods: int) -> CurveFit:
        """The same curve with x meaning total spend over ``periods`` weeks, spread evenly."""
        return replace(self, periods=int(periods))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (without the observed weeks) for settings and caches."""
        data = asdict(replace(self, observed=None))
        data.pop("observed", None)
        data["params"] = {k: float(v) for k, v in self.params.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CurveFit:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "observed"}
        known["params"] = {k: float(v) for k, v in dict(known["params"]).items()}
        return cls(**known)

    # -- shape facts ----------------------------------------------------------

    @property
    def steady_state_multiplier(self) -> float:
        return 1.0 / (1.0 - self.theta)

    @property
    def half_life(self) -> float:
        return half_life(self.theta)

    @property
    def saturation_level(self) -> float:
        """The weekly response the curve approaches as spend grows without limit."""
        p = self.params
        return float(p[{"hill": "beta", "michaelis_menten": "vmax", "tanh": "b"}[self.family]])

    @property
    def is_concave(self) -> bool:
        """True unless the curve is an S-shape (Hill with α > 1)."""
        return not (self.family == "hill" and float(self.params["alpha"]) > 1.0)

    @property
    def concave_from(self) -> float:
        """Spend (plan units) from which marginal returns only fall: the S-curve's inflexion, else 0."""
        if self.is_concave:
            return 0.0
        point = hill_peak_marginal_point(float(self.params["alpha"]), float(self.params["gamma"]))
        return point * (1.0 - self.theta) * self.periods

    @property
    def carryover_share(self) -> float:
        """Share of steady-state adstocked spend that is carried over from earlier weeks (= θ)."""
        return self.theta

    # -- evaluation -----------------------------------------------------------

    def _params(self) -> dict[str, float]:
        cached = self.__dict__.get("_float_params")
        if cached is None:
            cached = {k: float(v) for k, v in self.params.items()}
            object.__setattr__(self, "_float_params", cached)
        return cached

    def _adstocked(self, x: _Array | float) -> _Array:
        return np.asarray(x, dtype=float) / self.periods * self.steady_state_multiplier

    def response(self, x: _Array | float) -> _Array:
        """Media-driven response to spend x sustained at steady state."""
        return self.periods * _RESPONSE[self.family](self._adstocked(x), **self._params())

    def marginal(self, x: _Array | float) -> _Array:
        """Extra response per extra unit of spend at x (mROAS for revenue; 1/mCAC for customers)."""
        return self.steady_state_multiplier * _MARGINAL[self.family](self._adstocked(x), **self._params())

    def inverse(self, y: _Array | float) -> _Array:
        """Spend needed for response y (∞ at or beyond the saturation level)."""
        weekly = np.asarray(y, dtype=float) / self.periods
        adstocked = _INVERSE[self.family](weekly, **self._params())
        return adstocked * (1.0 - self.theta) * self.periods

    def marginal_inverse(self, m: _Array | float) -> _Array:
        """Spend at which the marginal return equals m, on the falling-marginal branch."""
        weekly_m = np.asarray(m, dtype=float) / self.steady_state_multiplier
        adstocked = _MARGINAL_INVERSE[self.family](weekly_m, **self._params())
        return adstocked * (1.0 - self.theta) * self.periods

    def marginal_cost(self, x: _Array | float) -> _Array:
        """Cost of the next unit of response at x (marginal CAC for new customers)."""
        with np.errstate(divide="ignore"):
            return 1.0 / self.marginal(x)

    def extrapolation_ratio(self, x: _Array | float) -> _Array | None:
        """Planned weekly spend ÷ the highest weekly spend ever observed (None if unknown)."""
        if not self.max_observed_weekly_spend:
            return None
        return np.asarray(x, dtype=float) / self.periods / self.max_observed_weekly_spend

    def extrapolation_level(self, x: float) -> Literal["none", "beyond", "far"]:
        """"beyond" above the highest observed week, "far" above 1.5× it — the UI's warning levels."""
        ratio = self.extrapolation_ratio(x)
        if ratio is None or float(ratio) <= 1.0 + 1e-9:
            return "none"
        return "far" if float(ratio) > EXTRAPOLATION_FAR else "beyond"


class CurveSet:
    """Many curves evaluated together: one numpy call per family instead of one call per curve.

    Why it exists: the optimiser asks every channel's response, marginal and marginal
    inverse at many spends (or marginal values) per step; curve by curve that is
    dozens of small numpy calls per step and most of a scenario's time. Rows follow
    the order of ``curves``; ``x`` and ``m`` are one value per curve (shape ``(n,)``)
    or a row of values per curve (``(n, k)``). The numbers are those of each
    :class:`CurveFit`'s own methods.
    """

    def __init__(self, curves: Sequence[CurveFit]) -> None:
        self.size = len(curves)
        self._groups: list[tuple[str, _Array, dict[str, _Array], _Array, _Array, _Array]] = []
        for family in FAMILIES:
            rows = [i for i, c in enumerate(curves) if c.family == family]
            if not rows:
                continue
            members = [curves[i] for i in rows]

            def column(values: list[float]) -> _Array:
                return np.asarray(values, dtype=float)[:, None]

            params = {name: column([float(c.params[name]) for c in members]) for name in PARAM_NAMES[family]}
            self._groups.append((
                family, np.asarray(rows, dtype=int), params,
                column([float(c.periods) for c in members]),
                column([c.steady_state_multiplier for c in members]),
                column([1.0 - c.theta for c in members]),
            ))

    def _rows(self, values: _Array | Sequence[float], kind: Literal["response", "marginal", "inverse"]) -> _Array:
        v = np.asarray(values, dtype=float)
        flat = v.ndim == 1
        grid = v[:, None] if flat else v
        out = np.empty(grid.shape, dtype=float)
        for family, rows, params, periods, multiplier, kept in self._groups:
            part = grid[rows]
            if kind == "inverse":
                out[rows] = _MARGINAL_INVERSE[family](part / multiplier, **params) * kept * periods
            elif kind == "marginal":
                out[rows] = multiplier * _MARGINAL[family](part / periods * multiplier, **params)
            else:
                out[rows] = periods * _RESPONSE[family](part / periods * multiplier, **params)
        return out[:, 0] if flat else out

    def response(self, x: _Array | Sequence[float]) -> _Array:
        """Each curve's :meth:`CurveFit.response` at its row of ``x``."""
        return self._rows(x, "response")

    def marginal(self, x: _Array | Sequence[float]) -> _Array:
        """Each curve's :meth:`CurveFit.marginal` at its row of ``x``."""
        return self._rows(x, "marginal")

    def marginal_inverse(self, m: _Array | Sequence[float]) -> _Array:
        """Each curve's :meth:`CurveFit.marginal_inverse` at its row of ``m``."""
        return self._rows(m, "inverse")


def extrapolation_warning(curve: CurveFit, x: float, lang: str = "en") -> str | None:
    """The warning to show when a planned spend x goes beyond the highest observed week, else None."""
    level = curve.extrapolation_level(x)
    if level == "none" or not curve.max_observed_weekly_spend:
        return None
    return t(f"curves.extrapolation.{level}", lang, max_spend=money(curve.max_observed_weekly_spend, lang))


def curve_points(curve: CurveFit, upto: float | None = None, points: int = 101) -> pd.DataFrame:
    """The curve on an even spend grid, for charts: spend, response, marginal, marginal_cost.

    ``upto`` defaults to twice the highest observed weekly spend (in plan units),
    so a chart shows where the data ends and the guess begins.
    """
    if upto is None:
        observed = (curve.max_observed_weekly_spend or 0.0) * curve.periods
        upto = 2.0 * observed if observed > 0 else float(curve.inverse(0.9 * curve.saturation_level * curve.periods))
    spend = np.linspace(0.0, float(upto), int(points))
    marginal = curve.marginal(spend)
    with np.errstate(divide="ignore"):
        cost = np.where(marginal > 0, 1.0 / marginal, np.inf)
    ratio = curve.extrapolation_ratio(spend)
    return pd.DataFrame(
        {
            "spend": spend,
            "response": curve.response(spend),
            "marginal": marginal,
            "marginal_cost": cost,
            "beyond_observed": (ratio > 1.0) if ratio is not None else np.zeros(spend.size, dtype=bool),
        }
    )


# ---------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------


def _shape_grids(lo: float) -> dict[str, list[tuple[float, ...]]]:
    """Shape parameters on normalised adstocked spend (max = 1) for the grid stage."""
    lo = max(lo, MIN_INFLEXION_SHARE)
    gammas = np.geomspace(lo, 1.0, 14)
    scales = np.geomspace(lo, SCALE_MAX_MULTIPLE, 24)
    alphas = np.linspace(ALPHA_BOUNDS[0], ALPHA_BOUNDS[1], 11)
    return {
        "hill": [(float(al), float(g)) for al in alphas for g in gammas],
        "michaelis_menten": [(float(k),) for k in scales],
        "tanh": [(float(s),) for s in scales],
    }


def _unit_shapes(family: str, a: _Array, shapes: list[tuple[float, ...]]) -> _Array:
    """The family's curves with scale 1 on normalised adstock, one row per shape (vectorised)."""
    params = np.asarray(shapes, dtype=float)
    x = np.maximum(a, 0.0)[None, :]
    if family == "hill":
        alpha, gamma = params[:, :1], params[:, 1:2]
        with np.errstate(divide="ignore", over="ignore"):
            return np.asarray(1.0 / (1.0 + (x / gamma) ** (-alpha)), dtype=float)
    scale = params[:, :1]
    if family == "michaelis_menten":
        return np.asarray(x / (scale + x), dtype=float)
    return np.asarray(np.tanh(x / scale), dtype=float)


def _model_and_jacobian(family: str, with_baseline: bool) -> tuple[_Family, _Family]:
    """The normalised model for curve_fit and its analytic Jacobian.

    Parameters are (scale, shape…, [baseline]); analytic derivatives make the
    polish several times faster than finite differences.
    """

    def split(params: tuple[float, ...]) -> tuple[tuple[float, ...], float]:
        return (params[:-1], params[-1]) if with_baseline else (params, 0.0)

    if family == "hill":
        def core(a: _Array, p: tuple[float, ...]) -> tuple[_Array, list[_Array]]:
            beta, alpha, gamma = p
            r = np.maximum(a, 0.0) / gamma
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                u = r**alpha
                big = np.isinf(u)
                frac = np.where(big, 1.0, u / (1.0 + u))
                dfrac = np.where(big, 0.0, u / (1.0 + u) ** 2)
                log_r = np.log(np.where(r > 0, r, 1.0))
            return beta * frac, [frac, beta * dfrac * log_r, -beta * alpha / gamma * dfrac]
    elif family == "michaelis_menten":
        def core(a: _Array, p: tuple[float, ...]) -> tuple[_Array, list[_Array]]:
            vmax, k = p
            x = np.maximum(a, 0.0)
            frac = x / (k + x)
            return vmax * frac, [frac, -vmax * x / (k + x) ** 2]
    else:
        def core(a: _Array, p: tuple[float, ...]) -> tuple[_Array, list[_Array]]:
            b, scale = p
            x = np.maximum(a, 0.0)
            t = np.tanh(x / scale)
            return b * t, [t, -b * x / scale**2 * (1.0 - t * t)]

    def model(a: _Array, *params: float) -> _Array:
        shape, base = split(params)
        return core(a, shape)[0] + base

    def jacobian(a: _Array, *params: float) -> _Array:
        shape, _ = split(params)
        columns = core(a, shape)[1]
        if with_baseline:
            columns = [*columns, np.ones_like(a)]
        return np.column_stack(columns)

    return model, jacobian


def _closed_form_scale(
    g: _Array, y: _Array, with_baseline: bool, scale_max: float
) -> tuple[_Array, _Array, _Array]:
    """Best scale (and baseline ≥ 0) per row of g by least squares, and the SSE."""
    n = y.size
    gy = g @ y
    gg = np.einsum("ij,ij->i", g, g)
    yy = float(y @ y)
    safe_gg = np.where(gg > 0, gg, 1.0)
    scale_no_base = np.clip(gy / safe_gg, 0.0, scale_max)
    if not with_baseline:
        sse = yy - 2 * scale_no_base * gy + scale_no_base**2 * gg
        return scale_no_base, np.zeros_like(gy), sse
    gm = g.mean(axis=1)
    ym = float(y.mean())
    var = gg - n * gm**2
    cov = gy - n * gm * ym
    scale = np.clip(cov / np.where(var > 1e-15, var, 1.0), 0.0, scale_max)
    base = ym - scale * gm
    negative = base < 0
    scale = np.where(negative, scale_no_base, scale)
    base = np.clip(np.where(negative, 0.0, base), 0.0, None)
    sse = yy + n * base**2 + scale**2 * gg - 2 * base * n * ym - 2 * scale * gy + 2 * base * scale * n * gm
    return scale, base, sse


def _aicc(sse: float, n: int, k: int) -> float:
    sse = max(sse, 1e-300)
    aic = n * math.log(sse / n) + 2 * k
    if n - k - 1 > 0:
        aic += 2 * k * (k + 1) / (n - k - 1)
    return aic


@dataclass
class _Candidate:
    family: str
    with_baseline: bool
    theta: float
    popt: tuple[float, ...]  # normalised: scale, shape…, [baseline]
    sse: float
    a_max: float


def _check_inputs(spend: _Array, response: _Array) -> tuple[_Array, _Array, _Array]:
    x = np.asarray(spend, dtype=float).ravel()
    y = np.asarray(response, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"spend and response must have the same length ({x.size} vs {y.size})")
    x = np.where(np.isfinite(x), x, 0.0)
    if (x < 0).any():
        raise ValueError("spend cannot be negative")
    valid = np.isfinite(y)
    nonzero = int(((x > 0) & valid).sum())
    if not valid.any() or np.nanmax(np.where(valid, y, 0.0)) <= 0:
        raise NotEnoughData("no_response", nonzero_weeks=nonzero)
    if nonzero < MIN_NONZERO_WEEKS:
        raise NotEnoughData("too_few_weeks", nonzero_weeks=nonzero)
    yv = y[valid]
    if np.ptp(x[valid]) <= 0:
        raise NotEnoughData("no_spend_variation", nonzero_weeks=nonzero)
    if np.ptp(yv) <= 0:
        raise NotEnoughData("no_response_variation", nonzero_weeks=nonzero)
    return x, y, valid


def fit_channel(
    spend: _Array | list[float],
    response: _Array | list[float],
    family: str = "auto",
    *,
    baseline: bool | Literal["auto"] = False,
    theta_grid: tuple[float, ...] = THETA_GRID,
    metric: str | None = None,
) -> CurveFit:
    """Fit one channel's response curve to consecutive weekly spend and response.

    ``spend`` must cover consecutive weeks (zeros for weeks without spend) so the
    adstock is right; weeks whose response is NaN are kept for the adstock and left
    out of the fit. ``family``: "hill", "michaelis_menten", "tanh" or "auto" (lowest
    AICc). ``baseline``: fit a constant weekly response without spend (organic).
    Default False — a channel's own (attributed) results are zero without spend,
    and on such data a free baseline trades off against the curve's low end
    (measured on the sample store: it cut one channel's media response by 30 %). Use
    True or "auto" (kept only when AICc says it earns its parameter) when the
    response is a total KPI that includes organic sales, like Robyn's revenue.
    Raises ``NotEnoughData`` for fewer than 8 weeks with spend or no variation.
    """
    x, y, valid = _check_inputs(np.asarray(spend), np.asarray(response))
    families = FAMILIES if family == "auto" else (family,)
    for fam in families:
        if fam not in PARAM_NAMES:
            raise ValueError(f"unknown curve family {fam!r}; use one of {', '.join(FAMILIES)} or 'auto'")
    baselines = (False, True) if baseline == "auto" else (bool(baseline),)
    yv = y[valid]
    y_max = float(np.max(np.abs(yv)))
    y_n = yv / y_max
    n = int(valid.sum())

    # Grid stage: every θ × shape, scale (and baseline) in closed form.
    adstocks = {float(th): geometric_adstock(x, th)[valid] for th in theta_grid}
    best_per_theta: dict[tuple[str, bool], list[_Candidate]] = {(f, b): [] for f in families for b in baselines}
    for th, a in adstocks.items():
        a_max = float(a.max())
        if a_max <= 0:
            continue
        a_n = a / a_max
        positive = a_n[a_n > 0]
        lo = float(positive.min()) if positive.size else MIN_INFLEXION_SHARE
        grids = _shape_grids(lo)
        for fam in families:
            shapes = grids[fam]
            g = _unit_shapes(fam, a_n, shapes)
            for with_base in baselines:
                scale, base, sse = _closed_form_scale(g, y_n, with_base, BETA_MAX_MULTIPLE)
                i = int(np.argmin(sse))
                popt = (float(scale[i]), *shapes[i]) + ((float(base[i]),) if with_base else ())
                best_per_theta[(fam, with_base)].append(_Candidate(fam, with_base, th, popt, float(sse[i]), a_max))

    # Polish stage: curve_fit from the grid's best points at the most promising θ.
    finals: list[tuple[float, _Candidate]] = []
    for (fam, _with_base), cands in best_per_theta.items():
        if not cands:
            continue
        cands.sort(key=lambda c: c.sse)
        polished = [_polish(c, adstocks[c.theta], y_n) for c in cands[:POLISHED_THETAS[fam]]]
        best = min(polished, key=lambda c: c.sse)
        k = len(best.popt) + 1  # + θ
        finals.append((_aicc(best.sse * y_max**2, n, k), best))
    if not finals:
        raise NotEnoughData("no_spend_variation", nonzero_weeks=int(((x > 0) & valid).sum()))
    aicc, chosen = min(finals, key=lambda item: item[0])
    return _curve_from_candidate(chosen, x, y, valid, y_max, aicc, metric)


def _bounds(fam: str, with_base: bool, lo: float) -> tuple[list[float], list[float]]:
    lo = max(lo, MIN_INFLEXION_SHARE)
    if fam == "hill":
        lower = [1e-9, ALPHA_BOUNDS[0], lo]
        upper = [BETA_MAX_MULTIPLE, ALPHA_BOUNDS[1], 1.0]
    else:
        lower = [1e-9, lo]
        upper = [BETA_MAX_MULTIPLE, SCALE_MAX_MULTIPLE]
    if with_base:
        lower.append(0.0)
        upper.append(1.0)
    return lower, upper


def _polish(cand: _Candidate, a: _Array, y_n: _Array) -> _Candidate:
    a_n = a / cand.a_max
    positive = a_n[a_n > 0]
    lower, upper = _bounds(cand.family, cand.with_baseline, float(positive.min()) if positive.size else 0.0)
    p0 = np.clip(np.asarray(cand.popt, dtype=float), lower, upper)
    p0 = np.clip(p0, np.asarray(lower) + 1e-9, np.asarray(upper) - 1e-9)
    model, jacobian = _model_and_jacobian(cand.family, cand.with_baseline)
    try:
        popt, _ = curve_fit(
            model, a_n, y_n, p0=p0, bounds=(lower, upper), method="trf", jac=jacobian, max_nfev=200
        )
    except (RuntimeError, ValueError):
        return cand
    sse = float(np.sum((y_n - model(a_n, *popt)) ** 2))
    if not math.isfinite(sse) or sse > cand.sse:
        return cand
    return _Candidate(cand.family, cand.with_baseline, cand.theta, tuple(float(p) for p in popt), sse, cand.a_max)


def _curve_from_candidate(
    cand: _Candidate, x: _Array, y: _Array, valid: _Array, y_max: float, aicc: float, metric: str | None
) -> CurveFit:
    p = cand.popt
    a_max = cand.a_max
    if cand.family == "hill":
        params = {"beta": p[0] * y_max, "alpha": p[1], "gamma": p[2] * a_max}
    elif cand.family == "michaelis_menten":
        params = {"vmax": p[0] * y_max, "k": p[1] * a_max}
    else:
        b = p[0] * y_max
        params = {"b": b, "c": p[1] * a_max / b}
    base = p[-1] * y_max if cand.with_baseline else 0.0
    adstocked = geometric_adstock(x, cand.theta)
    fitted = base + _RESPONSE[cand.family](adstocked, **params)
    yv, fv = y[valid], fitted[valid]
    sse = float(np.sum((yv - fv) ** 2))
    sst = float(np.sum((yv - yv.mean()) ** 2))
    r2 = 1.0 - sse / sst if sst > 0 else None
    positive = yv > 0
    mape = float(np.mean(np.abs(yv[positive] - fv[positive]) / yv[positive])) if positive.any() else None
    observed = pd.DataFrame(
        {
            "week_index": np.arange(x.size),
            "spend": x,
            "response": y,
            "adstocked": adstocked,
            "equivalent_spend": adstocked * (1.0 - cand.theta),
            "fitted": fitted,
            "used_in_fit": valid,
        }
    )
    return CurveFit(
        family=cand.family,  # type: ignore[arg-type]
        params=params,
        theta=cand.theta,
        r2=r2,
        mape=mape,
        n_weeks=int(valid.sum()),
        max_observed_weekly_spend=float(x.max()),
        mean_carryover=float(np.mean(adstocked - x)),
        baseline=float(base),
        aicc=float(aicc),
        source="fitted",
        metric=metric,
        observed=observed,
    )


@dataclass(frozen=True)
class ChannelFit:
    """The outcome of fitting one channel: a curve, or the reason there is none."""

    channel: str
    status: Literal["ok", "not_enough_data"]
    curve: CurveFit | None = None
    reason: str | None = None  # i18n key, e.g. "curves.status.too_few_weeks"
    nonzero_weeks: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def message(self, lang: str = "en") -> str:
        """The status in words ("Fitted", or why there is no curve)."""
        return t(self.reason or "curves.status.ok", lang)


def fit_all(
    frame: pd.DataFrame,
    family: str = "auto",
    *,
    response_column: str = "response",
    spend_column: str = "spend",
    channel_column: str = "channel",
    week_column: str | None = "week",
    baseline: bool | Literal["auto"] = False,
    metric: str | None = None,
) -> dict[str, ChannelFit]:
    """Fit every channel of a long weekly frame (channel, week, spend, response).

    Weeks missing for a channel (between the frame's first and last week) count as
    zero spend and zero response, so the carry-over is computed on a continuous
    calendar. Channels with fewer than 8 weeks of spend or no variation come back
    with status "not_enough_data" and the reason, never an exception.
    """
    for column in (channel_column, spend_column, response_column):
        if column not in frame.columns:
            raise ValueError(f"the frame needs a {column!r} column")
    data = frame
    if week_column and week_column in frame.columns and len(frame):
        data = _dense_weeks(frame, channel_column, week_column, spend_column, response_column)
    results: dict[str, ChannelFit] = {}
    for channel, group in data.groupby(channel_column, sort=True):
        if week_column and week_column in group.columns:
            group = group.sort_values(week_column)
        name = str(channel)
        try:
            curve = fit_channel(
                group[spend_column].to_numpy(dtype=float),
                group[response_column].to_numpy(dtype=float),
                family,
                baseline=baseline,
                metric=metric,
            )
        except NotEnoughData as exc:
            results[name] = ChannelFit(name, "not_enough_data", None, exc.message_key, exc.nonzero_weeks)
            continue
        if curve.observed is not None and week_column and week_column in group.columns:
            curve.observed.insert(0, "week", group[week_column].to_numpy())
        results[name] = ChannelFit(name, "ok", curve, None, int((group[spend_column] > 0).sum()))
    return results


def _dense_weeks(frame: pd.DataFrame, channel: str, week: str, spend: str, response: str) -> pd.DataFrame:
    weeks = pd.to_datetime(frame[week])
    summed = (
        frame.assign(**{week: weeks})
        .groupby([channel, week], sort=True)[[spend, response]]
        .sum(min_count=1)
        .reset_index()
    )
    summed[spend] = summed[spend].fillna(0.0)
    calendar = pd.date_range(weeks.min(), weeks.max(), freq="7D")
    if len(calendar) and not weeks.isin(calendar).all():
        return summed  # not a regular weekly calendar: keep the rows as given
    full = pd.MultiIndex.from_product([summed[channel].unique(), calendar], names=[channel, week])
    dense = summed.assign(_present=True).set_index([channel, week]).reindex(full).reset_index()
    dense[spend] = dense[spend].fillna(0.0)
    # A week without a row means the channel did not run: zero response, unless the
    # channel never reports the metric at all (then it stays unknown).
    reports = summed.groupby(channel)[response].count() > 0
    missing_row = dense["_present"].isna().to_numpy()
    reporting = dense[channel].map(reports).fillna(False).astype(bool).to_numpy()
    dense.loc[missing_row & reporting, response] = 0.0
    dense = dense.drop(columns="_present")
    return dense


def usable_curves(fits: Mapping[str, ChannelFit]) -> dict[str, CurveFit]:
    """Only the channels that have a curve, in channel order."""
    return {name: fit.curve for name, fit in fits.items() if fit.curve is not None}


def fits_summary(fits: Mapping[str, ChannelFit]) -> pd.DataFrame:
    """One row per channel: status, family, θ, half-life, R², MAPE, weeks, highest weekly spend.

    Column names are stable identifiers; pages label them with ``curves.col.<name>``.
    """
    rows = []
    for name, fit in fits.items():
        c = fit.curve
        rows.append(
            {
                "channel": name,
                "status": fit.status,
                "reason": fit.reason,
                "family": c.family if c else None,
                "theta": c.theta if c else None,
                "half_life": c.half_life if c else None,
                "r2": c.r2 if c else None,
                "mape": c.mape if c else None,
                "n_weeks": c.n_weeks if c else fit.nonzero_weeks,
                "max_observed_weekly_spend": c.max_observed_weekly_spend if c else None,
                "saturation_level": c.saturation_level if c else None,
                "baseline": c.baseline if c else None,
                "source": c.source if c else None,
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# Loading weekly channel data from the workspace
# ---------------------------------------------------------------------------


def weekly_channel_frame(ws: Workspace, dataset_id: int, metric: str = "new_customers") -> pd.DataFrame:
    """Weekly spend and ``metric`` per channel from ``channel_spend``, on a continuous calendar.

    Rows are summed to ISO weeks (``date_trunc('week', period_start)``, Mondays).
    Weeks in the dataset's range where a channel has no row get spend 0 and
    response 0 (NaN if the channel never reports the metric). For daily data a
    partial first or last week is dropped, so it does not look like a spend cut.
    Columns: channel, week, spend, response.
    """
    if metric not in RESPONSE_METRICS:
        raise ValueError(f"metric must be one of {', '.join(RESPONSE_METRICS)}")
    column = '"' + metric.replace('"', '""') + '"'  # whitelisted above; quoted anyway
    sql = f"""
        WITH weekly AS (
            SELECT channel,
                   CAST(date_trunc('week', period_start) AS DATE) AS week,
                   sum(spend) AS spend,
                   sum({column}) AS response,
                   count(DISTINCT period_start) AS n_periods
            FROM channel_spend
            WHERE dataset_id = ?
            GROUP BY ALL
        ),
        reporting AS (
            SELECT channel, bool_or(response IS NOT NULL) AS reports FROM weekly GROUP BY channel
        ),
        calendar AS (
            SELECT CAST(unnest(generate_series(min(week), max(week), INTERVAL 7 DAY)) AS DATE) AS week
            FROM weekly
        )
        SELECT r.channel, c.week,
               coalesce(w.spend, 0.0) AS spend,
               CASE WHEN w.week IS NULL AND r.reports THEN 0.0 ELSE w.response END AS response,
               coalesce(w.n_periods, 0) AS n_periods
        FROM reporting r CROSS JOIN calendar c
        LEFT JOIN weekly w ON w.channel = r.channel AND w.week = c.week
        ORDER BY r.channel, c.week
    """
    frame = ws.query_df(sql, [int(dataset_id)])
    if frame.empty:
        return pd.DataFrame(columns=["channel", "week", "spend", "response"])
    frame["week"] = pd.to_datetime(frame["week"])
    # Daily data: a week with fewer distinct days than the busiest week at the edges is partial.
    per_week_days = frame.groupby("week")["n_periods"].max()
    if per_week_days.max() > 1:
        edges = [per_week_days.index.min(), per_week_days.index.max()]
        partial = [w for w in edges if per_week_days[w] < 7]
        frame = frame[~frame["week"].isin(partial)]
    result: pd.DataFrame = frame.drop(columns="n_periods").reset_index(drop=True)
    return result


# ---------------------------------------------------------------------------
# Typed-in curves (from an external MMM) that replace the fit, saved per dataset
# ---------------------------------------------------------------------------

OVERRIDES_KEY = "curves.overrides"


def load_overrides(ws: Workspace, dataset_id: int, metric: str) -> dict[str, CurveFit]:
    """The curves a user typed in for ``metric``, by channel (empty when none)."""
    stored = ws.get_setting(dataset_id, OVERRIDES_KEY, {}) or {}
    return {channel: CurveFit.from_dict(data) for channel, data in (stored.get(metric) or {}).items()}


def apply_overrides(ws: Workspace, dataset_id: int, curves: Mapping[str, CurveFit], metric: str) -> dict[str, CurveFit]:
    """``curves`` with every typed-in curve in place of its channel's fit (optimiser, scenarios, review pack)."""
    return {**curves, **load_overrides(ws, dataset_id, metric)}


def save_override(ws: Workspace, dataset_id: int, metric: str, channel: str, curve: CurveFit | None) -> None:
    """Store (or, with ``None``, remove) a typed-in curve.

    The dataset's version is bumped, because every number derived from the curves
    (cached optimisations, scenarios) changes with it.
    """
    stored = ws.get_setting(dataset_id, OVERRIDES_KEY, {}) or {}
    by_channel = dict(stored.get(metric) or {})
    if curve is None:
        by_channel.pop(channel, None)
    else:
        by_channel[channel] = curve.to_dict()
    stored[metric] = by_channel
    ws.set_setting(dataset_id, OVERRIDES_KEY, stored)
    with ws.transaction() as cur:
        ws.bump_version(cur, dataset_id)
