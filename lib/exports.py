"""The one safe writer behind every Excel and CSV download.

Why this module exists: exported files carry text from user data (customer ids,
channel names, campaign notes) into spreadsheet programs that will execute a cell
such as ``=HYPERLINK(...)`` or ``+SUM(1)`` as a formula, and control characters
make openpyxl refuse to write at all. Every export goes through here so that:

* **xlsx**: every string is written as a string cell (never a formula: openpyxl
  would otherwise turn any text starting with ``=`` into ``<f>``); text that
  *looks* like a formula (leading ``= + - @``, tab, CR, LF) keeps its exact
  value and gets the ``quotePrefix`` style, so Excel shows it as text and keeps
  it text when the cell is edited. No apostrophe is added in xlsx: the value
  round-trips unchanged (phone numbers like ``+86 138…`` stay readable).
* **CSV** (no cell types exist): such fields are prefixed with ``'`` (OWASP's
  advice), every field is quoted with doubled inner quotes, and the file starts
  with a UTF-8 BOM so Excel opens Chinese text correctly.
* Control characters ``\\x00–\\x08``, ``\\x0b``, ``\\x0c``, ``\\x0e–\\x1f`` (and
  XML-invalid code points) are stripped everywhere; numbers stay numbers (a
  negative number is never turned into text).

``DataFrame.to_excel`` is never used for user data: it writes formulas.

Two writers apply these rules, so that exports keep up with data of any size:

* cell by cell for DataFrames: :func:`csv_bytes` and :func:`workbook_bytes`
  (openpyxl; images, the review pack, playbooks);
* streamed, the rules done in SQL or Arrow a column at a time, no row through
  Python: :func:`write_query_csv` / :func:`query_csv_bytes` run a query, render every
  field as text with Arrow compute (DuckDB for the rarer types) and let Arrow's CSV
  writer write the file (byte for byte what :func:`csv_bytes` writes), and
  :func:`fast_workbook_bytes` writes :class:`SheetSpec` sheets with XlsxWriter in
  constant-memory mode; :class:`StreamingWorkbook` / :func:`stream_workbook` let a
  caller stream its own sheets (batches of Arrow rows from :func:`query_batches`).

The writers take SQL, Arrow batches or DataFrames and know nothing of what the rows
mean: the segment export (:mod:`lib.segments.export`) is built on them.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from lib.sql_engine import Engine, QueryTarget
from lib.workspace import scratch_connection

if TYPE_CHECKING:  # frames come from callers that already hold one: the streamed writers never load pandas
    import pandas as pd

FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\n")
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_INVALID_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
MAX_SHEET_NAME = 31
MAX_CELL_TEXT = 32767
MAX_DATA_ROWS = 1_048_575  # Excel's 1,048,576 rows minus the header
EXACT_INT_LIMIT = 10**15  # Excel keeps 15 significant digits; longer integers are written as text
_WIDTH_SAMPLE_ROWS = 2000

NUMBER_FORMATS: dict[str, str] = {
    "money": "#,##0.00",
    "number": "#,##0.00",
    "int": "#,##0",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
    "text": "@",
}



@dataclass(frozen=True)
class _OpenpyxlStyles:
    header_font: Any
    header_fill: Any
    wrap: Any


@lru_cache(maxsize=1)
def _openpyxl_styles() -> _OpenpyxlStyles:
    """openpyxl's style objects, made on first use: openpyxl is imported only when an openpyxl workbook is written
    (a CSV export, e.g. ``cli segments --export x.csv``, never loads it)."""
    from openpyxl.styles import Alignment, Font, PatternFill

    return _OpenpyxlStyles(Font(bold=True), PatternFill("solid", fgColor="F2F2F2"),
                           Alignment(wrap_text=True, vertical="top"))


def _column_letter(index: int) -> str:
    """Excel's column name of a 1-based column index: 1 → "A", 27 → "AA" (openpyxl's, without importing it)."""
    if index < 1:
        raise ValueError(f"column index {index} is below 1")
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------


def strip_control(text: str) -> str:
    """``text`` without the control characters that break XML/Excel (tab, CR and LF are kept)."""
    return _CONTROL_RE.sub("", text)


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet could read this text as a formula (leading = + - @, tab, CR or LF)."""
    return text.startswith(FORMULA_TRIGGERS)


def _loaded_pandas() -> Any:
    """pandas if something already loaded it, else None.

    A value can only be a pandas scalar (``pd.NA``, ``NaT``, a ``Timestamp``) once pandas
    is loaded, so the cell rules ask this instead of importing it: the streamed
    writers (the CLI's CSV export) run without loading pandas at all.
    """
    return sys.modules.get("pandas")


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    pd = _loaded_pandas()
    if pd is not None and (value is pd.NA or value is pd.NaT):
        return True
    if isinstance(value, float):
        return math.isnan(value) or math.isinf(value)
    if isinstance(value, np.floating):
        return bool(np.isnan(value) or np.isinf(value))
    return False


