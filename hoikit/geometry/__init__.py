"""Geometry: Sim3 parameterisation, rotations, Umeyama, ICP, nearest neighbours, surface sampling,
SDF grids, signed distances to meshes and differentiable marching cubes.

Names are imported on first use, so numpy-only callers (the metrics) never load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "registration": ["IcpConfig", "IcpResult", "icp", "init_centroid_scale"],
    "knn": ["knn_points", "nearest"],
    "rotations": [
        "axis_angle_to_matrix", "cube_rotations", "matrix_to_axis_angle", "matrix_to_rot6d",
        "random_rotations", "rot6d_to_matrix", "rotation_about", "rotation_angle_deg",
    ],
    "sampling": ["sample_surface", "sample_surface_torch"],
    "sim3": ["Sim3Params", "transform_mesh"],
    "procrustes": ["fit_scale_translation", "umeyama"],
    "grid": ["grid_points", "grid_spacing", "sample_grid"],
    "sdf": ["mesh_sdf_grid", "mesh_signed_distance"],
}  # fmt: skip
# not re-exported: ``marching_cubes`` is also the name of its module, which Python binds on the
# package once imported; use ``from hoikit.geometry.marching_cubes import marching_cubes``
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'hoikit.geometry' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hoikit.geometry.{_WHERE[name]}"), name)
