"""The grasp crop the learned segmenter sees, and the way back to image pixels.

The crop is a square around the hand, centred between the grasp and the hand's box centre, its
side ``roi_scale`` × the hand's longer extent (wider than GrabCut's ROI: held objects stick out of
the hand), resampled to ``side`` × ``side`` by one affine map (parts outside the image are black).
Input channels (5, S, S): RGB normalised to about zero mean, the hand mask drawn from the
keypoints, and the region the grasp encloses — the two priors GrabCut is seeded with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hoikit.perception.segmentation import grasp_centre, grasp_region, hand_mask_from_keypoints

RGB_MEAN, RGB_STD = 0.45, 0.25
IN_CHANNELS = 5


@dataclass(frozen=True)
class CropConfig:
    side: int = 128  # crop pixels
    roi_scale: float = 2.6  # crop side / the hand's longer extent


def crop_affine(keypoints2d: np.ndarray, cfg: CropConfig = CropConfig(), jitter: np.ndarray | None = None) -> np.ndarray:
    """(2, 3) affine map from image pixels to crop pixels (pixel centres at integers).

    ``jitter``: optional (3,) = (scale factor, dx, dy in units of the crop side) for training.
    """
    lo, hi = keypoints2d.min(0), keypoints2d.max(0)
    c = 0.5 * (grasp_centre(keypoints2d) + 0.5 * (lo + hi))
    half = 0.5 * cfg.roi_scale * max(float(np.max(hi - lo)), 8.0)
    if jitter is not None:
        half *= float(jitter[0])
        c = c + 2.0 * half * np.asarray(jitter[1:3], dtype=np.float64)
    s = cfg.side / (2.0 * half)
    o = 0.5 * (cfg.side - 1)
    return np.array([[s, 0.0, o - s * c[0]], [0.0, s, o - s * c[1]]])


def apply_affine(A: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 2) image pixels → (N, 2) crop pixels."""
    return points @ A[:, :2].T + A[:, 2]


def crop_image(img: np.ndarray, A: np.ndarray, side: int, nearest: bool = False) -> np.ndarray:
    """(H, W[, C]) image → (side, side[, C]) crop under ``A`` (outside the image: 0)."""
    import cv2

    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA if A[0, 0] < 1.0 else cv2.INTER_LINEAR
    if flags == cv2.INTER_AREA:  # warpAffine has no area filter: pre-shrink, then map the rest
        f = A[0, 0]
        H, W = img.shape[:2]
        small = cv2.resize(img, (max(1, round(W * f)), max(1, round(H * f))), interpolation=cv2.INTER_AREA)
        sx, sy = small.shape[1] / W, small.shape[0] / H
        # crop = A·x, x = (small + 0.5) / s − 0.5
        B = A.copy()
        B[0, 0], B[1, 1] = A[0, 0] / sx, A[1, 1] / sy
        B[0, 2] += A[0, 0] * (0.5 / sx - 0.5)
        B[1, 2] += A[1, 1] * (0.5 / sy - 0.5)
        return cv2.warpAffine(small, B, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return cv2.warpAffine(img, A, (side, side), flags=flags, borderMode=cv2.BORDER_CONSTANT)


def prior_channels(keypoints_crop: np.ndarray, side: int) -> np.ndarray:
    """(2, S, S) bool: the hand drawn from the (21, 2) crop keypoints and the grasp region."""
    hand = hand_mask_from_keypoints(keypoints_crop, (side, side))
    return np.stack([hand, grasp_region(keypoints_crop, hand)])


def crop_channels(rgb_crop: np.ndarray, keypoints_crop: np.ndarray) -> np.ndarray:
    """(S, S, 3) uint8 crop and (21, 2) crop keypoints → (5, S, S) float32 network input."""
    rgb = (rgb_crop.astype(np.float32) / 255.0 - RGB_MEAN) / RGB_STD
    return np.concatenate([rgb.transpose(2, 0, 1), prior_channels(keypoints_crop, rgb_crop.shape[0]).astype(np.float32)])


def paste(prob: np.ndarray, A: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(S, S) crop map → (H, W) image map under the inverse of ``A`` (outside the crop: 0)."""
    import cv2

    H, W = shape
    return cv2.warpAffine(prob.astype(np.float32), A, (W, H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT)