def _plain(value: Any) -> Any:
    """numpy/pandas scalars as Python values; missing values as None; tz-aware times made naive."""
    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    pd = _loaded_pandas()
    if pd is not None and isinstance(value, pd.Timestamp):
        if value.tzinfo is not None:
            value = value.tz_localize(None)
        value = value.to_pydatetime()
    elif isinstance(value, datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def neutralise(value: Any) -> Any:
    """A value that any spreadsheet shows as data, never runs as a formula (the plain-text policy).

    Strings: control characters stripped, then a leading ``'`` added when they
    start with ``= + - @``, tab, CR or LF. Numbers, booleans and dates are
    returned unchanged (``-1.5`` stays the number ``-1.5``); missing values become
    None; anything else is turned into a string and treated as one.
    This is what CSV and other text exports write; the xlsx writer keeps the text
    exact and uses ``quotePrefix`` instead (see :func:`xlsx_text`).
    """
    value = _plain(value)
    if value is None or isinstance(value, (bool, int, float, date)):
        return value
    text = strip_control(str(value))
    return "'" + text if looks_like_formula(text) else text


def xlsx_text(value: str) -> tuple[str, bool]:
    """Text as an xlsx cell stores it: (clean text, whether it needs ``quotePrefix``)."""
    text = strip_control(value)[:MAX_CELL_TEXT]
    return text, looks_like_formula(text)


def display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: CJK and other wide characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def sanitize_sheet_name(name: Any, taken: set[str] | None = None) -> str:
    """A valid, unique sheet name: no ``[]:*?/\\``, no control characters, not starting or ending with ``'``,
    at most 31 characters (UTF-16 units, as Excel counts), unique ignoring case against ``taken``
    (lower-cased names), and never Excel's reserved "History"."""
    clean = _INVALID_SHEET_CHARS.sub("", strip_control(str(name if name is not None else "")))
    clean = " ".join(clean.split()).strip("'").strip() or "Sheet"
    if clean.lower() == "history":
        clean = "History_"
    taken = taken or set()

    def fit(text: str, limit: int) -> str:
        out = ""
        for ch in text:
            if len((out + ch).encode("utf-16-le")) // 2 > limit:
                break
            out += ch
        return out.rstrip().rstrip("'") or "Sheet"

    candidate = fit(clean, MAX_SHEET_NAME)
    n = 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate = fit(clean, MAX_SHEET_NAME - len(suffix)) + suffix
        n += 1
    return candidate


# --------------------------------------------------------------------------------------
# Workbook
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetImage:
    """A PNG placed on a sheet (e.g. a chart rendered by ``lib.timeline.exports.chart_png``).

    ``anchor`` is the top-left cell ("H2"); None puts it two columns right of the
    table, on row 2. ``scale`` is the PNG's pixel density: a chart rendered at
    ``scale=2`` is shown at half its pixel size, so it stays sharp.
    """

    png: bytes
    anchor: str | None = None
    scale: float = 1.0


@dataclass
class SheetSpec:
    """One sheet: a table (``frame``) or key/value rows (``rows``, e.g. an "About" sheet).

    ``formats`` maps column names to ``money``, ``number``, ``int``, ``percent``,
    ``date``, ``datetime`` or ``text``; date and datetime columns are detected
    when not given. In ``rows`` mode each row is a sequence of values; a row of
    one value is written bold as a section heading. ``images`` (optional) are
    PNGs drawn over the sheet, next to the table by default.
    """

    title: str
    frame: pd.DataFrame | None = None
    formats: Mapping[str, str] = field(default_factory=dict)
    rows: Sequence[Sequence[Any]] | None = None
    images: Sequence[SheetImage] = ()


def _infer_format(series: pd.Series) -> str | None:
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.dropna()
        if values.empty:
            return "date"
        stamps = pd.DatetimeIndex(values)
        return "date" if (stamps == stamps.normalize()).all() else "datetime"
    if series.dtype == object:
        sample = series.dropna().head(50)
        if len(sample) and all(isinstance(v, date) and not isinstance(v, datetime) for v in sample):
            return "date"
        if len(sample) and all(isinstance(v, datetime) for v in sample):
            return "datetime"
    return None


_ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"))


class _CellMaker:
    """Turns one column's values into write-only cells that are never formulas.

    Plain text and unformatted numbers go to openpyxl as raw values (fast path);
    formula-looking text, error-code look-alikes and formatted values use one
    reusable styled cell per kind (write-only cells are serialised on append, so
    reuse is safe and avoids building a styled cell per value).
    """

    def __init__(self, sheet: Any, number_format: str | None = None, *, bold: bool = False, wrap: bool = False) -> None:
        self.sheet = sheet
        self.number_format = number_format
        self.decorated = bold or wrap
        self.bold, self.wrap = bold, wrap
        self._text = self._new()
        self._quoted = self._new()
        self._quoted.quotePrefix = True
        self._value = self._new()
        if number_format:
            self._value.number_format = number_format
        self._date = self._new()
        self._date.number_format = number_format if number_format in (
            NUMBER_FORMATS["date"], NUMBER_FORMATS["datetime"]) else NUMBER_FORMATS["date"]
        self._datetime = self._new()
        self._datetime.number_format = number_format if number_format in (
            NUMBER_FORMATS["date"], NUMBER_FORMATS["datetime"]) else NUMBER_FORMATS["datetime"]

    def _new(self) -> Any:
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(self.sheet)
        if self.bold:
            cell.font = _openpyxl_styles().header_font
        if self.wrap:
            cell.alignment = _openpyxl_styles().wrap
        return cell

    def __call__(self, value: Any) -> Any:
        value = _plain(value)
        if value is None:
            return None
        if isinstance(value, str) or not isinstance(value, (bool, int, float, date)):
            text, quote = xlsx_text(str(value))
            if not quote and not self.decorated and not text.startswith("#"):
                return text  # openpyxl stores it as a plain string
            cell = self._quoted if quote else self._text
            cell.value = text
            cell.data_type = "s"  # never "f" (formula) or "e" (error)
            return cell
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= EXACT_INT_LIMIT:
            cell = self._text
            cell.value = str(value)
            cell.data_type = "s"
            return cell
        if isinstance(value, datetime):
            cell = self._datetime
        elif isinstance(value, date):
            cell = self._date
        elif self.number_format or self.decorated:
            cell = self._value
        else:
            return value
        cell.value = value
        return cell


def _column_values(series: pd.Series, kind: str | None) -> list[Any]:
    """A column's values as the writers take them: datetimes naive (wall time), dates for ``date`` columns."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_localize(None)
        values = [None if pd.isna(v) else v.to_pydatetime() for v in series]
        if kind == "date":
            values = [v.date() if v is not None else None for v in values]
        return values
    return series.tolist()


def _shown_width(value: Any, kind: str | None) -> int:
    value = _plain(value)
    if value is None:
        return 0
    if isinstance(value, bool):
        return 5
    if isinstance(value, (int, float)):
        if kind == "percent":
            return len(f"{value * 100:.1f}%")
        if kind in ("money", "number"):
            return len(f"{value:,.2f}")
        if kind == "int":
            return len(f"{value:,.0f}")
        return len(str(value))
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    return max((display_width(line) for line in str(value).splitlines() or [""]), default=0)


_GROWING_KINDS = ("money", "number", "int", "percent")  # formats whose text grows with the magnitude


def _widest(values: Sequence[Any], kind: str | None) -> int:
    """``max(_shown_width(v, kind) for v in values)``, measuring each distinct value once.

    For the number formats whose text only grows with the magnitude, the largest and
    smallest number stand for all numbers (plus a negative zero, shown as "-0.00").
    """
    candidates: list[Any] = list(values)
    if kind in _GROWING_KINDS:
        numbers, others = [], []
        for v in candidates:
            if type(v) in (int, float) and not (type(v) is float and (math.isnan(v) or math.isinf(v))):
                numbers.append(v)
            else:
                others.append(v)
        candidates = others
        if numbers:
            candidates += [max(numbers), min(numbers)]
            candidates += [v for v in numbers if v == 0 and math.copysign(1.0, v) < 0][:1]
    distinct: dict[Any, Any] = {}
    rest: list[Any] = []
    for v in candidates:
        try:
            distinct.setdefault((type(v), repr(v) if type(v) is float else v), v)  # keeps -0.0 apart from 0.0
        except TypeError:  # unhashable: measure as is
            rest.append(v)
    return max([0] + [_shown_width(v, kind) for v in [*distinct.values(), *rest]])


def _column_widths(header: list[str], columns: list[list[Any]], kinds: list[str | None], cap: int = 60) -> list[float]:
    widths = []
    for name, values, kind in zip(header, columns, kinds):
        widest = max(display_width(name), _widest(values[:_WIDTH_SAMPLE_ROWS], kind))
        widths.append(float(min(max(widest + 2, 6), cap)))
    return widths


def _write_frame(sheet: Any, spec: SheetSpec) -> None:
    import pandas as pd

    frame = spec.frame if spec.frame is not None else pd.DataFrame()
    if len(frame) > MAX_DATA_ROWS:
        raise ValueError(
            f"Sheet {spec.title!r} has {len(frame):,} rows; Excel holds {MAX_DATA_ROWS:,}. Split it or export CSV."
        )
    header = [str(c) for c in frame.columns]
    kinds: list[str | None] = []
    columns: list[list[Any]] = []
    for col in frame.columns:
        series = frame[col]
        kind = spec.formats.get(col) or _infer_format(series)
        kinds.append(kind)
        columns.append(_column_values(series, kind))
    widths = _column_widths(header, columns, kinds)
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[_column_letter(i)].width = width
    ncols = len(header)
    if ncols:
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{_column_letter(ncols)}{len(frame) + 1}"
    header_cells = []
    for name in header:
        maker = _CellMaker(sheet, bold=True)
        maker._text.fill = maker._quoted.fill = _openpyxl_styles().header_fill
        header_cells.append(maker(name))
    sheet.append(header_cells)
    makers = [_CellMaker(sheet, NUMBER_FORMATS.get(k) if k else None) for k in kinds]
    for row in zip(*columns):
        sheet.append([make(v) for make, v in zip(makers, row)])


def _write_rows(sheet: Any, spec: SheetSpec) -> None:
    rows = [list(r) for r in (spec.rows or [])]
    ncols = max((len(r) for r in rows), default=1)
    for c in range(ncols):
        values = [r[c] for r in rows if len(r) > c and len(r) > 1]
        widest = max([_shown_width(v, None) for v in values] or [8])
        cap = 40 if c < ncols - 1 else 100
        sheet.column_dimensions[_column_letter(c + 1)].width = float(min(max(widest + 2, 10), cap))
    heading = _CellMaker(sheet, bold=True)
    makers = [_CellMaker(sheet, bold=(i == 0), wrap=(i == ncols - 1)) for i in range(ncols)]
    for row in rows:
        if len(row) == 1:
            sheet.append([heading(row[0])])
        else:
            sheet.append([makers[i](v) for i, v in enumerate(row)])


def _add_images(sheet: Any, spec: SheetSpec) -> None:
    """Place the spec's images (openpyxl needs Pillow to read them; PNG bytes only)."""
    if not spec.images:
        return
    from openpyxl.drawing.image import Image

    if spec.frame is not None:
        used_columns = len(spec.frame.columns)
    else:
        used_columns = max((len(r) for r in spec.rows or []), default=0)
    default_anchor = f"{_column_letter(used_columns + 2)}2"
    for item in spec.images:
        image = Image(io.BytesIO(item.png))
        if item.scale and item.scale != 1.0:
            image.width = max(1, round(image.width / item.scale))
            image.height = max(1, round(image.height / item.scale))
        sheet.add_image(image, item.anchor or default_anchor)


def workbook_bytes(sheets: Sequence[SheetSpec]) -> bytes:
    """An .xlsx file (bytes) with one sheet per spec: frozen bold header, autofilter, widths from content
    (CJK counts double), number and date formats, sanitised unique sheet names, and no formula anywhere."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    taken: set[str] = set()
    for spec in sheets or [SheetSpec("Sheet", rows=[])]:
        name = sanitize_sheet_name(spec.title, taken)
        taken.add(name.lower())
        sheet = wb.create_sheet(title=name)
        if spec.frame is not None:
            _write_frame(sheet, spec)
        else:
            _write_rows(sheet, spec)
        _add_images(sheet, spec)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------


def _csv_text(value: Any) -> str:
    value = neutralise(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") if value.time() != datetime.min.time() else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV bytes: UTF-8 with BOM, every field quoted (inner quotes doubled), CRLF line ends, formula-looking
    text prefixed with ``'`` (OWASP: ``=1+2";=1+2`` → ``"'=1+2"";=1+2"``), numbers left as numbers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([_csv_text(str(c)) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        writer.writerow([_csv_text(v) for v in row])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


# --------------------------------------------------------------------------------------
# Queries, streamed: the same rules applied in SQL / Arrow instead of cell by cell
# --------------------------------------------------------------------------------------

# RE2 spellings (DuckDB's and Arrow's regex engine) of _CONTROL_RE and of FORMULA_TRIGGERS;
# surrogates cannot occur in UTF-8 text. tests/test_exports.py checks them against the Python rule.
_RE2_CONTROL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
_RE2_TRIGGER = r"^[=+\-@\t\r\n]"
_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_SQL_STRING_RE = re.compile(r"'(?:[^']|'')*'")
_BATCH_ROWS = 100_000
_BOM = "\ufeff"


def sql_literal(text: str) -> str:
    """``text`` as a SQL string literal (DuckDB: standard strings, no backslash escapes)."""
    return "'" + str(text).replace("'", "''") + "'"


def sql_strip_control(expr: str) -> str:
    """SQL for :func:`strip_control` of a text expression."""
    return f"regexp_replace(CAST({expr} AS VARCHAR), {sql_literal(_RE2_CONTROL)}, '', 'g')"


def sql_neutralise(expr: str) -> str:
    """SQL for :func:`neutralise` of a text expression, as CSV writes it: control characters stripped,
    ``'`` before text starting with ``= + - @``, tab, CR or LF, and '' for NULL.

    One regex match decides whether anything is to be done, so ordinary text costs a single scan.
    """
    text = f"CAST({expr} AS VARCHAR)"
    clean = sql_strip_control(expr)
    return (f"CASE WHEN {expr} IS NULL THEN '' "
            f"WHEN NOT regexp_matches({text}, {sql_literal(_RE2_CONTROL + '|' + _RE2_TRIGGER)}) THEN {text} "
            f"WHEN regexp_matches({clean}, {sql_literal(_RE2_TRIGGER)}) THEN '''' || {clean} ELSE {clean} END")


def _bound(sql: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Only the named parameters the SQL uses (DuckDB rejects extra ones)."""
    params = params or {}
    used = set(_PARAM_RE.findall(_SQL_STRING_RE.sub("''", sql)))  # a "$" inside a literal is text
    missing = used - set(params)
    if missing:
        raise KeyError(f"SQL parameters without values: {sorted(missing)}")
    return {k: v for k, v in params.items() if k in used}


@contextmanager
def query_batches(conn: QueryTarget, sql: str, params: Mapping[str, Any] | None,
                  batch_rows: int = _BATCH_ROWS) -> Iterator[pa.RecordBatchReader]:
    """The rows of a read query as an Arrow stream, on a :class:`lib.workspace.Workspace`, a DuckDB connection
    or a :class:`lib.sql_engine.Engine` (the rows then come from DuckDB or Spark; the file is written here alike).

    The stream is only valid inside the ``with`` block (it reads from the cursor).
    """
    bound = _bound(sql, params)
    if isinstance(conn, Engine):  # DuckDB or Spark through lib.sql_engine's seam
        with conn.arrow_batches(sql, bound, batch_rows) as reader:
            yield reader
    elif isinstance(conn, duckdb.DuckDBPyConnection):
        cur = conn.cursor()
        try:
            yield cur.sql(sql, params=bound).to_arrow_reader(batch_rows)
        finally:
            cur.close()
    else:
        with conn.cursor() as cur:
            yield cur.sql(sql, params=bound).to_arrow_reader(batch_rows)


def _base_type(typ: pa.DataType) -> pa.DataType:
    return typ.value_type if pa.types.is_dictionary(typ) else typ


def _is_text_type(typ: pa.DataType) -> bool:
    return bool(pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ))


