"""The review meeting's story — Overview → Segments → Customer value → Playbooks → Channels & scenario → Timeline — and its one-click pack.

Why this module exists: a marketing lead walks a team through the same six views
every review, on a projector, in a deck sent round afterwards and in a workbook the
analyst checks. If each of those computed its own numbers and wrote its own
sentences they would drift apart; here every view is built once, from the data, as
a :class:`StoryView` (title, a headline written from the numbers, 2–4 key numbers,
one table, one Altair chart, speaker notes), and the presentation page, the .pptx
deck, the .xlsx workbook and the CLI (``python -m lib.cli review-pack``) all render
those same views.

How it is put together:

* :func:`gather_facts` does the data work once (KPIs, tiers, playbook economics,
  the scenario and its comparison, the timeline plan); nothing in it depends on the
  language, so both languages can be drawn from one :class:`StoryFacts`.
* One function per view (``overview_view`` … ``timeline_view``) turns facts into a
  :class:`StoryView` in the chosen language; :func:`story` returns the five in order.
* :func:`chart_images` renders each chart to PNG once (vl-convert with the CJK font
  that ``lib.timeline_exports.chart_png`` registers, larger fonts for a projector);
  :func:`review_workbook` and :func:`review_deck` reuse those images.
* The workbook goes through ``lib.exports.workbook_bytes`` (no formulas, ever); the
  deck is python-pptx with native tables and the East Asian font set in every run
  (``a:ea``), so Chinese text renders in PowerPoint, WPS and LibreOffice.
"""

from __future__ import annotations

import io
import math
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from lib import channels as channels_mod
from lib import value as clv, value as prediction
from lib import kpis
from lib import playbooks as pb
from lib import scenarios as sc
from lib import segments as seg
from lib import timeline as tl
from lib.charts import channel_mix_chart, weekly_trend_chart
from lib.exports import SheetImage, SheetSpec, display_width, strip_control, workbook_bytes
from lib.formatting import NUMBER_KINDS, by_kind, count, money, money_compact, pct, points, ratio, use_currency
from lib.i18n import LocalizedError, Translator, display_channel, normalize_lang, t
from lib.metrics import METRICS, glossary
from lib.palette import OPACITY_LEGEND, TIER_COLORS, TIER_ORDER
from lib.value import tier_value_chart, tier_value_frame
from lib.segment_charts import share_chart
from lib.timeline_charts import gantt_chart
from lib.timeline_exports import chart_png

#: The fixed order of the story.
STORY_KEYS: tuple[str, ...] = ("overview", "segments", "value", "playbooks", "channels", "timeline")
DEFAULT_SCENARIO = "base"
#: Below this many customers every number is flagged as fragile (as on the Segments page).
SMALL_DATA_CUSTOMERS = seg.MIN_CUSTOMERS

# Value kinds of a table column and the workbook number format each one gets.
_XLSX_FORMATS: dict[str, str | None] = {
    "text": None, "money": "money", "count": "int", "percent": "percent", "points": "percent",
    "ratio": "number", "number": "number", "date": "date",
}

# Chart images: width given to charts that do not set one, pixel density, projector-sized fonts.
CHART_WIDTH_PX = 560
CHART_SCALE = 2.0
_PROJECTOR_CONFIG: dict[str, dict[str, Any]] = {
    "axis": {"labelFontSize": 16, "titleFontSize": 16},
    "legend": {"labelFontSize": 16, "titleFontSize": 16},
    "header": {"labelFontSize": 16, "titleFontSize": 16},
    "title": {"fontSize": 20, "subtitleFontSize": 16},
}

# The deck: 16:9, fonts (Latin and East Asian), sizes in points.
DECK_LATIN_FONT = "Arial"
DECK_EA_FONT = "Microsoft YaHei"
TITLE_PT = 32
HEADLINE_PT = 20
NUMBER_PT = 28
BODY_PT = 14
TABLE_PT = 14
MAX_SLIDE_ROWS = 10
_INK = "1F2937"
_MUTED = "6B7280"
_ACCENT = "E4572E"


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


class ReviewPackError(LocalizedError):
    """The pack cannot be made (no orders, unknown scenario or plan); ``message(lang)`` explains it."""


# --------------------------------------------------------------------------------------
# What a view is made of
# --------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return isinstance(value, float) and math.isnan(value)
    except TypeError:
        return False


def format_value(value: Any, kind: str, lang: str = "en") -> str:
    """A cell as the reader sees it: money with 万/亿 in Chinese, counts with separators, shares in %."""
    if _missing(value):
        return "—"
    if kind in NUMBER_KINDS:
        return by_kind(value, kind, lang)
    if kind == "date" and isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    return str(value)


@dataclass(frozen=True)
class KeyNumber:
    """A number the room should remember: its label, the formatted value, and an optional context line."""

    label: str
    value: str
    detail: str = ""

    def line(self) -> str:
        """``"GMV: ¥6.00M (+3.2% vs previous period)"`` — what the speaker notes carry."""
        return f"{self.label}: {self.value}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True, eq=False)
class StoryTable:
    """A table with translated headers; numbers stay numbers, ``kinds`` says how each column reads.

    ``kinds`` maps a header to ``text``, ``money``, ``count``, ``percent``, ``points``,
    ``ratio``, ``number`` or ``date``. ``display(lang)`` gives the strings a page or a
    slide shows; ``sheet()`` the workbook sheet (with Excel number formats).
    """

    key: str
    title: str
    frame: pd.DataFrame
    kinds: Mapping[str, str] = field(default_factory=dict)

    def display(self, lang: str = "en") -> pd.DataFrame:
        """Every cell formatted for reading, in ``lang``."""
        out = pd.DataFrame(index=self.frame.index)
        for column in self.frame.columns:
            kind = self.kinds.get(column, "text")
            out[column] = [format_value(v, kind, lang) for v in self.frame[column]]
        return out.reset_index(drop=True)

    def sheet(self, images: Sequence[SheetImage] = ()) -> SheetSpec:
        """The workbook sheet: the frame with number formats, plus ``images`` beside it."""
        formats = {c: f for c, k in self.kinds.items() if (f := _XLSX_FORMATS.get(k)) and c in self.frame.columns}
        return SheetSpec(title=self.title, frame=self.frame.reset_index(drop=True), formats=formats, images=images)


@dataclass(frozen=True, eq=False)
class StoryView:
    """One view of the story, everything in one language.

    ``table`` is what the page and the slide show (compact); ``details`` are the
    fuller tables the workbook adds. ``notice`` is an empty-state or caveat sentence
    (shown under the headline); ``chart`` is None only when there is nothing to draw.
    """

    key: str
    title: str
    headline: str
    numbers: tuple[KeyNumber, ...]
    table: StoryTable
    chart: alt.TopLevelMixin | None
    notes: str
    details: tuple[StoryTable, ...] = ()
    notice: str = ""


