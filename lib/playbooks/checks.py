"""Why an edited play or campaign assumption cannot be used, in English or Chinese.

Why a module of its own: the data file, the page's editor and saved content all pass
through the same checks (rates in 0…1, amounts ≥ 0, whole weeks within the plan,
texts in both languages); :class:`PlaybookError` carries the problems and says them
in the reader's language.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lib.i18n import t
from lib.playbooks.content import (
    AMOUNT_FIELDS,
    ASSUMPTION_FIELDS,
    AUDIENCE_BASES,
    ORIGINS,
    PLAN_WEEKS,
    RATE_FIELDS,
    TEXT_FIELDS,
    Play,
    Playbook,
)

# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------

Problem = tuple[str, dict[str, Any]]


class PlaybookError(ValueError):
    """Edited values that cannot be used; ``messages(lang)`` says why in English or Chinese."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("; ".join(self.messages("en")))

    def messages(self, lang: str = "en") -> list[str]:
        """One readable sentence per problem."""
        return [_problem_text(code, values, lang) for code, values in self.problems]


def _problem_text(code: str, values: Mapping[str, Any], lang: str) -> str:
    shown = dict(values)
    if "field" in shown:
        shown["field"] = field_label(str(shown["field"]), lang)
    return t(f"playbooks.err.{code}", lang, **shown)


def field_label(name: str, lang: str = "en") -> str:
    """The display name of an editable field (calculator inputs, weeks, texts)."""
    return t(f"playbooks.field.{name}", lang)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def calculator_problems(values: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for name, value in values.items():
        if not is_number(value):
            problems.append(("not_number", {"field": name, "value": value}))
        elif name in RATE_FIELDS and not 0 <= float(value) <= 1:
            problems.append(("rate_range", {"field": name, "value": f"{float(value):g}"}))
        elif name in AMOUNT_FIELDS and float(value) < 0:
            problems.append(("negative", {"field": name, "value": f"{float(value):g}"}))
    return problems


def assumption_problems(values: Mapping[str, Any]) -> list[Problem]:
    """Gross margin within 0…100%; holdout share from 0% to below 100% (someone must be contacted)."""
    problems: list[Problem] = []
    for name, value in values.items():
        if name not in ASSUMPTION_FIELDS:
            problems.append(("unknown_field", {"field": name}))
        elif not is_number(value):
            problems.append(("not_number", {"field": name, "value": value}))
        elif not 0 <= float(value) <= 1:
            problems.append(("rate_range", {"field": name, "value": f"{float(value):g}"}))
        elif name == "holdout_share" and float(value) >= 1:
            problems.append(("holdout_all", {}))
    return problems


def weeks_problems(weeks: Any, plan_weeks: int = PLAN_WEEKS) -> list[Problem]:
    if not isinstance(weeks, Sequence) or isinstance(weeks, str) or len(weeks) != 2:
        return [("weeks_whole", {})]
    start, end = weeks
    if not all(is_number(w) and float(w) == int(w) for w in (start, end)):
        return [("weeks_whole", {})]
    start, end = int(start), int(end)
    problems: list[Problem] = []
    if not (1 <= start <= plan_weeks and 1 <= end <= plan_weeks):
        problems.append(("weeks_range", {"start": start, "end": end, "weeks": plan_weeks}))
    if start > end:
        problems.append(("weeks_order", {"start": start, "end": end}))
    return problems


def play_problems(play: Play, plan_weeks: int = PLAN_WEEKS) -> list[Problem]:
    problems: list[Problem] = []
    if not str(play.id).strip():
        problems.append(("play_id", {}))
    for name in TEXT_FIELDS:
        if not getattr(play, name).is_complete():
            problems.append(("text_missing", {"field": name}))
    if not play.kpi_target.text.is_complete():
        problems.append(("text_missing", {"field": "kpi_target"}))
    if play.kpi_target.value is not None and not is_number(play.kpi_target.value):
        problems.append(("not_number", {"field": "kpi_target", "value": play.kpi_target.value}))
    problems += calculator_problems(play.calculator.to_dict())
    problems += weeks_problems(play.weeks, plan_weeks)
    if play.audience_basis not in AUDIENCE_BASES:
        problems.append(("audience_basis", {"value": play.audience_basis}))
    if play.origin not in ORIGINS:
        problems.append(("origin", {"value": play.origin}))
    return problems


def validate_play(play: Play, lang: str = "en", plan_weeks: int = PLAN_WEEKS) -> list[str]:
    """Readable reasons why this play cannot be saved (empty list = fine).

    Rates (response, redemption, audience share) must lie in [0, 1]; coupon
    value, points, contact cost and the order-value multiplier must be ≥ 0;
    weeks whole numbers within 1…13 with start ≤ end; name, description, KPI
    and target need text in both languages.
    """
    return [_problem_text(code, values, lang) for code, values in play_problems(play, plan_weeks)]


def missing_translations(playbook: Playbook) -> list[str]:
    """Where the content lacks a language: ``"group"`` / ``"group.play"`` entries (empty list = complete)."""
    gaps = []
    for key, group in playbook.groups.items():
        texts = [group.need, group.signal, *group.formats] + ([group.note] if group.note else [])
        if not all(x.is_complete() for x in texts) or not group.plays:
            gaps.append(key)
        for play in group.plays:
            if not all(x.is_complete() for x in (play.name, play.description, play.kpi, play.kpi_target.text)):
                gaps.append(f"{key}.{play.id}")
    return gaps
