"""Hand detection with MediaPipe Hands (embedded default), with retries, and hand placement by PnP.

MediaPipe's models ship inside its wheel, so this runs offline. It misses hands that are small in
a large photo, rotated, cut by the border, gloved or dark; before saying "no hand found" hoikit
retries with a lower confidence, rotations, zoomed overlapping tiles, padding, contrast
equalisation and, last, MediaPipe's lite landmark model, and maps whatever is found back to the
original image.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterator, Literal

import numpy as np

from hoikit.errors import NoHandError
from hoikit.types import Camera, Handedness

HandChoice = Literal["auto", "left", "right", "largest"]

# palm landmarks: wrist and the four finger MCPs (stable under finger articulation)
PALM = (0, 1, 5, 9, 13, 17)


@dataclass
class HandDetection:
    """One detected hand in image coordinates of the image it was detected in.

    Attributes:
        keypoints2d: (21, 2) pixels, MediaPipe/OpenPose order.
        world: (21, 3) metres, MediaPipe "world landmarks": metric, origin near the hand centre,
            axes aligned with the image (x right, y down, z away from the camera).
        side: ``"left"`` or ``"right"`` for an ordinary (non-mirrored) photo.
        side_score: MediaPipe's handedness confidence.
        attempt: which detection attempt found it (``"full"``, ``"rot90"``, ``"tile…"``, …).
    """

    keypoints2d: np.ndarray
    world: np.ndarray
    side: Handedness
    side_score: float
    attempt: str = "full"

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) pixels around the 21 keypoints."""
        lo, hi = self.keypoints2d.min(axis=0), self.keypoints2d.max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    @property
    def size_px(self) -> float:
        """Diagonal of the keypoint box in pixels."""
        x0, y0, x1, y1 = self.bbox
        return float(np.hypot(x1 - x0, y1 - y0))

    def to_dict(self) -> dict:
        return {"keypoints2d": self.keypoints2d.tolist(), "world": self.world.tolist(), "side": self.side,
                "side_score": self.side_score, "attempt": self.attempt}  # fmt: skip


@dataclass(frozen=True)
class HandDetectorConfig:
    """MediaPipe settings and the retry schedule (each retry runs only while nothing was found)."""

    model_complexity: int = 1
    max_hands: int = 2
    confidence: float = 0.5
    retry_confidence: float = 0.3
    last_confidence: float = 0.15
    rotations: tuple[int, ...] = (90, 180, 270)
    # tile side as a fraction of the image side; ⌈1/f⌉ + 1 overlapping tiles per axis
    tile_fractions: tuple[float, ...] = (0.5, 0.33, 0.66)
    work_side_px: int = 720  # tiles and small images are resized to this longest side
    mirrored: bool = False  # True for selfie-style (mirrored) images: MediaPipe's labels then hold
    lite_sides_px: tuple[int, ...] = (256, 720)  # last passes: the lite model on the image resized to these sides


@dataclass(frozen=True)
class _View:
    """An image derived from the input, and how to map its pixels and world axes back."""

    name: str
    image: np.ndarray
    confidence: float
    to_original: Callable[[np.ndarray], np.ndarray]  # (N, 2) view pixels → original pixels
    world_rotation: np.ndarray = field(default_factory=lambda: np.eye(2))  # view xy → original xy
    complexity: int | None = None  # MediaPipe model complexity (None: the configured one)
    aggressive: bool = False  # tiles and later: prone to false positives, so every such pass is run and voted on


def _rotated(rgb: np.ndarray, degrees: int) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray], np.ndarray]:
    """Rotate clockwise by 90/180/270; return the image, the pixel map back, and the xy rotation back."""
    import cv2

    h, w = rgb.shape[:2]
    code = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}[degrees]
    img = cv2.rotate(rgb, code)
    if degrees == 90:  # original (x, y) → view (h−1−y, x)
        back = lambda p: np.stack([p[:, 1], h - 1 - p[:, 0]], axis=1)
        R = np.array([[0.0, 1.0], [-1.0, 0.0]])
    elif degrees == 180:
        back = lambda p: np.stack([w - 1 - p[:, 0], h - 1 - p[:, 1]], axis=1)
        R = -np.eye(2)
    else:  # 270: original (x, y) → view (y, w−1−x)
        back = lambda p: np.stack([w - 1 - p[:, 1], p[:, 0]], axis=1)
        R = np.array([[0.0, -1.0], [1.0, 0.0]])
    return img, back, R


