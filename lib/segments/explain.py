"""One customer explained, and the guards on a dataset: why someone sits in their tier, and when segments mean little.

Why this module exists: the page's "explain a customer" panel and the warnings shown
above every segment view (and written into the export's About sheet) read the
classification for a single customer or as a whole; they are texts for users, in
English and Chinese, built from the same query as every figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from lib.formatting import money
from lib.i18n import t
from lib.segments.engine import Connection, OrderSource, SourceLike, classified_query, prepare_run, run_query, to_date
from lib.segments.labels import band_rules, segment_label, tier_label
from lib.segments.settings import (
    F_COLLAPSE_SHARE,
    MIN_CUSTOMERS,
    MIN_HISTORY_DAYS,
    TAG_KEYS,
    TIER_PRECEDENCE,
    FrozenCuts,
    SegmentSettings,
)

if TYPE_CHECKING:  # pandas only where a caller asks for a frame: the CLI's CSV export never loads it
    import pandas as pd


@dataclass(frozen=True)
class CustomerExplanation:
    """Why a customer sits in their tier and segment: their values against the thresholds."""

    customer_id: str
    as_of: date
    tier: str
    segment: str
    tags: list[str]
    scores: dict[str, int]
    rows: list[dict[str, Any]]
    score_rows: list[dict[str, Any]]
    reason: str


def explain_customer(
    ws: Connection,
    dataset_id: SourceLike,
    customer_id: str,
    settings: SegmentSettings | None = None,
    as_of: date | datetime | str | None = None,
    lang: str = "en",
) -> CustomerExplanation | None:
    """The customer's R, F, M values, the band each falls in with its rule, their scores with each
    score's value range, tags and the reason for the tier; None if they had not bought by the as-of date."""
    src, settings, as_of_d = prepare_run(ws, dataset_id, settings, as_of)
    if as_of_d is None:
        return None
    row = _customer_row(ws, src, settings, as_of_d, customer_id)
    if row is None:
        return None
    tags = [k for k in TAG_KEYS if bool(row[f"tag_{k}"])]
    tier = str(row["tier"])
    reason = t(
        "segments.explain.reason",
        lang,
        tier=tier_label(tier, lang),
        tags=", ".join(tier_label(k, lang) for k in tags),
        order=" → ".join(tier_label(k, lang) for k in TIER_PRECEDENCE),
        segment=segment_label(str(row["segment"]), lang),
        r=int(row["r_score"]),
        f=int(row["f_score"]),
    )
    return CustomerExplanation(
        customer_id=str(row["customer_id"]),
        as_of=as_of_d,
        tier=tier,
        segment=str(row["segment"]),
        tags=tags,
        scores={"r": int(row["r_score"]), "f": int(row["f_score"]), "m": int(row["m_score"])},
        rows=_band_rows(row, settings, as_of_d, lang),
        score_rows=_score_rows(row, settings, lang),
        reason=reason,
    )


def _customer_row(ws: Connection, src: OrderSource, settings: SegmentSettings, as_of: date,
                  customer_id: str) -> pd.Series | None:
    """The customer's classified row plus ``ranges``: the value range of each of their R/F/M scores."""
    sql, params = classified_query(src, settings, as_of)
    params["explain_customer"] = str(customer_id)
    df = run_query(
        ws,
        f"""
        WITH c AS ({sql}),
        me AS (SELECT * FROM c WHERE customer_id = $explain_customer),
        ranges AS (
            SELECT 'r' AS dim, r_score AS score, min(days_since_last_order) AS lo, max(days_since_last_order) AS hi
            FROM c WHERE r_score = (SELECT r_score FROM me) GROUP BY ALL
            UNION ALL
            SELECT 'f', f_score, min(f_value), max(f_value) FROM c WHERE f_score = (SELECT f_score FROM me) GROUP BY ALL
            UNION ALL
            SELECT 'm', m_score, min(m_value), max(m_value) FROM c WHERE m_score = (SELECT m_score FROM me) GROUP BY ALL
        )
        SELECT me.*, (SELECT list({{'dim': dim, 'lo': lo, 'hi': hi}}) FROM ranges) AS ranges FROM me
        """,
        params,
    )
    return None if df.empty else df.iloc[0]


