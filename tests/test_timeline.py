"""Tests for the 13-week timeline: plan model, validation, critical path, calendar, saved plans, chart and exports."""

from __future__ import annotations

import io
import itertools
import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import icalendar
import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib import timeline as tl
from lib.i18n import catalogs
from lib.timeline import Task
from lib.timeline import charts as tc
from lib.timeline import exports as tx
from lib.timeline.charts import gantt_chart
from lib.workspace import Workspace

PIL = pytest.importorskip("PIL.Image")

MONDAY = date(2026, 9, 7)  # a quarter that contains Double 11
#: The domain brief's phase weeks (inclusive): preparation 1–2, launch 3–4, operation 5–12, optimisation 13.
BRIEF_PHASE_WEEKS = {"prep": (1, 2), "launch": (3, 4), "operation": (5, 12), "optimisation": (13, 13)}


def task(task_id: str, start: int, end: int, *deps: str, milestone: bool = False, **kw) -> Task:
    return Task(
        id=task_id,
        name=kw.pop("name", f"Task {task_id}"),
        phase=kw.pop("phase", "operation"),
        start_week=start,
        end_week=end,
        milestone=milestone,
        depends_on=tuple(deps),
        **kw,
    )


def codes(issues: list[tl.Issue]) -> list[str]:
    return [issue.code for issue in issues]


# ---------------------------------------------------------------------------
# Locale
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# The package's public surface
# ---------------------------------------------------------------------------


def test_every_public_name_of_the_package_resolves():
    for module in (tl, tc, tx):
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert not missing, f"{module.__name__}.__all__ names what it does not define: {missing}"
    assert tl.default_plan is tl.defaults.default_plan and tl.validate is tl.checks.validate


def test_the_plan_loads_without_the_chart_and_file_libraries():
    """Pages that only read a plan (Playbooks) must not pay for Altair, openpyxl and vl-convert at start-up."""
    code = ("import sys; from lib import timeline; assert len(timeline.default_plan('zh')) == 26; "
            "print(sorted(m for m in ('altair', 'openpyxl', 'vl_convert') if m in sys.modules))")
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_locale_file_has_the_same_non_empty_keys_in_both_languages():
    data = json.loads((Path(__file__).resolve().parent.parent / "lib" / "locales" / "timeline.json").read_text("utf-8"))
    assert data["en"].keys() == data["zh"].keys()
    assert all(data[lang][key].strip() for lang in ("en", "zh") for key in data[lang])
    assert all(key.startswith("timeline.") for key in data["en"])
    catalogs.cache_clear()
    assert "timeline.chart.title" in catalogs()["zh"]


# ---------------------------------------------------------------------------
# Validation: one test per rule
# ---------------------------------------------------------------------------


def test_a_clean_plan_has_no_issues():
    assert tl.validate([task("A", 1, 2), task("B", 3, 5, "A")]) == []


def test_empty_name_is_reported():
    issues = tl.validate([task("A", 1, 2, name="  ")])
    assert codes(issues) == ["empty_name"]
    assert "A" in issues[0].message("en")


def test_duplicate_ids_are_reported_once():
    issues = tl.validate([task("A", 1, 2), task("A", 3, 4), task("A", 5, 6)])
    assert codes(issues) == ["duplicate_id"]
    assert "A" in issues[0].message("zh")


@pytest.mark.parametrize("start,end,bad", [(0, 2, 1), (3, 14, 1), (0, 14, 2)])
def test_weeks_outside_the_plan_are_reported(start, end, bad):
    issues = tl.validate([task("A", start, end)])
    assert codes(issues).count("week_out_of_range") == bad
    message = issues[0].message("en")
    assert "1–13" in message and "Task A" in message


def test_weeks_can_be_checked_against_a_longer_plan():
    assert tl.validate([task("A", 3, 14)], weeks=14) == []


def test_end_before_start_is_reported():
    issues = tl.validate([task("A", 6, 4)])
    assert codes(issues) == ["end_before_start"]
    assert "4" in issues[0].message("en") and "6" in issues[0].message("en")
    assert "第4周" in issues[0].message("zh")


def test_progress_must_be_a_share():
    assert codes(tl.validate([task("A", 1, 2, progress=1.5)])) == ["progress_out_of_range"]
    assert codes(tl.validate([task("A", 1, 2, progress=-0.1)])) == ["progress_out_of_range"]


def test_unknown_phase_and_tier_are_reported():
    issues = tl.validate([task("A", 1, 2, phase="party", tier="whales")])
    assert codes(issues) == ["unknown_phase", "unknown_tier"]


def test_unknown_dependency_is_reported_with_both_names():
    issues = tl.validate([task("A", 1, 2), task("B", 3, 4, "A", "ZZ")])
    assert codes(issues) == ["unknown_dependency"]
    assert "ZZ" in issues[0].message("en") and "B" in issues[0].message("en")
    assert issues[0].task_ids == ("B",)


def test_dependency_cycle_is_reported_and_named():
    tasks = [task("A", 1, 2, "C"), task("B", 3, 4, "A"), task("C", 5, 6, "B"), task("D", 7, 8, "C")]
    issues = [i for i in tl.validate(tasks) if i.code == "dependency_cycle"]
    assert len(issues) == 1
    assert "A → B → C → A" in issues[0].message("en")
    assert "A → B → C → A" in issues[0].message("zh")
    assert set(issues[0].task_ids) == {"A", "B", "C"}


def test_self_dependency_is_a_cycle():
    issues = tl.validate([task("A", 1, 2, "A")])
    assert "dependency_cycle" in codes(issues)
    assert "A → A" in issues[[i.code for i in issues].index("dependency_cycle")].message("en")


def test_two_separate_cycles_are_both_named():
    tasks = [task("A", 1, 1, "B"), task("B", 2, 2, "A"), task("C", 3, 3, "D"), task("D", 4, 4, "C")]
    cycles = [i.message("en") for i in tl.validate(tasks) if i.code == "dependency_cycle"]
    assert len(cycles) == 2
    assert any("A → B → A" in m for m in cycles) and any("C → D → C" in m for m in cycles)


