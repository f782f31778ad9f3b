"""The semantic layer: every business quantity the product shows is defined here, once.

Why this module exists: a marketing lead must be able to defend every number in a
review meeting, and that is only possible when "orders", "net sales" or "repurchase
rate" mean the same thing on every page, in the CLI, in every export and in the review
pack. Before this module each of those places wrote its own SQL ("first order per
customer" existed six times) and two different rates were both called "repurchase
rate". Now:

* :func:`ledger_sql` is the one relation every number is computed from: one row per
  purchase order (gross and net of its cancellations) plus one row per refund that
  cannot be tied to an order. Pages, the segment engine, KPIs, channels, scenarios,
  curves and the review pack all read it.
* :data:`METRICS` names every quantity with its unit, basis (gross / net) and period;
  :func:`glossary` turns the same entries into the EN/ZH glossary that KPI help texts,
  the Overview's definitions and the review workbook show.

**Orders, refunds and cancellations** (the ledger's rules, in the order applied):

1. A refund row (``is_refund``) whose ``original_order_id`` names a purchase of the
   dataset reduces that purchase.
2. A refund row whose ``original_order_id`` is its own ``order_id`` is an order that was
   exported with a refunded/cancelled status: it counts in GMV (gross) at its own date
   and nets to zero.
3. Otherwise a refund of exactly a purchase's amount (to the cent) by the same customer,
   at or after it, cancels the most recent such purchase (the ``C…`` invoice of a
   line-item export, the refund record of a shop back office).
4. Any other refund (partial, or with no matching purchase) is a *customer-level
   adjustment*: it reduces the customer's net spend on the refund's date but no order.

A purchase's **net amount** is its amount plus the refunds matched to it. It is an
**order** only when its net amount, to the cent, is above zero: an invoice whose lines
sum to zero, or a purchase cancelled in full, is not an order. Guest purchases (no
customer id) are orders and sales but belong to no customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lib.importing import inplace
from lib.i18n import t
from lib.importing.inplace import ParquetOrders
from lib.workspace import Workspace

if TYPE_CHECKING:
    from lib.sql_engine import QueryTarget

# --------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------

#: Columns a base relation must provide to :func:`ledger_sql`.
LEDGER_BASE_COLUMNS: tuple[str, ...] = (
    "dataset_id", "order_id", "customer_id", "order_ts", "amount", "channel", "is_refund", "original_order_id",
)
#: Columns of the ledger relation.
LEDGER_COLUMNS: tuple[str, ...] = (
    "dataset_id", "order_id", "customer_id", "order_ts", "channel", "gross_amount", "net_amount", "is_order",
)


def ledger_sql(base_sql: str) -> str:
    """The ledger over a base relation of raw order rows (see the module docstring for the rules).

    ``base_sql`` is a SELECT yielding :data:`LEDGER_BASE_COLUMNS` (refund amounts are
    negative). The result has :data:`LEDGER_COLUMNS`: purchases with their gross and
    net amounts and whether they count as an order, then unmatched refunds with
    ``gross_amount = 0``, a negative ``net_amount`` and ``is_order = FALSE``. Matching
    is by hash joins on the (few) refunds, so a ledger over ten million purchases costs
    one extra probe, not a sort. The refunds are written on the right of each join:
    DuckDB estimates both filtered sides of ``src`` alike and then builds its hash table
    on the right, so this keeps the table small, and a join with no refund to match
    (no refund without a reference, the usual export) skips its probe altogether
    (a million orders: 0.42 → 0.22 CPU-s for the import report's ledger counts).
    """
    return f"""
    WITH src AS NOT MATERIALIZED ({base_sql}),
    purchases AS NOT MATERIALIZED (SELECT * FROM src WHERE NOT is_refund),
    refunds AS (SELECT * FROM src WHERE is_refund),
    self_refunded AS (SELECT * FROM refunds WHERE original_order_id = order_id),
    by_reference AS (
        SELECT r.dataset_id, r.order_id AS refund_id, p.order_id AS purchase_id
        FROM purchases AS p
        JOIN refunds AS r ON p.dataset_id = r.dataset_id AND p.order_id = r.original_order_id
    ),
    by_amount AS (
        SELECT r.dataset_id, r.order_id AS refund_id, p.order_id AS purchase_id
        FROM purchases AS p
        JOIN refunds AS r
          ON p.dataset_id = r.dataset_id AND p.customer_id = r.customer_id
         AND round(p.amount * 100) = round(-r.amount * 100) AND p.order_ts <= r.order_ts
        WHERE r.original_order_id IS NULL
        QUALIFY row_number() OVER (PARTITION BY r.dataset_id, r.order_id ORDER BY p.order_ts DESC, p.order_id DESC) = 1
    ),
    matched AS (SELECT * FROM by_reference UNION ALL SELECT * FROM by_amount),
    refunded AS (
        SELECT m.dataset_id, m.purchase_id, sum(r.amount) AS refunded
        FROM matched AS m JOIN refunds AS r ON r.dataset_id = m.dataset_id AND r.order_id = m.refund_id
        GROUP BY ALL
    ),
    netted AS (
        SELECT p.dataset_id, p.order_id, p.customer_id, p.order_ts, p.channel,
               p.amount AS gross_amount, p.amount + coalesce(x.refunded, 0) AS net_amount
        FROM purchases AS p
        LEFT JOIN refunded AS x ON x.dataset_id = p.dataset_id AND x.purchase_id = p.order_id
    )
    SELECT *, round(net_amount, 2) > 0 AS is_order FROM netted
    UNION ALL
    SELECT dataset_id, order_id, customer_id, order_ts, channel, -amount, 0.0, FALSE FROM self_refunded
    UNION ALL
    SELECT r.dataset_id, r.order_id, r.customer_id, r.order_ts, r.channel, 0.0, r.amount, FALSE
    FROM refunds AS r
    WHERE (r.original_order_id IS NULL OR r.original_order_id <> r.order_id)
      AND NOT EXISTS (
          SELECT 1 FROM matched AS m WHERE m.dataset_id = r.dataset_id AND m.refund_id = r.order_id
      )
    """


def workspace_base_sql(dataset_param: str | None = "ds", source: ParquetOrders | None = None) -> str:
    """Raw order rows of one dataset (``$<dataset_param>``) or of all datasets in the ``orders`` table.

    For a dataset whose orders are read in place (``source``, from
    :meth:`lib.workspace.Workspace.parquet_orders`) the rows come from its Parquet files
    instead; bind :func:`source_params` besides the dataset id.
    """
    if source is not None and dataset_param:
        return inplace.base_sql(dataset_param, source)
    where = f" WHERE dataset_id = ${dataset_param}" if dataset_param else ""
    columns = ", ".join(f'"{c}"' for c in LEDGER_BASE_COLUMNS)
    return f'SELECT {columns} FROM "orders"{where}'


def dataset_ledger(dataset_param: str = "ds", source: ParquetOrders | None = None) -> str:
    """The ledger of one workspace dataset, the dataset id bound as ``$<dataset_param>`` (see :func:`workspace_base_sql`)."""
    return ledger_sql(workspace_base_sql(dataset_param, source))


def order_source(conn: QueryTarget, dataset_id: int) -> ParquetOrders | None:
    """Where a dataset's orders live: its Parquet files when read in place, else None (the ``orders`` table).

    Only a :class:`lib.workspace.Workspace` has in-place datasets; a bare connection or an engine has none.
    """
    return conn.parquet_orders(int(dataset_id)) if isinstance(conn, Workspace) else None


def source_params(dataset_param: str, source: ParquetOrders | None) -> dict[str, Any]:
    """The bound parameters a dataset's ledger needs besides its id: the Parquet path and column names, if any."""
    return inplace.params(dataset_param, source)


# --------------------------------------------------------------------------------------
# Period facts: every count and amount the KPIs and the scenario baseline quote
# --------------------------------------------------------------------------------------

#: Days in the look-back that defines the customer base and LTV (a year ending the day before / on a date).
LOOKBACK_DAYS = 365


def period_facts_sql(ledger: str) -> str:
    """One row of facts about the period ``$start`` … ``$end`` (inclusive dates) of a ledger.

    Every KPI (:mod:`lib.kpis`) and the scenario baseline (:mod:`lib.scenarios`) is a
    ratio of these columns, so the Overview, ``cli kpis``, Scenarios and the review
    pack cannot disagree. Columns: gmv, net_sales, orders, guest_net_sales,
    customers, repeat_customers, new_customers, new_orders, new_net_sales,
    base_customers (ordered in the 365 days before the period), returning_customers
    (of those, ordered in the period), returning_orders, returning_net_sales,
    reactivated_customers, reactivated_net_sales, next_base_customers (ordered in the
    365 days ending with the period), trailing_net_sales / trailing_orders /
    trailing_customers (identified customers, same 365 days), first_day.
    """
    return f"""
    WITH l AS (SELECT *, CAST(order_ts AS DATE) AS d FROM ({ledger}) AS ledger),
    firsts AS (
        SELECT customer_id, min(d) AS first_day FROM l
        WHERE is_order AND customer_id IS NOT NULL GROUP BY customer_id
    ),
    base AS (
        SELECT DISTINCT customer_id FROM l
        WHERE is_order AND customer_id IS NOT NULL
          AND d BETWEEN CAST($start AS DATE) - INTERVAL {LOOKBACK_DAYS} DAY AND CAST($start AS DATE) - INTERVAL 1 DAY
    ),
    trailing_year AS (
        SELECT customer_id, count(*) FILTER (WHERE is_order) AS n, sum(net_amount) AS net
        FROM l
        WHERE customer_id IS NOT NULL
          AND d BETWEEN CAST($end AS DATE) - INTERVAL {LOOKBACK_DAYS - 1} DAY AND CAST($end AS DATE)
        GROUP BY customer_id
    ),
    q AS (SELECT * FROM l WHERE d BETWEEN $start AND $end),
    per_customer AS (
        SELECT q.customer_id, count(*) FILTER (WHERE q.is_order) AS n, sum(q.net_amount) AS net,
               any_value(f.first_day) >= $start AS is_new,
               bool_or(b.customer_id IS NOT NULL) AS in_base
        FROM q JOIN firsts AS f USING (customer_id) LEFT JOIN base AS b USING (customer_id)
        WHERE q.customer_id IS NOT NULL
        GROUP BY q.customer_id
        HAVING count(*) FILTER (WHERE q.is_order) > 0
    )
    SELECT
        (SELECT coalesce(sum(gross_amount), 0) FROM q) AS gmv,
        (SELECT coalesce(sum(net_amount), 0) FROM q) AS net_sales,
        (SELECT count(*) FILTER (WHERE is_order) FROM q) AS orders,
        (SELECT coalesce(sum(net_amount), 0) FROM q WHERE customer_id IS NULL) AS guest_net_sales,
        count(*) AS customers,
        count(*) FILTER (WHERE n >= 2) AS repeat_customers,
        count(*) FILTER (WHERE is_new) AS new_customers,
        coalesce(sum(n) FILTER (WHERE is_new), 0) AS new_orders,
        coalesce(sum(net) FILTER (WHERE is_new), 0) AS new_net_sales,
        (SELECT count(*) FROM base) AS base_customers,
        count(*) FILTER (WHERE in_base) AS returning_customers,
        coalesce(sum(n) FILTER (WHERE in_base), 0) AS returning_orders,
        coalesce(sum(net) FILTER (WHERE in_base), 0) AS returning_net_sales,
        count(*) FILTER (WHERE NOT is_new AND NOT in_base) AS reactivated_customers,
        coalesce(sum(net) FILTER (WHERE NOT is_new AND NOT in_base), 0) AS reactivated_net_sales,
        (SELECT count(*) FROM trailing_year WHERE n > 0) AS next_base_customers,
        (SELECT coalesce(sum(net), 0) FROM trailing_year WHERE n > 0) AS trailing_net_sales,
        (SELECT coalesce(sum(n), 0) FROM trailing_year WHERE n > 0) AS trailing_orders,
        (SELECT count(*) FROM trailing_year WHERE n > 0) AS trailing_customers,
        (SELECT min(first_day) FROM firsts) AS first_day
    FROM per_customer
    """


def first_orders_sql(ledger: str) -> str:
    """Each identified customer's first order: ``customer_id, first_ts, first_day, channel`` (that order's channel)."""
    return f"""
    SELECT customer_id, min(order_ts) AS first_ts, CAST(min(order_ts) AS DATE) AS first_day,
           arg_min(channel, order_ts) AS channel
    FROM ({ledger}) AS ledger
    WHERE is_order AND customer_id IS NOT NULL
    GROUP BY customer_id
    """


# --------------------------------------------------------------------------------------
# Named quantities and the glossary
# --------------------------------------------------------------------------------------

Unit = Literal["count", "money", "rate", "multiple", "percent"]
_FORMAT_KIND: dict[str, str] = {
    "count": "count", "money": "money", "rate": "percent", "multiple": "ratio", "percent": "percent",
}
Basis = Literal["net", "gross", "count", "ratio"]


@dataclass(frozen=True)
class Metric:
    """A named business quantity: its unit, whether it is gross or net, and where its words live.

    The display name is the i18n key ``kpi.<key>`` and the definition ``kpi.<key>.help``;
    both the KPI cards' help and the glossary read them, so they cannot drift apart.
    """

    key: str
    unit: Unit
    basis: Basis
    higher_is_better: bool = True

    @property
    def format_kind(self) -> str:
        """How a value is written (``money``, ``count``, ``percent``, ``ratio``) by the formatters."""
        return _FORMAT_KIND[self.unit]

    def label(self, lang: str = "en") -> str:
        return t(f"kpi.{self.key}", lang)

    def definition(self, lang: str = "en") -> str:
        return t(f"kpi.{self.key}.help", lang)


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("order", "count", "count"),
        Metric("refund", "money", "gross", higher_is_better=False),
        Metric("customer", "count", "count"),
        Metric("gmv", "money", "gross"),
        Metric("net_sales", "money", "net"),
        Metric("refunds", "money", "gross", higher_is_better=False),
        Metric("orders", "count", "count"),
        Metric("customers", "count", "count"),
        Metric("new_customers", "count", "count"),
        Metric("aov", "money", "net"),
        Metric("repeat_rate", "rate", "ratio"),
        Metric("repurchase_rate", "rate", "ratio"),
        Metric("spend", "money", "gross", higher_is_better=False),
        Metric("cac", "money", "ratio", higher_is_better=False),
        Metric("roas", "multiple", "net"),
        Metric("roi", "percent", "net"),
        Metric("ltv", "money", "net"),
        Metric("ltv_cac", "multiple", "net"),
    )
}


def metric(key: str) -> Metric:
    """The :class:`Metric` named ``key`` (KeyError for an unknown name)."""
    return METRICS[key]


def glossary(lang: str = "en") -> list[dict[str, str]]:
    """Every metric's name, basis and definition in one language, in :data:`METRICS` order.

    Rows ``{"key", "name", "basis", "definition"}``; the Overview's definitions, the KPI
    help texts and the review workbook's glossary sheet all come from here.
    """
    return [
        {
            "key": m.key,
            "name": m.label(lang),
            "basis": t(f"metrics.basis.{m.basis}", lang),
            "definition": m.definition(lang),
        }
        for m in METRICS.values()
    ]
