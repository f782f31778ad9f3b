"""Predicted customer value (lib.value.clv): lifetimes on CDNOW, the published toy customer, ₂F₁ accuracy,
monotonicity, weights, data guards, CLV discounting, tiers and a calibration check on simulated data.

Why: the figures on the value page are only as good as these numbers; every test here can fail if
a formula, a sign convention or the pattern aggregation is wrong.
"""

from __future__ import annotations

import json
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad

from conftest import CDNOW_PATH, CDNOW_REFERENCE, SHARED_DATA, require
from lib.value import clv as C

CDNOW_FIT = SHARED_DATA / "cdnow" / "lifetimes_bgnbd_gg_fit.json"
CDNOW_PARAMS = {"r": 0.2671277745576809, "alpha": 41.90544762266705, "a": 0.48351691482803066, "b": 2.111608102583417}
# Fader, Hardie & Lee (2005): the 2,357-customer CDNOW sample in weeks.
PUBLISHED_PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def bg_fit(r: float, alpha: float, a: float, b: float) -> C.BgNbdFit:
    """A BgNbdFit with given parameters (fit statistics left empty) for prediction tests."""
    return C.BgNbdFit(r=r, alpha=alpha, a=a, b=b, log_likelihood=np.nan, mean_neg_log_likelihood=np.nan,
                      mean_neg_log_likelihood_lifetimes=np.nan, n_customers=0, n_patterns=0, converged=True)


def gg_fit(p: float, q: float, v: float) -> C.GammaGammaFit:
    return C.GammaGammaFit(p=p, q=q, v=v, log_likelihood=np.nan, n_customers=0, converged=True,
                           frequency_monetary_corr=np.nan)


@pytest.fixture(scope="module")
def cdnow() -> tuple[pd.DataFrame, dict]:
    summary = pd.read_csv(require(CDNOW_REFERENCE), dtype={"customer_id": str})
    return summary, json.loads(require(CDNOW_FIT).read_text())


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    """20,000 customers from known BG/NBD and Gamma-Gamma parameters, with a 180-day holdout."""
    rng = np.random.default_rng(0)
    return C.simulate_bgnbd(rng.uniform(30, 365, 20_000), r=0.5, alpha=20.0, a=0.8, b=2.5, holdout_days=180,
                            gamma_gamma={"p": 6.0, "q": 4.0, "v": 15.0}, seed=rng)


# --------------------------------------------------------------------------------------
# CDNOW against lifetimes 0.11.3
# --------------------------------------------------------------------------------------


def test_lifetimes_sign_convention_is_a_time_unit(cdnow) -> None:
    """At lifetimes' parameters our LL reproduces its figure only in its scaled unit (max T = 1)."""
    summary, ref = cdnow
    x, t_x, T = summary["frequency"], summary["recency"], summary["T"]
    p = ref["bgnbd"]
    days = C.bgnbd_log_likelihood(p["r"], p["alpha"], p["a"], p["b"], x, t_x, T)
    scale = T.max()
    scaled = C.bgnbd_log_likelihood(p["r"], p["alpha"] / scale, p["a"], p["b"], x, t_x / scale, T / scale)
    assert scaled.mean() == pytest.approx(-ref["mean_negative_log_likelihood"], abs=1e-12)  # +0.7756
    assert days.mean() == pytest.approx(-10.992228551751, abs=1e-9)
    np.testing.assert_allclose(days - scaled, -x * np.log(scale), atol=1e-9)


def test_cdnow_bgnbd_matches_lifetimes(cdnow) -> None:
    summary, ref = cdnow
    fit = C.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    assert fit.converged and not fit.at_boundary, fit.message
    assert fit.n_customers == ref["customers"] == 23_570
    # equal or better likelihood than lifetimes (to rounding of a sum of 23,570 terms)
    assert fit.mean_neg_log_likelihood_lifetimes <= ref["mean_negative_log_likelihood"] + 1e-12
    for name in C.BGNBD_PARAMS:
        assert getattr(fit, name) == pytest.approx(ref["bgnbd"][name], rel=1e-5), name
    # the log-likelihood in days, and lifetimes' figure, are the same number in two units
    shift = summary["frequency"].mean() * np.log(summary["T"].max())
    assert fit.mean_neg_log_likelihood - shift == pytest.approx(fit.mean_neg_log_likelihood_lifetimes, abs=1e-9)


