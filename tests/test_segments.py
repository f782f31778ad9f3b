"""Segmentation engine: band edges, tiers, scores, grid, migration, weekly sizes and lifetimes equality."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import duckdb
import pandas as pd
import pytest

from lib import segments as S
from lib.palette import SEGMENT_ORDER, TIER_ORDER
from lib.workspace import Workspace

CDNOW_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow"
CDNOW_FILE = CDNOW_DIR / "CDNOW_master.txt"
CDNOW_REFERENCE = CDNOW_DIR / "lifetimes_reference.csv"
AS_OF = date(2024, 6, 30)


def _orders_frame(dataset_id: int, rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, day or timestamp string, amount[, is_refund])."""
    records = []
    for i, row in enumerate(rows):
        customer, when, amount = row[0], row[1], row[2]
        is_refund = bool(row[3]) if len(row) > 3 else False
        records.append(
            {
                "dataset_id": dataset_id,
                "order_id": f"O{i + 1}",
                "customer_id": customer,
                "order_ts": pd.Timestamp(when),
                "amount": float(amount),
                "quantity": 1.0,
                "channel": None,
                "status": None,
                "is_refund": is_refund,
            }
        )
    df = pd.DataFrame(
        records,
        columns=["dataset_id", "order_id", "customer_id", "order_ts", "amount", "quantity", "channel", "status", "is_refund"],
    )
    df["order_ts"] = pd.to_datetime(df["order_ts"])
    return df


def make_dataset(ws: Workspace, rows: list[tuple], name: str = "test") -> int:
    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, name)
        df = _orders_frame(ds, rows)
        cur.register("df", df)
        cur.execute(
            "INSERT INTO orders (dataset_id, order_id, customer_id, order_ts, amount, quantity, channel, status, is_refund) SELECT dataset_id, order_id, customer_id, order_ts, amount, quantity, "
            "CAST(channel AS VARCHAR), CAST(status AS VARCHAR), is_refund FROM df"
        )
        cur.unregister("df")
    return ds


def day(days_before: int) -> str:
    return (AS_OF - timedelta(days=days_before)).isoformat()


def by_id(df: pd.DataFrame) -> pd.DataFrame:
    return df.set_index("customer_id").sort_index()


# ---------------------------------------------------------------------------------------
# lifetimes compatibility
# ---------------------------------------------------------------------------------------


def test_toy_check_from_the_guide(ws: Workspace) -> None:
    ds = make_dataset(
        ws,
        [
            ("A", "2024-01-01 09:00", 10), ("A", "2024-01-01 18:30", 5), ("A", "2024-01-31", 20), ("A", "2024-03-01", 30),
            ("B", "2024-02-15", 50),
            ("C", "2024-01-10 08:00", 7), ("C", "2024-01-10 20:00", 8),
            ("A", "2024-04-02", 999),  # after the as-of date: ignored
        ],
    )
    summary = by_id(S.customer_summary(ws, ds, date(2024, 3, 31)))
    assert summary.loc["A", ["frequency", "recency", "T", "monetary_value"]].tolist() == [2, 60, 90, 25.0]
    assert summary.loc["B", ["frequency", "recency", "T", "monetary_value"]].tolist() == [0, 0, 45, 0]
    assert summary.loc["C", ["frequency", "recency", "T", "monetary_value"]].tolist() == [0, 0, 81, 0]
    # The plan's R is days since last order, not lifetimes' recency.
    assert summary.loc["A", "days_since_last_order"] == 30
    assert summary.loc["A", "orders"] == 4 and summary.loc["A", "purchase_days"] == 3
    assert summary.loc["C", "orders"] == 2 and summary.loc["C", "purchase_days"] == 1
    assert summary.loc["A", "revenue"] == pytest.approx(65.0)


def load_cdnow(ws: Workspace) -> int:
    raw = pd.read_csv(CDNOW_FILE, sep=r"\s+", dtype={"customer_id": str, "date": str})
    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, "cdnow")
        df = pd.DataFrame(
            {
                "dataset_id": ds,
                "order_id": (np.arange(len(raw)) + 1).astype(str),
                "customer_id": raw["customer_id"],
                "order_ts": pd.to_datetime(raw["date"], format="%Y%m%d"),
                "amount": raw["dollar_value"].astype(float),
                "quantity": raw["number_of_cds"].astype(float),
                "is_refund": False,
            }
        )
        cur.register("df", df)
        cur.execute(
            "INSERT INTO orders (dataset_id, order_id, customer_id, order_ts, amount, quantity, channel, status, is_refund) SELECT dataset_id, order_id, customer_id, order_ts, amount, quantity, "
            "NULL, NULL, is_refund FROM df"
        )
    return ds


