"""The hand over a clip: per-frame detections placed in the camera by PnP, gaps filled and the
joints smoothed over time, then the hand model fitted to every frame at once with one shape shared
by the clip (:func:`hoikit.hand.fitting.fit_joints` with ``shared_shape``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from hoikit.errors import NoHandError
from hoikit.types import Camera, Handedness


@dataclass
class HandTrack:
    """The fitted hand of every frame (camera frame, metres).

    Attributes:
        joints: (T, 21, 3); vertices: (T, V, 3); faces: (F, 3) int.
        keypoints2d: (T, 21, 2) pixels (detected, gaps interpolated).
        detected: (T,) bool, a detection existed in that frame.
        side: the clip's side (majority vote of the detections).
        pose: (T, P) radians; shape: (S,) shared.
        R: (T, 3, 3), t: (T, 3), s: (T,): the model's canonical → camera transform per frame.
        fit_residual_mm: mean joint residual of the fit.
    """

    joints: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray
    keypoints2d: np.ndarray
    detected: np.ndarray
    side: Handedness
    pose: np.ndarray
    shape: np.ndarray
    R: np.ndarray
    t: np.ndarray
    s: np.ndarray
    fit_residual_mm: float
    model: str = "hoikit-hand"

    def __len__(self) -> int:
        return len(self.joints)


def fill_gaps(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(T, ...) values with the frames where ``present`` is False linearly interpolated over time
    (held constant before the first and after the last present frame)."""
    T = len(values)
    idx = np.flatnonzero(present)
    flat = values.reshape(T, -1).astype(np.float64)
    out = np.stack([np.interp(np.arange(T), idx, flat[idx, k]) for k in range(flat.shape[1])], axis=1)
    return out.reshape(values.shape)


def smooth_time(values: np.ndarray, sigma_frames: float) -> np.ndarray:
    """(T, ...) Gaussian smoothing along time (edges reflected); sigma 0 returns the input."""
    if sigma_frames <= 0 or len(values) < 3:
        return values
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(values.astype(np.float64), sigma_frames, axis=0, mode="nearest")


def clip_side(detections: Sequence, requested: str = "auto") -> Handedness:
    """The clip's hand side: the requested one, else the majority of the detections' sides."""
    if requested in ("left", "right"):
        return requested  # type: ignore[return-value]
    votes = Counter(d.side for d in detections if d is not None)
    return votes.most_common(1)[0][0] if votes else "right"


def track_hand(detections: Sequence, camera: Camera, model, side: str = "auto", sigma_frames: float = 1.0, source: str = "") -> HandTrack:
    """Fit the hand model to a clip's detections (:class:`hoikit.perception.hands.HandDetection` or
    None per frame).

    Raises:
        NoHandError: no frame has a detection (exit 3).
    """
    from hoikit.hand.fitting import fit_joints
    from hoikit.perception.hands import place_in_camera

    present = np.array([d is not None for d in detections])
    if not present.any():
        raise NoHandError(f"{source or 'video'}: no hand found in any of the {len(detections)} frames")
    side = clip_side(detections, side)
    T = len(detections)
    joints = np.zeros((T, 21, 3))
    kp = np.zeros((T, 21, 2))
    for i, d in enumerate(detections):
        if d is not None:
            joints[i] = place_in_camera(d, camera)
            kp[i] = d.keypoints2d
    joints = smooth_time(fill_gaps(joints, present), sigma_frames)
    kp = fill_gaps(kp, present)
    fit = fit_joints(model, joints, side=side, shared_shape=True)
    with torch.no_grad():
        dt = model.dtype
        T_fit = fit.transform
        from hoikit.types import Sim3

        Tm = Sim3(T_fit.s.to(dt), T_fit.R.to(dt), T_fit.t.to(dt))
        out = model(fit.pose.to(dt), fit.shape.to(dt), Tm, side=side)
    return HandTrack(
        joints=out.joints.double().numpy(), vertices=out.vertices.double().numpy(), faces=out.faces.numpy(),
        keypoints2d=kp, detected=present, side=side, pose=fit.pose.double().numpy(), shape=fit.shape[0].double().numpy(),
        R=fit.transform.R.double().numpy(), t=fit.transform.t.double().numpy(), s=fit.transform.s.double().numpy().reshape(T),
        fit_residual_mm=fit.mean_error_m * 1000, model=getattr(model, "name", type(model).__name__),
    )  # fmt: skip


def detect_clip(frames: np.ndarray, detector, side: str = "auto", progress=None) -> list:
    """One :class:`HandDetection` (or None) per frame with the embedded MediaPipe detector, the same
    hand throughout (:func:`follow_one_hand`)."""
    found = []
    for i, rgb in enumerate(frames):
        found.append(detector.detect(rgb) or [])
        if progress:
            progress(i)
    return follow_one_hand(found, side)


def follow_one_hand(found: Sequence[Sequence], side: str = "auto") -> list:
    """From every frame's detected hands, one per frame (or None), the same hand throughout: the
    clip's side is the requested one, else the side of the largest hand in most frames; among that
    side's detections the first pick is the largest, each later one the nearest (wrist, pixels) to
    the previous pick. A frame without a hand of that side gets None (filled in by the tracker),
    so a clip with two hands never jumps from one to the other."""
    if side in ("left", "right"):
        target = side
    else:
        votes = Counter(max(hands, key=lambda h: h.size_px).side for hands in found if hands)
        target = votes.most_common(1)[0][0] if votes else None
    out, last = [], None
    for hands in found:
        same = [h for h in hands if h.side == target]
        if not same:
            out.append(None)
            continue
        pick = max(same, key=lambda h: h.size_px) if last is None else min(same, key=lambda h: float(np.linalg.norm(h.keypoints2d[0] - last)))
        out.append(pick)
        last = pick.keypoints2d[0]
    return out
