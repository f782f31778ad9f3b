"""Response curves: every formula against hand-computed values, fits that recover known curves, real data end to end.

A planner trusts the curves page only if (1) the adstock, saturation, marginal and
inverse formulas give the numbers worked out by hand, (2) a fit on data simulated
from a known curve gives that curve back, (3) channels without enough history say
so instead of showing a made-up curve, and (4) it all runs on real-shaped data fast.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from lib.channels.curves import (
    CurveFit,
    save_override,
    NotEnoughData,
    curve_points,
    extrapolation_warning,
    fit_all,
    fit_channel,
    fits_summary,
    geometric_adstock,
    half_life,
    hill,
    hill_inverse,
    hill_marginal,
    hill_marginal_inverse,
    hill_peak_marginal_point,
    michaelis_menten,
    michaelis_menten_inverse,
    michaelis_menten_marginal,
    robyn_inflexion,
    steady_state_multiplier,
    tanh_inverse,
    tanh_marginal,
    tanh_marginal_inverse,
    tanh_saturation,
    usable_curves,
    weekly_channel_frame,
)
from tests.conftest import ROBYN_PATH

# ---------------------------------------------------------------------------
# Formulas by hand
# ---------------------------------------------------------------------------


def test_geometric_adstock_matches_hand_recursion():
    # a1 = 100; a2 = 0 + .5*100 = 50; a3 = 25; a4 = 50 + 12.5 = 62.5
    assert np.allclose(geometric_adstock([100, 0, 0, 50], 0.5), [100, 50, 25, 62.5])
    # carry-in a0 = 40: a1 = 100 + 20 = 120, a2 = 60, a3 = 30, a4 = 65
    assert np.allclose(geometric_adstock([100, 0, 0, 50], 0.5, initial=40), [120, 60, 30, 65])
    assert np.allclose(geometric_adstock([100, 0, 0, 50], 0.5) - [100, 0, 0, 50], [0, 50, 25, 12.5])  # carry-over
    assert np.allclose(geometric_adstock([3, 4], 0.0), [3, 4])
    with pytest.raises(ValueError):
        geometric_adstock([1, 2], 1.0)


def test_steady_state_is_one_over_one_minus_theta():
    # Robyn docs: θ = 0.75 → a constant spend is worth 4× once carry-over has built up.
    assert steady_state_multiplier(0.75) == pytest.approx(4.0)
    assert geometric_adstock(np.full(200, 10.0), 0.75)[-1] == pytest.approx(40.0)


def test_half_life_round_trip():
    assert half_life(0.5) == pytest.approx(1.0)
    assert half_life(0.0) == 0.0
    assert half_life(math.sqrt(0.5)) == pytest.approx(2.0)
    assert half_life(0.5 ** (1 / 3.3)) == pytest.approx(3.3)


def test_hill_values_marginal_and_inverse_by_hand():
    beta, alpha, gamma = 1000.0, 2.0, 50.0
    assert float(hill(50, beta, alpha, gamma)) == pytest.approx(500.0)  # half saturation at γ
    assert float(hill(100, beta, alpha, gamma)) == pytest.approx(800.0)  # 1000·4/5
    assert float(hill(0, beta, alpha, gamma)) == 0.0
    # dy/da = βαγ^α a^(α−1) / (a^α + γ^α)² = 1000·2·2500·100 / (12500)² = 3.2
    assert float(hill_marginal(100, beta, alpha, gamma)) == pytest.approx(3.2)
    assert float(hill_inverse(800, beta, alpha, gamma)) == pytest.approx(100.0)
    assert float(hill_inverse(1000, beta, alpha, gamma)) == math.inf
    # The marginal peaks at γ·((α−1)/(α+1))^(1/α) = 50/√3 for α = 2.
    peak = hill_peak_marginal_point(alpha, gamma)
    assert peak == pytest.approx(50 / math.sqrt(3))
    grid = np.linspace(1, 200, 20001)
    assert grid[np.argmax(hill_marginal(grid, beta, alpha, gamma))] == pytest.approx(peak, abs=0.02)


@pytest.mark.parametrize("alpha", [0.6, 1.0, 1.7, 3.0])
def test_hill_marginal_inverse_returns_the_spend_on_the_falling_branch(alpha):
    a = np.geomspace(10, 1e6, 40)
    a = a[a >= hill_peak_marginal_point(alpha, 8000)]
    back = hill_marginal_inverse(hill_marginal(a, 5e4, alpha, 8000), 5e4, alpha, 8000)
    assert np.allclose(back, a, rtol=1e-8)


def test_michaelis_menten_and_tanh_by_hand():
    # MM: V=30000, K=3000 at a=3000 → 15000; marginal VK/(K+a)² = 2.5; inverse(15000) = 3000.
    assert float(michaelis_menten(3000, 30000, 3000)) == pytest.approx(15000)
    assert float(michaelis_menten_marginal(3000, 30000, 3000)) == pytest.approx(2.5)
    assert float(michaelis_menten_inverse(15000, 30000, 3000)) == pytest.approx(3000)
    # tanh: b=100, c=2 → slope 1/c = 0.5 at zero; at a = b·c·artanh(0.5) the response is 50.
    a_half = 200 * math.atanh(0.5)
    assert float(tanh_saturation(a_half, 100, 2)) == pytest.approx(50)
    assert float(tanh_marginal(0, 100, 2)) == pytest.approx(0.5)
    assert float(tanh_marginal(a_half, 100, 2)) == pytest.approx(0.5 * (1 - 0.25))  # sech² = 1 − tanh²
    assert float(tanh_inverse(50, 100, 2)) == pytest.approx(a_half)
    assert float(tanh_marginal_inverse(0.375, 100, 2)) == pytest.approx(a_half)
    assert float(tanh_marginal_inverse(0.6, 100, 2)) == 0.0  # above the slope at zero


def test_curve_is_evaluated_at_steady_state():
    # θ = 0.5 doubles a sustained spend: y(25) = MM(50; V=100, K=50) = 50.
    curve = CurveFit.from_params("michaelis_menten", {"vmax": 100, "k": 50}, theta=0.5)
    assert float(curve.response(25)) == pytest.approx(50.0)
    # d/dx MM(2x) = 2·VK/(K+2x)² = 2·5000/10000 = 1.0
    assert float(curve.marginal(25)) == pytest.approx(1.0)
    assert float(curve.inverse(50)) == pytest.approx(25.0)
    assert float(curve.marginal_inverse(1.0)) == pytest.approx(25.0)
    assert float(curve.marginal_cost(25)) == pytest.approx(1.0)
    assert float(curve.response(0)) == 0.0  # zero spend, zero media response
    # Same family with K scaled by (1 − θ): MM(x; V, K·(1−θ)).
    xs = np.array([1.0, 10.0, 80.0])
    assert np.allclose(curve.response(xs), michaelis_menten(xs, 100, 25))


def test_curve_over_a_quarter_scales_spend_and_response():
    weekly = CurveFit.from_params("hill", {"beta": 200, "alpha": 1.5, "gamma": 9000}, theta=0.3)
    quarter = weekly.over_periods(13)
    assert float(quarter.response(13 * 5000)) == pytest.approx(13 * float(weekly.response(5000)))
    assert float(quarter.marginal(13 * 5000)) == pytest.approx(float(weekly.marginal(5000)))
    assert float(quarter.inverse(13 * 100)) == pytest.approx(13 * float(weekly.inverse(100)))
    assert quarter.concave_from == pytest.approx(13 * weekly.concave_from)


def test_s_curve_facts():
    s = CurveFit.from_params("hill", {"beta": 50000, "alpha": 2.5, "gamma": 8000})
    assert not s.is_concave
    assert s.concave_from == pytest.approx(8000 * (1.5 / 3.5) ** 0.4)
    assert CurveFit.from_params("hill", {"beta": 1, "alpha": 0.9, "gamma": 1}).is_concave
    assert CurveFit.from_params("tanh", {"b": 1, "c": 1}).concave_from == 0.0


def test_parameters_typed_in_from_an_external_model():
    curve = CurveFit.from_params("Hill", {"Beta": 300, "slope": 1.2, "inflexion": 7000}, theta=0.2)
    assert curve.source == "manual" and dict(curve.params) == {"beta": 300, "alpha": 1.2, "gamma": 7000}
    assert CurveFit.from_params("mm", {"V": 10, "K": 5}).family == "michaelis_menten"
    with pytest.raises(ValueError, match="positive"):
        CurveFit.from_params("hill", {"beta": -1, "alpha": 1, "gamma": 1})
    with pytest.raises(ValueError, match="needs parameters"):
        CurveFit.from_params("hill", {"beta": 1, "alpha": 1})
    with pytest.raises(ValueError, match="no parameter"):
        CurveFit.from_params("tanh", {"b": 1, "c": 1, "zeta": 3})
    with pytest.raises(ValueError, match="unknown curve family"):
        CurveFit.from_params("weibull", {"b": 1})
    with pytest.raises(ValueError, match="θ"):
        CurveFit.from_params("tanh", {"b": 1, "c": 1}, theta=1.2)
    # Robyn's relative γ needs the adstocked spend it was fitted on.
    assert robyn_inflexion(0.5, [50, 100, 250]) == pytest.approx(125)
    assert robyn_inflexion(0.5, [50, 100, 250], legacy=True) == pytest.approx(150)


def test_curve_round_trips_through_a_dict():
    curve = CurveFit.from_params("tanh", {"b": 120, "c": 35}, theta=0.4, max_observed_weekly_spend=9000)
    again = CurveFit.from_dict(curve.to_dict())
    assert again == curve
    assert float(again.response(5000)) == pytest.approx(float(curve.response(5000)))


def test_extrapolation_warning_levels_in_both_languages():
    curve = CurveFit.from_params("michaelis_menten", {"vmax": 100, "k": 50}, max_observed_weekly_spend=10_000)
    assert curve.extrapolation_level(9_000) == "none" and extrapolation_warning(curve, 9_000) is None
    assert curve.extrapolation_level(12_000) == "beyond"
    assert curve.extrapolation_level(16_000) == "far"
    assert "¥10,000" in extrapolation_warning(curve, 12_000, "en")
    zh = extrapolation_warning(curve, 16_000, "zh")
    assert "历史最高周" in zh and "¥1.0万" in zh
    points = curve_points(curve)
    assert points["spend"].max() == pytest.approx(20_000)
    assert points.loc[points["spend"] > 10_000, "beyond_observed"].all()
    assert not points.loc[points["spend"] <= 10_000, "beyond_observed"].any()


# ---------------------------------------------------------------------------
# Fitting recovers known curves
# ---------------------------------------------------------------------------


def _simulated_spend(rng: np.random.Generator, weeks: int = 104) -> np.ndarray:
    spend = rng.lognormal(np.log(10_000), 0.6, weeks)
    spend[rng.random(weeks) < 0.1] = 0.0
    return spend


def test_fit_recovers_a_hill_s_curve_with_carryover():
    rng = np.random.default_rng(11)
    spend = _simulated_spend(rng)
    adstocked = geometric_adstock(spend, 0.4)
    truth = {"beta": 5000.0, "alpha": 1.8, "gamma": 0.5 * adstocked.max()}
    response = hill(adstocked, **truth) * (1 + 0.03 * rng.standard_normal(spend.size))
    fit = fit_channel(spend, response, "hill")
    assert fit.theta == pytest.approx(0.4, abs=0.051)
    for name, value in truth.items():
        assert fit.params[name] == pytest.approx(value, rel=0.10), name
    assert fit.r2 > 0.95 and fit.mape < 0.05
    assert fit.n_weeks == 104 and fit.max_observed_weekly_spend == pytest.approx(spend.max())
    assert fit.mean_carryover == pytest.approx(np.mean(geometric_adstock(spend, fit.theta) - spend))
    # "auto" also lands on the S-shape and the same curve.
    auto = fit_channel(spend, response)
    assert auto.family == "hill" and not auto.is_concave
    assert float(auto.response(10_000)) == pytest.approx(float(hill(10_000 / 0.6, **truth)), rel=0.05)


def test_fit_recovers_michaelis_menten_with_carryover():
    rng = np.random.default_rng(5)
    spend = _simulated_spend(rng)
    adstocked = geometric_adstock(spend, 0.3)
    truth = {"vmax": 4000.0, "k": 0.4 * adstocked.max()}
    response = michaelis_menten(adstocked, **truth) * (1 + 0.03 * rng.standard_normal(spend.size))
    fit = fit_channel(spend, response, "michaelis_menten")
    assert fit.theta == pytest.approx(0.3, abs=0.051)
    assert fit.params["vmax"] == pytest.approx(truth["vmax"], rel=0.10)
    assert fit.params["k"] == pytest.approx(truth["k"], rel=0.10)
    # Whatever family "auto" picks, the curve matches the truth across the observed range.
    auto = fit_channel(spend, response)
    xs = np.array([2_000.0, 10_000.0, 25_000.0])
    assert np.allclose(auto.response(xs), michaelis_menten(xs / 0.7, **truth), rtol=0.06)


def test_fit_with_a_baseline_separates_organic_results():
    rng = np.random.default_rng(3)
    spend = _simulated_spend(rng)
    adstocked = geometric_adstock(spend, 0.2)
    response = 300 + michaelis_menten(adstocked, 900, 8000) + rng.normal(0, 10, spend.size)
    fit = fit_channel(spend, response, "michaelis_menten", baseline="auto")
    assert fit.baseline == pytest.approx(300, rel=0.10)
    assert float(fit.response(0)) == 0.0  # response is the media-driven part only
    assert fit.observed is not None and fit.observed["fitted"].iloc[0] >= fit.baseline


def test_observed_weeks_sit_on_the_steady_state_axis():
    rng = np.random.default_rng(2)
    spend = _simulated_spend(rng)
    response = michaelis_menten(geometric_adstock(spend, 0.5), 1000, 15000)
    fit = fit_channel(spend, response, "michaelis_menten")
    obs = fit.observed
    # A week plotted at (1 − θ)·a_t on the x-axis lies on the curve y(x) = f(x / (1 − θ)).
    assert np.allclose(fit.response(obs["equivalent_spend"]), obs["fitted"], rtol=1e-9)
    assert np.allclose(obs["fitted"], obs["response"], rtol=0.02)


def test_channels_without_enough_history_get_a_status_not_a_curve():
    rng = np.random.default_rng(0)
    few = np.zeros(30)
    few[:7] = rng.uniform(1000, 2000, 7)
    with pytest.raises(NotEnoughData) as excinfo:
        fit_channel(few, few * 0.01)
    assert excinfo.value.reason == "too_few_weeks" and excinfo.value.nonzero_weeks == 7
    with pytest.raises(NotEnoughData, match="no_spend_variation"):
        fit_channel(np.full(20, 500.0), rng.uniform(1, 2, 20))
    with pytest.raises(NotEnoughData, match="no_response_variation"):
        fit_channel(rng.uniform(100, 900, 20), np.full(20, 3.0))
    with pytest.raises(NotEnoughData, match="no_response"):
        fit_channel(rng.uniform(100, 900, 20), np.full(20, np.nan))

    weeks = pd.date_range("2024-01-01", periods=30, freq="7D")
    good_spend = rng.uniform(1000, 9000, 30)
    frame = pd.concat(
        [
            pd.DataFrame({"channel": "抖音", "week": weeks, "spend": good_spend,
                          "response": michaelis_menten(good_spend, 80, 4000)}),
            pd.DataFrame({"channel": "知乎", "week": weeks, "spend": few, "response": few * 0.01}),
        ]
    )
    fits = fit_all(frame)
    assert fits["抖音"].ok and fits["抖音"].curve is not None
    assert fits["知乎"].status == "not_enough_data" and fits["知乎"].curve is None
    assert "8 weeks" in fits["知乎"].message("en") and "8 周" in fits["知乎"].message("zh")
    assert list(usable_curves(fits)) == ["抖音"]
    summary = fits_summary(fits).set_index("channel")
    assert summary.loc["知乎", "reason"] == "curves.status.too_few_weeks"
    assert summary.loc["抖音", "status"] == "ok"


def test_fit_all_fills_missing_weeks_with_zero_spend():
    weeks = pd.date_range("2024-01-01", periods=40, freq="7D")
    rng = np.random.default_rng(9)
    spend = rng.uniform(1000, 9000, 40)
    frame = pd.DataFrame({"channel": "B站", "week": weeks, "spend": spend,
                          "response": michaelis_menten(geometric_adstock(spend, 0.3), 60, 5000)})
    gappy = frame.drop(index=[10, 11, 12])  # three weeks with no row: the channel paused
    fit = fit_all(gappy)["B站"].curve
    assert fit is not None
    assert fit.n_weeks == 40  # the gap is kept on the calendar (zero spend, zero result)
    assert (fit.observed["spend"].iloc[10:13] == 0).all()
    assert pd.Timestamp(fit.observed["week"].iloc[11]) == weeks[11]  # observed weeks keep their dates


def test_fit_all_ten_channels_by_104_weeks_takes_seconds_not_hours():
    rng = np.random.default_rng(21)
    weeks = pd.date_range("2023-01-02", periods=104, freq="7D")
    frames = []
    for i in range(10):
        spend = _simulated_spend(rng)
        a = geometric_adstock(spend, [0.1, 0.3, 0.5][i % 3])
        alpha = [0.8, 1.0, 1.6, 2.2][i % 4]
        y = hill(a, 300, alpha, 0.6 * a.max()) * rng.lognormal(0, 0.05, 104)
        frames.append(pd.DataFrame({"channel": f"c{i}", "week": weeks, "spend": spend, "response": y}))
    frame = pd.concat(frames, ignore_index=True)
    start = time.process_time()
    fits = fit_all(frame)
    elapsed = time.process_time() - start
    assert all(f.ok for f in fits.values())
    assert elapsed < 5.0, f"fit_all took {elapsed:.1f} s of CPU for 10 × 104"


def test_fit_recovers_the_sample_stores_true_curves():
    """The shipped sample store was simulated from known curves; the fit must find them."""
    from lib.importing import sample_store

    store = sample_store.generate()
    fits = fit_all(store.channels, response_column="new_customers")
    for name, truth in sample_store.CHANNEL_TRUTH.items():
        curve = fits[name].curve
        assert curve is not None, name
        assert curve.theta == pytest.approx(truth.theta, abs=0.1), name
        median = float(store.channels.loc[store.channels.channel == name, "spend"].median())
        expected = float(truth.expected_new_customers(median / (1 - truth.theta)))
        assert float(curve.response(median)) == pytest.approx(expected, rel=0.12), name


# ---------------------------------------------------------------------------
# Real data end to end
# ---------------------------------------------------------------------------


@pytest.mark.skipif(not ROBYN_PATH.exists(), reason=f"Robyn reference data not found at {ROBYN_PATH}")
def test_robyn_weekly_data_end_to_end():
    from lib.channels.optimizer import allocate, evaluate

    wide = pd.read_csv(ROBYN_PATH)
    spend_columns = [c for c in wide.columns if c.endswith("_S")]
    assert len(spend_columns) >= 5
    frame = wide.melt(id_vars=["DATE", "revenue"], value_vars=spend_columns, var_name="channel",
                      value_name="spend").rename(columns={"DATE": "week", "revenue": "response"})
    # Revenue is the whole business, not one channel's: let the fit carry an organic baseline.
    fits = fit_all(frame, baseline=True, metric="revenue")
    assert set(fits) == set(spend_columns)
    curves = usable_curves(fits)
    assert len(curves) == len(spend_columns)
    for name, curve in curves.items():
        assert curve.n_weeks == len(wide)
        assert curve.max_observed_weekly_spend == pytest.approx(wide[name].max())
        assert 0 < curve.baseline < wide["revenue"].max()
        assert curve.r2 is not None and -1 < curve.r2 <= 1 and curve.mape is not None
        assert 0.0 <= curve.theta <= 0.8 and curve.metric == "revenue"
    # The optimiser on these curves never does worse than the historical average split.
    historical = {name: float(wide[name].mean()) for name in curves}
    current = evaluate(curves, historical, "revenue")
    best = allocate(curves, sum(historical.values()), objective="revenue")
    assert best.total_response >= current.total_response * 0.999
    assert best.total_spend == pytest.approx(sum(historical.values()))


# ---------------------------------------------------------------------------
# Loading from the workspace
# ---------------------------------------------------------------------------


def _insert_channel_rows(ws, rows: pd.DataFrame) -> int:
    with ws.transaction() as cur:
        dataset_id = ws.ensure_dataset(cur, "channels test")
        df = rows.assign(dataset_id=dataset_id)[
            ["dataset_id", "period_start", "channel", "spend", "impressions", "clicks",
             "new_customers", "orders", "revenue"]
        ]
        cur.register("df", df)
        cur.execute("INSERT INTO channel_spend SELECT * FROM df")
    return dataset_id


def test_weekly_channel_frame_sums_days_to_weeks_and_fills_gaps(ws):
    days = pd.date_range("2024-01-03", "2024-02-04", freq="D")  # Wed 3 Jan .. Sun 4 Feb
    rows = []
    for day in days:
        if pd.Timestamp("2024-01-15") <= day <= pd.Timestamp("2024-01-21"):
            continue  # 知乎 ran nothing that week; 抖音 kept going
        rows.append((day.date(), "知乎", 100.0, None, None, 2.0, None, None))
    for day in days:
        rows.append((day.date(), "抖音", 50.0, None, None, None, None, 500.0))
    frame = pd.DataFrame(rows, columns=["period_start", "channel", "spend", "impressions", "clicks",
                                        "new_customers", "orders", "revenue"])
    for column in ["impressions", "clicks", "new_customers", "orders", "revenue"]:
        frame[column] = frame[column].astype("float64")
    dataset_id = _insert_channel_rows(ws, frame)

    weekly = weekly_channel_frame(ws, dataset_id, "new_customers")
    assert list(weekly.columns) == ["channel", "week", "spend", "response"]
    # The first week (Mon 1 Jan, data from Wed) is partial and dropped; weeks 8, 15, 22, 29 Jan remain.
    assert sorted(weekly["week"].dt.strftime("%Y-%m-%d").unique()) == [
        "2024-01-08", "2024-01-15", "2024-01-22", "2024-01-29"]
    zhihu = weekly[weekly.channel == "知乎"].set_index(weekly[weekly.channel == "知乎"]["week"].dt.strftime("%m-%d"))
    assert zhihu.loc["01-08", "spend"] == pytest.approx(700.0)
    assert zhihu.loc["01-08", "response"] == pytest.approx(14.0)
    assert zhihu.loc["01-15", "spend"] == 0.0 and zhihu.loc["01-15", "response"] == 0.0
    # 抖音 never reports new customers: unknown, not zero.
    douyin = weekly[weekly.channel == "抖音"]
    assert douyin["response"].isna().all() and (douyin["spend"] == 350.0).all()
    revenue = weekly_channel_frame(ws, dataset_id, "revenue")
    assert (revenue.loc[revenue.channel == "抖音", "response"] == 3500.0).all()
    with pytest.raises(ValueError):
        weekly_channel_frame(ws, dataset_id, 'spend"; DROP TABLE orders; --')
    assert ws.query_rows("SELECT count(*) FROM orders")[0][0] == 0


def test_a_typed_in_curve_replaces_the_fit_for_scenarios_too(tmp_path):
    from lib import scenarios
    from lib.importing import load_sample_store
    from lib.workspace import Workspace

    ws = Workspace(tmp_path / "ws.duckdb")
    ds = load_sample_store(ws)
    version = ws.get_dataset(ds).data_version
    typed = CurveFit.from_params("michaelis_menten", {"vmax": 999.0, "k": 1000.0}, 0.0)
    save_override(ws, ds, "new_customers", "抖音", typed)
    assert ws.get_dataset(ds).data_version == version + 1, "cached results built on the old curve are dropped"
    used = scenarios.scenario_curves(ws, ds)
    assert used["抖音"].params == typed.params and used["抖音"].source == "manual"
    save_override(ws, ds, "new_customers", "抖音", None)
    assert scenarios.scenario_curves(ws, ds)["抖音"].source == "fitted"
    ws.close()