def lifetimes_summary(transactions: pd.DataFrame, end: date) -> pd.DataFrame:
    """lifetimes' ``summary_data_from_transaction_data(..., freq="D")`` as the guide defines it, in pandas."""
    tx = transactions[transactions["date"] <= pd.Timestamp(end)]
    days = tx.groupby(["customer_id", "date"], as_index=False)["amount"].sum()
    grouped = days.groupby("customer_id")["date"]
    out = pd.DataFrame({"first": grouped.min(), "last": grouped.max(), "periods": grouped.size()})
    repeat = days.merge(out["first"], left_on="customer_id", right_index=True)
    repeat = repeat[repeat["date"] > repeat["first"]].groupby("customer_id")["amount"].mean()
    return pd.DataFrame({
        "frequency": (out["periods"] - 1).astype(float),
        "recency": (out["last"] - out["first"]).dt.days.astype(float),
        "T": (pd.Timestamp(end) - out["first"]).dt.days.astype(float),
        "monetary_value": repeat.reindex(out.index).fillna(0.0),
    }).reset_index()


def test_cdnow_matches_lifetimes_exactly(ws: Workspace) -> None:
    """Our summary is lifetimes' own, on the orders: CDNOW's 80 $0.00 transactions are not orders.

    The pandas rendering of lifetimes' definition first reproduces lifetimes' output on
    every transaction exactly; our engine then equals it on the transactions that are
    orders, and equals lifetimes' own file for every customer without a $0.00 row.
    """
    if not (CDNOW_FILE.exists() and CDNOW_REFERENCE.exists()):
        pytest.skip(f"CDNOW reference data not found in {CDNOW_DIR}")
    end = date(1998, 6, 30)
    raw = pd.read_csv(CDNOW_FILE, sep=r"\s+", dtype={"customer_id": str, "date": str})
    tx = pd.DataFrame({"customer_id": raw["customer_id"], "date": pd.to_datetime(raw["date"], format="%Y%m%d"),
                       "amount": raw["dollar_value"].astype(float)})
    ref = pd.read_csv(CDNOW_REFERENCE, dtype={"customer_id": str}).set_index("customer_id").sort_index()
    by_definition = lifetimes_summary(tx, end).set_index("customer_id").sort_index()
    pd.testing.assert_frame_equal(by_definition[ref.columns], ref, check_exact=False, rtol=1e-12)

    ds = load_cdnow(ws)
    ours = S.customer_summary(ws, ds, end).set_index("customer_id").sort_index()
    expected = lifetimes_summary(tx[tx["amount"] > 0], end).set_index("customer_id").sort_index()
    assert len(ours) == len(expected) == 23502  # 68 customers bought only $0.00 items
    for col in ("frequency", "recency", "T"):
        assert (ours[col] == expected[col]).all(), col
    np.testing.assert_allclose(ours["monetary_value"], expected["monetary_value"], rtol=1e-9, atol=0)
    untouched = sorted(set(ref.index) - set(tx.loc[tx["amount"] == 0, "customer_id"]))
    assert len(untouched) == 23570 - 80  # 80 customers have a $0.00 row
    pd.testing.assert_frame_equal(ours.loc[untouched, ref.columns], ref.loc[untouched], check_exact=False, rtol=1e-9)
    # One-time buyers: exactly 0, not a tiny number.
    assert (ours.loc[ours["frequency"] == 0, "monetary_value"] == 0).all()


# ---------------------------------------------------------------------------------------
# Bands, tags and tiers
# ---------------------------------------------------------------------------------------


def test_recency_band_edges_and_tiers(ws: Workspace) -> None:
    rows = []
    for d in (0, 30, 31, 90, 91):
        cid = f"R{d:03d}"
        rows += [(cid, day(400), 10), (cid, day(d), 10)]  # two orders: never "new"
    rows += [("NEW30", day(30), 10), ("NEW31", day(31), 10)]
    ds = make_dataset(ws, rows)
    out = by_id(S.segment_customers(ws, ds, S.SegmentSettings(), AS_OF))
    assert out.loc["R000", "days_since_last_order"] == 0
    assert out.loc[["R000", "R030", "R031", "R090", "R091"], "r_band"].tolist() == [
        "recent", "recent", "middle", "middle", "lapsed",
    ]
    assert out.loc[["R000", "R030", "R031", "R090", "R091"], "tier"].tolist() == [
        "active", "active", "lapsing", "lapsing", "dormant",
    ]
    # New = exactly one order so far and within the recent bound (30 days, inclusive).
    assert out.loc["NEW30", "tier"] == "new" and bool(out.loc["NEW30", "tag_active"])
    assert out.loc["NEW31", "tier"] == "lapsing" and not bool(out.loc["NEW31", "tag_new"])


