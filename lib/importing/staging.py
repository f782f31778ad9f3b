"""Order files read and typed by DuckDB: a streaming import whose memory does not grow with the file.

Why: the first importer read a file into bytes, decoded it, split it with Python's csv
module and parsed it with pandas — about 8× DuckDB's own ``read_csv`` and 1 GB per
million rows. Here a file is read by DuckDB's vectorised readers in a private scratch
database with a memory limit and a temporary directory, so it spills instead of growing.
A CSV is typed in the same statement that reads it: ``read_csv`` feeds one projection
that parses money such as ``¥1,234.50`` and ``(12.00)``, Chinese and ISO dates, refund
statuses and ids cleaned of a spreadsheet's ``.0``, checks every row, and keeps the
file's text only for the rows it turns away — so rejects keep their line and value
without the file ever being stored as a table of text. A row's line is its position
(DuckDB keeps the file's order); a file whose rows span lines (quoted line breaks) is
numbered by the breaks instead. Workbooks (streamed row by row in Arrow batches),
Parquet files and the small tables the Python reader makes go through the same
projection (:func:`load_frame`), so there is one definition of every parsing rule.

Text that is not UTF-8 is transcoded to a temporary UTF-8 file in chunks through
Python's incremental decoder in strict mode; the encoding is chosen on a sample
(:func:`lib.importing.decode_text`'s rules) and never changed afterwards: a UTF-8 file
with one bad byte is refused, never re-read as GB18030.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import shutil
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from lib.importing import limits
from lib.importing.reading import (
    _CP936_EURO,
    _NOT_TABLE_MAGIC,
    ImportFailed,
    _cell_text,
    _check_row_count,
    _detect_delimiter,
    _looks_binary,
    check_xlsx_archive,
    decode_text,
    normalize_headers,
)

if TYPE_CHECKING:  # frames only for tables already read and for a page's preview: an order CSV never loads pandas
    import pandas as pd

# DuckDB's share of an import; the rest of the process (Python, Arrow batches) stays well under another 500 MB.
IMPORT_MEMORY_LIMIT = "600MB"
# While the orders stream into the workspace the scratch database only scans them: its share drops to this, so
# the workspace's write fits beside it (ten million orders: 1.10 → 0.77 GB peak, no more CPU). A million orders
# (about 150 MB typed) stay in memory.
COMMIT_SCRATCH_MEMORY_LIMIT = "400MB"
SAMPLE_BYTES = 1024 * 1024
CHUNK_BYTES = 4 * 1024 * 1024
# Extra columns read past the header's width, so a row with too many fields is seen (and reported) rather than cut.
_OVERHANG = 4
_XLSX_BATCH_ROWS = 50_000
# Orders per Arrow batch streamed into the workspace at commit: two of DuckDB's row groups (122,880 rows), so
# batches and row groups line up (0.05 s less than 100,000 at a million orders). One stream, one INSERT: Arrow
# tables of a million rows inserted in parallel took no less CPU and 0.7 GB more memory at ten million orders.
COMMIT_BATCH_ROWS = 245_760
# Stands for "missing" in DuckDB's CSV reader: no real cell holds it, so an empty cell stays "" and only a short
# row's padding is NULL.
_NO_NULL = "\x01\x02growth-planner-no-null"

DATE_FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y%m%d", "%Y%m%d%H%M%S",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%d.%m.%Y",
]

# The parsing rules as SQL macros (constant SQL; the date formats are a bound list). Macros expand in place, so
# each one uses its argument few times and the cheap test comes first (CASE evaluates only the branch it takes).
_MACROS = (
    # Full-width digits and signs as NFKC would fold them (DuckDB has no NFKC).
    "CREATE OR REPLACE TEMP MACRO gp_fold(x) AS "
    "trim(translate(x, '０１２３４５６７８９．，－（）＋　￥＄', '0123456789.,-()+ ¥$'))",
    # A number once currency signs, thousands separators and spaces are gone; NaN is no amount.
    "CREATE OR REPLACE TEMP MACRO gp_plain(v) AS nullif(TRY_CAST(nullif(replace(replace(replace(replace(replace("
    "replace(replace(replace(replace(v, '¥', ''), ',', ''), ' ', ''), '$', ''), '元', ''), '，', ''), '€', ''), "
    "'£', ''), '￥', ''), '') AS DOUBLE), 'NaN'::DOUBLE)",
    "CREATE OR REPLACE TEMP MACRO gp_plain_words(v) AS coalesce(gp_plain(v), "
    "nullif(TRY_CAST(nullif(regexp_replace(v, '[¥￥$€£,，\\s]|元|RMB|CNY|USD', '', 'gi'), '') AS DOUBLE), "
    "'NaN'::DOUBLE))",
    "CREATE OR REPLACE TEMP MACRO gp_ts_text(x) AS regexp_replace(regexp_replace(trim(x), '(\\d)T(\\d)', '\\1 \\2'), "
    "'(\\.\\d{1,6})?([+-]\\d{2}:?\\d{2}|Z)$', '')",
    "CREATE OR REPLACE TEMP MACRO gp_in_range(t) AS "
    "CASE WHEN t >= TIMESTAMP '1900-01-01' AND t < TIMESTAMP '2200-01-01' THEN t END",
    # ISO text (the common case) by the fast cast; every other format by the list. Placeholders such as
    # 9999-12-31 are not order dates.
    "CREATE OR REPLACE TEMP MACRO gp_iso(x) AS CASE WHEN (length(x) = 19 AND substr(x, 11, 1) = ' ' OR length(x) = 10) "
    "AND substr(x, 5, 1) = '-' THEN TRY_CAST(x AS TIMESTAMP) END",
    # Unchecked for range: the import applies gp_in_range one projection later, so the cast runs once per cell.
    "CREATE OR REPLACE TEMP MACRO gp_ts_any(x, formats) AS coalesce(gp_iso(x), try_strptime(gp_ts_text(x), formats))",
    "CREATE OR REPLACE TEMP MACRO gp_ts(x, formats) AS gp_in_range(gp_ts_any(x, formats))",
)



def money_sql(source: str) -> str:
    """A SELECT over ``source`` adding ``<field>_value`` for each money field, one step per nesting level.

    "¥1,234.50", "$1,234.50", "(12.00)" (−12), "1.2万" (12000) → DOUBLE; anything else → NULL. Plain numbers
    take the fast cast; the rest are folded, unbracketed, unit-scaled and stripped one level at a time, because a
    macro would repeat its argument's whole expression at every use. Field names are the code's own constants.
    """
    fields = ("amount", "quantity", "unit_price")
    # The fast cast, then the common "¥1,234.50" with only "¥" and "," dropped (a fifth of a Chinese shop's
    # amounts): whenever that casts, the full path below gives the same number, since folding, brackets and units
    # leave a castable text alone and gp_plain drops those two characters too. The "¥" text is tried in a CASE of
    # its own, so only for cells the fast cast refused: written twice in one projection, DuckDB computed it once
    # for every cell (a million rows: 0.1 CPU-s).
    cast = ", ".join(
        f"TRY_CAST({f} AS DOUBLE) AS {f}_cast, CASE WHEN TRY_CAST({f} AS DOUBLE) IS NULL THEN "
        f"TRY_CAST(replace(replace({f}, ',', ''), '¥', '') AS DOUBLE) END AS {f}_yen" for f in fields)
    first = ", ".join(
        f"nullif(coalesce({f}_cast, {f}_yen), 'NaN'::DOUBLE) AS {f}_fast, "
        f"CASE WHEN {f}_cast IS NULL AND {f}_yen IS NULL THEN gp_fold({f}) END AS {f}_t"
        for f in fields)
    second = ", ".join(
        f"CASE WHEN starts_with({f}_t, '(') AND ends_with({f}_t, ')') THEN -1::DOUBLE ELSE 1::DOUBLE END AS {f}_sign, "
        f"CASE WHEN starts_with({f}_t, '(') AND ends_with({f}_t, ')') THEN substr({f}_t, 2, length({f}_t) - 2) "
        f"ELSE {f}_t END AS {f}_u" for f in fields)
    third = ", ".join(
        f"CASE WHEN ends_with({f}_u, '万') THEN 1e4::DOUBLE WHEN ends_with({f}_u, '亿') THEN 1e8::DOUBLE "
        f"ELSE 1::DOUBLE END AS {f}_scale, "
        f"CASE WHEN ends_with({f}_u, '万') OR ends_with({f}_u, '亿') THEN substr({f}_u, 1, length({f}_u) - 1) "
        f"ELSE {f}_u END AS {f}_v" for f in fields)
    last = ", ".join(
        f"coalesce({f}_fast, {f}_sign * {f}_scale * gp_plain_words({f}_v)) AS {f}_value" for f in fields)
    return (f"SELECT *, {last} FROM (SELECT *, {third} FROM (SELECT *, {second} FROM "
            f"(SELECT *, {first} FROM (SELECT *, {cast} FROM {source}))))")



# One row per order: a file of orders as it is, an order-line file's lines summed per order id. Then refunds are
# decided per order: a status that says so, a C-invoice, a negative total or quantity; a refund-status order
# with a positive amount and no original order refers to itself (see lib.metrics' ledger).
_STAGED_SQL = """
    CREATE OR REPLACE TEMP TABLE staged_orders AS
    WITH grouped AS (%s), decided AS (
        SELECT *, by_status OR by_id OR amount < 0 OR coalesce(quantity < 0, false) AS is_refund FROM grouped
    )
    SELECT order_id, customer_id, order_ts,
           CASE WHEN is_refund THEN -abs(amount) ELSE amount END AS amount, quantity, channel, status, is_refund,
           CASE WHEN by_status AND NOT by_id AND amount > 0 AND original_order_id IS NULL THEN order_id
                ELSE original_order_id END AS original_order_id
    FROM decided %s