def _notes(headline: str, numbers: Sequence[KeyNumber], lang: str, extra: Sequence[str] = ()) -> str:
    lines = [headline, "", t("review.notes.key_numbers", lang)]
    lines += [f"• {n.line()}" for n in numbers]
    extra = [e for e in extra if e]
    if extra:
        lines += ["", *extra]
    return "\n".join(lines)


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
    predicted: pd.DataFrame | None = None  # lib.prediction.tier_values per plan tier (None: too little data)
    predicted_horizon: int = 365
    predicted_totals: Mapping[str, float] | None = None  # lib.prediction.Prediction.totals()
    predicted_value_tiers: pd.DataFrame | None = None  # prediction_charts.tier_value_frame
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
    ws: Any, dataset_id: int, plan: str | None, data_end: date
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


def story_choices(ws: Any, dataset_id: int) -> tuple[list[str], list[str]]:
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


def resolve_scenario(ws: Any, dataset_id: int, scenario: str | None) -> tuple[str, str | None, sc.ScenarioInputs]:
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


def _scenario_facts(
    ws: Any, dataset_id: int, inputs: sc.ScenarioInputs, scenario_key: str, saved_name: str | None,
    quarter: kpis.Period | None,
) -> tuple[sc.ScenarioResult | None, sc.ScenarioError | None, tuple[tuple[str, sc.ScenarioResult], ...], pd.DataFrame | None]:
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
    ws: Any,
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
    result, error, comparison, channel_table = (None, None, (), None)
    if dataset.channel_rows:
        result, error, comparison, channel_table = _scenario_facts(
            ws, dataset.dataset_id, inputs, scenario_key, saved_name, quarter
        )
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
        predicted_horizon=max(prediction.DEFAULT_HORIZONS),
        predicted_totals=predicted_totals,
        predicted_value_tiers=predicted_value_tiers,
    )


def _predicted_by_tier(ws: Any, dataset_id: int, settings: seg.SegmentSettings, day: date
                       ) -> tuple[pd.DataFrame | None, dict[str, float] | None, pd.DataFrame | None]:
    """Predicted value per plan tier, the totals and the value-tier split at ``day`` (Nones: too little data)."""
    try:
        pred = prediction.predict(ws, dataset_id, day)
    except clv.ModelUnsupported:
        return None, None, None
    tiers = seg.segment_customers(ws, dataset_id, settings, day)
    return (prediction.tier_values(pred, tiers, "tier"), pred.totals(),
            tier_value_frame(pred.customers, pred.value_column))


# --------------------------------------------------------------------------------------
# The views, one function each
# --------------------------------------------------------------------------------------

def _kpi_change(key: str, delta: float | None, lang: str) -> str:
    if delta is None:
        return "—"
    return points(delta, lang) if key in kpis.RATE_KPIS else pct(delta, signed=True)


def _small_data_note(facts: StoryFacts, lang: str) -> str:
    return t("review.notes.small_data", lang, count=SMALL_DATA_CUSTOMERS) if facts.customers < SMALL_DATA_CUSTOMERS else ""


def overview_view(facts: StoryFacts, lang: str = "en") -> StoryView:
    """Net sales, new customers, CAC and repurchase of the period against the previous one; the weekly net sales trend."""
    lang = normalize_lang(lang)
    cur, before = facts.current, facts.before
    deltas = kpis.compare(cur, before) if facts.has_previous else {k: None for k in kpis.KPI_KEYS}
    change_part = ""
    if deltas.get("net_sales") is not None:
        change_part = t("review.overview.change_part", lang, change=pct(deltas["net_sales"], signed=True))
    cac_part = t("review.overview.cac_part", lang, cac=money(cur.cac, lang)) if cur.cac else ""
    headline = t(
        "review.overview.headline", lang, gmv=money_compact(cur.net_sales, lang), period=facts.period_label(lang),
        change_part=change_part, new=count(cur.new_customers, lang), cac_part=cac_part,
    )

    def detail(key: str) -> str:
        if not facts.has_previous:
            return t("review.number.no_previous", lang)
        delta = deltas.get(key)
        return t("review.number.vs_previous", lang, change=_kpi_change(key, delta, lang)) if delta is not None else ""

    numbers = [
        KeyNumber(t("kpi.net_sales", lang), money_compact(cur.net_sales, lang), detail("net_sales")),
        KeyNumber(t("kpi.new_customers", lang), count(cur.new_customers, lang), detail("new_customers")),
    ]
    if cur.cac is not None:
        numbers.append(KeyNumber(t("kpi.cac", lang), money(cur.cac, lang), detail("cac")))
    else:
        numbers.append(KeyNumber(t("kpi.aov", lang), money(cur.aov, lang), detail("aov")))
    numbers.append(KeyNumber(t("kpi.repurchase_rate", lang), pct(cur.repurchase_rate), detail("repurchase_rate")))

    headers = [t("review.col.kpi", lang), t("review.col.this_period", lang), t("review.col.previous_period", lang),
               t("review.col.change", lang)]
    rows = []
    for key in kpis.KPI_KEYS:
        kind = METRICS[key].format_kind
        rows.append([
            t(f"kpi.{key}", lang),
            format_value(getattr(cur, key), kind, lang),
            format_value(getattr(before, key), kind, lang) if facts.has_previous else "—",
            _kpi_change(key, deltas.get(key), lang),
        ])
    table = StoryTable("kpis", t("review.sheet.kpis", lang), pd.DataFrame(rows, columns=headers))
    chart = weekly_trend_chart(facts.weekly, "net_sales", Translator(lang), (facts.period.start, facts.period.end))
    notice = t("review.overview.no_channel_data", lang) if cur.spend is None else ""
    notes = _notes(headline, numbers, lang, [notice, _small_data_note(facts, lang)])
    return StoryView("overview", t("review.view.overview", lang), headline, tuple(numbers), table, chart, notes,
                     notice=notice)