def test_successor_starting_before_predecessor_ends_names_both():
    tasks = [task("A", 1, 4, name="Build communities"), task("B", 3, 6, "A", name="Repurchase drive")]
    issues = tl.validate(tasks)
    assert codes(issues) == ["dependency_conflict"]
    assert issues[0].severity == "warning"
    message = issues[0].message("en")
    assert "Build communities" in message and "Repurchase drive" in message
    assert "week 3" in message and "week 4" in message
    assert all(issue.severity == "warning" for issue in issues), "a warning alone does not block saving"


def test_starting_in_the_same_week_the_predecessor_ends_is_a_conflict():
    assert codes(tl.validate([task("A", 1, 2), task("B", 2, 3, "A")])) == ["dependency_conflict"]
    assert codes(tl.validate([task("A", 1, 2), task("B", 3, 3, "A")])) == []


def test_messages_are_translated_not_raw_keys():
    issues = tl.validate(
        [task("A", 0, 20, "A", "X", name="", phase="x", tier="y", progress=2), task("A", 1, 1)]
    )
    assert {i.code for i in issues} >= {
        "empty_name", "duplicate_id", "unknown_phase", "unknown_tier", "week_out_of_range",
        "progress_out_of_range", "unknown_dependency", "dependency_cycle",
    }
    for issue in issues:
        for lang in ("en", "zh"):
            text = issue.message(lang)
            assert not text.startswith("timeline.") and "{" not in text
        assert issue.message("en") != issue.message("zh")


# ---------------------------------------------------------------------------
# Critical path and ordering
# ---------------------------------------------------------------------------


def test_critical_path_of_a_chain_beats_a_long_single_task():
    tasks = [task("A", 1, 2), task("B", 3, 5, "A"), task("C", 6, 6, "B"), task("D", 1, 5)]
    assert tl.critical_path(tasks) == ["A", "B", "C"]
    assert tl.path_weeks(tasks, ["A", "B", "C"]) == 6


def test_critical_path_takes_the_longer_branch_of_a_diamond():
    tasks = [task("A", 1, 1), task("B", 2, 5, "A"), task("C", 2, 3, "A"), task("D", 6, 6, "B", "C")]
    assert tl.critical_path(tasks) == ["A", "B", "D"]


def test_critical_path_single_long_task_wins_over_short_chain():
    tasks = [task("A", 1, 1), task("B", 2, 2, "A"), task("D", 1, 8)]
    assert tl.critical_path(tasks) == ["D"]


def test_milestones_add_no_duration():
    tasks = [task("A", 1, 3), task("M", 3, 3, "A", milestone=True), task("B", 1, 3)]
    assert tl.path_weeks(tasks, tl.critical_path(tasks)) == 3
    assert tl.critical_path(tasks) == ["A", "M"]


def test_critical_path_is_empty_for_no_tasks_or_a_cycle():
    assert tl.critical_path([]) == []
    assert tl.critical_path([task("A", 1, 2, "B"), task("B", 3, 4, "A")]) == []


def test_critical_path_ignores_unknown_dependencies():
    assert tl.critical_path([task("A", 1, 2, "nope"), task("B", 3, 4, "A")]) == ["A", "B"]


def test_topological_order_respects_dependencies_and_names_cycles():
    tasks = [task("C", 5, 6, "B"), task("B", 3, 4, "A"), task("A", 1, 2)]
    assert tl.topological_order(tasks) == ["A", "B", "C"]
    with pytest.raises(tl.DependencyCycleError, match="A → B → A"):
        tl.topological_order([task("A", 1, 1, "B"), task("B", 2, 2, "A")])


@st.composite
def random_dags(draw):
    n = draw(st.integers(min_value=1, max_value=7))
    tasks = []
    for i in range(n):
        start = draw(st.integers(1, 13))
        end = draw(st.integers(start, 13))
        deps = draw(st.lists(st.sampled_from([f"T{j}" for j in range(i)]), unique=True) if i else st.just([]))
        tasks.append(task(f"T{i}", start, end, *deps, milestone=draw(st.booleans())))
    return tasks


def _brute_force_longest(tasks: list[Task]) -> int:
    by_id = {t.id: t for t in tasks}
    best = 0

    def walk(node: str, total: int) -> None:
        nonlocal best
        best = max(best, total)
        for nxt in tasks:
            if node in nxt.depends_on:
                walk(nxt.id, total + nxt.duration_weeks)

    for t in tasks:
        walk(t.id, by_id[t.id].duration_weeks)
    return best


@settings(max_examples=60, deadline=None)
@given(random_dags())
def test_critical_path_matches_brute_force_and_follows_edges(tasks):
    path = tl.critical_path(tasks)
    assert tl.path_weeks(tasks, path) == _brute_force_longest(tasks)
    by_id = {t.id: t for t in tasks}
    for before, after in itertools.pairwise(path):
        assert before in by_id[after].depends_on


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=10))
def test_cycles_are_found_exactly_when_there_is_no_order(edges):
    deps: dict[str, list[str]] = {f"N{i}": [] for i in range(6)}
    for a, b in edges:
        deps[f"N{b}"].append(f"N{a}")
    tasks = [task(k, 1, 1, *v) for k, v in deps.items()]
    cycles = tl.find_cycles(tasks)
    try:
        tl.topological_order(tasks)
        has_order = True
    except tl.DependencyCycleError:
        has_order = False
    assert has_order == (cycles == [])
    for cycle in cycles:
        assert cycle[0] == cycle[-1]
        by_id = {t.id: t for t in tasks}
        for before, after in itertools.pairwise(cycle):
            assert before in by_id[after].depends_on


# ---------------------------------------------------------------------------
# Default plan and content calendar
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_default_plan_is_valid_and_follows_the_brief(lang):
    plan = tl.default_plan(lang)
    assert tl.validate(plan) == []
    assert {t.phase for t in plan} == set(tl.PHASES)
    for t_ in plan:
        first, last = BRIEF_PHASE_WEEKS[t_.phase]
        assert first <= t_.start_week <= t_.end_week <= last, t_.id
    # Weekly content cadence in weeks 5–12 on the three platforms.
    by_template = {t_.template: t_ for t_ in plan}
    for platform, template in tl.CADENCE_TEMPLATES.items():
        cadence = by_template[template]
        assert (cadence.start_week, cadence.end_week) == (5, 12)
        assert str(tl.CONTENT_CADENCE[platform]) in cadence.name
    assert tl.CONTENT_CADENCE == {"xiaohongshu": 2, "douyin": 3, "wechat": 1}
    # Tier campaigns.
    campaigns = {t_.tier: t_ for t_ in plan if t_.tier}
    assert set(campaigns) == {"new", "active", "dormant", "high_value"}
    assert all(c.phase == "operation" for c in campaigns.values())
    # Review rhythm: weekly reviews through the operation weeks, monthly milestones, quarter review in week 13.
    weekly = by_template["weekly_review"]
    assert (weekly.start_week, weekly.end_week) == (5, 12)
    monthly = sorted(t_.end_week for t_ in plan if t_.milestone and t_.template.startswith("monthly_review"))
    assert monthly == [4, 8, 12]
    quarter = by_template["quarter_review"]
    assert quarter.milestone and quarter.end_week == 13 and quarter.phase == "optimisation"
    # Dependencies are sensible: the critical path spans the whole quarter.
    assert tl.path_weeks(plan, tl.critical_path(plan)) == 13


