"""``hoikit bench masks``: the embedded segmenter against the synthetic ground-truth masks.

The segmenter sees what it sees on a real photo: the image and the hand's 2D keypoints (here the
true ones + 3 px Gaussian noise, as ``hoikit bench image``). Scored per sample, as the image
pipeline uses it: the object mask (GrabCut around the grasp, or the grasp region when GrabCut finds
nothing) and the hand mask drawn from the keypoints, each by IoU with the visible-pixel truth.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from hoikit.bench.machine import machine_info
from hoikit.eval.image_method import noisy_keypoints


def mask_iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """IoU of two (H, W) bool masks; 1 when both are empty."""
    union = np.logical_or(pred, truth).sum()
    return float(np.logical_and(pred, truth).sum() / union) if union else 1.0


def score_sample(sample, rng: np.random.Generator) -> dict[str, Any]:
    """One sample's record: object and hand IoU, whether the grasp-region fallback was used, seconds."""
    from hoikit.perception.segmentation import or_grasp_region, segment_object_grabcut

    kp = noisy_keypoints(sample.hand.joints2d, rng)
    t0 = time.perf_counter()
    masks = segment_object_grabcut(sample.image, kp)
    obj, fell_back = or_grasp_region(masks.object, kp, masks.hand)
    seconds = time.perf_counter() - t0
    return {
        "id": sample.id, "family": sample.family, "object_iou": round(mask_iou(obj, sample.mask_object), 4),
        "hand_iou": round(mask_iou(masks.hand, sample.mask_hand), 4), "fallback": fell_back, "s": round(seconds, 3),
    }  # fmt: skip


def bench_masks(synth_dir: str, n: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Score the embedded segmenter on the first ``n`` samples of a synthetic single-image set."""
    from hoikit.errors import InputError
    from hoikit.eval.datasets import SynthDataset

    ds = SynthDataset(synth_dir)
    count = len(ds) if n is None else min(n, len(ds))
    if count == 0:
        raise InputError(f"{synth_dir}: no samples to score")
    rng = np.random.default_rng(seed)
    records = [score_sample(ds[i], rng) for i in range(count)]
    obj = np.array([r["object_iou"] for r in records])
    hand = np.array([r["hand_iou"] for r in records])
    return {
        "segmenter": "grabcut", "n": count,
        "object_iou_mean": float(obj.mean()), "object_iou_median": float(np.median(obj)),
        "object_iou_ge_0_5": float((obj >= 0.5).mean()), "fallback_rate": float(np.mean([r["fallback"] for r in records])),
        "hand_iou_mean": float(hand.mean()), "hand_iou_median": float(np.median(hand)),
        "s_per_image": float(np.mean([r["s"] for r in records])), "per_image": records,
        "synth": str(synth_dir), "machine": machine_info(),
    }  # fmt: skip
