"""4×4 poses on numpy points, shared by the scene renderer and the dataset reader (numpy only).

A sample's object pose maps the object's canonical frame to the camera; a video's per-frame
meshes are its canonical meshes mapped by :func:`apply_pose`, the same float64 formula that
rendered them, so a reader gets exactly the rendered geometry.
"""

from __future__ import annotations

import numpy as np


def pose_matrix(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(4, 4) from a rotation (3, 3) and a translation (3,)."""
    M = np.eye(4)
    M[:3, :3], M[:3, 3] = R, t
    return M


def apply_pose(M: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (N, 3) mapped by a 4×4 transform → (N, 3) float64."""
    M = np.asarray(M, dtype=np.float64)
    return np.asarray(points, dtype=np.float64) @ M[:3, :3].T + M[:3, 3]


def as_float32(points: np.ndarray) -> np.ndarray:
    """Points rounded to float32 and back (float64): the values a float32 PLY file stores."""
    return np.asarray(points, dtype=np.float32).astype(np.float64)
