"""Hand-object alignment and refinement (AlignHOI 3.4, A.4, on a CPU).

1. *Offset prior* (HORT is not available; embedded: from the grasp): one hand-object offset for the
   clip, in the object's frame, that puts the fingertips nearest the object on its surface — the
   hand's relative position to the object, as AlignHOI's eq. 5 uses it.
2. *Refinement* of a per-frame hand translation residual with the contact term (AlignHOI eq. 14:
   the contact fingertips to the object surface), the penetration term (eq. 15: hand vertices
   inside the object's SDF), an occlusion-aware silhouette term (projected hand vertices on
   pixels that are neither hand nor object; the object may hide the hand), the 2D keypoints and
   temporal smoothness.
3. *Articulation* (with the hand model): the same terms, now also over a clip-shared shape
   residual and a per-frame pose residual (joint angles, kept small and smooth over time and
   inside the model's limits), with the translation.

Only the hand moves: the object's poses and shape come from the posed frames.
"""

from __future__ import annotations

from dataclasses import replace

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


class _Scene:
    """What the alignment terms compare the hand with: the posed object's SDF, the pixels that are
    neither hand nor object (distance transform), the 2D keypoints, the contact tips."""

    def __init__(self, hand: HandTrack, mesh: trimesh.Trimesh, poses: Poses, camera: Camera, object_masks, hand_masks):
        from hoikit.video.pose import refine_targets

        self.grid, self.bounds = object_sdf_grid(mesh)
        self.R = torch.as_tensor(poses.R, dtype=torch.float32)
        self.t = torch.as_tensor(poses.t, dtype=torch.float32)
        self.s = poses.s
        self.camera = camera
        self.kp = torch.as_tensor(hand.keypoints2d, dtype=torch.float32)
        self.outside = refine_targets(hand_masks, object_masks, 1, dilate_px=1).outside_dt
        self.step = max(1, hand.vertices.shape[1] // VERTEX_SUBSAMPLE)
        with torch.no_grad():  # the offset prior's contact tips: the ones nearest the surface
            tips = torch.as_tensor(hand.joints[:, list(FINGERTIPS)], dtype=torch.float32)
            self.near = self.sdf(tips).argsort(1)[:, :CONTACT_TIPS]

    def sdf(self, points: torch.Tensor) -> torch.Tensor:
        return _object_sdf(points, self.grid, self.bounds, self.R, self.t, self.s)

    def terms(self, joints: torch.Tensor, verts: torch.Tensor) -> dict[str, torch.Tensor]:
        """Contact (m², mean squared SDF of the contact tips), penetration (m, mean depth of the
        vertices inside), silhouette (px), keypoints (px² / 100) of a hand: joints (T, 21, 3),
        vertices (T, N, 3), camera frame."""
        from hoikit.render.projection import project
        from hoikit.video.pose import MIN_DEPTH_M, _sample_dt

        tip_d = self.sdf(joints[:, list(FINGERTIPS)]).gather(1, self.near)
        return {
            "contact": tip_d.pow(2).mean(), "tip_abs": tip_d.abs().mean(),
            "penetration": torch.relu(-self.sdf(verts)).mean(),
            "silhouette": _sample_dt(self.outside, project(verts, self.camera, MIN_DEPTH_M)).mean(),
            "keypoints": (project(joints, self.camera, MIN_DEPTH_M) - self.kp).pow(2).sum(-1).mean() / 100.0,
        }  # fmt: skip

    def loss(self, terms: dict[str, torch.Tensor], cfg: AlignConfig) -> torch.Tensor:
        return (cfg.w_contact * terms["contact"] / 1e-4 + cfg.w_penetration * terms["penetration"] + cfg.w_mask * terms["silhouette"]
                + cfg.w_keypoints * terms["keypoints"])  # fmt: skip

    @staticmethod
    def report(terms: dict[str, torch.Tensor]) -> dict[str, float]:
        return {"contact_mm": float(terms["tip_abs"]) * 1000, "penetration_mm": float(terms["penetration"]) * 1000,
                "silhouette_px": float(terms["silhouette"]), "keypoints_px": float(terms["keypoints"] * 100) ** 0.5}  # fmt: skip


def _second_differences(x: torch.Tensor) -> torch.Tensor:
    """Mean squared second difference over time of (T, D) values (0 for fewer than 3 frames)."""
    return (x[2:] - 2 * x[1:-1] + x[:-2]).pow(2).sum(-1).mean() if len(x) >= 3 else x.sum() * 0


def align_hand(
    hand: HandTrack, mesh: trimesh.Trimesh, poses: Poses, camera: Camera, object_masks: np.ndarray, hand_masks: np.ndarray,
    cfg: AlignConfig = AlignConfig(), model=None,
) -> tuple[HandTrack, dict]:
    """The hand of every frame moved to meet the object (module docstring): translation, then with
    ``model`` (the hand model the track was fitted with) shape and pose too. Returns the refined
    hand and the final loss terms."""
    scene = _Scene(hand, mesh, poses, camera, object_masks, hand_masks)
    R = scene.R
    joints = torch.as_tensor(hand.joints, dtype=torch.float32)
    verts = torch.as_tensor(hand.vertices[:, :: scene.step], dtype=torch.float32)
    offset_obj = torch.zeros(3, requires_grad=True)  # clip-shared, object frame
    residual = torch.zeros(len(hand), 3, requires_grad=True)  # per frame, camera frame
    opt = torch.optim.Adam([offset_obj, residual], lr=cfg.lr_translation)
    for it in range(cfg.iterations):
        delta = torch.einsum("tij,j->ti", R, offset_obj) + residual  # (T, 3)
        terms = scene.terms(joints + delta[:, None], verts + delta[:, None])
        loss = scene.loss(terms, cfg) + cfg.w_pose * residual.pow(2).sum(-1).mean() / 1e-4 + 0.1 * _second_differences(residual) / 1e-6
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        delta = torch.einsum("tij,j->ti", R, offset_obj) + residual
        report = scene.report(scene.terms(joints + delta[:, None], verts + delta[:, None]))
    delta = delta.double().numpy()
    moved = replace(hand, joints=hand.joints + delta[:, None], vertices=hand.vertices + delta[:, None], t=hand.t + delta)
    report["offset_mm"] = float(np.linalg.norm(delta, axis=1).mean() * 1000)
    if model is not None and cfg.articulation_iterations > 0:
        moved, more = _articulate(moved, model, scene, cfg)
        report.update(more)
    return moved, report


def _articulate(hand: HandTrack, model, scene: _Scene, cfg: AlignConfig) -> tuple[HandTrack, dict]:
    """Shape (clip-shared), pose (per frame) and translation residuals of the hand model against the
    alignment terms (module docstring, step 3)."""
    from hoikit.types import Sim3

    dt = model.dtype
    pose0 = torch.as_tensor(hand.pose, dtype=dt)
    shape0 = torch.as_tensor(hand.shape, dtype=dt)
    lo, hi = model.pose_limits()
    slo, shi = model.shape_limits()
    Rh, th, sh = (torch.as_tensor(a, dtype=dt) for a in (hand.R, hand.t, hand.s))
    d_pose = torch.zeros_like(pose0, requires_grad=True)
    d_shape = torch.zeros_like(shape0, requires_grad=True)
    d_t = torch.zeros_like(th, requires_grad=True)
    opt = torch.optim.Adam([{"params": [d_pose], "lr": cfg.lr_pose}, {"params": [d_shape], "lr": cfg.lr_shape},
                            {"params": [d_t], "lr": cfg.lr_translation}])  # fmt: skip

    def posed():
        pose = (pose0 + d_pose).clamp(lo, hi)
        shape = (shape0 + d_shape).clamp(slo, shi)
        return model(pose, shape, Sim3(sh, Rh, th + d_t), side=hand.side), pose, shape

    for it in range(cfg.articulation_iterations):
        out, _, _ = posed()
        terms = scene.terms(out.joints.float(), out.vertices[:, :: scene.step].float())
        reg = (cfg.w_pose_residual * d_pose.pow(2).sum(-1).mean() / 0.01 + cfg.w_shape_residual * (d_shape / shape0).pow(2).sum() / 0.01
               + cfg.w_pose * d_t.pow(2).sum(-1).mean() / 1e-4 + 0.1 * (_second_differences(d_pose) / 1e-3 + _second_differences(d_t) / 1e-6))  # fmt: skip
        loss = scene.loss(terms, cfg) + reg
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        out, pose, shape = posed()
        report = {f"articulated_{k}": v for k, v in scene.report(scene.terms(out.joints.float(), out.vertices[:, :: scene.step].float())).items()}
        report["pose_residual_deg"] = float(torch.rad2deg((pose - pose0).abs()).mean())
        report["shape_residual"] = [float(x) for x in (shape - shape0)]
    refined = replace(
        hand, joints=out.joints.double().numpy(), vertices=out.vertices.double().numpy(), pose=pose.double().numpy(),
        shape=shape.double().numpy(), t=(th + d_t).detach().double().numpy(),
    )  # fmt: skip
    return refined, report