def _band_rows(row: pd.Series, settings: SegmentSettings, as_of: date, lang: str) -> list[dict[str, Any]]:
    """R, F and M: the customer's value, the band it falls in and that band's rule."""
    resolved = FrozenCuts(as_of=as_of, m_high_min=_num(row["m_high_min"]), m_mid_min=_num(row["m_mid_min"]))
    rules = {r["key"]: r for r in band_rules(settings.thresholds, lang, window_days=settings.window_days,
                                             cuts=resolved)}
    shown = {
        "r": str(int(row["days_since_last_order"])),
        "f": str(int(row["window_orders"])),
        "m": money(float(row["window_revenue"]), lang, decimals=2),
    }
    rows = []
    for dim in ("r", "f", "m"):
        rule = rules[f"{dim}.{row[f'{dim}_band']}"]
        rows.append({
            "measure": t(f"segments.measure.{dim}", lang, days=settings.window_days),
            "value": shown[dim],
            "band": rule["band"],
            "rule": rule["rule"],
        })
    return rows


def _score_rows(row: pd.Series, settings: SegmentSettings, lang: str) -> list[dict[str, Any]]:
    """R, F and M scores with the basis they are computed on and the range of values sharing the score."""
    raw_ranges = row["ranges"]
    ranges = {item["dim"]: item for item in (list(raw_ranges) if raw_ranges is not None else [])}
    basis = "all_time" if settings.score_basis == "all_time" else "window"
    score_rows = []
    for dim in ("r", "f", "m"):
        rng = ranges.get(dim, {})
        lo, hi = rng.get("lo"), rng.get("hi")

        def fmt(v: Any, dim: str = dim) -> str:
            return money(v, lang, decimals=2) if dim == "m" else f"{v:,.0f}"

        score_rows.append(
            {
                "score": t(f"segments.score.{dim}", lang),
                "value": int(row[f"{dim}_score"]),
                "basis": t(f"segments.score_basis.{dim}.{basis}", lang, days=settings.window_days),
                "range": t("segments.score_range", lang, lo=fmt(lo), hi=fmt(hi)) if lo is not None else "",
            }
        )
    return score_rows


def _num(value: Any) -> float | None:
    import pandas as pd

    return None if value is None or pd.isna(value) else float(value)


def data_warnings(
    ws: Connection,
    dataset_id: SourceLike,
    as_of: date | datetime | str | None = None,
    settings: SegmentSettings | None = None,
    lang: str = "en",
) -> list[str]:
    """Plain-language reasons the segmentation may not mean much (empty list = fine).

    Empty dataset; fewer than 200 customers; under 90 days of history before the
    as-of date; a window longer than the history; and, when F scores collapse (one
    F value covers ≥ 20% of customers, so all of them share one score and some
    scores hold nobody), which score they share and which scores are unused.
    """
    import pandas as pd

    src, settings, as_of_d = prepare_run(ws, dataset_id, settings, as_of)
    if as_of_d is None:
        return [t("segments.warn.empty", lang)]
    sql, params = classified_query(src, settings, as_of_d)
    df = run_query(
        ws,
        f"""
        WITH c AS ({sql}),
        stats AS (SELECT count(*) AS customers, min(first_order_date) AS first_day,
                         list(DISTINCT f_score) AS used FROM c),
        fv AS (SELECT f_value, count(*) AS n, min(f_score) AS score FROM c GROUP BY f_value),
        top AS (SELECT * FROM fv ORDER BY n DESC, f_value LIMIT 1)
        SELECT stats.customers, stats.first_day, stats.used, top.f_value, top.n, top.score
        FROM stats LEFT JOIN top ON TRUE
        """,
        params,
    )
    row = df.iloc[0]
    customers = int(row["customers"])
    if customers == 0:
        return [t("segments.warn.empty", lang)]
    warnings: list[str] = []
    if customers < MIN_CUSTOMERS:
        warnings.append(t("segments.warn.few_customers", lang, n=customers, min=MIN_CUSTOMERS))
    history = (as_of_d - to_date(row["first_day"])).days + 1  # type: ignore[operator]
    if history < MIN_HISTORY_DAYS:
        warnings.append(t("segments.warn.short_history", lang, days=history, min=MIN_HISTORY_DAYS))
    if history < settings.window_days:
        warnings.append(t("segments.warn.window_longer", lang, days=history, window=settings.window_days))
    unused = sorted(set(range(1, 6)) - {int(v) for v in row["used"]})
    if not pd.isna(row["n"]) and int(row["n"]) / customers >= F_COLLAPSE_SHARE and unused:
        warnings.append(
            t(
                "segments.warn.f_collapse",
                lang,
                share=f"{int(row['n']) / customers:.0%}",
                value=int(row["f_value"]),
                score=int(row["score"]),
                unused=", ".join(str(v) for v in unused),
            )
        )
    return warnings
