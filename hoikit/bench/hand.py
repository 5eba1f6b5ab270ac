"""Timings and accuracy of hoikit's hand model on this machine (forward, SDF, fitting, SDF vs mesh)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import trimesh

from hoikit.bench.machine import machine_info, median_time
from hoikit.eval.metrics import inside, signed_distance
from hoikit.geometry.rotations import random_rotations
from hoikit.hand.model import HandModel
from hoikit.hand.skeleton import HAND_LENGTH_RANGE_M, pose_limits, relaxed_pose
from hoikit.types import M_TO_MM, MM, Sim3

MEDIAPIPE_NOISE_M = 5 * MM  # per coordinate, as DESIGN.md's benchmark inputs
SDF_POINTS = 10_000
NEAR_SURFACE_SIGMAS_M = (2 * MM, 5 * MM)


def _random_hands(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, list[Sim3]]:
    """n poses uniform inside the limits, shapes in the adult range, random rigid transforms."""
    rng = np.random.default_rng(seed)
    lo, hi = pose_limits(torch.float64)
    pose = lo + (hi - lo) * torch.as_tensor(rng.uniform(size=(n, len(lo))))
    shape = torch.as_tensor(np.stack([rng.uniform(*HAND_LENGTH_RANGE_M, n), rng.uniform(0.9, 1.1, n), rng.uniform(0.92, 1.08, n)], 1))
    Ts = [Sim3(1.0, torch.as_tensor(R), torch.as_tensor(rng.normal(scale=0.2, size=3))) for R in random_rotations(n, rng)]
    return pose, shape, Ts


def _fit_errors(model: HandModel, n: int, noise_m: float, seed: int) -> dict[str, float]:
    """Mean joint error of fits to n random hands (to the noise-free truth), and fit times."""
    rng = np.random.default_rng(seed + 1)
    pose, shape, Ts = _random_hands(n, seed)
    errors, seconds = [], []
    for i in range(n):
        truth = model(pose[i : i + 1], shape[i], Ts[i], vertices=False).joints[0]
        fit = model.fit_to_joints(truth + torch.as_tensor(rng.normal(scale=noise_m, size=truth.shape)) if noise_m else truth)
        errors.append(float((fit.joints[0] - truth).norm(dim=-1).mean()) * M_TO_MM)
        seconds.append(fit.seconds)
    return {"mean_mm": float(np.mean(errors)), "max_mm": float(np.max(errors)), "median_s": float(np.median(seconds))}


def sdf_mesh_agreement(model: HandModel, pose: torch.Tensor, sigma_m: float, points: int = 20_000) -> list[float]:
    """Per hand: fraction of points (surface samples + N(0, σ²) noise) where the SDF's sign matches the
    mesh's winding number, and the median |SDF − exact mesh signed distance| in mm."""
    out = model(pose)
    result = []
    for i, mesh in enumerate(out.meshes()):
        q = trimesh.sample.sample_surface(mesh, points, seed=i)[0]
        q = q + np.random.default_rng(i).normal(scale=sigma_m, size=q.shape)
        sdf = out.sdf(torch.as_tensor(q)[None].expand(len(pose), -1, -1))[i].numpy()
        result.append((float(np.mean((sdf < 0) == inside(mesh, q))), float(np.median(np.abs(sdf - signed_distance(mesh, q)))) * M_TO_MM))
    return result


def bench_hand(repeats: int = 3, fits: int = 5) -> dict[str, Any]:
    """Keys: forward timings (``fk_b1_s`` joints only, ``mesh_b1_s`` / ``mesh_b16_s`` with vertices,
    float32), ``sdf_10k_s`` (10k points, one hand), fit accuracy and time (clean and 5 mm noise), and
    SDF-vs-mesh sign agreement near the surface of relaxed and random posed hands."""
    model = HandModel(torch.float32)
    pose16 = _random_hands(16, seed=0)[0].float()
    pose1 = pose16[:1]
    points = torch.randn(1, SDF_POINTS, 3) * 0.05
    out1 = model(pose1)
    probe = torch.cat([relaxed_pose(torch.float64)[None], _random_hands(5, seed=7)[0]])
    agreement = {
        f"sigma_{s * M_TO_MM:.0f}mm": [(round(a, 4), round(e, 3)) for a, e in sdf_mesh_agreement(HandModel(torch.float64), probe, s)]
        for s in NEAR_SURFACE_SIGMAS_M
    }
    return {
        "vertices": model.num_vertices,
        "faces": int(model.faces.shape[0]),
        "fk_b1_s": median_time(lambda: model(pose1, vertices=False), repeats),
        "mesh_b1_s": median_time(lambda: model(pose1), repeats),
        "mesh_b16_s": median_time(lambda: model(pose16), repeats),
        "mesh_b1_backward_s": median_time(lambda: model(pose1.clone().requires_grad_(True)).vertices.sum().backward(), repeats),
        "sdf_10k_s": median_time(lambda: out1.sdf(points), repeats),
        "fit_clean": _fit_errors(model, fits, 0.0, seed=11),
        "fit_noise_5mm": _fit_errors(model, fits, MEDIAPIPE_NOISE_M, seed=12),
        "sdf_vs_mesh_relaxed_then_random": agreement,
        "repeats": repeats,
        "machine": machine_info(),
    }
