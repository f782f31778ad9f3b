"""The measured base quarter (b.7) and the response curves fitted for it: what every scenario is evaluated on.

Why it exists: the page, ``cli scenario`` and the review pack all start from the same
baseline — the latest full calendar quarter decomposed into new, returning and other
revenue, spend and CAC — and the same weekly new-customer curves (``lib.channels.curves``),
fitted on the data source the baseline chose. :func:`lib.scenarios.model.prepare` builds
both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from lib.channels import curves as curves_mod
from lib.channels.curves import CurveFit
from lib.i18n import t
from lib.kpis import Period, PeriodFacts, data_range, latest_full_quarter, period_facts
from lib.metrics import dataset_ledger, first_orders_sql, order_source, source_params
from lib.scenarios.inputs import LOOKBACK_DAYS, NewCustomersSource, ScenarioError
from lib.scenarios.jsonable import jsonable_dict, num
from lib.workspace import Workspace

@dataclass(frozen=True)
class Baseline:
    """The base quarter Q decomposed as in b.7, from the same period facts as the KPIs (:func:`kpis.period_facts`).

    Customers are identified buyers (guest orders count in revenue only); revenue is
    net sales. C is the customer base at Q's start (an order in the 365 days before
    Q); the repurchase rate r is the share of C who ordered in Q — the Overview's
    "Repurchase rate", not its "Repeat-buyer share"; new customers placed their first
    order ever in Q.
    """

    dataset_id: int
    quarter_start: date
    quarter_end: date
    revenue: float  # R_base: net sales in Q (lib.metrics; guests included)
    orders: int
    customer_base: int  # C
    repurchasers: int  # customers of C who bought in Q
    repurchase_rate: float  # r_base = repurchasers / C
    retained_orders: int
    orders_per_repurchaser: float  # f_ret
    aov_retained: float  # AOV_ret
    retained_revenue: float  # R_ret
    new_customers: int  # N_base
    new_orders: int
    orders_per_new_customer: float  # f_new
    aov_new: float  # AOV_new
    new_revenue: float  # R_new
    reactivated_customers: int  # bought in Q, last purchase more than a year before
    reactivated_revenue: float
    guest_revenue: float
    spend: float  # all channel spend in Q
    cac: float  # CAC_base = spend / N_base (blended)
    customer_base_next: int  # C_next: a purchase in the 365 days ending at Q's end
    ltv: float | None  # AOV × orders per customer over the 12 months ending at Q's end (as in kpis)
    paid_new_customers: float  # credited to channels with spend in Q
    organic_new_customers: float  # N_base − paid (never below 0)
    new_customers_source: NewCustomersSource
    channel_spend: Mapping[str, float] = field(default_factory=dict)
    channel_new_customers: Mapping[str, float] = field(default_factory=dict)
    history_days: int = 0  # days of orders before Q
    attribution_exceeds_orders: bool = False  # channels claim more new customers than the orders show

    @property
    def quarter(self) -> Period:
        return Period(self.quarter_start, self.quarter_end)

    @property
    def other_revenue(self) -> float:
        """R_other = R_base − R_new − R_ret: guests and customers back after more than a year."""
        return self.revenue - self.new_revenue - self.retained_revenue

    @property
    def aov(self) -> float:
        return self.revenue / self.orders if self.orders else 0.0

    @property
    def paid_cac(self) -> float | None:
        return self.spend / self.paid_new_customers if self.paid_new_customers > 0 else None

    @property
    def ltv_cac(self) -> float | None:
        return self.ltv / self.cac if self.ltv and self.cac else None

    @property
    def short_history(self) -> bool:
        """Fewer than 365 days of orders before Q: C is undercounted and N overcounted."""
        return self.history_days < LOOKBACK_DAYS

    def quarter_label(self, lang: str = "en") -> str:
        q = (self.quarter_start.month - 1) // 3 + 1
        if self.quarter_end == quarter_end(self.quarter_start):
            return t("scenarios.quarter", lang, year=self.quarter_start.year, q=q)
        return f"{self.quarter_start.isoformat()} – {self.quarter_end.isoformat()}"

    def to_dict(self) -> dict[str, Any]:
        data = jsonable_dict(asdict(self))
        data.update(
            other_revenue=num(self.other_revenue), aov=num(self.aov), paid_cac=num(self.paid_cac),
            ltv_cac=num(self.ltv_cac), short_history=self.short_history,
        )
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Baseline:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("quarter_start", "quarter_end"):
            if isinstance(known.get(key), str):
                known[key] = date.fromisoformat(known[key])
        return cls(**known)


def quarter_end(start: date) -> date:
    month = start.month + 3
    nxt = date(start.year + (month > 12), (month - 1) % 12 + 1, 1)
    return nxt - timedelta(days=1)


_CHANNEL_SQL = """
SELECT channel, sum(spend) AS spend, sum(new_customers) AS new_customers,
       count(new_customers) AS reported
