"""Segment labels and texts: the display names of tiers, segments and bands, and every rule said in words.

Why this module exists: the page, the exports and the playbooks state the same
definitions to users in English and Chinese; the wording is built here once from
:mod:`lib.segments.settings` and the locale files.
"""

from __future__ import annotations

from collections.abc import Mapping

from lib.formatting import money
from lib.i18n import t
from lib.palette import SEGMENT_ORDER, TIER_ORDER
from lib.segments.settings import (
    DEFAULT_WINDOW_DAYS,
    GRID_CELLS,
    NOT_YET_CUSTOMER,
    SCHEMES,
    TIER_PRECEDENCE,
    FrozenCuts,
    Thresholds,
)

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
