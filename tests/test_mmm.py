"""The marketing-mix model: reconciles, covers the truth it was simulated from, says when it cannot tell.

Why: an MMM that prints confident numbers it cannot support is worse than none. These tests
fit simulated weeks whose true channel contributions are known and check the promises the
planner makes: 80 % intervals that cover the truth, point estimates close for the channels
that matter, baseline + channels = fitted every week, plain-words warnings when spends move
together, plans whose odds rise with spend, and a minimum budget that really is the minimum.
The 10-channel × 156-week timing is measured in bench/bench_mmm.py, not asserted here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import ROBYN_PATH, require
from lib import channels
from lib.channels import CurveFit

SEEDS = range(50)
TEST_BOOT = 100  # the coverage study's replicates per fit (the default is 200; see the docstring below)


@pytest.fixture(scope="module")
def sim():
    data, truth = channels.simulate_weekly_data(0)
    return data, truth, channels.fit_mmm(data, n_boot=100, seed=0)


def test_decomposition_reconciles_every_week(sim):
    data, _, fit = sim
    dec = fit.decomposition
    names = list(fit.channels)
    assert len(dec) == len(data.weeks) and list(dec["week"]) == list(data.weeks)
    scale = float(np.abs(data.outcome).max())
    assert np.allclose(dec["baseline"] + dec[names].sum(axis=1), dec["fitted"], rtol=0, atol=1e-9 * scale)
    assert np.allclose(dec["outcome"] - dec["fitted"], dec["residual"], rtol=0, atol=1e-9 * scale)
    parts = dec[["baseline_trend", "baseline_seasonality", "baseline_festivals", "baseline_controls"]].sum(axis=1)
    assert np.allclose(parts, dec["baseline"], rtol=0, atol=1e-9 * scale)
    assert (dec[names].to_numpy() >= 0).all()
    for name in names:
        r = fit.results[name]
        assert dec[name].sum() == pytest.approx(r.contribution, rel=1e-9)
        assert 0 <= r.contribution_low <= r.contribution_high
        assert r.roi == pytest.approx(r.contribution / r.spend)
    assert dec["baseline"].sum() == pytest.approx(fit.baseline_total, rel=1e-9)
    assert fit.r2 > 0.9 and 0 < fit.mape < 0.1 and 0 < fit.nrmse < 0.2


def test_intervals_cover_the_truth_and_big_channels_land_within_20_percent():
    """50 simulated data sets × 5 channels (noise 2 % of the mean outcome, AR(1)).

    Measured (100 replicates, as here): 80 % intervals cover the true contribution for 81 % of
    channels and 79 % of the channels with ≥ 10 % of spend land within 20 % (seeds 50–99: 75 % /
    74 %; seeds 100–149: 78 % / 75 %; default 200 replicates on seeds 0–49: 83 % / 79 %). The
    criterion is aggregated as "≥ 70 % of such channels within 20 %": the estimate that is *given*
    the true curves and fits only β reaches ~92 %, the rest is the carry-over / saturation shape
    the weekly data cannot pin down — which is why the intervals re-choose it in every replicate.
    """
    covered, close, sizes = [], [], []
    for seed in SEEDS:
        data, truth = channels.simulate_weekly_data(seed)
        fit = channels.fit_mmm(data, n_boot=TEST_BOOT, seed=seed)
        for name in data.channels:
            true = truth.contribution[name]
            r = fit.results[name]
            covered.append(r.contribution_low <= true <= r.contribution_high)
            if truth.share_of_spend[name] >= 0.10:
                close.append(abs(r.contribution / true - 1.0) <= 0.20)
                sizes.append(truth.share_of_spend[name])
    coverage, within = float(np.mean(covered)), float(np.mean(close))
    report = f"coverage {coverage:.3f} of {len(covered)} channels; within 20 %: {within:.3f} of {len(close)}"
    print(report)
    assert len(covered) == 250 and len(close) >= 150, report
    assert coverage >= 0.70, report
    assert within >= 0.70, report


def test_collinear_channels_are_reported_together_not_split_with_false_precision():
    data, truth = channels.simulate_weekly_data(3, collinear_pair=True)
    assert np.allclose(data.spend["ch2"], 0.5 * data.spend["ch1"])
    fit = channels.fit_mmm(data, n_boot=60, seed=3)
    codes = [code for code, _ in fit.warnings]
    assert "mmm.collinear" in codes
    params = dict(fit.warnings)["mmm.collinear"]
    assert params["channels"] == ["ch1", "ch2"] and params["corr"] == pytest.approx(1.0)
    assert fit.collinear_groups == [["ch1", "ch2"]]
    group = fit.groups[0]
    for name in ("ch1", "ch2"):
        r = fit.results[name]
        assert not r.identifiable and r.group == 0
        # no confident separate estimate: anything from none to all of the group's effect
        assert r.contribution_low == 0.0 and r.contribution_high == pytest.approx(group.contribution_high)
        assert r.contribution_high - r.contribution_low > r.contribution
    assert fit.results["ch1"].contribution + fit.results["ch2"].contribution == pytest.approx(group.contribution)
    true_pair = truth.contribution["ch1"] + truth.contribution["ch2"]
    assert group.contribution_low <= true_pair * 1.2 and group.contribution_high >= true_pair * 0.8
    assert fit.results["ch3"].identifiable
    en = channels.explain_warning("mmm.collinear", params, "en")
    zh = channels.explain_warning("mmm.collinear", params, "zh")
    assert "ch1, ch2" in en and "cannot tell" in en
    assert "ch1、ch2" in zh and "无法区分" in zh
    # the allocator keeps the pair's mix: it cannot say which of the two to favour
    plan = channels.optimise_budget(fit, 13 * data.spend.iloc[-13:].to_numpy().sum() / 13)
    ratio = plan.spend["ch2"] / plan.spend["ch1"] if plan.spend["ch1"] > 0 else 0.5
    assert ratio == pytest.approx(0.5, rel=1e-6)


def test_robyn_example_end_to_end():
    frame = pd.read_csv(require(ROBYN_PATH))
    paid = ["tv_S", "ooh_S", "print_S", "facebook_S", "search_S"]
    controls = pd.DataFrame({
        "competitor_sales_B": frame["competitor_sales_B"], "newsletter": frame["newsletter"],
        "event1": (frame["events"] == "event1").astype(float), "event2": (frame["events"] == "event2").astype(float),
    })
    data = channels.MmmData(weeks=frame["DATE"], outcome=frame["revenue"], spend=frame[paid], controls=controls)
    fit = channels.fit_mmm(data, festivals=False)  # Robyn's example is not a Chinese shop
    print(f"Robyn example: R² {fit.r2:.3f}, MAPE {fit.mape:.3f}, {fit.seconds:.2f} s")
    print(fit.summary()[["channel", "share_of_spend", "roi", "roi_low", "roi_high", "marginal_roi"]].round(2))
    assert len(fit.decomposition) == 208
    assert fit.r2 > 0.85
    for name in paid:
        r = fit.results[name]
        assert r.contribution >= 0 and r.contribution_low >= 0 and r.identifiable
        assert r.roi_low <= r.roi <= r.roi_high
    dec = fit.decomposition
    assert np.allclose(dec["baseline"] + dec[paid].sum(axis=1), dec["fitted"], atol=1e-6 * frame["revenue"].max())
    codes = {code for code, _ in fit.warnings}
    assert codes <= {"mmm.wide_interval", "mmm.vif", "mmm.no_effect"}, fit.warnings
    assert "mmm.collinear" not in codes  # the five spends are not correlated (max |r| ≈ 0.15)
    for code, params in fit.warnings:
        assert channels.explain_warning(code, params, "en") and channels.explain_warning(code, params, "zh")


def test_predict_plan_rises_with_spend_and_has_ordered_quantiles(sim):
    data, _, fit = sim
    current = {c: float(data.spend[c].iloc[-13:].mean()) for c in data.channels}
    forecasts = [channels.predict_plan(fit, {c: v * k for c, v in current.items()}) for k in (0.0, 0.5, 1.0, 1.5, 2.0)]
    for low, high in zip(forecasts, forecasts[1:]):
        assert np.all(high.draws >= low.draws - 1e-6)  # draw by draw, same noise
        assert high.p50 > low.p50
    f = forecasts[2]
    assert f.p10 <= f.p50 <= f.p90
    assert len(f.weekly) == 13 and list(f.weekly.columns[1:6]) == list(data.channels)
    assert f.weekly["week"].iloc[0] == data.weeks[-1] + pd.Timedelta(weeks=1)
    assert (f.weekly["p10"] <= f.weekly["p90"]).all()
    assert f.probability_of_reaching(f.p10) >= 0.89 and f.probability_of_reaching(f.p90) <= 0.11
    # a per-week frame works too, and doubling one channel beyond 1.5× its record warns
    frame = pd.DataFrame({c: np.full(13, v) for c, v in current.items()})
    assert channels.predict_plan(fit, frame).p50 == pytest.approx(f.p50)
    big = dict(current, ch1=3 * float(data.spend["ch1"].max()))
    assert any(code == "mmm.extrapolation" for code, _ in channels.predict_plan(fit, big).warnings)


def test_budget_for_target_is_the_smallest_budget_reaching_the_confidence(sim):
    data, _, fit = sim
    mix = channels.current_mix(fit)
    current_budget = float(data.spend.iloc[-13:].to_numpy().sum())
    base = channels.predict_plan(fit, {c: current_budget * s / 13 for c, s in mix.items()})
    target = base.p50 * 1.03
    budget = channels.budget_for_target(fit, target, confidence=0.8)
    assert budget is not None and budget > current_budget

    def probability(b: float) -> float:
        return channels.predict_plan(fit, {c: b * s / 13 for c, s in mix.items()}).probability_of_reaching(target)

    assert probability(budget) >= 0.8
    assert probability(0.9 * budget) < 0.8
    assert channels.budget_for_target(fit, base.p50 * 10) is None  # saturation: no budget gets there
    optimal = channels.budget_for_target(fit, target, confidence=0.8, mix="optimal")
    assert optimal is not None and optimal <= budget * 1.001


def test_optimise_budget_equalises_marginal_returns_and_beats_the_current_mix(sim):
    data, _, fit = sim
    budget = float(data.spend.iloc[-13:].to_numpy().sum())
    plan = channels.optimise_budget(fit, budget)
    assert sum(plan.spend.values()) == pytest.approx(budget, rel=1e-6)
    current = channels.predict_plan(fit, {c: budget * s / 13 for c, s in channels.current_mix(fit).items()})
    assert plan.forecast.media_draws.mean() >= current.media_draws.mean() * (1 - 1e-6)
    assert plan.forecast.p10 <= plan.forecast.p50 <= plan.forecast.p90
    limit = {c: 2 * 13 * float(data.spend[c].max()) for c in data.channels}
    inside = [c for c in data.channels if 1e-3 * budget < plan.spend[c] < limit[c] * 0.999]
    marginals = [plan.marginal_roi[c] for c in inside]
    assert len(inside) >= 2 and max(marginals) / min(marginals) < 1.05  # KKT: equal mROI inside the bounds
    capped = channels.optimise_budget(fit, budget, bounds={"ch1": (0.0, 0.01 * budget)})
    assert capped.spend["ch1"] <= 0.01 * budget * (1 + 1e-6)


def test_response_curve_band_and_lib_curves_export(sim):
    data, _, fit = sim
    curve = channels.response_curve(fit, "ch1")
    assert curve["spend"].iloc[0] == 0 and curve["expected"].iloc[0] == 0
    assert (np.diff(curve["p50"]) >= -1e-9).all() and (np.diff(curve["expected"]) >= -1e-9).all()
    assert (curve["p10"] <= curve["p50"] + 1e-9).all() and (curve["p50"] <= curve["p90"] + 1e-9).all()
    assert curve["beyond_observed"].iloc[-1] and not curve["beyond_observed"].iloc[1]
    exported = fit.curve("ch1")
    assert isinstance(exported, CurveFit) and exported.family == "hill"
    assert exported.theta == fit.results["ch1"].theta
    assert float(exported.response(1000.0)) > 0


def test_festival_indicators_find_double11_618_and_the_spring_festival():
    weeks = pd.date_range("2023-12-25", "2024-12-30", freq="7D")  # Mondays
    fest = channels.festival_indicators(weeks)
    on = {name: [d.strftime("%m-%d") for d in fest.index[fest[name] == 1]] for name in fest.columns}
    assert on["double11"] == ["11-11"]  # 2024-11-11 is a Monday
    assert on["double11_presale"] == ["10-28", "11-04"]
    assert on["618"] == ["06-17"] and on["618_lead"] == ["06-03", "06-10"]
    assert on["spring_festival"] == ["02-05", "02-12"]  # CNY 2024-02-10
    assert on["nianhuojie"] == ["01-15", "01-22", "01-29"]
    assert set(channels.CNY_DATES) >= set(range(2015, 2031))


def test_warnings_render_in_both_languages():
    samples = {
        "channels": ["a", "b"], "corr": 0.95, "channel": "抖音", "vif": 12.3, "contribution": 1_234_567.0,
        "low": 10_000.0, "high": 3_000_000.0, "weeks": 20, "cv": 0.05, "r2": 0.4, "ratio": 2.5, "factor": 1.4,
    }
    for code in channels.WARNING_TEXT:
        en = channels.explain_warning(code, samples, "en")
        zh = channels.explain_warning(code, samples, "zh-CN")
        assert "{" not in en and "{" not in zh, code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), code
        assert en != zh
    assert "123.5万" in channels.explain_warning("mmm.wide_interval", samples, "zh")
    assert "1.23M" in channels.explain_warning("mmm.wide_interval", samples, "en")
    assert channels.explain_warning("mmm.unknown", {}, "en") == "mmm.unknown"


def test_inputs_are_checked_and_fits_are_reproducible():
    data, _ = channels.simulate_weekly_data(1, n_weeks=60, n_channels=2)
    with pytest.raises(ValueError, match="consecutive"):
        channels.MmmData(weeks=data.weeks[::-1], outcome=data.outcome, spend=data.spend)
    with pytest.raises(ValueError, match="non-negative"):
        channels.MmmData(weeks=data.weeks, outcome=data.outcome, spend=-data.spend)
    with pytest.raises(ValueError, match="channel names"):
        channels.MmmData(weeks=data.weeks, outcome=data.outcome, spend=data.spend.rename(columns={"ch1": "baseline"}))
    a = channels.fit_mmm(data, n_boot=20, seed=5)
    b = channels.fit_mmm(data, n_boot=20, seed=5)
    assert [a.results[c].contribution for c in a.channels] == [b.results[c].contribution for c in b.channels]
    assert ("mmm.short_history", {"weeks": 60}) in a.warnings


def test_conversions_outcome_reports_cpa():
    data, _ = channels.simulate_weekly_data(2, n_channels=3, outcome_kind="orders")
    fit = channels.fit_mmm(data, n_boot=30, seed=2)
    for name in fit.channels:
        r = fit.results[name]
        assert r.roi is None and r.cpa is not None
        if r.contribution > 0:
            assert r.cpa == pytest.approx(r.spend / r.contribution)
            assert r.cpa_low <= r.cpa <= r.cpa_high
