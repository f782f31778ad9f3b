"""The same number wherever it is shown: Overview, ``cli kpis``, the scenario baseline, the review pack, exports.

Every quantity is defined once (lib.metrics); these tests fail the moment two places
compute the same thing differently — on the sample store and on a cancellation-heavy
line-item export made the way real back offices write them (C-invoices, an order
cancelled the same day, a partial refund, a zero-price invoice, a refunded status,
guests, customer ids exported as floats).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from datetime import date, timedelta

import pytest

from lib import kpis, metrics, scenarios, segments
from lib import review as review_pack
from lib.cli import main
from lib.importing import import_file
from lib.workspace import Workspace

HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
MESSY_ROWS = [
    # 17850: a normal order, cancelled in full by a C-invoice the next day …
    ["536365", "85123A", "T-LIGHT HOLDER", "6", "12/1/2010 8:26", "2.55", "17850.0", "United Kingdom"],
    ["536365", "71053", "METAL LANTERN", "6", "12/1/2010 8:26", "3.39", "17850.0", "United Kingdom"],
    ["C536366", "85123A", "T-LIGHT HOLDER", "-6", "12/2/2010 9:00", "2.55", "17850.0", "United Kingdom"],
    ["C536366", "71053", "METAL LANTERN", "-6", "12/2/2010 9:00", "3.39", "17850.0", "United Kingdom"],
    # … a ¥168k order cancelled the same day, and one real order of 2.95
    ["536367", "23843", "PAPER CRAFT", "80995", "12/9/2010 9:15", "2.08", "17850.0", "United Kingdom"],
    ["C536368", "23843", "PAPER CRAFT", "-80995", "12/9/2010 9:27", "2.08", "17850.0", "United Kingdom"],
    ["536369", "22139", "SMALL ITEM", "1", "12/10/2010 10:00", "2.95", "17850.0", "United Kingdom"],
    # 13047: an order of 100 with a partial return of 20 (tied to no order: a customer-level adjustment)
    ["536370", "84879", "ORNAMENT", "50", "12/3/2010 11:00", "2.00", "13047.0", "United Kingdom"],
    ["C536371", "84879", "ORNAMENT", "-10", "12/5/2010 11:00", "2.00", "13047.0", "United Kingdom"],
    # 13047: an invoice of free samples that nets to zero
    ["536372", "22000", "SAMPLE", "5", "12/6/2010 12:00", "0", "13047.0", "United Kingdom"],
    # a guest order
    ["536373", "21773", "BOTTLE", "10", "12/7/2010 14:32", "5.00", "", "United Kingdom"],
    # 12583: two orders six weeks apart
    ["536374", "21000", "CUPS", "100", "12/1/2010 15:00", "2.00", "12583.0", "France"],
    ["536375", "21000", "CUPS", "100", "1/12/2011 15:00", "2.00", "12583.0", "France"],
]
START, END = date(2010, 12, 1), date(2011, 1, 31)


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode()


@pytest.fixture
def messy(ws: Workspace) -> int:
    report = import_file(ws, _csv(MESSY_ROWS), "online_retail.csv", "orders", "Messy")
    return ws.get_dataset("Messy").dataset_id if report else 0


def test_the_messy_export_nets_cancellations_per_customer(ws: Workspace, messy: int) -> None:
    k = kpis.compute_kpis(ws, messy, kpis.Period(START, END))
    gross = 35.64 + 80995 * 2.08 + 2.95 + 100 + 0 + 50 + 200 + 200
    assert k.gmv == pytest.approx(gross)
    assert k.net_sales == pytest.approx(2.95 + 100 - 20 + 50 + 200 + 200)
    assert k.refunds == pytest.approx(k.gmv - k.net_sales)
    assert k.orders == 5  # 536369, 536370, 536373 (guest), 536374, 536375
    assert k.customers == 3
    summary = segments.segment_customers(ws, messy, segments.SegmentSettings(), END).set_index("customer_id")
    assert sorted(summary.index) == ["12583", "13047", "17850"]  # ids as people wrote them, not 17850.0
    assert summary.loc["17850", "orders"] == 1 and summary.loc["17850", "revenue"] == pytest.approx(2.95)
    assert summary.loc["17850", "aov"] == pytest.approx(2.95) and summary.loc["17850", "m_band"] != "high"
    assert summary.loc["13047", "orders"] == 1 and summary.loc["13047", "revenue"] == pytest.approx(80)
    assert summary.loc["12583", "f_score"] == 4 and summary.loc["17850", "f_score"] == summary.loc["13047", "f_score"]


def test_the_import_check_says_what_counts(ws: Workspace) -> None:
    from lib.importing import prepare_orders, read_table, suggest_mapping

    raw = read_table(_csv(MESSY_ROWS), "online_retail.csv")
    report = prepare_orders(raw, suggest_mapping(raw.columns, "orders"))
    stats = report.stats
    assert stats["counted_orders"] == 5
    assert stats["cancelled_orders"] == 2  # 536365 and the 168k order
    assert stats["zero_amount"] == 1  # 536372
    assert stats["unmatched_refunds"] == 1  # 13047's partial return
    assert stats["customers"] == 3
    assert stats["net_sales"] == pytest.approx(2.95 + 80 + 50 + 400)


def _cli_json(capsys, *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def _reconcile(db, dataset_name: str, capsys, tmp_path) -> None:
    """KPIs = cli kpis = scenario baseline = review pack, and the segment export sums to the KPIs."""
    ws = Workspace(db)
    try:
        dataset = ws.get_dataset(dataset_name)
        ds = dataset.dataset_id
        first, last = kpis.data_range(ws, ds)
        period = kpis.default_period(first, last)
        facts = kpis.period_facts(ws, ds, period)
        k = kpis.kpis_from_facts(facts)
        try:
            baseline = scenarios.prepare(ws, ds).baseline
        except scenarios.ScenarioError:
            baseline = None
        story = review_pack.gather_facts(ws, ds)
        everything = kpis.period_facts(ws, ds, kpis.Period(first, last))
        window = kpis.period_facts(ws, ds, kpis.Period(last - timedelta(days=segments.DEFAULT_WINDOW_DAYS - 1), last))
        listing = dataset
    finally:
        ws.close()

    cli = _cli_json(capsys, "kpis", "--dataset", dataset_name, "--json", "--db", str(db))
    assert (cli["start"], cli["end"]) == (period.start.isoformat(), period.end.isoformat())
    for key, value in k.as_dict().items():
        assert cli["kpis"][key] == (None if value is None else pytest.approx(value, rel=1e-12, abs=1e-9)), key
    assert cli["kpis"]["net_sales"] == pytest.approx(cli["kpis"]["gmv"] - cli["kpis"]["refunds"])

    if baseline is not None and baseline.quarter == period:
        assert baseline.revenue == pytest.approx(k.net_sales)
        assert baseline.orders == k.orders and baseline.new_customers == k.new_customers
        assert baseline.repurchase_rate == pytest.approx(k.repurchase_rate)
        assert baseline.ltv == pytest.approx(k.ltv)
        assert baseline.cac == pytest.approx(k.cac)

    assert story.period == period and story.current == k

    assert listing.orders == everything.orders
    assert listing.customers == everything.customers

    export = tmp_path / f"{dataset_name}.csv"
    _cli_json(capsys, "segments", "--dataset", dataset_name, "--export", str(export), "--db", str(db))
    with export.open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert len(body) == everything.customers == listing.customers
    spend_col = header.index(segments_label("revenue"))
    window_col = header.index(segments_label("window_revenue"))
    identified = everything.net_sales - everything.guest_net_sales
    assert sum(float(r[spend_col]) for r in body) == pytest.approx(identified, abs=0.005 * len(body) + 0.01)
    assert sum(float(r[window_col]) for r in body) == pytest.approx(
        window.net_sales - window.guest_net_sales, abs=0.005 * len(body) + 0.01)


def segments_label(column: str) -> str:
    """The English header the segment export gives a customer column."""
    from lib.i18n import t

    return t(f"segments.col.{column}", "en")


def test_sample_store_numbers_agree_everywhere(sample_workspace_file, tmp_path, capsys) -> None:
    db = tmp_path / "sample.duckdb"
    shutil.copyfile(sample_workspace_file, db)
    _reconcile(db, "Sample store", capsys, tmp_path)


def test_cancellation_heavy_numbers_agree_everywhere(tmp_path, capsys) -> None:
    db = tmp_path / "messy.duckdb"
    ws = Workspace(db)
    try:
        import_file(ws, _csv(MESSY_ROWS), "online_retail.csv", "orders", "Messy")
    finally:
        ws.close()
    _reconcile(db, "Messy", capsys, tmp_path)


def test_every_kpi_card_has_one_glossary_definition() -> None:
    for lang in ("en", "zh"):
        entries = {e["key"]: e for e in metrics.glossary(lang)}
        for key in kpis.KPI_KEYS:
            assert entries[key]["definition"] == metrics.metric(key).definition(lang)
            assert entries[key]["definition"] and not entries[key]["definition"].startswith("kpi.")
        names = [e["name"] for e in entries.values()]
        assert len(names) == len(set(names)), "two metrics share a name"
    assert metrics.metric("repeat_rate").label("en") != metrics.metric("repurchase_rate").label("en")


def test_overview_and_scenarios_pages_show_the_same_numbers(app_env) -> None:
    """The Overview's cards and the Scenarios page's baseline line quote the KPIs of the same quarter."""
    from streamlit.testing.v1 import AppTest

    from lib import formatting

    ws = Workspace(app_env)
    try:
        ds = ws.get_dataset("Sample store").dataset_id
        period = kpis.default_period(*kpis.data_range(ws, ds))
        k = kpis.compute_kpis(ws, ds, period)
    finally:
        ws.close()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    at.run()
    cards = {m.label: m.value for m in at.metric}
    assert cards[metrics.metric("orders").label()] == formatting.count(k.orders, "en")
    assert cards[metrics.metric("repurchase_rate").label()] == formatting.pct(k.repurchase_rate)
    assert cards[metrics.metric("repeat_rate").label()] == formatting.pct(k.repeat_rate)
    assert cards[metrics.metric("net_sales").label()] == formatting.money_compact(k.net_sales, "en")
    at.switch_page("pages/scenarios.py").run()
    baseline_line = next(c.value for c in at.caption if formatting.pct(k.repurchase_rate) in c.value)
    assert formatting.money(k.net_sales, "en") in baseline_line or formatting.money_compact(k.net_sales, "en") in baseline_line
