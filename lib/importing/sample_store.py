"""A seeded, deterministic sample store: the data every page can show before a user imports anything.

Why it exists: a planning tool is hard to judge on an empty screen, and the analytics
(segments, response curves, the optimizer, the 13-week timeline) need data with a real,
known signal to be tested against. This module simulates two years of a Chinese
e-commerce store — paid acquisition per channel through adstock and Hill saturation,
organic first orders, BG/NBD-like repeat buying with churn, the 618 / Double 11 /
年货节 promo calendar and the Spring Festival dip — and writes the two files the
product ships (``sample_data/orders.csv.gz``, a Tmall-style export with Chinese
headers, and ``sample_data/channels.csv``, weekly spend per channel). The true
parameters stay in ``SampleStore.truth`` so tests can check that a curve fitter
recovers them.

Everything is vectorised with numpy and driven by one ``numpy.random.Generator``, so
the same seed gives byte-identical files (``python -m lib.importing.sample_store`` regenerates them).
"""

from __future__ import annotations

import argparse
import gzip
import io
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

SAMPLE_DATASET_NAME = "Sample store"
DEFAULT_SEED = 20261122

SAMPLE_DATA_DIR = Path(__file__).resolve().parents[2] / "sample_data"
ORDERS_FILENAME = "orders.csv.gz"
CHANNELS_FILENAME = "channels.csv"
SAMPLE_ORDERS_PATH = SAMPLE_DATA_DIR / ORDERS_FILENAME
SAMPLE_CHANNELS_PATH = SAMPLE_DATA_DIR / CHANNELS_FILENAME

FIRST_DAY = date(2024, 10, 7)  # a Monday
LAST_DAY = date(2026, 10, 4)  # a Sunday; also the natural as-of date of the sample
AS_OF = LAST_DAY
N_WEEKS = 104
N_DAYS = N_WEEKS * 7
# The simulation starts two years earlier so the store has a customer base (and history)
# on the first day of the window; those earlier orders are not shipped.
WARM_UP_WEEKS = 104
SIMULATION_START = FIRST_DAY - timedelta(weeks=WARM_UP_WEEKS)
SECONDS_PER_DAY = 86_400

# Channel names exactly as Chinese exports spell them, in the order the files list them.
CHANNELS: tuple[str, ...] = ("抖音", "小红书", "天猫", "京东", "微信私域", "淘宝直播", "知乎", "B站", "线下门店")

# Customers who arrive without paid acquisition (search on the shelf platforms, walk-ins).
ORGANIC_FIRST_ORDER_MIX: dict[str, float] = {"天猫": 0.5, "京东": 0.3, "线下门店": 0.2}

# Where repeat orders go when a customer does not return to the channel that acquired them.
REPEAT_CHANNEL_MIX: dict[str, float] = {
    "微信私域": 0.32,
    "天猫": 0.28,
    "京东": 0.14,
    "淘宝直播": 0.12,
    "抖音": 0.06,
    "线下门店": 0.04,
    "小红书": 0.02,
    "B站": 0.01,
    "知乎": 0.01,
}
# Some customers keep buying where they were acquired: this share of customers sends
# HABIT_ORDER_SHARE of their repeat orders back to the acquiring channel.
HABIT_CUSTOMER_SHARE = 0.35
HABIT_ORDER_SHARE = 0.6

ORDER_COLUMNS: tuple[str, ...] = ("订单编号", "买家ID", "付款时间", "实付金额", "商品数量", "渠道", "订单状态")
CHANNEL_COLUMNS: tuple[str, ...] = (
    "week", "channel", "spend", "impressions", "clicks", "new_customers", "orders", "revenue",
)
STATUS_PURCHASE = "交易成功"
STATUS_REFUNDED = "已退款"

CHINESE_NEW_YEAR: dict[int, date] = {
    2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
}


