"""Target scenarios: every formula of b.7 against hand-computed cases, the levers, storage and the sample store.

The hand-made cases use a baseline with round numbers and Michaelis–Menten curves,
whose quarter response for a budget x spread over 13 weeks is
``N(x) = 13·V·a/(K + a)`` with ``a = x / 13 / (1 − θ)`` — so the minimum budget for
N paid customers is ``x = 13·(1 − θ)·K·(N/13) / (V − N/13)``, computable by hand.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from lib import scenarios
from lib.channels import CurveFit
from lib.scenarios import charts as scenario_charts
from lib.i18n import t
from lib.kpis import Period, compute_kpis
from lib.channels.optimizer import TimesHistorical
from lib.scenarios import (
    Baseline,
    ScenarioBounds,
    ScenarioError,
    ScenarioInputError,
    ScenarioInputs,
    evaluate,
)

# ---------------------------------------------------------------------------
# A hand-made baseline (round numbers) and curves with closed-form inverses
# ---------------------------------------------------------------------------

R_BASE = 1_000_000.0
C_BASE, REPURCHASERS, RET_ORDERS, AOV_RET = 10_000, 2_000, 5_000, 100.0  # r = 0.20, f_ret = 2.5
N_BASE, NEW_ORDERS, AOV_NEW = 2_000, 2_500, 160.0  # f_new = 1.25 → 200 per new customer
C_NEXT = 11_000
SPEND = 300_000.0  # CAC_base = 150
PAID, ORGANIC = 1_500.0, 500.0


def make_baseline(**changes) -> Baseline:
    base = Baseline(
        dataset_id=1, quarter_start=date(2025, 1, 1), quarter_end=date(2025, 3, 31),
        revenue=R_BASE, orders=RET_ORDERS + NEW_ORDERS + 1_000,
        customer_base=C_BASE, repurchasers=REPURCHASERS, repurchase_rate=REPURCHASERS / C_BASE,
        retained_orders=RET_ORDERS, orders_per_repurchaser=RET_ORDERS / REPURCHASERS, aov_retained=AOV_RET,
        retained_revenue=RET_ORDERS * AOV_RET,
        new_customers=N_BASE, new_orders=NEW_ORDERS, orders_per_new_customer=NEW_ORDERS / N_BASE,
        aov_new=AOV_NEW, new_revenue=NEW_ORDERS * AOV_NEW,
        reactivated_customers=300, reactivated_revenue=80_000.0, guest_revenue=20_000.0,
        spend=SPEND, cac=SPEND / N_BASE, customer_base_next=C_NEXT, ltv=600.0,
        paid_new_customers=PAID, organic_new_customers=ORGANIC, new_customers_source="channel_data",
        channel_spend={"a": SPEND}, channel_new_customers={"a": PAID}, history_days=400,
    )
    return replace(base, **changes)


def mm(vmax: float, k: float, theta: float = 0.0, baseline: float = 0.0) -> CurveFit:
    return CurveFit.from_params("michaelis_menten", {"vmax": vmax, "k": k}, theta=theta, baseline=baseline)


def quarter_budget_for(n: float, vmax: float, k: float, theta: float = 0.0, weeks: int = 13) -> float:
    """Hand inverse of a weekly MM curve for n customers over the quarter."""
    weekly = n / weeks
    return weeks * (1.0 - theta) * k * weekly / (vmax - weekly)


def quarter_response(x: float, vmax: float, k: float, theta: float = 0.0, weeks: int = 13) -> float:
    a = x / weeks / (1.0 - theta)
    return weeks * vmax * a / (k + a)


SLOW = {"a": mm(200.0, 20_000.0)}  # quarter: V_q = 2,600, K_q = 260,000
FAST = {"a": mm(250.0, 10_000.0)}  # quarter: V_q = 3,250, K_q = 130,000
BASE_INPUTS = ScenarioInputs(growth=0.20, cac_cut=0.10, repurchase_up=0.05)

# b.7 by hand for BASE_INPUTS:
R_TARGET = 1.2 * R_BASE  # 1,200,000
R_RET_TARGET = C_NEXT * 0.25 * 2.5 * AOV_RET  # 687,500
R_OTHER = 100_000.0
N_REQUIRED = (R_TARGET - R_RET_TARGET - R_OTHER) / (1.25 * AOV_NEW)  # 2,062.5
PAID_REQUIRED = N_REQUIRED - ORGANIC  # 1,562.5
CAC_TARGET = 0.9 * 150.0  # 135
S_LIN = N_REQUIRED * CAC_TARGET  # 278,437.5


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def test_presets_follow_the_plan():
    p = scenarios.PRESETS
    assert (p["conservative"].growth, p["conservative"].cac_cut) == (0.15, 0.10)
    assert (p["base"].growth, p["base"].cac_cut) == (0.175, 0.125)
    assert (p["aggressive"].growth, p["aggressive"].cac_cut) == (0.20, 0.15)
    assert all(v.repurchase_up == 0.05 and v.weeks == 13 and v.aov_change == 0 for v in p.values())
    assert ScenarioInputs() == p["base"]  # the defaults are the base preset
    assert ScenarioInputs(0.15, 0.10, 0.05).preset_name() == "conservative"
    assert ScenarioInputs(0.16, 0.10, 0.05).preset_name() is None
    with pytest.raises(ScenarioError):
        scenarios.preset("wild")


@pytest.mark.parametrize("field,value", [
    ("growth", 3.0), ("cac_cut", 1.0), ("cac_cut", -2.0), ("repurchase_up", 0.8), ("aov_change", -0.9),
    ("weeks", 2), ("weeks", 13.5), ("growth", float("nan")), ("growth", "abc"),
])
def test_inputs_out_of_range_are_refused_in_both_languages(field, value):
    with pytest.raises(ScenarioInputError) as excinfo:
        ScenarioInputs(**{field: value})
    err = excinfo.value
    assert err.field == field
    assert t(f"scenarios.input.{field}", "en") in err.message("en")
    assert t(f"scenarios.input.{field}", "zh") in err.message("zh")
    assert "between" in err.message("en") and "之间" in err.message("zh")


def test_inputs_outside_the_plans_range_are_allowed_but_noted():
    inputs = ScenarioInputs(growth=0.30, cac_cut=0.12, repurchase_up=0.05)
    assert inputs.outside_plan() == ["growth"]
    assert "+30.0%" in inputs.plan_notes("en")[0] and "15.0%" in inputs.plan_notes("en")[0]
    assert "销售额增长" in inputs.plan_notes("zh")[0]
    assert ScenarioInputs().outside_plan() == []
    assert ScenarioInputs(weeks=13.0).weeks == 13 and isinstance(ScenarioInputs(weeks=13.0).weeks, int)


# ---------------------------------------------------------------------------
# b.7 formulas
# ---------------------------------------------------------------------------


def test_targets_and_required_customers_by_hand():
    result = evaluate(make_baseline(), BASE_INPUTS, SLOW)
    assert result.revenue_target == pytest.approx(R_TARGET)
    assert result.repurchase_rate_target == pytest.approx(0.25)
    assert result.retained_revenue_target == pytest.approx(R_RET_TARGET)
    assert result.other_revenue_target == pytest.approx(R_OTHER)
    assert result.new_revenue_required == pytest.approx(412_500)
    assert result.new_customers_required == pytest.approx(N_REQUIRED)
    assert result.organic_new_customers == pytest.approx(ORGANIC)  # held at the baseline level
    assert result.paid_new_customers_required == pytest.approx(PAID_REQUIRED)
    assert result.target_cac == pytest.approx(CAC_TARGET)
    assert result.linear_budget == pytest.approx(S_LIN)
    assert "scenarios.note.organic_held" in result.notes


def test_curve_aware_budget_and_verdict_when_the_cac_target_is_missed():
    result = evaluate(make_baseline(), BASE_INPUTS, SLOW)
    s_star = quarter_budget_for(PAID_REQUIRED, 200, 20_000)  # 391,566.27
    assert result.required_budget == pytest.approx(s_star, rel=1e-5)
    assert result.implied_cac == pytest.approx(s_star / N_REQUIRED, rel=1e-5)  # ≈ 189.9 > 135
    assert result.verdict == "over_cac" and not result.target_met
    assert result.budget_gap == pytest.approx(s_star - S_LIN, rel=1e-4)
    # Marginal CAC at the optimum: 1 / (dN/dx) of the quarter curve, V_q·K_q / (K_q + x)².
    vq, kq = 2_600.0, 260_000.0
    assert result.marginal_cac == pytest.approx((kq + s_star) ** 2 / (vq * kq), rel=1e-4)
    assert result.split[0].optimised_spend == pytest.approx(s_star, rel=1e-5)
    assert result.split[0].optimised_new_customers == pytest.approx(PAID_REQUIRED, rel=1e-5)


def test_verdict_met_when_the_curves_are_cheap_enough():
    result = evaluate(make_baseline(), BASE_INPUTS, FAST)
    s_star = quarter_budget_for(PAID_REQUIRED, 250, 10_000)  # 120,370.37
    assert result.required_budget == pytest.approx(s_star, rel=1e-5)
    assert result.implied_cac == pytest.approx(58.36, abs=0.01)
    assert result.verdict == "met" and result.target_met
    assert result.budget_gap < 0


def test_carry_over_is_evaluated_at_steady_state_over_the_quarter():
    curves = {"a": mm(200.0, 20_000.0, theta=0.5)}
    result = evaluate(make_baseline(), BASE_INPUTS, curves)
    assert result.required_budget == pytest.approx(quarter_budget_for(PAID_REQUIRED, 200, 20_000, 0.5), rel=1e-5)


def test_two_identical_channels_split_the_budget_equally():
    curves = {"a": mm(150.0, 20_000.0), "b": mm(150.0, 20_000.0)}
    result = evaluate(make_baseline(channel_spend={"a": SPEND, "b": 0.0}), BASE_INPUTS, curves)
    each = quarter_budget_for(PAID_REQUIRED / 2, 150, 20_000)
    assert result.required_budget == pytest.approx(2 * each, rel=1e-4)
    plans = {p.channel: p for p in result.split}
    assert plans["a"].optimised_spend == pytest.approx(plans["b"].optimised_spend, rel=1e-3)
    assert plans["a"].marginal_cac == pytest.approx(plans["b"].marginal_cac, rel=1e-3)
    # Optimising the mix: all of last quarter's spend sat in "a".
    mix = result.gap.mix
    assert mix.current_new_customers == pytest.approx(quarter_response(SPEND, 150, 20_000))
    assert mix.optimal_new_customers == pytest.approx(2 * quarter_response(SPEND / 2, 150, 20_000), rel=1e-4)
    assert mix.extra_new_customers > 0
    one_channel = quarter_budget_for(PAID_REQUIRED, 150, 20_000)  # scaling the current mix = "a" alone
    assert mix.budget_current_mix_for_target == pytest.approx(one_channel, rel=1e-5)
    assert mix.budget_saving == pytest.approx(one_channel - 2 * each, rel=1e-3)


def test_a_current_mix_that_can_never_reach_the_target_says_so():
    curves = {"a": mm(100.0, 20_000.0), "b": mm(100.0, 20_000.0)}  # one channel saturates at 1,300 < 1,562.5
    result = evaluate(make_baseline(channel_spend={"a": SPEND, "b": 0.0}), BASE_INPUTS, curves)
    assert result.required_budget is not None
    assert result.gap.mix.budget_current_mix_for_target is None
    assert result.gap.mix.budget_saving is None
    assert any("current budget" in s for s in scenarios.lever_texts(result, "en"))


def test_aov_change_moves_every_revenue_part():
    inputs = replace(BASE_INPUTS, aov_change=0.10)
    result = evaluate(make_baseline(), inputs, SLOW)
    retained = C_NEXT * 0.25 * 2.5 * 110.0
    other = 110_000.0
    expected_n = (R_TARGET - retained - other) / (1.25 * 176.0)
    assert result.aov_new_target == pytest.approx(176.0)
    assert result.retained_revenue_target == pytest.approx(retained)
    assert result.new_customers_required == pytest.approx(expected_n)
    assert result.ltv == pytest.approx(660.0)


def test_organic_enough_needs_no_paid_customers_and_no_budget():
    result = evaluate(make_baseline(organic_new_customers=2_500.0), BASE_INPUTS, SLOW)
    assert result.paid_new_customers_required == 0
    assert result.required_budget == 0
    assert result.verdict == "met"


def test_retention_alone_can_cover_the_target():
    inputs = replace(BASE_INPUTS, repurchase_up=0.20)  # r* = 0.40 → R_ret* = 1.1M, + 100k other = R*
    result = evaluate(make_baseline(), inputs, SLOW)
    assert result.new_customers_required == 0
    assert result.verdict == "met"
    assert "no new customers" in scenarios.headline(result, "en")
    assert "无需新客" in scenarios.headline(result, "zh")


def test_impossible_repurchase_rate_is_a_clear_error():
    with pytest.raises(ScenarioError) as excinfo:
        evaluate(make_baseline(repurchase_rate=0.98), BASE_INPUTS, SLOW)
    assert excinfo.value.key == "scenarios.error.repurchase_out_of_range"
    assert "100%" in excinfo.value.message("zh")


def test_channels_without_a_curve_are_held_at_the_base_quarter():
    baseline = make_baseline(channel_spend={"a": SPEND, "c": 50_000.0},
                             channel_new_customers={"a": 1_400.0, "c": 100.0}, organic_new_customers=500.0)
    result = evaluate(baseline, BASE_INPUTS, SLOW)
    assert result.held_channel_new_customers == 100
    assert result.held_channel_spend == 50_000
    assert result.paid_new_customers_required == pytest.approx(PAID_REQUIRED - 100)
    assert result.required_budget == pytest.approx(quarter_budget_for(PAID_REQUIRED - 100, 200, 20_000) + 50_000,
                                                   rel=1e-5)
    held = [p for p in result.split if not p.has_curve]
    assert [p.channel for p in held] == ["c"] and held[0].optimised_spend == 50_000
    assert "scenarios.note.channels_without_curve" in result.notes


def test_a_curves_own_organic_baseline_counts_as_organic():
    curves = {"a": mm(200.0, 20_000.0, baseline=5.0)}  # 5 a week → 65 over the quarter
    result = evaluate(make_baseline(), BASE_INPUTS, curves)
    assert result.organic_new_customers == pytest.approx(ORGANIC + 65)
    assert result.paid_new_customers_required == pytest.approx(PAID_REQUIRED - 65)


def test_ltv_cac_rule_is_flagged():
    fast = evaluate(make_baseline(), BASE_INPUTS, FAST)
    assert fast.ltv_cac == pytest.approx(600.0 / fast.implied_cac)
    assert fast.ltv_cac_ok is True
    assert fast.max_cac_for_ltv == pytest.approx(200.0)
    poor = evaluate(make_baseline(ltv=300.0), BASE_INPUTS, SLOW)  # 300 / 189.9 < 3
    assert poor.ltv_cac_ok is False
    assert "scenarios.note.ltv_cac_below_rule" in poor.notes
    assert "¥100" in scenarios.ltv_text(poor, "en") and "低于" in scenarios.ltv_text(poor, "zh")
    assert "meets" in scenarios.ltv_text(fast, "en")


# ---------------------------------------------------------------------------
# Gap closers
# ---------------------------------------------------------------------------


def _affordable_budget_by_hand(cac: float, organic: float, vq: float, kq: float) -> float:
    # B = cac·(organic + vq·B/(kq + B))  ⇔  B² + (kq − cac·organic − cac·vq)·B − cac·organic·kq = 0
    b = kq - cac * organic - cac * vq
    c = -cac * organic * kq
    return (-b + math.sqrt(b * b - 4 * c)) / 2


def test_gap_closers_by_hand():
    result = evaluate(make_baseline(), BASE_INPUTS, SLOW)
    gap = result.gap
    b_aff = _affordable_budget_by_hand(CAC_TARGET, ORGANIC, 2_600.0, 260_000.0)  # ≈ 233,621
    n_aff = b_aff / CAC_TARGET
    assert gap.affordable_budget == pytest.approx(b_aff, rel=1e-5)
    assert gap.affordable_new_customers == pytest.approx(n_aff, rel=1e-5)
    # Repurchase rate that hits R* with only N_aff new customers.
    r_req = (R_TARGET - R_OTHER - n_aff * 200.0) / (C_NEXT * 2.5 * AOV_RET)
    assert gap.repurchase_rate_required == pytest.approx(r_req, rel=1e-5)
    assert gap.repurchase_points_required == pytest.approx(r_req - 0.20, rel=1e-4)
    assert gap.repurchase_points_required > 0.05  # more than the scenario's +5 points
    assert gap.repurchase_possible
    # AOV uplift that hits R* with N_aff and r*.
    multiplier = R_TARGET / (n_aff * 200.0 + R_RET_TARGET + R_OTHER)
    assert gap.aov_change_required == pytest.approx(multiplier - 1, rel=1e-4)
    # Response scale-up: the budget at the target CAC must buy the paid customers required.
    scale = PAID_REQUIRED / quarter_response(S_LIN, 200, 20_000)
    assert gap.response_scale_required == pytest.approx(scale, rel=1e-5)
    assert gap.response_scale_required > 1
    texts = scenarios.lever_texts(result, "en")
    assert len(texts) == 5 and any("Repurchase" in s for s in texts)
    assert any("复购" in s for s in scenarios.lever_texts(result, "zh"))


def test_each_gap_closer_really_closes_the_gap():
    """Feeding each lever's required value back in meets the CAC target (up to rounding)."""
    baseline = make_baseline()
    gap = evaluate(baseline, BASE_INPUTS, SLOW).gap
    via_repurchase = evaluate(baseline, replace(BASE_INPUTS, repurchase_up=gap.repurchase_points_required + 1e-6),
                              SLOW)
    assert via_repurchase.implied_cac == pytest.approx(CAC_TARGET, rel=1e-3)
    via_aov = evaluate(baseline, replace(BASE_INPUTS, aov_change=gap.aov_change_required + 1e-6), SLOW)
    assert via_aov.implied_cac == pytest.approx(CAC_TARGET, rel=1e-3)
    s = gap.response_scale_required
    scaled = {"a": mm(200.0 * s, 20_000.0)}  # β × s
    via_conversion = evaluate(baseline, BASE_INPUTS, scaled)
    assert via_conversion.implied_cac == pytest.approx(CAC_TARGET, rel=1e-3)


