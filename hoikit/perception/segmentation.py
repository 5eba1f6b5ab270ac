"""Hand and object masks: the embedded classical segmenter (GrabCut seeded from the grasp).

The hand mask is drawn from the 21 keypoints (bones as thick strokes, the palm as a polygon). The
object is what GrabCut separates from the background around the grasp: the region the fingers and
thumb enclose is "probably object", the hand itself and the far surroundings are background; the
result keeps the components that touch the grasp and never includes hand pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hoikit.types import FINGERS, HAND_PARENTS

PALM_POLYGON = (0, 1, 2, 5, 9, 13, 17)  # wrist, thumb base, finger MCPs


@dataclass(frozen=True)
class SegmenterConfig:
    """GrabCut seeding and post-processing."""

    finger_width: float = 0.28  # stroke width of a finger, as a fraction of the palm width
    roi_scale: float = 2.2  # the ROI is the hand box scaled by this about the grasp centre
    image_side_px: int = 640  # masks are computed on the image downscaled to this longest side
    work_side_px: int = 320  # GrabCut runs on the ROI resized to this longest side
    iterations: int = 6
    context_scale: float = 1.4  # GrabCut's crop is the ROI scaled by this (background context)
    grow: float = 0.25  # the enclosed grasp region is grown by this × hand size as "probably object"
    min_area_frac: float = 0.002  # masks smaller than this fraction of the image count as empty


@dataclass
class Masks:
    """Boolean (H, W) masks in image pixels."""

    hand: np.ndarray
    object: np.ndarray
    source: str  # "given", "grabcut", …


def palm_width_px(keypoints2d: np.ndarray) -> float:
    """Index-MCP to pinky-MCP distance (pixels), a size that ignores finger articulation."""
    return float(np.linalg.norm(keypoints2d[5] - keypoints2d[17]))


def hand_mask_from_keypoints(keypoints2d: np.ndarray, shape: tuple[int, int], finger_width: float = 0.28) -> np.ndarray:
    """(H, W) bool hand silhouette drawn from 21 keypoints: thick bone strokes + a filled palm."""
    import cv2

    h, w = shape
    mask = np.zeros((h, w), np.uint8)
    palm = max(palm_width_px(keypoints2d), 4.0)
    thick = max(2, int(round(finger_width * palm)))
    pts = np.round(keypoints2d).astype(np.int32)
    cv2.fillPoly(mask, [pts[list(PALM_POLYGON)]], 1)
    for j, parent in enumerate(HAND_PARENTS):
        if parent >= 0:
            cv2.line(mask, tuple(pts[parent]), tuple(pts[j]), 1, thick, cv2.LINE_AA)
    for finger in FINGERS:  # fingertips are rounder than a line cap
        cv2.circle(mask, tuple(pts[finger[-1]]), thick // 2, 1, -1)
    return mask.astype(bool)


def grasp_centre(keypoints2d: np.ndarray) -> np.ndarray:
    """(2,) pixels: where a held object most likely is — between the thumb tip and the finger pads."""
    pads = keypoints2d[[7, 8, 11, 12, 15, 16]].mean(axis=0)  # index, middle, ring DIP and tip
    return 0.5 * (keypoints2d[4] + pads)


def _roi(keypoints2d: np.ndarray, shape: tuple[int, int], scale: float) -> tuple[int, int, int, int]:
    h, w = shape
    lo, hi = keypoints2d.min(0), keypoints2d.max(0)
    c = 0.5 * (grasp_centre(keypoints2d) + 0.5 * (lo + hi))
    half = 0.5 * scale * max(hi - lo)
    x0, y0 = int(max(0, c[0] - half)), int(max(0, c[1] - half))
    x1, y1 = int(min(w, c[0] + half + 1)), int(min(h, c[1] + half + 1))
    return x0, y0, x1, y1


def forearm_mask(keypoints2d: np.ndarray, shape: tuple[int, int], length: float = 1.6) -> np.ndarray:
    """(H, W) bool: a stroke continuing from the wrist away from the fingers (the forearm/sleeve),
    ``length`` × the wrist→middle-MCP distance long and a palm width wide."""
    import cv2

    mask = np.zeros(shape, np.uint8)
    wrist, mcp = keypoints2d[0], keypoints2d[9]
    end = wrist + length * (wrist - mcp)
    thick = max(3, int(1.2 * palm_width_px(keypoints2d)))
    cv2.line(mask, tuple(np.round(wrist).astype(int)), tuple(np.round(end).astype(int)), 1, thick)
    return mask.astype(bool)


def _enclosed(keypoints2d: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the convex hull of the thumb and finger keypoints (what the grasp encloses)."""
    import cv2

    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, cv2.convexHull(np.round(keypoints2d[1:]).astype(np.int32)), 1)
    return m.astype(bool)