def _csv_sql(column: str, typ: pa.DataType, money: bool) -> str:
    """SQL turning one column into the text :func:`csv_bytes` writes for it (never NULL)."""
    typ = _base_type(typ)
    if pa.types.is_null(typ):
        return "''"
    if pa.types.is_boolean(typ):
        return f"CASE WHEN {column} IS NULL THEN '' WHEN {column} THEN 'TRUE' ELSE 'FALSE' END"
    if pa.types.is_integer(typ):
        return f"coalesce(CAST({column} AS VARCHAR), '')"
    if pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        value = f"CAST({column} AS DOUBLE)"
        if money:  # to the cent, rounding half to even like pandas' round(2)
            value = f"round_even({value}, 2)"
        return f"CASE WHEN isfinite({value}) THEN CAST({value} AS VARCHAR) ELSE '' END"  # NULL, NaN, ±inf: ''
    if pa.types.is_date(typ):
        return f"coalesce(CAST(CAST({column} AS DATE) AS VARCHAR), '')"
    if pa.types.is_timestamp(typ):
        value = f"CAST({column} AS TIMESTAMP)"
        return (f"CASE WHEN {column} IS NULL THEN '' WHEN {value} = date_trunc('day', {value}) "
                f"THEN strftime({value}, '%Y-%m-%d') ELSE strftime({value}, '%Y-%m-%d %H:%M:%S') END")
    return sql_neutralise(column)  # text, and anything else as its text