def test_cdnow_scores_match_lifetimes(cdnow) -> None:
    summary, ref = cdnow
    result = C.score_customers(summary)
    scores = result.customers
    assert len(scores) == 23_570
    assert list(scores["customer_id"]) == list(summary["customer_id"])
    total_90 = scores["expected_purchases_90"].sum()
    assert total_90 == pytest.approx(ref["sum_expected_purchases_90_days"], rel=0.01)
    assert total_90 == pytest.approx(ref["sum_expected_purchases_90_days"], rel=1e-6)
    assert scores["p_alive"].mean() == pytest.approx(ref["mean_p_alive"], abs=1e-6)
    gg = result.gamma_gamma
    assert gg is not None and gg.converged
    for name in C.GAMMA_GAMMA_PARAMS:
        assert getattr(gg, name) == pytest.approx(ref["gamma_gamma"][name], rel=1e-5), name
    assert gg.n_customers == int(((summary["frequency"] > 0) & (summary["monetary_value"] > 0)).sum())
    assert abs(gg.frequency_monetary_corr) < C.STRONG_CORRELATION
    assert result.notes == []


def test_cdnow_predictions_at_lifetimes_parameters(cdnow) -> None:
    """With lifetimes' own parameters the per-customer formulas give its totals to 1e-12."""
    summary, ref = cdnow
    fit = bg_fit(**ref["bgnbd"])
    x, t_x, T = summary["frequency"], summary["recency"], summary["T"]
    assert C.expected_purchases(fit, 90, x, t_x, T).sum() == pytest.approx(ref["sum_expected_purchases_90_days"],
                                                                           rel=1e-12)
    assert C.p_alive(fit, x, t_x, T).mean() == pytest.approx(ref["mean_p_alive"], rel=1e-12)


def _cdnow_transactions() -> pd.DataFrame:
    tx = pd.read_csv(require(CDNOW_PATH), sep=r"\s+", dtype={"customer_id": str, "date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


def test_calibration_summary_equals_lifetimes_summary(cdnow) -> None:
    summary, _ = cdnow
    ours = C.calibration_holdout_summary(_cdnow_transactions(), "1998-06-30", "1998-06-30", value_col="dollar_value")
    assert list(ours["customer_id"]) == list(summary["customer_id"])
    for column in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[column].to_numpy(), summary[column].to_numpy(), err_msg=column)
    np.testing.assert_allclose(ours["monetary_value"], summary["monetary_value"], rtol=1e-12)
    assert (ours["frequency_holdout"] == 0).all() and (ours["duration_holdout"] == 0).all()


def test_cdnow_calibration_holdout_matches_lifetimes() -> None:
    """Calibration to 1997-09-30, holdout to 1998-06-30: lifetimes 0.11.3 predicts 16,873.74 holdout
    purchase days against 19,684 actual (BG/NBD under-predicts CDNOW's holdout by 14 % in days)."""
    data = C.calibration_holdout_summary(_cdnow_transactions(), "1997-09-30", "1998-06-30")
    assert len(data) == 23_570
    assert data["frequency_holdout"].sum() == 19_684
    assert data["duration_holdout"].iloc[0] == 273
    fit = C.fit_bgnbd(data["frequency"], data["recency"], data["T"])
    predicted = C.expected_purchases(fit, 273, data["frequency"], data["recency"], data["T"])
    table = C.calibration_table(predicted, data["frequency_holdout"], data["frequency"])
    total = table.set_index("group").loc["all"]
    assert total["predicted_total"] == pytest.approx(16_873.737004341594, rel=1e-5)
    assert total["actual_total"] == 19_684


# --------------------------------------------------------------------------------------
# Formulas: the published toy customer, P(alive), monotonicity, ₂F₁
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "t_x", "T", "alive", "expected_39"),
    [  # computed with lifetimes 0.11.3 at the published CDNOW-sample parameters (weeks)
        (0, 0.0, 38.86, 1.0, 0.19509805201125396),
        (2, 30.43, 38.86, 0.726578570080673, 1.2260281747671318),
        (2, 10.0, 38.86, 0.26844602006228996, 0.45297562789930257),
        (7, 35.0, 38.0, 0.8619910650934327, 4.556185276589759),
        (20, 38.0, 39.0, 0.9440016128285209, 13.343550342028715),
    ],
)
def test_published_toy_customers(x, t_x, T, alive, expected_39) -> None:
    fit = bg_fit(**PUBLISHED_PARAMS)
    assert C.p_alive(fit, x, t_x, T) == pytest.approx(alive, rel=1e-12)
    assert C.expected_purchases(fit, 39, x, t_x, T) == pytest.approx(expected_39, rel=1e-10)


