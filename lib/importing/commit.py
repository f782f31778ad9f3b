"""Writing a checked file into the workspace in one transaction, and the one-call flows built on it.

Why a module of its own: the write path is the one place that touches the workspace's
tables (orders, channel spend, outcomes, customer attributes, the import log); a failed
commit rolls everything back. The CLI, the sample-store loader and the Data page's
confirm step all end here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from lib.importing import attributes
from lib.importing.mapping import suggest_mapping
from lib.importing import limits
from lib.importing.reading import ImportFailed, Kind, Mode, Progress, RawTable, Upload, read_table
from lib.importing.validation import ImportReport, prepare_channels, prepare_orders, prepare_orders_file

if TYPE_CHECKING:
    import pandas as pd

    from lib.workspace import Workspace


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
    frame = None
    if report.staged is None:
        frame = report.prepared.copy()
        if report.kind == "orders" and "original_order_id" not in frame:
            frame["original_order_id"] = None  # a report prepared before refunds could name their order
    with ws.transaction() as cur:
        dataset_id = ws.ensure_dataset(cur, dataset_name, is_sample=is_sample)
        if mode == "replace":
            cur.execute(f'DELETE FROM "{table}" WHERE dataset_id = ?', [dataset_id])
        else:
            _refuse_clashes(cur, report, frame, dataset_id)
        # Orders read in place arrive as a stream of Arrow batches from their scratch database, never as a DataFrame.
        _insert_rows(cur, report.kind, report.staged.batches() if report.staged is not None else frame, dataset_id)
        if report.kind == "channels":
            _commit_outcomes(cur, dataset_id, report.outcomes, replace=mode == "replace")
        else:
            attributes.commit(cur, dataset_id, report.attributes, replace=mode == "replace")
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


def _refuse_clashes(cur: duckdb.DuckDBPyConnection, report: ImportReport, frame: pd.DataFrame | None,
                    dataset_id: int) -> None:
    """An append's rows already in the dataset (another session may have just added them) stop the transaction."""
    cur.register("incoming", report.staged.order_ids() if report.staged is not None else frame)
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


def _insert_rows(cur: duckdb.DuckDBPyConnection, kind: Kind, rows: Any, dataset_id: int) -> None:
    """The file's rows (a DataFrame, or a stream of Arrow batches) into the dataset's table."""
    cur.register("incoming", rows)
    if kind == "orders":
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
    from lib.importing.sample_store import SAMPLE_CHANNELS_PATH, SAMPLE_DATASET_NAME, SAMPLE_ORDERS_PATH

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
                               max_rows=limits.MAX_IMPORT_ROWS, progress=progress)


