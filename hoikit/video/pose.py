"""Object pose per frame (AlignHOI 3.2, A.2 on a CPU): the hand-implied pose (rigid grasp from a
reference frame), template retrieval → top-n → geometric verification, and continuous refinement
of every frame at once against the masks with hand and temporal terms.

Refinement objective (pixels, all frames batched; the scale is shared by the clip):
- *outside*: projected surface samples that land on background (neither object nor hand: the hand
  may hide the object) cost their distance to the nearest kept pixel;
- *cover*: visible object pixels (or only the outline away from the hand) cost their distance to
  the nearest projected sample;
- *hand*: 1 − cos of the angle to the hand-implied rotation (the rigid-grasp prior: the held
  object turns with the hand) and, weakly, the offset to its translation (per 5 cm);
- *smooth*: second differences over time of translation (cm) and rotation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hoikit.render.projection import project
from hoikit.types import Camera
from hoikit.video.carve import Poses, dilate
from hoikit.video.config import RefineConfig

HAND_TRANSLATION_SCALE_M = 0.05
MIN_DEPTH_M = 1e-3  # the projection's divisor while poses are optimised


# --------------------------------------------------------------------------- hand-implied poses
def grasp_depth(joints: np.ndarray) -> float:
    """Depth (metres) of the grasp: median z of the fingertips and finger bases of one frame (21, 3)."""
    return float(np.median(joints[[4, 8, 12, 16, 20, 5, 9, 13, 17], 2]))


def mask_centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


def ray_point(pixel: np.ndarray, depth: float, camera: Camera) -> np.ndarray:
    """The camera-frame point at ``depth`` (z) on the ray through ``pixel`` (2,)."""
    return np.array([(pixel[0] - camera.cx) / camera.fx * depth, (pixel[1] - camera.cy) / camera.fy * depth, depth])


def hand_implied_poses(hand_R: np.ndarray, hand_t: np.ndarray, ref: int, ref_pose: tuple[np.ndarray, np.ndarray], s: float = 1.0) -> Poses:
    """Object poses if the object moved rigidly with the hand: T_o(t) = T_h(t) · T_h(ref)⁻¹ · T_o(ref).

    Args:
        hand_R: (T, 3, 3), hand_t: (T, 3): the hand's rigid motion per frame.
        ref_pose: (R, t) of the object at frame ``ref``.
    """
    M = hand_R @ hand_R[ref].T  # (T, 3, 3)
    m = hand_t - np.einsum("tij,j->ti", M, hand_t[ref])
    R0, t0 = ref_pose
    return Poses(M @ R0, np.einsum("tij,j->ti", M, t0) + m, s)


def rotation_angles(Ra: np.ndarray, Rb: np.ndarray) -> np.ndarray:
    """(…,) geodesic angles (radians) between rotation stacks (…, 3, 3)."""
    c = (np.einsum("...ij,...ij->...", Ra, Rb) - 1.0) / 2.0
    return np.arccos(np.clip(c, -1.0, 1.0))


# ------------------------------------------------------------------------------ refinement
@dataclass
class RefineTargets:
    """What every frame's silhouette is compared with.

    Attributes:
        outside_dt: (T, H, W) float32 pixels from each pixel to the nearest kept pixel (object ∪ hand).
        object_px: (T, M, 2) sampled object-mask pixels (x, y), or with ``contour_only`` its outline
            away from the hand;
            object_w: (T, M) 1 for real samples.
    """

    outside_dt: torch.Tensor
    object_px: torch.Tensor
    object_w: torch.Tensor
    area: torch.Tensor  # (T,) visible object pixels


def refine_targets(
    object_masks: np.ndarray, hand_masks: np.ndarray, n_pixels: int, seed: int = 0, dilate_px: int = 1, contour_only: bool = False,
) -> RefineTargets:
    from scipy.ndimage import binary_erosion, distance_transform_edt

    keep = dilate(object_masks | hand_masks, dilate_px)
    # the outline of the object that is not against the hand (there the true outline is hidden)
    contour = object_masks & ~binary_erosion(object_masks, structure=np.ones((1, 3, 3), bool), border_value=0)
    contour &= ~dilate(hand_masks, 1)
    if not contour_only:
        contour = object_masks
    dt = np.stack([distance_transform_edt(~k) for k in keep]).astype(np.float32)
    rng = np.random.default_rng(seed)
    T = len(object_masks)
    px = np.zeros((T, n_pixels, 2), np.float32)
    w = np.zeros((T, n_pixels), np.float32)
    for k, m in enumerate(contour):
        ys, xs = np.nonzero(m)
        if len(xs) == 0:
            continue
        pick = rng.choice(len(xs), n_pixels, replace=len(xs) < n_pixels)
        px[k] = np.stack([xs[pick], ys[pick]], 1)
        w[k] = 1.0
    area = torch.as_tensor(object_masks.reshape(T, -1).sum(1), dtype=torch.float32)
    return RefineTargets(torch.from_numpy(dt), torch.from_numpy(px), torch.from_numpy(w), area)


def _sample_dt(dt: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """(T, H, W) maps at (T, N, 2) pixels, bilinear; outside the image: the border value plus the
    distance to the image."""
    T, H, W = dt.shape
    gx = 2.0 * (uv[..., 0] + 0.5) / W - 1.0
    gy = 2.0 * (uv[..., 1] + 0.5) / H - 1.0
    grid = torch.stack([gx, gy], -1)[:, :, None, :]  # (T, N, 1, 2)
    val = torch.nn.functional.grid_sample(dt[:, None], grid, mode="bilinear", padding_mode="border", align_corners=False)[:, 0, :, 0]
    off = torch.relu(-uv[..., 0]) + torch.relu(uv[..., 0] - (W - 1)) + torch.relu(-uv[..., 1]) + torch.relu(uv[..., 1] - (H - 1))
    return val + off


def silhouette_losses(uv: torch.Tensor, targets: RefineTargets) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame (T,) outside and cover terms (pixels) for projected samples ``uv`` (T, P, 2).

    Both are made free of the samples' discreteness, which would otherwise bias the pose towards
    shrinking (denser projections cover better): the outline of a pixel lies half a pixel from its
    centre (``outside`` counts from there), and a mask pixel within the projected samples' mean
    spacing (sqrt(area / P)) of one counts as covered.
    """
    outside = torch.relu(_sample_dt(targets.outside_dt, uv) - 0.5).mean(1)
    d = torch.cdist(targets.object_px, uv)  # (T, M, P)
    near = d.min(2).values
    spacing = (targets.area / uv.shape[1]).sqrt()[:, None]
    cover = (torch.relu(near - spacing) * targets.object_w).sum(1) / targets.object_w.sum(1).clamp(min=1.0)
    return outside, cover


