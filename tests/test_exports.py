"""The safe export writer: no formula ever reaches a spreadsheet, text and numbers survive, files describe themselves."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from lib import exports as E
from lib import segments as S
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
# xlsx
# ---------------------------------------------------------------------------------------


def test_injection_payloads_never_become_formulas() -> None:
    frame = pd.DataFrame(
        {
            "text": PAYLOADS,
            "number": [-1.5, 2, -3, 0, 1e6, -0.25, 7, 8, 9, 10],
            "label": ["#N/A", "#DIV/0!", "ok", "=A1", "+1", "-1", "@SUM(A1)", "中文", "x", "y"],
        }
    )
    data = E.workbook_bytes([E.SheetSpec("Payloads", frame, {"number": "money"})])
    assert_no_formula(data)
    xml = next(iter(sheet_xml(data).values()))
    # Numeric cells are numbers: <c r="B2" ... t="n"><v>-1.5</v>.
    assert re.search(r'<c r="B2"[^>]*t="n"[^>]*><v>-1.5</v>', xml)
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


def test_control_characters_do_not_break_the_export() -> None:
    nasty = "".join(chr(c) for c in range(0, 32)) + "end"
    frame = pd.DataFrame({"v": [nasty, "a\x01b\x0bc", "\ufffe\uffffok"], "n": [1, 2, 3]})
    data = E.workbook_bytes([E.SheetSpec("Ctrl", frame)])
    sheet = load_workbook(io.BytesIO(data))["Ctrl"]
    assert sheet["A2"].value == "\t\n\rend" and sheet["A2"].quotePrefix  # tab, LF, CR kept; the rest stripped
    assert sheet["A3"].value == "abc"
    assert sheet["A4"].value == "ok"
    assert_no_formula(data)


def test_cjk_round_trip_formats_widths_and_layout() -> None:
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
    data = E.workbook_bytes([E.SheetSpec("客户 列表", frame, {"金额": "money", "占比": "percent"})])
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


def test_sheet_names_are_sanitised_and_unique() -> None:
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
    wb = load_workbook(io.BytesIO(E.workbook_bytes(specs)))
    assert len(set(wb.sheetnames)) == 3
    assert all(len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) for n in wb.sheetnames)


def test_key_value_sheet() -> None:
    rows = [["Heading"], ["As-of date", "2024-06-30"], ["Customers", 123], ["Danger", "=1+2"], []]
    data = E.workbook_bytes([E.SheetSpec("About", rows=rows)])
    sheet = load_workbook(io.BytesIO(data))["About"]
    assert sheet["A1"].value == "Heading" and sheet["A1"].font.b
    assert sheet["B3"].value == 123 and sheet["B4"].value == "=1+2" and sheet["B4"].quotePrefix
    assert_no_formula(data)


def test_empty_workbook_and_frame() -> None:
    data = E.workbook_bytes([E.SheetSpec("Empty", pd.DataFrame({"a": [], "b": []}))])
    sheet = load_workbook(io.BytesIO(data))["Empty"]
    assert [c.value for c in sheet[1]] == ["a", "b"]
    assert load_workbook(io.BytesIO(E.workbook_bytes([]))).sheetnames


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
            "INSERT INTO orders SELECT dataset_id, order_id, customer_id, order_ts, amount, NULL, NULL, NULL, FALSE FROM df"
        )
    return ds


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_segment_workbook_is_safe_and_self_describing(ws: Workspace, lang: str) -> None:
    ds = _hostile_dataset(ws)
    settings = S.SegmentSettings()
    data = E.segment_workbook(ws, ds, settings, as_of=date(2024, 6, 30), lang=lang)
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
    data = E.segment_workbook(ws, ds, scheme="rfm", groups=["lost", "champions"], lang="zh",
                              as_of=date(2024, 6, 30))
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["说明", "汇总", "已流失", "冠军客户"]
    with pytest.raises(ValueError):
        E.segment_workbook(ws, ds, groups=["nonsense"])
    with ws.transaction() as cur:
        empty = ws.ensure_dataset(cur, "empty")
    data = E.segment_workbook(ws, empty, lang="en")
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["About", "Summary"]
    notes = [row[1] for row in wb["About"].iter_rows(values_only=True) if row and row[0] == "•"]
    assert any("nothing to segment" in n for n in notes)


def test_segment_csv(ws: Workspace) -> None:
    ds = _hostile_dataset(ws)
    data = E.segment_csv(ws, ds, as_of=date(2024, 6, 30), lang="zh", group="dormant")
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "客户编号" and rows[0][1] == "层级"
    assert all(r[1] == "沉睡用户" for r in rows[1:])
    for r in rows[1:]:
        assert not r[0].startswith(("=", "+", "-", "@", "\t", "\r", "\n"))
    everyone = list(csv.reader(io.StringIO(E.segment_csv(ws, ds, as_of=date(2024, 6, 30)).decode("utf-8-sig"))))
    assert len(everyone) - 1 == len(S.segment_customers(ws, ds, None, date(2024, 6, 30)))


def test_write_segment_export_by_file_type(ws: Workspace, tmp_path) -> None:
    ds = _hostile_dataset(ws)
    xlsx = E.write_segment_export(ws, ds, tmp_path / "out" / "seg.xlsx", as_of=date(2024, 6, 30),
                                  window_days=90, scheme="rfm", lang="zh")
    wb = load_workbook(xlsx)
    about = {row[0]: row[1] for row in wb["说明"].iter_rows(values_only=True) if row and row[0]}
    assert about["回看窗口"].startswith("90 天") and about["分组方式"] == "RFM 分群"
    csv_path = E.write_segment_export(ws, ds, tmp_path / "seg.csv", as_of=date(2024, 6, 30))
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    with pytest.raises(ValueError):
        E.write_segment_export(ws, ds, tmp_path / "seg.pdf")
    with pytest.raises(ValueError):
        E.write_segment_export(ws, ds, tmp_path / "seg.xlsx", window_days=0)