def test_p_alive_is_one_without_repeat_purchases() -> None:
    fit = bg_fit(**CDNOW_PARAMS)
    T = np.array([0.0, 1.0, 100.0, 545.0, 5000.0])
    np.testing.assert_array_equal(C.p_alive(fit, np.zeros(5), np.zeros(5), T), 1.0)


def test_monotonic_properties() -> None:
    fit = bg_fit(**CDNOW_PARAMS)
    t_x = np.linspace(0, 300, 61)
    alive = C.p_alive(fit, 3, t_x, 300)
    assert np.all(np.diff(alive) > 0), "a more recent last purchase must mean a higher P(alive)"
    assert C.p_alive(fit, 3, 300, 300) == pytest.approx(1 / (1 + fit.a / (fit.b + 2)))
    T = np.linspace(100, 600, 51)
    assert np.all(np.diff(C.p_alive(fit, 3, 100, T)) < 0), "the longer the silence, the lower P(alive)"
    horizon = np.array([1, 7, 30, 90, 365, 3650])
    assert np.all(np.diff(C.expected_purchases(fit, horizon, 3, 250, 300)) > 0)
    # more purchases with the same recency and age → more expected purchases
    assert np.all(np.diff(C.expected_purchases(fit, 90, np.arange(1, 30), 290, 300)) > 0)
    assert C.expected_purchases(fit, 0, 3, 250, 300) == 0.0


# mpmath (40 digits) values of E[purchases | alive] at CDNOW parameters; the textbook ₂F₁ form
# overflows for the first two, and the Pfaff form returns NaN in scipy 1.17.
MPMATH_ALIVE = [
    (150, 545, 3650, 518.0414958946882),
    (500, 545, 3650, 1721.4485467311476),
    (40, 545, 365, 22.193475656112977),
    (1, 2, 365, 6.274155097928872),
    (0, 0, 90, 0.4808634515668254),
]


@pytest.mark.parametrize(("x", "T", "t", "expected"), MPMATH_ALIVE)
def test_hyp2f1_against_mpmath(x, T, t, expected) -> None:
    assert C.expected_purchases_if_alive(bg_fit(**CDNOW_PARAMS), t, x, T) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    "params",
    [CDNOW_PARAMS, PUBLISHED_PARAMS, {"r": 2.5, "alpha": 10.0, "a": 3.0, "b": 20.0},
     {"r": 5.0, "alpha": 1.0, "a": 0.05, "b": 50.0}, {"r": 0.3, "alpha": 50.0, "a": 0.3, "b": 0.5}],
)
def test_hyp2f1_against_numerical_integral(params) -> None:
    """The closed form equals the one-dimensional integral over the drop-out probability on a grid
    that includes frequent customers and long horizons (₂F₁'s last argument near 1)."""
    fit = bg_fit(**params)
    grid = [(x, T, t) for x in (0, 1, 3, 10, 40, 150, 500) for T in (0.5, 30, 545, 3000) for t in (1, 90, 365, 3650)]
    x, T, t = (np.array(col, dtype=float) for col in zip(*grid))
    closed = C.expected_purchases_if_alive(fit, t, x, T)
    integral = np.array([C.expected_alive_integral(fit, ti, xi, Ti) for xi, Ti, ti in grid])
    np.testing.assert_allclose(closed, integral, rtol=1e-8)


