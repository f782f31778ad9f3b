"""The review story's data, gathered once: KPIs, tiers, playbook economics, the scenario, the timeline plan.

Why a module of its own: this is the only part of the story that queries; nothing
in :class:`StoryFacts` depends on the language, so both languages (and the page,
the workbook and the deck) are drawn from one gathering.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from lib import channels as channels_mod
from lib import kpis, value
from lib import playbooks as pb
from lib import scenarios as sc
from lib import segments as seg
from lib import timeline as tl
from lib.i18n import t
from lib.value.charts import tier_value_frame
from lib.review.model import DEFAULT_SCENARIO, ReviewPackError
from lib.workspace import Workspace

# --------------------------------------------------------------------------------------
# The data, once
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class StoryFacts:
    """Every number the story needs, computed once and independent of the language.

    ``scenario`` is None when no scenario can be worked out (``scenario_error`` says
    why: no channel data, no full quarter, …). ``comparison`` holds the presets (and
    the chosen saved scenario) evaluated on the same baseline.
    """

    dataset_id: int
    dataset_name: str
    customers: int
    first_day: date
    last_day: date
    as_of: date
    period: kpis.Period
    previous: kpis.Period
    has_previous: bool
    current: kpis.KpiSet
    before: kpis.KpiSet
    weekly: pd.DataFrame
    channel_rows: int
    settings: seg.SegmentSettings
    segment_summary: pd.DataFrame
    playbook: pb.Playbook
    profiles: Mapping[str, pb.TierProfile]
    plan_name: str | None
    tasks: tuple[tl.Task, ...]
    baseline_tasks: tuple[tl.Task, ...] | None
    start_monday: date
    scenario_key: str
    saved_scenario: str | None
    scenario: sc.ScenarioResult | None
    scenario_error: sc.ScenarioError | None
    comparison: tuple[tuple[str, sc.ScenarioResult], ...]
    channel_table: pd.DataFrame | None
    channel_mix: pd.DataFrame
    predicted: pd.DataFrame | None = None  # lib.value.prediction.tier_values per plan tier (None: too little data)
    predicted_horizon: int = 365
    predicted_totals: Mapping[str, float] | None = None  # lib.value.prediction.Prediction.totals()
    predicted_value_tiers: pd.DataFrame | None = None  # value.tier_value_frame
    currency: str = "CNY"  # the dataset's currency: every amount in the story is shown in it

    def period_label(self, lang: str = "en") -> str:
        return period_label(self.period, lang)

    def scenario_label(self, lang: str = "en") -> str:
        """"the base scenario" / "scenario “Q4 push”" — as it reads inside a sentence."""
        if self.saved_scenario:
            return t("review.scenario.named", lang, name=self.saved_scenario)
        return t(f"review.scenario.{self.scenario_key}", lang)

    def plan_label(self, lang: str = "en") -> str:
        return self.plan_name or t("review.timeline.default_plan", lang)


def period_label(period: kpis.Period, lang: str = "en") -> str:
    """"Q3 2026" / "2026年第3季度" for a calendar quarter, otherwise the date range."""
    quarter = kpis.quarter_of(period.start)
    if quarter == period:
        return t("review.period.quarter", lang, q=(period.start.month - 1) // 3 + 1, year=period.start.year)
    return t("review.period.range", lang, start=period.start.isoformat(), end=period.end.isoformat())


def _next_monday(day: date) -> date:
    after = day + timedelta(days=1)
    return after + timedelta(days=(7 - after.weekday()) % 7)


def resolve_plan(
    ws: Workspace, dataset_id: int, plan: str | None, data_end: date
) -> tuple[str | None, list[tl.Task], list[tl.Task] | None, date]:
    """(plan name or None for the default plan, tasks, baseline tasks, week-1 Monday).

    ``plan`` None: the most recently saved plan, else the default 13-week plan. Week 1
    is the saved plan's Monday, else the Monday after the data ends (as on the
    Timeline page). Raises ReviewPackError for an unknown plan name.
    """
    saved = tl.list_plans(ws, dataset_id)
    chosen: tl.SavedPlan | None = None
    if plan:
        try:
            chosen = tl.load_plan(ws, dataset_id, plan)
        except (tl.PlanNotFound, ValueError):
            raise ReviewPackError(
                "review.error.unknown_plan", name=plan, saved=", ".join(saved) or "—"
            ) from None
    else:
        for name in saved:
            candidate = tl.load_plan(ws, dataset_id, name)
            if chosen is None or candidate.saved_at > chosen.saved_at:
                chosen = candidate
    if chosen is None:
        return None, tl.default_plan("en"), None, _next_monday(data_end)
    return chosen.name, list(chosen.tasks), chosen.baseline, chosen.start_monday or _next_monday(data_end)


def story_choices(ws: Workspace, dataset_id: int) -> tuple[list[str], list[str]]:
    """What the story can be told about: (scenarios, plans).

    Scenarios are the presets (by key) followed by the saved scenarios' names; plans
    are the saved timeline plans. Presentation mode's picker and every "present this"
    link offer exactly these, and :func:`resolve_scenario` / :func:`resolve_plan` accept them.
    """
    saved = [s.name for s in sc.list_scenarios(ws, dataset_id)]
    return [*sc.PRESETS, *(name for name in saved if name not in sc.PRESETS)], list(tl.list_plans(ws, dataset_id))


def scenario_choice_label(choice: str, lang: str = "en") -> str:
    """A picker's label: "Base (+17.5%, CAC −12.5%)" for a preset, the name for a saved scenario."""
    if choice in sc.PRESETS:
        return t(f"scenarios.preset.{choice}", lang)
    return choice


