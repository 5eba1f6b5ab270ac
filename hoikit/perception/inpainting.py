"""Removing the hand from the object (embedded default: OpenCV inpainting).

The object behind the hand is guessed as the hand pixels inside the convex hull of the visible
object (amodal completion for convex-ish objects); those pixels are filled from the surrounding
object colours with Telea's fast-marching inpainting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INPAINT_RADIUS_FRAC = 0.02  # inpainting radius as a fraction of the object's box diagonal


@dataclass
class InpaintResult:
    """rgb: (H, W, 3) uint8 with the hand removed over the object; amodal: (H, W) bool object
    silhouette including the part the hand hid."""

    rgb: np.ndarray
    amodal: np.ndarray
    source: str = "opencv-telea"


def amodal_object_mask(object_mask: np.ndarray, hand_mask: np.ndarray) -> np.ndarray:
    """Visible object ∪ (hand ∩ convex hull of the visible object)."""
    import cv2

    if not object_mask.any():
        return object_mask.copy()
    ys, xs = np.nonzero(object_mask)
    hull = cv2.convexHull(np.stack([xs, ys], axis=1).astype(np.int32))
    filled = np.zeros(object_mask.shape, np.uint8)
    cv2.fillConvexPoly(filled, hull, 1)
    return object_mask | (hand_mask & (filled > 0))


def inpaint_hand_opencv(rgb: np.ndarray, hand_mask: np.ndarray, object_mask: np.ndarray) -> InpaintResult:
    """Fill the hidden object pixels (amodal ∩ hand) from the visible object around them."""
    import cv2

    amodal = amodal_object_mask(object_mask, hand_mask)
    hole = amodal & hand_mask
    if not hole.any():
        return InpaintResult(rgb.copy(), amodal)
    ys, xs = np.nonzero(amodal)
    diag = float(np.hypot(xs.max() - xs.min(), ys.max() - ys.min()))
    # only object colours may flow into the hole: paint everything else with the object's mean first
    src = rgb.copy()
    outside = ~amodal
    if object_mask.any():
        src[outside] = rgb[object_mask].mean(axis=0).astype(np.uint8)
    out = cv2.inpaint(np.ascontiguousarray(src[..., ::-1]), hole.astype(np.uint8), max(3.0, INPAINT_RADIUS_FRAC * diag), cv2.INPAINT_TELEA)[..., ::-1]
    result = rgb.copy()
    result[hole] = out[hole]
    return InpaintResult(result, amodal)
