"""The segment engine: where the orders come from and the one classification query every figure is computed from.

Why this module exists: a dataset can hold tens of millions of orders, so the
classification (bands, tags, tier, R/F/M scores, segment per customer) is one
DuckDB SQL query over a *source relation* of purchases (:class:`OrderSource`: the
workspace's ``orders`` table or Parquet read in place, carried unchanged to Spark by
:mod:`lib.sql_engine`). Summaries, exports and playbooks wrap :func:`classified_query`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb

from lib.metrics import dataset_ledger, ledger_sql, order_source, source_params
from lib.palette import SEGMENT_ORDER, TIER_ORDER
from lib.segments.settings import FrozenCuts, SegmentSettings, check_settings, grid_list
from lib.sql_engine import DuckDBEngine, Engine, QueryTarget, query_records

if TYPE_CHECKING:  # pandas only where a caller asks for a frame: the CLI's CSV export never loads it
    import pandas as pd

Connection = QueryTarget  # a lib.workspace.Workspace, a duckdb.DuckDBPyConnection or a lib.sql_engine.Engine
_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


# --------------------------------------------------------------------------------------
# Where the orders come from
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderSource:
    """A SQL relation of one identified customer's ledger rows: ``customer_id, order_ts, amount, is_order``.

    Rows are the :mod:`lib.metrics` ledger: orders at their amount net of matched
    cancellations (``is_order``), purchases cancelled in full or netting to zero and
    unmatched refunds (``NOT is_order``, the latter with a negative amount). Counts use
    ``is_order`` rows; spend sums every row, so it is net. ``sql`` is a SELECT that may
    reference named parameters listed in ``params``; it never contains user values.
    Build one with :meth:`for_dataset` (the workspace's ``orders`` table) or
    :meth:`parquet` (files read in place).
    """

    sql: str
    params: Mapping[str, Any]
    label: str = ""

    @classmethod
    def for_dataset(cls, dataset_id: int, conn: QueryTarget | None = None) -> OrderSource:
        """The ledger of one workspace dataset: its ``orders`` table rows, or its Parquet files when read in place.

        ``conn`` (the :class:`lib.workspace.Workspace`) says which; without it the ``orders`` table is read.
        """
        parquet = order_source(conn, dataset_id) if conn is not None else None
        return cls(
            sql=_identified(dataset_ledger("src_dataset_id", parquet)),
            params={"src_dataset_id": int(dataset_id), **source_params("src_dataset_id", parquet)},
            label=f"dataset {int(dataset_id)}",
        )

    @classmethod
    def parquet(cls, path: str | Path, *, engine: Engine | None = None) -> OrderSource:
        """The ledger of orders read in place from a Parquet file, a folder of them (searched recursively) or a glob.

        The files need the ``orders`` table's columns ``customer_id``, ``order_ts``
        (timestamp), ``amount`` and ``is_refund``; ``order_id``, ``channel`` and
        ``original_order_id`` are used when present (without ``order_id`` a row is
        identified by its file and row number, so refunds still match by amount).
        ``engine`` (default: a private DuckDB) reads the files' column names; the SQL is
        DuckDB's either way, and :mod:`lib.sql_engine` carries it to Spark unchanged.
        """
        p = Path(path)
        pattern = str(p / "**" / "*.parquet") if p.is_dir() else str(path)
        present = engine.parquet_columns(pattern) if engine is not None else _parquet_columns(pattern)
        reader = "read_parquet($src_parquet_path, filename = true, file_row_number = true)"

        def optional(column: str, fallback: str) -> str:
            return f'CAST("{column}" AS VARCHAR)' if column in present else fallback

        base = (
            "SELECT 0 AS dataset_id, "
            f"{optional('order_id', 'filename || chr(31) || CAST(file_row_number AS VARCHAR)')} AS order_id, "
            'CAST("customer_id" AS VARCHAR) AS customer_id, CAST("order_ts" AS TIMESTAMP) AS order_ts, '
            'CAST("amount" AS DOUBLE) AS amount, '
            f"{optional('channel', 'CAST(NULL AS VARCHAR)')} AS channel, "
            'coalesce("is_refund", FALSE) AS is_refund, '
            f"{optional('original_order_id', 'CAST(NULL AS VARCHAR)')} AS original_order_id "
            f"FROM {reader}"
        )
        return cls(sql=_identified(ledger_sql(base)), params={"src_parquet_path": pattern}, label=pattern)


def _identified(ledger: str) -> str:
    """The engine's columns of a ledger, identified customers only."""
    return (
        'SELECT "customer_id", "order_ts", "net_amount" AS "amount", "is_order" '
        f'FROM ({ledger}) AS ledger WHERE "customer_id" IS NOT NULL'
    )


def _parquet_columns(pattern: str) -> frozenset[str]:
    """The column names of the Parquet files matching ``pattern`` (empty when they cannot be read yet)."""
    engine = DuckDBEngine(memory_limit="256MB")
    try:
        return engine.parquet_columns(pattern)
    finally:
        engine.close()


SourceLike = int | OrderSource


def as_source(dataset: SourceLike, conn: QueryTarget | None = None) -> OrderSource:
    """A dataset id or an :class:`OrderSource`, as an :class:`OrderSource` (``conn``: the workspace it lives in)."""
    if isinstance(dataset, OrderSource):
        return dataset
    return OrderSource.for_dataset(int(dataset), conn)


def _bind(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Only the named parameters the SQL uses (DuckDB rejects extra ones)."""
    used = set(_PARAM_RE.findall(sql))
    missing = used - set(params)
    if missing:
        raise KeyError(f"SQL parameters without values: {sorted(missing)}")
    return {k: v for k, v in params.items() if k in used}


def run_query(conn: Connection, sql: str, params: Mapping[str, Any]) -> pd.DataFrame:
    """Run a read query (named parameters) on a Workspace or a DuckDB connection."""
    bound = _bind(sql, params)
    if isinstance(conn, Engine):  # DuckDB or Spark through lib.sql_engine's seam
        return conn.frame(sql, bound)
    if isinstance(conn, duckdb.DuckDBPyConnection):
        cur = conn.cursor()
        try:
            return cur.execute(sql, bound).df()
        finally:
            cur.close()
    with conn.cursor() as cur:
        return cur.execute(sql, bound).df()


def to_date(value: date | datetime | str | None) -> date | None:
    """A day from a date, a datetime (a pandas ``Timestamp`` is one) or any text pandas reads as a date."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    import pandas as pd  # only text needs pandas' lenient parser

    return pd.Timestamp(str(value)).date()


def default_as_of(ws: Connection, dataset: SourceLike) -> date | None:
    """The last purchase day of the dataset (None when it has no purchases)."""
    src = as_source(dataset, ws)
    sql = f"SELECT CAST(max(order_ts) AS DATE) AS d FROM ({src.sql}) AS src WHERE is_order"
    rows = query_records(ws, sql, _bind(sql, src.params))  # one scalar: plain Python values, no frame
    value = rows[0]["d"] if rows else None
    return None if value is None else to_date(value)


def resolve_as_of(ws: Connection, dataset: SourceLike, as_of: date | datetime | str | None) -> date | None:
    return to_date(as_of) if as_of is not None else default_as_of(ws, dataset)


def date_params(as_of: date, window_days: int, sfx: str = "") -> dict[str, Any]:
    """``$as_of``, the exclusive timestamp upper bound and the window's first instant."""
    start = datetime.combine(as_of, datetime.min.time())
    return {
        f"as_of{sfx}": as_of,
        f"before_ts{sfx}": start + timedelta(days=1),
        f"window_start_ts{sfx}": start + timedelta(days=1 - int(window_days)),
    }


def _cut_list(cuts: tuple[float, ...]) -> list[float | None]:
    """Quintile edges as a SQL list parameter; ``[NULL]`` when there are none (an empty list has no type)."""
    return [float(v) for v in cuts] or [None]


def threshold_params(settings: SegmentSettings, cuts: FrozenCuts | None) -> dict[str, Any]:
    """The classification's band, grid and score parameters; ``cuts`` freezes the M and quintile edges."""
    th = settings.thresholds
    if cuts is not None:
        m_high, m_mid = cuts.m_high_min, cuts.m_mid_min
    elif th.m_mode == "amounts":
        m_high, m_mid = th.m_high_min, th.m_mid_min
    else:
        m_high = m_mid = None
    params: dict[str, Any] = {
        "recent_max": int(th.recent_max_days),
        "lapsing_max": int(th.lapsing_max_days),
        "f_high_min": int(th.f_high_min),
        "f_mid_min": int(th.f_mid_min),
        "m_high_min": None if m_high is None else float(m_high),
        "m_mid_min": None if m_mid is None else float(m_mid),
        "score_all_time": settings.score_basis == "all_time",
        "grid": grid_list(settings.grid),
    }
    if cuts is not None:
        params.update(
            r_cuts=_cut_list(cuts.r_cuts),
            f_cuts=_cut_list(cuts.f_cuts),
            m_cuts=_cut_list(cuts.m_cuts),
        )
    return params


def classify_sql(
    source: OrderSource,
    *,
    sfx: str = "",
    score_mode: Literal["rank", "cuts"] = "rank",
    m_cut_mode: Literal["data", "params"] = "data",
    weekly: bool = False,
) -> str:
    """A SELECT giving one row per customer (per as-of date when ``weekly``) with bands, tags, tier, scores, segment.

    Single date (default): parameters ``$as_of{sfx}``, ``$before_ts{sfx}``,
    ``$window_start_ts{sfx}``; the date filter is on ``order_ts`` so Parquet
    scans can skip row groups. Weekly: one row per (as_of, customer) for every
    date in ``$first_as_of`` … ``$last_as_of`` step 7 days, from a customer-day
    pre-aggregate joined to the dates (one query, no Python loop).

    ``m_cut_mode="data"`` takes the M edges from ``$m_high_min``/``$m_mid_min``
    when given, else tertiles of this date's window spend. ``score_mode="cuts"``
    applies frozen quintile edges (``$r_cuts``, ``$f_cuts``, ``$m_cuts``) instead of the
    quintiles by rank (:func:`_score_edges_sql`).
    Only fixed SQL fragments are chosen here; all values are bound parameters.
    """
    if weekly:
        base, dates_rel = _weekly_base(source), "dates"
    else:
        base, dates_rel = _single_base(source, sfx), f"(SELECT CAST($as_of{sfx} AS DATE) AS as_of)"
    cuts = _m_cuts_sql(m_cut_mode, dates_rel)
    if score_mode == "rank":
        edges, edges_join, scores = f",{_score_edges_sql()}", "JOIN score_edges AS e USING (as_of)", _RANK_SCORES
    else:
        edges, edges_join, scores = "", "", _CUT_SCORES
    return f"""
    WITH {base},
    cuts AS ({cuts}){edges},
    measured AS (
        SELECT b.*, c.m_high_min, c.m_mid_min,
               {_DAYS_SINCE.format(b="b.")} AS days_since_last_order,
               {_F_VALUE.format(b="b.")} AS f_value, {_M_VALUE.format(b="b.")} AS m_value
        FROM base AS b JOIN cuts AS c USING (as_of)
    ),
    banded AS (
        SELECT measured.*,
               CASE WHEN days_since_last_order <= $recent_max THEN 'recent'
                    WHEN days_since_last_order <= $lapsing_max THEN 'middle'
                    ELSE 'lapsed' END AS r_band,
               CASE WHEN window_orders >= $f_high_min THEN 'high'
                    WHEN window_orders >= $f_mid_min THEN 'mid'
                    ELSE 'low' END AS f_band,
               CASE WHEN window_orders > 0 AND window_revenue >= m_high_min THEN 'high'
                    WHEN window_orders > 0 AND window_revenue >= m_mid_min THEN 'mid'
                    ELSE 'low' END AS m_band,{scores}
        FROM measured {edges_join}
    ),
    tagged AS (
        SELECT *,
               orders = 1 AND days_since_last_order <= $recent_max AS tag_new,
               days_since_last_order <= $recent_max AS tag_active,
               days_since_last_order > $recent_max AND days_since_last_order <= $lapsing_max AS tag_lapsing,
               days_since_last_order > $lapsing_max AS tag_dormant,
               r_band = 'recent' AND f_band = 'high' AND m_band = 'high'
                   AND revenue > 0 AND window_revenue > 0 AS tag_high_value
        FROM banded
    )
    SELECT *,
           CASE WHEN tag_high_value THEN 'high_value'
                WHEN tag_new THEN 'new'
                WHEN tag_active THEN 'active'
                WHEN tag_lapsing THEN 'lapsing'
                ELSE 'dormant' END AS tier,
           list_extract($grid, (r_score - 1) * 5 + f_score) AS segment
    FROM tagged
    """


def _weekly_base(source: OrderSource) -> str:
    """CTEs ending in ``base``: one row per (week end, customer) with the running totals (see :func:`classify_sql`)."""
    # Per customer: purchase days as +events and their exits from the window
    # (day + window_days) as −events; running totals over the events hold from
    # one event to the next. Each such span is expanded with unnest(range(...))
    # into the week ends it covers, so every (customer, week end) row is
    # produced once, without a join. Amounts are summed as whole micro-units in
    # DOUBLE (exact below 2^53), so "running total − total at the window's
    # edge" is exact and matches the single-date path after rounding.
    return f"""
    dates AS (
        SELECT CAST(d AS DATE) AS as_of
        FROM unnest(generate_series(CAST($first_as_of AS DATE), CAST($last_as_of AS DATE), INTERVAL 7 DAY)) AS g(d)
    ),
    days AS (
        SELECT customer_id, CAST(order_ts AS DATE) AS d, count(*) FILTER (WHERE is_order) AS n,
               sum(round(amount * 1000000)) AS amt
        FROM ({source.sql}) AS src
        WHERE order_ts < $last_before_ts
        GROUP BY ALL
    ),
    events AS (
        SELECT customer_id, t, sum(dn) AS dn, sum(damt) AS damt, sum(wn) AS wn, sum(wamt) AS wamt,
               max(last_d) AS last_d
        FROM (
            SELECT customer_id, d AS t, n AS dn, amt AS damt, n AS wn, amt AS wamt,
                   CASE WHEN n > 0 THEN d END AS last_d
            FROM days
            UNION ALL
            SELECT customer_id, d + CAST($window_days AS INTEGER), 0, 0.0, -n, -amt, NULL FROM days
            WHERE d + CAST($window_days AS INTEGER) <= CAST($last_as_of AS DATE)
        )
        GROUP BY ALL
    ),
    running AS (
        SELECT customer_id, t,
               min(last_d) OVER w AS first_order_date,
               lead(t) OVER (PARTITION BY customer_id ORDER BY t) AS t_next,
               max(last_d) OVER w AS last_order_date,
               sum(dn) OVER w AS cum_n, sum(damt) OVER w AS cum_amt,
               sum(wn) OVER w AS win_n, sum(wamt) OVER w AS win_amt
        FROM events
        WINDOW w AS (PARTITION BY customer_id ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ),
    spans AS (
        SELECT *,
               greatest(0, CAST(ceil((t - CAST($first_as_of AS DATE)) / 7) AS BIGINT)) AS k_lo,
               CASE WHEN t_next IS NULL THEN CAST($n_weeks AS BIGINT)
                    ELSE least(CAST($n_weeks AS BIGINT),
                               greatest(0, CAST(ceil((t_next - CAST($first_as_of AS DATE)) / 7) AS BIGINT)))
               END AS k_hi
        FROM running
    ),
    expanded AS (
        SELECT *, CAST(unnest(range(k_lo, k_hi)) AS INTEGER) AS k FROM spans WHERE k_hi > k_lo
    ),
    base AS (
        SELECT CAST($first_as_of AS DATE) + 7 * k AS as_of, customer_id, first_order_date, last_order_date,
               CAST(cum_n AS BIGINT) AS orders,
               round(cum_amt / 1000000, 6) AS revenue,
               CAST(win_n AS BIGINT) AS window_orders,
               round(win_amt / 1000000, 6) AS window_revenue
        FROM expanded
        WHERE cum_n > 0
    )"""


def _single_base(source: OrderSource, sfx: str) -> str:
    """CTEs ending in ``base``: one row per customer at ``$as_of{sfx}``."""
    # Revenue is rounded to 6 decimals so that the weekly path (exact running
    # totals) and this one put a customer on the same side of an M cut-off.
    # (CTE names stay distinct from the ledger's: Spark gets nested WITHs hoisted to one level.)
    return f"""
    upto AS (
        SELECT customer_id, order_ts, amount, is_order FROM ({source.sql}) AS src
        WHERE order_ts < $before_ts{sfx}
    ),
    base AS (
        SELECT CAST($as_of{sfx} AS DATE) AS as_of, customer_id,
               CAST(min(order_ts) FILTER (WHERE is_order) AS DATE) AS first_order_date,
               CAST(max(order_ts) FILTER (WHERE is_order) AS DATE) AS last_order_date,
               count(*) FILTER (WHERE is_order) AS orders,
               round(sum(amount), 6) AS revenue,
               count(*) FILTER (WHERE is_order AND order_ts >= $window_start_ts{sfx}) AS window_orders,
               round(coalesce(sum(amount) FILTER (WHERE order_ts >= $window_start_ts{sfx}), 0), 6) AS window_revenue
        FROM upto
        GROUP BY customer_id
        HAVING count(*) FILTER (WHERE is_order) > 0
    )"""


def _m_cuts_sql(m_cut_mode: str, dates_rel: str) -> str:
    """The ``cuts`` relation: M band edges per as-of date, bound (``params``) or tertiles of window spend (``data``)."""
    if m_cut_mode == "params":
        return (
            "SELECT as_of, CAST($m_high_min AS DOUBLE) AS m_high_min, CAST($m_mid_min AS DOUBLE) AS m_mid_min "
            f"FROM {dates_rel}"
        )
    return """SELECT as_of,
               coalesce(CAST($m_high_min AS DOUBLE),
                        quantile_cont(window_revenue, CAST(2 AS DOUBLE) / 3) FILTER (WHERE window_orders > 0)) AS m_high_min,
               coalesce(CAST($m_mid_min AS DOUBLE),
                        quantile_cont(window_revenue, CAST(1 AS DOUBLE) / 3) FILTER (WHERE window_orders > 0)) AS m_mid_min
        FROM base GROUP BY as_of"""


# The score values, over ``base`` (``{b}``: its alias and a dot, or nothing).
_DAYS_SINCE = "CAST(date_diff('day', {b}last_order_date, {b}as_of) AS INTEGER)"
_F_VALUE = "CASE WHEN $score_all_time THEN {b}orders ELSE {b}window_orders END"
_M_VALUE = "CASE WHEN $score_all_time THEN {b}revenue ELSE {b}window_revenue END"
# dimension: (score value over base, its column in ``measured``, rank order)
_SCORED: dict[str, tuple[str, str, str]] = {
    "r": (_DAYS_SINCE, "days_since_last_order", "DESC"),  # fewest days since the last order ranks first
    "f": (_F_VALUE, "f_value", "ASC"),
    "m": (_M_VALUE, "m_value", "ASC"),
}


def _score_edges_sql() -> str:
    """CTEs ending in ``score_edges``: per as-of date, the four quintile edge values of R, F and M.

    A score is ``1 + (5 * (rank - 1)) // customers`` with ``rank`` the value's rank in
    the date's customers (ties share the lowest rank, NULLs rank last). With
    ``rank - 1`` = the customers ranked strictly before the value, the score passes
    ``k`` exactly when that count reaches ``c_k = ceil(k * customers / 5)``, i.e. when
    the value ranks after the ``c_k``-th customer's value (the edge ``{dim}{k}``; NULL
    when fewer than ``c_k`` customers have a value). So only the distinct values are
    ranked, with their counts — a few hundred days and order counts, at most one
    spend per customer, in a narrow relation — instead of sorting every customer's
    whole row three times; :data:`_RANK_SCORES` compares each value with its edges.
    """
    ctes = ["\n    score_customers AS (SELECT as_of, count(*) AS customers FROM base GROUP BY as_of)"]
    edge_columns: list[str] = []
    joins: list[str] = []
    for dim, (value, _column, order) in _SCORED.items():
        pick = "max" if order == "DESC" else "min"  # the c-th value in rank order
        # c_k = ceil(k * customers / 5) as integers: // stays exact on every engine (Spark divides 5.0 as DECIMAL)
        ctes.append(f"""
    score_{dim}_running AS (
        SELECT as_of, v, sum(n) OVER (PARTITION BY as_of ORDER BY v {order}
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
        FROM (SELECT as_of, {value.format(b="")} AS v, count(*) AS n FROM base GROUP BY ALL) AS counted
        WHERE v IS NOT NULL
    ),
    score_{dim}_edges AS (
        SELECT as_of, {", ".join(f"{pick}(v) FILTER (WHERE upto >= ({k} * customers + 4) // 5) AS {dim}{k}"
                                for k in range(1, 5))}
        FROM score_{dim}_running JOIN score_customers USING (as_of)
        GROUP BY as_of
    )""")
        edge_columns += [f"{dim}{k}" for k in range(1, 5)]
        joins.append(f"LEFT JOIN score_{dim}_edges USING (as_of)")
    ctes.append(f"""
    score_edges AS (
        SELECT as_of, {", ".join(edge_columns)}
        FROM score_customers {" ".join(joins)}
    )""")
    return ",".join(ctes)


def _score_column(dim: str, edge: str, *, nulls_rank_last: bool) -> str:
    """The score of ``dim``: 1 + the edges its value passes; ``edge`` names the k-th edge (``{k}`` in it).

    By rank the edges come from :func:`_score_edges_sql` (a NULL edge: too few
    customers have a value to reach it) and a NULL value ranks after every value;
    frozen edges (``$r_cuts`` …) are applied by value, a NULL passing none.
    """
    _value, column, order = _SCORED[dim]
    op = "<" if order == "DESC" else ">"

    def passes(k: int) -> str:
        at = edge.format(k=k)
        if nulls_rank_last:
            return f"CASE WHEN {at} IS NOT NULL AND ({column} IS NULL OR {column} {op} {at}) THEN 1 ELSE 0 END"
        return f"coalesce(CAST({column} {op} {at} AS INTEGER), 0)"

    return f"CAST(1 + {' + '.join(passes(k) for k in range(1, 5))} AS INTEGER) AS {dim}_score"


# Quintiles by rank: equal values share the lowest rank of their group and so the same
# score (no tie is broken by customer id or row order); or frozen edges applied by value.
_RANK_SCORES = ",".join(f"\n               {_score_column(d, f'e.{d}{{k}}', nulls_rank_last=True)}" for d in _SCORED)
_CUT_SCORES = ",".join(f"\n               {_score_column(d, f'${d}_cuts[{{k}}]', nulls_rank_last=False)}"
                       for d in _SCORED)


def _enum(column: str, keys: tuple[str, ...]) -> str:
    """Cast a label column to an ENUM of fixed keys (code constants, never user data).

    pandas receives it as an ordered Categorical: about three times cheaper to
    fetch than a million Python strings, and it sorts in display order.
    """
    members = ", ".join("'" + key.replace("'", "''") + "'" for key in keys)
    return f'CAST("{column}" AS ENUM({members})) AS "{column}"'


R_BANDS: tuple[str, ...] = ("recent", "middle", "lapsed")
FM_BANDS: tuple[str, ...] = ("high", "mid", "low")
CUSTOMER_COLUMNS = ", ".join(
    [
        "customer_id, first_order_date, last_order_date, orders, revenue",
        "CASE WHEN orders > 0 THEN revenue / orders END AS aov, window_orders, window_revenue",
        "days_since_last_order",
        _enum("r_band", R_BANDS),
        _enum("f_band", FM_BANDS),
        _enum("m_band", FM_BANDS),
        "CAST(r_score AS INTEGER) AS r_score, CAST(f_score AS INTEGER) AS f_score, CAST(m_score AS INTEGER) AS m_score",
        "tag_new, tag_active, tag_lapsing, tag_dormant, tag_high_value",
        _enum("tier", TIER_ORDER),
        _enum("segment", SEGMENT_ORDER),
    ]
)


def prepare_run(
    ws: Connection,
    dataset: SourceLike,
    settings: SegmentSettings | None,
    as_of: date | datetime | str | None,
) -> tuple[OrderSource, SegmentSettings, date | None]:
    """The order source, checked settings and as-of date every classification starts from (a public seam for playbooks)."""
    settings = settings or SegmentSettings()
    check_settings(settings)
    src = as_source(dataset, ws)
    return src, settings, resolve_as_of(ws, src, as_of)


def classified_query(
    src: OrderSource, settings: SegmentSettings, as_of: date, cuts: FrozenCuts | None = None
) -> tuple[str, dict[str, Any]]:
    """SQL + named parameters of the per-customer classification at one date.

    One row per customer with every band, tag, tier, R/F/M score and segment; for
    callers that aggregate further in SQL (every chart here, the benchmark) so that
    no customer list has to travel to Python. Run it with :func:`run_query`.
    """
    sql = classify_sql(
        src,
        score_mode="cuts" if cuts is not None and cuts.r_cuts else "rank",
        m_cut_mode="params" if cuts is not None else "data",
    )
    params = {**src.params, **date_params(as_of, settings.window_days), **threshold_params(settings, cuts)}
    return sql, params
