"""Playbooks: the campaign calculator against hand-computed cases, the 3× recall rule, bilingual content for every
tier and segment, edits that persist and reset, tier profiles on a hand-made store, the weeks of the plan, and
the operations workbook."""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import pytest
from openpyxl import load_workbook

from lib import playbooks as P
from lib import segments as S
from lib import timeline
from lib.i18n import catalogs, has_key, t
from lib.palette import SEGMENT_ORDER, TIER_ORDER
from lib.workspace import Workspace

AS_OF = date(2024, 6, 30)
CJK = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------------------------------
# The calculator
# ---------------------------------------------------------------------------------------


def test_calculator_matches_a_hand_computed_campaign() -> None:
    # 1,000 in the audience, 10% held out → 100 held out, 900 contacted; 10% buy → 90 buyers.
    # The tier's baseline is 4%: 36 of the 900 would have bought anyway → lift 6 pts, 54 incremental buyers.
    # Net AOV ¥200 × 1.2 → ¥240: incremental revenue 54 × 240 = ¥12,960; × 40% margin = ¥5,184 gross profit.
    # Gross (every buyer): 90 × 240 = ¥21,600 — shown, never the headline.
    # Coupons go to every buyer: 90 × 50% × ¥20 = ¥900; points: 90 × 100 × ¥0.01 = ¥90; contact: 900 × ¥0.5 = ¥450.
    e = P.campaign_economics(1000, 0.10, 200, 20, 0.5, 100, 0.5, aov_multiplier=1.2,
                             baseline_rate=0.04, gross_margin=0.4, holdout_share=0.1)
    assert (e.held_out, e.contacted) == (100, 900)
    assert e.responders == pytest.approx(90)
    assert e.lift == pytest.approx(0.06) and e.incremental_responders == pytest.approx(54)
    assert e.aov == pytest.approx(240)
    assert e.incremental_revenue == pytest.approx(12_960)
    assert e.incremental_profit == pytest.approx(5_184)
    assert e.gross_revenue == pytest.approx(21_600)
    assert e.incentive_cost == pytest.approx(900)
    assert e.points_cost == pytest.approx(90)
    assert e.contact_cost == pytest.approx(450)
    assert e.total_cost == pytest.approx(1_440)
    assert e.net == pytest.approx(3_744)
    assert e.roi == pytest.approx(2.6)  # 260%
    assert e.cost_per_responder == pytest.approx(16.0)
    assert e.points_roi == pytest.approx(240.0)
    assert e.cost_cap is None and e.over_cost_cap is False
    assert e.flags == ()


def test_a_tier_whose_baseline_equals_the_response_rate_gains_nothing() -> None:
    e = P.campaign_economics(1000, 0.2, 150, 10, 1.0, 0, 0.1, baseline_rate=0.2, gross_margin=0.5)
    assert e.lift == pytest.approx(0) and e.incremental_responders == 0
    assert e.incremental_revenue == 0 and e.incremental_profit == 0
    assert e.gross_revenue == pytest.approx(200 * 150)  # the buyers are real, they just are not the campaign's
    assert e.net == pytest.approx(-e.total_cost) and e.roi == pytest.approx(-1.0)
    assert e.flags == ("no_lift",)
    # Below the baseline the increment is none, never negative sales.
    below = P.campaign_economics(1000, 0.1, 150, 0, 0, 0, 0.1, baseline_rate=0.3)
    assert below.lift == pytest.approx(-0.2) and below.incremental_revenue == 0 and below.flags == ("no_lift",)
    # Every point of lift adds contacted × 1% × AOV.
    one_point = P.campaign_economics(1000, 0.21, 150, 10, 1.0, 0, 0.1, baseline_rate=0.2, gross_margin=0.5)
    assert one_point.incremental_revenue == pytest.approx(1000 * 0.01 * 150)


def test_the_holdout_is_not_contacted_and_costs_nothing() -> None:
    none = P.campaign_economics(1000, 0.1, 100, 0, 0, 0, 1.0, baseline_rate=0.05)
    held = P.campaign_economics(1000, 0.1, 100, 0, 0, 0, 1.0, baseline_rate=0.05, holdout_share=0.25)
    assert none.held_out == 0 and none.contacted == 1000
    assert held.held_out == 250 and held.contacted == 750
    assert held.contact_cost == pytest.approx(750) and held.incremental_revenue == pytest.approx(0.75 * none.incremental_revenue)
    with pytest.raises(ValueError):
        P.campaign_economics(1000, 0.1, 100, 0, 0, 0, 1.0, holdout_share=1.0)


def test_figures_outside_what_campaigns_achieve_are_flagged_with_the_reason() -> None:
    assert P.PLAUSIBLE.max_roi == 10.0 and P.PLAUSIBLE.max_lift == 0.30
    # A near-free contact and a healthy lift: ROI far above 1,000%.
    cheap = P.campaign_economics(1000, 0.1, 150, 0, 0, 0, 0.02, baseline_rate=0.02)
    assert cheap.roi > 10 and cheap.flags == ("roi_high",)
    # A 35-point lift.
    big = P.campaign_economics(1000, 0.40, 150, 50, 1.0, 0, 1.0, baseline_rate=0.05)
    assert big.lift == pytest.approx(0.35) and "lift_high" in big.flags
    # Exactly on the bounds is not flagged.
    edge = P.campaign_economics(1000, 0.35, 100, 0, 0, 0, 0, baseline_rate=0.05)
    assert "lift_high" not in edge.flags
    # No history: the baseline cannot be measured and counts as 0, flagged.
    unknown = P.campaign_economics(1000, 0.1, 150, 10, 1.0, 0, 0.5, baseline_rate=None)
    assert unknown.baseline_rate is None and unknown.incremental_responders == pytest.approx(100)
    assert "no_baseline" in unknown.flags
    # Nobody contacted: nothing to flag.
    assert P.campaign_economics(0, 0.9, 150, 0, 0, 0, 0.0, baseline_rate=None).flags == ()
    # The reasons carry the numbers, in both languages.
    en = P.flag_reasons(cheap, "en")
    zh = P.flag_reasons(cheap, "zh")
    assert len(en) == len(zh) == 1 and "1,000%" in en[0] and "1,000%" in zh[0] and CJK.search(zh[0])
    assert P.flag_reasons(big, "en")[0 if big.flags[0] == "lift_high" else 1].count("+35.0 pts") == 1
    no_lift = P.flag_reasons(P.campaign_economics(100, 0.1, 100, 0, 0, 0, 1, baseline_rate=0.2), "en")[0]
    assert "10.0%" in no_lift and "20.0%" in no_lift