"""
_STAGED_FROM_LINES = _STAGED_SQL % ("""
    SELECT oid AS order_id, customer_id, ts AS order_ts, amt AS amount, qty AS quantity, channel, status,
           by_status, by_id, original_order_id, line AS first_line
    FROM accepted WHERE NOT duplicate
""", "")  # already in file order (DuckDB keeps insertion order): no sort
_STAGED_FROM_GROUPS = _STAGED_SQL % ("""
    SELECT oid AS order_id,
           arg_min(customer_id, line) FILTER (WHERE customer_id IS NOT NULL) AS customer_id,
           min(ts) AS order_ts, sum(amt) AS amount, sum(qty) AS quantity,
           arg_min(channel, line) FILTER (WHERE channel IS NOT NULL) AS channel,
           arg_min(status, line) FILTER (WHERE status IS NOT NULL) AS status,
           bool_or(by_status) AS by_status, bool_or(by_id) AS by_id,
           arg_min(original_order_id, line) FILTER (WHERE original_order_id IS NOT NULL) AS original_order_id,
           min(line) AS first_line
    FROM accepted WHERE NOT duplicate GROUP BY oid
""", "ORDER BY first_line")

_ID_FIELDS = ("order_id", "customer_id", "channel", "status", "original_order_id")
_FLOAT_SAMPLE_ROWS = 2000
# Over the first rows; the count says whether one more row followed them (see _float_id_columns).
_FLOAT_SAMPLE_SQL = "SELECT " + ", ".join(
    f"coalesce(bool_and(regexp_full_match(trim({f}), '-?\\d+\\.0+')) FILTER (WHERE trim({f}) <> '' "
    f"AND n <= {_FLOAT_SAMPLE_ROWS}), false)"
    for f in _ID_FIELDS) + (f", count(*) FROM (SELECT *, row_number() OVER () AS n FROM "
                            f"(SELECT * FROM fields LIMIT {_FLOAT_SAMPLE_ROWS + 1}))")
_FLOAT_IDS_SQL = {
    f: f"SELECT coalesce(bool_and(regexp_full_match(trim({f}), '-?\\d+\\.0+')) FILTER (WHERE trim({f}) <> ''), false) "
    "FROM fields" for f in _ID_FIELDS
}
# Ids trimmed, empty → missing; and, where every value of the column is an integral float, without ".0".
_ID_EXPR = {
    strip: {f: (f"nullif(regexp_replace(trim({f}), '\\.0+$', ''), '')" if strip else f"nullif(trim({f}), '')")
            for f in ("order_id", "customer_id", "channel", "status", "original_order_id")}
    for strip in (False, True)
}
# A cancellation invoice "C536379": ids without a C skip the trimming and the pattern (a tenth of the typing).
_C_INVOICE_EXPR = (
    "CASE WHEN contains(order_id, 'C') OR contains(order_id, 'c') THEN "
    "coalesce((starts_with(ltrim(order_id), 'C') OR starts_with(ltrim(order_id), 'c')) "
    "AND regexp_full_match(trim(order_id), '[Cc]\\d+'), false) ELSE false END AS by_id"
)

_REFUND_PATTERN = "退款|已退|退货|取消|关闭|作废|cancel|refund|return|void|chargeback"


def import_connection(temp_dir: str | os.PathLike[str] | None = None) -> duckdb.DuckDBPyConnection:
    """A private DuckDB for one import: bounded memory, spilling to a temporary directory, never the workspace."""
    from lib.workspace import scratch_connection  # lib.workspace imports this package (inplace): not at the top

    con = scratch_connection(memory_limit=IMPORT_MEMORY_LIMIT)
    if temp_dir is not None:
        con.execute("SET temp_directory = $dir", {"dir": str(temp_dir)})
    con.execute("SET preserve_insertion_order = true")
    for macro in _MACROS:
        con.execute(macro)
    return con


@dataclass
class CsvFile:
    """A delimited text file DuckDB reads in place: UTF-8 (transcoded when it was not), its header skipped."""

    path: Path
    delimiter: str
    header_lines: int
    lines: int  # physical lines up to the last one with content
    width: int  # the header's number of fields
    sample: Path | None = None  # the file's first rows alone (see _first_rows), when the file is bigger than that


@dataclass
class Source:
    """A file ready for :func:`stage_orders`: a CSV read in place (``csv``) or rows in the scratch table ``raw_read``.

    ``raw_read`` holds ``line`` then ``c0`` … ``c{n-1}`` as text, beside the table ``malformed``.
    """

    columns: list[str]
    file_format: str
    encoding: str | None = None
    sheet: str | None = None
    csv: CsvFile | None = None


# --------------------------------------------------------------------------
# Reading a file in place
# --------------------------------------------------------------------------


def _read_sample(path: Path) -> bytes:
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                return gz.read(SAMPLE_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            raise ImportFailed("not_a_table", "The compressed file is damaged.", what="damaged_gzip") from exc
    return head


def _sample_encoding(sample: bytes, complete: bool) -> tuple[str, str]:
    """The encoding the whole file will be read with, chosen on its first megabyte, and that sample's text."""
    if complete:
        text, encoding = decode_text(sample)
        return encoding, text
    if sample.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        even, odd, half = sample[0::2].count(0), sample[1::2].count(0), max(1, len(sample) // 2)
        if odd > 0.3 * half and even < 0.05 * half:
            candidates = ["utf-16-le"]
        elif even > 0.3 * half and odd < 0.05 * half:
            candidates = ["utf-16-be"]
        else:
            candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)(_CP936_EURO if encoding == "gb18030" else "strict")
        try:
            text = decoder.decode(sample, final=False)  # a character cut at the sample's end is not an error
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            raise ImportFailed("not_a_table", "The file holds binary data, not a table.", what="binary")
        return encoding, text.lstrip("\ufeff")
    raise ImportFailed(
        "unknown_encoding",
        "The file is not UTF-8, UTF-16 or GB18030/GBK text. Save it as UTF-8 CSV and try again.",
    )