def test_unreachable_target_gives_a_verdict_not_an_exception():
    inputs = replace(BASE_INPUTS, growth=0.5)  # N* = 3,562.5 → 3,062.5 paid > V_q = 2,600
    result = evaluate(make_baseline(), inputs, SLOW)
    assert result.verdict == "unreachable"
    assert result.required_budget is None and result.implied_cac is None and result.ltv_cac is None
    assert result.max_paid_new_customers == pytest.approx(2_600.0)
    assert result.split_basis == "linear_budget"
    assert result.plan_budget == pytest.approx(result.linear_budget)
    assert result.gap.affordable_new_customers > 0  # the levers are still worked out
    assert "3,100" in scenarios.headline(result, "en")  # at most 2,600 paid + 500 organic
    assert "3,100" in scenarios.headline(result, "zh")
    json.dumps(result.to_dict())  # JSON-ready even with missing numbers


def test_upper_bounds_make_a_target_unreachable_and_lower_bounds_cost_money():
    capped = evaluate(make_baseline(), BASE_INPUTS, SLOW, bounds=ScenarioBounds(upper={"a": 100_000.0}))
    assert capped.verdict == "unreachable"
    assert capped.split[0].optimised_spend == pytest.approx(100_000.0)
    two = {"a": mm(100.0, 20_000.0), "b": mm(100.0, 20_000.0)}
    baseline = make_baseline(channel_spend={"a": 150_000.0, "b": 150_000.0})
    free = evaluate(baseline, BASE_INPUTS, two)
    forced = evaluate(baseline, BASE_INPUTS, two, bounds=ScenarioBounds(lower={"b": TimesHistorical(4.0)}))
    plans = {p.channel: p for p in forced.split}
    assert plans["b"].optimised_spend >= 600_000.0 - 1e-6  # 4 × the base quarter, above the free optimum
    assert forced.required_budget > free.required_budget