def test_calculator_zero_audience_zero_cost_and_zero_response() -> None:
    nobody = P.campaign_economics(0, 0.2, 150, 30, 0.8, 0, 0.1)
    assert nobody.responders == 0 and nobody.total_cost == 0 and nobody.net == 0
    assert nobody.roi is None and nobody.cost_per_responder is None and nobody.points_roi is None

    free = P.campaign_economics(500, 0.1, 100, 0, 0, 0, 0, gross_margin=1.0)
    assert free.total_cost == 0 and free.incremental_revenue == pytest.approx(5_000)
    assert free.roi is None  # nothing spent: no ROI rather than a division by zero
    assert free.cost_per_responder == 0

    silent = P.campaign_economics(1000, 0.0, 100, 20, 0.9, 0, 0.05)
    assert silent.total_cost == pytest.approx(50) and silent.roi == pytest.approx(-1.0)
    assert silent.cost_per_responder is None

    no_aov = P.campaign_economics(100, 0.5, None, 0, 0, 0, 1)
    assert no_aov.incremental_revenue == 0 and no_aov.net == pytest.approx(-100)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"response_rate": 1.5},
        {"redemption_rate": -0.1},
        {"incentive": -1},
        {"contact_cost": float("nan")},
        {"audience": -5},
        {"points_per_responder": "100"},
        {"baseline_rate": 1.2},
        {"gross_margin": -0.1},
        {"holdout_share": 1.0},
    ],
)
def test_calculator_rejects_impossible_inputs(kwargs) -> None:
    args = {"audience": 100, "response_rate": 0.1, "aov": 100, "incentive": 10, "redemption_rate": 0.5,
            "points_per_responder": 0, "contact_cost": 0.1}
    args.update(kwargs)
    with pytest.raises(ValueError):
        P.campaign_economics(**args)


def test_sum_of_plays_recomputes_the_ratios() -> None:
    # 100 buyers, 60 of them incremental (baseline 4%): revenue ¥6,000, profit ¥3,000 at 50%; coupons ¥1,000.
    a = P.campaign_economics(1000, 0.1, 100, 10, 1.0, 0, 0.0, baseline_rate=0.04, gross_margin=0.5)
    b = P.campaign_economics(1000, 0.0, 100, 0, 0, 0, 1.0, baseline_rate=0.04, gross_margin=0.5)  # cost 1,000
    total = P.sum_economics([a, b])
    assert total.audience == 2000 and total.responders == pytest.approx(100)
    assert total.incremental_revenue == pytest.approx(6_000) and total.incremental_profit == pytest.approx(3_000)
    assert total.total_cost == pytest.approx(2_000) and total.net == pytest.approx(1_000)
    assert total.roi == pytest.approx(0.5) and total.cost_per_responder == pytest.approx(20.0)
    assert total.baseline_rate == pytest.approx(0.04) and total.lift == pytest.approx(0.01)
    assert total.flags == ("no_lift",)  # b does not beat its baseline


# ---------------------------------------------------------------------------------------
# The 3× recall rule
# ---------------------------------------------------------------------------------------


def test_recall_cost_rule_is_three_times_the_normal_cost() -> None:
    assert P.recall_cost_rule(19.0) == pytest.approx(57.0)
    assert P.recall_cost_rule(10.0, multiple=2) == pytest.approx(20.0)
    assert P.recall_cost_rule(None) is None
    # Normal recall = the dormant coupon: ¥0.05 contact / 5% response + 90% × ¥20 coupon = ¥19 per reactivated customer.
    book = P.default_playbook()
    assert book.recall_rule.multiple == 3
    assert P.normal_recall_cost(book) == pytest.approx(19.0)
    assert P.recall_cost_rule(P.normal_recall_cost(book), book.recall_rule.multiple) == pytest.approx(57.0)
    # The calculator flags a cost per responder above the cap, and only above it.
    at_cap = P.campaign_economics(100, 0.5, 100, 57, 1.0, 0, 0, cost_cap_multiple=3, normal_cost_per_responder=19)
    assert at_cap.cost_cap == pytest.approx(57) and not at_cap.over_cost_cap
    over = P.campaign_economics(100, 0.5, 100, 58, 1.0, 0, 0, cost_cap_multiple=3, normal_cost_per_responder=19)
    assert over.over_cost_cap


def test_high_value_plays_are_flagged_over_the_cap_and_the_cap_follows_the_normal_cost() -> None:
    book = P.default_playbook()
    profiles = {"high_value": _profile("high_value", members=1000, aov=300.0),
                "dormant": _profile("dormant", members=5000, aov=150.0)}
    summary = P.tier_summary(book, profiles, "high_value")
    assert summary.cost_cap == pytest.approx(57.0) and summary.over_cap == ()  # the plan's defaults respect the rule
    # A trial kit worth ¥60: ¥1 / 15% + ¥60 = ¥66.67 per responder > ¥57.
    pricier = P.update_play(book, "high_value", "co_creation", incentive=60)
    summary = P.tier_summary(pricier, profiles, "high_value")
    assert summary.over_cap == ("co_creation",)
    assert summary.total.over_cost_cap
    # The same cost is allowed once the normal recall costs more (¥0.05/5% + 90% × ¥30 = ¥28 → cap ¥84).
    richer_normal = P.update_play(pricier, "dormant", "dormant_coupon", incentive=30)
    assert P.tier_summary(richer_normal, profiles, "high_value").over_cap == ()
    # Groups without the rule are never flagged, however expensive.
    dear_dormant = P.update_play(book, "dormant", "upgrade_news", contact_cost=50)
    dormant = P.tier_summary(dear_dormant, profiles, "dormant")
    assert dormant.cost_cap is None and dormant.over_cap == ()
    # Can't Lose Them and Champions are under the rule too.
    assert book.group("cant_lose_them").cost_cap_multiple == 3 and book.group("champions").cost_cap_multiple == 3


