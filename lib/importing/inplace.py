"""Orders read in place: a Parquet file or a (hive-partitioned) folder of them used as a dataset.

Why a module of its own: an order history too big to import (over the importer's
2,000,000 rows, or a folder a data pipeline keeps appending to) can still drive every
page. The workspace's catalogue records the path and the column mapping
(:class:`ParquetOrders`); :func:`base_sql` turns them into the raw order rows the
ledger (:mod:`lib.metrics`) is computed from, reading
``read_parquet($<ds>_path, hive_partitioning = true)`` instead of the ``orders`` table.
Column names travel as bound parameters too (``COLUMNS($<ds>_c_amount)``), so nothing a
user typed ever becomes SQL text. :func:`fingerprint` (file names, sizes and
modification times, no file is opened) tells the workspace cheaply when the folder
changed, so the dataset's data version moves and every cache keyed on it recomputes.

The workspace's DuckDB connection refuses file access once locked down; it may read
only the folders listed at start-up (:func:`allowed_roots`: ``$GROWTH_PLANNER_PARQUET_DIRS``,
the ``parquet/`` folder beside the workspace file and the folders of the datasets already
registered). That also keeps a shared team server from reading arbitrary files through
the Data page's path box.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Environment variable: extra folders (``os.pathsep``-separated) the app may read Parquet orders from.
PARQUET_DIRS_ENV = "GROWTH_PLANNER_PARQUET_DIRS"

#: Fields of the workspace's orders an in-place file maps its columns to (the importer's names).
FIELDS: tuple[str, ...] = ("order_id", "customer_id", "order_time", "amount", "channel", "is_refund",
                           "original_order_id")
REQUIRED: tuple[str, ...] = ("customer_id", "order_time", "amount")
_CASTS: dict[str, str] = {
    "order_id": "VARCHAR", "customer_id": "VARCHAR", "order_time": "TIMESTAMP", "amount": "DOUBLE",
    "channel": "VARCHAR", "is_refund": "BOOLEAN", "original_order_id": "VARCHAR",
}


class InPlaceError(ValueError):
    """The path or mapping cannot be used; ``key`` is the i18n message key and ``values`` its fields."""

    def __init__(self, key: str, message: str, **values: Any) -> None:
        super().__init__(message)
        self.key = key
        self.values = values

    def message(self, lang: str = "en") -> str:
        """The reason in the user's language (what the pages show)."""
        from lib.i18n import t

        return t(self.key, lang, **self.values)


@dataclass(frozen=True)
class ParquetOrders:
    """A dataset whose orders are read in place: the registered path and field → column mapping."""

    path: str
    mapping: Mapping[str, str] = field(default_factory=dict)

    @property
    def pattern(self) -> str:
        """What ``read_parquet`` reads: a folder's ``**/*.parquet`` (recursive) or the file itself."""
        p = Path(self.path)
        return str(p / "**" / "*.parquet") if p.is_dir() else str(p)

    def column(self, name: str) -> str | None:
        value = self.mapping.get(name)
        return str(value) if value else None


def parquet_files(path: str | os.PathLike[str]) -> list[Path]:
    """The Parquet files a registered path covers, sorted (a folder is searched recursively)."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        return []
    found: list[Path] = []
    for root, dirs, files in os.walk(p):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / f for f in sorted(files) if f.lower().endswith(".parquet") and not f.startswith("."))
    return found


def fingerprint(path: str | os.PathLike[str]) -> str:
    """A digest of the files' names, sizes and modification times: changes when a file is added, removed or rewritten.

    Only ``stat`` is called (no file is opened), so checking a folder of thousands of
    files on every page run costs milliseconds. A missing path has its own fingerprint.
    """
    digest = hashlib.sha256()
    p = Path(path)
    for file in parquet_files(p):
        try:
            st = file.stat()
        except OSError:
            continue
        rel = file.relative_to(p) if file != p else Path(file.name)
        digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    if not p.exists():
        digest.update(b"missing")
    return digest.hexdigest()


def allowed_roots(db_path: str | os.PathLike[str] | None, registered: Iterable[str] = ()) -> list[str]:
    """Folders the locked workspace may read Parquet from (absolute, each ending in a separator)."""
    roots: list[Path] = []
    for entry in os.environ.get(PARQUET_DIRS_ENV, "").split(os.pathsep):
        if entry.strip():
            roots.append(Path(entry.strip()))
    if db_path is not None and str(db_path) != ":memory:":
        roots.append(Path(db_path).resolve().parent / "parquet")
    for path in registered:
        p = Path(path)
        roots.append(p if p.is_dir() or not p.suffix else p.parent)
    out: list[str] = []
    for root in roots:
        text = os.path.join(str(root.resolve()), "")
        if text not in out:
            out.append(text)
    return out


def is_under(path: str | os.PathLike[str], roots: Iterable[str]) -> bool:
    """Whether ``path`` (resolved, so ``..`` and links cannot escape) lies inside one of ``roots``."""
    resolved = os.path.join(str(Path(path).resolve()), "")
    return any(resolved.startswith(root) for root in roots)


def suggest_mapping(columns: list[str]) -> dict[str, str]:
    """The importer's header suggestion for the fields an in-place dataset uses, plus an ``is_refund`` column."""
    from lib.importing.mapping import suggest_mapping as suggest_orders

    guess = suggest_orders(list(columns), "orders")
    mapping = {k: str(v) for k, v in guess.items() if k in FIELDS}
    for column in columns:
        if column.strip().lower() in ("is_refund", "refund", "是否退款") and column not in mapping.values():
            mapping["is_refund"] = column
            break
    return mapping