def test_default_plan_speaks_the_chosen_language():
    en, zh = tl.default_plan("en"), tl.default_plan("zh")
    assert [t_.id for t_ in en] == [t_.id for t_ in zh]
    assert en[0].name.startswith("Design") and "分层" in zh[0].name
    # Channels are stored under their palette names and shown in the reader's language.
    assert [t_.channel for t_ in en] == [t_.channel for t_ in zh] and "小红书" in {t_.channel for t_ in en}
    assert "Xiaohongshu" in set(tl.tasks_to_frame(en, "en")["channel"])
    assert "小红书" in set(tl.tasks_to_frame(en, "zh")["channel"])
    assert tl.canonical_channel("douyin") == "抖音" and tl.canonical_channel("My shop") == "My shop"
    # A default name follows the reader's language; an edited one stays as typed.
    assert zh[0].display_name("en") == en[0].name
    edited = replace(zh[0], name="我的任务")
    assert edited.display_name("en") == "我的任务"


def test_content_calendar_has_48_items_in_weeks_5_to_12():
    items = tl.content_calendar("zh", MONDAY)
    assert len(items) == 48
    counts = pd.Series([i.platform for i in items]).value_counts().to_dict()
    assert counts == {"douyin": 24, "xiaohongshu": 16, "wechat": 8}
    assert {i.week for i in items} == set(range(5, 13))
    for item in items:
        assert tl.week_of(MONDAY, item.day) == item.week
    assert [i.day for i in items] == sorted(i.day for i in items)
    assert "小红书" in items[1].title or "抖音" in items[0].title
    frame = tl.content_calendar_frame(items, "en")
    assert list(frame.columns)[:2] == ["Week", "Date"] and len(frame) == 48


# ---------------------------------------------------------------------------
# Editor table round trip
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", [None, "en", "zh"])
def test_table_round_trip_keeps_the_plan(lang):
    plan = tl.default_plan("zh")
    frame = tl.tasks_to_frame(plan, lang)
    assert list(frame.columns) == list(tl.TABLE_COLUMNS)
    assert frame.loc[frame["id"] == "Z1", "depends_on"].item() == "R3, O5"
    back = tl.frame_to_tasks(frame, previous=plan)
    if lang in (None, "zh"):
        assert back == plan
    else:  # names shown in English come back in English but keep their template
        assert [replace(t_, name="") for t_ in back] == [replace(t_, name="") for t_ in plan]
        assert back[0].display_name("zh") == plan[0].name


def test_table_edits_are_parsed_forgivingly():
    frame = pd.DataFrame(
        [
            {"id": "A", "name": "Write", "phase": "启动期", "tier": "Dormant", "start_week": 3.0,
             "end_week": 4.0, "progress": 0.5, "milestone": None, "depends_on": None},
            {"id": None, "name": "New row", "phase": "operation", "tier": None, "start_week": 5,
             "end_week": 6, "progress": None, "milestone": True, "depends_on": "A，B; C"},
            {"id": None, "name": None, "phase": None, "tier": None, "start_week": None,
             "end_week": None, "progress": None, "milestone": None, "depends_on": None},
            {"id": "Z", "name": "No weeks", "phase": "Launch", "tier": "", "start_week": float("nan"),
             "end_week": np.nan, "progress": np.nan, "milestone": False, "depends_on": ""},
        ]
    )
    tasks = tl.frame_to_tasks(frame)
    assert [t_.id for t_ in tasks] == ["A", "T1", "Z"]
    assert tasks[0].phase == "launch" and tasks[0].tier == "dormant" and tasks[0].start_week == 3
    assert tasks[1].depends_on == ("A", "B", "C") and tasks[1].milestone
    assert tasks[2].phase == "launch"
    issue_codes = codes(tl.validate(tasks))
    assert issue_codes.count("week_out_of_range") == 2  # the row without weeks
    assert issue_codes.count("unknown_dependency") == 2  # B and C


def test_column_labels_and_options_exist_in_both_languages():
    assert tl.column_labels("zh")["depends_on"] == "前置任务"
    assert tl.column_labels("en")["start_week"] == "Start week"
    assert tl.phase_options("zh") == ["筹备期", "启动期", "运营期", "优化期"]
    assert tl.tier_options("en")[0] == "" and "High-value" in tl.tier_options("en")


# ---------------------------------------------------------------------------
# Calendar
# ---------------------------------------------------------------------------


def test_week_dates_start_on_the_chosen_monday():
    spans = tl.week_dates(date(2026, 3, 2))
    assert len(spans) == 13
    assert spans[0].start == date(2026, 3, 2) and spans[0].end == date(2026, 3, 8)
    assert spans[-1].end == date(2026, 5, 31)
    assert spans[0].label("en") == "W1 · 03-02"
    assert spans[12].label("zh") == "第13周 · 05-25"


def test_a_start_that_is_not_a_monday_is_rejected_with_the_monday_before():
    with pytest.raises(tl.NotAMondayError, match="2026-03-02"):
        tl.week_dates(date(2026, 3, 4))
    assert tl.snap_to_monday(date(2026, 3, 8)) == date(2026, 3, 2)


def test_anchors_of_a_quarter_containing_double_11():
    anchors = tl.calendar_anchors(MONDAY)
    keys = [a.key for a in anchors]
    assert "double11_warmup" in keys and "double11" in keys
    d11 = anchors[keys.index("double11")]
    assert (d11.start, d11.end) == (date(2026, 11, 1), date(2026, 11, 11))
    warmup = anchors[keys.index("double11_warmup")]
    assert warmup.start == date(2026, 10, 20) and warmup.end == date(2026, 10, 31)
    assert [a.start for a in anchors if a.key == "member_day"] == [
        date(2026, 9, 8), date(2026, 10, 8), date(2026, 11, 8),
    ]
    assert "618" not in keys and "new_year_festival" not in keys and "flash_sale" not in keys
    assert d11.label("zh") == "双11爆发"


