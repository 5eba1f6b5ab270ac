"""The perception roles as small protocols, and the embedded defaults behind them.

Every member of a role (the embedded default here, an adapter in its own module) implements the
same protocol, so a pipeline never knows which one it got (see :mod:`hoikit.models.registry`).
Images are (H, W, 3) uint8 RGB; masks (H, W) bool; pixel coordinates follow :mod:`hoikit.types`
(pixel centres at integers); geometry is in metres in the OpenCV camera frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence, Union, runtime_checkable

import numpy as np

# --------------------------------------------------------------------------------- prompts


@dataclass(frozen=True)
class Prompt:
    """Where the object is: a box and/or clicked points.

    Attributes:
        box: (x0, y0, x1, y1) pixels, or None.
        points: (N, 2) pixel (x, y) coordinates, or None.
        labels: (N,) 1 = on the object, 0 = not on it (default: all 1).
    """

    box: tuple[float, float, float, float] | None = None
    points: np.ndarray | None = None
    labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.box is None and self.points is None:
            raise ValueError("a prompt needs a box or points")
        if self.points is not None:
            pts = np.asarray(self.points, dtype=np.float64).reshape(-1, 2)
            labels = np.ones(len(pts), np.int64) if self.labels is None else np.asarray(self.labels, np.int64).reshape(-1)
            if len(labels) != len(pts):
                raise ValueError(f"{len(pts)} points but {len(labels)} labels")
            object.__setattr__(self, "points", pts)
            object.__setattr__(self, "labels", labels)
        if self.box is not None:
            x0, y0, x1, y1 = (float(v) for v in self.box)
            if x1 <= x0 or y1 <= y0:
                raise ValueError(f"box must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0, got {self.box}")
            object.__setattr__(self, "box", (x0, y0, x1, y1))

    def bounding_box(self, margin: float = 0.0) -> tuple[float, float, float, float]:
        """The box, or the box around the positive points grown by ``margin`` × its size."""
        if self.box is not None:
            return self.box
        pos = self.points[self.labels == 1] if (self.labels == 1).any() else self.points
        (x0, y0), (x1, y1) = pos.min(0), pos.max(0)
        g = margin * max(x1 - x0, y1 - y0, 1.0)
        return x0 - g, y0 - g, x1 + g, y1 + g


PromptLike = Union[Prompt, Sequence[float], np.ndarray]


def as_prompt(p: PromptLike) -> Prompt:
    """A :class:`Prompt` from a prompt, a 4-sequence box (x0, y0, x1, y1) or an (N, 2) point array."""
    if isinstance(p, Prompt):
        return p
    a = np.asarray(p, dtype=np.float64)
    if a.shape == (4,):
        return Prompt(box=tuple(a))
    if a.ndim == 2 and a.shape[1] == 2:
        return Prompt(points=a)
    raise ValueError(f"a prompt is a box (x0, y0, x1, y1) or (N, 2) points, got shape {a.shape}")


def grow_box(box: tuple[float, float, float, float], frac: float) -> tuple[float, float, float, float]:
    """The box grown by ``frac`` × its width/height on every side."""
    x0, y0, x1, y1 = box
    gx, gy = frac * (x1 - x0), frac * (y1 - y0)
    return x0 - gx, y0 - gy, x1 + gx, y1 + gy


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1) pixel box around a (H, W) bool mask (None when empty)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


# ------------------------------------------------------------------------------- protocols


@runtime_checkable
class Segmenter(Protocol):
    name: str

    def segment(self, rgb: np.ndarray, prompt: PromptLike) -> np.ndarray:
        """(H, W) bool mask of the object the prompt points at in ``rgb`` (H, W, 3) uint8."""
        ...

    def segment_video(self, frames: Sequence[np.ndarray], first_frame_prompt: PromptLike) -> list[np.ndarray]:
        """One (H, W) bool mask per frame, following the object prompted on frame 0."""
        ...


@dataclass
class PartialGeometry:
    """What a single view shows of the scene.

    Attributes:
        points: (H, W, 3) float32 camera-frame points, metres (OpenCV frame); 0 where invalid.
        mask: (H, W) bool, valid points.
        K: (3, 3) intrinsics in pixels for this image.
        normals: (H, W, 3) float32 unit camera-frame normals, or None.
    """

    points: np.ndarray
    mask: np.ndarray
    K: np.ndarray
    normals: np.ndarray | None = None

    @property
    def depth(self) -> np.ndarray:
        """(H, W) float32 z in metres, 0 where invalid."""
        return np.where(self.mask, self.points[..., 2], 0.0).astype(np.float32)


@runtime_checkable
class GeometryEstimator(Protocol):
    name: str

    def estimate(self, rgb: np.ndarray) -> PartialGeometry:
        """Partial geometry of ``rgb`` (H, W, 3) uint8."""
        ...


@runtime_checkable
class Inpainter(Protocol):
    name: str

    def inpaint(
        self, rgb: np.ndarray, hand_mask: np.ndarray, object_mask: np.ndarray, object_name: str | None = None
    ) -> np.ndarray:
        """(H, W, 3) uint8: ``rgb`` with the hand removed and the object it hid completed."""
        ...


@runtime_checkable
class FeatureExtractor(Protocol):
    name: str

    def patch_features(self, rgb: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """(h, w, D) float32 features of the patches of ``rgb`` (H, W, 3) uint8; ``mask`` (H, W) bool
        keeps only the object (the rest is blanked before encoding)."""
        ...


# ------------------------------------------------------------------------ embedded defaults


def mediapipe_hands(checkpoint: Path | None = None):
    """The embedded hand detector (its models ship inside the mediapipe wheel: no checkpoint)."""
    from hoikit.perception.hands import MediaPipeHands

    return MediaPipeHands()


GRABCUT_SEED = 0


def grabcut_rect(rgb: np.ndarray, prompt: Prompt, iterations: int = 5, margin: float = 0.1) -> np.ndarray:
    """(H, W) bool: GrabCut initialised from the prompt's box; clicked points are hard seeds."""
    import cv2

    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = prompt.bounding_box(margin=margin)
    x0, y0 = int(np.clip(np.floor(x0), 0, w - 1)), int(np.clip(np.floor(y0), 0, h - 1))
    x1, y1 = int(np.clip(np.ceil(x1), x0 + 1, w)), int(np.clip(np.ceil(y1), y0 + 1, h))
    labels = np.full((h, w), cv2.GC_BGD, np.uint8)
    labels[y0:y1, x0:x1] = cv2.GC_PR_FGD
    if prompt.points is not None:
        r = max(2, int(0.02 * max(x1 - x0, y1 - y0)))
        for (x, y), lab in zip(np.round(prompt.points).astype(int), prompt.labels):
            cv2.circle(labels, (int(x), int(y)), r, int(cv2.GC_FGD if lab == 1 else cv2.GC_BGD), -1)
    if (labels == cv2.GC_BGD).all() or not (labels == cv2.GC_BGD).any():
        return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))  # no background to learn from
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # GrabCut's k-means start draws from OpenCV's process-wide RNG: seed it so that a mask depends
    # on its input only, not on whatever used that RNG before
    cv2.setRNGSeed(GRABCUT_SEED)
    try:
        cv2.grabCut(np.ascontiguousarray(rgb[..., ::-1]), labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # degenerate colour models (a flat image): keep the seed
        pass
    return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))