def segments_view(facts: StoryFacts, lang: str = "en") -> StoryView:
    """The plan's tiers: who holds the revenue (high-value) and how many are asleep (dormant)."""
    lang = normalize_lang(lang)
    summary = facts.segment_summary
    rows = {str(r["group"]): r for r in summary.to_dict("records")}
    total = int(summary["customers"].sum()) if len(summary) else 0
    headers = {k: t(f"segments.col.{k}", lang) for k in ("tier", "customers", "share_customers", "share_revenue", "aov")}
    frame = pd.DataFrame({
        headers["tier"]: [seg.tier_label(g, lang) for g in summary["group"]],
        headers["customers"]: summary["customers"].to_numpy(),
        headers["share_customers"]: summary["share_customers"].to_numpy(),
        headers["share_revenue"]: summary["share_revenue"].to_numpy(),
        headers["aov"]: summary["aov"].to_numpy(),
    })
    kinds = {headers["customers"]: "count", headers["share_customers"]: "percent",
             headers["share_revenue"]: "percent", headers["aov"]: "money"}
    table = StoryTable("segments", t("review.sheet.segments", lang), frame, kinds)
    if total == 0:
        headline = t("review.segments.no_customers", lang)
        numbers = (KeyNumber(t("review.segments.customers", lang), count(0, lang)),)
        return StoryView("segments", t("review.view.segments", lang), headline, numbers, table, None,
                         _notes(headline, numbers, lang), notice=headline)
    hv, dormant, lapsing = rows["high_value"], rows["dormant"], rows["lapsing"]
    headline = t(
        "review.segments.headline", lang, hv_share=pct(hv["share_customers"]), hv_rev=pct(hv["share_revenue"]),
        days=facts.settings.window_days, dormant=count(dormant["customers"], lang),
        dormant_rev=pct(dormant["share_revenue"]),
    )
    numbers = (
        KeyNumber(t("review.segments.customers", lang), count(total, lang), facts.as_of.isoformat()),
        KeyNumber(t("review.segments.hv_revenue", lang), pct(hv["share_revenue"]),
                  t("review.number.of_customers", lang, share=pct(hv["share_customers"]))),
        KeyNumber(t("review.segments.dormant", lang), count(dormant["customers"], lang),
                  t("review.number.of_revenue", lang, share=pct(dormant["share_revenue"]))),
        KeyNumber(t("review.segments.lapsing", lang), count(lapsing["customers"], lang),
                  t("review.number.of_revenue", lang, share=pct(lapsing["share_revenue"]))),
    )
    chart = share_chart(summary, "plan", Translator(lang))
    notes = _notes(headline, numbers, lang, [_small_data_note(facts, lang)])
    return StoryView("segments", t("review.view.segments", lang), headline, numbers, table, chart, notes)


def value_view(facts: StoryFacts, lang: str = "en") -> StoryView:
    """What today's customers are expected to be worth, which tiers hold it, and the valuable ones slipping away."""
    lang = normalize_lang(lang)
    values, totals = facts.predicted, facts.predicted_totals
    title = t("review.view.value", lang)
    if values is None or values.empty or totals is None:
        headline = t("review.predicted.unsupported", lang)
        empty = StoryTable("predicted", t("review.sheet.predicted", lang), pd.DataFrame(), {})
        numbers = (KeyNumber(t("predict.kpi.value", lang), "—"),)
        return StoryView("value", title, headline, numbers, empty, None, _notes(headline, numbers, lang),
                         notice=headline)
    table, note = _predicted_table(facts, values, lang)
    headline = t("review.predicted.headline", lang, value=money_compact(totals["predicted_value"], lang),
                 horizon=facts.predicted_horizon, at_risk=count(totals["at_risk_customers"], lang),
                 stake=money_compact(totals["value_at_stake"], lang))
    numbers = (
        KeyNumber(t("predict.kpi.expected_alive", lang), count(totals["expected_alive"], lang),
                  t("review.number.of_customers", lang,
                    share=pct(totals["expected_alive"] / totals["customers"] if totals["customers"] else None))),
        KeyNumber(t("predict.kpi.value", lang), money_compact(totals["predicted_value"], lang),
                  t("review.predicted.next_days", lang, horizon=facts.predicted_horizon)),
        KeyNumber(t("predict.kpi.at_risk", lang), count(totals["at_risk_customers"], lang)),
        KeyNumber(t("predict.kpi.stake", lang), money_compact(totals["value_at_stake"], lang)),
    )
    chart = (tier_value_chart(facts.predicted_value_tiers, Translator(lang))
             if facts.predicted_value_tiers is not None else None)
    return StoryView("value", title, headline, numbers, table, chart, _notes(headline, numbers, lang, [note]))


def _predicted_table(facts: StoryFacts, values: pd.DataFrame, lang: str) -> tuple[StoryTable, str]:
    """The predicted-value table per plan tier and one sentence for the speaker notes."""
    headers = {k: t(f"review.predicted.col.{k}", lang, horizon=facts.predicted_horizon)
               for k in ("tier", "customers", "expected_alive", "predicted_value", "predicted_value_per_customer",
                         "value_at_stake")}
    frame = pd.DataFrame({
        headers["tier"]: [seg.tier_label(str(g), lang) for g in values["tier"]],
        **{headers[k]: values[k].to_numpy() for k in list(headers)[1:]},
    })
    kinds = {headers["customers"]: "count", headers["expected_alive"]: "count", headers["predicted_value"]: "money",
             headers["predicted_value_per_customer"]: "money", headers["value_at_stake"]: "money"}
    best = values.sort_values("predicted_value", ascending=False).iloc[0]
    note = t("review.predicted.note", lang, value=money_compact(float(values["predicted_value"].sum()), lang),
             horizon=facts.predicted_horizon, tier=seg.tier_label(str(best["tier"]), lang),
             share=pct(float(best["predicted_value"]) / float(values["predicted_value"].sum() or 1)))
    return StoryTable("predicted", t("review.sheet.predicted", lang), frame, kinds), note


_PLAY_DETAIL_COLUMNS: tuple[str, ...] = (
    "group", "play", "weeks", "audience", "held_out", "contacted", "aov", "baseline_rate", "response_rate", "lift",
    "gross_margin", "contact_cost", "incremental_responders", "incremental_revenue", "incremental_profit",
    "total_cost", "net", "roi", "gross_revenue", "cost_per_responder", "warnings",
)
_PLAYBOOK_KINDS: dict[str | None, str] = {"int": "count", "money": "money", "percent": "percent", "number": "number"}


def _tier_economics_chart(frame: pd.DataFrame, lang: str) -> alt.Chart:
    """Incremental revenue (solid) and cost (pale) of the plays per tier, in the tier's colour."""
    revenue_label, cost_label = t("review.playbooks.revenue", lang), t("review.playbooks.cost", lang)
    labels = [seg.tier_label(k, lang) for k in TIER_ORDER]
    rows = []
    for _, r in frame.iterrows():
        rows.append({"tier": r["label"], "measure": revenue_label, "value": float(r["revenue"])})
        rows.append({"tier": r["label"], "measure": cost_label, "value": float(r["cost"])})
    measures = [revenue_label, cost_label]
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar(cornerRadiusEnd=2)
        .encode(
            y=alt.Y("tier:N", sort=labels, title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("value:Q", title=t("review.playbooks.axis", lang), axis=alt.Axis(format=",.0f")),
            yOffset=alt.YOffset("measure:N", sort=measures),
            color=alt.Color("tier:N", scale=alt.Scale(domain=labels, range=[TIER_COLORS[k] for k in TIER_ORDER]),
                            legend=None),
            opacity=alt.Opacity("measure:N", sort=measures, scale=alt.Scale(range=[1.0, 0.4]),
                                legend=alt.Legend(orient="top", title=None, **OPACITY_LEGEND)),
            tooltip=[
                alt.Tooltip("tier:N", title=t("segments.col.tier", lang)),
                alt.Tooltip("measure:N", title=t("review.playbooks.measure", lang)),
                alt.Tooltip("value:Q", format=",.0f", title=t("review.playbooks.axis", lang)),
            ],
        )
        .properties(height=max(220, 44 * len(frame)), title=t("review.playbooks.chart_title", lang))
    )


