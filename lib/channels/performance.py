"""Channel performance for a period: spend, reach, new customers, revenue and the ratios the plan tracks.

Why: the Channels page, the optimiser's "current split" and the review pack all need
the same per-channel table. New customers come from the channel data when it
reports them, otherwise from each customer's first-order channel in the orders —
``new_customers_source`` says which, so the page can tell the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from lib.channels.curves import ChannelFit, fit_all, weekly_channel_frame
from lib.kpis import Period
from lib.metrics import dataset_ledger, first_orders_sql, order_source, source_params
from lib.workspace import Workspace

NewCustomerSource = Literal["channel_data", "first_order_channel"]


def _table_sql(source: Any) -> str:
    """Spend, first-order customers and order sales per channel (``source``: the dataset's in-place files, if any)."""
    return f"""
WITH spend AS (
    SELECT channel, sum(spend) AS spend, sum(impressions) AS impressions, sum(clicks) AS clicks,
           sum(new_customers) AS reported_new, count(new_customers) AS new_rows,
           sum(orders) AS reported_orders, sum(revenue) AS reported_revenue
    FROM channel_spend WHERE dataset_id = $ds AND period_start BETWEEN $start AND $end
    GROUP BY channel
), first_order AS (
    SELECT channel, count(*) AS first_order_new
    FROM ({first_orders_sql(dataset_ledger("ds", source))}) AS firsts
    WHERE first_day BETWEEN $start AND $end AND channel IS NOT NULL GROUP BY channel
), sales AS (
    SELECT channel, count(*) FILTER (WHERE is_order) AS order_count, sum(net_amount) AS order_revenue
    FROM ({dataset_ledger("ds", source)}) AS ledger
    WHERE CAST(order_ts AS DATE) BETWEEN $start AND $end AND channel IS NOT NULL
    GROUP BY channel
)
SELECT channel, spend, impressions, clicks, reported_new, new_rows, first_order_new,
       reported_orders, reported_revenue, order_count, order_revenue
FROM spend FULL OUTER JOIN first_order USING (channel) FULL OUTER JOIN sales USING (channel)
"""


@dataclass(frozen=True)
class ChannelTable:
    frame: pd.DataFrame
    new_customers_source: NewCustomerSource
    revenue_source: Literal["channel_data", "orders"]


def _ratio(a: pd.Series, b: pd.Series) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a.astype(float) / b.astype(float)
    return out.where(np.isfinite(out))


def channel_table(ws: Workspace, dataset_id: int, period: Period) -> ChannelTable:
    """One row per channel: spend, impressions, clicks, new customers, orders, revenue, CAC, ROAS, ROI, CTR, CVR."""
    src = order_source(ws, dataset_id)
    raw = ws.query_df(_table_sql(src), {"ds": dataset_id, "start": period.start, "end": period.end,
                                        **source_params("ds", src)})
    reported = bool(len(raw)) and raw["new_rows"].fillna(0).sum() > 0
    has_channel_revenue = bool(len(raw)) and raw["reported_revenue"].notna().any()
    frame = pd.DataFrame({"channel": raw["channel"].astype(str)})
    frame["spend"] = raw["spend"]
    frame["impressions"] = raw["impressions"]
    frame["clicks"] = raw["clicks"]
    frame["new_customers"] = raw["reported_new"] if reported else raw["first_order_new"].fillna(0)
    frame["orders"] = raw["reported_orders"].where(raw["reported_orders"].notna(), raw["order_count"])
    frame["revenue"] = raw["reported_revenue"] if has_channel_revenue else raw["order_revenue"]
    frame["cac"] = _ratio(frame["spend"], frame["new_customers"])
    frame["roas"] = _ratio(frame["revenue"], frame["spend"])
    frame["roi"] = _ratio(frame["revenue"] - frame["spend"], frame["spend"])
    frame["ctr"] = _ratio(frame["clicks"], frame["impressions"])
    frame["cvr"] = _ratio(frame["orders"], frame["clicks"])
    total_spend = frame["spend"].sum(min_count=1)
    total_new = frame["new_customers"].sum(min_count=1)
    frame["spend_share"] = _ratio(frame["spend"], pd.Series(total_spend, index=frame.index))
    frame["new_share"] = _ratio(frame["new_customers"], pd.Series(total_new, index=frame.index))
    frame = frame.sort_values(["spend", "revenue"], ascending=False, na_position="last").reset_index(drop=True)
    return ChannelTable(
        frame=frame,
        new_customers_source="channel_data" if reported else "first_order_channel",
        revenue_source="channel_data" if has_channel_revenue else "orders",
    )


def weekly_channel_metrics(ws: Workspace, dataset_id: int, period: Period) -> pd.DataFrame:
    """Per week and channel: spend, new customers and revenue reported by the channel data (for trend charts)."""
    return ws.query_df(
        """
        SELECT date_trunc('week', period_start)::DATE AS week, channel,
               sum(spend) AS spend, sum(new_customers) AS new_customers, sum(revenue) AS revenue
        FROM channel_spend WHERE dataset_id = $ds AND period_start BETWEEN $start AND $end
        GROUP BY ALL ORDER BY week, channel
        """,
        {"ds": dataset_id, "start": period.start, "end": period.end},
    )


def recent_weekly_spend(ws: Workspace, dataset_id: int, weeks: int = 13) -> dict[str, float]:
    """Average weekly spend per channel over the last ``weeks`` weeks of channel data (the "current" split)."""
    rows = ws.query_rows(
        """
        WITH w AS (
            SELECT date_trunc('week', period_start)::DATE AS week, channel, sum(spend) AS spend
            FROM channel_spend WHERE dataset_id = ? GROUP BY ALL
        ), recent AS (
            SELECT * FROM w WHERE week > (SELECT max(week) FROM w) - (? * 7)
        )
        SELECT channel, sum(spend) / ? FROM recent GROUP BY channel ORDER BY channel
        """,
        [dataset_id, weeks, weeks],
    )
    return {str(channel): float(spend or 0.0) for channel, spend in rows}


def fit_channel_curves(ws: Workspace, dataset_id: int, metric: str = "new_customers") -> dict[str, ChannelFit]:
    """Response curves of every channel for a metric, fitted on weekly channel data (see :mod:`lib.channels.curves`)."""
    return fit_all(weekly_channel_frame(ws, dataset_id, metric), metric=metric)
