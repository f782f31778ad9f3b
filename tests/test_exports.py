"""The safe export writer: no formula ever reaches a spreadsheet, text and numbers survive, files describe themselves."""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from openpyxl import load_workbook

from lib import exports as E
from lib import segments as S
from lib.segments import export as segment_export
from lib.i18n import t
from lib.workspace import Workspace

PAYLOADS = [
    "=1+2",
    "+SUM(1)",
    "-1+2",
    "@x",
    "\t=1",
    "\r=1",
    "\n=1",
    '=HYPERLINK("http://x","c")',
    '"; DROP TABLE orders; --',
    "-2+3+cmd|' /C calc'!A0",
]


def sheet_xml(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("xl/worksheets/sheet")}


def assert_no_formula(data: bytes) -> None:
    for name, xml in sheet_xml(data).items():
        assert not re.search(r"<f[\s>/]", xml), f"formula element in {name}"


# ---------------------------------------------------------------------------------------
# neutralise
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_neutralise_prefixes_formula_text(payload: str) -> None:
    out = E.neutralise(payload)
    if payload.startswith(E.FORMULA_TRIGGERS):
        assert out == "'" + payload
    else:
        assert out == payload  # '"; DROP…' is not a spreadsheet formula


def test_neutralise_keeps_numbers_and_strips_control_characters() -> None:
    assert E.neutralise(-1.5) == -1.5 and isinstance(E.neutralise(-1.5), float)
    assert E.neutralise(np.int64(-3)) == -3 and isinstance(E.neutralise(np.int64(-3)), int)
    assert E.neutralise(True) is True
    assert E.neutralise(None) is None and E.neutralise(float("nan")) is None and E.neutralise(pd.NA) is None
    assert E.neutralise(date(2024, 1, 2)) == date(2024, 1, 2)
    assert E.neutralise("a\x00b\x01c\x08d\x0be\x0cf\x1fg") == "abcdefg"
    assert E.neutralise("\x00=1") == "'=1"  # stripped first, then checked
    assert E.neutralise("tab\tinside\nlines") == "tab\tinside\nlines"
    assert E.neutralise("张三") == "张三"


# ---------------------------------------------------------------------------------------
# xlsx (both writers: openpyxl's workbook_bytes and the XlsxWriter one behind the segment workbook)
# ---------------------------------------------------------------------------------------

WRITERS = [pytest.param(E.workbook_bytes, id="openpyxl"), pytest.param(E.fast_workbook_bytes, id="xlsxwriter")]


@pytest.mark.parametrize("write", WRITERS)
def test_injection_payloads_never_become_formulas(write) -> None:
    frame = pd.DataFrame(
        {
            "text": PAYLOADS,
            "number": [-1.5, 2, -3, 0, 1e6, -0.25, 7, 8, 9, 10],
            "label": ["#N/A", "#DIV/0!", "ok", "=A1", "+1", "-1", "@SUM(A1)", "中文", "x", "y"],
        }
    )
    data = write([E.SheetSpec("Payloads", frame, {"number": "money"})])
    assert_no_formula(data)
    xml = next(iter(sheet_xml(data).values()))
    # Numeric cells are numbers: <c r="B2" ...><v>-1.5</v>, typed "n" or untyped (the default, a number).
    assert re.search(r'<c r="B2"(?![^>]*t="(?!n")[^"]*")[^>]*><v>-1.5</v>', xml)
    sheet = load_workbook(io.BytesIO(data))["Payloads"]
    for row, payload in enumerate(PAYLOADS, start=2):
        cell = sheet.cell(row=row, column=1)
        assert cell.data_type == "s" and cell.value == payload  # text kept exactly
        assert cell.quotePrefix == payload.startswith(E.FORMULA_TRIGGERS)
        number = sheet.cell(row=row, column=2)
        assert number.data_type == "n" and isinstance(number.value, (int, float))
    assert sheet["B2"].value == -1.5 and sheet["B2"].number_format == "#,##0.00"
    assert sheet["C2"].value == "#N/A" and sheet["C2"].data_type == "s"  # not an error cell
    assert sheet["C5"].value == "=A1" and sheet["C5"].quotePrefix


@pytest.mark.parametrize("write", WRITERS)
def test_control_characters_do_not_break_the_export(write) -> None:
    nasty = "".join(chr(c) for c in range(0, 32)) + "end"
    frame = pd.DataFrame({"v": [nasty, "a\x01b\x0bc", "\ufffe\uffffok"], "n": [1, 2, 3]})
    data = write([E.SheetSpec("Ctrl", frame)])
    sheet = load_workbook(io.BytesIO(data))["Ctrl"]
    assert sheet["A2"].value == "\t\n\rend" and sheet["A2"].quotePrefix  # tab, LF, CR kept; the rest stripped
    assert sheet["A3"].value == "abc"
    assert sheet["A4"].value == "ok"
    assert_no_formula(data)


