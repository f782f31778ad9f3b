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
        cur.execute("INSERT INTO orders (dataset_id, order_id, customer_id, order_ts, amount, quantity, channel, status, is_refund) SELECT dataset_id, order_id, customer_id, order_ts, amount, NULL, NULL, NULL, "
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
        ("3", "a", "2024-02-20", 70.0, False),    # a: 2 orders in period → repeat buyer, back from the base
        ("4", "b", "2024-02-10", 200.0, False),   # b: cancelled in full by …
        ("5", "b", "2024-02-12", -200.0, True),   # … this refund of exactly its amount: b never ordered
        ("6", None, "2024-02-15", 30.0, False),   # guest: GMV, net sales and orders, not customers
        ("8", "d", "2024-02-14", 80.0, False),    # d: new in the period …
        ("9", "d", "2024-02-16", -30.0, True),    # … with a partial refund tied to no order: d's net spend is 50
        ("7", "c", "2024-03-02", 999.0, False),   # after the period
    ], spend=[("2024-02-05", "抖音", 400.0), ("2024-02-12", "天猫", 100.0), ("2024-03-04", "抖音", 1000.0)])
    k = kpis.compute_kpis(ws, ds, kpis.Period(date(2024, 2, 1), date(2024, 2, 29)))
    assert k.gmv == pytest.approx(50 + 70 + 200 + 30 + 80)
    assert k.net_sales == pytest.approx(50 + 70 + 0 + 30 + 80 - 30)
    assert k.refunds == pytest.approx(200 + 30)
    assert k.gmv - k.refunds == pytest.approx(k.net_sales)
    assert k.orders == 4  # a×2, the guest, d; b's cancelled order is not an order
    assert k.customers == 2  # a and d
    assert k.new_customers == 1  # d (b's only purchase was cancelled)
    assert k.aov == pytest.approx(200 / 4)
    assert k.repeat_rate == pytest.approx(0.5)  # a of {a, d}
    assert k.repurchase_rate == pytest.approx(1.0)  # the base before February is {a}, and a came back
    assert k.spend == pytest.approx(500.0)
    assert k.cac == pytest.approx(500.0)
    assert k.roas == pytest.approx(200 / 500)
    assert k.roi == pytest.approx((200 - 500) / 500)
    # LTV: 365 days to 2024-02-29, identified customers with an order: a (3 orders, 220) and d (1 order, 50 net)
    assert k.ltv == pytest.approx((220 + 50) / 2)
    assert k.ltv_cac == pytest.approx(135 / 500)


def test_a_customer_whose_only_order_was_cancelled_is_no_customer(ws):
    ds = _load(ws, [
        ("1", "x", "2024-02-10 09:00", 168_472.0, False),
        ("C2", "x", "2024-02-10 09:05", -168_472.0, True),
        ("3", "x", "2024-02-11", 2.95, False),
        ("4", "y", "2024-02-12", 0.0, False),     # an invoice that nets to zero is not an order
    ])
    k = kpis.compute_kpis(ws, ds, kpis.Period(date(2024, 2, 1), date(2024, 2, 29)))
    assert (k.orders, k.customers, k.new_customers) == (1, 1, 1)
    assert k.net_sales == pytest.approx(2.95) and k.gmv == pytest.approx(168_474.95)
    assert k.aov == pytest.approx(2.95)


def test_without_channel_data_cost_kpis_are_absent(ws):
    ds = _load(ws, [("1", "a", "2024-01-05", 100.0, False)])
    k = kpis.compute_kpis(ws, ds, kpis.Period(date(2024, 1, 1), date(2024, 1, 31)))
    assert k.spend is None and k.cac is None and k.roas is None and k.ltv_cac is None
    assert k.new_customers == 1


def test_compare_uses_points_for_repurchase():
    common = dict(refunds=0.0, orders=10, customers=5, aov=11.0, spend=100.0, roi=0.1, ltv=150.0)
    a = kpis.KpiSet(gmv=110, net_sales=110, new_customers=2, repeat_rate=0.4, repurchase_rate=0.30, cac=50,
                    roas=1.1, ltv_cac=3, **common)
    b = kpis.KpiSet(gmv=100, net_sales=100, new_customers=0, repeat_rate=0.5, repurchase_rate=0.25, cac=None,
                    roas=1.0, ltv_cac=None, **common)
    d = kpis.compare(a, b)
    assert d["gmv"] == pytest.approx(0.10)
    assert d["repurchase_rate"] == pytest.approx(0.05)
    assert d["repeat_rate"] == pytest.approx(-0.1)  # both rates change in points
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


