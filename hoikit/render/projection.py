"""Pinhole projection and camera rays in torch (differentiable), shared by the z-buffer and the
renderer. Conventions: :mod:`hoikit.types` (OpenCV camera frame, pixel centres at integers)."""

from __future__ import annotations

import torch

from hoikit.types import Camera


def project(points: torch.Tensor, camera: Camera, min_depth: float | None = None) -> torch.Tensor:
    """(..., 3) camera-frame metres → (..., 2) pixels (x, y), differentiable. With ``min_depth``
    the divisor is the depth clamped at it (points an optimiser pushes behind the camera stay finite)."""
    K = camera.K
    z = points[..., 2] if min_depth is None else points[..., 2].clamp(min=min_depth)
    x = points[..., 0] / z
    y = points[..., 1] / z
    u = float(K[0, 0]) * x + float(K[0, 1]) * y + float(K[0, 2])
    v = float(K[1, 1]) * y + float(K[1, 2])
    return torch.stack([u, v], dim=-1)


def pixel_rays(pixels: torch.Tensor, camera: Camera, dtype: torch.dtype) -> torch.Tensor:
    """Camera-frame directions K⁻¹ (x, y, 1) through pixel centres.

    Args:
        pixels: (N,) long flat indices y·W + x.
    Returns:
        (N, 3) directions with z = 1 (so a point on the ray at depth z is z · ray).
    """
    K = camera.K
    x = (pixels % camera.width).to(dtype)
    y = (pixels // camera.width).to(dtype)
    yn = (y - float(K[1, 2])) / float(K[1, 1])
    xn = (x - float(K[0, 2]) - float(K[0, 1]) * yn) / float(K[0, 0])
    return torch.stack([xn, yn, torch.ones_like(xn)], dim=-1)


def ray_triangle(rays: torch.Tensor, tri: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Intersect rays from the camera centre with the planes of triangles, differentiably.

    Args:
        rays: (N, 3) directions with z = 1.
        tri: (N, 3, 3) triangle corners, camera-frame metres.
    Returns:
        depth (N,) metres (z of the hit), bary (N, 3) barycentric coordinates of the hit (they sum
        to one; inside the triangle when all are non-negative).
    """
    v0, v1, v2 = tri.unbind(dim=1)
    n = torch.linalg.cross(v1 - v0, v2 - v0)
    depth = (n * v0).sum(-1) / (n * rays).sum(-1)
    hit = depth[:, None] * rays
    n2 = (n * n).sum(-1)
    b0 = (n * torch.linalg.cross(v1 - hit, v2 - hit)).sum(-1) / n2
    b1 = (n * torch.linalg.cross(v2 - hit, v0 - hit)).sum(-1) / n2
    return depth, torch.stack([b0, b1, 1.0 - b0 - b1], dim=-1)