# ---------------------------------------------------------------------------------------
# Content
# ---------------------------------------------------------------------------------------


def test_every_tier_and_segment_has_content_in_both_languages() -> None:
    book = P.default_playbook()
    assert book.version == 1 == json.loads(P.DEFAULTS_PATH.read_text(encoding="utf-8"))["version"]
    assert [g.key for g in book.groups_for("plan")] == list(TIER_ORDER)
    assert [g.key for g in book.groups_for("rfm")] == list(SEGMENT_ORDER)
    for group in book.groups.values():
        assert group.need.is_complete() and group.signal.is_complete(), group.key
        assert CJK.search(group.need.zh) and not CJK.search(group.need.en), group.key
        assert group.channels and group.formats, group.key
        assert all(has_key(f"channel_name.{c}") for c in group.channels), group.channels
        assert len(group.plays) >= 2, group.key
        assert len({p.id for p in group.plays}) == len(group.plays)
        for play in group.plays:
            assert play.name.en.strip() and CJK.search(play.name.zh), (group.key, play.id)
            assert play.description.is_complete() and play.kpi.is_complete() and play.kpi_target.text.is_complete()
            assert P.validate_play(play) == [], (group.key, play.id)
        if group.scheme == "rfm":
            assert group.like_tier in TIER_ORDER
    assert P.missing_translations(book) == []
    # Signals are filled from the thresholds, in each language.
    new = book.group("new")
    assert "30" in new.signal_text("en") and "{" not in new.signal_text("zh")
    assert "45" in new.signal_text("en", S.Thresholds(recent_max_days=45, lapsing_max_days=120))


def test_the_plans_plays_and_community_sop_numbers_are_all_there() -> None:
    book = P.default_playbook()
    ids = {key: {p.id for p in book.group(key).plays} for key in TIER_ORDER}
    assert {"new_user_coupon", "starter_list", "wecom_advisor", "triple_gift_24h"} <= ids["new"]
    assert {"personalised_recommendations", "member_points", "member_events", "weekly_member_day",
            "checkin_streak", "koc_partner"} <= ids["active"]
    assert {"dormant_coupon", "upgrade_news", "community_checkin_recall"} <= ids["dormant"]
    assert {"vip_service", "custom_gifts", "co_creation", "presale_rights", "silent_3m_winback"} <= ids["high_value"]
    assert "silent_30d_recall" in ids["lapsing"]
    # The lapsing row is ours, and says so in both languages.
    lapsing = book.group("lapsing")
    assert lapsing.origin == "ours" and lapsing.note is not None and lapsing.note.is_complete()
    assert "31–90" in lapsing.note_text("en") and "31–90" in lapsing.note_text("zh")

    def target(group: str, play: str) -> P.KpiTarget:
        return book.play(group, play).kpi_target

    assert (target("active", "weekly_member_day").value, target("active", "weekly_member_day").unit) == (0.35, "rate")
    assert target("active", "member_points").value == 3 and target("active", "member_points").unit == "ratio"
    assert target("dormant", "dormant_coupon").value == 0.25 and target("dormant", "dormant_coupon").unit == "points"
    assert target("lapsing", "silent_30d_recall").value == 0.25
    assert target("new", "triple_gift_24h").value == 6 and target("new", "triple_gift_24h").unit == "hours"
    assert book.play("active", "koc_partner").calculator.audience_share == 0.10
    assert "15%" in book.play("active", "koc_partner").description.en
    assert "24" in book.play("new", "triple_gift_24h").name.zh
    assert "3" in book.play("active", "checkin_streak").name.zh
    silent = book.play("high_value", "silent_3m_winback")
    assert silent.audience_basis == "silent_90d" and "3×" in silent.description.en
    # Targets quoted from the plan are marked as such; ours are marked as assumptions.
    assert target("active", "weekly_member_day").source == "plan"
    assert target("new", "new_user_coupon").source == "ours"


def test_default_weeks_follow_the_default_timeline_campaigns() -> None:
    campaigns = {task.tier: (task.start_week, task.end_week) for task in timeline.default_plan("en") if task.tier}
    book = P.default_playbook()
    for tier, (start, end) in campaigns.items():
        for play in book.group(tier).plays:
            assert start <= play.weeks[0] <= play.weeks[1] <= end, (tier, play.id, play.weeks)
    for group in book.groups.values():
        for play in group.plays:
            assert 1 <= play.weeks[0] <= play.weeks[1] <= P.PLAN_WEEKS


def test_every_label_the_module_builds_exists_in_both_languages() -> None:
    cats = catalogs()
    keys = [f"playbooks.col.{k}" for k, _ in (*P.PLAYBOOK_COLUMNS, *P.TIER_COLUMNS)]
    keys += [f"playbooks.field.{k}" for k in (*P.CALCULATOR_FIELDS, *P.TEXT_FIELDS, "weeks", "kpi_target", "need", "signal")]
    keys += [f"playbooks.origin.{k}" for k in P.ORIGINS] + [f"playbooks.audience_basis.{k}" for k in P.AUDIENCE_BASES]
    keys += [f"playbooks.target_source.{k}" for k in ("plan", "ours")]
    keys += [f"playbooks.weeks_source.{k}" for k in ("timeline", "default")]
    for lang in ("en", "zh"):
        missing = [k for k in keys if k not in cats[lang]]
        assert not missing, (lang, missing)


# ---------------------------------------------------------------------------------------
# Editing, validation, saving and resetting
# ---------------------------------------------------------------------------------------