@pytest.mark.parametrize("write", WRITERS)
def test_cjk_round_trip_formats_widths_and_layout(write) -> None:
    frame = pd.DataFrame(
        {
            "客户编号": ["00001", "张三（会员）", "王五🎉", "=危险"],
            "金额": [1234.5, -20.0, 0.0, None],
            "占比": [0.5, 0.25, 0.125, 0.125],
            "日期": pd.to_datetime(["2024-01-01", "2024-02-29", None, "2024-12-31"]),
            "ascii": ["abcdefgh"] * 4,
            "cjk": ["一二三四五六七八"] * 4,
        }
    )
    data = write([E.SheetSpec("客户 列表", frame, {"金额": "money", "占比": "percent"})])
    wb = load_workbook(io.BytesIO(data))
    sheet = wb["客户 列表"]
    assert [c.value for c in sheet[1]] == list(frame.columns)
    assert [sheet.cell(row=r, column=1).value for r in range(2, 6)] == ["00001", "张三（会员）", "王五🎉", "=危险"]
    assert sheet["B2"].value == 1234.5 and sheet["B5"].value is None
    assert sheet["C2"].number_format == "0.0%"
    assert sheet["D2"].is_date and sheet["D2"].value == datetime(2024, 1, 1) and sheet["D2"].number_format == "yyyy-mm-dd"
    assert sheet["D4"].value is None
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:F5"
    assert sheet["A1"].font.b
    # CJK characters count double: the Chinese column is wider than the ASCII one of equal length.
    assert sheet.column_dimensions["F"].width > sheet.column_dimensions["E"].width
    assert_no_formula(data)


@pytest.mark.parametrize("write", WRITERS)
def test_sheet_names_are_sanitised_and_unique(write) -> None:
    taken: set[str] = set()
    first = E.sanitize_sheet_name("a/b:c*d?e[f]g\\h", taken)
    assert not re.search(r"[\[\]:*?/\\]", first) and first == "abcdefgh"
    long_cjk = E.sanitize_sheet_name("流失预警用户" * 10)
    assert len(long_cjk) <= 31
    assert E.sanitize_sheet_name("'quoted'") == "quoted"
    assert E.sanitize_sheet_name("") == "Sheet" and E.sanitize_sheet_name("???") == "Sheet"
    assert E.sanitize_sheet_name("History") != "History"
    taken = {"active"}
    assert E.sanitize_sheet_name("Active", taken) == "Active (2)"
    specs = [E.SheetSpec("x" * 40, pd.DataFrame({"a": [1]})), E.SheetSpec("x" * 40, pd.DataFrame({"a": [2]})),
             E.SheetSpec("bad/name:[1]", rows=[["k", "v"]])]
    wb = load_workbook(io.BytesIO(write(specs)))
    assert len(set(wb.sheetnames)) == 3
    assert all(len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) for n in wb.sheetnames)


@pytest.mark.parametrize("write", WRITERS)
def test_key_value_sheet(write) -> None:
    rows = [["Heading"], ["As-of date", "2024-06-30"], ["Customers", 123], ["Danger", "=1+2"], []]
    data = write([E.SheetSpec("About", rows=rows)])
    sheet = load_workbook(io.BytesIO(data))["About"]
    assert sheet["A1"].value == "Heading" and sheet["A1"].font.b
    assert sheet["B3"].value == 123 and sheet["B4"].value == "=1+2" and sheet["B4"].quotePrefix
    assert_no_formula(data)


@pytest.mark.parametrize("write", WRITERS)
def test_empty_workbook_and_frame(write) -> None:
    data = write([E.SheetSpec("Empty", pd.DataFrame({"a": [], "b": []}))])
    sheet = load_workbook(io.BytesIO(data))["Empty"]
    assert [c.value for c in sheet[1]] == ["a", "b"]
    assert load_workbook(io.BytesIO(write([]))).sheetnames


# ---------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------


def test_csv_owasp_example_reproduces_exactly() -> None:
    data = E.csv_bytes(pd.DataFrame({"v": ['=1+2";=1+2']}))
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").split("\r\n")[1] == '"\'=1+2"";=1+2"'


def test_csv_quotes_every_field_and_keeps_numbers() -> None:
    frame = pd.DataFrame(
        {
            "名字": ["张三", "@x", "\t=1", "plain"],
            "amount": [-1.5, 2.0, -3.25, 0.0],
            "n": [1, -2, 3, 4],
            "when": [date(2024, 1, 2)] * 4,
        }
    )
    text = E.csv_bytes(frame).decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0] == '"名字","amount","n","when"'
    assert lines[1] == '"张三","-1.5","1","2024-01-02"'  # a negative number is not text
    assert lines[2].startswith("\"'@x\"") and lines[3].startswith("\"'\t=1\"")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[1] == ["张三", "-1.5", "1", "2024-01-02"]
    assert all(line.startswith('"') for line in lines if line)


# ---------------------------------------------------------------------------------------
# The segment export, end to end
# ---------------------------------------------------------------------------------------


