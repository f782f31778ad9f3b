"""The review pack: the five-view story, its workbook and its deck, in English and Chinese.

What a marketing lead would notice: a view missing or out of order, a headline
without numbers (or with numbers that disagree with the data), raw i18n keys or
English left in the Chinese deck, Chinese text in the deck without an East Asian
font, a workbook that runs formulas or lost its charts, a deck LibreOffice cannot
open. Chart PNGs cost 1–3 s each, so the Chinese pack is rendered once per module.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import zipfile
from dataclasses import replace
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from lib import metrics
from lib import review as rp
from lib import scenarios as sc
from lib import timeline as tl
from lib.formatting import count, money_compact, pct
from lib.workspace import Workspace

CJK = re.compile(r"[\u4e00-\u9fff]")
RAW_KEY = re.compile(r"\b(?:review|kpi|segments|playbooks|timeline)\.[a-z_]+\.[a-z_.]+")
A_NS = "{http://schemas.openxmlformats.org/drawingml/2006/main}"


# --------------------------------------------------------------------------------------
# Fixtures: one sample workspace, one set of facts, one rendered Chinese pack
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory, sample_workspace_file):
    """The sample store (``lib.importing.load_sample_store``, built once per session) in a module copy."""
    path = tmp_path_factory.mktemp("review") / "ws.duckdb"
    shutil.copyfile(sample_workspace_file, path)
    workspace = Workspace(path)
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def dataset_id(sample_ws) -> int:
    return sample_ws.get_dataset("Sample store").dataset_id


@pytest.fixture(scope="module")
def facts(sample_ws, dataset_id) -> rp.StoryFacts:
    return rp.gather_facts(sample_ws, dataset_id)


@pytest.fixture(scope="module")
def views_en(sample_ws, dataset_id, facts) -> list[rp.StoryView]:
    return rp.story(sample_ws, dataset_id, "en", facts=facts)


@pytest.fixture(scope="module")
def pack_zh(sample_ws, dataset_id, facts) -> rp.ReviewPack:
    return rp.build_pack(sample_ws, dataset_id, "zh", facts=facts)


@pytest.fixture(scope="module")
def xlsx_zh(sample_ws, dataset_id, pack_zh) -> bytes:
    return rp.review_workbook(sample_ws, dataset_id, "zh", pack=pack_zh)


@pytest.fixture(scope="module")
def pptx_zh(sample_ws, dataset_id, pack_zh) -> bytes:
    return rp.review_deck(sample_ws, dataset_id, "zh", pack=pack_zh)


def _tiny_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def _texts(view: rp.StoryView) -> list[str]:
    out = [view.title, view.headline, view.notes, view.notice]
    out += [n.label for n in view.numbers] + [n.value for n in view.numbers] + [n.detail for n in view.numbers]
    for table in (view.table, *view.details):
        out.append(table.title)
        out += [str(c) for c in table.frame.columns]
    return out


# --------------------------------------------------------------------------------------
# The story
# --------------------------------------------------------------------------------------


def test_story_has_the_six_views_in_the_fixed_order(views_en):
    assert [v.key for v in views_en] == ["overview", "segments", "value", "playbooks", "channels", "timeline"]
    assert len({v.title for v in views_en}) == 6
    for view in views_en:
        assert re.search(r"\d", view.headline), (view.key, view.headline)
        assert 2 <= len(view.numbers) <= 4, view.key
        assert len(view.table.frame) > 0 and len(view.table.frame.columns) >= 3, view.key
        assert view.chart is not None, view.key
        view.chart.to_dict()  # a valid Vega-Lite spec
        for number in view.numbers:  # the speaker notes carry every key number
            assert number.value in view.notes, (view.key, number.value)
        assert not any(RAW_KEY.search(text) for text in _texts(view)), view.key


def test_headlines_are_written_from_the_data(facts, views_en):
    by_key = {v.key: v for v in views_en}
    assert money_compact(facts.current.net_sales, "en") in by_key["overview"].headline
    assert "Q3 2026" in by_key["overview"].headline  # the sample's latest full quarter

    summary = facts.segment_summary.set_index("group")
    segments = by_key["segments"].headline
    assert pct(summary.loc["high_value", "share_revenue"]) in segments
    assert count(summary.loc["dormant", "customers"], "en") in segments

    result = facts.scenario
    assert result is not None and result.inputs == sc.preset("base")
    channels = by_key["channels"].headline
    assert channels.startswith("The base scenario needs ")
    assert count(result.new_customers_required, "en") in channels
    assert f"{len(facts.tasks)} tasks" in by_key["timeline"].headline


def test_playbooks_view_is_incremental_with_roi_in_percent_and_flags_what_campaigns_do_not_achieve(facts, views_en,
                                                                                                pack_zh):
    from lib import playbooks as pb

    view = next(v for v in views_en if v.key == "playbooks")
    summaries = [pb.tier_summary(facts.playbook, facts.profiles, g.key) for g in facts.playbook.groups_for("plan")]
    total = pb.sum_economics([s.total for s in summaries])
    roi = rp.format_value(total.roi, "percent", "en")
    assert roi.endswith("%") and f"incremental ROI {roi}" in view.headline  # a percentage, as lib.metrics defines ROI
    assert money_compact(total.incremental_revenue, "en") in view.headline
    assert total.incremental_revenue < total.gross_revenue  # not every responder × AOV
    numbers = {n.label: n.value for n in view.numbers}
    assert numbers["Incremental ROI"] == roi
    # The sample's plays include some that do not beat their tier's baseline: the room is told, with the reasons.
    flagged = [r for s in summaries for r in s.plays if r.economics.flags]
    assert flagged and view.notice and str(len(flagged)) in view.notice and view.notice in view.headline
    first = flagged[0]
    assert " ".join(pb.flag_reasons(first.economics, "en")) in view.notes
    assert "gross margin" in view.notes and "holdout" in view.notes
    plays = view.details[0]
    warnings = plays.frame[pb.column_label("warnings", "en")]
    assert (warnings != "").sum() == len(flagged)
    assert plays.kinds[pb.column_label("roi", "en")] == "percent" and view.table.kinds[pb.column_label("roi", "en")] == "percent"
    assert pb.column_label("baseline_rate", "en") in view.table.frame.columns
    zh = next(v for v in pack_zh.views if v.key == "playbooks")
    assert "增量ROI" in zh.headline and CJK.search(zh.notice)


def test_chinese_story_reads_chinese_with_wan_money(facts, sample_ws, dataset_id, pack_zh):
    views = pack_zh.views
    for view in views:
        assert CJK.search(view.title) and CJK.search(view.headline), view.key
        assert not any(RAW_KEY.search(text) for text in _texts(view)), view.key
    overview = views[0]
    assert money_compact(facts.current.net_sales, "zh") in overview.headline and "万" in overview.headline
    assert "2026年第3季度" in overview.headline
    # Money cells of the slide tables use 万 in Chinese; the same frame keeps raw numbers.
    channel_table = views[4].table
    assert any("万" in cell for cell in channel_table.display("zh").iloc[:, 2])
    assert pd.api.types.is_numeric_dtype(channel_table.frame.iloc[:, 2])
    # The default plan is drawn in the reader's language (owners included).
    gantt = str(views[5].chart.to_dict())
    assert "负责人" in gantt or "数据分析" in gantt


def test_scenario_and_plan_are_chosen_by_name(sample_ws, dataset_id, facts):
    key, saved, inputs = rp.resolve_scenario(sample_ws, dataset_id, "aggressive")
    assert (key, saved, inputs) == ("aggressive", None, sc.preset("aggressive"))
    sc.save_scenario(sample_ws, dataset_id, "Q4 push", facts.scenario)
    assert rp.resolve_scenario(sample_ws, dataset_id, "Q4 push")[1] == "Q4 push"
    with pytest.raises(rp.ReviewPackError) as error:
        rp.resolve_scenario(sample_ws, dataset_id, "no such scenario")
    assert "conservative, base, aggressive" in error.value.message("en")
    assert "Q4 push" in error.value.message("zh")

    named = rp.channels_view(replace(facts, saved_scenario="Q4 push"), "en")
    assert named.headline.startswith("Scenario “Q4 push” needs ")

    monday = date(2026, 10, 12)
    tl.save_plan(sample_ws, dataset_id, "Lean quarter", tl.default_plan("en")[:6], start_monday=monday)
    name, tasks, _, start = rp.resolve_plan(sample_ws, dataset_id, None, facts.last_day)
    assert (name, len(tasks), start) == ("Lean quarter", 6, monday)
    with pytest.raises(rp.ReviewPackError, match="Lean quarter"):
        rp.resolve_plan(sample_ws, dataset_id, "Missing plan", facts.last_day)
    timeline = rp.timeline_view(replace(facts, plan_name=name, tasks=tuple(tasks), start_monday=start), "en")
    assert "6 tasks" in timeline.headline and "2026-10-12" in timeline.headline


def test_hostile_task_names_stay_text_in_the_deck_and_the_workbook(sample_ws, dataset_id, facts):
    hostile = tl.Task(id="X1", name="=HYPERLINK(\"http://x\")\x01\nweek plan", phase="prep", start_week=1, end_week=2)
    plan_facts = replace(facts, plan_name="Hostile", tasks=(hostile,))
    view = rp.timeline_view(plan_facts, "en")
    pack = rp.ReviewPack(plan_facts, "en", (view,), {})
    book = rp.review_workbook(sample_ws, dataset_id, "en", pack=pack)
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert not re.search(rb"<f[ >]", archive.read(name)), name
    deck = _open_deck(rp.review_deck(sample_ws, dataset_id, "en", pack=pack))
    notes = deck.slides[1].notes_slide.notes_text_frame.text
    assert "Plan: Hostile" in notes
    from openpyxl import load_workbook

    tasks = load_workbook(io.BytesIO(book))["Timeline tasks"]
    assert tasks["B2"].value == '=HYPERLINK("http://x")\nweek plan' and tasks["B2"].data_type == "s"


def test_the_comparison_puts_the_presets_side_by_side(views_en):
    channels = views_en[4]
    titles = [d.title for d in channels.details]
    assert titles == ["Channel performance", "Scenario comparison"]
    comparison = channels.details[1].frame
    assert list(comparison.columns) == ["Metric", "Conservative", "Base", "Aggressive"]
    assert len(comparison) == len(sc.COMPARE_ROWS)


def _small_store(ws: Workspace, name: str, customers: int, *, with_orders: bool = True) -> int:
    rows = []
    start = datetime(2024, 1, 3, 10)
    for c in range(customers):
        for k in range(1 + c % 3):
            rows.append({"order_id": f"{name}-{c}-{k}", "customer_id": f"c{c}",
                         "order_ts": start + timedelta(days=(c * 7 + k * 40) % 420), "amount": 80.0 + c % 50,
                         "is_refund": False})
    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, name)
        if with_orders:
            frame = pd.DataFrame(rows)
            frame.insert(0, "dataset_id", ds)
            cur.register("f", frame)
            cur.execute("INSERT INTO orders (dataset_id, order_id, customer_id, order_ts, amount, quantity, channel, status, is_refund) SELECT dataset_id, order_id, customer_id, order_ts, amount, NULL, NULL, "
                        "NULL, is_refund FROM f")
        ws.bump_version(cur, ds)
    return ds


def test_a_store_without_channel_data_still_tells_the_story(tmp_path):
    ws = Workspace(tmp_path / "small.duckdb")
    try:
        ds = _small_store(ws, "小店", 60)
        views = rp.story(ws, ds, "zh")
        assert [v.key for v in views] == list(rp.STORY_KEYS)
        channels = views[4]
        assert channels.chart is None and channels.notice == channels.headline
        assert "渠道数据" in channels.headline
        assert "不够稳定" in views[0].notes  # fewer than 200 customers: fragile numbers
        pack = rp.ReviewPack(rp.gather_facts(ws, ds), "zh", tuple(views), {})
        deck = _open_deck(rp.review_deck(ws, ds, "zh", pack=pack))
        assert len(deck.slides) == 1 + len(rp.STORY_KEYS)
        texts = [shape.text_frame.text for shape in deck.slides[5].shapes if shape.has_text_frame]
        assert channels.notice in texts
        rp.review_workbook(ws, ds, "zh", pack=pack)  # empty tables are fine

        empty = _small_store(ws, "空数据集", 0, with_orders=False)
        with pytest.raises(rp.ReviewPackError) as error:
            rp.gather_facts(ws, empty)
        assert "导入订单" in error.value.message("zh")
    finally:
        ws.close()


def test_values_are_formatted_the_readers_way():
    assert rp.format_value(1_234_567, "money", "zh") == "¥123.5万"
    assert rp.format_value(1_234_567, "money", "en") == "¥1,234,567"
    assert rp.format_value(0.4027, "percent", "zh") == "40.3%"
    assert rp.format_value(10.443, "percent", "en") == "1,044.3%"
    assert rp.format_value(0.05, "points", "zh") == "+5.0个百分点"
    assert rp.format_value(float("nan"), "money", "en") == "—"
    assert rp.format_value(None, "count", "en") == "—"


def test_chart_images_get_projector_fonts_and_a_width(views_en):
    spec = rp.projector_spec(views_en[1].chart)
    assert spec["width"] == rp.CHART_WIDTH_PX
    assert spec["config"]["axis"]["labelFontSize"] >= 14
    gantt = rp.projector_spec(views_en[5].chart)
    assert gantt["width"] == views_en[5].chart.to_dict()["width"]  # a chart's own width is kept


# --------------------------------------------------------------------------------------
# The workbook
# --------------------------------------------------------------------------------------


def test_workbook_has_every_table_and_every_chart(xlsx_zh, pack_zh):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx_zh))
    expected = ["说明", "核心指标", "用户分层", "预测价值", "分层策略收益", "单条策略收益", "情景渠道计划", "渠道表现",
                "情景对比", "执行计划阶段", "执行计划任务", "指标词典"]
    assert book.sheetnames == expected
    glossary = [row for row in book["指标词典"].iter_rows(min_row=2, values_only=True)]
    assert [row[0] for row in glossary] == [m["name"] for m in metrics.glossary("zh")]
    net = next(row for row in glossary if row[0] == "净销售额")
    assert net[1] == "扣除退款后的净额" and "GMV − 退款 = 净销售额" in net[2]
    with_images = [sheet.title for sheet in book.worksheets if sheet._images]
    assert with_images == ["核心指标", "用户分层", "预测价值", "分层策略收益", "情景渠道计划", "执行计划阶段"]
    # Numbers stay numbers, with Excel formats.
    segments = book["用户分层"]
    assert segments["A1"].value == "层级" and segments["A2"].value == "新用户"
    assert isinstance(segments["B2"].value, int) and segments["C2"].number_format == "0.0%"
    about = [[c.value for c in row] for row in book["说明"].iter_rows()]
    headlines = [row[1] for row in about if row[0] in {v.title for v in pack_zh.views}]
    assert headlines == [v.headline for v in pack_zh.views]


def test_workbook_never_holds_a_formula_and_embeds_pngs(xlsx_zh):
    with zipfile.ZipFile(io.BytesIO(xlsx_zh)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets
        for name in sheets:
            assert not re.search(rb"<f[ >]", archive.read(name)), name
        media = [n for n in archive.namelist() if n.startswith("xl/media/")]
        assert len(media) == 6
        assert all(archive.read(n)[:8] == b"\x89PNG\r\n\x1a\n" for n in media)


# --------------------------------------------------------------------------------------
# The deck
# --------------------------------------------------------------------------------------


def _open_deck(data: bytes):
    from pptx import Presentation

    return Presentation(io.BytesIO(data))


def _runs(deck):
    for slide in deck.slides:
        frames = [shape.text_frame for shape in slide.shapes if shape.has_text_frame]
        for shape in slide.shapes:
            if shape.has_table:
                frames += [cell.text_frame for row in shape.table.rows for cell in row.cells]
        if slide.has_notes_slide:
            frames.append(slide.notes_slide.notes_text_frame)
        for frame in frames:
            for paragraph in frame.paragraphs:
                yield from paragraph.runs


def test_deck_has_a_title_slide_and_one_slide_per_view(pptx_zh, pack_zh):
    from pptx.enum.shapes import MSO_SHAPE_TYPE
    from pptx.util import Inches

    deck = _open_deck(pptx_zh)
    assert (deck.slide_width, deck.slide_height) == (Inches(13.333), Inches(7.5))
    assert len(deck.slides) == 1 + len(rp.STORY_KEYS)
    assert "季度复盘" in deck.slides[0].shapes.title.text_frame.text
    for slide, view in zip(list(deck.slides)[1:], pack_zh.views):
        assert slide.shapes.title.text_frame.text == view.title
        tables = [s for s in slide.shapes if s.has_table]
        pictures = [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
        assert len(tables) == 1 and len(pictures) == 1, view.key
        table = tables[0].table
        assert [c.text_frame.text for c in table.rows[0].cells] == [str(c) for c in view.table.frame.columns]
        assert len(table.rows) == 1 + min(len(view.table.frame), rp.MAX_SLIDE_ROWS)
        notes = slide.notes_slide.notes_text_frame.text
        assert view.headline in notes
        for number in view.numbers:
            assert number.value in notes, (view.key, number.value)
        # Every shape sits on the slide.
        for shape in slide.shapes:
            assert shape.left >= 0 and shape.top >= 0
            assert shape.left + shape.width <= deck.slide_width and shape.top + shape.height <= deck.slide_height


def test_deck_text_is_large_and_chinese_runs_name_an_east_asian_font(pptx_zh):
    deck = _open_deck(pptx_zh)
    chinese = 0
    for run in _runs(deck):
        assert run.font.size is not None and run.font.size.pt >= 14, run.text
        r_pr = run._r.find(f"{A_NS}rPr")
        assert r_pr.find(f"{A_NS}latin").get("typeface") == rp.DECK_LATIN_FONT
        if CJK.search(run.text):
            chinese += 1
            ea = r_pr.find(f"{A_NS}ea")
            assert ea is not None and ea.get("typeface") == rp.DECK_EA_FONT, run.text
    assert chinese > 50
    titles = [s.shapes.title.text_frame.paragraphs[0].runs[0].font.size.pt for s in deck.slides]
    assert min(titles) >= 28


def test_write_review_pack_writes_both_files(sample_ws, monkeypatch, tmp_path):
    monkeypatch.setattr("lib.review.charts.chart_png", lambda spec, scale=2.0: _tiny_png())  # rendering is tested above
    paths = rp.write_review_pack(sample_ws, "Sample store", tmp_path / "out", "en", scenario="conservative")
    assert [p.name for p in paths] == ["review-pack_Sample_store_en.xlsx", "review-pack_Sample_store_en.pptx"]
    deck = _open_deck(paths[1].read_bytes())
    assert len(deck.slides) == 1 + len(rp.STORY_KEYS)
    assert "the conservative scenario" in deck.slides[0].placeholders[1].text_frame.text
    channels_notes = deck.slides[5].notes_slide.notes_text_frame.text
    assert channels_notes.startswith("The conservative scenario needs ")
    with pytest.raises(rp.ReviewPackError):
        rp.write_review_pack(sample_ws, "Sample store", tmp_path / "bad", "en", plan="No such plan")


# --------------------------------------------------------------------------------------
# LibreOffice opens the deck
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def soffice() -> str:
    """The LibreOffice binary; installed once with apt-get when CI or GROWTH_PLANNER_INSTALL_LIBREOFFICE is set."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None and (os.environ.get("CI") or os.environ.get("GROWTH_PLANNER_INSTALL_LIBREOFFICE")):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "libreoffice-impress"]
        try:
            if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode != 0:
                subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300)
                subprocess.run(install, env=env, capture_output=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired):
            pass
        found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.skip(
            "LibreOffice (soffice) is not installed, so the deck's PDF conversion is not checked. "
            "Install libreoffice-impress, or set GROWTH_PLANNER_INSTALL_LIBREOFFICE=1 (CI does) to let this "
            "test apt-get install it once."
        )
    return found


def test_libreoffice_converts_the_deck_to_pdf(soffice, pptx_zh, tmp_path):
    deck = tmp_path / "review.pptx"
    deck.write_bytes(pptx_zh)
    profile = (tmp_path / "lo-profile").as_uri()
    completed = subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir",
         str(tmp_path), str(deck)],
        capture_output=True, timeout=180,
    )
    pdf = tmp_path / "review.pdf"
    assert completed.returncode == 0, completed.stderr.decode(errors="replace")
    assert pdf.exists() and pdf.stat().st_size > 10_000
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) == 1 + len(rp.STORY_KEYS)
