"""The story's six views, one function each, from facts to a :class:`StoryView` in one language.

Why a module of its own: each view writes its headline from the numbers, picks its
2–4 key numbers, its table and its chart; :func:`story` returns them in the fixed
order the meeting walks through.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

from lib import kpis
from lib import playbooks as pb
from lib import scenarios as sc
from lib import segments as seg
from lib import timeline as tl
from lib.charts import channel_mix_chart, weekly_trend_chart
from lib.formatting import count, money, money_compact, pct, points, ratio, use_currency
from lib.i18n import Translator, display_channel, normalize_lang, t
from lib.metrics import METRICS
from lib.value.charts import tier_value_chart
from lib.review.charts import channel_plan_chart, tier_economics_chart
from lib.review.facts import StoryFacts, gather_facts, period_label
from lib.review.model import (
    SMALL_DATA_CUSTOMERS,
    STORY_KEYS,
    ChartRecipe,
    KeyNumber,
    StoryTable,
    StoryView,
    format_value,
    speaker_notes,
)

from lib.segments.charts import share_chart
from lib.timeline.charts import gantt_chart
from lib.workspace import Workspace

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
    chart = ChartRecipe(weekly_trend_chart, (facts.weekly, "net_sales", Translator(lang), (facts.period.start, facts.period.end)))
    notice = t("review.overview.no_channel_data", lang) if cur.spend is None else ""
    notes = speaker_notes(headline, numbers, lang, [notice, _small_data_note(facts, lang)])
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
        numbers: tuple[KeyNumber, ...] = (KeyNumber(t("review.segments.customers", lang), count(0, lang)),)
        return StoryView("segments", t("review.view.segments", lang), headline, numbers, table, None,
                         speaker_notes(headline, numbers, lang), notice=headline)
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
    chart = ChartRecipe(share_chart, (summary, "plan", Translator(lang)))
    notes = speaker_notes(headline, numbers, lang, [_small_data_note(facts, lang)])
    return StoryView("segments", t("review.view.segments", lang), headline, numbers, table, chart, notes)


def value_view(facts: StoryFacts, lang: str = "en") -> StoryView:
    """What today's customers are expected to be worth, which tiers hold it, and the valuable ones slipping away."""
    lang = normalize_lang(lang)
    values, totals = facts.predicted, facts.predicted_totals
    title = t("review.view.value", lang)
    if values is None or values.empty or totals is None:
        headline = t("review.predicted.unsupported", lang)
        empty = StoryTable("predicted", t("review.sheet.predicted", lang), pd.DataFrame(), {})
        numbers: tuple[KeyNumber, ...] = (KeyNumber(t("predict.kpi.value", lang), "—"),)
        return StoryView("value", title, headline, numbers, empty, None, speaker_notes(headline, numbers, lang),
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
    chart = (ChartRecipe(tier_value_chart, (facts.predicted_value_tiers, Translator(lang)))
             if facts.predicted_value_tiers is not None else None)
    return StoryView("value", title, headline, numbers, table, chart, speaker_notes(headline, numbers, lang, [note]))


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


def _tier_economics(groups: Sequence[pb.GroupContent], summaries: Sequence[pb.TierSummary], lang: str) -> pd.DataFrame:
    """Per tier: its label, members, baseline and its plays' combined economics (what the chart draws)."""
    return pd.DataFrame({
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


def _tier_economics_table(economics: pd.DataFrame, lang: str) -> StoryTable:
    keys = ("group", "members", "baseline_rate", "incremental_revenue", "total_cost", "net", "roi", "flagged_plays")
    col = {k: pb.column_label(k, lang) for k in keys}
    frame = pd.DataFrame({
        col["group"]: economics["label"], col["members"]: economics["members"],
        col["baseline_rate"]: economics["baseline"], col["incremental_revenue"]: economics["revenue"],
        col["total_cost"]: economics["cost"], col["net"]: economics["net"], col["roi"]: economics["roi"],
        col["flagged_plays"]: economics["flagged"],
    })
    kinds = {col["members"]: "count", col["baseline_rate"]: "percent", col["incremental_revenue"]: "money",
             col["total_cost"]: "money", col["net"]: "money", col["roi"]: METRICS["roi"].format_kind,
             col["flagged_plays"]: "count"}
    return StoryTable("playbooks", t("review.sheet.playbooks", lang), frame, kinds)


def _plays_table(facts: StoryFacts, lang: str) -> StoryTable:
    """Every play's inputs and economics (the workbook's detail sheet)."""
    detail = pb.playbook_table(facts.playbook, facts.profiles, lang, tasks=list(facts.tasks), settings=facts.settings)
    detail = detail[list(_PLAY_DETAIL_COLUMNS)]
    formats = dict(pb.PLAYBOOK_COLUMNS)
    detail_kinds = {pb.column_label(k, lang): _PLAYBOOK_KINDS.get(formats.get(k), "text") for k in _PLAY_DETAIL_COLUMNS}
    detail_kinds[pb.column_label("lift", lang)] = "points"
    detail.columns = [pb.column_label(k, lang) for k in _PLAY_DETAIL_COLUMNS]
    return StoryTable("plays", t("review.sheet.plays", lang), detail, detail_kinds)


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
    economics = _tier_economics(groups, summaries, lang)
    table = _tier_economics_table(economics, lang)
    plays_table = _plays_table(facts, lang)

    numbers: tuple[KeyNumber, ...] = (
        KeyNumber(t("review.playbooks.revenue", lang), money_compact(total.incremental_revenue, lang)),
        KeyNumber(t("review.playbooks.cost", lang), money_compact(total.total_cost, lang)),
        KeyNumber(t("review.playbooks.roi", lang), format_value(total.roi, roi_kind, lang)),
        KeyNumber(t("review.playbooks.responders", lang), count(total.incremental_responders, lang)),
    )
    if total.audience <= 0:
        headline = t("review.playbooks.headline_empty", lang)
        return StoryView("playbooks", t("review.view.playbooks", lang), headline, numbers, table, None,
                         speaker_notes(headline, numbers, lang), details=(plays_table,), notice=headline)
    top = economics.iloc[int(np.nanargmax(economics["net"].to_numpy(dtype=float)))]
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
    chart = ChartRecipe(tier_economics_chart, (economics, lang))
    notes = speaker_notes(headline, numbers, lang, [caveat, *flag_notes])
    return StoryView("playbooks", t("review.view.playbooks", lang), headline, numbers, table, chart, notes,
                     details=(plays_table,), notice=notice)



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
    numbers: tuple[KeyNumber, ...] = (
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
    chart = ChartRecipe(channel_plan_chart, (split, lang))
    notes = speaker_notes(headline, numbers, lang, [t("review.channels.caveat", lang)])
    return StoryView("channels", title, headline, numbers, table, chart, notes, details=tuple(details))


def _channels_without_scenario(facts: StoryFacts, lang: str, title: str) -> StoryView:
    """The empty states: no channel data at all, or channel data but no scenario (e.g. no full quarter)."""
    if not facts.channel_rows:
        headline = t("review.channels.no_channels", lang)
        table = StoryTable("channels", t("review.sheet.channels", lang),
                           pd.DataFrame(columns=[t("review.channels.col.channel", lang)]))
        return StoryView("channels", title, headline, (), table, None, speaker_notes(headline, (), lang), notice=headline)
    reason = facts.scenario_error.message(lang) if facts.scenario_error else t("review.channels.no_quarter", lang)
    if facts.scenario_error is not None and facts.scenario_error.key == "scenarios.error.no_full_quarter":
        reason = t("review.channels.no_quarter", lang)
    headline = t("review.channels.headline.no_scenario", lang, reason=reason)
    cur = facts.current
    numbers: tuple[KeyNumber, ...] = (
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
    chart = ChartRecipe(channel_mix_chart, (facts.channel_mix, Translator(lang))) if len(facts.channel_mix) else None
    return StoryView("channels", title, headline, numbers, table, chart, speaker_notes(headline, numbers, lang),
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
    numbers: tuple[KeyNumber, ...] = (
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
    baseline = list(facts.baseline_tasks) if facts.baseline_tasks else None
    chart = ChartRecipe(gantt_chart, (list(tasks), start, lang),
                        {"baseline": baseline, "weeks": weeks, "row_height": 20}) if tasks else None
    notes = speaker_notes(headline, numbers, lang, [t("review.timeline.plan_name", lang, name=facts.plan_label(lang))])
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
    ws: Workspace,
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
