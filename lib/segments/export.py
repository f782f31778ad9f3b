"""The segment export: every customer with their tier, segment, tags and scores, as CSV or as an analyst's workbook.

Why this module exists: the Segments page's downloads, ``python -m lib.cli segments
--export`` and the playbooks hand customer lists on to other tools. The rows stream
from the classification query (:mod:`lib.segments.engine`) through the generic
formula-safe writers of :mod:`lib.exports` (a CSV rendered column-wise by Arrow, an XlsxWriter
workbook in constant memory), so a million customers never sit in a DataFrame; the
labels, headers and the About sheet are in the user's language.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from lib import exports
from lib.importing import attributes as customer_attributes
from lib.exports import (
    SheetSpec,
    StreamingWorkbook,
    TableSheet,
    query_batches,
    query_csv_bytes,
    sql_literal,
    stream_workbook,
    write_query_csv,
)
from lib.i18n import normalize_lang, t
from lib.segments.engine import (
    CUSTOMER_COLUMNS,
    FM_BANDS,
    R_BANDS,
    OrderSource,
    SourceLike,
    as_source,
    classified_query,
    resolve_as_of,
)
from lib.segments.explain import data_warnings
from lib.segments.labels import band_rules, group_label, group_order, segment_definitions, segment_label, tier_definitions, tier_label
from lib.sql_engine import QueryTarget
from lib.workspace import Workspace, scratch_connection
from lib.segments.queries import resolve_cuts, segment_summary
from lib.segments.settings import TAG_KEYS, SegmentSettings, check_settings

if TYPE_CHECKING:  # pandas only where a caller asks for a frame: the CLI's CSV export never loads it
    import pandas as pd

# Customer columns in export order, with their number formats.
EXPORT_COLUMNS: tuple[tuple[str, str | None], ...] = (
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
SUMMARY_FORMATS: dict[str, str] = {
    "customers": "int",
    "share_customers": "percent",
    "window_revenue": "money",
    "share_revenue": "percent",
    "window_orders": "int",
    "revenue": "money",
    "aov": "money",
    "median_days_since_last_order": "number",
}


def localised_customers(frame: pd.DataFrame, lang: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Customer rows with translated labels and headers, plus the header → format map."""
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    formats: dict[str, str] = {}
    tag_names = {k: tier_label(k, lang) for k in TAG_KEYS}
    sep = "、" if normalize_lang(lang) == "zh" else ", "
    for key, kind in EXPORT_COLUMNS:
        header = t(f"segments.col.{key}", lang)
        if key == "tier":
            values = frame["tier"].map(lambda k: tier_label(k, lang))
        elif key == "segment":
            values = frame["segment"].map(lambda k: segment_label(k, lang))
        elif key == "tags":
            flags = frame[[f"tag_{k}" for k in TAG_KEYS]].to_numpy(dtype=bool)
            values = pd.Series(
                [sep.join(tag_names[k] for k, on in zip(TAG_KEYS, row) if on) for row in flags],
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


def _as_label(label: str, labels: Sequence[str]) -> str:
    """``label`` as a constant of the ENUM type of ``labels`` (code constants, quoted as literals).

    Labels travel as an ENUM (Arrow: a dictionary): each row holds a small code, and
    writers handle each distinct label once, not once per row. (A repeated label is listed once.)
    """
    members = ", ".join(sql_literal(v) for v in dict.fromkeys(labels))
    return f"CAST({sql_literal(label)} AS ENUM({members}))"


def _label_sql(column: str, labels: Mapping[str, str]) -> str:
    """SQL mapping a key column to its display label (every key of the column is in ``labels``)."""
    every = list(labels.values())
    whens = " ".join(f"WHEN {sql_literal(k)} THEN {_as_label(v, every)}" for k, v in labels.items())
    return f"CASE {column} {whens} END"


def _tags_sql(lang: str) -> str:
    """SQL of the tags column: the customer's tag labels in :data:`TAG_KEYS` order, joined.

    The tags a customer has, read as a bit mask, pick one of the 2^5 possible texts.
    """
    names = [tier_label(k, lang) for k in TAG_KEYS]
    sep = "、" if normalize_lang(lang) == "zh" else ", "
    every = [sep.join(n for bit, n in enumerate(names) if mask >> bit & 1) for mask in range(1 << len(names))]
    mask = " + ".join(f"CASE WHEN m.tag_{k} THEN {1 << bit} ELSE 0 END" for bit, k in enumerate(TAG_KEYS))
    return f"list_extract([{', '.join(_as_label(text, every) for text in every)}], 1 + {mask})"


def _attributes_of(ws: QueryTarget, dataset_id: SourceLike) -> tuple[int, list[str]] | None:
    """(dataset id, attribute names) of a workspace dataset with kept customer attributes, else None."""
    if not isinstance(dataset_id, int):  # orders read in place keep no attributes
        return None
    names = customer_attributes.names(ws, dataset_id)
    return (dataset_id, names) if names else None


def _label_columns(lang: str) -> list[str]:
    """SQL for each :data:`EXPORT_COLUMNS` entry over the classified relation ``m``: keys turned into labels."""
    exprs: list[str] = []
    for key, _kind in EXPORT_COLUMNS:
        if key == "tier":
            expr = _label_sql("m.tier", {k: tier_label(k, lang) for k in group_order("plan")})
        elif key == "segment":
            expr = _label_sql("m.segment", {k: segment_label(k, lang) for k in group_order("rfm")})
        elif key == "tags":
            expr = _tags_sql(lang)
        elif key in ("r_band", "f_band", "m_band"):
            bands = R_BANDS if key == "r_band" else FM_BANDS
            expr = _label_sql(f"m.{key}", {b: t(f"segments.band.{key[0]}.{b}", lang) for b in bands})
        else:
            expr = f"m.{key}"
        exprs.append(f"{expr} AS {key}")
    return exprs


def _segment_table_sql(
    src: OrderSource,
    settings: Any,
    as_of: date,
    lang: str,
    *,
    column: str,
    group: str | None = None,
    groups: Sequence[str] | None = None,
    attributes: tuple[int, Sequence[str]] | None = None,
) -> tuple[str, dict[str, Any], list[str], list[str | None]]:
    """The localised customer table of the export as SQL (one column per :data:`EXPORT_COLUMNS` entry).

    ``attributes`` = (dataset id, names): the customers' kept attributes
    (:mod:`lib.importing.attributes`) follow as text columns headed by their names.

    Returns SQL, parameters, headers and formats. Rows are sorted by spend in the
    window (then customer id), as :func:`lib.segments.segment_members` sorts them.
    ``group`` keeps one tier/segment; ``groups`` keeps those and sorts by their
    order first, adding an ``export_group`` column (the position in ``groups``) last.
    """
    sql, params = classified_query(src, settings, as_of)
    exprs = _label_columns(lang)
    where, order = "TRUE", ""
    if group is not None:
        where = f'm."{column}" = $export_group'
        params["export_group"] = group
    if groups is not None:  # a CASE rather than list_position: the same text runs on Spark (lib.sql_engine)
        whens = " ".join(f"WHEN {sql_literal(g)} THEN {i}" for i, g in enumerate(groups, start=1))
        position = f'CASE CAST(m."{column}" AS VARCHAR) {whens} END'
        where = f"{position} IS NOT NULL"
        exprs.append(f"{position} AS export_group")
        order = f"{position}, "
    attr_names = list(attributes[1]) if attributes else []
    attr_join, attr_columns = customer_attributes.join_sql(len(attr_names), "m.customer_id")
    if attributes:
        params.update(customer_attributes.join_params(attributes[0], attr_names))
    group_column = exprs.pop() if groups is not None else None  # export_group stays last
    exprs.extend(f"{c} AS attribute_{i}" for i, c in enumerate(attr_columns))
    if group_column is not None:
        exprs.append(group_column)
    query = f"""SELECT {", ".join(exprs)}
        FROM (SELECT {CUSTOMER_COLUMNS} FROM ({sql}) AS c) AS m
        {attr_join}
        WHERE {where}
        ORDER BY {order}m.window_revenue DESC NULLS LAST, m.customer_id"""
    headers = [t(f"segments.col.{key}", lang) for key, _ in EXPORT_COLUMNS] + attr_names
    kinds = [kind for _, kind in EXPORT_COLUMNS] + ["text"] * len(attr_names)
    return query, params, headers, kinds


def about_rows(
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
    for rule in band_rules(th, lang, window_days=settings.window_days, cuts=cuts):
        rows.append([f"{rule['dimension']} · {rule['band']}", rule["rule"]])
    rows += [[], [t("exports.about.tiers", lang)]]
    for item in tier_definitions(th, lang):
        rows.append([item["label"], item["definition"]])
    rows += [[], [t("exports.about.segments", lang)]]
    rows.append([t("exports.about.scores", lang), t("segments.scores_note", lang)])
    rows.append([t("exports.about.score_basis", lang), t(f"segments.score_basis_name.{settings.score_basis}", lang)])
    rows.append([t("exports.about.grid", lang), t("segments.grid_note", lang)])
    for item in segment_definitions(settings.grid, lang):
        rows.append([item["label"], item["cells"]])
    rows += [[], [t("exports.about.columns", lang)]]
    for key in ("days_since_last_order", "window_orders", "window_revenue", "orders", "revenue", "aov"):
        rows.append([t(f"segments.col.{key}", lang), t(f"exports.coldef.{key}", lang, days=settings.window_days)])
    if warnings or notes:
        rows += [[], [t("exports.about.notes", lang)]]
        for text in [*warnings, *notes]:
            rows.append(["•", text])
    return rows



@dataclass(frozen=True)
class _WorkbookPlan:
    """What the segment workbook will hold, resolved before a sheet is written."""

    src: OrderSource
    settings: SegmentSettings
    scheme: str
    column: str
    as_of: date | None
    dataset_name: str
    groups: list[str]


def _plan_workbook(ws: QueryTarget, dataset_id: SourceLike, settings: SegmentSettings | None, as_of: date | datetime | str | None,
                   scheme: str | None, groups: Sequence[str] | None, dataset_name: str | None) -> _WorkbookPlan:
    """Settings checked, the as-of date resolved and the customer sheets chosen (default: every non-empty group)."""
    settings = settings or SegmentSettings()
    check_settings(settings)
    scheme = scheme or settings.scheme
    order = group_order(scheme)
    column = "tier" if scheme == "plan" else "segment"
    src = as_source(dataset_id, ws)
    as_of_d = resolve_as_of(ws, src, as_of)
    if dataset_name is None:
        if isinstance(ws, Workspace) and isinstance(dataset_id, int):
            dataset_name = ws.get_dataset(dataset_id).name
        else:  # an OrderSource or a plain connection
            dataset_name = str(getattr(dataset_id, "label", dataset_id))
    wanted = list(groups) if groups is not None else []
    unknown = [g for g in wanted if g not in order]
    if unknown:
        raise ValueError(f"unknown {column}(s): {unknown}")
    return _WorkbookPlan(src, settings, scheme, column, as_of_d, str(dataset_name), wanted)


def _summary_sheet(summary: pd.DataFrame, scheme: str, lang: str) -> SheetSpec:
    """The per-group summary as a table sheet, headers and group names in ``lang``."""
    import pandas as pd

    frame = pd.DataFrame(
        {t("segments.col.tier" if scheme == "plan" else "segments.col.segment", lang): [
            group_label(g, scheme, lang) for g in summary["group"]
        ]}
    )
    formats: dict[str, str] = {}
    for key, kind in SUMMARY_FORMATS.items():
        header = t(f"segments.col.{key}", lang)
        frame[header] = summary[key].to_numpy()
        formats[header] = kind
    return SheetSpec(t("exports.sheet.summary", lang), frame=frame, formats=formats)


def _write_segment_workbook(
    target: str | os.PathLike[str] | None,
    ws: QueryTarget,
    dataset_id: SourceLike,
    settings: SegmentSettings | None,
    *,
    as_of: date | datetime | str | None,
    lang: str,
    scheme: str | None,
    groups: Sequence[str] | None,
    dataset_name: str | None,
    generated_at: datetime | None,
) -> bytes | None:
    lang = normalize_lang(lang)
    plan = _plan_workbook(ws, dataset_id, settings, as_of, scheme, groups, dataset_name)
    as_of_d, order = plan.as_of, group_order(plan.scheme)
    cuts = resolve_cuts(ws, dataset_id, plan.settings, as_of_d) if as_of_d else None
    summary = segment_summary(ws, dataset_id, plan.settings, as_of_d, by=plan.scheme)
    counts = {str(g): int(n) for g, n in zip(summary["group"], summary["customers"])}
    wanted = plan.groups if groups is not None else (
        [g for g in order if counts.get(g, 0) > 0] if as_of_d else [])
    about = about_rows(
        lang=lang, dataset_name=plan.dataset_name, as_of=as_of_d, settings=plan.settings, scheme=plan.scheme,
        cuts=cuts, total_customers=int(summary["customers"].sum()),
        warnings=data_warnings(ws, dataset_id, as_of_d, plan.settings, lang), notes=[],
        generated_at=generated_at or datetime.now(),
    )
    sql, params, headers, kinds = _segment_table_sql(
        plan.src, plan.settings, as_of_d or date(1970, 1, 1), lang, column=plan.column, groups=wanted or list(order),
        attributes=_attributes_of(ws, dataset_id),
    )

    def fill(book: StreamingWorkbook) -> None:
        book.add_spec(SheetSpec(t("exports.sheet.about", lang), rows=about))
        book.add_spec(_summary_sheet(summary, plan.scheme, lang))
        sheets = _GroupSheets(book, wanted, [group_label(g, plan.scheme, lang) for g in wanted], headers, kinds)
        if as_of_d is not None and wanted:
            with query_batches(ws, sql, params) as reader:
                for batch in reader:
                    sheets.add(batch)
        sheets.finish()

    return stream_workbook(target, fill)


class _GroupSheets:
    """Customer sheets, one run per group in ``groups`` order, each split at Excel's row limit.

    A group's rows go to a sheet named by its label; past :data:`lib.exports.MAX_DATA_ROWS` rows (read at write time)
    they continue on "Label (2)", "Label (3)"… A group without rows gets a sheet
    with the header only.
    """

    def __init__(self, book: StreamingWorkbook, groups: Sequence[str], labels: Sequence[str],
                 header: Sequence[str], kinds: Sequence[str | None]) -> None:
        self.book, self.labels, self.header, self.kinds = book, list(labels), list(header), list(kinds)
        self.count = len(groups)
        self.created = 0  # groups whose first sheet exists
        self.current: TableSheet | None = None
        self.current_group = -1

    def _open(self, index: int) -> TableSheet:
        if self.current is not None:
            self.current.finish()
        while self.created < index:  # groups without rows, in order
            self.book.add_table(self.labels[self.created], self.header, self.kinds).finish()
            self.created += 1
        self.current = self.book.add_table(self.labels[index], self.header, self.kinds)
        self.current_group = index
        self.created = max(self.created, index + 1)
        return self.current

    def add(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        positions = batch.column(batch.num_columns - 1).to_numpy(zero_copy_only=False).astype(np.int64) - 1
        data = [batch.column(i) for i in range(batch.num_columns - 1)]
        starts = np.flatnonzero(np.r_[True, positions[1:] != positions[:-1]])
        ends = np.r_[starts[1:], len(positions)]
        for start, end in zip(starts.tolist(), ends.tolist()):
            group = int(positions[start])
            while start < end:
                writer = self.current
                limit = exports.MAX_DATA_ROWS
                if writer is None or self.current_group != group or writer.rows >= limit:
                    writer = self._open(group)
                take = min(end - start, limit - writer.rows)
                writer.append([c.slice(start, take) for c in data], take)
                start += take

    def finish(self) -> None:
        if self.current is not None:
            self.current.finish()
            self.current = None
        while self.created < self.count:
            self.book.add_table(self.labels[self.created], self.header, self.kinds).finish()
            self.created += 1


def segment_workbook(
    ws: QueryTarget,
    dataset_id: SourceLike,
    settings: SegmentSettings | None = None,
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
    in the window; a group longer than Excel's 1,048,575 data rows continues on
    "Label (2)", "Label (3)"… ``dataset_id`` may also be a :class:`lib.segments.OrderSource`.

    Written by XlsxWriter in constant-memory mode with the rows streamed from
    DuckDB (no customer DataFrame), formula-safe as :func:`workbook_bytes`.
    """
    data = _write_segment_workbook(None, ws, dataset_id, settings, as_of=as_of, lang=lang, scheme=scheme,
                                   groups=groups, dataset_name=dataset_name, generated_at=generated_at)
    assert data is not None
    return data


def write_segment_workbook(
    ws: QueryTarget,
    dataset_id: SourceLike,
    path: str | os.PathLike[str],
    settings: SegmentSettings | None = None,
    *,
    as_of: date | datetime | str | None = None,
    lang: str = "en",
    scheme: str | None = None,
    groups: Sequence[str] | None = None,
    dataset_name: str | None = None,
    generated_at: datetime | None = None,
) -> Path:
    """:func:`segment_workbook` written straight to ``path`` (a million customers never sit in memory as bytes)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_segment_workbook(target, ws, dataset_id, settings, as_of=as_of, lang=lang, scheme=scheme,
                            groups=groups, dataset_name=dataset_name, generated_at=generated_at)
    return target


def _segment_csv_query(
    ws: QueryTarget, dataset_id: SourceLike, settings: SegmentSettings | None, as_of: date | datetime | str | None, lang: str,
    scheme: str | None, group: str | None, groups: Sequence[str] | None = None,
) -> tuple[str, dict[str, Any], list[str], list[str], str]:
    """The CSV's SQL, parameters, headers, money columns and the group column (``groups``: see
    :func:`_segment_table_sql`)."""
    settings = settings or SegmentSettings()
    check_settings(settings)
    scheme = scheme or settings.scheme
    column = "tier" if scheme == "plan" else "segment"
    src = as_source(dataset_id, ws)
    as_of_d = resolve_as_of(ws, src, as_of)
    if as_of_d is None:
        as_of_d = date(1970, 1, 1)  # any date: there are no purchases, the result is empty
    sql, params, headers, _kinds = _segment_table_sql(src, settings, as_of_d, lang, column=column, group=group,
                                                      groups=groups, attributes=_attributes_of(ws, dataset_id))
    money = [key for key, kind in EXPORT_COLUMNS if kind == "money"]
    return sql, params, headers, money, column


def segment_csvs(
    ws: QueryTarget,
    dataset_id: SourceLike,
    settings: SegmentSettings | None = None,
    *,
    as_of: date | datetime | str | None = None,
    lang: str = "en",
    scheme: str | None = None,
    groups: Sequence[str] | None = None,
) -> dict[str, bytes]:
    """:func:`segment_csv` of each tier/segment in ``groups`` (default: all of the scheme's), from one classification.

    What the Segments page's per-group download buttons need: the customers are
    classified and labelled once, held as Arrow, and each group's file is written from
    that table (byte for byte the file :func:`segment_csv` writes for the group), so
    the page makes one query instead of one per group and caches one value.
    """
    chosen = list(groups) if groups is not None else list(group_order(scheme or (settings or SegmentSettings()).scheme))
    sql, params, headers, money, _column = _segment_csv_query(ws, dataset_id, settings, as_of, lang, scheme, None,
                                                              groups=chosen)
    with query_batches(ws, sql, params) as reader:
        table = reader.read_all()
    con = scratch_connection(memory_limit="1GB")
    try:
        con.register("classified_rows", table)  # a view of this connection only: the writer reads through a cursor
        con.execute("CREATE TABLE classified AS SELECT * FROM classified_rows")
        return {
            key: query_csv_bytes(con, "SELECT * EXCLUDE (export_group) FROM classified WHERE export_group = $position",
                                 {"position": position}, headers=headers, money=money)
            for position, key in enumerate(chosen, start=1)
        }
    finally:
        con.close()


def segment_csv(
    ws: QueryTarget,
    dataset_id: SourceLike,
    settings: SegmentSettings | None = None,
    *,
    as_of: date | datetime | str | None = None,
    lang: str = "en",
    scheme: str | None = None,
    group: str | None = None,
) -> bytes:
    """The customers of one tier/segment (all customers when ``group`` is None) as safe CSV bytes,
    headers and labels in ``lang``, sorted by spend in the window, money to the cent.

    Streamed from the classification query (see :func:`write_query_csv`);
    :func:`export_segment_csv` streams the same file to disk without holding it in memory.
    """
    sql, params, headers, money, _column = _segment_csv_query(ws, dataset_id, settings, as_of, lang, scheme, group)
    return query_csv_bytes(ws, sql, params, headers=headers, money=money)


def export_segment_csv(
    ws: QueryTarget,
    dataset_id: SourceLike,
    path: str | os.PathLike[str],
    settings: SegmentSettings | None = None,
    *,
    as_of: date | datetime | str | None = None,
    lang: str = "en",
    scheme: str | None = None,
    group: str | None = None,
) -> dict[str, int]:
    """:func:`segment_csv` streamed by DuckDB into ``path``; returns the customers written per tier/segment key
    (in the scheme's order).

    One classification, one pass: the rows stream from DuckDB into the file and are
    counted by group on the way (what ``cli segments`` prints), so no second query
    classifies every customer again.
    """

    sql, params, headers, money, column = _segment_csv_query(ws, dataset_id, settings, as_of, lang, scheme, group)
    by_label: dict[Any, int] = {}
    write_query_csv(ws, sql, params, path, headers=headers, money=money, tally=(column, by_label))
    scheme_used = "plan" if column == "tier" else "rfm"
    return {key: int(by_label.get(group_label(key, scheme_used, lang), 0)) for key in group_order(scheme_used)}
