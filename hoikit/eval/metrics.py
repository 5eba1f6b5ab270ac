"""The ruler: every metric of ``reference/metrics.md``, exactly as defined there.

Inputs are in metres (hoikit's unit); each reported number carries its unit in its name. This
module depends on :mod:`hoikit.geometry` alone and may be imported from anywhere.

Definitions (metrics.md):
    CD (cm²)      mean_g min_p ‖g−p‖² + mean_p min_g ‖p−g‖² on 30,000 area-weighted surface samples
                  per mesh, in centimetres: squared, the two directions summed.
    F@τ           P = frac(pred→GT < τ), R = frac(GT→pred < τ), F = 2PR/(P+R); τ = 5 mm, 10 mm.
    alignment     ``none`` | ``icp-ts`` (scale + translation ICP) | ``sim3`` (similarity ICP, best of
                  several rotation restarts); the prediction is moved onto the ground truth.
    CD_h (cm²)    each method's own wrist (joint 0) subtracted from its object points, then CD
                  without alignment.
    MPJPE (mm)    21 root-relative joints (minus joint 0), mean L2.
    PA-MPJPE (mm) after similarity Procrustes of the 21 joints.
    MRRPE_ho (mm) ‖(o−h)_pred − (o−h)_gt‖, o = object bounding-box centre, h = wrist.
    IV (cm³)      5 mm voxel centres over the intersection of the two bounding boxes, counted when
                  inside both closed meshes; × (0.5 cm)³.
    penetration   max depth of a hand vertex inside the object (cm).
    contact ratio fraction of samples whose hand–object distance is under a threshold.
    RR            produced outputs / all inputs; accuracy averaged over produced outputs only.
    ATE (mm)      RMSE of object positions after Umeyama similarity alignment of the trajectories.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import trimesh

from hoikit.errors import HoikitWarning
from hoikit.geometry.registration import IcpConfig, icp
from hoikit.geometry.knn import nearest
from hoikit.geometry.sampling import sample_surface
from hoikit.geometry.procrustes import umeyama
from hoikit.types import M_TO_CM, M_TO_MM, WRIST, Alignment, Sim3

N_SURFACE_POINTS = 30_000
SAMPLE_SEED = 0
F_THRESHOLDS_M: dict[str, float] = {"f5": 0.005, "f10": 0.010}
IV_PITCH_M = 0.005
CONTACT_THRESHOLD_M = 0.005
ICP_ITERATIONS = 100

MeshOrPoints = trimesh.Trimesh | np.ndarray


# ------------------------------------------------------------------------------ object shape
def surface_points(x: MeshOrPoints, n: int = N_SURFACE_POINTS, seed: int = SAMPLE_SEED) -> np.ndarray:
    """(n, 3) area-weighted surface samples of a mesh; an (N, 3) point array is used as given."""
    if isinstance(x, trimesh.Trimesh):
        return sample_surface(x, n, seed)[0]
    pts = np.asarray(x, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) == 0:
        raise ValueError(f"expected a mesh or an (N, 3) point array, got shape {pts.shape}")
    return pts


def pair_distances(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour distances (metres) pred→GT (N,) and GT→pred (M,)."""
    return nearest(pred, gt)[0], nearest(gt, pred)[0]


def chamfer_cm2(d_pred_gt: np.ndarray, d_gt_pred: np.ndarray) -> float:
    """CD in cm² from the two distance sets (metres): squared, each direction averaged, summed."""
    return float(((d_gt_pred * M_TO_CM) ** 2).mean() + ((d_pred_gt * M_TO_CM) ** 2).mean())


def fscore(d_pred_gt: np.ndarray, d_gt_pred: np.ndarray, tau_m: float) -> float:
    """F-score at threshold ``tau_m`` (metres): precision on pred→GT, recall on GT→pred."""
    p = float((d_pred_gt < tau_m).mean())
    r = float((d_gt_pred < tau_m).mean())
    return 0.0 if p + r == 0 else 2.0 * p * r / (p + r)


def align_prediction(pred_pts: np.ndarray, gt_pts: np.ndarray, align: Alignment, seed: int = SAMPLE_SEED) -> Sim3:
    """The transform that moves the prediction onto the ground truth for ``align``."""
    if align == "none":
        return Sim3.identity()
    if align == "icp-ts":
        return icp(pred_pts, gt_pts, IcpConfig(mode="ts", iterations=ICP_ITERATIONS, seed=seed)).transform
    if align == "sim3":
        return icp(pred_pts, gt_pts, IcpConfig(mode="sim3", iterations=ICP_ITERATIONS, seed=seed)).transform
    raise ValueError(f"unknown alignment {align!r}; expected none, icp-ts or sim3")