def _arrow_neutralise(values: pa.Array) -> pa.Array:
    """:func:`sql_neutralise` in Arrow compute (same RE2 patterns), for a dictionary's few distinct texts.

    A NULL value stays NULL (:func:`_write_csv`'s SQL writes it as ``''``). No Arrow
    scalar is built from a Python value here: pyarrow loads pandas to check each one,
    and the CLI's CSV export runs without pandas.
    """
    clean = pc.replace_substring_regex(values, _RE2_CONTROL, "")
    quoted = pc.utf8_replace_slice(clean, start=0, stop=0, replacement="'")  # ' in front of the text
    return pc.if_else(pc.match_substring_regex(clean, _RE2_TRIGGER), quoted, clean)


def _is_text_dictionary(typ: pa.DataType) -> bool:
    return bool(pa.types.is_dictionary(typ) and _is_text_type(typ.value_type))


def _neutralised_dictionaries(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """``reader`` with the values of its text dictionaries neutralised as CSV writes them.

    A dictionary column (a label repeated on every row, an ENUM in DuckDB) then costs
    one pass over its few distinct values instead of a regex per row; the SQL only
    turns it into text (see :func:`_write_csv`).
    """
    columns = [i for i, field in enumerate(reader.schema) if _is_text_dictionary(field.type)]
    if not columns:
        return reader

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            arrays = list(batch.columns)
            for i in columns:
                array = arrays[i]
                arrays[i] = pa.DictionaryArray.from_arrays(array.indices, _arrow_neutralise(array.dictionary),
                                                         ordered=array.type.ordered)
            yield pa.RecordBatch.from_arrays(arrays, schema=reader.schema)

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def _csv_header_line(headers: Sequence[Any]) -> str:
    return ",".join('"' + _csv_text(str(h)).replace('"', '""') + '"' for h in headers) + "\r\n"


def _tallied(reader: pa.RecordBatchReader, column: str, tally: dict[Any, int]) -> pa.RecordBatchReader:
    """``reader`` unchanged, counting the values of ``column`` into ``tally`` as the batches stream past.

    What lets one pass over the rows both write a file and report how many rows each
    group has (the CLI's summary) instead of classifying every customer a second time.
    """
    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            if batch.num_rows:
                counts = pc.value_counts(batch.column(column))
                for value, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
                    tally[value] = tally.get(value, 0) + int(n)
            yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


# Columns Arrow renders itself (:func:`_arrow_csv_column`); a stream with any other type (timestamps,
# decimals...) is rendered by DuckDB (:func:`_csv_sql`).
def _arrow_renders(typ: pa.DataType) -> bool:
    return bool(_is_text_dictionary(typ) or pa.types.is_string(typ) or pa.types.is_large_string(typ)
                or pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_date32(typ)
                or pa.types.is_boolean(typ) or pa.types.is_null(typ))


# Arrow arrays and scalars are built from buffers here, never from Python or numpy values: pa.array() and
# pa.scalar() (and Array.to_numpy) load pandas to check their input, and the CLI's CSV export runs without it.
def _arrow_texts(texts: Sequence[str]) -> pa.Array:
    """``texts`` as an Arrow string array."""
    encoded = [text.encode("utf-8") for text in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return pa.Array.from_buffers(pa.large_string(), len(encoded), [None, pa.py_buffer(offsets),
                                                                  pa.py_buffer(b"".join(encoded))])


def _arrow_mask(mask: np.ndarray) -> pa.Array:
    """A numpy bool array as an Arrow boolean array."""
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(np.packbits(mask, bitorder="little"))])


