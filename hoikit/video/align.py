"""Hand-object alignment and refinement (AlignHOI 3.4, A.4, on a CPU).

1. *Offset prior* (HORT is not available; embedded: from the grasp): one hand-object offset for the
   clip, in the object's frame, that puts the fingertips nearest the object on its surface — the
   hand's relative position to the object, as AlignHOI's eq. 5 uses it.
2. *Refinement* of a per-frame hand translation residual with the contact term (AlignHOI eq. 14:
   the contact fingertips to the object surface), the penetration term (eq. 15: hand vertices
   inside the object's SDF), an occlusion-aware silhouette term (projected hand vertices on
   pixels that are neither hand nor object; the object may hide the hand), the 2D keypoints and
   temporal smoothness.

Only the hand moves: the object's poses and shape come from the posed frames.
"""

from __future__ import annotations

import numpy as np
import torch
import trimesh

from hoikit.types import FINGERTIPS, Camera
from hoikit.video.carve import Poses
from hoikit.video.config import AlignConfig
from hoikit.video.hands import HandTrack

CONTACT_TIPS = 3  # fingertips nearest the object count as touching it
SDF_RESOLUTION = 40
VERTEX_SUBSAMPLE = 400


def object_sdf_grid(mesh: trimesh.Trimesh, resolution: int = SDF_RESOLUTION) -> tuple[torch.Tensor, tuple[np.ndarray, np.ndarray]]:
    """The canonical object's SDF on a grid over its padded bounds: (R, R, R) metres and the bounds."""
    from hoikit.geometry.sdf import mesh_sdf_grid

    lo, hi = mesh.bounds
    pad = 0.25 * (hi - lo).max() + 0.01
    bounds = (lo - pad, hi + pad)
    return torch.as_tensor(mesh_sdf_grid(mesh.vertices, mesh.faces, resolution, bounds), dtype=torch.float32), bounds


def _object_sdf(points: torch.Tensor, grid: torch.Tensor, bounds, R: torch.Tensor, t: torch.Tensor, s: float) -> torch.Tensor:
    """SDF (metres) of the posed object at camera-frame points (T, N, 3) → (T, N)."""
    from hoikit.geometry.grid import sample_grid

    local = torch.einsum("tji,tnj->tni", R, points - t[:, None]) / s
    return sample_grid(grid, bounds, local.reshape(-1, 3)).reshape(local.shape[:2]) * s


def align_hand(
    hand: HandTrack, mesh: trimesh.Trimesh, poses: Poses, camera: Camera, object_masks: np.ndarray, hand_masks: np.ndarray,
    cfg: AlignConfig = AlignConfig(),
) -> tuple[HandTrack, dict]:
    """The hand of every frame moved to meet the object (module docstring). Returns the moved hand
    and the final loss terms."""
    from hoikit.render.projection import project
    from hoikit.video.pose import MIN_DEPTH_M, _sample_dt, refine_targets

    grid, bounds = object_sdf_grid(mesh)
    R = torch.as_tensor(poses.R, dtype=torch.float32)
    t = torch.as_tensor(poses.t, dtype=torch.float32)
    joints = torch.as_tensor(hand.joints, dtype=torch.float32)
    step = max(1, hand.vertices.shape[1] // VERTEX_SUBSAMPLE)
    verts = torch.as_tensor(hand.vertices[:, ::step], dtype=torch.float32)
    tips = joints[:, list(FINGERTIPS)]
    with torch.no_grad():  # the offset prior: closest tips onto the surface, one offset for the clip (object frame)
        d = _object_sdf(tips, grid, bounds, R, t, poses.s)
        near = d.argsort(1)[:, :CONTACT_TIPS]
    kp = torch.as_tensor(hand.keypoints2d, dtype=torch.float32)
    outside = refine_targets(hand_masks, object_masks, 1, dilate_px=1).outside_dt
    offset_obj = torch.zeros(3, requires_grad=True)  # clip-shared, object frame
    residual = torch.zeros(len(hand), 3, requires_grad=True)  # per frame, camera frame
    opt = torch.optim.Adam([{"params": [offset_obj], "lr": cfg.lr_translation}, {"params": [residual], "lr": cfg.lr_translation}])
    terms: dict = {}
    for it in range(cfg.iterations):
        delta = torch.einsum("tij,j->ti", R, offset_obj) + residual  # (T, 3)
        tip_d = _object_sdf(tips + delta[:, None], grid, bounds, R, t, poses.s).gather(1, near)
        contact = tip_d.pow(2).mean()
        pen = torch.relu(-_object_sdf(verts + delta[:, None], grid, bounds, R, t, poses.s)).mean()
        uv = project(verts + delta[:, None], camera, MIN_DEPTH_M)
        sil = _sample_dt(outside, uv).mean()
        kp_err = ((project(joints + delta[:, None], camera, MIN_DEPTH_M) - kp).pow(2).sum(-1).mean()) / 100.0
        smooth = (residual[2:] - 2 * residual[1:-1] + residual[:-2]).pow(2).sum(-1).mean() / 1e-6 if len(hand) >= 3 else contact * 0
        loss = (cfg.w_contact * contact / 1e-4 + cfg.w_penetration * pen + cfg.w_mask * sil + cfg.w_keypoints * kp_err
                + cfg.w_pose * residual.pow(2).sum(-1).mean() / 1e-4 + 0.1 * smooth)  # fmt: skip
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        terms = {"contact_mm": float(tip_d.abs().mean()) * 1000, "penetration_mm": float(pen) * 1000, "silhouette_px": float(sil),
                 "keypoints_px": float(kp_err * 100) ** 0.5}  # fmt: skip
    with torch.no_grad():
        delta = (torch.einsum("tij,j->ti", R, offset_obj) + residual).double().numpy()
    moved = HandTrack(
        joints=hand.joints + delta[:, None], vertices=hand.vertices + delta[:, None], faces=hand.faces, keypoints2d=hand.keypoints2d,
        detected=hand.detected, side=hand.side, pose=hand.pose, shape=hand.shape, R=hand.R, t=hand.t + delta, s=hand.s,
        fit_residual_mm=hand.fit_residual_mm, model=hand.model,
    )  # fmt: skip
    terms["offset_mm"] = float(np.linalg.norm(delta, axis=1).mean() * 1000)
    return moved, terms
