"""Hardening: a locked-down DuckDB, backup and restore, a full disk, code lints, HTML as text, the optional login.

Why: a team instance is one process with one workspace file that many people use
at once, some of them through files they did not make. These tests pin down what
keeps that safe: SQL cannot reach outside the workspace, a backup round-trips
every table and a restore never swaps a file from under a running app, a full
disk is a clear message and not a lost workspace, no page renders data as HTML,
caches are bounded, SQL is only ever assembled from constant names, and with a
login switched on no page shows a number before sign-in.

Faults already covered elsewhere (SIGKILL during an import, the second-process
lock, atomic imports, the encoding matrix, bombs) live in test_workspace.py and
test_importing.py.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import fixtures as fx
from conftest import ROOT
from lib import auth, backup
from lib.backup import BackupError
from lib.cli import main
from lib.importing import import_file
from lib.workspace import SCHEMA_VERSION, Workspace, WriteFailed

APP = str(ROOT / "app.py")
APP_SOURCES = sorted([*ROOT.glob("lib/**/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"])


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def seeded(ws: Workspace) -> Workspace:
    """A workspace with rows in every table: orders, channels, a setting, a saved mapping, the import log."""
    import_file(ws, fx.chinese_status_csv(), "订单.csv", "orders", "天猫 Q4")
    import_file(ws, fx.long_chinese_channels_csv(), "渠道.csv", "channels", "天猫 Q4")
    import_file(ws, fx.orders_csv([f"J{i}" for i in range(30)]), "jd.csv", "orders", "JD")
    ws.set_setting(ws.get_dataset("JD").dataset_id, "segments.thresholds", {"vip": 3, "名称": "高价值"})
    return ws


def table_checksums(con) -> dict[str, tuple]:
    """Every table of the main schema: row count and an order-independent checksum of every column."""
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
    sums = {}
    for name in tables:
        quoted = '"' + name.replace('"', '""') + '"'
        sums[name] = tuple(con.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {quoted}").fetchall()[0])
    return sums


def checksums_of_file(path: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return table_checksums(con)
    finally:
        con.close()


def python(code: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, **kwargs)


# ==========================================================================
# 1. Lock-down: SQL cannot reach outside the workspace
# ==========================================================================

ESCAPES = {
    "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
    "read_text": "SELECT * FROM read_text('/etc/passwd')",
    "glob": "SELECT * FROM glob('/etc/*')",
    "attach": "ATTACH '{dir}/other.duckdb' AS other",
    "copy_to": "COPY orders TO '{dir}/stolen.csv'",
    "copy_from": "COPY orders FROM '/etc/passwd'",
    "export": "EXPORT DATABASE '{dir}/dump'",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "reopen_access": "SET enable_external_access = true",
    "reset_access": "RESET enable_external_access",
    "unlock": "SET lock_configuration = false",
    "other_setting": "SET memory_limit = '64GB'",
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_sql_cannot_reach_files_databases_or_extensions(ws, tmp_path, name):
    seeded(ws)
    sql = ESCAPES[name].format(dir=tmp_path)
    with pytest.raises(duckdb.Error) as read_path:
        ws.query_rows(sql)
    assert type(read_path.value).__name__ in {"PermissionException", "InvalidInputException"}, read_path.value
    with pytest.raises(duckdb.Error):  # the write path refuses it too, and rolls back
        with ws.transaction() as cur:
            cur.execute(sql)
    assert not {"other.duckdb", "stolen.csv", "dump"} & {p.name for p in tmp_path.iterdir()}
    assert ws.query_rows("SELECT current_setting('enable_external_access'), current_setting('lock_configuration')") \
        == [(False, True)]
    assert ws.get_dataset("JD").orders == 30  # and the workspace carries on


def test_a_python_variable_is_not_readable_by_name_from_sql(ws):
    secret_frame = pd.DataFrame({"x": [1]})  # noqa: F841 - DuckDB's replacement scan would find it by name
    with pytest.raises(duckdb.CatalogException):
        ws.query_rows("SELECT * FROM secret_frame")


def test_what_the_app_needs_still_works_when_locked(ws, tmp_path):
    seeded(ws)  # imports register pandas frames; settings and mappings are written
    mappings = ws.table_counts()["column_mappings"]
    with ws.transaction() as cur:  # a registered frame is the one way data comes in
        cur.register("incoming", pd.DataFrame({"k": ["a"], "v": ["1"]}))
        cur.execute("INSERT INTO column_mappings SELECT k, 'orders', v, now() FROM incoming")
        cur.unregister("incoming")
    ws.checkpoint()
    assert ws.table_counts()["column_mappings"] == mappings + 1
    # opening the same file again in this process finds it locked already (DuckDB shares the instance)
    again = Workspace(ws.path)
    try:
        assert again.query_rows("SELECT current_setting('lock_configuration')") == [(True,)]
    finally:
        again.close()


def test_an_unlocked_workspace_is_opt_in(tmp_path):
    tools = Workspace(tmp_path / "tools.duckdb", locked=False)  # benches read Parquet in place
    try:
        assert tools.query_rows("SELECT current_setting('enable_external_access')") == [(True,)]
    finally:
        tools.close()


# ==========================================================================
# 2. Backup and restore
# ==========================================================================


def test_backup_and_restore_round_trip_every_table_through_the_cli(tmp_path, capsys):
    db, bak, restored = tmp_path / "live.duckdb", tmp_path / "backups" / "monday.gpbak", tmp_path / "restored.duckdb"
    seeded(Workspace(db)).close()
    before = checksums_of_file(db)
    assert {"datasets", "orders", "channel_spend", "column_mappings", "dataset_settings", "import_log"} <= set(before)
    assert all(before[t][0] > 0 for t in ("orders", "channel_spend", "dataset_settings", "column_mappings"))

    assert main(["backup", "--db", str(db), "--out", str(bak)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["schema_version"] == SCHEMA_VERSION
    assert report["tables"] == {t: v[0] for t, v in before.items()}
    assert main(["restore", "--db", str(restored), "--from", str(bak)]) == 0
    capsys.readouterr()
    assert checksums_of_file(bak) == before
    assert checksums_of_file(restored) == before
    assert sorted(p.name for p in bak.parent.iterdir()) == ["monday.gpbak"], "no temporary files are left"

    ws = Workspace(restored)  # the restored file is a working workspace: ids continue, imports land
    try:
        import_file(ws, fx.orders_csv(["R1"]), "r.csv", "orders", "After restore")
        ids = [d.dataset_id for d in ws.list_datasets()]
        assert len(set(ids)) == 3 and ws.get_dataset("After restore").dataset_id > max(ids[:2])
    finally:
        ws.close()


def test_backup_of_the_running_workspace_includes_uncheckpointed_commits_and_is_consistent(ws, tmp_path):
    """The app's own Workspace: commits still in the write-ahead log are in the backup, and a backup taken
    while other sessions import holds whole imports only."""
    import threading

    seeded(ws)
    import_file(ws, fx.orders_csv(["W1", "W2"]), "w.csv", "orders", "In the log")  # not checkpointed
    stop, errors = threading.Event(), []

    def importer(n: int) -> None:
        i = 0
        while not stop.is_set() and i < 40:
            try:
                import_file(ws, fx.orders_csv([f"T{n}-{i}-{k}" for k in range(25)]), "t.csv", "orders",
                            f"Busy {n}", mode="append")
            except Exception as exc:  # noqa: BLE001 - asserted below
                errors.append(exc)
            i += 1

    threads = [threading.Thread(target=importer, args=(n,)) for n in range(2)]
    for th in threads:
        th.start()
    time.sleep(0.2)
    info = backup.backup(ws, tmp_path / "live.bak")
    stop.set()
    for th in threads:
        th.join(timeout=60)
    assert errors == []
    con = duckdb.connect(str(info.path), read_only=True)
    try:
        names = {r[0] for r in con.execute("SELECT name FROM datasets").fetchall()}
        assert {"天猫 Q4", "JD", "In the log"} <= names
        per_busy = con.execute(
            "SELECT d.name, count(o.order_id), (SELECT count(*) FROM import_log l WHERE l.dataset_id = d.dataset_id) "
            "FROM datasets d LEFT JOIN orders o USING (dataset_id) WHERE d.name LIKE 'Busy%' GROUP BY ALL"
        ).fetchall()
    finally:
        con.close()
    for name, orders, imports in per_busy:
        assert orders == 25 * imports, f"{name}: a backup never holds part of an import"
    assert info.table_rows["orders"] == sum(o for _, o, _ in per_busy) + 6 + 30 + 2


def test_restore_refuses_and_changes_nothing(tmp_path, capsys):
    db, bak = tmp_path / "live.duckdb", tmp_path / "good.bak"
    seeded(Workspace(db)).close()
    backup.backup(db, bak)
    before = checksums_of_file(db)

    # an existing workspace needs --force: one line on stderr, exit 2
    assert main(["restore", "--db", str(db), "--from", str(bak)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--force" in err and err.count("\n") == 1

    garbage = tmp_path / "garbage.bak"
    garbage.write_bytes(fx.random_bytes(4096))
    not_ours = tmp_path / "other.duckdb"
    con = duckdb.connect(str(not_ours))
    con.execute("CREATE TABLE t (x INT)")
    con.close()
    future = tmp_path / "future.bak"
    shutil.copyfile(bak, future)
    con = duckdb.connect(str(future))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    for bad, reason in ((garbage, "not a readable workspace"), (not_ours, "not a Growth Planner workspace"),
                        (future, "schema 99"), (tmp_path / "missing.bak", "No backup file")):
        with pytest.raises(BackupError, match=reason):
            backup.restore(bad, db, force=True)
    assert checksums_of_file(db) == before

    ws = Workspace(db)  # open in this process (the running app): refused even with force
    try:
        with pytest.raises(BackupError, match="open in this process"):
            backup.restore(bak, db, force=True)
        with pytest.raises(BackupError, match="another file"):
            backup.backup(ws, db)
    finally:
        ws.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no partial files


def test_restore_discards_the_old_write_ahead_log(tmp_path):
    """A crashed app leaves a .wal next to the file; replayed onto the restored file it would corrupt it."""
    db, bak, crashed = tmp_path / "live.duckdb", tmp_path / "good.bak", tmp_path / "crashed.duckdb"
    seeded(Workspace(db)).close()
    backup.backup(db, bak)
    result = python(
        """
        import os, sys
        from tests import fixtures as fx
        from lib.importing import import_file
        from lib.workspace import Workspace
        ws = Workspace(sys.argv[1])
        import_file(ws, fx.orders_csv(["A", "B"]), "a.csv", "orders", "Before the crash")
        ws.checkpoint()
        import_file(ws, fx.orders_csv(["C"]), "c.csv", "orders", "Only in the log")
        os._exit(0)  # no checkpoint, no close: the commit lives in the .wal
        """,
        str(crashed),
    )
    assert result.returncode == 0, result.stderr
    assert Path(str(crashed) + ".wal").stat().st_size > 0
    backup.restore(bak, crashed, force=True)
    assert not Path(str(crashed) + ".wal").exists()
    assert checksums_of_file(crashed) == checksums_of_file(db)


def test_backup_and_restore_refuse_a_workspace_held_by_another_process(tmp_path, capsys):
    db, bak = tmp_path / "live.duckdb", tmp_path / "good.bak"
    seeded(Workspace(db)).close()
    backup.backup(db, bak)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from lib.workspace import Workspace; "
         "ws = Workspace(sys.argv[1]); print('READY', flush=True); time.sleep(60)", str(db)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "READY"
        assert main(["restore", "--db", str(db), "--from", str(bak), "--force"]) == 2
        assert "in use by another process" in capsys.readouterr().err
        assert main(["backup", "--db", str(db), "--out", str(tmp_path / "again.bak")]) == 2
        assert "in use by another process" in capsys.readouterr().err
        assert not (tmp_path / "again.bak").exists()
    finally:
        holder.kill()
        holder.wait()


# ==========================================================================
# 3. Disk full during an import
# ==========================================================================

DISK_FULL_CHILD = """
import json, os, resource, signal, sys
from tests import fixtures as fx
from lib import importing
from lib.workspace import Workspace, WorkspaceError

