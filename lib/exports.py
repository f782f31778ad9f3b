"""The one safe writer behind every Excel and CSV download (and the segment workbook built on it).

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
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from lib.i18n import normalize_lang, t

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

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
_KEY_FONT = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------


def strip_control(text: str) -> str:
    """``text`` without the control characters that break XML/Excel (tab, CR and LF are kept)."""
    return _CONTROL_RE.sub("", text)


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet could read this text as a formula (leading = + - @, tab, CR or LF)."""
    return text.startswith(FORMULA_TRIGGERS)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
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
    if isinstance(value, pd.Timestamp):
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
    """A PNG placed on a sheet (e.g. a chart rendered by ``lib.timeline_exports.chart_png``).

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

    def __init__(self, ws: Any, number_format: str | None = None, *, bold: bool = False, wrap: bool = False) -> None:
        self.ws = ws
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
        cell = WriteOnlyCell(self.ws)
        if self.bold:
            cell.font = _HEADER_FONT
        if self.wrap:
            cell.alignment = _WRAP
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


def _column_widths(header: list[str], columns: list[list[Any]], kinds: list[str | None], cap: int = 60) -> list[float]:
    widths = []
    for name, values, kind in zip(header, columns, kinds):
        widest = max([display_width(name)] + [_shown_width(v, kind) for v in values[:_WIDTH_SAMPLE_ROWS]])
        widths.append(float(min(max(widest + 2, 6), cap)))
    return widths


def _write_frame(ws: Any, spec: SheetSpec) -> None:
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
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            if getattr(series.dt, "tz", None) is not None:
                series = series.dt.tz_localize(None)
            values = [None if pd.isna(v) else v.to_pydatetime() for v in series]
            if kind == "date":
                values = [v.date() if v is not None else None for v in values]
        else:
            values = series.tolist()
        columns.append(values)
    widths = _column_widths(header, columns, kinds)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ncols = len(header)
    if ncols:
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(ncols)}{len(frame) + 1}"
    header_cells = []
    for name in header:
        maker = _CellMaker(ws, bold=True)
        maker._text.fill = maker._quoted.fill = _HEADER_FILL
        header_cells.append(maker(name))
    ws.append(header_cells)
    makers = [_CellMaker(ws, NUMBER_FORMATS.get(k) if k else None) for k in kinds]
    for row in zip(*columns):
        ws.append([make(v) for make, v in zip(makers, row)])


def _write_rows(ws: Any, spec: SheetSpec) -> None:
    rows = [list(r) for r in (spec.rows or [])]
    ncols = max((len(r) for r in rows), default=1)
    for c in range(ncols):
        values = [r[c] for r in rows if len(r) > c and len(r) > 1]
        widest = max([_shown_width(v, None) for v in values] or [8])
        cap = 40 if c < ncols - 1 else 100
        ws.column_dimensions[get_column_letter(c + 1)].width = float(min(max(widest + 2, 10), cap))
    heading = _CellMaker(ws, bold=True)
    makers = [_CellMaker(ws, bold=(i == 0), wrap=(i == ncols - 1)) for i in range(ncols)]
    for row in rows:
        if len(row) == 1:
            ws.append([heading(row[0])])
        else:
            ws.append([makers[i](v) for i, v in enumerate(row)])


def _add_images(ws: Any, spec: SheetSpec) -> None:
    """Place the spec's images (openpyxl needs Pillow to read them; PNG bytes only)."""
    if not spec.images:
        return
    from openpyxl.drawing.image import Image

    if spec.frame is not None:
        used_columns = len(spec.frame.columns)
    else:
        used_columns = max((len(r) for r in spec.rows or []), default=0)
    default_anchor = f"{get_column_letter(used_columns + 2)}2"
    for item in spec.images:
        image = Image(io.BytesIO(item.png))
        if item.scale and item.scale != 1.0:
            image.width = max(1, round(image.width / item.scale))
            image.height = max(1, round(image.height / item.scale))
        ws.add_image(image, item.anchor or default_anchor)


