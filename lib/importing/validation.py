"""Parsing values and validating a file: typed orders or channel rows, and every rejected row with its line.

Why a module of its own: this is where the importer decides what a file would add
before anything is saved (the Data page's "check" step). Order files are typed in SQL by
:mod:`lib.importing.staging`; channel files, which are small, in pandas.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import duckdb
import numpy as np

from lib.importing import staging
from lib.importing.mapping import CHANNEL_MEASURES, check_mapping, suggest_mapping
from lib.importing import limits
from lib.importing.reading import (
    ImportFailed,
    Kind,
    Progress,
    RawTable,
    _source_key,
    read_table,
)

if TYPE_CHECKING:  # pandas is imported where a frame is made: an order CSV is checked without loading it (0.25 s)
    import pandas as pd

    from lib.workspace import Workspace


# --------------------------------------------------------------------------
# Parsing values
# --------------------------------------------------------------------------

_MONEY_JUNK = re.compile(r"[¥￥$€£,，\s]|元|RMB|CNY|USD", flags=re.IGNORECASE)


def parse_money(values: pd.Series) -> pd.Series:
    """"¥1,234.50", "$1,234.50", "(12.00)", "1.2万" → floats; anything else → NaN."""
    import pandas as pd

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


_EARLIEST_DATE = "1900-01-01"  # order dates fall in [earliest, latest)
_LATEST_DATE = "2200-01-01"


def parse_datetimes(values: pd.Series) -> pd.Series:
    """Common Chinese and ISO date formats, vectorised format by format; failures → NaT."""
    import pandas as pd

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
        ok = parsed.notna() & (parsed >= pd.Timestamp(_EARLIEST_DATE)) & (parsed < pd.Timestamp(_LATEST_DATE))
        if ok.any():
            result.loc[ok[ok].index] = parsed[ok].astype("datetime64[ns]")
            pending.loc[ok[ok].index] = False
    return result


# --------------------------------------------------------------------------
# Validation reports
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ArrowRows:
    """Rows kept as an Arrow table until someone asks for a pandas frame (``to_frame`` makes it).

    An order file read in place is checked and imported without loading pandas (a quarter
    of a second); the Data page's preview and rejects list still get their frames.
    """

    table: Any  # pyarrow.Table
    to_frame: Callable[[Any], pd.DataFrame]


class _Frame:
    """A report's frame field: given a DataFrame, or :class:`ArrowRows` turned into one on first read."""

    def __init__(self, name: str) -> None:
        self.slot = "_" + name

    @overload
    def __get__(self, report: None, owner: type) -> _Frame: ...
    @overload
    def __get__(self, report: object, owner: type) -> pd.DataFrame: ...
    def __get__(self, report: object | None, owner: type) -> _Frame | pd.DataFrame:
        if report is None:
            return self
        value = report.__dict__[self.slot]
        if isinstance(value, ArrowRows):
            value = report.__dict__[self.slot] = value.to_frame(value.table)
        return value  # type: ignore[no-any-return]

    def __set__(self, report: object, value: pd.DataFrame | ArrowRows) -> None:
        report.__dict__[self.slot] = value

    def rows(self, report: object) -> int:
        """How many rows, without making the frame."""
        value = report.__dict__[self.slot]
        return int(value.table.num_rows) if isinstance(value, ArrowRows) else len(value)


@dataclass
class ImportReport:
    """What a file would add, and every row that was turned away, before anything is saved."""

    kind: Kind
    file_name: str
    file_format: str
    encoding: str | None
    rows_read: int
    rows_accepted: int
    rejected: pd.DataFrame  # a frame, or ArrowRows (see _deferred and the descriptors installed below the class)
    prepared: pd.DataFrame
    stats: dict[str, Any]
    mapping: dict[str, Any]
    source_key: str
    outcomes: pd.DataFrame | None = None  # channel files: the total outcome and controls per period
    attributes: Any = None  # order files: extra columns kept per customer (lib.importing.attributes.StagedAttributes)
    # Orders read in place (prepare_orders_file): all of them, in a private DuckDB; ``prepared`` is then a preview.
    staged: Any = None

    @property
    def rows_rejected(self) -> int:
        return _REJECTED.rows(self)

    @property
    def can_commit(self) -> bool:
        return (self.staged.rows if self.staged is not None else _PREPARED.rows(self)) > 0


# Installed after the dataclass is made, so the fields stay required and positional; the generated __init__
# assigns through them.
_REJECTED, _PREPARED = _Frame("rejected"), _Frame("prepared")
for _field in (_REJECTED, _PREPARED):
    setattr(ImportReport, _field.slot[1:], _field)


