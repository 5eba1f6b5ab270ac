"""The object image a shape generator is conditioned on (FollowMyHold's I_obj, Hunyuan3D-2's input).

A square crop with the object centred, a white background, and the object mask as alpha; the
object's bounding box fills 1 − 2·``border`` of the crop (Hunyuan3D-2 uses a border ratio of 0.15).
"""

from __future__ import annotations

import numpy as np

BORDER_RATIO = 0.15


def object_crop(rgb: np.ndarray, mask: np.ndarray, size: int = 256, border: float = BORDER_RATIO) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Cut the object out into a square RGBA crop.

    Args:
        rgb: (H, W, 3) uint8.
        mask: (H, W) bool object mask (amodal when the hand was inpainted).
        size: output side in pixels.
        border: fraction of the crop left free on each side of the object's box.
    Returns:
        rgba (size, size, 4) uint8 — RGB composited on white, alpha = mask — and (cx, cy, side): the
        crop's centre and side in input pixels, so crop pixel (u, v) ↔ input
        (cx + (u + 0.5) / size · side − side / 2 − 0.5, likewise for v).
    """
    import cv2

    if not mask.any():
        raise ValueError("object_crop needs a non-empty mask")
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    side = max(x1 - x0, y1 - y0) / (1.0 - 2.0 * border)
    # an affine map from the input to the crop, sampling with the pixel-centre convention
    s = size / side
    A = np.array([[s, 0.0, size / 2 - s * cx + 0.5 * s - 0.5], [0.0, s, size / 2 - s * cy + 0.5 * s - 0.5]])
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    white = np.full_like(rgb, 255)
    comp = np.where(mask[..., None], rgb, white)
    out_rgb = cv2.warpAffine(comp, A, (size, size), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
    alpha = cv2.warpAffine(mask.astype(np.uint8) * 255, A, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
    return np.dstack([out_rgb, alpha]), (float(cx), float(cy), float(side))