def _dataset(ws: Workspace, name: str = "店铺") -> int:
    with ws.transaction() as cur:
        return ws.ensure_dataset(cur, name)


def test_editing_and_resetting_a_play_persists(tmp_path) -> None:
    path = tmp_path / "ws.duckdb"
    ws = Workspace(path)
    ds, other = _dataset(ws), _dataset(ws, "other")
    book = P.load_playbook(ws, ds)
    assert book.to_dict() == P.default_playbook().to_dict() and P.edited_plays(book) == []
    edited = P.update_play(book, "dormant", "dormant_coupon", response_rate=0.08, incentive=25, weeks=(10, 13),
                           name={"zh": "沉睡唤醒券"})
    edited = P.update_group(edited, "dormant", need={"en": "Bring them back"})
    assert book.play("dormant", "dormant_coupon").calculator.response_rate == 0.05  # the original is untouched
    P.save_playbook(ws, ds, edited)
    ws.close()

    ws = Workspace(path)  # a new process would see the same
    loaded = P.load_playbook(ws, ds)
    play = loaded.play("dormant", "dormant_coupon")
    assert play.calculator.response_rate == 0.08 and play.calculator.incentive == 25
    assert play.weeks == (10, 13)
    assert play.name.zh == "沉睡唤醒券" and play.name.en == "Dormant-user coupon (limited time)"
    assert loaded.group("dormant").need.en == "Bring them back" and loaded.group("dormant").need.zh == "唤醒与重新激活"
    assert P.edited_plays(loaded) == [("dormant", "dormant_coupon")]
    assert P.load_playbook(ws, other).to_dict() == P.default_playbook().to_dict()  # saved per dataset

    # Reset one play, save, reload.
    one_reset = P.reset_play(loaded, "dormant", "dormant_coupon")
    assert one_reset.play("dormant", "dormant_coupon") == P.default_playbook().play("dormant", "dormant_coupon")
    P.save_playbook(ws, ds, one_reset)
    assert P.edited_plays(P.load_playbook(ws, ds)) == []
    assert P.load_playbook(ws, ds).group("dormant").need.en == "Bring them back"

    # Reset everything to the plan's defaults.
    assert P.reset_playbook(ws, ds).to_dict() == P.default_playbook().to_dict()
    assert P.load_playbook(ws, ds).to_dict() == P.default_playbook().to_dict()
    assert ws.get_setting(ds, P.SETTINGS_KEY) is None
    ws.close()


def test_invalid_edits_are_refused_with_messages_in_both_languages() -> None:
    book = P.default_playbook()
    with pytest.raises(P.PlaybookError) as err:
        P.update_play(book, "new", "new_user_coupon", response_rate=1.5, incentive=-3, contact_cost="cheap")
    codes = [code for code, _ in err.value.problems]
    assert codes == ["rate_range", "negative", "not_number"]
    en, zh = err.value.messages("en"), err.value.messages("zh")
    assert "Expected response rate" in en[0] and "0%" in en[0] and "1.5" in en[0]
    assert "预计响应率" in zh[0] and "负数" in zh[1]
    assert all(CJK.search(m) for m in zh)

    cases = [
        ({"weeks": (0, 14)}, "weeks_range", "1–13"),
        ({"weeks": (9, 5)}, "weeks_order", "9"),
        ({"start_week": 12, "end_week": 3}, "weeks_order", "12"),
        ({"weeks": (2.5, 4)}, "weeks_whole", "whole"),
        ({"redemption_rate": -0.1}, "rate_range", "Share of responders"),
        ({"audience_share": 2}, "rate_range", "Share of the tier"),
        ({"name": {"zh": "  "}}, "text_missing", "Play name"),
        ({"colour": "red"}, "unknown_field", "colour"),
    ]
    for changes, code, text in cases:
        with pytest.raises(P.PlaybookError) as err:
            P.update_play(book, "new", "new_user_coupon", **changes)
        assert err.value.problems[0][0] == code, changes
        assert text in str(err.value), (changes, str(err.value))
    # Boundaries are allowed.
    ok = P.update_play(book, "new", "new_user_coupon", response_rate=1, redemption_rate=0, weeks=(1, 13), incentive=0)
    assert ok.play("new", "new_user_coupon").weeks == (1, 13)
    with pytest.raises(KeyError):
        P.update_play(book, "new", "no_such_play", response_rate=0.1)
    with pytest.raises(KeyError):
        P.update_play(book, "no_such_tier", "x", response_rate=0.1)
    with pytest.raises(P.PlaybookError):
        P.update_group(book, "new", need={"en": ""})


def test_saved_content_that_cannot_be_used_falls_back_to_the_defaults(ws: Workspace) -> None:
    ds = _dataset(ws)
    saved = P.update_play(P.default_playbook(), "active", "member_points", points_per_responder=800).to_dict()
    saved["groups"]["active"]["plays"][0]["calculator"]["response_rate"] = 7  # impossible
    saved["groups"]["new"]["plays"] = saved["groups"]["new"]["plays"][:1]  # a play "missing" (older version)
    saved["groups"]["no_such_tier"] = {"need": {"en": "x", "zh": "x"}}
    ws.set_setting(ds, P.SETTINGS_KEY, saved)
    book = P.load_playbook(ws, ds)
    defaults = P.default_playbook()
    assert book.play("active", "personalised_recommendations") == defaults.play("active", "personalised_recommendations")
    assert book.play("active", "member_points").calculator.points_per_responder == 800
    assert [p.id for p in book.group("new").plays] == [p.id for p in defaults.group("new").plays]
    assert "no_such_tier" not in book.groups
    ws.set_setting(ds, P.SETTINGS_KEY, "garbage")
    assert P.load_playbook(ws, ds).to_dict() == P.default_playbook().to_dict()


# ---------------------------------------------------------------------------------------
# Who: tier profiles on a hand-made store
# ---------------------------------------------------------------------------------------