def _deferred(rows: ArrowRows) -> Any:
    """``rows`` passed where a report takes a frame: its field keeps them as Arrow and makes the frame when read."""
    return rows


REJECT_COLUMNS = ["line", "column", "value", "reason"]


def _reject_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in REJECT_COLUMNS})
    return pd.concat(parts, ignore_index=True).sort_values("line", kind="stable").reset_index(drop=True)


def _rejects(lines: np.ndarray, mask: pd.Series, column: str, values: pd.Series | None, reason: str) -> pd.DataFrame:
    import pandas as pd

    idx = np.flatnonzero(mask.to_numpy())
    return pd.DataFrame({
        "line": lines[idx].astype(int),
        "column": column,
        "value": values.iloc[idx].astype(str).str.slice(0, 200).to_numpy() if values is not None else "",
        "reason": reason,
    })


def _malformed_rejects(raw: RawTable) -> pd.DataFrame:
    import pandas as pd

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
    work_dir = staging.new_work_dir()  # where DuckDB spills, never the current folder
    con = staging.import_connection(work_dir)
    try:
        staging.load_frame(con, raw.frame, raw.line_numbers, raw.malformed)
        source = staging.Source(raw.columns, raw.file_format, raw.encoding, raw.sheet)
        counts = staging.stage_orders(con, source, mapping, Path(raw.file_name).stem, existing_order_ids)
        if progress:
            progress(0.6, "aggregating")
        report = _orders_report(con, counts, raw.columns, mapping, raw.file_name, raw.file_format, raw.encoding,
                                raw.sheet, raw.source_key)
        report.prepared = staging.orders_frame(con)
    finally:
        con.close()
        shutil.rmtree(work_dir, ignore_errors=True)
    if progress:
        progress(0.8, "validated")
    return report


def _orders_report(con: Any, counts: dict[str, Any], columns: list[str], mapping: dict[str, Any], file_name: str,
                   file_format: str, encoding: str | None, sheet: str | None, source_key: str) -> ImportReport:
    """The check's report from the staged orders (lib.importing.staging): counts, the ledger's figures, every reject.

    The rejects and a preview of the first orders stay Arrow tables until a page reads them.
    """
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
        rows_read=counts["rows_read"], rows_accepted=counts["rows_accepted"],
        rejected=_deferred(ArrowRows(staging.rejects_table(con), staging.rejects_frame)),
        prepared=_deferred(ArrowRows(con.sql("SELECT * FROM staged_orders LIMIT 1000").to_arrow_table(),
                                     staging.arrow_frame)),
        stats=stats, mapping=mapping, source_key=source_key,
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
    """Check an order file read in place by DuckDB (lib.importing.staging): memory bounded whatever its size.

    The mapping is, in order, the one given, the one saved in ``ws`` for this header, or
    the suggestion. The orders stay in a private scratch database (``report.staged``)
    until :func:`commit_import` streams them into the workspace; ``report.prepared``
    holds the first rows only, for a preview. Files that only the exact Python reader
    splits right (whitespace-separated, blank lines between rows) go through
    :func:`read_table` and :func:`prepare_orders`, within the upload limits.
    """
    path = Path(path)
    max_rows = limits.MAX_STREAM_ROWS if max_rows is None else max_rows
    if progress:
        progress(0.05, "reading")
    work_dir = staging.new_work_dir()  # where DuckDB spills, never the current folder
    con = staging.import_connection(work_dir)
    try:
        report = _stage_file(con, work_dir, path, file_name, mapping, ws=ws, existing_order_ids=existing_order_ids,
                             max_rows=max_rows, progress=progress)
    except staging.NeedsExactReader:
        _discard(con, work_dir)
        return _prepare_exactly(path, file_name, mapping, ws=ws, existing_order_ids=existing_order_ids,
                                progress=progress)
    except BaseException:
        _discard(con, work_dir)
        raise
    if progress:
        progress(0.8, "validated")
    return report


def _discard(con: duckdb.DuckDBPyConnection, work_dir: Path) -> None:
    try:
        con.close()
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _saved_or_suggested(ws: Workspace | None, source_key: str, columns: list[str]) -> dict[str, Any]:
    """The mapping saved in the workspace for this header, else the suggestion."""
    return (ws.get_mapping(source_key, "orders") if ws else None) or suggest_mapping(columns, "orders")


