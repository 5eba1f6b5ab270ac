"""Geometry: Sim3 parameterisation, rotations, Umeyama, ICP, nearest neighbours, surface sampling,
SDF grids, signed distances to meshes and differentiable marching cubes.

Names are imported on first use, so numpy-only callers (the metrics) never load torch.
"""

from __future__ import annotations

from hoikit._lazy import lazy_exports

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
__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
