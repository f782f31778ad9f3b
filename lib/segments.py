"""Customer segmentation: the plan's R/F/M bands, scene tags and tiers, 5-point RFM scores and named segments.

Why this module exists: every segment count, share, chart, playbook and export in
the product must come from one set of definitions, computed the same way every
time. The work is done in DuckDB SQL (a dataset can hold tens of millions of
orders; pandas never sees more than one row per customer, and the summaries see
one row per group). The SQL is written against a *source relation* of purchases,
so the same engine runs on the workspace's ``orders`` table or on a Parquet file
or folder read in place (see :class:`OrderSource`).

Definitions (all dates are calendar days; an order's time of day is ignored):

* **as-of date** – the day the analysis looks back from (default: the last
  order day). Orders after it are ignored. Orders and customers are those of the
  :mod:`lib.metrics` ledger (identified customers only; see "net of cancellations").
* **window** – the ``window_days`` days ending on (and including) the as-of date;
  with the default 365 and as-of 2024-12-31 that is 2024-01-02 … 2024-12-31.
* **days since last order** (the plan's R) – as-of date minus the last purchase
  day; 0 when the customer bought on the as-of date. This is *not* lifetimes'
  ``recency`` (age at last purchase: last purchase day minus first purchase day),
  which :func:`customer_summary` also returns, under its lifetimes name.
* **plan bands** (:class:`Thresholds`) – R: recent ``d ≤ 30`` / middle
  ``31 ≤ d ≤ 90`` / lapsed ``d ≥ 91``; F (orders in the window): high ``f ≥ 5`` /
  mid ``2 ≤ f ≤ 4`` / low ``f ≤ 1``; M (spend in the window): high ``m ≥ X`` /
  mid ``Y ≤ m < X`` / low ``m < Y`` or no purchase in the window, where X and Y
  are typed amounts or, by default, the 2/3 and 1/3 quantiles (linear
  interpolation) of window spend among customers who bought in the window.
* **scene tags** (overlap): new = exactly one order so far and bought within the
  recent bound; active = bought within the recent bound; lapsing = middle R band;
  dormant = lapsed R band; high_value = R recent AND F high AND M high.
* **tier** (exactly one per customer), first tag that applies in the precedence
  high_value → new → active → lapsing → dormant. Active, lapsing and dormant
  partition all customers by R, so the tiers always add up to 100%.
* **5-point scores** – quintiles over customers by rank: a customer's score is
  ``1 + floor(5 · (rank − 1) / customers)`` where ``rank`` is the position of the
  first customer with the same value (SQL ``RANK()``), so **equal values always get
  equal scores** — no tie is broken by customer id or row order. R is reversed (5 =
  most recent). F and M use all orders / all net spend up to the as-of date by
  default (``score_basis="all_time"``) so that "bought often, long ago" (Can't Lose
  Them) can exist; ``score_basis="window"`` uses the window.
  **When F collapses**: with many one-time buyers (CDNOW: 51% have exactly one
  order) all of them share F score 1 and the next F value starts at score 3 or
  higher, so some scores hold nobody. :func:`data_warnings` says so whenever one F
  value covers ≥ 20% of customers and a score is left unused.
* **net of cancellations** – orders, spend and every score come from the
  :mod:`lib.metrics` ledger: spend is net of cancellations and refunds, a purchase
  cancelled in full is not an order, and a customer whose net spend is ≤ 0 is never
  high-value.
* **named segments** – an editable R×F grid (:data:`DEFAULT_GRID`, keys
  ``"R{r}F{f}"``). The widely used grid has no "Lost" cell; making R=1, F=1
  "Lost" is this product's choice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from lib.formatting import money
from lib.i18n import t
from lib.metrics import dataset_ledger, ledger_sql, order_source, source_params
from lib.palette import SEGMENT_ORDER, TIER_ORDER
from lib.sql_engine import DuckDBEngine, Engine, QueryTarget

# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------

SETTINGS_KEY = "segments.settings"
DEFAULT_WINDOW_DAYS = 365
NOT_YET_CUSTOMER = "not_yet_customer"
TAG_KEYS: tuple[str, ...] = ("new", "active", "lapsing", "dormant", "high_value")
# Precedence that turns overlapping tags into one tier (first match wins).
TIER_PRECEDENCE: tuple[str, ...] = ("high_value", "new", "active", "lapsing", "dormant")
SCHEMES: tuple[str, ...] = ("plan", "rfm")
SCORE_BASES: tuple[str, ...] = ("all_time", "window")
DISTRIBUTION_MEASURES: tuple[str, ...] = ("days_since_last_order", "window_revenue", "revenue")
MAX_BINS = 100
MIN_CUSTOMERS = 200
MIN_HISTORY_DAYS = 90
F_COLLAPSE_SHARE = 0.20

assert set(TIER_PRECEDENCE) == set(TIER_ORDER), "tier keys must match lib.palette.TIER_ORDER"

# R×F grid: rows R=5 (most recent) … R=1, columns F=1 … F=5.
_DEFAULT_GRID_ROWS: dict[int, tuple[str, str, str, str, str]] = {
    5: ("new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    4: ("promising", "potential_loyalists", "potential_loyalists", "loyal_customers", "loyal_customers"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal_customers", "loyal_customers"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose_them"),
    1: ("lost", "hibernating", "at_risk", "at_risk", "cant_lose_them"),
}


def grid_key(r_score: int, f_score: int) -> str:
    """The grid cell name for an R and an F score, e.g. ``grid_key(5, 1) == "R5F1"``."""
    return f"R{int(r_score)}F{int(f_score)}"


GRID_CELLS: tuple[str, ...] = tuple(grid_key(r, f) for r in range(5, 0, -1) for f in range(1, 6))
DEFAULT_GRID: dict[str, str] = {
    grid_key(r, f): _DEFAULT_GRID_ROWS[r][f - 1] for r in range(5, 0, -1) for f in range(1, 6)
}

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
    def for_dataset(cls, dataset_id: int, conn: Any = None) -> OrderSource:
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


def as_source(dataset: SourceLike, conn: Any = None) -> OrderSource:
    """A dataset id or an :class:`OrderSource`, as an :class:`OrderSource` (``conn``: the workspace it lives in)."""
    if isinstance(dataset, OrderSource):
        return dataset
    return OrderSource.for_dataset(int(dataset), conn)


# --------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """The plan's band edges; every comparison is stated in :func:`band_rules`.

    R (days since last order): recent ``d ≤ recent_max_days``; middle
    ``recent_max_days < d ≤ lapsing_max_days``; lapsed ``d > lapsing_max_days``.
    F (orders in the window): high ``f ≥ f_high_min``; mid ``f_mid_min ≤ f < f_high_min``;
    low ``f < f_mid_min``. M (spend in the window): ``m_mode="tertiles"`` computes the
    cut-offs from data; ``m_mode="amounts"`` uses ``m_high_min`` and ``m_mid_min``:
    high ``m ≥ m_high_min``; mid ``m_mid_min ≤ m < m_high_min``; low otherwise.
    """

    recent_max_days: int = 30
    lapsing_max_days: int = 90
    f_high_min: int = 5
    f_mid_min: int = 2
    m_mode: Literal["tertiles", "amounts"] = "tertiles"
    m_high_min: float | None = None
    m_mid_min: float | None = None


@dataclass(frozen=True)
class SegmentSettings:
    """Everything a user can change about segmentation, saved per dataset."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    grid: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_GRID))
    scheme: Literal["plan", "rfm"] = "plan"
    window_days: int = DEFAULT_WINDOW_DAYS
    score_basis: Literal["all_time", "window"] = "all_time"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what :func:`save_settings` stores)."""
        return {
            "thresholds": asdict(self.thresholds),
            "grid": dict(self.grid),
            "scheme": self.scheme,
            "window_days": int(self.window_days),
            "score_basis": self.score_basis,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SegmentSettings:
        """Settings from stored JSON; unknown keys are ignored and invalid parts fall back to defaults."""
        if not isinstance(data, Mapping):
            return cls()
        default = cls()
        th_data = data.get("thresholds") if isinstance(data.get("thresholds"), Mapping) else {}
        known = {f for f in Thresholds.__dataclass_fields__}
        try:
            thresholds = Thresholds(**{k: v for k, v in th_data.items() if k in known})
        except TypeError:
            thresholds = Thresholds()
        if validate_thresholds(thresholds):
            thresholds = Thresholds()
        grid = data.get("grid")
        if not isinstance(grid, Mapping) or validate_grid(grid):
            grid = dict(DEFAULT_GRID)
        scheme = data.get("scheme") if data.get("scheme") in SCHEMES else default.scheme
        basis = data.get("score_basis") if data.get("score_basis") in SCORE_BASES else default.score_basis
        try:
            window = int(data.get("window_days", DEFAULT_WINDOW_DAYS))
        except (TypeError, ValueError):
            window = DEFAULT_WINDOW_DAYS
        if window < 1:
            window = DEFAULT_WINDOW_DAYS
        return cls(thresholds=thresholds, grid=dict(grid), scheme=scheme, window_days=window, score_basis=basis)


def load_settings(ws: Connection, dataset_id: int) -> SegmentSettings:
    """The dataset's saved settings, or the defaults."""
    return SegmentSettings.from_dict(ws.get_setting(dataset_id, SETTINGS_KEY))


