"""Benchmark: predicted customer value (lib.value.score_customers, the BG/NBD + Gamma-Gamma models of lib/value/clv.py) on a million customers, against the
``lifetimes`` package doing the same fits and predictions, in the same run.

Why this exists: the value page promises P(alive), expected purchases, spend, CLV and tiers for a
million customers in at most 15 s and 2 GB on 2 cores, and results equal to lifetimes'. This script
simulates a lifetimes-style summary from BG/NBD and Gamma-Gamma with CDNOW-like parameters
(customers acquired over two years, whole purchase days, as a real summary has), then times:

* ``score_customers`` — both fits and every column of the value page (P(alive), expected purchases
  at 90 and 365 days, expected spend, discounted CLV at both horizons, next-purchase window, tiers);
* the same four steps lifetimes is timed on (BG/NBD fit, Gamma-Gamma fit, 90-day conditional expected
  purchases, P(alive)) with lib.value.clv's functions, on all customers and on lifetimes' sample;
* lifetimes 0.11.3 (``BetaGeoFitter`` + ``GammaGammaFitter`` fits,
  ``conditional_expected_number_of_purchases_up_to_time(90, …)``, ``conditional_probability_alive``)
  on the first ``--lifetimes-customers`` customers (a random sample: rows are independent), or on all
  of them with ``--lifetimes-full``. lifetimes does not install next to numpy 2 / pandas 3, so it runs
  under another interpreter (``--lifetimes-python``); without it the run says so and goes on::

      python3 -m venv /tmp/lifetimes-venv
      /tmp/lifetimes-venv/bin/pip install lifetimes==0.11.3 "numpy<2" "pandas<2" "scipy<1.12"

Every measurement runs in a fresh subprocess so its peak memory is its own: the worker reports its
peak resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, whole process) and the
peak right after imports, as bench_segments.py does (the parent's RUSAGE_CHILDREN figure is a
maximum over every child, generator included, so it cannot tell runs apart). Data generation runs in
its own subprocess too. CPU seconds (user + system, all threads) are shown beside wall time, since
they do not depend on what else the machine is doing. Parameters and totals of lib.value.clv and lifetimes
on the same sample are cross-checked.

Usage::

    .venv/bin/python bench/bench_clv.py [--customers 1000000] [--lifetimes-customers 100000 | --lifetimes-full]
                                         [--lifetimes-python /tmp/lifetimes-venv/bin/python] [--repeat 1] [--keep DIR]
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
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

# lifetimes' fit of CDNOW (shared/data/cdnow/lifetimes_bgnbd_gg_fit.json), rounded
BGNBD_TRUTH = {"r": 0.267, "alpha": 41.9, "a": 0.484, "b": 2.11}
GAMMA_GAMMA_TRUTH = {"p": 5.09, "q": 4.0, "v": 21.3}
ACQUISITION_DAYS = (30, 730)  # customers' age T at the as-of date, whole days
DEFAULT_LIFETIMES_PYTHON = "/tmp/lifetimes-venv/bin/python"
TARGET_SECONDS, TARGET_MB = 15.0, 2048.0
COLUMNS = ("frequency", "recency", "T", "monetary_value")


# --------------------------------------------------------------------------------------
# Workers (run in subprocesses; the lifetimes worker under lifetimes' own interpreter)
# --------------------------------------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def generate(n: int, path: Path, seed: int) -> None:
    """Simulate ``n`` customers (lib.value.simulate_bgnbd, whole days) and save the summary columns."""
    from lib.value import simulate_bgnbd

    rng = np.random.default_rng(seed)
    frame = simulate_bgnbd(rng.integers(ACQUISITION_DAYS[0], ACQUISITION_DAYS[1] + 1, n), **BGNBD_TRUTH,
                           gamma_gamma=GAMMA_GAMMA_TRUTH, whole_days=True, seed=rng)
    np.savez(path, **{c: frame[c].to_numpy(np.float64) for c in COLUMNS})


def _load(path: str, n: int | None) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {c: data[c][:n] for c in COLUMNS}


def _timed(work, repeat: int) -> tuple[float, float, object]:
    best, result, cpu0 = float("inf"), None, _cpu()
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - t0)
    return best, (_cpu() - cpu0) / repeat, result


def worker_score(path: str, n: int | None, repeat: int) -> dict:
    """lib.value.clv.score_customers on the summary: every column of the value page."""
    import pandas as pd

    from lib import value

    data = _load(path, n)
    summary = pd.DataFrame({"customer_id": np.arange(len(data["T"])), **data})
    baseline = _rss_mb()
    seconds, cpu, result = _timed(lambda: value.score_customers(summary), repeat)
    scores = result.customers
    return {"seconds": seconds, "cpu_seconds": cpu, "baseline_mb": baseline, "peak_mb": _rss_mb(),
            "customers": len(scores), "patterns": result.bgnbd.n_patterns,
            "bgnbd": {k: getattr(result.bgnbd, k) for k in BGNBD_TRUTH},
            "gamma_gamma": {k: getattr(result.gamma_gamma, k) for k in GAMMA_GAMMA_TRUTH},
            "sum_expected_90": float(scores["expected_purchases_90"].sum()),
            "mean_p_alive": float(scores["p_alive"].mean())}


def worker_ours_like_lifetimes(path: str, n: int | None, repeat: int) -> dict:
    """lib.value.clv doing exactly lifetimes' four steps, per customer (no pattern mapping)."""
    from lib import value

    data = _load(path, n)
    x, t_x, T, m = (data[c] for c in COLUMNS)
    baseline = _rss_mb()

    def work():
        bg = value.fit_bgnbd(x, t_x, T)
        gg = value.fit_gamma_gamma(x, m)
        return bg, gg, value.expected_purchases(bg, 90, x, t_x, T), value.p_alive(bg, x, t_x, T)

    seconds, cpu, (bg, gg, expected, alive) = _timed(work, repeat)
    return {"seconds": seconds, "cpu_seconds": cpu, "baseline_mb": baseline, "peak_mb": _rss_mb(),
            "customers": len(T), "bgnbd": {k: getattr(bg, k) for k in BGNBD_TRUTH},
            "gamma_gamma": {k: getattr(gg, k) for k in GAMMA_GAMMA_TRUTH},
            "sum_expected_90": float(expected.sum()), "mean_p_alive": float(alive.mean())}