@dataclass(frozen=True)
class ChannelTruth:
    """The true acquisition response of one paid channel, as the simulation used it.

    Weekly paid new customers are ``Poisson(hill(adstock(spend)) * LogNormal(0, noise_sigma))``
    with geometric, un-normalised adstock ``a_t = x_t + theta * a_{t-1}`` (Robyn's
    ``adstock_geometric``) and Hill ``beta * a**alpha / (a**alpha + gamma**alpha)`` where
    ``gamma`` is an absolute amount of adstocked spend in CNY (PyMC's κ). The adstock
    runs from the start of the simulation, so the first window week carries a little
    spend from before it; ``SampleTruth.paid_new_expected`` has the exact adstocked spend.
    """

    channel: str
    base_weekly_spend: float  # CNY in an ordinary week at the start of the window
    theta: float  # geometric carry-over per week
    alpha: float  # Hill shape: ≤ 1 concave (C), > 1 S-shaped
    gamma: float  # half-saturation point, CNY of adstocked spend
    beta: float  # saturation level, paid new customers per week
    noise_sigma: float  # multiplicative lognormal noise on the weekly mean
    promo_elasticity: float  # spend follows (promo index of the week) ** this
    lead_weeks: int  # seeding channels spend ahead of a promo (种草 before 618 / 双11)
    cpm: float  # CNY per 1,000 impressions in an ordinary week
    ctr: float  # clicks per impression

    def expected_new_customers(self, adstocked_spend: np.ndarray | float) -> np.ndarray:
        """Noise-free weekly paid new customers for the given adstocked spend (CNY)."""
        return hill_response(adstocked_spend, self.alpha, self.gamma, self.beta)


# The ground truth a curve fitter should recover. Thetas 0.1–0.6, alphas 0.8–2.1
# (小红书, 知乎, B站 and 淘宝直播 are S-shaped); 微信私域 and 线下门店 spend little, 抖音 and 天猫 a lot.
CHANNEL_TRUTH: dict[str, ChannelTruth] = {
    truth.channel: truth
    for truth in (
        ChannelTruth("抖音", 24_000, 0.35, 1.3, 51_800, 213, 0.12, 1.8, 0, 38, 0.018),
        ChannelTruth("小红书", 10_500, 0.50, 1.9, 31_500, 110, 0.13, 1.4, 2, 62, 0.024),
        ChannelTruth("天猫", 19_500, 0.20, 1.0, 31_500, 123, 0.10, 1.9, 0, 45, 0.012),
        ChannelTruth("京东", 10_500, 0.15, 0.9, 19_500, 68, 0.11, 1.7, 0, 50, 0.010),
        ChannelTruth("微信私域", 1_400, 0.10, 0.8, 2_500, 37, 0.12, 1.5, 0, 25, 0.028),
        ChannelTruth("淘宝直播", 6_800, 0.25, 1.5, 11_700, 65, 0.12, 2.2, 0, 40, 0.021),
        ChannelTruth("知乎", 3_000, 0.60, 1.6, 12_000, 28, 0.14, 1.2, 1, 72, 0.008),
        ChannelTruth("B站", 4_500, 0.45, 2.1, 12_300, 44, 0.13, 1.5, 1, 55, 0.015),
        ChannelTruth("线下门店", 1_100, 0.30, 1.0, 2_000, 24, 0.15, 1.3, 0, 22, 0.006),
    )
}

# Repeat buying (BG/NBD-like): per-customer purchase rate λ ~ Gamma, dropout after each
# purchase with probability p ~ Beta; both shifted by the acquiring channel.
PURCHASE_RATE_SHAPE = 0.5
PURCHASE_RATE_MEAN_PER_DAY = 1 / 17
PURCHASE_RATE_CAP_PER_DAY = 1 / 5
DROPOUT_BETA_A = 1.0
DROPOUT_BETA_B = 2.3
CHANNEL_RATE_FACTOR: dict[str, float] = {
    "抖音": 0.8, "小红书": 0.9, "天猫": 1.0, "京东": 1.0, "微信私域": 1.5,
    "淘宝直播": 0.9, "知乎": 1.1, "B站": 1.0, "线下门店": 1.3,
}
CHANNEL_DROPOUT_FACTOR: dict[str, float] = {
    "抖音": 1.35, "小红书": 1.15, "天猫": 1.0, "京东": 1.0, "微信私域": 0.6,
    "淘宝直播": 1.2, "知乎": 0.9, "B站": 1.0, "线下门店": 0.75,
}
ORGANIC_NEW_PER_WEEK = 72.0  # at the start of the window, before trend and promos
YEARLY_GROWTH = 0.08  # spend and organic demand grow this much per year
TYPICAL_ORDER_VALUE = 158.0  # CNY, median basket of an average customer
REFUND_RATE = 0.024
HIGH_REFUND_CHANNELS = ("抖音", "淘宝直播", "小红书")  # impulse buys come back more often


