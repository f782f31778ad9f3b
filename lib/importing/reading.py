"""Reading any supported file into an all-text table: CSV/TSV in any common encoding, gzip, XLSX, Parquet.

Why a module of its own: real exports are messy — GB18030 CSVs from Chinese back
offices, UTF-16 from Excel, gzip, workbooks, Parquet bombs. Everything here turns bytes
into a :class:`RawTable` of text cells with the file line of each row, or refuses with
an :class:`ImportFailed` whose code the pages translate. The importer's limits live here
too, because the readers are the first to check them.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np

from lib.importing import limits

if TYPE_CHECKING:  # the exact reader imports pandas where it builds a frame: a CSV read in place never loads it
    import pandas as pd



Progress = Callable[[float, str], None]
Kind = Literal["orders", "channels"]
Mode = Literal["replace", "append"]

csv.field_size_limit(max(csv.field_size_limit(), limits.MAX_CELL_CHARS))


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
    if len(data) > limits.MAX_FILE_BYTES:
        raise ImportFailed(
            "too_large",
            f"The file is {len(data) / 1e6:.0f} MB; the limit is {limits.MAX_FILE_BYTES / 1e6:.0f} MB.",
            size_mb=round(len(data) / 1e6), limit_mb=round(limits.MAX_FILE_BYTES / 1e6),
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


def _gunzip(data: bytes) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(limits.MAX_GZIP_UNCOMPRESSED + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ImportFailed("not_a_table", "The compressed file is damaged.", what="damaged_gzip") from exc
    if len(out) > limits.MAX_GZIP_UNCOMPRESSED:
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


@dataclass
class _Rows:
    """A text file's rows as they are read: each kept row with its line, each malformed line with why."""

    header: list[str] | None = None
    rows: list[list[str]] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)
    malformed: list[tuple[int, str]] = field(default_factory=list)

    def keep(self, number: int, cells: list[str]) -> None:
        self.rows.append(cells)
        self.line_numbers.append(number)
        if len(self.rows) > limits.MAX_IMPORT_ROWS:
            _check_row_count(len(self.rows))

    def refuse(self, number: int, found: int) -> None:
        self.malformed.append((number, f"expected {len(self.header or [])} fields, found {found}"))


def _read_delimited(text: str, file_name: str, encoding: str) -> RawTable:
    sample_lines = [line for line in text[:200_000].splitlines() if line.strip()][:50]
    if not sample_lines:
        raise ImportFailed("empty_file", "The file is empty.")
    delimiter = _detect_delimiter(sample_lines)
    read = _read_words(text) if delimiter is None else _read_csv_rows(text, delimiter)
    if read.header is None:
        raise ImportFailed("empty_file", "The file is empty.")
    columns = normalize_headers(read.header)
    if len(columns) == 1 and any(d in columns[0] for d in ",;\t|"):
        raise ImportFailed("one_column", "The file could not be split into columns; check its delimiter.")
    if not read.rows:
        if read.malformed:
            raise ImportFailed("no_valid_rows", "No row has the same number of fields as the header.")
        raise ImportFailed("no_rows", "The file has a header but no rows.")
    import pandas as pd

    frame = pd.DataFrame(read.rows, columns=columns, dtype=object)
    return RawTable(frame, np.asarray(read.line_numbers), file_name, "csv", encoding=encoding,
                    malformed=read.malformed)


def _read_words(text: str) -> _Rows:
    """Whitespace-separated text: each non-blank line split on runs of spaces."""
    read = _Rows()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split()
        if read.header is None:
            read.header = cells
        elif len(cells) != len(read.header):
            read.refuse(number, len(cells))
        else:
            read.keep(number, cells)
    return read


def _read_csv_rows(text: str, delimiter: str) -> _Rows:
    """Delimited text read by Python's csv module, each row with the physical line it starts on."""
    read = _Rows()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    physical_lines: list[str] | None = None
    start_line = 1
    for cells in reader:
        line_no = start_line
        start_line = reader.line_num + 1
        if not cells or all(not c.strip() for c in cells):
            continue
        if read.header is None:
            read.header = cells
            continue
        fitted = _fit_row(cells, len(read.header))
        if fitted is not None:
            read.keep(line_no, fitted)
        elif reader.line_num > line_no:
            # A stray quote joined this line to the following ones (possibly to the
            # end of the file): judge each of those physical lines on its own.
            if physical_lines is None:
                physical_lines = io.StringIO(text, newline="").readlines()
            _read_lines_alone(read, physical_lines[line_no - 1 : reader.line_num], line_no, delimiter)
        else:
            read.refuse(line_no, len(cells))
    return read


def _read_lines_alone(read: _Rows, lines: list[str], first_line: int, delimiter: str) -> None:
    for number, line in enumerate(lines, start=first_line):
        alone = next(csv.reader([line], delimiter=delimiter, strict=False), [])
        if not alone or all(not c.strip() for c in alone):
            continue
        fitted = _fit_row(alone, len(read.header or []))
        if fitted is None:
            read.refuse(number, len(alone))
        else:
            read.keep(number, fitted)


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
    import pandas as pd

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
    if uncompressed > limits.MAX_XLSX_UNCOMPRESSED or uncompressed / compressed > limits.MAX_XLSX_RATIO and uncompressed > 50e6:
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
    limit = limits.MAX_IMPORT_ROWS if limit is None else limit
    if rows > limit and limit >= limits.MAX_STREAM_ROWS:  # already the command line's limit: only reading in place is left
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
    import pandas as pd

    text = pd.DataFrame(
        {c: [_cell_text(v) if not _is_na(v) else "" for v in frame[c].tolist()] for c in frame.columns},
        dtype=object,
    )
    text.columns = normalize_headers([str(c) for c in frame.columns])
    return RawTable(text, np.arange(1, len(text) + 1), file_name, "parquet")


def _is_na(value: Any) -> bool:
    import pandas as pd

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