def workbook_bytes(sheets: Sequence[SheetSpec]) -> bytes:
    """An .xlsx file (bytes) with one sheet per spec: frozen bold header, autofilter, widths from content
    (CJK counts double), number and date formats, sanitised unique sheet names, and no formula anywhere."""
    wb = Workbook(write_only=True)
    taken: set[str] = set()
    for spec in sheets or [SheetSpec("Sheet", rows=[])]:
        name = sanitize_sheet_name(spec.title, taken)
        taken.add(name.lower())
        ws = wb.create_sheet(title=name)
        if spec.frame is not None:
            _write_frame(ws, spec)
        else:
            _write_rows(ws, spec)
        _add_images(ws, spec)
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
# The segment export
# --------------------------------------------------------------------------------------

# Customer columns in export order, with their number formats.
_SEGMENT_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("customer_id", "text"),
    ("tier", None),
    ("segment", None),
    ("tags", None),
    ("days_since_last_order", "int"),
    ("window_orders", "int"),
    ("window_revenue", "money"),
    ("orders", "int"),
    ("revenue", "money"),
    ("aov", "money"),
    ("first_order_date", "date"),
    ("last_order_date", "date"),
    ("r_band", None),
    ("f_band", None),
    ("m_band", None),
    ("r_score", "int"),
    ("f_score", "int"),
    ("m_score", "int"),
)
_SUMMARY_FORMATS: dict[str, str] = {
    "customers": "int",
    "share_customers": "percent",
    "window_revenue": "money",
    "share_revenue": "percent",
    "window_orders": "int",
    "revenue": "money",
    "aov": "money",
    "median_days_since_last_order": "number",
}