def test_618_and_flash_sales():
    anchors = tl.calendar_anchors(date(2026, 4, 6), include_flash_sales=True)
    keys = [a.key for a in anchors]
    assert "618" in keys and "double11" not in keys
    flash = [a for a in anchors if a.key == "flash_sale"]
    assert len(flash) == 26 and {a.start.weekday() for a in flash} == {1, 3}


def test_new_year_festival_across_the_year_end():
    anchors = tl.calendar_anchors(date(2027, 11, 29))
    festival = [a for a in anchors if a.key == "new_year_festival"]
    assert len(festival) == 1
    assert festival[0].end == date(2028, 1, 25)  # the day before CNY 2028-01-26
    assert (festival[0].end - festival[0].start).days == 20
    assert len(tl.CHINESE_NEW_YEAR) == 7 and tl.CHINESE_NEW_YEAR[2026] == date(2026, 2, 17)


def test_current_week_and_positions():
    assert tl.week_of(MONDAY, date(2026, 9, 13)) == 1
    assert tl.week_of(MONDAY, date(2026, 9, 14)) == 2
    assert tl.current_week(MONDAY, date(2026, 12, 6)) == 13
    assert tl.current_week(MONDAY, date(2026, 12, 7)) is None
    assert tl.current_week(MONDAY, date(2026, 9, 6)) is None
    assert tl.date_position(MONDAY, date(2026, 9, 14)) == 2.0
    assert tl.milestone_date(MONDAY, 1) == date(2026, 9, 11)  # Friday


# ---------------------------------------------------------------------------
# Saved plans and baseline
# ---------------------------------------------------------------------------


@pytest.fixture()
def workspace(tmp_path):
    ws = Workspace(tmp_path / "ws.duckdb")
    with ws.transaction() as cur:
        first = ws.ensure_dataset(cur, "store A")
        second = ws.ensure_dataset(cur, "store B")
    yield ws, first, second
    ws.close()


def test_save_load_list_delete_plans(workspace):
    ws, ds, other = workspace
    plan = tl.default_plan("zh")
    tl.save_plan(ws, ds, "Q4 主计划", plan, start_monday=MONDAY)
    tl.save_plan(ws, ds, "alt", plan[:3])
    assert tl.list_plans(ws, ds) == ["alt", "Q4 主计划"]
    assert tl.list_plans(ws, other) == []
    loaded = tl.load_plan(ws, ds, "Q4 主计划")
    assert loaded.tasks == plan and loaded.start_monday == MONDAY and loaded.baseline is None
    tl.delete_plan(ws, ds, "alt")
    assert tl.list_plans(ws, ds) == ["Q4 主计划"]
    with pytest.raises(tl.PlanNotFound):
        tl.load_plan(ws, ds, "alt")
    with pytest.raises(tl.PlanNotFound):
        tl.delete_plan(ws, other, "Q4 主计划")
    with pytest.raises(ValueError):
        tl.save_plan(ws, ds, "  ", plan)
    with pytest.raises(tl.NotAMondayError):
        tl.save_plan(ws, ds, "x", plan, start_monday=date(2026, 9, 8))


def test_baseline_survives_edits_and_shows_slippage(workspace):
    ws, ds, _ = workspace
    plan = tl.default_plan("en")
    tl.save_baseline(ws, ds, "main", plan, start_monday=MONDAY)
    moved = [replace(t_, start_week=7, end_week=10) if t_.id == "C1" else t_ for t_ in plan]
    moved = [replace(t_, end_week=11) if t_.id == "C3" else t_ for t_ in moved]
    tl.save_plan(ws, ds, "main", moved, start_monday=MONDAY)
    loaded = tl.load_plan(ws, ds, "main")
    assert loaded.baseline == plan and loaded.tasks == moved and loaded.baseline_saved_at
    slips = tl.slippage(loaded.tasks, loaded.baseline)
    assert slips["C1"].start_weeks == 2 and slips["C1"].end_weeks == 2 and slips["C1"].status == "late"
    assert slips["C3"].status == "early" and slips["C3"].label("en") == "1 wk early"
    assert slips["C1"].label("zh") == "延后2周"
    assert slips["P1"].status == "on_plan"
    # Re-baselining from the stored tasks makes everything on plan again.
    rebased = tl.save_baseline(ws, ds, "main")
    assert all(s.status == "on_plan" for s in tl.slippage(rebased.tasks, rebased.baseline).values())
    cleared = tl.clear_baseline(ws, ds, "main")
    assert cleared.baseline is None and tl.load_plan(ws, ds, "main").tasks == moved


# ---------------------------------------------------------------------------
# Chart
# ---------------------------------------------------------------------------


def _layers(spec: dict) -> list[dict]:
    return spec["layer"]


def _mark(layer: dict) -> dict:
    mark = layer["mark"]
    return mark if isinstance(mark, dict) else {"type": mark}


def _current_week_layers(spec: dict) -> list[dict]:
    return [
        layer for layer in _layers(spec)
        if _mark(layer)["type"] == "rule" and "label" in layer.get("data", {}).get("values", [{}])[0]
    ]


def test_chart_has_bars_milestones_links_and_the_current_week():
    plan = tl.default_plan("en")
    plan = [replace(t_, start_week=4) if t_.id == "C1" else t_ for t_ in plan]  # conflicts with L5 (ends W4)
    spec = gantt_chart(plan, MONDAY, "en", current_week=6).to_dict()
    marks = [_mark(layer) for layer in _layers(spec)]
    types = [m["type"] for m in marks]
    assert types.count("bar") >= 3  # bars, progress, critical outline
    assert any(m["type"] == "point" and m.get("shape") == "diamond" for m in marks)
    assert types.count("rule") >= 2  # dependency links and the current week
    assert any(m["type"] == "rect" for m in marks)  # phase bands and anchors
    links = next(layer for layer in _layers(spec) if _mark(layer)["type"] == "rule" and "data" in layer
                 and "from_label" in layer["data"]["values"][0])
    conflicts = [row for row in links["data"]["values"] if row["conflict"]]
    assert [row["link"] for row in conflicts] == ["L5 → C1"]
    assert conflicts[0]["stroke"] == "#D62728"
    (now,) = _current_week_layers(spec)
    assert now["data"]["values"][0] == {"x": 6.5, "label": "This week"}
    assert spec["title"]["text"] == "13-week execution plan"
    axis = _layers(spec)[0]["encoding"]["x"]["axis"]
    assert axis["orient"] == "top" and '["W1", "Sep 7"]' in axis["labelExpr"] and '["W2", "14"]' in axis["labelExpr"]
    # Only the tasks are embedded at the top level.
    assert len(spec["data"]["values"]) == len(plan)


