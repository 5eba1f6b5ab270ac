"""Rotation parameterisations and sets of rotations.

Torch conversions go through roma; numpy ones through scipy.spatial.transform. torch/roma are
imported inside the torch functions so that numpy-only users (the metrics) start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial.transform import Rotation

if TYPE_CHECKING:
    import torch


def rot6d_to_matrix(x: torch.Tensor) -> torch.Tensor:
    """6D rotation (first two columns of R, Zhou et al. 2019) to a rotation matrix.

    Args:
        x: (..., 6) — column 0 then column 1.
    Returns:
        (..., 3, 3) proper rotation matrices (Gram-Schmidt; differentiable).
    """
    cols = x.reshape(*x.shape[:-1], 2, 3).transpose(-1, -2)  # (..., 3, 2)
    import roma

    return roma.special_gramschmidt(cols)


def matrix_to_rot6d(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) → (..., 6): the first two columns, column-major."""
    return R[..., :, :2].transpose(-1, -2).reshape(*R.shape[:-2], 6)


def axis_angle_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis × angle (radians) → (..., 3, 3)."""
    import roma

    return roma.rotvec_to_rotmat(rotvec)


def matrix_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) → (..., 3) axis × angle (radians)."""
    import roma

    return roma.rotmat_to_rotvec(R)


def random_rotations(n: int, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """(n, 3, 3) rotations drawn uniformly from SO(3)."""
    return Rotation.random(n, random_state=seed).as_matrix()


def cube_rotations() -> np.ndarray:
    """(24, 3, 3) the proper rotations of the cube (octahedral group), identity first."""
    R = Rotation.create_group("O").as_matrix()
    first = np.argmin(np.abs(R - np.eye(3)).sum(axis=(1, 2)))
    return np.concatenate([R[first : first + 1], np.delete(R, first, axis=0)])


def rotation_about(axis: np.ndarray | list[float], degrees: float) -> np.ndarray:
    """(3, 3) rotation of ``degrees`` about ``axis`` (right-hand rule)."""
    axis = np.asarray(axis, dtype=np.float64)
    return Rotation.from_rotvec(axis / np.linalg.norm(axis) * np.radians(degrees)).as_matrix()


def rotation_angle_deg(R1: np.ndarray, R2: np.ndarray) -> float:
    """Geodesic angle between two rotations, in degrees."""
    return float(np.degrees(Rotation.from_matrix(np.asarray(R1).T @ np.asarray(R2)).magnitude()))
