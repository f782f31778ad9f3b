"""The plan's headline numbers for a period against the previous one: GMV, CAC, repurchase, ….

Why: the overview page, the CLI's ``kpis`` command, scenarios and the review pack
all quote the same KPIs; defining them once (in SQL over the workspace) keeps the
numbers identical wherever they appear. Every KPI's definition lives in
``KPI_DEFINITIONS`` (i18n keys), so the page's help text says exactly what is
computed here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from lib.workspace import Workspace

KPI_KEYS: tuple[str, ...] = (
    "gmv", "orders", "customers", "new_customers", "aov", "repurchase_rate", "spend", "cac", "roas", "ltv_cac",
)
# Whether a rise is good news: drives the colour of a delta.
KPI_HIGHER_IS_BETTER: dict[str, bool] = {k: k not in ("cac", "spend") for k in KPI_KEYS}


@dataclass(frozen=True)
class Period:
    """An inclusive date range."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)


def quarter_of(day: date) -> Period:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    end_month = first_month + 2
    next_start = date(day.year + (end_month == 12), end_month % 12 + 1, 1)
    return Period(start, next_start - timedelta(days=1))


def latest_full_quarter(first: date, last: date) -> Period | None:
    """The last calendar quarter fully inside [first, last], or None."""
    quarter = quarter_of(last)
    if quarter.end != last:
        quarter = quarter_of(quarter.start - timedelta(days=1))
    return quarter if quarter.start >= first else None


def default_period(first: date, last: date) -> Period:
    """The latest full quarter when the data holds one, otherwise the last 30 days."""
    quarter = latest_full_quarter(first, last)
    if quarter:
        return quarter
    return Period(max(first, last - timedelta(days=29)), last)


@dataclass(frozen=True)
class KpiSet:
    gmv: float
    orders: int
    customers: int
    new_customers: int
    aov: float | None
    repurchase_rate: float | None
    spend: float | None
    cac: float | None
    roas: float | None
    ltv_cac: float | None
    refunds: float
    ltv: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return float(a) / float(b)


_PERIOD_SQL = """
WITH p AS (
    SELECT customer_id, order_ts, amount
    FROM orders
    WHERE dataset_id = $ds AND NOT is_refund
),
firsts AS (
    SELECT customer_id, min(order_ts)::DATE AS first_day
    FROM p WHERE customer_id IS NOT NULL GROUP BY customer_id
),
in_period AS (
    SELECT * FROM p WHERE order_ts::DATE BETWEEN $start AND $end
),
per_customer AS (
    SELECT customer_id, count(*) AS n FROM in_period WHERE customer_id IS NOT NULL GROUP BY customer_id
),
trailing_year AS (
    SELECT count(*) AS n_orders, count(DISTINCT customer_id) AS n_customers, sum(amount) AS revenue
    FROM p
    WHERE customer_id IS NOT NULL AND order_ts::DATE BETWEEN $end - INTERVAL 364 DAY AND $end
)
SELECT
    (SELECT coalesce(sum(amount), 0) FROM in_period) AS gmv,
    (SELECT count(*) FROM in_period) AS orders,
    (SELECT count(*) FROM per_customer) AS customers,
    (SELECT count(*) FROM per_customer WHERE n >= 2) AS repeaters,
    (SELECT count(*) FROM firsts WHERE first_day BETWEEN $start AND $end) AS new_customers,
    (SELECT coalesce(-sum(amount), 0) FROM orders
        WHERE dataset_id = $ds AND is_refund AND order_ts::DATE BETWEEN $start AND $end) AS refunds,
    (SELECT sum(spend) FROM channel_spend WHERE dataset_id = $ds AND period_start BETWEEN $start AND $end) AS spend,
    (SELECT count(*) FROM channel_spend WHERE dataset_id = $ds) AS channel_rows,
    trailing_year.n_orders, trailing_year.n_customers, trailing_year.revenue
FROM trailing_year
"""


def compute_kpis(ws: Workspace, dataset_id: int, period: Period) -> KpiSet:
    """KPIs of one period. Definitions: see KPI_DEFINITIONS and the i18n help texts.

    - GMV: purchases (refunds excluded, guest orders included).
    - customers: distinct identified customers with a purchase in the period.
    - new customers: customers whose first purchase ever falls in the period.
    - repurchase rate: share of the period's customers with 2+ orders in it.
    - spend: channel data spend in the period (None without channel data).
    - CAC: spend ÷ new customers. ROAS: GMV ÷ spend (blended, also called MER).
    - LTV: AOV × orders per customer over the 12 months ending with the period.
    """
    with ws.cursor() as cur:
        row = cur.execute(_PERIOD_SQL, {"ds": dataset_id, "start": period.start, "end": period.end}).fetchall()[0]
    (gmv, orders, customers, repeaters, new_customers, refunds, spend, channel_rows,
     trailing_orders, trailing_customers, trailing_revenue) = row
    spend_value = float(spend) if channel_rows and spend is not None else None
    aov = _div(gmv, orders)
    trailing_aov = _div(trailing_revenue, trailing_orders)
    orders_per_customer = _div(trailing_orders, trailing_customers)
    ltv = trailing_aov * orders_per_customer if trailing_aov and orders_per_customer else None
    cac = _div(spend_value, new_customers) if spend_value else None
    return KpiSet(
        gmv=float(gmv or 0), orders=int(orders), customers=int(customers), new_customers=int(new_customers),
        aov=aov, repurchase_rate=_div(repeaters, customers), spend=spend_value, cac=cac,
        roas=_div(gmv, spend_value) if spend_value else None, ltv_cac=_div(ltv, cac) if cac else None,
        refunds=float(refunds or 0), ltv=ltv,
    )