def test_chart_in_chinese_with_baseline_anchors_and_critical_path():
    plan = tl.default_plan("zh")
    baseline = [replace(t_, end_week=10) if t_.id == "C1" else t_ for t_ in plan]
    spec = gantt_chart(plan, MONDAY, "zh", color_by="channel", baseline=baseline).to_dict()
    text = json.dumps(spec, ensure_ascii=False)
    assert spec["title"]["text"] == "13周执行计划"
    assert "关键路径" in text and "第1周" in text and "双11预热" in text and "会员日" in text
    assert "Week" not in text and "Owner" not in text
    rows = spec["data"]["values"]
    assert {r["id"] for r in rows if r["critical"]} == set(tl.critical_path(plan))
    labels = [r["label"] for r in rows]
    assert labels.index("P1 · 设计用户分层模型（RFM + 场景标签）") < labels.index("L1 · 发布首批小红书KOC笔记")
    baseline_layers = [layer for layer in _layers(spec) if "data" in layer and "baseline" in layer["data"]["values"][0]]
    assert baseline_layers and any(_mark(layer).get("color") == "#9E9E9E" for layer in baseline_layers)
    assert any(_mark(layer).get("stroke") == "#111111" for layer in _layers(spec))  # critical outline
    c1 = next(r for r in rows if r["id"] == "C1")
    assert c1["slip"] == "提前2周"


def test_chart_without_start_or_critical_path_still_draws():
    spec = gantt_chart(tl.default_plan("en"), None, "en", show_critical=False, current_week=99).to_dict()
    assert not any(r["critical"] for r in spec["data"]["values"])
    assert _current_week_layers(spec) == []
    wild = gantt_chart([task("A", 0, 20), task("B", 3, 4, "A")], MONDAY, "en").to_dict()
    positions = [v for r in wild["data"]["values"] for v in (r["start"], r["end"], r["ms_x"])]
    assert min(positions) >= 1 and max(positions) <= 14  # out-of-range weeks are drawn at the plot's edge
    empty = gantt_chart([], MONDAY, "zh").to_dict()
    assert empty["data"]["values"] == []


# ---------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------


def _tricky_plan() -> list[Task]:
    plan = tl.default_plan("en")
    plan[0] = replace(plan[0], name='=HYPERLINK("http://x"),; a\\b\x07', progress=0.5)
    plan[1] = replace(plan[1], owner="@boss", channel="-cmd")
    return plan


