"""The benchmarks still run and still compare like with like.

Why: `bench/` is not a timed test, but a benchmark that has rotted (a renamed
function, engine and baseline computing different things) reports figures that
mean nothing. These run each script on a tiny input and check that it finishes
and that the engine and its baseline agree.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_segment_benchmark_engine_and_pandas_agree(tmp_path):
    proc = subprocess.run(
        [sys.executable, "bench/bench_segments.py", "--sizes", "20000", "--keep", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "engine and pandas results match" in proc.stdout, proc.stdout
    for label in ("workspace table", "Parquet in place", "customer table into pandas", "pandas groupby"):
        assert label in proc.stdout


def test_optimizer_benchmark_runs():
    proc = subprocess.run([sys.executable, "bench/bench_optimizer.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SLSQP" in proc.stdout
