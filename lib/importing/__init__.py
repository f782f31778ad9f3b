"""Getting a store's data in: order and channel files imported, Parquet orders read in place, the sample store.

Why a package: importing is one room with four steps a newcomer can follow by file name —
:mod:`~lib.importing.reading` (bytes → a table of text cells, or a clear refusal),
:mod:`~lib.importing.mapping` (which column is which field), :mod:`~lib.importing.validation`
(typed rows and every rejected line, nothing saved yet; order files typed in SQL by
:mod:`~lib.importing.staging`) and :mod:`~lib.importing.commit` (one transaction into the
workspace). Beside them: :mod:`~lib.importing.attributes` (a file's extra columns kept per
customer), :mod:`~lib.importing.inplace` (a Parquet folder used as a dataset without
importing it) and :mod:`~lib.importing.sample_store` (the bundled demo shop,
``python -m lib.importing.sample_store`` rewrites its files; not loaded with the package, so the
command runs it fresh).

Callers write ``from lib import importing; importing.import_file(...)``; the names below
are the whole public surface (a test lowers a limit on ``importing.limits``, which every step
reads at call time). Nothing here imports :mod:`lib.workspace` at load time:
the workspace imports :mod:`~lib.importing.inplace`, so this package must load first.
"""

from __future__ import annotations

from lib.importing import attributes, inplace, limits, staging
from lib.importing.commit import (
    commit_import,
    existing_channel_keys,
    existing_order_id_table,
    existing_order_ids,
    import_file,
    load_sample_store,
    prepare,
    prepare_upload,
)
from lib.importing.mapping import (
    CHANNEL_FIELDS,
    CHANNEL_MEASURES,
    ORDER_FIELDS,
    ORDER_REQUIRED,
    OUTCOME_KINDS,
    check_mapping,
    check_mapping_columns,
    detect_wide_columns,
    load_mapping_file,
    missing_required,
    suggest_mapping,
)
from lib.importing.limits import (
    MAX_CELL_CHARS,
    MAX_FILE_BYTES,
    MAX_GZIP_UNCOMPRESSED,
    MAX_IMPORT_ROWS,
    MAX_STREAM_ROWS,
    MAX_XLSX_RATIO,
    MAX_XLSX_UNCOMPRESSED,
    PROGRESS_THRESHOLD_BYTES,
)
from lib.importing.reading import (
    SAMPLE_ROWS,
    ImportFailed,
    Kind,
    Mode,
    Progress,
    RawTable,
    Upload,
    check_xlsx_archive,
    decode_text,
    normalize_header,
    normalize_headers,
    read_table,
    stage_upload,
)
from lib.importing.validation import (
    ORDER_COLUMNS,
    REJECT_COLUMNS,
    ImportReport,
    parse_datetimes,
    parse_money,
    parse_periods,
    prepare_channels,
    prepare_orders,
    prepare_orders_file,
)

__all__ = [
    "CHANNEL_FIELDS", "CHANNEL_MEASURES", "MAX_CELL_CHARS", "MAX_FILE_BYTES", "MAX_GZIP_UNCOMPRESSED",
    "MAX_IMPORT_ROWS", "MAX_STREAM_ROWS", "MAX_XLSX_RATIO", "MAX_XLSX_UNCOMPRESSED", "ORDER_COLUMNS",
    "ORDER_FIELDS", "ORDER_REQUIRED", "OUTCOME_KINDS", "PROGRESS_THRESHOLD_BYTES", "REJECT_COLUMNS", "SAMPLE_ROWS",
    "ImportFailed", "ImportReport", "Kind", "Mode", "Progress", "RawTable", "Upload",
    "attributes", "check_mapping", "check_mapping_columns", "check_xlsx_archive", "commit_import", "decode_text",
    "detect_wide_columns", "existing_channel_keys", "existing_order_id_table", "existing_order_ids", "import_file",
    "inplace", "limits", "load_mapping_file", "load_sample_store", "missing_required", "normalize_header", "normalize_headers",
    "parse_datetimes", "parse_money", "parse_periods", "prepare", "prepare_channels", "prepare_orders",
    "prepare_orders_file", "prepare_upload", "read_table", "stage_upload", "staging",
    "suggest_mapping",
]