@dataclass(frozen=True)
class PromoEvent:
    """A dated event of the promo calendar with its multiplier on daily demand."""

    name_zh: str
    name_en: str
    start: date
    end: date  # inclusive
    demand_multiplier: float


@dataclass
class SampleTruth:
    """What the simulation used: enough to check any fit or segmentation against."""

    channels: dict[str, ChannelTruth]
    seed: int
    as_of: date
    daily_demand_index: pd.Series  # date → relative demand (ordinary day ≈ 1)
    promo_events: list[PromoEvent]
    paid_new_expected: pd.DataFrame  # week, channel, spend, adstocked_spend, expected_new_customers (noise-free)
    organic_new_customers: pd.DataFrame  # week, channel, new_customers: first orders without paid acquisition
    pre_window_buyer_ids: frozenset[str]  # buyers in the file whose first order was before the window
    buyers: int  # distinct buyers in the file


@dataclass
class SampleStore:
    """The generated store: the two shipped tables plus the truth behind them.

    ``orders`` has the columns of the shipped CSV (Chinese headers, ``ORDER_COLUMNS``) with
    typed values: 付款时间 datetime64, 实付金额 float (negative on refund rows), 商品数量 int.
    ``channels`` has ``CHANNEL_COLUMNS`` with ``week`` as a datetime64 Monday.
    """

    orders: pd.DataFrame
    channels: pd.DataFrame
    truth: SampleTruth


def geometric_adstock(spend: np.ndarray, theta: float) -> np.ndarray:
    """Un-normalised geometric adstock: ``a_1 = x_1``, ``a_t = x_t + theta * a_{t-1}``."""
    values = np.asarray(spend, dtype=float)
    out = np.empty_like(values)
    carry = 0.0
    for i, x in enumerate(values):
        carry = x + theta * carry
        out[i] = carry
    return out


def hill_response(adstocked: np.ndarray | float, alpha: float, gamma: float, beta: float) -> np.ndarray:
    """Hill saturation ``beta * a**alpha / (a**alpha + gamma**alpha)`` (gamma in the units of ``a``)."""
    a = np.maximum(np.asarray(adstocked, dtype=float), 0.0)
    response: np.ndarray = beta / (1.0 + (gamma / np.maximum(a, 1e-12)) ** alpha)
    return response


# ----------------------------------------------------------------------------- calendar

def promo_calendar(first_day: date = FIRST_DAY, last_day: date = LAST_DAY) -> list[PromoEvent]:
    """The promo calendar between two days: 618, Double 11, 年货节, Spring Festival and smaller days."""
    events: list[PromoEvent] = []
    for year in range(first_day.year - 1, last_day.year + 1):
        events += [
            PromoEvent("双11预热", "Double 11 warm-up", date(year, 10, 20), date(year, 10, 30), 1.2),
            PromoEvent("双11第一波", "Double 11 first wave", date(year, 10, 31), date(year, 11, 3), 2.6),
            PromoEvent("双11蓄水", "Double 11 middle days", date(year, 11, 4), date(year, 11, 9), 1.6),
            PromoEvent("双11前夜", "Double 11 eve", date(year, 11, 10), date(year, 11, 10), 2.5),
            PromoEvent("双11", "Double 11", date(year, 11, 11), date(year, 11, 11), 8.0),
            PromoEvent("双11返场", "Double 11 encore", date(year, 11, 12), date(year, 11, 13), 1.4),
            PromoEvent("双12", "Double 12", date(year, 12, 12), date(year, 12, 12), 1.6),
            PromoEvent("三八女王节", "Queen's Day (3.8)", date(year, 3, 7), date(year, 3, 8), 1.5),
            PromoEvent("618预售", "618 presale", date(year, 5, 20), date(year, 5, 31), 1.15),
            PromoEvent("618第一波", "618 first wave", date(year, 6, 1), date(year, 6, 3), 1.9),
            PromoEvent("618蓄水", "618 middle days", date(year, 6, 4), date(year, 6, 14), 1.35),
            PromoEvent("618冲刺", "618 final push", date(year, 6, 15), date(year, 6, 17), 2.1),
            PromoEvent("618", "618", date(year, 6, 18), date(year, 6, 18), 6.0),
            PromoEvent("618返场", "618 encore", date(year, 6, 19), date(year, 6, 20), 1.2),
            PromoEvent("99划算节", "99 sale", date(year, 9, 8), date(year, 9, 9), 1.3),
        ]
        if year in CHINESE_NEW_YEAR:
            cny = CHINESE_NEW_YEAR[year]
            events += [
                PromoEvent("年货节", "New-Year goods festival", cny - timedelta(days=24), cny - timedelta(days=9), 1.35),
                PromoEvent("春节停发前", "Before the Spring Festival shipping stop", cny - timedelta(days=8),
                           cny - timedelta(days=4), 0.75),
                PromoEvent("春节", "Spring Festival", cny - timedelta(days=3), cny + timedelta(days=6), 0.45),
            ]
    events.sort(key=lambda event: (event.start, event.end))
    return [event for event in events if event.end >= first_day and event.start <= last_day]


