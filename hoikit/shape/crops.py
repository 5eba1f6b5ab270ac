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
        crop's centre and side in input pixels (:func:`hoikit.io.images.square_crop`).
    """
    from hoikit.io.images import square_crop

    if not mask.any():
        raise ValueError("object_crop needs a non-empty mask")
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    # box centre in pixel-centre coordinates: pixels x0 … x1−1 span [x0 − ½, x1 − ½]
    cx, cy = 0.5 * (x0 + x1) - 0.5, 0.5 * (y0 + y1) - 0.5
    side = max(x1 - x0, y1 - y0) / (1.0 - 2.0 * border)
    comp = np.where(mask[..., None], rgb, 255).astype(np.uint8)
    out_rgb = square_crop(comp, cx, cy, side, size, fill=(255, 255, 255))
    alpha = square_crop(mask.astype(np.uint8) * 255, cx, cy, side, size)
    return np.dstack([out_rgb, alpha]), (float(cx), float(cy), float(side))
