"""3D terms: intersection, proximity (FollowMyHold eqs. 3–4), contact and penetration (AlignHOI
eqs. 14–15), and measured surface points against a shape's SDF.

They take distances or signed distances that the caller evaluates where its geometry lives:
:func:`hoikit.geometry.sdf.mesh_signed_distance` for meshes (gradient to points and vertices),
:func:`hoikit.geometry.grid.sample_grid` for SDF grids (gradient to points and grid values).
"""

from __future__ import annotations

import torch

from hoikit.geometry.grid import grid_points
from hoikit.geometry.knn import knn_points

DEFAULT_TEMPERATURE_M = 1e-3  # soft-inside width: about one grid pitch of a fine shared grid
CONTACT_MARGIN_M = 0.01  # FollowMyHold's δ_contact: hand vertices within 1 cm are "in contact"
_DIST_EPS2 = 1e-18  # m² under the square root: finite gradient at zero distance


def soft_inside(sdf: torch.Tensor, temperature: float = DEFAULT_TEMPERATURE_M) -> torch.Tensor:
    """σ(−sdf/τ): a differentiable 𝟙[sdf < 0] (½ on the surface, → 1 inside, → 0 outside)."""
    return torch.sigmoid(-sdf / temperature)


def intersection_loss(
    sdf_hand: torch.Tensor, sdf_object: torch.Tensor, temperature: float | None = DEFAULT_TEMPERATURE_M
) -> torch.Tensor:
    """Fraction of shared grid points inside both shapes (FollowMyHold eq. 3).

    Eq. 3 is (1/K) Σ 𝟙[SDF_h(f_i) < 0 ∧ SDF_o(f_i) < 0]; its indicator has no gradient, so the
    soft form replaces each indicator by :func:`soft_inside`. The product is a soft overlap
    volume (× the cell volume) whose gradient lives where either surface crosses the overlap;
    pick τ about the grid pitch so that several grid points feel it.

    Args:
        sdf_hand, sdf_object: (K,) or any equal shape: both SDFs (metres, negative inside) at the
            same K points of a shared grid.
        temperature: τ in metres; None gives the exact (hard, gradient-free) eq. 3.
    Returns:
        scalar in [0, 1].
    """
    if temperature is None:
        return ((sdf_hand < 0) & (sdf_object < 0)).to(sdf_hand.dtype).mean()
    return (soft_inside(sdf_hand, temperature) * soft_inside(sdf_object, temperature)).mean()


def overlap_grid(points_a: torch.Tensor, points_b: torch.Tensor, resolution: int, pad: float = 0.0) -> torch.Tensor:
    """Points of a ``resolution``³ grid over the overlap of two bounding boxes (no gradient).

    Where the two shapes can intersect at all; evaluate both SDFs there for
    :func:`intersection_loss`.

    Args:
        points_a, points_b: (N, 3), (M, 3) vertices of the two meshes, metres.
        pad: metres added around the overlap box on every side.
    Returns:
        (resolution³, 3), or (0, 3) when the boxes do not overlap.
    """
    a, b = points_a.detach(), points_b.detach()
    lo = torch.maximum(a.min(0).values, b.min(0).values) - pad
    hi = torch.minimum(a.max(0).values, b.max(0).values) + pad
    if bool((hi <= lo).any()):
        return a.new_zeros((0, 3))
    bounds = (lo.double().cpu().numpy(), hi.double().cpu().numpy())
    return grid_points(resolution, bounds, dtype=a.dtype, device=a.device).reshape(-1, 3)


def nearest_distance(points: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """(N,) Euclidean distance (metres) from each point to its nearest reference point, with
    gradients to both sets (:func:`hoikit.geometry.knn.knn_points`)."""
    dist2, _ = knn_points(points, reference)
    return (dist2 + _DIST_EPS2).sqrt()


def proximity_loss(
    hand_points: torch.Tensor, object_points: torch.Tensor, margin: float = CONTACT_MARGIN_M
) -> torch.Tensor:
    """Attraction with a margin, one-sided hand → object (FollowMyHold eq. 4):
    (1/|V_h|) Σ_{v ∈ V_h} max(0, d_ho(v) − δ_contact).

    Args:
        hand_points: (N, 3) hand vertices V_h, metres.
        object_points: (M, 3) object vertices V_o (or surface samples), metres.
        margin: δ_contact in metres (1 cm).
    Returns:
        scalar, metres.
    """
    return torch.relu(nearest_distance(hand_points, object_points) - margin).mean()


def contact_loss(hand_contact_points: torch.Tensor, object_points: torch.Tensor) -> torch.Tensor:
    """(1/|V_h^c|) Σ_{v ∈ V_h^c} min_{u ∈ V_o} ‖v − u‖² (AlignHOI eq. 14).

    Args:
        hand_contact_points: (N, 3) the hand's contact-region vertices V_h^c, metres.
        object_points: (M, 3) object-surface vertices V_o, metres (denser samples give a
            distance closer to the true surface distance).
    Returns:
        scalar, m².
    """
    dist2, _ = knn_points(hand_contact_points, object_points)
    return dist2.mean()


def penetration_loss(object_sdf_at_hand: torch.Tensor) -> torch.Tensor:
    """(1/|V_h|) Σ_{v ∈ V_h} max(0, −Φ_o(v)) (AlignHOI eq. 15).

    Args:
        object_sdf_at_hand: (N,) the object's signed distance Φ_o (metres, negative inside) at
            the hand vertices, e.g. ``mesh_signed_distance(hand_v, obj_v, obj_f)`` or
            ``sample_grid(object_sdf_grid, bounds, hand_v)``.
    Returns:
        scalar, metres.
    """
    return torch.relu(-object_sdf_at_hand).mean()


def surface_loss(sdf_at_points: torch.Tensor, cap: float) -> torch.Tensor:
    """(1/N) Σ min(|Φ(p)|, cap): measured surface points (e.g. a depth map's) on a zero level set.

    The cap bounds what one wrong point (a mask pixel off the object) can cost.

    Args:
        sdf_at_points: (N,) signed distance (metres) of the shape at the points.
        cap: metres.
    Returns:
        scalar, metres (0 for no points).
    """
    if sdf_at_points.numel() == 0:
        return sdf_at_points.sum()
    return sdf_at_points.abs().clamp(max=cap).mean()
