"""``hoikit bench masks``: the embedded segmenters against the synthetic ground-truth masks.

A segmenter sees what it sees on a real photo: the image and the hand's 2D keypoints (here the
true ones + 3 px Gaussian noise, as ``hoikit bench image``; the same draw for every segmenter).
Scored per sample, as the image pipeline uses it: the object mask (hoikit-seg or GrabCut around
the grasp, or the grasp region when the segmenter finds nothing) and the hand mask drawn from the
keypoints, each by IoU with the visible-pixel truth.
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


def score_sample(sample, rng: np.random.Generator, segmenters: tuple[str, ...], weights=None) -> dict[str, Any]:
    """One sample's record: per segmenter the object IoU, whether the grasp-region fallback was
    used, the hand mask's IoU (drawn from the keypoints; hoikit-seg's minus its object) and seconds."""
    from hoikit.perception.graspseg.segmenter import embedded_masks
    from hoikit.perception.segmentation import or_grasp_region

    kp = noisy_keypoints(sample.hand.joints2d, rng)
    rec: dict[str, Any] = {"id": sample.id, "family": sample.family}
    for name in segmenters:
        t0 = time.perf_counter()
        masks = embedded_masks(sample.image, kp, method=name, weights=weights)
        obj, fell_back = or_grasp_region(masks.object, kp, masks.hand)
        rec[name] = {
            "object_iou": round(mask_iou(obj, sample.mask_object), 4), "hand_iou": round(mask_iou(masks.hand, sample.mask_hand), 4),
            "fallback": fell_back, "s": round(time.perf_counter() - t0, 3),
        }  # fmt: skip
    return rec


def summarise(records: list[dict], name: str) -> dict[str, float]:
    """Object IoU mean / median / share ≥ 0.5, hand IoU mean / median, fallback rate and seconds
    of one segmenter."""
    obj = np.array([r[name]["object_iou"] for r in records])
    hand = np.array([r[name]["hand_iou"] for r in records])
    return {
        "hand_iou_mean": float(hand.mean()), "hand_iou_median": float(np.median(hand)),
        "object_iou_mean": float(obj.mean()), "object_iou_median": float(np.median(obj)),
        "object_iou_ge_0_5": float((obj >= 0.5).mean()), "fallback_rate": float(np.mean([r[name]["fallback"] for r in records])),
        "s_per_image": float(np.mean([r[name]["s"] for r in records])),
    }  # fmt: skip


def bench_masks(synth_dir: str, n: int | None = None, seed: int = 0, segmenters: tuple[str, ...] = ("hoikit-seg", "grabcut"), weights=None) -> dict[str, Any]:
    """Score the embedded segmenters on the first ``n`` samples of a synthetic single-image set;
    the top-level object keys are the first segmenter's."""
    from hoikit.errors import InputError
    from hoikit.eval.datasets import SynthDataset
    from hoikit.perception.graspseg.segmenter import EMBEDDED_SEGMENTERS

    unknown = [s for s in segmenters if s not in EMBEDDED_SEGMENTERS]
    if unknown or not segmenters:
        raise ValueError(f"unknown segmenter(s) {', '.join(unknown) or '(none given)'}; expected some of {', '.join(EMBEDDED_SEGMENTERS)}")
    ds = SynthDataset(synth_dir)
    count = len(ds) if n is None else min(n, len(ds))
    if count == 0:
        raise InputError(f"{synth_dir}: no samples to score")
    rng = np.random.default_rng(seed)
    records = [score_sample(ds[i], rng, segmenters, weights) for i in range(count)]
    per = {name: summarise(records, name) for name in segmenters}
    return {
        "segmenter": segmenters[0], **per[segmenters[0]], "segmenters": per, "n": count, "per_image": records, "synth": str(synth_dir), "machine": machine_info(),
    }  # fmt: skip
