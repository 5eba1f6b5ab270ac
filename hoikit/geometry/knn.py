"""Nearest neighbours: scipy's cKDTree for numbers, a torch path that carries gradients."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

if TYPE_CHECKING:  # torch is imported where used: numpy-only callers start fast
    import torch


def nearest(query: np.ndarray, ref: np.ndarray | cKDTree, workers: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Nearest point of ``ref`` for every query point.

    Args:
        query: (N, 3).
        ref: (M, 3) points or a prebuilt cKDTree over them.
    Returns:
        dist (N,) Euclidean distances, idx (N,) indices into ref.
    """
    tree = ref if isinstance(ref, cKDTree) else cKDTree(np.asarray(ref, dtype=np.float64))
    dist, idx = tree.query(np.asarray(query, dtype=np.float64), k=1, workers=workers)
    return dist, idx


def _nearest_idx(x: torch.Tensor, y: torch.Tensor, chunk: int) -> torch.Tensor:
    """(N, 3), (M, 3) detached → (N,) index of the nearest y for each x."""
    import torch

    if x.device.type == "cpu":
        _, idx = cKDTree(y.double().numpy()).query(x.double().numpy(), k=1, workers=-1)
        return torch.as_tensor(idx, dtype=torch.long)
    out = []
    for i in range(0, len(x), chunk):
        out.append(torch.cdist(x[i : i + chunk], y).argmin(dim=1))
    return torch.cat(out)


def knn_points(x: torch.Tensor, y: torch.Tensor, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared distance from each point of ``x`` to its nearest point of ``y``, differentiable.

    The argmin is found without gradients (cKDTree on CPU, chunked cdist on GPU); the distance is
    then recomputed from the gathered points, so gradients reach both ``x`` and ``y``.

    Args:
        x: (B, N, 3) or (N, 3).
        y: (B, M, 3) or (M, 3).
    Returns:
        dist2 (B, N) or (N,), idx (B, N) or (N,).
    """
    import torch

    batched = x.dim() == 3
    xb, yb = (x, y) if batched else (x[None], y[None])
    idx = torch.stack([_nearest_idx(xi.detach(), yi.detach(), chunk) for xi, yi in zip(xb, yb)]).to(x.device)
    nn = torch.gather(yb, 1, idx[..., None].expand(-1, -1, 3))
    dist2 = ((xb - nn) ** 2).sum(-1)
    return (dist2, idx) if batched else (dist2[0], idx[0])