def _stage_file(con: duckdb.DuckDBPyConnection, work_dir: Path, path: Path, file_name: str,
                mapping: dict[str, Any] | None, *, ws: Workspace | None, existing_order_ids: Any, max_rows: int,
                progress: Progress | None) -> ImportReport:
    """Read and type the file in the scratch database; the report keeps it (``staged``) until the commit."""
    source = staging.read_file(con, path, file_name, work_dir, max_rows)
    if source is None:
        raise staging.NeedsExactReader()
    if progress:
        progress(0.3, "parsing")
    source_key = _source_key(source.columns)
    mapping = mapping if mapping is not None else _saved_or_suggested(ws, source_key, source.columns)
    try:
        check_mapping(mapping, "orders", source.columns)
    except ImportFailed:
        staging.require_rows(con, source)  # a file without rows says so before any word about its columns
        raise
    counts = staging.stage_orders(con, source, mapping, Path(file_name).stem, existing_order_ids, max_rows)
    if progress:
        progress(0.6, "aggregating")
    report = _orders_report(con, counts, source.columns, mapping, file_name, source.file_format, source.encoding,
                            source.sheet, source_key)
    report.staged = staging.StagedOrders(con, work_dir, report.stats["orders"])
    return report


def _prepare_exactly(path: Path, file_name: str, mapping: dict[str, Any] | None, *, ws: Workspace | None,
                     existing_order_ids: Any, progress: Progress | None) -> ImportReport:
    """A file only the exact Python reader splits right, within the upload limits."""
    if path.stat().st_size > limits.MAX_FILE_BYTES:
        raise ImportFailed(
            "too_large",
            "This file needs the exact line-by-line reader (blank lines between rows, or columns separated "
            f"by spaces), which takes up to {limits.MAX_FILE_BYTES / 1e6:.0f} MB. Remove the blank lines or save it "
            "as CSV.",
            size_mb=round(path.stat().st_size / 1e6), limit_mb=round(limits.MAX_FILE_BYTES / 1e6),
        )
    raw = read_table(path.read_bytes(), file_name)
    if existing_order_ids is not None and not isinstance(existing_order_ids, set):
        existing_order_ids = {str(v) for v in existing_order_ids.column(0).to_pylist()}
    mapping = mapping if mapping is not None else _saved_or_suggested(ws, raw.source_key, raw.columns)
    return prepare_orders(raw, mapping, existing_order_ids=existing_order_ids, progress=progress)


def parse_periods(values: pd.Series) -> pd.Series:
    """Dates, or ISO weeks such as "2024-W05" / "2024W05" (→ that week's Monday)."""
    import pandas as pd

    text = values.astype(str).str.strip()
    iso_week = text.str.extract(r"^(\d{4})-?W(\d{1,2})$", flags=re.IGNORECASE)
    parsed = parse_datetimes(values)
    has_week = iso_week[0].notna()
    if has_week.any():
        weeks = pd.to_datetime(
            iso_week.loc[has_week, 0] + "-W" + iso_week.loc[has_week, 1].str.zfill(2) + "-1",
            format="%G-W%V-%u", errors="coerce",
        )
        in_range = (weeks >= pd.Timestamp(_EARLIEST_DATE)) & (weeks < pd.Timestamp(_LATEST_DATE))
        parsed.loc[has_week] = weeks.where(in_range).astype("datetime64[ns]")
    normalized: pd.Series = parsed.dt.normalize()
    return normalized


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
    long, problems = _checked_channel_values(_channel_values(df, mapping), bad_period, lines, mapping)
    rejects.append(problems)
    prepared, duplicates = _drop_existing_periods(_channel_rows(long, period), existing_keys)
    rejects.append(duplicates)
    outcomes = _outcome_rows(df, mapping, period, bad_period)
    if progress:
        progress(0.8, "validated")
    return ImportReport(
        kind="channels", file_name=raw.file_name, file_format=raw.file_format, encoding=raw.encoding,
        rows_read=len(df) + len(raw.malformed), rows_accepted=int(len(set(long["row"].tolist()))),
        rejected=_reject_frame(rejects), prepared=prepared, stats=_channel_stats(raw, mapping, prepared, outcomes),
        mapping=mapping, source_key=raw.source_key, outcomes=outcomes,
    )


_BLANK_CELLS = ["", "na", "NA", "N/A", "-", "null", "NULL", "None", "nan"]