@dataclass(frozen=True)
class ObjectScores:
    """Object-shape scores of one prediction. Distances in the key names' units."""

    cd_cm2: float
    f5: float
    f10: float
    align: str
    transform: Sim3  # applied to the prediction before scoring
    n_points: int
    f_curve: tuple[float, ...] = ()  # F-score at each threshold of ``curve_m`` (when asked for)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cd_cm2": self.cd_cm2,
            "f5": self.f5,
            "f10": self.f10,
            "align": self.align,
            "align_transform": self.transform.to_dict(),
            "n_points": self.n_points,
        }


def object_scores(
    pred: MeshOrPoints,
    gt: MeshOrPoints,
    align: Alignment = "icp-ts",
    n_points: int = N_SURFACE_POINTS,
    seed: int = SAMPLE_SEED,
    curve_m: Sequence[float] = (),
) -> ObjectScores:
    """CD (cm²), F@5 mm and F@10 mm of ``pred`` against ``gt`` after ``align``, and the F-score at
    each threshold of ``curve_m`` (metres) from the same distances.

    Both meshes are sampled with the same seed. Meshes in metres.
    """
    p = surface_points(pred, n_points, seed)
    g = surface_points(gt, n_points, seed)
    T = align_prediction(p, g, align, seed)
    d_pg, d_gp = pair_distances(T.apply(p), g)
    return ObjectScores(
        cd_cm2=chamfer_cm2(d_pg, d_gp),
        f5=fscore(d_pg, d_gp, F_THRESHOLDS_M["f5"]),
        f10=fscore(d_pg, d_gp, F_THRESHOLDS_M["f10"]),
        align=align,
        transform=T,
        n_points=n_points,
        f_curve=tuple(fscore(d_pg, d_gp, t) for t in curve_m),
    )


def fscore_curve(pred_pts: np.ndarray, gt_pts: np.ndarray, thresholds_m: Sequence[float]) -> list[float]:
    """F-score at each threshold (metres) for already-aligned point sets."""
    d_pg, d_gp = pair_distances(pred_pts, gt_pts)
    return [fscore(d_pg, d_gp, t) for t in thresholds_m]


def cd_h_cm2(
    pred_obj: MeshOrPoints,
    pred_wrist: np.ndarray,
    gt_obj: MeshOrPoints,
    gt_wrist: np.ndarray,
    n_points: int = N_SURFACE_POINTS,
    seed: int = SAMPLE_SEED,
) -> float:
    """Hand-relative CD (cm²): each object minus its own method's wrist, then CD, no alignment."""
    p = surface_points(pred_obj, n_points, seed) - np.asarray(pred_wrist, dtype=np.float64).reshape(1, 3)
    g = surface_points(gt_obj, n_points, seed) - np.asarray(gt_wrist, dtype=np.float64).reshape(1, 3)
    return chamfer_cm2(*pair_distances(p, g))


# -------------------------------------------------------------------------------------- hand
def _joints(x: np.ndarray) -> np.ndarray:
    j = np.asarray(x, dtype=np.float64)
    if j.shape[-2:] != (21, 3):
        raise ValueError(f"expected (..., 21, 3) hand joints, got {j.shape}")
    return j.reshape(-1, 21, 3)


def mpjpe_mm(pred: np.ndarray, gt: np.ndarray) -> float:
    """Root-relative mean per-joint position error (mm). (..., 21, 3) metres; frames averaged."""
    p, g = _joints(pred), _joints(gt)
    p = p - p[:, WRIST : WRIST + 1]
    g = g - g[:, WRIST : WRIST + 1]
    return float(np.linalg.norm(p - g, axis=-1).mean(axis=1).mean() * M_TO_MM)


def pa_mpjpe_mm(pred: np.ndarray, gt: np.ndarray) -> float:
    """MPJPE (mm) after a similarity Procrustes alignment of each frame's 21 joints."""
    p, g = _joints(pred), _joints(gt)
    errs = [np.linalg.norm(umeyama(pi, gi, with_scale=True).apply(pi) - gi, axis=-1).mean() for pi, gi in zip(p, g)]
    return float(np.mean(errs) * M_TO_MM)


def bbox_center(x: MeshOrPoints) -> np.ndarray:
    """(3,) centre of the axis-aligned bounding box of a mesh's vertices or of points."""
    v = np.asarray(x.vertices if isinstance(x, trimesh.Trimesh) else x, dtype=np.float64)
    return 0.5 * (v.min(axis=0) + v.max(axis=0))


