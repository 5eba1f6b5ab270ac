"""An independent ray caster for checking rendered ground truth: rays from the camera centre
through pixel centres, intersected with every candidate triangle (Möller–Trumbore) in numpy.

It shares no code with hoikit.render: candidates come from the triangles' projected bounding
boxes, hits from the ray–triangle test in 3D, and the nearest hit wins.
"""

from __future__ import annotations

import numpy as np

MIN_T = 1e-3  # metres along a z = 1 ray (= depth): ignore hits at the camera
CHUNK = 256  # pixels per batch


def cast(K: np.ndarray, pixels: np.ndarray, meshes: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Label and depth at pixel centres.

    Args:
        K: (3, 3) intrinsics; pixels: (P, 2) integer (x, y); meshes: [(V (n, 3), F (m, 3))] camera frame.
    Returns:
        label (P,) index of the nearest mesh hit (-1 none), depth (P,) its z in metres (0 none).
    """
    P = len(pixels)
    rays = np.c_[pixels.astype(np.float64), np.ones(P)] @ np.linalg.inv(K).T  # z = 1
    tri = np.concatenate([np.asarray(V, np.float64)[F] for V, F in meshes])
    owner = np.concatenate([np.full(len(F), i) for i, (_, F) in enumerate(meshes)])
    uvw = tri @ K.T
    uv = uvw[..., :2] / uvw[..., 2:3]
    lo, hi = uv.min(1), uv.max(1)
    v0, e1, e2 = tri[:, 0], tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    best_t, best = np.full(P, np.inf), np.full(P, -1)
    for s in range(0, P, CHUNK):
        px = pixels[s : s + CHUNK].astype(np.float64)
        inside_box = (lo[None, :, 0] <= px[:, None, 0]) & (px[:, None, 0] <= hi[None, :, 0])
        inside_box &= (lo[None, :, 1] <= px[:, None, 1]) & (px[:, None, 1] <= hi[None, :, 1])
        r, f = np.nonzero(inside_box)
        d = rays[s + r]
        p = np.cross(d, e2[f])
        det = (e1[f] * p).sum(1)
        ok = np.abs(det) > 1e-20
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        o = -v0[f]  # ray origin (0) relative to the first corner
        u = (o * p).sum(1) * inv
        q = np.cross(o, e1[f])
        v = (d * q).sum(1) * inv
        t = (e2[f] * q).sum(1) * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > MIN_T)
        r, f, t = r[hit], f[hit], t[hit]
        if len(r) == 0:
            continue
        order = np.lexsort((t, r))  # by pixel, nearest first
        r, f, t = r[order], f[order], t[order]
        first = np.r_[True, r[1:] != r[:-1]]
        best_t[s + r[first]], best[s + r[first]] = t[first], owner[f[first]]
    return best, np.where(np.isfinite(best_t), best_t, 0.0)