def test_no_curves_is_a_clear_error():
    with pytest.raises(ScenarioError) as excinfo:
        evaluate(make_baseline(), BASE_INPUTS, {})
    assert excinfo.value.key == "scenarios.error.no_curves"


# ---------------------------------------------------------------------------
# Frontier, box, sensitivity, weekly budget, headline
# ---------------------------------------------------------------------------


def test_feasibility_frontier_iso_lines_and_target_box():
    baseline = make_baseline()
    frame = scenarios.feasibility_frontier(baseline, SLOW, [0, 100_000, 260_000])
    expected = [ORGANIC + quarter_response(b, 200, 20_000) for b in (0, 100_000, 260_000)]
    assert np.allclose(frame["best_new_customers"], expected, rtol=1e-6)
    assert frame["best_new_customers"].iloc[2] == pytest.approx(ORGANIC + 1_300)  # half of V_q at K_q
    assert frame["blended_cac"].iloc[2] == pytest.approx(260_000 / 1_800)
    default = scenarios.feasibility_frontier(baseline, SLOW)
    assert len(default) == 41 and default["budget"].max() == pytest.approx(2.5 * SPEND)
    assert default["best_new_customers"].is_monotonic_increasing

    iso = scenarios.iso_cac_lines(baseline, [0, 150_000])
    row = iso[(iso["line"] == "cut_10") & (iso["budget"] == 150_000)].iloc[0]
    assert row["cac"] == pytest.approx(135.0) and row["new_customers"] == pytest.approx(150_000 / 135)

    box = scenarios.target_box(baseline, BASE_INPUTS)
    n15 = (1.15 * R_BASE - R_RET_TARGET - R_OTHER) / 200.0
    assert box["new_customers_min"] == pytest.approx(n15)
    assert box["new_customers_max"] == pytest.approx(N_REQUIRED)
    assert box["budget_min"] == pytest.approx(n15 * 0.85 * 150)
    assert box["budget_max"] == pytest.approx(N_REQUIRED * 0.90 * 150)


