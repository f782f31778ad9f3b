"""Fitting the marketing-mix model by variable projection: the baseline's form and every channel's shape.

Why a module of its own: the point fit and every bootstrap replicate
(:mod:`lib.channels.intervals`) solve the same problem — with the baseline columns projected
out, non-negative media coefficients by NNLS and each channel's adstock × saturation shape by
coordinate descent over the candidate grid (:mod:`lib.channels.design`). The baseline's form
(Fourier order, multiplicative seasonality, trend degree) is chosen by BIC on a coarse grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import qr, solve_triangular
from scipy.optimize import nnls

from lib.channels.design import (
    K_MULTIPLES,
    START_ALPHA,
    Array,
    Baseline,
    Candidates,
    MmmData,
    candidates_for,
    controls_array,
    make_baseline,
    matmul_chunked,
    project,
    start_index,
    subset,
)

# Baseline candidates (Fourier order, multiplicative seasonality, trend degree); BIC picks one.
BASELINE_SPECS: tuple[tuple[int, bool, int], ...] = tuple(
    (k, mult, deg) for k in (2, 3, 4) for mult in (False, True) for deg in (1, 2))
MAX_SWEEPS = 8


def solve_nnls(x: Array, y: Array) -> tuple[Array, float]:
    """Non-negative least squares; returns coefficients and the residual sum of squares."""
    coef, rnorm = nnls(x, y, maxiter=50 * max(x.shape[1], 1))
    return coef, float(rnorm) ** 2


def select_shapes(cands: Sequence[Candidates], y_p: Array, start: Array, sweeps: int) -> tuple[Array, Array, float]:
    """Coordinate descent over channels: each channel in turn takes the shape with the lowest RSS.

    All shapes of a channel are scored at once: with the other channels' active (β > 0) columns S
    fixed, adding column m lowers the RSS by ``(mᵀr⊥)² / ‖m⊥‖²`` (r⊥, m⊥ = residuals after
    regressing on S), and by nothing when ``mᵀr⊥ ≤ 0`` (β must stay ≥ 0). The best three are then
    checked with a real NNLS and a move is kept only if that RSS falls, so the search never
    goes uphill. Returns the choice per channel, the media coefficients and the RSS.
    """
    n_ch = len(cands)
    choice = start.copy()
    x = np.column_stack([cands[c].proj[choice[c]] for c in range(n_ch)])
    coef, best = solve_nnls(x, y_p)
    for _ in range(sweeps):
        changed = False
        for c in range(n_ch):
            proj, norms = cands[c].proj, cands[c].norm2
            vc = proj @ y_p
            others = [o for o in range(n_ch) if o != c and coef[o] > 0]
            if others:
                xs = x[:, others]
                g = matmul_chunked(proj, xs)  # (J, |S|)
                a_inv = np.linalg.pinv(xs.T @ xs)
                num = vc - g @ (a_inv @ (xs.T @ y_p))
                den = norms - np.einsum("ij,ij->i", g @ a_inv, g)
            else:
                num, den = vc, norms
            ok = (num > 0) & (den > 1e-9 * np.maximum(norms, 1e-300))
            gain = np.where(ok, num * num / np.where(ok, den, 1.0), 0.0)
            if not np.any(gain > 0):
                continue
            keep = x[:, c].copy()
            best_j = choice[c]
            for j in np.argsort(gain)[::-1][:3]:
                if j == choice[c]:
                    continue
                x[:, c] = proj[j]
                b, rss = solve_nnls(x, y_p)
                if rss < best - 1e-12 * abs(best):
                    best, best_j, coef, keep = rss, int(j), b, x[:, c].copy()
            x[:, c] = keep
            if best_j != choice[c]:
                choice[c] = best_j
                changed = True
        if not changed:
            break
    return choice, coef, best


@dataclass(frozen=True, eq=False)
class Design:
    """One baseline form's columns (and their pivoted QR), the projected candidates and the fit on them."""

    base: Baseline
    bmat: Array
    q: Array
    r: Array
    piv: Array
    rank: int
    cands: tuple[Candidates, ...]
    y_p: Array
    choice: Array
    coef: Array
    rss: float
    bic: float

    def baseline_coef(self, target: Array, media: Array) -> Array:
        """Least-squares baseline coefficients given the media part (pivoted QR, rank-deficient safe)."""
        g = np.zeros(self.bmat.shape[1])
        g[self.piv[:self.rank]] = solve_triangular(self.r[:self.rank, :self.rank], self.q.T @ (target - media))
        return g

    def chosen(self, projected: bool = False) -> Array:
        """The chosen shape's column per channel (n, C): raw, or with the baseline projected out."""
        return np.column_stack([(cd.proj if projected else cd.cols)[j] for cd, j in zip(self.cands, self.choice)])


def fit_design(data: MmmData, festivals: bool, spec: tuple[int, bool, int], raw: Sequence[Candidates],
               ys: Array, start: Array | None = None) -> Design:
    """Baseline columns for ``spec`` = (Fourier order, multiplicative, trend degree), projected media, the fit."""
    n = len(ys)
    base = make_baseline(data, festivals, *spec)
    bmat = base.matrix(data.weeks, controls_array(data, base))
    q_full, r_full, piv = qr(bmat, mode="economic", pivoting=True)
    rank = int(np.sum(np.abs(np.diag(r_full)) > 1e-9 * abs(r_full[0, 0])))
    q = q_full[:, :rank]
    cands = tuple(project(cd, q) for cd in raw)
    y_p = ys - q @ (q.T @ ys)
    if start is None:
        start = np.array([start_index(cd) for cd in cands])
    choice, coef, rss = select_shapes(cands, y_p, start, MAX_SWEEPS)
    k = rank + 4 * int(np.sum(coef > 0))
    bic = n * math.log(max(rss, 1e-300) / n) + k * math.log(n)
    return Design(base, bmat, q, r_full, piv, rank, cands, y_p, choice, coef, rss, bic)


def choose_design(data: MmmData, festivals: bool, ys: Array) -> Design:
    """The baseline form by BIC on a coarse media grid (α = 1, every other K), then the fit on the full grid.

    Short histories get a simpler baseline: one yearly harmonic from 52 weeks, none below.
    """
    n = len(data.weeks)
    specs = BASELINE_SPECS if n >= 78 else ((1, False, 1),) if n >= 52 else ((0, False, 1),)
    spend = data.spend.to_numpy()
    raw = [candidates_for(spend[:, c]) for c in range(spend.shape[1])]
    coarse_index = np.flatnonzero((raw[0].alpha == START_ALPHA) & np.isin(raw[0].mult, np.asarray(K_MULTIPLES)[::2]))
    coarse = [subset(cd, coarse_index) for cd in raw]
    scout: Design | None = None
    best_spec = specs[0]
    for spec in specs:
        trial = fit_design(data, festivals, spec, coarse, ys)
        if scout is None or trial.bic < scout.bic:
            scout, best_spec = trial, spec
    assert scout is not None
    return fit_design(data, festivals, best_spec, raw, ys, start=coarse_index[scout.choice])
