"""The marketing-mix model's intervals: a moving-block pairs bootstrap that re-chooses every channel's shape.

Why a module of its own: every uncertainty the model reports (contributions, ROI / CPA,
marginal ROI, curves, plan outcomes) is a percentile of the same B replicates drawn here; see
:mod:`lib.channels.fitting` for why this method (measured coverage). Each replicate resamples
whole weeks in 8-week blocks — outcome, baseline row and every candidate column — and re-solves
the shapes (one coordinate sweep from the point estimate) and the coefficients. The residual
bootstrap and fixed shapes are kept for the benchmark's comparison.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.linalg import qr, solve_triangular

from lib.channels.design import Array, matmul_chunked
from lib.channels.solver import Design, select_shapes, solve_nnls

BLOCK_WEEKS = 8
BOOT_SWEEPS = 1
TRIM = 0.2  # bagged estimates average the central 60 % of the bootstrap replicates


def block_indices(rng: np.random.Generator, n: int, length: int, draws: int, block: int = BLOCK_WEEKS) -> Array:
    """Moving-block bootstrap positions into a series of length n: (draws, length)."""
    block = max(1, min(block, n))
    per = -(-length // block)
    starts = rng.integers(0, n - block + 1, size=(draws, per))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(draws, per * block)
    return idx[:, :length]


def pct(values: Array, q: float, axis: int = 0) -> Array:
    """The q-th percentile of the draws (axis 0: per column)."""
    out: Array = np.percentile(values, q, axis=axis)
    return out


def central(values: Array) -> Array:
    """Mask of the draws between the TRIM and 1 − TRIM quantiles (all draws if that leaves none)."""
    lo, hi = np.percentile(values, [100 * TRIM, 100 * (1 - TRIM)])
    keep = (values >= lo) & (values <= hi)
    return keep if keep.any() else np.ones(values.size, dtype=bool)


def trim_mean(values: Array) -> Array:
    """Trimmed mean over axis 0 (the central 60 % of draws, per column)."""
    ordered = np.sort(values, axis=0)
    cut = int(math.floor(TRIM * ordered.shape[0]))
    out: Array = ordered[cut: ordered.shape[0] - cut].mean(axis=0) if ordered.shape[0] > 2 * cut else ordered.mean(axis=0)
    return out


@dataclass(frozen=True, eq=False)
class Draws:
    """The bootstrap replicates in the outcome's scaled units: shape index, media and baseline coefficients."""

    choice: Array  # (B, C) grid index per channel
    coef: Array  # (B, C) media coefficients
    gamma: Array  # (B, p) baseline coefficients
    residuals: Array  # (n,) centred residuals of the point fit, inflated for its degrees of freedom


def resampling_residuals(design: Design, ys: Array) -> tuple[Array, Array]:
    """The point fit's weekly values and its centred residuals inflated by √(n / (n − p)) (noise for plans)."""
    n = len(ys)
    media = design.chosen() @ design.coef
    fitted = design.bmat @ design.baseline_coef(ys, media) + media
    resid = ys - fitted
    p_eff = design.rank + 4 * int(np.sum(design.coef > 0))
    return fitted, (resid - resid.mean()) * math.sqrt(n / max(n - p_eff, n / 4))


def _media(design: Design, choice: Array, coef: Array, rows: Array | slice = slice(None)) -> Array:
    """The media part of a replicate over the history's weeks, or over the resampled weeks ``rows``."""
    media = np.zeros(design.bmat.shape[0])
    for c, cd in enumerate(design.cands):
        if coef[c] > 0:
            media += cd.cols[choice[c], rows] * coef[c]
    return media


def _residual_replicate(design: Design, y_star: Array, y_star_p: Array, x_point: Array,
                        reselect: bool) -> tuple[Array, Array, Array]:
    """One residual-bootstrap replicate: the fitted values plus block-resampled residuals, re-fitted."""
    if reselect:
        ch, cf, _ = select_shapes(design.cands, y_star_p, design.choice, BOOT_SWEEPS)
    else:
        ch, (cf, _) = design.choice, solve_nnls(x_point, y_star_p)
    return ch, cf, design.baseline_coef(y_star, _media(design, ch, cf))