def _channel_values(df: pd.DataFrame, mapping: dict[str, Any]) -> pd.DataFrame:
    """One row per file row, channel and measure (``row, channel, measure, source_column, raw``), either layout."""
    import pandas as pd

    parts = []
    if mapping.get("layout") == "wide":
        for column, (channel_name, measure) in mapping["wide_columns"].items():
            parts.append(pd.DataFrame({
                "row": np.arange(len(df)), "channel": channel_name, "measure": measure,
                "source_column": column, "raw": df[column].to_numpy(),
            }))
    else:
        for measure in CHANNEL_MEASURES:
            if mapping.get(measure):
                parts.append(pd.DataFrame({
                    "row": np.arange(len(df)), "channel": df[mapping["channel"]].astype(str).str.strip().to_numpy(),
                    "measure": measure, "source_column": mapping[measure], "raw": df[mapping[measure]].to_numpy(),
                }))
    return pd.concat(parts, ignore_index=True)


def _checked_channel_values(long: pd.DataFrame, bad_period: pd.Series, lines: np.ndarray, mapping: dict[str, Any]
                            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The values parsed as money, and the file rows turned away (one entry per row: its first problem)."""
    import pandas as pd

    blank = long["raw"].astype(str).str.strip().isin(_BLANK_CELLS)
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
    rejected = pd.DataFrame({
        "line": lines[problems["row"].to_numpy()].astype(int), "column": problems["source_column"].to_numpy(),
        "value": problems["raw"].astype(str).to_numpy(), "reason": problems["reason"].to_numpy(),
    }) if len(problems) else pd.DataFrame(columns=REJECT_COLUMNS)
    return long[row_ok & ~long["row"].isin(bad_rows)], rejected


def _channel_rows(long: pd.DataFrame, period: pd.Series) -> pd.DataFrame:
    """One row per period and channel with every measure summed; a measure no row gave stays missing."""
    import pandas as pd

    long = long.assign(period_start=period.to_numpy()[long["row"].to_numpy()])
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
    return prepared


def _drop_existing_periods(prepared: pd.DataFrame, existing_keys: set[tuple[str, str]] | None
                           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An append's periods and channels the dataset already has, turned away (``duplicate_period``)."""
    import pandas as pd

    rejected = pd.DataFrame(columns=REJECT_COLUMNS)
    if existing_keys:
        keys = list(zip(prepared["period_start"].astype(str), prepared["channel"]))
        dup = pd.Series([k in existing_keys for k in keys], index=prepared.index)
        if dup.any():
            rejected = pd.DataFrame({
                "line": 0, "column": "", "value": [f"{p} / {c}" for p, c in np.array(keys, dtype=object)[dup.to_numpy()]],
                "reason": "duplicate_period",
            })
            prepared = prepared[~dup]
    return prepared.sort_values(["period_start", "channel"]).reset_index(drop=True), rejected


def _channel_stats(raw: RawTable, mapping: dict[str, Any], prepared: pd.DataFrame, outcomes: pd.DataFrame | None
                   ) -> dict[str, Any]:
    """The check's summary of a channel file: channels, grain (day or week), spend, dates, what was left out."""
    import pandas as pd

    gaps = pd.Series(sorted(set(prepared["period_start"]))).diff().dropna()
    median_gap: Any = gaps.median()  # a Timedelta (pandas' stubs say float)
    mapped = (set(v for k, v in mapping.items() if isinstance(v, str)) | set((mapping.get("wide_columns") or {}).keys())
              | set(mapping.get("controls") or []))
    return {
        "rows": int(len(prepared)),
        "channels": sorted(prepared["channel"].unique().tolist()),
        "grain": "week" if len(gaps) and median_gap >= pd.Timedelta(days=6) else "day",
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


def _outcome_rows(df: pd.DataFrame, mapping: dict[str, Any], period: pd.Series, bad_period: pd.Series
                  ) -> pd.DataFrame | None:
    """The file's total outcome and controls per period, long (``period_start, name, role, kind, value``).

    The outcome is parsed as money and weeks without one are left out; a control that holds
    words rather than numbers (Robyn's ``events``: "na" or an event name) becomes 1 in the
    weeks that name something and 0 elsewhere; a blank control is 0.
    """
    import pandas as pd

    columns = ([(mapping["outcome"], "outcome")] if mapping.get("outcome") else [])
    columns += [(c, "control") for c in mapping.get("controls") or []]
    if not columns:
        return None
    parts = []
    ok = ~bad_period.to_numpy()
    for column, role in columns:
        text = df[column].astype(str).str.strip()
        blank = text.isin(_BLANK_CELLS).to_numpy()
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
