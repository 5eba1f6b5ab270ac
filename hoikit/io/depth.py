"""Depth maps from RGB-D cameras: float metres (.npy, .exr) or 16-bit millimetres (.png)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hoikit.errors import InputError


def load_depth(path: str | os.PathLike, size: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W) float32 metres, 0 where unknown.

    Formats: ``.npy`` float metres (or uint16 millimetres), ``.exr`` float metres, 16-bit ``.png``
    millimetres. With ``size`` = (W, H) the map is resized (nearest) to the processed image size.
    """
    import cv2

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such depth file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            d = np.load(p, allow_pickle=False)
            d = d.astype(np.float32) / 1000.0 if d.dtype == np.uint16 else d.astype(np.float32)
        elif suffix == ".exr":
            os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
            d = cv2.imread(str(p), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_UNCHANGED)
            if d is None:
                raise ValueError("OpenCV could not decode it (OpenEXR support may be disabled)")
            d = (d[..., 0] if d.ndim == 3 else d).astype(np.float32)
        elif suffix == ".png":
            d = cv2.imread(str(p), cv2.IMREAD_ANYDEPTH)
            if d is None or d.dtype != np.uint16:
                raise ValueError("expected a 16-bit PNG of millimetres")
            d = d.astype(np.float32) / 1000.0
        else:
            raise ValueError(f"unsupported depth format {suffix} (use .npy, .exr or 16-bit .png)")
    except (ValueError, OSError) as e:
        raise InputError(f"{p}: cannot read depth ({e})") from None
    if d.ndim != 2:
        raise InputError(f"{p}: depth must be a single-channel H×W map, got shape {d.shape}")
    d = np.where(np.isfinite(d) & (d > 0), d, 0.0).astype(np.float32)
    if not (d > 0).any():
        raise InputError(f"{p}: the depth map has no valid (positive) values")
    if size is not None and (d.shape[1], d.shape[0]) != tuple(size):
        d = cv2.resize(d, tuple(size), interpolation=cv2.INTER_NEAREST)
    return d


def backproject(depth: np.ndarray, K: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(N, 3) camera-frame points (metres) of the valid pixels of ``depth`` (H, W), optionally masked."""
    valid = depth > 0 if mask is None else (depth > 0) & mask
    v, u = np.nonzero(valid)
    z = depth[v, u].astype(np.float64)
    x = (u - K[0, 2]) / K[0, 0] * z
    y = (v - K[1, 2]) / K[1, 1] * z
    return np.stack([x, y, z], axis=1)