def _hostile_dataset(ws: Workspace) -> int:
    ids = PAYLOADS + ["张三", "李四\x01", "00042"] + [f"C{i:03d}" for i in range(40)]
    rows = []
    for i, cid in enumerate(ids):
        for k in range(1 + i % 6):
            rows.append(
                {
                    "order_id": f"O{i}-{k}",
                    "customer_id": cid,
                    "order_ts": pd.Timestamp("2024-06-30") - pd.Timedelta(days=(i * 7 + k * 30) % 400),
                    "amount": 10.0 + i + k,
                }
            )
    df = pd.DataFrame(rows)
    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, "店铺 A")
        df["dataset_id"] = ds
        cur.register("df", df)
        cur.execute(
            "INSERT INTO orders (dataset_id, order_id, customer_id, order_ts, amount, quantity, channel, status, is_refund) SELECT dataset_id, order_id, customer_id, order_ts, amount, NULL, NULL, NULL, FALSE FROM df"
        )
    return ds


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_segment_workbook_is_safe_and_self_describing(ws: Workspace, lang: str) -> None:
    ds = _hostile_dataset(ws)
    settings = S.SegmentSettings()
    data = S.segment_workbook(ws, ds, settings, as_of=date(2024, 6, 30), lang=lang)
    assert_no_formula(data)
    wb = load_workbook(io.BytesIO(data))
    about_name, summary_name = ("About", "Summary") if lang == "en" else ("说明", "汇总")
    assert wb.sheetnames[:2] == [about_name, summary_name]
    about = {row[0]: row[1] for row in wb[about_name].iter_rows(values_only=True) if row and row[0]}
    as_of_key = "As-of date" if lang == "en" else "分析日期"
    assert about[as_of_key] == "2024-06-30"
    assert any("365" in str(v) for v in about.values())
    assert "店铺 A" in about.values()
    thresholds = " ".join(str(v) for v in about.values())
    assert "31 ≤" in thresholds and "≤ 90" in thresholds
    # Summary numbers equal the engine's.
    expected = S.segment_summary(ws, ds, settings, date(2024, 6, 30))
    summary_rows = list(wb[summary_name].iter_rows(min_row=2, values_only=True))
    assert [r[1] for r in summary_rows] == expected["customers"].tolist()
    # Group sheets list the customers, ids kept exactly (control characters removed).
    customer_sheets = wb.sheetnames[2:]
    expected_groups = [S.tier_label(g, lang) for g in expected.loc[expected.customers > 0, "group"]]
    assert customer_sheets == expected_groups
    ids = []
    for name in customer_sheets:
        sheet = wb[name]
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
        ids += [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
        for row in sheet.iter_rows(min_row=2):
            if isinstance(row[0].value, str) and row[0].value.startswith(E.FORMULA_TRIGGERS):
                assert row[0].quotePrefix
            assert row[4].data_type == "n"  # days since last order stays a number
    assert len(ids) == expected["customers"].sum()
    assert set(PAYLOADS) <= set(ids) and "李四" in ids and "00042" in ids and "张三" in ids


def test_segment_workbook_chosen_groups_rfm_and_empty(ws: Workspace) -> None:
    ds = _hostile_dataset(ws)
    data = S.segment_workbook(ws, ds, scheme="rfm", groups=["lost", "champions"], lang="zh",
                              as_of=date(2024, 6, 30))
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["说明", "汇总", "已流失", "冠军客户"]
    with pytest.raises(ValueError):
        S.segment_workbook(ws, ds, groups=["nonsense"])
    with ws.transaction() as cur:
        empty = ws.ensure_dataset(cur, "empty")
    data = S.segment_workbook(ws, empty, lang="en")
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["About", "Summary"]
    notes = [row[1] for row in wb["About"].iter_rows(values_only=True) if row and row[0] == "•"]
    assert any("nothing to segment" in n for n in notes)


def test_segment_csv(ws: Workspace) -> None:
    ds = _hostile_dataset(ws)
    data = S.segment_csv(ws, ds, as_of=date(2024, 6, 30), lang="zh", group="dormant")
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "客户编号" and rows[0][1] == "层级"
    assert all(r[1] == "沉睡用户" for r in rows[1:])
    for r in rows[1:]:
        assert not r[0].startswith(("=", "+", "-", "@", "\t", "\r", "\n"))
    everyone = list(csv.reader(io.StringIO(S.segment_csv(ws, ds, as_of=date(2024, 6, 30)).decode("utf-8-sig"))))
    assert len(everyone) - 1 == len(S.segment_customers(ws, ds, None, date(2024, 6, 30)))


def test_segment_export_files_as_the_cli_writes_them(ws: Workspace, tmp_path) -> None:
    ds = _hostile_dataset(ws)
    settings = replace(S.load_settings(ws, ds), window_days=90, scheme="rfm")
    xlsx = S.write_segment_workbook(ws, ds, tmp_path / "out" / "seg.xlsx", settings, as_of=date(2024, 6, 30),
                                    lang="zh", scheme=settings.scheme)
    wb = load_workbook(xlsx)
    about = {row[0]: row[1] for row in wb["说明"].iter_rows(values_only=True) if row and row[0]}
    assert about["回看窗口"].startswith("90 天") and about["分组方式"] == "RFM 分群"
    csv_path = tmp_path / "seg.csv"
    S.export_segment_csv(ws, ds, csv_path, S.load_settings(ws, ds), as_of=date(2024, 6, 30))
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    with pytest.raises(ValueError):
        S.write_segment_workbook(ws, ds, tmp_path / "seg.xlsx", replace(settings, window_days=0))


# ---------------------------------------------------------------------------------------
# The streamed CSV (DuckDB writes it) equals the cell-by-cell writer
# ---------------------------------------------------------------------------------------

TEXTS = PAYLOADS + [
    "张三", "李四\x01", "\x00=1", "=\u0301x", " lead", "trail ", "a\rb", "tab\tinside\nlines", "\ufffe\uffff=ok",
    "-", "'=already", "#N/A", "_x0041_", '<r><t>x</t></r>', "", "plain", "+86 138 0000 0000", "١٢٣", "😀=",
]


def test_sql_neutralise_is_the_python_rule() -> None:
    con = duckdb.connect()
    frame = pd.DataFrame({"v": TEXTS + [None]})
    con.register("texts", frame)
    got = [r[0] for r in con.execute(f"SELECT {E.sql_neutralise('v')} FROM texts").fetchall()]
    assert got == [E.neutralise(v) for v in TEXTS] + [""]
    assert con.execute(f"SELECT {E.sql_strip_control(E.sql_literal(chr(1) + 'a' + chr(0x1f)))}").fetchone()[0] == "a"
    con.close()


_TYPED_SQL = """
    SELECT * FROM (VALUES
        ('=1+2";=1+2', -1.5, 3, TRUE, DATE '2024-01-02', TIMESTAMP '2024-01-02 00:00:00', 12.345::DECIMAL(10,3), 0.125),
        ('张三', 0.1 + 0.2, -2, FALSE, NULL, TIMESTAMP '2024-01-02 13:14:15.5', -0.005::DECIMAL(10,3), 2.675),
        (NULL, CAST('nan' AS DOUBLE), 9007199254740993, TRUE, DATE '1999-12-31', NULL, NULL, -0.0),
        ('@x', CAST('inf' AS DOUBLE), 0, FALSE, DATE '2024-02-29', TIMESTAMP '1970-01-01 00:00:01', 1, 1e16),
        ('\t=1', 1e-05, 7, TRUE, DATE '2024-03-01', TIMESTAMP '2024-03-01 00:00:00', 0, NULL)
    ) AS v(text, number, whole, flag, day, moment, dec, money)
    ORDER BY whole DESC
"""


def test_query_csv_is_byte_identical_to_csv_bytes(tmp_path) -> None:
    con = duckdb.connect()
    frame = con.execute(_TYPED_SQL).df()
    frame["money"] = frame["money"].round(2)
    expected = E.csv_bytes(frame)
    assert E.query_csv_bytes(con, _TYPED_SQL, {}, money=["money"]) == expected
    headers = ["名字", "=bad header", 'quote"d', "flag", "day", "moment", "dec", "money"]
    assert E.query_csv_bytes(con, _TYPED_SQL, {}, headers=headers, money=["money"]) == E.csv_bytes(
        frame.set_axis(headers, axis=1))
    # The workspace's connection cannot write files: the writer still works on it.
    path = tmp_path / "out" / "typed.csv"
    assert E.write_query_csv(con, _TYPED_SQL, None, path, money=["money"]) == 5
    assert path.read_bytes() == expected and not list(path.parent.glob(".*partial"))
    con.close()


_ARROW_TYPED_SQL = """
    SELECT * FROM (VALUES
        ('=1+2";=1+2', -1.5, 3, TRUE, DATE '2024-01-02', 0.125, 12.0),
        ('张三', 0.1 + 0.2, -2, FALSE, NULL, 2.675, 1e10),
        (NULL, CAST('nan' AS DOUBLE), 9007199254740993, NULL, DATE '1999-12-31', -0.0, 123456789012.34567),
        ('@x', CAST('inf' AS DOUBLE), NULL, FALSE, DATE '2024-02-29', 1e16, 0.00001),
        ('\t=1', 1e-05, 7, TRUE, DATE '2000-03-01', NULL, -100.0)
    ) AS v(text, number, whole, flag, day, money, other)
    ORDER BY text NULLS FIRST
"""


def test_query_csv_rendered_by_arrow_is_byte_identical_to_csv_bytes() -> None:
    """Text, numbers, flags and dates only: Arrow renders every field (no DuckDB), NULLs included."""
    con = duckdb.connect()
    frame = con.execute(_ARROW_TYPED_SQL).df()
    frame["money"] = frame["money"].round(2)
    assert E.query_csv_bytes(con, _ARROW_TYPED_SQL, {}, money=["money"]) == E.csv_bytes(frame)
    con.close()


def test_arrow_float_text_is_python_repr_at_every_magnitude() -> None:
    rng = np.random.default_rng(7)
    n = 200_000
    x = rng.random(n) * 10.0 ** rng.integers(-8, 22, n)
    x = np.concatenate([x, np.floor(x), x.astype(np.float32).astype(np.float64), rng.integers(-10**6, 10**6, n) / 100,
                        [0.0, -0.0, 1e-4, 9.999999999999999e-05, 1e10, 9999999999.999998, 1e16, 5e-324, 1.7976931348623157e308,
                         np.nan, np.inf, -np.inf]])
    x = np.concatenate([x, -x])
    values = pa.Array.from_buffers(pa.float64(), len(x), [None, pa.py_buffer(x)])
    expected = ["" if not math.isfinite(v) else repr(v) for v in x.tolist()]
    assert E._arrow_float_text(values, money=False).to_pylist() == expected
    with np.errstate(over="ignore"):
        cents = pd.Series(x).round(2).tolist()
    assert E._arrow_float_text(values, money=True).to_pylist() == ["" if not math.isfinite(v) else repr(v) for v in cents]
    with_nulls = pa.chunked_array([values.slice(3, 5)]).combine_chunks().cast(pa.float32())
    assert E._arrow_float_text(pa.concat_arrays([with_nulls, pa.nulls(2, pa.float32())]), money=False).to_pylist()[-2:] == ["", ""]


def test_query_csv_writes_every_hostile_text_as_csv_bytes_does(tmp_path) -> None:
    """Quotes, CR/LF, tabs, control characters and formula triggers, as plain text and as an ENUM (a dictionary)."""
    con = duckdb.connect()
    frame = pd.DataFrame({"text": TEXTS + [None], "n": range(len(TEXTS) + 1)})
    con.execute("CREATE TABLE texts AS SELECT * FROM frame")
    labels = ", ".join(E.sql_literal(v) for v in dict.fromkeys(TEXTS))
    expected = E.csv_bytes(frame.assign(label=frame["text"]))
    sql = f"SELECT text, n, CAST(text AS ENUM({labels})) AS label FROM texts ORDER BY n"
    assert E.query_csv_bytes(con, sql, {}) == expected
    assert expected.count(b"\r\n") > len(TEXTS) + 1  # line breaks inside quoted fields too
    con.close()


def test_query_csv_of_no_rows_is_the_header_line(ws: Workspace) -> None:
    sql = "SELECT 'a' AS x, 1 AS y WHERE $never"
    data = E.query_csv_bytes(ws, sql, {"never": False, "unused": 1})
    assert data == E.csv_bytes(pd.DataFrame({"x": [], "y": []})) == b'\xef\xbb\xbf"x","y"\r\n'


def _segment_csv_reference(ws, ds, *, lang="en", group=None, scheme=None, as_of=date(2024, 6, 30)) -> bytes:
    """The export as it was written before DuckDB wrote it: a DataFrame, cell by cell."""
    settings = S.SegmentSettings()
    members = S.segment_members(ws, ds, settings, as_of, group=group, scheme=scheme or settings.scheme,
                                order_by="window_revenue", limit=None)
    if members.empty:
        return E.csv_bytes(pd.DataFrame(columns=[t(f"segments.col.{k}", lang) for k, _ in S.EXPORT_COLUMNS]))
    frame, formats = S.localised_customers(members, lang)
    for header, kind in formats.items():
        if kind == "money":
            frame[header] = frame[header].round(2)
    return E.csv_bytes(frame)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"lang": "zh"}, {"group": "dormant"}, {"scheme": "rfm", "group": "champions", "lang": "zh"},
     {"group": "high_value", "as_of": date(2020, 1, 1)}],
)
def test_segment_csv_is_byte_identical_to_the_dataframe_export(ws: Workspace, kwargs) -> None:
    ds = _hostile_dataset(ws)
    as_of = kwargs.pop("as_of", date(2024, 6, 30))
    assert S.segment_csv(ws, ds, as_of=as_of, **kwargs) == _segment_csv_reference(ws, ds, as_of=as_of, **kwargs)