def playbooks_view(facts: StoryFacts, lang: str = "en") -> StoryView:
    """Each tier's plays through the calculator: what they add over what the tier buys anyway, what they cost,
    which tier pays most, and which plays show figures to check before anyone counts on them."""
    lang = normalize_lang(lang)
    playbook, profiles = facts.playbook, facts.profiles
    groups = playbook.groups_for("plan")
    summaries = [pb.tier_summary(playbook, profiles, g.key) for g in groups]
    total = pb.sum_economics([s.total for s in summaries])
    plays = sum(len(s.plays) for s in summaries)
    roi_kind = METRICS["roi"].format_kind
    economics = pd.DataFrame({
        "key": [s.group for s in summaries],
        "label": [g.label(lang) for g in groups],
        "members": [s.profile.members if s.profile else 0 for s in summaries],
        "baseline": [s.profile.baseline_rate if s.profile else None for s in summaries],
        "revenue": [s.total.incremental_revenue for s in summaries],
        "cost": [s.total.total_cost for s in summaries],
        "net": [s.total.net for s in summaries],
        "roi": [s.total.roi for s in summaries],
        "flagged": [len(s.flagged) for s in summaries],
    })
    keys = ("group", "members", "baseline_rate", "incremental_revenue", "total_cost", "net", "roi", "flagged_plays")
    col = {k: pb.column_label(k, lang) for k in keys}
    frame = pd.DataFrame({
        col["group"]: economics["label"], col["members"]: economics["members"],
        col["baseline_rate"]: economics["baseline"], col["incremental_revenue"]: economics["revenue"],
        col["total_cost"]: economics["cost"], col["net"]: economics["net"], col["roi"]: economics["roi"],
        col["flagged_plays"]: economics["flagged"],
    })
    kinds = {col["members"]: "count", col["baseline_rate"]: "percent", col["incremental_revenue"]: "money",
             col["total_cost"]: "money", col["net"]: "money", col["roi"]: roi_kind, col["flagged_plays"]: "count"}
    table = StoryTable("playbooks", t("review.sheet.playbooks", lang), frame, kinds)

    detail = pb.playbook_table(playbook, profiles, lang, tasks=list(facts.tasks), settings=facts.settings)
    detail = detail[list(_PLAY_DETAIL_COLUMNS)]
    formats = dict(pb.PLAYBOOK_COLUMNS)
    detail_kinds = {pb.column_label(k, lang): _PLAYBOOK_KINDS.get(formats.get(k), "text") for k in _PLAY_DETAIL_COLUMNS}
    detail_kinds[pb.column_label("lift", lang)] = "points"
    detail.columns = [pb.column_label(k, lang) for k in _PLAY_DETAIL_COLUMNS]
    plays_table = StoryTable("plays", t("review.sheet.plays", lang), detail, detail_kinds)

    numbers = (
        KeyNumber(t("review.playbooks.revenue", lang), money_compact(total.incremental_revenue, lang)),
        KeyNumber(t("review.playbooks.cost", lang), money_compact(total.total_cost, lang)),
        KeyNumber(t("review.playbooks.roi", lang), format_value(total.roi, roi_kind, lang)),
        KeyNumber(t("review.playbooks.responders", lang), count(total.incremental_responders, lang)),
    )
    if total.audience <= 0:
        headline = t("review.playbooks.headline_empty", lang)
        return StoryView("playbooks", t("review.view.playbooks", lang), headline, numbers, table, None,
                         _notes(headline, numbers, lang), details=(plays_table,), notice=headline)
    top = economics.loc[economics["net"].idxmax()]
    headline = t(
        "review.playbooks.headline", lang, plays=plays, tiers=len(groups),
        revenue=money_compact(total.incremental_revenue, lang), cost=money_compact(total.total_cost, lang),
        roi=format_value(total.roi, roi_kind, lang), top=top["label"], top_net=money_compact(top["net"], lang),
    )
    flagged = [(g, r) for g, s in zip(groups, summaries) for r in s.plays if r.economics.flags]
    notice = ""
    if flagged:
        notice = t("review.playbooks.flagged", lang, count=len(flagged),
                   roi=pct(pb.PLAUSIBLE.max_roi, decimals=0),
                   lift=points(pb.PLAUSIBLE.max_lift, lang, decimals=0).lstrip("+"))
        headline = f"{headline} {notice}" if lang == "en" else headline + notice
    assumptions = playbook.assumptions
    caveat = t("review.playbooks.caveat", lang, margin=pct(assumptions.gross_margin),
               holdout=pct(assumptions.holdout_share), held=count(total.held_out, lang), days=pb.BASELINE_DAYS)
    flag_notes = [f"{g.label(lang)} · {r.play.name.get(lang)}: {' '.join(pb.flag_reasons(r.economics, lang))}"
                  for g, r in flagged]
    chart = _tier_economics_chart(economics, lang)
    notes = _notes(headline, numbers, lang, [caveat, *flag_notes])
    return StoryView("playbooks", t("review.view.playbooks", lang), headline, numbers, table, chart, notes,
                     details=(plays_table,), notice=notice)


def _channel_plan_chart(split: pd.DataFrame, lang: str) -> alt.Chart:
    """Base-quarter spend (grey) against the scenario's planned spend (green) per channel."""
    current, planned = t("review.channels.current", lang), t("review.channels.planned", lang)
    rows = []
    for _, r in split.iterrows():
        rows.append({"channel": r["label"], "which": current, "spend": float(r["current_spend"])})
        rows.append({"channel": r["label"], "which": planned, "spend": float(r["optimised_spend"])})
    which = [current, planned]
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            y=alt.Y("channel:N", sort=list(split["label"]), title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("spend:Q", title=t("review.channels.axis", lang), axis=alt.Axis(format=",.0f")),
            yOffset=alt.YOffset("which:N", sort=which),
            color=alt.Color("which:N", sort=which, title=None, legend=alt.Legend(orient="top"),
                            scale=alt.Scale(domain=which, range=["#9E9E9E", "#2CA58D"])),
            tooltip=[alt.Tooltip("channel:N", title=t("review.channels.col.channel", lang)),
                     alt.Tooltip("which:N", title=" "),
                     alt.Tooltip("spend:Q", format=",.0f", title=t("review.channels.axis", lang))],
        )
        .properties(height=max(220, 40 * len(split)), title=t("review.channels.chart_title", lang))
    )


_CHANNEL_TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("spend", "money"), ("new_customers", "count"), ("revenue", "money"), ("cac", "money"), ("roas", "ratio"),
    ("spend_share", "percent"), ("new_share", "percent"),
)


def _channel_performance(frame: pd.DataFrame, lang: str) -> StoryTable:
    channel = t("review.channels.col.channel", lang)
    out = pd.DataFrame({channel: [display_channel(str(c), lang) for c in frame["channel"]]})
    kinds: dict[str, str] = {}
    for key, kind in _CHANNEL_TABLE_COLUMNS:
        header = t(f"review.channels.col.{key}", lang)
        out[header] = frame[key].to_numpy()
        kinds[header] = kind
    return StoryTable("channel_table", t("review.sheet.channel_table", lang), out, kinds)