def test_a_equal_to_one_is_finite_and_accurate() -> None:
    """a = 1 makes the closed form 0/0; near it the value must still match the integral."""
    for a in (1.0, 1.0 + 5e-5, 1.0 - 2e-4):
        fit = bg_fit(0.5, 30.0, a, 2.0)
        x, T = np.array([0.0, 4.0, 60.0]), np.array([100.0, 100.0, 400.0])
        value = C.expected_purchases_if_alive(fit, 90, x, T)
        integral = [C.expected_alive_integral(fit, 90.0, xi, Ti) for xi, Ti in zip(x, T)]
        np.testing.assert_allclose(value, integral, rtol=1e-7)


def test_analytic_gradients_match_finite_differences(simulated) -> None:
    data = simulated.iloc[:3000]
    pat = C.summary_patterns(*(data[c].to_numpy(float) for c in ("frequency", "recency", "T")), np.ones(len(data)))
    bg = C.bgnbd_objective(pat, float(data["T"].max()))
    theta = np.log([0.4, 0.05, 0.7, 2.0])
    assert check_grad(lambda th: bg(th)[0], lambda th: bg(th)[1], theta, epsilon=1e-6) < 1e-5
    spenders = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)]
    x, m = spenders["frequency"].to_numpy(float), spenders["monetary_value"].to_numpy(float)
    gg = C.gamma_gamma_objective(x, m / np.median(m), np.ones(len(x)))
    theta = np.array([np.log(4.0), np.log(2.0), np.log(3.0)])
    assert check_grad(lambda th: gg(th)[0], lambda th: gg(th)[1], theta, epsilon=1e-6) < 1e-5


# --------------------------------------------------------------------------------------
# Fitting: weights, simulated recovery, guards
# --------------------------------------------------------------------------------------


def test_duplicated_rows_equal_weighted_fit(simulated) -> None:
    data = simulated.iloc[:4000]
    counts = np.random.default_rng(3).integers(1, 4, len(data))
    dup = data.loc[data.index.repeat(counts)]
    by_rows = C.fit_bgnbd(dup["frequency"], dup["recency"], dup["T"])
    by_weight = C.fit_bgnbd(data["frequency"], data["recency"], data["T"], weights=counts)
    assert by_rows.n_customers == by_weight.n_customers == counts.sum()
    assert by_rows.log_likelihood == pytest.approx(by_weight.log_likelihood, rel=1e-10)
    for name in C.BGNBD_PARAMS:
        assert getattr(by_rows, name) == pytest.approx(getattr(by_weight, name), rel=1e-6), name
    gg_rows = C.fit_gamma_gamma(dup["frequency"], dup["monetary_value"])
    gg_weight = C.fit_gamma_gamma(data["frequency"], data["monetary_value"], weights=counts)
    for name in C.GAMMA_GAMMA_PARAMS:
        assert getattr(gg_rows, name) == pytest.approx(getattr(gg_weight, name), rel=1e-6), name


def test_simulated_parameters_recovered_and_calibration_chart(simulated) -> None:
    fit = C.fit_bgnbd(simulated["frequency"], simulated["recency"], simulated["T"])
    assert fit.converged and not fit.at_boundary
    assert fit.r == pytest.approx(0.5, rel=0.1) and fit.alpha == pytest.approx(20.0, rel=0.1)
    assert fit.a == pytest.approx(0.8, rel=0.25) and fit.b == pytest.approx(2.5, rel=0.25)
    predicted = C.expected_purchases(fit, 180, simulated["frequency"], simulated["recency"], simulated["T"])
    table = C.calibration_table(predicted, simulated["frequency_holdout"], simulated["frequency"])
    assert list(table["group"]) == ["0", "1", "2", "3", "4", "5", "6", "7+", "all"]
    total = table.iloc[-1]
    assert total["customers"] == len(simulated) == table["customers"].iloc[:-1].sum()
    assert total["predicted_total"] == pytest.approx(total["actual_total"], rel=0.1)
    by_group = table.iloc[:-1]
    np.testing.assert_allclose(by_group["predicted_mean"], by_group["actual_mean"], rtol=0.2)
    assert np.all(np.diff(by_group["predicted_mean"]) > 0)

    gg = C.fit_gamma_gamma(simulated["frequency"], simulated["monetary_value"])
    assert gg.p == pytest.approx(6.0, rel=0.1) and gg.q == pytest.approx(4.0, rel=0.1)
    assert gg.v == pytest.approx(15.0, rel=0.15)