def _numpy_bools(values: pa.Array) -> np.ndarray:
    """An Arrow boolean array (NULL: False) as numpy."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=bool)
    bits = np.unpackbits(np.frombuffer(values.buffers()[1], dtype=np.uint8), bitorder="little")
    out = bits[values.offset:values.offset + n].astype(bool)
    if values.null_count:
        out &= np.unpackbits(np.frombuffer(values.buffers()[0], dtype=np.uint8),
                             bitorder="little")[values.offset:values.offset + n].astype(bool)
    return out


def _numpy_floats(values: pa.Array) -> np.ndarray:
    """A floating Arrow array as float64 numpy (NULL: NaN)."""
    doubles = values.cast(pa.float64())
    n = len(doubles)
    if n == 0:
        return np.zeros(0)
    x = np.frombuffer(doubles.buffers()[1], dtype=np.float64)[doubles.offset:doubles.offset + n].copy()
    if doubles.null_count:
        x[~_numpy_bools(pc.is_valid(doubles))] = np.nan
    return x


_EMPTY_TEXT = _arrow_texts([""])[0]  # the '' every NULL is written as


def _filled(text: pa.Array) -> pa.Array:
    return pc.fill_null(text, _EMPTY_TEXT.cast(text.type)) if text.null_count else text


def _arrow_float_text(values: pa.Array, money: bool) -> pa.Array:
    """``repr(float)`` of each value (money: rounded half to even to the cent first, as pandas' ``round(2)``),
    '' for NULL, NaN and ±inf.

    Arrow writes Python's shortest digits, but a whole number without its ``.0`` and from 1e10 on
    with an exponent (Python: from 1e16, and below 1e-4): below 1e10 (and from 1e-4, or 0) its text
    is kept, ``.0`` added to whole numbers; other finite values (rare) get ``repr``.
    tests/test_exports.py checks the rule against ``repr`` over every magnitude.
    """
    x = _numpy_floats(values)
    if money:
        with np.errstate(over="ignore"):  # beyond ±1.8e306: inf, written '' as pandas' round(2) makes it
            x = np.round(x, 2)
    text = pc.cast(pa.Array.from_buffers(pa.float64(), len(x), [None, pa.py_buffer(x)]), pa.large_string())
    size = np.abs(x)
    with np.errstate(invalid="ignore"):
        plain = (size == 0) | ((size >= 1e-4) & (size < 1e10))
        whole = plain & (x == np.floor(x))
    if whole.any():
        mask = _arrow_mask(whole)
        text = pc.replace_with_mask(text, mask, pc.utf8_replace_slice(pc.filter(text, mask), start=2**62, stop=2**62,
                                                                      replacement=".0"))
    finite = np.isfinite(x)
    other = ~plain & finite
    if other.any():
        text = pc.replace_with_mask(text, _arrow_mask(other), _arrow_texts([repr(v) for v in x[other].tolist()]))
    if not finite.all():
        text = pc.replace_with_mask(text, _arrow_mask(~finite), _arrow_texts([""] * int((~finite).sum())))
    return text


def _arrow_neutralised_text(values: pa.Array) -> pa.Array:
    """:func:`sql_neutralise` of a text column: one regex match per row, the few rows it finds rewritten."""
    found = pc.and_kleene(pc.match_substring_regex(values, _RE2_CONTROL + "|" + _RE2_TRIGGER), pc.is_valid(values))
    if pc.any(found).as_py():
        values = pc.replace_with_mask(values, found, _arrow_neutralise(pc.filter(values, found)))
    return values


def _arrow_csv_column(values: pa.Array, money: bool) -> pa.Array:
    """One column of a batch as the text :func:`csv_bytes` writes for it (large strings, never NULL).

    Integers and dates are cast as they are (Arrow writes them as Python does); a text
    dictionary's values are already neutralised (:func:`_neutralised_dictionaries`).
    """
    typ = values.type
    if pa.types.is_floating(typ):
        text = _arrow_float_text(values, money)
    elif pa.types.is_string(typ) or pa.types.is_large_string(typ):
        text = _arrow_neutralised_text(values)
    elif pa.types.is_boolean(typ):
        text = pc.utf8_upper(pc.cast(values, pa.large_string()))  # TRUE / FALSE
    else:
        text = pc.cast(values, pa.large_string())
    return _filled(text.cast(pa.large_string()))


def _arrow_rendered(reader: pa.RecordBatchReader, money: Collection[str]) -> Iterator[pa.RecordBatch]:
    """The batches of ``reader`` rendered by :func:`_arrow_csv_column`, in order, two batches at a time
    on a thread pool (Arrow's kernels release the GIL)."""
    from concurrent.futures import Future, ThreadPoolExecutor

    names = reader.schema.names
    flags = [name in money for name in names]

    def render(batch: pa.RecordBatch) -> pa.RecordBatch:
        return pa.RecordBatch.from_arrays([_arrow_csv_column(batch.column(i), flags[i]) for i in range(len(names))],
                                          names=names)

    workers = max(1, min(4, os.cpu_count() or 1))
    pending: list[Future[pa.RecordBatch]] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="csv-render") as pool:
        for batch in reader:
            pending.append(pool.submit(render, batch))
            if len(pending) > workers:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def _write_csv(reader: pa.RecordBatchReader, target: Path, headers: Sequence[Any] | None,
              money: Collection[str]) -> int:
    """Write an Arrow stream as the product's CSV (see :func:`csv_bytes`); returns the row count.

    Every field is turned into its final text a column at a time: by Arrow compute
    (:func:`_arrow_csv_column`, batches rendered in parallel) when every column is text,
    a number, a date or a flag; else by DuckDB (:func:`_csv_sql`, in parallel, rows kept
    in order). Arrow's CSV writer quotes and writes the result, about six times cheaper
    than DuckDB's ``COPY`` on the same text (the file is the same).
    """
    schema = reader.schema
    names = list(schema.names)
    headers = list(names if headers is None else headers)
    if len(headers) != len(names):
        raise ValueError(f"{len(headers)} headers for {len(names)} columns")
    # Every field quoted (a valid empty string too: no field is NULL), quotes doubled, CRLF after each row.
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid", eol="\r\n")
    rows = 0
    con: duckdb.DuckDBPyConnection | None = None
    try:
        source = _neutralised_dictionaries(reader)
        if all(_arrow_renders(field.type) for field in schema):
            rendered: Iterator[pa.RecordBatch] = _arrow_rendered(source, money)
        else:
            aliases = [f"c{i}" for i in range(len(names))]
            exprs = ", ".join(
                (f"coalesce(CAST({alias} AS VARCHAR), '')" if _is_text_dictionary(field.type)  # neutralised in Arrow
                 else _csv_sql(alias, field.type, name in money)) + f" AS {alias}"
                for alias, name, field in zip(aliases, names, schema)
            )
            con = scratch_connection(memory_limit="1GB")  # keeps insertion order (DuckDB's default): rows stay in order
            con.register("export_rows", source)
            rendered = iter(con.sql(f"SELECT {exprs} FROM export_rows AS src({', '.join(aliases)})")
                            .to_arrow_reader(_BATCH_ROWS))
        with pa.OSFile(str(target), "wb") as sink:
            sink.write((_BOM + _csv_header_line(headers)).encode("utf-8"))
            writer: pa_csv.CSVWriter | None = None
            for batch in rendered:
                if writer is None:
                    writer = pa_csv.CSVWriter(sink, batch.schema, write_options=options)
                writer.write_batch(batch)
                rows += batch.num_rows
            if writer is not None:
                writer.close()
    finally:
        if con is not None:
            con.close()
    return rows


def write_query_csv(
    conn: QueryTarget,
    sql: str,
    params: Mapping[str, Any] | None,
    path: str | os.PathLike[str],
    *,
    headers: Sequence[Any] | None = None,
    money: Collection[str] = (),
    tally: tuple[str, dict[Any, int]] | None = None,
) -> int:
    """Stream a query's rows into a CSV file, with :func:`csv_bytes`' rules; returns the row count.

    The file is byte for byte what :func:`csv_bytes` writes for the same values: UTF-8
    BOM, every field quoted, CRLF, text neutralised (control characters stripped,
    ``'`` before a leading ``= + - @``, tab, CR or LF), numbers and dates as plain
    numbers and ISO dates. Every field is rendered a column at a time (see :func:`_write_csv`),
    so no row passes through Python.
    ``headers`` replaces the column names (same count, same order); columns named in
    ``money`` are rounded to the cent. ``conn`` may be the locked-down workspace:
    the query runs there and its result streams (Arrow) to the renderer (Arrow compute, or
    a private in-memory DuckDB for types Arrow does not render). The file is written next to ``path`` and renamed
    into place, so a failure leaves no half-written file. ``tally`` = (column, dict):
    the values of that query column are counted into the dict on the way (no second query).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(handle)
    partial = Path(name)
    try:
        with query_batches(conn, sql, params) as reader:
            if tally is not None:
                reader = _tallied(reader, tally[0], tally[1])
            rows = _write_csv(reader, partial, headers, frozenset(money))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return rows


def query_csv_bytes(
    conn: QueryTarget,
    sql: str,
    params: Mapping[str, Any] | None,
    *,
    headers: Sequence[Any] | None = None,
    money: Collection[str] = (),
) -> bytes:
    """:func:`write_query_csv` into memory (for a download button)."""
    with tempfile.TemporaryDirectory(prefix="gp_csv_") as folder:
        path = Path(folder) / "export.csv"
        write_query_csv(conn, sql, params, path, headers=headers, money=money)
        return path.read_bytes()


# --------------------------------------------------------------------------------------
# Workbook, fast: XlsxWriter (constant memory) with cells rendered column-wise by Arrow
# --------------------------------------------------------------------------------------
#
# XlsxWriter lays out the package (sheets, styles, widths, frozen header, autofilter);
# the cells of every sheet are rendered here as <row> XML, a whole column at a time
# with Arrow compute, and written to the sheet's constant-memory row file. Nothing
# user-supplied goes through XlsxWriter's write_string(): in constant-memory mode it
# copies a string of the form "<r>…</r>" into the XML unescaped (a rich string), so a
# customer id like that could inject a formula cell (tests/test_exports.py keeps that
# payload). Every string is written escaped, as an inline string; the rules are
# :class:`_CellMaker`'s: text stays exact (control characters stripped) and gets the
# quotePrefix style when it looks like a formula, numbers stay numbers, integers of
# 16+ digits become text, dates are date-formatted serial numbers.

_DATE_FORMATS = (NUMBER_FORMATS["date"], NUMBER_FORMATS["datetime"])
_EXCEL_EPOCH_DAYS = 25568  # 1970-01-01 is day 25569 of Excel's 1900 calendar, which has a 29 Feb 1900
_US_PER_DAY = 86_400_000_000
_RE2_ESCAPE_LOOKALIKE = r"_(x[0-9A-Fa-f]{4}_)"  # text Excel would read as an _xHHHH_ escape
_ESCAPE_LOOKALIKE_RE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_RE2_NEEDS_ESCAPE = r"[&<>\r]|_x[0-9A-Fa-f]{4}_"
# Text with white space at either end keeps it only with xml:space="preserve" (any Unicode space counts).
_RE2_EDGE_SPACE = r"^[\s\pZ\x{85}]|[\s\pZ\x{85}]$"
_EDGE_SPACE_RE = re.compile(r"^\s|\s$")


@dataclass(frozen=True)
class _Look:
    """A cell style: what XlsxWriter turns into one entry of styles.xml."""

    bold: bool = False
    fill: bool = False
    wrap: bool = False
    quote: bool = False
    num_format: str | None = None


class _Looks:
    """The style ids one column's cells can take (None: the default style) — :class:`_CellMaker` as ids."""

    def __init__(self, book: StreamingWorkbook, number_format: str | None = None, *, bold: bool = False,
                 wrap: bool = False, fill: bool = False) -> None:
        decorated = bold or wrap

        def look(*, fill: bool = False, quote: bool = False, num_format: str | None = None) -> int | None:
            return book.style(_Look(bold=bold, wrap=wrap, fill=fill, quote=quote, num_format=num_format))

        self.text = look(fill=fill)
        self.quoted = look(fill=fill, quote=True)
        self.value = look(num_format=number_format) if number_format or decorated else None
        dated = number_format if number_format in _DATE_FORMATS else None
        self.date = look(num_format=dated or NUMBER_FORMATS["date"])
        self.datetime = look(num_format=dated or NUMBER_FORMATS["datetime"])


def _style_attr(style: int | None) -> str:
    return "" if style is None else f' s="{style}"'


def _xml_text(text: str) -> str:
    """Cleaned cell text as inline-string XML content: Excel's ``_xHHHH_`` look-alikes kept literal, CR as ``&#13;``."""
    text = _ESCAPE_LOOKALIKE_RE.sub(r"_x005F_\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _inline_xml(ref: str, style: int | None, text: str) -> str:
    space = ' xml:space="preserve"' if _EDGE_SPACE_RE.search(text) else ""
    return f'<c r="{ref}"{_style_attr(style)} t="inlineStr"><is><t{space}>{_xml_text(text)}</t></is></c>'


def _excel_serial(value: date | datetime) -> float | int:
    if isinstance(value, datetime):
        days = (value - datetime(1970, 1, 1)) / timedelta(days=1)
    else:
        days = value.toordinal() - date(1970, 1, 1).toordinal()
    serial = days + _EXCEL_EPOCH_DAYS
    return serial + 1 if serial > 59 else serial


def _cell_xml(ref: str, value: Any, looks: _Looks) -> str | None:
    """One cell's XML (None: no cell), by :class:`_CellMaker`'s rules."""
    value = _plain(value)
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (bool, int, float, date)):
        text, quote = xlsx_text(str(value))
        return _inline_xml(ref, looks.quoted if quote else looks.text, text)
    if isinstance(value, bool):
        return f'<c r="{ref}"{_style_attr(looks.value)} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int) and abs(value) >= EXACT_INT_LIMIT:
        return _inline_xml(ref, looks.text, str(value))
    if isinstance(value, datetime):
        return f'<c r="{ref}"{_style_attr(looks.datetime)}><v>{_excel_serial(value)!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}"{_style_attr(looks.date)}><v>{_excel_serial(value)}</v></c>'
    return f'<c r="{ref}"{_style_attr(looks.value)}><v>{value!r}</v></c>'


def _join(*parts: Any) -> pa.Array:
    """Element-wise concatenation; a null part makes the result null."""
    return pc.binary_join_element_wise(*parts, "")


def _arrow_inline(prefix: str, rows: pa.Array, style_open: Any, text: pa.Array) -> pa.Array:
    """Inline-string cells for already cleaned ``text`` (``style_open``: the attributes up to ``<t``)."""
    escaped = text
    if pc.any(pc.match_substring_regex(text, _RE2_NEEDS_ESCAPE)).as_py():
        escaped = pc.replace_substring_regex(escaped, _RE2_ESCAPE_LOOKALIKE, r"_x005F_\1")
        for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
            escaped = pc.replace_substring(escaped, old, new)
    space = pc.if_else(pc.match_substring_regex(text, _RE2_EDGE_SPACE), ' xml:space="preserve">', ">")
    return _join(prefix, rows, style_open, space, escaped, "</t></is></c>")


def _inline_open(style: int | None) -> str:
    return f'"{_style_attr(style)} t="inlineStr"><is><t'


def _arrow_cells(array: pa.Array, letter: str, rows: pa.Array, looks: _Looks, kind: str | None,
                 *, to_date: bool = False) -> pa.Array | None:
    """The XML of one column's cells (null where a cell is empty), or None for types left to :func:`_cell_xml`."""
    prefix = f'<c r="{letter}'
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    typ = array.type
    if pa.types.is_dictionary(typ):
        array = array.dictionary_decode()
        typ = array.type
    if pa.types.is_null(typ):
        return pa.nulls(len(array), pa.string())
    if _is_text_type(typ):
        if not pa.types.is_string(typ):
            array = array.cast(pa.string())
        text = pc.utf8_slice_codeunits(pc.replace_substring_regex(array, _RE2_CONTROL, ""), 0, MAX_CELL_TEXT)
        quoted = pc.match_substring_regex(text, _RE2_TRIGGER)
        opening = pc.if_else(quoted, _inline_open(looks.quoted), _inline_open(looks.text))
        return _arrow_inline(prefix, rows, opening, text)
    if pa.types.is_boolean(typ):
        digit = pc.if_else(array, "1", "0")
        return _join(prefix, rows, f'"{_style_attr(looks.value)} t="b"><v>', digit, "</v></c>")
    if pa.types.is_integer(typ):
        text = array.cast(pa.string())
        cells = _join(prefix, rows, f'"{_style_attr(looks.value)}><v>', text, "</v></c>")
        if pa.types.is_unsigned_integer(typ):
            big = pc.greater_equal(array, pa.scalar(EXACT_INT_LIMIT, pa.uint64()))
        else:
            wide = array.cast(pa.int64())
            big = pc.or_(pc.greater_equal(wide, EXACT_INT_LIMIT), pc.less_equal(wide, -EXACT_INT_LIMIT))
        if pc.any(big).as_py():
            cells = pc.if_else(big, _arrow_inline(prefix, rows, _inline_open(looks.text), text), cells)
        return cells
    if pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        values = pc.cast(array, pa.float64(), safe=False)
        text = pc.if_else(pc.is_finite(values), values.cast(pa.string()), pa.scalar(None, pa.string()))
        return _join(prefix, rows, f'"{_style_attr(looks.value)}><v>', text, "</v></c>")
    if pa.types.is_date(typ) or pa.types.is_timestamp(typ):
        if pa.types.is_timestamp(typ) and typ.tz is not None:
            array = pc.local_timestamp(array)
        if pa.types.is_date(typ) or to_date:
            days = pc.cast(array, pa.date32(), safe=False).cast(pa.int32()).cast(pa.int64())
            serial = pc.add(days, _EXCEL_EPOCH_DAYS)
            style = looks.date
        else:
            micros = pc.cast(array, pa.timestamp("us"), safe=False).cast(pa.int64())
            serial = pc.add(pc.divide(micros.cast(pa.float64()), float(_US_PER_DAY)), float(_EXCEL_EPOCH_DAYS))
            style = looks.datetime
        serial = pc.if_else(pc.greater(serial, 59), pc.add(serial, 1), serial)
        return _join(prefix, rows, f'"{_style_attr(style)}><v>', serial.cast(pa.string()), "</v></c>")
    return None


def _row_numbers(first: int, count: int) -> pa.Array:
    return pa.array(np.arange(first, first + count, dtype=np.int64)).cast(pa.string())


def _rows_xml(rows: pa.Array, cells: Sequence[pa.Array]) -> bytes | memoryview:
    """``<row>`` elements from per-column cell XML (null cells are left out), as UTF-8 bytes."""
    if not len(rows):
        return b""
    joined = pc.binary_join_element_wise('<row r="', rows, '">', *cells, "</row>", "",
                                         null_handling="replace", null_replacement="")
    if joined.null_count or not pa.types.is_string(joined.type):
        return "".join(v or "" for v in joined.to_pylist()).encode("utf-8")
    # The values of a string array sit back to back in its data buffer: that is the XML.
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32, count=len(joined) + 1, offset=joined.offset * 4)
    return memoryview(joined.buffers()[2])[int(offsets[0]):int(offsets[-1])]


