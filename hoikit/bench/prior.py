"""``hoikit bench prior``: hoikit-small's unguided shapes against ground truth and two baselines.

For held-out procedural objects (seeds the training never drew) and the real YCB models, each
rendered from a random view exactly as training renders them, one unguided sample per view is
compared with the true shape, both at the true metric scale, after ``icp-ts`` alignment:
CD (cm²), F@10 and voxel IoU at 64³. The baselines get the same treatment:

- ``baseline_mean``: the mean training shape (the zero level set of the mean SDF of training-like
  views in the canonical frame);
- ``baseline_extrude``: the object's silhouette (the crop's alpha) swept along the view direction
  to a depth equal to its width.

``regressor`` (weights that have one): the latent regressor's deterministic latent for the crop,
decoded — one shape per view, the posterior mean where the flow draws a sample.

``autoencoder`` is not a baseline but the ceiling: the true shape encoded by hoikit-small's own
shape encoder (its 1024 surface points with normals) and decoded — what the flow can at best
produce with this latent space.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import trimesh

from hoikit.bench.machine import machine_info, median_time
from hoikit.eval.metrics import object_scores
from hoikit.shape.crops import BORDER_RATIO
from hoikit.shape.interface import decode_grid, latent_to_mesh, sample_latent
from hoikit.shape.small.data import PriorDataConfig, PriorView, render_view, shape_targets
from hoikit.shape.small.model import BOUNDS, SHAPE_EXTENT
from hoikit.types import Sim3

EVAL_SEED_OFFSET = 1_000_003  # far from the training shards' seeds (seed·10⁴ + shard)
IOU_RES = 64
MEAN_SHAPE_VIEWS = 200


@dataclass
class Scored:
    cd_cm2: float
    f10: float
    iou: float


def _grid_points(res: int = IOU_RES) -> torch.Tensor:
    from hoikit.geometry.grid import grid_points

    return grid_points(res, BOUNDS, dtype=torch.float64).reshape(-1, 3)


def _gt_occupancy(obj, view: PriorView, res: int = IOU_RES) -> np.ndarray:
    """(res³,) bool: the true shape on the canonical grid."""
    pts = view.canonical_to_object().apply(_grid_points(res).numpy())
    with torch.no_grad():
        return obj.sdf(torch.as_tensor(pts)).numpy() < 0


def _to_metric(mesh: trimesh.Trimesh, scale: float) -> trimesh.Trimesh:
    return trimesh.Trimesh(np.asarray(mesh.vertices) * scale, mesh.faces, process=False)


def _occupancy_of(mesh: trimesh.Trimesh, T: Sim3, scale: float, res: int = IOU_RES) -> np.ndarray:
    """Occupancy of the aligned prediction T(mesh·scale)/scale on the canonical grid."""
    from hoikit.eval.metrics import inside

    pts = _grid_points(res).numpy() * scale
    return inside(_to_metric(mesh, scale), T.numpy().inverse().apply(pts))


def score(pred_canonical: trimesh.Trimesh | None, gt_canonical: trimesh.Trimesh, gt_occ: np.ndarray, scale: float) -> Scored:
    """CD/F@10 (icp-ts, metric at the true scale) and IoU (after the same alignment)."""
    if pred_canonical is None:
        return Scored(float("nan"), 0.0, 0.0)
    s = object_scores(_to_metric(pred_canonical, scale), _to_metric(gt_canonical, scale), align="icp-ts")
    occ = _occupancy_of(pred_canonical, s.transform, scale)
    inter, union = (occ & gt_occ).sum(), (occ | gt_occ).sum()
    return Scored(s.cd_cm2, s.f10, float(inter / union) if union else 0.0)


def extrusion_mesh(crop: np.ndarray, res: int = IOU_RES) -> trimesh.Trimesh | None:
    """The crop's silhouette swept along the view axis to a depth equal to its width (canonical units)."""
    import cv2

    from hoikit.geometry.marching_cubes import marching_cubes

    half = SHAPE_EXTENT / (1.0 - 2.0 * BORDER_RATIO)  # canonical half-side the crop covers (approx.)
    alpha = cv2.resize(crop[..., 3], (res, res), interpolation=cv2.INTER_AREA) > 127
    ax = np.linspace(*BOUNDS, res)
    # crop pixel (u, v) ↔ canonical (x, y) ∈ [−half, half]; sample the silhouette on the grid
    u = np.clip(np.round((ax / half + 1.0) / 2.0 * res - 0.5).astype(int), 0, res - 1)
    inside_xy = alpha[u[None, :], u[:, None]]  # [x, y] → alpha[v = y, u = x]
    inside_xy &= (np.abs(ax) <= half)[:, None] & (np.abs(ax) <= half)[None, :]
    if not inside_xy.any():
        return None
    xs = np.nonzero(inside_xy.any(axis=1))[0]
    depth = (ax[xs.max()] - ax[xs.min()]) / 2.0
    occ = inside_xy[:, :, None] & (np.abs(ax) <= depth)[None, None, :]
    sdf = torch.as_tensor(np.where(occ, -1.0, 1.0) * (2.0 / res))
    v, f = marching_cubes(sdf, BOUNDS)
    return trimesh.Trimesh(v.numpy(), f.numpy(), process=False) if len(f) else None