def test_model_unsupported_on_tiny_data() -> None:
    with pytest.raises(C.ModelUnsupported) as info:
        C.fit_bgnbd([1, 0, 2], [10, 0, 20], [30, 30, 30])
    assert info.value.code == "bgnbd_too_few_customers"
    assert (info.value.needed, info.value.found) == (100, 3)
    assert "100" in str(info.value) and "3" in str(info.value)

    x = np.r_[np.ones(10), np.zeros(190)]
    with pytest.raises(C.ModelUnsupported) as info:
        C.fit_bgnbd(x, x * 5, np.full(200, 50.0))
    assert info.value.code == "bgnbd_too_few_repeat_buyers"
    assert (info.value.needed, info.value.found) == (30, 10)
    assert "30" in str(info.value) and "10 of 200" in str(info.value)

    with pytest.raises(C.ModelUnsupported) as info:
        C.fit_gamma_gamma(np.r_[np.ones(29), 0, 3], np.r_[np.full(29, 10.0), 5.0, 0.0])
    assert info.value.code == "gamma_gamma_too_few_spenders"
    assert (info.value.needed, info.value.found) == (30, 29)


def test_invalid_summaries_are_rejected() -> None:
    with pytest.raises(ValueError, match="recency"):
        C.fit_bgnbd([1] * 200, [40] * 200, [30] * 200)
    with pytest.raises(ValueError, match="whole number"):
        C.fit_bgnbd([1.5] * 200, [10] * 200, [30] * 200)
    with pytest.raises(ValueError, match="missing"):
        C.score_customers(pd.DataFrame({"customer_id": [1], "frequency": [0]}))


def test_heavy_tailed_spend_keeps_q_above_one_and_says_so() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, 2000).astype(float)
    m = (rng.pareto(0.7, 2000) + 1) * 10  # tail index 0.7: the mean does not exist
    gg = C.fit_gamma_gamma(x, m)
    assert 1.0 < gg.q < C.HEAVY_TAIL_Q
    assert np.isfinite(gg.mean_spend)
    assert "heavy-tailed" in gg.message


# --------------------------------------------------------------------------------------
# Spend, CLV, next purchase, tiers
# --------------------------------------------------------------------------------------


def test_expected_spend() -> None:
    gg = gg_fit(5.0, 4.0, 20.0)
    spend = C.expected_spend(gg, [0, 0, 1, 10, 100, 3], [0, 99, 30, 30, 30, -5])
    population = 5 * 20 / 3
    assert spend[0] == spend[1] == pytest.approx(population) == gg.mean_spend
    assert spend[2] == pytest.approx(5 * (20 + 30) / (5 + 3))
    assert population > spend[2] > spend[3] > spend[4] > 30  # shrunk to the population mean, less with more buys
    assert spend[5] == pytest.approx(5 * 20 / (15 + 3))  # negative mean spend counts as 0


def test_clv_discounting() -> None:
    bg, gg = bg_fit(**CDNOW_PARAMS), gg_fit(5.0, 4.0, 20.0)
    x, t_x, T, m = np.array([0, 2, 10]), np.array([0, 100, 500]), np.array([200, 300, 520]), np.array([0, 40, 25])
    spend = C.expected_spend(gg, x, m)
    undiscounted = C.clv(bg, gg, x, t_x, T, m, 365, discount_rate_annual=0.0)
    np.testing.assert_allclose(undiscounted, C.expected_purchases(bg, 365, x, t_x, T) * spend, rtol=1e-10)
    discounted = C.clv(bg, gg, x, t_x, T, m, 365, discount_rate_annual=0.10)
    assert np.all(discounted < undiscounted) and np.all(discounted > undiscounted / 1.10)
    one_period = C.clv(bg, gg, x, t_x, T, m, 30, discount_rate_annual=0.10)
    np.testing.assert_allclose(one_period, C.expected_purchases(bg, 30, x, t_x, T) * spend * 1.1 ** (-30 / 365))
    np.testing.assert_array_equal(C.period_ends(365), [30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 330, 360, 365])
    np.testing.assert_array_equal(C.period_ends(90), [30, 60, 90])