def _seed(keypoints2d: np.ndarray, hand: np.ndarray, roi: tuple[int, int, int, int], cfg: SegmenterConfig) -> np.ndarray:
    """GrabCut labels for the whole image.

    Probably object: the region the thumb and fingers enclose, grown by ``grow`` × the hand size
    (objects stick out of the grasp). Probably background: the rest of the ROI. Background: the
    hand and forearm (never object) and everything outside the ROI.
    """
    import cv2

    h, w = hand.shape
    labels = np.full((h, w), cv2.GC_BGD, np.uint8)
    x0, y0, x1, y1 = roi
    labels[y0:y1, x0:x1] = cv2.GC_PR_BGD
    size = float(np.linalg.norm(keypoints2d.max(0) - keypoints2d.min(0)))
    outside = (~_enclosed(keypoints2d, (h, w))).astype(np.uint8)
    grown = cv2.distanceTransform(outside, cv2.DIST_L2, 3) <= cfg.grow * size
    labels[grown & (labels == cv2.GC_PR_BGD)] = cv2.GC_PR_FGD
    labels[forearm_mask(keypoints2d, (h, w))] = cv2.GC_BGD
    labels[hand] = cv2.GC_BGD
    return labels


def _keep_grasped_components(obj: np.ndarray, keypoints2d: np.ndarray, hand: np.ndarray) -> np.ndarray:
    """Connected components of ``obj`` that touch the dilated hand or contain the grasp centre."""
    import cv2

    n, comp = cv2.connectedComponents(obj.astype(np.uint8), connectivity=8)
    if n <= 1:
        return obj
    touch = cv2.dilate(hand.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    keep = np.zeros(n, bool)
    keep[np.unique(comp[touch & obj])] = True
    c = np.clip(np.round(grasp_centre(keypoints2d)).astype(int), 0, [obj.shape[1] - 1, obj.shape[0] - 1])
    keep[comp[c[1], c[0]]] = True
    keep[0] = False
    return keep[comp]


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    from scipy.ndimage import binary_fill_holes

    return binary_fill_holes(mask)


def segment_object_grabcut(
    rgb: np.ndarray, keypoints2d: np.ndarray, cfg: SegmenterConfig = SegmenterConfig(), other_hands: tuple[np.ndarray, ...] = ()
) -> Masks:
    """Object and hand masks for the hand with ``keypoints2d`` (21, 2) in ``rgb`` (H, W, 3) uint8.

    ``other_hands``: keypoints (21, 2) of the other hands in the photo; they are never the object.
    Works on the image downscaled to at most ``cfg.image_side_px``; masks come back at full size.
    """
    import cv2

    H, W = rgb.shape[:2]
    s = min(1.0, cfg.image_side_px / max(H, W))
    if s < 1.0:
        small = cv2.resize(rgb, (max(1, round(W * s)), max(1, round(H * s))), interpolation=cv2.INTER_AREA)
        sx, sy = small.shape[1] / W, small.shape[0] / H
        kp = (keypoints2d + 0.5) * [sx, sy] - 0.5
        m = _segment(small, kp, cfg, tuple((o + 0.5) * [sx, sy] - 0.5 for o in other_hands))
        up = lambda a: cv2.resize(a.astype(np.uint8), (W, H), interpolation=cv2.INTER_LINEAR) > 0
        hand = hand_mask_from_keypoints(keypoints2d, (H, W), cfg.finger_width)
        return Masks(hand=hand, object=up(m.object) & ~hand, source=m.source)
    return _segment(rgb, keypoints2d, cfg, other_hands)


def _segment(rgb: np.ndarray, keypoints2d: np.ndarray, cfg: SegmenterConfig, other_hands: tuple[np.ndarray, ...] = ()) -> Masks:
    import cv2

    h, w = rgb.shape[:2]
    hand = hand_mask_from_keypoints(keypoints2d, (h, w), cfg.finger_width)
    others = other_hands_mask(other_hands, hand, cfg.finger_width)
    roi = _roi(keypoints2d, (h, w), cfg.roi_scale)
    labels = _seed(keypoints2d, hand, roi, cfg)
    labels[others & ~hand] = cv2.GC_BGD
    # GrabCut sees the ROI plus a margin of background to learn the background colours from
    x0, y0, x1, y1 = _roi(keypoints2d, (h, w), cfg.roi_scale * cfg.context_scale)
    crop, lab = rgb[y0:y1, x0:x1], labels[y0:y1, x0:x1]
    s = min(1.0, cfg.work_side_px / max(crop.shape[:2]))
    small = cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else crop
    lab_small = cv2.resize(lab, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
    obj = np.zeros((h, w), bool)
    if (lab_small == cv2.GC_PR_FGD).any() and (lab_small != cv2.GC_PR_FGD).any():
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        try:
            cv2.grabCut(np.ascontiguousarray(small[..., ::-1]), lab_small, None, bgd, fgd, cfg.iterations, cv2.GC_INIT_WITH_MASK)
        except cv2.error:  # degenerate colour models (e.g. a flat crop): keep the seed
            pass
        fg = np.isin(lab_small, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
        fg = cv2.resize(fg, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST) > 0
        obj[y0:y1, x0:x1] = fg
    return Masks(hand=hand, object=clean_object_mask(obj, keypoints2d, hand, others), source="grabcut")


def other_hands_mask(other_hands: tuple[np.ndarray, ...], hand: np.ndarray, finger_width: float = SegmenterConfig.finger_width) -> np.ndarray:
    """(H, W) bool: the other hands (keypoints (21, 2) each) and their forearms — never the object.
    A detection that mostly covers ``hand`` is a second detection of the same hand and is skipped."""
    others = np.zeros(hand.shape, bool)
    for kp in other_hands:
        other = hand_mask_from_keypoints(kp, hand.shape, finger_width)
        if (other & hand).sum() < 0.3 * other.sum():
            others |= other | forearm_mask(kp, hand.shape)
    return others


def clean_object_mask(obj: np.ndarray, keypoints2d: np.ndarray, hand: np.ndarray, others: np.ndarray, exclude_hand: bool = True) -> np.ndarray:
    """A raw object mask (H, W) bool without the other hands (and, with ``exclude_hand``, without
    the drawn ``hand``), reduced to the components the grasp touches, holes filled."""
    drop = (hand | others) if exclude_hand else others
    obj = _keep_grasped_components(obj & ~drop, keypoints2d, hand)
    return _fill_holes(obj) & ~drop


def mask_is_empty(mask: np.ndarray, min_area_frac: float = SegmenterConfig.min_area_frac) -> bool:
    return mask.sum() < min_area_frac * mask.size


def grasp_region(keypoints2d: np.ndarray, hand: np.ndarray, cfg: SegmenterConfig = SegmenterConfig()) -> np.ndarray:
    """Fallback object mask: what the fingers and thumb enclose, grown a little, minus the hand."""
    import cv2

    size = float(np.linalg.norm(keypoints2d.max(0) - keypoints2d.min(0)))
    outside = (~_enclosed(keypoints2d, hand.shape)).astype(np.uint8)
    grown = cv2.distanceTransform(outside, cv2.DIST_L2, 3) <= cfg.grow * size
    return grown & ~hand


def or_grasp_region(object_mask: np.ndarray, keypoints2d: np.ndarray, hand: np.ndarray) -> tuple[np.ndarray, bool]:
    """``object_mask`` (H, W) bool, or the :func:`grasp_region` when it is empty; and whether it was."""
    if mask_is_empty(object_mask):
        return grasp_region(keypoints2d, hand), True
    return object_mask, False


def grasp_prompt(keypoints2d: np.ndarray, hand_mask: np.ndarray):
    """A promptable segmenter's prompt for the held object: positive points in what the grasp
    encloses (its centroid), negatives on the wrist and the middle knuckle, and a box around the
    hand grown by half (the object is in or next to the hand)."""
    from hoikit.perception.roles import Prompt, grow_box

    region = grasp_region(keypoints2d, hand_mask)
    ys, xs = np.nonzero(region)
    centre = np.array([xs.mean(), ys.mean()]) if len(xs) else keypoints2d[[4, 8]].mean(0)
    pts = np.stack([centre, keypoints2d[0], keypoints2d[9]])
    (x0, y0), (x1, y1) = keypoints2d.min(0), keypoints2d.max(0)
    return Prompt(box=grow_box((x0, y0, x1, y1), 0.5), points=pts, labels=np.array([1, 0, 0]))
