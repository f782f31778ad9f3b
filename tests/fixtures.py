"""Small import fixture files, built as bytes at test time.

Why: the importer has to cope with what Chinese back offices, Excel and public
datasets really export — GB18030/GBK and UTF-16 text, BOMs, workbooks with ids as
numbers, line-item files with cancellations, hostile text and outright garbage.
Building each case in a few lines here (instead of shipping binary files) keeps
every fixture readable next to the test that uses it, and lets a test vary one
detail (encoding, limit, id format) without a new file in the repository.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from collections.abc import Sequence

import pandas as pd

# --------------------------------------------------------------------------
# Text encodings
# --------------------------------------------------------------------------

CHINESE_ORDER_HEADERS = ["订单编号", "买家ID", "付款时间", "实付金额", "渠道", "订单状态"]

# Rows of a small Tmall-style order export. The first buyer name uses characters
# outside GBK (𠀀 is in CJK Extension B, only GB18030 and Unicode encodings have it).
_CHINESE_ORDER_ROWS = [
    ["202410070000000001", "𠀀小明€", "2024-10-07 10:00:00", "￥1,234.50", "抖音", "交易成功"],
    ["202410070000000002", "张三", "2024-10-07 11:30:00", "￥88.00", "天猫", "交易成功"],
    ["202410070000000003", "李四", "2024-10-08 09:15:00", "￥120.00", "小红书", "已退款"],
]
# The same rows with only characters that Windows' GBK (code page 936) can hold.
_GBK_ORDER_ROWS = [
    ["202410070000000001", "王小明€", "2024-10-07 10:00:00", "￥1,234.50", "抖音", "交易成功"],
    *_CHINESE_ORDER_ROWS[1:],
]

TEXT_ENCODINGS = ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-le", "utf-16-be"]


def csv_text(rows: Sequence[Sequence[object]], delimiter: str = ",", newline: str = "\n") -> str:
    """Rows (header first) as CSV text, quoted where needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerows(rows)
    return buffer.getvalue()


def encode(text: str, encoding: str) -> bytes:
    """Text as a file in ``encoding``.

    ``gbk`` follows Windows' code page 936, as Excel and Chinese back offices
    write it: "€" is the single byte 0x80 (Python's own gbk codec cannot encode it).
    """
    if encoding == "gbk":
        return b"\x80".join(part.encode("gbk") for part in text.split("€"))
    return text.encode(encoding)


def chinese_orders_rows(encoding: str) -> list[list[str]]:
    """The header and rows that ``chinese_orders_csv(encoding)`` holds."""
    body = _GBK_ORDER_ROWS if encoding == "gbk" else _CHINESE_ORDER_ROWS
    return [list(CHINESE_ORDER_HEADERS), *[list(r) for r in body]]


def chinese_orders_csv(encoding: str) -> bytes:
    """A Chinese order export (订单编号, 买家ID, …) in the given encoding."""
    return encode(csv_text(chinese_orders_rows(encoding)), encoding)


def short_gbk_csv() -> bytes:
    """Two lines of GBK: too short for statistical detection, must still decode as GB18030."""
    return encode("姓名,城市\n张三,北京\n", "gbk")


def undecodable_csv() -> bytes:
    """Bytes that are neither UTF-8, UTF-16 nor GB18030 (0xFF is never valid in GB18030)."""
    return b"order_id,amount\n1,\xff\xfe\xff\x80\n2,\xff\xff\n"


# --------------------------------------------------------------------------
# Garbage
# --------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_renamed_csv() -> bytes:
    """The start of a real PNG (signature + IHDR chunk) followed by noise."""
    ihdr = b"\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"
    return PNG_SIGNATURE + ihdr + random_bytes(512, seed=7)


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def header_only_csv() -> bytes:
    return "订单编号,买家ID,付款时间,实付金额\n".encode("utf-8")


def one_column_csv() -> bytes:
    """A file whose rows disagree on the delimiter, so it would sniff to one column."""
    return (
        "订单编号;买家ID;付款时间;实付金额\n"
        "1;a\n"
        "2;b;2024-01-01;5;extra;more\n"
        "3\n"
        "4;d;e\n"
    ).encode("utf-8")


# --------------------------------------------------------------------------
# Spreadsheets and columnar files
# --------------------------------------------------------------------------