def worker_lifetimes(path: str, n: int | None, repeat: int) -> dict:
    """lifetimes 0.11.3: both fits, 90-day conditional expected purchases and P(alive)."""
    import warnings

    import lifetimes
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    warnings.simplefilter("ignore")
    data = _load(path, n)
    frame = pd.DataFrame(data)
    baseline = _rss_mb()

    def work():
        bg = BetaGeoFitter().fit(frame["frequency"], frame["recency"], frame["T"])
        spenders = frame[(frame["frequency"] > 0) & (frame["monetary_value"] > 0)]
        gg = GammaGammaFitter().fit(spenders["frequency"], spenders["monetary_value"])
        expected = bg.conditional_expected_number_of_purchases_up_to_time(
            90, frame["frequency"], frame["recency"], frame["T"])
        alive = bg.conditional_probability_alive(frame["frequency"], frame["recency"], frame["T"])
        return bg, gg, expected, alive

    seconds, cpu, (bg, gg, expected, alive) = _timed(work, repeat)
    return {"seconds": seconds, "cpu_seconds": cpu, "baseline_mb": baseline, "peak_mb": _rss_mb(),
            "customers": len(frame), "version": lifetimes.__version__,
            "bgnbd": {k: float(bg.params_[k]) for k in BGNBD_TRUTH},
            "gamma_gamma": {k: float(gg.params_[k]) for k in GAMMA_GAMMA_TRUTH},
            "sum_expected_90": float(np.sum(expected)), "mean_p_alive": float(np.mean(alive))}


WORKERS = {"score": worker_score, "like-lifetimes": worker_ours_like_lifetimes, "lifetimes": worker_lifetimes}


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