@dataclass
class EmbeddedSegmenter:
    """The embedded segmenters behind the :class:`Segmenter` protocol.

    With hand keypoints it runs ``method`` — hoikit-seg or the grasp-seeded GrabCut
    (:func:`hoikit.perception.graspseg.segmenter.embedded_masks`) — and keeps the part inside the
    prompt's box; without them it runs GrabCut from the prompt. Video: each frame is prompted with
    the previous frame's mask box (tracking by box).
    """

    keypoints2d: np.ndarray | None = None  # (21, 2) pixels of the holding hand, frame 0 only
    track_margin: float = 0.2  # the next frame's box: this frame's mask box grown by this (motion)
    method: str = "hoikit-seg"  # "hoikit-seg" or "grabcut"
    name: str = ""  # default: ``method``

    def __post_init__(self) -> None:
        self.name = self.name or self.method

    @classmethod
    def load(cls, checkpoint: Path | None = None) -> "EmbeddedSegmenter":
        return cls()

    def segment(self, rgb: np.ndarray, prompt: PromptLike) -> np.ndarray:
        p = as_prompt(prompt)
        if self.keypoints2d is None:
            return grabcut_rect(rgb, p)
        from hoikit.perception.graspseg.segmenter import embedded_masks

        obj = embedded_masks(rgb, self.keypoints2d, method=self.method).object
        if p.box is not None:
            x0, y0, x1, y1 = (int(round(v)) for v in p.box)
            inside = np.zeros_like(obj)
            inside[max(y0, 0) : y1, max(x0, 0) : x1] = True
            obj &= inside
        return obj

    def segment_video(self, frames: Sequence[np.ndarray], first_frame_prompt: PromptLike) -> list[np.ndarray]:
        if len(frames) == 0:
            return []
        masks = [self.segment(frames[0], first_frame_prompt)]
        box = mask_box(masks[0]) or as_prompt(first_frame_prompt).bounding_box()
        tracker = type(self)(method=self.method, name=self.name)  # hand keypoints belong to frame 0 only
        for frame in frames[1:]:
            masks.append(tracker.segment(frame, Prompt(box=grow_box(box, self.track_margin))))
            box = mask_box(masks[-1]) or box
        return masks


