"""Benchmark: the marketing-mix model (10 channels × 156 weeks, and Robyn's example file) against a Robyn-style baseline.

Why this exists: issue "channel response from the total outcome" promises a fit "in seconds:
≤ 10 s for 10 channels × 156 weeks on 2 cores" with honest intervals. This script times
``lib.channels.fit_mmm`` (200 bootstrap replicates, intervals included) and, in the same run, a
plain Robyn-style approach written in a few lines: ridge regression with non-negative media
coefficients on the same baseline columns, the per-channel hyperparameters (geometric θ, Hill
α and γ as a share of the largest adstocked spend — Robyn's ranges) drawn at random 2 000 times
(the size of one Nevergrad trial), the model kept that minimises the distance to the origin of
(NRMSE, DECOMP.RSSD) — Robyn's two objectives. The baseline gives point estimates only (Robyn
bootstraps afterwards). Both are scored against the known truth of simulated data.

Timing is wall-clock and CPU seconds in this process (CPU does not depend on what else the
machine is doing; the load average is printed). ``--coverage N`` adds the interval-method study:
N simulated data sets × 5 channels, coverage of the true contribution by 80 % intervals for the
default method (pairs block bootstrap, shapes re-chosen) and three cheaper alternatives.

Usage::

    .venv/bin/python bench/bench_mmm.py [--channels 10] [--weeks 156] [--repeat 1] [--draws 2000]
                                        [--accuracy-seeds 5] [--coverage 0]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from lib import channels
from lib.channels import geometric_adstock, hill

ROOT = Path(__file__).resolve().parent.parent

ROBYN_FILE = ROOT.parent / "shared" / "data" / "robyn" / "robyn_dt_simulated_weekly.csv"
ROBYN_PAID = ["tv_S", "ooh_S", "print_S", "facebook_S", "search_S"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn, repeat: int):
    """Best wall time and mean CPU time over ``repeat`` runs, and the last result."""
    best, cpu_total, result = float("inf"), 0.0, None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), _cpu()
        result = fn()
        best = min(best, time.perf_counter() - t0)
        cpu_total += _cpu() - c0
    return best, cpu_total / repeat, result


# --------------------------------------------------------------------------------------
# Baseline: Robyn's recipe in a few lines
# --------------------------------------------------------------------------------------


def robyn_style(data: channels.MmmData, draws: int = 2000, seed: int = 0,
                festivals: bool = True) -> tuple[dict[str, float], dict[str, float]]:
    """Random search over (θ, α, γ) per channel and the ridge λ, non-negative ridge, Robyn's model pick.

    Every draw is scored on Robyn's two objectives, NRMSE and DECOMP.RSSD (distance between
    effect shares and spend shares); as in Robyn's ``errors_scores`` both are min-max normalised
    over all draws and the model closest to the origin is kept. Returns each channel's
    contribution over the history for that model, and for the lowest-NRMSE draw (fit alone).
    """
    rng = np.random.default_rng(seed)
    b = channels.baseline_matrix(data, festivals, 2)
    q, _ = np.linalg.qr(b)
    y = data.outcome
    y_p = y - q @ (q.T @ y)
    spend = data.spend.to_numpy()
    share = spend.sum(axis=0) / spend.sum()
    n, n_ch = spend.shape
    y_range = y.max() - y.min()
    scores, contribs = np.empty((draws, 2)), np.empty((draws, n_ch))
    for i in range(draws):
        theta = rng.uniform(0.0, 0.8, n_ch)
        alpha = rng.uniform(0.5, 3.0, n_ch)
        gamma = rng.uniform(0.3, 1.0, n_ch)
        lam = 10 ** rng.uniform(-4, -1)  # ridge penalty relative to unit-norm columns
        cols = np.zeros((n, n_ch))
        for c in range(n_ch):
            a = geometric_adstock(spend[:, c], theta[c])
            if a.max() > 0:
                cols[:, c] = hill(a, 1.0, alpha[c], gamma[c] * a.max())
        x_p = cols - q @ (q.T @ cols)
        norms = np.sqrt((x_p**2).sum(axis=0)) + 1e-12
        sd = np.std(y_p)
        aug_x = np.vstack([x_p / norms, np.sqrt(lam) * np.eye(n_ch)])  # unit-norm columns, outcome in sd units
        aug_y = np.concatenate([y_p / sd, np.zeros(n_ch)])
        coef = nnls(aug_x, aug_y)[0] * sd / norms
        resid = y_p - x_p @ coef
        contrib = coef * cols.sum(axis=0)
        effect = contrib / contrib.sum() if contrib.sum() > 0 else np.zeros(n_ch)
        scores[i] = np.sqrt(np.mean(resid**2)) / y_range, np.sqrt(((effect - share) ** 2).sum())
        contribs[i] = contrib
    span = scores.max(axis=0) - scores.min(axis=0)
    normed = (scores - scores.min(axis=0)) / np.where(span > 0, span, 1.0)
    best = int(np.argmin(np.hypot(normed[:, 0], normed[:, 1])))
    fit_only = int(np.argmin(scores[:, 0]))
    return dict(zip(data.channels, contribs[best])), dict(zip(data.channels, contribs[fit_only]))


# --------------------------------------------------------------------------------------
# Scoring against the truth
# --------------------------------------------------------------------------------------


def accuracy(estimates: list[dict[str, float]], truths: list[channels.SimTruth]) -> tuple[float, float, int]:
    """Median |relative error| and share within 20 % over channels with ≥ 10 % of spend."""
    errors = []
    for est, truth in zip(estimates, truths):
        for name, true in truth.contribution.items():
            if truth.share_of_spend[name] >= 0.10:
                errors.append(abs(est[name] / true - 1.0))
    e = np.asarray(errors)
    return float(np.median(e)), float(np.mean(e <= 0.20)), int(e.size)


def coverage_study(seeds: int, n_boot: int) -> list[tuple[str, float, float, float, float]]:
    """Coverage / accuracy / interval width / seconds for the interval methods, on ``seeds`` data sets."""
    methods = [
        ("pairs block bootstrap, shapes re-chosen (default)", {"bootstrap": "pairs", "reselect": True}),
        ("pairs block bootstrap, shapes fixed", {"bootstrap": "pairs", "reselect": False}),
        ("residual block bootstrap, shapes re-chosen", {"bootstrap": "residual", "reselect": True}),
        ("residual block bootstrap, shapes fixed", {"bootstrap": "residual", "reselect": False}),
    ]
    rows = []
    for label, kwargs in methods:
        covered, close, widths, seconds = [], [], [], []
        for seed in range(seeds):
            data, truth = channels.simulate_weekly_data(seed)
            t0 = time.perf_counter()
            fit = channels.fit_mmm(data, n_boot=n_boot, seed=seed, **kwargs)
            seconds.append(time.perf_counter() - t0)
            for name, true in truth.contribution.items():
                r = fit.results[name]
                covered.append(r.contribution_low <= true <= r.contribution_high)
                if truth.share_of_spend[name] >= 0.10:
                    close.append(abs(r.contribution / true - 1) <= 0.2)
                    widths.append((r.contribution_high - r.contribution_low) / true)
        rows.append((label, float(np.mean(covered)), float(np.mean(close)), float(np.median(widths)),
                     float(np.mean(seconds))))
    return rows


def robyn_data() -> channels.MmmData | None:
    if not ROBYN_FILE.exists():
        return None
    frame = pd.read_csv(ROBYN_FILE)
    controls = pd.DataFrame({
        "competitor_sales_B": frame["competitor_sales_B"], "newsletter": frame["newsletter"],
        "event1": (frame["events"] == "event1").astype(float), "event2": (frame["events"] == "event2").astype(float),
    })
    return channels.MmmData(weeks=frame["DATE"], outcome=frame["revenue"], spend=frame[ROBYN_PAID], controls=controls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=10, help="channels in the simulated timing run")
    parser.add_argument("--weeks", type=int, default=156, help="weeks in the simulated timing run")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per measurement (best wall time is kept)")
    parser.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates of fit_mmm")
    parser.add_argument("--draws", type=int, default=2000,
                        help="random hyperparameter draws of the Robyn-style baseline")
    parser.add_argument("--accuracy-seeds", type=int, default=5, help="simulated data sets scored against the truth")
    parser.add_argument("--coverage", type=int, default=0, help="data sets for the interval-method study (0: skip)")
    parser.add_argument("--coverage-boot", type=int, default=100, help="bootstrap replicates in the coverage study")
    args = parser.parse_args(argv)

    load = os.getloadavg()
    print(f"# MMM benchmark — {datetime.now().isoformat(timespec='seconds')}")
    print(f"cores: {os.cpu_count()}  python {platform.python_version()}  numpy {np.__version__}  "
          f"load average: {', '.join(f'{x:.1f}' for x in load)}")
    rows: list[tuple[str, str, float, float, str]] = []

    # ---- simulated: timing and accuracy -------------------------------------------
    data, truth = channels.simulate_weekly_data(0, n_weeks=args.weeks, n_channels=args.channels)
    label = f"simulated {args.channels} ch × {args.weeks} w"
    ours_wall, ours_cpu, fit = timed(lambda: channels.fit_mmm(data, n_boot=args.n_boot), args.repeat)
    point_wall, point_cpu, _ = timed(lambda: channels.fit_mmm(data, n_boot=1), args.repeat)
    base_wall, base_cpu, _ = timed(lambda: robyn_style(data, args.draws), args.repeat)
    ours_est, base_est, nrmse_est, truths = [], [], [], []
    covered = []
    for seed in range(args.accuracy_seeds):
        d, t = channels.simulate_weekly_data(seed, n_weeks=args.weeks, n_channels=args.channels)
        f = fit if seed == 0 else channels.fit_mmm(d, n_boot=args.n_boot, seed=seed)
        ours_est.append({c: f.results[c].contribution for c in d.channels})
        picked, lowest_error = robyn_style(d, args.draws, seed=seed)
        base_est.append(picked)
        nrmse_est.append(lowest_error)
        truths.append(t)
        covered += [f.results[c].contribution_low <= t.contribution[c] <= f.results[c].contribution_high
                    for c in d.channels]
    o_med, o_within, n_big = accuracy(ours_est, truths)
    b_med, b_within, _ = accuracy(base_est, truths)
    n_med, n_within, _ = accuracy(nrmse_est, truths)
    rows.append((label, f"fit_mmm (B={args.n_boot}, intervals)", ours_wall, ours_cpu,
                 f"median error {o_med:.1%}, {o_within:.0%} within 20 % ({n_big} ch), "
                 f"80 % intervals cover {np.mean(covered):.0%}"))
    rows.append((label, f"Robyn-style ridge + {args.draws} random draws", base_wall, base_cpu,
                 f"Robyn's pick (NRMSE + DECOMP.RSSD): median error {b_med:.1%}, {b_within:.0%} within 20 %; "
                 f"lowest-NRMSE draw: {n_med:.1%}, {n_within:.0%} (no intervals)"))
    rows.append((label, "fit_mmm search only (B=1, no intervals)", point_wall, point_cpu,
                 "baseline choice + shape search + one replicate"))

    # ---- Robyn's example file ------------------------------------------------------
    robyn = robyn_data()
    robyn_fit = None
    if robyn is None:
        print(f"(Robyn example not found at {ROBYN_FILE}; skipped)")
    else:
        r_wall, r_cpu, robyn_fit = timed(lambda: channels.fit_mmm(robyn, n_boot=args.n_boot, festivals=False),
                                         args.repeat)
        rb_wall, rb_cpu, _ = timed(lambda: robyn_style(robyn, args.draws, festivals=False), args.repeat)
        rows.append(("Robyn example 5 ch × 208 w", f"fit_mmm (B={args.n_boot}, intervals)", r_wall, r_cpu,
                     f"R² {robyn_fit.r2:.3f}, MAPE {robyn_fit.mape:.1%}"))
        rows.append(("Robyn example 5 ch × 208 w", f"Robyn-style ridge + {args.draws} random draws", rb_wall, rb_cpu,
                     ""))

    print()
    print("| data | method | wall s | CPU s | × ours (wall) | accuracy / fit |")
    print("|---|---|---:|---:|---:|---|")
    first: dict[str, float] = {}
    for what, method, wall, cpu, note in rows:
        ours = first.setdefault(what, wall)
        print(f"| {what} | {method} | {wall:.2f} | {cpu:.2f} | {wall / ours:.1f}× | {note} |")
    print(f"\n10-channel target ≤ 10 s: {'met' if ours_wall <= 10 else 'MISSED'} ({ours_wall:.2f} s wall, "
          f"load average {load[0]:.1f} on {os.cpu_count()} cores). Accuracy over {args.accuracy_seeds} simulated "
          f"data sets; the baseline's point estimates only, Robyn bootstraps afterwards.")

    if robyn_fit is not None:
        print("\nRobyn example, per channel (80 % intervals):\n")
        print("| channel | share of spend | ROI | ROI P10–P90 | marginal ROI | θ |")
        print("|---|---:|---:|---|---:|---:|")
        for name in ROBYN_PAID:
            r = robyn_fit.results[name]
            print(f"| {name} | {r.share_of_spend:.1%} | {r.roi:.2f} | {r.roi_low:.2f}–{r.roi_high:.2f} | "
                  f"{r.marginal_roi:.2f} | {r.theta:.1f} |")
        for code, params in robyn_fit.warnings:
            print(f"- {channels.explain_warning(code, params, 'en')}")

    if args.coverage:
        print(f"\nInterval methods on {args.coverage} simulated data sets × 5 channels (B={args.coverage_boot}; "
              "coverage: 80 % interval contains the true contribution):\n")
        print("| method | coverage | within 20 % (≥10 % spend) | median width / truth | s per fit |")
        print("|---|---:|---:|---:|---:|")
        for label, cov, within, width, secs in coverage_study(args.coverage, args.coverage_boot):
            print(f"| {label} | {cov:.1%} | {within:.1%} | {width:.2f} | {secs:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
