"""The playbook and tier tables the page shows and the workbook writes, with bilingual column labels.

Why a module of its own: one table builder for both the page and the export keeps
their numbers and columns identical; the column lists carry each column's number
format for the workbook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from lib import segments as seg
from lib.i18n import normalize_lang, t
from lib.playbooks.content import CALCULATOR_FIELDS, ROI_FORMAT_KIND, GroupContent, Play, Playbook
from lib.playbooks.economics import flag_reasons
from lib.playbooks.profiles import TierProfile
from lib.playbooks.results import PlayResult, tier_summary
from lib.playbooks.weeks import PlayWeeks, play_weeks
from lib.timeline import Task

# --------------------------------------------------------------------------------------
# Tables for the page and the export
# --------------------------------------------------------------------------------------

#: Columns of :func:`playbook_table`, with the export's number format for each.
PLAYBOOK_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("group", None),
    ("need", None),
    ("signal", None),
    ("channels", None),
    ("formats", None),
    ("play", None),
    ("description", None),
    ("origin", None),
    ("kpi", None),
    ("kpi_target", None),
    ("target_source", None),
    ("weeks", None),
    ("weeks_source", None),
    ("audience", "int"),
    ("held_out", "int"),
    ("contacted", "int"),
    ("aov", "money"),
    ("baseline_rate", "percent"),
    ("response_rate", "percent"),
    ("lift", "percent"),
    ("gross_margin", "percent"),
    ("holdout_share", "percent"),
    ("incentive", "money"),
    ("redemption_rate", "percent"),
    ("points_per_responder", "int"),
    ("contact_cost", "money"),
    ("aov_multiplier", "number"),
    ("audience_share", "percent"),
    ("responders", "number"),
    ("incremental_responders", "int"),
    ("incremental_revenue", "money"),
    ("incremental_profit", "money"),
    ("gross_revenue", "money"),
    ("incentive_cost", "money"),
    ("points_cost", "money"),
    ("contact_cost_total", "money"),
    ("total_cost", "money"),
    ("net", "money"),
    ("roi", ROI_FORMAT_KIND),
    ("cost_per_responder", "money"),
    ("cost_cap", "money"),
    ("over_cost_cap", None),
    ("warnings", None),
)

#: Columns of :func:`tier_table`, with their number formats.
TIER_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("group", None),
    ("members", "int"),
    ("share_customers", "percent"),
    ("share_revenue", "percent"),
    ("aov", "money"),
    ("repurchase_rate", "percent"),
    ("median_days_since_last_order", "number"),
    ("member_change", "int"),
    ("member_change_pct", "percent"),
    ("silent_90d", "int"),
    ("baseline_rate", "percent"),
    ("plays", "int"),
    ("contacted", "int"),
    ("incremental_responders", "int"),
    ("incremental_revenue", "money"),
    ("total_cost", "money"),
    ("net", "money"),
    ("roi", ROI_FORMAT_KIND),
    ("cost_per_responder", "money"),
    ("cost_cap", "money"),
    ("flagged_plays", "int"),
)


#: The calculator's formulas, in the order the workbook's About sheet and the page list them.
FORMULA_KEYS: tuple[str, ...] = (
    "holdout", "responders", "baseline", "lift", "revenue", "gross_revenue", "profit", "incentive", "points",
    "contact", "net", "roi", "per_responder", "independent",
)


def column_label(key: str, lang: str = "en") -> str:
    """The header of a playbook/tier table column."""
    return t(f"playbooks.col.{key}", lang)


def _list_sep(lang: str) -> str:
    return "、" if normalize_lang(lang) == "zh" else ", "


def playbook_table(
    playbook: Playbook,
    profiles: Mapping[str, TierProfile],
    lang: str = "en",
    *,
    scheme: str = "plan",
    tasks: Sequence[Task] | None = None,
    settings: seg.SegmentSettings | None = None,
    localised: bool = False,
) -> pd.DataFrame:
    """One row per play of every tier (or segment): content, weeks, calculator inputs and results.

    Column keys are :data:`PLAYBOOK_COLUMNS`; ``localised=True`` renames them to
    headers in ``lang``. Texts are in ``lang``; numbers stay numbers.
    """
    settings = settings or seg.SegmentSettings()
    weeks = play_weeks(playbook, tasks)
    rows = []
    for group in playbook.groups_for(scheme):
        for result in tier_summary(playbook, profiles, group.key).plays:
            span = weeks[group.key][result.play.id]
            rows.append({**_content_cells(group, result.play, span, settings, lang), **_money_cells(group, result, lang)})
    frame = pd.DataFrame(rows, columns=[k for k, _ in PLAYBOOK_COLUMNS])
    if localised:
        frame.columns = [column_label(k, lang) for k, _ in PLAYBOOK_COLUMNS]
    return frame


def _content_cells(group: GroupContent, play: Play, span: PlayWeeks, settings: seg.SegmentSettings,
                   lang: str) -> dict[str, Any]:
    """What a play is: its tier's need, signal and channels, the play, its KPI and target, its weeks."""
    sep = _list_sep(lang)
    return {
        "group": group.label(lang),
        "need": group.need.get(lang),
        "signal": group.signal_text(lang, settings.thresholds, settings.window_days),
        "channels": sep.join(group.channel_names(lang)),
        "formats": sep.join(group.format_names(lang)),
        "play": play.name.get(lang),
        "description": play.description.get(lang),
        "origin": t(f"playbooks.origin.{play.origin}", lang),
        "kpi": play.kpi.get(lang),
        "kpi_target": play.kpi_target.text.get(lang),
        "target_source": t(f"playbooks.target_source.{play.kpi_target.source}", lang),
        "weeks": span.text(lang),
        "weeks_source": t(f"playbooks.weeks_source.{span.source}", lang),
    }