@dataclass
class GrabCutSegmenter(EmbeddedSegmenter):
    """:class:`EmbeddedSegmenter` with GrabCut seeded from the grasp."""

    method: str = "grabcut"

    @classmethod
    def load(cls, checkpoint: Path | None = None) -> "GrabCutSegmenter":
        return cls()


@dataclass
class GivenDepth:
    """The embedded depth "estimator": a depth map the user gave (RGB-D camera), back-projected.

    ``depth``: (H, W) float metres, 0 where unknown; ``K``: (3, 3) pixels.
    """

    depth: np.ndarray | None = None
    K: np.ndarray | None = None
    name: str = "depth-file"

    @classmethod
    def load(cls, checkpoint: Path | None = None) -> "GivenDepth":
        return cls()

    def estimate(self, rgb: np.ndarray) -> PartialGeometry:
        if self.depth is None or self.K is None:
            from hoikit.errors import InputError

            raise InputError("no depth map given (pass one with the image, or choose --depth moge-2)")
        if self.depth.shape != rgb.shape[:2]:
            raise ValueError(f"depth {self.depth.shape} does not match the image {rgb.shape[:2]}")
        return PartialGeometry(backproject_map(self.depth, self.K), self.depth > 0, np.asarray(self.K, np.float64))


def backproject_map(depth: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 camera-frame points (metres) of a (H, W) depth map (metres) with K in pixels."""
    h, w = depth.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    z = depth.astype(np.float64)
    x = (u - K[0, 2]) / K[0, 0] * z
    y = (v - K[1, 2]) / K[1, 1] * z
    return np.stack([x, y, z], axis=-1).astype(np.float32)


@dataclass
class OpenCVInpainter:
    """The embedded inpainter behind the :class:`Inpainter` protocol (OpenCV Telea; see
    :func:`hoikit.perception.inpainting.inpaint_hand_opencv`). ``object_name`` is not used."""

    name: str = "opencv-telea"

    @classmethod
    def load(cls, checkpoint: Path | None = None) -> "OpenCVInpainter":
        return cls()

    def inpaint(
        self, rgb: np.ndarray, hand_mask: np.ndarray, object_mask: np.ndarray, object_name: str | None = None
    ) -> np.ndarray:
        from hoikit.perception.inpainting import inpaint_hand_opencv

        return inpaint_hand_opencv(rgb, hand_mask, object_mask).rgb
