"""Signed distances to triangle meshes (negative inside), with a gradient path in torch.

The search for the closest surface point is done without gradients by libigl (exact
point-triangle distance; the sign from the generalized winding number, so slightly open meshes
still get a sensible inside). The distance is then recomputed in torch from that point's
barycentric coordinates on its triangle:

    φ(p) = sign · ‖p − Σ_k b_k v_k‖.

Holding the closest triangle and b fixed is first-order exact (the closest point minimises the
distance, so moving it along the surface does not change φ to first order), hence gradients are
right w.r.t. both the query points and the mesh vertices. Sign flips and closest-face switches
are where φ is not differentiable anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hoikit.geometry.grid import Bounds, grid_points

if TYPE_CHECKING:
    import torch

# added under the square root so that the gradient stays finite for points on the surface
_DIST_EPS2 = 1e-18  # m², i.e. a bias of at most 1 nm


def _closest_on_mesh(points: np.ndarray, V: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sign (N,) ±1, closest face (N,) and its barycentric coordinates (N, 3) — numpy, exact."""
    import igl

    sign_type = igl.SignedDistanceType.SIGNED_DISTANCE_TYPE_WINDING_NUMBER
    s, face, closest, _ = igl.signed_distance(points, V, F, sign_type=sign_type)
    tri = V[F[face]]  # (N, 3, 3)
    bary = igl.barycentric_coordinates(closest, tri[:, 0].copy(), tri[:, 1].copy(), tri[:, 2].copy())
    return np.where(s < 0, -1.0, 1.0), face, np.asarray(bary).reshape(-1, 3)


def mesh_signed_distance(points: torch.Tensor, vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Signed distance of points to a triangle mesh, differentiable w.r.t. points and vertices.

    Args:
        points: (N, 3) metres.
        vertices: (V, 3) metres.
        faces: (F, 3) long.
    Returns:
        (N,) metres, negative inside (winding number > 0.5).
    """
    import torch

    if len(points) == 0:
        return points.new_zeros((0,))
    p64 = np.ascontiguousarray(points.detach().cpu().numpy(), dtype=np.float64)
    V = np.ascontiguousarray(vertices.detach().cpu().numpy(), dtype=np.float64)
    F = np.ascontiguousarray(faces.detach().cpu().numpy(), dtype=np.int64)
    sign, face, bary = _closest_on_mesh(p64, V, F)
    dev, dt = points.device, points.dtype
    tri = vertices[torch.as_tensor(F[face], device=dev)].to(dt)  # (N, 3, 3)
    closest = (torch.as_tensor(bary, dtype=dt, device=dev)[..., None] * tri).sum(dim=1)
    dist = ((points - closest).square().sum(-1) + _DIST_EPS2).sqrt()
    return torch.as_tensor(sign, dtype=dt, device=dev) * dist


def mesh_sdf_grid(vertices: np.ndarray, faces: np.ndarray, shape: int | tuple[int, int, int], bounds: Bounds) -> np.ndarray:
    """Exact signed distances of a mesh sampled on a grid (no gradient; for targets and tests).

    Returns:
        (X, Y, Z) float64 metres, negative inside; layout of :mod:`hoikit.geometry.grid`.
    """
    import igl
    import torch

    pts = grid_points(shape, bounds, dtype=torch.float64).numpy()
    V = np.ascontiguousarray(vertices, dtype=np.float64)
    F = np.ascontiguousarray(faces, dtype=np.int64)
    sign_type = igl.SignedDistanceType.SIGNED_DISTANCE_TYPE_WINDING_NUMBER
    d = igl.signed_distance(pts.reshape(-1, 3), V, F, sign_type=sign_type)[0]
    return d.reshape(pts.shape[:3])