def _comparison_table(facts: StoryFacts, lang: str) -> StoryTable | None:
    if len(facts.comparison) < 2:
        return None
    frame = sc.comparison_table([r for _, r in facts.comparison], lang)  # the Scenarios page's table
    titles = [
        t(f"review.scenario.column.{key}", lang) if key in sc.PRESETS and i < len(sc.PRESETS) else key
        for i, (key, _) in enumerate(facts.comparison)
    ]
    unique: list[str] = []
    for title in titles:
        candidate, n = title, 2
        while candidate in unique:
            candidate, n = f"{title} ({n})", n + 1
        unique.append(candidate)
    frame.columns = [t("review.col.metric", lang), *unique]
    return StoryTable("scenario_comparison", t("review.sheet.scenario_comparison", lang), frame)


def channels_view(facts: StoryFacts, lang: str = "en") -> StoryView:
    """The chosen scenario: how many new customers at what CAC, and how the budget moves between channels."""
    lang = normalize_lang(lang)
    title = t("review.view.channels", lang)
    result = facts.scenario
    if result is None:
        return _channels_without_scenario(facts, lang, title)
    label = facts.scenario_label(lang)
    max_customers = result.max_paid_new_customers + result.organic_new_customers + result.held_channel_new_customers
    values = {
        "scenario": label[:1].upper() + label[1:] if lang == "en" else label,
        "customers": count(result.new_customers_required, lang),
        "cac": money(result.implied_cac, lang), "target_cac": money(result.target_cac, lang),
        "budget": money_compact(result.required_budget, lang),
        "linear_budget": money_compact(result.linear_budget, lang),
        "max_customers": count(max_customers, lang), "revenue": money_compact(result.revenue_target, lang),
    }
    if result.new_customers_required <= 0:
        key = "none_needed"
    else:
        key = result.verdict
    headline = t(f"review.channels.headline.{key}", lang, **values)
    quarter = period_label(result.baseline.quarter, lang)
    weeks = max(1, result.inputs.weeks)
    numbers = (
        KeyNumber(t("review.channels.new_customers", lang), count(result.new_customers_required, lang)),
        KeyNumber(t("review.channels.budget", lang), money_compact(result.plan_budget, lang),
                  t("review.number.per_week", lang, value=money_compact(result.plan_budget / weeks, lang))),
        KeyNumber(t("review.channels.cac", lang), money(result.implied_cac, lang),
                  t("review.number.target", lang, value=money(result.target_cac, lang))),
        KeyNumber(t("review.channels.revenue_target", lang), money_compact(result.revenue_target, lang),
                  t("review.number.vs_base", lang, change=pct(result.inputs.growth, signed=True), quarter=quarter)),
    )
    split = result.split_frame()
    split["label"] = [display_channel(str(c), lang) for c in split["channel"]]
    split = split.sort_values(["optimised_spend", "current_spend"], ascending=False).reset_index(drop=True)
    col = {k: t(f"review.channels.col.{k}", lang)
           for k in ("channel", "current_spend", "planned_spend", "planned_new", "average_cac")}
    frame = pd.DataFrame({
        col["channel"]: split["label"], col["current_spend"]: split["current_spend"],
        col["planned_spend"]: split["optimised_spend"], col["planned_new"]: split["optimised_new_customers"],
        col["average_cac"]: split["average_cac"],
    })
    kinds = {col["current_spend"]: "money", col["planned_spend"]: "money", col["planned_new"]: "count",
             col["average_cac"]: "money"}
    table = StoryTable("channels", t("review.sheet.channels", lang), frame, kinds)
    details = []
    if facts.channel_table is not None:
        details.append(_channel_performance(facts.channel_table, lang))
    comparison = _comparison_table(facts, lang)
    if comparison is not None:
        details.append(comparison)
    chart = _channel_plan_chart(split, lang)
    notes = _notes(headline, numbers, lang, [t("review.channels.caveat", lang)])
    return StoryView("channels", title, headline, numbers, table, chart, notes, details=tuple(details))


def _channels_without_scenario(facts: StoryFacts, lang: str, title: str) -> StoryView:
    """The empty states: no channel data at all, or channel data but no scenario (e.g. no full quarter)."""
    if not facts.channel_rows:
        headline = t("review.channels.no_channels", lang)
        table = StoryTable("channels", t("review.sheet.channels", lang),
                           pd.DataFrame(columns=[t("review.channels.col.channel", lang)]))
        return StoryView("channels", title, headline, (), table, None, _notes(headline, (), lang), notice=headline)
    reason = facts.scenario_error.message(lang) if facts.scenario_error else t("review.channels.no_quarter", lang)
    if facts.scenario_error is not None and facts.scenario_error.key == "scenarios.error.no_full_quarter":
        reason = t("review.channels.no_quarter", lang)
    headline = t("review.channels.headline.no_scenario", lang, reason=reason)
    cur = facts.current
    numbers = (
        KeyNumber(t("review.channels.spend", lang), money_compact(cur.spend, lang)),
        KeyNumber(t("kpi.cac", lang), money(cur.cac, lang)),
        KeyNumber(t("kpi.roas", lang), ratio(cur.roas)),
    )
    source = facts.channel_table
    if source is None:
        mix = facts.channel_mix
        source = pd.DataFrame({"channel": mix["channel"], "spend": mix["spend"], "new_customers": None,
                               "revenue": mix["gmv"], "cac": None, "roas": None, "spend_share": mix["spend_share"],
                               "new_share": None})
    table = _channel_performance(source, lang)
    table = StoryTable("channels", t("review.sheet.channels", lang), table.frame, table.kinds)
    chart = channel_mix_chart(facts.channel_mix, Translator(lang)) if len(facts.channel_mix) else None
    return StoryView("channels", title, headline, numbers, table, chart, _notes(headline, numbers, lang),
                     notice=reason)


