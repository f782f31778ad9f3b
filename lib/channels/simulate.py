"""Weekly data simulated from known curves, and the truth behind it: the model's test bench.

Why a module of its own: the tests and ``bench/bench_mmm.py`` score the marketing-mix model
against data whose true channel contributions are known; the simulator is built to look like
real shop data (multiplicative baseline, festivals, flighted and pulsed spends, AR(1) noise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.channels.curves import geometric_adstock, hill
from lib.channels.design import Array, MmmData, festival_indicators

STYLES = ("always_on", "flighted", "pulsed")


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
    demand, baseline, price = _demand(rng, weeks_all, with_control)
    names = [f"ch{i + 1}" for i in range(n_channels)]
    spends = _spends(rng, weeks_all, demand, n_channels, dark_weeks, volatility)
    if collinear_pair and n_channels >= 2:
        spends[:, 1] = 0.5 * spends[:, 0]
    thetas, alphas, gammas, unit = _media_shapes(rng, spends, names)
    roi_weight = rng.uniform(0.5, 2.0, n_channels)
    visible = slice(burn_in, None)
    media_total = media_share / (1 - media_share) * baseline[visible].sum()
    weight = spends[visible].sum(axis=0) * roi_weight
    target = media_total * weight / weight.sum()
    betas = {name: float(target[i] / unit[name][visible].sum()) for i, name in enumerate(names)}
    contrib = {name: betas[name] * unit[name] for name in names}
    mean_level = baseline[visible].mean() + sum(contrib[n_][visible].mean() for n_ in names)
    eps = _ar_noise(rng, total_weeks, ar) * noise * mean_level
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


def _demand(rng: np.random.Generator, weeks_all: pd.DatetimeIndex, with_control: bool) -> tuple[Array, Array, Array]:
    """What marketers plan spend around (seasonality and festivals), the weekly baseline, and a price index."""
    total_weeks = len(weeks_all)
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
    return demand, baseline, price


def _spends(rng: np.random.Generator, weeks_all: pd.DatetimeIndex, demand: Array, n_channels: int, dark_weeks: float,
            volatility: float) -> Array:
    """Weekly spend per channel: always-on, flighted or pulsed in turn, levels ×10 apart, following demand."""
    total_weeks = len(weeks_all)
    level = np.exp(rng.uniform(np.log(8_000), np.log(80_000), n_channels))
    spends = np.zeros((total_weeks, n_channels))
    for i in range(n_channels):
        style = STYLES[i % len(STYLES)]
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
    return spends


def _media_shapes(rng: np.random.Generator, spends: Array, names: list[str]
                  ) -> tuple[dict[str, float], dict[str, float], dict[str, float], dict[str, Array]]:
    """Each channel's true θ, α and half-saturation γ, and its unit response hill(adstock(x))."""
    thetas, alphas, gammas, unit = {}, {}, {}, {}
    for i, name in enumerate(names):
        style = STYLES[i % len(STYLES)]
        theta = float(rng.uniform(0.3, 0.7) if style == "flighted" else rng.uniform(0.0, 0.5))
        a = geometric_adstock(spends[:, i], theta)
        alpha = float(rng.uniform(0.8, 1.5))
        gamma = float(rng.uniform(0.5, 2.0) * a[a > 0].mean())
        thetas[name], alphas[name], gammas[name] = theta, alpha, gamma
        unit[name] = hill(a, 1.0, alpha, gamma)
    return thetas, alphas, gammas, unit


def _ar_noise(rng: np.random.Generator, total_weeks: int, ar: float) -> Array:
    """AR(1) noise with unit variance (ρ = ``ar``)."""
    eps = np.zeros(total_weeks)
    innov = rng.normal(0, 1, total_weeks) * math.sqrt(1 - ar**2)
    for t in range(total_weeks):
        eps[t] = (ar * eps[t - 1] if t else 0.0) + innov[t]
    return eps