@pytest.fixture
def sample_ws(sample_workspace_file, tmp_path):
    import shutil

    path = tmp_path / "sample.duckdb"
    shutil.copyfile(sample_workspace_file, path)
    workspace = Workspace(path)
    yield workspace
    workspace.close()


def test_sample_store_csv_is_byte_identical_to_the_dataframe_export(sample_ws: Workspace) -> None:
    ds = sample_ws.list_datasets()[0].dataset_id
    as_of = S.default_as_of(sample_ws, ds)
    for kwargs in ({}, {"lang": "zh", "scheme": "rfm"}):
        data = S.segment_csv(sample_ws, ds, as_of=as_of, **kwargs)
        assert data == _segment_csv_reference(sample_ws, ds, as_of=as_of, **kwargs)
    assert data.count(b"\r\n") == sample_ws.get_dataset(ds).customers + 1


def test_export_segment_csv_streams_the_same_file(ws: Workspace, tmp_path) -> None:
    ds = _hostile_dataset(ws)
    path = tmp_path / "deep" / "seg.csv"
    S.export_segment_csv(ws, ds, path, as_of=date(2024, 6, 30), lang="zh")
    assert path.read_bytes() == S.segment_csv(ws, ds, as_of=date(2024, 6, 30), lang="zh")
    ids = [row[0] for row in list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))[1:]]
    assert not any(i.startswith(E.FORMULA_TRIGGERS) for i in ids)  # every id is data, never a formula
    assert "'=HYPERLINK(\"http://x\",\"c\")" in ids and "李四" in ids and "李四\x01" not in ids


