"""Backup and restore of a workspace file, so a team can recover from a bad import, a broken disk or a full one.

Why a module of its own: the workspace is one DuckDB file, and copying it naively
while the app writes can capture half a commit or miss what still sits in the
write-ahead log. The app's connection is locked down (no file access from SQL, so
no ``EXPORT DATABASE`` or ``COPY``), hence a backup here is a byte copy of the file
made after a ``CHECKPOINT`` while the workspace's write lock is held, then opened
and checked before it replaces the target. A restore is checked the same way and
swapped in atomically (temporary file + ``os.replace``), and it refuses to pull the
file from under a workspace that is open in this process or in another one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb

from lib.workspace import SCHEMA_VERSION, Workspace, WorkspaceError, WriteFailed

#: Tables without which a file is not a Growth Planner workspace.
REQUIRED_TABLES: tuple[str, ...] = (
    "meta", "datasets", "orders", "channel_spend", "column_mappings", "dataset_settings", "import_log",
)


class BackupError(WorkspaceError):
    """A backup or restore was refused or failed; the files it would have touched are unchanged."""


@dataclass(frozen=True)
class BackupInfo:
    """What a backup file holds: where it is, its schema version and the rows of every table."""

    path: Path
    schema_version: int
    table_rows: dict[str, int]
    size_bytes: int

    def as_dict(self) -> dict[str, object]:
        return {
            "file": str(self.path), "schema_version": self.schema_version, "bytes": self.size_bytes,
            "tables": dict(self.table_rows),
        }


def wal_path(db_path: Path) -> Path:
    """DuckDB's write-ahead log next to a database file."""
    return db_path.with_name(db_path.name + ".wal")


def backup(source: Workspace | str | os.PathLike[str], target: str | os.PathLike[str]) -> BackupInfo:
    """Write a consistent, verified copy of a workspace to ``target`` (replacing a previous backup there).

    ``source`` is an open :class:`Workspace` (the running app's; its writes wait
    while the file is copied) or the path of a workspace file, which is then
    opened for the duration — and refused with a clear message if another
    process (the app) holds it.
    """
    if isinstance(source, Workspace):
        return _backup_open_workspace(source, Path(target))
    path = Path(source)
    if not path.is_file():
        raise BackupError(f"No workspace file at {path}.")
    workspace = Workspace(path)  # WorkspaceError "in use by another process" when the app holds it
    try:
        return _backup_open_workspace(workspace, Path(target))
    finally:
        workspace.close()