def test_ics_parses_back_with_one_event_per_task():
    plan = _tricky_plan()
    payload = tx.to_ics(plan, MONDAY, "en", plan_name="Q4", dataset_name="demo",
                        now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    for line in payload.split(b"\r\n"):
        assert len(line) <= 75
    calendar = icalendar.Calendar.from_ical(payload)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert len(events) == len(plan)
    by_summary = {str(e["SUMMARY"]): e for e in events.values()}
    first = by_summary['=HYPERLINK("http://x"),; a\\b']  # escaping round-trips, control char dropped
    assert first["DTSTART"].dt == date(2026, 9, 7) and first["DTEND"].dt == date(2026, 9, 21)
    quarter = by_summary["Milestone: Quarter review (sales, repurchase, CAC)"]
    assert quarter["DTSTART"].dt == date(2026, 12, 4)  # Friday of week 13
    assert quarter["DTEND"].dt == date(2026, 12, 5)
    # UIDs are stable between exports and differ between plans.
    again = icalendar.Calendar.from_ical(tx.to_ics(plan, MONDAY, "zh", plan_name="Q4", dataset_name="demo"))
    assert {str(e["UID"]) for e in again.walk("VEVENT")} == set(events)
    other = icalendar.Calendar.from_ical(tx.to_ics(plan, MONDAY, "en", plan_name="Q1", dataset_name="demo"))
    assert not {str(e["UID"]) for e in other.walk("VEVENT")} & set(events)


def test_ics_in_chinese_and_skips_undatable_tasks():
    plan = tl.default_plan("zh") + [task("BAD", 6, 4)]
    calendar = icalendar.Calendar.from_ical(tx.to_ics(plan, MONDAY, "zh", plan_name="计划"))
    summaries = [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")]
    assert len(summaries) == len(plan) - 1
    assert "里程碑：季度复盘（销售额、复购率、获客成本）" in summaries
    assert str(calendar["X-WR-CALNAME"]) == "增长计划：计划"


def test_xlsx_has_task_table_week_grid_and_neutralised_text():
    plan = _tricky_plan()
    baseline = [replace(t_, start_week=5, end_week=6) if t_.id == "C1" else t_ for t_ in plan]
    book = openpyxl.load_workbook(io.BytesIO(tx.to_xlsx(plan, MONDAY, "zh", baseline=baseline)))
    assert book.sheetnames == ["任务", "周计划", "内容日历"]
    tasks_sheet = book["任务"]
    header = [c.value for c in tasks_sheet[1]]
    assert header[:3] == ["编号", "任务", "阶段"] and "偏差" in header
    rows = {r[0]: dict(zip(header, r)) for r in tasks_sheet.iter_rows(min_row=2, values_only=True)}
    # Formula-looking user text stays exact, as a text cell with Excel's quote prefix; control chars go.
    assert rows["P1"]["任务"] == '=HYPERLINK("http://x"),; a\\b'
    assert rows["P2"]["负责人"] == "@boss" and rows["P2"]["渠道"] == "-cmd"
    cells = {row[0].value: row for row in tasks_sheet.iter_rows(min_row=2)}
    for cell in (cells["P1"][1], cells["P2"][3], cells["P2"][4]):
        assert cell.data_type == "s" and cell.quotePrefix
    assert not cells["P3"][1].quotePrefix
    assert rows["C1"]["偏差"] == 2
    assert rows["Z1"]["里程碑"] == "是"
    assert rows["P1"]["开始日期"].date() == date(2026, 9, 7)

    grid = book["周计划"]
    week_cols = {grid.cell(3, c).value: c for c in range(1, grid.max_column + 1)}
    assert grid.cell(4, week_cols["第1周"]).value == "09-07"
    grid_rows = {grid.cell(r, 1).value: r for r in range(6, grid.max_row + 1) if grid.cell(r, 1).value}
    p1 = grid_rows["P1"]
    prep = tl.PHASE_COLORS["prep"].lstrip("#")
    assert grid.cell(p1, week_cols["第1周"]).fill.fgColor.rgb.endswith(prep)
    assert grid.cell(p1, week_cols["第2周"]).fill.fgColor.rgb.endswith(prep)
    assert grid.cell(p1, week_cols["第3周"]).fill.fill_type is None
    assert grid.cell(p1, week_cols["第1周"]).value == "✓"  # half done → first of two weeks ticked
    z1 = grid_rows["Z1"]
    assert grid.cell(z1, week_cols["第13周"]).value == "◆"
    calendar_cells = [grid.cell(5, c).value or "" for c in range(4, 17)]
    assert any("双11爆发" in v for v in calendar_cells) and any("会员日" in v for v in calendar_cells)
    assert book["内容日历"].max_row == 49


def _dark_pixels(image, box) -> int:
    gray = np.asarray(image.convert("L").crop(box))
    return int((gray < 110).sum())


def test_png_has_chinese_labels_where_they_belong():
    chart = gantt_chart(tl.default_plan("zh"), MONDAY, "zh")
    image = PIL.open(io.BytesIO(tx.chart_png(chart, scale=1)))
    width, height = image.size
    assert width > 800 and height > 500
    # Y-axis task labels: left of the plot, across the rows.
    assert _dark_pixels(image, (0, int(height * 0.2), int(width * 0.18), int(height * 0.8))) > 2000
    # Title and top week axis.
    assert _dark_pixels(image, (0, 0, int(width * 0.3), int(height * 0.06))) > 300
    # A blank strip (right margin beyond the plot) stays blank: the count above is not noise.
    assert _dark_pixels(image, (width - 3, int(height * 0.2), width, int(height * 0.8))) == 0


def test_cjk_glyphs_render_as_glyphs_not_boxes():
    # With a missing font every character is the same .notdef box, so two different
    # strings of the same length would render identically.
    def render(text: str):
        spec = {
            "data": {"values": [{"t": text}]},
            "mark": {"type": "text", "fontSize": 32},
            "encoding": {"text": {"field": "t"}},
            "width": 200,
            "height": 60,
        }
        return np.asarray(PIL.open(io.BytesIO(tx.chart_png(spec, scale=1))).convert("L"))

    first, second = render("增长规划"), render("规划增长")
    assert (first < 128).sum() > 200
    assert (first != second).sum() > 200


def test_svg_uses_the_cjk_font_and_keeps_text():
    svg = tx.chart_svg(gantt_chart(tl.default_plan("zh"), MONDAY, "zh"))
    assert svg.startswith("<svg") and "Noto Sans CJK SC" in svg and "13周执行计划" in svg


def test_cjk_fonts_are_looked_for_where_the_operator_says_then_in_the_repository(monkeypatch, tmp_path):
    monkeypatch.setenv(tx.CJK_FONT_DIR_ENV, str(tmp_path))
    dirs = tx.cjk_font_dirs()
    assert dirs[0] == tmp_path
    assert dirs[1] == Path(__file__).resolve().parent.parent / "assets" / "fonts", "the repository's assets/fonts"


def test_export_plan_dispatches_on_suffix(tmp_path):
    plan = tl.default_plan("en")
    path = tx.export_plan(tmp_path / "out" / "plan.ics", plan, MONDAY, "en", plan_name="Q4")
    assert len(list(icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT"))) == len(plan)
    xlsx = tx.export_plan(tmp_path / "plan.xlsx", plan, MONDAY, "en")
    assert openpyxl.load_workbook(xlsx).sheetnames == ["Tasks", "Week grid", "Content calendar"]
    svg = tx.export_plan(tmp_path / "plan.svg", tl.default_plan("zh"), MONDAY, "zh", today=date(2026, 10, 14))
    assert "已逾期" in svg.read_text("utf-8") and "第1周" in svg.read_text("utf-8")
    with pytest.raises(ValueError, match=r"\.pdf"):
        tx.export_plan(tmp_path / "plan.pdf", plan, MONDAY, "en")
    with pytest.raises(ValueError, match="不支持"):
        tx.export_plan(tmp_path / "plan.doc", plan, MONDAY, "zh")


def test_ics_folding_never_splits_a_character():
    name = "增长" * 60  # 360 octets: the SUMMARY line folds over several physical lines
    payload = tx.to_ics([task("A", 1, 2, name=name)], MONDAY, "zh")
    physical = payload.split(b"\r\n")
    assert all(len(line) <= 75 for line in physical)
    for line in physical:
        line.decode("utf-8")  # raises if a fold split a UTF-8 character
    unfolded = payload.decode("utf-8").replace("\r\n ", "")
    assert "SUMMARY:" + name + "\r\n" in unfolded
    assert re.fullmatch(r"[A-Za-z0-9_-]+-[0-9a-f]{16}@growth-planner", tx.event_uid("P1 / x", plan_name="q"))


# ---------------------------------------------------------------------------
# Week validation: what the editor lets through is reported, never changed
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang, word", [("en", "outside weeks 1–13"), ("zh", "超出第1–13周")])
def test_a_start_week_beyond_the_plan_is_an_error_in_both_languages(lang, word):
    plan = [task("A", 20, 20, name="Launch live stream"), task("B", 2, 3)]
    issue, _end_week_too = tl.validate(plan)
    assert issue.code == "week_out_of_range" and issue.severity == "error" and issue.task_ids == ("A",)
    assert dict(issue.values)["field"] == "start_week"
    message = issue.message(lang)
    assert "20" in message and word in message and "Launch live stream" in message
    assert plan[0].start_week == 20, "the row keeps what the user typed"


@pytest.mark.parametrize("start, end, expected", [
    (0, 2, ["week_out_of_range"]),  # a blank or zero week
    (-1, 2, ["week_out_of_range"]),
    (5, 3, ["end_before_start"]),  # negative duration
    (4, 3, ["end_before_start"]),  # "duration 0": ends the week before it starts
    (3, 14, ["week_out_of_range"]),
    (13, 13, []),  # one week is a valid duration
])
def test_week_rules_for_what_the_editor_allows(start, end, expected):
    assert codes(tl.validate([task("A", start, end)])) == expected


def test_rows_with_bad_weeks_are_left_out_of_the_chart_not_moved():
    plan = [task("A", 20, 20), task("B", 2, 3, "A"), task("C", 5, 4), replace(task("D", 1, 1), progress=1.5),
            task("E", 6, 7, "Z")]  # E: an unknown dependency is an error, yet its row can be drawn
    drawn, left_out = tl.drawable_tasks(plan, tl.validate(plan))
    assert [t_.id for t_ in drawn] == ["B", "E"] and [t_.id for t_ in left_out] == ["A", "C", "D"]
    assert drawn[0].start_week == 2 and left_out[0].start_week == 20
    spec = gantt_chart(drawn, MONDAY, "en").to_dict()
    assert [r["id"] for r in spec["data"]["values"]] == ["B", "E"]


# ---------------------------------------------------------------------------
# Schedule status: overdue and behind, as of an explicit day
# ---------------------------------------------------------------------------

# MONDAY = 2026-09-07: week 1 is Sep 7–13, week 3 is Sep 21–27, week 4 Sep 28–Oct 4.


def test_a_task_whose_weeks_are_over_and_not_done_is_overdue():
    plan = [task("A", 1, 2), replace(task("B", 1, 2), progress=1.0), replace(task("C", 1, 2), progress=0.9)]
    flags = tl.schedule_flags(plan, MONDAY, today=date(2026, 9, 21))  # Monday of week 3
    assert set(flags) == {"A", "C"} and {f.status for f in flags.values()} == {"overdue"}
    assert flags["C"].progress == 0.9 and flags["C"].expected == 1.0
    # On the last day of week 2 the task is not over yet: behind (1 of 2 weeks over, 0% done), not overdue.
    assert tl.schedule_flags(plan[:1], MONDAY, today=date(2026, 9, 20))["A"].status == "behind"


def test_behind_means_less_done_than_the_share_of_weeks_over():
    four_weeks = task("A", 1, 4)
    in_week_3 = date(2026, 9, 23)  # 2 of 4 weeks over → 50 % expected
    assert tl.schedule_flags([replace(four_weeks, progress=0.4)], MONDAY, in_week_3)["A"].status == "behind"
    assert tl.schedule_flags([replace(four_weeks, progress=0.5)], MONDAY, in_week_3) == {}
    assert tl.schedule_flags([four_weeks], MONDAY, date(2026, 9, 10)) == {}, "never behind in its first week"
    assert tl.schedule_flags([task("B", 5, 6)], MONDAY, in_week_3) == {}, "not started yet"


def test_milestones_are_overdue_after_their_friday():
    review = task("R", 2, 2, milestone=True)
    assert tl.schedule_flags([review], MONDAY, date(2026, 9, 18)) == {}  # its Friday
    assert tl.schedule_flags([review], MONDAY, date(2026, 9, 19))["R"].status == "overdue"


def test_schedule_flags_skip_invalid_rows_and_count_both_kinds():
    plan = [task("A", 20, 20), task("B", 3, 2), replace(task("C", 1, 1), progress=2.0), task("D", 1, 1),
            task("E", 1, 4)]
    flags = tl.schedule_flags(plan, MONDAY, date(2026, 9, 23))
    assert {k: f.status for k, f in flags.items()} == {"D": "overdue", "E": "behind"}
    assert tl.status_counts(flags) == {"overdue": 1, "behind": 1}
    assert flags["D"].label("zh") == "已逾期" and flags["E"].label("en") == "Behind schedule"
    assert "0%" in flags["E"].detail("en") and "50%" in flags["E"].detail("zh")
    with pytest.raises(tl.NotAMondayError):
        tl.schedule_flags(plan, date(2026, 9, 8), date(2026, 9, 23))


def test_the_chart_flags_overdue_tasks_with_a_badge_a_legend_and_a_red_label():
    plan = tl.default_plan("zh")
    spec = gantt_chart(plan, MONDAY, "zh", today=date(2026, 10, 14)).to_dict()  # week 6
    rows = {r["id"]: r for r in spec["data"]["values"]}
    assert rows["P1"]["status"] == "已逾期" and rows["O1"]["status"] == "进度落后" and rows["Z1"]["status"] == ""
    legends = [layer["encoding"]["fill"] for layer in _layers(spec)
               if layer.get("encoding", {}).get("fill", {}).get("field") == "status"]
    shown = [fill for fill in legends if fill.get("legend") is not None]
    assert len(shown) == 1 and shown[0]["legend"]["title"] == "状态"
    assert shown[0]["scale"] == {"domain": ["已逾期", "进度落后"], "range": ["#C62828", "#F5A623"]}
    y_axis = _layers(spec)[0]["encoding"]["y"]["axis"]
    assert "P1 · " in y_axis["labelColor"]["condition"]["test"] and "O1 · " not in y_axis["labelColor"]["condition"]["test"]
    assert any("截至2026-10-14" in line and "项逾期" in line for line in spec["title"]["subtitle"])
    # The "!" on each badge is white on the red badge, dark on the amber one.
    assert rows["P1"]["status_text"] == "#FFFFFF" and rows["O1"]["status_text"] == "#1A1A1A"
    assert "status" not in json.dumps(gantt_chart(plan, MONDAY, "zh").to_dict()["layer"]), "no today: no flags"


# ---------------------------------------------------------------------------
# Labels: full task names, a column wide enough for them, translated weeks
# ---------------------------------------------------------------------------

LONG_ZH = "双11爆发期全渠道直播联动与高价值会员专属权益发放（天猫、抖音、小红书同步）"
FONTS = {
    "dejavu": Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    "dejavu_bold": Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    "noto_cjk": Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    "noto_cjk_bold": Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
}


def test_text_width_counts_cjk_as_about_twice_latin():
    from lib.timeline.charts import text_width

    assert text_width("增长规划") == pytest.approx(4 * 11)
    assert 1.5 < text_width("增长") / text_width("ab") < 2.1
    assert text_width("W") > text_width("i")


def test_wrapping_keeps_every_character_and_never_overflows():
    from lib.timeline.charts import text_width, wrap_text

    for text in ("L4 · Start traffic routing (store → community, Douyin live → official account)", LONG_ZH,
                 "X" * 90, "短"):
        lines = wrap_text(text, 300)
        assert all(text_width(line) <= 300 or len(line) == 1 for line in lines)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert wrap_text("短") == ["短"]
    assert not any(line.startswith(("，", "）")) for line in wrap_text(LONG_ZH, 120))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_label_axis_is_wide_enough_for_the_longest_label(lang):
    """Every label line, measured with the real fonts (browser and export), fits labelLimit; nothing is cut."""
    from PIL import ImageFont

    from lib.timeline.charts import BOLD_FACTOR, LABEL_WRAP_PX

    plan = tl.default_plan(lang) + [task("X9", 5, 6, name=LONG_ZH)]
    spec = gantt_chart(plan, MONDAY, lang, today=date(2026, 11, 2)).to_dict()
    axis = _layers(spec)[0]["encoding"]["y"]["axis"]
    labels = _layers(spec)[0]["encoding"]["y"]["scale"]["domain"]
    assert any(label.endswith(LONG_ZH) for label in labels), "the long name is kept whole"
    assert not any("…" in label for label in labels)
    shown = json.loads(axis["labelExpr"].split("[indexof(")[0]) if "labelExpr" in axis else labels
    lines = [line for item in shown for line in ([item] if isinstance(item, str) else item)]
    assert "".join(lines).replace(" ", "") == "".join(labels).replace(" ", ""), "the lines hold every label whole"
    fonts = {name: ImageFont.truetype(str(path), axis["labelFontSize"]) for name, path in FONTS.items() if path.exists()}
    assert fonts, "no font to measure with"
    widest = max(font.getlength(line) for font in fonts.values() for line in lines)
    assert widest <= axis["labelLimit"], (widest, axis["labelLimit"])
    assert axis["labelLimit"] <= LABEL_WRAP_PX * BOLD_FACTOR + 10, "long labels wrap instead of eating the plot"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_svg_export_shows_every_label_in_full(lang):
    plan = tl.default_plan(lang) + [task("X9", 5, 6, name=LONG_ZH)]
    svg = tx.chart_svg(gantt_chart(plan, MONDAY, lang, today=date(2026, 11, 2)))
    texts = [re.sub(r"<[^>]+>", "", text) for text in re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S)]
    pieces = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg) + texts
    assert not any(piece.endswith("…") for piece in pieces), [p_ for p_ in pieces if p_.endswith("…")]
    joined = "".join(texts).replace(" ", "")
    for item in plan:
        assert item.display_name(lang).replace(" ", "") in joined.replace("&amp;", "&")


def test_week_axis_is_translated_and_names_each_month_once():
    from lib.timeline.charts import week_axis_labels

    zh = week_axis_labels(MONDAY, 13, "zh")
    assert zh[0] == ["第1周", "9月7日"] and zh[1] == ["第2周", "14日"] and zh[4] == ["第5周", "10月5日"]
    en = week_axis_labels(MONDAY, 13, "en")
    days = [label[1] for label in en[:-1]]
    assert days[:5] == ["Sep 7", "14", "21", "28", "Oct 5"]
    months = [day.split()[0] for day in days if " " in day]
    assert months == ["Sep", "Oct", "Nov"], "each month named once"
    assert all("W" not in part for label in zh[:-1] for part in label)


def test_chinese_exports_use_chinese_week_headers():
    plan = tl.default_plan("zh")
    book = openpyxl.load_workbook(io.BytesIO(tx.to_xlsx(plan, MONDAY, "zh")))
    grid = book.worksheets[1]
    headers = [grid.cell(3, col).value for col in range(4, 17)]
    assert headers == [f"第{w}周" for w in range(1, 14)]
    text = json.dumps([[c.value for c in row] for ws in book.worksheets for row in ws.iter_rows()],
                      ensure_ascii=False, default=str)
    assert not re.search(r"\bW\d{1,2}\b", text)
    calendar = tx.to_ics(plan, MONDAY, "zh").decode("utf-8")
    assert "第3周–第4周" in calendar.replace("\r\n ", "") and not re.search(r"\bW\d{1,2}\b", calendar)
    svg = tx.chart_svg(gantt_chart(plan, MONDAY, "zh"))
    assert "第13周" in svg and ">W1<" not in svg


def test_legend_swatches_match_the_marks_and_text_is_readable():
    from lib.palette import contrast_ratio

    spec = gantt_chart(tl.default_plan("en"), date(2026, 10, 5), "en").to_dict()
    lanes = _layers(spec)[0]
    assert _mark(lanes)["type"] == "rect" and "opacity" not in _mark(lanes), "bands are drawn in the legend's colours"
    assert lanes["encoding"]["fill"]["legend"].get("symbolOpacity", 1) == 1
    bars = next(layer for layer in _layers(spec) if layer.get("encoding", {}).get("color", {}).get("field") == "group")
    assert "opacity" not in _mark(bars) and bars["encoding"]["color"]["legend"]["symbolOpacity"] == 1
    anchor_text = next(layer for layer in _layers(spec) if _mark(layer)["type"] == "text" and "anchor" in json.dumps(layer))
    for row in anchor_text["data"]["values"]:
        assert contrast_ratio(row["text_fill"], "#FFFFFF") >= 4.5, row


def test_the_gantt_defines_its_axes_once_and_still_draws_them():
    """The browser compiles the spec on every paint: 17 layers each repeating both axes doubled it (128 KB)."""
    from lib import chart_specs

    chart = gantt_chart(tl.default_plan("en"), MONDAY, "en", today=date(2026, 11, 2),
                        baseline=tl.default_plan("en"), current_week=date(2026, 10, 20))
    spec = chart_specs.vega_lite_spec(chart)
    layers_with_axes = [layer for layer in spec["layer"]
                        if any("axis" in enc for enc in layer.get("encoding", {}).values() if isinstance(enc, dict))]
    assert len(layers_with_axes) == 1 and len(json.dumps(spec)) < 80_000
    svg = tx.chart_svg(chart)
    assert "W1" in svg and "W13" in svg, "the week axis is still drawn"
    assert "P1 ·" in svg and "Z2 ·" in svg, "the task axis is still drawn"