def _money_cells(group: GroupContent, result: PlayResult, lang: str) -> dict[str, Any]:
    """What a play costs and adds: its audience, inputs, results and the reasons to check it."""
    play, econ = result.play, result.economics
    return {
        "audience": result.audience,
        "held_out": econ.held_out,
        "contacted": econ.contacted,
        "aov": result.aov,
        "baseline_rate": econ.baseline_rate,
        "lift": econ.lift,
        "gross_margin": econ.gross_margin,
        "holdout_share": econ.holdout_share,
        **{name: getattr(play.calculator, name) for name in CALCULATOR_FIELDS},
        "responders": econ.responders,
        "incremental_responders": econ.incremental_responders,
        "incremental_revenue": econ.incremental_revenue,
        "incremental_profit": econ.incremental_profit,
        "gross_revenue": econ.gross_revenue,
        "incentive_cost": econ.incentive_cost,
        "points_cost": econ.points_cost,
        "contact_cost_total": econ.contact_cost,
        "total_cost": econ.total_cost,
        "net": econ.net,
        "roi": econ.roi,
        "cost_per_responder": econ.cost_per_responder,
        "cost_cap": econ.cost_cap,
        "over_cost_cap": t("playbooks.over_cap_flag", lang, multiple=f"{group.cost_cap_multiple:g}")
        if econ.over_cost_cap
        else "",
        "warnings": " ".join(flag_reasons(econ, lang)),
    }


def tier_table(
    playbook: Playbook,
    profiles: Mapping[str, TierProfile],
    lang: str = "en",
    *,
    scheme: str = "plan",
    localised: bool = False,
) -> pd.DataFrame:
    """One row per tier (or segment): its profile and the total of its plays (:data:`TIER_COLUMNS`)."""
    rows = []
    for group in playbook.groups_for(scheme):
        summary = tier_summary(playbook, profiles, group.key)
        p, total = summary.profile, summary.total
        rows.append(
            {
                "group": group.label(lang),
                "members": p.members if p else 0,
                "share_customers": p.share_customers if p else None,
                "share_revenue": p.share_revenue if p else None,
                "aov": p.aov if p else None,
                "repurchase_rate": p.repurchase_rate if p else None,
                "median_days_since_last_order": p.median_days_since_last_order if p else None,
                "member_change": p.member_change if p else 0,
                "member_change_pct": p.member_change_pct if p else None,
                "silent_90d": p.silent_90d if p else 0,
                "baseline_rate": p.baseline_rate if p else None,
                "plays": len(summary.plays),
                "contacted": total.contacted,
                "incremental_responders": total.incremental_responders,
                "incremental_revenue": total.incremental_revenue,
                "total_cost": total.total_cost,
                "net": total.net,
                "roi": total.roi,
                "cost_per_responder": total.cost_per_responder,
                "cost_cap": summary.cost_cap,
                "flagged_plays": len(summary.flagged),
            }
        )
    frame = pd.DataFrame(rows, columns=[k for k, _ in TIER_COLUMNS])
    if localised:
        frame.columns = [column_label(k, lang) for k, _ in TIER_COLUMNS]
    return frame
