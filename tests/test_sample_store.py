"""The shipped sample store: byte-reproducible, well-formed, and realistic enough to plan on.

A user's first look at the product is this data, and other modules' tests lean on its
known signal, so these tests pin what a user would notice: the files match the generator,
ids and amounts look like a Tmall export, every customer tier has members, the promo
calendar shows, and the channel table agrees with the orders.
"""

from __future__ import annotations

import gzip
import io
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from lib.importing import sample_store as ss


@pytest.fixture(scope="module")
def store() -> ss.SampleStore:
    return ss.generate()


@pytest.fixture(scope="module")
def shipped_orders_text() -> bytes:
    if not ss.SAMPLE_ORDERS_PATH.exists():
        pytest.fail(f"{ss.SAMPLE_ORDERS_PATH} is missing: run `python -m lib.importing.sample_store`")
    return gzip.decompress(ss.SAMPLE_ORDERS_PATH.read_bytes())


@pytest.fixture(scope="module")
def orders(shipped_orders_text: bytes) -> pd.DataFrame:
    """The shipped orders file read the way an importer would: every column as text first."""
    frame = pd.read_csv(io.BytesIO(shipped_orders_text), dtype=str, keep_default_na=False)
    frame["ts"] = pd.to_datetime(frame["付款时间"], format="%Y-%m-%d %H:%M:%S")
    frame["amount"] = frame["实付金额"].astype(float)
    frame["week"] = frame["ts"].dt.normalize() - pd.to_timedelta(frame["ts"].dt.day_of_week, unit="D")
    return frame


@pytest.fixture(scope="module")
def purchases(orders: pd.DataFrame) -> pd.DataFrame:
    return orders[orders["订单状态"] == ss.STATUS_PURCHASE]


@pytest.fixture(scope="module")
def channels() -> pd.DataFrame:
    frame = pd.read_csv(ss.SAMPLE_CHANNELS_PATH, dtype={"week": str, "channel": str})
    frame["week"] = pd.to_datetime(frame["week"], format="%Y-%m-%d")
    return frame


def _weekly_purchases(purchases: pd.DataFrame) -> pd.Series:
    return purchases.groupby("week").size()


def _week_of(day: date) -> pd.Timestamp:
    return pd.Timestamp(day - timedelta(days=day.weekday()))


# ----------------------------------------------------------------------------- reproducibility

def test_regenerating_gives_exactly_the_shipped_bytes(store: ss.SampleStore, shipped_orders_text: bytes) -> None:
    assert ss.orders_csv_bytes(store) == shipped_orders_text
    assert ss.channels_csv_bytes(store) == ss.SAMPLE_CHANNELS_PATH.read_bytes()


def test_shipped_gzip_has_no_timestamp_or_name_and_stays_small() -> None:
    raw = ss.SAMPLE_ORDERS_PATH.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert raw[4:8] == b"\x00\x00\x00\x00", "mtime must be 0 for reproducible bytes"
    assert raw[3] & 0x08 == 0, "no file name in the gzip header"
    assert len(raw) < 8 * 1024 * 1024


def test_write_sample_files_reproduces_the_shipped_files(tmp_path) -> None:
    written = ss.write_sample_files(tmp_path)
    assert [path.name for path in written] == [ss.ORDERS_FILENAME, ss.CHANNELS_FILENAME]
    assert written[0].read_bytes() == ss.SAMPLE_ORDERS_PATH.read_bytes()
    assert written[1].read_bytes() == ss.SAMPLE_CHANNELS_PATH.read_bytes()


def test_another_seed_gives_another_store(store: ss.SampleStore) -> None:
    other = ss.generate(seed=7)
    assert other.orders["订单编号"].iloc[:100].tolist() != store.orders["订单编号"].iloc[:100].tolist()
    assert not np.array_equal(other.channels["spend"].to_numpy(), store.channels["spend"].to_numpy())


# ----------------------------------------------------------------------------- file format