def _open_bytes(path: Path) -> io.BufferedIOBase:
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


@dataclass
class _Text:
    """The UTF-8 file DuckDB reads, and its physical line count (to number rows without a window when it can)."""

    path: Path
    lines: int


def _stream_utf8(path: Path, encoding: str, out_dir: Path) -> _Text:
    """Count (and, unless it already is plain UTF-8, write) the file as UTF-8 text in chunks.

    Plain UTF-8 is left where it is: DuckDB's reader checks every byte itself (see
    :func:`_read_csv`). Anything else is decoded in strict mode with the encoding chosen
    on the sample, and refused at the first byte that encoding cannot decode.
    """
    with open(path, "rb") as handle:
        plain = encoding in ("utf-8", "utf-8-sig") and handle.read(2) != b"\x1f\x8b"
    newlines, tail = 0, b""
    if plain:  # the header (and a BOM with it) is skipped by line count, so a BOM needs no rewrite either
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                newlines += chunk.count(b"\n")
                tail = (tail + chunk[-4096:])[-4096:]  # not the whole 4 MB chunk copied again
        return _Text(path, _content_lines(newlines, tail.decode("utf-8", "replace")))
    decoder = codecs.getincrementaldecoder(encoding)(_CP936_EURO if encoding == "gb18030" else "strict")
    target = out_dir / "utf8.csv"
    total = 0
    text_tail = ""
    with _open_bytes(path) as source, open(target, "w", encoding="utf-8", newline="") as writer:
        first = True
        while True:
            try:
                chunk = source.read(CHUNK_BYTES)
            except (OSError, EOFError, zlib.error) as exc:
                raise ImportFailed("not_a_table", "The compressed file is damaged.", what="damaged_gzip") from exc
            total += len(chunk)
            if total > limits.MAX_GZIP_UNCOMPRESSED:
                raise ImportFailed("bomb", "The compressed file expands to more than 1 GB; it was not opened.")
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise ImportFailed(
                    "unknown_encoding",
                    f"The file is not {encoding.upper()} text throughout (a bad byte about "
                    f"{total - len(chunk) + exc.start:,} bytes in). Save it as UTF-8 CSV and try again.",
                ) from exc
            if first:
                text, first = text.lstrip("\ufeff"), False
            if "\x00" in text:
                raise ImportFailed("not_a_table", "The file holds binary data, not a table.", what="binary")
            writer.write(text)
            newlines += text.count("\n")
            text_tail = (text_tail + text)[-4096:]
            if not chunk:
                break
    return _Text(target, _content_lines(newlines, text_tail))


def _content_lines(newlines: int, tail: str) -> int:
    """Physical lines up to the last one with content (DuckDB skips blank lines, trailing ones too)."""
    content = tail.rstrip(" \t\r\n")
    run = tail[len(content):]
    if not content and len(tail) < 4096:
        return 0
    return newlines - run.count("\n") + 1