def resolve_scenario(ws: Workspace, dataset_id: int, scenario: str | None) -> tuple[str, str | None, sc.ScenarioInputs]:
    """(preset key or "custom", saved scenario name or None, inputs) for a preset or saved scenario name.

    None means the base preset. A saved scenario wins over a preset of the same name.
    Raises ReviewPackError when neither exists.
    """
    if not scenario:
        return DEFAULT_SCENARIO, None, sc.preset(DEFAULT_SCENARIO)
    try:
        saved = sc.load_scenario(ws, dataset_id, scenario)
    except sc.ScenarioError:
        saved = None
    if saved is not None:
        return saved.inputs.preset_name() or "custom", saved.name, saved.inputs
    if scenario in sc.PRESETS:
        return scenario, None, sc.preset(scenario)
    names = [s.name for s in sc.list_scenarios(ws, dataset_id)]
    raise ReviewPackError(
        "review.error.unknown_scenario", name=scenario, saved=", ".join(names) or "—",
        presets=", ".join(sc.PRESETS),
    )


#: The scenario's result (or why there is none), the presets beside it, and the base quarter's channel table.
_ScenarioFacts = tuple[
    sc.ScenarioResult | None, sc.ScenarioError | None, tuple[tuple[str, sc.ScenarioResult], ...], pd.DataFrame | None
]


def _scenario_facts(
    ws: Workspace, dataset_id: int, inputs: sc.ScenarioInputs, scenario_key: str, saved_name: str | None,
    quarter: kpis.Period | None,
) -> _ScenarioFacts:
    """The scenario, the presets beside it, and the baseline quarter's channel table."""
    try:
        if quarter is None:
            raise sc.ScenarioError("scenarios.error.no_full_quarter")
        model = sc.prepare(ws, dataset_id, quarter)
        result = sc.run(model, inputs, name=saved_name)
    except sc.ScenarioError as error:
        table = channels_mod.channel_table(ws, dataset_id, quarter).frame if quarter else None
        return None, error, (), table
    comparison: list[tuple[str, sc.ScenarioResult]] = []
    for key, preset_inputs in sc.PRESETS.items():
        if saved_name is None and key == scenario_key:
            comparison.append((key, result))
        else:
            comparison.append((key, sc.run(model, preset_inputs)))
    if saved_name is not None:
        comparison.append((saved_name, result))
    table = channels_mod.channel_table(ws, dataset_id, model.baseline.quarter).frame
    return result, None, tuple(comparison), table


