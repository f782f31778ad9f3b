"""KPI definitions against hand-computed cases."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from lib import kpis


def _load(ws, orders: list[tuple], spend: list[tuple] = ()) -> int:
    frame = pd.DataFrame(orders, columns=["order_id", "customer_id", "order_ts", "amount", "is_refund"])
    frame["order_ts"] = pd.to_datetime(frame["order_ts"], format="mixed")
    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, "t")
        frame.insert(0, "dataset_id", ds)
        cur.register("f", frame)
        cur.execute("INSERT INTO orders SELECT dataset_id, order_id, customer_id, order_ts, amount, NULL, NULL, NULL, "
                    "is_refund FROM f")
        if spend:
            s = pd.DataFrame(spend, columns=["period_start", "channel", "spend"])
            s.insert(0, "dataset_id", ds)
            cur.register("s", s)
            cur.execute("INSERT INTO channel_spend SELECT dataset_id, period_start::DATE, channel, spend, "
                        "NULL, NULL, NULL, NULL, NULL FROM s")
    return ds


def test_period_arithmetic():
    q = kpis.quarter_of(date(2026, 8, 15))
    assert (q.start, q.end) == (date(2026, 7, 1), date(2026, 9, 30))
    assert q.previous() == kpis.Period(date(2026, 4, 1), date(2026, 6, 30)) or q.previous().days == q.days
    assert kpis.latest_full_quarter(date(2024, 10, 7), date(2026, 10, 4)) == kpis.Period(date(2026, 7, 1), date(2026, 9, 30))
    assert kpis.latest_full_quarter(date(1997, 1, 1), date(1998, 6, 30)) == kpis.Period(date(1998, 4, 1), date(1998, 6, 30))
    assert kpis.latest_full_quarter(date(2026, 9, 1), date(2026, 10, 4)) is None
    assert kpis.default_period(date(2026, 9, 20), date(2026, 10, 4)) == kpis.Period(date(2026, 9, 20), date(2026, 10, 4))


def test_kpis_hand_computed(ws):
    ds = _load(ws, [
        ("1", "a", "2024-01-05", 100.0, False),   # a: first order before the period
        ("2", "a", "2024-02-03", 50.0, False),
        ("3", "a", "2024-02-20", 70.0, False),    # a: 2 orders in period → repeater
        ("4", "b", "2024-02-10", 200.0, False),   # b: new in period
        ("5", "b", "2024-02-12", -200.0, True),   # b's refund: not a purchase
        ("6", None, "2024-02-15", 30.0, False),   # guest: GMV and orders, not customers
        ("7", "c", "2024-03-02", 999.0, False),   # after the period
    ], spend=[("2024-02-05", "抖音", 400.0), ("2024-02-12", "天猫", 100.0), ("2024-03-04", "抖音", 1000.0)])
    k = kpis.compute_kpis(ws, ds, kpis.Period(date(2024, 2, 1), date(2024, 2, 29)))
    assert k.gmv == pytest.approx(350.0)
    assert k.orders == 4
    assert k.customers == 2
    assert k.new_customers == 1
    assert k.aov == pytest.approx(87.5)
    assert k.repurchase_rate == pytest.approx(0.5)
    assert k.spend == pytest.approx(500.0)
    assert k.cac == pytest.approx(500.0)
    assert k.roas == pytest.approx(0.7)
    assert k.refunds == pytest.approx(200.0)
    # LTV: trailing 12 months to 2024-02-29, identified purchases: a×3 (220), b×1 (200) → AOV 105, 2 orders/customer
    assert k.ltv == pytest.approx(210.0)
    assert k.ltv_cac == pytest.approx(0.42)


def test_without_channel_data_cost_kpis_are_absent(ws):
    ds = _load(ws, [("1", "a", "2024-01-05", 100.0, False)])
    k = kpis.compute_kpis(ws, ds, kpis.Period(date(2024, 1, 1), date(2024, 1, 31)))
    assert k.spend is None and k.cac is None and k.roas is None and k.ltv_cac is None
    assert k.new_customers == 1


def test_compare_uses_points_for_repurchase():
    a = kpis.KpiSet(110, 10, 5, 2, 11, 0.30, 100, 50, 1.1, 3, 0, 150)
    b = kpis.KpiSet(100, 10, 5, 0, 10, 0.25, 100, None, 1.0, None, 0, 150)
    d = kpis.compare(a, b)
    assert d["gmv"] == pytest.approx(0.10)
    assert d["repurchase_rate"] == pytest.approx(0.05)
    assert d["new_customers"] is None and d["cac"] is None


def test_weekly_trend_and_channel_mix(ws):
    ds = _load(ws, [
        ("1", "a", "2024-01-01 10:00", 100.0, False),
        ("2", "b", "2024-01-03", 50.0, False),
        ("3", "a", "2024-01-09", 25.0, False),
    ], spend=[("2024-01-01", "抖音", 40.0), ("2024-01-08", "抖音", 60.0)])
    weekly = kpis.weekly_trend(ws, ds)
    assert list(weekly["gmv"]) == [150.0, 25.0]
    assert list(weekly["new_customers"]) == [2, 0]
    assert list(weekly["spend"]) == [40.0, 60.0]
    mix = kpis.channel_mix(ws, ds, kpis.Period(date(2024, 1, 1), date(2024, 1, 14)))
    assert set(mix["channel"]) == {"—", "抖音"}
    assert mix["gmv_share"].sum() == pytest.approx(1.0)
