"""Import order and channel files into the workspace: read, detect, map, validate, commit.

Why: real exports are messy — GB18030 CSVs from Chinese back offices, UTF-16 from
Excel, line-item files, cancellations, guest checkouts, "¥1,234.50" amounts,
18-digit ids that spreadsheets love to mangle. The Data page and the CLI share this
one code path so that both get the same validation report and the same guarantee:
nothing is written until the user confirms, and a failed load leaves the workspace
exactly as it was.

The flow is ``read_table`` (bytes → all-text table) → ``suggest_mapping`` (columns →
fields) → ``prepare_orders`` / ``prepare_channels`` (parse, validate, aggregate,
report) → ``commit_orders`` / ``commit_channels`` (one transaction).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from lib import customer_attributes
from lib.workspace import Workspace

Progress = Callable[[float, str], None]
Kind = Literal["orders", "channels"]
Mode = Literal["replace", "append"]

MAX_FILE_BYTES = 100 * 1024 * 1024
# A browser upload is held by Streamlit in memory: up to this many rows (with a clear message beyond it, pointing
# to the CLI). Order files from the CLI are read in place by DuckDB (lib.staging, memory bounded) up to
# MAX_STREAM_ROWS. Both limits are checked before a compressed file can expand (a 0.5 MB Parquet file can hold
# 60 million rows: its footer says so).
MAX_IMPORT_ROWS = 2_000_000
MAX_STREAM_ROWS = 20_000_000
MAX_XLSX_UNCOMPRESSED = 400 * 1024 * 1024
MAX_XLSX_RATIO = 100
MAX_GZIP_UNCOMPRESSED = 1024 * 1024 * 1024
PROGRESS_THRESHOLD_BYTES = 3 * 1024 * 1024
# A cell may hold up to 4 MB of text (a pasted description, a 200 KB note): Python's csv module stops at 128 KB by
# default and DuckDB's reader is given the same line limit (lib.staging).
MAX_CELL_CHARS = 4_000_000
csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))


class ImportFailed(Exception):
    """The importer's one error type: a code for translation plus readable English."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


# --------------------------------------------------------------------------
# Reading any supported file into an all-text table
# --------------------------------------------------------------------------


@dataclass
class RawTable:
    """A file read as text cells, with the file line each row came from."""

    frame: pd.DataFrame
    line_numbers: np.ndarray
    file_name: str
    file_format: str
    encoding: str | None = None
    sheet: str | None = None
    malformed: list[tuple[int, str]] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    @property
    def source_key(self) -> str:
        """Identifies files with the same header, so a saved mapping is offered again."""
        return _source_key(self.columns)


def _source_key(columns: list[str]) -> str:
    signature = "\x1f".join(sorted(normalize_header(c) for c in columns))
    return hashlib.sha1(signature.encode("utf-8")).hexdigest()[:16]


# Magic bytes of common non-table files → (translation key of what it is, English name).
_NOT_TABLE_MAGIC: dict[bytes, tuple[str, str]] = {
    b"\x89PNG": ("png", "PNG image"),
    b"\xff\xd8\xff": ("jpeg", "JPEG image"),
    b"GIF8": ("gif", "GIF image"),
    b"%PDF": ("pdf", "PDF document"),
    b"\xd0\xcf\x11\xe0": ("xls", "old Excel (.xls) or Word file"),
    b"Rar!": ("rar", "RAR archive"),
    b"7z\xbc\xaf": ("7z", "7-Zip archive"),
    b"\x7fELF": ("program", "program"),
    b"MZ": ("program", "program"),
}


def _refuse_empty_or_too_large(data: bytes) -> None:
    """An upload's first check, before anything reads it: not empty, and within :data:`MAX_FILE_BYTES`."""
    if not data:
        raise ImportFailed("empty_file", "The file is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise ImportFailed(
            "too_large",
            f"The file is {len(data) / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB.",
            size_mb=round(len(data) / 1e6), limit_mb=round(MAX_FILE_BYTES / 1e6),
        )


def read_table(data: bytes, file_name: str, progress: Progress | None = None) -> RawTable:
    """Read CSV/TSV/TXT (any common encoding, optionally gzipped), XLSX or Parquet as text cells.

    Raises ImportFailed with a clear reason for empty files, non-tables,
    oversize files, zip bombs and unknown encodings.
    """
    _refuse_empty_or_too_large(data)
    if progress:
        progress(0.05, "reading")
    raw = _read_bytes(data, file_name)
    if progress:
        progress(0.15, "read")
    return raw


def _read_bytes(data: bytes, file_name: str) -> RawTable:
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data)
        if not data:
            raise ImportFailed("empty_file", "The file is empty.")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, file_name)
    if data[:4] == b"PAR1":
        return _read_parquet(data, file_name)
    for magic, (what, english) in _NOT_TABLE_MAGIC.items():
        if data.startswith(magic):
            raise ImportFailed("not_a_table", f"This is a {english}, not a table.", what=what)
    text, encoding = decode_text(data)
    return _read_delimited(text, file_name, encoding)


SAMPLE_ROWS = 1000


@dataclass
class Upload:
    """A browser upload kept for the check: a sample read for the preview and the mapping, the file on disk.

    The orders in it are read by DuckDB from ``path`` when the user checks the file
    (:func:`prepare_upload`), so the upload is never parsed whole in Python. The
    temporary folder goes when the object does.
    """

    raw: RawTable
    path: Path
    folder: Any
    sampled: bool


def stage_upload(data: bytes, file_name: str, progress: Progress | None = None) -> Upload:
    """Keep an order upload on disk and read its first :data:`SAMPLE_ROWS` rows for the preview and mapping."""
    import tempfile

    _refuse_empty_or_too_large(data)
    if progress:
        progress(0.05, "reading")
    raw, sampled = _read_sample(data, file_name)
    folder = tempfile.TemporaryDirectory(prefix="gp-upload-")
    path = Path(folder.name) / "upload"
    path.write_bytes(data)
    if progress:
        progress(1.0, "read")
    return Upload(raw, path, folder, sampled)


