"""Run every benchmark in one go (``make bench``): each times this product against a baseline in the same run.

Why: performance targets are measured, not asserted in timed tests; this script is the
single command that refreshes the figures quoted in the README. Pass ``--full`` for the
10M-order segmentation run (minutes, about 2 GB of memory) and the 10M-row CLI import.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    full = "--full" in sys.argv[1:]
    sizes = "1000000,10000000" if full else "1000000"
    runs = [
        [sys.executable, str(HERE / "bench_segments.py"), "--sizes", sizes],
        [sys.executable, str(HERE / "bench_optimizer.py")],
        [sys.executable, str(HERE / "bench_charts.py")],
        [sys.executable, str(HERE / "bench_exports.py")],
        [sys.executable, str(HERE / "bench_clv.py"), *(["--lifetimes-full"] if full else [])],
        [sys.executable, str(HERE / "bench_mmm.py")],
        [sys.executable, str(HERE / "bench_import.py"), *(["--cli-rows", "10000000"] if full else [])],
        [sys.executable, str(HERE / "bench_browser.py"), *([] if full else ["--runs", "3"])],
    ]
    status = 0
    for command in runs:
        print("$", " ".join(command[1:]), flush=True)
        status |= subprocess.call(command, cwd=HERE.parent)
    return status


if __name__ == "__main__":
    sys.exit(main())
