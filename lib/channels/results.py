"""What a fitted marketing-mix model reports: per channel results, groups, the weekly decomposition, curves.

Why a module of its own: :mod:`lib.channels.fitting` produces an :class:`MmmFit`;
:mod:`lib.channels.plans`, :mod:`lib.channels.model`, the pages and the CLI read it. The
bootstrap replicates it carries (``MmmFit.state``) give every figure its 80 % interval and
``response_curve`` its band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lib.channels.curves import CurveFit, hill, hill_marginal
from lib.channels.design import Array, Baseline, Candidates, MmmData
from lib.channels.intervals import pct, trim_mean



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
class ModelState:
    """What curves and plans need beyond the reported figures: the shapes, coefficients and replicates (outcome units)."""

    base: Baseline
    cands: tuple[Candidates, ...]
    choice: Array  # (C,) grid index per channel
    coef: Array  # (C,) media coefficients β
    gamma: Array  # (p,) baseline coefficients
    draw_choice: Array  # (B, C)
    draw_coef: Array  # (B, C)
    draw_gamma: Array  # (B, p)
    residuals: Array  # (n,) centred, inflated residuals for noise draws
    cache: dict[Any, Any] = field(default_factory=dict)  # plan contexts (they do not depend on spend)


@dataclass(frozen=True, eq=False)
class MmmFit:
    """A fitted model: per-channel results, the weekly decomposition, fit quality, warnings, draws.

    ``decomposition`` has one row per week: ``outcome``, ``fitted``, ``residual``, ``baseline`` (and
    its parts ``baseline_trend`` / ``_seasonality`` / ``_festivals`` / ``_controls``) and one column
    per channel; ``baseline + Σ channels == fitted`` every week and ``residual = outcome − fitted``.
    ``warnings`` are ``(code, params)`` pairs; ``explain_warning`` renders them. ``state`` holds the
    chosen shapes and every bootstrap replicate, for the curves and plans of this package.
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
    state: ModelState = field(repr=False)

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
        """The single best fit's response curve as a ``lib.channels.curves.CurveFit`` (None when β = 0).

        Lets the existing optimiser and charts use the model's curves; the bagged curve with its
        band is ``response_curve``.
        """
        c = self.channels.index(channel)
        beta = float(self.state.coef[c])
        if beta <= 0:
            return None
        cand, j = self.state.cands[c], int(self.state.choice[c])
        spend = self.data.spend[channel].to_numpy()
        return CurveFit(
            family="hill", params={"beta": beta, "alpha": float(cand.alpha[j]), "gamma": float(cand.k[j])},
            theta=float(cand.theta[j]), r2=self.r2, mape=self.mape, n_weeks=len(spend),
            max_observed_weekly_spend=float(spend.max()) if spend.max() > 0 else None,
            metric=self.data.outcome_kind,
        )


def draw_shapes(fit: MmmFit, c: int) -> tuple[Array, Array, Array, Array, Array]:
    """Per bootstrap draw for channel c: β, θ, α, K and the last observed adstocked spend."""
    cd, jb = fit.state.cands[c], fit.state.draw_choice[:, c]
    return fit.state.draw_coef[:, c], cd.theta[jb], cd.alpha[jb], cd.k[jb], cd.last_adstock[jb]


def response_curve(fit: MmmFit, channel: str, spend_grid: Sequence[float] | Array | None = None,
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
    beta, theta, alpha, k, _ = draw_shapes(fit, c)
    a = grid[None, :] / (1.0 - theta[:, None])
    draws = beta[:, None] * hill(a, 1.0, alpha[:, None], k[:, None])
    marginal = beta[:, None] * hill_marginal(np.maximum(a, 1e-9), 1.0, alpha[:, None], k[:, None]) \
        / (1.0 - theta[:, None])
    expected, marginal = trim_mean(draws), trim_mean(marginal)
    return pd.DataFrame({
        "spend": grid, "expected": expected, "p10": pct(draws, 10), "p50": pct(draws, 50),
        "p90": pct(draws, 90), "marginal": marginal, "beyond_observed": grid > max_obs * (1 + 1e-9),
    })
