"""Benchmark: segmentation (all tiers + R/F/M scores + segments at one as-of date) with the DuckDB engine,
against a straightforward pandas groupby of the same table, in the same run.

Why this exists: the segment page must answer in about a second on tens of millions
of orders (issue 3 target: 10M orders in < 2 s on 2 cores, ≥ 5× faster than
pandas, peak memory < 2 GB). This script generates synthetic orders with numpy,
writes them as Parquet into a temporary folder (and imports them into a DuckDB
file shaped like the workspace), and runs every measurement in a fresh
subprocess so that its peak memory is its own. The engine is timed three ways:
from the workspace table (the normal case after an import), reading the Parquet
file in place (orders too big to import), and fetching the whole per-customer
table into pandas (what an export of everything costs).

Memory is the subprocess's peak resident set size from ``resource.getrusage``
(``ru_maxrss``, whole process: Python, libraries and data), with the peak after
imports (before any work) shown for reference. Data generation also runs in its
own subprocess: Linux carries ``ru_maxrss`` across ``exec``, so a big parent
would otherwise inflate every child's figure. Besides wall-clock seconds the
table shows CPU seconds (user + system, all threads) per run, which do not
depend on what else the machine is doing; on an idle machine with N cores the
engine's wall time is at least CPU / N.

Usage::

    .venv/bin/python bench/bench_segments.py --sizes 1000000,10000000 [--repeat 3] [--keep DIR]

The engine and pandas results are cross-checked (tier and segment counts must match).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

HISTORY_DAYS = 730
ENGINE_RUNS = {
    "cube-table": "engine: all tiers + scores (workspace table)",
    "cube-parquet": "engine: all tiers + scores (Parquet in place)",
    "customers": "engine: customer table into pandas (Parquet)",
}
END_DAY = date(2024, 6, 30)


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def generate(n_rows: int, folder: Path, seed: int = 42) -> Path:
    """Write ``n_rows`` synthetic orders (orders-table columns) to ``folder/orders.parquet``.

    About 8 orders per customer on average with a heavy-tailed spread (many
    one-time buyers, a few very frequent ones), customers acquired over two
    years, 2% refunds (negative amounts), 3% guest orders without a customer id.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    n_customers = max(1000, n_rows // 8)
    weights = rng.lognormal(mean=0.0, sigma=1.3, size=n_customers)
    weights /= weights.sum()
    customer = rng.choice(n_customers, size=n_rows, p=weights)
    acquired = rng.integers(0, HISTORY_DAYS, size=n_customers)
    first = acquired[customer]
    day = first + np.floor(rng.random(n_rows) * (HISTORY_DAYS - first)).astype(np.int64)
    start = np.datetime64(END_DAY - timedelta(days=HISTORY_DAYS - 1), "s")
    seconds = rng.integers(0, 86400, size=n_rows)
    order_ts = start + day.astype("timedelta64[D]") + seconds.astype("timedelta64[s]")
    amount = np.round(rng.lognormal(mean=4.0, sigma=0.8, size=n_rows), 2)
    is_refund = rng.random(n_rows) < 0.02
    amount = np.where(is_refund, -amount, amount)
    guest = rng.random(n_rows) < 0.03

    order = np.argsort(order_ts, kind="stable")  # exports are usually in time order
    ids = pc.binary_join_element_wise(
        "C", pc.utf8_lpad(pc.cast(pa.array(customer[order]), pa.string()), 9, "0"), ""
    )
    ids = pc.if_else(pa.array(guest[order]), pa.scalar(None, pa.string()), ids)
    table = pa.table(
        {
            "order_id": pc.cast(pa.array(np.arange(n_rows)), pa.string()),
            "customer_id": ids,
            "order_ts": pa.array(order_ts[order]),
            "amount": pa.array(amount[order]),
            "is_refund": pa.array(is_refund[order]),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "orders.parquet"
    pq.write_table(table, path, row_group_size=1_000_000)
    return path


# --------------------------------------------------------------------------------------
# Workers (run in subprocesses)
# --------------------------------------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _counts(frame, column: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in frame[column].value_counts().items() if v}


def workspace_copy(parquet: Path) -> Path:
    """The same orders imported into a DuckDB file shaped like the workspace's ``orders`` table (made once)."""
    import duckdb

    path = parquet.with_name("workspace-v2.duckdb")  # v2: the schema with channel and original_order_id
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        con = duckdb.connect(str(tmp))
        con.execute(
            "CREATE TABLE orders AS SELECT 1 AS dataset_id, order_id, customer_id, order_ts, amount, "
            "CAST(NULL AS VARCHAR) AS channel, is_refund, CAST(NULL AS VARCHAR) AS original_order_id "
            "FROM read_parquet($path)",
            {"path": str(parquet)},
        )
        con.close()
        tmp.rename(path)
    return path


def worker_engine(path: str, as_of: date, repeat: int, what: str) -> dict:
    """Time one engine measurement; ``what`` is ``cube-table``, ``cube-parquet`` or ``customers``.

    ``cube-*``: every customer's bands, tags, tier, R/F/M scores and segment are
    computed and counted per (tier, segment, R, F, M score) inside DuckDB, from
    the workspace table or from the Parquet file in place. ``customers``: the same
    classification fetched as a pandas frame of one row per customer.
    """
    import duckdb

    from lib import segments as S

    settings = S.SegmentSettings()
    if what == "cube-table":
        con = duckdb.connect(str(workspace_copy(Path(path))), read_only=True)
        source = S.OrderSource.for_dataset(1)
    else:
        con = duckdb.connect()
        source = S.OrderSource.parquet(path)
    sql, params = S.classified_query(source, settings, as_of)
    cube = f"""SELECT tier, segment, r_score, f_score, m_score, count(*) AS customers
               FROM ({sql}) AS c GROUP BY ALL"""
    baseline = _rss_mb()
    best = float("inf")
    result = None
    cpu0 = _cpu()
    for _ in range(repeat):
        t0 = time.perf_counter()
        if what == "customers":
            result = S.segment_customers(con, source, settings, as_of)
        else:
            result = S.run_query(con, cube, params)
        best = min(best, time.perf_counter() - t0)
    cpu = (_cpu() - cpu0) / repeat
    out = {"seconds": best, "cpu_seconds": cpu, "baseline_mb": baseline, "peak_mb": _rss_mb()}
    if what == "customers":
        out.update(customers=len(result), tiers=_counts(result, "tier"), segments=_counts(result, "segment"))
    else:
        def totals(column: str) -> dict[str, int]:
            sums = result.groupby(column, observed=True)["customers"].sum()
            return {str(k): int(v) for k, v in sums.items() if v}

        out.update(customers=int(result["customers"].sum()), tiers=totals("tier"), segments=totals("segment"))
    return out


def _rank_quintile(values: np.ndarray) -> np.ndarray:
    """1 + floor(5 · (rank − 1) / n) with equal values sharing their lowest rank (SQL ``RANK()``)."""
    import pandas as pd

    ranks = pd.Series(values).rank(method="min").to_numpy()
    return (1 + np.floor(5.0 * (ranks - 1) / len(values))).astype(np.int64)


def pandas_ledger(df):
    """lib.metrics' ledger, the obvious pandas way: purchases net of the refunds of exactly their amount, then the rest."""
    import pandas as pd

    purchases = df[~df["is_refund"]].copy()
    refunds = df[df["is_refund"]].copy()
    purchases["cents"] = (purchases["amount"] * 100).round()
    refunds["cents"] = (-refunds["amount"] * 100).round()
    pairs = refunds.reset_index().merge(purchases.reset_index(), on=["customer_id", "cents"], suffixes=("_r", "_p"))
    pairs = pairs[pairs["order_ts_p"] <= pairs["order_ts_r"]]
    pairs = pairs.sort_values(["order_ts_p", "order_id_p"]).drop_duplicates("index_r", keep="last")
    refunded = pairs.groupby("index_p")["amount_r"].sum()
    purchases["net"] = purchases["amount"] + refunded.reindex(purchases.index).fillna(0.0)
    purchases["is_order"] = purchases["net"].round(2) > 0
    unmatched = refunds.drop(index=pairs["index_r"])
    unmatched = unmatched.assign(net=unmatched["amount"], is_order=False)
    columns = ["customer_id", "order_ts", "net", "is_order"]
    return pd.concat([purchases[columns], unmatched[columns]], ignore_index=True)


def pandas_segmentation(df, as_of: date, window_days: int = 365):
    """The same tiers, scores and segments as lib.segments, written the obvious pandas way."""
    import pandas as pd

    from lib import segments as S

    before = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    window_start = before - pd.Timedelta(days=window_days)
    ledger = pandas_ledger(df[df["customer_id"].notna()])
    p = ledger[ledger["order_ts"] < before]
    orders = p[p["is_order"]].groupby("customer_id")
    base = pd.DataFrame(
        {
            "first_order": orders["order_ts"].min(),
            "last_order": orders["order_ts"].max(),
            "orders": orders.size(),
            "revenue": p.groupby("customer_id")["net"].sum().round(6),
        }
    ).dropna(subset=["orders"])
    in_window = p[p["order_ts"] >= window_start]
    w = pd.DataFrame({"size": in_window[in_window["is_order"]].groupby("customer_id").size(),
                      "sum": in_window.groupby("customer_id")["net"].sum()})
    base["orders"] = base["orders"].astype("int64")
    base["window_orders"] = w["size"].reindex(base.index).fillna(0).astype("int64")
    base["window_revenue"] = w["sum"].reindex(base.index).fillna(0.0).round(6)
    days = (pd.Timestamp(as_of) - base["last_order"].dt.normalize()).dt.days.to_numpy()
    base["days_since_last_order"] = days
    th = S.Thresholds()
    buyers = base.loc[base["window_orders"] > 0, "window_revenue"]
    m_mid, m_high = (buyers.quantile([1 / 3, 2 / 3]).tolist() if len(buyers) else [np.nan, np.nan])
    wo, wr = base["window_orders"].to_numpy(), base["window_revenue"].to_numpy()
    r_band = np.select([days <= th.recent_max_days, days <= th.lapsing_max_days], ["recent", "middle"], "lapsed")
    f_band = np.select([wo >= th.f_high_min, wo >= th.f_mid_min], ["high", "mid"], "low")
    m_band = np.select([(wo > 0) & (wr >= m_high), (wo > 0) & (wr >= m_mid)], ["high", "mid"], "low")
    recent = days <= th.recent_max_days
    tag_high = (r_band == "recent") & (f_band == "high") & (m_band == "high") & (base["revenue"].to_numpy() > 0) & (wr > 0)
    tag_new = (base["orders"].to_numpy() == 1) & recent
    base["tier"] = np.select(
        [tag_high, tag_new, recent, days <= th.lapsing_max_days],
        ["high_value", "new", "active", "lapsing"],
        "dormant",
    )
    scores = {}
    for name, key in (("r", -days), ("f", base["orders"].to_numpy()), ("m", base["revenue"].to_numpy())):
        scores[name] = _rank_quintile(key)
        base[f"{name}_score"] = scores[name]
    grid = S.grid_list(S.DEFAULT_GRID)
    base["segment"] = np.asarray(grid, dtype=object)[(scores["r"] - 1) * 5 + scores["f"] - 1]
    base["r_band"], base["f_band"], base["m_band"] = r_band, f_band, m_band
    return base.reset_index()


def worker_pandas(path: str, as_of: date, repeat: int) -> dict:
    import pandas as pd

    baseline = _rss_mb()
    t0 = time.perf_counter()
    df = pd.read_parquet(path, columns=["order_id", "customer_id", "order_ts", "amount", "is_refund"])
    load = time.perf_counter() - t0
    best = float("inf")
    result = None
    cpu0 = _cpu()
    for _ in range(repeat):
        t1 = time.perf_counter()
        result = pandas_segmentation(df, as_of)
        best = min(best, time.perf_counter() - t1)
    return {
        "seconds": best,
        "cpu_seconds": (_cpu() - cpu0) / repeat,
        "load_seconds": load,
        "baseline_mb": baseline,
        "peak_mb": _rss_mb(),
        "customers": len(result),
        "tiers": _counts(result, "tier"),
        "segments": _counts(result, "segment"),
    }


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


def run_worker(kind: str, path: Path, as_of: date, repeat: int) -> dict:
    cmd = [sys.executable, "-m", "bench.bench_segments", "--worker", kind, "--path", str(path),
           "--as-of", as_of.isoformat(), "--repeat", str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated order counts")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per measurement (best is kept)")
    parser.add_argument("--keep", default=None, help="folder to keep (and reuse) the generated Parquet files")
    parser.add_argument("--skip-pandas", action="store_true", help="time the engine only")
    parser.add_argument("--worker", choices=[*ENGINE_RUNS, "pandas", "generate"], help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker == "generate":
        parquet = Path(args.path) / "orders.parquet"
        if not parquet.exists():
            parquet = generate(args.rows, Path(args.path))
        workspace_copy(parquet)
        return 0
    if args.worker:
        as_of = date.fromisoformat(args.as_of)
        if args.worker == "pandas":
            out = worker_pandas(args.path, as_of, args.repeat)
        else:
            out = worker_engine(args.path, as_of, args.repeat, args.worker)
        print(json.dumps(out))
        return 0

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    base_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_segments_"))
    import duckdb

    print(f"cores: {os.cpu_count()}  duckdb {duckdb.__version__}  python {sys.version.split()[0]}  "
          f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("memory: peak resident set size of each measuring subprocess (resource.getrusage ru_maxrss)")
    rows = []
    try:
        for n in sizes:
            folder = base_dir / f"orders_{n}"
            path = folder / "orders.parquet"
            if not path.exists() or not (folder / "workspace.duckdb").exists():
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "bench.bench_segments", "--worker", "generate",
                                "--rows", str(n), "--path", str(folder)], check=True)
                print(f"generated {n:,} orders in {time.perf_counter() - t0:.1f} s "
                      f"({path.stat().st_size / 1e6:.0f} MB Parquet, also imported into a DuckDB file)")
            as_of = END_DAY
            print(f"{n:,} orders: measuring (load average {os.getloadavg()[0]:.1f})", flush=True)
            measured = {kind: run_worker(kind, path, as_of, args.repeat) for kind in ENGINE_RUNS}
            for kind, label in ENGINE_RUNS.items():
                rows.append((n, label, measured[kind]))
            engine = measured["cube-table"]
            if not args.skip_pandas:
                pandas = run_worker("pandas", path, as_of, args.repeat)
                rows.append((n, "pandas groupby (compute only)", pandas))
                same = all(engine["tiers"] == m["tiers"] == pandas["tiers"]
                           and engine["segments"] == m["segments"] == pandas["segments"] for m in measured.values())
                total = pandas["seconds"] + pandas["load_seconds"]
                print(f"{n:,} orders: {engine['customers']:,} customers; engine and pandas results "
                      f"{'match' if same else 'DIFFER'}; pandas load {pandas['load_seconds']:.2f} s; "
                      f"ratio pandas/engine (workspace table): {pandas['seconds'] / engine['seconds']:.1f}× "
                      f"compute only, {total / engine['seconds']:.1f}× including pandas' Parquet load; "
                      f"Parquet in place: {pandas['seconds'] / measured['cube-parquet']['seconds']:.1f}×")
                if not same:
                    print("  engine tiers:", engine["tiers"], "\n  pandas tiers:", pandas["tiers"])
        print()
        header = (f"{'orders':>12}  {'method':<46} {'seconds':>8} {'×engine':>8} {'CPU s':>7} {'×engine':>8} "
                  f"{'peak MB':>8} {'idle MB':>8}")
        print(header)
        print("-" * len(header))
        engine_time: dict[int, tuple[float, float]] = {}
        for n, label, res in rows:
            if label == ENGINE_RUNS["cube-table"]:
                engine_time[n] = (res["seconds"], res["cpu_seconds"])
            wall, cpu = engine_time[n]
            print(f"{n:>12,}  {label:<46} {res['seconds']:>8.2f} {res['seconds'] / wall:>7.1f}× "
                  f"{res['cpu_seconds']:>7.2f} {res['cpu_seconds'] / cpu:>7.1f}× {res['peak_mb']:>8.0f} "
                  f"{res['baseline_mb']:>8.0f}")
        print("(×engine: relative to the first row of each size. The pandas row excludes its Parquet load;\n"
              " every engine row includes reading its source.)")
    finally:
        if not args.keep:
            shutil.rmtree(base_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