def _second_diff(x: torch.Tensor) -> torch.Tensor:
    return x[2:] - 2 * x[1:-1] + x[:-2] if len(x) >= 3 else x[:0]


def refine_poses(
    points: np.ndarray, init: Poses, camera: Camera, targets: RefineTargets, hand_poses: Poses | None, cfg: RefineConfig = RefineConfig(),
    fit_scale: bool = True,
) -> tuple[Poses, dict]:
    """Refine every frame's pose (and the shared scale) against the masks (module docstring).

    Args:
        points: (P, 3) canonical surface samples of the current shape.
        hand_poses: the hand-implied poses (None: no hand term).
    Returns:
        the refined poses and the final loss terms.
    """
    from hoikit.geometry.rotations import axis_angle_to_matrix

    dt = torch.float32
    P = torch.as_tensor(points, dtype=dt)
    R0 = torch.as_tensor(init.R, dtype=dt)
    t0 = torch.as_tensor(init.t, dtype=dt)
    T = len(init)
    omega = torch.zeros(T, 3, dtype=dt, requires_grad=True)
    dtr = torch.zeros(T, 3, dtype=dt, requires_grad=True)
    log_s = torch.zeros((), dtype=dt, requires_grad=fit_scale)
    groups = [{"params": [omega], "lr": cfg.lr_rotation}, {"params": [dtr], "lr": cfg.lr_translation}]
    if fit_scale:
        groups.append({"params": [log_s], "lr": cfg.lr_log_scale})
    opt = torch.optim.Adam(groups)
    Rh = torch.as_tensor(hand_poses.R, dtype=dt) if hand_poses is not None else None
    th = torch.as_tensor(hand_poses.t, dtype=dt) if hand_poses is not None else None
    terms: dict = {}
    for _ in range(cfg.iterations):
        R = axis_angle_to_matrix(omega) @ R0
        t = t0 + dtr
        s = init.s * torch.exp(log_s)
        X = s * torch.einsum("tij,pj->tpi", R, P) + t[:, None, :]
        uv = project(X, camera, MIN_DEPTH_M)
        outside, cover = silhouette_losses(uv, targets)
        loss = cfg.w_outside * outside.mean() + cfg.w_cover * cover.mean()
        if Rh is not None:
            cos = ((R * Rh).sum((1, 2)) - 1.0) / 2.0
            hand_rot = (1.0 - cos).mean()
            hand_t = (((t - th) / HAND_TRANSLATION_SCALE_M) ** 2).sum(1).mean()
            loss = loss + cfg.w_hand_rotation * hand_rot + cfg.w_hand_translation * hand_t
        smooth = (_second_diff(t) / 0.01).pow(2).sum(-1).mean() + (_second_diff(R.reshape(T, 9)) / 0.1).pow(2).sum(-1).mean() if T >= 3 else loss * 0
        loss = loss + cfg.w_smooth * smooth
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        R = axis_angle_to_matrix(omega) @ R0
        terms = {"outside_px": float(outside.mean()), "cover_px": float(cover.mean()), "smooth": float(smooth), "loss": float(loss)}
        out = Poses(R.double().numpy(), (t0 + dtr).double().numpy(), float(init.s * torch.exp(log_s)))
    return out, terms