def test_next_purchase_window() -> None:
    fit = bg_fit(**CDNOW_PARAMS)
    x, t_x, T = np.array([5, 5, 5, 0, 1]), np.array([290, 100, 10, 0, 299]), np.array([300, 300, 300, 300, 300])
    days = C.expected_next_purchase_window(fit, x, t_x, T, max_days=None)
    # the median of the wait: the survival ((α+T)/(α+T+s))^(r+x) is one half there
    survive = ((fit.alpha + T) / (fit.alpha + T + days)) ** (fit.r + x)
    np.testing.assert_allclose(survive[:2], 0.5)
    assert days[0] == pytest.approx(days[1])  # given alive, the wait depends on x and T only
    assert np.isnan(days[2]), "a customer who is most likely lost has no next-purchase window"
    assert C.p_alive(fit, 5, 10, 300) < C.LOST_P_ALIVE
    capped = C.expected_next_purchase_window(fit, x, t_x, T)
    assert days[3] > C.NEXT_PURCHASE_MAX_DAYS and np.isnan(capped[3])
    np.testing.assert_allclose(capped[:2], days[:2])
    # probability of a purchase within the median window, for an alive customer, is P(alive) / 2
    assert C.probability_purchase_within(fit, days[0], 5, 290, 300) == pytest.approx(C.p_alive(fit, 5, 290, 300) / 2)


def test_value_tiers() -> None:
    value = np.arange(1, 101, dtype=float)
    alive = np.ones(100)
    alive[:5] = 0.05
    tiers = C.value_tier(value, alive)
    assert (tiers[:5] == "lost").all()
    counts = pd.Series(tiers).value_counts()
    assert counts["top"] == 19 and counts["middle"] == 29 and counts["low"] == 47
    assert tiers[-1] == "top" and tiers[5] == "low"
    tied = C.value_tier(np.r_[np.full(50, 7.0), np.arange(50.0)], np.ones(100))
    assert len(set(tied[:50])) == 1, "equal values share a tier"


# --------------------------------------------------------------------------------------
# score_customers
# --------------------------------------------------------------------------------------


def test_score_customers_matches_per_customer_formulas() -> None:
    """Scores computed once per distinct pattern and mapped back equal the per-customer formulas."""
    rng = np.random.default_rng(11)
    summary = C.simulate_bgnbd(rng.integers(1, 400, 20_000), r=0.5, alpha=20.0, a=0.8, b=2.5, whole_days=True,
                               gamma_gamma={"p": 6.0, "q": 4.0, "v": 15.0}, seed=rng).drop(columns="frequency_holdout")
    summary["customer_id"] = [f"C{i:05d}" for i in rng.permutation(len(summary))]
    result = C.score_customers(summary, horizons=(30, 180), discount_rate_annual=0.05)
    scores = result.customers
    assert list(scores.columns) == ["customer_id", "p_alive", "expected_purchases_30", "expected_purchases_180",
                                    "expected_spend", "clv_30", "clv_180", "next_purchase_days", "value_tier"]
    assert list(scores["customer_id"]) == list(summary["customer_id"])
    bg, gg = result.bgnbd, result.gamma_gamma
    x, t_x, T, m = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T", "monetary_value"))
    np.testing.assert_allclose(scores["p_alive"], C.p_alive(bg, x, t_x, T), rtol=1e-12)
    np.testing.assert_allclose(scores["expected_purchases_180"], C.expected_purchases(bg, 180, x, t_x, T), rtol=1e-12)
    np.testing.assert_allclose(scores["expected_spend"], C.expected_spend(gg, x, m), rtol=1e-12)
    np.testing.assert_allclose(scores["clv_180"], C.clv(bg, gg, x, t_x, T, m, 180, 0.05), rtol=1e-12)
    np.testing.assert_allclose(scores["next_purchase_days"], C.expected_next_purchase_window(bg, x, t_x, T),
                               rtol=1e-12)
    assert list(scores["value_tier"].cat.categories) == list(C.VALUE_TIERS)
    np.testing.assert_array_equal(scores["value_tier"].astype(str),
                                  C.value_tier(scores["clv_180"], scores["p_alive"]))
    assert result.horizons == (30, 180) and result.bgnbd.n_patterns < 0.7 * len(summary)