def test_frequency_band_edges_and_window_edge(ws: Workspace) -> None:
    rows = []
    for n in (1, 2, 4, 5):
        rows += [(f"F{n}", day(i), 10) for i in range(n)]
    # An order 364 days before the as-of date is inside the 365-day window; 365 days before is not.
    rows += [("EDGE_IN", day(364), 10), ("EDGE_IN", day(0), 10)]
    rows += [("EDGE_OUT", day(365), 10), ("EDGE_OUT", day(0), 10)]
    ds = make_dataset(ws, rows)
    out = by_id(S.segment_customers(ws, ds, S.SegmentSettings(), AS_OF))
    assert out.loc[["F1", "F2", "F4", "F5"], "window_orders"].tolist() == [1, 2, 4, 5]
    assert out.loc[["F1", "F2", "F4", "F5"], "f_band"].tolist() == ["low", "mid", "mid", "high"]
    assert out.loc["EDGE_IN", "window_orders"] == 2
    assert out.loc["EDGE_OUT", "window_orders"] == 1 and out.loc["EDGE_OUT", "orders"] == 2


def test_high_value_precedence_and_typed_amounts(ws: Workspace) -> None:
    rows = [("VIP", day(i), 100) for i in range(5)]          # recent, 5 orders, 500 spend
    rows += [("RICH_FEW", day(i), 300) for i in range(4)]    # recent, F mid: only active
    rows += [("VIP_OLD", day(40 + i), 100) for i in range(5)]  # F and M high but not recent: lapsing
    rows += [("SMALL", day(i), 1) for i in range(6)]         # F high, M low
    ds = make_dataset(ws, rows)
    settings = S.SegmentSettings(
        thresholds=S.Thresholds(m_mode="amounts", m_high_min=500.0, m_mid_min=50.0)
    )
    out = by_id(S.segment_customers(ws, ds, settings, AS_OF))
    assert out.loc["VIP", "tier"] == "high_value"
    assert out.loc["VIP", "m_band"] == "high"  # 500 ≥ 500: the high bound is inclusive
    assert bool(out.loc["VIP", "tag_active"])  # tags overlap, the tier does not
    assert out.loc["RICH_FEW", "tier"] == "active"
    assert out.loc["VIP_OLD", "tier"] == "lapsing" and out.loc["VIP_OLD", "m_band"] == "high"
    assert out.loc["SMALL", "m_band"] == "low" and out.loc["SMALL", "tier"] == "active"


def test_m_tertiles_are_taken_among_window_buyers(ws: Workspace) -> None:
    rows = [(f"W{i}", day(10), amount) for i, amount in enumerate([10, 20, 30, 40, 50, 60, 70])]
    rows += [(f"OLD{i}", day(500), 1000) for i in range(20)]  # no purchase in the window
    ds = make_dataset(ws, rows)
    cuts = S.resolve_cuts(ws, ds, S.SegmentSettings(), AS_OF)
    # Linear-interpolated quantiles of [10..70]: 1/3 → 30, 2/3 → 50.
    assert cuts.m_mid_min == pytest.approx(30.0) and cuts.m_high_min == pytest.approx(50.0)
    out = by_id(S.segment_customers(ws, ds, S.SegmentSettings(), AS_OF))
    assert out.loc[["W0", "W1", "W2", "W4", "W6"], "m_band"].tolist() == ["low", "low", "mid", "high", "high"]
    assert (out.loc[out.index.str.startswith("OLD"), "m_band"] == "low").all()


def test_tiers_partition_customers_and_tags_overlap(ws: Workspace) -> None:
    rng = random.Random(7)
    rows = []
    for c in range(300):
        for _ in range(rng.randint(1, 7)):
            rows.append((f"C{c:04d}", day(rng.randint(0, 500)), rng.choice([9.9, 19.9, 99, 250])))
    ds = make_dataset(ws, rows)
    settings = S.SegmentSettings()
    customers = S.segment_customers(ws, ds, settings, AS_OF)
    summary = S.segment_summary(ws, ds, settings, AS_OF, by="plan")
    assert summary["group"].tolist() == list(TIER_ORDER)
    assert summary["customers"].sum() == len(customers) == 300
    assert summary["share_customers"].sum() == pytest.approx(1.0)
    assert summary["share_revenue"].sum() == pytest.approx(1.0)
    assert summary.set_index("group")["customers"].to_dict() == customers["tier"].value_counts().reindex(
        list(TIER_ORDER), fill_value=0
    ).to_dict()
    tags = S.tag_counts(ws, ds, settings, AS_OF).set_index("tag")["customers"]
    # active + lapsing + dormant cover everyone exactly once; new/high-value overlap with active.
    assert tags["active"] + tags["lapsing"] + tags["dormant"] == 300
    assert tags.sum() >= 300
    rfm = S.segment_summary(ws, ds, settings, AS_OF, by="rfm")
    assert rfm["group"].tolist() == list(SEGMENT_ORDER) and rfm["customers"].sum() == 300


