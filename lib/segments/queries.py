"""Segment queries: customers, group summaries, chart aggregates and change over time, as small DataFrames.

Why this module exists: the page, the exports, the playbooks and the predictions ask
the same questions of the classification (:mod:`lib.segments.engine`); each is
answered here in SQL, so pandas never sees more than one row per customer and a
chart's data is a few dozen rows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lib.palette import TIER_ORDER
from lib.segments.engine import (
    CUSTOMER_COLUMNS,
    Connection,
    SourceLike,
    as_source,
    classified_query,
    classify_sql,
    date_params,
    prepare_run,
    resolve_as_of,
    run_query,
    threshold_params,
    to_date,
)
from lib.segments.labels import group_label, group_order
from lib.segments.settings import (
    DEFAULT_WINDOW_DAYS,
    DISTRIBUTION_MEASURES,
    MAX_BINS,
    NOT_YET_CUSTOMER,
    TAG_KEYS,
    FrozenCuts,
    SegmentSettings,
    check_settings,
    grid_key,
)

if TYPE_CHECKING:  # pandas only where a caller asks for a frame: the CLI's CSV export never loads it
    import pandas as pd

# --------------------------------------------------------------------------------------
# Customer level
# --------------------------------------------------------------------------------------

_SUMMARY_COLUMNS = [
    "customer_id", "first_order_date", "last_order_date", "orders", "purchase_days", "revenue", "aov",
    "days_since_last_order", "window_orders", "window_revenue", "frequency", "recency", "T", "monetary_value",
]


def customer_summary(
    ws: Connection,
    dataset_id: SourceLike,
    as_of: date | datetime | str | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> pd.DataFrame:
    """One row per customer who bought on or before the as-of date, sorted by customer id.

    Columns: first/last order date, orders, purchase_days (distinct days), revenue,
    aov (revenue / orders), days_since_last_order, window_orders, window_revenue,
    and lifetimes-compatible ``frequency`` (purchase days − 1), ``recency`` (last −
    first purchase day, in days), ``T`` (as-of − first purchase day) and
    ``monetary_value`` (mean of the day totals after the first day; 0 for one-time
    buyers) — equal to ``lifetimes.utils.summary_data_from_transaction_data(...,
    observation_period_end=as_of, freq="D")``.
    """
    import pandas as pd

    src = as_source(dataset_id, ws)
    as_of_d = resolve_as_of(ws, src, as_of)
    if as_of_d is None:
        return pd.DataFrame({c: [] for c in _SUMMARY_COLUMNS})
    sql = f"""
    WITH days AS (
        SELECT customer_id, CAST(order_ts AS DATE) AS d, count(*) FILTER (WHERE is_order) AS n,
               sum(amount) AS amt,
               count(*) FILTER (WHERE is_order AND order_ts >= $window_start_ts) AS wn,
               coalesce(sum(amount) FILTER (WHERE order_ts >= $window_start_ts), 0) AS wamt
        FROM ({src.sql}) AS src
        WHERE order_ts < $before_ts
        GROUP BY ALL
    ), cust AS (
        SELECT customer_id, min(d) FILTER (WHERE n > 0) AS first_order_date,
               max(d) FILTER (WHERE n > 0) AS last_order_date,
               sum(n) AS orders, count(*) FILTER (WHERE n > 0) AS purchase_days, sum(amt) AS revenue,
               sum(wn) AS window_orders, sum(wamt) AS window_revenue
        FROM days GROUP BY customer_id HAVING sum(n) > 0
    ), repeat_days AS (
        SELECT days.customer_id, avg(days.amt) AS monetary_value
        FROM days JOIN cust ON days.customer_id = cust.customer_id AND days.d > cust.first_order_date
        WHERE days.n > 0
        GROUP BY days.customer_id
    )
    SELECT c.customer_id, c.first_order_date, c.last_order_date,
           CAST(c.orders AS BIGINT) AS orders, CAST(c.purchase_days AS BIGINT) AS purchase_days,
           c.revenue, c.revenue / c.orders AS aov,
           CAST(CAST($as_of AS DATE) - c.last_order_date AS INTEGER) AS days_since_last_order,
           CAST(c.window_orders AS BIGINT) AS window_orders, c.window_revenue,
           CAST(c.purchase_days - 1 AS DOUBLE) AS frequency,
           CAST(c.last_order_date - c.first_order_date AS DOUBLE) AS recency,
           CAST(CAST($as_of AS DATE) - c.first_order_date AS DOUBLE) AS "T",
           coalesce(r.monetary_value, 0.0) AS monetary_value
    FROM cust AS c LEFT JOIN repeat_days AS r USING (customer_id)
    ORDER BY c.customer_id
    """
    params = {**src.params, **date_params(as_of_d, window_days)}
    return run_query(ws, sql, params)


def segment_customers(
    ws: Connection,
    dataset_id: SourceLike,
    settings: SegmentSettings | None = None,
    as_of: date | datetime | str | None = None,
    *,
    cuts: FrozenCuts | None = None,
) -> pd.DataFrame:
    """Every customer with bands, tags (``tag_*``), tier, R/F/M scores and segment (unsorted).

    ``tier``, ``segment`` and the ``*_band`` columns are ordered Categoricals
    (categories in display order: :data:`lib.palette.TIER_ORDER`, ``SEGMENT_ORDER``).

    ``cuts`` freezes the M edges and quintile edges (see :func:`resolve_cuts`).
    An empty dataset gives an empty frame with the same columns.
    """
    src, settings, as_of_d = prepare_run(ws, dataset_id, settings, as_of)
    if as_of_d is None:
        as_of_d = date(1970, 1, 1)  # any date: there are no purchases, the result is empty
    sql, params = classified_query(src, settings, as_of_d, cuts)
    return run_query(ws, f"SELECT {CUSTOMER_COLUMNS} FROM ({sql}) AS c", params)


def _score_edges(score: str, edge: str) -> str:
    """The edge value of score buckets 1…4 as a 4-element list, from the classified relation ``c``.

    Equal values share a score, so a bucket can be empty; it takes the edge of the
    bucket below (the edge of the highest bucket up to it), so that applying the edges
    by value skips it just as the ranks did. Plain aggregates, so Spark runs the same text.
    """
    return f"""SELECT [max_by(v, s) FILTER (WHERE s <= 1), max_by(v, s) FILTER (WHERE s <= 2),
                   max_by(v, s) FILTER (WHERE s <= 3), max_by(v, s) FILTER (WHERE s <= 4)] AS cuts
            FROM (SELECT {score} AS s, {edge} AS v FROM c GROUP BY ALL) AS e"""


def resolve_cuts(
    ws: Connection,
    dataset_id: SourceLike,
    settings: SegmentSettings | None = None,
    as_of: date | datetime | str | None = None,
) -> FrozenCuts:
    """The numeric M band edges and quintile edges at ``as_of`` (to show, or to freeze for other dates)."""
    import pandas as pd

    src, settings, as_of_d = prepare_run(ws, dataset_id, settings, as_of)
    if as_of_d is None:
        return FrozenCuts(as_of=None, m_high_min=settings.thresholds.m_high_min, m_mid_min=settings.thresholds.m_mid_min)
    sql, params = classified_query(src, settings, as_of_d)
    df = run_query(
        ws,
        f"""
        WITH c AS ({sql}),
        m AS (SELECT max(m_high_min) AS m_high_min, max(m_mid_min) AS m_mid_min FROM c),
        r AS ({_score_edges("r_score", "min(days_since_last_order)")}),
        f AS ({_score_edges("f_score", "max(f_value)")}),
        mm AS ({_score_edges("m_score", "max(m_value)")})
        SELECT m.m_high_min, m.m_mid_min, r.cuts AS r_cuts, f.cuts AS f_cuts, mm.cuts AS m_cuts
        FROM m, r, f, mm
        """,
        params,
    )
    row = df.iloc[0]

    def num(v: Any) -> float | None:
        return None if v is None or pd.isna(v) else float(v)

    def seq(v: Any) -> tuple[float, ...]:
        if v is None or v is pd.NA or isinstance(v, float):
            return ()
        return tuple(float(x) for x in v)

    return FrozenCuts(
        as_of=as_of_d,
        m_high_min=num(row["m_high_min"]),
        m_mid_min=num(row["m_mid_min"]),
        r_cuts=seq(row["r_cuts"]),
        f_cuts=seq(row["f_cuts"]),
        m_cuts=seq(row["m_cuts"]),
    )


def segment_members(
    ws: Connection,
    dataset_id: SourceLike,
    settings: SegmentSettings | None = None,
    as_of: date | datetime | str | None = None,
    *,
    group: str | None = None,
    scheme: str | None = None,
    search: str | None = None,
    order_by: str = "window_revenue",
    descending: bool = True,
    limit: int | None = 1000,
) -> pd.DataFrame:
    """The customers of one tier/segment (all when ``group`` is None), filtered, sorted and limited in SQL.

    ``search`` matches a substring of the customer id (case-insensitive).
    ``order_by`` is one of the customer columns; ties are broken by customer id.
    """
    src, settings, as_of_d = prepare_run(ws, dataset_id, settings, as_of)
    scheme = scheme or settings.scheme
    column = "tier" if scheme == "plan" else "segment"
    allowed = {
        "customer_id", "first_order_date", "last_order_date", "orders", "revenue", "aov", "window_orders",
        "window_revenue", "days_since_last_order", "r_score", "f_score", "m_score",
    }
    if order_by not in allowed:
        raise ValueError(f"cannot sort by {order_by!r}; choose one of {sorted(allowed)}")
    if as_of_d is None:
        as_of_d = date(1970, 1, 1)
    sql, params = classified_query(src, settings, as_of_d)
    where = ["TRUE"]
    if group is not None:
        where.append(f'"{column}" = $member_group')
        params["member_group"] = group
    if search:
        where.append("contains(lower(customer_id), lower($member_search))")
        params["member_search"] = str(search)
    direction = "DESC" if descending else "ASC"
    limit_sql = ""
    if limit is not None:
        limit_sql = "LIMIT $member_limit"
        params["member_limit"] = int(limit)
    return run_query(
        ws,
        f"""SELECT {CUSTOMER_COLUMNS} FROM ({sql}) AS c WHERE {" AND ".join(where)}
            ORDER BY "{order_by}" {direction} NULLS LAST, customer_id {limit_sql}""",
        params,
    )


# --------------------------------------------------------------------------------------
# Aggregates for charts (a few dozen rows each)
# --------------------------------------------------------------------------------------

_GROUP_SUMMARY_COLUMNS = [
    "group", "customers", "share_customers", "window_revenue", "share_revenue", "window_orders",
    "revenue", "aov", "median_days_since_last_order",
]


def segment_summary(
    ws: Connection,
    dataset_id: SourceLike,
    settings: SegmentSettings | None = None,
    as_of: date | datetime | str | None = None,
    *,
    by: str | None = None,
) -> pd.DataFrame:
    """Per tier (``by="plan"``) or segment (``by="rfm"``; default: the settings' scheme), every group listed.

    Columns: group, customers, share_customers, window_revenue, share_revenue
    (of window revenue), window_orders, revenue (all orders up to the as-of
    date), aov (revenue / orders, all orders up to the as-of date),
    median_days_since_last_order. Shares are NaN when the total is 0.
    """
    import pandas as pd

    src, settings, as_of_d = prepare_run(ws, dataset_id, settings, as_of)
    scheme = by or settings.scheme
    order = group_order(scheme)
    column = "tier" if scheme == "plan" else "segment"
    if as_of_d is None:
        df = pd.DataFrame({c: [] for c in _GROUP_SUMMARY_COLUMNS})
    else:
        sql, params = classified_query(src, settings, as_of_d)
        df = run_query(
            ws,
            f"""
            WITH c AS ({sql}),
            g AS (  -- sums rounded like the customer values: the same figure whatever order an engine adds in
                SELECT "{column}" AS "group", count(*) AS customers, round(sum(window_revenue), 6) AS window_revenue,
                       sum(window_orders) AS window_orders, round(sum(revenue), 6) AS revenue, sum(orders) AS orders,
                       median(days_since_last_order) AS median_days_since_last_order
                FROM c GROUP BY ALL
            )
            SELECT "group", customers,
                   customers / nullif(sum(customers) OVER (), 0) AS share_customers,
                   window_revenue,
                   window_revenue / nullif(sum(window_revenue) OVER (), 0) AS share_revenue,
                   window_orders, revenue, revenue / nullif(orders, 0) AS aov,
                   median_days_since_last_order
            FROM g
            """,
            params,
        )
    frame = pd.DataFrame({"group": list(order)}).merge(df, on="group", how="left")
    for col in ("customers", "window_revenue", "window_orders", "revenue"):
        frame[col] = frame[col].fillna(0)
    frame["customers"] = frame["customers"].astype("int64")
    frame["window_orders"] = frame["window_orders"].astype("int64")
    total_c, total_r = frame["customers"].sum(), frame["window_revenue"].sum()
    frame["share_customers"] = frame["customers"] / total_c if total_c else float("nan")
    frame["share_revenue"] = frame["window_revenue"] / total_r if total_r else float("nan")
    return frame[_GROUP_SUMMARY_COLUMNS]


def tag_counts(
    ws: Connection,
    dataset_id: SourceLike,
    settings: SegmentSettings | None = None,
    as_of: date | datetime | str | None = None,
) -> pd.DataFrame:
    """Customers carrying each scene tag (tags overlap, so shares can add up to more than 100%)."""
    import pandas as pd

    src, settings, as_of_d = prepare_run(ws, dataset_id, settings, as_of)
    counts = {key: 0 for key in TIER_ORDER}
    total = 0
    if as_of_d is not None:
        sql, params = classified_query(src, settings, as_of_d)
        select = ", ".join(f"count(*) FILTER (WHERE tag_{k}) AS {k}" for k in TAG_KEYS)
        row = run_query(ws, f"SELECT count(*) AS total, {select} FROM ({sql}) AS c", params).iloc[0]
        total = int(row["total"])
        counts = {key: int(row[key]) for key in TIER_ORDER}
    return pd.DataFrame(
        {
            "tag": list(TIER_ORDER),
            "customers": [counts[k] for k in TIER_ORDER],
            "share_customers": [counts[k] / total if total else float("nan") for k in TIER_ORDER],
        }
    )


def rf_heatmap(
    ws: Connection,
    dataset_id: SourceLike,
    settings: SegmentSettings | None = None,
    as_of: date | datetime | str | None = None,
) -> pd.DataFrame:
    """25 rows: customers and window revenue per (R score, F score) with the grid's segment for each cell."""
    import pandas as pd

    src, settings, as_of_d = prepare_run(ws, dataset_id, settings, as_of)
    cells = pd.DataFrame(
        [(r, f, settings.grid[grid_key(r, f)]) for r in range(5, 0, -1) for f in range(1, 6)],
        columns=["r_score", "f_score", "segment"],
    )
    if as_of_d is None:
        counts = pd.DataFrame({"r_score": [], "f_score": [], "customers": [], "window_revenue": []})
    else:
        sql, params = classified_query(src, settings, as_of_d)
        counts = run_query(
            ws,
            f"""SELECT CAST(r_score AS BIGINT) AS r_score, CAST(f_score AS BIGINT) AS f_score,
                       count(*) AS customers, sum(window_revenue) AS window_revenue
                FROM ({sql}) AS c GROUP BY ALL""",
            params,
        )
    out = cells.merge(counts, on=["r_score", "f_score"], how="left")
    out["customers"] = out["customers"].fillna(0).astype("int64")
    out["window_revenue"] = out["window_revenue"].fillna(0.0).astype(float)
    return out


def distribution(
    ws: Connection,
    dataset_id: SourceLike,
    settings: SegmentSettings | None = None,
    as_of: date | datetime | str | None = None,
    *,
    measure: str = "days_since_last_order",
    bins: int = 40,
    clip_quantile: float | None = None,
) -> pd.DataFrame:
    """A histogram binned in SQL: rows ``bin_start, bin_end, customers, open_ended`` (≤ 100 bins).

    ``measure``: ``days_since_last_order`` (integer-width bins, ``[start, end]``
    inclusive), ``window_revenue`` (customers who bought in the window) or
    ``revenue`` (all spend to date); money bins are ``[start, end)``.
    ``clip_quantile`` (default 0.99 for money, none for days) caps the range so a
    few whales do not squash the chart; the last bin then also holds everything
    above and is flagged ``open_ended``.
    """
    import pandas as pd

    if measure not in DISTRIBUTION_MEASURES:
        raise ValueError(f"unknown measure {measure!r}; choose one of {DISTRIBUTION_MEASURES}")
    bins = max(1, min(int(bins), MAX_BINS))
    is_days = measure == "days_since_last_order"
    if clip_quantile is None and not is_days:
        clip_quantile = 0.99
    src, settings, as_of_d = prepare_run(ws, dataset_id, settings, as_of)
    empty = pd.DataFrame({"bin_start": [], "bin_end": [], "customers": [], "open_ended": []})
    if as_of_d is None:
        return empty
    sql, params = classified_query(src, settings, as_of_d)
    params.update(n_bins=bins, clip_q=float(clip_quantile) if clip_quantile is not None else 1.0)
    only_window = "WHERE window_orders > 0" if measure == "window_revenue" else ""
    if is_days:
        width = "greatest(1, CAST(ceil((upper - lo + 1) / CAST($n_bins AS DOUBLE)) AS BIGINT))"
    else:
        width = "CASE WHEN upper > lo THEN (upper - lo) / $n_bins ELSE 1.0 END"
    df = run_query(
        ws,
        f"""
        WITH v AS (SELECT CAST("{measure}" AS DOUBLE) AS x FROM ({sql}) AS c {only_window}),
        st AS (SELECT min(x) AS lo, max(x) AS hi,
                      CASE WHEN $clip_q < 1.0 THEN quantile_cont(x, $clip_q) ELSE max(x) END AS upper
               FROM v),
        w AS (SELECT lo, hi, upper, {width} AS width FROM st),
        binned AS (
            SELECT least(CAST(floor((x - w.lo) / w.width) AS BIGINT), $n_bins - 1) AS bin, count(*) AS customers
            FROM v, w GROUP BY ALL
        )
        SELECT b.bin, w.lo + b.bin * w.width AS bin_start,
               w.lo + (b.bin + 1) * w.width {"- 1" if is_days else ""} AS bin_end,
               b.customers, w.hi > w.upper AND b.bin = (SELECT max(bin) FROM binned) AS open_ended
        FROM binned AS b, w ORDER BY b.bin
        """,
        params,
    )
    if df.empty:
        return empty
    return df[["bin_start", "bin_end", "customers", "open_ended"]].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Change over time
# --------------------------------------------------------------------------------------


def migration_matrix(
    ws: Connection,
    dataset_id: SourceLike,
    date_a: date | datetime | str,
    date_b: date | datetime | str,
    settings: SegmentSettings | None = None,
    scheme: str | None = None,
) -> pd.DataFrame:
    """Customers moving from each tier/segment at ``date_a`` to each at ``date_b`` (long form, all pairs, zeros kept).

    The thresholds are frozen: M band edges and quintile edges are resolved once
    at ``date_b`` (:func:`resolve_cuts`) and applied to both dates, so a move means
    the customer changed, not the yardstick. Customers whose first purchase falls
    after ``date_a`` come from ``"not_yet_customer"``. Columns: from_key, to_key,
    customers, share_of_from (of the row's customers).
    """
    import pandas as pd

    settings = settings or SegmentSettings()
    check_settings(settings)
    scheme = scheme or settings.scheme
    order = list(group_order(scheme))
    column = "tier" if scheme == "plan" else "segment"
    a, b = to_date(date_a), to_date(date_b)
    if a is None or b is None or a >= b:
        raise ValueError("date_a must be earlier than date_b")
    src = as_source(dataset_id, ws)
    cuts = resolve_cuts(ws, src, settings, b)
    sql_a = classify_sql(src, sfx="_a", score_mode="cuts" if cuts.r_cuts else "rank", m_cut_mode="params")
    sql_b = classify_sql(src, sfx="_b", score_mode="cuts" if cuts.r_cuts else "rank", m_cut_mode="params")
    params = {
        **src.params,
        **date_params(a, settings.window_days, "_a"),
        **date_params(b, settings.window_days, "_b"),
        **threshold_params(settings, cuts),
    }
    df = run_query(
        ws,
        f"""
        WITH a AS ({sql_a}), b AS ({sql_b})
        SELECT coalesce(a."{column}", '{NOT_YET_CUSTOMER}') AS from_key, b."{column}" AS to_key, count(*) AS customers
        FROM b LEFT JOIN a USING (customer_id)
        GROUP BY ALL
        """,
        params,
    )
    pairs = pd.DataFrame(
        [(f, to) for f in [NOT_YET_CUSTOMER, *order] for to in order], columns=["from_key", "to_key"]
    )
    out = pairs.merge(df, on=["from_key", "to_key"], how="left")
    out["customers"] = out["customers"].fillna(0).astype("int64")
    row_total = out.groupby("from_key")["customers"].transform("sum")
    out["share_of_from"] = (out["customers"] / row_total.where(row_total > 0)).astype(float)
    return out


def migration_pivot(matrix: pd.DataFrame, scheme: str, lang: str = "en") -> pd.DataFrame:
    """A from × to table of counts with display labels (rows: from, columns: to)."""
    pivot = matrix.pivot(index="from_key", columns="to_key", values="customers")
    order = list(group_order(scheme))
    pivot = pivot.reindex(index=[NOT_YET_CUSTOMER, *order], columns=order).fillna(0).astype("int64")
    pivot.index = [group_label(k, scheme, lang) for k in pivot.index]
    pivot.columns = [group_label(k, scheme, lang) for k in pivot.columns]
    return pivot


def week_ends(start: date | datetime | str, end: date | datetime | str) -> list[date]:
    """The Sundays (ends of Monday-start weeks) from ``start`` to ``end``; ``[end]`` if the range holds none."""
    s, e = to_date(start), to_date(end)
    if s is None or e is None or s > e:
        return []
    first = s + timedelta(days=(6 - s.weekday()) % 7)
    out = []
    d = first
    while d <= e:
        out.append(d)
        d += timedelta(days=7)
    return out or [e]


def tier_sizes_over_time(
    ws: Connection,
    dataset_id: SourceLike,
    start: date | datetime | str,
    end: date | datetime | str,
    settings: SegmentSettings | None = None,
    *,
    scheme: str = "plan",
) -> pd.DataFrame:
    """Tier (or segment) sizes at every week end (Sunday) from ``start`` to ``end``, in one SQL query.

    Thresholds are frozen at the last week end (like :func:`migration_matrix`),
    so the trend shows customers moving, not cut-offs moving. Columns: as_of,
    group, customers (every group at every date, zeros kept). Cost grows with
    customer-days × weeks; a year of weeks on a million orders takes seconds.
    """
    import pandas as pd

    settings = settings or SegmentSettings()
    check_settings(settings)
    order = list(group_order(scheme))
    dates = week_ends(start, end)
    if not dates:
        return pd.DataFrame({"as_of": [], "group": [], "customers": []})
    src = as_source(dataset_id, ws)
    cuts = resolve_cuts(ws, src, settings, dates[-1])
    column = "tier" if scheme == "plan" else "segment"
    sql = classify_sql(src, score_mode="cuts" if cuts.r_cuts else "rank", m_cut_mode="params", weekly=True)
    params = {
        **src.params,
        "first_as_of": dates[0],
        "last_as_of": dates[-1],
        "last_before_ts": datetime.combine(dates[-1], datetime.min.time()) + timedelta(days=1),
        "n_weeks": len(dates),
        "window_days": int(settings.window_days),
        **threshold_params(settings, cuts),
    }
    df = run_query(
        ws, f'SELECT as_of, "{column}" AS "group", count(*) AS customers FROM ({sql}) AS c GROUP BY ALL', params
    )
    grid = pd.DataFrame([(d, g) for d in dates for g in order], columns=["as_of", "group"])
    if not df.empty:
        df["as_of"] = pd.to_datetime(df["as_of"]).dt.date
    out = grid.merge(df, on=["as_of", "group"], how="left")
    out["customers"] = out["customers"].fillna(0).astype("int64")
    return out
