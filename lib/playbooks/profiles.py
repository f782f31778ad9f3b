"""Who is in each tier: the tier profiles, computed in DuckDB through lib.segments' classification.

Why a module of its own: it is the package's only query. It classifies through the
public seams of :mod:`lib.segments` (``classify_sql``, ``prepare_run``, ``date_params``,
``threshold_params``, ``resolve_as_of``), so every count equals the Segments page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

import pandas as pd

from lib import segments as seg
from lib.playbooks.content import CHANGE_DAYS, SCHEMES, SILENT_DAYS
from lib.sql_engine import QueryTarget
from lib.workspace import Workspace

# --------------------------------------------------------------------------------------
# Who: tier profiles (DuckDB, through lib.segments' classification)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierProfile:
    """Who is in a tier (or segment) at the as-of date.

    ``aov`` = revenue / orders of the members, all orders up to the as-of date
    (as on the Segments page); ``repurchase_rate`` = members with ≥ 2 orders in
    the window / members; ``share_revenue`` is of window revenue. The 4-week
    comparison classifies customers at ``compare_as_of`` (as-of − 28 days) with
    the thresholds frozen at the as-of date (:func:`lib.segments.resolve_cuts`),
    so a change means customers moved, not the yardstick: ``member_change`` =
    ``members_now_frozen`` − ``members_4_weeks_ago``, both under those frozen
    cut-offs. For tiers ``members_now_frozen`` always equals ``members``; for RFM
    segments it can differ a lot when F collapses (many one-time buyers: NTILE
    spreads tied customers over several scores by id, frozen edges put them all
    in the lowest), so show ``member_change`` rather than members − members 4
    weeks ago.
    ``silent_90d`` = customers who were in the group 90 days before the as-of
    date and have not ordered since (the audience of the high-value "silent 3
    months" play). Shares and rates are None when undefined.

    The baseline the plays are measured against (:data:`BASELINE_DAYS` = 28 days):
    ``baseline_buyers`` of the ``members_4_weeks_ago`` (the tier at the compare date,
    cut-offs frozen) ordered between the compare date (exclusive) and the as-of date
    (inclusive); ``baseline_rate`` is their share. For the "silent 3 months" audience
    the same is measured one window earlier: ``silent_baseline_customers`` were in the
    group 90 days before the compare date and had not ordered since by then;
    ``silent_baseline_buyers`` of them ordered in the 28 days that followed.
    """

    group: str
    scheme: str
    as_of: date | None
    members: int
    share_customers: float | None
    window_revenue: float
    share_revenue: float | None
    revenue: float
    orders: int
    aov: float | None
    repurchase_rate: float | None
    median_days_since_last_order: float | None
    compare_as_of: date | None
    members_now_frozen: int
    members_4_weeks_ago: int
    member_change: int
    member_change_pct: float | None
    silent_90d: int
    baseline_buyers: int = 0
    silent_baseline_customers: int = 0
    silent_baseline_buyers: int = 0

    @property
    def baseline_rate(self) -> float | None:
        """Share of the tier's members 28 days ago who ordered since (None when there were none)."""
        return self.baseline_buyers / self.members_4_weeks_ago if self.members_4_weeks_ago else None

    @property
    def silent_baseline_rate(self) -> float | None:
        """The same share for customers silent for 90 days, one window earlier (None when there were none)."""
        return self.silent_baseline_buyers / self.silent_baseline_customers if self.silent_baseline_customers else None


def resolve_settings(ws: QueryTarget, dataset_id: Any, settings: seg.SegmentSettings | None) -> seg.SegmentSettings:
    if settings is not None:
        return settings
    if isinstance(ws, Workspace) and isinstance(dataset_id, int) and not isinstance(dataset_id, bool):
        return seg.load_settings(ws, dataset_id)  # saved settings live in the workspace
    return seg.SegmentSettings()


def _optional(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def all_tier_profiles(
    ws: QueryTarget,
    dataset_id: seg.SourceLike,
    scheme: str = "plan",
    as_of: date | datetime | str | None = None,
    settings: seg.SegmentSettings | None = None,
) -> dict[str, TierProfile]:
    """Every tier's (``plan``) or segment's (``rfm``) profile, in display order, from one SQL query
    (plus the query that resolves the frozen cut-offs).

    ``settings`` default to the dataset's saved segmentation settings; ``as_of``
    to the last purchase day. An empty dataset gives zero members everywhere.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}")
    settings = resolve_settings(ws, dataset_id, settings)
    src, settings, as_of_d = seg.prepare_run(ws, dataset_id, settings, as_of)
    order = list(seg.group_order(scheme))
    rows: dict[str, dict[str, Any]] = {}
    compare = as_of_d - timedelta(days=CHANGE_DAYS) if as_of_d else None
    if as_of_d is not None:
        rows = _profile_rows(ws, src, settings, as_of_d, "tier" if scheme == "plan" else "segment", order)
    total_members = sum(int(r["members"]) for r in rows.values())
    total_window_revenue = sum(float(r["window_revenue"]) for r in rows.values())
    return {
        key: _profile(key, scheme, rows.get(key, {}), as_of_d, compare, total_members, total_window_revenue)
        for key in order
    }


def _profile_rows(ws: QueryTarget, src: seg.OrderSource, settings: seg.SegmentSettings, as_of: date,
                  column: str, order: list[str]) -> dict[str, dict[str, Any]]:
    """One row of counts per group: members now, four weeks ago (cut-offs frozen), silent, baseline buyers."""
    compare = as_of - timedelta(days=CHANGE_DAYS)
    cuts = seg.resolve_cuts(ws, src, settings, as_of)
    frozen_mode: Literal["rank", "cuts"] = "cuts" if cuts.r_cuts else "rank"
    # Current members exactly as lib.segments counts them (rank quintiles; the M edges passed in
    # are the ones resolved at this date, so they equal the data-derived ones) …
    sql_now = seg.classify_sql(src, score_mode="rank", m_cut_mode="params")
    # … and three classifications with every cut-off frozen at the as-of date.
    sql_now_frozen = seg.classify_sql(src, score_mode=frozen_mode, m_cut_mode="params")
    sql_before = seg.classify_sql(src, sfx="_b4", score_mode=frozen_mode, m_cut_mode="params")
    sql_silent = seg.classify_sql(src, sfx="_s", score_mode=frozen_mode, m_cut_mode="params")
    # The baseline of the "silent 3 months" audience: the same selection one window earlier.
    sql_silent_before = seg.classify_sql(src, sfx="_sb", score_mode=frozen_mode, m_cut_mode="params")
    silent_day: date = as_of - timedelta(days=SILENT_DAYS)
    silent_compare: date = compare - timedelta(days=SILENT_DAYS)
    params = {
        **src.params,
        **seg.date_params(as_of, settings.window_days),
        **seg.date_params(compare, settings.window_days, "_b4"),
        **seg.date_params(silent_day, settings.window_days, "_s"),
        **seg.date_params(silent_compare, settings.window_days, "_sb"),
        **seg.threshold_params(settings, cuts),
        "profile_groups": order,
        "silent_days": SILENT_DAYS,
    }
    df = seg.run_query(
        ws, _profile_sql(column, sql_now, sql_now_frozen, sql_before, sql_silent, sql_silent_before), params,
    )
    return {str(r["g"]): {str(k): v for k, v in r.items()} for r in df.to_dict("records")}


def _profile_sql(column: str, now: str, now_frozen: str, before: str, silent: str, silent_before: str) -> str:
    """Counts per group from the five classifications (``column`` is "tier" or "segment", never user text)."""
    return f"""
        WITH now_c AS ({now}),
        now_f AS ({now_frozen}),
        before_c AS ({before}),
        silent_c AS ({silent}),
        silent_b AS ({silent_before}),
        activity AS (
            -- per customer known at the compare date: ordered in the baseline window (compare date,
            -- as-of date] (their last order by the as-of date is after the compare date), and silent
            -- for 90 days at the compare date (the silent audience's baseline)
            SELECT b.customer_id, c.last_order_date > CAST($as_of_b4 AS DATE) AS bought,
                   b.days_since_last_order < $silent_days AS active_before
            FROM before_c AS b JOIN now_c AS c USING (customer_id)
        ),
        grp AS (SELECT unnest(CAST($profile_groups AS VARCHAR[])) AS g),
        stats AS (
            SELECT "{column}" AS g, count(*) AS members, sum(window_revenue) AS window_revenue,
                   sum(revenue) AS revenue, sum(orders) AS orders,
                   count(*) FILTER (WHERE window_orders >= 2) AS repeaters,
                   median(days_since_last_order) AS median_days
            FROM now_c GROUP BY ALL
        ),
        nf AS (SELECT "{column}" AS g, count(*) AS n FROM now_f GROUP BY ALL),
        bf AS (
            SELECT b."{column}" AS g, count(*) AS n, count(*) FILTER (WHERE a.bought) AS buyers
            FROM before_c AS b LEFT JOIN activity AS a USING (customer_id)
            GROUP BY ALL
        ),
        sl AS (
            SELECT s."{column}" AS g, count(*) AS n
            FROM silent_c AS s JOIN now_c AS c ON s.customer_id = c.customer_id
            WHERE c.days_since_last_order >= $silent_days
            GROUP BY ALL
        ),
        sb AS (
            SELECT s."{column}" AS g, count(*) AS n, count(*) FILTER (WHERE a.bought) AS buyers
            FROM silent_b AS s LEFT JOIN activity AS a USING (customer_id)
            WHERE NOT coalesce(a.active_before, FALSE)
            GROUP BY ALL
        )
        SELECT grp.g,
               coalesce(stats.members, 0) AS members, coalesce(stats.window_revenue, 0) AS window_revenue,
               coalesce(stats.revenue, 0) AS revenue, coalesce(stats.orders, 0) AS orders,
               coalesce(stats.repeaters, 0) AS repeaters, stats.median_days,
               coalesce(nf.n, 0) AS members_now_frozen, coalesce(bf.n, 0) AS members_before,
               coalesce(sl.n, 0) AS silent, coalesce(bf.buyers, 0) AS baseline_buyers,
               coalesce(sb.n, 0) AS silent_baseline_customers, coalesce(sb.buyers, 0) AS silent_baseline_buyers
        FROM grp
        LEFT JOIN stats ON stats.g = grp.g
        LEFT JOIN nf ON nf.g = grp.g
        LEFT JOIN bf ON bf.g = grp.g
        LEFT JOIN sl ON sl.g = grp.g
        LEFT JOIN sb ON sb.g = grp.g
    """


def _profile(key: str, scheme: str, r: dict[str, Any], as_of: date | None, compare: date | None,
             total_members: int, total_window_revenue: float) -> TierProfile:
    """A group's profile from its row of counts (an absent row is an empty group)."""
    members = int(r.get("members", 0) or 0)
    orders = int(r.get("orders", 0) or 0)
    revenue = float(r.get("revenue", 0.0) or 0.0)
    window_revenue = float(r.get("window_revenue", 0.0) or 0.0)
    before = int(r.get("members_before", 0) or 0)
    now_frozen = int(r.get("members_now_frozen", 0) or 0)
    change = now_frozen - before
    return TierProfile(
        group=key,
        scheme=scheme,
        as_of=as_of,
        members=members,
        share_customers=members / total_members if total_members else None,
        window_revenue=window_revenue,
        share_revenue=window_revenue / total_window_revenue if total_window_revenue else None,
        revenue=revenue,
        orders=orders,
        aov=revenue / orders if orders else None,
        repurchase_rate=int(r.get("repeaters", 0) or 0) / members if members else None,
        median_days_since_last_order=_optional(r.get("median_days")),
        compare_as_of=compare,
        members_now_frozen=now_frozen,
        members_4_weeks_ago=before,
        member_change=change,
        member_change_pct=change / before if before else None,
        silent_90d=int(r.get("silent", 0) or 0),
        baseline_buyers=int(r.get("baseline_buyers", 0) or 0),
        silent_baseline_customers=int(r.get("silent_baseline_customers", 0) or 0),
        silent_baseline_buyers=int(r.get("silent_baseline_buyers", 0) or 0),
    )