def save_settings(ws: Connection, dataset_id: int, settings: SegmentSettings) -> None:
    """Store the settings for the dataset; raises ValueError (with every reason) if they are invalid."""
    check_settings(settings)
    ws.set_setting(dataset_id, SETTINGS_KEY, settings.to_dict())


def validate_thresholds(th: Thresholds, lang: str = "en") -> list[str]:
    """Readable reasons why these thresholds cannot be used (empty list = fine)."""
    errors: list[str] = []

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if not all(is_int(v) for v in (th.recent_max_days, th.lapsing_max_days, th.f_high_min, th.f_mid_min)):
        return [t("segments.err.whole_numbers", lang)]
    if th.recent_max_days < 0:
        errors.append(t("segments.err.recent_negative", lang))
    if th.lapsing_max_days <= th.recent_max_days:
        errors.append(t("segments.err.r_order", lang, recent=th.recent_max_days, lapsing=th.lapsing_max_days))
    if th.f_mid_min < 1:
        errors.append(t("segments.err.f_mid_min", lang))
    if th.f_high_min <= th.f_mid_min:
        errors.append(t("segments.err.f_order", lang, mid=th.f_mid_min, high=th.f_high_min))
    if th.m_mode not in ("tertiles", "amounts"):
        errors.append(t("segments.err.m_mode", lang))
    elif th.m_mode == "amounts":
        values = (th.m_high_min, th.m_mid_min)
        if any(not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) for v in values):
            errors.append(t("segments.err.m_amounts_missing", lang))
        elif th.m_mid_min >= th.m_high_min:  # type: ignore[operator]
            errors.append(t("segments.err.m_order", lang, mid=th.m_mid_min, high=th.m_high_min))
    return errors