def compare(current: KpiSet, previous: KpiSet) -> dict[str, float | None]:
    """Relative change per KPI (repurchase rate: difference in points)."""
    out: dict[str, float | None] = {}
    for key in KPI_KEYS:
        now, before = getattr(current, key), getattr(previous, key)
        if now is None or before is None:
            out[key] = None
        elif key == "repurchase_rate":
            out[key] = now - before
        else:
            out[key] = _div(now - before, abs(before)) if before else None
    return out


def weekly_trend(ws: Workspace, dataset_id: int, period: Period | None = None) -> pd.DataFrame:
    """Per week (Monday): GMV, orders, new customers and spend — one row per week, ready to chart."""
    params: dict[str, Any] = {"ds": dataset_id}
    where = ""
    if period:
        where = "AND order_ts::DATE BETWEEN $start AND $end"
        params.update(start=period.start, end=period.end)
    spend_where = "AND period_start BETWEEN $start AND $end" if period else ""
    sql = f"""
    WITH firsts AS (
        SELECT customer_id, min(order_ts) AS first_ts FROM orders
        WHERE dataset_id = $ds AND NOT is_refund AND customer_id IS NOT NULL GROUP BY customer_id
    ), sales AS (
        SELECT date_trunc('week', order_ts)::DATE AS week, sum(amount) AS gmv, count(*) AS orders
        FROM orders WHERE dataset_id = $ds AND NOT is_refund {where} GROUP BY 1
    ), news AS (
        SELECT date_trunc('week', first_ts)::DATE AS week, count(*) AS new_customers
        FROM firsts WHERE TRUE {where.replace('order_ts', 'first_ts')} GROUP BY 1
    ), spend AS (
        SELECT date_trunc('week', period_start)::DATE AS week, sum(spend) AS spend
        FROM channel_spend WHERE dataset_id = $ds {spend_where} GROUP BY 1
    )
    SELECT week, coalesce(gmv, 0) AS gmv, coalesce(orders, 0) AS orders,
           coalesce(new_customers, 0) AS new_customers, spend
    FROM sales FULL OUTER JOIN news USING (week) FULL OUTER JOIN spend USING (week)
    ORDER BY week
    """
    return ws.query_df(sql, params)


def channel_mix(ws: Workspace, dataset_id: int, period: Period) -> pd.DataFrame:
    """Per channel: GMV and orders from the order file, spend from channel data, with shares."""
    sql = """
    WITH sales AS (
        SELECT coalesce(channel, '—') AS channel, sum(amount) AS gmv, count(*) AS orders
        FROM orders WHERE dataset_id = $ds AND NOT is_refund AND order_ts::DATE BETWEEN $start AND $end
        GROUP BY 1
    ), spend AS (
        SELECT channel, sum(spend) AS spend FROM channel_spend
        WHERE dataset_id = $ds AND period_start BETWEEN $start AND $end GROUP BY 1
    )
    SELECT channel, coalesce(gmv, 0) AS gmv, coalesce(orders, 0) AS orders, spend,
           coalesce(gmv, 0) / nullif(sum(gmv) OVER (), 0) AS gmv_share,
           spend / nullif(sum(spend) OVER (), 0) AS spend_share
    FROM sales FULL OUTER JOIN spend USING (channel)
    ORDER BY gmv DESC NULLS LAST, spend DESC NULLS LAST
    """
    return ws.query_df(sql, {"ds": dataset_id, "start": period.start, "end": period.end})


def data_range(ws: Workspace, dataset_id: int) -> tuple[date, date] | None:
    """First and last purchase day of a dataset (falls back to channel data), or None when empty."""
    rows = ws.query_rows(
        "SELECT min(order_ts)::DATE, max(order_ts)::DATE FROM orders WHERE dataset_id = ? AND NOT is_refund",
        [dataset_id],
    )
    if rows and rows[0][0] is not None:
        return rows[0][0], rows[0][1]
    rows = ws.query_rows(
        "SELECT min(period_start), max(period_start) FROM channel_spend WHERE dataset_id = ?", [dataset_id]
    )
    if rows and rows[0][0] is not None:
        return rows[0][0], rows[0][1] + timedelta(days=6)
    return None