def mrrpe_ho_mm(pred_obj: MeshOrPoints, pred_wrist: np.ndarray, gt_obj: MeshOrPoints, gt_wrist: np.ndarray) -> float:
    """‖(o−h)_pred − (o−h)_gt‖ in mm; o = object bounding-box centre, h = wrist (metres in)."""
    rel_p = bbox_center(pred_obj) - np.asarray(pred_wrist, dtype=np.float64).reshape(3)
    rel_g = bbox_center(gt_obj) - np.asarray(gt_wrist, dtype=np.float64).reshape(3)
    return float(np.linalg.norm(rel_p - rel_g) * M_TO_MM)


# ------------------------------------------------------------------------------- interaction
def _vf(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(mesh.vertices, dtype=np.float64), np.ascontiguousarray(mesh.faces, dtype=np.int64)


def _warn_if_open(mesh: trimesh.Trimesh, role: str, metric: str) -> None:
    if not mesh.is_watertight:
        warnings.warn(
            f"{metric}: the {role} mesh is not watertight, so 'inside' is ill-defined; hoikit "
            "uses the generalized winding number (> 0.5 = inside), which degrades gracefully",
            HoikitWarning,
            stacklevel=3,
        )


def inside(mesh: trimesh.Trimesh, points: np.ndarray) -> np.ndarray:
    """(N,) bool: generalized winding number of ``mesh`` at ``points`` > 0.5 (exact, libigl)."""
    import igl

    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    V, F = _vf(mesh)
    return igl.winding_number(V, F, np.ascontiguousarray(points, dtype=np.float64)) > 0.5


def signed_distance(mesh: trimesh.Trimesh, points: np.ndarray) -> np.ndarray:
    """(N,) exact distance to the surface of ``mesh``, negative inside (winding-number sign)."""
    import igl

    V, F = _vf(mesh)
    sign = igl.SignedDistanceType.SIGNED_DISTANCE_TYPE_WINDING_NUMBER
    return igl.signed_distance(np.ascontiguousarray(points, dtype=np.float64), V, F, sign_type=sign)[0]


def intersection_volume_cm3(hand: trimesh.Trimesh, obj: trimesh.Trimesh, pitch_m: float = IV_PITCH_M) -> float:
    """IV (cm³): voxel centres (``pitch_m`` grid anchored at the min corner of the intersection of
    the two bounding boxes) inside both meshes, times the voxel volume."""
    _warn_if_open(hand, "hand", "IV")
    _warn_if_open(obj, "object", "IV")
    lo = np.maximum(hand.bounds[0], obj.bounds[0])
    hi = np.minimum(hand.bounds[1], obj.bounds[1])
    if np.any(hi <= lo):
        return 0.0
    n = np.maximum(np.ceil((hi - lo) / pitch_m).astype(int), 1)
    axes = [lo[k] + (np.arange(n[k]) + 0.5) * pitch_m for k in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    # test the cheaper mesh first, the other only where the first says inside
    first, second = (hand, obj) if len(hand.faces) <= len(obj.faces) else (obj, hand)
    pts = grid[inside(first, grid)]
    count = int(inside(second, pts).sum())
    return count * (pitch_m * M_TO_CM) ** 3


def hand_object_distance_m(hand: trimesh.Trimesh, obj: trimesh.Trimesh) -> float:
    """Smallest signed distance of a hand vertex to the object surface (negative = penetrating)."""
    return float(signed_distance(obj, np.asarray(hand.vertices)).min())


def penetration_depth_cm(hand: trimesh.Trimesh, obj: trimesh.Trimesh) -> float:
    """Max depth (cm) of a hand vertex inside the object; 0 when none is inside."""
    _warn_if_open(obj, "object", "penetration depth")
    return max(0.0, -hand_object_distance_m(hand, obj)) * M_TO_CM


def interaction_scores(
    hand: trimesh.Trimesh, obj: trimesh.Trimesh, contact_threshold_m: float = CONTACT_THRESHOLD_M
) -> dict[str, Any]:
    """IV, penetration depth, hand–object distance and the contact flag of one hand–object pair."""
    d = hand_object_distance_m(hand, obj)
    return {
        "iv_cm3": intersection_volume_cm3(hand, obj),
        "penetration_depth_cm": max(0.0, -d) * M_TO_CM,
        "ho_distance_mm": d * M_TO_MM,
        "contact": bool(d < contact_threshold_m),
        "contact_threshold_mm": contact_threshold_m * M_TO_MM,
    }


# ---------------------------------------------------------------------- robustness and pose
def ate_mm(pred_positions: np.ndarray, gt_positions: np.ndarray) -> float:
    """Absolute trajectory error (mm): RMSE after Umeyama similarity alignment. (T, 3) metres."""
    p = np.asarray(pred_positions, dtype=np.float64).reshape(-1, 3)
    g = np.asarray(gt_positions, dtype=np.float64).reshape(-1, 3)
    if len(p) != len(g) or len(p) < 3:
        raise ValueError("ATE needs two trajectories of the same length, at least 3 positions")
    T = umeyama(p, g, with_scale=True)
    return float(np.sqrt(((T.apply(p) - g) ** 2).sum(axis=1).mean()) * M_TO_MM)


def _is_ok(record: Mapping[str, Any] | None) -> bool:
    return record is not None and record.get("status", "ok") == "ok"


def rounded(record: Mapping[str, Any], keep: Sequence[str] | None = None, drop: Sequence[str] = (), digits: int = 4) -> dict[str, Any]:
    """A per-sample record for a JSON report: floats rounded to ``digits``; only the ``keep`` keys
    present (in that order; default: all, in the record's order), without the ``drop`` keys."""
    names = [k for k in (record if keep is None else keep) if k in record and k not in drop]
    return {k: round(record[k], digits) if isinstance(record[k], float) else record[k] for k in names}


def aggregate(records: Sequence[Mapping[str, Any] | None], keys: Sequence[str] | None = None) -> dict[str, Any]:
    """Summarise per-sample results with the reconstruction rate.

    Args:
        records: one entry per test input, *failures included* — ``None`` or a mapping with
            ``status != "ok"`` counts as no output.
        keys: numeric keys to average (default: every numeric key of the successful records).
            Boolean keys (e.g. ``contact``) become ``<key>_ratio``.
    Returns:
        ``n``, ``n_ok``, ``n_failed``, ``rr`` and, per key, ``<key>_mean`` and ``<key>_median`` over
        successful records (NaN when none).
    """
    ok = [r for r in records if _is_ok(r)]
    n = len(records)
    out: dict[str, Any] = {"n": n, "n_ok": len(ok), "n_failed": n - len(ok), "rr": (len(ok) / n) if n else math.nan}
    if keys is None:
        keys = sorted({k for r in ok for k, v in r.items() if isinstance(v, (int, float, np.number, bool))})
    for k in keys:
        vals = [r[k] for r in ok if k in r and r[k] is not None]
        if vals and all(isinstance(v, (bool, np.bool_)) for v in vals):
            out[f"{k}_ratio"] = float(np.mean(vals))
            continue
        arr = np.asarray([float(v) for v in vals], dtype=np.float64)
        arr = arr[np.isfinite(arr)]
        out[f"{k}_mean"] = float(arr.mean()) if len(arr) else math.nan
        out[f"{k}_median"] = float(np.median(arr)) if len(arr) else math.nan
    return out


def score_sample(
    pred_obj: trimesh.Trimesh,
    gt_obj: trimesh.Trimesh,
    align: Alignment = "icp-ts",
    hand_pred: trimesh.Trimesh | None = None,
    hand_gt: trimesh.Trimesh | None = None,
    joints_pred: np.ndarray | None = None,
    joints_gt: np.ndarray | None = None,
    n_points: int = N_SURFACE_POINTS,
    seed: int = SAMPLE_SEED,
) -> dict[str, Any]:
    """Every metric that the given inputs allow, as one flat dict with units in the key names.

    Object shape always (``cd_cm2``, ``f5``, ``f10`` after ``align``); interaction of the predicted
    hand with the predicted object when ``hand_pred`` is given (``iv_cm3``, …) and of the ground
    truth pair as ``gt_iv_cm3``, … when ``hand_gt`` is; hand and hand-relative scores when both joint
    sets are given (``mpjpe_mm``, ``pa_mpjpe_mm``, ``cd_h_cm2``, ``mrrpe_ho_mm``). Joints (21, 3) m.
    """
    out: dict[str, Any] = object_scores(pred_obj, gt_obj, align, n_points, seed).to_dict()
    out["seed"] = seed
    if hand_pred is not None:
        out.update(interaction_scores(hand_pred, pred_obj))
    if hand_gt is not None:
        out.update({f"gt_{k}": v for k, v in interaction_scores(hand_gt, gt_obj).items()})
    if joints_pred is not None and joints_gt is not None:
        jp, jg = _joints(joints_pred)[0], _joints(joints_gt)[0]
        out["mpjpe_mm"] = mpjpe_mm(jp, jg)
        out["pa_mpjpe_mm"] = pa_mpjpe_mm(jp, jg)
        out["cd_h_cm2"] = cd_h_cm2(pred_obj, jp[WRIST], gt_obj, jg[WRIST], n_points, seed)
        out["mrrpe_ho_mm"] = mrrpe_ho_mm(pred_obj, jp[WRIST], gt_obj, jg[WRIST])
    return out
