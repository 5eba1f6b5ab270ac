"""Object and hand masks for every frame: given (mask folders), the embedded segmenter (hoikit-seg
or GrabCut) on each frame's grasp, kept inside the previous frame's object box grown for motion
(propagation), or a video segmenter adapter (SAM 2) prompted on the first frame with the grasp and
tracked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRACK_MARGIN = 0.35  # the next frame's object lies in this frame's box grown by this share (motion)


@dataclass
class ClipMasks:
    """(T, H, W) bool visible masks of the object and the hand, and where they came from."""

    object: np.ndarray
    hand: np.ndarray
    source: str

    def visible_area(self) -> np.ndarray:
        """(T,) visible object pixels per frame (AlignHOI's A(t))."""
        return self.object.reshape(len(self.object), -1).sum(1)


def hand_masks(keypoints2d: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(T, H, W) hand masks drawn from (T, 21, 2) keypoints."""
    from hoikit.perception.segmentation import hand_mask_from_keypoints

    return np.stack([hand_mask_from_keypoints(k, shape) for k in keypoints2d])


def _box_mask(box: tuple[float, float, float, float], margin: float, shape: tuple[int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    gx, gy = margin * (x1 - x0), margin * (y1 - y0)
    m = np.zeros(shape, bool)
    m[max(0, int(y0 - gy)) : int(np.ceil(y1 + gy)) + 1, max(0, int(x0 - gx)) : int(np.ceil(x1 + gx)) + 1] = True
    return m


def _box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    ys, xs = np.nonzero(mask)
    return (xs.min(), ys.min(), xs.max(), ys.max()) if len(xs) else None


def embedded_propagated(
    frames: np.ndarray, keypoints2d: np.ndarray, hand: np.ndarray, method: str | None = None, hand_drawn: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(T, H, W) object and hand masks: the embedded segmenter ``method`` (default hoikit's) on each
    frame's grasp, the object kept inside the previous frame's object box (grown by
    :data:`TRACK_MARGIN`); an empty result falls back to the region the grasp encloses.

    ``hand_drawn``: ``hand`` is drawn from the keypoints (strokes wider than fingers), so the
    segmenter's object may cover some of it and the hand becomes the drawn one minus the object,
    as in the image pipeline; a given hand mask (False) is trusted over the object's.
    """
    from hoikit.perception.graspseg.segmenter import DEFAULT_EMBEDDED, embedded_masks
    from hoikit.perception.segmentation import or_grasp_region

    objects, hands, box = [], [], None
    for rgb, kp, h in zip(frames, keypoints2d, hand):
        obj = embedded_masks(rgb, kp, method=method or DEFAULT_EMBEDDED).object
        if not hand_drawn:
            obj &= ~h
        if box is not None:
            obj &= _box_mask(box, TRACK_MARGIN, h.shape)
        obj, _ = or_grasp_region(obj, kp, h)
        objects.append(obj)
        hands.append(h & ~obj if hand_drawn else h)
        box = _box(obj) or box
    return np.stack(objects), np.stack(hands)


def segmenter_masks(frames: np.ndarray, keypoints2d: np.ndarray, hand: np.ndarray, segmenter) -> np.ndarray:
    """(T, H, W) object masks from a video segmenter (``segment_video``) prompted by the first frame's grasp."""
    from hoikit.perception.segmentation import grasp_prompt

    masks = segmenter.segment_video(list(frames), grasp_prompt(keypoints2d[0], hand[0]))
    return np.stack(masks) & ~hand


def clip_masks(
    frames: np.ndarray, keypoints2d: np.ndarray, object_given: np.ndarray | None = None, hand_given: np.ndarray | None = None,
    segmenter=None,
) -> ClipMasks:
    """The masks of a clip: given ones first, else the segmenter adapter, else the embedded
    segmenter propagated (source ``"<name>-propagated"``)."""
    shape = frames.shape[1:3]
    hand = hand_given if hand_given is not None else hand_masks(keypoints2d, shape)
    if object_given is not None:
        return ClipMasks(object_given & ~hand if hand_given is None else object_given, hand, "given")
    if segmenter is not None:
        return ClipMasks(segmenter_masks(frames, keypoints2d, hand, segmenter), hand, getattr(segmenter, "name", "segmenter"))
    objects, hands = embedded_propagated(frames, keypoints2d, hand, hand_drawn=hand_given is None)
    return ClipMasks(objects, hands, propagated_source())


def propagated_source() -> str:
    """The ``source`` of masks from the embedded segmenter propagated through a clip."""
    from hoikit.perception.graspseg.segmenter import DEFAULT_EMBEDDED

    return f"{DEFAULT_EMBEDDED}-propagated"
