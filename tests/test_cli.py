"""The command line: real data end to end, and bad input that exits 2 with one line and writes nothing.

Why: analysts run the CLI from scheduled jobs, where nobody reads a traceback and a
half-written import goes unnoticed for weeks. The CLI shares the import path with
the Data page; these tests check what a job sees — exit codes, the one-line reason
on stderr, the JSON on stdout — and what ends up in the workspace file.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import textwrap

import pytest

import fixtures as fx
from conftest import CDNOW_PATH, ROBYN_PATH, ROOT, require
from lib.cli import main
from lib.workspace import Workspace


def counts(db) -> dict[str, int]:
    ws = Workspace(db)
    try:
        return ws.table_counts()
    finally:
        ws.close()


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed")
    db = str(folder / "cli.duckdb")
    assert main(["import-orders", write(folder, "seed.csv", fx.chinese_status_csv()), "--dataset", "Seed",
                 "--db", db]) == 0
    assert main(["import-channels", write(folder, "ch.csv", fx.long_chinese_channels_csv()), "--dataset", "Seed",
                 "--db", db]) == 0
    return db


@pytest.fixture
def seeded_db(tmp_path, seeded_template):
    """A workspace file that already holds a dataset with orders and channel data (a fresh copy per test)."""
    db = tmp_path / "cli.duckdb"
    shutil.copyfile(seeded_template, db)
    return str(db)


def test_cdnow_end_to_end(tmp_path, capsys):
    path = require(CDNOW_PATH)
    db = str(tmp_path / "cdnow.duckdb")
    assert main(["import-orders", str(path), "--dataset", "cdnow", "--db", db]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows_read"] == summary["rows_accepted"] == 69_659 and summary["rows_rejected"] == 0
    assert (summary["first_date"], summary["last_date"]) == ("1997-01-01", "1998-06-30")

    ws = Workspace(db)
    try:
        dataset = ws.get_dataset("cdnow")
        # 80 transactions of $0.00 are not orders; 68 customers bought nothing else
        assert (dataset.orders, dataset.customers) == (69_659 - 80, 23_570 - 68)
        assert ws.query_rows("SELECT min(customer_id), max(customer_id) FROM orders") == [("00001", "23570")]
        total = ws.query_rows("SELECT round(sum(amount), 2) FROM orders")[0][0]
    finally:
        ws.close()
    with path.open() as handle:
        expected = round(sum(float(line.split()[3]) for line in handle.readlines()[1:]), 2)
    assert total == pytest.approx(expected)

    assert main(["kpis", "--dataset", "cdnow", "--json", "--db", db]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["start"], result["end"]) == ("1998-04-01", "1998-06-30")  # the last full quarter
    assert result["kpis"]["orders"] > 0 and result["kpis"]["gmv"] > 0
    assert result["kpis"]["spend"] is None  # no channel data: no CAC, no invented numbers
    assert set(result["change"]) >= {"gmv", "orders", "customers", "aov"}

    assert main(["kpis", "--dataset", "cdnow", "--start", "1997-01-01", "--end", "1997-01-31", "--json",
                 "--db", db]) == 0
    january = json.loads(capsys.readouterr().out)["kpis"]
    assert january["new_customers"] == january["customers"]  # everyone's first month

    assert main(["datasets", "--json", "--db", db]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["name"], d["orders"], d["customers"]) for d in listed] == [("cdnow", 69_659 - 80, 23_570 - 68)]


def test_robyn_wide_channels_end_to_end(tmp_path, capsys):
    path = require(ROBYN_PATH)
    db = str(tmp_path / "robyn.duckdb")
    assert main(["import-channels", str(path), "--dataset", "robyn", "--db", db]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["layout"] == "wide" and summary["grain"] == "week"
    assert summary["channels"] == ["facebook", "ooh", "print", "search", "tv"]

    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    ws = Workspace(db)
    try:
        stored = dict(ws.query_rows("SELECT channel, sum(spend) FROM channel_spend GROUP BY channel"))
        weeks = ws.query_rows("SELECT count(DISTINCT period_start), min(period_start)::VARCHAR FROM channel_spend")
        impressions = ws.query_rows("SELECT sum(impressions) FROM channel_spend WHERE channel = 'facebook'")[0][0]
    finally:
        ws.close()
    assert weeks == [(len(rows), rows[0]["DATE"])]
    for channel in ("tv", "ooh", "print", "facebook", "search"):
        assert stored[channel] == pytest.approx(sum(float(r[f"{channel}_S"]) for r in rows))
    assert impressions == pytest.approx(sum(float(r["facebook_I"]) for r in rows))

    assert main(["datasets", "--db", db]) == 0
    assert "robyn" in capsys.readouterr().out


def test_append_then_replace(tmp_path, capsys):
    db = str(tmp_path / "w.duckdb")
    first = write(tmp_path, "a.csv", fx.orders_csv(["A", "B"]))
    second = write(tmp_path, "b.csv", fx.orders_csv(["B", "C"]))
    assert main(["import-orders", first, "--dataset", "Shop", "--db", db]) == 0
    assert main(["import-orders", second, "--dataset", "Shop", "--db", db]) == 0  # append is the default
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[1]["rows_rejected"] == 1  # B was already there
    assert counts(db)["orders"] == 3
    assert main(["import-orders", second, "--dataset", "Shop", "--replace", "--db", db]) == 0
    assert counts(db)["orders"] == 2


def test_rejects_file_lists_lines_and_reasons(tmp_path, capsys):
    db = str(tmp_path / "w.duckdb")
    data = b"order_id,order_date,amount\n1,2024-01-01,5\n2,yesterday,5\n3,2024-01-02,lots\n4,2024-01-03\n"
    rejects = tmp_path / "rejects.csv"
    assert main(["import-orders", write(tmp_path, "o.csv", data), "--dataset", "S", "--rejects", str(rejects),
                 "--db", db]) == 0
    assert json.loads(capsys.readouterr().out)["rows_rejected"] == 3
    text = rejects.read_bytes().decode("utf-8-sig")  # with a BOM, so Excel opens it as UTF-8
    listed = [(r["line"], r["reason"].split(":")[0]) for r in csv.DictReader(text.splitlines())]
    assert listed == [("3", "bad_date"), ("4", "bad_amount"), ("5", "malformed_row")]


def test_rejects_file_turns_no_cell_into_a_formula(tmp_path, capsys):
    db = str(tmp_path / "w.duckdb")
    data = b'order_id,order_date,amount\n1,2024-01-01,5\n2,"=HYPERLINK(""http://x"")",5\n'
    rejects = tmp_path / "rejects.csv"
    assert main(["import-orders", write(tmp_path, "o.csv", data), "--dataset", "S", "--rejects", str(rejects),
                 "--db", db]) == 0
    row = next(csv.DictReader(rejects.read_bytes().decode("utf-8-sig").splitlines()))
    assert row["value"].startswith("'=") and row["reason"] == "bad_date"


def test_mapping_file_is_used(tmp_path, capsys):
    db = str(tmp_path / "w.duckdb")
    data = fx.csv_text([["单据", "日子", "钱"], ["9", "2024-01-01", "5"]]).encode("gb18030")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"order_id": "单据", "order_time": "日子", "amount": "钱"}, ensure_ascii=False),
                       encoding="utf-8")
    assert main(["import-orders", write(tmp_path, "o.csv", data), "--dataset", "S", "--mapping", str(mapping),
                 "--db", db]) == 0
    ws = Workspace(db)
    try:
        assert ws.query_rows("SELECT order_id, amount FROM orders") == [("9", 5.0)]
    finally:
        ws.close()


BAD_IMPORTS = {
    "missing file": lambda tmp: [str(tmp / "nope.csv")],
    "png": lambda tmp: [write(tmp, "photo.csv", fx.png_renamed_csv())],
    "empty": lambda tmp: [write(tmp, "empty.csv", b"")],
    "header only": lambda tmp: [write(tmp, "h.csv", fx.header_only_csv())],
    "random bytes": lambda tmp: [write(tmp, "r.csv", fx.random_bytes(3000))],
    "billion laughs": lambda tmp: [write(tmp, "x.xlsx", fx.billion_laughs_xlsx())],
    "damaged parquet": lambda tmp: [write(tmp, "p.parquet", b"PAR1" + fx.random_bytes(100))],
    "no date column": lambda tmp: [write(tmp, "o.csv", b"order_id,amount\n1,5\n")],
    "all rows bad": lambda tmp: [write(tmp, "o.csv", b"order_id,order_date,amount\n1,never,5\n")],
    "unreadable mapping": lambda tmp: [write(tmp, "o.csv", fx.orders_csv(["Z"])),
                                       "--mapping", write(tmp, "m.json", b"{not json")],
    "mapping to a missing column": lambda tmp: [write(tmp, "o.csv", fx.orders_csv(["Z"])),
                                                "--mapping", write(tmp, "m.json", b'{"order_time": "nope"}')],
    "mapping of the wrong shape": lambda tmp: [write(tmp, "o.csv", fx.orders_csv(["Z"])),
                                               "--mapping", write(tmp, "m.json", b'{"order_time": ["order_date"]}')],
    "duplicate orders only": lambda tmp: [write(tmp, "dup.csv", fx.chinese_status_csv())],
}


@pytest.mark.parametrize("case", list(BAD_IMPORTS))
@pytest.mark.parametrize("command", ["import-orders", "import-channels"])
def test_bad_import_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, seeded_db, case, command):
    before = counts(seeded_db)
    capsys.readouterr()
    dataset = "Seed" if case == "duplicate orders only" else "New"
    assert main([command, *BAD_IMPORTS[case](tmp_path), "--dataset", dataset, "--db", seeded_db]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) > 12, captured.err
    assert "Traceback" not in captured.err
    assert counts(seeded_db) == before


@pytest.mark.parametrize(
    "args",
    [
        ["kpis", "--dataset", "nope"],
        ["kpis", "--dataset", "Seed", "--start", "2024-13-01", "--end", "2024-12-31"],
        ["kpis", "--dataset", "Seed", "--start", "2024-10-01"],
        ["kpis", "--dataset", "Seed", "--start", "2024-10-31", "--end", "2024-10-01"],
        ["import-orders", "{file}", "--dataset", "   "],
        ["import-orders", "{file}", "--dataset", "x" * 200],
    ],
)
def test_other_bad_input_exits_2_with_one_line(tmp_path, capsys, seeded_db, args):
    before = counts(seeded_db)
    capsys.readouterr()
    file = write(tmp_path, "ok.csv", fx.orders_csv(["N1"]))
    assert main([a.replace("{file}", file) for a in args] + ["--db", seeded_db]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert counts(seeded_db) == before


def test_kpis_of_a_dataset_without_data_is_a_clear_error(tmp_path, capsys):
    db = tmp_path / "empty.duckdb"
    ws = Workspace(db)
    with ws.transaction() as cur:
        ws.ensure_dataset(cur, "Empty")
    ws.close()
    assert main(["kpis", "--dataset", "Empty", "--db", str(db)]) == 2
    assert "no data" in capsys.readouterr().err


def test_a_workspace_in_use_by_the_app_is_a_clear_error(tmp_path, capsys):
    db = tmp_path / "busy.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import sys, time
            from lib.workspace import Workspace
            ws = Workspace(sys.argv[1])
            print("ready", flush=True)
            time.sleep(60)
        """), str(db)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        file = write(tmp_path, "o.csv", fx.orders_csv(["A"]))
        assert main(["import-orders", file, "--dataset", "S", "--db", str(db)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "in use by another process" in err and "\n" not in err
        assert main(["datasets", "--db", str(db)]) == 2
    finally:
        holder.kill()
        holder.wait()
    assert main(["datasets", "--json", "--db", str(db)]) == 0  # free again once the app has gone
    assert json.loads(capsys.readouterr().out) == []


def test_db_path_from_the_environment(tmp_path, monkeypatch, capsys):
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("GROWTH_PLANNER_DB", str(db))
    assert main(["import-orders", write(tmp_path, "o.csv", fx.orders_csv(["A"])), "--dataset", "S"]) == 0
    assert counts(db)["orders"] == 1


def test_module_entry_point_runs(tmp_path):
    db = tmp_path / "m.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "lib.cli", "import-orders", write(tmp_path, "o.csv", fx.png_renamed_csv()),
         "--dataset", "S", "--db", str(db)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: This is a PNG image, not a table."


def test_segments_of_parquet_read_in_place_match_the_imported_dataset(tmp_path, capsys, seeded_db):
    """Orders too big to import are segmented from Parquet in place, with the same engine and the same result."""
    import duckdb

    folder = tmp_path / "orders_parquet"
    (folder / "2024").mkdir(parents=True)
    con = duckdb.connect(seeded_db, read_only=True)
    try:  # split over two files in nested folders, as a data lake would
        for i, part in enumerate(("order_id < '5'", "order_id >= '5'")):
            con.execute(f"COPY (SELECT customer_id, order_ts, amount, is_refund FROM orders WHERE {part}) "
                        f"TO '{folder / '2024' / f'part{i}.parquet'}' (FORMAT parquet)")
    finally:
        con.close()

    assert main(["segments", "--dataset", "Seed", "--export", str(tmp_path / "ws.csv"), "--db", seeded_db]) == 0
    from_workspace = json.loads(capsys.readouterr().out)["customers"]
    assert main(["segments", "--parquet", str(folder), "--export", str(tmp_path / "pq.csv")]) == 0
    from_parquet = json.loads(capsys.readouterr().out)["customers"]
    assert from_parquet == from_workspace and sum(from_parquet.values()) > 0
    with open(tmp_path / "pq.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == sum(from_parquet.values())
    assert all(len(r["Average order value"].split(".")[-1]) <= 2 for r in rows), "money rounded to cents"

    assert main(["segments", "--parquet", str(tmp_path / "ws.csv"), "--export", str(tmp_path / "x.csv")]) == 2
    assert capsys.readouterr().err.startswith("error: could not read the orders")
    assert main(["segments", "--parquet", str(tmp_path / "missing"), "--export", str(tmp_path / "x.csv")]) == 2
    assert main(["segments", "--parquet", str(folder), "--export", str(tmp_path / "seg.pdf")]) == 2  # .xlsx or .csv only
    assert not (tmp_path / "x.csv").exists()
