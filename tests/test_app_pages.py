"""AppTest of every page: renders without exceptions on the sample store, empty states, an upload.

Pages are reached the way users reach them: through app.py's navigation
(``switch_page``), with a fresh workspace per test (see ``app_env``).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import formatting
from lib.i18n import t
from lib.ui import PAGES

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120


def open_page(page: str, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if lang:
        at.query_params["lang"] = lang
    at.run()
    if page != PAGES[0][0]:
        at.switch_page(page)
        at.run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", [p[0] for p in PAGES])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_renders_on_the_sample_store(app_env, page, lang):
    at = open_page(page, lang)
    assert_clean(at)
    assert at.title, "every page starts with its title"
    if lang == "zh":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in at.title[0].value)


def test_overview_shows_kpis_with_deltas_for_the_latest_quarter(app_env):
    at = open_page("pages/overview.py")
    assert_clean(at)
    metrics = {m.label: m for m in at.metric}
    for label in ("GMV", "Orders", "New customers", "CAC", "Repurchase rate", "LTV / CAC"):
        assert label in metrics
    assert metrics["GMV"].value.startswith("¥")
    assert metrics["GMV"].delta, "GMV is compared with the previous quarter"
    assert "2026-07-01" in at.subheader[0].value and "2026-09-30" in at.subheader[0].value
    assert any("sample" in i.value.lower() for i in at.info), "sample data is labelled as such"


def test_overview_definitions_are_drawn_when_opened(app_env):
    from lib import metrics

    at = open_page("pages/overview.py", "zh")
    first = metrics.glossary("zh")[0]["name"]
    assert not any(m.value.startswith(f"**{first}**") for m in at.markdown), "closed: not drawn"
    at.session_state["overview.definitions"] = True
    at.run()
    assert_clean(at)
    assert any(m.value.startswith(f"**{first}**") for m in at.markdown), "opened: every definition, in Chinese"


def test_overview_period_preset_changes_the_numbers(app_env):
    at = open_page("pages/overview.py")
    before = {m.label: m.value for m in at.metric}["GMV"]
    at.segmented_control(key="overview.preset").set_value("last_30").run()
    assert_clean(at)
    after = {m.label: m.value for m in at.metric}["GMV"]
    assert after != before


def test_overview_in_chinese_formats_money_with_wan(app_env):
    at = open_page("pages/overview.py", "zh")
    gmv = {m.label: m.value for m in at.metric}[t("kpi.gmv", "zh")]
    assert gmv.endswith("万")


def test_empty_workspace_explains_what_to_do(app_env):
    from lib.workspace import Workspace

    ws = Workspace(app_env)
    for dataset in ws.list_datasets():  # the user deleted the sample store
        ws.delete_dataset(dataset.dataset_id)
    ws.close()
    at = open_page("pages/overview.py")
    assert_clean(at)
    assert any("Import" in i.value or "import" in i.value for i in at.info)


def _orders_csv(first_month: int = 10) -> bytes:
    """40 orders of October 2026 (or spread from ``first_month`` to October) and one row with a bad date."""
    months = list(range(first_month, 11))
    lines = ["订单编号,买家ID,付款时间,实付金额,渠道,订单状态"]
    for i in range(40):
        month = months[i % len(months)]
        lines.append(f"9{i:017d},c{i % 15:03d},2026-{month:02d}-{1 + i % 20:02d} 10:00:00,\"¥{100 + i}.50\",抖音,交易成功")
    lines.append("x1,c1,not a date,10,抖音,交易成功")
    return ("\n".join(lines) + "\n").encode("gb18030")


def test_upload_check_and_confirm_creates_a_dataset(app_env):
    at = open_page("pages/data.py")
    assert_clean(at)
    at.file_uploader[0].set_value(("tmall_october.csv", _orders_csv(), "text/csv")).run()
    assert_clean(at)
    at.button(key="data.check.orders").click().run()
    assert_clean(at)
    labels = {m.label: m.value for m in at.metric}
    assert labels["Rows read"] == "41" and labels["Rows rejected"] == "1"
    confirm = at.button(key="data.confirm.orders")
    assert "40" in confirm.label and "tmall_october" in confirm.label
    confirm.click().run()
    assert_clean(at)
    assert any("Imported 40 orders" in s.value for s in at.success)
    assert at.session_state["dataset"] == "tmall_october"


def test_a_channel_import_fits_the_scenario_curves_so_scenarios_opens_without_fitting(app_env, monkeypatch):
    from lib.channels import curves  # where the scenarios baseline calls fit_all

    fits = []
    real_fit_all = curves.fit_all
    monkeypatch.setattr(curves, "fit_all", lambda *a, **kw: fits.append(1) or real_fit_all(*a, **kw))
    at = open_page("pages/data.py")  # orders from July: 2026 Q3 is a full quarter to measure a baseline on
    at.file_uploader[0].set_value(("tmall_october.csv", _orders_csv(first_month=7), "text/csv")).run()
    at.button(key="data.check.orders").click().run()
    at.button(key="data.confirm.orders").click().run()
    assert fits == [], "orders alone: nothing to fit"
    weeks = ["week,channel,spend"] + [f"2026-{8 + w // 5:02d}-{1 + (w % 5) * 6:02d},抖音,{1000 + 90 * w}" for w in range(15)]
    at.file_uploader[1].set_value(("douyin_spend.csv", ("\n".join(weeks) + "\n").encode(), "text/csv")).run()
    assert at.selectbox(key="data.target.channels").value == "tmall_october"
    at.button(key="data.check.channels").click().run()
    at.button(key="data.confirm.channels").click().run()
    assert_clean(at)
    assert fits == [1], "the import fitted the curves once"
    at.switch_page("pages/scenarios.py").run()
    assert not at.exception
    assert fits == [1], "Scenarios used the curves fitted at import"


def test_upload_of_a_non_table_gives_a_clear_message_and_changes_nothing(app_env):
    at = open_page("pages/data.py")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    at.file_uploader[0].set_value(("photo.csv", png, "text/csv")).run()
    assert not at.exception
    assert any("not a table" in e.value for e in at.error)


def _editor_key(at: AppTest) -> str:
    return f"timeline.editor.{at.session_state['timeline.editor_round']}"


def test_timeline_shows_the_default_plan_and_its_critical_path(app_env):
    at = open_page("pages/timeline.py")
    assert_clean(at)
    assert "26" in at.subheader[0].value and "13" in at.subheader[0].value
    campaigns = next(d.value for d in at.dataframe if "Customers in the tier now" in d.value.columns)
    assert set(campaigns["Tier"]) == {"New", "Active", "Dormant", "High-value"}
    assert (campaigns["Customers in the tier now"] > 0).all(), "every campaign addresses real customers"
    grid = next(d.proto for d in at.dataframe if "Customers in the tier now" in d.value.columns)
    assert '"%,.0f"' in grid.columns, "38,219 with a thousands separator, never 38219"


def test_timeline_edit_that_breaks_the_plan_is_explained_and_blocks_saving(app_env):
    at = open_page("pages/timeline.py")
    key = _editor_key(at)
    # Row 0 (P1): end before start.
    at.session_state[key] = {"edited_rows": {0: {"start_week": 5, "end_week": 2}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert any("1 problem" in e.value for e in at.error), [e.value for e in at.error]
    assert any("P1" in m.value for m in at.markdown)
    assert at.button(key="timeline.save").disabled


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_timeline_start_week_beyond_the_plan_is_explained_and_the_rest_is_drawn(app_env, lang):
    at = open_page("pages/timeline.py", lang)
    editor = next(d.proto for d in at.dataframe if d.proto.editing_mode)  # the task table
    columns = json.loads(editor.columns)
    for week in ("start_week", "end_week", "progress"):  # the editor must not clamp 20 to 13 on its own
        config = columns[week]["type_config"]
        assert "max_value" not in config and "min_value" not in config, config
    assert columns["start_week"]["type_config"]["format"] == t("timeline.ui.week_format", lang)
    key = _editor_key(at)
    # Row 0 is P1; a start week of 20 in a 13-week plan.
    at.session_state[key] = {"edited_rows": {0: {"start_week": 20}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert at.error, "the problem is announced"
    word = "超出" if lang == "zh" else "outside"
    messages = [m.value for m in at.markdown]
    assert any("P1" in m and "20" in m and "1–13" in m and word in m for m in messages), messages
    (spec,) = chart_specs(at)
    rows = json.loads(spec)["layer"][0]["encoding"]["y"]["scale"]["domain"]  # the chart's task rows
    ids = {row.split(" · ")[0] for row in rows}
    assert "L1" in ids and len(ids) == 25, "the valid tasks are still drawn"
    assert "P1" not in ids, "the invalid row is left out, not moved to week 13"
    assert any("P1" in c.value and t("timeline.ui.left_out", lang, tasks="P1", count=25) == c.value
               for c in at.caption), [c.value for c in at.caption]
    assert at.button(key="timeline.save").disabled


def test_timeline_flags_overdue_tasks_in_the_summary_and_the_chart(app_env):
    at = open_page("pages/timeline.py", "zh")
    at.date_input(key="timeline.start_widget").set_value(date(2020, 1, 6)).run()  # the whole plan is in the past
    assert_clean(at)
    cards = {m.label: m.value for m in at.metric}
    assert cards[t("timeline.ui.metric_overdue", "zh")] == "26"
    assert cards[t("timeline.ui.metric_done", "zh")] == "0 / 26"
    assert any(c.value.startswith("截至 ") and "P1" in c.value for c in at.caption)
    (spec,) = chart_specs(at)
    text = json.dumps(json.loads(spec), ensure_ascii=False)
    assert "已逾期" in text and "第1周" in text and '"W1"' not in text


def test_timeline_save_creates_a_named_plan_and_baseline(app_env):
    at = open_page("pages/timeline.py")
    at.text_input(key="timeline.name").set_value("Q4 plan").run()
    at.button(key="timeline.save").click().run()
    assert_clean(at)
    assert at.session_state["timeline.loaded"][1] == "Q4 plan"
    key = _editor_key(at)
    at.session_state[key] = {"edited_rows": {0: {"end_week": 3}}, "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="timeline.baseline_btn").click().run()
    assert_clean(at)
    assert at.session_state["timeline.baseline"], "a baseline was saved"
    from lib import timeline
    from lib.ui import workspace

    saved = timeline.load_plan(workspace(), 1, "Q4 plan")  # the app's own connection to the file
    assert saved.baseline and saved.tasks[0].end_week == 3


def test_segments_tiers_add_up_and_the_headline_quotes_the_data(app_env):
    at = open_page("pages/segments.py")
    assert_clean(at)
    cards = {m.label: m for m in at.metric}
    assert set(cards) == {"New", "Active", "Lapsing", "Dormant", "High-value"}
    total = sum(int(m.value.replace(",", "")) for m in cards.values())
    assert total > 40_000, "every customer is in exactly one tier"
    assert "High-value customers are" in at.subheader[0].value


def open_segment_settings() -> AppTest:
    """The Segments page with its settings (drawn only while open) opened."""
    at = open_page("pages/segments.py")
    assert not [w for w in at.number_input if w.key == "segments.lapsing"], "closed settings are not drawn"
    at.session_state["segments.settings_open"] = True
    at.run()
    return at


def test_segments_rfm_scheme_and_a_threshold_change(app_env):
    at = open_segment_settings()
    dormant_before = {m.label: m.value for m in at.metric}["Dormant"]
    at.number_input(key="segments.lapsing").set_value(180).run()
    assert_clean(at)
    dormant_after = {m.label: m.value for m in at.metric}["Dormant"]
    assert dormant_after != dormant_before
    at.session_state["segments.settings_open"] = False  # closing the settings keeps the change
    at.run()
    assert_clean(at)
    assert {m.label: m.value for m in at.metric}["Dormant"] == dormant_after
    at.session_state["segments.settings_open"] = True
    at.run()
    assert at.number_input(key="segments.lapsing").value == 180
    at.segmented_control(key="segments.scheme").set_value("rfm").run()
    assert_clean(at)
    assert "bring the largest share of revenue" in at.subheader[0].value


def chart_specs(at: AppTest) -> list[str]:
    return [element.proto.spec for element in at.get("vega_lite_chart")]


def test_segments_draws_only_the_open_tab_and_its_controls_keep_their_value(app_env):
    """Closed tabs draw nothing, not even their controls (the page was paying for five charts and four hidden
    inputs to show one chart), yet a value set on a tab is there again when the tab is."""
    at = open_page("pages/segments.py")
    specs = chart_specs(at)
    assert len(specs) == 2 and '"rect"' in specs[1], "the share bars and the open heat map, nothing else"
    hidden = [(at.date_input, "segments.date_a"), (at.segmented_control, "segments.measure"),
              (at.select_slider, "segments.span"), (at.select_slider, "segments.holdout_days")]
    for find, key in hidden:
        with pytest.raises(KeyError):  # a closed tab's controls are not drawn
            find(key=key)
    assert at.segmented_control(key="segments.scheme").value == "plan", "(the open page's own controls are)"
    at.session_state["segments.tab"] = "Migration"
    at.run()
    at.date_input(key="segments.date_a").set_value(date(2026, 3, 31)).run()
    assert_clean(at)
    assert len(chart_specs(at)) == 2 and "2026-03-31" in chart_specs(at)[1], "the migration chart, from the date set"
    at.session_state["segments.tab"] = "R×F heatmap"
    at.run()
    at.session_state["segments.tab"] = "Distributions"
    at.run()
    at.segmented_control(key="segments.measure").set_value("window_revenue").run()
    assert_clean(at)
    assert '"binned"' in chart_specs(at)[1]
    at.session_state["segments.tab"] = "Migration"
    at.run()
    assert str(at.date_input(key="segments.date_a").value) == "2026-03-31", "a closed tab's control keeps its value"
    assert "2026-03-31" in chart_specs(at)[1]
    at.session_state["segments.tab"] = "Distributions"
    at.run()
    assert at.segmented_control(key="segments.measure").value == "window_revenue"


@pytest.mark.parametrize("page, tab_key, tabs", [("pages/segments.py", "segments.tab", 7),
                                                 ("pages/scenarios.py", "scenarios.tab", 6)])
def test_every_tab_of_the_lazy_pages_renders(app_env, page, tab_key, tabs):
    """Closed tabs are not drawn on load, so each is opened here: clean, and its charts valid (conftest)."""
    from lib.i18n import t

    at = open_page(page)
    prefix = tab_key.replace(".tab", "_page.tab.")
    keys = sorted(k for k in _locale_keys() if k.startswith(prefix))
    assert len(keys) == tabs
    for key in keys:
        at.session_state[tab_key] = t(key, "en")
        at.run()
        assert_clean(at)
        assert at.session_state[tab_key] == t(key, "en")


def test_segments_customer_list_is_a_tab_whose_group_the_export_follows(app_env):
    at = open_page("pages/segments.py")
    assert_clean(at)
    assert not [d for d in at.dataframe if "customer_id" in d.value.columns], "the list is drawn only when its tab is"
    at.session_state["segments.tab"] = t("segments_page.tab.customers", "en")
    at.run()
    at.selectbox(key="segments.drill.group.plan").set_value("dormant").run()
    assert_clean(at)
    listed = next(d.value for d in at.dataframe if "customer_id" in d.value.columns)
    assert len(listed) == 500 and (listed["days_since_last_order"] > 0).all()
    at.session_state["segments.tab"] = t("segments_page.tab.heatmap", "en")  # away and back: the pick stays
    at.run()
    assert any(b.proto.label.endswith(t("segments_page.export_csv", "en", group="Dormant"))
               or b.proto.label == t("export.prepare", "en", what=t("segments_page.export_csv", "en", group="Dormant"))
               for b in at.button), "the group CSV follows the group picked in the list"
    at.session_state["segments.tab"] = t("segments_page.tab.customers", "en")
    at.run()
    assert at.selectbox(key="segments.drill.group.plan").value == "dormant"


def _locale_keys() -> set[str]:
    import json

    return set(json.loads((ROOT / "lib" / "locales" / "core.json").read_text(encoding="utf-8"))["en"])


def test_segments_invalid_thresholds_are_explained(app_env):
    at = open_segment_settings()
    at.number_input(key="segments.lapsing").set_value(20).run()  # middle band ends before the recent band
    assert not at.exception
    assert at.error, "a clear message for thresholds that cannot work"


def open_channels_tab(tab_key: str, lang: str = "en") -> AppTest:
    """The Channels page with one of its (lazy) tabs open."""
    at = open_page("pages/channels.py", lang if lang != "en" else None)
    at.session_state["channels.tab"] = t(tab_key, lang)
    at.run()
    return at


def test_channels_draws_only_the_open_tab_and_keeps_what_was_typed_on_another(app_env):
    at = open_page("pages/channels.py")
    assert_clean(at)
    assert not [w for w in at.number_input if w.key == "channels.opt_budget"], "the optimiser tab is not drawn"
    at.session_state["channels.tab"] = t("channels_page.tab.optimiser", "en")
    at.run()
    at.number_input(key="channels.opt_budget").set_value(900_000.0).run()
    at.slider(key="channels.opt_bounds").set_value((0.3, 3.0)).run()
    at.session_state["channels.tab"] = t("channels_page.tab.performance", "en")
    at.run()
    assert_clean(at)
    assert not [w for w in at.number_input if w.key == "channels.opt_budget"]
    at.session_state["channels.tab"] = t("channels_page.tab.optimiser", "en")
    at.run()
    assert_clean(at)
    assert at.number_input(key="channels.opt_budget").value == 900_000.0, "the typed budget survives a tab visit"
    assert at.slider(key="channels.opt_bounds").value == (0.3, 3.0)


def test_channels_optimiser_beats_the_current_split(app_env):
    at = open_channels_tab("channels_page.tab.optimiser")
    assert_clean(at)
    labels = {m.label: m for m in at.metric}
    gain = labels["Gain from the mix alone"].value
    assert float(gain.replace(",", "")) > 0, "the optimised split wins more than today's at the same budget"
    # At the default budget (today's spend) the gain from the mix is the change under the first card, to the unit.
    first = at.metric[0]
    assert first.delta.lstrip("+") == gain, (first.delta, gain)
    assert "best split wins" in at.subheader[0].value


def test_channels_infeasible_bounds_give_a_clear_message(app_env):
    at = open_channels_tab("channels_page.tab.optimiser")
    at.slider(key="channels.opt_bounds").set_value((3.0, 5.0)).run()  # minimums alone exceed the budget
    assert not at.exception
    assert at.error, "infeasible bounds are explained"


def test_channels_split_rebalances_to_100_percent(app_env):
    at = open_channels_tab("channels_page.tab.split")
    key = next(w.key for w in at.number_input if w.key and w.key.startswith("channels.share.by_function.content"))
    at.number_input(key=key).set_value(50.0).run()
    assert not at.exception
    shares = at.session_state["channels.shares.by_function"]
    assert abs(sum(shares.values()) - 1.0) < 1e-9 and abs(shares["content"] - 0.5) < 1e-9


def test_playbooks_show_every_tier_and_the_calculator_follows_edits(app_env):
    at = open_page("pages/playbooks.py")
    assert_clean(at)
    assert "ROI" in at.subheader[0].value
    revenue_before = {m.label: m.value for m in at.metric}["Tier incremental revenue"]
    at.session_state["playbooks.editor.plan.new.0"] = {"edited_rows": {0: {"response_rate": 0.5}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert_clean(at)
    assert {m.label: m.value for m in at.metric}["Tier incremental revenue"] != revenue_before
    at.button(key="playbooks.save").click().run()
    from lib import playbooks
    from lib.ui import workspace

    saved = playbooks.load_playbook(workspace(), 1)
    assert saved.group("new").plays[0].calculator.response_rate == 0.5


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_playbooks_show_incremental_roi_the_assumptions_and_the_flags(app_env, lang):
    from lib import playbooks

    at = open_page("pages/playbooks.py", lang)
    assert_clean(at)
    roi_label = t("playbooks_page.roi", lang)
    assert roi_label.lower() in at.subheader[0].value.lower()  # the headline is the incremental ROI …
    from lib.ui import workspace

    book = playbooks.load_playbook(workspace(), 1)
    profiles = playbooks.all_tier_profiles(workspace(), 1, "plan")
    summaries = [playbooks.tier_summary(book, profiles, g.key) for g in book.groups_for("plan")]
    total = playbooks.sum_economics([s.total for s in summaries])
    assert formatting.pct(total.roi) in at.subheader[0].value  # … a percentage, as lib.metrics defines ROI
    new_roi = formatting.pct(summaries[0].total.roi)
    assert {m.label: m.value for m in at.metric}[roi_label] == new_roi  # the first tier (new) is shown
    frames = {tuple(map(str, df.value.columns)): df.value for df in at.dataframe}
    assumptions = next(f for cols, f in frames.items() if "baseline_rate" in cols and "gross_margin" in cols)
    assert list(assumptions["gross_margin"]) == ["50.0%"] * len(assumptions)  # the shipped margin, formatted
    assert all(v.endswith("%") for v in assumptions["baseline_rate"])
    assert set(assumptions["held_out"]) == {formatting.count(135, lang)}  # 10% of the 1,348 new customers
    results = next(f for cols, f in frames.items() if "roi" in cols and "gross_revenue" in cols)
    assert all(v.endswith("%") and "," not in v[-4:] for v in results["roi"])
    # The new tier's plays do not beat its baseline on the sample store: each says why, in the page's language.
    warnings = [w.value for w in at.warning]
    flagged = sum(len(s.flagged) for s in summaries)
    assert flagged and t("playbooks_page.flagged_summary", lang, count=flagged) in warnings
    starter = playbooks.default_playbook().play("new", "starter_list").name.get(lang)
    assert any(starter in w and "6.0%" in w for w in warnings)
    captions = " ".join(c.value for c in at.caption)
    assert "1,000%" in captions and formatting.pct(0.1) in captions  # the bounds and the holdout are on screen
    if lang == "zh":
        assert "基线" in captions and "对照组" in captions

    # A gross margin typed in moves the answer and is saved with the playbook.
    at.number_input(key="playbooks.margin.0").set_value(30.0).run()
    assert_clean(at)
    at.button(key="playbooks.save").click().run()
    assert playbooks.load_playbook(workspace(), 1).assumptions.gross_margin == pytest.approx(0.3)


def test_playbooks_reject_an_impossible_rate(app_env):
    at = open_page("pages/playbooks.py")
    at.session_state["playbooks.editor.plan.new.0"] = {
        "edited_rows": {0: {"response_rate": 1.5}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert at.error and at.button(key="playbooks.save").disabled


def test_scenarios_presets_move_the_answer_and_a_scenario_can_be_saved(app_env):
    at = open_page("pages/scenarios.py")
    assert_clean(at)
    base = at.subheader[0].value
    assert "new customers" in base
    at.segmented_control(key="scenarios.preset").set_value("aggressive").run()
    assert_clean(at)
    assert at.slider(key="scenarios.growth").value == 20.0
    assert at.subheader[0].value != base
    at.text_input(key="scenarios.name").set_value("Push").run()
    at.button(key="scenarios.save").click().run()
    assert_clean(at)
    from lib import scenarios
    from lib.ui import workspace

    assert [s.name for s in scenarios.list_scenarios(workspace(), 1)] == ["Push"]


def test_scenarios_tabs_compute_when_opened(app_env):
    at = open_page("pages/scenarios.py")
    (feasibility,) = chart_specs(at)
    at.session_state["scenarios.tab"] = "Sensitivity"
    at.run()
    assert_clean(at)
    (tornado,) = chart_specs(at)
    assert tornado != feasibility and "gap" in tornado
    at.slider(key="scenarios.growth").set_value(25.0).run()
    assert_clean(at)
    assert chart_specs(at)[0] != tornado, "the tornado follows the inputs while its tab stays open"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_timeline_shows_the_saved_scenarios_budget_line(app_env, lang):
    at = open_page("pages/scenarios.py", lang)
    at.button(key="scenarios.save").click().run()
    at.switch_page("pages/timeline.py").run()
    assert_clean(at)
    last_week = t("timeline.chart.week_short", lang, week=13)  # 第13周 on the Chinese page, never W13
    line = next(d.value for d in at.dataframe if last_week in d.value.columns)
    assert line.iloc[0].sum() > 100_000


def test_presentation_mode_walks_the_story(app_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["view"] = "2"
    at.run()
    at.switch_page("pages/present.py").run()
    assert_clean(at)
    first_title = at.markdown[0].value if at.markdown else ""
    assert at.metric, "large key numbers on every view"
    at.button(key="present.next").click().run()
    assert_clean(at)
    assert at.session_state["present.view"] == 2
    assert at.query_params["view"] == ["3"] or at.query_params["view"] == "3"
    assert (at.markdown[0].value if at.markdown else "") != first_title


def test_presentation_picks_a_saved_scenario_and_a_link_and_the_picker_agree(app_env):
    from lib import scenarios
    from lib.workspace import Workspace

    ws = Workspace(app_env)
    try:
        ds = ws.get_dataset("Sample store").dataset_id
        model = scenarios.prepare(ws, ds)
        scenarios.save_scenario(ws, ds, "Q4 push", scenarios.run(model, scenarios.PRESETS["aggressive"]))
    finally:
        ws.close()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["scenario"] = "aggressive"  # a shared link
    at.query_params["view"] = "5"  # channels & scenario
    at.run()
    at.switch_page("pages/present.py").run()
    assert_clean(at)
    picker = at.selectbox(key="present.pick.scenario")
    assert picker.value == "aggressive", "the picker shows what the link asked for"
    assert "Q4 push" in picker.options
    before = at.markdown[0].value
    picker.set_value("Q4 push").run()
    assert_clean(at)
    assert at.query_params["scenario"] in (["Q4 push"], "Q4 push"), "the choice is the link's parameter"
    assert "Q4 push" in at.markdown[0].value and at.markdown[0].value != before


def test_a_shared_link_reproduces_language_and_dataset(app_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = "zh"
    at.query_params["dataset"] = "Sample store"
    at.run()
    at.switch_page("pages/segments.py").run()
    assert_clean(at)
    assert at.title[0].value == "用户分层"
    assert at.session_state["dataset"] == "Sample store"


def test_shared_links_carry_as_of_and_scenario(app_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["as_of"] = "2026-06-30"
    at.query_params["scenario"] = "aggressive"
    at.run()
    at.switch_page("pages/segments.py").run()
    assert_clean(at)
    assert str(at.date_input(key="segments.as_of.1").value) == "2026-06-30"
    at.switch_page("pages/scenarios.py").run()
    assert_clean(at)
    assert at.slider(key="scenarios.growth").value == 20.0


def test_exports_are_prepared_then_offered_from_this_session(app_env):
    at = open_page("pages/timeline.py")
    assert not [b for b in at.get("download_button") if b.proto.label == "Calendar (.ics)"]
    at.button(key="timeline.dl_ics.prepare").click().run()
    assert_clean(at)
    payload = at.session_state["timeline.dl_ics.payload"][1]
    assert payload.startswith(b"BEGIN:VCALENDAR")
    assert [b for b in at.get("download_button") if b.proto.label == "Calendar (.ics)"], "offered after preparing"


def test_an_unexpected_failure_while_starting_a_page_is_one_sentence(app_env, monkeypatch):
    from lib.i18n import t
    from lib.workspace import Workspace

    def broken(self):
        raise RuntimeError("simulated")

    monkeypatch.setattr(Workspace, "list_datasets", broken)
    at = open_page("pages/segments.py")
    assert not at.exception, "no exception element, no traceback"
    assert [e.value for e in at.error] == [t("error.unexpected", "en")]
    assert not at.dataframe and not at.get("vega_lite_chart"), "the page stops there"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_predicted_value_tab_shows_the_forecast_the_at_risk_list_and_the_holdout_check(app_env, lang):
    from lib import value as prediction
    from lib.workspace import Workspace

    at = open_page("pages/segments.py", lang)
    at.session_state["segments.tab"] = t("segments_page.tab.predicted", lang)
    at.run()
    assert_clean(at)
    cards = {m.label: m.value for m in at.metric}
    ws = Workspace(app_env)
    try:
        expected = prediction.predict(ws, ws.get_dataset("Sample store").dataset_id).totals()
    finally:
        ws.close()
    assert cards[t("predict.kpi.at_risk", lang)] == formatting.count(expected["at_risk_customers"], lang)
    specs = chart_specs(at)

    def drawn(title: str) -> bool:
        return any(title in spec or json.dumps(title)[1:-1] in spec for spec in specs)

    assert drawn(t("predict.calibration_title", lang)), "the calibration chart is drawn"
    assert drawn(t("predict.p_alive_title", lang))
    assert any(t("predict.at_risk_title", lang) in m.value for m in at.markdown)
    assert any(t("predict.predicted", lang) in c.value or "%" in c.value for c in at.caption)


def test_scenarios_answer_from_the_orders_alone_without_channel_spend(app_env):
    from lib.importing import import_file
    from lib.workspace import Workspace

    ws = Workspace(app_env)
    try:
        import_file(ws, _orders_csv(first_month=7), "orders_only.csv", "orders", "Orders only")
    finally:
        ws.close()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["dataset"] = "Orders only"
    at.run()
    at.switch_page("pages/scenarios.py").run()
    assert_clean(at)
    assert any(t("scenarios_page.orders_only")[:40] in i.value for i in at.info)
    labels = {m.label for m in at.metric}
    assert {t("scenarios_page.revenue_target"), t("scenarios_page.new_required")} <= labels
    assert at.subheader and "¥" in at.subheader[0].value


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_scenario_comparison_is_a_formatted_translated_table(app_env, lang):
    from lib import scenarios
    from lib.workspace import Workspace

    ws = Workspace(app_env)
    try:
        ds = ws.get_dataset("Sample store").dataset_id
        model = scenarios.prepare(ws, ds)
        for name in ("base", "aggressive"):
            scenarios.save_scenario(ws, ds, f"Plan {name}", scenarios.run(model, scenarios.PRESETS[name]))
    finally:
        ws.close()
    at = open_page("pages/scenarios.py", lang)
    at.session_state["scenarios.tab"] = t("scenarios_page.tab.saved", lang)
    at.run()
    assert_clean(at)
    table = next(df.value for df in at.dataframe if t("scenarios.compare.metric", lang) in df.value.columns)
    assert table.columns[0] == t("scenarios.compare.metric", lang)
    assert set(table.columns[1:]) == {"Plan base", "Plan aggressive"}
    assert t("scenarios.metric.paid_new_customers_required", lang) in set(table.iloc[:, 0])
    cells = [str(v) for v in table.iloc[:, 1:].to_numpy().ravel()]
    assert "+17.5%" in cells and "+20.0%" in cells  # growth, formatted
    assert not any(c.replace(".", "", 1).isdigit() and len(c) > 8 for c in cells), "an unformatted float"
    titles = [json.dumps(json.loads(spec).get("title"), ensure_ascii=False) for spec in chart_specs(at)]
    assert any(t("scenarios.chart.levers_title", lang) in title for title in titles), "the levers chart"
    prepare = {b.label for b in at.button}
    assert t("export.prepare", lang, what=t("scenarios_page.compare_xlsx", lang)) in prepare
    assert t("export.prepare", lang, what=t("scenarios_page.compare_csv", lang)) in prepare
    link = next(p for p in at.get("page_link") if p.proto.label == t("present.open", lang))
    assert "scenario=Plan" in link.proto.query_string or "Plan" in str(link.proto)


def test_scenario_outcome_range_comes_from_the_marketing_mix_model(app_env):
    at = open_page("pages/scenarios.py")
    at.session_state["scenarios.tab"] = t("scenarios_page.tab.range", "en")
    at.run()
    assert_clean(at)
    cards = {m.label: m.value for m in at.metric}
    assert {"P10", "P50", "P90", t("scenarios_page.range.chance")} <= set(cards)
    p10, p50, p90 = (float(cards[k].replace("¥", "").replace(",", "")) for k in ("P10", "P50", "P90"))
    assert p10 <= p50 <= p90
    assert cards[t("scenarios_page.range.chance")].endswith("%")
    weekly = next(df.value for df in at.dataframe if "P50" in df.value.columns)
    assert len(weekly) == 13
    assert any("**¥" in m.value or t("scenarios_page.range.unreachable", confidence="x", target="x")[:10] in m.value
               for m in at.markdown)


def test_data_page_labels_follow_what_the_user_chose(app_env):
    at = open_page("pages/data.py")
    lines = "订单号,客户ID,下单时间,数量,单价\n1,c1,2024-01-01,2,9.5\n2,c2,2024-01-02,1,20\n"
    at.file_uploader[0].set_value(("lines.csv", lines.encode(), "text/csv")).run()
    assert_clean(at)
    labels = [s.label for s in at.selectbox]
    assert t("field.amount") in labels, "amount is not starred when quantity × unit price is mapped"
    assert t("field.order_time") + " *" in labels
    at.button(key="data.check.orders").click().run()
    confirm = at.button(key="data.confirm.orders")
    assert confirm.label == t("data.confirm.new", count="2", unit=t("data.unit.orders"), name="lines")
    manage = at.selectbox(key="data.manage_which")
    assert manage.value == "Sample store"  # the active dataset


def test_overview_does_not_compare_with_a_barely_covered_period_and_offers_year_over_year(app_env):
    from lib.importing import import_file
    from lib.workspace import Workspace

    rows = ["订单编号,买家ID,付款时间,实付金额"]
    rows += [f"A{i},c{i % 7},2026-06-2{2 + i % 8} 10:00:00,100" for i in range(20)]  # 9 days of June …
    rows += [f"B{i},c{i % 9},2026-0{7 + i % 3}-1{i % 9} 10:00:00,120" for i in range(60)]  # … then Q3
    rows.append("C1,c1,2026-09-30 10:00:00,80")  # to the quarter's end: Q3 is the latest full quarter
    ws = Workspace(app_env)
    try:
        import_file(ws, ("\n".join(rows) + "\n").encode(), "late_start.csv", "orders", "Late start")
    finally:
        ws.close()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["dataset"] = "Late start"
    at.run()
    assert_clean(at)
    assert any(t("overview.no_previous") in c.value for c in at.caption)
    assert all(m.delta in (None, "") for m in at.metric), "no change against a 10 %-covered quarter"
    assert "—" in at.subheader[0].value
    at.segmented_control(key="overview.compare").set_value("year").run()
    assert_clean(at)
    assert t("overview.against.year") in at.subheader[0].value


def test_a_large_upload_is_previewed_checked_whole_and_its_progress_does_not_stay_at_reading(app_env):
    rows = ["订单编号,买家ID,付款时间,实付金额"]
    rows += [f"9{i:017d},c{i % 500:03d},2026-10-{1 + i % 20:02d} 10:00:00,\"¥1,{i % 1000:03d}.50\"" for i in range(70_000)]
    data = ("\n".join(rows) + "\n").encode()
    assert len(data) > 3 * 1024 * 1024  # above the size that shows a progress bar
    at = open_page("pages/data.py")
    at.file_uploader[0].set_value(("big.csv", data, "text/csv")).run()
    assert_clean(at)
    assert any("First 1,000 rows" in c.value for c in at.caption)
    assert not [p for p in at.get("progress") if p.proto.value < 100], "a progress bar was left part-way"
    at.button(key="data.check.orders").click().run()
    assert_clean(at)
    assert {m.label: m.value for m in at.metric}["Rows read"] == "70,000"
    assert not [p for p in at.get("progress") if p.proto.value < 100], "a progress bar was left part-way"


def test_presentation_draws_each_chart_through_the_pages_chart_path_at_projector_sizes(app_env):
    """The story's chart goes through ui.chart (the cached spec path) with the pack's projector font sizes."""
    import json

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["view"] = "4"  # playbooks: the story's own tier-economics chart
    at.run()
    at.switch_page("pages/present.py").run()
    assert_clean(at)
    specs = chart_specs(at)
    assert len(specs) == 1, "one chart per view"
    spec = json.loads(specs[0])
    assert spec["config"]["axis"]["labelFontSize"] == 16 and spec["config"]["title"]["fontSize"] == 20
    assert spec["autosize"]["type"] == "fit-x", "the chart fills the projector's width"
    assert spec["title"] == t("review.playbooks.chart_title", "en"), "the view's own chart, not another page's"
