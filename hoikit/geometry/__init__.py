"""Geometry: Sim3 parameterisation, rotations, Umeyama, ICP, nearest neighbours, surface sampling.

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
}  # fmt: skip
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'hoikit.geometry' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hoikit.geometry.{_WHERE[name]}"), name)