def test_sensitivity_moves_the_budget_gap_by_hand():
    rows = scenarios.sensitivity(make_baseline(), BASE_INPUTS, SLOW).set_index("input")
    assert set(rows.index) == {"growth", "repurchase_up", "aov_change", "cac_cut"}
    base_budget = quarter_budget_for(PAID_REQUIRED, 200, 20_000)
    assert rows.loc["growth", "base_gap"] == pytest.approx(base_budget - S_LIN, rel=1e-4)
    # Growth 15 %: N* = (1.15M − 687.5k − 100k) / 200 = 1,812.5.
    n15 = 1_812.5
    s15 = quarter_budget_for(n15 - ORGANIC, 200, 20_000)
    assert rows.loc["growth", "budget_low"] == pytest.approx(s15, rel=1e-5)
    assert rows.loc["growth", "gap_low"] == pytest.approx(s15 - n15 * CAC_TARGET, rel=1e-4)
    # The CAC cut moves only the target: the same S*, a different gap.
    assert rows.loc["cac_cut", "budget_low"] == pytest.approx(rows.loc["cac_cut", "budget_high"])
    assert rows.loc["cac_cut", "gap_high"] > rows.loc["cac_cut", "gap_low"]
    # More repurchase or a higher AOV lowers the gap.
    assert rows.loc["repurchase_up", "gap_high"] < rows.loc["repurchase_up", "gap_low"]
    assert rows.loc["aov_change", "gap_high"] < rows.loc["aov_change", "gap_low"]
    swings = scenarios.sensitivity(make_baseline(), BASE_INPUTS, SLOW)["swing"].tolist()
    assert swings == sorted(swings, reverse=True)


