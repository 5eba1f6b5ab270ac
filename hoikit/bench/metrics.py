"""``hoikit bench metrics``: how long the metric suite takes on this machine."""

from __future__ import annotations

from typing import Any

import numpy as np
import trimesh

from hoikit.bench.machine import machine_info, median_time
from hoikit.eval import metrics as M
from hoikit.geometry.rotations import rotation_about
from hoikit.types import Sim3


def bench_metrics(repeats: int = 3) -> dict[str, Any]:
    """Time sampling, CD + F-scores, the two ICP alignments and IV on 30k-point problems.

    Keys: ``sample_30k_s`` (30k samples from each of two meshes), ``cd_30k_s`` (CD + F@5 + F@10 on
    30k vs 30k points), ``icp_ts_30k_s`` and ``sim3_30k_s`` (full ``object_scores`` with that
    alignment, sampling included), ``iv_s`` (IV of two overlapping 2.5k-face meshes).
    """
    gt = trimesh.creation.icosphere(subdivisions=5, radius=0.05)  # 20k faces
    pred_T = Sim3(np.float64(1.2), rotation_about([1, 1, 0], 30.0), np.array([0.01, -0.02, 0.005]))
    pred = gt.copy()
    pred.vertices = pred_T.apply(np.asarray(gt.vertices))
    p = M.surface_points(pred)
    g = M.surface_points(gt)

    def cd_and_f() -> tuple[float, float, float]:
        d_pg, d_gp = M.pair_distances(p, g)
        return M.chamfer_cm2(d_pg, d_gp), M.fscore(d_pg, d_gp, 0.005), M.fscore(d_pg, d_gp, 0.01)

    box_a = trimesh.creation.icosphere(subdivisions=4, radius=0.04)
    box_b = box_a.copy()
    box_b.apply_translation([0.03, 0.0, 0.0])
    sim3 = M.object_scores(pred, gt, align="sim3")
    return {
        "sample_30k_s": median_time(lambda: (M.surface_points(pred), M.surface_points(gt)), repeats),
        "cd_30k_s": median_time(cd_and_f, repeats),
        "icp_ts_30k_s": median_time(lambda: M.object_scores(pred, gt, align="icp-ts"), repeats),
        "sim3_30k_s": median_time(lambda: M.object_scores(pred, gt, align="sim3"), repeats),
        "sim3_cd_cm2": sim3.cd_cm2,
        "iv_s": median_time(lambda: M.intersection_volume_cm3(box_a, box_b), repeats),
        "repeats": repeats,
        "machine": machine_info(),
    }