def test_the_cli_csv_export_loads_no_pandas_and_writes_the_dataframe_exports_bytes(ws: Workspace, tmp_path) -> None:
    """``segments --export out.csv`` is a nightly job: pandas, Altair, openpyxl and SciPy cost it a quarter of a
    second of start-up and it needs none of them (DuckDB's rows stream to the file through Arrow).

    The files are byte for byte the DataFrame export's (formula-looking ids neutralised, labels in Chinese), the
    as-of date defaults to the last order day, and the printed counts are the file's rows per group.
    """
    import json
    import subprocess
    import sys
    import textwrap

    from conftest import ROOT

    ds = _hostile_dataset(ws)
    db = ws.path
    ws.close()  # the command opens the file itself
    runs = {
        "all.csv": [],
        "rfm_zh.csv": ["--lang", "zh", "--scheme", "rfm", "--as-of", "2024-06-30"],
        "dormant.csv": ["--group", "dormant", "--lang", "zh", "--as-of", "2024-06-30"],
    }
    code = textwrap.dedent(f"""
        import sys
        from lib.cli import main
        for name, args in {runs!r}.items():
            code = main(["segments", "--db", {str(db)!r}, "--dataset", "店铺 A",
                         "--export", {str(tmp_path)!r} + "/" + name, *args])
            assert code == 0, code
        print("loaded:", sorted(m for m in ("pandas", "altair", "openpyxl", "scipy") if m in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    *printed, loaded = done.stdout.strip().splitlines()
    assert loaded == "loaded: []"

    again = Workspace(db)
    try:
        as_of = S.default_as_of(again, ds)
        assert as_of == date(2024, 6, 30)
        for (name, _args), kwargs, line in zip(
            runs.items(), ({}, {"lang": "zh", "scheme": "rfm"}, {"lang": "zh", "group": "dormant"}), printed,
        ):
            data = (tmp_path / name).read_bytes()
            assert data == _segment_csv_reference(again, ds, as_of=as_of, **kwargs), name
            counts = json.loads(line)["customers"]
            assert sum(counts.values()) == data.count(b"\r\n") - 1 > 0
    finally:
        again.close()
    ids = [row[0] for row in csv.reader(io.StringIO((tmp_path / "all.csv").read_bytes().decode("utf-8-sig")))][1:]
    assert "'=HYPERLINK(\"http://x\",\"c\")" in ids and "李四" in ids


@pytest.mark.parametrize("kwargs", [{}, {"lang": "zh", "scheme": "rfm"}, {"group": "dormant"}])
def test_the_streamed_csv_counts_its_groups_in_the_same_pass(ws: Workspace, tmp_path, monkeypatch, kwargs) -> None:
    """The CLI's per-group counts come from the rows written, not from classifying everyone a second time."""
    ds = _hostile_dataset(ws)
    as_of = date(2024, 6, 30)
    scheme = kwargs.get("scheme", "plan")
    expected = S.segment_summary(ws, ds, S.SegmentSettings(), as_of, by=scheme)
    expected = {r["group"]: int(r["customers"]) for _, r in expected.iterrows()}
    calls = []
    real = S.classified_query  # the export's own binding is the one it calls
    monkeypatch.setattr(segment_export, "classified_query", lambda *a, **k: calls.append(1) or real(*a, **k))
    counts = S.export_segment_csv(ws, ds, tmp_path / "seg.csv", as_of=as_of, **kwargs)
    assert len(calls) == 1, "one classification for the file and the counts"
    if "group" in kwargs:
        expected = {k: (v if k == kwargs["group"] else 0) for k, v in expected.items()}
    assert {k: v for k, v in counts.items() if v} == {k: v for k, v in expected.items() if v}
    lines = (tmp_path / "seg.csv").read_bytes().count(b"\r\n") - 1
    assert sum(counts.values()) == lines > 0


def test_rejected_rows_csv_stays_formula_safe() -> None:
    """The import report's download (pages/data.py) goes through csv_bytes: no rejected cell is a formula."""
    rejected = pd.DataFrame({
        "line": [3, 4, 5],
        "reason": ["bad_date: =1+2", "bad_amount", "malformed_row"],
        "column": ["order_date", "@amount", None],
        "value": ['=HYPERLINK("http://x","c")', "+SUM(1)", "-2+3+cmd|' /C calc'!A0"],
    })
    rows = list(csv.reader(io.StringIO(E.csv_bytes(rejected).decode("utf-8-sig"))))
    assert rows[0] == ["line", "reason", "column", "value"]
    for row in rows[1:]:
        assert not any(cell.startswith(E.FORMULA_TRIGGERS) for cell in row), row
    assert rows[1][3] == "'=HYPERLINK(\"http://x\",\"c\")" and rows[1][0] == "3"


# ---------------------------------------------------------------------------------------
# The segment workbook (XlsxWriter, streamed) equals the openpyxl one, and splits at the row limit
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{}, {"lang": "zh", "scheme": "rfm"}, {"as_of": date(2020, 1, 1)}])
def test_every_group_csv_from_one_classification_is_the_group_csv(ws: Workspace, monkeypatch, kwargs) -> None:
    """The page's per-group downloads come from one query and are byte for byte each group's own file."""
    ds = _hostile_dataset(ws)
    as_of = kwargs.pop("as_of", date(2024, 6, 30))
    scheme = kwargs.get("scheme", "plan")
    calls = []
    real = S.classified_query
    monkeypatch.setattr(segment_export, "classified_query", lambda *a, **k: calls.append(1) or real(*a, **k))
    files = S.segment_csvs(ws, ds, as_of=as_of, **kwargs)
    assert len(calls) == 1, "one classification for every group's file"
    monkeypatch.undo()
    assert list(files) == list(S.group_order(scheme))
    for key, data in files.items():
        assert data == S.segment_csv(ws, ds, as_of=as_of, group=key, **kwargs), key
    rows = sum(data.count(b"\r\n") - 1 for data in files.values())
    assert rows == (0 if as_of.year == 2020 else len(S.segment_customers(ws, ds, S.SegmentSettings(), as_of)))


