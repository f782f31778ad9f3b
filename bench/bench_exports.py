"""Benchmark: the segment exports (CSV and workbook) against a plain pandas script, in the same run.

Why this exists: issue "Data at any size" measured ``segments --export csv`` on 2M
orders (800k customers) at 0.39× the speed of a pandas script building the same
table and CSV, and the sample store's segment workbook at ~11 s. Targets: the CLI
export ≥ 8× the pandas script end to end; the sample store's workbook ≤ 3 s; a
million customers in one workbook (split across sheets at Excel's row limit).

What is timed, each in a fresh subprocess (wall clock, so Python start-up and
imports count on both sides; peak memory is that process's ``ru_maxrss``):

* ``python -m lib.cli segments --dataset … --export out.csv`` on a workspace file
  holding the orders (the path an analyst's nightly job takes);
* a pandas script reading the same orders from Parquet, building the same table
  (tiers, R/F/M scores, segments, labels, formula-safe ids, money to the cent,
  sorted by spend) and writing the same CSV with ``DataFrame.to_csv``; its file is
  compared with the CLI's, line by line;
* ``lib.segments.write_segment_workbook`` for the sample store (~51k customers) and
  for ~1M customers.

Orders come from ``bench_segments.generate`` (the segmentation benchmark's
generator, ~8 orders per customer). The issue's store has ~2.5, so each generated
customer is split into up to ``k`` accounts by a hash of the order id, ``k``
chosen as the smallest that reaches the wanted customer count; the generator's
refunds are kept as purchases (so the pandas twin needs no refund matching), and
0.2% of ids are made formula-looking ("=…") so the neutralising is exercised.

Usage::

    .venv/bin/python bench/bench_exports.py [--orders 2000000] [--customers 800000]
        [--workbook-customers 1000000] [--keep DIR] [--compare-exports OLD_exports.py]

``--compare-exports`` also times the CLI with another ``lib/exports.py`` (e.g.
``git show HEAD:lib/exports.py > /tmp/old_exports.py``), for before/after figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from bench import bench_segments  # the shared order generator

ROOT = Path(__file__).resolve().parent.parent

AS_OF = bench_segments.END_DAY
TARGET_CSV_RATIO = 8.0
TARGET_SAMPLE_WORKBOOK_S = 3.0


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def split_customers(generated: Path, out: Path, customers: int) -> tuple[int, int]:
    """Write ``out``: the generated orders with each customer split into up to k accounts (see the module doc).

    Returns (k, customers). Refunds become purchases of the same amount.
    """
    import duckdb

    con = duckdb.connect()
    try:
        def rekeyed(k: int) -> str:
            key = f"customer_id || '-' || CAST(hash(order_id) % {k} AS VARCHAR)"
            return f"CASE WHEN hash({key}) % 500 = 0 THEN '=' || {key} ELSE {key} END"

        k, found = 1, 0
        while k < 256:
            found = con.execute(f"SELECT count(DISTINCT {rekeyed(k)}) FROM read_parquet($p)",
                                {"p": str(generated)}).fetchone()[0]
            if found >= customers:
                break
            k += 1
        con.execute(
            f"""COPY (SELECT order_id, {rekeyed(k)} AS customer_id, order_ts, abs(amount) AS amount,
                             FALSE AS is_refund
                      FROM read_parquet($p)) TO '{str(out).replace("'", "''")}' (FORMAT parquet)""",
            {"p": str(generated)},
        )
    finally:
        con.close()
    return k, int(found)


def build_workspace(db: Path, datasets: dict[str, Path]) -> None:
    """A workspace file with one dataset per Parquet file of orders (imported with SQL, not the importer)."""
    from lib.workspace import Workspace

    ws = Workspace(db, locked=False)
    try:
        for name, parquet in datasets.items():
            with ws.transaction() as cur:
                ds = ws.ensure_dataset(cur, name)
                cur.execute(
                    "INSERT INTO orders (dataset_id, order_id, customer_id, order_ts, amount, quantity, channel, "
                    "status, is_refund) SELECT $ds, order_id, customer_id, order_ts, amount, NULL, NULL, NULL, "
                    "is_refund FROM read_parquet($p)",
                    {"ds": ds, "p": str(parquet)},
                )
                ws.bump_version(cur, ds)
    finally:
        ws.close()