def autoencoded_mesh(gen, obj, view: PriorView, rng: np.random.Generator) -> trimesh.Trimesh | None:
    """The true shape of ``view`` through hoikit-small's shape encoder (posterior mean) and decoder."""
    enc = shape_targets(obj, view.pose, view.frame, rng, PriorDataConfig())["enc"]
    with torch.no_grad():
        mu = gen.net.encoder(torch.as_tensor(enc.astype(np.float32))[None])[0]
    return latent_to_mesh(gen, gen.net.to_flow_space(mu))


def mean_training_shape(seed: int = 0, n: int = MEAN_SHAPE_VIEWS, res: int = IOU_RES) -> trimesh.Trimesh:
    """Zero level set of the mean (clamped) SDF of ``n`` training-like views in the canonical frame."""
    from hoikit.geometry.marching_cubes import marching_cubes
    from hoikit.synth import sample_object

    rng = np.random.default_rng(seed)
    pts = _grid_points(res).numpy()
    acc = np.zeros(len(pts))
    for _ in range(n):
        obj = sample_object(rng)
        view = render_view(obj, rng, PriorDataConfig(occlusion_prob=0.0))
        with torch.no_grad():
            sdf = obj.sdf(torch.as_tensor(view.canonical_to_object().apply(pts))).numpy() / view.frame.scale
        acc += np.clip(sdf, -0.2, 0.2)
    v, f = marching_cubes(torch.as_tensor((acc / n).reshape(res, res, res)), BOUNDS)
    return trimesh.Trimesh(v.numpy(), f.numpy(), process=False)


def _summary(rows: list[Scored]) -> dict[str, float]:
    cd = np.array([r.cd_cm2 for r in rows])
    return {
        "n": len(rows),
        "median_cd_cm2": float(np.nanmedian(cd)) if np.isfinite(cd).any() else float("nan"),
        "mean_cd_cm2": float(np.nanmean(cd)) if np.isfinite(cd).any() else float("nan"),
        "median_f10": float(np.median([r.f10 for r in rows])),
        "median_iou": float(np.median([r.iou for r in rows])),
        "failed": int((~np.isfinite(cd)).sum()),
    }


def bench_prior(n: int = 100, seed: int = 0, steps: int = 20, guidance_scale: float = 3.0, weights: str | None = None) -> dict[str, Any]:
    """Score hoikit-small and the baselines on ``n`` procedural views and every YCB model (one view each)."""
    from hoikit.shape.small.generator import HoikitSmall
    from hoikit.synth import sample_object, ycb_objects

    gen = HoikitSmall.load(weights)
    mean_shape = mean_training_shape(seed)
    rng = np.random.default_rng(EVAL_SEED_OFFSET + seed)
    ae_rng = np.random.default_rng(EVAL_SEED_OFFSET + seed + 1)  # its own draws: the other rows stay as they were
    sets = {"procedural": [sample_object(rng) for _ in range(n)], "ycb": list(ycb_objects())}
    out: dict[str, Any] = {}
    times: list[float] = []
    for name, objects in sets.items():
        rows: dict[str, list[Scored]] = {"model": [], "mean": [], "extrude": [], "autoencoder": [], "regressor": []}
        for obj in objects:
            view = render_view(obj, rng)
            gt = trimesh.Trimesh(view.canonical_to_object().inverse().apply(np.asarray(obj.mesh.vertices)), obj.mesh.faces, process=False)
            occ = _gt_occupancy(obj, view)
            t0 = time.perf_counter()
            cond = gen.condition(view.crop)
            latent = sample_latent(gen, cond, steps, guidance_scale, torch.Generator().manual_seed(int(rng.integers(2**31))))
            pred = latent_to_mesh(gen, latent)
            times.append(time.perf_counter() - t0)
            rows["model"].append(score(pred, gt, occ, view.frame.scale))
            rows["mean"].append(score(mean_shape, gt, occ, view.frame.scale))
            rows["extrude"].append(score(extrusion_mesh(view.crop), gt, occ, view.frame.scale))
            rows["autoencoder"].append(score(autoencoded_mesh(gen, obj, view, ae_rng), gt, occ, view.frame.scale))
            if cond.mean is not None:
                rows["regressor"].append(score(latent_to_mesh(gen, cond.mean), gt, occ, view.frame.scale))
        out[name] = _summary(rows["model"])
        out.setdefault("baseline_mean", {})[name] = _summary(rows["mean"])
        out.setdefault("baseline_extrude", {})[name] = _summary(rows["extrude"])
        out.setdefault("autoencoder", {})[name] = _summary(rows["autoencoder"])
        if rows["regressor"]:
            out.setdefault("regressor", {})[name] = _summary(rows["regressor"])
    z = torch.zeros(1, *gen.latent_shape, requires_grad=True)

    def decode_fb() -> None:
        decode_grid(gen, z, 64).sum().backward()

    out.update({
        "sample_s": float(np.median(times)) if times else float("nan"),
        "decode_fb_64_s": median_time(decode_fb, 5),
        "steps": steps, "guidance_scale": guidance_scale, "seed": seed,
        "machine": machine_info(),
    })  # fmt: skip
    return out