def run_worker(python: str, kind: str, path: Path, n: int | None, repeat: int) -> dict:
    cmd = [python, "-m", "bench.bench_clv", "--worker", kind, "--path", str(path), "--repeat", str(repeat)]
    if n is not None:
        cmd += ["--rows", str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def lifetimes_available(python: str) -> str | None:
    """None when ``python`` can import lifetimes, else the reason it cannot."""
    if not Path(python).exists():
        return f"no interpreter at {python}"
    proc = subprocess.run([python, "-c", "import lifetimes"], capture_output=True, text=True, check=False)
    return None if proc.returncode == 0 else f"{python} cannot import lifetimes ({proc.stderr.strip()[-200:]})"


def agreement(ours: dict, theirs: dict) -> tuple[bool, float]:
    """Largest relative difference over parameters and totals, and whether it is within 1e-3."""
    pairs = [(ours[m][k], theirs[m][k]) for m in ("bgnbd", "gamma_gamma") for k in ours[m]]
    pairs += [(ours[k], theirs[k]) for k in ("sum_expected_90", "mean_p_alive")]
    worst = max(abs(a - b) / abs(b) for a, b in pairs)
    return worst < 1e-3, worst


def print_table(rows: list[tuple[str, dict]], reference: dict) -> None:
    """Markdown table; ×ours compares seconds per customer with the first row's."""
    per_customer = reference["seconds"] / reference["customers"]
    print("| run | customers | seconds | CPU s | peak MB | after imports MB | µs / customer | × ours per customer |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, res in rows:
        us = res["seconds"] / res["customers"] * 1e6
        print(f"| {label} | {res['customers']:,} | {res['seconds']:.2f} | {res['cpu_seconds']:.2f} | "
              f"{res['peak_mb']:.0f} | {res['baseline_mb']:.0f} | {us:.2f} | "
              f"{res['seconds'] / res['customers'] / per_customer:.1f}× |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers to simulate and score")
    parser.add_argument("--lifetimes-customers", type=int, default=100_000,
                        help="customers lifetimes is timed on (the first N of the same data)")
    parser.add_argument("--lifetimes-full", action="store_true", help="time lifetimes on every customer")
    parser.add_argument("--lifetimes-python", default=DEFAULT_LIFETIMES_PYTHON,
                        help="an interpreter that can import lifetimes 0.11.3")
    parser.add_argument("--skip-lifetimes", action="store_true", help="time lib.value.clv only")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per measurement (best is kept)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", default=None, help="folder to keep (and reuse) the simulated summary")
    parser.add_argument("--worker", choices=[*WORKERS, "generate"], help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker == "generate":
        generate(args.rows, Path(args.path), args.seed)
        return 0
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.path, args.rows, args.repeat)))
        return 0

    import scipy

    n = args.customers
    sample = n if args.lifetimes_full else min(args.lifetimes_customers, n)
    base_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_clv_"))
    path = base_dir / f"summary_{n}_{args.seed}.npz"
    print(f"date: {datetime.now().isoformat(timespec='seconds')}  cores: {os.cpu_count()}  "
          f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}  python {sys.version.split()[0]}  "
          f"numpy {np.__version__}  scipy {scipy.__version__}")
    print("memory: peak resident set size of each measuring subprocess (resource.getrusage ru_maxrss)")
    try:
        if not path.exists():
            base_dir.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bench.bench_clv", "--worker", "generate", "--rows", str(n),
                            "--path", str(path), "--seed", str(args.seed)], check=True, cwd=ROOT)
            print(f"simulated {n:,} customers (BG/NBD {BGNBD_TRUTH}, Gamma-Gamma {GAMMA_GAMMA_TRUTH}, "
                  f"T {ACQUISITION_DAYS[0]}–{ACQUISITION_DAYS[1]} days, whole days) in {time.perf_counter() - t0:.1f} s")
        print(f"measuring (load average {os.getloadavg()[0]:.1f})", flush=True)
        score = run_worker(sys.executable, "score", path, n, args.repeat)
        rows = [("lib.value.clv score_customers (every column of the value page)", score),
                ("lib.value.clv, lifetimes' four steps", run_worker(sys.executable, "like-lifetimes", path, n, args.repeat))]
        ok = score["seconds"] <= TARGET_SECONDS and score["peak_mb"] <= TARGET_MB
        print(f"{n:,} customers, {score['patterns']:,} distinct (x, t_x, T) patterns; fitted BG/NBD "
              f"{ {k: round(v, 4) for k, v in score['bgnbd'].items()} }, Gamma-Gamma "
              f"{ {k: round(v, 4) for k, v in score['gamma_gamma'].items()} }")
        print(f"target ≤ {TARGET_SECONDS:g} s and ≤ {TARGET_MB:g} MB: {'met' if ok else 'NOT met'} "
              f"({score['seconds']:.2f} s, {score['peak_mb']:.0f} MB)")
        reason = "--skip-lifetimes" if args.skip_lifetimes else lifetimes_available(args.lifetimes_python)
        if reason:
            print(f"lifetimes not timed: {reason}")
        else:
            ours = run_worker(sys.executable, "like-lifetimes", path, sample, args.repeat)
            if sample != n:
                rows.append(("lib.value.clv, lifetimes' four steps (lifetimes' sample)", ours))
            theirs = run_worker(args.lifetimes_python, "lifetimes", path, sample, args.repeat)
            rows.append((f"lifetimes {theirs['version']}: the four steps", theirs))
            same, worst = agreement(ours, theirs)
            print(f"lib.value.clv and lifetimes on the same {sample:,} customers: results "
                  f"{'agree' if same else 'DIFFER'} (largest relative difference in parameters, 90-day total "
                  f"and mean P(alive): {worst:.1e}); lifetimes per customer is "
                  f"{theirs['seconds'] / ours['seconds']:.1f}× lib.value.clv's time on the same rows")
        print()
        print_table(rows, rows[1][1])
        print("\n(× ours per customer: seconds per customer relative to lib.value.clv doing lifetimes' four steps on all "
              "customers. lifetimes' fit is per customer; lib.value.clv fits on distinct patterns.)")
    finally:
        if not args.keep:
            shutil.rmtree(base_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