def timeline_view(facts: StoryFacts, lang: str = "en") -> StoryView:
    """The 13-week plan: when each phase runs, how much is done, and the chain that decides the end date."""
    lang = normalize_lang(lang)
    # The default plan's owners are text in the plan's language: draw it in the reader's.
    tasks = tl.default_plan(lang) if facts.plan_name is None else list(facts.tasks)
    weeks = tl.DEFAULT_WEEKS
    start = facts.start_monday
    end = start + timedelta(weeks=weeks, days=-1)
    path = tl.critical_path(tasks)
    path_length = tl.path_weeks(tasks, path)
    milestones = sum(1 for task in tasks if task.milestone)
    errors = [i for i in tl.validate(tasks, weeks) if i.severity == "error"]
    headline = t(
        "review.timeline.headline", lang, weeks=weeks, start=start.isoformat(), end=end.isoformat(),
        tasks=len(tasks), milestones=milestones, path=path_length,
    )
    notice = t("review.timeline.issues", lang, count=len(errors)) if errors else ""
    if notice:
        headline = f"{headline} {notice}" if lang == "en" else headline + notice
    numbers = (
        KeyNumber(t("review.timeline.start", lang), start.isoformat(), t("review.timeline.plan_name", lang,
                                                                          name=facts.plan_label(lang))),
        KeyNumber(t("review.timeline.tasks", lang), count(len(tasks), lang)),
        KeyNumber(t("review.timeline.milestones", lang), count(milestones, lang)),
        KeyNumber(t("review.timeline.critical_path", lang), t("review.timeline.weeks_value", lang, weeks=path_length),
                  " → ".join(path)),
    )
    col = {k: t(f"review.timeline.col.{k}", lang) for k in ("phase", "weeks", "tasks", "milestones", "progress")}
    rows = []
    for phase in tl.PHASES:
        members = [task for task in tasks if task.phase == phase]
        if not members:
            continue
        work = [task for task in members if not task.milestone] or members
        first_week, last_week = min(x.start_week for x in members), max(x.end_week for x in members)
        rows.append({
            col["phase"]: tl.phase_label(phase, lang),
            col["weeks"]: t("review.timeline.week_one", lang, week=first_week) if first_week == last_week
            else t("review.timeline.weeks_range", lang, start=first_week, end=last_week),
            col["tasks"]: len(members) - sum(1 for x in members if x.milestone),
            col["milestones"]: sum(1 for x in members if x.milestone),
            col["progress"]: sum(min(max(x.progress, 0.0), 1.0) for x in work) / len(work),
        })
    frame = pd.DataFrame(rows, columns=list(col.values()))
    table = StoryTable("timeline", t("review.sheet.timeline", lang), frame,
                       {col["tasks"]: "count", col["milestones"]: "count", col["progress"]: "percent"})
    task_frame = tl.tasks_to_frame(tasks, lang)
    task_frame["milestone"] = ["◆" if m else "" for m in task_frame["milestone"]]
    labels = tl.column_labels(lang)
    task_kinds = {labels["start_week"]: "count", labels["end_week"]: "count", labels["progress"]: "percent"}
    task_frame.columns = [labels.get(c, c) for c in task_frame.columns]
    details = (StoryTable("tasks", t("review.sheet.tasks", lang), task_frame, task_kinds),)
    chart = gantt_chart(tasks, start, lang, baseline=list(facts.baseline_tasks) if facts.baseline_tasks else None,
                        weeks=weeks, row_height=20) if tasks else None
    notes = _notes(headline, numbers, lang, [t("review.timeline.plan_name", lang, name=facts.plan_label(lang))])
    return StoryView("timeline", t("review.view.timeline", lang, weeks=weeks), headline, numbers, table, chart,
                     notes, details=details, notice=notice)


VIEW_BUILDERS = {
    "overview": overview_view,
    "segments": segments_view,
    "value": value_view,
    "playbooks": playbooks_view,
    "channels": channels_view,
    "timeline": timeline_view,
}


def story(
    ws: Any,
    dataset_id: int,
    lang: str = "en",
    *,
    scenario: str | None = None,
    plan: str | None = None,
    as_of: date | None = None,
    facts: StoryFacts | None = None,
) -> list[StoryView]:
    """The six views in the story's fixed order (:data:`STORY_KEYS`), every text in ``lang``.

    ``scenario`` is a saved scenario's name or a preset (conservative, base,
    aggressive; default base); ``plan`` a saved timeline plan (default: the latest
    saved, else the default plan). Pass ``facts`` (from :func:`gather_facts`) to
    draw another language without recomputing.
    """
    if facts is None:
        facts = gather_facts(ws, dataset_id, scenario=scenario, plan=plan, as_of=as_of)
    with use_currency(facts.currency):
        return [VIEW_BUILDERS[key](facts, lang) for key in STORY_KEYS]


# --------------------------------------------------------------------------------------
# Chart images
# --------------------------------------------------------------------------------------


def projector_spec(chart: alt.TopLevelMixin | Mapping[str, Any], *, width: int = CHART_WIDTH_PX) -> dict[str, Any]:
    """The chart's Vega-Lite spec with projector-sized fonts, and a width when it has none."""
    spec = dict(chart if isinstance(chart, Mapping) else chart.to_dict())
    config = dict(spec.get("config") or {})
    for part, sizes in _PROJECTOR_CONFIG.items():
        config[part] = {**sizes, **dict(config.get(part) or {})}
    spec["config"] = config
    composite = any(k in spec for k in ("hconcat", "vconcat", "concat", "facet", "repeat"))
    if "width" not in spec and not composite:
        spec["width"] = width
    return spec


def chart_images(views: Sequence[StoryView], *, scale: float = CHART_SCALE) -> dict[str, bytes]:
    """Each view's chart as PNG bytes (key → PNG), rendered once for the workbook and the deck."""
    return {view.key: chart_png(projector_spec(view.chart), scale=scale) for view in views if view.chart is not None}


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


# --------------------------------------------------------------------------------------
# The pack: story + images, then the workbook and the deck
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReviewPack:
    """The facts, the views in one language and their chart images: all the workbook and deck need."""

    facts: StoryFacts
    lang: str
    views: tuple[StoryView, ...]
    images: Mapping[str, bytes]


def build_pack(
    ws: Any,
    dataset_id: int,
    lang: str = "en",
    *,
    scenario: str | None = None,
    plan: str | None = None,
    as_of: date | None = None,
    facts: StoryFacts | None = None,
) -> ReviewPack:
    """Facts, views and chart images for one language (images cost 1–3 s per chart)."""
    lang = normalize_lang(lang)
    facts = facts or gather_facts(ws, dataset_id, scenario=scenario, plan=plan, as_of=as_of)
    views = story(ws, facts.dataset_id, lang, facts=facts)
    with use_currency(facts.currency):
        return ReviewPack(facts=facts, lang=lang, views=tuple(views), images=chart_images(views))


def _about_rows(pack: ReviewPack, generated_at: datetime) -> list[list[Any]]:
    facts, lang = pack.facts, pack.lang
    rows: list[list[Any]] = [
        [t("review.about.title", lang)],
        [t("review.about.dataset", lang), facts.dataset_name],
        [t("review.about.period", lang), f"{facts.period_label(lang)} ({facts.period.start} – {facts.period.end})"],
        [t("review.about.as_of", lang), facts.as_of.isoformat()],
        [t("review.about.scenario", lang), facts.scenario_label(lang)],
        [t("review.about.plan", lang), facts.plan_label(lang)],
        [t("review.about.language", lang), t("review.about.language_name", lang)],
        [t("review.about.generated", lang), generated_at.strftime("%Y-%m-%d %H:%M")],
        [],
        [t("review.about.headlines", lang)],
    ]
    rows += [[view.title, view.headline] for view in pack.views]
    rows += [[], ["•", t("review.about.numbers", lang)]]
    return rows


