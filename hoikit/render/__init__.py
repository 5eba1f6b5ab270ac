"""Differentiable rendering: silhouettes, depth, disparity, normals and part ids of meshes.

``render`` is the entry point; ``rasterize`` the z-buffer underneath it. Names are imported on
first use, so importing the package does not load torch or compile anything.
"""

from __future__ import annotations

from hoikit._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "raster": ["Crossings", "Fragments", "face_neighbours", "rasterize", "silhouette_crossings"],
    "projection": ["pixel_rays", "project", "ray_triangle"],
    "renderer": [
        "RenderOutput", "Scene", "antialias", "edge_alpha", "face_normals", "interpolate", "render", "shade",
        "vertex_normals",
    ],
})  # fmt: skip
