"""Scale-aware, trimmed, symmetric ICP between point sets.

Modes:
    ``ts``    scale + translation only (rotation held at its initial value) — the ``icp-ts``
              alignment of single-image HOI evaluation (gSDF, EasyHOI, MOHO).
    ``rigid`` rotation + translation.
    ``sim3``  rotation + translation + scale, best of several initial rotations (HOLD protocol).

Correspondences are taken in both directions (source→target and target→source) each iteration.
One-sided correspondences let a scale-fitting ICP shrink the source onto a small patch of the
target; the symmetric objective cannot collapse that way. The worst ``trim`` fraction of pairs in
each direction is ignored by the fit (outliers, partial overlap).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.spatial import cKDTree

from hoikit.geometry.rotations import cube_rotations, random_rotations
from hoikit.geometry.procrustes import fit_scale_translation, umeyama
from hoikit.types import Sim3

IcpMode = Literal["ts", "rigid", "sim3"]


@dataclass(frozen=True)
class IcpConfig:
    """ICP settings. Defaults follow metrics.md (up to 100 iterations on up to 30k points).

    The schedule is coarse to fine: rotation restarts (sim3) on ``restart_points``, then iterations
    on ``coarse_points`` until converged, then at full resolution until converged. The fine stage
    only polishes, so a 30k-point alignment costs a few full-resolution nearest-neighbour passes.
    """

    mode: IcpMode = "ts"
    iterations: int = 100  # full-resolution iterations at most
    trim: float = 0.05  # fraction of the farthest pairs per direction left out of each fit
    tol: float = 1e-4  # stop when the objective improves by less than this fraction
    coarse_points: int = 4000
    coarse_iterations: int = 100
    coarse_tol: float = 1e-6
    restarts: int = 24  # sim3: initial rotations tried (the 24 cube rotations, then random ones)
    restart_points: int = 1000
    restart_iterations: int = 15
    # "both": pairs in both directions (complete shapes); "target": only target → source pairs,
    # for a partial target (a depth cloud seeing one side of a complete source mesh)
    directions: Literal["both", "target"] = "both"
    seed: int = 0


@dataclass(frozen=True)
class IcpResult:
    transform: Sim3  # maps the source into the target's frame
    objective: float  # trimmed symmetric mean squared distance at the end (m²)
    iterations: int  # full-resolution iterations run


def init_centroid_scale(src: np.ndarray, dst: np.ndarray, R: np.ndarray | None = None) -> Sim3:
    """Similarity that matches centroids and RMS radii of ``src`` to ``dst`` (rotation ``R``)."""
    R = np.eye(3) if R is None else R
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    rs = np.sqrt(((src - cs) ** 2).sum(axis=1).mean())
    rd = np.sqrt(((dst - cd) ** 2).sum(axis=1).mean())
    s = rd / rs if rs > 0 else 1.0
    return Sim3(np.float64(s), R, cd - s * R @ cs)


def _trim_mask(d: np.ndarray, trim: float) -> np.ndarray:
    if trim <= 0 or len(d) < 10:
        return np.ones(len(d), dtype=bool)
    return d <= np.quantile(d, 1.0 - trim)


def _fit(P: np.ndarray, Q: np.ndarray, w: np.ndarray, mode: IcpMode, R: np.ndarray) -> Sim3:
    if mode == "ts":
        return fit_scale_translation(P, Q, w, R=R)
    return umeyama(P, Q, w, with_scale=(mode == "sim3"))


def _icp_loop(
    src: np.ndarray, dst: np.ndarray, T: Sim3, mode: IcpMode, iterations: int, trim: float, tol: float, both: bool = True
) -> tuple[Sim3, float, int]:
    """Run up to ``iterations`` symmetric ICP steps from ``T``. Returns (T, objective, iterations)."""
    tree_src, tree_dst = cKDTree(src), cKDTree(dst)
    prev = np.inf
    best: tuple[Sim3, float] = (T, np.inf)
    for it in range(iterations + 1):
        d_f, j = tree_dst.query(T.apply(src), workers=-1)  # source → target
        d_b, i = tree_src.query(T.inverse().apply(dst), workers=-1)  # target → source, in source units
        d_b = d_b * T.s
        kf, kb = _trim_mask(d_f, trim), _trim_mask(d_b, trim)
        if not both:
            kf[:] = False
        obj = float((d_f[kf] ** 2).mean() if kf.any() else 0.0) + float((d_b[kb] ** 2).mean())
        if obj < best[1]:
            best = (T, obj)
        if it == iterations or (it > 0 and prev - obj <= tol * prev):
            break
        prev = obj
        P = np.concatenate([src[kf], src[i[kb]]])
        Q = np.concatenate([dst[j[kf]], dst[kb]])
        # each direction carries half the weight, whatever its number of pairs
        wf = 0.5 / max(kf.sum(), 1) if kb.any() else 1.0 / max(kf.sum(), 1)
        wb = (0.5 if kf.any() else 1.0) / max(kb.sum(), 1)
        w = np.concatenate([np.full(kf.sum(), wf), np.full(kb.sum(), wb)])
        T = _fit(P, Q, w, mode, T.R)
    return best[0], best[1], it


def _subsample(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return x if len(x) <= n else x[rng.choice(len(x), n, replace=False)]


def icp(src: np.ndarray, dst: np.ndarray, config: IcpConfig = IcpConfig(), init: Sim3 | None = None) -> IcpResult:
    """Align point set ``src`` to ``dst``.

    Args:
        src: (N, 3) points to move.
        dst: (M, 3) target points.
        config: mode and schedule.
        init: starting transform; default matches centroids and RMS radii (identity rotation, or
            each restart rotation in ``sim3`` mode).
    Returns:
        IcpResult whose ``transform`` maps ``src`` onto ``dst``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if len(src) < 3 or len(dst) < 3:
        raise ValueError("ICP needs at least 3 points on each side")
    rng = np.random.default_rng(config.seed)
    both = config.directions == "both"
    src_c, dst_c = _subsample(src, config.coarse_points, rng), _subsample(dst, config.coarse_points, rng)

    if init is not None:
        starts = [init]
    elif config.mode == "sim3":
        rots = cube_rotations()
        if config.restarts > len(rots):
            rots = np.concatenate([rots, random_rotations(config.restarts - len(rots), rng)])
        starts = [init_centroid_scale(src, dst, R) for R in rots[: config.restarts]]
    else:
        starts = [init_centroid_scale(src, dst)]

    T = starts[0]
    if len(starts) > 1:  # the best restart on small subsets
        src_r, dst_r = _subsample(src, config.restart_points, rng), _subsample(dst, config.restart_points, rng)
        runs = [_icp_loop(src_r, dst_r, T0, config.mode, config.restart_iterations, config.trim, config.coarse_tol, both) for T0 in starts]
        T = min(runs, key=lambda r: r[1])[0]
    if len(src) > len(src_c) or len(dst) > len(dst_c):
        T, _, _ = _icp_loop(src_c, dst_c, T, config.mode, config.coarse_iterations, config.trim, config.coarse_tol, both)
    T, obj, it = _icp_loop(src, dst, T, config.mode, config.iterations, config.trim, config.tol, both)
    return IcpResult(T, obj, it)
