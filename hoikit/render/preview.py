"""Shaded colour renders of textured meshes (synthetic data, overlays, previews). No gradients.

Each mesh carries a solid texture: a function of points in its own canonical frame, so colours
follow the surface whatever its pose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from hoikit.render.renderer import RenderOutput, antialias, render, shade
from hoikit.types import Camera, Sim3

Texture = Callable[[np.ndarray], np.ndarray]  # (N, 3) canonical metres → (N, 3) RGB in [0, 1]


@dataclass
class TexturedMesh:
    """A mesh placed in the camera frame with its colouring.

    Attributes:
        vertices: (V, 3) camera-frame metres.
        faces: (F, 3) long.
        cam_to_canonical: maps camera-frame points to the frame ``texture`` is defined in.
        texture: solid texture, or None for the uniform ``color``.
        color: (3,) RGB in [0, 1] when there is no texture.
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    cam_to_canonical: Sim3 | None = None
    texture: Texture | None = None
    color: tuple[float, float, float] = (0.7, 0.7, 0.7)


@torch.no_grad()
def render_rgb(
    meshes: Sequence[TexturedMesh],
    camera: Camera,
    *,
    to_light: Sequence[float] = (0.0, -0.4, -1.0),
    ambient: float = 0.35,
    background: np.ndarray | Sequence[float] = (1.0, 1.0, 1.0),
) -> tuple[np.ndarray, RenderOutput]:
    """Lambert-shaded RGB of several textured meshes with anti-aliased outlines.

    Args:
        background: (H, W, 3) float image in [0, 1] or one colour.
    Returns:
        rgb (H, W, 3) float32 in [0, 1], and the :class:`RenderOutput` (masks, depth, normals…).
    """
    out = render([(m.vertices, m.faces) for m in meshes], camera, antialias_edges=True)
    H, W = camera.height, camera.width
    albedo = np.zeros((H, W, 3), np.float32)
    points = out.interpolate(out.scene.vertices).numpy()
    part = out.part_id.numpy()
    for i, m in enumerate(meshes):
        sel = part == i
        if not sel.any():
            continue
        if m.texture is None:
            albedo[sel] = m.color
        else:
            pts = points[sel].astype(np.float64)
            if m.cam_to_canonical is not None:
                pts = m.cam_to_canonical.numpy().apply(pts)
            albedo[sel] = np.clip(m.texture(pts), 0.0, 1.0)
    hard = out.mask.to(out.normals.dtype)
    rgb = shade(out.normals, torch.as_tensor(albedo, dtype=out.normals.dtype), hard, to_light=to_light, ambient=ambient, background=(0.0, 0.0, 0.0))
    bg = torch.as_tensor(np.broadcast_to(np.asarray(background, np.float32), (H, W, 3)).copy(), dtype=rgb.dtype)
    rgb = torch.where(out.mask[..., None], rgb, bg)
    if out.crossings is not None:  # smooth the outlines like the silhouettes
        rgb = antialias(rgb, out.crossings, out.scene.vertices, camera)
    return rgb.numpy().astype(np.float32), out