def _resized_crop(rgb: np.ndarray, x0: int, y0: int, x1: int, y1: int, side: int):
    import cv2

    crop = rgb[y0:y1, x0:x1]
    s = side / max(crop.shape[:2])
    interp = cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA
    img = cv2.resize(crop, (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s))), interpolation=interp)
    sx, sy = img.shape[1] / crop.shape[1], img.shape[0] / crop.shape[0]
    # pixel-centre convention: view u = (x − x0 + 0.5)·s − 0.5
    back = lambda p: np.stack([(p[:, 0] + 0.5) / sx - 0.5 + x0, (p[:, 1] + 0.5) / sy - 0.5 + y0], axis=1)
    return img, back


def _views(rgb: np.ndarray, cfg: HandDetectorConfig) -> Iterator[_View]:
    """Detection attempts in order: cheap and faithful first, aggressive last."""
    import cv2

    h, w = rgb.shape[:2]
    same = lambda p: p
    yield _View("full", rgb, cfg.confidence, same)
    if max(h, w) < cfg.work_side_px:  # small images: MediaPipe likes hands of a decent size
        img, back = _resized_crop(rgb, 0, 0, w, h, cfg.work_side_px)
        yield _View("upscaled", img, cfg.retry_confidence, back)
    yield _View("full-lowconf", rgb, cfg.retry_confidence, same)
    for deg in cfg.rotations:
        img, back, R = _rotated(rgb, deg)
        yield _View(f"rot{deg}", img, cfg.retry_confidence, back, R)
    for frac in cfg.tile_fractions:
        th, tw = max(1, int(h * frac)), max(1, int(w * frac))
        n = int(np.ceil(1.0 / frac)) + 1
        for y0 in np.linspace(0, h - th, n).astype(int):
            for x0 in np.linspace(0, w - tw, n).astype(int):
                img, back = _resized_crop(rgb, x0, y0, x0 + tw, y0 + th, cfg.work_side_px)
                yield _View(f"tile{frac:g}@{x0},{y0}", img, cfg.retry_confidence, back, aggressive=True)
    pad_y, pad_x = h // 4, w // 4
    padded = cv2.copyMakeBorder(rgb, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    yield _View("padded", padded, cfg.retry_confidence, lambda p: p - [pad_x, pad_y], aggressive=True)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lab[..., 0])
    yield _View("equalised", cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), cfg.retry_confidence, same, aggressive=True)
    gamma = (np.linspace(0, 1, 256) ** 0.5 * 255).astype(np.uint8)  # lifts dark hands
    yield _View("brightened", gamma[rgb], cfg.retry_confidence, same, aggressive=True)
    yield _View("full-lastconf", rgb, cfg.last_confidence, same, aggressive=True)
    # the lite model (complexity 0) is a different network: it finds some hands the full one misses
    # (the trumpet player of hamer_test2.jpg, at 256 and 720 px)
    for side in cfg.lite_sides_px:
        img, back = _resized_crop(rgb, 0, 0, w, h, side)
        yield _View(f"lite{side}", img, cfg.last_confidence, back, complexity=0, aggressive=True)


def _quiet_mediapipe() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", message=".*SymbolDatabase.GetPrototype.*")


class MediaPipeHands:
    """The embedded hand detector. ``detect`` returns every hand of the first attempt that finds one."""

    def __init__(self, config: HandDetectorConfig = HandDetectorConfig()):
        _quiet_mediapipe()
        import mediapipe as mp

        self.config = config
        self._mp_hands = mp.solutions.hands
        self._models: dict[tuple[float, int], object] = {}
        self.tried: list[str] = []

    def _model(self, confidence: float, complexity: int):
        key = (confidence, complexity)
        if key not in self._models:
            self._models[key] = self._mp_hands.Hands(
                static_image_mode=True,
                max_num_hands=self.config.max_hands,
                model_complexity=complexity,
                min_detection_confidence=confidence,
            )
        return self._models[key]

    def _run(self, view: _View) -> list[HandDetection]:
        complexity = self.config.model_complexity if view.complexity is None else view.complexity
        res = self._model(view.confidence, complexity).process(np.ascontiguousarray(view.image))
        if not res.multi_hand_landmarks:
            return []
        h, w = view.image.shape[:2]
        out = []
        for lm, wl, hd in zip(res.multi_hand_landmarks, res.multi_hand_world_landmarks, res.multi_handedness):
            px = np.array([[p.x * w, p.y * h] for p in lm.landmark])
            world = np.array([[p.x, p.y, p.z] for p in wl.landmark])
            world[:, :2] = world[:, :2] @ view.world_rotation.T
            label = hd.classification[0].label.lower()
            if not self.config.mirrored:  # MediaPipe labels assume a mirrored selfie image
                label = "left" if label == "right" else "right"
            out.append(HandDetection(view.to_original(px), world, label, float(hd.classification[0].score), view.name))
        return out

    def detect(self, rgb: np.ndarray) -> list[HandDetection]:
        """The hands in ``rgb`` ([] when every attempt failed).

        The whole-image passes stop at the first that finds a hand and return its hands. Past them
        (tiles, padding, contrast, the lite model) single passes find small false hands — a
        thumb nail, a far-away player — so every such pass is run and the detections are voted
        on (:func:`vote`). ``self.tried`` lists the attempts made, for the "no hand found" message.
        """
        self.tried = []
        found: list[HandDetection] = []
        for view in _views(rgb, self.config):
            self.tried.append(view.name)
            hands = self._run(view)
            if hands and not view.aggressive:
                return hands
            found += hands
        return vote(found)

    def close(self) -> None:
        for m in self._models.values():
            m.close()
        self._models.clear()