def _read_sample(data: bytes, file_name: str) -> tuple[RawTable, bool]:
    """The first rows of a file as text (the whole file when it is small): CSV and gzip cut by lines, Parquet by
    its first batch, XLSX row by row."""
    if data[:4] == b"PAR1":
        import pyarrow.parquet as pq

        try:
            book = pq.ParquetFile(io.BytesIO(data))
            _check_row_count(book.metadata.num_rows)
            if book.metadata.num_rows > SAMPLE_ROWS:
                batch = next(book.iter_batches(batch_size=SAMPLE_ROWS))
                return _parquet_text(batch.to_pandas(), file_name), True
        except ImportFailed:
            raise
        except Exception as exc:  # pyarrow raises ArrowInvalid and friends
            raise ImportFailed("not_a_table", f"The Parquet file could not be read: {exc}",
                               what="damaged_parquet") from exc
        return _read_bytes(data, file_name), False
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, file_name, limit=SAMPLE_ROWS), True
    head = data
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                head = gz.read(2 * 1024 * 1024 + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise ImportFailed("not_a_table", "The compressed file is damaged.", what="damaged_gzip") from exc
    if len(head) <= 2 * 1024 * 1024:
        return _read_bytes(data, file_name), False
    cut = head[: 2 * 1024 * 1024]
    cut = cut[: cut.rfind(b"\n") + 1] or cut
    raw = _read_bytes(cut, file_name)
    raw.frame = raw.frame.head(SAMPLE_ROWS)
    raw.line_numbers = raw.line_numbers[:SAMPLE_ROWS]
    return raw, True


def prepare_upload(
    ws: Workspace,
    upload: Upload,
    mapping: dict[str, Any],
    dataset_name: str,
    *,
    mode: Mode = "replace",
    progress: Progress | None = None,
) -> ImportReport:
    """Check a staged order upload: the whole file read by DuckDB, up to :data:`MAX_IMPORT_ROWS` rows."""
    existing = existing_order_id_table(ws, dataset_name) if mode == "append" else None
    return prepare_orders_file(upload.path, upload.raw.file_name, mapping, existing_order_ids=existing,
                               max_rows=MAX_IMPORT_ROWS, progress=progress)


def _gunzip(data: bytes) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(MAX_GZIP_UNCOMPRESSED + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ImportFailed("not_a_table", "The compressed file is damaged.", what="damaged_gzip") from exc
    if len(out) > MAX_GZIP_UNCOMPRESSED:
        raise ImportFailed("bomb", "The compressed file expands to more than 1 GB; it was not opened.")
    return out


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode text bytes: BOMs, UTF-16 without BOM, strict UTF-8, then strict GB18030.

    Never falls back to Latin-1: bytes that are neither are rejected, because a
    wrong guess turns Chinese names into mojibake that then gets saved.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        sample = data[:4096]
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = max(1, len(sample) // 2)
        if odd_nuls > 0.3 * half and even_nuls < 0.05 * half:
            candidates = ["utf-16-le"]
        elif even_nuls > 0.3 * half and odd_nuls < 0.05 * half:
            candidates = ["utf-16-be"]
        else:
            candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            text = data.decode(encoding, errors=_CP936_EURO if encoding == "gb18030" else "strict")
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            raise ImportFailed("not_a_table", "The file holds binary data, not a table.", what="binary")
        return text.lstrip("\ufeff"), ("gb18030" if encoding == "gb18030" else encoding)
    raise ImportFailed(
        "unknown_encoding",
        "The file is not UTF-8, UTF-16 or GB18030/GBK text. Save it as UTF-8 CSV and try again.",
    )


def _cp936_euro(exc: UnicodeError) -> tuple[str, int]:
    """Decode error handler: a lone 0x80 is "€", as in Windows' GBK (code page 936).

    Excel and Chinese back offices write "€" that way; GB18030 has no meaning for
    the byte on its own, so nothing else is changed. Any other bad byte still fails.
    """
    if isinstance(exc, UnicodeDecodeError) and exc.object[exc.start : exc.start + 1] == b"\x80":
        return "€", exc.start + 1
    raise exc


_CP936_EURO = "growth_planner_cp936_euro"
codecs.register_error(_CP936_EURO, _cp936_euro)


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    return "\x00" in sample or controls > 0.01 * len(sample)


_DELIMITERS = [",", "\t", ";", "|"]


def _detect_delimiter(lines: list[str]) -> str | None:
    """The delimiter splitting the sample lines into the most consistent columns (None = whitespace)."""
    best: tuple[float, str | None] = (0.0, None)
    for delim in _DELIMITERS:
        counts = [len(next(csv.reader([line], delimiter=delim))) for line in lines]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for c in counts if c == counts[0]) / len(counts)
        score = consistent * 10 + min(counts[0], 50) / 50
        if consistent >= 0.6 and score > best[0]:
            best = (score, delim)
    if best[1] is not None:
        return best[1]
    ws_counts = [len(line.split()) for line in lines]
    if ws_counts and ws_counts[0] >= 2 and sum(1 for c in ws_counts if c == ws_counts[0]) / len(ws_counts) >= 0.6:
        return None
    return ","


def _read_delimited(text: str, file_name: str, encoding: str) -> RawTable:
    sample_lines = [line for line in text[:200_000].splitlines() if line.strip()][:50]
    if not sample_lines:
        raise ImportFailed("empty_file", "The file is empty.")
    delimiter = _detect_delimiter(sample_lines)
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    malformed: list[tuple[int, str]] = []
    header: list[str] | None = None
    if delimiter is None:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            cells = line.split()
            if header is None:
                header = cells
                continue
            if len(cells) != len(header):
                malformed.append((number, f"expected {len(header)} fields, found {len(cells)}"))
                continue
            rows.append(cells)
            line_numbers.append(number)
            if len(rows) > MAX_IMPORT_ROWS:
                _check_row_count(len(rows))
    else:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
        physical_lines: list[str] | None = None
        start_line = 1
        for cells in reader:
            line_no = start_line
            start_line = reader.line_num + 1
            if not cells or all(not c.strip() for c in cells):
                continue
            if header is None:
                header = cells
                continue
            fitted = _fit_row(cells, len(header))
            if fitted is not None:
                rows.append(fitted)
                line_numbers.append(line_no)
                if len(rows) > MAX_IMPORT_ROWS:
                    _check_row_count(len(rows))
            elif reader.line_num > line_no:
                # A stray quote joined this line to the following ones (possibly to the
                # end of the file): judge each of those physical lines on its own.
                if physical_lines is None:
                    physical_lines = io.StringIO(text, newline="").readlines()
                for number, line in enumerate(physical_lines[line_no - 1 : reader.line_num], start=line_no):
                    alone = next(csv.reader([line], delimiter=delimiter, strict=False), [])
                    if not alone or all(not c.strip() for c in alone):
                        continue
                    fitted = _fit_row(alone, len(header))
                    if fitted is None:
                        malformed.append((number, f"expected {len(header)} fields, found {len(alone)}"))
                    else:
                        rows.append(fitted)
                        line_numbers.append(number)
            else:
                malformed.append((line_no, f"expected {len(header)} fields, found {len(cells)}"))
    if header is None:
        raise ImportFailed("empty_file", "The file is empty.")
    columns = normalize_headers(header)
    if len(columns) == 1 and any(d in columns[0] for d in ",;\t|"):
        raise ImportFailed("one_column", "The file could not be split into columns; check its delimiter.")
    if not rows:
        if malformed:
            raise ImportFailed("no_valid_rows", "No row has the same number of fields as the header.")
        raise ImportFailed("no_rows", "The file has a header but no rows.")
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    return RawTable(frame, np.asarray(line_numbers), file_name, "csv", encoding=encoding, malformed=malformed)


def _fit_row(cells: list[str], width: int) -> list[str] | None:
    """The row cut to the header's width when only empty cells overhang; None when it does not fit."""
    if len(cells) == width:
        return cells
    if len(cells) > width and all(not c.strip() for c in cells[width:]):
        return cells[:width]
    return None


def _read_xlsx(data: bytes, file_name: str, limit: int | None = None) -> RawTable:
    check_xlsx_archive(io.BytesIO(data))
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        for sheet_name in book.sheet_names:
            sheet = book.get_sheet_by_name(sheet_name)
            if limit is None:
                cells = sheet.to_python(skip_empty_area=True)
            else:  # a preview: the first rows only, streamed
                cells = [row for _, row in zip(range(limit + 50), sheet.iter_rows())]
            if cells and any(any(str(v).strip() for v in row) for row in cells):
                break
        else:
            raise ImportFailed("empty_file", "The workbook has no data.")
    except ImportFailed:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged books
        raise ImportFailed("not_a_table", f"The workbook could not be read: {exc}", what="damaged_workbook") from exc
    header_index = next(i for i, row in enumerate(cells) if any(str(v).strip() for v in row))
    header = [_cell_text(v) for v in cells[header_index]]
    body = [row for row in cells[header_index + 1 :]]
    line_numbers = [header_index + 2 + i for i, row in enumerate(body) if any(_cell_text(v) for v in row)]
    body = [[_cell_text(v) for v in row] for row in body if any(_cell_text(v) for v in row)]
    if not body:
        raise ImportFailed("no_rows", "The file has a header but no rows.")
    columns = normalize_headers(header)
    width = len(columns)
    body = [(row + [""] * width)[:width] for row in body]
    frame = pd.DataFrame(body, columns=columns, dtype=object)
    return RawTable(frame, np.asarray(line_numbers), file_name, "xlsx", sheet=sheet_name)


def check_xlsx_archive(stream: IO[bytes]) -> None:
    """Refuse zip bombs and XML entity declarations before a workbook is parsed."""
    try:
        archive = zipfile.ZipFile(stream)
        infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise ImportFailed("not_a_table", "The file looks like a damaged Excel file.", what="damaged_zip") from exc
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        raise ImportFailed("not_a_table", "This zip file is not an Excel workbook.", what="zip")
    uncompressed = sum(info.file_size for info in infos)
    compressed = max(1, sum(info.compress_size for info in infos))
    if uncompressed > MAX_XLSX_UNCOMPRESSED or uncompressed / compressed > MAX_XLSX_RATIO and uncompressed > 50e6:
        raise ImportFailed(
            "bomb",
            f"The workbook expands to {uncompressed / 1e6:.0f} MB; it was not opened.",
            size_mb=round(uncompressed / 1e6),
        )
    for info in infos:
        if info.filename.endswith((".xml", ".rels")):
            with archive.open(info) as part:
                if _xml_prolog_has_declarations(part):
                    raise ImportFailed("bomb", "The workbook contains XML entity declarations; it was not opened.")


def _xml_prolog_has_declarations(stream: IO[bytes], chunk_size: int = 64 * 1024) -> bool:
    """Whether an XML part has a DOCTYPE (where entities, "billion laughs", are declared).

    A DOCTYPE can only come before the root element, after the XML declaration,
    comments and processing instructions. This streams over exactly that prolog, so
    a declaration hidden behind a long comment is found without reading (or
    decompressing) the rest of the part.
    """
    buffer = b""
    at_eof = False

    def fill(minimum: int) -> None:
        nonlocal buffer, at_eof
        while len(buffer) < minimum and not at_eof:
            chunk = stream.read(chunk_size)
            at_eof = not chunk
            buffer += chunk

    fill(3)
    buffer = buffer.removeprefix(b"\xef\xbb\xbf")
    while True:
        buffer = buffer.lstrip()
        if not buffer:
            if at_eof:
                return False
            fill(1)
            continue
        fill(4)
        if buffer.startswith(b"<!--"):
            terminator = b"-->"
        elif buffer.startswith(b"<?"):
            terminator = b"?>"
        else:
            return buffer.startswith(b"<!")
        buffer = buffer[2:]
        while (end := buffer.find(terminator)) < 0:
            if at_eof:
                return False
            buffer = buffer[-len(terminator):]
            fill(len(buffer) + 1)
        buffer = buffer[end + len(terminator):]


def _cell_text(value: Any) -> str:
    """Excel cells as text: integral floats without '.0', datetimes as ISO text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def _check_row_count(rows: int, limit: int | None = None) -> None:
    """Refuse a table longer than ``limit`` (an upload's: :data:`MAX_IMPORT_ROWS`) before it is read into memory."""
    limit = MAX_IMPORT_ROWS if limit is None else limit
    if rows > limit and limit >= MAX_STREAM_ROWS:  # already the command line's limit: only reading in place is left
        raise ImportFailed(
            "too_many_rows_stream",
            f"The file has {rows:,} rows; an import takes up to {limit:,}. Segment it in place with "
            "`python -m lib.cli segments --parquet`.",
            rows=f"{rows:,}", limit=f"{limit:,}",
        )
    if rows > limit:
        raise ImportFailed(
            "too_many_rows",
            f"The file has {rows:,} rows; this import takes up to {limit:,}. Import larger order files with "
            "`python -m lib.cli import-orders` (up to 20,000,000 rows), or segment them in place with "
            "`python -m lib.cli segments --parquet`.",
            rows=f"{rows:,}", limit=f"{limit:,}",
        )


def _read_parquet(data: bytes, file_name: str) -> RawTable:
    import pyarrow.parquet as pq

    try:
        rows = pq.ParquetFile(io.BytesIO(data)).metadata.num_rows  # from the footer: nothing expanded yet
        _check_row_count(rows)
        table = pq.read_table(io.BytesIO(data))
    except ImportFailed:
        raise
    except Exception as exc:  # pyarrow raises ArrowInvalid and friends
        raise ImportFailed("not_a_table", f"The Parquet file could not be read: {exc}", what="damaged_parquet") from exc
    if table.num_rows == 0:
        raise ImportFailed("no_rows", "The file has a header but no rows.")
    return _parquet_text(table.to_pandas(), file_name)


def _parquet_text(frame: pd.DataFrame, file_name: str) -> RawTable:
    text = pd.DataFrame(
        {c: [_cell_text(v) if not _is_na(v) else "" for v in frame[c].tolist()] for c in frame.columns},
        dtype=object,
    )
    text.columns = normalize_headers([str(c) for c in frame.columns])
    return RawTable(text, np.arange(1, len(text) + 1), file_name, "parquet")


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def normalize_header(name: str) -> str:
    """Header text as it should appear: NFKC (full-width → half-width), trimmed, no BOM."""
    return " ".join(unicodedata.normalize("NFKC", str(name)).replace("\ufeff", "").split())


def normalize_headers(names: list[str]) -> list[str]:
    """Deterministic, unique, non-empty column names."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for i, raw in enumerate(names, start=1):
        name = normalize_header(raw) or f"column_{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
            while name in seen:
                name = f"{name}_"
        seen.setdefault(name, 1)
        out.append(name)
    return out


# --------------------------------------------------------------------------
# Column mapping
# --------------------------------------------------------------------------

ORDER_FIELDS: tuple[str, ...] = (
    "order_id", "customer_id", "order_time", "amount", "quantity", "unit_price", "channel", "status",
    "original_order_id",
)
ORDER_REQUIRED: tuple[str, ...] = ("order_time",)
CHANNEL_FIELDS: tuple[str, ...] = (
    "period", "channel", "spend", "impressions", "clicks", "new_customers", "orders", "revenue",
)
CHANNEL_MEASURES: tuple[str, ...] = ("spend", "impressions", "clicks", "new_customers", "orders", "revenue")

_SYNONYMS: dict[str, list[str]] = {
    "order_id": ["订单号", "订单编号", "订单id", "主订单编号", "子订单编号", "order id", "orderid", "order_id",
                 "order number", "order no", "invoiceno", "invoice", "invoice no", "transaction id", "交易号"],
    "customer_id": ["买家id", "用户id", "会员id", "客户id", "买家会员名", "买家昵称", "会员号", "customer id",
                    "customerid", "customer_id", "customer", "user id", "userid", "user_id", "buyer id", "member id",
                    "client id", "客户编号", "用户名"],
    "order_time": ["下单时间", "付款时间", "支付时间", "订单创建时间", "创建时间", "成交时间", "订单日期", "日期",
                   "order time", "order date", "orderdate", "invoicedate", "invoice date", "date", "created at",
                   "created_at", "paid at", "payment time", "timestamp", "time", "order_ts"],
    "amount": ["实付金额", "订单金额", "支付金额", "买家实付金额", "实收金额", "成交金额", "销售额", "金额", "总金额",
               "amount", "order amount", "total", "total amount", "revenue", "sales", "paid amount",
               "dollar_value", "value", "gmv", "price total"],
    "quantity": ["数量", "商品数量", "购买数量", "件数", "quantity", "qty", "number_of_cds", "units", "items"],
    "unit_price": ["单价", "商品单价", "价格", "unit price", "unitprice", "price", "unit_price"],
    "channel": ["渠道", "来源", "流量来源", "订单来源", "店铺", "平台", "channel", "source", "utm_source",
                "platform", "store", "medium"],
    "status": ["订单状态", "状态", "交易状态", "退款状态", "status", "order status", "state"],
    "original_order_id": ["原订单号", "原订单编号", "关联订单号", "退款订单号", "original order id",
                          "original_order_id", "original order", "parent order id", "refund of", "refers to order"],
}
_CHANNEL_SYNONYMS: dict[str, list[str]] = {
    "period": ["周", "日期", "时间", "周次", "week", "date", "week_start", "period", "day", "week start", "time"],
    "channel": ["渠道", "平台", "媒体", "来源", "channel", "media", "platform", "source"],
    "spend": ["花费", "消耗", "投放金额", "费用", "成本", "spend", "cost", "media spend", "budget"],
    "impressions": ["曝光", "曝光量", "展现", "展现量", "impressions", "imps", "views"],
    "clicks": ["点击", "点击量", "clicks"],
    "new_customers": ["新客", "新客数", "新用户", "新客户", "new customers", "new_customers", "new users",
                      "acquisitions", "conversions"],
    "orders": ["订单", "订单数", "成交订单", "orders", "purchases"],
    "revenue": ["销售额", "成交额", "gmv", "revenue", "sales"],
}
# Suffixes that mark a wide-format column as one measure of one channel.
_WIDE_SUFFIXES: dict[str, list[str]] = {
    "spend": ["spend", "cost", "s", "花费", "消耗", "费用"],
    "impressions": ["impressions", "impression", "imps", "i", "曝光", "展现"],
    "clicks": ["clicks", "clicks_p", "c", "点击"],
    "new_customers": ["new_customers", "newcustomers", "new", "新客", "新客数"],
    "orders": ["orders", "订单", "订单数"],
    "revenue": ["revenue", "sales", "gmv", "销售额"],
}


# A wide channel file's total outcome (one column for all channels) and what else moves it.
OUTCOME_KINDS: tuple[str, ...] = ("revenue", "conversions", "orders", "new_customers")
_OUTCOME_SYNONYMS: dict[str, list[str]] = {
    "revenue": ["revenue", "sales", "gmv", "total sales", "销售额", "成交金额", "成交额", "营业额", "营收"],
    "conversions": ["conversions", "conversion", "kpi", "转化", "转化数", "转化量"],
    "orders": ["orders", "order count", "订单数", "订单量"],
    "new_customers": ["new customers", "new_customers", "new users", "新客数", "新客", "新用户数"],
}
# In a long file (one row per period and channel) "revenue" is the channel's own; only an explicit total is the outcome.
_TOTAL_OUTCOME_SYNONYMS: list[str] = [
    "total revenue", "total sales", "total gmv", "total conversions", "total orders", "total new customers",
    "store revenue", "总销售额", "总成交额", "全店销售额", "总订单数", "总新客数", "总转化数",
]
_CONTROL_HINT = re.compile(
    r"(_b$|_control$|^organic|competitor|price|promo|event|holiday|festival|sentiment|newsletter|weather|"
    r"竞品|价格|促销|活动|节日|节假日|舆情|天气)",
    flags=re.IGNORECASE,
)


def _outcome_column(columns: list[str]) -> tuple[str, str] | None:
    """The total-outcome column and its kind: an exact header first (any kind), then one containing a synonym.

    Per-unit columns (``revenue_per_conversion``, 每单收入) are never the outcome.
    """
    candidates = [c for c in columns if not re.search(r"(^|[\s_])per([\s_]|$)|每", normalize_header(c).lower())]
    for exact in (True, False):
        for kind in OUTCOME_KINDS:
            keys = [_norm_key(k) for k in _OUTCOME_SYNONYMS[kind]]
            for column in candidates:
                norm = _norm_key(column)
                if (norm in keys) if exact else any(len(k) > 2 and k in norm for k in keys):
                    return column, kind
    return None


def _norm_key(text: str) -> str:
    return re.sub(r"[\s_\-\.()（）]+", "", normalize_header(text).lower())


def _match(columns: list[str], synonyms: list[str], taken: set[str]) -> str | None:
    keys = [_norm_key(s) for s in synonyms]
    normalized = {c: _norm_key(c) for c in columns if c not in taken}
    for key in keys:  # exact matches, in the synonyms' order of preference
        for column, norm in normalized.items():
            if norm == key:
                return column
    for key in keys:  # then a column that contains a synonym (e.g. "买家实付金额(元)")
        if len(key) < 2:
            continue
        for column, norm in normalized.items():
            if key in norm:
                return column
    return None


def suggest_mapping(columns: list[str], kind: Kind) -> dict[str, Any]:
    """Best-guess field → column mapping from common English and Chinese headers.

    For channel files without a channel column, columns shaped like
    ``douyin_spend`` / ``tv_S`` / ``抖音_花费`` are proposed as a wide layout.
    """
    taken: set[str] = set()
    mapping: dict[str, Any] = {}
    if kind == "orders":
        for field_name in ORDER_FIELDS:
            column = _match(columns, _SYNONYMS[field_name], taken)
            if column:
                mapping[field_name] = column
                taken.add(column)
        if "amount" in mapping and "unit_price" in mapping and mapping["amount"] == mapping["unit_price"]:
            del mapping["unit_price"]
        return mapping
    period = _match(columns, _CHANNEL_SYNONYMS["period"], taken)
    if period:
        mapping["period"] = period
        taken.add(period)
    channel = _match(columns, _CHANNEL_SYNONYMS["channel"], taken)
    wide = detect_wide_columns([c for c in columns if c not in taken])
    if channel in wide:
        channel = None  # "Channel0_spend" names a channel's measure, not a channel column (Meridian's layout)
    if channel or not wide:
        mapping["layout"] = "long"
        if channel:
            mapping["channel"] = channel
            taken.add(channel)
        total = _match(columns, _TOTAL_OUTCOME_SYNONYMS, taken)  # a total repeated on every channel row
        if total:
            found = _outcome_column([total])
            mapping["outcome"], mapping["outcome_kind"] = total, found[1] if found else "revenue"
            taken.add(total)
        for measure in CHANNEL_MEASURES:
            column = _match(columns, _CHANNEL_SYNONYMS[measure], taken)
            if column:
                mapping[measure] = column
                taken.add(column)
        if total:
            _suggest_controls(mapping, columns, taken)
    else:
        mapping["layout"] = "wide"
        mapping["wide_columns"] = wide
        taken.update(wide)
        found = _outcome_column([c for c in columns if c not in taken])
        if found:
            mapping["outcome"], mapping["outcome_kind"] = found
            taken.add(found[0])
        _suggest_controls(mapping, columns, taken)
    return mapping


def _suggest_controls(mapping: dict[str, Any], columns: list[str], taken: set[str]) -> None:
    """Columns named like things that move the outcome besides spend (price, promotion, events, …)."""
    controls = [c for c in columns if c not in taken and _CONTROL_HINT.search(normalize_header(c))]
    if controls:
        mapping["controls"] = controls


def detect_wide_columns(columns: list[str]) -> dict[str, list[str]]:
    """Columns named ``<channel><sep><measure>`` → {column: [channel, measure]}; only if some are spend."""
    found: dict[str, list[str]] = {}
    for column in columns:
        text = normalize_header(column)
        if text.lower().startswith("organic"):
            continue  # unpaid media (Meridian's Organic_…): a control, not a channel with spend
        match = re.match(r"^(.+?)[\s_\-·]+([^\s_\-·]+(?:_p)?)$", text, flags=re.IGNORECASE)
        if not match:
            continue
        channel, suffix = match.group(1), match.group(2).lower()
        if channel.lower().endswith("_clicks") or channel.lower().endswith(" clicks"):
            channel, suffix = channel[: -len("_clicks")], "clicks_p"
        for measure, suffixes in _WIDE_SUFFIXES.items():
            if suffix in suffixes:
                found[column] = [channel.strip(), measure]
                break
    if not any(m == "spend" for _, m in found.values()):
        return {}
    return found


def missing_required(mapping: dict[str, Any], kind: Kind) -> list[str]:
    """Fields the mapping must still provide before the file can be imported."""
    if kind == "orders":
        missing = [f for f in ORDER_REQUIRED if not mapping.get(f)]
        if not mapping.get("amount") and not (mapping.get("quantity") and mapping.get("unit_price")):
            missing.append("amount")
        return missing
    missing = [] if mapping.get("period") else ["period"]
    if mapping.get("layout") == "wide":
        if not any(m == "spend" for _, m in (mapping.get("wide_columns") or {}).values()):
            missing.append("spend")
        return missing
    for f in ("channel", "spend"):
        if not mapping.get(f):
            missing.append(f)
    return missing


def load_mapping_file(path: str | Path) -> dict[str, Any]:
    """A mapping saved as JSON (``{"order_id": "订单编号", ...}``)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImportFailed("bad_mapping", f"The mapping file could not be read: {exc}") from exc
    if not isinstance(data, dict):
        raise ImportFailed("bad_mapping", "The mapping file must hold a JSON object.")
    for key, value in data.items():
        if key == "layout":
            well_formed = value in ("long", "wide")
        elif key == "outcome_kind":
            well_formed = value in OUTCOME_KINDS
        elif key == "controls":
            well_formed = isinstance(value, list) and all(isinstance(c, str) for c in value)
        elif key == "wide_columns":
            well_formed = isinstance(value, dict) and all(
                isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and pair[1] in CHANNEL_MEASURES
                for pair in value.values()
            )
        else:
            well_formed = value is None or isinstance(value, str)
        if not well_formed:
            raise ImportFailed(
                "bad_mapping",
                f"The mapping file's {key!r} entry is not valid: fields map to a column name, "
                'and "wide_columns" maps each column to [channel, measure].',
            )
    return data


def check_mapping(mapping: dict[str, Any], kind: Kind, columns: list[str]) -> None:
    """The mapping names every required field, and only columns the file has."""
    missing = missing_required(mapping, kind)
    if missing:
        raise ImportFailed(
            "missing_field", f"Map a column to: {', '.join(missing)}.", fields=", ".join(missing)
        )
    check_mapping_columns(mapping, columns)


def check_mapping_columns(mapping: dict[str, Any], columns: list[str]) -> None:
    """Every mapped column must exist in the file."""
    wanted = [v for k, v in mapping.items() if k not in ("layout", "wide_columns", "controls", "outcome_kind") and v]
    wanted += list((mapping.get("wide_columns") or {}).keys()) + list(mapping.get("controls") or [])
    absent = [c for c in wanted if c not in columns]
    if absent:
        raise ImportFailed(
            "missing_column",
            f"The file has no column named {', '.join(map(repr, absent))}.",
            columns=", ".join(absent),
        )


# --------------------------------------------------------------------------
# Parsing values
# --------------------------------------------------------------------------

_MONEY_JUNK = re.compile(r"[¥￥$€£,，\s]|元|RMB|CNY|USD", flags=re.IGNORECASE)


def parse_money(values: pd.Series) -> pd.Series:
    """"¥1,234.50", "$1,234.50", "(12.00)", "1.2万" → floats; anything else → NaN."""
    text = values.astype(str)
    wide_chars = text.str.contains(r"[^\x00-\x7f]", regex=True)
    if wide_chars.any():
        text = text.where(~wide_chars, text[wide_chars].map(lambda s: unicodedata.normalize("NFKC", s)))
    text = text.str.strip()
    negative_paren = text.str.match(r"^\(.*\)$")
    text = text.str.replace(r"^\((.*)\)$", r"\1", regex=True)
    wan = text.str.endswith("万")
    yi = text.str.endswith("亿")
    text = text.str.replace(r"[万亿]$", "", regex=True)
    text = text.str.replace(_MONEY_JUNK, "", regex=True)
    number = pd.to_numeric(text.where(text != ""), errors="coerce").astype(float)
    number = number.where(~wan, number * 1e4).where(~yi, number * 1e8)
    return number.where(~negative_paren, -number)


_DATE_FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y%m%d", "%Y%m%d%H%M%S",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%d.%m.%Y",
]


_EARLIEST_DATE = pd.Timestamp("1900-01-01")
_LATEST_DATE = pd.Timestamp("2200-01-01")


def parse_datetimes(values: pd.Series) -> pd.Series:
    """Common Chinese and ISO date formats, vectorised format by format; failures → NaT."""
    text = values.astype(str).str.strip().str.replace(r"(?<=\d)T(?=\d)", " ", regex=True)
    text = text.str.replace(r"(\.\d{1,6})?([+-]\d{2}:?\d{2}|Z)$", "", regex=True)
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    pending = text != ""
    # Try the formats that fit a sample first: most files use one format, and a
    # failing vectorised pass over every row costs as much as a succeeding one.
    sample = text[pending].head(200)
    hits = {fmt: int(pd.to_datetime(sample, format=fmt, errors="coerce").notna().sum()) for fmt in _DATE_FORMATS}
    ordered = sorted(_DATE_FORMATS, key=lambda f: -hits[f])
    for fmt in ordered:
        if not pending.any():
            break
        parsed = pd.to_datetime(text[pending], format=fmt, errors="coerce")
        # Placeholders such as 9999-12-31 are not order dates (and do not fit nanoseconds).
        ok = parsed.notna() & (parsed >= _EARLIEST_DATE) & (parsed < _LATEST_DATE)
        if ok.any():
            result.loc[ok[ok].index] = parsed[ok].astype("datetime64[ns]")
            pending.loc[ok[ok].index] = False
    return result


# --------------------------------------------------------------------------
# Validation reports
# --------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What a file would add, and every row that was turned away, before anything is saved."""

    kind: Kind
    file_name: str
    file_format: str
    encoding: str | None
    rows_read: int
    rows_accepted: int
    rejected: pd.DataFrame
    prepared: pd.DataFrame
    stats: dict[str, Any]
    mapping: dict[str, Any]
    source_key: str
    outcomes: pd.DataFrame | None = None  # channel files: the total outcome and controls per period
    attributes: Any = None  # order files: extra columns kept per customer (lib.customer_attributes.StagedAttributes)
    # Orders read in place (prepare_orders_file): all of them, in a private DuckDB; ``prepared`` is then a preview.
    staged: Any = None

    @property
    def rows_rejected(self) -> int:
        return len(self.rejected)

    @property
    def can_commit(self) -> bool:
        return (self.staged.rows if self.staged is not None else len(self.prepared)) > 0


REJECT_COLUMNS = ["line", "column", "value", "reason"]


def _reject_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in REJECT_COLUMNS})
    return pd.concat(parts, ignore_index=True).sort_values("line", kind="stable").reset_index(drop=True)