def _header_span(text: str, delimiter: str) -> tuple[list[str], int]:
    """The header's cells and the number of physical lines up to and including it (blank lines before it too)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    for cells in reader:
        if cells and any(c.strip() for c in cells):
            return cells, reader.line_num
    return [], 0


def read_file(con: duckdb.DuckDBPyConnection, path: Path, file_name: str, work_dir: Path,
              max_rows: int) -> Source | None:
    """Prepare a file for :func:`stage_orders`; None when only the exact Python reader will do.

    A CSV is not read here: its text is typed straight from ``read_csv`` in one pass
    (:func:`stage_orders`), so the file's cells are never stored as a table of text.
    Workbooks and Parquet files are read into the scratch table ``raw_read``. The
    Python reader (:func:`lib.importing.read_table`) is kept for what DuckDB's reader
    would number differently or cannot split: whitespace-separated text and blank lines
    between rows.
    """
    if path.stat().st_size == 0:
        raise ImportFailed("empty_file", "The file is empty.")
    sample = _read_sample(path)
    if not sample:
        raise ImportFailed("empty_file", "The file is empty.")
    if sample[:4] == b"PK\x03\x04":
        return _read_xlsx(con, path, max_rows)
    if sample[:4] == b"PAR1":
        return _read_parquet(con, path, max_rows)
    for magic, (what, english) in _NOT_TABLE_MAGIC.items():
        if sample.startswith(magic):
            raise ImportFailed("not_a_table", f"This is a {english}, not a table.", what=what)
    encoding, text = _sample_encoding(sample, len(sample) < SAMPLE_BYTES)
    sample_lines = [line for line in text[:200_000].splitlines() if line.strip()][:50]
    if not sample_lines:
        raise ImportFailed("empty_file", "The file is empty.")
    delimiter = _detect_delimiter(sample_lines)
    if delimiter is None:
        return None
    header, header_lines = _header_span(text, delimiter)
    columns = normalize_headers(header)
    if len(columns) == 1 and any(d in columns[0] for d in ",;\t|"):
        raise ImportFailed("one_column", "The file could not be split into columns; check its delimiter.")
    text_file = _stream_utf8(path, encoding, work_dir)
    if text_file.lines <= header_lines:
        raise ImportFailed("no_rows", "The file has a header but no rows.")
    csv_file = CsvFile(text_file.path, delimiter, header_lines, text_file.lines, len(columns),
                       _first_rows(text_file.path, work_dir))
    return Source(columns, "csv", encoding=encoding, csv=csv_file)


def _first_rows(path: Path, work_dir: Path) -> Path | None:
    """The UTF-8 file's first megabyte up to its last line break, as a file of its own; None when not worth it.

    The id columns' float test looks at the first rows only (:func:`_float_id_columns`);
    DuckDB reading them from a million-row file took 0.06 s, from this copy 0.015 s.
    Rows are read from the start, so every row but the copy's last (which a quoted line
    break may have cut) reads as in the whole file. A smaller file is read whole anyway.
    """
    if path.stat().st_size <= SAMPLE_BYTES:
        return None
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    end = head.rfind(b"\n")
    if end < 0:
        return None
    target = work_dir / "first_rows.csv"
    target.write_bytes(head[:end + 1])
    return target


def _csv_params(csv_file: CsvFile, parallel: bool) -> dict[str, Any]:
    return {"path": str(csv_file.path), "skip": csv_file.header_lines, "delim": csv_file.delimiter,
            "columns": {f"c{i}": "VARCHAR" for i in range(csv_file.width + _OVERHANG)}, "nostr": _NO_NULL,
            "max_line": limits.MAX_CELL_CHARS * 2, "parallel": parallel}


_READ_CSV = (
    "read_csv($path, auto_detect = false, header = false, skip = $skip, columns = $columns, delim = $delim, "
    "quote = '\"', escape = '\"', strict_mode = false, null_padding = true, nullstr = $nostr, "
    "max_line_size = $max_line, parallel = $parallel)"
)


def _row_flags(width: int) -> list[str]:
    """Per row of ``c0`` … (the header's width plus the overhang): its field count, whether it fits, whether blank.

    Code-made column names (c0, c1, …) and integers: nothing from the file reaches this SQL text. Cheap tests
    first (a NULL test is free, a first character is cheaper than a trim): OR/AND stop early.
    """
    cells = [f"c{i}" for i in range(width + _OVERHANG)]
    present = " + ".join(f"({c} IS NOT NULL)::INT" for c in cells)
    overhang = f"{cells[width]} IS NULL OR (" + " AND ".join(f"coalesce({c}, '') = ''" for c in cells[width:]) + ")"
    # Blank: every cell empty or spaces. Almost every row has a first cell that starts with a visible character
    # (a byte test); only the others are trimmed cell by cell.
    blank = ("CASE WHEN c0 <> '' AND NOT starts_with(c0, ' ') AND NOT starts_with(c0, chr(9)) THEN false ELSE "
             "NOT coalesce(" + " OR ".join(f"trim({c}) <> ''" for c in cells) + ", false) END")
    fits = f"c{width - 1} IS NOT NULL AND ({overhang})"
    why = (f"CASE WHEN NOT ({fits}) THEN 'expected {width} fields, found ' || CASE WHEN {present} >= "
           f"{width + _OVERHANG} THEN 'more' ELSE ({present})::VARCHAR END END AS why")
    return [f"({fits}) AS fits", f"({blank}) AS blank", why]


def _csv_relation(csv_file: CsvFile, numbered: bool) -> str:
    """The file's rows straight from ``read_csv``; ``numbered``: with their line (one physical line per row).

    Numbering in the projection reads the file in one thread; without it DuckDB reads in parallel.
    """
    line = [f"{csv_file.header_lines} + row_number() OVER () AS line"] if numbered else []
    select_list = ", ".join([*line, *_row_flags(csv_file.width), *(f"c{i}" for i in range(csv_file.width))])
    return f"SELECT {select_list} FROM {_READ_CSV}"


def _read_csv_table(con: duckdb.DuckDBPyConnection, csv_file: CsvFile) -> bool:
    """The slow path: the file's text into ``raw_read``, each row numbered by the line breaks before it.

    For a file whose rows do not each sit on one line (line breaks inside quoted cells):
    a row starts one line after the previous one plus the line breaks inside that row's
    cells. False when DuckDB cannot split the file or even that does not add up (blank
    lines between rows, which DuckDB skips): the exact Python reader decides.
    """
    sql = f"CREATE OR REPLACE TEMP TABLE raw_read AS SELECT * FROM {_READ_CSV}"
    if _run_read_csv(con, sql, csv_file) is None:
        return False
    width = csv_file.width
    cells = [f"c{i}" for i in range(width + _OVERHANG)]
    breaks = " + ".join(f"coalesce(length({c}) - length(replace({c}, chr(10), '')), 0)" for c in cells)
    select_list = ", ".join([
        f"{csv_file.header_lines + 1} + rowid + coalesce(sum({breaks}) OVER (ORDER BY rowid ROWS BETWEEN UNBOUNDED "
        f"PRECEDING AND 1 PRECEDING), 0) AS line", f"{breaks} AS breaks", *_row_flags(width), *cells[:width]])
    con.execute(f"CREATE OR REPLACE TEMP TABLE numbered_rows AS SELECT {select_list} FROM raw_read")
    con.execute("DROP TABLE raw_read")
    last_line = con.execute("SELECT max(line + breaks) FROM numbered_rows").fetchall()[0][0]
    return bool(last_line == csv_file.lines)


def _run_read_csv(con: duckdb.DuckDBPyConnection, sql: str, csv_file: CsvFile,
                  extra: dict[str, Any] | None = None) -> list[Any] | None:
    """Run a statement reading the CSV (in parallel, else in one pass); None when DuckDB cannot split the file."""
    try:
        try:
            return con.execute(sql, {**_csv_params(csv_file, True), **(extra or {})}).fetchall()
        except duckdb.Error as exc:
            if "parallel" not in str(exc):
                raise
            # quoted line breaks: read in one pass
            return con.execute(sql, {**_csv_params(csv_file, False), **(extra or {})}).fetchall()
    except duckdb.Error as exc:
        if "Invalid unicode" in str(exc):  # chosen on the sample, kept for the whole file: never re-read as GB18030
            raise ImportFailed(
                "unknown_encoding",
                f"The file is not UTF-8 text throughout ({str(exc).splitlines()[0].split(': ', 1)[-1]}). "
                "Save it as UTF-8 CSV and try again.",
            ) from exc
        return None  # a file DuckDB cannot split (a stray quote, an overlong line): the exact Python reader decides


def _check_rows(rows: int, max_rows: int) -> None:
    if rows == 0:
        raise ImportFailed("no_rows", "The file has a header but no rows.")
    _check_row_count(rows, max_rows)


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, max_rows: int) -> Source:
    import pyarrow.parquet as pq

    try:
        rows = pq.ParquetFile(path).metadata.num_rows  # from the footer: a "bomb" is refused before it expands
    except Exception as exc:  # pyarrow raises ArrowInvalid and friends
        raise ImportFailed("not_a_table", f"The Parquet file could not be read: {exc}", what="damaged_parquet") from exc
    _check_rows(rows, max_rows)
    try:
        described = con.execute("SELECT * FROM read_parquet($p) LIMIT 0", {"p": str(path)}).description
    except duckdb.Error as exc:
        raise ImportFailed("not_a_table", f"The Parquet file could not be read: {exc}", what="damaged_parquet") from exc
    # Columns by position (#1, #2, … → c0, c1, …): no name from the file reaches the SQL text. Each becomes text
    # the way read_table wrote it: integral floats without ".0", timestamps with a space, missing as "".
    parts = []
    for i, (_name, kind, *_rest) in enumerate(described):
        ref, alias = f"#{i + 1}", f"c{i}"
        if str(kind).upper() in ("DOUBLE", "FLOAT"):
            parts.append(f"CASE WHEN {ref} IS NULL OR isnan({ref}) THEN '' WHEN {ref} = floor({ref}) "
                         f"AND abs({ref}) < 1e15 THEN ({ref}::HUGEINT)::VARCHAR ELSE {ref}::VARCHAR END AS {alias}")
        else:
            parts.append(f"coalesce({ref}::VARCHAR, '') AS {alias}")
    select_list = ", ".join([f"#{len(described) + 1} + 1 AS line", *parts])
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE raw_read AS SELECT {select_list} FROM read_parquet($p, file_row_number = true)",
        {"p": str(path)})
    con.execute("CREATE OR REPLACE TEMP TABLE malformed (line BIGINT, why VARCHAR)")
    return Source(normalize_headers([str(d[0]) for d in described]), "parquet")


def _read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, max_rows: int) -> Source:
    """The first sheet with data, streamed row by row into DuckDB in Arrow batches (never a whole DataFrame)."""
    from python_calamine import CalamineWorkbook

    with open(path, "rb") as handle:
        check_xlsx_archive(handle)
    try:
        book = CalamineWorkbook.from_path(str(path))
        sheet_name, sheet, header_index, header_row = _first_sheet_with_data(book)
        columns = normalize_headers([_cell_text(v) for v in header_row])
        rows = _stream_sheet(con, sheet, header_index, len(columns), max_rows)
    except ImportFailed:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged books
        raise ImportFailed("not_a_table", f"The workbook could not be read: {exc}", what="damaged_workbook") from exc
    _check_rows(rows, max_rows)
    con.execute("CREATE OR REPLACE TEMP TABLE malformed (line BIGINT, why VARCHAR)")
    return Source(columns, "xlsx", sheet=sheet_name)


def _first_sheet_with_data(book: Any) -> tuple[str, Any, int, list[Any]]:
    """The first sheet with a non-empty row: its name, the sheet, that row's index (the header) and cells."""
    for sheet_name in book.sheet_names:
        sheet = book.get_sheet_by_name(sheet_name)
        offset = sheet.start[0] if sheet.start else 0
        for index, row in enumerate(sheet.iter_rows()):
            if any(_cell_text(v) for v in row):
                return sheet_name, sheet, offset + index, row
    raise ImportFailed("empty_file", "The workbook has no data.")


def _stream_sheet(con: duckdb.DuckDBPyConnection, sheet: Any, header_index: int, width: int, max_rows: int) -> int:
    """The sheet's rows after the header into ``raw_read`` (``line``, ``c0`` …), in Arrow batches; their count."""
    import pyarrow as pa

    schema = pa.schema([("line", pa.int64())] + [(f"c{i}", pa.string()) for i in range(width)])
    con.register("xlsx_batch", schema.empty_table())
    con.execute("CREATE OR REPLACE TEMP TABLE raw_read AS SELECT * FROM xlsx_batch")
    con.unregister("xlsx_batch")
    batch: list[list[Any]] = [[] for _ in range(width + 1)]

    def flush() -> None:
        table = pa.Table.from_arrays([pa.array(col, type=t.type) for col, t in zip(batch, schema)], schema=schema)
        con.register("xlsx_batch", table)
        con.execute("INSERT INTO raw_read SELECT * FROM xlsx_batch")
        con.unregister("xlsx_batch")
        for col in batch:
            col.clear()

    rows = 0
    first_line = (sheet.start[0] if sheet.start else 0) + 1
    for index, row in enumerate(sheet.iter_rows()):
        line = first_line + index
        cells = [_cell_text(v) for v in row]
        if line <= header_index + 1 or not any(cells):
            continue
        batch[0].append(line)
        for i, value in enumerate((cells + [""] * width)[:width], start=1):
            batch[i].append(value)
        rows += 1
        if rows > max_rows:
            _check_rows(rows, max_rows)
        if len(batch[0]) >= _XLSX_BATCH_ROWS:
            flush()
    if batch[0]:
        flush()
    return rows


def load_frame(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, lines: Any,
               malformed: list[tuple[int, str]]) -> None:
    """A table already read as text (:class:`lib.importing.RawTable`) into the same scratch tables."""
    import pandas as pd

    text = pd.DataFrame({f"c{i}": frame.iloc[:, i].astype(str).to_numpy() for i in range(frame.shape[1])})
    text.insert(0, "line", pd.Series(lines, dtype="int64").to_numpy())
    con.register("raw_frame", text)
    con.execute("CREATE OR REPLACE TEMP TABLE raw_read AS SELECT * FROM raw_frame")
    con.unregister("raw_frame")
    bad = pd.DataFrame({"line": pd.Series([n for n, _ in malformed], dtype="int64"),
                        "why": pd.Series([w for _, w in malformed], dtype=object)})
    con.register("malformed_frame", bad)
    con.execute("CREATE OR REPLACE TEMP TABLE malformed AS SELECT line::BIGINT AS line, why::VARCHAR AS why "
                "FROM malformed_frame")
    con.unregister("malformed_frame")


# --------------------------------------------------------------------------
# Typing orders in SQL
# --------------------------------------------------------------------------

_TEXT_FIELDS = ("order_id", "customer_id", "order_time", "amount", "quantity", "unit_price", "channel", "status",
                "original_order_id")
# Rows from a table already read (workbooks, Parquet, the Python reader): every one fits and none is blank. A row is
# typed when "fits AND NOT blank"; a CSV row with the wrong number of fields is malformed, a blank one skipped.
_TABLE_RELATION = "SELECT *, true AS fits, false AS blank, NULL::VARCHAR AS why FROM raw_read"


class NeedsExactReader(Exception):
    """DuckDB's reader cannot split or number this file's rows: the exact Python reader decides."""


def stage_orders(con: duckdb.DuckDBPyConnection, source: Source, mapping: dict[str, Any], file_stem: str,
                 existing_ids: Any, max_rows: int | None = None) -> dict[str, Any]:
    """Type the file's rows under ``mapping`` into ``staged_orders`` (one row per order) and ``rejects``.

    One pass: a CSV's cells go from ``read_csv`` through the parsing rules into the
    table ``parsed`` — typed values, each row's checks, and the file's text only for the
    rows turned away (so rejects keep their line and value without a second read).
    Returns the counts the report needs: rows read, rows accepted, and whether the
    file lists order lines (several rows per order id).
    """
    index = {name: i for i, name in enumerate(source.columns)}
    attributes = _attribute_names(source.columns, mapping)
    parse_params = {"formats": DATE_FORMATS, "refund": _REFUND_PATTERN,
                    **({} if mapping.get("order_id") else {"stem": file_stem})}
    if source.csv:
        strip = _type_csv(con, source.csv, mapping, index, attributes, parse_params)
    else:
        fields = _fields_sql(_TABLE_RELATION, mapping, index, attributes, with_line=True)
        strip = _float_id_columns(fields, lambda sql: con.execute(sql).fetchall())
        con.execute(_create_parsed_sql(fields, mapping, strip, attributes, with_line=True), parse_params)
        con.execute("CREATE OR REPLACE TEMP VIEW parsed AS SELECT * FROM parsed_rows")
    n, malformed_rows = _check_counts(con, max_rows)
    _decide_c_invoices(con, strip["order_id"], n)
    _accept(con, existing_ids)
    _collect_rejects(con, mapping)
    # One row per order (an order-line file's lines summed), refunds decided as lib.importing documents.
    lines_count, distinct_orders = _count_orders(con)
    staged_attributes = _stage_attributes(con, attributes)
    one_row_per_order = lines_count == distinct_orders
    if one_row_per_order:  # a view over the parsed rows: the orders are not copied once more
        con.execute(_STAGED_FROM_LINES.replace("CREATE OR REPLACE TEMP TABLE", "CREATE OR REPLACE TEMP VIEW", 1))
    else:
        con.execute(_STAGED_FROM_GROUPS)
        con.execute("DROP TABLE accepted" if existing_ids is not None and len(existing_ids) else "DROP VIEW accepted")
        con.execute("DROP VIEW parsed")
        con.execute("DROP TABLE parsed_rows")
    for leftover in ("raw_read", "numbered_rows"):  # the file's text: only the typed orders stay until confirmed
        con.execute(f"DROP TABLE IF EXISTS {leftover}")
    return {"rows_read": n + malformed_rows, "rows_accepted": int(lines_count),
            "line_level": int(distinct_orders) < int(lines_count), "lines": int(lines_count),
            "attributes": staged_attributes, "attribute_columns": attributes}


def _type_csv(con: duckdb.DuckDBPyConnection, csv_file: CsvFile, mapping: dict[str, Any], index: dict[str, int],
              attributes: list[str], parse_params: dict[str, Any]) -> dict[str, bool]:
    """Type a CSV straight from ``read_csv`` into ``parsed_rows``; returns which id columns lose a ".0".

    DuckDB reads in parallel and keeps the file's order, so when every row sits on one
    line a row's line is its position (``rowid``) and need not be stored. A file without
    an order id column numbers its rows in the projection instead (the id is made from the
    line). When the rows do not add up to the file's lines (line breaks inside quoted
    cells), the text is read into a table and each row numbered by the breaks before it.
    """
    def run(sql: str, extra: dict[str, Any] | None = None) -> list[Any]:
        rows = _run_read_csv(con, sql, csv_file, extra)
        if rows is None:
            raise NeedsExactReader()
        return rows

    def run_first_rows(sql: str) -> list[Any] | None:
        return _run_read_csv(con, sql, replace(csv_file, path=csv_file.sample)) if csv_file.sample else None

    numbered = not mapping.get("order_id")
    fields = _fields_sql(_csv_relation(csv_file, numbered), mapping, index, attributes, with_line=numbered)
    strip = _float_id_columns(fields, run, run_first_rows)
    con.execute("CREATE OR REPLACE TEMP TABLE malformed (line BIGINT, why VARCHAR)")
    if _run_read_csv(con, _create_parsed_sql(fields, mapping, strip, attributes, with_line=numbered), csv_file,
                     parse_params) is not None and _numbered_right(con, csv_file):
        select_list = "*" if numbered else f"{csv_file.header_lines} + 1 + rowid AS line, *"
        con.execute(f"CREATE OR REPLACE TEMP VIEW parsed AS SELECT {select_list} FROM parsed_rows")
        return strip
    if not _read_csv_table(con, csv_file):
        raise NeedsExactReader()
    fields = _fields_sql("SELECT * FROM numbered_rows", mapping, index, attributes, with_line=True)
    con.execute(_create_parsed_sql(fields, mapping, strip, attributes, with_line=True), parse_params)
    con.execute("CREATE OR REPLACE TEMP VIEW parsed AS SELECT * FROM parsed_rows")
    return strip


def _create_parsed_sql(fields: str, mapping: dict[str, Any], strip: dict[str, bool], attributes: list[str], *,
                       with_line: bool) -> str:
    return "CREATE OR REPLACE TEMP TABLE parsed_rows AS " + _parse_sql(fields, mapping, strip, len(attributes),
                                                                        with_line=with_line)


def _attribute_names(columns: list[str], mapping: dict[str, Any]) -> list[str]:
    """The file's unmapped columns kept per customer (lib.importing.attributes): none without a customer id."""
    from lib.importing import attributes as customer_attributes

    return customer_attributes.attribute_columns(columns, mapping) if mapping.get("customer_id") else []


def _fields_sql(relation: str, mapping: dict[str, Any], index: dict[str, int], attributes: list[str], *,
                with_line: bool) -> str:
    """The source's rows with the mapped columns named by field (code-made positions: c<i> is the i-th column)."""
    parts = ["line", "fits", "blank", "why"] if with_line else ["fits", "blank", "why"]
    for name in _TEXT_FIELDS:
        column = mapping.get(name)
        parts.append(f"c{index[column]} AS {name}" if column else f"NULL::VARCHAR AS {name}")
    parts += [f"c{index[name]} AS a{i}" for i, name in enumerate(attributes)]
    select_list = ", ".join(parts)
    return f"SELECT {select_list} FROM ({relation})"


def _float_id_columns(fields: str, run: Callable[[str], list[Any]],
                      run_first_rows: Callable[[str], list[Any] | None] | None = None) -> dict[str, bool]:
    """Id columns a spreadsheet wrote as 17850.0 (every value: checked in full only when the first rows all are).

    ``run_first_rows`` reads the first rows from a short copy of the file (a CSV's
    :attr:`CsvFile.sample`); its answer counts only when another row followed the rows the
    test looks at (so none of them is the copy's last, possibly cut, row), else the file
    itself is read.
    """
    where = f"SELECT * FROM ({fields}) WHERE fits AND NOT blank"
    sample_sql = _FLOAT_SAMPLE_SQL.replace("FROM fields", f"FROM ({where})")
    first = run_first_rows(sample_sql) if run_first_rows else None
    sample = first[0] if first and first[0][-1] > _FLOAT_SAMPLE_ROWS else run(sample_sql)[0]
    return {name: bool(sample[i]) and bool(run(_FLOAT_IDS_SQL[name].replace("FROM fields", f"FROM ({where})"))[0][0])
            for i, name in enumerate(_ID_FIELDS)}


def _parse_sql(fields: str, mapping: dict[str, Any], strip: dict[str, bool], attributes: int, *,
               with_line: bool) -> str:
    """Each cell parsed once, then cheap checks over the parsed values, in one projection.

    The projection is chosen here from fixed fragments (a CASE on a parameter would cost
    DuckDB as much as the parsing itself). The file's text is kept only where a row is
    turned away (for its reject) and, for accepted rows, in the attribute columns.
    """
    has_amount, has_quantity = bool(mapping.get("amount")), bool(mapping.get("quantity"))
    has_order_id = bool(mapping.get("order_id"))

    def ident(field_name: str) -> str:
        return _ID_EXPR[strip[field_name]][field_name]

    attribute_list = [f"a{i}" for i in range(attributes)]
    line = ["line"] if with_line else []
    values = ", ".join([
        *line, "fits", "blank", "why", "order_time", "amount", "quantity", "unit_price", "order_id",
        *attribute_list, "gp_ts_any(order_time, $formats) AS ts_any",
        "quantity_value AS qty" if has_quantity else "NULL::DOUBLE AS qty",
        "coalesce(trim(quantity) <> '', false) AS qty_given" if has_quantity else "false AS qty_given",
        "amount_value AS amt" if has_amount else "quantity_value * unit_price_value AS amt",
        f"{ident('order_id')} AS oid" if has_order_id else "$stem || '#' || line AS oid",
        f"{ident('customer_id')} AS customer_id", f"{ident('channel')} AS channel", f"{ident('status')} AS status",
        f"{ident('original_order_id')} AS original_order_id",
        "coalesce(regexp_matches(status, $refund, 'i'), false) AS by_status",
        _C_INVOICE_EXPR if has_order_id else "false AS by_id",
        "true AS has_oid" if has_order_id else "false AS has_oid",
    ])
    amount_text = ("amount" if has_amount
                   else "coalesce(quantity, 'None') || ' × ' || coalesce(unit_price, 'None')")
    kept = ", ".join([
        *line, "fits", "blank", "why", "ts", "qty", "amt", "oid", "customer_id", "channel", "status",
        "original_order_id", "by_status", "by_id", "ok", "bad_ts", "bad_amount", "bad_qty", "missing_id", "lost_id",
        "CASE WHEN NOT ok THEN order_time END AS t_time", f"CASE WHEN NOT ok THEN {amount_text} END AS t_amount",
        "CASE WHEN NOT ok THEN quantity END AS t_quantity", "CASE WHEN NOT ok THEN order_id END AS t_order",
        *(f"CASE WHEN ok THEN {a} END AS {a}" for a in attribute_list),
    ])
    return f"""
        WITH typed AS ({money_sql(f"({fields})")}),
        parsed AS (SELECT * EXCLUDE (ts_any), gp_in_range(ts_any) AS ts FROM (SELECT {values} FROM typed)),
        flagged AS (
            SELECT *, ts IS NULL AS bad_ts, amt IS NULL AND ts IS NOT NULL AS bad_amount,
                   qty_given AND qty IS NULL AND ts IS NOT NULL AND amt IS NOT NULL AS bad_qty
            FROM parsed
        ), checked AS (
            SELECT *, coalesce(has_oid AND oid IS NULL AND NOT (bad_ts OR bad_amount OR bad_qty), false) AS missing_id,
                   coalesce(has_oid AND (contains(oid, 'e+') OR contains(oid, 'E+')) AND regexp_full_match(oid, '\\d(\\.\\d+)?[eE]\\+\\d+')
                       AND NOT bad_ts, false) AS lost_id
            FROM flagged
        ), judged AS (
            SELECT *, fits AND NOT blank AND NOT (bad_ts OR bad_amount OR bad_qty OR missing_id OR lost_id) AS ok
            FROM checked
        )
        SELECT {kept} FROM judged
    """


def _numbered_right(con: duckdb.DuckDBPyConnection, csv_file: CsvFile) -> bool:
    """Whether each row sat on one line (so its position is its line); else the rows are numbered again."""
    rows = con.execute("SELECT count(*) FROM parsed_rows").fetchall()[0][0]
    return bool(csv_file.header_lines + rows == csv_file.lines)


def require_rows(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Refuse a file with no row to type, as the typing would (for a check that comes first: the mapping's)."""
    if source.csv:
        rows = _run_read_csv(con, f"SELECT count(*) FILTER (WHERE fits AND NOT blank), count(*) FILTER (WHERE NOT blank) "
                             f"FROM ({_csv_relation(source.csv, False)})", source.csv)
        if rows is None:
            return
        typed, malformed = rows[0][0], rows[0][1] - rows[0][0]
    else:
        typed = con.execute("SELECT count(*) FROM raw_read").fetchall()[0][0]
        malformed = con.execute("SELECT count(*) FROM malformed").fetchall()[0][0]
    _refuse_empty(int(typed), int(malformed))


def _refuse_empty(typed: int, malformed: int) -> None:
    if not typed:
        if malformed:
            raise ImportFailed("no_valid_rows", "No row has the same number of fields as the header.")
        raise ImportFailed("no_rows", "The file has a header but no rows.")


def _check_counts(con: duckdb.DuckDBPyConnection, max_rows: int | None) -> tuple[int, int]:
    """Rows to type and malformed rows; a file without rows, or with more than ``max_rows``, is refused."""
    n, malformed = con.execute(
        "SELECT count(*) FILTER (WHERE fits AND NOT blank), count(*) FILTER (WHERE NOT blank AND NOT fits) FROM parsed"
    ).fetchall()[0]
    malformed += con.execute("SELECT count(*) FROM malformed").fetchall()[0][0]
    _refuse_empty(int(n), int(malformed))
    if max_rows is not None:
        _check_rows(n + malformed, max_rows)
    return int(n), int(malformed)


def _decide_c_invoices(con: duckdb.DuckDBPyConnection, strip: bool, n: int) -> None:
    """A C-invoice is a cancellation only in a file whose invoice numbers are mostly plain numbers."""
    if not con.execute("SELECT coalesce(bool_or(by_id), false) FROM parsed WHERE ok").fetchall()[0][0]:
        return
    numeric = con.execute("SELECT count(*) FILTER (WHERE regexp_full_match(oid, '\\d+')) FROM parsed "
                          "WHERE fits AND NOT blank").fetchall()[0][0]
    if numeric / n <= 0.5:
        con.execute("UPDATE parsed_rows SET by_id = false WHERE by_id")


def _accept(con: duckdb.DuckDBPyConnection, existing_ids: Any) -> None:
    """``accepted``: the rows that passed, each marked when the dataset already has its order id (an append)."""
    if existing_ids is None or not len(existing_ids):
        con.execute("CREATE OR REPLACE TEMP VIEW accepted AS SELECT *, false AS duplicate FROM parsed WHERE ok")
        return
    import pyarrow as pa

    existing = (pa.table({"order_id": pa.array(sorted(existing_ids), pa.string())})
                if isinstance(existing_ids, set) else existing_ids)  # a Python set, or an Arrow table of ids
    con.register("existing_ids", existing)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE accepted AS
        SELECT t.*, e.order_id IS NOT NULL AS duplicate FROM parsed AS t
        LEFT JOIN (SELECT DISTINCT order_id::VARCHAR AS order_id FROM existing_ids) AS e ON t.oid = e.order_id
        WHERE t.ok
        """
    )
    con.unregister("existing_ids")


def _collect_rejects(con: duckdb.DuckDBPyConnection, mapping: dict[str, Any]) -> None:
    """``rejects``: every row turned away, with its line, the column, the file's text and a reason code."""
    amount_column = (mapping["amount"] if mapping.get("amount")
                     else f"{mapping.get('quantity')} × {mapping.get('unit_price')}")
    names = {"c_time": mapping["order_time"], "c_amount": amount_column, "c_quantity": mapping.get("quantity") or "",
             "c_order": mapping.get("order_id") or ""}
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE rejects AS
        WITH bad AS (SELECT * FROM parsed WHERE fits AND NOT blank AND NOT ok)
        SELECT line::BIGINT AS line, "column", value, reason FROM (
            SELECT line, 0 AS k, '' AS "column", '' AS value, 'malformed_row: ' || why AS reason FROM malformed
            UNION ALL SELECT line, 0, '', '', 'malformed_row: ' || why FROM parsed WHERE NOT blank AND NOT fits
            UNION ALL SELECT line, 1, $c_time, left(coalesce(t_time, ''), 200), 'bad_date' FROM bad WHERE bad_ts
            UNION ALL SELECT line, 2, $c_amount, left(coalesce(t_amount, ''), 200), 'bad_amount'
                FROM bad WHERE bad_amount
            UNION ALL SELECT line, 3, $c_quantity, left(coalesce(t_quantity, ''), 200), 'bad_quantity'
                FROM bad WHERE bad_qty
            UNION ALL SELECT line, 4, $c_order, left(coalesce(t_order, ''), 200), 'missing_order_id'
                FROM bad WHERE missing_id
            UNION ALL SELECT line, 5, $c_order, left(coalesce(t_order, ''), 200), 'id_precision_lost'
                FROM bad WHERE lost_id
            UNION ALL SELECT line, 6, $c_order, oid, 'duplicate_order' FROM accepted WHERE duplicate
        ) ORDER BY line, k
        """,
        names,
    )


def _count_orders(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """The accepted lines and their distinct order ids.

    Distinct 64-bit hashes first (cheaper than distinct strings): there are never more of
    them than distinct ids, so as many hashes as lines proves every id distinct, the common
    case; otherwise the ids themselves are counted.
    """
    lines, hashes = con.execute("SELECT count(*), count(DISTINCT hash(oid)) FROM accepted WHERE NOT duplicate"
                                ).fetchall()[0]
    if hashes == lines:
        return int(lines), int(lines)
    distinct = con.execute("SELECT count(DISTINCT oid) FROM accepted WHERE NOT duplicate").fetchall()[0][0]
    return int(lines), int(distinct)


def _stage_attributes(con: duckdb.DuckDBPyConnection, attributes: list[str]) -> Any:
    """The file's unmapped columns kept per customer (lib.importing.attributes), from the accepted rows in SQL."""
    from lib.importing import attributes as customer_attributes

    if not attributes:
        return None
    # Code-made aliases a0, a1, … (the parsed rows carry them): nothing from the file reaches this SQL text.
    select_list = ", ".join(["customer_id", "ts AS order_ts", "line", *(f"a{i}" for i in range(len(attributes)))])
    rows = con.sql(f"SELECT {select_list} FROM accepted WHERE NOT duplicate")
    return customer_attributes.stage(con, rows, attributes)


def order_stats(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The report's counts over ``staged_orders``, the ledger's included (what will count as orders and sales)."""
    from lib.metrics import ledger_sql

    base = (
        "SELECT 0 AS dataset_id, order_id, customer_id, order_ts, amount, channel, is_refund, original_order_id "
        "FROM staged_orders"
    )
    ledger = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE is_order),
               count(*) FILTER (WHERE NOT is_order AND gross_amount > 0),
               count(*) FILTER (WHERE gross_amount = 0 AND net_amount < 0),
               count(DISTINCT customer_id) FILTER (WHERE is_order),
               coalesce(sum(gross_amount), 0), coalesce(sum(net_amount), 0)
        FROM ({ledger_sql(base)}) AS ledger
        """
    ).fetchall()[0]
    own = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE NOT is_refund), count(*) FILTER (WHERE is_refund), "
        "count(*) FILTER (WHERE customer_id IS NULL), count(*) FILTER (WHERE NOT is_refund AND round(amount, 2) = 0), "
        "coalesce(sum(amount) FILTER (WHERE NOT is_refund), 0), min(order_ts)::DATE::VARCHAR, "
        "max(order_ts)::DATE::VARCHAR FROM staged_orders"
    ).fetchall()[0]
    return {
        "orders": int(own[0]), "purchases": int(own[1]), "refunds": int(own[2]), "guest_orders": int(own[3]),
        "customers": int(ledger[3]), "zero_amount": int(own[4]),
        "counted_orders": int(ledger[0]), "cancelled_orders": int(ledger[1]), "unmatched_refunds": int(ledger[2]),
        "gmv": float(ledger[4]), "net_sales": float(ledger[5]), "revenue": float(own[5]),
        "first_date": own[6], "last_date": own[7],
    }


def rejects_table(con: duckdb.DuckDBPyConnection) -> Any:
    """Every reject as an Arrow table (:func:`rejects_frame` makes the report's frame when a page asks)."""
    return con.sql('SELECT line, "column", value, reason FROM rejects').to_arrow_table()


def arrow_frame(table: Any) -> pd.DataFrame:
    """An Arrow table as the pandas frame DuckDB itself would have fetched (same types)."""
    from lib.workspace import scratch_connection  # lib.workspace imports this package (inplace): not at the top

    con = scratch_connection(memory_limit=IMPORT_MEMORY_LIMIT)
    try:
        frame: pd.DataFrame = con.from_arrow(table).df()
        return frame
    finally:
        con.close()


def rejects_frame(table: Any) -> pd.DataFrame:
    """The report's rejects (line, column, value, reason) from :func:`rejects_table`."""
    frame = arrow_frame(table)
    frame["line"] = frame["line"].astype(int)
    for name in ("column", "value", "reason"):
        frame[name] = frame[name].astype(object)
    return frame


def orders_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The staged orders as the pandas frame :class:`lib.importing.ImportReport` has always carried."""
    frame = con.execute("SELECT * FROM staged_orders").fetchdf()
    frame["order_ts"] = frame["order_ts"].astype("datetime64[ns]")
    frame["is_refund"] = frame["is_refund"].astype(bool)
    for name in ("amount", "quantity"):
        frame[name] = frame[name].astype(float)
    return frame


@dataclass
class StagedOrders:
    """Orders typed and held in a private DuckDB until the import is confirmed (the Data page's check → confirm)."""

    con: duckdb.DuckDBPyConnection
    work_dir: Path
    rows: int

    def batches(self) -> Any:
        """The orders as a stream of Arrow record batches, for the workspace to insert without a DataFrame.

        From here on the scratch database only reads its table: it keeps :data:`COMMIT_SCRATCH_MEMORY_LIMIT`
        and spills the rest to its temporary directory, leaving memory to the workspace's write.
        """
        self.con.execute("SET memory_limit = $limit", {"limit": COMMIT_SCRATCH_MEMORY_LIMIT})
        return self.con.sql("SELECT * FROM staged_orders").to_arrow_reader(COMMIT_BATCH_ROWS)

    def order_ids(self) -> Any:
        """The staged order ids as an Arrow table (an append checks them again inside its transaction)."""
        return self.con.sql("SELECT order_id FROM staged_orders").to_arrow_table()

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __del__(self) -> None:  # the report was dropped without committing: free the scratch database
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def new_work_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="gp-import-"))
