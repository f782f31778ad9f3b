"""The plan's headline numbers for a period against the previous one: GMV, net sales, CAC, repurchase, ….

Why: the overview page, the CLI's ``kpis`` command, scenarios and the review pack
all quote the same KPIs. Each is a ratio of one period's facts (:class:`PeriodFacts`),
measured by the one SQL definition in :mod:`lib.metrics` over the ledger of orders net
of their cancellations, so the numbers are identical wherever they appear and the help
texts (the glossary) say exactly what is computed.

Where the orders are: every query function takes a query target and a dataset
(:data:`Orders`): a workspace dataset by id (its ``orders`` table or its files read in
place, and its channel spend), or a :class:`lib.importing.inplace.ParquetOrders` — a Parquet path
and column mapping — on a :class:`lib.sql_engine.Engine`, where the same DuckDB text runs
on an in-memory DuckDB or, transpiled, on Spark SQL (``cli kpis --parquet``). Orders read
that way have no channel data: spend, CAC and ROAS are None.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from lib.importing.inplace import ParquetOrders
from lib.metrics import METRICS, dataset_ledger, first_orders_sql, order_source, period_facts_sql, source_params
from lib.sql_engine import QueryTarget, query_frame, query_records

KPI_KEYS: tuple[str, ...] = (
    "gmv", "net_sales", "orders", "customers", "new_customers", "aov",
    "repeat_rate", "repurchase_rate", "spend", "cac", "roas", "ltv_cac",
)
# Whether a rise is good news: drives the colour of a delta (from the one definition in lib.metrics).
KPI_HIGHER_IS_BETTER: dict[str, bool] = {k: METRICS[k].higher_is_better for k in KPI_KEYS}
# Rates whose change is shown in points rather than per cent.
RATE_KPIS: frozenset[str] = frozenset({"repeat_rate", "repurchase_rate"})


Orders = int | ParquetOrders
"""A workspace dataset id, or orders read in place from Parquet (path and mapping) on any query target."""


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

    def year_before(self) -> Period:
        """The same dates one year earlier (29 February becomes the 28th)."""
        def back(day: date) -> date:
            return day.replace(year=day.year - 1, day=min(day.day, 28 if day.month == 2 else day.day))

        return Period(back(self.start), back(self.end))

    def coverage(self, first: date, last: date) -> float:
        """Share of this period's days that the data (``first`` … ``last``) covers: 1.0 when fully inside it."""
        inside = (min(self.end, last) - max(self.start, first)).days + 1
        return max(0, inside) / self.days


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
class PeriodFacts:
    """The counts and amounts of one period, as :func:`lib.metrics.period_facts_sql` defines them.

    Every KPI and the scenario baseline are ratios of these fields; see the glossary
    (:func:`lib.metrics.glossary`) for what each counts.
    """

    start: date
    end: date
    gmv: float
    net_sales: float
    orders: int
    guest_net_sales: float
    customers: int
    repeat_customers: int
    new_customers: int
    new_orders: int
    new_net_sales: float
    base_customers: int
    returning_customers: int
    returning_orders: int
    returning_net_sales: float
    reactivated_customers: int
    reactivated_net_sales: float
    next_base_customers: int
    trailing_net_sales: float
    trailing_orders: int
    trailing_customers: int
    first_day: date | None
    spend: float | None  # None when the dataset has no channel data at all

    @property
    def refunds(self) -> float:
        """GMV − net sales: cancellations and refunds charged to the period."""
        return self.gmv - self.net_sales

    @property
    def ltv(self) -> float | None:
        """Net sales per identified customer over the 365 days ending with the period (= AOV × orders per customer)."""
        return _div(self.trailing_net_sales, self.trailing_customers) if self.trailing_orders else None


_SPEND_SQL = """
SELECT sum(spend) FILTER (WHERE period_start BETWEEN $start AND $end) AS spend, count(*) AS channel_rows
FROM channel_spend WHERE dataset_id = $ds
"""
# Channel spend of orders read from Parquet on their own: none (the typed empty relation the queries read instead).
_NO_SPEND = ("(SELECT CAST(NULL AS INTEGER) AS dataset_id, CAST(NULL AS DATE) AS period_start, "
             "CAST(NULL AS VARCHAR) AS channel, CAST(NULL AS DOUBLE) AS spend WHERE FALSE)")


def _ledger(ws: QueryTarget, dataset: Orders) -> tuple[str, dict[str, Any]]:
    """The ledger SQL of ``dataset`` and its bound parameters (``$ds``: the dataset id, 0 for Parquet orders)."""
    src: ParquetOrders | None
    if isinstance(dataset, ParquetOrders):
        src, ds = dataset, 0
    else:
        src, ds = order_source(ws, dataset), int(dataset)
    return dataset_ledger("ds", src), {"ds": ds, **source_params("ds", src)}