def validate_grid(grid: Any, lang: str = "en") -> list[str]:
    """Reasons why an R×F grid is unusable: every one of the 25 cells must map to exactly one known segment.

    Accepts a mapping ``{"R5F1": "new_customers", …}``. A cell value that is a
    list/tuple counts as "exactly one" only if it holds a single segment.
    """
    if not isinstance(grid, Mapping):
        return [t("segments.err.grid_type", lang)]
    errors: list[str] = []
    for key in grid:
        if key not in GRID_CELLS:
            errors.append(t("segments.err.grid_unknown_cell", lang, cell=str(key)))
    for cell in GRID_CELLS:
        if cell not in grid:
            errors.append(t("segments.err.grid_missing_cell", lang, cell=cell))
            continue
        value = grid[cell]
        if isinstance(value, (list, tuple, set)):
            if len(value) != 1:
                errors.append(t("segments.err.grid_not_one", lang, cell=cell, n=len(value)))
                continue
            value = next(iter(value))
        if value not in SEGMENT_ORDER:
            errors.append(t("segments.err.grid_unknown_segment", lang, cell=cell, segment=str(value)))
    return errors


def _grid_list(grid: Mapping[str, Any]) -> list[str]:
    """The grid as a 25-element list indexed by ``(r - 1) * 5 + f`` (1-based, for SQL)."""
    out = []
    for r in range(1, 6):
        for f in range(1, 6):
            value = grid[grid_key(r, f)]
            if isinstance(value, (list, tuple, set)):
                value = next(iter(value))
            out.append(str(value))
    return out