def test_sensitivity_marks_variants_out_of_reach():
    rows = scenarios.sensitivity(make_baseline(), replace(BASE_INPUTS, growth=0.38), SLOW).set_index("input")
    assert bool(rows.loc["repurchase_up", "unreachable_low"])  # +3 pts pushes N* past the curves
    assert math.isnan(rows.loc["repurchase_up", "gap_low"])
    assert not bool(rows.loc["repurchase_up", "unreachable_high"])


def test_weekly_budget_phases_the_scenario_budget():
    result = evaluate(make_baseline(), BASE_INPUTS, SLOW)
    weekly = scenarios.weekly_budget(result)
    assert len(weekly) == 13
    assert weekly["spend"].sum() == pytest.approx(result.required_budget)
    by_phase = weekly.groupby("budget_phase")["spend"].sum() / result.required_budget
    assert by_phase["launch"] == pytest.approx(0.30) and by_phase["peak"] == pytest.approx(0.50)
    assert weekly["cumulative_new_customers_target"].iloc[-1] == pytest.approx(N_REQUIRED)
    # each channel's planned amount is phased the same way, so the channels add up to the same budget
    assert sum(plan.optimised_spend for plan in result.split) == pytest.approx(result.required_budget)


def test_headline_in_both_languages():
    result = evaluate(make_baseline(), BASE_INPUTS, SLOW, name="Q2 push")
    en = scenarios.headline(result, "en")
    assert en.startswith("Scenario “Q2 push” needs 2,062 new customers at a blended CAC of ¥190")
    assert "¥135" in en
    zh = scenarios.headline(result, "zh")
    assert "情景“Q2 push”需要 2,062 名新客" in zh and "¥135" in zh
    base = evaluate(make_baseline(), scenarios.PRESETS["base"], FAST)
    assert scenarios.headline(base, "en").startswith("The base scenario needs")
    assert scenarios.headline(base, "zh").startswith("基准情景需要")


def test_to_dict_is_json_ready():
    result = evaluate(make_baseline(), BASE_INPUTS, SLOW)
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert data["verdict"] == "over_cac" and data["target_met"] is False
    assert data["targets"]["new_customers_required"] == pytest.approx(N_REQUIRED)
    assert data["budget"]["required_budget"] == pytest.approx(result.required_budget)
    assert data["baseline"]["quarter_start"] == "2025-01-01"
    assert data["split"][0]["channel"] == "a"
    assert data["gap_closers"]["mix"]["budget"] == pytest.approx(SPEND)
    assert data["ltv"]["rule"] == 3.0


# ---------------------------------------------------------------------------
# Measuring the baseline from a small workspace
# ---------------------------------------------------------------------------

ORDERS = [
    # order_id, customer, ts, amount, channel, is_refund
    ("d1", "D", "2023-11-01", 60.0, "天猫", False),    # D: last bought > 365 days before Q …
    ("c1", "C", "2024-01-05", 70.0, "天猫", False),    # C: in the base, no purchase in Q
    ("a1", "A", "2024-06-01", 100.0, "天猫", False),   # A: in the base …
    ("b1", "B", "2024-12-01", 50.0, "京东", False),    # B: in the base, no purchase in Q
    ("a2", "A", "2025-01-10", 120.0, "微信私域", False),  # … A repurchases twice in Q
    ("e1", "E", "2025-01-20", 100.0, "抖音", False),   # E: new in Q via 抖音, 2 orders
    ("f1", "F", "2025-02-05", 40.0, "小程序", False),  # F: new in Q via a channel without spend
    ("a3", "A", "2025-02-10", 80.0, "天猫", False),
    ("a4", "A", "2025-02-11", -80.0, "天猫", True),    # A's refund of exactly a3: a3 is cancelled
    ("g1", None, "2025-02-14", 30.0, "天猫", False),   # guest
    ("d2", "D", "2025-03-01", 90.0, "天猫", False),    # … D comes back in Q: reactivated
    ("e2", "E", "2025-03-20", 100.0, "天猫", False),
    ("h1", "H", "2025-04-10", 500.0, "抖音", False),   # after Q (Q = 2025 Q1, the latest full quarter)
]


def load_orders(ws, name: str, orders, spend=(), new_customers: bool = True) -> int:
    frame = pd.DataFrame(orders, columns=["order_id", "customer_id", "order_ts", "amount", "channel", "is_refund"])
    frame["order_ts"] = pd.to_datetime(frame["order_ts"])
    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, name)
        frame.insert(0, "dataset_id", ds)
        cur.register("f", frame)
        cur.execute("INSERT INTO orders (dataset_id, order_id, customer_id, order_ts, amount, quantity, channel, status, is_refund) SELECT dataset_id, order_id, customer_id, order_ts, amount, NULL, channel, "
                    "NULL, is_refund FROM f")
        if spend:
            s = pd.DataFrame(spend, columns=["period_start", "channel", "spend", "new_customers"])
            if not new_customers:
                s["new_customers"] = np.nan
            s.insert(0, "dataset_id", ds)
            cur.register("s", s)
            cur.execute("INSERT INTO channel_spend SELECT dataset_id, period_start::DATE, channel, spend, "
                        "NULL, NULL, new_customers, NULL, NULL FROM s")
    return ds


SPEND_ROWS = [
    ("2024-12-30", "抖音", 999.0, 5.0),   # the week before Q: not counted
    ("2025-01-06", "抖音", 1_000.0, 1.0),
    ("2025-02-03", "天猫", 500.0, 0.0),
]