db, how = sys.argv[1], sys.argv[2]
ws = Workspace(db)
if how == "fsize":  # every file write past 32 KiB now fails with EFBIG
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # (by default the kernel kills the process instead)
    resource.setrlimit(resource.RLIMIT_FSIZE, (32 * 1024, 32 * 1024))
else:  # fill the small tmpfs to the last byte: the next write fails with ENOSPC
    folder = os.path.dirname(db)
    stat = os.statvfs(folder)
    with open(os.path.join(folder, "filler"), "wb") as handle:
        handle.write(b"\\0" * (stat.f_bavail * stat.f_frsize))
outcome = {}
try:
    importing.import_file(ws, fx.orders_csv([f"N{i}" for i in range(4000)]), "big.csv", "orders", "Too big")
    outcome["error"] = None
except Exception as exc:
    outcome["error"] = {"type": type(exc).__name__, "workspace_error": isinstance(exc, WorkspaceError),
                        "message": str(exc)}
outcome["counts_after"] = ws.table_counts()  # the app is still responsive on the same connection
outcome["datasets_after"] = [d.name for d in ws.list_datasets()]
print(json.dumps(outcome), flush=True)
"""


def _tiny_tmpfs(folder: Path, size_bytes: int) -> bool:
    folder.mkdir()
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(folder)],
                          capture_output=True, timeout=10)
    return done.returncode == 0


@pytest.mark.parametrize("how", ["tmpfs", "fsize"])
def test_a_full_disk_gives_a_clear_message_and_keeps_the_last_committed_state(tmp_path, how):
    seed = tmp_path / "seed.duckdb"
    seeded(Workspace(seed)).close()
    committed = checksums_of_file(seed)
    folder = tmp_path / "small"
    mounted = False
    if how == "tmpfs":
        mounted = _tiny_tmpfs(folder, seed.stat().st_size + 1024 * 1024)
        if not mounted:
            pytest.skip("cannot mount a tmpfs here (needs root); the RLIMIT_FSIZE variant covers the failure path")
    else:
        folder.mkdir()
    try:
        db = folder / "ws.duckdb"
        shutil.copyfile(seed, db)
        result = python(DISK_FULL_CHILD, str(db), how)
        assert result.returncode == 0, result.stderr[-2000:]
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        error = outcome["error"]
        assert error is not None, "the import must not report success"
        assert error["type"] == WriteFailed.__name__ and error["workspace_error"]
        assert "disk may be full" in error["message"] and "nothing was saved" in error["message"]
        assert ("No space left" if how == "tmpfs" else "File too large") in error["message"]
        assert "Too big" not in outcome["datasets_after"]
        assert outcome["counts_after"] == {t: committed[t][0] for t in outcome["counts_after"]}
        (folder / "filler").unlink(missing_ok=True)  # space again: the file reopens at its last committed state
        assert checksums_of_file(db) == committed
        ws = Workspace(db)
        try:
            import_file(ws, fx.orders_csv(["Z1"]), "z.csv", "orders", "After the disk was freed")
            assert ws.get_dataset("After the disk was freed").orders == 1
        finally:
            ws.close()
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=10)


def test_the_cli_reports_a_full_disk_in_one_line(tmp_path, monkeypatch, capsys):
    db = tmp_path / "ws.duckdb"
    seeded(Workspace(db)).close()
    csv = tmp_path / "orders.csv"
    csv.write_bytes(fx.orders_csv(["A"]))

    def refuse(cur, dataset_id):  # what DuckDB raises when the WAL cannot be written at COMMIT time
        raise duckdb.TransactionException(
            f'TransactionContext Error: Failed to commit: Could not write file "{db}.wal": No space left on device')

    monkeypatch.setattr(Workspace, "bump_version", staticmethod(refuse))
    assert main(["import-orders", str(csv), "--dataset", "New", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "disk may be full" in err and "nothing was saved" in err


# ==========================================================================
# 4. Lints over the app's source
# ==========================================================================


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _dotted(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # noqa: BLE001
        return ""


def _module_string_constants(module: ast.Module) -> set[str]:
    """Names assigned a string literal at module level (static CSS and the like)."""
    return {stmt.targets[0].id for stmt in module.body
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)}


def _streamlit_imports(tree: ast.AST) -> list[int]:
    """Line numbers of every ``import streamlit…`` / ``from streamlit… import`` anywhere in a module (also inside
    functions, where a lazy import would hide it)."""
    lines = []
    for node in ast.walk(tree):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(name == "streamlit" or name.startswith("streamlit.") for name in names):
            lines.append(node.lineno)
    return lines


def test_streamlit_is_imported_only_by_the_ui_layer():
    """lib/ is pure logic that the CLI and the benchmarks import without Streamlit; lib/ui.py is its one door."""
    offenders = {}
    for path in sorted((ROOT / "lib").rglob("*.py")):
        if path == ROOT / "lib" / "ui.py":
            continue
        lines = _streamlit_imports(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            offenders[str(path.relative_to(ROOT))] = lines
    assert not offenders, f"Streamlit imported outside lib/ui.py (file: lines): {offenders}"
    assert _streamlit_imports(ast.parse("def gate():\n    import streamlit as st\n")) == [2], "the lint sees lazy imports"
    assert _streamlit_imports(ast.parse((ROOT / "lib" / "ui.py").read_text(encoding="utf-8"))), "ui.py is the door"


def test_no_html_rendering_of_anything_but_literals():
    problems = []
    for path in APP_SOURCES:
        module = ast.parse(path.read_text(encoding="utf-8"))
        constants = _module_string_constants(module)
        for call in _calls(module):
            where = f"{rel(path)}:{call.lineno}"
            for kw in call.keywords:
                if kw.arg == "unsafe_allow_html" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    problems.append(f"{where}: unsafe_allow_html={_dotted(kw.value)}")
            name = _dotted(call.func)
            if name.endswith(("st.html", "components.html", "components.v1.html", "st.components.v1.iframe")):
                if not all(isinstance(a, ast.Constant) or (isinstance(a, ast.Name) and a.id in constants)
                           for a in call.args):
                    problems.append(f"{where}: {name}() with a non-literal argument")
    assert problems == []


# Caches that may stay unbounded, with the reason.
CACHE_EXEMPT = {
    ("lib/ui.py", "get_workspace"):
        "holds the process's one DuckDB connection per file; evicting it would open a second connection",
}
CONNECTION_PARAMETERS = {"ws", "workspace", "con", "conn", "connection", "cur", "cursor"}


def test_every_cache_is_bounded_and_never_keyed_on_a_connection():
    problems, seen = [], set()
    for path in APP_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                kind = _dotted(target).rsplit(".", 1)[-1]
                if kind not in ("cache_data", "cache_resource"):
                    continue
                where = (rel(path), node.name)
                seen.add(where)
                keywords = {kw.arg for kw in deco.keywords} if isinstance(deco, ast.Call) else set()
                if where not in CACHE_EXEMPT and not {"ttl", "max_entries"} <= keywords:
                    problems.append(f"{where}: {kind} without ttl and max_entries")
                params = {a.arg for a in node.args.args + node.args.kwonlyargs}
                if kind == "cache_data" and params & CONNECTION_PARAMETERS:
                    problems.append(f"{where}: a connection is part of a cache_data key")
    assert problems == []
    assert set(CACHE_EXEMPT) <= seen, "stale exemption: remove it"


def test_the_default_duckdb_connection_is_never_used_and_files_are_opened_in_one_place():
    """``duckdb.sql()``/``duckdb.execute()`` use a process-wide in-memory database; files open via Workspace."""
    allowed_connect = {"lib/workspace.py", "lib/backup.py"}  # the factory, and backup copies at rest
    problems = []
    for path in APP_SOURCES:
        for call in _calls(ast.parse(path.read_text(encoding="utf-8"))):
            func = call.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "duckdb":
                if func.attr == "connect" and rel(path) in allowed_connect:
                    continue
                if func.attr in {"sql", "execute", "query", "query_df", "from_df", "read_csv", "read_parquet",
                                 "read_json", "connect", "table", "values", "executemany"}:
                    problems.append(f"{rel(path)}:{call.lineno}: duckdb.{func.attr}()")
    assert problems == []


SQL_METHODS = {"execute", "executemany", "sql", "query", "query_df", "query_rows"}
# Interpolations that are not a name bound from constant strings, with the reason they are safe.
SQL_FSTRING_ALLOWED = {
    ("lib/backup.py", "quoted"): "a table name read from the backup file's own catalogue, quoted with doubled quotes",
    ("lib/exports.py", "', '.join(aliases)"): "column aliases made by the code (c0, c1, …), never data",
    ("lib/exports.py", "exprs"): "per-column CSV expressions of those aliases (exports._csv_sql: fixed SQL only)",
    ("lib/importing/staging.py", "select_list"): "an import's projection of code-made positions and aliases (#1, c0, …) onto the "
                                       "fixed field names; the file's own column names never reach SQL text",
    ("lib/importing/attributes.py", "renamed"): "code-made aliases a0, a1, … renaming the staged columns by position",
    ("lib/importing/attributes.py", "as_text"): "CAST(a<i> AS VARCHAR) AS a<i> of those code-made aliases",
}
# lib.metrics' builders return fixed SQL (the ledger and the facts every number is computed from), with every
# value a $parameter: interpolating what they return is interpolating code.
SQL_FRAGMENT_BUILDERS = {"dataset_ledger", "ledger_sql", "first_orders_sql", "period_facts_sql"}
# Query builders that compose SQL from code-made fragments; their values travel as bound $parameters.
SQL_BUILDERS_EXEMPT = {
    "run_query": "lib/segments.py and lib/playbooks.py build segment SQL from module constants; "
              "user values are bound parameters (see OrderSource)",
}


def _constant_strings(node: ast.AST | None) -> bool:
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return bool(node.elts) and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
    return False


def _bound_from_constants(name: str, function: ast.AST, module: ast.Module) -> bool:
    """``name`` is only ever bound by iterating a literal tuple/list of strings, or from a constant dict."""
    module_values = {}
    for stmt in module.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            module_values[stmt.targets[0].id] = stmt.value
    local_values = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            local_values[node.targets[0].id] = node.value

    def constant_iterable(it: ast.AST) -> bool:
        if isinstance(it, ast.Name):
            it = local_values.get(it.id, module_values.get(it.id))
        return _constant_strings(it)

    def constant_lookup(value: ast.AST) -> bool:
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
            table = module_values.get(value.value.id)
            return isinstance(table, ast.Dict) and all(
                isinstance(v, ast.Constant) and isinstance(v.value, str) for v in table.values)
        return False

    bindings = []
    for node in ast.walk(function):
        if isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.target, ast.Name) \
                and node.target.id == name:
            bindings.append(constant_iterable(node.iter))
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            bindings.append(constant_lookup(node.value) or _constant_strings(node.value))
        elif isinstance(node, ast.arg) and node.arg == name:
            bindings.append(False)
    return bool(bindings) and all(bindings)


def test_sql_f_strings_interpolate_only_constant_identifiers():
    problems, used_allowances = [], set()
    for path in APP_SOURCES:
        module = ast.parse(path.read_text(encoding="utf-8"))
        functions = [n for n in ast.walk(module) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for call in _calls(module):
            method = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if method in SQL_BUILDERS_EXEMPT or method not in SQL_METHODS:
                continue
            sql = call.args[0] if call.args else None
            if isinstance(sql, ast.BinOp) or (isinstance(sql, ast.Call) and _dotted(sql.func).endswith(".format")):
                problems.append(f"{rel(path)}:{call.lineno}: SQL built by concatenation or .format()")
                continue
            if not isinstance(sql, ast.JoinedStr):
                continue
            owner = min((f for f in functions if f.lineno <= call.lineno <= (f.end_lineno or f.lineno)),
                        key=lambda f: (f.end_lineno or f.lineno) - f.lineno, default=module)
            for part in sql.values:
                if not isinstance(part, ast.FormattedValue):
                    continue
                expr = _dotted(part.value)
                key = (rel(path), expr)
                if key in SQL_FSTRING_ALLOWED:
                    used_allowances.add(key)
                elif isinstance(part.value, ast.Call) and _dotted(part.value.func) in SQL_FRAGMENT_BUILDERS:
                    continue  # the semantic layer's own SQL (lib.metrics): code-made, values stay $parameters
                elif not (isinstance(part.value, ast.Name) and _bound_from_constants(expr, owner, module)):
                    problems.append(f"{rel(path)}:{call.lineno}: {{{expr}}} is not a constant identifier")
    assert problems == []
    assert used_allowances == set(SQL_FSTRING_ALLOWED), "stale allowance: remove it"


def test_the_lint_catches_a_user_value_in_an_f_string():
    module = ast.parse(textwrap.dedent('''
        TABLES = ("orders", "channel_spend")
        def ok(cur):
            for table in TABLES:
                cur.execute(f'DELETE FROM "{table}"')
        def bad(cur, name):
            cur.execute(f"SELECT * FROM orders WHERE customer_id = '{name}'")
    '''))
    ok, bad = [n for n in module.body if isinstance(n, ast.FunctionDef)]
    assert _bound_from_constants("table", ok, module)
    assert not _bound_from_constants("name", bad, module)


# ==========================================================================
# AppTests: a small workspace so pages render in well under a second
# ==========================================================================


@pytest.fixture
def small_app(tmp_path, monkeypatch):
    """The app on a small workspace (one dataset with orders and channel data), caches cleared around the test."""
    import streamlit as st

    db = tmp_path / "app.duckdb"
    ws = Workspace(db)
    import_file(ws, fx.orders_csv([f"O{i}" for i in range(40)]), "o.csv", "orders", "Shop")
    import_file(ws, fx.long_chinese_channels_csv(), "c.csv", "channels", "Shop")
    ws.close()
    monkeypatch.setenv("GROWTH_PLANNER_DB", str(db))
    monkeypatch.delenv(auth.PASSWORD_ENV, raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield db
    st.cache_data.clear()
    st.cache_resource.clear()


def open_page(page: str, *, secrets: dict | None = None, user: dict | None = None) -> AppTest:
    from lib.ui import PAGES

    at = AppTest.from_file(APP, default_timeout=60)
    if secrets:
        at.secrets.update(secrets)
    if user is not None:
        at.user = user
    at.run()
    if page != PAGES[0][0]:
        at.switch_page(page)
        at.run()
    return at


def page_files() -> list[str]:
    from lib.ui import PAGES

    return [p[0] for p in PAGES]


# ==========================================================================
# 4b. HTML in a column name and a dataset name is shown as text
# ==========================================================================

HTML_NAME = "<b>x</b><img src=y onerror=alert(2)>"


def _html_rendering_nodes(at: AppTest, needle: str) -> list[str]:
    """Elements that would render ``needle`` as HTML: st.html, markdown with HTML allowed, iframes."""
    found = []
    for node in at._tree:
        proto = getattr(node, "proto", None)
        text = str(proto) if proto is not None else ""
        if needle not in text and json.dumps(needle)[1:-1] not in text:
            continue
        if node.type == "html" or getattr(proto, "allow_html", False) or "iframe" in type(proto).__name__.lower():
            found.append(f"{node.type}: {text[:200]}")
    return found


def test_html_in_a_column_and_dataset_name_is_only_ever_text(small_app):
    at = open_page("pages/data.py")
    at.file_uploader[0].set_value(("x.csv", fx.html_header_csv(), "text/csv")).run()
    assert not at.exception
    options = [o for box in at.selectbox for o in (box.options or [])]
    assert fx.HTML_COLUMN in options, "the column is offered by its name, as plain text"
    at.text_input(key="data.new_name.orders").set_value(HTML_NAME).run()
    at.button(key="data.check.orders").click().run()
    assert any(fx.HTML_COLUMN in c.value for c in at.caption), "the ignored column is listed by name"
    at.button(key="data.confirm.orders").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["dataset"] == HTML_NAME
    for needle in (fx.HTML_COLUMN, HTML_NAME, "onerror"):
        assert _html_rendering_nodes(at, needle) == []


# ==========================================================================
# 5. Optional login
# ==========================================================================

PASSWORD = "团队 pass-2026"
# What a signed-out visitor may see: the sign-in title, prompt, form and (after a wrong try) an error.
PROMPT_ONLY = {"root", "main", "sidebar", "event", "title", "caption", "form", "text_input", "button", "error"}


def assert_prompt_only(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    kinds = {node.type for node in at._tree}
    assert kinds <= PROMPT_ONLY | {"html"}, kinds - PROMPT_ONLY
    for node in at.get("html"):  # only static styling (presentation mode's CSS), never content
        body = node.value.strip()
        assert body.startswith("<style>") and body.endswith("</style>") and body.count("<") == 2, body[:200]
    assert not at.sidebar.children, "no sidebar: it names the datasets"
    assert at.title and at.title[0].value == "Sign in to Growth Planner"


def test_login_is_decided_by_configuration_and_off_by_default():
    assert auth.login_required({}, env={}) is None
    assert auth.login_required({"growth_planner": {"password": "  "}}, env={}) is None
    assert auth.login_required({}, env={auth.PASSWORD_ENV: "p"}) == "password"
    assert auth.login_required({"growth_planner": {"password": "p"}}, env={}) == "password"
    assert auth.login_required({"auth": {"client_id": "x"}}, env={auth.PASSWORD_ENV: "p"}) == "oidc"
    assert auth.shared_password({"growth_planner": {"password": "from secrets"}}, env={auth.PASSWORD_ENV: "env"}) \
        == "from secrets"
    assert auth.password_matches(PASSWORD, PASSWORD) and not auth.password_matches(PASSWORD[:-1], PASSWORD)
    assert PASSWORD not in auth.password_proof(PASSWORD)
    assert auth.oidc_providers({"redirect_uri": "u", "google": {"client_id": "x"}}) == ["google"]
    assert auth.oidc_providers({"client_id": "x", "client_kwargs": {"prompt": "login"}}) == [None]
    assert auth.token_expired({"exp": 100}, now=101) and not auth.token_expired({"exp": 200}, now=101)
    assert not auth.token_expired({}, now=101)


@pytest.mark.parametrize("page", page_files())
def test_with_a_password_no_page_shows_data_before_sign_in(small_app, monkeypatch, page):
    monkeypatch.setenv(auth.PASSWORD_ENV, PASSWORD)
    at = open_page(page)
    assert_prompt_only(at)
    at.text_input(key="auth.password_input").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any(box.key == "auth.password_input" for box in at.text_input), "the prompt is gone"
    assert not (at.title and at.title[0].value == "Sign in to Growth Planner")
    assert {node.type for node in at._tree} - PROMPT_ONLY - {"html"}, "the page itself renders after sign-in"
    assert at.session_state[auth.SESSION_KEY] != PASSWORD, "the password itself is not kept in the session"


def test_a_wrong_password_is_refused_with_a_message(small_app, monkeypatch):
    monkeypatch.setenv(auth.PASSWORD_ENV, PASSWORD)
    monkeypatch.setattr(auth, "FAILED_ATTEMPT_DELAY_S", 0.0)
    at = open_page("pages/overview.py")
    at.text_input(key="auth.password_input").input("guess")
    at.button[0].click().run()
    assert_prompt_only(at)
    assert any("not right" in e.value for e in at.error)
    at.switch_page("pages/data.py").run()  # another page in the same session is still closed
    assert_prompt_only(at)


OIDC_SECRETS = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
                         "client_id": "id", "client_secret": "secret",
                         "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}}


@pytest.mark.parametrize("page", page_files())
def test_with_oidc_a_signed_out_user_sees_only_the_sign_in_button(small_app, page):
    at = open_page(page, secrets=OIDC_SECRETS, user={"email": "someone@example.com"})
    assert_prompt_only(at)
    assert [b.label for b in at.button] == ["Sign in"]


def test_with_oidc_a_signed_in_user_sees_the_page_and_an_expired_one_is_signed_out(small_app):
    future, past = time.time() + 3600, time.time() - 60
    at = open_page("pages/overview.py", secrets=OIDC_SECRETS,
                   user={"is_logged_in": True, "email": "a@example.com", "exp": future})
    assert not at.exception and at.metric, "a signed-in user sees the KPIs"
    at = open_page("pages/overview.py", secrets=OIDC_SECRETS,
                   user={"is_logged_in": True, "email": "a@example.com", "exp": past})
    assert not at.exception
    assert not at.metric and not at.sidebar.children
    assert at.user.get("is_logged_in") is False, "the expired identity was logged out"


def test_a_signed_in_user_is_named_in_the_sidebar_and_can_sign_out(small_app, monkeypatch):
    at = open_page("pages/overview.py", secrets=OIDC_SECRETS,
                   user={"is_logged_in": True, "email": "a@example.com", "name": "Wang *Fang*",
                         "exp": time.time() + 3600})
    captions = [c.value for c in at.sidebar.caption]
    assert any(c.startswith("Signed in as Wang \\*Fang\\* \\(a@example\\.com\\)") for c in captions), \
        f"named, with the provider's text escaped, not read as Markdown: {captions}"
    at.sidebar.button(key="auth.sign_out").click().run()
    assert at.user.get("is_logged_in") is False, "Sign out ends the OIDC session"

    monkeypatch.setenv(auth.PASSWORD_ENV, PASSWORD)
    at = open_page("pages/overview.py")
    at.text_input(key="auth.password_input").input(PASSWORD)
    at.button[0].click().run()
    assert any(c.value == "Signed in with the team password" for c in at.sidebar.caption)
    at.sidebar.button(key="auth.sign_out").click().run()
    assert_prompt_only(at)


def test_without_a_login_the_sidebar_has_no_sign_out(small_app):
    at = open_page("pages/overview.py")
    assert not [b for b in at.sidebar.button if b.key == "auth.sign_out"]
    assert auth.display_name({"name": "李雷", "email": "li@example.com"}) == "李雷 (li@example.com)"
    assert auth.display_name({"email": "li@example.com"}) == "li@example.com"