def test_orders_file_looks_like_a_tmall_export(shipped_orders_text: bytes, orders: pd.DataFrame) -> None:
    assert not shipped_orders_text.startswith(b"\xef\xbb\xbf"), "UTF-8 without BOM"
    assert shipped_orders_text.split(b"\n", 1)[0].decode("utf-8") == ",".join(ss.ORDER_COLUMNS)
    assert orders["订单编号"].str.fullmatch(r"\d{18}").all()
    assert orders["订单编号"].is_unique
    assert orders["买家ID"].str.fullmatch(r"u\d{7}").all()
    assert orders["付款时间"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    assert orders["实付金额"].str.fullmatch(r"-?\d+\.\d\d").all()
    assert orders["商品数量"].str.fullmatch(r"-?\d+").all()
    assert set(orders["渠道"]) == set(ss.CHANNELS)
    assert set(orders["订单状态"]) == {ss.STATUS_PURCHASE, ss.STATUS_REFUNDED}
    assert orders["ts"].min() >= pd.Timestamp(ss.FIRST_DAY)
    assert orders["ts"].max() < pd.Timestamp(ss.LAST_DAY) + pd.Timedelta(days=1)
    ordering = orders[["ts", "订单编号"]]
    assert ordering.equals(ordering.sort_values(["ts", "订单编号"]))


def test_size_of_the_store(orders: pd.DataFrame, purchases: pd.DataFrame) -> None:
    assert 40_000 <= orders["买家ID"].nunique() <= 60_000
    assert 200_000 <= len(purchases) <= 300_000


def test_refunds_are_negative_rows_a_few_days_after_a_matching_purchase(
    orders: pd.DataFrame, purchases: pd.DataFrame
) -> None:
    refunds = orders[orders["订单状态"] == ss.STATUS_REFUNDED]
    assert 0.02 <= len(refunds) / len(purchases) <= 0.03
    assert (refunds["amount"] < 0).all()
    assert (purchases["amount"] > 0).all()
    pairs = refunds.assign(key=-refunds["amount"]).merge(
        purchases.assign(key=purchases["amount"]), on=["买家ID", "key", "渠道"], suffixes=("_refund", "_purchase")
    )
    lag = pairs["ts_refund"] - pairs["ts_purchase"]
    pairs = pairs[(lag > pd.Timedelta(hours=12)) & (lag < pd.Timedelta(days=8))]
    assert pairs["订单编号_refund"].nunique() == len(refunds)


def test_channels_file_is_weekly_long_format(channels: pd.DataFrame) -> None:
    header = ss.SAMPLE_CHANNELS_PATH.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert header == ",".join(ss.CHANNEL_COLUMNS)
    weeks = pd.date_range(ss.FIRST_DAY, periods=ss.N_WEEKS, freq="7D")
    assert (weeks.day_of_week == 0).all()
    assert len(channels) == ss.N_WEEKS * len(ss.CHANNELS)
    assert sorted(channels["week"].unique()) == list(weeks)
    assert set(channels["channel"]) == set(ss.CHANNELS)
    assert not channels.duplicated(["week", "channel"]).any()
    cpm = channels["spend"] / channels["impressions"] * 1000
    ctr = channels["clicks"] / channels["impressions"]
    assert cpm.between(19.5, 80.5).all()
    assert ctr.between(0.0049, 0.0301).all()


# ----------------------------------------------------------------------------- customers

def _tiers(purchases: pd.DataFrame, as_of: date) -> pd.Series:
    """The plan's tiers with the default precedence: high-value → new → active → lapsing → dormant."""
    as_of_day = pd.Timestamp(as_of)
    day = purchases["ts"].dt.normalize()
    per_buyer = purchases.assign(day=day).groupby("买家ID").agg(orders=("订单编号", "size"), last=("day", "max"))
    days_since = (as_of_day - per_buyer["last"]).dt.days
    window = purchases[day > as_of_day - pd.Timedelta(days=365)]
    recent = window.groupby("买家ID").agg(frequency=("订单编号", "size"), spend=("amount", "sum"))
    top_spend = recent["spend"] >= recent["spend"].quantile(2 / 3)
    high_value_ids = recent.index[(recent["frequency"] >= 5) & top_spend]
    high_value = per_buyer.index.isin(high_value_ids) & (days_since <= 30)
    tier = np.select(
        [high_value, (per_buyer["orders"] == 1) & (days_since <= 30), days_since <= 30, days_since <= 90],
        ["high_value", "new", "active", "lapsing"],
        "dormant",
    )
    return pd.Series(tier, index=per_buyer.index)


def test_every_tier_has_real_members(purchases: pd.DataFrame) -> None:
    sizes = _tiers(purchases, ss.AS_OF).value_counts()
    for tier in ("new", "active", "lapsing", "dormant", "high_value"):
        assert sizes.get(tier, 0) >= 300, f"{tier}: {sizes.get(tier, 0)} customers"


def test_customers_repeat_mostly_on_retention_channels(purchases: pd.DataFrame) -> None:
    first_orders = purchases.sort_values(["ts", "订单编号"]).drop_duplicates("买家ID").index
    repeats = purchases.drop(first_orders)
    share = repeats["渠道"].value_counts(normalize=True)
    assert share[["微信私域", "天猫", "京东", "淘宝直播"]].sum() >= 0.7
    orders_per_buyer = purchases.groupby("买家ID").size()
    assert 0.3 <= (orders_per_buyer >= 2).mean() <= 0.75


def test_order_values_are_realistic_and_higher_for_frequent_buyers(purchases: pd.DataFrame) -> None:
    assert 150 <= purchases["amount"].mean() <= 250
    orders_per_buyer = purchases.groupby("买家ID").size()
    value_per_buyer = purchases.groupby("买家ID")["amount"].mean()
    assert value_per_buyer[orders_per_buyer >= 10].mean() > 1.1 * value_per_buyer[orders_per_buyer == 1].mean()


def test_evenings_are_busier_than_mornings(purchases: pd.DataFrame) -> None:
    hour = purchases["ts"].dt.hour
    assert hour.between(19, 22).mean() > 2 * hour.between(7, 10).mean()
    assert hour.between(3, 5).mean() < 0.02


# ----------------------------------------------------------------------------- calendar

@pytest.mark.parametrize("peak", [date(2024, 11, 11), date(2025, 6, 18), date(2025, 11, 11), date(2026, 6, 18)])
def test_618_and_double_11_weeks_stand_out(purchases: pd.DataFrame, peak: date) -> None:
    weekly = _weekly_purchases(purchases)
    assert weekly[_week_of(peak)] >= 1.5 * weekly.median()


@pytest.mark.parametrize("year", [2025, 2026])
def test_new_year_goods_festival_bump_then_spring_festival_dip(purchases: pd.DataFrame, year: int) -> None:
    weekly = _weekly_purchases(purchases)
    median = weekly.median()
    new_year = ss.CHINESE_NEW_YEAR[year]
    festival_weeks = weekly[(weekly.index >= pd.Timestamp(new_year - timedelta(days=24)))
                            & (weekly.index <= pd.Timestamp(new_year - timedelta(days=10)))]
    assert len(festival_weeks) >= 2
    assert festival_weeks.mean() > 1.05 * median
    assert weekly[_week_of(new_year)] < 0.75 * median


# ----------------------------------------------------------------------------- channels vs orders

def test_new_customers_are_the_first_orders_of_paid_acquisition(
    store: ss.SampleStore, purchases: pd.DataFrame, channels: pd.DataFrame
) -> None:
    first = purchases.sort_values(["ts", "订单编号"]).drop_duplicates("买家ID")
    first = first[~first["买家ID"].isin(store.truth.pre_window_buyer_ids)]
    counted = first.groupby(["week", "渠道"]).size()
    grid = pd.MultiIndex.from_frame(channels[["week", "channel"]])
    counted = counted.reindex(grid, fill_value=0).to_numpy()
    paid = channels["new_customers"].to_numpy()
    organic = (store.truth.organic_new_customers.set_index(["week", "channel"])["new_customers"]
               .reindex(grid, fill_value=0).to_numpy())
    np.testing.assert_array_equal(counted, paid + organic)
    paid_only = ~channels["channel"].isin(list(ss.ORGANIC_FIRST_ORDER_MIX)).to_numpy()
    np.testing.assert_array_equal(counted[paid_only], paid[paid_only])
    # Buyers from before the window hold the lowest member numbers.
    assert max(store.truth.pre_window_buyer_ids) < first["买家ID"].min()


def test_channel_orders_and_revenue_match_the_orders_file(purchases: pd.DataFrame, channels: pd.DataFrame) -> None:
    per_week = purchases.groupby(["week", "渠道"]).agg(orders=("订单编号", "size"), revenue=("amount", "sum"))
    grid = pd.MultiIndex.from_frame(channels[["week", "channel"]])
    per_week = per_week.reindex(grid, fill_value=0)
    np.testing.assert_array_equal(per_week["orders"].to_numpy(), channels["orders"].to_numpy())
    np.testing.assert_allclose(per_week["revenue"].to_numpy(), channels["revenue"].to_numpy(), atol=0.005)


def test_spend_follows_the_promo_calendar_and_varies_enough(channels: pd.DataFrame) -> None:
    spend = channels.pivot(index="week", columns="channel", values="spend")
    assert (spend > 0).all().all()
    assert (spend.max() / spend.min()).max() >= 4
    double_11 = _week_of(date(2025, 11, 3))
    assert (spend.loc[double_11, ["抖音", "天猫", "淘宝直播"]] >= 2 * spend[["抖音", "天猫", "淘宝直播"]].median()).all()
    totals = spend.sum()
    assert totals[["抖音", "天猫"]].min() > 10 * totals[["微信私域", "线下门店"]].max()


def test_truth_is_a_recoverable_saturating_response(store: ss.SampleStore, channels: pd.DataFrame) -> None:
    truths = store.truth.channels
    assert set(truths) == set(ss.CHANNELS)
    assert all(0.1 <= t.theta <= 0.6 and 0.8 <= t.alpha <= 2.2 for t in truths.values())
    assert any(t.alpha > 1.5 for t in truths.values())
    assert len({t.theta for t in truths.values()}) >= 5
    expected = store.truth.paid_new_expected
    for name, truth in truths.items():
        observed = channels.loc[channels["channel"] == name, "new_customers"].to_numpy()
        rows = expected[expected["channel"] == name]
        # The stored expectation is the Hill curve of the stored adstock.
        np.testing.assert_allclose(truth.expected_new_customers(rows["adstocked_spend"].to_numpy()),
                                   rows["expected_new_customers"].to_numpy())
        assert observed.sum() == pytest.approx(rows["expected_new_customers"].sum(), rel=0.1)
        if observed.mean() >= 15:
            assert np.corrcoef(observed, rows["expected_new_customers"])[0, 1] >= 0.6, name


def test_adstock_and_hill_helpers() -> None:
    np.testing.assert_allclose(ss.geometric_adstock(np.array([100.0, 0.0, 0.0]), 0.5), [100.0, 50.0, 25.0])
    assert ss.hill_response(10.0, 2.0, 10.0, 80.0) == pytest.approx(40.0)
    assert ss.hill_response(0.0, 1.5, 10.0, 80.0) == pytest.approx(0.0)