def _box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / union if union > 0 else 0.0


def vote(detections: list[HandDetection], same_iou: float = 0.3) -> list[HandDetection]:
    """Hands found by several passes, one detection each (the surest handedness).

    Detections whose keypoint boxes overlap by more than ``same_iou`` are the same hand. When
    some hand was found by two or more passes, hands found by a single pass are dropped.
    Returned most-supported first.
    """
    groups: list[list[HandDetection]] = []
    for d in sorted(detections, key=lambda d: -d.size_px):
        for g in groups:
            if _box_iou(g[0].bbox, d.bbox) > same_iou:
                g.append(d)
                break
        else:
            groups.append([d])
    if any(len(g) > 1 for g in groups):
        groups = [g for g in groups if len(g) > 1]
    groups.sort(key=lambda g: -len(g))
    return [max(g, key=lambda d: d.side_score) for g in groups]


def no_hand_error(source: str, tried: list[str]) -> NoHandError:
    kinds = sorted({t.split("@")[0] for t in tried})
    return NoHandError(f"{source}: no hand found (tried {len(tried)} detector passes: {', '.join(kinds)})")


def choose_hand(
    hands: list[HandDetection], choice: HandChoice = "auto", object_mask: np.ndarray | None = None
) -> HandDetection | None:
    """The hand that holds the object.

    ``left``/``right`` pick by side (None if absent); ``largest`` by keypoint box; ``auto`` the hand
    whose fingertips are closest to the object mask when one is known, else the largest hand.
    """
    if not hands:
        return None
    if choice in ("left", "right"):
        same = [h for h in hands if h.side == choice]
        return max(same, key=lambda h: h.size_px) if same else None
    if choice == "auto" and object_mask is not None and object_mask.any():
        ys, xs = np.nonzero(object_mask)
        centre = np.array([xs.mean(), ys.mean()])
        tips = lambda h: h.keypoints2d[[4, 8, 12, 16, 20]]
        return min(hands, key=lambda h: np.linalg.norm(tips(h) - centre, axis=1).min() / max(h.size_px, 1.0))
    return max(hands, key=lambda h: h.size_px)


def place_in_camera(hand: HandDetection, camera: Camera) -> np.ndarray:
    """(21, 3) joints in the camera frame (metres): PnP of the metric world landmarks on the 2D keypoints.

    Falls back to a weak-perspective placement (depth from the ratio of metric to pixel palm size)
    when PnP fails or puts the hand behind the camera.
    """
    import cv2

    world = hand.world.astype(np.float64)
    px = hand.keypoints2d.astype(np.float64)
    ok, rvec, tvec = cv2.solvePnP(world, px, camera.K, None, flags=cv2.SOLVEPNP_SQPNP)
    if ok:
        ok, rvec, tvec = cv2.solvePnP(world, px, camera.K, None, rvec, tvec, True, cv2.SOLVEPNP_ITERATIVE)
    if ok:
        R = cv2.Rodrigues(rvec)[0]
        joints = world @ R.T + tvec.reshape(1, 3)
        if (joints[:, 2] > 0.05).all():
            return joints
    return _weak_perspective(world, px, camera)


def _weak_perspective(world: np.ndarray, px: np.ndarray, camera: Camera) -> np.ndarray:
    palm_m = np.linalg.norm(world[list(PALM)] - world[list(PALM)].mean(0), axis=1).mean()
    palm_px = np.linalg.norm(px[list(PALM)] - px[list(PALM)].mean(0), axis=1).mean()
    z = camera.fx * palm_m / max(palm_px, 1e-6)
    centre = px[list(PALM)].mean(0)
    ray = np.array([(centre[0] - camera.cx) / camera.fx, (centre[1] - camera.cy) / camera.fy, 1.0])
    return world - world[list(PALM)].mean(0) + ray * z