def _rejects(lines: np.ndarray, mask: pd.Series, column: str, values: pd.Series | None, reason: str) -> pd.DataFrame:
    idx = np.flatnonzero(mask.to_numpy())
    return pd.DataFrame({
        "line": lines[idx].astype(int),
        "column": column,
        "value": values.iloc[idx].astype(str).str.slice(0, 200).to_numpy() if values is not None else "",
        "reason": reason,
    })


def _malformed_rejects(raw: RawTable) -> pd.DataFrame:
    if not raw.malformed:
        return pd.DataFrame(columns=REJECT_COLUMNS)
    return pd.DataFrame(
        [{"line": n, "column": "", "value": "", "reason": f"malformed_row: {why}"} for n, why in raw.malformed]
    )


ORDER_COLUMNS: tuple[str, ...] = (
    "order_id", "customer_id", "order_ts", "amount", "quantity", "channel", "status", "is_refund", "original_order_id",
)


def prepare_orders(
    raw: RawTable,
    mapping: dict[str, Any],
    *,
    existing_order_ids: set[str] | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Parse and validate an order file under a mapping; aggregate lines to orders.

    Nothing is written. Every turned-away row appears in ``rejected`` with its
    file line and a reason code (bad_date, bad_amount, missing_order_id,
    duplicate_order, malformed_row).
    """
    check_mapping(mapping, "orders", raw.columns)
    if progress:
        progress(0.2, "parsing")
    from lib import staging

    work_dir = staging.new_work_dir()  # where DuckDB spills, never the current folder
    con = staging.import_connection(work_dir)
    try:
        staging.load_frame(con, raw.frame, raw.line_numbers, raw.malformed)
        counts = staging.stage_orders(con, raw.columns, mapping, Path(raw.file_name).stem, existing_order_ids)
        if progress:
            progress(0.6, "aggregating")
        report = _orders_report(con, counts, raw.columns, mapping, raw.file_name, raw.file_format, raw.encoding,
                                raw.sheet, raw.source_key)
        report.prepared = staging.orders_frame(con)
    finally:
        con.close()
        staging.shutil.rmtree(work_dir, ignore_errors=True)
    if progress:
        progress(0.8, "validated")
    return report


def _orders_report(con: Any, counts: dict[str, Any], columns: list[str], mapping: dict[str, Any], file_name: str,
                   file_format: str, encoding: str | None, sheet: str | None, source_key: str) -> ImportReport:
    """The check's report from the staged orders (lib.staging): counts, the ledger's figures, every reject."""
    from lib import staging

    stats = {
        **staging.order_stats(con),
        "line_level": counts["line_level"],
        "lines": counts["lines"],
        "ignored_columns": [c for c in columns if c not in set(mapping.values())],
        "attribute_columns": counts.get("attribute_columns", []),
        "sheet": sheet,
    }
    return ImportReport(
        kind="orders", file_name=file_name, file_format=file_format, encoding=encoding,
        rows_read=counts["rows_read"], rows_accepted=counts["rows_accepted"], rejected=staging.rejects_frame(con),
        prepared=pd.DataFrame(columns=list(ORDER_COLUMNS)), stats=stats, mapping=mapping, source_key=source_key,
        attributes=counts.get("attributes"),
    )


def prepare_orders_file(
    path: str | Path,
    file_name: str,
    mapping: dict[str, Any] | None = None,
    *,
    ws: Workspace | None = None,
    existing_order_ids: Any = None,
    max_rows: int | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Check an order file read in place by DuckDB (lib.staging): memory bounded whatever its size.

    The mapping is, in order, the one given, the one saved in ``ws`` for this header, or
    the suggestion. The orders stay in a private scratch database (``report.staged``)
    until :func:`commit_import` streams them into the workspace; ``report.prepared``
    holds the first rows only, for a preview. Files that only the exact Python reader
    splits right (whitespace-separated, blank lines between rows) go through
    :func:`read_table` and :func:`prepare_orders`, within the upload limits.
    """
    from lib import staging

    path = Path(path)
    max_rows = MAX_STREAM_ROWS if max_rows is None else max_rows
    if progress:
        progress(0.05, "reading")
    work_dir = staging.new_work_dir()
    con = staging.import_connection(work_dir)
    try:
        source = staging.read_file(con, path, file_name, work_dir, max_rows)
        if source is None:
            con.close()
            staging.shutil.rmtree(work_dir, ignore_errors=True)
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ImportFailed(
                    "too_large",
                    "This file needs the exact line-by-line reader (blank lines between rows, or columns separated "
                    f"by spaces), which takes up to {MAX_FILE_BYTES / 1e6:.0f} MB. Remove the blank lines or save it "
                    "as CSV.",
                    size_mb=round(path.stat().st_size / 1e6), limit_mb=round(MAX_FILE_BYTES / 1e6),
                )
            raw = read_table(path.read_bytes(), file_name)
            if existing_order_ids is not None and not isinstance(existing_order_ids, set):
                existing_order_ids = {str(v) for v in existing_order_ids.column(0).to_pylist()}
            if mapping is None:
                mapping = (ws.get_mapping(raw.source_key, "orders") if ws else None) or suggest_mapping(raw.columns, "orders")
            return prepare_orders(raw, mapping, existing_order_ids=existing_order_ids, progress=progress)
        if progress:
            progress(0.3, "parsing")
        source_key = _source_key(source.columns)
        if mapping is None:
            mapping = (ws.get_mapping(source_key, "orders") if ws else None) or suggest_mapping(source.columns, "orders")
        check_mapping(mapping, "orders", source.columns)
        counts = staging.stage_orders(con, source.columns, mapping, Path(file_name).stem, existing_order_ids)
        if progress:
            progress(0.6, "aggregating")
        report = _orders_report(con, counts, source.columns, mapping, file_name, source.file_format, source.encoding,
                                source.sheet, source_key)
        report.prepared = con.execute("SELECT * FROM staged_orders LIMIT 1000").fetchdf()
        report.staged = staging.StagedOrders(con, work_dir, report.stats["orders"])
    except BaseException:
        try:
            con.close()
        finally:
            staging.shutil.rmtree(work_dir, ignore_errors=True)
        raise
    if progress:
        progress(0.8, "validated")
    return report


def parse_periods(values: pd.Series) -> pd.Series:
    """Dates, or ISO weeks such as "2024-W05" / "2024W05" (→ that week's Monday)."""
    text = values.astype(str).str.strip()
    iso_week = text.str.extract(r"^(\d{4})-?W(\d{1,2})$", flags=re.IGNORECASE)
    parsed = parse_datetimes(values)
    has_week = iso_week[0].notna()
    if has_week.any():
        weeks = pd.to_datetime(
            iso_week.loc[has_week, 0] + "-W" + iso_week.loc[has_week, 1].str.zfill(2) + "-1",
            format="%G-W%V-%u", errors="coerce",
        )
        parsed.loc[has_week] = weeks.where((weeks >= _EARLIEST_DATE) & (weeks < _LATEST_DATE)).astype("datetime64[ns]")
    return parsed.dt.normalize()


def prepare_channels(
    raw: RawTable,
    mapping: dict[str, Any],
    *,
    existing_keys: set[tuple[str, str]] | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Parse and validate channel data (long or wide layout) into period × channel rows."""
    check_mapping(mapping, "channels", raw.columns)
    df = raw.frame
    lines = raw.line_numbers
    if progress:
        progress(0.2, "parsing")
    rejects: list[pd.DataFrame] = [_malformed_rejects(raw)]
    period = parse_periods(df[mapping["period"]])
    bad_period = period.isna()
    rejects.append(_rejects(lines, bad_period, mapping["period"], df[mapping["period"]], "bad_date"))

    if mapping.get("layout") == "wide":
        parts = []
        for column, (channel_name, measure) in mapping["wide_columns"].items():
            parts.append(pd.DataFrame({
                "row": np.arange(len(df)), "channel": channel_name, "measure": measure,
                "source_column": column, "raw": df[column].to_numpy(),
            }))
        long = pd.concat(parts, ignore_index=True)
    else:
        parts = []
        for measure in CHANNEL_MEASURES:
            if mapping.get(measure):
                parts.append(pd.DataFrame({
                    "row": np.arange(len(df)), "channel": df[mapping["channel"]].astype(str).str.strip().to_numpy(),
                    "measure": measure, "source_column": mapping[measure], "raw": df[mapping[measure]].to_numpy(),
                }))
        long = pd.concat(parts, ignore_index=True)
    raw_text = long["raw"].astype(str).str.strip()
    blank = raw_text.isin(["", "na", "NA", "N/A", "-", "null", "NULL", "None", "nan"])
    long["value"] = parse_money(long["raw"])
    long.loc[blank, "value"] = np.nan
    row_ok = ~bad_period.to_numpy()[long["row"].to_numpy()]
    bad_value = (~blank) & long["value"].isna() & row_ok
    negative = (long["value"] < 0) & row_ok
    missing_spend = (long["measure"] == "spend") & blank & row_ok
    empty_channel = (long["channel"].astype(str).str.strip() == "") & row_ok
    bad_rows = set(long.loc[bad_value | negative | missing_spend | empty_channel, "row"].tolist())
    # One entry per file row (its first problem), so accepted + rejected = rows read.
    problems = pd.concat([
        long.loc[empty_channel].assign(source_column=mapping.get("channel") or "", raw="", reason="missing_channel"),
        long.loc[bad_value].assign(reason="bad_number"),
        long.loc[negative].assign(reason="negative_value"),
        long.loc[missing_spend].assign(reason="missing_spend"),
    ]).drop_duplicates("row")
    if len(problems):
        rejects.append(pd.DataFrame({
            "line": lines[problems["row"].to_numpy()].astype(int), "column": problems["source_column"].to_numpy(),
            "value": problems["raw"].astype(str).to_numpy(), "reason": problems["reason"].to_numpy(),
        }))
    keep = row_ok & ~long["row"].isin(bad_rows)
    long = long[keep]
    long["period_start"] = period.to_numpy()[long["row"].to_numpy()]
    wide = long.pivot_table(
        index=["period_start", "channel"], columns="measure", values="value", aggfunc="sum", dropna=False,
    )
    # pivot_table's sum turns all-NaN into 0; recover "not given" explicitly.
    given = long.assign(given=long["value"].notna()).pivot_table(
        index=["period_start", "channel"], columns="measure", values="given", aggfunc="max",
    )
    wide = wide.where(given.reindex_like(wide).fillna(False).astype(bool))
    wide = wide.reset_index()
    for measure in CHANNEL_MEASURES:
        if measure not in wide.columns:
            wide[measure] = np.nan
    wide = wide[wide["spend"].notna()]
    prepared = wide[["period_start", "channel", *CHANNEL_MEASURES]].copy()
    prepared["period_start"] = pd.to_datetime(prepared["period_start"]).dt.date
    if existing_keys:
        keys = list(zip(prepared["period_start"].astype(str), prepared["channel"]))
        dup = pd.Series([k in existing_keys for k in keys], index=prepared.index)
        if dup.any():
            rejects.append(pd.DataFrame({
                "line": 0, "column": "", "value": [f"{p} / {c}" for p, c in np.array(keys, dtype=object)[dup.to_numpy()]],
                "reason": "duplicate_period",
            }))
            prepared = prepared[~dup]
    prepared = prepared.sort_values(["period_start", "channel"]).reset_index(drop=True)
    rejected = _reject_frame(rejects)
    accepted_rows = int(len(set(long["row"].tolist())))
    gaps = pd.Series(sorted(set(prepared["period_start"]))).diff().dropna()
    grain = "week" if len(gaps) and gaps.median() >= pd.Timedelta(days=6) else "day"
    mapped = (set(v for k, v in mapping.items() if isinstance(v, str)) | set((mapping.get("wide_columns") or {}).keys())
              | set(mapping.get("controls") or []))
    outcomes = _outcome_rows(df, mapping, period, bad_period)
    stats = {
        "rows": int(len(prepared)),
        "channels": sorted(prepared["channel"].unique().tolist()),
        "grain": grain,
        "spend": float(prepared["spend"].sum()),
        "first_date": str(prepared["period_start"].min()) if len(prepared) else None,
        "last_date": str(prepared["period_start"].max()) if len(prepared) else None,
        "ignored_columns": [c for c in raw.columns if c not in mapped],
        "layout": mapping.get("layout", "long"),
        "sheet": raw.sheet,
        "outcome": mapping.get("outcome"),
        "outcome_kind": mapping.get("outcome_kind") if mapping.get("outcome") else None,
        "outcome_weeks": int((outcomes["role"] == "outcome").sum()) if outcomes is not None else 0,
        "controls": list(mapping.get("controls") or []),
    }
    if progress:
        progress(0.8, "validated")
    return ImportReport(
        kind="channels", file_name=raw.file_name, file_format=raw.file_format, encoding=raw.encoding,
        rows_read=len(df) + len(raw.malformed), rows_accepted=accepted_rows, rejected=rejected,
        prepared=prepared, stats=stats, mapping=mapping, source_key=raw.source_key, outcomes=outcomes,
    )


def _outcome_rows(df: pd.DataFrame, mapping: dict[str, Any], period: pd.Series, bad_period: pd.Series
                  ) -> pd.DataFrame | None:
    """The file's total outcome and controls per period, long (``period_start, name, role, kind, value``).

    The outcome is parsed as money and weeks without one are left out; a control that holds
    words rather than numbers (Robyn's ``events``: "na" or an event name) becomes 1 in the
    weeks that name something and 0 elsewhere; a blank control is 0.
    """
    columns = ([(mapping["outcome"], "outcome")] if mapping.get("outcome") else [])
    columns += [(c, "control") for c in mapping.get("controls") or []]
    if not columns:
        return None
    parts = []
    ok = ~bad_period.to_numpy()
    for column, role in columns:
        text = df[column].astype(str).str.strip()
        blank = text.isin(["", "na", "NA", "N/A", "-", "null", "NULL", "None", "nan"]).to_numpy()
        value = parse_money(df[column]).to_numpy(dtype=float)
        if role == "control":
            words = np.isnan(value) & ~blank
            if words.any():
                value = np.where(blank, 0.0, np.where(np.isnan(value), 1.0, value))
            value = np.where(np.isnan(value), 0.0, value)
        keep = ok & np.isfinite(value)
        parts.append(pd.DataFrame({
            "period_start": pd.to_datetime(period.to_numpy()[keep]).date, "name": str(column), "role": role,
            "kind": mapping.get("outcome_kind", "revenue") if role == "outcome" else None, "value": value[keep],
        }))
    frame = pd.concat(parts, ignore_index=True)
    # One value per period: a wide file has one row per period, a long one repeats the total on every channel row.
    return frame.groupby(["period_start", "name", "role"], as_index=False, dropna=False).agg(
        kind=("kind", "first"), value=("value", "first"))
# --------------------------------------------------------------------------


def existing_order_ids(ws: Workspace, dataset_name: str) -> set[str]:
    rows = ws.query_rows(
        "SELECT o.order_id FROM orders o JOIN datasets d USING (dataset_id) WHERE d.name = ?", [dataset_name]
    )
    return {r[0] for r in rows}


def existing_order_id_table(ws: Workspace, dataset_name: str) -> Any:
    """The dataset's order ids as an Arrow table (an append of millions of orders: no Python set of strings)."""
    with ws.cursor() as cur:
        return cur.sql(
            "SELECT o.order_id FROM orders o JOIN datasets d USING (dataset_id) WHERE d.name = ?", params=[dataset_name]
        ).to_arrow_table()


def existing_channel_keys(ws: Workspace, dataset_name: str) -> set[tuple[str, str]]:
    rows = ws.query_rows(
        "SELECT c.period_start::VARCHAR, c.channel FROM channel_spend c JOIN datasets d USING (dataset_id) "
        "WHERE d.name = ?",
        [dataset_name],
    )
    return {(r[0], r[1]) for r in rows}


_TABLE_FOR_KIND = {"orders": "orders", "channels": "channel_spend"}


def commit_import(
    ws: Workspace,
    report: ImportReport,
    dataset_name: str,
    *,
    mode: Mode = "replace",
    is_sample: bool = False,
    save_mapping: bool = True,
) -> int:
    """Write a validated report into a dataset in one transaction; returns the dataset id.

    ``replace`` swaps this kind of data in the dataset; ``append`` adds to it and
    refuses rows that already exist (checked again inside the transaction, in
    case another session appended meanwhile). Any failure rolls everything back,
    including a dataset that this import would have created.
    """
    if not report.can_commit:
        raise ImportFailed("no_valid_rows", "No row passed validation; nothing to import.")
    if mode not in ("replace", "append"):
        raise ImportFailed("bad_mode", f"Unknown import mode {mode!r}.")
    table = _TABLE_FOR_KIND[report.kind]
    # Orders read in place arrive as Arrow batches from their scratch database, never as one DataFrame.
    staged_ids = report.staged.order_ids() if report.staged is not None and mode == "append" else None
    frame = report.staged.batches() if report.staged is not None else report.prepared.copy()
    if report.staged is None and report.kind == "orders" and "original_order_id" not in frame:
        frame["original_order_id"] = None  # a report prepared before refunds could name their order
    with ws.transaction() as cur:
        dataset_id = ws.ensure_dataset(cur, dataset_name, is_sample=is_sample)
        if mode == "replace":
            cur.execute(f'DELETE FROM "{table}" WHERE dataset_id = ?', [dataset_id])
        else:
            if staged_ids is not None:
                cur.register("incoming", staged_ids)
            else:
                cur.register("incoming", frame)
            if report.kind == "orders":
                clash = cur.execute(
                    "SELECT count(*) FROM orders o JOIN incoming i USING (order_id) WHERE o.dataset_id = ?",
                    [dataset_id],
                ).fetchall()[0][0]
            else:
                clash = cur.execute(
                    "SELECT count(*) FROM channel_spend c JOIN incoming i "
                    "ON c.period_start = i.period_start AND c.channel = i.channel WHERE c.dataset_id = ?",
                    [dataset_id],
                ).fetchall()[0][0]
            cur.unregister("incoming")
            if clash:
                raise ImportFailed(
                    "conflict",
                    f"{clash} rows already exist in the dataset (another import may have just added them). "
                    "Check the file again.",
                    count=int(clash),
                )
        cur.register("incoming", frame)
        if report.kind == "orders":
            cur.execute(
                "INSERT INTO orders (dataset_id, order_id, customer_id, order_ts, amount, quantity, channel, status, "
                "is_refund, original_order_id) SELECT ?, order_id::VARCHAR, customer_id::VARCHAR, "
                "order_ts::TIMESTAMP, amount::DOUBLE, quantity::DOUBLE, channel::VARCHAR, status::VARCHAR, "
                "is_refund::BOOLEAN, original_order_id::VARCHAR FROM incoming", [dataset_id]
            )
        else:
            cur.execute(
                "INSERT INTO channel_spend SELECT ?, period_start::DATE, channel::VARCHAR, spend::DOUBLE, "
                "impressions::DOUBLE, clicks::DOUBLE, new_customers::DOUBLE, orders::DOUBLE, revenue::DOUBLE "
                "FROM incoming", [dataset_id]
            )
        cur.unregister("incoming")
        if report.kind == "channels":
            _commit_outcomes(cur, dataset_id, report.outcomes, replace=mode == "replace")
        else:
            customer_attributes.commit(cur, dataset_id, report.attributes, replace=mode == "replace")
        cur.execute(
            "INSERT INTO import_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [dataset_id, report.kind, report.file_name[:255], mode, report.rows_read, report.rows_accepted,
             report.rows_rejected, datetime.now()],
        )
        ws.bump_version(cur, dataset_id)
    if save_mapping:
        ws.save_mapping(report.source_key, report.kind, report.mapping)
    if report.staged is not None:
        report.staged.close()  # committed: the scratch copy is no longer needed
        report.staged = None
    return dataset_id


def _commit_outcomes(cur: Any, dataset_id: int, outcomes: pd.DataFrame | None, *, replace: bool) -> None:
    """Store a channel file's outcome and controls (inside the import's transaction).

    Replace swaps them with the file's (none in the file: none kept, as for its spend);
    append adds the periods and names the dataset does not have yet.
    """
    if replace:
        cur.execute("DELETE FROM weekly_outcome WHERE dataset_id = ?", [dataset_id])
    if outcomes is None or outcomes.empty:
        return
    cur.register("incoming_outcomes", outcomes)
    cur.execute(
        "INSERT INTO weekly_outcome SELECT ?, i.period_start::DATE, i.name::VARCHAR, i.role::VARCHAR, "
        "i.kind::VARCHAR, i.value::DOUBLE FROM incoming_outcomes AS i "
        "WHERE NOT EXISTS (SELECT 1 FROM weekly_outcome AS w WHERE w.dataset_id = ? "
        "AND w.period_start = i.period_start::DATE AND w.name = i.name::VARCHAR)",
        [dataset_id, dataset_id],
    )
    cur.unregister("incoming_outcomes")


def import_file(
    ws: Workspace,
    data: bytes | Path,
    file_name: str,
    kind: Kind,
    dataset_name: str,
    *,
    mapping: dict[str, Any] | None = None,
    mode: Mode = "replace",
    is_sample: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Read, map (explicit → saved for this header → suggested), validate and commit in one call.

    Used by the CLI and the sample-store loader; the Data page runs the same
    steps with a confirmation in between. An order file given as a path is read in
    place by DuckDB (:func:`prepare_orders_file`: memory bounded, up to
    :data:`MAX_STREAM_ROWS` rows); bytes and channel files go through :func:`read_table`.
    """
    if isinstance(data, Path) and kind == "orders":
        existing = existing_order_id_table(ws, dataset_name) if mode == "append" else None
        report = prepare_orders_file(data, file_name, mapping, ws=ws, existing_order_ids=existing, progress=progress)
        if progress:
            progress(0.85, "writing")
        commit_import(ws, report, dataset_name, mode=mode, is_sample=is_sample)
        if progress:
            progress(1.0, "done")
        return report
    if isinstance(data, Path):
        data = data.read_bytes()
    raw = read_table(data, file_name, progress)
    if mapping is None:
        mapping = ws.get_mapping(raw.source_key, kind) or suggest_mapping(raw.columns, kind)
    report = prepare(ws, raw, kind, mapping, dataset_name, mode=mode, progress=progress)
    if progress:
        progress(0.85, "writing")
    commit_import(ws, report, dataset_name, mode=mode, is_sample=is_sample)
    if progress:
        progress(1.0, "done")
    return report


def prepare(
    ws: Workspace,
    raw: RawTable,
    kind: Kind,
    mapping: dict[str, Any],
    dataset_name: str,
    *,
    mode: Mode = "replace",
    progress: Progress | None = None,
) -> ImportReport:
    """Validate ``raw`` for ``kind``; in append mode rows already in the dataset are rejected."""
    if kind == "orders":
        existing = existing_order_ids(ws, dataset_name) if mode == "append" else None
        return prepare_orders(raw, mapping, existing_order_ids=existing, progress=progress)
    existing_keys = existing_channel_keys(ws, dataset_name) if mode == "append" else None
    return prepare_channels(raw, mapping, existing_keys=existing_keys, progress=progress)


def load_sample_store(ws: Workspace, progress: Progress | None = None) -> int:
    """Import the bundled sample store (orders and weekly channel data) through the normal path.

    Marks the workspace so the sample is loaded once per workspace file: a user
    who deletes it is not given it back at the next start (the Data page offers
    a button for that).
    """
    from lib.sample_store import SAMPLE_CHANNELS_PATH, SAMPLE_DATASET_NAME, SAMPLE_ORDERS_PATH

    def part(offset: float) -> Progress | None:
        if progress is None:
            return None
        return lambda fraction, message: progress(offset + fraction / 2, message)

    import_file(ws, SAMPLE_ORDERS_PATH.read_bytes(), SAMPLE_ORDERS_PATH.name, "orders", SAMPLE_DATASET_NAME,
                mode="replace", is_sample=True, progress=part(0.0))
    import_file(ws, SAMPLE_CHANNELS_PATH.read_bytes(), SAMPLE_CHANNELS_PATH.name, "channels", SAMPLE_DATASET_NAME,
                mode="replace", is_sample=True, progress=part(0.5))
    with ws.transaction() as cur:
        cur.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('sample_loaded', ?)", [datetime.now().isoformat()])
    return ws.get_dataset(SAMPLE_DATASET_NAME).dataset_id