def _insert(ws: Workspace, rows: list[tuple], name: str = "手工店") -> int:
    """rows: (customer_id, days before AS_OF, amount[, is_refund])."""
    records = []
    for i, row in enumerate(rows):
        cid, days, amount = row[:3]
        refund = row[3] if len(row) > 3 else False
        records.append({"order_id": f"O{i}", "customer_id": cid,
                        "order_ts": pd.Timestamp(AS_OF) - pd.Timedelta(days=days) + pd.Timedelta(hours=10),
                        "amount": float(amount), "is_refund": refund})
    df = pd.DataFrame(records)
    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, name)
        df["dataset_id"] = ds
        cur.register("df", df)
        cur.execute("INSERT INTO orders (dataset_id, order_id, customer_id, order_ts, amount, quantity, channel, status, is_refund) SELECT dataset_id, order_id, customer_id, order_ts, amount, NULL, NULL, NULL, "
                    "is_refund FROM df")
        cur.unregister("df")
    return ds


# At AS_OF: N1 new; A1, A2 active; L1 lapsing; D1, D2, S1 dormant; H1 high-value.
# 28 days earlier: A2 new; A1, L1, D2, S1 lapsing; D1 dormant; H1 high-value (N1 not yet a customer).
# 90 days earlier: S1 high-value, D2 new, D1 dormant — none of them has ordered since.
HAND_MADE = [
    ("N1", 5, 80), ("N1", 3, -30, True),  # a partial refund: N1 stays new, net spend 50
    ("A1", 100, 60), ("A1", 10, 60),
    ("A2", 40, 70), ("A2", 20, 70),
    ("L1", 60, 90),
    ("D1", 200, 50),
    ("D2", 100, 40),
    *[("H1", d, 500) for d in (5, 50, 100, 150, 200, 250)],
    *[("S1", d, 500) for d in (95, 120, 150, 180, 200)],
    (None, 2, 999),
]


def test_tier_profiles_on_a_hand_made_store(ws: Workspace) -> None:
    ds = _insert(ws, HAND_MADE)
    settings = S.SegmentSettings()
    profiles = P.all_tier_profiles(ws, ds, "plan", AS_OF, settings)
    assert list(profiles) == list(TIER_ORDER)
    members = {k: p.members for k, p in profiles.items()}
    assert members == {"new": 1, "active": 2, "lapsing": 1, "dormant": 3, "high_value": 1}
    before = {k: p.members_4_weeks_ago for k, p in profiles.items()}
    assert before == {"new": 1, "active": 0, "lapsing": 4, "dormant": 1, "high_value": 1}
    assert {k: p.member_change for k, p in profiles.items()} == {
        "new": 0, "active": 2, "lapsing": -3, "dormant": 2, "high_value": 0}
    assert profiles["dormant"].member_change_pct == pytest.approx(2.0)
    assert profiles["active"].member_change_pct is None  # nobody to compare with
    assert profiles["active"].compare_as_of == AS_OF - timedelta(days=28)
    assert all(p.members_now_frozen == p.members for p in profiles.values())  # tiers: frozen = live cut-offs

    active, dormant = profiles["active"], profiles["dormant"]
    assert active.aov == pytest.approx((120 + 140) / 4)
    assert active.repurchase_rate == 1.0 and active.median_days_since_last_order == 15
    assert dormant.aov == pytest.approx(2590 / 7)
    assert dormant.repurchase_rate == pytest.approx(1 / 3)
    assert dormant.median_days_since_last_order == 100
    assert dormant.share_customers == pytest.approx(3 / 8)
    assert dormant.share_revenue == pytest.approx(2590 / 5990)  # net spend: N1's 80 less its 30 refund
    assert profiles["new"].repurchase_rate == 0 and profiles["new"].aov == pytest.approx(50)  # net of the refund
    assert sum(p.share_customers for p in profiles.values()) == pytest.approx(1.0)
    # "High-value customers silent for 3 months": high-value 90 days ago, no order since.
    assert {k: p.silent_90d for k, p in profiles.items()} == {
        "new": 1, "active": 0, "lapsing": 0, "dormant": 1, "high_value": 1}
    # The baseline: of each tier's members 28 days earlier, who ordered since without a campaign.
    # new then: A2 (ordered again 20 days ago); lapsing then: A1 (ordered 10 days ago), L1, D2, S1 (did not);
    # dormant then: D1 (did not); high-value then: H1 (ordered 5 days ago); nobody was active.
    assert {k: p.baseline_buyers for k, p in profiles.items()} == {
        "new": 1, "active": 0, "lapsing": 1, "dormant": 0, "high_value": 1}
    assert profiles["lapsing"].baseline_rate == pytest.approx(0.25)
    assert profiles["dormant"].baseline_rate == 0 and profiles["active"].baseline_rate is None
    # The silent audience's baseline one window earlier: 118 days ago only D1 (lapsing then) and H1, S1 were
    # customers; H1 and S1 ordered within the following 90 days, D1 did not, nor since.
    assert {k: (p.silent_baseline_customers, p.silent_baseline_buyers) for k, p in profiles.items()} == {
        "new": (0, 0), "active": (0, 0), "lapsing": (1, 0), "dormant": (0, 0), "high_value": (0, 0)}

    # The same numbers as the Segments page.
    summary = S.segment_summary(ws, ds, settings, AS_OF, by="plan").set_index("group")
    for key, profile in profiles.items():
        assert profile.members == summary.loc[key, "customers"]
        assert profile.aov == pytest.approx(summary.loc[key, "aov"]) if profile.members else True
    assert set(profiles) == {"new", "active", "lapsing", "dormant", "high_value"} and "champions" not in profiles

    rfm = P.all_tier_profiles(ws, ds, "rfm", AS_OF, settings)
    assert list(rfm) == list(SEGMENT_ORDER) and sum(p.members for p in rfm.values()) == 8
    rfm_summary = S.segment_summary(ws, ds, settings, AS_OF, by="rfm").set_index("group")
    assert all(rfm[k].members == rfm_summary.loc[k, "customers"] for k in SEGMENT_ORDER)


