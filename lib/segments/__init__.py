"""Customer segmentation: the plan's R/F/M bands, scene tags and tiers, 5-point RFM scores and named segments.

Why this package exists: every segment count, share, chart, playbook and export in
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

Rooms of the package (callers write ``from lib import segments; segments.segment_summary(…)``
and use only the names in ``__all__`` below):

* :mod:`~lib.segments.settings` – definitions and the saved settings (thresholds, grid, checks);
* :mod:`~lib.segments.labels` – display names and every rule in words (EN/中文);
* :mod:`~lib.segments.engine` – the order source and the one classification query;
* :mod:`~lib.segments.queries` – customers, summaries, chart aggregates, change over time;
* :mod:`~lib.segments.explain` – one customer explained, and the data warnings;
* :mod:`~lib.segments.export` – the customer CSV and the analyst's workbook;
* :mod:`~lib.segments.charts` – the page's Altair charts. Not imported here (Altair is
  slow to import and the CLI's export never draws): ``from lib.segments import charts``.
"""

from lib.segments.engine import (
    CUSTOMER_COLUMNS,
    FM_BANDS,
    R_BANDS,
    Connection,
    OrderSource,
    SourceLike,
    as_source,
    classified_query,
    classify_sql,
    date_params,
    default_as_of,
    prepare_run,
    resolve_as_of,
    run_query,
    threshold_params,
    to_date,
)
from lib.segments.explain import CustomerExplanation, data_warnings, explain_customer
from lib.segments.export import (
    EXPORT_COLUMNS,
    SUMMARY_FORMATS,
    about_rows,
    export_segment_csv,
    localised_customers,
    segment_csv,
    segment_csvs,
    segment_workbook,
    write_segment_workbook,
)
from lib.segments.labels import (
    band_rules,
    group_label,
    group_order,
    segment_definitions,
    segment_label,
    tier_definitions,
    tier_label,
)
from lib.segments.queries import (
    customer_summary,
    distribution,
    migration_matrix,
    migration_pivot,
    resolve_cuts,
    rf_heatmap,
    segment_customers,
    segment_members,
    segment_summary,
    tag_counts,
    tier_sizes_over_time,
    week_ends,
)
from lib.segments.settings import (
    DEFAULT_GRID,
    DEFAULT_WINDOW_DAYS,
    DISTRIBUTION_MEASURES,
    F_COLLAPSE_SHARE,
    GRID_CELLS,
    MAX_BINS,
    MIN_CUSTOMERS,
    MIN_HISTORY_DAYS,
    NOT_YET_CUSTOMER,
    SCHEMES,
    SCORE_BASES,
    SETTINGS_KEY,
    TAG_KEYS,
    TIER_PRECEDENCE,
    FrozenCuts,
    SegmentSettings,
    Thresholds,
    check_settings,
    grid_key,
    grid_list,
    load_settings,
    save_settings,
    validate_grid,
    validate_thresholds,
)

__all__ = [
    # definitions and settings
    "DEFAULT_GRID", "DEFAULT_WINDOW_DAYS", "DISTRIBUTION_MEASURES", "F_COLLAPSE_SHARE", "GRID_CELLS", "MAX_BINS",
    "MIN_CUSTOMERS", "MIN_HISTORY_DAYS", "NOT_YET_CUSTOMER", "SCHEMES", "SCORE_BASES", "SETTINGS_KEY", "TAG_KEYS",
    "TIER_PRECEDENCE", "FrozenCuts", "SegmentSettings", "Thresholds", "check_settings", "grid_key", "grid_list",
    "load_settings", "save_settings", "validate_grid", "validate_thresholds",
    # labels and texts
    "band_rules", "group_label", "group_order", "segment_definitions", "segment_label", "tier_definitions",
    "tier_label",
    # the engine (public seams for playbooks, predictions, the review pack)
    "CUSTOMER_COLUMNS", "FM_BANDS", "R_BANDS", "Connection", "OrderSource", "SourceLike", "as_source",
    "classified_query", "classify_sql", "date_params", "default_as_of", "prepare_run", "resolve_as_of", "run_query",
    "threshold_params", "to_date",
    # queries
    "customer_summary", "distribution", "migration_matrix", "migration_pivot", "resolve_cuts", "rf_heatmap",
    "segment_customers", "segment_members", "segment_summary", "tag_counts", "tier_sizes_over_time", "week_ends",
    # one customer, guards
    "CustomerExplanation", "data_warnings", "explain_customer",
    # exports
    "EXPORT_COLUMNS", "SUMMARY_FORMATS", "about_rows", "export_segment_csv", "localised_customers", "segment_csv",
    "segment_csvs", "segment_workbook",
    "write_segment_workbook",
]