def _pairs_replicate(design: Design, ys: Array, idx: Array, all_cols: Array, offsets: Array, reselect: bool,
                     buffers: tuple[Array, Array]) -> tuple[Array, Array, Array]:
    """One pairs replicate: whole weeks ``idx`` (outcome, baseline row, every candidate column), re-fitted.

    ``buffers`` (two arrays shaped like ``all_cols``) hold the resampled and projected candidate
    columns; they live across replicates because allocating and freeing these megabytes in every
    replicate made the allocator hand the memory back to the system and fault it in again, which
    doubled the bootstrap's CPU time (measured: Robyn's example, 1.0 s → 1.8 s).
    """
    cands, choice = design.cands, design.choice
    qb_full, rb, pb = qr(design.bmat[idx], mode="economic", pivoting=True)
    rk = int(np.sum(np.abs(np.diag(rb)) > 1e-9 * abs(rb[0, 0])))
    qb = qb_full[:, :rk]
    yb = ys[idx]
    yb_p = yb - qb @ (qb.T @ yb)
    if reselect:
        # one projection for every channel's shapes at once (few, large BLAS calls)
        sub = np.take(all_cols, idx, axis=1, out=buffers[0])
        proj_all = np.subtract(sub, matmul_chunked(matmul_chunked(sub, qb), np.ascontiguousarray(qb.T), out=buffers[1]),
                               out=buffers[1])
        norms_all = np.einsum("ij,ij->i", proj_all, proj_all)
        cb = tuple(replace(cd, proj=proj_all[lo:hi], norm2=norms_all[lo:hi])
                   for cd, lo, hi in zip(cands, offsets[:-1], offsets[1:]))
        ch, cf, _ = select_shapes(cb, yb_p, choice, BOOT_SWEEPS)
    else:
        xb = np.column_stack([cd.cols[j, idx] for cd, j in zip(cands, choice)])
        ch, (cf, _) = choice, solve_nnls(xb - qb @ (qb.T @ xb), yb_p)
    if rk == design.rank:
        g_b = np.zeros(design.bmat.shape[1])
        g_b[pb[:rk]] = solve_triangular(rb[:rk, :rk], qb.T @ (yb - _media(design, ch, cf, idx)))
    else:  # a festival or control missing from the resampled weeks: baseline given this media
        g_b = design.baseline_coef(ys, _media(design, ch, cf))
    return ch, cf, g_b


def bootstrap_draws(design: Design, ys: Array, n_boot: int, seed: int, method: str = "pairs", reselect: bool = True,
                    progress: Callable[[float, str], None] | None = None) -> Draws:
    """B moving-block bootstrap replicates of the fit (``method``: ``"pairs"`` or ``"residual"``).

    ``progress(fraction, stage)`` hears from every 25th replicate, on the fit's scale 0.2–0.95.
    """
    n, n_ch = len(ys), len(design.cands)
    fitted, resid_boot = resampling_residuals(design, ys)
    blocks = block_indices(np.random.default_rng(seed), n, n, n_boot)
    draw_choice = np.empty((n_boot, n_ch), dtype=int)
    draw_coef = np.empty((n_boot, n_ch))
    draw_gamma = np.empty((n_boot, design.bmat.shape[1]))
    x_point = design.chosen(projected=True)
    all_cols = np.concatenate([cd.cols for cd in design.cands])
    offsets = np.cumsum([0] + [len(cd.theta) for cd in design.cands])
    buffers = (np.empty_like(all_cols), np.empty_like(all_cols))
    if method == "residual":
        y_star = fitted[None, :] + resid_boot[blocks]  # (B, n)
        y_star_p = y_star - (y_star @ design.q) @ design.q.T
    for b in range(n_boot):
        if method == "residual":
            replicate = _residual_replicate(design, y_star[b], y_star_p[b], x_point, reselect)
        else:
            replicate = _pairs_replicate(design, ys, blocks[b], all_cols, offsets, reselect, buffers)
        draw_choice[b], draw_coef[b], draw_gamma[b] = replicate
        if progress is not None and b % 25 == 0:
            progress(0.2 + 0.75 * b / n_boot, "bootstrap")
    return Draws(draw_choice, draw_coef, draw_gamma, resid_boot)