def review_workbook(
    ws: Any,
    dataset_id: int,
    lang: str = "en",
    *,
    scenario: str | None = None,
    plan: str | None = None,
    as_of: date | None = None,
    pack: ReviewPack | None = None,
    generated_at: datetime | None = None,
) -> bytes:
    """The story's tables as an .xlsx: an About sheet with every headline, then each view's table (its chart
    beside it as a PNG) followed by its detail tables — KPIs, tiers, tier and play economics, the scenario's
    channel plan, channel performance, the scenario comparison, the timeline's phases and tasks."""
    pack = pack or build_pack(ws, dataset_id, lang, scenario=scenario, plan=plan, as_of=as_of)
    sheets = [SheetSpec(title=t("review.sheet.about", pack.lang), rows=_about_rows(pack, generated_at or datetime.now()))]
    for view in pack.views:
        png = pack.images.get(view.key)
        images = [SheetImage(png, scale=CHART_SCALE)] if png else []
        sheets.append(view.table.sheet(images))
        sheets.extend(detail.sheet() for detail in view.details)
    sheets.append(glossary_sheet(pack.lang))
    return workbook_bytes(sheets)


def glossary_sheet(lang: str) -> SheetSpec:
    """Every number's definition (from :func:`lib.metrics.glossary`), so the workbook explains itself."""
    frame = pd.DataFrame(glossary(lang)).drop(columns="key")
    frame.columns = [t(f"metrics.col.{c}", lang) for c in frame.columns]
    return SheetSpec(title=t("metrics.glossary_sheet", lang), frame=frame, formats={c: "text" for c in frame.columns})


# -- the deck ----------------------------------------------------------------------------


def _style_run(run: Any, lang: str, *, size: float, bold: bool = False, color: str = _INK,
               italic: bool = False) -> None:
    """Size, weight, colour, and both fonts: Latin (``a:latin``) and East Asian (``a:ea``) — without the
    latter PowerPoint draws Chinese in whatever its default East Asian font is (or as boxes)."""
    from pptx.dml.color import RGBColor
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    font = run.font
    font.size = Pt(size)
    font.bold = bold
    font.italic = italic
    font.color.rgb = RGBColor.from_string(color)
    font.name = DECK_LATIN_FONT
    r_pr = run._r.get_or_add_rPr()
    r_pr.set("lang", "zh-CN" if lang == "zh" else "en-US")
    latin = r_pr.find(qn("a:latin"))
    ea = r_pr.find(qn("a:ea"))
    if ea is None:
        ea = latin.makeelement(qn("a:ea"), {})
        latin.addnext(ea)
    ea.set("typeface", DECK_EA_FONT)


def _write_paragraphs(text_frame: Any, parts: Sequence[tuple[str, dict[str, Any]]], lang: str,
                      align: Any = None) -> None:
    """Replace a text frame's text with one paragraph per (text, style) part."""
    text_frame.clear()
    text_frame.word_wrap = True
    for index, (text, style) in enumerate(parts):
        paragraph = text_frame.paragraphs[0] if index == 0 else text_frame.add_paragraph()
        if align is not None:
            paragraph.alignment = align
        run = paragraph.add_run()
        run.text = re.sub(r"[\t\r\n]+", " ", strip_control(str(text)))  # user text may hold bytes XML cannot carry
        _style_run(run, lang, **style)


def _textbox(slide: Any, box: tuple[float, float, float, float], parts: Sequence[tuple[str, dict[str, Any]]],
             lang: str, align: Any = None) -> Any:
    from pptx.util import Inches

    left, top, width, height = box
    shape = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
    _write_paragraphs(shape.text_frame, parts, lang, align)
    return shape


def _place(shape: Any, box: tuple[float, float, float, float]) -> None:
    from pptx.util import Inches

    shape.left, shape.top, shape.width, shape.height = (Inches(v) for v in box)


def _column_widths(display: pd.DataFrame, max_total: float) -> list[float]:
    """Inches per column: values never wrap, a header may take two lines; CJK counts double."""
    per_unit = TABLE_PT / 72 * 0.6
    padding = 0.3  # the cell's own left and right margins, plus air
    widths = []
    for column in display.columns:
        values = max([display_width(str(v)) for v in display[column]] or [0])
        header = display_width(str(column))
        # A header may wrap, but not inside a word (CJK text wraps between any two characters).
        wraps_anywhere = any(display_width(ch) == 2 for ch in str(column))
        longest_word = max((display_width(w) for w in str(column).split()), default=0)
        unbreakable = min(header, 6) if wraps_anywhere else longest_word
        units = max(values, math.ceil(header * 0.55), unbreakable)
        widths.append(min(units * per_unit + padding, 3.4))
    total = sum(widths)
    if total > max_total:
        widths = [w * max_total / total for w in widths]
    return widths


def _add_table(slide: Any, table: StoryTable, lang: str, box: tuple[float, float, float, float]) -> float:
    """A native table of at most MAX_SLIDE_ROWS rows; returns its width in inches."""
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
    from pptx.util import Inches

    left, top, max_width, _ = box
    display = table.display(lang)
    hidden = max(0, len(display) - MAX_SLIDE_ROWS)
    display = display.head(MAX_SLIDE_ROWS)
    widths = _column_widths(display, max_width)
    row_height = 0.34
    n_rows, n_cols = len(display) + 1, max(1, len(display.columns))
    shape = slide.shapes.add_table(n_rows, n_cols, Inches(left), Inches(top), Inches(sum(widths)),
                                   Inches(row_height * n_rows))
    grid = shape.table
    for index, width in enumerate(widths):
        grid.columns[index].width = Inches(width)
    for index in range(n_rows):
        grid.rows[index].height = Inches(row_height)
    numeric = [table.kinds.get(c, "text") != "text" for c in display.columns]
    for col_index, header in enumerate(display.columns):
        cell = grid.cell(0, col_index)
        cell.vertical_anchor = MSO_ANCHOR.MIDDLE
        _write_paragraphs(cell.text_frame, [(str(header), {"size": TABLE_PT, "bold": True, "color": "FFFFFF"})],
                          lang, PP_ALIGN.RIGHT if numeric[col_index] else PP_ALIGN.LEFT)
    for row_index, row in enumerate(display.itertuples(index=False), start=1):
        for col_index, value in enumerate(row):
            cell = grid.cell(row_index, col_index)
            cell.margin_top = cell.margin_bottom = Inches(0.03)
            cell.vertical_anchor = MSO_ANCHOR.MIDDLE
            _write_paragraphs(cell.text_frame, [(str(value), {"size": TABLE_PT})], lang,
                              PP_ALIGN.RIGHT if numeric[col_index] else PP_ALIGN.LEFT)
    if hidden:
        _textbox(slide, (left, top + row_height * n_rows + 0.05, max_width, 0.35),
                 [(t("review.deck.more_rows", lang, count=hidden), {"size": BODY_PT, "color": _MUTED})], lang)
    return sum(widths)


def _add_picture(slide: Any, png: bytes, box: tuple[float, float, float, float]) -> None:
    """The chart image, as large as fits in ``box`` without distortion, centred in it."""
    from pptx.util import Inches

    left, top, width, height = box
    pixels_w, pixels_h = png_size(png)
    scale = min(width / pixels_w, height / pixels_h)
    shown_w, shown_h = pixels_w * scale, pixels_h * scale
    slide.shapes.add_picture(io.BytesIO(png), Inches(left + (width - shown_w) / 2), Inches(top + (height - shown_h) / 2),
                             Inches(shown_w), Inches(shown_h))


