"""Differentiable SDF grid → triangle mesh.

The topology comes from scikit-image's Lewiner marching cubes (no gradient: which cube edges
the surface crosses is a discrete choice). Every output vertex lies on one grid edge (a, b);
its position is recomputed in torch as

    p = p_a + t · (p_b − p_a),   t = (s_a − level) / (s_a − s_b),

so gradients reach the two SDF values at the ends of that edge. For a fixed topology this is the
exact derivative of the mesh that marching cubes produces (FollowMyHold uses FlexiCubes for the
same purpose; with plain marching cubes the vertex can only move along its edge).

Grid convention: :mod:`hoikit.geometry.grid` (``sdf[i, j, k]`` at ``lo + (i, j, k)·spacing``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hoikit.geometry.grid import Bounds, bounds_arrays, grid_spacing

if TYPE_CHECKING:
    import torch

# a vertex this far (grid units) from the edge skimage put it on is "not on that edge"
_EDGE_MATCH_TOL = 1e-3


def _skimage_mesh(sdf: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lewiner marching cubes in grid-index units; faces oriented outward for negative-inside SDFs."""
    from skimage.measure import marching_cubes as sk_marching_cubes

    if not (sdf.min() < level < sdf.max()):
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    # skimage's default winding ('descent') is the one that comes out counter-clockwise seen from
    # the positive side for our (i, j, k) → (x, y, z) mapping; the tests check the volume sign
    verts, faces, _, _ = sk_marching_cubes(sdf, level=level, allow_degenerate=False)
    return verts.astype(np.float64), faces.astype(np.int64)


def _edge_of_vertices(idx_verts: np.ndarray, sdf: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each vertex (grid units) the grid edge it lies on: start corner (N, 3) int, axis (N,) int,
    and ok (N,) bool (False: no edge with a sign change reproduces it, e.g. both ends at ``level``).

    Exactly one coordinate of a marching-cubes vertex is fractional; near a grid point (t ≈ 0 or 1)
    float32 rounding blurs which one, so all three candidate edges are tried and the one whose
    interpolated point lands nearest the vertex wins.
    """
    shape = np.asarray(sdf.shape)
    rounded = np.rint(idx_verts)
    best_err = np.full(len(idx_verts), np.inf)
    start = rounded.astype(np.int64)
    axis = np.zeros(len(idx_verts), dtype=np.int64)
    for a in range(3):
        base = rounded.astype(np.int64)
        base[:, a] = np.clip(np.floor(idx_verts[:, a]).astype(np.int64), 0, shape[a] - 2)
        end = base.copy()
        end[:, a] += 1
        sa = sdf[base[:, 0], base[:, 1], base[:, 2]] - level
        sb = sdf[end[:, 0], end[:, 1], end[:, 2]] - level
        crosses = (sa * sb <= 0) & (sa != sb)
        t = np.where(crosses, sa / np.where(sa != sb, sa - sb, 1.0), 0.0)
        interp = base.astype(np.float64)
        interp[:, a] += t
        err = np.where(crosses, np.abs(interp - idx_verts).max(axis=1), np.inf)
        better = err < best_err
        best_err[better], axis[better], start[better] = err[better], a, base[better]
    return start, axis, best_err < _EDGE_MATCH_TOL


def marching_cubes(sdf: torch.Tensor, bounds: Bounds, level: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Extract the ``level`` iso-surface of a signed-distance grid, differentiably.

    Args:
        sdf: (X, Y, Z) values, negative inside (any float dtype, any device).
        bounds: (lo, hi) metres, scalars or 3-vectors; the corner grid points lie on them.
        level: iso-value.
    Returns:
        vertices (N, 3) metres in ``sdf``'s dtype/device, differentiable w.r.t. ``sdf``;
        faces (M, 3) long, counter-clockwise seen from outside (normals point to positive SDF).
        Both are empty when the grid has no sign change.
    """
    import torch

    if sdf.dim() != 3:
        raise ValueError(f"sdf must be (X, Y, Z), got shape {tuple(sdf.shape)}")
    s_np = sdf.detach().cpu().numpy().astype(np.float64)
    idx_verts, faces_np = _skimage_mesh(s_np, level)
    faces = torch.as_tensor(faces_np, dtype=torch.long, device=sdf.device)
    if len(idx_verts) == 0:
        return sdf.new_zeros((0, 3)), faces
    start, axis, ok = _edge_of_vertices(idx_verts, s_np, level)

    dev = sdf.device
    start_t = torch.as_tensor(start, device=dev)
    step = torch.nn.functional.one_hot(torch.as_tensor(axis, device=dev), 3)
    end_t = start_t + step
    flat = sdf.reshape(-1)
    strides = torch.as_tensor([sdf.shape[1] * sdf.shape[2], sdf.shape[2], 1], device=dev)
    sa = flat[(start_t * strides).sum(-1)] - level
    sb = flat[(end_t * strides).sum(-1)] - level
    ok_t = torch.as_tensor(ok, device=dev)
    t = torch.where(ok_t, sa / torch.where(ok_t, sa - sb, torch.ones_like(sa)), torch.zeros_like(sa))
    # vertices skimage placed where no edge reproduces them keep skimage's (constant) position
    fallback = torch.as_tensor(idx_verts, dtype=sdf.dtype, device=dev)
    grid_pos = torch.where(ok_t[:, None], start_t.to(sdf.dtype) + t[:, None] * step.to(sdf.dtype), fallback)

    lo, _ = bounds_arrays(bounds)
    spacing = grid_spacing(sdf.shape, bounds)
    lo_t = torch.as_tensor(lo, dtype=sdf.dtype, device=dev)
    spacing_t = torch.as_tensor(spacing, dtype=sdf.dtype, device=dev)
    return lo_t + grid_pos * spacing_t, faces