def check_settings(settings: SegmentSettings) -> None:
    errors = validate_thresholds(settings.thresholds) + validate_grid(settings.grid)
    if settings.scheme not in SCHEMES:
        errors.append(f"unknown scheme {settings.scheme!r}")
    if settings.score_basis not in SCORE_BASES:
        errors.append(f"unknown score basis {settings.score_basis!r}")
    if not isinstance(settings.window_days, int) or settings.window_days < 1:
        errors.append("window_days must be a whole number ≥ 1")
    if errors:
        raise ValueError("; ".join(errors))


# --------------------------------------------------------------------------------------
# Labels and human-readable rules
# --------------------------------------------------------------------------------------


def tier_label(key: str, lang: str = "en") -> str:
    """The display name of a tier (or of ``not_yet_customer``)."""
    return t(f"segments.tier.{key}", lang)


def segment_label(key: str, lang: str = "en") -> str:
    """The display name of an RFM segment (or of ``not_yet_customer``)."""
    if key == NOT_YET_CUSTOMER:
        return t("segments.tier.not_yet_customer", lang)
    return t(f"segments.segment.{key}", lang)


def group_label(key: str, scheme: str, lang: str = "en") -> str:
    """A tier's or segment's display name depending on the scheme."""
    return tier_label(key, lang) if scheme == "plan" else segment_label(key, lang)