def test_profiles_use_the_datasets_saved_thresholds_and_survive_an_empty_dataset(ws: Workspace) -> None:
    ds = _insert(ws, HAND_MADE)
    S.save_settings(ws, ds, S.SegmentSettings(thresholds=S.Thresholds(recent_max_days=30, lapsing_max_days=150)))
    profiles = P.all_tier_profiles(ws, ds, as_of=AS_OF)  # settings=None → the saved ones
    assert profiles["dormant"].members == 1 and profiles["lapsing"].members == 3

    empty = _dataset(ws, "empty")
    nothing = P.all_tier_profiles(ws, empty)
    assert all(p.members == 0 and p.aov is None and p.share_customers is None for p in nothing.values())
    assert nothing["new"].as_of is None
    summary = P.tier_summary(P.default_playbook(), nothing, "new")
    assert summary.total.total_cost == 0 and summary.total.roi is None


# ---------------------------------------------------------------------------------------
# Money per tier
# ---------------------------------------------------------------------------------------


def _profile(group: str, members: int, aov: float | None, silent: int = 0, *, baseline_buyers: int = 0,
             silent_before: int = 0, silent_buyers: int = 0) -> P.TierProfile:
    return P.TierProfile(
        group=group, scheme="plan", as_of=AS_OF, members=members, share_customers=None, window_revenue=0.0,
        share_revenue=None, revenue=0.0, orders=0, aov=aov, repurchase_rate=None, median_days_since_last_order=None,
        compare_as_of=None, members_now_frozen=members, members_4_weeks_ago=members, member_change=0, member_change_pct=None, silent_90d=silent,
        baseline_buyers=baseline_buyers, silent_baseline_customers=silent_before, silent_baseline_buyers=silent_buyers,
    )


def test_tier_summary_runs_every_play_and_adds_them_up() -> None:
    book = P.default_playbook()
    profiles = {"active": _profile("active", 2_000, 150.0, baseline_buyers=200),
                "high_value": _profile("high_value", 500, 400.0, silent=40, baseline_buyers=300,
                                       silent_before=50, silent_buyers=5)}
    assert profiles["active"].baseline_rate == pytest.approx(0.1)
    summary = P.tier_summary(book, profiles, "active")
    assert [r.play.id for r in summary.plays] == [p.id for p in book.group("active").plays]
    koc = next(r for r in summary.plays if r.play.id == "koc_partner")
    assert koc.audience == 200  # top 10% of 2,000 members
    c, a = koc.play.calculator, book.assumptions
    assert (a.gross_margin, a.holdout_share) == (0.5, 0.1)  # the shipped assumptions
    assert koc.economics == P.campaign_economics(200, c.response_rate, 150.0, c.incentive, c.redemption_rate,
                                                 c.points_per_responder, c.contact_cost, c.aov_multiplier,
                                                 baseline_rate=0.1, gross_margin=0.5, holdout_share=0.1)
    # Hand check of the KOC play: 20 held out, 180 contacted; 30% → 54 partners selling, 10% would anyway →
    # 36 incremental × ¥150 × 2 = ¥10,800, × 50% margin = ¥5,400; commission 54 × ¥30 = ¥1,620,
    # training 180 × ¥1 = ¥180 → cost ¥1,800, net ¥3,600, incremental ROI 200% (it was "800%" counting every buyer).
    assert koc.economics.incremental_revenue == pytest.approx(10_800)
    assert koc.economics.total_cost == pytest.approx(1_800) and koc.economics.roi == pytest.approx(2.0)
    # The silent-3-months play is measured against silent customers' own baseline (5 of 50), not the tier's (60%).
    hv = P.tier_summary(book, profiles, "high_value")
    silent = next(r for r in hv.plays if r.play.id == "silent_3m_winback")
    assert silent.economics.baseline_rate == pytest.approx(0.1)
    assert next(r for r in hv.plays if r.play.id == "vip_service").economics.baseline_rate == pytest.approx(0.6)
    assert summary.total.total_cost == pytest.approx(sum(r.economics.total_cost for r in summary.plays))
    assert summary.total.incremental_revenue == pytest.approx(sum(r.economics.incremental_revenue for r in summary.plays))
    # The silent-3-months play reaches the former high-value customers, not the tier.
    hv = P.tier_summary(book, profiles, "high_value")
    assert next(r for r in hv.plays if r.play.id == "silent_3m_winback").audience == 40
    assert next(r for r in hv.plays if r.play.id == "vip_service").audience == 500
    # A single profile works too; a missing one is an empty tier.
    assert P.tier_summary(book, profiles["active"], "active").total == summary.total
    assert P.tier_summary(book, {}, "dormant").total.audience == 0


def test_on_the_sample_store_no_play_shows_an_unflagged_roi_beyond_what_campaigns_achieve(
    sample_workspace_file, tmp_path
) -> None:
    import shutil

    db = tmp_path / "sample.duckdb"
    shutil.copyfile(sample_workspace_file, db)
    ws = Workspace(db)
    try:
        book = P.load_playbook(ws, 1)
        for scheme in ("plan", "rfm"):
            profiles = P.all_tier_profiles(ws, 1, scheme)
            for group in book.groups_for(scheme):
                for result in P.tier_summary(book, profiles, group.key).plays:
                    e = result.economics
                    if e.roi is not None and e.roi > P.PLAUSIBLE.max_roi:
                        assert "roi_high" in e.flags, (group.key, result.play.id)
                    if e.lift > P.PLAUSIBLE.max_lift:
                        assert "lift_high" in e.flags, (group.key, result.play.id)
        profiles = P.all_tier_profiles(ws, 1, "plan")
    finally:
        ws.close()
    new = profiles["new"]
    assert new.members_4_weeks_ago > 1000 and 0 < new.baseline_rate < 1
    starter = next(r for r in P.tier_summary(book, profiles, "new").plays if r.play.id == "starter_list")
    e = starter.economics
    counted_every_buyer = (e.gross_revenue - e.total_cost) / e.total_cost  # what the page used to show
    assert counted_every_buyer > 300  # 30,000% and more
    assert e.roi is not None and e.roi <= P.PLAUSIBLE.max_roi
    assert e.baseline_rate == pytest.approx(new.baseline_rate)