def test_refunds_net_spend_and_guests_and_later_orders_are_ignored(ws: Workspace) -> None:
    ds = make_dataset(
        ws,
        [
            ("A", day(5), 100),
            ("A", day(4), -40, True),  # partial refund tied to no order: A's net spend is 60
            ("A", (AS_OF + timedelta(days=3)).isoformat(), 50),  # after the as-of date
            (None, day(1), 70),  # guest checkout
            ("B", day(20), 168_472),  # B's big order, cancelled the same day …
            ("B", day(20), -168_472, True),
            ("B", day(3), 2.95),  # … so B is a new customer with one order of ¥2.95
            ("C", day(10), 80),  # C's only order is cancelled in full: C is no customer
            ("C", day(9), -80, True),
            ("D", day(2), 0),  # an invoice that nets to zero is no order
        ],
    )
    out = by_id(S.segment_customers(ws, ds, S.SegmentSettings(), AS_OF))
    assert out.index.tolist() == ["A", "B"]
    assert out.loc["A", "orders"] == 1 and out.loc["A", "revenue"] == pytest.approx(60)
    assert out.loc["B", "orders"] == 1 and out.loc["B", "revenue"] == pytest.approx(2.95)
    assert out.loc["B", "aov"] == pytest.approx(2.95) and pd.Timestamp(out.loc["B", "first_order_date"]) == pd.Timestamp(day(3))
    assert (out["tier"] == "new").all() and not out["tag_high_value"].any()
    assert S.default_as_of(ws, ds) == AS_OF + timedelta(days=3)


def test_net_spend_at_or_below_zero_is_never_high_value(ws: Workspace) -> None:
    rows = [(f"H{i}", day(d), 500) for i in range(5) for d in (1, 5, 9, 13, 17)]  # five frequent big spenders
    rows += [(f"L{i}", day(2), 10) for i in range(10)]
    rows += [("Z", day(d), 500) for d in (1, 5, 9, 13, 17)] + [("Z", day(1), -2600, True)]  # refunds beyond spend
    ds = make_dataset(ws, rows)
    settings = S.SegmentSettings(thresholds=S.Thresholds(m_mode="amounts", m_high_min=-10_000.0, m_mid_min=-20_000.0))
    out = by_id(S.segment_customers(ws, ds, settings, AS_OF))
    assert out.loc["Z", "revenue"] == pytest.approx(-100) and out.loc["Z", "orders"] == 5
    assert out.loc["Z", "m_band"] == "high"  # a typed threshold below zero puts it in the high M band …
    assert not out.loc["Z", "tag_high_value"] and out.loc["Z", "tier"] != "high_value"  # … but never high-value
    assert out.loc[[f"H{i}" for i in range(5)], "tier"].eq("high_value").all()


# ---------------------------------------------------------------------------------------
# Scores and grid
# ---------------------------------------------------------------------------------------


def test_equal_values_get_equal_scores(ws: Workspace) -> None:
    ids = [f"T{i:02d}" for i in range(10)]
    rows = [(cid, day(3), 20) for cid in ids]
    rows += [(f"U{i:02d}", day(40 + i), 100 + i) for i in range(10)]  # distinct values spread over the scores
    random.Random(1).shuffle(rows)  # insertion order must not matter
    ds = make_dataset(ws, rows)
    first = by_id(S.segment_customers(ws, ds, S.SegmentSettings(), AS_OF))
    second = by_id(S.segment_customers(ws, ds, S.SegmentSettings(), AS_OF))
    pd.testing.assert_frame_equal(first, second)
    # Ten customers with the same orders, spend and recency: one score each, whatever their ids.
    for column in ("r_score", "f_score", "m_score"):
        assert first.loc[ids, column].nunique() == 1, column
    assert first.loc[ids, "r_score"].iloc[0] == 3  # ranks 11–20 of 20 by recency share rank 11 → score 3
    assert first["f_score"].eq(1).all()  # everyone has one order
    assert first.loc[ids, "m_score"].iloc[0] == 1
    u = [f"U{i:02d}" for i in range(10)]
    assert first.loc[u, "m_score"].tolist() == [3, 3, 4, 4, 4, 4, 5, 5, 5, 5]  # ranks 11…20 of 20
    assert first.loc[u, "r_score"].tolist() == [3, 3, 2, 2, 2, 2, 1, 1, 1, 1]  # 40…49 days: ranks 10…1
    # Edges for frozen scores have one entry per bucket 1…4; empty buckets (F: only score 1 used) repeat the last.
    cuts = S.resolve_cuts(ws, ds, S.SegmentSettings(), AS_OF)
    assert cuts.f_cuts == (1.0, 1.0, 1.0, 1.0)


def test_recency_score_is_reversed(ws: Workspace) -> None:
    rows = [(f"D{d:03d}", day(d), 10) for d in (0, 10, 50, 100, 200)]
    ds = make_dataset(ws, rows)
    out = by_id(S.segment_customers(ws, ds, S.SegmentSettings(), AS_OF))
    assert out.loc[["D000", "D010", "D050", "D100", "D200"], "r_score"].tolist() == [5, 4, 3, 2, 1]
    heat = S.rf_heatmap(ws, ds, S.SegmentSettings(), AS_OF)
    assert len(heat) == 25 and heat["customers"].sum() == 5
    lost = heat[(heat.r_score == 1) & (heat.f_score == 1)]
    assert lost["segment"].item() == "lost"


