"""Benchmark: curve fitting (10 channels × 104 weeks) and allocation (10 channels) against SLSQP.

Why it exists: issue 5 promises curves "fitted in seconds, not hours" and an
allocator "under 200 ms for 10 channels", within 0.5 % of scipy's SLSQP. This
script measures both in one run on synthetic channels with known curves (a mix
of concave and S-shaped, with carry-over), times ``allocate`` against a baseline
(SLSQP started from the equal split, as LightweightMMM and PyMC-Marketing do)
and prints the ratios. Run: ``.venv/bin/python bench/bench_optimizer.py``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib.channels import CurveFit, fit_all, geometric_adstock, hill, usable_curves  # noqa: E402
from lib.optimizer import allocate, min_budget_for_target  # noqa: E402

N_CHANNELS = 10
N_WEEKS = 104
REPEATS = 5


def synthetic_frame(seed: int = 7) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """10 channels × 104 weeks of spend and new customers from known Hill curves with adstock."""
    rng = np.random.default_rng(seed)
    weeks = pd.date_range("2023-01-02", periods=N_WEEKS, freq="7D")
    rows, truth = [], {}
    for i in range(N_CHANNELS):
        name = f"channel_{i:02d}"
        base = rng.uniform(2_000, 40_000)
        spend = base * rng.lognormal(0.0, 0.5, N_WEEKS)
        spend[rng.random(N_WEEKS) < 0.08] = 0.0
        theta = float(rng.choice([0.1, 0.3, 0.5]))
        alpha = float(rng.choice([0.8, 1.0, 1.6, 2.2]))
        adstocked = geometric_adstock(spend, theta)
        gamma = float(rng.uniform(0.4, 0.9) * adstocked.max())
        beta = float(rng.uniform(50, 400))
        response = hill(adstocked, beta, alpha, gamma) * rng.lognormal(0.0, 0.05, N_WEEKS)
        truth[name] = {"theta": theta, "alpha": alpha, "gamma": gamma, "beta": beta}
        rows.append(pd.DataFrame({"channel": name, "week": weeks, "spend": spend, "response": response}))
    return pd.concat(rows, ignore_index=True), truth


def slsqp_allocate(curves: dict[str, CurveFit], budget: float, upper: float) -> tuple[np.ndarray, float]:
    """Baseline: scipy SLSQP from the equal split with the analytic gradient, objective scaled."""
    names = list(curves)
    n = len(names)
    x0 = np.full(n, budget / n)
    scale = max(1.0, sum(float(curves[c].response(v)) for c, v in zip(names, x0)))

    def negative(x: np.ndarray) -> float:
        return -sum(float(curves[c].response(v)) for c, v in zip(names, x)) / scale

    def gradient(x: np.ndarray) -> np.ndarray:
        return -np.array([float(curves[c].marginal(v)) for c, v in zip(names, x)]) / scale

    result = minimize(
        negative,
        x0,
        jac=gradient,
        method="SLSQP",
        bounds=[(0.0, upper)] * n,
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - budget, "jac": lambda x: np.ones(n)}],
        options={"maxiter": 500, "ftol": 1e-12},
    )
    return result.x, -result.fun * scale


T = TypeVar("T")


@dataclass
class Timing:
    wall: float  # best wall-clock seconds over the repeats
    cpu: float  # CPU seconds (user + system, all threads) of that run; independent of machine load


def timed(fn: Callable[[], T], repeats: int = REPEATS) -> tuple[Timing, T]:
    best: Timing | None = None
    out: T | None = None
    for _ in range(repeats):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        out = fn()
        timing = Timing(time.perf_counter() - wall0, time.process_time() - cpu0)
        if best is None or timing.wall < best.wall:
            best = timing
    assert best is not None and out is not None
    return best, out


def row(label: str, timing: Timing, response: float | None = None) -> str:
    value = f"{response:>14,.2f}" if response is not None else " " * 14
    return f"  {label:<44} {timing.wall * 1000:>9.1f} {timing.cpu * 1000:>9.1f} {value}"


def main(argv: list[str] | None = None) -> int:
    print(f"cores: {os.cpu_count()}  load average: {os.getloadavg()[0]:.1f}  "
          f"(CPU ms do not depend on load; wall ms do)")
    frame, truth = synthetic_frame()
    fit_time, fits = timed(lambda: fit_all(frame), repeats=2)
    curves = usable_curves(fits)
    n_s = sum(not c.is_concave for c in curves.values())
    print(f"\nfit_all: {N_CHANNELS} channels × {N_WEEKS} weeks: {fit_time.wall:.2f} s wall, "
          f"{fit_time.cpu:.2f} s CPU ({len(curves)} fitted, {n_s} S-shaped)")
    for name, fit in fits.items():
        c = fit.curve
        if c is not None:
            print(f"  {name}: {c.family:<16} θ={c.theta:.2f} (true {truth[name]['theta']:.2f})  R²={c.r2:.3f}")

    historical = {name: float(frame.loc[frame.channel == name, "spend"].mean()) for name in curves}
    budget = sum(historical.values())
    upper = 3.0 * max(historical.values())
    concave = {n: c for n, c in curves.items() if c.is_concave}
    concave_budget = sum(historical[n] for n in concave)
    print(f"\nallocate: weekly budget {budget:,.0f}, at most {upper:,.0f} per channel")
    print(f"  {'':<44} {'wall ms':>9} {'CPU ms':>9} {'response':>14}")
    ours_time, ours = timed(lambda: allocate(curves, budget, upper=upper))
    base_time, (_, base_y) = timed(lambda: slsqp_allocate(curves, budget, upper))
    print(row(f"ours, {len(curves)} channels ({ours.method})", ours_time, ours.total_response))
    print(row("baseline: SLSQP from the equal split", base_time, base_y))
    print(f"  ratio ours / SLSQP: wall {ours_time.wall / base_time.wall:.2f}×, CPU {ours_time.cpu / base_time.cpu:.2f}×, "
          f"response {ours.total_response / base_y:.5f}")
    c_time, c_ours = timed(lambda: allocate(concave, concave_budget, upper=upper))
    cs_time, (_, cs_y) = timed(lambda: slsqp_allocate(concave, concave_budget, upper))
    print(row(f"ours, the {len(concave)} concave channels ({c_ours.method})", c_time, c_ours.total_response))
    print(row("baseline: SLSQP from the equal split", cs_time, cs_y))
    print(f"  ratio ours / SLSQP: wall {c_time.wall / cs_time.wall:.2f}×, CPU {c_time.cpu / cs_time.cpu:.2f}×, "
          f"response {c_ours.total_response / cs_y:.5f}")

    target = 1.1 * ours.total_response
    mb_time, mb = timed(lambda: min_budget_for_target(curves, target, upper=upper), repeats=2)
    print(f"\nmin_budget_for_target(+10% response = {target:,.2f}): budget {mb.total_budget:,.0f} "
          f"(+{mb.total_budget / budget - 1:.1%}) in {mb_time.wall * 1000:.0f} ms wall, {mb_time.cpu * 1000:.0f} ms CPU")

    ok = ours_time.cpu < 0.2 and ours.total_response >= base_y * 0.995 and fit_time.cpu < 5
    print("\nPASS" if ok else "\nFAIL", "(allocate < 200 ms CPU, within 0.5 % of SLSQP, fit_all < 5 s CPU)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
