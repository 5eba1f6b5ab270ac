"""Differentiable rendering: silhouettes, depth, disparity, normals and part ids of meshes.

``render`` is the entry point; ``rasterize`` the z-buffer underneath it. Names are imported on
first use, so importing the package does not load torch or compile anything.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "raster": ["Crossings", "Fragments", "face_neighbours", "rasterize", "silhouette_crossings"],
    "projection": ["pixel_rays", "project", "ray_triangle"],
    "renderer": [
        "RenderOutput", "Scene", "antialias", "face_normals", "interpolate", "render", "shade", "vertex_normals",
    ],
}  # fmt: skip
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'hoikit.render' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hoikit.render.{_WHERE[name]}"), name)