def build_sample_workspace(db: Path) -> None:
    from lib.importing import load_sample_store
    from lib.workspace import Workspace

    ws = Workspace(db)
    try:
        load_sample_store(ws)
    finally:
        ws.close()


# --------------------------------------------------------------------------------------
# The pandas twin of the CSV export
# --------------------------------------------------------------------------------------


def export_vocabulary(lang: str = "en") -> dict:
    """Everything the pandas script takes from the product: thresholds, grid, labels, headers (as JSON)."""
    from lib import segments as S
    from lib.i18n import t

    settings = S.SegmentSettings()
    th = settings.thresholds
    return {
        "window_days": settings.window_days,
        "recent_max": th.recent_max_days, "lapsing_max": th.lapsing_max_days,
        "f_high_min": th.f_high_min, "f_mid_min": th.f_mid_min,
        "grid": S.grid_list(settings.grid),
        "tags": [[k, S.tier_label(k, lang)] for k in S.TAG_KEYS],
        "tiers": {k: S.tier_label(k, lang) for k in S.group_order("plan")},
        "segments": {k: S.segment_label(k, lang) for k in S.group_order("rfm")},
        "bands": {d: {b: t(f"segments.band.{d}.{b}", lang) for b in ("recent", "middle", "lapsed", "high", "mid", "low")}
                  for d in "rfm"},
        "headers": {k: t(f"segments.col.{k}", lang) for k in (
            "customer_id", "tier", "segment", "tags", "days_since_last_order", "window_orders", "window_revenue",
            "orders", "revenue", "aov", "first_order_date", "last_order_date", "r_band", "f_band", "m_band",
            "r_score", "f_score", "m_score")},
        "sep": "、" if lang == "zh" else ", ",
    }