XML_PAYLOAD = '<r><t>x</t></r></is></c><c r="B1"><f>1+1</f><v>2</v></c><c r="C1" t="inlineStr"><is><r><t>y</t></r>'


def _segment_workbook_reference(ws, ds, *, lang="en", scheme=None, groups=None, as_of=date(2024, 6, 30),
                                generated_at=None) -> bytes:
    """The segment workbook as openpyxl wrote it before (customer DataFrame → SheetSpecs → workbook_bytes)."""
    settings = S.SegmentSettings()
    scheme = scheme or settings.scheme
    order = S.group_order(scheme)
    column = "tier" if scheme == "plan" else "segment"
    customers = S.segment_customers(ws, ds, settings, as_of)
    summary = S.segment_summary(ws, ds, settings, as_of, by=scheme)
    wanted = list(groups) if groups is not None else [g for g in order if g in set(customers[column])]
    sheets = []
    for group in wanted:
        members = customers[customers[column] == group].sort_values(
            ["window_revenue", "customer_id"], ascending=[False, True], kind="stable")
        if len(members):
            frame, formats = S.localised_customers(members, lang)
        else:
            frame, formats = pd.DataFrame(columns=[t(f"segments.col.{k}", lang) for k, _ in S.EXPORT_COLUMNS]), {}
        sheets.append(E.SheetSpec(S.group_label(group, scheme, lang), frame, formats))
    summary_frame = pd.DataFrame({t("segments.col.tier" if scheme == "plan" else "segments.col.segment", lang): [
        S.group_label(g, scheme, lang) for g in summary["group"]]})
    summary_formats = {}
    for key, kind in S.SUMMARY_FORMATS.items():
        summary_frame[t(f"segments.col.{key}", lang)] = summary[key].to_numpy()
        summary_formats[t(f"segments.col.{key}", lang)] = kind
    about = S.about_rows(
        lang=lang, dataset_name=ws.get_dataset(ds).name, as_of=as_of, settings=settings, scheme=scheme,
        cuts=S.resolve_cuts(ws, ds, settings, as_of), total_customers=int(summary["customers"].sum()),
        warnings=S.data_warnings(ws, ds, as_of, settings, lang), notes=[], generated_at=generated_at)
    return E.workbook_bytes([E.SheetSpec(t("exports.sheet.about", lang), rows=about),
                             E.SheetSpec(t("exports.sheet.summary", lang), summary_frame, summary_formats),
                             *sheets])