def test_roi_is_written_as_lib_metrics_defines_it() -> None:
    from lib.metrics import metric

    assert P.ROI_FORMAT_KIND == metric("roi").format_kind == "percent"
    assert dict(P.PLAYBOOK_COLUMNS)["roi"] == dict(P.TIER_COLUMNS)["roi"] == "percent"
    from lib import formatting

    assert formatting.by_kind(10.443, P.ROI_FORMAT_KIND) == "1,044.3%"
    assert formatting.by_kind(None, "percent") == "—" and formatting.by_kind(float("nan"), "money") == "—"


def test_campaign_assumptions_are_edited_validated_saved_and_reset(ws: Workspace) -> None:
    ds = _dataset(ws)
    book = P.load_playbook(ws, ds)
    assert book.assumptions == P.CampaignAssumptions(0.5, 0.1)
    edited = P.update_assumptions(book, gross_margin=0.35, holdout_share=0.2)
    assert edited.to_dict() != P.default_playbook().to_dict()
    P.save_playbook(ws, ds, edited)
    assert P.load_playbook(ws, ds).assumptions == P.CampaignAssumptions(0.35, 0.2)
    for bad in ({"gross_margin": 1.5}, {"holdout_share": 1.0}, {"holdout_share": "x"}, {"margin": 0.3}):
        with pytest.raises(P.PlaybookError) as err:
            P.update_assumptions(book, **bad)
        assert err.value.messages("en") and CJK.search(" ".join(err.value.messages("zh")))
    # Saved values that cannot be used fall back to the defaults, one by one.
    assert P.playbook_from_dict({"assumptions": {"gross_margin": 7, "holdout_share": 0.3}}).assumptions == (
        P.CampaignAssumptions(0.5, 0.3))
    assert P.reset_playbook(ws, ds).assumptions == P.CampaignAssumptions(0.5, 0.1)


# ---------------------------------------------------------------------------------------
# When
# ---------------------------------------------------------------------------------------


def test_play_weeks_come_from_the_timeline_once_a_plan_exists() -> None:
    book = P.default_playbook()
    defaults = P.play_weeks(book)
    assert defaults["dormant"]["dormant_coupon"] == P.PlayWeeks(9, 12, "default")
    assert defaults["dormant"]["dormant_coupon"].text("en") == "W9–W12"
    assert defaults["dormant"]["dormant_coupon"].text("zh") == "第9–12周"

    tasks = timeline.default_plan("zh")
    tasks = [replace(t, start_week=10, end_week=13) if t.id == "C3" else t for t in tasks]
    tasks.append(timeline.Task(id="X1", name="新人直播", phase="operation", tier="new", start_week=3, end_week=4))
    weeks = P.play_weeks(book, tasks)
    assert weeks["dormant"]["upgrade_news"] == P.PlayWeeks(10, 13, "timeline", ("C3",))
    assert weeks["new"]["starter_list"] == P.PlayWeeks(3, 8, "timeline", ("C1", "X1"))  # the span of both tasks
    assert weeks["at_risk"]["dormant_coupon"].start == 10  # segments follow their plan tier
    assert weeks["lapsing"]["silent_30d_recall"].source == "default"  # the plan has no lapsing task
    assert weeks["high_value"]["vip_service"] == P.PlayWeeks(6, 12, "timeline", ("C4",))


def test_plan_tasks_picks_the_named_or_latest_saved_plan(ws: Workspace) -> None:
    from datetime import datetime

    ds = _dataset(ws)
    assert P.plan_tasks(ws, ds) is None
    timeline.save_plan(ws, ds, "Q1", timeline.default_plan("en"), now=datetime(2024, 1, 1))
    late = [replace(t, end_week=13) if t.id == "C1" else t for t in timeline.default_plan("en")]
    timeline.save_plan(ws, ds, "Q2", late, now=datetime(2024, 4, 1))
    tasks, name = P.plan_tasks(ws, ds)
    assert name == "Q2" and next(t for t in tasks if t.id == "C1").end_week == 13
    assert P.plan_tasks(ws, ds, "Q1")[1] == "Q1"


# ---------------------------------------------------------------------------------------
# The workbook
# ---------------------------------------------------------------------------------------


