"""``hoikit bench video``: the video method on synthetic clips with exact ground truth.

Reconstruction is measured apart from detection (DESIGN.md "Measuring"): per frame the perception
inputs are what the embedded detector gives, made from the ground truth — 2D keypoints + 3 px
Gaussian noise, root-relative 3D joints + 5 mm noise as MediaPipe's metric world landmarks (placed
by the same PnP), the true object and hand masks and intrinsics.

Per variant (``full`` and with ``--ablations`` AlignHOI Table B's): object CD (cm², sim3 ICP of the
canonical mesh onto the true one) mean and median, F@5, F@10, ATE (mm, object centre trajectory,
Umeyama), MPJPE (mm, root-relative, frames then clips averaged), CD_h (cm², hand-relative, no
alignment, averaged over every ``cd_h_every``-th frame), RR and seconds per 100 frames. A clip whose
run fails counts against RR.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

import numpy as np

from hoikit.bench.machine import machine_info
from hoikit.eval.metrics import aggregate, ate_mm, bbox_center, cd_h_cm2, mpjpe_mm, object_scores
from hoikit.types import WRIST

KEYPOINT_NOISE_PX = 3.0
JOINT_NOISE_M = 0.005
ALIGN = "sim3"  # the HOLD video protocol (metrics.md)
CD_H_EVERY = 10
KEYS = ("cd_cm2", "f5", "f10", "ate_mm", "mpjpe_mm", "cd_h_cm2")


def gt_inputs(sample, rng: np.random.Generator):
    """:class:`hoikit.video.pipeline.VideoInputs` of a synthetic clip with detector-like noise."""
    from hoikit.perception.hands import HandDetection
    from hoikit.video.pipeline import VideoInputs

    dets = []
    for f in sample.frames:
        kp = f.hand.joints2d + rng.normal(scale=KEYPOINT_NOISE_PX, size=(21, 2))
        world = f.hand.joints3d - f.hand.joints3d[WRIST] + rng.normal(scale=JOINT_NOISE_M, size=(21, 3))
        dets.append(HandDetection(kp, world, f.hand.side, 1.0, "ground-truth+noise"))
    return VideoInputs(
        frames=np.stack(sample.images), camera=sample.cameras[0], detections=dets,
        object_masks=np.stack([f.mask_object for f in sample.frames]), hand_masks=np.stack([f.mask_hand for f in sample.frames]),
        side=sample.frames[0].hand.side, source=str(sample.path), names=[f"{i:04d}" for i in range(len(sample))],
        backends={"hands": "ground truth + noise", "segmentation": "ground truth"},
    )  # fmt: skip


def score_clip(recon, sample) -> dict[str, Any]:
    """Object CD/F (sim3) of the canonical mesh, ATE of the object centre, MPJPE, CD_h."""
    import trimesh

    if recon.object_mesh is None:
        return {"status": "failed", "reason": "no object mesh"}
    gt_can = sample.frames[0].object.mesh_canonical
    s = object_scores(recon.object_mesh, gt_can, align=ALIGN)
    c_pred = bbox_center(recon.object_mesh)
    pred_pos = recon.poses.apply(c_pred[None])[:, 0]
    gt_c = bbox_center(gt_can)
    gt_pos = np.stack([f.object.pose[:3, :3] @ gt_c + f.object.pose[:3, 3] for f in sample.frames])
    gt_joints = sample.joints3d
    cdh = []
    for k in range(0, len(sample), CD_H_EVERY):
        pred_obj = trimesh.Trimesh(recon.object_vertices(k), recon.object_mesh.faces, process=False)
        cdh.append(cd_h_cm2(pred_obj, recon.hand.joints[k, WRIST], sample.frames[k].object.mesh, gt_joints[k, WRIST], n_points=10_000))
    return {
        "status": "ok", "cd_cm2": s.cd_cm2, "f5": s.f5, "f10": s.f10, "ate_mm": ate_mm(pred_pos, gt_pos),
        "mpjpe_mm": mpjpe_mm(recon.hand.joints, gt_joints), "cd_h_cm2": float(np.mean(cdh)),
    }  # fmt: skip


def run_clip(sample, hand_model, cfg, rng: np.random.Generator) -> dict[str, Any]:
    from hoikit.errors import HoikitError
    from hoikit.video.pipeline import reconstruct

    t0 = time.perf_counter()
    try:
        recon = reconstruct(gt_inputs(sample, rng), hand_model, cfg)
        rec = score_clip(recon, sample)
        rec["timings"] = {k: round(v, 2) for k, v in recon.timings.items()}
    except HoikitError as e:
        rec = {"status": "failed", "reason": str(e)}
    except Exception as e:  # a crash is a failed clip (it lowers RR), never a lost benchmark
        rec = {"status": "failed", "reason": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(limit=3)}
    rec["s"] = time.perf_counter() - t0
    rec["frames"] = len(sample)
    rec["id"] = sample.id
    return rec


def run_variant(samples, hand_model, cfg, seed: int) -> dict[str, Any]:
    records = [run_clip(s, hand_model, cfg, np.random.default_rng(seed * 7919 + i)) for i, s in enumerate(samples)]
    agg = aggregate(records, list(KEYS))
    frames = sum(r["frames"] for r in records)
    return {
        "cd_cm2_mean": agg["cd_cm2_mean"], "cd_cm2_median": agg["cd_cm2_median"], "f5": agg["f5_mean"], "f10": agg["f10_mean"],
        "ate_mm": agg["ate_mm_mean"], "mpjpe_mm": agg["mpjpe_mm_mean"], "cd_h_cm2": agg["cd_h_cm2_mean"], "rr": agg["rr"], "n": agg["n"],
        "s_per_100_frames": 100.0 * sum(r["s"] for r in records) / max(frames, 1),
        "per_clip": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k != "traceback"} for r in records],
        "failures": [r.get("reason") for r in records if r.get("status") != "ok"][:10],
    }  # fmt: skip


def bench_video(synth_dir: str, n: int | None = None, ablations: bool = False, seed: int = 0, variants: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Score ``full`` (with ``ablations`` every variant) on the first ``n`` clips of a synthetic video set."""
    from hoikit.errors import InputError
    from hoikit.eval.datasets import SynthDataset
    from hoikit.hand import load_hand_model
    from hoikit.video.config import VARIANTS, VideoConfig

    ds = SynthDataset(synth_dir)
    if not ds.is_video:
        raise InputError(f"{synth_dir}: not a video set (write one with `hoikit synth --video`)")
    samples = [ds[i] for i in range(len(ds) if n is None else min(n, len(ds)))]
    model = load_hand_model()
    chosen = variants or (VARIANTS if ablations else ("full",))
    out: dict[str, Any] = {}
    for v in chosen:
        out[v] = run_variant(samples, model, VideoConfig(seed=seed).with_variant(v), seed)
    out.update({"n": len(samples), "synth": str(synth_dir), "align": ALIGN, "machine": machine_info()})
    return out
