"""Two to four scenarios side by side: the table the page shows and the CSV and workbook it downloads.

Why it exists: the page, its downloads and the review pack's comparison sheet must be
one table; scenario names are user text, so the files go through the formula-safe
writers of ``lib.exports``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from lib.formatting import by_kind, pct
from lib.i18n import t
from lib.scenarios.inputs import ScenarioError
from lib.scenarios.result import ScenarioResult
from lib.scenarios.store import SavedScenario

MAX_COMPARED = 4

COMPARE_ROWS: tuple[str, ...] = (
    "growth", "cac_cut", "repurchase_up", "aov_change", "revenue_target", "retained_revenue_target",
    "new_customers_required", "paid_new_customers_required", "target_cac", "linear_budget",
    "required_budget", "budget_gap", "implied_cac", "marginal_cac", "ltv_cac", "verdict",
)
_ROW_FORMAT: dict[str, str] = {
    "growth": "pct", "cac_cut": "pct", "repurchase_up": "points", "aov_change": "pct",
    "revenue_target": "money", "retained_revenue_target": "money", "new_customers_required": "count",
    "paid_new_customers_required": "count", "target_cac": "money", "linear_budget": "money",
    "required_budget": "money", "budget_gap": "money", "implied_cac": "money", "marginal_cac": "money",
    "ltv_cac": "ratio", "verdict": "verdict",
}


def _format_cell(kind: str, value: Any, lang: str) -> str:
    """A comparison cell: a lever as a signed percentage, the verdict in words, the rest as :func:`by_kind` writes it."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if kind == "pct":
        return pct(value, signed=True)
    if kind == "verdict":
        return t(f"scenarios.verdict.{value}", lang)
    return by_kind(value, kind, lang)


def compare(results: Sequence[ScenarioResult | SavedScenario], lang: str = "en", *,
            formatted: bool = False) -> pd.DataFrame:
    """Two to four scenarios side by side: one row per metric (``COMPARE_ROWS``), one column per scenario.

    Columns: ``metric`` (stable key), ``label`` (in ``lang``), then one per scenario,
    headed by its name (or preset label). ``formatted`` gives display strings.
    """
    if not 2 <= len(results) <= MAX_COMPARED:
        raise ScenarioError("scenarios.error.compare_count", low=2, high=MAX_COMPARED)
    columns: dict[str, dict[str, Any]] = {}
    for item in results:
        if isinstance(item, SavedScenario):
            title, summary = item.name, dict(item.summary)
        else:
            title = item.name or t(f"scenarios.preset.{item.inputs.preset_name() or 'custom'}", lang)
            summary = item.summary()
        unique, n = title, 2
        while unique in columns:
            unique, n = f"{title} ({n})", n + 1
        columns[unique] = summary
    frame = pd.DataFrame({"metric": list(COMPARE_ROWS),
                          "label": [t(f"scenarios.metric.{k}", lang) for k in COMPARE_ROWS]})
    for title, summary in columns.items():
        values = [summary.get(k) for k in COMPARE_ROWS]
        if formatted:
            values = [_format_cell(_ROW_FORMAT[k], v, lang) for k, v in zip(COMPARE_ROWS, values)]
        frame[title] = pd.Series(values, dtype=object)
    return frame


def comparison_table(results: Sequence[ScenarioResult | SavedScenario], lang: str = "en") -> pd.DataFrame:
    """The side-by-side table as people read it: translated metric names, formatted values, one column per scenario.

    The Scenarios page shows it, its CSV and workbook downloads write it, and the
    review pack's comparison sheet is the same table (with the presets' column names).
    """
    frame = compare(results, lang, formatted=True).drop(columns="metric")
    return frame.rename(columns={"label": t("scenarios.compare.metric", lang)})


def comparison_csv(results: Sequence[ScenarioResult | SavedScenario], lang: str = "en") -> bytes:
    """:func:`comparison_table` as a formula-safe CSV (scenario names are user text)."""
    from lib.exports import csv_bytes

    return csv_bytes(comparison_table(results, lang))


def comparison_workbook(results: Sequence[ScenarioResult | SavedScenario], lang: str = "en") -> bytes:
    """:func:`comparison_table` as a one-sheet .xlsx, text cells only, no formula anywhere."""
    from lib.exports import SheetSpec, workbook_bytes

    table = comparison_table(results, lang)
    return workbook_bytes([SheetSpec(title=t("scenarios.compare.sheet", lang), frame=table,
                                     formats={c: "text" for c in table.columns})])