def _no_formulas(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert not re.search(r"<f[\s>/]", zf.read(name).decode("utf-8")), name


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_playbook_workbook_opens_has_every_sheet_and_no_formula(ws: Workspace, lang: str) -> None:
    rows = [*HAND_MADE, ("=HYPERLINK(\"http://x\",\"c\")", 1, 30), ("张三", 2, 40), ("+86 138", 50, 20)]
    ds = _insert(ws, rows)
    book = P.update_play(P.load_playbook(ws, ds), "new", "new_user_coupon", response_rate=0.33)
    book = P.update_assumptions(book, gross_margin=0.42, holdout_share=0.15)
    P.save_playbook(ws, ds, book)
    timeline.save_plan(ws, ds, "季度计划", timeline.default_plan(lang))
    data = P.playbook_workbook(ws, ds, lang, S.SegmentSettings(), as_of=AS_OF)
    _no_formulas(data)
    wb = load_workbook(io.BytesIO(data))
    tiers = [S.tier_label(k, lang) for k in TIER_ORDER]
    expected = (["About", "Playbook", "Tiers"] if lang == "en" else ["说明", "运营手册", "分层汇总"]) + tiers
    assert wb.sheetnames == expected

    about = {r[0]: r[1] for r in wb[wb.sheetnames[0]].iter_rows(values_only=True) if r and r[0]}
    assert "手工店" in about.values() and "2024-06-30" in about.values()
    assert any("季度计划" in str(v) for v in about.values())  # weeks from the saved timeline plan
    assert any("57" in str(v) for v in about.values())  # the recall cap is stated
    assert about[P.field_label("gross_margin", lang)] == "42.0%"  # the saved assumptions, stated
    assert about[P.field_label("holdout_share", lang)] == "15.0%"
    assert "1,000%" in about[t("playbooks.about.bounds", lang)]

    sheet = wb[wb.sheetnames[1]]
    header = [c.value for c in sheet[1]]
    table = [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    book = P.load_playbook(ws, ds)
    assert len(table) == sum(len(book.group(k).plays) for k in TIER_ORDER)
    play_col, rate_col = P.column_label("play", lang), P.column_label("response_rate", lang)
    coupon = next(r for r in table if r[play_col] == book.play("new", "new_user_coupon").name.get(lang))
    assert coupon[rate_col] == pytest.approx(0.33)  # the dataset's edit, as a number
    assert isinstance(coupon[P.column_label("total_cost", lang)], float)
    # Incremental over the new tier's baseline (new 28 days ago: A2, who ordered again, and "+86 138", who did
    # not → 50%): a 33% response adds nothing, and the row says why; the gross figure stays, under its own name.
    assert coupon[P.column_label("baseline_rate", lang)] == pytest.approx(0.5)
    assert coupon[P.column_label("incremental_revenue", lang)] == 0
    assert coupon[P.column_label("gross_revenue", lang)] > 0
    assert coupon[P.column_label("roi", lang)] == pytest.approx(-1.0)
    assert "50.0%" in coupon[P.column_label("warnings", lang)] and "33.0%" in coupon[P.column_label("warnings", lang)]
    assert sheet.cell(row=2, column=header.index(P.column_label("roi", lang)) + 1).number_format == "0.0%"
    if lang == "zh":
        assert any(r[P.column_label("need", lang)] == "建立信任，促成首单与二单" for r in table)
        assert coupon[P.column_label("weeks", lang)] == "第5–8周"

    tier_rows = list(wb[wb.sheetnames[2]].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in tier_rows] == tiers and [r[1] for r in tier_rows] == [3, 2, 2, 3, 1]

    ids = []
    for name in tiers:
        member_sheet = wb[name]
        for row in member_sheet.iter_rows(min_row=2):
            ids.append(row[0].value)
            if isinstance(row[0].value, str) and row[0].value.startswith(("=", "+")):
                assert row[0].quotePrefix
    assert len(ids) == 11 and "张三" in ids and '=HYPERLINK("http://x","c")' in ids and "+86 138" in ids


def test_workbook_defaults_and_the_cli_helper(ws: Workspace, tmp_path) -> None:
    ds = _insert(ws, HAND_MADE)
    data = P.playbook_workbook(ws, ds, "en", scheme="rfm")
    _no_formulas(data)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames[:3] == ["About", "Playbook", "Segments"]
    assert wb.sheetnames[3:] == [S.segment_label(k, "en") for k in SEGMENT_ORDER]  # empty segments keep their sheet
    about = " ".join(str(r[1]) for r in wb["About"].iter_rows(values_only=True) if r and len(r) > 1)
    assert "default weeks" in about
    out = P.write_playbook_export(ws, ds, tmp_path / "out" / "playbook.xlsx", lang="zh")
    assert out.exists() and load_workbook(out).sheetnames[0] == "说明"
    with pytest.raises(ValueError):
        P.write_playbook_export(ws, ds, tmp_path / "playbook.csv")


def test_playbook_table_is_available_to_the_page_with_stable_keys() -> None:
    book = P.default_playbook()
    profiles = {k: _profile(k, 100, 100.0) for k in TIER_ORDER}
    frame = P.playbook_table(book, profiles, "en")
    assert list(frame.columns) == [k for k, _ in P.PLAYBOOK_COLUMNS]
    assert len(frame) == sum(len(book.group(k).plays) for k in TIER_ORDER)
    assert not frame["over_cost_cap"].astype(bool).any()
    assert math.isclose(frame.loc[frame["play"] == "Dormant-user coupon (limited time)", "cost_per_responder"].iloc[0], 19.0)
    tiers = P.tier_table(book, profiles, "zh", localised=True)
    assert list(tiers.columns)[0] == "分层/分群" and len(tiers) == 5


def test_group_values_are_each_tiers_predicted_value_and_contact_first_list(sample_workspace_file, tmp_path) -> None:
    """All tiers at once (what the page caches) give exactly what lib.value.prediction gives tier by tier."""
    import shutil

    from lib import value

    path = tmp_path / "sample.duckdb"
    shutil.copyfile(sample_workspace_file, path)
    ws = Workspace(path)
    try:
        dataset = ws.list_datasets()[0]
        fit = value.predict(ws, dataset.dataset_id, dataset.last_order)
        settings = S.load_settings(ws, dataset.dataset_id)
        members = S.segment_customers(ws, dataset.dataset_id, settings, fit.as_of)
        for scheme, column in (("plan", "tier"), ("rfm", "segment")):
            values = P.group_values(ws, dataset.dataset_id, settings, scheme, fit=fit)
            present = sorted(set(members[column].astype(str)))
            assert sorted(values) == present, "every group with members, and only those"
            for group in present:
                in_group = members.loc[members[column].astype(str) == group, ["customer_id", column]]
                expected = value.tier_values(fit, in_group, column).iloc[0]
                got = values[group].totals
                for key in ("customers", "expected_alive", "predicted_value", "value_at_stake", "at_risk"):
                    assert got[key] == pytest.approx(float(expected[key])), (scheme, group, key)
                first = value.contact_first(fit, in_group["customer_id"], limit=P.CONTACT_FIRST)
                assert list(values[group].contact_first["customer_id"]) == list(first["customer_id"]), (scheme, group)
                assert list(values[group].contact_first.columns) == list(first.columns)
        with pytest.raises(ValueError):
            P.group_values(ws, dataset.dataset_id, settings, "tiers", fit=fit)
    finally:
        ws.close()