FROM channel_spend
WHERE dataset_id = ? AND period_start BETWEEN ? AND ?
GROUP BY channel
ORDER BY channel
"""


def _first_order_channel_sql(source: Any) -> str:
    """New customers per first-order channel in ``$start`` … ``$end`` (``source``: the dataset's in-place files, if any)."""
    return f"""
    SELECT coalesce(channel, '') AS channel, count(*) AS new_customers
    FROM ({first_orders_sql(dataset_ledger("ds", source))}) AS firsts WHERE first_day BETWEEN $start AND $end
    GROUP BY 1 ORDER BY 1
    """


def _base_quarter(ws: Workspace, dataset_id: int, quarter: Period | None) -> Period:
    """The quarter asked for, or the latest full calendar quarter; ``ScenarioError`` without orders or a full quarter."""
    span = data_range(ws, dataset_id)
    src = order_source(ws, dataset_id)
    if span is None or not ws.query_rows(
        f"SELECT count(*) FROM ({dataset_ledger('ds', src)}) AS ledger WHERE is_order",
        {"ds": int(dataset_id), **source_params("ds", src)},
    )[0][0]:
        raise ScenarioError("scenarios.error.no_orders")
    if quarter is None:
        quarter = latest_full_quarter(*span)
        if quarter is None:
            raise ScenarioError("scenarios.error.no_full_quarter", first=span[0].isoformat(), last=span[1].isoformat())
    return quarter


def _channel_new_customers(
    ws: Workspace, dataset_id: int, quarter: Period, channels: pd.DataFrame, channel_spend: Mapping[str, float]
) -> tuple[NewCustomersSource, dict[str, float]]:
    """New customers per channel: as the channel data reports them, else by each customer's first-order channel."""
    if len(channels) and int(channels["reported"].sum()) > 0:
        reported = channels[channels["reported"].astype(bool) & channels["new_customers"].notna()]
        return "channel_data", dict(zip(reported["channel"].astype(str), reported["new_customers"].astype(float)))
    src = order_source(ws, dataset_id)
    params = {**source_params("ds", src), "ds": int(dataset_id), "start": quarter.start, "end": quarter.end}
    firsts = ws.query_df(_first_order_channel_sql(src), params)
    counts = dict(zip(firsts["channel"].astype(str), firsts["new_customers"].astype(float)))
    return "first_order_channel", {name: n for name, n in counts.items() if channel_spend.get(name, 0.0) > 0}


def measure_baseline(ws: Workspace, dataset_id: int, quarter: Period | None = None, *, require_spend: bool = True
                     ) -> Baseline:
    """Measure the base quarter (default: the latest full calendar quarter in the data).

    Raises ``ScenarioError`` (with an i18n key) when the dataset has no orders, no full
    quarter, no channel spend in the quarter, or no new customers to compute a CAC from.
    New customers per channel come from the channel data's ``new_customers`` when it
    reports them, otherwise from each customer's first-order channel
    (``new_customers_source`` says which).
    """
    quarter = _base_quarter(ws, dataset_id, quarter)
    facts = period_facts(ws, int(dataset_id), quarter)
    if not facts.orders:
        raise ScenarioError("scenarios.error.no_orders_in_quarter", quarter=period_text(quarter))
    channels = ws.query_df(_CHANNEL_SQL, [int(dataset_id), quarter.start, quarter.end])
    spend_total = float(channels["spend"].sum()) if len(channels) else 0.0
    if require_spend and (channels.empty or spend_total <= 0):
        raise ScenarioError("scenarios.error.no_channel_spend", quarter=period_text(quarter))
    if not facts.new_customers:
        raise ScenarioError("scenarios.error.no_new_customers", quarter=period_text(quarter))
    channel_spend = dict(zip(channels["channel"].astype(str), channels["spend"].astype(float)))
    source, channel_new = _channel_new_customers(ws, dataset_id, quarter, channels, channel_spend)
    return _decompose(int(dataset_id), quarter, facts, spend_total, source, channel_spend, channel_new)


def _decompose(dataset_id: int, quarter: Period, facts: PeriodFacts, spend_total: float, source: NewCustomersSource,
               channel_spend: dict[str, float], channel_new: dict[str, float]) -> Baseline:
    """The quarter's facts as b.7's parts: rates, orders per customer and AOVs per group, CAC, paid and organic."""
    paid = float(sum(v for k, v in channel_new.items() if channel_spend.get(k, 0.0) > 0))
    n_new = facts.new_customers
    return Baseline(
        dataset_id=dataset_id,
        quarter_start=quarter.start,
        quarter_end=quarter.end,
        revenue=facts.net_sales,
        orders=facts.orders,
        customer_base=facts.base_customers,
        repurchasers=facts.returning_customers,
        repurchase_rate=facts.returning_customers / facts.base_customers if facts.base_customers else 0.0,
        retained_orders=facts.returning_orders,
        orders_per_repurchaser=(facts.returning_orders / facts.returning_customers
                                if facts.returning_customers else 0.0),
        aov_retained=facts.returning_net_sales / facts.returning_orders if facts.returning_orders else 0.0,
        retained_revenue=facts.returning_net_sales,
        new_customers=n_new,
        new_orders=facts.new_orders,
        orders_per_new_customer=facts.new_orders / n_new,
        aov_new=facts.new_net_sales / facts.new_orders if facts.new_orders else 0.0,
        new_revenue=facts.new_net_sales,
        reactivated_customers=facts.reactivated_customers,
        reactivated_revenue=facts.reactivated_net_sales,
        guest_revenue=facts.guest_net_sales,
        spend=spend_total,
        cac=spend_total / n_new,
        customer_base_next=facts.next_base_customers,
        ltv=facts.ltv,
        paid_new_customers=paid,
        organic_new_customers=max(0.0, n_new - paid),
        new_customers_source=source,
        channel_spend=channel_spend,
        channel_new_customers=channel_new,
        history_days=max(0, (quarter.start - facts.first_day).days) if facts.first_day else 0,
        attribution_exceeds_orders=paid > n_new,
    )


def period_text(period: Period) -> str:
    return f"{period.start.isoformat()} – {period.end.isoformat()}"


def scenario_curves(ws: Workspace, dataset_id: int, source: NewCustomersSource | None = None) -> dict[str, CurveFit]:
    """Weekly new-customer response curves per channel for the scenarios (fitted with ``lib.channels.curves``).

    With channel data that reports new customers the curves are fitted on it. Without,
    each week's new customers per channel are counted by first-order channel from the
    orders and the fit may include an organic baseline (``baseline="auto"``): a channel's
    first orders include shoppers its spend did not bring. Channels without enough data
    are left out (the scenario holds them at last quarter's spend and result).
    """
    frame = curves_mod.weekly_channel_frame(ws, dataset_id, "new_customers")
    if frame.empty:
        return {}
    if source is None:
        source = "channel_data" if frame["response"].notna().any() else "first_order_channel"
    if source == "channel_data":
        fits = curves_mod.fit_all(frame, metric="new_customers")
    else:
        firsts = ws.query_df(
            f"""
            SELECT channel, CAST(date_trunc('week', first_ts) AS DATE) AS week, count(*) AS first_orders
            FROM ({first_orders_sql(dataset_ledger("ds", order_source(ws, dataset_id)))}) AS firsts
            WHERE channel IS NOT NULL GROUP BY ALL
            """,
            {"ds": int(dataset_id), **source_params("ds", order_source(ws, dataset_id))},
        )
        firsts["week"] = pd.to_datetime(firsts["week"])
        merged = frame.drop(columns="response").merge(firsts, on=["channel", "week"], how="left")
        merged["response"] = merged["first_orders"].fillna(0.0).astype(float)
        fits = curves_mod.fit_all(merged.drop(columns="first_orders"), metric="new_customers", baseline="auto")
    return curves_mod.apply_overrides(ws, dataset_id, curves_mod.usable_curves(fits), "new_customers")