def _quintiles_by_rank(values: pd.Series, *, descending: bool = False) -> list[int]:
    """The documented score: 1 + (5 * (rank - 1)) // customers, ties sharing the lowest rank, missing values last."""
    rank = values.rank(method="min", ascending=not descending, na_option="bottom").astype(int)
    return (1 + (5 * (rank - 1)) // len(values)).tolist()


def _expected_scores(out: pd.DataFrame, all_time: bool) -> dict[str, list[int]]:
    return {
        "r_score": _quintiles_by_rank(out["days_since_last_order"], descending=True),
        "f_score": _quintiles_by_rank(out["orders" if all_time else "window_orders"]),
        "m_score": _quintiles_by_rank(out["revenue" if all_time else "window_revenue"]),
    }


@pytest.mark.parametrize("customers", [1, 2, 3, 4, 6, 7, 9, 13, 26, 41])
def test_scores_are_quintiles_of_the_rank_at_every_size(ws: Workspace, customers: int) -> None:
    """Every customer count (the quintile edges fall on different ranks) and heavy ties, on both score bases."""
    rng = random.Random(customers)
    rows = [(f"K{c:02d}", day(rng.choice([0, 3, 3, 40, 200, 500])), rng.choice([5, 5, 20, 80.5]))
            for c in range(customers) for _ in range(rng.choice([1, 1, 2, 4]))]
    ds = make_dataset(ws, rows, name=f"sizes-{customers}")
    for basis in ("all_time", "window"):
        out = by_id(S.segment_customers(ws, ds, S.SegmentSettings(score_basis=basis), AS_OF))
        assert len(out) == customers
        for column, expected in _expected_scores(out, basis == "all_time").items():
            assert out[column].tolist() == expected, (basis, column)


def test_weekly_scores_are_quintiles_of_each_weeks_rank(ws: Workspace) -> None:
    """The weekly classification ranks each week end's customers on their own (no frozen edges)."""
    rng = random.Random(5)
    rows = [(f"W{c:02d}", day(rng.randint(0, 120)), rng.choice([5, 20, 20, 80.5]))
            for c in range(30) for _ in range(rng.randint(1, 4))]
    ds = make_dataset(ws, rows)
    settings = S.SegmentSettings(window_days=60)
    dates = S.week_ends(AS_OF - timedelta(days=100), AS_OF)
    src = S.as_source(ds, ws)
    sql = S.classify_sql(src, score_mode="rank", m_cut_mode="params", weekly=True)
    params = {**src.params, "first_as_of": dates[0], "last_as_of": dates[-1], "n_weeks": len(dates),
              "last_before_ts": pd.Timestamp(dates[-1]) + pd.Timedelta(days=1), "window_days": 60,
              **S.threshold_params(settings, None)}
    weekly = S.run_query(ws, f"SELECT * FROM ({sql}) AS c", params)
    weekly["as_of"] = pd.to_datetime(weekly["as_of"]).dt.date
    assert weekly["as_of"].nunique() == len(dates) > 10
    for week, out in weekly.groupby("as_of"):
        out = by_id(out)
        single = by_id(S.segment_customers(ws, ds, settings, week))
        assert out.index.tolist() == single.index.tolist(), week
        for column, expected in _expected_scores(out, all_time=True).items():
            assert out[column].tolist() == expected == single[column].tolist(), (week, column)


def test_missing_spend_ranks_last(ws: Workspace) -> None:
    """A source whose spend is unknown for some customers: they rank after every known value (as NULLS LAST)."""
    rows = ", ".join(f"('N{i}', TIMESTAMP '2024-06-{10 + i:02d} 10:00:00', {'NULL' if i % 3 == 0 else 10 * i}, TRUE)"
                     for i in range(12))
    source = S.OrderSource(sql="SELECT customer_id, order_ts, CAST(amount AS DOUBLE) AS amount, is_order "
                               f"FROM (VALUES {rows}) AS v(customer_id, order_ts, amount, is_order)", params={})
    out = by_id(S.segment_customers(ws, source, S.SegmentSettings(), AS_OF))
    assert out["revenue"].isna().sum() == 4
    assert out["m_score"].tolist() == _quintiles_by_rank(out["revenue"])
    assert out.loc[["N0", "N3", "N6", "N9"], "m_score"].eq(1 + (5 * 8) // 12).all()


def test_one_time_buyers_only(ws: Workspace) -> None:
    rows = [(f"C{i:03d}", day(i * 3), 25) for i in range(250)]
    ds = make_dataset(ws, rows)
    settings = S.SegmentSettings()
    out = S.segment_customers(ws, ds, settings, AS_OF)
    assert (out["orders"] == 1).all() and (out["f_band"] == "low").all()
    assert not out["tag_high_value"].any()
    # F collapses: every customer has F = 1, so every customer gets F score 1 (never split by id).
    assert sorted(out["f_score"].unique()) == [1]
    warnings = S.data_warnings(ws, ds, AS_OF, settings)
    assert any("same F value" in w for w in warnings)
    summary = S.customer_summary(ws, ds, AS_OF)
    assert (summary["frequency"] == 0).all() and (summary["monetary_value"] == 0).all()
    tiers = out["tier"].value_counts()
    assert tiers["new"] == 11  # days 0, 3, …, 30
    assert tiers.sum() == 250


def test_validate_grid() -> None:
    assert S.validate_grid(S.DEFAULT_GRID) == []
    assert len(S.DEFAULT_GRID) == 25 and set(S.DEFAULT_GRID.values()) == set(SEGMENT_ORDER)
    assert S.DEFAULT_GRID["R1F1"] == "lost" and S.DEFAULT_GRID["R5F1"] == "new_customers"
    missing = dict(S.DEFAULT_GRID)
    del missing["R3F3"]
    assert any("R3F3" in e for e in S.validate_grid(missing))
    unknown = {**S.DEFAULT_GRID, "R2F2": "vip"}
    assert any("vip" in e for e in S.validate_grid(unknown))
    two = {**S.DEFAULT_GRID, "R4F4": ["champions", "at_risk"]}
    assert any("R4F4" in e and "exactly one" in e for e in S.validate_grid(two))
    assert S.validate_grid({**S.DEFAULT_GRID, "R4F4": ["champions"]}) == []
    extra = {**S.DEFAULT_GRID, "R6F1": "lost"}
    assert any("R6F1" in e for e in S.validate_grid(extra))
    assert S.validate_grid("not a grid") != []
    assert any("R3F3" in e for e in S.validate_grid(missing, "zh"))
    with pytest.raises(ValueError):
        S.save_settings(None, 1, S.SegmentSettings(grid=missing))  # validated before touching storage


def test_custom_grid_changes_segments(ws: Workspace) -> None:
    ds = make_dataset(ws, [(f"C{i}", day(i * 20), 10) for i in range(5)])
    grid = {cell: "need_attention" for cell in S.GRID_CELLS}
    out = S.segment_customers(ws, ds, S.SegmentSettings(grid=grid), AS_OF)
    assert (out["segment"] == "need_attention").all()


# ---------------------------------------------------------------------------------------
# Empty and tiny datasets
# ---------------------------------------------------------------------------------------


def test_empty_dataset_is_friendly(ws: Workspace) -> None:
    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, "empty")
    settings = S.SegmentSettings()
    assert S.default_as_of(ws, ds) is None
    assert S.segment_customers(ws, ds, settings).empty
    assert S.customer_summary(ws, ds).empty
    summary = S.segment_summary(ws, ds, settings)
    assert summary["group"].tolist() == list(TIER_ORDER) and (summary["customers"] == 0).all()
    assert S.tag_counts(ws, ds, settings)["customers"].sum() == 0
    assert S.rf_heatmap(ws, ds, settings)["customers"].sum() == 0
    assert S.distribution(ws, ds, settings).empty
    assert S.explain_customer(ws, ds, "X", settings) is None
    warnings = S.data_warnings(ws, ds, None, settings)
    assert len(warnings) == 1 and "nothing to segment" in warnings[0]
    assert "暂时无法分层" in S.data_warnings(ws, ds, None, settings, "zh")[0]
    weekly = S.tier_sizes_over_time(ws, ds, date(2024, 1, 1), date(2024, 3, 31), settings)
    assert (weekly["customers"] == 0).all()
    matrix = S.migration_matrix(ws, ds, date(2024, 1, 1), date(2024, 3, 31), settings, "plan")
    assert matrix["customers"].sum() == 0


def test_small_and_short_datasets_warn(ws: Workspace) -> None:
    ds = make_dataset(ws, [(f"C{i}", day(i), 10) for i in range(20)])
    warnings = S.data_warnings(ws, ds, AS_OF, S.SegmentSettings())
    assert any("Only 20 customers" in w for w in warnings)
    assert any("20 days of history" in w for w in warnings)


# ---------------------------------------------------------------------------------------
# Change over time
# ---------------------------------------------------------------------------------------


def test_migration_on_a_hand_made_case(ws: Workspace) -> None:
    a, b = date(2024, 3, 31), date(2024, 6, 30)
    rows = [
        ("STAY_ACTIVE", "2024-03-20", 10), ("STAY_ACTIVE", "2024-06-25", 10),
        ("GO_DORMANT", "2024-03-25", 10), ("GO_DORMANT", "2024-03-01", 10),
        ("COME_BACK", "2023-10-01", 10), ("COME_BACK", "2023-11-01", 10), ("COME_BACK", "2024-06-20", 10),
        ("NEWBIE", "2024-06-15", 10),
        ("LATE_NEW", "2024-04-10", 10),
    ]
    ds = make_dataset(ws, rows)
    matrix = S.migration_matrix(ws, ds, a, b, S.SegmentSettings(), "plan")
    moves = {(r.from_key, r.to_key): r.customers for r in matrix.itertuples() if r.customers}
    assert moves == {
        ("new", "active"): 1,               # STAY_ACTIVE: one order at a (new), a second by b
        ("active", "dormant"): 1,           # GO_DORMANT: 97 days without an order at b
        ("dormant", "active"): 1,           # COME_BACK
        (S.NOT_YET_CUSTOMER, "new"): 1,     # NEWBIE
        (S.NOT_YET_CUSTOMER, "lapsing"): 1,  # LATE_NEW: first order after a, 81 days before b
    }
    assert len(matrix) == (len(TIER_ORDER) + 1) * len(TIER_ORDER)  # every pair, zeros kept
    pivot = S.migration_pivot(matrix, "plan", "zh")
    assert "尚未成为客户" in pivot.index
    with pytest.raises(ValueError):
        S.migration_matrix(ws, ds, b, a, S.SegmentSettings(), "plan")
    rfm = S.migration_matrix(ws, ds, a, b, S.SegmentSettings(), "rfm")
    assert rfm["customers"].sum() == 5


def test_migration_freezes_the_spend_cut_offs(ws: Workspace) -> None:
    # At date a only small spenders exist; with per-date tertiles someone would be "high" at a.
    a, b = date(2024, 3, 31), date(2024, 6, 30)
    rows = [(f"S{i}", "2024-03-30", 10 + i) for i in range(6)]
    rows += [(f"S{i}", "2024-06-29", 10 + i) for i in range(6)]
    rows += [(f"B{i}", "2024-06-28", 1000 + i) for i in range(6)]
    ds = make_dataset(ws, rows)
    settings = S.SegmentSettings(thresholds=S.Thresholds(f_high_min=1 + 1, f_mid_min=1))
    cuts_b = S.resolve_cuts(ws, ds, settings, b)
    assert cuts_b.m_mid_min > 15  # the big spenders lift the cut-offs at b
    matrix = S.migration_matrix(ws, ds, a, b, settings, "plan")
    assert matrix.loc[matrix.from_key == "high_value", "customers"].sum() == 0


def test_weekly_sizes_match_single_date_segmentation(ws: Workspace, tmp_path: Path) -> None:
    rng = random.Random(11)
    rows = []
    for c in range(120):
        for _ in range(rng.randint(1, 9)):
            rows.append((f"C{c:03d}", day(rng.randint(0, 420)), rng.choice([9.9, 19.9, 0.1, 0.2, 120.35])))
    ds = make_dataset(ws, rows)
    settings = S.SegmentSettings(window_days=90)
    start, end = date(2024, 1, 1), AS_OF
    for scheme in ("plan", "rfm"):
        weekly = S.tier_sizes_over_time(ws, ds, start, end, settings, scheme=scheme)
        weeks = sorted(weekly["as_of"].unique())
        assert weeks[0] == date(2024, 1, 7) and all(w.weekday() == 6 for w in weeks)
        cuts = S.resolve_cuts(ws, ds, settings, weeks[-1])
        column = "tier" if scheme == "plan" else "segment"
        for week in (weeks[0], weeks[len(weeks) // 2], weeks[-1]):
            single = S.segment_customers(ws, ds, settings, week, cuts=cuts)[column].value_counts()
            single = single[single > 0]
            got = weekly[weekly["as_of"] == week].set_index("group")["customers"]
            assert got[got > 0].sort_index().to_dict() == single.sort_index().to_dict(), (scheme, week)


def test_week_ends() -> None:
    assert S.week_ends(date(2024, 6, 3), date(2024, 6, 20)) == [date(2024, 6, 9), date(2024, 6, 16)]
    assert S.week_ends(date(2024, 6, 3), date(2024, 6, 5)) == [date(2024, 6, 5)]
    assert S.week_ends(date(2024, 6, 5), date(2024, 6, 3)) == []


# ---------------------------------------------------------------------------------------
# Explanations, rules, settings, distributions, parquet
# ---------------------------------------------------------------------------------------


def test_explain_customer_states_values_against_thresholds(ws: Workspace) -> None:
    rows = [("ME", day(45), 30), ("ME", day(100), 30), ("ME", day(200), 30)]
    rows += [(f"X{i}", day(i), 10 * i) for i in range(1, 10)]
    ds = make_dataset(ws, rows)
    exp = S.explain_customer(ws, ds, "ME", S.SegmentSettings(), AS_OF, "en")
    assert exp is not None and exp.tier == "lapsing" and exp.tags == ["lapsing"]
    assert exp.rows[0]["value"] == "45" and "31 ≤ days since last order ≤ 90" in exp.rows[0]["rule"]
    assert exp.rows[1]["value"] == "3" and "2 ≤ orders" in exp.rows[1]["rule"]
    assert "Lapsing" in exp.reason
    zh = S.explain_customer(ws, ds, "ME", S.SegmentSettings(), AS_OF, "zh")
    assert "流失预警用户" in zh.reason
    assert S.explain_customer(ws, ds, "NOBODY", S.SegmentSettings(), AS_OF) is None


def test_band_rules_state_inclusive_bounds_in_both_languages() -> None:
    th = S.Thresholds()
    en = {r["key"]: r["rule"] for r in S.band_rules(th, "en")}
    assert "≤ 30" in en["r.recent"] and "31 ≤" in en["r.middle"] and "≤ 90" in en["r.middle"]
    assert "≥ 91" in en["r.lapsed"] and "≥ 5" in en["f.high"] and "≤ 4" in en["f.mid"] and "≤ 1" in en["f.low"]
    zh = {r["key"]: r["rule"] for r in S.band_rules(th, "zh")}
    assert "含 30" in zh["r.recent"] and "两端都含" in zh["r.middle"]
    typed = S.Thresholds(m_mode="amounts", m_high_min=1000, m_mid_min=200)
    m = {r["key"]: r["rule"] for r in S.band_rules(typed, "en")}
    assert "≥ ¥1,000.00" in m["m.high"] and "¥200.00 ≤" in m["m.mid"] and "< ¥1,000.00" in m["m.mid"]
    defs = S.tier_definitions(th, "zh")
    assert [d["key"] for d in defs[:-1]] == list(S.TIER_PRECEDENCE) and "→" in defs[-1]["definition"]


def test_thresholds_validation() -> None:
    assert S.validate_thresholds(S.Thresholds()) == []
    assert S.validate_thresholds(S.Thresholds(recent_max_days=90, lapsing_max_days=90))
    assert S.validate_thresholds(S.Thresholds(f_high_min=2, f_mid_min=2))
    assert S.validate_thresholds(S.Thresholds(m_mode="amounts"))
    assert S.validate_thresholds(S.Thresholds(m_mode="amounts", m_high_min=10, m_mid_min=20))


def test_settings_round_trip(ws: Workspace) -> None:
    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, "s")
    assert S.load_settings(ws, ds) == S.SegmentSettings()
    custom = S.SegmentSettings(
        thresholds=S.Thresholds(recent_max_days=14, lapsing_max_days=60, m_mode="amounts", m_high_min=800.0, m_mid_min=100.0),
        grid={**S.DEFAULT_GRID, "R1F1": "hibernating"},
        scheme="rfm",
        window_days=180,
        score_basis="window",
    )
    S.save_settings(ws, ds, custom)
    assert S.load_settings(ws, ds) == custom
    with pytest.raises(ValueError):
        S.save_settings(ws, ds, S.SegmentSettings(thresholds=S.Thresholds(recent_max_days=100)))
    # Damaged stored settings fall back to defaults instead of breaking the page.
    ws.set_setting(ds, S.SETTINGS_KEY, {"thresholds": {"recent_max_days": "x"}, "grid": [1], "scheme": "??"})
    assert S.load_settings(ws, ds) == S.SegmentSettings()


def test_distribution_bins(ws: Workspace) -> None:
    rows = [(f"C{i}", day(i), 10 + i) for i in range(200)] + [("WHALE", day(1), 1_000_000)]
    ds = make_dataset(ws, rows)
    days = S.distribution(ws, ds, S.SegmentSettings(), AS_OF, measure="days_since_last_order", bins=20)
    assert days["customers"].sum() == 201 and len(days) <= 20
    assert days["bin_start"].iloc[0] == 0 and (days["bin_end"] >= days["bin_start"]).all()
    spend = S.distribution(ws, ds, S.SegmentSettings(), AS_OF, measure="window_revenue", bins=500)
    assert len(spend) <= S.MAX_BINS and spend["customers"].sum() == 201
    assert bool(spend["open_ended"].iloc[-1])  # the whale is clipped into an open-ended last bin
    assert spend["bin_end"].max() < 1_000_000


def test_parquet_source_gives_the_same_result(ws: Workspace, tmp_path: Path) -> None:
    rows = [(f"C{i % 40:02d}", day((i * 7) % 300), 5 + i % 13) for i in range(400)]
    rows += [("C01", day(2), -5, True), (None, day(3), 8)]
    ds = make_dataset(ws, rows)
    folder = tmp_path / "pq"
    folder.mkdir()
    frame = _orders_frame(ds, rows).drop(columns=["dataset_id"])
    frame.iloc[:200].to_parquet(folder / "part1.parquet")
    frame.iloc[200:].to_parquet(folder / "part2.parquet")
    settings = S.SegmentSettings()
    from_table = by_id(S.segment_customers(ws, ds, settings, AS_OF))
    source = S.OrderSource.parquet(folder)
    files = duckdb.connect()  # the workspace connection is locked down: it cannot read files from SQL
    from_files = by_id(S.segment_customers(files, source, settings, AS_OF))
    pd.testing.assert_frame_equal(from_table, from_files, check_dtype=False)
    assert S.default_as_of(files, source) == S.default_as_of(ws, ds)
    files.close()
