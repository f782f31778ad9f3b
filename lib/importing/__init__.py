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

import importlib
from typing import TYPE_CHECKING, Any

# The public names by the submodule that defines them, loaded on first use (PEP 562): the
# workspace imports :mod:`~lib.importing.inplace`, and so every command that opens one would
# otherwise load the readers, validators and staging SQL (``cli segments --export`` reads none).
_SUBMODULES = ("attributes", "inplace", "limits", "staging")
_PUBLIC: dict[str, tuple[str, ...]] = {
    "commit": ("commit_import", "existing_channel_keys", "existing_order_id_table", "existing_order_ids", "import_file",
               "load_sample_store", "prepare", "prepare_upload"),
    "mapping": ("CHANNEL_FIELDS", "CHANNEL_MEASURES", "ORDER_FIELDS", "ORDER_REQUIRED", "OUTCOME_KINDS", "check_mapping",
                "check_mapping_columns", "detect_wide_columns", "load_mapping_file", "missing_required",
                "suggest_mapping"),
    "limits": ("MAX_CELL_CHARS", "MAX_FILE_BYTES", "MAX_GZIP_UNCOMPRESSED", "MAX_IMPORT_ROWS", "MAX_STREAM_ROWS",
               "MAX_XLSX_RATIO", "MAX_XLSX_UNCOMPRESSED", "PROGRESS_THRESHOLD_BYTES"),
    "reading": ("SAMPLE_ROWS", "ImportFailed", "Kind", "Mode", "Progress", "RawTable", "Upload", "check_xlsx_archive",
                "decode_text", "normalize_header", "normalize_headers", "read_table", "stage_upload"),
    "validation": ("ORDER_COLUMNS", "REJECT_COLUMNS", "ImportReport", "parse_datetimes", "parse_money", "parse_periods",
                   "prepare_channels", "prepare_orders", "prepare_orders_file"),
}
_DEFINED_IN = {name: module for module, names in _PUBLIC.items() for name in names}
__all__ = sorted([*_SUBMODULES, *_DEFINED_IN])


def __getattr__(name: str) -> Any:
    """A public name, imported from its submodule on first use (then kept as a module attribute)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _DEFINED_IN.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # the same names for type checkers (``X as X``: re-exported); tests check the two lists agree
    from lib.importing import attributes as attributes, inplace as inplace, limits as limits, staging as staging
    from lib.importing.commit import (
        commit_import as commit_import,
        existing_channel_keys as existing_channel_keys,
        existing_order_id_table as existing_order_id_table,
        existing_order_ids as existing_order_ids,
        import_file as import_file,
        load_sample_store as load_sample_store,
        prepare as prepare,
        prepare_upload as prepare_upload,
    )
    from lib.importing.mapping import (
        CHANNEL_FIELDS as CHANNEL_FIELDS,
        CHANNEL_MEASURES as CHANNEL_MEASURES,
        ORDER_FIELDS as ORDER_FIELDS,
        ORDER_REQUIRED as ORDER_REQUIRED,
        OUTCOME_KINDS as OUTCOME_KINDS,
        check_mapping as check_mapping,
        check_mapping_columns as check_mapping_columns,
        detect_wide_columns as detect_wide_columns,
        load_mapping_file as load_mapping_file,
        missing_required as missing_required,
        suggest_mapping as suggest_mapping,
    )
    from lib.importing.limits import (
        MAX_CELL_CHARS as MAX_CELL_CHARS,
        MAX_FILE_BYTES as MAX_FILE_BYTES,
        MAX_GZIP_UNCOMPRESSED as MAX_GZIP_UNCOMPRESSED,
        MAX_IMPORT_ROWS as MAX_IMPORT_ROWS,
        MAX_STREAM_ROWS as MAX_STREAM_ROWS,
        MAX_XLSX_RATIO as MAX_XLSX_RATIO,
        MAX_XLSX_UNCOMPRESSED as MAX_XLSX_UNCOMPRESSED,
        PROGRESS_THRESHOLD_BYTES as PROGRESS_THRESHOLD_BYTES,
    )
    from lib.importing.reading import (
        SAMPLE_ROWS as SAMPLE_ROWS,
        ImportFailed as ImportFailed,
        Kind as Kind,
        Mode as Mode,
        Progress as Progress,
        RawTable as RawTable,
        Upload as Upload,
        check_xlsx_archive as check_xlsx_archive,
        decode_text as decode_text,
        normalize_header as normalize_header,
        normalize_headers as normalize_headers,
        read_table as read_table,
        stage_upload as stage_upload,
    )
    from lib.importing.validation import (
        ORDER_COLUMNS as ORDER_COLUMNS,
        REJECT_COLUMNS as REJECT_COLUMNS,
        ImportReport as ImportReport,
        parse_datetimes as parse_datetimes,
        parse_money as parse_money,
        parse_periods as parse_periods,
        prepare_channels as prepare_channels,
        prepare_orders as prepare_orders,
        prepare_orders_file as prepare_orders_file,
    )