def group_order(scheme: str) -> tuple[str, ...]:
    """Tier keys (plan) or segment keys (rfm) in display order."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}")
    return TIER_ORDER if scheme == "plan" else SEGMENT_ORDER


@dataclass(frozen=True)
class FrozenCuts:
    """Numeric cut-offs resolved at one as-of date, to apply unchanged at other dates.

    ``m_high_min``/``m_mid_min`` are the M band edges (typed or tertiles).
    ``r_cuts``/``f_cuts``/``m_cuts`` hold the quintile edges: ``r_cuts[k]`` is the
    smallest days-since-last-order in R score bucket k+1 (1…4), ``f_cuts[k]`` and
    ``m_cuts[k]`` the largest value in bucket k+1. Applied by value, a customer
    tied with a bucket edge goes to the lower score (as the rank quintiles do: a tie is never split
    by customer id).
    """

    as_of: date | None
    m_high_min: float | None
    m_mid_min: float | None
    r_cuts: tuple[float, ...] = ()
    f_cuts: tuple[float, ...] = ()
    m_cuts: tuple[float, ...] = ()


def band_rules(
    thresholds: Thresholds,
    lang: str = "en",
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    cuts: FrozenCuts | None = None,
) -> list[dict[str, str]]:
    """Every band with its inclusive/exclusive rule, in words, e.g. "31 ≤ days ≤ 90".

    Returns rows ``{"dimension", "band", "key", "rule"}`` (nine: three each for R, F
    and M). With ``cuts`` (from :func:`resolve_cuts`) the tertile amounts are
    stated; without them the tertile rule is described in words.
    """
    th = thresholds
    rows: list[dict[str, str]] = []

    def add(dim: str, band: str, rule: str) -> None:
        rows.append(
            {
                "dimension": t(f"segments.dim.{dim}", lang),
                "band": t(f"segments.band.{dim}.{band}", lang),
                "key": f"{dim}.{band}",
                "rule": rule,
            }
        )

    add("r", "recent", t("segments.rule.r_recent", lang, max=th.recent_max_days))
    add("r", "middle", t("segments.rule.r_middle", lang, lo=th.recent_max_days + 1, hi=th.lapsing_max_days))
    add("r", "lapsed", t("segments.rule.r_lapsed", lang, lo=th.lapsing_max_days + 1, max=th.lapsing_max_days))
    add("f", "high", t("segments.rule.f_high", lang, min=th.f_high_min, days=window_days))
    add("f", "mid", t("segments.rule.f_mid", lang, lo=th.f_mid_min, hi=th.f_high_min - 1, days=window_days))
    add("f", "low", t("segments.rule.f_low", lang, max=th.f_mid_min - 1, days=window_days))
    if th.m_mode == "amounts":
        high, mid = th.m_high_min, th.m_mid_min
    else:
        high, mid = (cuts.m_high_min, cuts.m_mid_min) if cuts is not None else (None, None)
    if high is None or mid is None:
        add("m", "high", t("segments.rule.m_high_tertile", lang, days=window_days))
        add("m", "mid", t("segments.rule.m_mid_tertile", lang, days=window_days))
        add("m", "low", t("segments.rule.m_low_tertile", lang, days=window_days))
    else:
        source = t("segments.rule.m_source_tertiles" if th.m_mode == "tertiles" else "segments.rule.m_source_typed", lang)
        hi_txt, mid_txt = money(high, lang, decimals=2), money(mid, lang, decimals=2)
        add("m", "high", t("segments.rule.m_high", lang, hi=hi_txt, days=window_days, source=source))
        add("m", "mid", t("segments.rule.m_mid", lang, lo=mid_txt, hi=hi_txt, days=window_days, source=source))
        add("m", "low", t("segments.rule.m_low", lang, lo=mid_txt, days=window_days, source=source))
    return rows


def tier_definitions(thresholds: Thresholds, lang: str = "en") -> list[dict[str, str]]:
    """Each tier's key, name and definition in precedence order, plus the precedence sentence.

    Rows ``{"key", "label", "definition"}``; the last row has key ``"precedence"``.
    """
    th = thresholds
    values = {"recent": th.recent_max_days, "lapsing": th.lapsing_max_days, "lo": th.recent_max_days + 1}
    rows = [
        {"key": key, "label": tier_label(key, lang), "definition": t(f"segments.tier_def.{key}", lang, **values)}
        for key in TIER_PRECEDENCE
    ]
    rows.append(
        {
            "key": "precedence",
            "label": t("segments.precedence_label", lang),
            "definition": t(
                "segments.precedence", lang, order=" → ".join(tier_label(k, lang) for k in TIER_PRECEDENCE)
            ),
        }
    )
    return rows


def segment_definitions(grid: Mapping[str, str], lang: str = "en") -> list[dict[str, str]]:
    """Each segment with the R×F cells that map to it, e.g. Champions: "R5F4, R5F5"."""
    cells: dict[str, list[str]] = {key: [] for key in SEGMENT_ORDER}
    for cell in GRID_CELLS:
        value = grid.get(cell)
        if isinstance(value, (list, tuple, set)):
            value = next(iter(value)) if len(value) == 1 else None
        if value in cells:
            cells[value].append(cell)
    none = t("segments.no_cells", lang)
    return [
        {"key": key, "label": segment_label(key, lang), "cells": ", ".join(cells[key]) or none}
        for key in SEGMENT_ORDER
    ]


# --------------------------------------------------------------------------------------
# Query plumbing
# --------------------------------------------------------------------------------------


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


def _to_date(value: date | datetime | str | None) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    return pd.Timestamp(str(value)).date()


def default_as_of(ws: Connection, dataset: SourceLike) -> date | None:
    """The last purchase day of the dataset (None when it has no purchases)."""
    src = as_source(dataset, ws)
    df = run_query(ws, f"SELECT CAST(max(order_ts) AS DATE) AS d FROM ({src.sql}) AS src WHERE is_order",
                   dict(src.params))
    value = df["d"].iloc[0] if len(df) else None
    if value is None or pd.isna(value):
        return None
    return _to_date(value)


def resolve_as_of(ws: Connection, dataset: SourceLike, as_of: date | datetime | str | None) -> date | None:
    return _to_date(as_of) if as_of is not None else default_as_of(ws, dataset)


def date_params(as_of: date, window_days: int, sfx: str = "") -> dict[str, Any]:
    """``$as_of``, the exclusive timestamp upper bound and the window's first instant."""
    start = datetime.combine(as_of, datetime.min.time())
    return {
        f"as_of{sfx}": as_of,
        f"before_ts{sfx}": start + timedelta(days=1),
        f"window_start_ts{sfx}": start + timedelta(days=1 - int(window_days)),
    }


