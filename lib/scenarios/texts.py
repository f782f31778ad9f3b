"""A scenario in words: the headline, the verdict, LTV/CAC against the rule of 3, the levers, the split's labels.

Why it exists: the page, the review pack and the CLI say the same sentences in
English and Chinese (``lib/locales/scenarios.json``); none of them builds its own.
"""

from __future__ import annotations

import pandas as pd

from lib.formatting import count, money, pct, points, ratio
from lib.i18n import display_channel, t
from lib.scenarios.inputs import LTV_CAC_RULE
from lib.scenarios.result import ScenarioResult

def headline(result: ScenarioResult, lang: str = "en") -> str:
    """One sentence: how many new customers, at what CAC, and whether the target holds."""
    values = {
        "scenario": result.label(lang),
        "customers": count(result.new_customers_required, lang),
        "cac": money(result.implied_cac, lang, decimals=0),
        "target_cac": money(result.target_cac, lang, decimals=0),
        "budget": money(result.required_budget, lang),
        "linear_budget": money(result.linear_budget, lang),
        "max_customers": count(result.max_paid_new_customers + result.organic_new_customers
                               + result.held_channel_new_customers, lang),
        "revenue": money(result.revenue_target, lang),
    }
    if result.new_customers_required <= 0:
        key = "scenarios.headline.none_needed"
    elif result.verdict == "unreachable":
        key = "scenarios.headline.unreachable"
    else:
        key = f"scenarios.headline.{result.verdict}"
    text = t(key, lang, **values)
    return text[:1].upper() + text[1:] if lang == "en" else text


def verdict_text(result: ScenarioResult, lang: str = "en") -> str:
    """The verdict as a short label (met / over the CAC target / out of reach)."""
    return t(f"scenarios.verdict.{result.verdict}", lang)


def ltv_text(result: ScenarioResult, lang: str = "en") -> str | None:
    """LTV / CAC at the implied CAC against the plan's rule of 3, in words (None without an implied CAC)."""
    value = result.ltv_cac
    if value is None:
        return None
    key = "scenarios.ltv.ok" if value >= LTV_CAC_RULE else "scenarios.ltv.low"
    return t(key, lang, value=ratio(value), max_cac=money(result.max_cac_for_ltv, lang, decimals=0))


def lever_texts(result: ScenarioResult, lang: str = "en") -> list[str]:
    """The gap closers in words, one sentence per lever (empty when the target is met)."""
    if result.verdict == "met":
        return []
    gap = result.gap
    out = [t("scenarios.lever.affordable", lang, customers=count(gap.affordable_new_customers, lang),
             cac=money(result.target_cac, lang, decimals=0))]
    if gap.repurchase_possible:
        out.append(t("scenarios.lever.repurchase", lang, rate=pct(gap.repurchase_rate_required),
                     points=points(gap.repurchase_points_required, lang)))
    else:
        out.append(t("scenarios.lever.repurchase_impossible", lang, rate=pct(gap.repurchase_rate_required)))
    out.append(t("scenarios.lever.aov", lang, change=pct(gap.aov_change_required, signed=True)))
    if gap.response_scale_required is not None:
        out.append(t("scenarios.lever.conversion", lang,
                     change=pct(gap.response_scale_required - 1.0, signed=True)))
    mix = gap.mix
    if mix.budget_saving is not None:
        out.append(t("scenarios.lever.mix", lang, saving=money(mix.budget_saving, lang),
                     extra=count(mix.extra_new_customers, lang)))
    else:
        out.append(t("scenarios.lever.mix_customers", lang, extra=count(mix.extra_new_customers, lang),
                     budget=money(mix.budget, lang)))
    return out


#: The channel split as the page shows it: column → kind (how the page formats it; labels are ``scenarios.split.<column>``).
SPLIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("channel", "text"), ("has_curve", "flag"), ("current_spend", "money"), ("optimised_spend", "money"),
    ("spend_change", "money"), ("current_new_customers", "count"), ("optimised_new_customers", "count"),
    ("average_cac", "money"), ("marginal_cac", "money"), ("extrapolation_ratio", "ratio"),
)


def display_split(result: ScenarioResult, lang: str = "en") -> pd.DataFrame:
    """The channel split for display: the columns of :data:`SPLIT_COLUMNS`, channel names in ``lang``.

    Numbers stay numbers (the page formats them per column, in the dataset's currency); customers are whole.
    """
    frame = result.split_frame()[[key for key, _ in SPLIT_COLUMNS]].copy()
    frame["channel"] = [display_channel(c, lang) for c in frame["channel"]]
    for key in ("current_new_customers", "optimised_new_customers"):
        frame[key] = frame[key].round()
    return frame
