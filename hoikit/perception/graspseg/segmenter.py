"""hoikit-seg at inference: the held object's mask from the photo and the hand's keypoints."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from hoikit.perception.graspseg.crops import CropConfig, apply_affine, crop_affine, crop_channels, crop_image, paste
from hoikit.perception.graspseg.model import GraspSegNet, SegNetConfig
from hoikit.perception.segmentation import Masks, clean_object_mask, forearm_mask, hand_mask_from_keypoints, other_hands_mask

WEIGHTS_NAME = "hoikit_seg.safetensors"


def default_weights_path() -> Path:
    """The shipped weights (trained by ``hoikit train-seg --seed 0``)."""
    return Path(__file__).parent / "weights" / WEIGHTS_NAME


@dataclass
class GraspSegmenter:
    """The learned embedded object segmenter (:mod:`hoikit.perception.graspseg.model`)."""

    net: GraspSegNet
    threshold: float = 0.5
    name: str = "hoikit-seg"

    @classmethod
    def load(cls, path: str | Path | None = None) -> "GraspSegmenter":
        """Weights from ``path`` (default: the shipped file); never pickled code.

        Raises :class:`hoikit.errors.MissingCheckpointError` naming the file when it is absent, and
        :class:`hoikit.errors.InputError` when it is not a hoikit-seg weights file (both exit 2).
        """
        from safetensors import safe_open

        from hoikit.errors import InputError, MissingCheckpointError

        p = Path(path) if path is not None else default_weights_path()
        if not p.is_file():
            raise MissingCheckpointError(f"hoikit-seg weights not found: {p} (`hoikit train-seg` writes them)")
        try:
            with safe_open(str(p), framework="pt") as f:
                cfg = SegNetConfig.from_json((f.metadata() or {})["config"])
                state = {k: f.get_tensor(k) for k in f.keys()}
            net = GraspSegNet(cfg)
            net.load_state_dict(state)
        except Exception as e:  # noqa: BLE001 - any unreadable or foreign file is the same user error
            raise InputError(f"{p}: not a hoikit-seg weights file ({type(e).__name__}: {e})") from None
        return cls(net.eval())

    def probability(self, rgb: np.ndarray, keypoints2d: np.ndarray) -> np.ndarray:
        """(H, W) float32 in [0, 1]: the object's probability per pixel (0 outside the crop)."""
        cfg = CropConfig(self.net.cfg.side, self.net.cfg.roi_scale)
        A = crop_affine(keypoints2d, cfg)
        x = crop_channels(crop_image(rgb, A, cfg.side), apply_affine(A, keypoints2d))
        with torch.no_grad():
            logits = self.net(torch.as_tensor(x)[None])[0, 0]
        return paste(torch.sigmoid(logits).numpy(), A, rgb.shape[:2])

    def segment(self, rgb: np.ndarray, keypoints2d: np.ndarray, other_hands: tuple[np.ndarray, ...] = ()) -> Masks:
        """Object and hand masks (H, W) bool for the hand with ``keypoints2d`` (21, 2) in ``rgb``.

        The network sees the drawn hand and segments the object's visible pixels itself, so its
        mask is not cut by the drawn hand (strokes a finger wide or wider, which removed a third of
        the object's pixels: IoU 0.51 → 0.71 on `hoikit bench masks`); the hand mask is the drawn
        one minus the object instead.
        """
        drawn = hand_mask_from_keypoints(keypoints2d, rgb.shape[:2])
        obj = self.probability(rgb, keypoints2d) > self.threshold
        # the forearm is never the object (the synthetic hands it learnt from have none)
        others = other_hands_mask(other_hands, drawn) | forearm_mask(keypoints2d, drawn.shape)
        obj = clean_object_mask(obj, keypoints2d, drawn, others, exclude_hand=False)
        return Masks(hand=drawn & ~obj, object=obj, source=self.name)


EMBEDDED_SEGMENTERS: tuple[str, ...] = ("hoikit-seg", "grabcut")
DEFAULT_EMBEDDED = "hoikit-seg"  # `hoikit bench masks`: docs/image.md "The object mask"


@lru_cache(maxsize=4)
def _loaded(path: str | None) -> GraspSegmenter:
    return GraspSegmenter.load(path)


def embedded_masks(
    rgb: np.ndarray, keypoints2d: np.ndarray, other_hands: tuple[np.ndarray, ...] = (), method: str = DEFAULT_EMBEDDED,
    weights: str | Path | None = None,
) -> Masks:
    """Object and hand masks from one of the embedded segmenters: ``hoikit-seg`` (learned; its
    ``weights``, default the shipped file) or ``grabcut`` (seeded from the grasp)."""
    from hoikit.perception.segmentation import segment_object_grabcut

    if method == "grabcut":
        return segment_object_grabcut(rgb, keypoints2d, other_hands=other_hands)
    if method == "hoikit-seg":
        return _loaded(None if weights is None else str(weights)).segment(rgb, keypoints2d, other_hands)
    raise ValueError(f"unknown embedded segmenter {method!r}; expected one of {', '.join(EMBEDDED_SEGMENTERS)}")
