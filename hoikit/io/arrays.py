"""Small numeric inputs: hand joints and trajectories from .npy / .json / .txt files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from hoikit.errors import InputError


def load_array(path: str | os.PathLike, shape_tail: tuple[int, ...], what: str, json_key: str | None = None) -> np.ndarray:
    """Load a float array whose trailing shape is ``shape_tail`` (e.g. (21, 3) joints).

    Accepts ``.npy``, ``.json`` (a nested list, or an object holding ``json_key``) and whitespace
    text. Raises InputError with the file name and what was wrong.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file ({what})")
    try:
        if p.suffix.lower() == ".npy":
            arr = np.load(p, allow_pickle=False)
        elif p.suffix.lower() == ".json":
            data = json.loads(p.read_text())
            if isinstance(data, dict):
                if json_key is None or json_key not in data:
                    raise ValueError(f"expected a list or an object with key '{json_key}'")
                data = data[json_key]
            arr = np.asarray(data, dtype=np.float64)
        else:
            arr = np.loadtxt(p, dtype=np.float64)
    except Exception as e:
        raise InputError(f"{p}: cannot read {what} ({str(e).splitlines()[0][:120] if str(e) else type(e).__name__})") from None
    arr = np.asarray(arr, dtype=np.float64)
    n = len(shape_tail)
    if arr.ndim < n or tuple(arr.shape[-n:]) != shape_tail:
        if arr.size == int(np.prod(shape_tail)):
            arr = arr.reshape(shape_tail)
        else:
            raise InputError(f"{p}: {what} must have shape (..., {', '.join(map(str, shape_tail))}), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InputError(f"{p}: {what} contain non-finite values")
    return arr


def load_joints(path: str | os.PathLike) -> np.ndarray:
    """(21, 3) or (T, 21, 3) hand joints in metres, MediaPipe/OpenPose order."""
    return load_array(path, (21, 3), "hand joints", json_key="joints3d")
