"""The supervision of the single-image method (FollowMyHold Sec. 4.1): crops and target maps.

- ``I_obj``: the object with the hand inpainted away, cut out as the generator's input.
- The working crop ``I_crop``/``I_hoi``: a square around the hand and the (amodal) object,
  resampled to ``crop_px``; every 2D loss is computed there, with its own camera.
- Target maps in that crop: visible hand / object / union silhouettes, the 2D hand keypoints,
  and — when there is partial geometry (an RGB-D depth map or MoGe-2) — metric disparity and
  camera-frame normals of the observed surface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hoikit.io.images import crop_camera, square_crop
from hoikit.perception.inpainting import InpaintResult, inpaint_hand_opencv
from hoikit.shape.crops import object_crop
from hoikit.types import Camera

CROP_MARGIN = 0.12  # the working crop extends the hand+object box by this fraction per side
OBJECT_CROP_PX = 256


@dataclass
class Cues:
    """What the guidance loop compares its renders with. Maps are (S, S) torch float32 tensors.

    Attributes:
        camera: the full image's camera.
        crop: the working crop's camera (S × S).
        crop_box: (cx, cy, side) of the working crop in image pixels.
        hand_mask, object_mask: visible masks in [0, 1]; ``hoi_mask`` their union.
        keypoints2d: (21, 2) crop pixels.
        disparity: (S, S) 1/metres, 0 where unknown (None without depth).
        normals: (S, S, 3) unit camera-frame normals facing the camera (None without depth).
        depth_valid: (S, S) bool where depth is known inside the hand+object masks.
        object_rgba: (256, 256, 4) uint8 generator input (hand inpainted, amodal alpha).
        object_center_px: (2,) image pixels of the amodal object's box centre (its view ray).
        object_extent_px: the amodal object's box side (longest), image pixels.
        amodal: (H, W) bool amodal object mask in the image.
    """

    camera: Camera
    crop: Camera
    crop_box: tuple[float, float, float]
    hand_mask: torch.Tensor
    object_mask: torch.Tensor
    hoi_mask: torch.Tensor
    keypoints2d: torch.Tensor
    disparity: torch.Tensor | None
    normals: torch.Tensor | None
    depth_valid: torch.Tensor | None
    object_rgba: np.ndarray
    object_center_px: np.ndarray
    object_extent_px: float
    amodal: np.ndarray
    inpaint_source: str = "opencv-telea"

    @property
    def has_depth(self) -> bool:
        return self.disparity is not None


def _box(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def working_crop_box(hand_mask: np.ndarray, object_mask: np.ndarray, keypoints2d: np.ndarray) -> tuple[float, float, float]:
    """(cx, cy, side) of a square around the hand keypoints, the hand and the object, with a margin."""
    boxes = [_box(m) for m in (hand_mask, object_mask) if m.any()]
    lo = keypoints2d.min(0)
    hi = keypoints2d.max(0) + 1
    boxes.append((lo[0], lo[1], hi[0], hi[1]))
    b = np.array(boxes)
    x0, y0, x1, y1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * CROP_MARGIN)
    return 0.5 * (x0 + x1) - 0.5, 0.5 * (y0 + y1) - 0.5, float(side)


def normals_from_depth(depth: np.ndarray, camera: Camera) -> np.ndarray:
    """(H, W, 3) unit camera-frame normals facing the camera from a depth map (central
    differences of back-projected points); 0 where a neighbour is missing."""
    from hoikit.io.depth import backproject

    H, W = depth.shape
    P = np.zeros((H, W, 3))
    valid = depth > 0
    P[valid] = backproject(depth, camera.K)  # row-major order matches np.nonzero
    dx = np.zeros_like(P)
    dy = np.zeros_like(P)
    dx[:, 1:-1] = P[:, 2:] - P[:, :-2]
    dy[1:-1] = P[2:] - P[:-2]
    n = np.cross(dx, dy)
    ok = valid.copy()
    ok[:, 1:-1] &= valid[:, 2:] & valid[:, :-2]
    ok[1:-1] &= valid[2:] & valid[:-2]
    ok[[0, -1], :] = False
    ok[:, [0, -1]] = False
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    n = np.where(ok[..., None] & (norm > 0), n / np.maximum(norm, 1e-12), 0.0)
    flip = n[..., 2] > 0  # face the camera (n_z < 0 for surfaces seen from the front)
    n[flip] *= -1
    return n


def build_cues(
    rgb: np.ndarray,
    camera: Camera,
    keypoints2d: np.ndarray,
    hand_mask: np.ndarray,
    object_mask: np.ndarray,
    crop_px: int,
    depth: np.ndarray | None = None,
    inpainted: InpaintResult | None = None,
) -> Cues:
    """Crops and target maps from the perception outputs (all in image pixels / metres)."""
    res = inpainted or inpaint_hand_opencv(rgb, hand_mask, object_mask)
    rgba, (ocx, ocy, oside) = object_crop(res.rgb, res.amodal, OBJECT_CROP_PX)
    cx, cy, side = working_crop_box(hand_mask, res.amodal, keypoints2d)
    cam = crop_camera(camera, cx, cy, side, crop_px)
    warp = lambda m: torch.as_tensor(square_crop(m.astype(np.float32), cx, cy, side, crop_px), dtype=torch.float32).clamp(0, 1)
    hand_t, obj_t = warp(hand_mask), warp(object_mask)
    kp = (keypoints2d - [cx - side / 2.0, cy - side / 2.0] + 0.5) * (crop_px / side) - 0.5
    disp = normals = valid = None
    if depth is not None:
        d = square_crop(depth.astype(np.float32), cx, cy, side, crop_px, nearest=True)
        hoi = (hand_t + obj_t).numpy() > 0.5
        d = np.where(hoi, d, 0.0)
        valid = torch.as_tensor(d > 0)
        disp = torch.as_tensor(np.where(d > 0, 1.0 / np.maximum(d, 1e-6), 0.0), dtype=torch.float32)
        normals = torch.as_tensor(normals_from_depth(d, cam), dtype=torch.float32)
    a_box = _box(res.amodal)
    return Cues(
        camera=camera, crop=cam, crop_box=(cx, cy, side), hand_mask=hand_t, object_mask=obj_t,
        hoi_mask=torch.maximum(hand_t, obj_t), keypoints2d=torch.as_tensor(kp, dtype=torch.float32),
        disparity=disp, normals=normals, depth_valid=valid, object_rgba=rgba,
        object_center_px=np.array([ocx, ocy]), object_extent_px=float(max(a_box[2] - a_box[0], a_box[3] - a_box[1])),
        amodal=res.amodal, inpaint_source=res.source,
    )  # fmt: skip
