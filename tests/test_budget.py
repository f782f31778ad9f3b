"""Budget splits: the plan's templates, edits that keep 100 %, money that adds up, 13 phased weeks.

What a user notices: the templates read like the plan (20/30/40/10, 60–70 / 15–20 /
10–25, 30/50/20, high-ROI ≥ 60 %), editing one line never leaves the total at 97 %
or 103 %, the amounts add up to the budget to the yuan, the weekly plan keeps each
phase's total, and the actual spend mix is compared with the plan per channel group.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.scenarios.budget import (
    TEMPLATES,
    channel_group,
    compare_to_actual,
    normalise,
    plan_phase_of_week,
    range_issues,
    rebalance,
    template,
    template_frame,
    to_money,
    weekly_phasing,
)
from lib.channels import geometric_adstock
from lib.i18n import t


def test_templates_read_like_the_plan():
    assert template("by_function").defaults() == {"platform": 0.20, "content": 0.30, "channel_spend": 0.40,
                                                  "team": 0.10}
    by_type = template("by_type")
    assert by_type.defaults() == pytest.approx({"marketing": 0.65, "technology": 0.175, "people_other": 0.175})
    assert (by_type.line("marketing").low, by_type.line("marketing").high) == (0.60, 0.70)
    assert (by_type.line("people_other").low, by_type.line("people_other").high) == (0.10, 0.25)
    assert template("by_phase").defaults() == {"launch": 0.30, "peak": 0.50, "wrap_up": 0.20}
    groups = template("by_channel_group")
    assert groups.line("high_roi").low == 0.60 and groups.defaults()["experiments"] == 0.10
    for key, tpl in TEMPLATES.items():
        assert math.fsum(tpl.defaults().values()) == pytest.approx(1.0), key
        for line in tpl.lines:
            assert line.low is None or line.high is None or line.low <= line.default <= line.high
    with pytest.raises(KeyError, match="by_function"):
        template("by_magic")


def test_every_template_and_line_has_both_languages():
    for tpl in TEMPLATES.values():
        for key in (tpl.label_key, tpl.note_key, *(line.label_key for line in tpl.lines)):
            assert t(key, "en") != key and t(key, "zh") != key, key
            assert t(key, "en") != t(key, "zh"), key
    frame = template_frame("by_type", "zh")
    assert list(frame["label"]) == ["营销费用（广告、内容、私域运营）", "技术费用", "人员及其他"]
    assert frame["plan_range"].iloc[0] == "方案：60%–70%"
    assert frame["within_plan"].all()


def test_range_rules_are_flagged():
    shares = {"high_roi": 0.50, "experiments": 0.20, "other_channels": 0.30}
    issues = {issue.key: issue for issue in range_issues("by_channel_group", shares)}
    assert set(issues) == {"high_roi", "experiments"}
    assert issues["high_roi"].message("en") == "High-ROI channels is at 50.0%, below the plan's 60%."
    assert "高于方案要求的 12%" in issues["experiments"].message("zh")
    assert range_issues("by_channel_group", template("by_channel_group").defaults()) == []


# ---------------------------------------------------------------------------
# Rebalancing
# ---------------------------------------------------------------------------


def test_rebalance_scales_the_other_lines_in_proportion():
    shares = template("by_function").defaults()  # 20/30/40/10
    out = rebalance(shares, "channel_spend", 0.50)
    # The other lines had 60 % and now share 50 % in the same 2:3:1 proportions.
    assert out["channel_spend"] == 0.50
    assert out["platform"] == pytest.approx(0.50 * 2 / 6)
    assert out["content"] == pytest.approx(0.50 * 3 / 6)
    assert out["team"] == pytest.approx(0.50 * 1 / 6)
    assert math.fsum(out.values()) == 1.0


def test_rebalance_respects_locked_lines():
    shares = template("by_function").defaults()
    out = rebalance(shares, "channel_spend", 0.50, locked=["content"])
    assert out["content"] == 0.30  # locked, untouched
    # platform and team had 30 % (2:1) and now share 20 %.
    assert out["platform"] == pytest.approx(0.20 * 2 / 3) and out["team"] == pytest.approx(0.20 / 3)
    # Asking for more than the locked lines leave is capped.
    capped = rebalance(shares, "channel_spend", 0.95, locked=["content"])
    assert capped["channel_spend"] == pytest.approx(0.70) and capped["content"] == 0.30
    assert capped["platform"] == 0 and capped["team"] == 0
    # With every other line locked the changed line takes what keeps 100 %.
    only = rebalance(shares, "team", 0.5, locked=["platform", "content", "channel_spend"])
    assert only["team"] == pytest.approx(0.10)
    with pytest.raises(ValueError, match="more than 100%"):
        rebalance({"a": 0.7, "b": 0.6, "c": 0.1}, "c", 0.2, locked=["a", "b"])


def test_rebalance_from_zero_lines_splits_equally():
    out = rebalance({"a": 1.0, "b": 0.0, "c": 0.0}, "a", 0.4)
    assert out == pytest.approx({"a": 0.4, "b": 0.3, "c": 0.3})


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(0, 1, allow_nan=False), min_size=2, max_size=7),
    new_value=st.floats(-0.5, 1.5, allow_nan=False),
    data=st.data(),
)
def test_rebalance_always_sums_to_100_percent(values, new_value, data):
    keys = [f"k{i}" for i in range(len(values))]
    shares = normalise(dict(zip(keys, values)))
    changed = data.draw(st.sampled_from(keys))
    locked = data.draw(st.lists(st.sampled_from([k for k in keys if k != changed]), unique=True,
                                max_size=len(keys) - 1))
    out = rebalance(shares, changed, new_value, locked=locked)
    assert math.fsum(out.values()) == pytest.approx(1.0, abs=1e-12)
    assert all(v >= 0 for v in out.values())
    for k in locked:
        assert out[k] == shares[k]
    if 0 <= new_value <= 1 - math.fsum(shares[k] for k in locked) and len(locked) < len(keys) - 1:
        assert out[changed] == pytest.approx(new_value, abs=1e-12)


# ---------------------------------------------------------------------------
# Money and weeks
# ---------------------------------------------------------------------------


def test_money_adds_up_exactly_to_the_total():
    amounts = to_money(template("by_type").defaults(), 1_000_001)
    assert sum(amounts.values()) == 1_000_001
    assert amounts == {"marketing": 650_001.0, "technology": 175_000.0, "people_other": 175_000.0}
    thirds = to_money({"a": 1, "b": 1, "c": 1}, 100)
    assert sorted(thirds.values()) == [33, 33, 34] and sum(thirds.values()) == 100
    hundreds = to_money({"a": 0.2, "b": 0.3, "c": 0.5}, 12_345, unit=100)
    assert sum(hundreds.values()) == pytest.approx(12_345)


def test_weekly_phasing_maps_phases_onto_the_plans_13_weeks():
    plan = weekly_phasing(1_300_000)
    assert list(plan["week"]) == list(range(1, 14))
    assert list(plan["plan_phase"]) == ["preparation"] * 2 + ["launch"] * 2 + ["operation"] * 8 + ["optimisation"]
    assert list(plan["budget_phase"]) == ["launch"] * 4 + ["peak"] * 6 + ["wrap_up"] * 3
    by_phase = plan.groupby("budget_phase")["spend"].sum()
    assert by_phase["launch"] == pytest.approx(390_000)  # 30 %
    assert by_phase["peak"] == pytest.approx(650_000)  # 50 %
    assert by_phase["wrap_up"] == pytest.approx(260_000)  # 20 %
    assert plan["spend"].iloc[0] == pytest.approx(97_500)  # 30 % / 4 weeks
    assert plan["cumulative_spend"].iloc[-1] == pytest.approx(1_300_000)
    assert plan["share"].sum() == pytest.approx(1.0)
    assert [plan_phase_of_week(w) for w in (1, 3, 5, 12, 13)] == [
        "preparation", "launch", "operation", "operation", "optimisation"]
    assert t("budget.plan_phase.optimisation", "zh") == "优化期"


def test_weekly_phasing_follows_seasonality_within_each_phase():
    season = np.ones(13)
    season[6] = 3.0  # a promo week in the peak phase
    plan = weekly_phasing(1_300_000, seasonality=season)
    peak = plan[plan.budget_phase == "peak"]
    assert peak["spend"].sum() == pytest.approx(650_000)  # the phase total holds
    assert peak["spend"].iloc[2] == pytest.approx(650_000 * 3 / 8)  # week 7 takes 3 of 8 parts
    assert plan.loc[plan.budget_phase == "launch", "spend"].sum() == pytest.approx(390_000)


def test_weekly_phasing_with_carryover_from_last_quarter():
    plan = weekly_phasing(130_000, theta=0.5, carryover_in=20_000, unit=1)
    spend = plan["spend"].to_numpy()
    assert spend.sum() == 130_000 and np.allclose(spend, np.round(spend))
    # a_w = x_w + θ·a_{w−1} with a_0 = 20,000
    assert plan["effective_spend"].iloc[0] == pytest.approx(spend[0] + 10_000)
    assert np.allclose(plan["effective_spend"], geometric_adstock(spend, 0.5, initial=20_000))
    assert plan["carried_in"].iloc[0] == pytest.approx(10_000)
    assert plan["carried_in"].iloc[2] == pytest.approx(2_500)
    history = [1_000.0, 0.0, 2_000.0]  # a = 1000, 500, 2250
    assert geometric_adstock(history, 0.5)[-1] == pytest.approx(2_250)  # a_0 for the next quarter


def test_weekly_phasing_rejects_inconsistent_input():
    with pytest.raises(ValueError, match="adding up to 13"):
        weekly_phasing(1_000, phase_weeks=(2, 2, 2))
    with pytest.raises(ValueError, match="seasonality"):
        weekly_phasing(1_000, seasonality=[1, 2, 3])
    with pytest.raises(ValueError, match="phase_split"):
        weekly_phasing(1_000, phase_split=(0.5, 0.5))
    eight = weekly_phasing(800, weeks=8)
    assert len(eight) == 8 and eight["spend"].sum() == pytest.approx(800)
    assert eight["plan_phase"].iloc[-1] == "optimisation"


# ---------------------------------------------------------------------------
# Against the actual spend mix
# ---------------------------------------------------------------------------


def test_known_channels_fall_into_the_plans_groups():
    for name in ("抖音", "淘宝直播", "微信私域", "Douyin ads", "抖音千川", "企业微信社群"):
        assert channel_group(name) == "high_roi", name
    for name in ("天猫", "京东", "小红书", "tv_S"):
        assert channel_group(name) == "other_channels", name


def test_compare_to_actual_spend_mix():
    shares = template("by_channel_group").defaults()
    actual = {"抖音": 500.0, "淘宝直播": 100.0, "小红书": 300.0, "AI 试点": 100.0}
    table = compare_to_actual(shares, actual, {"AI 试点": "experiments"}).set_index("group")
    assert table.loc["high_roi", "actual_share"] == pytest.approx(0.60)
    assert table.loc["experiments", "actual_share"] == pytest.approx(0.10)
    assert table.loc["other_channels", "actual_share"] == pytest.approx(0.30)
    assert table.loc["high_roi", "gap"] == pytest.approx(0.0)
    assert table.loc["high_roi", "channels"] == "抖音, 淘宝直播"
    assert table["actual_spend"].sum() == pytest.approx(1_000)
    under = compare_to_actual(shares, {"抖音": 100.0, "天猫": 900.0}).set_index("group")
    assert under.loc["high_roi", "gap"] == pytest.approx(0.10 - 0.60)
