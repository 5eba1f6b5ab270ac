"""Differentiable Sim3 parameterisation and Sim3 on meshes.

The transform type itself (compose, inverse, apply) is :class:`hoikit.types.Sim3`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import trimesh

from hoikit.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix
from hoikit.types import Sim3

RotationParam = Literal["6d", "axis-angle"]


class Sim3Params(torch.nn.Module):
    """Learnable similarity transform: log-scale, rotation (6D or axis-angle), translation.

    ``forward()`` returns a torch :class:`Sim3`; gradients reach ``log_s``, ``rot`` and ``t``.
    Scale is optimised in log space so it stays positive and steps are relative.
    """

    def __init__(self, init: Sim3 | None = None, rotation: RotationParam = "6d", dtype: torch.dtype = torch.float32):
        super().__init__()
        init = (init or Sim3.identity()).numpy()
        self.rotation = rotation
        R = torch.as_tensor(init.R, dtype=dtype)
        self.log_s = torch.nn.Parameter(torch.as_tensor(np.log(init.s), dtype=dtype))
        rot = matrix_to_rot6d(R) if rotation == "6d" else matrix_to_axis_angle(R)
        self.rot = torch.nn.Parameter(rot)
        self.t = torch.nn.Parameter(torch.as_tensor(init.t, dtype=dtype))

    def rotation_matrix(self) -> torch.Tensor:
        return rot6d_to_matrix(self.rot) if self.rotation == "6d" else axis_angle_to_matrix(self.rot)

    def forward(self) -> Sim3:
        return Sim3(torch.exp(self.log_s), self.rotation_matrix(), self.t)


def transform_mesh(mesh: trimesh.Trimesh, T: Sim3) -> trimesh.Trimesh:
    """A copy of ``mesh`` with its vertices mapped by ``T`` (faces, colours kept)."""
    out = mesh.copy()
    out.vertices = T.numpy().apply(np.asarray(mesh.vertices, dtype=np.float64))
    return out