def threshold_params(settings: SegmentSettings, cuts: FrozenCuts | None) -> dict[str, Any]:
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
        "grid": _grid_list(settings.grid),
    }
    if cuts is not None:
        params.update(
            r_cuts=[float(v) for v in cuts.r_cuts] or [None],
            f_cuts=[float(v) for v in cuts.f_cuts] or [None],
            m_cuts=[float(v) for v in cuts.m_cuts] or [None],
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
    applies frozen quintile edges (``$r_cuts``, ``$f_cuts``, ``$m_cuts``) instead of NTILE.
    Only fixed SQL fragments are chosen here; all values are bound parameters.
    """
    if weekly:
        # Per customer: purchase days as +events and their exits from the window
        # (day + window_days) as −events; running totals over the events hold from
        # one event to the next. Each such span is expanded with unnest(range(...))
        # into the week ends it covers, so every (customer, week end) row is
        # produced once, without a join. Amounts are summed as whole micro-units in
        # DOUBLE (exact below 2^53), so "running total − total at the window's
        # edge" is exact and matches the single-date path after rounding.
        base = f"""
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
        partition = "PARTITION BY as_of "
        dates_rel = "dates"
    else:
        # Revenue is rounded to 6 decimals so that the weekly path (exact running
        # totals) and this one put a customer on the same side of an M cut-off.
        # (CTE names stay distinct from the ledger's: Spark gets nested WITHs hoisted to one level.)
        base = f"""
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
        partition = ""
        dates_rel = f"(SELECT CAST($as_of{sfx} AS DATE) AS as_of)"
    if m_cut_mode == "params":
        cuts = (
            "SELECT as_of, CAST($m_high_min AS DOUBLE) AS m_high_min, CAST($m_mid_min AS DOUBLE) AS m_mid_min "
            f"FROM {dates_rel}"
        )
    else:
        cuts = """SELECT as_of,
                   coalesce(CAST($m_high_min AS DOUBLE),
                            quantile_cont(window_revenue, CAST(2 AS DOUBLE) / 3) FILTER (WHERE window_orders > 0)) AS m_high_min,
                   coalesce(CAST($m_mid_min AS DOUBLE),
                            quantile_cont(window_revenue, CAST(1 AS DOUBLE) / 3) FILTER (WHERE window_orders > 0)) AS m_mid_min
            FROM base GROUP BY as_of"""
    if score_mode == "rank":
        # Quintiles by rank: equal values share the lowest rank of their group and so the
        # same score (no tie is broken by customer id or row order). Integer division (//)
        # keeps the bucket exact on any engine (Spark would divide 5.0 as a DECIMAL).
        def quintile(order: str) -> str:
            return (f"1 + CAST((5 * (rank() OVER ({partition}ORDER BY {order}) - 1)) "
                    f"// count(*) OVER ({partition}) AS INTEGER)")

        scores = f"""
               {quintile("days_since_last_order DESC")} AS r_score,
               {quintile("f_value")} AS f_score,
               {quintile("m_value")} AS m_score"""
    else:
        def by_cuts(value: str, cut: str, less: bool) -> str:
            op = "<" if less else ">"
            terms = " + ".join(f"coalesce(CAST({value} {op} {cut}[{k}] AS INTEGER), 0)" for k in range(1, 5))
            return f"1 + {terms}"

        scores = f"""
               {by_cuts("days_since_last_order", "$r_cuts", True)} AS r_score,
               {by_cuts("f_value", "$f_cuts", False)} AS f_score,
               {by_cuts("m_value", "$m_cuts", False)} AS m_score"""
    return f"""
    WITH {base},
    cuts AS ({cuts}),
    measured AS (
        SELECT b.*, c.m_high_min, c.m_mid_min,
               CAST(date_diff('day', b.last_order_date, b.as_of) AS INTEGER) AS days_since_last_order,
               CASE WHEN $score_all_time THEN b.orders ELSE b.window_orders END AS f_value,
               CASE WHEN $score_all_time THEN b.revenue ELSE b.window_revenue END AS m_value
        FROM base AS b JOIN cuts AS c USING (as_of)
    ),
    banded AS (
        SELECT *,
               CASE WHEN days_since_last_order <= $recent_max THEN 'recent'
                    WHEN days_since_last_order <= $lapsing_max THEN 'middle'
                    ELSE 'lapsed' END AS r_band,
               CASE WHEN window_orders >= $f_high_min THEN 'high'
                    WHEN window_orders >= $f_mid_min THEN 'mid'
                    ELSE 'low' END AS f_band,
               CASE WHEN window_orders > 0 AND window_revenue >= m_high_min THEN 'high'
                    WHEN window_orders > 0 AND window_revenue >= m_mid_min THEN 'mid'
                    ELSE 'low' END AS m_band,{scores}
        FROM measured
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
    settings = settings or SegmentSettings()
    check_settings(settings)
    scheme = scheme or settings.scheme
    order = list(group_order(scheme))
    column = "tier" if scheme == "plan" else "segment"
    a, b = _to_date(date_a), _to_date(date_b)
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
    s, e = _to_date(start), _to_date(end)
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


# --------------------------------------------------------------------------------------
# One customer, and guards
# --------------------------------------------------------------------------------------


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
    sql, params = classified_query(src, settings, as_of_d)
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
    if df.empty:
        return None
    row = df.iloc[0]
    th = settings.thresholds
    resolved = FrozenCuts(as_of=as_of_d, m_high_min=_num(row["m_high_min"]), m_mid_min=_num(row["m_mid_min"]))
    rules = {r["key"]: r for r in band_rules(th, lang, window_days=settings.window_days, cuts=resolved)}
    values = {
        "r": int(row["days_since_last_order"]),
        "f": int(row["window_orders"]),
        "m": float(row["window_revenue"]),
    }
    rows = []
    for dim, band_col, shown in (
        ("r", "r_band", str(values["r"])),
        ("f", "f_band", str(values["f"])),
        ("m", "m_band", money(values["m"], lang, decimals=2)),
    ):
        rule = rules[f"{dim}.{row[band_col]}"]
        rows.append(
            {
                "measure": t(f"segments.measure.{dim}", lang, days=settings.window_days),
                "value": shown,
                "band": rule["band"],
                "rule": rule["rule"],
            }
        )
    raw_ranges = row["ranges"]
    ranges = {item["dim"]: item for item in (list(raw_ranges) if raw_ranges is not None else [])}
    basis = "all_time" if settings.score_basis == "all_time" else "window"
    score_rows = []
    for dim in ("r", "f", "m"):
        rng = ranges.get(dim, {})
        lo, hi = rng.get("lo"), rng.get("hi")
        fmt = (lambda v: money(v, lang, decimals=2)) if dim == "m" else (lambda v: f"{v:,.0f}")
        score_rows.append(
            {
                "score": t(f"segments.score.{dim}", lang),
                "value": int(row[f"{dim}_score"]),
                "basis": t(f"segments.score_basis.{dim}.{basis}", lang, days=settings.window_days),
                "range": t("segments.score_range", lang, lo=fmt(lo), hi=fmt(hi)) if lo is not None else "",
            }
        )
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
        rows=rows,
        score_rows=score_rows,
        reason=reason,
    )


def _num(value: Any) -> float | None:
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
    history = (as_of_d - _to_date(row["first_day"])).days + 1  # type: ignore[operator]
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


__all__ = [
    "DEFAULT_GRID", "GRID_CELLS", "NOT_YET_CUSTOMER", "SETTINGS_KEY", "TIER_PRECEDENCE", "CustomerExplanation",
    "FrozenCuts", "OrderSource", "SegmentSettings", "Thresholds", "band_rules", "customer_summary",
    "data_warnings", "default_as_of", "distribution", "explain_customer", "grid_key", "group_label",
    "group_order", "load_settings", "migration_matrix", "migration_pivot", "resolve_cuts", "rf_heatmap",
    "save_settings", "segment_customers", "segment_definitions", "segment_label", "segment_members",
    "segment_summary", "tag_counts", "tier_definitions", "tier_label", "tier_sizes_over_time",
    "validate_grid", "validate_thresholds", "week_ends",
]