def _spend_relation(dataset: Orders) -> str:
    """Where the channel spend of ``dataset`` is: the workspace's ``channel_spend`` table, or nowhere."""
    return _NO_SPEND if isinstance(dataset, ParquetOrders) else "channel_spend"


def period_facts(ws: QueryTarget, dataset_id: Orders, period: Period) -> PeriodFacts:
    """Measure one period of a dataset from the ledger (one query) and its channel spend."""
    ledger, params = _ledger(ws, dataset_id)
    dates = {"start": period.start, "end": period.end}
    row = query_records(ws, period_facts_sql(ledger), {**params, **dates})[0]
    spend, channel_rows = None, 0
    if not isinstance(dataset_id, ParquetOrders):
        totals = query_records(ws, _SPEND_SQL, {"ds": params["ds"], **dates})[0]
        spend, channel_rows = totals["spend"], totals["channel_rows"]
    money_fields = {"gmv", "net_sales", "guest_net_sales", "new_net_sales", "returning_net_sales",
                    "reactivated_net_sales", "trailing_net_sales"}
    values: dict[str, Any] = {
        key: (round(float(value or 0), 2) if key in money_fields else value if key == "first_day" else int(value or 0))
        for key, value in row.items()
    }
    return PeriodFacts(
        start=period.start, end=period.end, spend=float(spend or 0.0) if channel_rows else None, **values
    )


@dataclass(frozen=True)
class KpiSet:
    """The headline KPIs of a period; each is defined once in :mod:`lib.metrics` (see its glossary)."""

    gmv: float
    net_sales: float
    refunds: float
    orders: int
    customers: int
    new_customers: int
    aov: float | None
    repeat_rate: float | None
    repurchase_rate: float | None
    spend: float | None
    cac: float | None
    roas: float | None
    roi: float | None
    ltv: float | None
    ltv_cac: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return float(a) / float(b)


def kpis_from_facts(facts: PeriodFacts) -> KpiSet:
    """The KPIs as ratios of one period's facts (definitions: ``kpi.<key>.help`` via :mod:`lib.metrics`)."""
    spend = facts.spend if facts.spend else None
    cac = _div(spend, facts.new_customers) if spend else None
    ltv = facts.ltv
    return KpiSet(
        gmv=facts.gmv, net_sales=facts.net_sales, refunds=facts.refunds, orders=facts.orders,
        customers=facts.customers, new_customers=facts.new_customers,
        aov=_div(facts.net_sales, facts.orders),
        repeat_rate=_div(facts.repeat_customers, facts.customers),
        repurchase_rate=_div(facts.returning_customers, facts.base_customers),
        spend=facts.spend, cac=cac,
        roas=_div(facts.net_sales, spend) if spend else None,
        roi=_div(facts.net_sales - spend, spend) if spend else None,
        ltv=ltv, ltv_cac=_div(ltv, cac) if cac and ltv else None,
    )


def compute_kpis(ws: QueryTarget, dataset_id: Orders, period: Period) -> KpiSet:
    """KPIs of one period: :func:`kpis_from_facts` of :func:`period_facts`."""
    return kpis_from_facts(period_facts(ws, dataset_id, period))


def compare(current: KpiSet, previous: KpiSet) -> dict[str, float | None]:
    """Relative change per KPI (repurchase rate: difference in points)."""
    out: dict[str, float | None] = {}
    for key in KPI_KEYS:
        now, before = getattr(current, key), getattr(previous, key)
        if now is None or before is None:
            out[key] = None
        elif key in RATE_KPIS:
            out[key] = now - before
        else:
            out[key] = _div(now - before, abs(before)) if before else None
    return out