def _cells(data: bytes) -> dict[str, list[list[tuple]]]:
    """Every sheet as rows of (value, type, number format, bold, quotePrefix, filled) per non-empty cell."""
    wb = load_workbook(io.BytesIO(data))
    out = {}
    for sheet in wb.worksheets:
        rows = []
        for row in sheet.iter_rows():
            cells = [(c.value, c.data_type, c.number_format, bool(c.font.b), bool(c.quotePrefix),
                      bool(c.fill and c.fill.fill_type), bool(c.alignment.wrap_text))
                     for c in row if c.value is not None]
            rows.append(cells)
        while rows and not rows[-1]:
            rows.pop()
        out[sheet.title] = [sheet.freeze_panes, sheet.auto_filter.ref, rows]
    return out


def _assert_same_cells(new: bytes, old: bytes) -> None:
    a, b = _cells(new), _cells(old)
    assert list(a) == list(b)
    for name in a:
        (freeze_a, filter_a, rows_a), (freeze_b, filter_b, rows_b) = a[name], b[name]
        assert (freeze_a, filter_a) == (freeze_b, filter_b), name
        assert len(rows_a) == len(rows_b), name
        for r, (ra, rb) in enumerate(zip(rows_a, rows_b)):
            assert len(ra) == len(rb), (name, r, ra, rb)
            for ca, cb in zip(ra, rb):
                if isinstance(cb[0], float):  # openpyxl wrote 15-16 digits; XlsxWriter keeps the exact double
                    assert ca[0] == pytest.approx(cb[0], rel=1e-14, abs=1e-300), (name, r, ca, cb)
                    assert ca[1:] == cb[1:], (name, r, ca, cb)
                else:
                    assert ca == cb, (name, r, ca, cb)


def _no_formula_anywhere(data: bytes) -> None:
    assert_no_formula(data)
    for sheet in load_workbook(io.BytesIO(data)).worksheets:
        for row in sheet.iter_rows():
            assert all(c.data_type != "f" for c in row)


@pytest.mark.parametrize("kwargs", [{}, {"lang": "zh", "scheme": "rfm"}, {"groups": ["dormant", "new", "lapsing"]},
                                    {"scheme": "rfm", "groups": ["lost", "champions"], "lang": "zh"}])
def test_segment_workbook_matches_the_openpyxl_workbook(ws: Workspace, kwargs) -> None:
    ds = _hostile_dataset(ws)
    stamp = datetime(2024, 7, 1, 9, 30)
    new = S.segment_workbook(ws, ds, as_of=date(2024, 6, 30), generated_at=stamp, **kwargs)
    _no_formula_anywhere(new)
    _assert_same_cells(new, _segment_workbook_reference(ws, ds, generated_at=stamp, **kwargs))


def test_sample_store_workbook_matches_the_openpyxl_workbook(sample_ws: Workspace) -> None:
    ds = sample_ws.list_datasets()[0].dataset_id
    as_of, stamp = S.default_as_of(sample_ws, ds), datetime(2026, 10, 5, 8, 0)
    kwargs = {"groups": ["high_value", "new"], "lang": "zh"}
    new = S.segment_workbook(sample_ws, ds, as_of=as_of, generated_at=stamp, **kwargs)
    _assert_same_cells(new, _segment_workbook_reference(sample_ws, ds, as_of=as_of, generated_at=stamp, **kwargs))


def _add_orders(ws: Workspace, name: str, ids: list[str]) -> int:
    rows = [{"order_id": f"O{i}", "customer_id": cid, "order_ts": pd.Timestamp("2024-06-30") - pd.Timedelta(days=(i * 23) % 600),
             "amount": 5.0 + (i * 7) % 13} for i, cid in enumerate(ids)]
    df = pd.DataFrame(rows)
    with ws.transaction() as cur:
        ds = ws.ensure_dataset(cur, name)
        df["dataset_id"] = ds
        cur.register("df", df)
        cur.execute("INSERT INTO orders (dataset_id, order_id, customer_id, order_ts, amount, quantity, channel, "
                    "status, is_refund) SELECT dataset_id, order_id, customer_id, order_ts, amount, NULL, NULL, "
                    "NULL, FALSE FROM df")
    return ds


def test_xml_and_formula_payloads_stay_text_in_the_workbook(ws: Workspace) -> None:
    """XlsxWriter copies a string "<r>…</r>" into the sheet unescaped in constant-memory mode; our cells never do."""
    hostile = [XML_PAYLOAD, '=HYPERLINK("http://evil","click")', "_x0041_", "a\rb", " lead", "&amp;<b>", *PAYLOADS]
    ds = _add_orders(ws, "xml", hostile + [f"C{i}" for i in range(30)])
    data = S.segment_workbook(ws, ds, as_of=date(2024, 6, 30))
    _no_formula_anywhere(data)
    wb = load_workbook(io.BytesIO(data))
    ids = {}
    for name in wb.sheetnames[2:]:
        for row in wb[name].iter_rows(min_row=2):
            ids[row[0].value] = row[0]
    for payload in hostile:
        if payload == "_x0041_":  # Excel would read _x0041_ as "A": it is stored escaped, _x005F_x0041_
            assert any("_x005F_x0041_" in xml for xml in sheet_xml(data).values())
            continue
        cell = ids[payload]
        assert cell.data_type == "s" and cell.quotePrefix == payload.startswith(E.FORMULA_TRIGGERS)


