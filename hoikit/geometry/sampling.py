"""Seeded, area-weighted sampling of points on triangle-mesh surfaces, and thinning of point sets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import trimesh

if TYPE_CHECKING:
    import torch


def sample_surface(mesh: trimesh.Trimesh, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniformly distributed over the surface area of ``mesh``.

    The same seed on meshes with the same faces (up to a similarity transform, which keeps area
    ratios) picks the same faces and barycentric coordinates, so samples correspond.

    Returns:
        points (n, 3) float64 in the mesh's units, face_index (n,).
    """
    points, face_index = trimesh.sample.sample_surface(mesh, n, seed=seed)
    return np.asarray(points, dtype=np.float64), np.asarray(face_index)


def sample_surface_torch(
    vertices: torch.Tensor, faces: torch.Tensor, n: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Differentiable area-weighted surface samples (face choice is not differentiated).

    Args:
        vertices: (V, 3).
        faces: (F, 3) long.
        n: number of samples.
    Returns:
        (n, 3) points; gradients flow to ``vertices`` through the barycentric combination.
    """
    import torch

    v0, v1, v2 = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    areas = 0.5 * torch.linalg.cross(v1 - v0, v2 - v0).norm(dim=-1)
    face_idx = torch.multinomial(areas.detach() + 1e-20, n, replacement=True, generator=generator)
    uv = torch.rand(n, 2, generator=generator, dtype=vertices.dtype).to(vertices.device)
    r1 = uv[:, :1].sqrt()
    w0, w1, w2 = 1.0 - r1, r1 * (1.0 - uv[:, 1:]), r1 * uv[:, 1:]
    return w0 * v0[face_idx] + w1 * v1[face_idx] + w2 * v2[face_idx]


def sphere_directions(n: int) -> np.ndarray:
    """(n, 3) unit vectors spread evenly over the sphere (Fibonacci lattice)."""
    k = np.arange(n) + 0.5
    z = 1.0 - 2.0 * k / n
    phi = np.pi * (1.0 + 5**0.5) * k
    r = np.sqrt(1.0 - z**2)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], 1)


def every_kth(points: np.ndarray, n: int) -> np.ndarray:
    """About ``n`` of ``points`` (N, 3), every k-th in their order (k = max(1, N // n)).

    For a back-projected depth map (row-major pixels) this thins the points evenly over the image.
    """
    return points[:: max(1, len(points) // n)]