def test_baseline_measured_by_hand(ws):
    ds = load_orders(ws, "t", ORDERS, SPEND_ROWS)
    b = scenarios.measure_baseline(ws, ds)
    assert (b.quarter_start, b.quarter_end) == (date(2025, 1, 1), date(2025, 3, 31))
    assert b.revenue == pytest.approx(480.0)  # 120 (A; a3 cancelled) + 240 (E, F) + 90 (D) + 30 (guest), net
    assert b.orders == 6
    assert b.customer_base == 3  # A, B, C bought in the 365 days before Q; D's order is older
    assert b.repurchasers == 1 and b.repurchase_rate == pytest.approx(1 / 3)
    assert b.orders_per_repurchaser == pytest.approx(1.0) and b.aov_retained == pytest.approx(120.0)
    assert b.retained_revenue == pytest.approx(120.0)
    assert b.new_customers == 2 and b.orders_per_new_customer == pytest.approx(1.5)
    assert b.aov_new == pytest.approx(80.0) and b.new_revenue == pytest.approx(240.0)
    assert b.reactivated_customers == 1 and b.reactivated_revenue == pytest.approx(90.0)
    assert b.guest_revenue == pytest.approx(30.0)
    assert b.other_revenue == pytest.approx(120.0)  # D and the guest
    assert b.new_revenue + b.retained_revenue + b.other_revenue == pytest.approx(b.revenue)
    assert b.spend == pytest.approx(1_500.0) and b.cac == pytest.approx(750.0)
    assert b.customer_base_next == 5  # A, B, D, E, F bought in the 365 days ending 2025-03-31
    # LTV as in kpis: trailing-year net sales of A, B, D, E, F (220 + 50 + 90 + 200 + 40) ÷ 5 customers = 120.
    assert b.ltv == pytest.approx(120.0)
    assert b.ltv == pytest.approx(compute_kpis(ws, ds, b.quarter).ltv)
    assert b.new_customers_source == "channel_data"
    assert b.paid_new_customers == 1 and b.organic_new_customers == 1
    assert b.channel_spend == {"天猫": 500.0, "抖音": 1_000.0}
    assert b.history_days == (date(2025, 1, 1) - date(2023, 11, 1)).days and not b.short_history
    assert b.quarter_label("en") == "Q1 2025" and b.quarter_label("zh") == "2025年第1季度"
    assert Baseline.from_dict(json.loads(json.dumps(b.to_dict()))) == b


def test_baseline_without_new_customers_in_the_channel_data_uses_first_order_channels(ws):
    ds = load_orders(ws, "t", ORDERS, SPEND_ROWS, new_customers=False)
    b = scenarios.measure_baseline(ws, ds)
    assert b.new_customers_source == "first_order_channel"
    assert b.channel_new_customers == {"抖音": 1.0}  # E; F's 小程序 had no spend → organic
    assert b.paid_new_customers == 1 and b.organic_new_customers == 1


def test_baseline_for_a_chosen_quarter(ws):
    ds = load_orders(ws, "t", ORDERS, SPEND_ROWS)
    b = scenarios.measure_baseline(ws, ds, Period(date(2025, 1, 1), date(2025, 2, 28)))
    assert b.revenue == pytest.approx(290.0)  # Jan–Feb: A 120 (a3 cancelled), E 100, F 40, guest 30
    assert b.quarter_label("en") == "2025-01-01 – 2025-02-28"


@pytest.mark.parametrize("case,key", [
    ("empty", "scenarios.error.no_orders"),
    ("short", "scenarios.error.no_full_quarter"),
    ("no_spend", "scenarios.error.no_channel_spend"),
])
def test_baseline_errors_are_clear(ws, case, key):
    if case == "empty":
        with ws.transaction() as cur:
            ds = ws.ensure_dataset(cur, "empty")
    elif case == "short":
        ds = load_orders(ws, "t", [("1", "A", "2025-02-03", 10.0, None, False),
                                   ("2", "B", "2025-03-20", 10.0, None, False)], SPEND_ROWS[1:])
    else:
        ds = load_orders(ws, "t", ORDERS)
    with pytest.raises(ScenarioError) as excinfo:
        scenarios.measure_baseline(ws, ds)
    assert excinfo.value.key == key
    assert excinfo.value.message("zh") != excinfo.value.message("en")
    assert key not in excinfo.value.message("zh")  # a real sentence, not the key


# ---------------------------------------------------------------------------
# Saved scenarios and comparison
# ---------------------------------------------------------------------------


def test_save_load_list_delete_round_trip(ws):
    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, "t")
    result = evaluate(make_baseline(dataset_id=ds), BASE_INPUTS, SLOW)
    saved = scenarios.save_scenario(ws, ds, "  Q2   push ", result)
    assert saved.name == "Q2 push"
    loaded = scenarios.load_scenario(ws, ds, "Q2 push")
    assert loaded.inputs == BASE_INPUTS
    assert loaded.summary["required_budget"] == pytest.approx(result.required_budget)
    assert loaded.summary["verdict"] == "over_cac"
    assert loaded.summary["new_customers_required"] == pytest.approx(N_REQUIRED)
    assert ws.get_setting(ds, "scenarios.Q2 push")["inputs"]["growth"] == 0.20
    scenarios.save_scenario(ws, ds, "基准", evaluate(make_baseline(dataset_id=ds), scenarios.PRESETS["base"], FAST))
    assert [s.name for s in scenarios.list_scenarios(ws, ds)] == ["Q2 push", "基准"]
    # Saving under an existing name replaces it.
    scenarios.save_scenario(ws, ds, "Q2 push", evaluate(make_baseline(dataset_id=ds), BASE_INPUTS, FAST))
    assert scenarios.load_scenario(ws, ds, "Q2 push").summary["verdict"] == "met"
    assert scenarios.delete_scenario(ws, ds, "Q2 push") is True
    assert scenarios.delete_scenario(ws, ds, "Q2 push") is False
    with pytest.raises(ScenarioError) as excinfo:
        scenarios.load_scenario(ws, ds, "Q2 push")
    assert "Q2 push" in excinfo.value.message("en") and "Q2 push" in excinfo.value.message("zh")
    assert [s.name for s in scenarios.list_scenarios(ws, ds)] == ["基准"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, "bad\x07name"])
