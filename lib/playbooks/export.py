"""The operations workbook: About, tier overview, plays, and the members of each tier.

Why a module of its own: it assembles every other part of the package into one
formula-safe workbook through :mod:`lib.exports`' generic writer, for the page's
download and ``python -m lib.cli playbook --export``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from lib import segments as seg
from lib.exports import MAX_DATA_ROWS, SheetSpec, workbook_bytes
from lib.segments import localised_customers
from lib.formatting import money, pct, points
from lib.i18n import normalize_lang, t
from lib.playbooks.checks import field_label
from lib.playbooks.content import BASELINE_DAYS, CHANGE_DAYS, PLAUSIBLE, SCHEMES, Playbook
from lib.playbooks.economics import normal_recall_cost, recall_cost_rule
from lib.playbooks.editing import edited_plays, load_playbook
from lib.playbooks.profiles import all_tier_profiles, resolve_settings
from lib.playbooks.tables import FORMULA_KEYS, PLAYBOOK_COLUMNS, TIER_COLUMNS, column_label, playbook_table, tier_table
from lib.playbooks.weeks import plan_tasks
from lib.timeline import Task
from lib.workspace import Workspace

# --------------------------------------------------------------------------------------
# The operations workbook
# --------------------------------------------------------------------------------------


def _about_rows(
    *,
    lang: str,
    dataset_name: str,
    as_of: date | None,
    settings: seg.SegmentSettings,
    scheme: str,
    playbook: Playbook,
    weeks_source: str,
    total_customers: int,
    warnings: Sequence[str],
    notes: Sequence[str],
    generated_at: datetime,
) -> list[list[Any]]:
    normal = normal_recall_cost(playbook)
    cap = recall_cost_rule(normal, playbook.recall_rule.multiple)
    edited = edited_plays(playbook)
    rows: list[list[Any]] = [
        [t("playbooks.about.title", lang)],
        [t("playbooks.about.dataset", lang), dataset_name],
        [t("playbooks.about.as_of", lang), as_of.isoformat() if as_of else "—"],
        [t("playbooks.about.compare", lang),
         (as_of - timedelta(days=CHANGE_DAYS)).isoformat() if as_of else "—"],
        [t("playbooks.about.window", lang), t("playbooks.about.window_value", lang, days=settings.window_days)],
        [t("playbooks.about.scheme", lang), t(f"segments.scheme.{scheme}", lang)],
        [t("playbooks.about.customers", lang), total_customers],
        [t("playbooks.about.content", lang),
         t("playbooks.about.content_value", lang, version=playbook.version, edited=len(edited))],
        [t("playbooks.about.weeks", lang), weeks_source],
        [t("playbooks.about.generated", lang), generated_at.strftime("%Y-%m-%d %H:%M")],
        [t("playbooks.about.language", lang), t(f"playbooks.lang_name.{normalize_lang(lang)}", lang)],
        [],
        [t("playbooks.about.source_title", lang)],
        [t("playbooks.about.source", lang), playbook.about.get(lang)],
        [],
        [t("playbooks.about.calculator", lang)],
    ]
    for key in FORMULA_KEYS:
        rows.append([t(f"playbooks.formula.{key}.label", lang), t(f"playbooks.formula.{key}", lang, days=BASELINE_DAYS)])
    assumptions = playbook.assumptions
    rows += [
        [],
        [t("playbooks.about.assumptions", lang)],
        [field_label("gross_margin", lang), pct(assumptions.gross_margin)],
        [field_label("holdout_share", lang), pct(assumptions.holdout_share)],
        [t("playbooks.about.baseline_window", lang), t("playbooks.about.window_value", lang, days=BASELINE_DAYS)],
        [t("playbooks.about.bounds", lang), t("playbooks.about.bounds_value", lang,
                                             roi=pct(PLAUSIBLE.max_roi, decimals=0),
                                             lift=points(PLAUSIBLE.max_lift, lang, decimals=0).lstrip("+"))],
    ]
    rows += [
        [],
        [t("playbooks.about.recall_rule", lang)],
        [t("playbooks.about.rule", lang), playbook.recall_rule.text.get(lang)],
        [t("playbooks.about.normal_cost", lang), money(normal, lang, decimals=2)],
        [t("playbooks.about.cost_cap", lang), money(cap, lang, decimals=2)],
        [],
        [t("playbooks.about.tiers", lang)],
    ]
    for item in seg.tier_definitions(settings.thresholds, lang):
        rows.append([item["label"], item["definition"]])
    lapsing = playbook.groups.get("lapsing")
    if lapsing is not None and lapsing.note is not None:
        rows.append([t("playbooks.about.lapsing_note", lang), lapsing.note_text(lang, settings.thresholds)])
    if warnings or notes:
        rows += [[], [t("playbooks.about.notes", lang)]]
        rows += [["•", text] for text in [*warnings, *notes]]
    return rows


def playbook_workbook(
    ws: Workspace,
    dataset_id: int,
    lang: str = "en",
    settings: seg.SegmentSettings | None = None,
    *,
    scheme: str | None = None,
    as_of: date | datetime | str | None = None,
    playbook: Playbook | None = None,
    tasks: Sequence[Task] | None = None,
    plan_name: str | None = None,
    dataset_name: str | None = None,
    generated_at: datetime | None = None,
) -> bytes:
    """The playbook for the operations team as .xlsx bytes, every label in ``lang``.

    Sheets: About (dataset, dates, scheme, where the weeks come from, the
    calculator's formulas, the recall rule with its numbers, tier definitions,
    data warnings); Playbook (one row per play: tier, need, signal, channels,
    formats, play, KPI and target, weeks, calculator inputs and results); Tiers
    (profiles and plan totals); then one member list per tier/segment (every
    group, empty ones with headers only), sorted by spend in the window. Written
    by :func:`lib.exports.workbook_bytes`: no formula in any cell.

    Defaults: ``settings`` the dataset's saved segmentation settings,
    ``scheme`` theirs, ``playbook`` the dataset's saved playbook, ``tasks`` the
    saved timeline plan ``plan_name`` (else the latest saved plan, else the
    plays' default weeks).
    """
    lang = normalize_lang(lang)
    settings = resolve_settings(ws, dataset_id, settings)
    scheme = scheme or settings.scheme
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}")
    playbook = playbook or load_playbook(ws, dataset_id)
    as_of_d = seg.resolve_as_of(ws, seg.as_source(dataset_id, ws), as_of)
    if tasks is None:
        found = plan_tasks(ws, dataset_id, plan_name)
        if found is not None:
            tasks, plan_name = found
    weeks_source = (
        t("playbooks.about.weeks_plan", lang, name=plan_name or "—")
        if tasks is not None
        else t("playbooks.about.weeks_default", lang)
    )
    profiles = all_tier_profiles(ws, dataset_id, scheme, as_of_d, settings)
    warnings = seg.data_warnings(ws, dataset_id, as_of_d, settings, lang)
    member_sheets, notes = _member_sheets(ws, dataset_id, settings, as_of_d, scheme, playbook, lang)
    table = playbook_table(playbook, profiles, lang, scheme=scheme, tasks=tasks, settings=settings, localised=True)
    tiers = tier_table(playbook, profiles, lang, scheme=scheme, localised=True)
    about = _about_rows(
        lang=lang,
        dataset_name=dataset_name if dataset_name is not None else _dataset_name(ws, dataset_id),
        as_of=as_of_d,
        settings=settings,
        scheme=scheme,
        playbook=playbook,
        weeks_source=weeks_source,
        total_customers=sum(p.members for p in profiles.values()),
        warnings=warnings,
        notes=notes,
        generated_at=generated_at or datetime.now(),
    )
    sheets = [
        SheetSpec(title=t("playbooks.sheet.about", lang), rows=about),
        SheetSpec(
            title=t("playbooks.sheet.playbook", lang),
            frame=table,
            formats={column_label(k, lang): f for k, f in PLAYBOOK_COLUMNS if f},
        ),
        SheetSpec(
            title=t("playbooks.sheet.tiers" if scheme == "plan" else "playbooks.sheet.segments", lang),
            frame=tiers,
            formats={column_label(k, lang): f for k, f in TIER_COLUMNS if f},
        ),
        *member_sheets,
    ]
    return workbook_bytes(sheets)


def _dataset_name(ws: Workspace, dataset_id: int) -> str:
    try:
        return ws.get_dataset(dataset_id).name
    except Exception:  # a plain connection or an unknown id: name it by its id
        return str(dataset_id)


def _member_sheets(ws: Workspace, dataset_id: int, settings: seg.SegmentSettings, as_of: date | None, scheme: str,
                   playbook: Playbook, lang: str) -> tuple[list[SheetSpec], list[str]]:
    """One member list per group (by spend in the window; headers only when empty), and a note per list cut short."""
    column = "tier" if scheme == "plan" else "segment"
    members = (
        seg.segment_members(ws, dataset_id, settings, as_of, scheme=scheme, order_by="window_revenue", limit=None)
        if as_of is not None
        else pd.DataFrame()
    )
    notes: list[str] = []
    sheets: list[SheetSpec] = []
    for group in playbook.groups_for(scheme):
        label = group.label(lang)
        part = members[members[column] == group.key] if len(members) else members
        if len(part) > MAX_DATA_ROWS:
            notes.append(t("playbooks.about.truncated", lang, sheet=label, shown=f"{MAX_DATA_ROWS:,}", total=f"{len(part):,}"))
            part = part.head(MAX_DATA_ROWS)
        frame, formats = localised_customers(part if len(part) else _empty_members(), lang)
        sheets.append(SheetSpec(title=label, frame=frame, formats=formats))
    return sheets, notes


def _empty_members() -> pd.DataFrame:
    """A customer frame with no rows but every column the member sheets localise."""
    columns = {
        "customer_id": "object", "tier": "object", "segment": "object", "days_since_last_order": "int64",
        "window_orders": "int64", "window_revenue": "float64", "orders": "int64", "revenue": "float64",
        "aov": "float64", "first_order_date": "object", "last_order_date": "object", "r_band": "object",
        "f_band": "object", "m_band": "object", "r_score": "int64", "f_score": "int64", "m_score": "int64",
        **{f"tag_{k}": "bool" for k in seg.TAG_KEYS},
    }
    return pd.DataFrame({k: pd.Series([], dtype=v) for k, v in columns.items()})


def write_playbook_export(
    ws: Workspace,
    dataset_id: int,
    path: str | Path,
    *,
    lang: str = "en",
    scheme: str | None = None,
    as_of: date | datetime | str | None = None,
    plan_name: str | None = None,
) -> Path:
    """Write :func:`playbook_workbook` to ``path`` (must end in .xlsx) and return the path
    (what ``python -m lib.cli playbook --dataset NAME --export FILE.xlsx`` needs)."""
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ValueError(f"export the playbook to .xlsx, not {target.suffix or 'a file without extension'}")
    data = playbook_workbook(ws, dataset_id, lang, scheme=scheme, as_of=as_of, plan_name=plan_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target