def pandas_export(parquet: str, out: str, as_of: date, vocab: dict) -> dict:
    """Build the segment export table with pandas and write it with ``to_csv``: what a plain script does.

    Only pandas and numpy are imported; the product's vocabulary (labels, thresholds)
    comes in ``vocab`` (see :func:`export_vocabulary`).
    """
    import numpy as np
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_parquet(parquet, columns=["customer_id", "order_ts", "amount"])
    loaded = time.perf_counter() - t0
    before = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    window_start = before - pd.Timedelta(days=vocab["window_days"])
    recent_max, lapsing_max = vocab["recent_max"], vocab["lapsing_max"]
    p = df[df["customer_id"].notna() & (df["order_ts"] < before)]
    g = p.groupby("customer_id")
    base = pd.DataFrame({
        "first_order_date": g["order_ts"].min().dt.normalize(),
        "last_order_date": g["order_ts"].max().dt.normalize(),
        "orders": g.size(),
        "revenue": g["amount"].sum().round(6),
    })
    w = p[p["order_ts"] >= window_start].groupby("customer_id")["amount"].agg(["size", "sum"])
    base["window_orders"] = w["size"].reindex(base.index).fillna(0).astype("int64")
    base["window_revenue"] = w["sum"].reindex(base.index).fillna(0.0).round(6)
    days = (pd.Timestamp(as_of) - base["last_order_date"]).dt.days.to_numpy()
    wo, wr = base["window_orders"].to_numpy(), base["window_revenue"].to_numpy()
    buyers = base.loc[base["window_orders"] > 0, "window_revenue"]
    m_mid, m_high = buyers.quantile([1 / 3, 2 / 3]).tolist() if len(buyers) else [np.nan, np.nan]
    r_band = np.select([days <= recent_max, days <= lapsing_max], ["recent", "middle"], "lapsed")
    f_band = np.select([wo >= vocab["f_high_min"], wo >= vocab["f_mid_min"]], ["high", "mid"], "low")
    m_band = np.select([(wo > 0) & (wr >= m_high), (wo > 0) & (wr >= m_mid)], ["high", "mid"], "low")
    orders, revenue = base["orders"].to_numpy(), base["revenue"].to_numpy()
    tags = {
        "new": (orders == 1) & (days <= recent_max),
        "active": days <= recent_max,
        "lapsing": (days > recent_max) & (days <= lapsing_max),
        "dormant": days > lapsing_max,
        "high_value": (r_band == "recent") & (f_band == "high") & (m_band == "high") & (revenue > 0) & (wr > 0),
    }
    tier = np.select([tags["high_value"], tags["new"], tags["active"], tags["lapsing"]],
                     ["high_value", "new", "active", "lapsing"], "dormant")
    n = len(base)

    def quintile(values: pd.Series, ascending: bool = True) -> np.ndarray:
        rank = values.rank(method="min", ascending=ascending).to_numpy()
        return (1 + np.floor(5.0 * (rank - 1) / n)).astype(np.int64)

    r_score = quintile(pd.Series(days), ascending=False)
    f_score = quintile(base["orders"])
    m_score = quintile(base["revenue"])
    grid = np.asarray(vocab["grid"], dtype=object)
    segment = grid[(r_score - 1) * 5 + f_score - 1]

    sep = vocab["sep"]
    tag_text = np.full(n, "", dtype=object)
    for key, label in vocab["tags"]:
        on = tags[key]
        tag_text = np.where(on & (tag_text == ""), label, np.where(on, tag_text + sep + label, tag_text))
    ids = base.index.to_series().str.replace(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", regex=True)
    ids = ids.where(~ids.str.match(r"[=+\-@\t\r\n]"), "'" + ids)

    def band(values: np.ndarray, dim: str) -> pd.Series:
        return pd.Series(values).map(vocab["bands"][dim])

    table = pd.DataFrame({
        "customer_id": ids.to_numpy(),
        "tier": pd.Series(tier).map(vocab["tiers"]).to_numpy(),
        "segment": pd.Series(segment).map(vocab["segments"]).to_numpy(),
        "tags": tag_text,
        "days_since_last_order": days,
        "window_orders": wo,
        "window_revenue": wr,
        "orders": orders,
        "revenue": revenue,
        "aov": revenue / orders,
        "first_order_date": base["first_order_date"].to_numpy(),
        "last_order_date": base["last_order_date"].to_numpy(),
        "r_band": band(r_band, "r").to_numpy(),
        "f_band": band(f_band, "f").to_numpy(),
        "m_band": band(m_band, "m").to_numpy(),
        "r_score": r_score,
        "f_score": f_score,
        "m_score": m_score,
        "_id": base.index.to_numpy(),
    })
    table = table.sort_values(["window_revenue", "_id"], ascending=[False, True], kind="stable").drop(columns="_id")
    for col in ("window_revenue", "revenue", "aov"):
        table[col] = table[col].round(2)
    table.columns = [vocab["headers"][c] for c in table.columns]
    table.to_csv(out, index=False, quoting=csv.QUOTE_ALL, lineterminator="\r\n", encoding="utf-8-sig",
                 date_format="%Y-%m-%d")
    return {"rows": int(len(table)), "load_seconds": loaded, "seconds_in_script": time.perf_counter() - t0}


# --------------------------------------------------------------------------------------
# Subprocess runs
# --------------------------------------------------------------------------------------


def timed(command: list[str], env: dict | None = None) -> dict:
    """Run ``command``; wall seconds, CPU seconds and peak RSS (MB) of that child alone, and its stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would mix every child so far).
    out_chunks: list[str] = []
    err_chunks: list[str] = []
    import threading

    def drain(stream, sink):
        sink.append(stream.read())

    threads = [threading.Thread(target=drain, args=(proc.stdout, out_chunks)),
               threading.Thread(target=drain, args=(proc.stderr, err_chunks))]
    for th in threads:
        th.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    for th in threads:
        th.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = "".join(out_chunks), "".join(err_chunks)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])}… failed ({proc.returncode}):\n{stderr[-4000:]}")
    return {"seconds": wall, "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024.0,
            "stdout": stdout}


def worker_workbook(db: str, dataset: str, out: str) -> dict:
    from lib import segments
    from lib.workspace import Workspace

    ws = Workspace(db)
    try:
        ds = ws.get_dataset(dataset)
        t0 = time.perf_counter()
        segments.write_segment_workbook(ws, ds.dataset_id, out)
        seconds = time.perf_counter() - t0
    finally:
        ws.close()
    return {"seconds_in_call": seconds, "customers": ds.customers, "bytes": Path(out).stat().st_size}


def worker_cli_with(exports_file: str, argv: list[str]) -> int:
    """Run the CLI with another lib/exports.py in place of the current one (for before/after figures)."""
    import importlib.util

    import lib

    spec = importlib.util.spec_from_file_location("lib.exports", exports_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules["lib.exports"] = module
    spec.loader.exec_module(module)
    lib.exports = module
    from lib.cli import main as cli_main

    return cli_main(argv)


def compare_csv(ours: Path, theirs: Path) -> str:
    a, b = ours.read_bytes(), theirs.read_bytes()
    if a == b:
        return "identical"
    la, lb = a.split(b"\r\n"), b.split(b"\r\n")
    differing = sum(1 for x, y in zip(la, lb) if x != y) + abs(len(la) - len(lb))
    return f"{differing:,} of {len(la) - 2:,} lines differ"


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=2_000_000, help="orders generated")
    parser.add_argument("--customers", type=int, default=800_000, help="customers of the CSV run")
    parser.add_argument("--workbook-customers", type=int, default=1_000_000,
                        help="customers of the big workbook run (0: skip it)")
    parser.add_argument("--keep", help="folder to keep (and reuse) the generated data")
    parser.add_argument("--compare-exports", help="also time the CLI with this exports.py (before/after)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of the CLI and the pandas script, alternating; the median of each is reported")
    parser.add_argument("--worker", choices=["pandas", "workbook", "cli-with"], help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--exports", help=argparse.SUPPRESS)
    parser.add_argument("--vocab", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)

    if args.worker == "pandas":
        print(json.dumps(pandas_export(args.path, args.out, AS_OF, json.loads(args.vocab))))
        return 0
    if args.worker == "workbook":
        print(json.dumps(worker_workbook(args.path, args.dataset, args.out)))
        return 0
    if args.worker == "cli-with":
        return worker_cli_with(args.exports, [a for a in rest if a != "--"])
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")

    import duckdb
    import xlsxwriter

    base_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_exports_"))
    base_dir.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    started = datetime.now()
    load = os.getloadavg()
    try:
        # ---- data (cached with --keep)
        generated = base_dir / f"generated_{args.orders}" / "orders.parquet"
        if not generated.exists():
            bench_segments.generate(args.orders, generated.parent)
        sizes = {"csv": args.customers}
        if args.workbook_customers:
            sizes["workbook"] = args.workbook_customers
        parquet: dict[str, Path] = {}
        found: dict[str, tuple[int, int]] = {}
        for role, customers in sizes.items():
            path = base_dir / f"orders_{args.orders}_{customers}.parquet"
            meta = path.with_suffix(".json")
            if not path.exists() or not meta.exists():
                meta.write_text(json.dumps(split_customers(generated, path, customers)))
            parquet[role] = path
            found[role] = tuple(json.loads(meta.read_text()))
        db = base_dir / f"workspace_{args.orders}_{'_'.join(str(c) for c in sizes.values())}.duckdb"
        names = {role: f"{role}-{found[role][1]}" for role in sizes}
        if not db.exists():
            build_workspace(db, {names[role]: parquet[role] for role in sizes})
        sample_db = base_dir / "sample.duckdb"
        if not sample_db.exists():
            subprocess.run([py, "-c", f"from bench.bench_exports import build_sample_workspace as b; b({str(sample_db)!r})"],
                           cwd=ROOT, check=True)

        out = base_dir / "out"
        out.mkdir(exist_ok=True)
        ours_csv, pandas_csv = out / "cli.csv", out / "pandas.csv"
        cli = [py, "-m", "lib.cli", "segments", "--dataset", names["csv"], "--export", str(ours_csv),
               "--db", str(db), "--as-of", AS_OF.isoformat()]
        print(f"measuring: {args.orders:,} orders, {found['csv'][1]:,} customers for the CSV "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
        # Byte-compiled first, as an installed package is (pip compiles on install): with PYTHONDONTWRITEBYTECODE
        # set, every CLI start would compile lib/ again while the pandas script imports compiled packages.
        subprocess.run([py, "-m", "compileall", "-q", "lib", "bench"], cwd=ROOT, check=True)
        pandas_cmd = [py, "-m", "bench.bench_exports", "--worker", "pandas", "--path", str(parquet["csv"]),
                      "--out", str(pandas_csv), "--vocab", json.dumps(export_vocabulary(), ensure_ascii=False)]
        samples: dict[str, list[dict]] = {"cli": [], "pandas": []}
        for _run in range(max(1, args.repeat)):  # alternating, so a change in the machine's load hits both
            samples["cli"].append(timed(cli))
            samples["pandas"].append(timed(pandas_cmd))
            samples["pandas"][-1].update(json.loads(samples["pandas"][-1]["stdout"].strip().splitlines()[-1]))
        runs: dict[str, dict] = {key: sorted(found_runs, key=lambda r: r["seconds"])[len(found_runs) // 2]
                                 for key, found_runs in samples.items()}  # the median run (upper median)
        for key, found_runs in samples.items():
            print(f"  {key}: " + ", ".join(f"{r['seconds']:.2f} s ({r['cpu_seconds']:.2f} CPU-s)" for r in found_runs),
                  flush=True)
        agreement = compare_csv(ours_csv, pandas_csv)
        if args.compare_exports:
            before_csv = out / "before.csv"
            before = [py, "-m", "bench.bench_exports", "--worker", "cli-with", "--exports", args.compare_exports,
                      "--", *cli[3:]]
            before[before.index(str(ours_csv))] = str(before_csv)
            runs["before"] = timed(before)
            agreement_before = compare_csv(ours_csv, before_csv)
        wb_runs: dict[str, dict] = {}
        for label, (wb_db, dataset) in {
            "sample store": (sample_db, None),
            **({"big": (db, names["workbook"])} if "workbook" in names else {}),
        }.items():
            if dataset is None:
                con = duckdb.connect(str(wb_db), read_only=True)
                dataset = con.execute("SELECT name FROM datasets ORDER BY dataset_id LIMIT 1").fetchone()[0]
                con.close()
            target = out / f"{label.replace(' ', '_')}.xlsx"
            res = timed([py, "-m", "bench.bench_exports", "--worker", "workbook", "--path", str(wb_db),
                         "--dataset", dataset, "--out", str(target)])
            res.update(json.loads(res["stdout"].strip().splitlines()[-1]))
            wb_runs[label] = res

        # ---- report
        pandas_s = runs["pandas"]["seconds"]
        print()
        print(f"## Segment exports — {started:%Y-%m-%d %H:%M}")
        print()
        print(f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, python {platform.python_version()}, "
              f"duckdb {duckdb.__version__}, XlsxWriter {xlsxwriter.__version__}; load average at start "
              f"{', '.join(f'{x:.2f}' for x in load)}, at end {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print()
        print(f"CSV: {args.orders:,} orders, {found['csv'][1]:,} customers (generator customers split ×{found['csv'][0]}). "
              "Wall seconds of a fresh process, start-up and imports included.")
        print()
        print("| run | seconds | CPU s | peak MB | pandas ÷ run |")
        print("|---|---:|---:|---:|---:|")

        def row(label: str, res: dict) -> None:
            print(f"| {label} | {res['seconds']:.2f} | {res['cpu_seconds']:.2f} | {res['peak_mb']:.0f} | "
                  f"{pandas_s / res['seconds']:.2f}× |")

        row("`segments --export csv` (CLI, workspace file)", runs["cli"])
        if "before" in runs:
            row(f"same CLI with `{Path(args.compare_exports).name}` (before)", runs["before"])
        row(f"pandas script: read Parquet ({runs['pandas']['load_seconds']:.2f} s), same table, `to_csv`",
            runs["pandas"])
        print()
        ratio = pandas_s / runs["cli"]["seconds"]
        print(f"CLI vs pandas: {ratio:.2f}× (target ≥ {TARGET_CSV_RATIO:.0f}×: "
              f"{'met' if ratio >= TARGET_CSV_RATIO else 'NOT met'}); CSV files: {agreement}"
              + (f"; before vs after: {agreement_before}" if args.compare_exports else ""))
        print()
        print("| workbook | customers | seconds (process) | seconds (export call) | peak MB | MB on disk |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, res in wb_runs.items():
            print(f"| {label} | {res['customers']:,} | {res['seconds']:.2f} | {res['seconds_in_call']:.2f} | "
                  f"{res['peak_mb']:.0f} | {res['bytes'] / 1e6:.1f} |")
        sample = wb_runs["sample store"]["seconds_in_call"]
        print()
        print(f"sample store workbook: {sample:.2f} s (target ≤ {TARGET_SAMPLE_WORKBOOK_S:.0f} s: "
              f"{'met' if sample <= TARGET_SAMPLE_WORKBOOK_S else 'NOT met'})")
    finally:
        if not args.keep:
            shutil.rmtree(base_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