def _localised_customers(frame: pd.DataFrame, lang: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Customer rows with translated labels and headers, plus the header → format map."""
    from lib import segments as seg

    out = pd.DataFrame(index=frame.index)
    formats: dict[str, str] = {}
    tag_names = {k: seg.tier_label(k, lang) for k in seg.TAG_KEYS}
    sep = "、" if normalize_lang(lang) == "zh" else ", "
    for key, kind in _SEGMENT_COLUMNS:
        header = t(f"segments.col.{key}", lang)
        if key == "tier":
            values = frame["tier"].map(lambda k: seg.tier_label(k, lang))
        elif key == "segment":
            values = frame["segment"].map(lambda k: seg.segment_label(k, lang))
        elif key == "tags":
            flags = frame[[f"tag_{k}" for k in seg.TAG_KEYS]].to_numpy(dtype=bool)
            values = pd.Series(
                [sep.join(tag_names[k] for k, on in zip(seg.TAG_KEYS, row) if on) for row in flags],
                index=frame.index,
            )
        elif key in ("r_band", "f_band", "m_band"):
            dim = key[0]
            values = frame[key].map(lambda b, d=dim: t(f"segments.band.{d}.{b}", lang))
        else:
            values = frame[key]
        out[header] = values
        if kind:
            formats[header] = kind
    return out.reset_index(drop=True), formats


def _about_rows(
    *,
    lang: str,
    dataset_name: str,
    as_of: date | None,
    settings: Any,
    scheme: str,
    cuts: Any,
    total_customers: int,
    warnings: list[str],
    notes: list[str],
    generated_at: datetime,
) -> list[list[Any]]:
    from lib import segments as seg

    th = settings.thresholds
    window_text = "—"
    if as_of is not None:
        start = as_of.toordinal() - settings.window_days + 1
        window_text = t(
            "exports.about.window_value",
            lang,
            days=settings.window_days,
            start=date.fromordinal(start).isoformat(),
            end=as_of.isoformat(),
        )
    rows: list[list[Any]] = [
        [t("exports.about.title", lang)],
        [t("exports.about.dataset", lang), dataset_name],
        [t("exports.about.as_of", lang), as_of.isoformat() if as_of else "—"],
        [t("exports.about.window", lang), window_text],
        [t("exports.about.scheme", lang), t(f"segments.scheme.{scheme}", lang)],
        [t("exports.about.customers", lang), total_customers],
        [t("exports.about.generated", lang), generated_at.strftime("%Y-%m-%d %H:%M")],
        [t("exports.about.language", lang), t(f"exports.lang_name.{normalize_lang(lang)}", lang)],
        [],
        [t("exports.about.thresholds", lang)],
    ]
    for rule in seg.band_rules(th, lang, window_days=settings.window_days, cuts=cuts):
        rows.append([f"{rule['dimension']} · {rule['band']}", rule["rule"]])
    rows += [[], [t("exports.about.tiers", lang)]]
    for item in seg.tier_definitions(th, lang):
        rows.append([item["label"], item["definition"]])
    rows += [[], [t("exports.about.segments", lang)]]
    rows.append([t("exports.about.scores", lang), t("segments.scores_note", lang)])
    rows.append([t("exports.about.score_basis", lang), t(f"segments.score_basis_name.{settings.score_basis}", lang)])
    rows.append([t("exports.about.grid", lang), t("segments.grid_note", lang)])
    for item in seg.segment_definitions(settings.grid, lang):
        rows.append([item["label"], item["cells"]])
    rows += [[], [t("exports.about.columns", lang)]]
    for key in ("days_since_last_order", "window_orders", "window_revenue", "orders", "revenue", "aov"):
        rows.append([t(f"segments.col.{key}", lang), t(f"exports.coldef.{key}", lang, days=settings.window_days)])
    if warnings or notes:
        rows += [[], [t("exports.about.notes", lang)]]
        for text in [*warnings, *notes]:
            rows.append(["•", text])
    return rows


def segment_workbook(
    ws: Any,
    dataset_id: Any,
    settings: Any = None,
    *,
    as_of: date | datetime | str | None = None,
    lang: str = "en",
    scheme: str | None = None,
    groups: Sequence[str] | None = None,
    dataset_name: str | None = None,
    generated_at: datetime | None = None,
) -> bytes:
    """The segment list an analyst can hand on, as .xlsx bytes, every label in ``lang``.

    Sheets: "About" (dataset, as-of date, window, thresholds with the resolved
    amounts, tier and segment definitions, column definitions, generated time,
    language, data warnings), a summary per tier/segment, then one sheet per
    chosen group (default: every non-empty group) listing its customers by spend
    in the window. ``dataset_id`` may also be a :class:`lib.segments.OrderSource`.
    """
    from lib import segments as seg

    lang = normalize_lang(lang)
    settings = settings or seg.SegmentSettings()
    scheme = scheme or settings.scheme
    order = seg.group_order(scheme)
    column = "tier" if scheme == "plan" else "segment"
    as_of_d = seg._resolve_as_of(ws, seg.as_source(dataset_id), as_of)
    if dataset_name is None:
        try:
            dataset_name = ws.get_dataset(dataset_id).name
        except Exception:  # an OrderSource or a plain connection
            dataset_name = str(getattr(dataset_id, "label", dataset_id))
    cuts = seg.resolve_cuts(ws, dataset_id, settings, as_of_d) if as_of_d else None
    customers = (
        seg.segment_customers(ws, dataset_id, settings, as_of_d, cuts=None) if as_of_d else pd.DataFrame()
    )
    summary = seg.segment_summary(ws, dataset_id, settings, as_of_d, by=scheme)
    warnings = seg.data_warnings(ws, dataset_id, as_of_d, settings, lang)

    wanted = list(groups) if groups is not None else [g for g in order if g in set(customers.get(column, []))]
    unknown = [g for g in wanted if g not in order]
    if unknown:
        raise ValueError(f"unknown {column}(s): {unknown}")
    notes: list[str] = []
    group_sheets: list[SheetSpec] = []
    for group in wanted:
        members = customers[customers[column] == group] if len(customers) else customers
        if len(members):
            members = members.sort_values(["window_revenue", "customer_id"], ascending=[False, True], kind="stable")
        label = seg.group_label(group, scheme, lang)
        if len(members) > MAX_DATA_ROWS:
            notes.append(t("exports.about.truncated", lang, sheet=label, shown=f"{MAX_DATA_ROWS:,}", total=f"{len(members):,}"))
            members = members.head(MAX_DATA_ROWS)
        if len(members):
            frame, formats = _localised_customers(members, lang)
        else:
            frame = pd.DataFrame(columns=[t(f"segments.col.{k}", lang) for k, _ in _SEGMENT_COLUMNS])
            formats = {}
        group_sheets.append(SheetSpec(title=label, frame=frame, formats=formats))

    summary_frame = pd.DataFrame(
        {t("segments.col.tier" if scheme == "plan" else "segments.col.segment", lang): [
            seg.group_label(g, scheme, lang) for g in summary["group"]
        ]}
    )
    summary_formats: dict[str, str] = {}
    for key, kind in _SUMMARY_FORMATS.items():
        header = t(f"segments.col.{key}", lang)
        summary_frame[header] = summary[key].to_numpy()
        summary_formats[header] = kind

    about = _about_rows(
        lang=lang,
        dataset_name=dataset_name,
        as_of=as_of_d,
        settings=settings,
        scheme=scheme,
        cuts=cuts,
        total_customers=int(summary["customers"].sum()),
        warnings=warnings,
        notes=notes,
        generated_at=generated_at or datetime.now(),
    )
    sheets = [
        SheetSpec(title=t("exports.sheet.about", lang), rows=about),
        SheetSpec(title=t("exports.sheet.summary", lang), frame=summary_frame, formats=summary_formats),
        *group_sheets,
    ]
    return workbook_bytes(sheets)


def segment_csv(
    ws: Any,
    dataset_id: Any,
    settings: Any = None,
    *,
    as_of: date | datetime | str | None = None,
    lang: str = "en",
    scheme: str | None = None,
    group: str | None = None,
) -> bytes:
    """The customers of one tier/segment (all customers when ``group`` is None) as safe CSV bytes,
    headers and labels in ``lang``, sorted by spend in the window."""
    from lib import segments as seg

    settings = settings or seg.SegmentSettings()
    scheme = scheme or settings.scheme
    members = seg.segment_members(
        ws, dataset_id, settings, as_of, group=group, scheme=scheme, order_by="window_revenue", limit=None
    )
    if members.empty:
        frame = pd.DataFrame(columns=[t(f"segments.col.{k}", lang) for k, _ in _SEGMENT_COLUMNS])
    else:
        frame, formats = _localised_customers(members, lang)
        for header, kind in formats.items():  # a CSV has no number format: money to the cent, as shown
            if kind == "money":
                frame[header] = frame[header].round(2)
    return csv_bytes(frame)


def write_segment_export(
    ws: Any,
    dataset_id: Any,
    path: str | Any,
    *,
    settings: Any = None,
    as_of: date | datetime | str | None = None,
    window_days: int | None = None,
    scheme: str | None = None,
    lang: str = "en",
    dataset_name: str | None = None,
) -> Any:
    """Write the segment export to ``path`` (.xlsx: the full workbook; .csv: every customer) and return the path.

    What ``python -m lib.cli segments --export FILE`` needs: settings default to the
    dataset's saved ones, ``window_days``/``scheme`` override them. Raises
    ValueError for any other file type or invalid settings.
    """
    from dataclasses import replace
    from pathlib import Path

    from lib import segments as seg

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ValueError(f"export to .xlsx or .csv, not {suffix or 'a file without extension'}")
    if settings is None:
        settings = seg.load_settings(ws, dataset_id) if isinstance(dataset_id, int) else seg.SegmentSettings()
    if window_days is not None:
        settings = replace(settings, window_days=int(window_days))
    if scheme is not None:
        settings = replace(settings, scheme=scheme)
    seg._check_settings(settings)
    if suffix == ".xlsx":
        data = segment_workbook(ws, dataset_id, settings, as_of=as_of, lang=lang, dataset_name=dataset_name)
    else:
        data = segment_csv(ws, dataset_id, settings, as_of=as_of, lang=lang)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


__all__ = [
    "write_segment_export",
    "FORMULA_TRIGGERS", "MAX_DATA_ROWS", "NUMBER_FORMATS", "SheetImage", "SheetSpec", "csv_bytes", "display_width",
    "looks_like_formula", "neutralise", "sanitize_sheet_name", "segment_csv", "segment_workbook",
    "strip_control", "workbook_bytes", "xlsx_text",
]
