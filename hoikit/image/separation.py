"""Taking the object out of the hand: the interpenetration the guidance leaves, resolved by the
smallest object translation.

FollowMyHold's intersection term (eq. 3) is a soft fraction of a shared grid and competes with the
2D terms, so a few cubic centimetres of overlap usually survive it. What is left is resolved here
by a search, not by gradients (an overlap of a few voxels gives no useful gradient): every shift
``δ`` of a lattice of directions × lengths is scored by

    cost(δ) = IV(δ) + w · (|δ_∥|² + k |δ_⊥|²)          (cm³; δ in cm)

where ``IV(δ)`` counts the hand's interior points (a grid of pitch ``pitch_m``) that the shifted
object contains, ``δ_∥`` is the part of the shift along the viewing ray through the object's centre
(the direction a single photo constrains least) and ``δ_⊥`` the part across it (which would move
the object off its silhouette). With a depth map, the object's measured surface points ``c`` anchor
it: the cost adds ``a · mean_c |SDF_o(c − δ)|`` (cm), so the object leaves its data only for a
large overlap. The cheapest shift wins; ``δ = 0`` is a candidate, so the step never makes the
overlap worse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from hoikit.geometry.grid import grid_points
from hoikit.geometry.sampling import every_kth, sphere_directions
from hoikit.types import M_TO_CM


@dataclass(frozen=True)
class SeparationConfig:
    """The search of :func:`separate`."""

    enabled: bool = True
    pitch_m: float = 0.0025  # the hand-interior grid
    max_shift_m: float = 0.04
    shift_step_m: float = 0.001
    directions: int = 96
    motion_weight: float = 0.5  # w: cm³ of overlap one cm² of shift along the ray is worth
    across_ray_factor: float = 4.0  # k: a shift across the ray costs this many times more
    anchor_weight: float = 5.0  # a: cm³ of overlap per cm of mean distance of the depth points to the surface
    anchor_points: int = 2000  # depth points used (evenly subsampled)
    chunk_points: int = 4_000_000  # points per SDF evaluation (memory bound)


@dataclass
class Separation:
    """What :func:`separate` found: ``shift`` (3,) metres, camera frame; overlaps in cm³ on its grid."""

    shift: np.ndarray
    iv_before_cm3: float
    iv_after_cm3: float

    def to_dict(self) -> dict:
        return {"shift_mm": (self.shift * 1000).round(2).tolist(), "iv_before_cm3": round(self.iv_before_cm3, 3),
                "iv_after_cm3": round(self.iv_after_cm3, 3)}  # fmt: skip


def hand_interior(hand_sdf: Callable[[torch.Tensor], torch.Tensor], lo: np.ndarray, hi: np.ndarray, pitch: float) -> torch.Tensor:
    """(M, 3) points of a ``pitch`` grid over the box [lo, hi] (metres) where the hand's SDF is < 0."""
    n = np.maximum(np.ceil((hi - lo) / pitch).astype(int), 1)
    pts = grid_points(tuple(n), (lo, lo + (n - 1) * pitch), dtype=torch.float32).reshape(-1, 3)
    with torch.no_grad():
        return pts[hand_sdf(pts) < 0]


def shift_candidates(cfg: SeparationConfig) -> np.ndarray:
    """(C, 3) shifts (metres): zero, then ``directions`` unit vectors × every step up to ``max_shift_m``."""
    steps = np.arange(1, int(round(cfg.max_shift_m / cfg.shift_step_m)) + 1) * cfg.shift_step_m
    dirs = sphere_directions(cfg.directions)
    return np.concatenate([np.zeros((1, 3)), (steps[:, None, None] * dirs[None]).reshape(-1, 3)])


def motion_cost(shifts: np.ndarray, ray: np.ndarray, cfg: SeparationConfig) -> np.ndarray:
    """(C,) w·(|δ_∥|² + k|δ_⊥|²) with δ in cm, for shifts (C, 3) metres and a unit ``ray`` (3,)."""
    d = shifts * M_TO_CM
    along = d @ ray
    across2 = (d**2).sum(1) - along**2
    return cfg.motion_weight * (along**2 + cfg.across_ray_factor * across2)


def shifted_sdf(object_sdf: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor, shifts: np.ndarray,
                chunk_points: int) -> torch.Tensor:  # fmt: skip
    """(C, M) SDF of the object moved by each shift (C, 3) at points (M, 3), metres."""
    s = torch.as_tensor(shifts, dtype=points.dtype)
    per = max(1, chunk_points // max(len(points), 1))
    out = []
    with torch.no_grad():
        for i in range(0, len(s), per):
            pts = points[None] - s[i : i + per, None]  # the object moved by δ ≡ the points moved by −δ
            out.append(object_sdf(pts.reshape(-1, 3)).view(len(pts), -1))
    return torch.cat(out)


def separate(hand_sdf: Callable[[torch.Tensor], torch.Tensor], hand_vertices: np.ndarray,
             object_sdf: Callable[[torch.Tensor], torch.Tensor], object_vertices: np.ndarray,
             cfg: SeparationConfig = SeparationConfig(), anchors: np.ndarray | None = None) -> Separation:  # fmt: skip
    """The object shift (camera frame) of least :func:`motion_cost` + overlap (module docstring).

    Args:
        hand_sdf, object_sdf: camera-frame points (N, 3) float32 → (N,) signed distance, metres,
            negative inside.
        hand_vertices, object_vertices: (V, 3) metres, camera frame (their boxes bound the search).
        anchors: (K, 3) measured points of the object's surface (camera frame), or None.
    """
    lo = np.maximum(hand_vertices.min(0), object_vertices.min(0) - cfg.max_shift_m)
    hi = np.minimum(hand_vertices.max(0), object_vertices.max(0) + cfg.max_shift_m)
    if np.any(hi <= lo):
        return Separation(np.zeros(3), 0.0, 0.0)
    interior = hand_interior(hand_sdf, lo, hi, cfg.pitch_m)
    shifts = shift_candidates(cfg)
    iv = (shifted_sdf(object_sdf, interior, shifts, cfg.chunk_points) < 0).sum(1).numpy() * (cfg.pitch_m * M_TO_CM) ** 3
    centre = 0.5 * (object_vertices.min(0) + object_vertices.max(0))
    ray = centre / max(np.linalg.norm(centre), 1e-9)
    cost = iv + motion_cost(shifts, ray, cfg)
    if anchors is not None and len(anchors) and cfg.anchor_weight:
        pts = torch.as_tensor(every_kth(anchors, cfg.anchor_points), dtype=torch.float32)
        cost = cost + cfg.anchor_weight * M_TO_CM * shifted_sdf(object_sdf, pts, shifts, cfg.chunk_points).abs().mean(1).numpy()
    best = int(np.argmin(cost))
    return Separation(shifts[best].copy(), float(iv[0]), float(iv[best]))