def gather_facts(
    ws: Workspace,
    dataset_id: int,
    *,
    scenario: str | None = None,
    plan: str | None = None,
    as_of: date | None = None,
) -> StoryFacts:
    """Compute everything the story shows (a few seconds on a year of orders; the scenario takes most).

    ``as_of`` (default: the last purchase day) dates the tiers; the overview period is
    the latest full quarter up to it (else its last 30 days) and the scenario's base
    quarter the latest full quarter up to it. Raises ReviewPackError for a dataset
    without orders or an unknown scenario or plan name.
    """
    dataset = ws.get_dataset(int(dataset_id))
    span = kpis.data_range(ws, dataset.dataset_id)
    if span is None or not dataset.orders:
        raise ReviewPackError("review.error.no_orders")
    first, last = span
    day = min(max(as_of, first), last) if as_of else last
    period = kpis.default_period(first, day)
    previous = period.previous()
    scenario_key, saved_name, inputs = resolve_scenario(ws, dataset.dataset_id, scenario)
    plan_name, tasks, baseline_tasks, start = resolve_plan(ws, dataset.dataset_id, plan, day)
    settings = seg.load_settings(ws, dataset.dataset_id)
    summary = seg.segment_summary(ws, dataset.dataset_id, settings, day, by="plan")
    predicted, predicted_totals, predicted_value_tiers = _predicted_by_tier(ws, dataset.dataset_id, settings, day)
    playbook = pb.load_playbook(ws, dataset.dataset_id)
    profiles = pb.all_tier_profiles(ws, dataset.dataset_id, "plan", day, settings)
    quarter = kpis.latest_full_quarter(first, day)
    scenario_facts: _ScenarioFacts = (None, None, (), None)
    if dataset.channel_rows:
        scenario_facts = _scenario_facts(ws, dataset.dataset_id, inputs, scenario_key, saved_name, quarter)
    result, error, comparison, channel_table = scenario_facts
    return StoryFacts(
        dataset_id=dataset.dataset_id,
        dataset_name=dataset.name,
        currency=dataset.currency,
        customers=int(dataset.customers),
        first_day=first,
        last_day=last,
        as_of=day,
        period=period,
        previous=previous,
        has_previous=previous.coverage(first, last) >= 0.5,  # as the Overview: no change against a half-empty period
        current=kpis.compute_kpis(ws, dataset.dataset_id, period),
        before=kpis.compute_kpis(ws, dataset.dataset_id, previous),
        weekly=kpis.weekly_trend(ws, dataset.dataset_id),
        channel_rows=int(dataset.channel_rows),
        settings=settings,
        segment_summary=summary,
        playbook=playbook,
        profiles=profiles,
        plan_name=plan_name,
        tasks=tuple(tasks),
        baseline_tasks=tuple(baseline_tasks) if baseline_tasks else None,
        start_monday=start,
        scenario_key=scenario_key,
        saved_scenario=saved_name,
        scenario=result,
        scenario_error=error,
        comparison=comparison,
        channel_table=channel_table,
        channel_mix=kpis.channel_mix(ws, dataset.dataset_id, period),
        predicted=predicted,
        predicted_horizon=max(value.DEFAULT_HORIZONS),
        predicted_totals=predicted_totals,
        predicted_value_tiers=predicted_value_tiers,
    )


def _predicted_by_tier(ws: Workspace, dataset_id: int, settings: seg.SegmentSettings, day: date
                       ) -> tuple[pd.DataFrame | None, dict[str, float] | None, pd.DataFrame | None]:
    """Predicted value per plan tier, the totals and the value-tier split at ``day`` (Nones: too little data)."""
    try:
        pred = value.predict(ws, dataset_id, day)
    except value.ModelUnsupported:
        return None, None, None
    tiers = seg.segment_customers(ws, dataset_id, settings, day)
    return (value.tier_values(pred, tiers, "tier"), pred.totals(),
            tier_value_frame(pred.customers, pred.value_column))