def clean_mapping(mapping: Mapping[str, Any], columns: Iterable[str]) -> dict[str, str]:
    """The mapping limited to known fields with a column; raises :class:`InPlaceError` for missing ones."""
    present = set(columns)
    clean = {k: str(v) for k, v in mapping.items() if k in FIELDS and v}
    missing_fields = [f for f in REQUIRED if f not in clean]
    if missing_fields:
        raise InPlaceError("inplace.err.unmapped", "map these fields to a column: " + ", ".join(missing_fields),
                           fields=", ".join(missing_fields))
    absent = [c for c in clean.values() if c not in present]
    if absent:
        raise InPlaceError("inplace.err.missing_columns",
                           "the Parquet files have no column " + ", ".join(repr(c) for c in absent),
                           columns=", ".join(absent))
    return clean


def _param(dataset_param: str, suffix: str) -> str:
    return f"{dataset_param}_{suffix}"


def base_sql(dataset_param: str, source: ParquetOrders) -> str:
    """Raw order rows (:data:`lib.metrics.LEDGER_BASE_COLUMNS`) read in place; the dataset id is ``$<dataset_param>``.

    The SQL's shape depends only on which fields are mapped; the path and the column
    names are the bound parameters of :func:`params`. A refund is a row flagged by the
    ``is_refund`` column or with a negative amount, stored negative as the ledger expects.
    Without an ``order_id`` column a row is identified by its file and row number.
    """
    p = dataset_param

    def col(field_name: str, fallback: str = "CAST(NULL AS VARCHAR)") -> str:
        if source.column(field_name) is None:
            return fallback
        return f"CAST(COLUMNS(${_param(p, 'c_' + field_name)}) AS {_CASTS[field_name]})"

    has_order_id = source.column("order_id") is not None
    row_id = "" if has_order_id else ", filename = true, file_row_number = true"
    order_id = col("order_id", "filename || chr(31) || CAST(file_row_number AS VARCHAR)")
    return f"""
    SELECT dataset_id, order_id, customer_id, order_ts,
           CASE WHEN is_refund THEN -abs(amount) ELSE amount END AS amount,
           channel, is_refund, original_order_id
    FROM (
        SELECT dataset_id, order_id, customer_id, order_ts, amount, channel,
               coalesce(refund_flag, FALSE) OR amount < 0 AS is_refund, original_order_id
        FROM (
            SELECT CAST(${p} AS INTEGER) AS dataset_id, {order_id} AS order_id,
                   {col("customer_id")} AS customer_id, {col("order_time")} AS order_ts,
                   {col("amount")} AS amount, {col("channel")} AS channel,
                   {col("is_refund", "CAST(NULL AS BOOLEAN)")} AS refund_flag,
                   {col("original_order_id")} AS original_order_id
            FROM read_parquet(${_param(p, 'path')}, hive_partitioning = true, union_by_name = true{row_id})
        ) AS typed
        WHERE order_ts IS NOT NULL AND amount IS NOT NULL
    ) AS flagged
    """


def params(dataset_param: str, source: ParquetOrders | None) -> dict[str, Any]:
    """The bound parameters :func:`base_sql` needs besides the dataset id (empty for a workspace table dataset)."""
    if source is None:
        return {}
    out: dict[str, Any] = {_param(dataset_param, "path"): source.pattern}
    for name in FIELDS:
        column = source.column(name)
        if column is not None:
            out[_param(dataset_param, "c_" + name)] = [column]
    return out


def describe(con: Any, path: str | os.PathLike[str]) -> list[str]:
    """The column names of the Parquet files at ``path`` (hive partition keys included), on an unlocked connection.

    Raises :class:`InPlaceError` for a missing path, a folder without Parquet files, or files DuckDB cannot read.
    """
    p = Path(path)
    if not p.exists():
        raise InPlaceError("inplace.err.no_path", f"no such file or folder: {path}", path=str(path))
    if not parquet_files(p):
        raise InPlaceError("inplace.err.no_files", f"no Parquet files (*.parquet) in {path}", path=str(path))
    pattern = ParquetOrders(str(p)).pattern
    try:
        rows = con.execute(
            "DESCRIBE SELECT * FROM read_parquet($p, hive_partitioning = true, union_by_name = true)", {"p": pattern}
        ).fetchall()
    except Exception as exc:  # a damaged file, not Parquet at all…  # noqa: BLE001
        raise InPlaceError("inplace.err.unreadable", f"the Parquet files could not be read: {exc}",
                           detail=" ".join(str(exc).split())[:200]) from exc
    return [str(row[0]) for row in rows]