def daily_demand_index(events: list[PromoEvent], first_day: date = FIRST_DAY, n_days: int = N_DAYS) -> np.ndarray:
    """Relative demand per day: promo multipliers, Tue/Thu flash sales, member day on the 8th (ordinary day ≈ 1)."""
    days = pd.date_range(first_day, periods=n_days, freq="D")
    index = np.ones(n_days)
    weekday = days.day_of_week.to_numpy()
    index *= np.where(np.isin(weekday, (1, 3)), 1.08, 1.0)  # weekly flash sales Tue/Thu
    index *= np.where(weekday >= 5, 1.05, 1.0)
    index *= np.where(days.day.to_numpy() == 8, 1.25, 1.0)  # member day
    for event in events:
        start = max((event.start - first_day).days, 0)
        stop = min((event.end - first_day).days, n_days - 1) + 1
        if stop > start:
            index[start:stop] *= event.demand_multiplier
    return index


# Share of the day's orders per hour: quiet nights, a lunch bump, busy evenings.
_HOURLY_ORDINARY = np.array([
    1.6, 0.9, 0.5, 0.3, 0.2, 0.2, 0.4, 0.9, 1.9, 3.0, 3.8, 4.2,
    4.8, 4.4, 3.9, 3.8, 3.9, 4.0, 4.4, 5.3, 6.6, 7.6, 7.2, 4.4,
])
# On the big promo days payment opens at midnight (付尾款) and the evening is busy again.
_HOURLY_FESTIVAL = _HOURLY_ORDINARY.copy()
_HOURLY_FESTIVAL[0] = 16.0
_HOURLY_FESTIVAL[1] = 5.0
_HOURLY_FESTIVAL[20] = 10.0
_HOURLY_FESTIVAL[21] = 10.5


def _seconds_of_day(fraction: np.ndarray, festival_day: np.ndarray) -> np.ndarray:
    """Map a uniform fraction of the day to a second of the day, monotonically (keeps order within a day)."""
    knots = np.arange(25) * 3600.0
    out = np.empty(fraction.shape, dtype=np.int64)
    for mask, weights in ((~festival_day, _HOURLY_ORDINARY), (festival_day, _HOURLY_FESTIVAL)):
        cdf = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
        out[mask] = np.minimum(np.interp(fraction[mask], cdf, knots).astype(np.int64), SECONDS_PER_DAY - 1)
    return out


# ----------------------------------------------------------------------------- generation

def _weekly_spend(rng: np.random.Generator, week_index: np.ndarray) -> dict[str, np.ndarray]:
    """Spend per channel and simulated week: trend × promo flighting × jitter, with some quiet weeks."""
    n_weeks = week_index.size
    relative = week_index / np.median(week_index)
    trend = _trend(n_weeks)
    spend: dict[str, np.ndarray] = {}
    for truth in CHANNEL_TRUTH.values():
        led = np.concatenate([relative[truth.lead_weeks:], np.repeat(relative[-1], truth.lead_weeks)])
        # A seeding channel starts early and keeps spending through the promo it seeded.
        promo = np.maximum(led, relative)
        flighting = promo ** truth.promo_elasticity
        jitter = rng.lognormal(0.0, 0.22, n_weeks)
        quiet = np.ones(n_weeks)
        n_quiet = n_weeks * 9 // 104
        quiet_weeks = rng.choice(n_weeks, size=n_quiet, replace=False)
        quiet[quiet_weeks] = rng.uniform(0.2, 0.45, size=n_quiet)
        raw = truth.base_weekly_spend * trend * flighting * jitter * quiet
        spend[truth.channel] = np.round(raw, 2)
    return spend


