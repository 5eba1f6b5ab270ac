"""Regular 3D grids: where their points lie, and trilinear sampling of values stored on them.

Convention (shared by :mod:`hoikit.geometry.sdf` and :mod:`hoikit.geometry.marching_cubes`):
a grid of shape (X, Y, Z) over ``bounds = (lo, hi)`` holds ``values[i, j, k]`` at the point
``lo + (i, j, k) * spacing`` with ``spacing = (hi - lo) / (shape - 1)``: the first and last grid
points lie *on* the bounds ("align corners"), and the first index runs along x.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:
    import torch

Bounds = tuple[Any, Any]  # (lo, hi): two floats (a cube) or two 3-vectors, metres


def bounds_arrays(bounds: Bounds) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` given as scalars (a cube) or 3-vectors → two (3,) float64 arrays, lo < hi."""
    lo = np.broadcast_to(np.asarray(bounds[0], dtype=np.float64), (3,)).copy()
    hi = np.broadcast_to(np.asarray(bounds[1], dtype=np.float64), (3,)).copy()
    if np.any(hi <= lo):
        raise ValueError(f"grid bounds need lo < hi on every axis, got lo={lo}, hi={hi}")
    return lo, hi


def grid_spacing(shape: Sequence[int], bounds: Bounds) -> np.ndarray:
    """(3,) metres between neighbouring grid points along x, y, z."""
    lo, hi = bounds_arrays(bounds)
    n = np.asarray(shape, dtype=np.float64)
    if n.shape != (3,) or np.any(n < 2):
        raise ValueError(f"a grid needs at least 2 points per axis, got shape {tuple(shape)}")
    return (hi - lo) / (n - 1.0)


def grid_points(shape: int | Sequence[int], bounds: Bounds, dtype=None, device=None) -> torch.Tensor:
    """Coordinates of every grid point.

    Args:
        shape: R (an R³ grid) or (X, Y, Z).
        bounds: (lo, hi) metres, scalars or 3-vectors; both are grid points.
    Returns:
        (X, Y, Z, 3) metres, ``points[i, j, k] = lo + (i, j, k) * spacing``.
    """
    import torch

    shape = (shape,) * 3 if isinstance(shape, int) else tuple(int(s) for s in shape)
    lo, _ = bounds_arrays(bounds)
    step = grid_spacing(shape, bounds)
    axes = [torch.arange(n, dtype=torch.float64) * step[a] + lo[a] for a, n in enumerate(shape)]
    pts = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
    return pts.to(dtype=dtype or torch.get_default_dtype(), device=device)


def sample_grid(values: torch.Tensor, bounds: Bounds, points: torch.Tensor) -> torch.Tensor:
    """Trilinear interpolation of grid values at arbitrary points, differentiable in both.

    Points outside the bounds take the value of the nearest border point (for an SDF that is a
    lower bound of the distance, which keeps penalties on far points finite and bounded).

    Args:
        values: (X, Y, Z) or (C, X, Y, Z) grid values.
        bounds: (lo, hi) metres.
        points: (N, 3) metres.
    Returns:
        (N,) or (C, N); gradients reach ``values`` and ``points``.
    """
    import torch

    lo, hi = bounds_arrays(bounds)
    lo_t = torch.as_tensor(lo, dtype=points.dtype, device=points.device)
    hi_t = torch.as_tensor(hi, dtype=points.dtype, device=points.device)
    unit = 2.0 * (points - lo_t) / (hi_t - lo_t) - 1.0  # [-1, 1] with align_corners=True
    vol = values if values.dim() == 4 else values[None]
    # grid_sample reads (x, y, z) against (W, H, D): put x on the last axis
    vol = vol.permute(0, 3, 2, 1)[None].to(points.dtype)
    out = torch.nn.functional.grid_sample(
        vol, unit.view(1, 1, 1, -1, 3), mode="bilinear", padding_mode="border", align_corners=True
    )[0, :, 0, 0]
    return out if values.dim() == 4 else out[0]