def test_bad_scenario_names_are_refused(ws, name):
    with pytest.raises(ScenarioError):
        scenarios.save_scenario(ws, 1, name, evaluate(make_baseline(), BASE_INPUTS, FAST))


def test_compare_side_by_side(ws):
    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, "t")
    baseline = make_baseline(dataset_id=ds)
    slow = evaluate(baseline, BASE_INPUTS, SLOW, name="slow curves")
    fast = evaluate(baseline, scenarios.PRESETS["base"], FAST)
    saved = scenarios.save_scenario(ws, ds, "saved", slow)
    frame = scenarios.compare([slow, fast, saved])
    assert list(frame.columns) == ["metric", "label", "slow curves", "Base", "saved"]
    row = frame.set_index("metric")
    assert row.loc["required_budget", "slow curves"] == pytest.approx(slow.required_budget)
    assert row.loc["required_budget", "saved"] == pytest.approx(slow.required_budget)
    assert row.loc["verdict", "Base"] == "met"
    zh = scenarios.compare([slow, fast], "zh", formatted=True).set_index("metric")
    assert zh.loc["verdict", "slow curves"] == "获客成本目标未达成"
    assert zh.loc["required_budget", "slow curves"].endswith("万")
    assert zh.loc["growth", "label"] == "销售额增长"
    twice = scenarios.compare([fast, fast])
    assert list(twice.columns)[2:] == ["Base", "Base (2)"]
    for bad in ([fast], [fast] * 5):
        with pytest.raises(ScenarioError):
            scenarios.compare(bad)


def test_comparison_exports_and_levers_chart_say_what_the_table_says(ws):
    import io

    from openpyxl import load_workbook

    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, "t")
    baseline = make_baseline(dataset_id=ds)
    plain = evaluate(baseline, scenarios.PRESETS["base"], FAST)
    hostile = scenarios.save_scenario(ws, ds, "=HYPERLINK(\"x\")", evaluate(baseline, scenarios.PRESETS["aggressive"], FAST))
    picked = [plain, hostile]
    table = scenarios.comparison_table(picked, "zh")
    assert list(table.columns) == ["指标", "基准", "=HYPERLINK(\"x\")"]
    text = scenarios.comparison_csv(picked, "zh").decode("utf-8-sig")
    assert "\"'=HYPERLINK" in text and "\"=HYPERLINK" not in text  # the name cannot become a formula
    assert "+17.5%" in text and "+20.0%" in text
    sheet = load_workbook(io.BytesIO(scenarios.comparison_workbook(picked, "en"))).active
    cells = [c.value for row in sheet.iter_rows() for c in row]
    assert not any(getattr(c, "data_type", "") == "f" for row in sheet.iter_rows() for c in row)
    assert "Sales growth" in cells and "+20.0%" in cells
    spec = scenario_charts.levers_chart(scenarios.compare(picked, "en"), "en").to_dict()
    rows = next(iter(spec["datasets"].values()))
    by = {(r["scenario"], r["lever"]): r for r in rows}
    assert by[("Base", "Sales growth")]["text"] == "+17.5%"
    assert by[("Base", "Sales growth")]["value"] == pytest.approx(17.5)
    assert len(rows) == 8  # four levers × two scenarios


# ---------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------


def _texts(spec) -> str:
    return json.dumps(spec, ensure_ascii=False)


def test_charts_are_translated_and_use_the_palette():
    baseline = make_baseline(channel_spend={"抖音": 200_000.0, "小红书": 100_000.0},
                             channel_new_customers={"抖音": 1_000.0, "小红书": 500.0})
    curves = {"抖音": mm(120.0, 15_000.0), "小红书": mm(80.0, 8_000.0)}
    result = evaluate(baseline, BASE_INPUTS, curves)
    frontier = scenarios.feasibility_frontier(baseline, curves)
    for lang in ("en", "zh"):
        feas = _texts(scenario_charts.feasibility_chart(result, frontier, lang).to_dict())
        assert t("scenarios.chart.feasibility_title", lang) in feas
        assert t("scenarios.chart.target_box", lang) in feas
        assert t("scenarios.chart.iso_today", lang, cac="¥150") in feas
        assert "strokeDash" in feas
        tornado = _texts(scenario_charts.tornado_chart(scenarios.sensitivity(baseline, BASE_INPUTS, curves),
                                                       lang).to_dict())
        assert t("scenarios.chart.tornado_title", lang) in tornado
        assert t("scenarios.input.repurchase_up", lang) in tornado
        spend = _texts(scenario_charts.spend_comparison_chart(result, lang).to_dict())
        assert t("scenarios.chart.optimised", lang) in spend
        assert "#111111" in spend and "#FF2442" in spend  # 抖音 and 小红书 palette colours
    assert "Douyin" in _texts(scenario_charts.spend_comparison_chart(result, "en").to_dict())
    assert "抖音" in _texts(scenario_charts.spend_comparison_chart(result, "zh").to_dict())


# ---------------------------------------------------------------------------
# The sample store end to end
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(sample_workspace_file, tmp_path_factory):
    from lib.workspace import Workspace

    path = tmp_path_factory.mktemp("scenarios") / "sample.duckdb"
    shutil.copyfile(sample_workspace_file, path)
    ws = Workspace(path)
    dataset = ws.get_dataset("Sample store")
    model = scenarios.prepare(ws, dataset.dataset_id)
    yield ws, dataset, model.baseline, model.curves
    ws.close()


