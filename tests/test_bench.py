"""The benchmarks still run and still compare like with like.

Why: `bench/` is not a timed test, but a benchmark that has rotted (a renamed
function, engine and baseline computing different things) reports figures that
mean nothing. These run each script on a tiny input and check that it finishes
and that the engine and its baseline agree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_segment_benchmark_engine_and_pandas_agree(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_segments", "--sizes", "20000", "--keep", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "engine and pandas results match" in proc.stdout, proc.stdout
    for label in ("workspace table", "Parquet in place", "customer table into pandas", "pandas groupby"):
        assert label in proc.stdout


def test_optimizer_benchmark_runs():
    proc = subprocess.run([sys.executable, "-m", "bench.bench_optimizer"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SLSQP" in proc.stdout


def test_clv_benchmark_runs_and_agrees_with_lifetimes_when_present():
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_clv", "--customers", "20000", "--lifetimes-customers", "5000"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "lib.value.clv score_customers" in proc.stdout and "target ≤ 15 s" in proc.stdout
    # lifetimes lives in a separate virtualenv that may be absent (then the run says so)
    assert "results agree" in proc.stdout or "lifetimes not timed" in proc.stdout, proc.stdout


def test_mmm_benchmark_runs_against_its_robyn_style_baseline():
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_mmm", "--channels", "3", "--weeks", "80", "--n-boot", "20",
         "--draws", "100", "--accuracy-seeds", "1", "--coverage", "0", "--repeat", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "fit_mmm" in proc.stdout and "Robyn" in proc.stdout, proc.stdout[-2000:]


def test_exports_benchmark_runs_and_matches_pandas():
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_exports", "--orders", "20000", "--customers", "5000",
         "--workbook-customers", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "CSV files: identical" in proc.stdout, proc.stdout[-2000:]


def test_import_benchmark_runs_and_both_sides_import_every_row(tmp_path):
    out = tmp_path / "import.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_import", "--rows", "20000", "--repeat", "1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["ours"]["rows"] == result["duckdb"]["rows"] == 20000
    assert result["ours"]["rejected"] == 0 and result["time_ratio"] > 0
