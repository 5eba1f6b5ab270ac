"""Regularisers of the transforms and of the mesh (FollowMyHold Sec. 4.2.2–4.2.3: L_reg,h keeps
the hand's translation small; L_reg,o penalises "excessive translation, scale drift, and mesh
noise")."""

from __future__ import annotations

import torch


def translation_reg(t: torch.Tensor) -> torch.Tensor:
    """‖t‖² (FollowMyHold L_reg,h = ‖t_h‖²), summed over the last axis, averaged over the rest.

    Args:
        t: (..., 3) translation in metres (the optimised offset, not the absolute position).
    Returns:
        scalar, m².
    """
    return t.square().sum(-1).mean()


def scale_reg(log_scale: torch.Tensor) -> torch.Tensor:
    """(log s)²: scale drift, symmetric in growing and shrinking (s = 2 costs what s = ½ does).

    Args:
        log_scale: (...) natural log of the optimised scale (``Sim3Params.log_s``).
    Returns:
        scalar (mean over elements).
    """
    return log_scale.square().mean()


def uniform_laplacian(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """δ_i = v_i − mean of v_i's edge neighbours, per vertex.

    Args:
        vertices: (V, 3); faces: (F, 3) long.
    Returns:
        (V, 3); zero for isolated vertices.
    """
    edges = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = torch.unique(torch.sort(edges, dim=1).values, dim=0)  # each undirected edge once
    src = torch.cat([edges[:, 0], edges[:, 1]])
    dst = torch.cat([edges[:, 1], edges[:, 0]])
    nb_sum = torch.zeros_like(vertices).index_add(0, src, vertices[dst])
    degree = torch.zeros(len(vertices), dtype=vertices.dtype, device=vertices.device).index_add(
        0, src, torch.ones_like(src, dtype=vertices.dtype)
    )
    mean_nb = nb_sum / degree.clamp(min=1.0)[:, None]
    return torch.where(degree[:, None] > 0, vertices - mean_nb, torch.zeros_like(vertices))


def laplacian_smoothness(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Mesh noise: mean ‖δ_i‖² of the uniform Laplacian (FollowMyHold L_reg,o, "mesh noise").

    The uniform (not cotangent) Laplacian: robust on the irregular triangles marching cubes
    makes, and its minimum spreads vertices evenly as well as smoothing.

    Args:
        vertices: (V, 3) metres; faces: (F, 3) long.
    Returns:
        scalar, m².
    """
    return uniform_laplacian(vertices, faces).square().sum(-1).mean()