def _backup_open_workspace(ws: Workspace, target: Path) -> BackupInfo:
    if str(ws.path) == ":memory:":
        raise BackupError("An in-memory workspace has no file to back up.")
    if _same_file(ws.path, target):
        raise BackupError("The backup must go to another file than the workspace itself.")
    if Workspace.is_open(target):
        raise BackupError(f"{target} is a workspace open in this process; choose another backup file.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial_name(target)
    try:
        with ws.exclusive():  # no transaction of this process commits while the bytes are copied
            try:
                ws.checkpoint()
            except WriteFailed:
                raise
            except WorkspaceError:
                pass  # e.g. readers in flight: the write-ahead log is copied and merged below instead
            shutil.copyfile(ws.path, partial)
            wal = wal_path(ws.path)
            if wal.exists() and wal.stat().st_size:  # a checkpoint that could not run: carry the log along
                shutil.copyfile(wal, wal_path(partial))
        if wal_path(partial).exists():
            _merge_wal(partial)
        info = inspect_workspace_file(partial)
        _fsync(partial)
        os.replace(partial, target)
        _fsync_dir(target.parent)
    except OSError as exc:  # disk full, no permission: the previous backup at ``target`` is untouched
        raise BackupError(f"The backup could not be written to {target}: {exc.strerror or exc}") from exc
    finally:
        _remove_quietly(partial, wal_path(partial))
    return BackupInfo(target, info.schema_version, info.table_rows, target.stat().st_size)


def restore(
    backup_path: str | os.PathLike[str], db_path: str | os.PathLike[str], *, force: bool = False,
) -> BackupInfo:
    """Replace the workspace file ``db_path`` by a verified copy of ``backup_path``.

    Refused (nothing changes) when: the backup is not a workspace of a schema this
    version understands; ``db_path`` is open in this process or held by another;
    or ``db_path`` exists and ``force`` is false. The previous file's write-ahead
    log is discarded with it, so it cannot be replayed onto the restored file.
    """
    source, target = Path(backup_path), Path(db_path)
    if not source.is_file():
        raise BackupError(f"No backup file at {source}.")
    if _same_file(source, target):
        raise BackupError("The backup and the workspace are the same file.")
    if Workspace.is_open(target):
        raise BackupError(
            f"The workspace {target} is open in this process; close it (stop the app) before restoring.")
    if Workspace.is_open(source):
        raise BackupError(f"{source} is a workspace open in this process, not a backup at rest.")
    if wal_path(source).exists():
        raise BackupError(
            f"{source} has a write-ahead log next to it, so it is not a finished backup; "
            "make backups with the backup command.")
    if target.exists():
        if not force:
            raise BackupError(f"{target} already exists; pass --force to replace it with the backup.")
        _refuse_if_held_by_another_process(target)
    info = inspect_workspace_file(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial_name(target)
    try:
        shutil.copyfile(source, partial)
        _fsync(partial)
        # The old log belongs to the old file: replayed onto the restored one it would corrupt it.
        _remove_quietly(wal_path(target))
        os.replace(partial, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        raise BackupError(f"The workspace {target} could not be replaced: {exc.strerror or exc}") from exc
    finally:
        _remove_quietly(partial)
    return BackupInfo(target, info.schema_version, info.table_rows, target.stat().st_size)


def inspect_workspace_file(path: str | os.PathLike[str]) -> BackupInfo:
    """Open a workspace file read-only and report its schema version and table sizes.

    Raises BackupError when it is not a DuckDB file, not a Growth Planner
    workspace, or written by a newer version.
    """
    file = Path(path)
    with _read_only(file) as con:
        tables = {
            row[0] for row in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' AND table_type = 'BASE TABLE'"
            ).fetchall()
        }
        missing = [name for name in REQUIRED_TABLES if name not in tables]
        if missing:
            raise BackupError(f"{file} is not a Growth Planner workspace (no {', '.join(missing)} table).")
        rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        try:
            version = int(rows[0][0]) if rows else 0
        except ValueError:
            version = 0
        if not 1 <= version <= SCHEMA_VERSION:
            raise BackupError(
                f"{file} has workspace schema {version}; this version of Growth Planner "
                f"understands schemas 1 to {SCHEMA_VERSION}.")
        table_rows = {}
        for name in sorted(tables):
            quoted = '"' + name.replace('"', '""') + '"'  # names come from the file's own catalogue
            table_rows[name] = int(con.execute(f"SELECT count(*) FROM {quoted}").fetchall()[0][0])
    return BackupInfo(file, version, table_rows, file.stat().st_size)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


@contextmanager
def _read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise BackupError(f"{path} is in use by another process.") from exc
        raise BackupError(f"{path} is not a readable workspace file: {' '.join(text.split())}") from exc
    try:
        yield con
    except duckdb.Error as exc:
        raise BackupError(f"{path} could not be read: {' '.join(str(exc).split())}") from exc
    finally:
        con.close()


def _merge_wal(path: Path) -> None:
    """Fold a copied write-ahead log into the copy, so the backup is one self-contained file."""
    try:
        con = duckdb.connect(str(path))
        try:
            con.execute("CHECKPOINT")
        finally:
            con.close()
    except duckdb.Error as exc:
        raise BackupError(f"The copy could not be completed: {' '.join(str(exc).split())}") from exc


def _refuse_if_held_by_another_process(path: Path) -> None:
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise BackupError(
                f"The workspace {path} is in use by another process (the app or a CLI command); "
                "stop it before restoring.") from exc
        return  # damaged or not a DuckDB file: replacing it is what restore is for
    except duckdb.Error:
        return
    con.close()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _partial_name(target: Path) -> Path:
    """A temporary name in the target's directory (same filesystem, so ``os.replace`` is atomic)."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.partial")


def _fsync(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    with suppress(OSError):  # not every filesystem lets a directory be opened for fsync
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_quietly(*paths: Path) -> None:
    for path in paths:
        with suppress(FileNotFoundError):
            path.unlink()