def weekly_trend(ws: QueryTarget, dataset_id: Orders, period: Period | None = None) -> pd.DataFrame:
    """Per week (Monday): GMV, net sales, orders, new customers and spend — one row per week, ready to chart."""
    ledger, params = _ledger(ws, dataset_id)
    where = ""
    if period:
        where = "AND CAST(order_ts AS DATE) BETWEEN $start AND $end"
        params.update(start=period.start, end=period.end)
    spend_where = "AND period_start BETWEEN $start AND $end" if period else ""
    # The ledger once, read twice: one relation, and one set of CTE names for engines that hoist them (Spark).
    sql = f"""
    WITH ledger_rows AS ({ledger}),
    sales AS (
        SELECT date_trunc('week', order_ts)::DATE AS week, sum(gross_amount) AS gmv, sum(net_amount) AS net_sales,
               count(*) FILTER (WHERE is_order) AS orders,
               min(order_ts)::DATE AS first_day, max(order_ts)::DATE AS last_day
        FROM ledger_rows WHERE TRUE {where} GROUP BY 1
    ), news AS (
        SELECT date_trunc('week', first_ts)::DATE AS week, count(*) AS new_customers
        FROM ({first_orders_sql("SELECT * FROM ledger_rows")}) AS firsts
        WHERE TRUE {where.replace('order_ts', 'first_ts')} GROUP BY 1
    ), spend AS (
        SELECT date_trunc('week', period_start)::DATE AS week, sum(spend) AS spend
        FROM {_spend_relation(dataset_id)} AS channel_spend WHERE dataset_id = $ds {spend_where} GROUP BY 1
    )
    SELECT week, coalesce(gmv, 0) AS gmv, coalesce(net_sales, 0) AS net_sales, coalesce(orders, 0) AS orders,
           coalesce(new_customers, 0) AS new_customers, spend, first_day, last_day
    FROM sales FULL OUTER JOIN news USING (week) FULL OUTER JOIN spend USING (week)
    ORDER BY week
    """
    return mark_partial_weeks(query_frame(ws, sql, params), period)


def mark_partial_weeks(weekly: pd.DataFrame, period: Period | None = None) -> pd.DataFrame:
    """Add ``days_covered`` (1–7) and ``partial``: how much of each Monday–Sunday week the orders (or the period) cover.

    The first and last weeks of an export usually start or stop mid-week; drawn like
    full weeks they look like a collapse or a surge. Coverage is the overlap of the
    week with [first order day, last order day] (intersected with ``period``).
    """
    frame = weekly.drop(columns=["first_day", "last_day"], errors="ignore").copy()
    weeks = pd.to_datetime(frame["week"])
    if weekly.get("first_day") is None or weekly["first_day"].isna().all():
        frame["days_covered"], frame["partial"] = 7, False
        return frame
    first = pd.Timestamp(weekly["first_day"].min())
    last = pd.Timestamp(weekly["last_day"].max())
    if period is not None:
        first, last = max(first, pd.Timestamp(period.start)), min(last, pd.Timestamp(period.end))
    start = weeks.where(weeks > first, first)
    end = (weeks + pd.Timedelta(days=6)).where(weeks + pd.Timedelta(days=6) < last, last)
    frame["days_covered"] = ((end - start).dt.days + 1).clip(lower=0, upper=7).astype(int)
    frame["partial"] = frame["days_covered"] < 7
    return frame


def channel_mix(ws: QueryTarget, dataset_id: Orders, period: Period) -> pd.DataFrame:
    """Per channel: GMV, net sales and orders from the order file, spend from channel data, with shares."""
    ledger, params = _ledger(ws, dataset_id)
    sql = f"""
    WITH sales AS (
        SELECT coalesce(channel, '—') AS channel, sum(gross_amount) AS gmv, sum(net_amount) AS net_sales,
               count(*) FILTER (WHERE is_order) AS orders
        FROM ({ledger}) AS ledger WHERE CAST(order_ts AS DATE) BETWEEN $start AND $end
        GROUP BY 1
    ), spend AS (
        SELECT channel, sum(spend) AS spend FROM {_spend_relation(dataset_id)} AS channel_spend
        WHERE dataset_id = $ds AND period_start BETWEEN $start AND $end GROUP BY 1
    )
    SELECT channel, coalesce(gmv, 0) AS gmv, coalesce(net_sales, 0) AS net_sales, coalesce(orders, 0) AS orders,
           spend,
           coalesce(gmv, 0) / nullif(sum(gmv) OVER (), 0) AS gmv_share,
           spend / nullif(sum(spend) OVER (), 0) AS spend_share
    FROM sales FULL OUTER JOIN spend USING (channel)
    ORDER BY gmv DESC NULLS LAST, spend DESC NULLS LAST
    """
    return query_frame(ws, sql, {**params, "start": period.start, "end": period.end})


def data_range(ws: QueryTarget, dataset_id: Orders) -> tuple[date, date] | None:
    """First and last order day of a dataset (falls back to channel data), or None when empty."""
    ledger, params = _ledger(ws, dataset_id)
    row = query_records(ws, f"""SELECT CAST(min(order_ts) AS DATE) AS first_day, CAST(max(order_ts) AS DATE) AS last_day
            FROM ({ledger}) AS ledger WHERE is_order""", params)[0]
    if row["first_day"] is not None:
        return row["first_day"], row["last_day"]
    if isinstance(dataset_id, ParquetOrders):
        return None
    row = query_records(ws, "SELECT min(period_start) AS first_day, max(period_start) AS last_day FROM channel_spend "
                            "WHERE dataset_id = $ds", {"ds": params["ds"]})[0]
    if row["first_day"] is not None:
        return row["first_day"], row["last_day"] + timedelta(days=6)
    return None