def test_segment_workbook_splits_customers_at_the_row_limit(ws: Workspace, monkeypatch, tmp_path) -> None:
    ds = _add_orders(ws, "many", [f"K{i:03d}" for i in range(40)] + ["=1+2"])
    expected = S.segment_members(ws, ds, None, date(2024, 6, 30), group="dormant", limit=None)
    assert len(expected) > 14
    monkeypatch.setattr(E, "MAX_DATA_ROWS", 6)
    path = S.write_segment_workbook(ws, ds, tmp_path / "split.xlsx", as_of=date(2024, 6, 30), groups=["dormant"])
    wb = load_workbook(path)
    parts = -(-len(expected) // 6)
    assert wb.sheetnames == ["About", "Summary", "Dormant"] + [f"Dormant ({k})" for k in range(2, parts + 1)]
    ids = []
    for name in wb.sheetnames[2:]:
        sheet = wb[name]
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        assert 0 < len(rows) <= 6 and sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:R{len(rows) + 1}"
        assert [c.value for c in sheet[1]][0] == "Customer ID"
        ids += [r[0] for r in rows]
    assert ids == expected["customer_id"].tolist()  # in order, none lost, none repeated
    _no_formula_anywhere(path.read_bytes())


# ---------------------------------------------------------------------------------------
# LibreOffice opens the workbook
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def soffice_calc() -> str:
    """LibreOffice with Calc; installed once with apt-get when CI or GROWTH_PLANNER_INSTALL_LIBREOFFICE is set."""
    import os
    import shutil
    import subprocess

    def calc_present() -> str | None:
        found = shutil.which("soffice") or shutil.which("libreoffice")
        if found and any(Path(p).exists() for p in ("/usr/lib/libreoffice/program/libsclo.so",
                                                     "/usr/lib64/libreoffice/program/libsclo.so")):
            return found
        return None

    found = calc_present()
    if found is None and (os.environ.get("CI") or os.environ.get("GROWTH_PLANNER_INSTALL_LIBREOFFICE")):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "libreoffice-calc"]
        try:
            if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode != 0:
                subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300)
                subprocess.run(install, env=env, capture_output=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired):
            pass
        found = calc_present()
    if found is None:
        pytest.skip(
            "LibreOffice Calc is not installed, so opening the segment workbook is not checked. Install "
            "libreoffice-calc, or set GROWTH_PLANNER_INSTALL_LIBREOFFICE=1 (CI does) to let this test apt-get it once."
        )
    return found


def test_libreoffice_opens_the_segment_workbook(soffice_calc, ws: Workspace, tmp_path) -> None:
    import subprocess

    hostile = [XML_PAYLOAD, '=HYPERLINK("http://evil","click")', "=1+2", "_x0041_", "+SUM(1)"]
    ds = _add_orders(ws, "lo", hostile + [f"C{i}" for i in range(30)])
    book = S.write_segment_workbook(ws, ds, tmp_path / "segments.xlsx", replace(S.load_settings(ws, ds), scheme="rfm"),
                                    as_of=date(2024, 6, 30), scheme="rfm")
    profile = (tmp_path / "lo-profile").as_uri()
    out = tmp_path / "csv"
    completed = subprocess.run(
        [soffice_calc, f"-env:UserInstallation={profile}", "--headless", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",  # -1: every sheet
         "--outdir", str(out), str(book)],
        capture_output=True, timeout=180,
    )
    assert completed.returncode == 0, completed.stderr.decode(errors="replace")
    wb = load_workbook(book)
    files = sorted(out.glob("segments-*.csv"))
    assert len(files) == len(wb.sheetnames), completed.stdout.decode(errors="replace")
    seen = set()
    for name in wb.sheetnames[2:]:
        rows = list(csv.reader((out / f"segments-{name}.csv").read_text(encoding="utf-8").splitlines()))
        assert rows[0][0] == "Customer ID"
        seen |= {r[0] for r in rows[1:]}
        # Spend and days stay numbers: LibreOffice did not turn a row into text or formula results.
        assert all(float(r[4]) >= 0 and float(r[6]) >= 0 for r in rows[1:])
    assert set(hostile) <= seen  # each payload read back as its own text: nothing evaluated ("=1+2" is not 3)
    about = (out / "segments-About.csv").read_text(encoding="utf-8")
    assert "2024-06-30" in about


def test_both_writers_agree_on_every_kind_of_column() -> None:
    from decimal import Decimal

    frame = pd.DataFrame({
        "ts": pd.to_datetime(["2024-01-01 10:30:00.123456", None, "1999-12-31 23:59:59.000000"]),
        "tz": pd.to_datetime(["2024-01-01 10:30", "2024-06-01 00:00", None]).tz_localize("Asia/Shanghai"),
        "big": [10**15, -10**15, 5],
        "dec": [Decimal("1.25"), None, Decimal("-3")],
        "mixed": [1, "a", date(2024, 1, 2)],
        "unsigned": np.array([1, 2, 2**63], dtype=np.uint64),
        "flag": [True, False, None],
        "cat": pd.Categorical(["x", "=y", None]),
        "float": [0.1 + 0.2, float("inf"), -0.0],
        "text": [" lead", "trail\t", "a\rb\nc"],
    })
    specs = [E.SheetSpec("S", frame, {"ts": "date", "float": "percent"}), E.SheetSpec("R", rows=[["h"], ["k", 1.5, None]])]
    _assert_same_cells(E.fast_workbook_bytes(specs), E.workbook_bytes(specs))