class _XlsxSheet:
    """One worksheet whose rows arrive in order as ready-made XML."""

    def __init__(self, book: StreamingWorkbook, worksheet: Any) -> None:
        self.book = book
        self.sheet = worksheet
        self.next_row = 1  # 1-based number of the next row to write

    def write(self, xml: str | bytes | memoryview, rows: int, columns: int) -> None:
        """Append ``rows`` rows (``columns`` wide at most) rendered as ``<row>`` XML, numbered from ``next_row``."""
        if rows <= 0:
            return
        last = self.next_row + rows - 1
        if last > _EXCEL_ROWS:
            raise ValueError(f"sheet {self.sheet.name!r} would have {last:,} rows; Excel holds {_EXCEL_ROWS:,}")
        fh = self.sheet.row_data_fh  # XlsxWriter's constant-memory row file (UTF-8 text)
        fh.flush()
        fh.buffer.write(xml.encode("utf-8") if isinstance(xml, str) else xml)
        fh.buffer.flush()
        # XlsxWriter writes <sheetData> only when it knows the used range.
        self.sheet._check_dimensions(self.next_row - 1, 0)
        self.sheet._check_dimensions(last - 1, max(columns - 1, 0))
        self.next_row = last + 1

    def widths(self, widths: Sequence[float]) -> None:
        for i, width in enumerate(widths):
            self.sheet.set_column(i, i, width)

    def table_layout(self, columns: int, data_rows: int) -> None:
        """Frozen header row and an autofilter over the table, as :func:`workbook_bytes` sets them."""
        if columns:
            self.sheet.freeze_panes(1, 0)
            self.sheet.autofilter(0, 0, data_rows, columns - 1)