def test_sample_store_baseline_is_q3_2026_and_adds_up(sample):
    ws, dataset, b, curves = sample
    assert (b.quarter_start, b.quarter_end) == (date(2026, 7, 1), date(2026, 9, 30))
    kpi = compute_kpis(ws, dataset.dataset_id, b.quarter)
    assert b.revenue == pytest.approx(kpi.net_sales) and b.orders == kpi.orders
    assert b.repurchase_rate == pytest.approx(kpi.repurchase_rate)
    assert b.new_customers == kpi.new_customers
    assert b.spend == pytest.approx(kpi.spend) and b.cac == pytest.approx(kpi.cac)
    assert b.ltv == pytest.approx(kpi.ltv)
    assert b.new_revenue + b.retained_revenue + b.other_revenue == pytest.approx(b.revenue)
    assert 0 <= b.other_revenue < 0.05 * b.revenue
    assert b.new_customers_source == "channel_data"
    assert 0 < b.organic_new_customers < b.new_customers
    assert 0.1 < b.repurchase_rate < 0.5 and b.customer_base > b.new_customers
    assert len(curves) == 9  # every sample channel has a curve
    # The curves at last quarter's spend reproduce last quarter's paid new customers (within 10 %).
    predicted = sum(float(c.over_periods(13).response(b.channel_spend[name])) for name, c in curves.items())
    assert predicted == pytest.approx(b.paid_new_customers, rel=0.10)


def test_sample_store_presets_are_plausible(sample):
    ws, dataset, b, curves = sample
    results = {name: evaluate(b, inputs, curves) for name, inputs in scenarios.PRESETS.items()}
    base = results["base"]
    assert base.verdict in ("met", "over_cac")
    assert base.new_customers_required > 0
    assert base.revenue_target == pytest.approx(1.175 * b.revenue)
    assert 0.5 * b.spend < base.required_budget < 2.0 * b.spend
    assert 0.5 * b.cac < base.implied_cac < 1.5 * b.cac
    assert base.marginal_cac > base.implied_cac  # concave curves: the next customer costs more than the average
    assert sum(p.optimised_spend for p in base.split) == pytest.approx(base.required_budget, rel=1e-6)
    assert base.gap.mix.extra_new_customers >= -1e-6  # the optimal split never buys fewer
    # More growth at a lower CAC is harder: required customers and budget rise with the preset.
    order = ["conservative", "base", "aggressive"]
    assert [results[k].new_customers_required for k in order] == sorted(
        results[k].new_customers_required for k in order)
    assert [results[k].required_budget for k in order] == sorted(results[k].required_budget for k in order)
    assert [results[k].budget_gap for k in order] == sorted(results[k].budget_gap for k in order)
    json.dumps(base.to_dict(), ensure_ascii=False)
    assert scenarios.headline(base, "en").startswith("The base scenario needs")


def test_sample_store_cli_entry_saves_and_reports(sample):
    ws, dataset, b, curves = sample
    out = scenarios.run_scenario_cli(ws, "Sample store", 0.18, 0.12, 0.05, save="cli test", lang="zh")
    text = json.dumps(out, ensure_ascii=False)
    assert out["dataset"] == "Sample store" and out["saved"] == "cli test"
    assert out["inputs"]["growth"] == 0.18 and out["verdict"] in ("met", "over_cac", "unreachable")
    assert "新客" in out["headline"]
    assert json.loads(text)["budget"]["linear_budget"] > 0
    loaded = scenarios.load_scenario(ws, dataset.dataset_id, "cli test")
    assert loaded.inputs.growth == 0.18
    with pytest.raises(ScenarioInputError):
        scenarios.run_scenario_cli(ws, "Sample store", 0.18, 1.5, 0.05)


def test_orders_only_answer_matches_the_full_scenario_on_the_revenue_side(sample):
    ws, dataset, b, curves = sample
    inputs = scenarios.PRESETS["base"]
    full = scenarios.evaluate(b, inputs, curves)
    alone = scenarios.orders_only(ws, dataset.dataset_id, inputs)
    assert alone.revenue_target == pytest.approx(full.revenue_target)
    assert alone.new_customers_required == pytest.approx(full.new_customers_required)
    assert alone.retained_revenue_target == pytest.approx(full.retained_revenue_target)
    assert alone.repurchase_rate_target == pytest.approx(b.repurchase_rate + 0.05)


def test_orders_only_answer_needs_no_channel_spend(ws):
    ds = load_orders(ws, "t", ORDERS)  # no spend rows at all
    with pytest.raises(scenarios.ScenarioError) as caught:
        scenarios.measure_baseline(ws, ds)
    assert caught.value.key == "scenarios.error.no_channel_spend"
    alone = scenarios.orders_only(ws, ds, scenarios.PRESETS["base"])
    assert alone.baseline.spend == 0 and alone.revenue_target == pytest.approx(480.0 * 1.175)
    assert alone.new_customers_required > 0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_channel_split_table_has_translated_headers_channel_names_and_whole_customers(sample, lang):
    """The Scenarios page's split table was a raw dump (internal keys, 1199.7756 customers, has_curve)."""
    _ws, _dataset, b, curves = sample
    result = scenarios.evaluate(b, scenarios.ScenarioInputs(growth=0.175, cac_cut=0.125), curves)
    table = scenarios.display_split(result, lang)
    assert list(table.columns) == [key for key, _ in scenarios.SPLIT_COLUMNS]
    for key, _kind in scenarios.SPLIT_COLUMNS:  # every header the page shows has a text in this language
        header = t(f"scenarios.split.{key}", lang)
        assert header and header != f"scenarios.split.{key}"
        if lang == "zh":
            assert not header.isascii() or key == "extrapolation_ratio", header
    if lang == "zh":
        assert "抖音" in set(table["channel"]) and "douyin" not in set(table["channel"])
    customers = table[["current_new_customers", "optimised_new_customers"]].to_numpy()
    assert np.all(customers == np.round(customers)), "customers are whole on screen"
    assert table["optimised_spend"].sum() == pytest.approx(result.plan_budget, rel=1e-6)
