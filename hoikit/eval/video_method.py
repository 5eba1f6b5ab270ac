"""The video method (AlignHOI, ``hoikit.video``) on one synthetic clip: reconstruct, score,
optionally write the result folder. ``hoikit bench video`` and ``hoikit eval --method video`` both
run clips through :func:`run_clip`.

Reconstruction is measured apart from detection (DESIGN.md "Measuring"): per frame the perception
inputs are what the embedded detector gives, made from the ground truth — 2D keypoints + 3 px
Gaussian noise, root-relative 3D joints + 5 mm noise as MediaPipe's metric world landmarks (placed
by the same PnP), the true object and hand masks and intrinsics (the noise levels are
:mod:`hoikit.eval.image_method`'s).

Scores: object CD (cm², sim3 ICP of the canonical mesh onto the true one), F@5, F@10, ATE (mm,
object centre trajectory, Umeyama), MPJPE (mm, root-relative), CD_h (cm², hand-relative, every
``CD_H_EVERY``-th frame). A failure is a record (``status: failed`` and ``reason``), never an
exception.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from hoikit.eval.image_method import JOINT_NOISE_M, noisy_keypoints
from hoikit.eval.metrics import ate_mm, bbox_center, cd_h_cm2, mpjpe_mm, object_scores
from hoikit.types import WRIST

ALIGN = "sim3"  # the HOLD video protocol (metrics.md)
CD_H_EVERY = 10
KEYS = ("cd_cm2", "f5", "f10", "ate_mm", "mpjpe_mm", "cd_h_cm2")


def gt_inputs(sample, rng: np.random.Generator):
    """:class:`hoikit.video.pipeline.VideoInputs` of a synthetic clip with detector-like noise."""
    from hoikit.perception.hands import HandDetection
    from hoikit.video.pipeline import VideoInputs

    dets = []
    for f in sample.frames:
        kp = noisy_keypoints(f.hand.joints2d, rng)
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


def run_clip(sample, hand_model, cfg, rng: np.random.Generator, out_dir: Path | None = None, generator=None) -> dict[str, Any]:
    """Reconstruct and score one synthetic clip; with ``out_dir`` its result folder is written there.
    ``generator``: the shape generator of the coarse prior (None: the visual hull prior)."""
    from hoikit.errors import HoikitError
    from hoikit.video.pipeline import reconstruct

    t0 = time.perf_counter()
    try:
        recon = reconstruct(gt_inputs(sample, rng), hand_model, cfg, generator=generator)
        rec = score_clip(recon, sample)
        rec["timings"] = {k: round(v, 2) for k, v in recon.timings.items()}
        if out_dir is not None:
            from hoikit.video.outputs import write_video_result

            write_video_result(out_dir, recon, np.stack(sample.images))
    except HoikitError as e:
        rec = {"status": "failed", "reason": str(e)}
    except Exception as e:  # a crash is a failed clip (it lowers RR), never a lost benchmark
        rec = {"status": "failed", "reason": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(limit=3)}
    rec["s"] = time.perf_counter() - t0
    rec["frames"] = len(sample)
    rec["id"] = sample.id
    return rec