def xlsx_bytes(rows: Sequence[Sequence[object]], sheet_title: str = "订单") -> bytes:
    """A one-sheet workbook written by openpyxl; cells keep their Python types (str stays text)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _rewrite_zip(data: bytes, replace: dict[str, bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            payload = replace.get(info.filename, source.read(info.filename))
            target.writestr(info.filename, payload, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        for name, payload in replace.items():
            if name not in source.namelist():
                target.writestr(name, payload, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def zip_bomb_xlsx(expanded_bytes: int) -> bytes:
    """A valid workbook whose sheet XML is padded to ``expanded_bytes`` of highly compressible text.

    Keep ``expanded_bytes`` small in tests and lower the importer's limit instead.
    """
    base = xlsx_bytes([["order_id", "amount", "date"], ["1", 5, "2024-01-01"]])
    sheet = zipfile.ZipFile(io.BytesIO(base)).read("xl/worksheets/sheet1.xml")
    # A comment before the root element is legal XML and compresses ~1000:1.
    padding = b"<!--" + b" " * max(0, expanded_bytes - len(sheet) - 7) + b"-->"
    return _rewrite_zip(base, {"xl/worksheets/sheet1.xml": padding + sheet})


_LAUGHS = (
    '<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10)
    )
    + "]>\n"
)
_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SHARED_STRINGS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def shared_strings_xlsx(shared_text: str = "hello", prolog: str = "") -> bytes:
    """A workbook whose cell B2 points into xl/sharedStrings.xml (openpyxl itself writes inline strings).

    ``prolog`` goes between the XML declaration and the root element: a DOCTYPE
    for the billion-laughs case.
    """
    base = xlsx_bytes([["order_id", "note"], ["1", "placeholder"]])
    source = zipfile.ZipFile(io.BytesIO(base))
    sheet = source.read("xl/worksheets/sheet1.xml").decode("utf-8")
    sheet = sheet.replace(
        '<c r="B2" t="inlineStr"><is><t>placeholder</t></is></c>', '<c r="B2" t="s"><v>0</v></c>'
    )
    types = source.read("[Content_Types].xml").decode("utf-8").replace(
        "</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SHARED_STRINGS_TYPE}"/></Types>'
    )
    rels = source.read("xl/_rels/workbook.xml.rels").decode("utf-8").replace(
        "</Relationships>",
        f'<Relationship Id="rIdShared" Type="{_SHARED_STRINGS_REL}" Target="sharedStrings.xml"/></Relationships>',
    )
    shared = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + prolog
        + '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        + f"<si><t>{shared_text}</t></si></sst>"
    )
    return _rewrite_zip(base, {
        "xl/worksheets/sheet1.xml": sheet.encode("utf-8"),
        "[Content_Types].xml": types.encode("utf-8"),
        "xl/_rels/workbook.xml.rels": rels.encode("utf-8"),
        "xl/sharedStrings.xml": shared.encode("utf-8"),
    })


def billion_laughs_xlsx(comment_padding: int = 0) -> bytes:
    """A workbook whose sharedStrings.xml declares nested entities (the "billion laughs").

    ``comment_padding`` pushes the DOCTYPE further into the file behind an XML
    comment (legal XML), to check the guard does not only look at the first bytes.
    """
    padding = "<!--" + " " * comment_padding + "-->\n" if comment_padding else ""
    return shared_strings_xlsx("&lol9;", prolog=padding + _LAUGHS)


# --------------------------------------------------------------------------
# Order layouts
# --------------------------------------------------------------------------

ONLINE_RETAIL_HEADER = [
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country",
]
# The public "Online Retail" layout: one row per item. 536365 has two lines
# (6 × 2.55 + 6 × 3.39 = 35.64); C536379 is a cancellation; 536414 is a guest
# line with UnitPrice 0; 536544 is a guest purchase.
ONLINE_RETAIL_ROWS = [
    ["536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "6", "12/1/2010 8:26", "2.55", "17850", "United Kingdom"],
    ["536365", "71053", "WHITE METAL LANTERN", "6", "12/1/2010 8:26", "3.39", "17850", "United Kingdom"],
    ["536366", "22633", "HAND WARMER UNION JACK", "6", "12/1/2010 8:28", "1.85", "17850", "United Kingdom"],
    ["536367", "84879", "ASSORTED COLOUR BIRD ORNAMENT", "32", "12/1/2010 8:34", "1.69", "13047", "United Kingdom"],
    ["C536379", "D", "Discount", "-1", "12/1/2010 9:41", "27.50", "14527", "United Kingdom"],
    ["C536383", "35004C", "SET OF 3 COLOURED  FLYING DUCKS", "-1", "12/1/2010 9:49", "4.65", "15311", "United Kingdom"],
    ["536414", "22139", "", "56", "12/1/2010 11:52", "0", "", "United Kingdom"],
    ["536544", "21773", "DECORATIVE ROSE BATHROOM BOTTLE", "1", "12/1/2010 14:32", "2.51", "", "United Kingdom"],
    ["536544", "21774", "DECORATIVE CATS BATHROOM BOTTLE", "2", "12/1/2010 14:32", "2.51", "", "United Kingdom"],
]


def online_retail_csv() -> bytes:
    return csv_text([ONLINE_RETAIL_HEADER, *ONLINE_RETAIL_ROWS]).encode("utf-8")


def chinese_status_csv() -> bytes:
    """A Chinese order-level export with refunds by status and by negative amount, and a guest order."""
    rows = [
        CHINESE_ORDER_HEADERS,
        ["A001", "u1", "2024-10-07 10:00", "100.00", "抖音", "交易成功"],
        ["A002", "u1", "2024-10-08 10:00", "50.00", "抖音", "已退款"],
        ["A003", "u2", "2024-10-09 10:00", "80.00", "天猫", "交易关闭"],
        ["A004", "u3", "2024-10-10 10:00", "-30.00", "天猫", "交易成功"],
        ["A005", "", "2024-10-11 10:00", "60.00", "京东", "交易成功"],
        ["A006", "u2", "2024-10-12 10:00", "70.00", "京东", "交易成功"],
    ]
    return csv_text(rows).encode("utf-8")


def orders_csv(order_ids: Sequence[str], *, customer: str = "c", day: str = "2024-03-01", amount: str = "10") -> bytes:
    """A minimal English order file with the given ids (one order per row)."""
    rows = [["order_id", "customer_id", "order_date", "amount"]]
    rows += [[oid, f"{customer}{i % 7}", day, amount] for i, oid in enumerate(order_ids)]
    return csv_text(rows).encode("utf-8")


ID_FIDELITY_ROWS = [
    ["order_id", "customer_id", "sku", "order_date", "amount"],
    ["123456789012345678", "000123", "1E10", "2024-10-07", "10.00"],
    ["987654321098765432", "0013800138000", "00042", "2024-10-08", "20.00"],
]

INJECTION_TEXTS = ['=HYPERLINK("http://x","c")', '"; DROP TABLE orders; --', "x'); DELETE FROM datasets; --"]


def injection_csv() -> bytes:
    """Formula- and SQL-looking text in ids, names and a column name."""
    rows = [
        ["order_id", "customer_id", "order_date", "amount", '"; DROP TABLE orders; --', "channel"],
        [INJECTION_TEXTS[0], INJECTION_TEXTS[1], "2024-01-02", "10", "x", INJECTION_TEXTS[2]],
        [INJECTION_TEXTS[1], INJECTION_TEXTS[0], "2024-01-03", "20", "y", INJECTION_TEXTS[0]],
    ]
    return csv_text(rows).encode("utf-8")


HTML_COLUMN = "<img src=x onerror=alert(1)>"


def html_header_csv() -> bytes:
    rows = [["order_id", "order_date", "amount", HTML_COLUMN], ["1", "2024-01-02", "5", "<b>hi</b>"]]
    return csv_text(rows).encode("utf-8")


# --------------------------------------------------------------------------
# Channel layouts
# --------------------------------------------------------------------------


def wide_channels_csv() -> bytes:
    """One column per channel and measure, Robyn-style suffixes included."""
    rows = [
        ["week", "douyin_spend", "douyin_impressions", "xiaohongshu_spend", "xiaohongshu_clicks", "tv_S", "revenue"],
        ["2024-01-01", "1,000", "50000", "500", "120", "2000", "90000"],
        ["2024-01-08", "1,100", "52000", "450", "", "0", "95000"],
        ["2024-01-15", "900", "48000", "600", "130", "2100", "91000"],
    ]
    return csv_text(rows).encode("utf-8")


def long_chinese_channels_csv() -> bytes:
    """One row per week × channel with Chinese headers."""
    rows = [
        ["周", "渠道", "花费", "曝光", "新客数"],
        ["2024-01-01", "抖音", "¥1,000", "50000", "30"],
        ["2024-01-01", "小红书", "¥500", "20000", "12"],
        ["2024-01-08", "抖音", "¥1,100", "52000", "33"],
        ["2024-01-08", "小红书", "¥450", "", "10"],
    ]
    return csv_text(rows).encode("gb18030")