def test_weeks_the_data_covers_only_in_part_are_marked_and_drawn_hollow(ws):
    import json

    from lib.charts import weekly_trend_chart
    from lib.i18n import Translator

    ds = _load(ws, [
        ("1", "a", "2024-01-04 10:00", 100.0, False),  # Thursday: the first week has 4 days of data
        ("2", "b", "2024-01-10", 50.0, False),
        ("3", "a", "2024-01-16", 25.0, False),  # Tuesday: the last week has 2
    ])
    weekly = kpis.weekly_trend(ws, ds)
    assert list(weekly["days_covered"]) == [4, 7, 2]
    assert list(weekly["partial"]) == [True, False, True]
    within = kpis.weekly_trend(ws, ds, kpis.Period(date(2024, 1, 10), date(2024, 1, 16)))
    assert list(within["days_covered"]) == [5, 2]  # the period cuts the middle week too
    spec = weekly_trend_chart(weekly, "net_sales", Translator("zh")).to_dict()
    text = json.dumps(spec, ensure_ascii=False)
    assert "不完整周：数据只覆盖 7 天中的 4 天" in text and "不完整周（" in text
    hollow = [layer for layer in spec["layer"] if layer.get("mark", {}).get("type") == "point"]
    assert hollow and hollow[0]["mark"]["filled"] is False


def test_comparison_periods_and_how_much_of_them_the_data_covers():
    q = kpis.Period(date(2024, 1, 1), date(2024, 3, 31))
    assert q.year_before() == kpis.Period(date(2023, 1, 1), date(2023, 3, 31))
    assert kpis.Period(date(2024, 2, 29), date(2024, 2, 29)).year_before().start == date(2023, 2, 28)
    previous = q.previous()
    assert previous.coverage(date(2020, 1, 1), date(2024, 3, 31)) == 1.0
    # Data starting 9 days before the previous period ends: 9 of its 91 days are covered.
    assert previous.coverage(date(2023, 12, 23), date(2024, 3, 31)) == pytest.approx(9 / previous.days)
    assert previous.coverage(date(2024, 1, 1), date(2024, 3, 31)) == 0.0


def test_parquet_orders_on_an_engine_give_the_workspace_numbers_without_spend(ws, tmp_path):
    """The hand-computed case read in place from a Parquet file by a private DuckDB (what ``cli kpis --parquet`` runs)."""
    from lib import sql_engine
    from lib.importing.inplace import ParquetOrders

    rows = [
        ("1", "a", "2024-01-05", 100.0, False), ("2", "a", "2024-02-03", 50.0, False),
        ("3", "a", "2024-02-20", 70.0, False), ("4", "b", "2024-02-10", 200.0, False),
        ("5", "b", "2024-02-12", -200.0, True), ("6", None, "2024-02-15", 30.0, False),
        ("8", "d", "2024-02-14", 80.0, False), ("9", "d", "2024-02-16", -30.0, True),
        ("7", "c", "2024-03-02", 999.0, False),
    ]
    ds = _load(ws, rows, spend=[("2024-02-05", "抖音", 400.0)])
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_ts", "amount", "is_refund"])
    frame["order_ts"] = pd.to_datetime(frame["order_ts"])
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path)
    orders = ParquetOrders(str(path), {"order_id": "order_id", "customer_id": "customer_id",
                                       "order_time": "order_ts", "amount": "amount", "is_refund": "is_refund"})
    february = kpis.Period(date(2024, 2, 1), date(2024, 2, 29))
    engine = sql_engine.DuckDBEngine()
    try:
        k = kpis.compute_kpis(engine, orders, february)
        span = kpis.data_range(engine, orders)
        weekly = kpis.weekly_trend(engine, orders, february)
        mix = kpis.channel_mix(engine, orders, february)
    finally:
        engine.close()
    in_workspace = kpis.compute_kpis(ws, ds, february)
    assert (k.gmv, k.net_sales, k.orders, k.customers, k.new_customers) == (430.0, 200.0, 4, 2, 1)
    assert (k.repeat_rate, k.repurchase_rate, k.ltv) == (0.5, 1.0, 135.0)
    assert {f: getattr(k, f) for f in ("gmv", "net_sales", "orders", "aov", "ltv", "repurchase_rate")} == \
        {f: getattr(in_workspace, f) for f in ("gmv", "net_sales", "orders", "aov", "ltv", "repurchase_rate")}
    assert in_workspace.spend == 400.0 and k.spend is None and k.cac is None and k.roas is None  # no spend here
    assert span == kpis.data_range(ws, ds) == (date(2024, 1, 5), date(2024, 3, 2))
    assert weekly["gmv"].tolist() == kpis.weekly_trend(ws, ds, february)["gmv"].tolist()
    assert weekly["spend"].isna().all() and mix["spend"].isna().all()
    assert mix["channel"].tolist() == ["—"] and mix["orders"].tolist() == [4]
