"""Closed-form least-squares similarity / rigid / scale+translation fits between point pairs."""

from __future__ import annotations

import numpy as np

from hoikit.types import Sim3


def _weights(n: int, weights: np.ndarray | None) -> np.ndarray:
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    total = w.sum()
    if total <= 0:
        raise ValueError("weights must have a positive sum")
    return w / total


def umeyama(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None, with_scale: bool = True) -> Sim3:
    """Least-squares ``T`` minimising Σ wᵢ‖T(srcᵢ) − dstᵢ‖² (Umeyama 1991).

    Args:
        src, dst: (N, 3) corresponding points.
        weights: (N,) non-negative, or None for uniform.
        with_scale: fit a similarity (True) or a rigid transform (False, s = 1).
    Returns:
        Sim3 with a proper rotation (det R = +1).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    w = _weights(len(src), weights)
    mu_s, mu_d = w @ src, w @ dst
    xs, xd = src - mu_s, dst - mu_d
    cov = (xd * w[:, None]).T @ xs  # (3, 3) = Σ w dst srcᵀ
    U, S, Vt = np.linalg.svd(cov)
    D = np.ones(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        D[2] = -1.0
    R = U @ np.diag(D) @ Vt
    if with_scale:
        var_s = w @ (xs**2).sum(axis=1)
        s = float((S * D).sum() / var_s) if var_s > 0 else 1.0
    else:
        s = 1.0
    t = mu_d - s * R @ mu_s
    return Sim3(np.float64(s), R, t)


def fit_scale_translation(
    src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None, R: np.ndarray | None = None
) -> Sim3:
    """Least-squares scale and translation with the rotation held at ``R`` (identity by default).

    Minimises Σ wᵢ‖s·R·srcᵢ + t − dstᵢ‖²; the scale is clamped to be positive.
    """
    R = np.eye(3) if R is None else np.asarray(R, dtype=np.float64)
    src_r = np.asarray(src, dtype=np.float64) @ R.T
    dst = np.asarray(dst, dtype=np.float64)
    w = _weights(len(src_r), weights)
    mu_s, mu_d = w @ src_r, w @ dst
    xs, xd = src_r - mu_s, dst - mu_d
    var_s = w @ (xs**2).sum(axis=1)
    s = float(w @ (xs * xd).sum(axis=1) / var_s) if var_s > 0 else 1.0
    s = max(s, 1e-8)
    return Sim3(np.float64(s), R, mu_d - s * mu_s)
