"""Pictures of a reconstruction: the meshes over the input photo, and three views of the 3D result."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from hoikit.render.preview import TexturedMesh, render_rgb
from hoikit.types import Camera, Reconstruction

HAND_RGB = (0.95, 0.42, 0.72)  # pink: a skin tone vanishes over the real hand in overlays
OBJECT_RGB = (0.35, 0.58, 0.92)
OVERLAY_ALPHA = 0.6


def _parts(recon: Reconstruction, transform=None) -> list[TexturedMesh]:
    out = []
    for est, color in ((recon.hand, HAND_RGB), (recon.object, OBJECT_RGB)):
        if est is None:
            continue
        v = est.vertices if transform is None else transform(est.vertices)
        out.append(TexturedMesh(torch.as_tensor(v, dtype=torch.float32), torch.as_tensor(est.faces, dtype=torch.long), color=color))
    return out


def overlay(rgb: np.ndarray, recon: Reconstruction, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """(H, W, 3) uint8: the shaded hand (pink) and object (blue) blended over the input photo."""
    parts = _parts(recon)
    if not parts:
        return rgb.copy()
    shaded, out = render_rgb(parts, recon.camera, background=(0.0, 0.0, 0.0))
    cover = out.silhouette.numpy()[..., None] * alpha
    img = rgb.astype(np.float32) / 255.0
    return (np.clip(img * (1 - cover) + shaded * cover, 0, 1) * 255 + 0.5).astype(np.uint8)


def _orbit(center: np.ndarray, axis: Sequence[float], degrees: float):
    from hoikit.geometry.rotations import rotation_about

    R = rotation_about(axis, degrees)
    return lambda v: (np.asarray(v) - center) @ R.T + center


Part = tuple[np.ndarray, np.ndarray, tuple[float, float, float]]  # (V, 3) metres, (F, 3), RGB
VIEW_TURNS = (((0, 1, 0), 0.0), ((0, 1, 0), 90.0), ((1, 0, 0), -90.0))  # camera, side, above


def recon_parts(recon: Reconstruction) -> list[Part]:
    return [(m.vertices, m.faces, c) for m, c in ((recon.hand, HAND_RGB), (recon.object, OBJECT_RGB)) if m is not None]


def orbit_renders(parts: Sequence[Part], turns: Sequence[tuple[Sequence[float], float]], size: int = 320) -> list[np.ndarray]:
    """(size, size, 3) uint8 renders of camera-frame meshes turned about their common centre by each
    (axis, degrees) of ``turns``, framed so that the whole scene fits every view."""
    if not parts:
        return [np.full((size, size, 3), 255, np.uint8) for _ in turns]
    pts = np.concatenate([np.asarray(v) for v, _, _ in parts])
    center = 0.5 * (pts.min(0) + pts.max(0))
    radius = float(np.linalg.norm(pts - center, axis=1).max())
    cam = Camera.from_fov(size, size, 40.0, source="views")
    dist = radius / np.tan(np.radians(20.0)) * 1.15
    shift = np.array([0.0, 0.0, dist]) - center  # the centre in front of the view camera
    panels = []
    for axis, deg in turns:
        turn = _orbit(center, axis, deg)
        meshes = [TexturedMesh(torch.as_tensor(turn(v) + shift, dtype=torch.float32), torch.as_tensor(f, dtype=torch.long), color=c)
                  for v, f, c in parts]  # fmt: skip
        rgb, _ = render_rgb(meshes, cam, to_light=(0.3, -0.5, -1.0), background=(1.0, 1.0, 1.0))
        panels.append((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8))
    return panels


def views(recon: Reconstruction, size: int = 320) -> np.ndarray:
    """(size, 3·size, 3) uint8: the result seen from the camera, from the side and from above,
    framed on the hand and object (camera-frame geometry turned about its centre)."""
    return np.concatenate(orbit_renders(recon_parts(recon), VIEW_TURNS, size), axis=1)
