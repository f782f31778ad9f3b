"""Run every benchmark in one go (``make bench``): each times this product against a baseline in the same run.

Why: performance targets are measured, not asserted in timed tests; this script is the
single command that refreshes the figures quoted in the README (``python -m bench.run_all``;
each script runs as a module from the repository root, as ``python -m bench.bench_x``). Pass ``--full`` for the
10M-order segmentation run (minutes, about 2 GB of memory) and the 10M-row CLI import.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    full = "--full" in sys.argv[1:]
    sizes = "1000000,10000000" if full else "1000000"
    runs = [
        [sys.executable, "-m", "bench.bench_segments", "--sizes", sizes],
        [sys.executable, "-m", "bench.bench_optimizer"],
        [sys.executable, "-m", "bench.bench_charts"],
        [sys.executable, "-m", "bench.bench_exports"],
        [sys.executable, "-m", "bench.bench_clv", *(["--lifetimes-full"] if full else [])],
        [sys.executable, "-m", "bench.bench_mmm"],
        [sys.executable, "-m", "bench.bench_import", *(["--cli-rows", "10000000"] if full else [])],
        [sys.executable, "-m", "bench.bench_browser", *([] if full else ["--runs", "3"])],
    ]
    status = 0
    for command in runs:
        print("$ python", " ".join(command[1:]), flush=True)
        status |= subprocess.call(command, cwd=ROOT)  # modules resolve from the root
    return status


if __name__ == "__main__":
    sys.exit(main())
