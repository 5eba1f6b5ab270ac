"""``hoikit bench image``: the single-image method on synthetic photos with exact ground truth.

Reconstruction is measured apart from detection (DESIGN.md "Measuring"): the perception inputs are
what the embedded detector gives on a real photo, made from the ground truth — 2D keypoints + 3 px
Gaussian noise, root-relative 3D joints + 5 mm noise as MediaPipe's metric "world landmarks"
placed by the same PnP, the true masks and intrinsics — without depth (``rgb``) or with the true
depth map as the partial geometry (``rgbd``).

Per variant (``full`` and the ablations of FollowMyHold Table 2): CD (cm², icp-ts) mean and median,
F@5, F@10, IV median (cm³), RR and seconds per image. A sample whose run fails counts against RR.
"""

from __future__ import annotations

import time
from pathlib import Path
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from hoikit.bench.machine import machine_info
from hoikit.eval.metrics import aggregate, intersection_volume_cm3, object_scores
from hoikit.image.config import ABLATIONS, ImageConfig, preset
from hoikit.image.pipeline import ImageInputs, Models, reconstruct
from hoikit.types import WRIST

KEYPOINT_NOISE_PX = 3.0
JOINT_NOISE_M = 0.005

Inputs = Literal["rgb", "rgbd"]


def gt_inputs(sample, rng: np.random.Generator, with_depth: bool) -> ImageInputs:
    """Perception inputs for a synthetic sample, with detector-like noise (module docstring)."""
    from hoikit.perception.hands import HandDetection, place_in_camera

    kp = sample.hand.joints2d + rng.normal(scale=KEYPOINT_NOISE_PX, size=(21, 2))
    joints = sample.hand.joints3d
    world = joints - joints[WRIST] + rng.normal(scale=JOINT_NOISE_M, size=(21, 3))
    det = HandDetection(kp, world, sample.hand.side, 1.0, "ground-truth+noise")
    placed = place_in_camera(det, sample.camera)
    return ImageInputs(
        rgb=sample.image, camera=sample.camera, keypoints2d=kp, joints3d=placed, side=sample.hand.side,
        hand_mask=sample.mask_hand, object_mask=sample.mask_object,
        depth=sample.depth if with_depth else None, source=str(sample.path),
        backends={"hands": "ground truth + noise", "segmentation": "ground truth", "depth": "ground truth" if with_depth else "none"},
    )  # fmt: skip


def score_reconstruction(recon, sample) -> dict[str, Any]:
    """Object CD/F (icp-ts) against the true object mesh and IV of the predicted pair."""
    import trimesh

    if recon.object is None:
        return {"status": "failed", "reason": "no object mesh"}
    pred = trimesh.Trimesh(recon.object.vertices, recon.object.faces, process=False)
    hand = trimesh.Trimesh(recon.hand.vertices, recon.hand.faces, process=False)
    s = object_scores(pred, sample.object.mesh, align="icp-ts")
    return {"status": "ok", "cd_cm2": s.cd_cm2, "f5": s.f5, "f10": s.f10, "iv_cm3": intersection_volume_cm3(hand, pred)}


def run_sample(sample, models: Models, cfg: ImageConfig, inputs: Inputs, rng: np.random.Generator) -> dict[str, Any]:
    """Reconstruct and score one synthetic sample; a failure is a record (``status: failed``), never
    an exception, so that it lowers RR instead of stopping a batch. Adds ``s`` (seconds)."""
    t0 = time.perf_counter()
    try:
        recon = reconstruct(gt_inputs(sample, rng, inputs == "rgbd"), models.generator, models.hand, cfg)
        rec = score_reconstruction(recon, sample)
    except Exception as e:  # noqa: BLE001 - any failure of a sample is recorded with its reason
        rec = {"status": "failed", "reason": f"{type(e).__name__}: {e}"}
    return {**rec, "s": time.perf_counter() - t0}


def run_variant(samples, models: Models, cfg: ImageConfig, inputs: Inputs, seed: int) -> dict[str, Any]:
    records = [run_sample(s, models, cfg, inputs, np.random.default_rng(seed * 7919 + i)) for i, s in enumerate(samples)]
    times = [r["s"] for r in records]
    agg = aggregate(records, ["cd_cm2", "f5", "f10", "iv_cm3"])
    return {
        "cd_cm2_mean": agg["cd_cm2_mean"], "cd_cm2_median": agg["cd_cm2_median"], "f5": agg["f5_mean"],
        "f10": agg["f10_mean"], "iv_cm3_median": agg["iv_cm3_median"], "rr": agg["rr"], "n": agg["n"],
        "s_per_image": float(np.mean(times)) if times else float("nan"),
        "failures": [r.get("reason") for r in records if r.get("status") != "ok"][:10],
    }  # fmt: skip


def bench_image(
    synth_dir: str, n: int | None = None, preset_name: str = "fast", ablations: bool = False, inputs: Inputs = "rgb", seed: int = 0,
    weights: str | None = None,
) -> dict[str, Any]:
    """Score ``full`` (and with ``ablations`` every variant) on the first ``n`` samples of a synthetic set."""
    from hoikit.eval.datasets import SynthDataset

    ds = SynthDataset(synth_dir)
    samples = [ds[i] for i in range(len(ds) if n is None else min(n, len(ds)))]
    models = Models.load(weights=Path(weights) if weights else None)
    base = replace(preset(preset_name), seed=seed)
    variants = ABLATIONS if ablations else ("full",)
    out: dict[str, Any] = {}
    for v in variants:
        out[v] = run_variant(samples, models, base.with_ablation(v), inputs, seed)
    out.update({"inputs": inputs, "preset": preset_name, "n": len(samples), "synth": str(synth_dir), "machine": machine_info()})
    return out
