"""The importer's limits, in one place so a test (or a deployment) can lower one and every step sees it.

Why a module of its own: the readers, the validation and the Data page all check these
sizes; each reads them here at call time (``limits.MAX_FILE_BYTES``), never a copy taken
at import.
"""

MAX_FILE_BYTES = 100 * 1024 * 1024
# A browser upload is held by Streamlit in memory: up to this many rows (with a clear message beyond it, pointing
# to the CLI). Order files from the CLI are read in place by DuckDB (lib.importing.staging, memory bounded) up to
# MAX_STREAM_ROWS. Both limits are checked before a compressed file can expand (a 0.5 MB Parquet file can hold
# 60 million rows: its footer says so).
MAX_IMPORT_ROWS = 2_000_000
MAX_STREAM_ROWS = 20_000_000
MAX_XLSX_UNCOMPRESSED = 400 * 1024 * 1024
MAX_XLSX_RATIO = 100
MAX_GZIP_UNCOMPRESSED = 1024 * 1024 * 1024
# An upload above this size shows a progress bar on the Data page.
PROGRESS_THRESHOLD_BYTES = 3 * 1024 * 1024
# A cell may hold up to 4 MB of text (a pasted description, a 200 KB note): Python's csv module stops at 128 KB by
# default and DuckDB's reader is given the same line limit (lib.importing.staging).
MAX_CELL_CHARS = 4_000_000
# DuckDB's memory for the workspace while `cli import-orders` writes (beside the file's own scratch database):
# the blocks it writes are otherwise kept cached up to the workspace's 4 GB, 1.37 GB of RSS at ten million orders.
COMMIT_MEMORY_LIMIT = "128MB"