def _trend(n_weeks: int) -> np.ndarray:
    """Growth of spend and organic demand per simulated week, 1.0 in the first week of the window."""
    return (1.0 + YEARLY_GROWTH) ** ((np.arange(n_weeks) - WARM_UP_WEEKS) / 52.0)


def _draw_categories(rng: np.random.Generator, mix: dict[str, float], size: int) -> np.ndarray:
    """Codes into ``CHANNELS`` drawn from a name → probability mix."""
    codes = np.array([CHANNELS.index(name) for name in mix])
    probabilities = np.array(list(mix.values()), dtype=float)
    return codes[rng.choice(len(codes), size=size, p=probabilities / probabilities.sum())]


def _days_in_weeks(rng: np.random.Generator, weeks: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """A simulated day for each acquisition in the given weeks, proportional to daily demand."""
    per_week = demand.reshape(-1, 7)
    cdf = np.cumsum(per_week, axis=1) / per_week.sum(axis=1, keepdims=True)
    u = rng.random(weeks.size)
    offset = (u[:, None] > cdf[weeks]).sum(axis=1)
    days: np.ndarray = weeks * 7 + np.minimum(offset, 6)
    return days


def generate(seed: int = DEFAULT_SEED) -> SampleStore:
    """Simulate the sample store. The same seed always gives the same tables (and file bytes).

    The simulation starts ``WARM_UP_WEEKS`` before the window so the store already has
    a customer base on 2024-10-07; only orders inside the window are kept, and the
    buyers who first ordered before it are listed in ``truth.pre_window_buyer_ids``.
    """
    rng = np.random.default_rng(seed)
    n_weeks = WARM_UP_WEEKS + N_WEEKS
    n_days = n_weeks * 7
    window_week = np.arange(WARM_UP_WEEKS, n_weeks)
    demand = daily_demand_index(promo_calendar(SIMULATION_START, LAST_DAY), SIMULATION_START, n_days)
    week_index = demand.reshape(n_weeks, 7).mean(axis=1)
    week_starts = pd.date_range(FIRST_DAY, periods=N_WEEKS, freq="7D")

    # --- paid acquisition: spend → adstock → Hill → noisy counts
    spend = _weekly_spend(rng, week_index)
    expected_rows = []
    acquired_week: list[np.ndarray] = []
    acquired_channel: list[np.ndarray] = []
    paid_counts: dict[str, np.ndarray] = {}
    for code, channel_name in enumerate(CHANNELS):
        known = CHANNEL_TRUTH[channel_name]
        adstocked = geometric_adstock(spend[channel_name], known.theta)
        expected = known.expected_new_customers(adstocked)
        counts = rng.poisson(expected * rng.lognormal(0.0, known.noise_sigma, n_weeks))
        paid_counts[channel_name] = counts
        acquired_week.append(np.repeat(np.arange(n_weeks), counts))
        acquired_channel.append(np.full(counts.sum(), code))
        expected_rows.append(pd.DataFrame({
            "week": week_starts, "channel": channel_name, "spend": spend[channel_name][window_week],
            "adstocked_spend": adstocked[window_week], "expected_new_customers": expected[window_week],
        }))

    # --- organic first orders (no paid channel): shelf search and walk-ins
    organic_counts = rng.poisson(ORGANIC_NEW_PER_WEEK * _trend(n_weeks) * (week_index / np.median(week_index)) ** 0.8)
    organic_week = np.repeat(np.arange(n_weeks), organic_counts)
    organic_channel = _draw_categories(rng, ORGANIC_FIRST_ORDER_MIX, organic_week.size)

    first_week = np.concatenate(acquired_week + [organic_week])
    first_channel = np.concatenate(acquired_channel + [organic_channel])
    n_customers = first_week.size

    # --- customer traits: purchase rate, dropout, basket size, channel habit
    rate_factor = np.array([CHANNEL_RATE_FACTOR[c] for c in CHANNELS])[first_channel]
    dropout_factor = np.array([CHANNEL_DROPOUT_FACTOR[c] for c in CHANNELS])[first_channel]
    purchase_rate = rng.gamma(PURCHASE_RATE_SHAPE, PURCHASE_RATE_MEAN_PER_DAY / PURCHASE_RATE_SHAPE, n_customers)
    purchase_rate = np.minimum(purchase_rate * rate_factor, PURCHASE_RATE_CAP_PER_DAY)
    dropout = np.minimum(rng.beta(DROPOUT_BETA_A, DROPOUT_BETA_B, n_customers) * dropout_factor, 0.95)
    basket_level = (TYPICAL_ORDER_VALUE * (purchase_rate / PURCHASE_RATE_MEAN_PER_DAY) ** 0.12
                    * rng.lognormal(0.0, 0.25, n_customers))
    sticks_to_acquirer = rng.random(n_customers) < HABIT_CUSTOMER_SHARE

    # --- time: a demand-warped clock, so repeat purchases follow the promo calendar
    cumulative = np.concatenate([[0.0], np.cumsum(demand)])  # warped time at the start of each day
    festival_day = demand >= 4.0
    clock_end = cumulative[-1]
    last_second = n_days * SECONDS_PER_DAY - 1

    first_day = _days_in_weeks(rng, first_week, demand)
    first_fraction = rng.random(n_customers)
    first_second = first_day * SECONDS_PER_DAY + _seconds_of_day(first_fraction, festival_day[first_day])

    order_customer = [np.arange(n_customers)]
    order_second = [first_second]
    order_channel = [first_channel]

    alive = np.arange(n_customers)
    clock = cumulative[first_day] + demand[first_day] * first_fraction
    previous = first_second
    while alive.size:
        # BG/NBD: after each purchase a customer may drop out for good.
        stays = rng.random(alive.size) >= dropout[alive]
        alive, clock, previous = alive[stays], clock[stays], previous[stays]
        clock = clock + rng.standard_exponential(alive.size) / purchase_rate[alive]
        inside = clock < clock_end
        alive, clock, previous = alive[inside], clock[inside], previous[inside]
        day = np.searchsorted(cumulative, clock, side="right") - 1
        fraction = (clock - cumulative[day]) / demand[day]
        second = day * SECONDS_PER_DAY + _seconds_of_day(fraction, festival_day[day])
        second = np.maximum(second, previous + 60)  # strictly after the previous order
        inside = second <= last_second
        alive, clock, second = alive[inside], clock[inside], second[inside]
        habit = sticks_to_acquirer[alive] & (rng.random(alive.size) < HABIT_ORDER_SHARE)
        channel = np.where(habit, first_channel[alive], _draw_categories(rng, REPEAT_CHANNEL_MIX, alive.size))
        order_customer.append(alive)
        order_second.append(second)
        order_channel.append(channel)
        previous = second

    customer = np.concatenate(order_customer)
    second = np.concatenate(order_second)
    channel = np.concatenate(order_channel)

    # --- amounts and quantities (drawn for every simulated order, so the window does not shift the stream)
    day = second // SECONDS_PER_DAY
    promo_basket = np.where(demand[day] >= 1.8, 1.15, 1.0)
    amount = basket_level[customer] * promo_basket * rng.lognormal(0.0, 0.45, customer.size)
    amount_cents = np.maximum(np.round(amount * 100).astype(np.int64), 990)
    unit_price = rng.lognormal(np.log(95.0), 0.35, customer.size)
    quantity = np.clip(np.round(amount_cents / 100 / unit_price), 1, 20).astype(np.int64)

    # --- keep the window only
    window_start_second = WARM_UP_WEEKS * 7 * SECONDS_PER_DAY
    in_window = second >= window_start_second
    customer, second, channel = customer[in_window], second[in_window], channel[in_window]
    amount_cents, quantity = amount_cents[in_window], quantity[in_window]
    second = second - window_start_second
    n_purchases = customer.size
    window_last_second = N_DAYS * SECONDS_PER_DAY - 1

    # --- refunds: a separate row, negative amount, a few days later
    impulse = np.isin(channel, [CHANNELS.index(c) for c in HIGH_REFUND_CHANNELS])
    refund_rate = np.where(impulse, REFUND_RATE * 1.5, REFUND_RATE * 0.8)
    refunded = np.flatnonzero(rng.random(n_purchases) < refund_rate)
    refund_second = (second[refunded] + rng.integers(1, 8, refunded.size) * SECONDS_PER_DAY
                     + rng.integers(-4 * 3600, 4 * 3600, refunded.size))
    keep = refund_second <= window_last_second
    refunded, refund_second = refunded[keep], refund_second[keep]

    all_customer = np.concatenate([customer, customer[refunded]])
    all_second = np.concatenate([second, refund_second])
    all_cents = np.concatenate([amount_cents, -amount_cents[refunded]])
    all_quantity = np.concatenate([quantity, -quantity[refunded]])
    all_channel = np.concatenate([channel, channel[refunded]])
    all_is_refund = np.concatenate([np.zeros(n_purchases, bool), np.ones(refunded.size, bool)])
    n_rows = all_customer.size

    # --- identifiers: buyers numbered by first order ever (member numbers), 18-digit order ids
    member_number = np.empty(n_customers, dtype=np.int64)
    member_number[np.lexsort((np.arange(n_customers), first_second))] = np.arange(1, n_customers + 1)
    buyer_ids = np.char.add("u", np.char.zfill(member_number.astype(str), 7))
    suffix = rng.choice(9_000_000_000, size=n_rows, replace=False) + 1_000_000_000
    timestamps = np.datetime64(FIRST_DAY, "s") + all_second.astype("timedelta64[s]")
    date_prefix = np.char.replace(np.datetime_as_string(timestamps, unit="D"), "-", "")
    order_ids = np.char.add(date_prefix, suffix.astype(str))

    order_sort = np.lexsort((order_ids, all_second))
    orders = pd.DataFrame({
        "订单编号": pd.array(order_ids[order_sort], dtype="str"),
        "买家ID": pd.array(buyer_ids[all_customer[order_sort]], dtype="str"),
        "付款时间": timestamps[order_sort],
        "实付金额": all_cents[order_sort] / 100.0,
        "商品数量": all_quantity[order_sort],
        "渠道": pd.array(np.array(CHANNELS)[all_channel[order_sort]], dtype="str"),
        "订单状态": pd.array(np.where(all_is_refund[order_sort], STATUS_REFUNDED, STATUS_PURCHASE), dtype="str"),
    })
    pre_window = np.unique(customer[first_second[customer] < window_start_second])

    # --- weekly channel table: spend, reach, paid new customers, and what each channel sold
    purchase_week = second // (7 * SECONDS_PER_DAY)
    sold = np.zeros((N_WEEKS, len(CHANNELS)), dtype=np.int64)
    np.add.at(sold, (purchase_week, channel), 1)
    revenue_cents = np.zeros((N_WEEKS, len(CHANNELS)), dtype=np.int64)
    np.add.at(revenue_cents, (purchase_week, channel), amount_cents)
    window_index = week_index[window_week] / np.median(week_index)
    channel_frames = []
    for code, name in enumerate(CHANNELS):
        known = CHANNEL_TRUTH[name]
        window_spend = spend[name][window_week]
        # Auctions get dearer in promo weeks.
        cpm = np.clip(known.cpm * window_index ** 0.3 * rng.lognormal(0.0, 0.08, N_WEEKS), 20.0, 80.0)
        ctr = np.clip(known.ctr * rng.lognormal(0.0, 0.1, N_WEEKS), 0.005, 0.03)
        impressions = np.round(window_spend / cpm * 1000).astype(np.int64)
        clicks = np.round(impressions * ctr).astype(np.int64)
        channel_frames.append(pd.DataFrame({
            "week": week_starts,
            "channel": name,
            "spend": window_spend,
            "impressions": impressions,
            "clicks": clicks,
            "new_customers": paid_counts[name][window_week].astype(np.int64),
            "orders": sold[:, code],
            "revenue": revenue_cents[:, code] / 100.0,
        }))
    channels = pd.concat(channel_frames, ignore_index=True)
    channels["channel"] = channels["channel"].astype("str")
    channels = channels.sort_values(["week"], kind="stable").reset_index(drop=True)

    organic_table = np.zeros((n_weeks, len(CHANNELS)), dtype=np.int64)
    np.add.at(organic_table, (organic_week, organic_channel), 1)
    organic_frame = pd.DataFrame({
        "week": np.repeat(week_starts, len(CHANNELS)),
        "channel": np.tile(np.array(CHANNELS), N_WEEKS),
        "new_customers": organic_table[window_week].reshape(-1),
    })
    window_customers = np.unique(customer)
    truth = SampleTruth(
        channels=dict(CHANNEL_TRUTH),
        seed=seed,
        as_of=AS_OF,
        daily_demand_index=pd.Series(demand[WARM_UP_WEEKS * 7:],
                                     index=pd.date_range(FIRST_DAY, periods=N_DAYS, freq="D")),
        promo_events=promo_calendar(),
        paid_new_expected=pd.concat(expected_rows, ignore_index=True),
        organic_new_customers=organic_frame,
        pre_window_buyer_ids=frozenset(buyer_ids[pre_window].tolist()),
        buyers=int(window_customers.size),
    )
    return SampleStore(orders=orders, channels=channels, truth=truth)


# ----------------------------------------------------------------------------- files

def _money_text(values: pd.Series) -> pd.Series:
    """Two-decimal text of CNY amounts, exact (from integer cents, not float formatting)."""
    cents = np.round(values.to_numpy(dtype=float) * 100).astype(np.int64)
    sign = np.where(cents < 0, "-", "")
    magnitude = np.abs(cents)
    whole = (magnitude // 100).astype(str)
    fraction = np.char.zfill((magnitude % 100).astype(str), 2)
    return pd.Series(np.char.add(np.char.add(np.char.add(sign, whole), "."), fraction), index=values.index)


def orders_csv_bytes(store: SampleStore) -> bytes:
    """The orders table as the shipped CSV text (UTF-8, no BOM, Chinese headers, ``\\n`` line ends)."""
    frame = store.orders
    text = pd.DataFrame({
        "订单编号": frame["订单编号"],
        "买家ID": frame["买家ID"],
        "付款时间": np.char.replace(np.datetime_as_string(frame["付款时间"].to_numpy(dtype="datetime64[s]"),
                                                          unit="s"), "T", " "),
        "实付金额": _money_text(frame["实付金额"]),
        "商品数量": frame["商品数量"].astype(np.int64).astype(str),
        "渠道": frame["渠道"],
        "订单状态": frame["订单状态"],
    })
    return text.to_csv(index=False, lineterminator="\n").encode("utf-8")


def channels_csv_bytes(store: SampleStore) -> bytes:
    """The weekly channel table as the shipped CSV text (UTF-8, English headers, ``\\n`` line ends)."""
    frame = store.channels
    text = pd.DataFrame({
        "week": pd.DatetimeIndex(frame["week"]).strftime("%Y-%m-%d"),
        "channel": frame["channel"],
        "spend": _money_text(frame["spend"]),
        "impressions": frame["impressions"].astype(np.int64).astype(str),
        "clicks": frame["clicks"].astype(np.int64).astype(str),
        "new_customers": frame["new_customers"].astype(np.int64).astype(str),
        "orders": frame["orders"].astype(np.int64).astype(str),
        "revenue": _money_text(frame["revenue"]),
    })
    return text.to_csv(index=False, lineterminator="\n").encode("utf-8")


def gzip_bytes(data: bytes) -> bytes:
    """Gzip with no file name and mtime 0, so the same input always gives the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as handle:
        handle.write(data)
    return buffer.getvalue()


def write_sample_files(directory: Path = SAMPLE_DATA_DIR, seed: int = DEFAULT_SEED) -> list[Path]:
    """Generate the store and write ``orders.csv.gz`` and ``channels.csv`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    store = generate(seed)
    orders_path = directory / ORDERS_FILENAME
    channels_path = directory / CHANNELS_FILENAME
    orders_path.write_bytes(gzip_bytes(orders_csv_bytes(store)))
    channels_path.write_bytes(channels_csv_bytes(store))
    return [orders_path, channels_path]


def main(argv: list[str] | None = None) -> int:
    """Command line: regenerate the shipped sample files."""
    parser = argparse.ArgumentParser(description="Regenerate the sample store files.")
    parser.add_argument("--out", type=Path, default=SAMPLE_DATA_DIR, help="directory to write into")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    args = parser.parse_args(argv)
    for path in write_sample_files(args.out, args.seed):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