_EXCEL_ROWS = 1_048_576


class StreamingWorkbook:
    """An XlsxWriter workbook in constant-memory mode, written to ``target`` (a path) or kept in memory."""

    def __init__(self, target: str | os.PathLike[str] | None = None) -> None:
        import xlsxwriter  # the writer is only needed when a workbook is made

        self._tmp = tempfile.TemporaryDirectory(prefix="gp_xlsx_")
        self._buffer = io.BytesIO() if target is None else None
        self._wb = xlsxwriter.Workbook(
            self._buffer if target is None else str(target),
            {
                "constant_memory": True,
                "tmpdir": self._tmp.name,
                # Belt and braces: no cell goes through write(), but nothing should ever be converted.
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        if not getattr(self._wb, "constant_memory", False):
            raise RuntimeError("XlsxWriter did not enable constant_memory mode")
        self._formats: dict[_Look, Any] = {}
        self._taken: set[str] = set()

    def style(self, look: _Look) -> int | None:
        if look == _Look():
            return None
        fmt = self._formats.get(look)
        if fmt is None:
            props: dict[str, Any] = {}
            if look.bold:
                props["bold"] = True
            if look.fill:
                props.update(pattern=1, bg_color="#F2F2F2")
            if look.wrap:
                props.update(text_wrap=True, valign="top")
            if look.quote:
                props["quote_prefix"] = True
            if look.num_format:
                props["num_format"] = look.num_format
            fmt = self._formats[look] = self._wb.add_format(props)
        return int(fmt._get_xf_index())

    def add_sheet(self, title: Any) -> _XlsxSheet:
        name = sanitize_sheet_name(title, self._taken)
        self._taken.add(name.lower())
        worksheet = self._wb.add_worksheet(name)
        if not hasattr(worksheet, "row_data_fh"):
            raise RuntimeError("this XlsxWriter version has no constant-memory row file; pin the tested one")
        return _XlsxSheet(self, worksheet)

    def add_spec(self, spec: SheetSpec) -> None:
        """A :class:`SheetSpec` sheet: a table from ``spec.frame``, else the free ``spec.rows`` (no images)."""
        if spec.images:
            raise ValueError("a streamed workbook does not place images; use workbook_bytes")
        sheet = self.add_sheet(spec.title)
        if spec.frame is not None:
            _fast_frame(sheet, spec)
        else:
            _fast_rows(sheet, spec)

    def add_table(self, title: Any, header: Sequence[str], kinds: Sequence[str | None]) -> TableSheet:
        """A table sheet (bold header, widths, frozen header, autofilter) whose rows are appended in batches."""
        return TableSheet(self.add_sheet(title), header, kinds)

    def close(self) -> bytes | None:
        try:
            self._wb.close()
        finally:
            self._tmp.cleanup()
        return self._buffer.getvalue() if self._buffer is not None else None


def _fast_header(sheet: _XlsxSheet, header: Sequence[str]) -> None:
    looks = _Looks(sheet.book, bold=True, fill=True)
    cells = [_cell_xml(f"{_column_letter(i)}1", name, looks) for i, name in enumerate(header, start=1)]
    sheet.write(f'<row r="1">{"".join(c for c in cells if c)}</row>', 1, len(header))


class TableSheet:
    """A table sheet filled in batches: header first, column widths from the first rows, then the layout."""

    def __init__(self, sheet: _XlsxSheet, header: Sequence[str], kinds: Sequence[str | None]) -> None:
        self.sheet = sheet
        self.header = [str(h) for h in header]
        self.kinds = list(kinds)
        self.letters = [_column_letter(i) for i in range(1, len(self.header) + 1)]
        self.looks = [_Looks(sheet.book, NUMBER_FORMATS.get(k) if k else None) for k in self.kinds]
        self.sample: list[list[Any]] = [[] for _ in self.header]
        self.rows = 0
        _fast_header(sheet, self.header)

    def append(self, columns: Sequence[pa.Array | Sequence[Any]], count: int,
               datetime_as_date: Sequence[bool] | None = None) -> None:
        """Write ``count`` rows given column-wise (Arrow arrays, or lists of Python values)."""
        if count <= 0:
            return
        first = self.sheet.next_row
        rows = _row_numbers(first, count)
        cells: list[pa.Array] = []
        for i, column in enumerate(columns):
            to_date = bool(datetime_as_date and datetime_as_date[i])
            xml = None
            if isinstance(column, (pa.Array, pa.ChunkedArray)):
                xml = _arrow_cells(column, self.letters[i], rows, self.looks[i], self.kinds[i], to_date=to_date)
            if xml is None:
                values = column.to_pylist() if isinstance(column, (pa.Array, pa.ChunkedArray)) else list(column)
                xml = pa.array([_cell_xml(f"{self.letters[i]}{first + r}", v, self.looks[i])
                                for r, v in enumerate(values)], pa.string())
            cells.append(xml)
            room = _WIDTH_SAMPLE_ROWS - len(self.sample[i])
            if room > 0:
                head = column.slice(0, room) if isinstance(column, (pa.Array, pa.ChunkedArray)) else column[:room]
                values = head.to_pylist() if isinstance(head, (pa.Array, pa.ChunkedArray)) else list(head)
                if to_date:
                    values = [v.date() if isinstance(v, datetime) else v for v in values]
                self.sample[i].extend(values)
        self.sheet.write(_rows_xml(rows, cells), count, len(self.header))
        self.rows += count

    def finish(self) -> None:
        self.sheet.widths(_column_widths(self.header, self.sample, self.kinds))
        self.sheet.table_layout(len(self.header), self.rows)


def _fast_frame(sheet: _XlsxSheet, spec: SheetSpec) -> None:
    import pandas as pd

    frame = spec.frame if spec.frame is not None else pd.DataFrame()
    if len(frame) > MAX_DATA_ROWS:
        raise ValueError(
            f"Sheet {spec.title!r} has {len(frame):,} rows; Excel holds {MAX_DATA_ROWS:,}. Split it or export CSV."
        )
    kinds = [spec.formats.get(col) or _infer_format(frame[col]) for col in frame.columns]
    writer = TableSheet(sheet, [str(c) for c in frame.columns], kinds)
    columns: list[Any] = []
    as_date: list[bool] = []
    for col, kind in zip(frame.columns, kinds):
        series = frame[col]
        is_dt = pd.api.types.is_datetime64_any_dtype(series.dtype)
        if is_dt and getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_localize(None)
        try:
            column: Any = pa.array(series, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            column = _column_values(series, kind)
        columns.append(column)
        as_date.append(is_dt and kind == "date")
    for start in range(0, len(frame), _BATCH_ROWS):  # bounded memory, and Arrow's 2 GB per string array
        writer.append([c[start:start + _BATCH_ROWS] if isinstance(c, list) else c.slice(start, _BATCH_ROWS)
                       for c in columns], min(_BATCH_ROWS, len(frame) - start), as_date)
    writer.finish()


def _fast_rows(sheet: _XlsxSheet, spec: SheetSpec) -> None:
    rows = [list(r) for r in (spec.rows or [])]
    ncols = max((len(r) for r in rows), default=1)
    widths = []
    for c in range(ncols):
        values = [r[c] for r in rows if len(r) > c and len(r) > 1]
        widest = max([_shown_width(v, None) for v in values] or [8])
        cap = 40 if c < ncols - 1 else 100
        widths.append(float(min(max(widest + 2, 10), cap)))
    sheet.widths(widths)
    heading = _Looks(sheet.book, bold=True)
    looks = [_Looks(sheet.book, bold=(i == 0), wrap=(i == ncols - 1)) for i in range(ncols)]
    parts = []
    for n, row in enumerate(rows, start=1):
        if len(row) == 1:
            made = [_cell_xml(f"A{n}", row[0], heading)]
        else:
            made = [_cell_xml(f"{_column_letter(i + 1)}{n}", v, looks[i]) for i, v in enumerate(row)]
        cells = [c for c in made if c]
        if cells:
            parts.append(f'<row r="{n}">{"".join(cells)}</row>')
    sheet.write("".join(parts), len(rows), ncols)


def stream_workbook(target: str | os.PathLike[str] | None, fill: Callable[[StreamingWorkbook], None]) -> bytes | None:
    """Open a :class:`StreamingWorkbook`, let ``fill`` add its sheets, close it: the bytes, or None when written
    to ``target``. If ``fill`` fails, no half-written file is left at ``target``."""
    book = StreamingWorkbook(target)
    ok = False
    try:
        fill(book)
        ok = True
    finally:
        data = book.close()
        if not ok and target is not None:
            Path(target).unlink(missing_ok=True)
    return data


def fast_workbook_bytes(sheets: Sequence[SheetSpec], target: str | os.PathLike[str] | None = None) -> bytes | None:
    """:func:`workbook_bytes` written by XlsxWriter in constant-memory mode, columns rendered by Arrow.

    Same sheets, values, formats, widths and safety; several times faster on big
    tables. Images are not supported here (use :func:`workbook_bytes`). With
    ``target`` the file is written there and None is returned.
    """
    if any(spec.images for spec in sheets or ()):
        raise ValueError("fast_workbook_bytes does not place images; use workbook_bytes")

    def fill(book: StreamingWorkbook) -> None:
        for spec in sheets or [SheetSpec("Sheet", rows=[])]:
            book.add_spec(spec)

    return stream_workbook(target, fill)


__all__ = [
    "FORMULA_TRIGGERS", "MAX_DATA_ROWS", "NUMBER_FORMATS", "SheetImage", "SheetSpec", "StreamingWorkbook",
    "TableSheet", "csv_bytes", "display_width", "fast_workbook_bytes", "looks_like_formula", "neutralise",
    "query_batches", "query_csv_bytes", "sanitize_sheet_name", "sql_literal", "sql_neutralise", "sql_strip_control",
    "stream_workbook", "strip_control", "workbook_bytes", "write_query_csv", "xlsx_text",
]
