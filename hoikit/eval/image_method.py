"""The single-image method on one evaluation sample: reconstruct, score, optionally write the result.

Two kinds of sample:

- a synthetic one (:class:`~hoikit.eval.datasets.SynthImageSample`): reconstruction is measured
  apart from detection (DESIGN.md "Measuring") — the perception inputs are what the embedded
  detector gives on a real photo, made from the ground truth: 2D keypoints + 3 px Gaussian noise,
  root-relative 3D joints + 5 mm noise placed by the same PnP, the true masks and intrinsics, and
  with ``rgbd`` the true depth map;
- a benchmark photo (:class:`~hoikit.eval.loaders.base.EvalSample`): the embedded perception runs
  on the photo with the dataset's intrinsics, as the method would on a user's photo.

Scores: CD (cm², icp-ts), F@5, F@10, the F-score curve, IV of the predicted pair (cm³) and, where
the sample has ground-truth joints, MPJPE / PA-MPJPE (mm). A sample whose run fails is a record
with ``status: failed`` and the reason, never an exception, so that it lowers RR.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hoikit.eval.metrics import intersection_volume_cm3, mpjpe_mm, object_scores, pa_mpjpe_mm
from hoikit.image.config import ImageConfig
from hoikit.image.pipeline import ImageInputs, Models, reconstruct
from hoikit.types import WRIST, Reconstruction

KEYPOINT_NOISE_PX = 3.0
JOINT_NOISE_M = 0.005
ALIGN = "icp-ts"  # what single-image HOI papers compare with (metrics.md)
F_CURVE_MM: tuple[float, ...] = tuple(float(t) for t in range(1, 21))  # the F-score vs threshold plot

Inputs = Literal["rgb", "rgbd"]


def noisy_keypoints(joints2d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(21, 2) true keypoints + Gaussian noise of ``KEYPOINT_NOISE_PX``: what a detector would give."""
    return joints2d + rng.normal(scale=KEYPOINT_NOISE_PX, size=(21, 2))


def gt_inputs(sample, rng: np.random.Generator, with_depth: bool) -> ImageInputs:
    """Perception inputs for a synthetic sample, with detector-like noise (module docstring)."""
    from hoikit.perception.hands import HandDetection, place_in_camera

    kp = noisy_keypoints(sample.hand.joints2d, rng)
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


def photo_inputs(sample) -> ImageInputs:
    """Embedded perception on a benchmark photo, with the dataset's intrinsics and hand side."""
    from hoikit.image.pipeline import PerceptionOptions, perceive

    K = sample.camera.K
    options = PerceptionOptions(hand=sample.side or "auto", fx=K[0, 0], fy=K[1, 1], cx=K[0, 2], cy=K[1, 2])
    return perceive(sample.image_path, options)


def score_reconstruction(recon: Reconstruction, gt_object, gt_joints: np.ndarray | None = None) -> dict[str, Any]:
    """Object CD/F (icp-ts) against the true object mesh, IV of the predicted pair, hand errors."""
    import trimesh

    if recon.object is None:
        return {"status": "failed", "reason": "no object mesh"}
    pred = trimesh.Trimesh(recon.object.vertices, recon.object.faces, process=False)
    hand = trimesh.Trimesh(recon.hand.vertices, recon.hand.faces, process=False)
    s = object_scores(pred, gt_object, align=ALIGN, curve_m=[t / 1000 for t in F_CURVE_MM])
    with warnings.catch_warnings():  # a generated mesh is often open; metrics.py documents the fallback
        warnings.simplefilter("ignore")
        iv = intersection_volume_cm3(hand, pred)
    rec = {"status": "ok", "cd_cm2": s.cd_cm2, "f5": s.f5, "f10": s.f10, "f_curve": list(s.f_curve), "iv_cm3": iv}
    if gt_joints is not None:
        rec.update(mpjpe_mm=mpjpe_mm(recon.hand.joints, gt_joints), pa_mpjpe_mm=pa_mpjpe_mm(recon.hand.joints, gt_joints))
    return rec


def _write(out_dir: Path | None, rgb: np.ndarray, recon: Reconstruction) -> None:
    if out_dir is not None:
        from hoikit.image.pipeline import pictures
        from hoikit.io.bundle import write_bundle

        write_bundle(out_dir, recon, pictures(rgb, recon))


def run_sample(
    sample, models: Models, cfg: ImageConfig, inputs: Inputs, rng: np.random.Generator, out_dir: Path | None = None
) -> dict[str, Any]:
    """Reconstruct and score one sample (synthetic or benchmark photo); a failure is a record
    (``status: failed`` and ``reason``), never an exception. Adds ``s`` (seconds). With ``out_dir``
    the result folder (result.json, meshes, overlay.png, views.png) is written there."""
    t0 = time.perf_counter()
    try:
        if hasattr(sample, "image_path"):  # a benchmark photo
            inp, gt_obj, gt_joints = photo_inputs(sample), sample.object_mesh, sample.joints3d
        else:
            inp, gt_obj, gt_joints = gt_inputs(sample, rng, inputs == "rgbd"), sample.object.mesh, sample.hand.joints3d
        recon = reconstruct(inp, models.generator, models.hand, cfg)
        rec = score_reconstruction(recon, gt_obj, gt_joints)
        _write(out_dir, inp.rgb, recon)
    except Exception as e:  # noqa: BLE001 - any failure of a sample is recorded with its reason
        rec = {"status": "failed", "reason": f"{type(e).__name__}: {e}"}
    return {**rec, "s": time.perf_counter() - t0}