def test_score_without_spend_model_still_predicts_purchases(simulated) -> None:
    summary = simulated.drop(columns="frequency_holdout").iloc[:2000].copy()
    summary["monetary_value"] = 0.0
    result = C.score_customers(summary)
    assert result.gamma_gamma is None
    assert any("at least 30" in note for note in result.notes)
    scores = result.customers
    assert scores["expected_spend"].isna().all() and scores["clv_365"].isna().all()
    assert scores["expected_purchases_365"].notna().all()
    np.testing.assert_array_equal(scores["value_tier"].astype(str),
                                  C.value_tier(scores["expected_purchases_365"], scores["p_alive"]))


def test_score_reports_a_boundary_fit() -> None:
    """Customers who never lapse drive a → 0: reported, predictions still returned."""
    rng = np.random.default_rng(5)
    data = C.simulate_bgnbd(rng.uniform(100, 400, 3000), r=1.0, alpha=20.0, a=1e-6, b=1.0, seed=rng)
    result = C.score_customers(data.drop(columns="frequency_holdout"))
    assert "a" in result.bgnbd.at_boundary and result.bgnbd.converged
    assert any("drop-out is negligible" in note for note in result.notes)
    assert result.customers["p_alive"].min() > 0.9
    assert np.isfinite(result.customers["expected_purchases_90"]).all()


def test_calibration_table_groups() -> None:
    table = C.calibration_table([1.0, 2.0, 3.0, 4.0], [0.0, 2.0, 2.0, 9.0], [0, 0, 3, 12])
    rows = table.set_index("group")
    assert rows.loc["0", "customers"] == 2 and rows.loc["0", "predicted_mean"] == 1.5
    assert rows.loc["7+", "actual_mean"] == 9.0 and rows.loc["3", "actual_total"] == 2.0
    assert np.isnan(rows.loc["1", "predicted_mean"]) and rows.loc["1", "customers"] == 0
    assert rows.loc["all", "predicted_total"] == 10.0 and rows.loc["all", "actual_mean"] == pytest.approx(13 / 4)


def test_calibration_holdout_summary_on_the_segments_toy() -> None:
    """The segments guide's toy (A, B, C; END 2024-03-31) with a calibration end of 2024-02-15."""
    tx = pd.DataFrame({
        "customer_id": ["A", "A", "A", "A", "B", "C", "C", "D"],
        "date": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 17:00", "2024-01-31 00:00", "2024-03-01 23:59",
                                "2024-02-15 12:00", "2024-01-10 08:00", "2024-01-10 08:00", "2024-03-05 10:00"]),
        "amount": [10, 5, 20, 30, 50, 7, 8, 99],
    })
    full = C.calibration_holdout_summary(tx, "2024-03-31", "2024-03-31", value_col="amount").set_index("customer_id")
    assert full.loc["A", ["frequency", "recency", "T", "monetary_value"]].tolist() == [2, 60, 90, 25.0]
    assert full.loc["B", ["frequency", "recency", "T", "monetary_value"]].tolist() == [0, 0, 45, 0]
    assert full.loc["C", ["frequency", "recency", "T", "monetary_value"]].tolist() == [0, 0, 81, 0]
    split = C.calibration_holdout_summary(tx, "2024-02-15", "2024-03-31", value_col="amount").set_index("customer_id")
    assert list(split.index) == ["A", "B", "C"]  # D's first purchase is in the holdout
    assert split.loc["A", ["frequency", "recency", "T", "frequency_holdout"]].tolist() == [1, 30, 45, 1]
    assert split["duration_holdout"].unique().tolist() == [45]


def test_simulation_whole_days_matches_summary_rules() -> None:
    data = C.simulate_bgnbd(np.full(5000, 200.0), r=2.0, alpha=10.0, a=0.5, b=3.0, holdout_days=50,
                            whole_days=True, seed=1)
    assert (data["recency"] <= data["T"]).all() and (data["frequency"] <= data["recency"]).all()
    assert np.all(data["recency"] == np.floor(data["recency"]))
    assert (data.loc[data["frequency"] == 0, "recency"] == 0).all()
    assert (data["frequency_holdout"] <= 50).all()