_SLIDE_W, _SLIDE_H, _MARGIN = 13.333, 7.5, 0.5


def _view_slide(prs: Any, view: StoryView, png: bytes | None, lang: str) -> None:
    from pptx.enum.text import PP_ALIGN

    slide = prs.slides.add_slide(prs.slide_layouts[5])  # "Title Only": a real title placeholder
    inner = _SLIDE_W - 2 * _MARGIN
    title = slide.shapes.title
    _place(title, (_MARGIN, 0.3, inner, 0.75))
    _write_paragraphs(title.text_frame, [(view.title, {"size": TITLE_PT, "bold": True})], lang, PP_ALIGN.LEFT)
    headline_parts: list[tuple[str, dict[str, Any]]] = [(view.headline, {"size": HEADLINE_PT, "color": _INK})]
    _textbox(slide, (_MARGIN, 1.05, inner, 0.85), headline_parts, lang)
    if view.numbers:
        width = inner / len(view.numbers)
        for index, number in enumerate(view.numbers):
            parts = [(number.value, {"size": NUMBER_PT, "bold": True, "color": _ACCENT}),
                     (number.label, {"size": BODY_PT, "color": _MUTED})]
            if number.detail:
                parts.append((number.detail, {"size": BODY_PT, "color": _MUTED}))
            _textbox(slide, (_MARGIN + index * width, 1.95, width - 0.15, 1.15), parts, lang)
    content_top, content_height = 3.2, _SLIDE_H - 3.2 - 0.25
    table_width = _add_table(slide, view.table, lang, (_MARGIN, content_top, inner * 0.6, content_height))
    chart_left = _MARGIN + table_width + 0.3
    chart_box = (chart_left, content_top, _SLIDE_W - _MARGIN - chart_left, content_height)
    if png:
        _add_picture(slide, png, chart_box)
    else:
        _textbox(slide, chart_box, [(view.notice or t("review.deck.no_chart", lang),
                                     {"size": BODY_PT, "color": _MUTED, "italic": True})], lang)
    notes = slide.notes_slide.notes_text_frame
    _write_paragraphs(notes, [(line, {"size": BODY_PT}) for line in view.notes.split("\n")], lang)


def review_deck(
    ws: Any,
    dataset_id: int,
    lang: str = "en",
    *,
    scenario: str | None = None,
    plan: str | None = None,
    as_of: date | None = None,
    pack: ReviewPack | None = None,
    generated_at: datetime | None = None,
) -> bytes:
    """A 16:9 .pptx: a title slide, then one slide per view with its title, headline, key numbers, a native
    table, the chart image and speaker notes carrying the key numbers. Every run names a Latin and an East
    Asian font; body text ≥ 14 pt, titles 32 pt."""
    from pptx import Presentation
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Inches

    pack = pack or build_pack(ws, dataset_id, lang, scenario=scenario, plan=plan, as_of=as_of)
    lang, facts = pack.lang, pack.facts
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(_SLIDE_W), Inches(_SLIDE_H)
    prs.core_properties.title = t("review.deck.title", lang, dataset=facts.dataset_name)
    prs.core_properties.language = "zh-CN" if lang == "zh" else "en-US"

    cover = prs.slides.add_slide(prs.slide_layouts[0])
    _place(cover.shapes.title, (0.8, 2.2, _SLIDE_W - 1.6, 1.4))
    _write_paragraphs(cover.shapes.title.text_frame,
                      [(t("review.deck.title", lang, dataset=facts.dataset_name), {"size": 40, "bold": True})],
                      lang, PP_ALIGN.LEFT)
    subtitle = cover.placeholders[1]
    _place(subtitle, (0.8, 3.8, _SLIDE_W - 1.6, 1.6))
    when = (generated_at or datetime.now()).strftime("%Y-%m-%d %H:%M")
    _write_paragraphs(subtitle.text_frame, [
        (t("review.deck.subtitle", lang, period=facts.period_label(lang), scenario=facts.scenario_label(lang),
           plan=facts.plan_label(lang)), {"size": HEADLINE_PT, "color": _MUTED}),
        (t("review.deck.generated", lang, when=when), {"size": BODY_PT, "color": _MUTED}),
    ], lang, PP_ALIGN.LEFT)
    cover_notes = [view.headline for view in pack.views]
    _write_paragraphs(cover.notes_slide.notes_text_frame, [(line, {"size": BODY_PT}) for line in cover_notes], lang)

    for view in pack.views:
        _view_slide(prs, view, pack.images.get(view.key), lang)
    buffer = io.BytesIO()
    prs.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------
# Files for the CLI
# --------------------------------------------------------------------------------------


def pack_file_stem(dataset_name: str, lang: str) -> str:
    """A file name stem that is safe on every OS: ``review-pack_Sample_store_en``."""
    safe = re.sub(r"[^\w\-]+", "_", dataset_name, flags=re.UNICODE).strip("_") or "dataset"
    return f"review-pack_{safe[:60]}_{normalize_lang(lang)}"


def write_review_pack(
    ws: Any,
    dataset_name: str,
    out_dir: str | Path,
    lang: str = "en",
    scenario: str | None = None,
    plan: str | None = None,
    *,
    as_of: date | None = None,
) -> list[Path]:
    """Write the workbook and the deck for ``dataset_name`` into ``out_dir``; returns [xlsx path, pptx path].

    What ``python -m lib.cli review-pack --dataset NAME [--scenario NAME] [--plan NAME] --lang en|zh --out DIR``
    runs. Raises ``workspace.DatasetNotFound`` for an unknown dataset and ReviewPackError (``.message(lang)``)
    for a dataset without orders or an unknown scenario or plan.
    """
    dataset = ws.get_dataset(dataset_name)
    pack = build_pack(ws, dataset.dataset_id, lang, scenario=scenario, plan=plan, as_of=as_of)
    generated = datetime.now()
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    stem = pack_file_stem(dataset.name, pack.lang)
    xlsx = target / f"{stem}.xlsx"
    pptx = target / f"{stem}.pptx"
    xlsx.write_bytes(review_workbook(ws, dataset.dataset_id, pack.lang, pack=pack, generated_at=generated))
    pptx.write_bytes(review_deck(ws, dataset.dataset_id, pack.lang, pack=pack, generated_at=generated))
    return [xlsx, pptx]


__all__ = [
    "STORY_KEYS", "KeyNumber", "ReviewPack", "ReviewPackError", "StoryFacts", "StoryTable", "StoryView",
    "build_pack", "channels_view", "chart_images", "format_value", "gather_facts", "overview_view",
    "period_label", "playbooks_view", "projector_spec", "resolve_plan", "resolve_scenario", "review_deck",
    "review_workbook", "segments_view", "story", "timeline_view", "write_review_pack",
]
