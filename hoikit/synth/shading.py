"""Rendering synthetic frames with :mod:`hoikit.render`'s non-differentiable pieces, touching only
the covered pixels.

:func:`hoikit.render.render` builds whole-image tensors for its gradients (an 8-channel map,
one-hot labels, their anti-aliasing); on a busy two-core laptop those cost more than the
z-buffer itself, and a synthetic frame needs none of them. Here the same z-buffer
(:func:`hoikit.render.raster.zbuffer_numpy`: the nearest face at every pixel centre) gives the
part labels, the same ray–triangle hits (:func:`hoikit.render.raster.pixel_hits`) give depth and
barycentrics for the covered pixels only, and the same silhouette crossings and
:func:`hoikit.render.antialias` smooth the shaded colour at the outlines. Masks, depth and
normals stay hard per-pixel-centre values, exactly what a ray cast of the meshes gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from hoikit.types import Camera

Albedo = Callable[[np.ndarray], np.ndarray]  # camera-frame points (N, 3) → RGB (N, 3) in [0, 1]


@dataclass
class Visible:
    """What each pixel centre sees.

    Attributes:
        part_id: (H, W) int64, index of the mesh seen (-1 background).
        depth: (H, W) float32 metres, z of the visible point (0 background).
        normals: (H, W, 3) float32 unit camera-frame normals, interpolated from area-weighted
            vertex normals (0 background).
        pixels: (N,) flat indices of the covered pixels; points: (N, 3) float64 the points seen.
        crossings: the visible silhouette edges between pixel pairs (for anti-aliasing).
        vertices: (V, 3) float64 tensor of all meshes (the crossings index it).
    """

    part_id: np.ndarray
    depth: np.ndarray
    normals: np.ndarray
    pixels: np.ndarray
    points: np.ndarray
    crossings: object
    vertices: torch.Tensor


def rasterize_visible(meshes: Sequence[tuple[np.ndarray, np.ndarray]], camera: Camera) -> Visible:
    """Z-buffer several meshes (camera-frame float64 vertices (V_i, 3), faces (F_i, 3)); mesh i is part i."""
    from hoikit.render.raster import covered_pixels, crossings_from_rows, crossings_numpy, pixel_hits, zbuffer_numpy
    from hoikit.render.renderer import vertex_normals

    offsets = np.cumsum([0] + [len(v) for v, _ in meshes])
    V = np.ascontiguousarray(np.concatenate([v for v, _ in meshes]), dtype=np.float64)
    F = np.ascontiguousarray(np.concatenate([f + o for (_, f), o in zip(meshes, offsets)]), dtype=np.int64)
    face_mesh = np.concatenate([np.full(len(f), i, dtype=np.int64) for i, (_, f) in enumerate(meshes)])
    face_idx, zbuffer = zbuffer_numpy(V, F, camera)
    pixels, visible = covered_pixels(face_idx)
    Vt, Ft = torch.as_tensor(V), torch.as_tensor(F)
    with torch.no_grad():
        depth_px, bary = pixel_hits(Vt, Ft, torch.as_tensor(pixels), torch.as_tensor(visible), camera)
        normal_px = (bary[..., None] * vertex_normals(Vt, Ft)[Ft[torch.as_tensor(visible)]]).sum(1)
        normal_px = torch.nn.functional.normalize(normal_px, dim=-1, eps=1e-20)
    H, W = camera.height, camera.width
    part_id = np.full(H * W, -1, dtype=np.int64)
    part_id[pixels] = face_mesh[visible]
    depth = np.zeros(H * W, dtype=np.float32)
    depth[pixels] = depth_px.numpy()
    normals = np.zeros((H * W, 3), dtype=np.float32)
    normals[pixels] = normal_px.numpy()
    rows = crossings_numpy(V, F, face_mesh, face_idx, zbuffer, camera)
    return Visible(
        part_id=part_id.reshape(H, W),
        depth=depth.reshape(H, W),
        normals=normals.reshape(H, W, 3),
        pixels=pixels,
        points=pixel_points(depth_px.numpy(), pixels, camera),
        crossings=crossings_from_rows(rows, W, "cpu"),
        vertices=Vt,
    )


def pixel_points(depth: np.ndarray, pixels: np.ndarray, camera: Camera) -> np.ndarray:
    """Camera-frame points (N, 3) at depths (N,) on the rays through flat pixel indices (N,)."""
    y, x = np.divmod(pixels, camera.width)
    K = camera.K
    yn = (y - K[1, 2]) / K[1, 1]
    xn = (x - K[0, 2] - K[0, 1] * yn) / K[0, 0]
    return depth.astype(np.float64)[:, None] * np.stack([xn, yn, np.ones_like(xn)], axis=1)


def shade(
    seen: Visible, camera: Camera, albedo: Sequence[Albedo], to_light: Sequence[float], ambient: float, background: np.ndarray
) -> np.ndarray:
    """Lambert + ambient shading of the visible pixels over a background, outlines anti-aliased.

    Args:
        albedo: per part, camera-frame points (N, 3) → RGB (N, 3) in [0, 1].
        to_light: unit direction towards the light, camera frame; ambient: its share in [0, 1].
        background: (H, W, 3) float in [0, 1].
    Returns:
        (H, W, 3) float32 in [0, 1].
    """
    from hoikit.render.renderer import antialias

    part = seen.part_id.ravel()[seen.pixels]
    colours = np.zeros((len(seen.pixels), 3))
    for i, fn in enumerate(albedo):
        sel = part == i
        if sel.any():
            colours[sel] = fn(seen.points[sel])
    normals = seen.normals.reshape(-1, 3)[seen.pixels].astype(np.float64)
    lambert = np.clip(normals @ np.asarray(to_light, dtype=np.float64), 0.0, None)
    image = np.array(background, dtype=np.float32).reshape(-1, 3)
    image[seen.pixels] = np.clip(colours * (ambient + (1 - ambient) * lambert)[:, None], 0, 1)
    image = torch.as_tensor(image.reshape(camera.height, camera.width, 3))
    return antialias(image, seen.crossings, seen.vertices.to(image.dtype), camera).numpy()


def finish_rgb(linear: np.ndarray, tint: Sequence[float], noise_sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Tint, sensor noise and 8-bit quantisation: (H, W, 3) float in [0, 1] → uint8.

    The noise is uniform with standard deviation ``noise_sigma`` (a Gaussian's shape makes no
    difference at a few grey levels, and uniform draws cost a fifth); torch does the arithmetic
    because numpy's broadcasting over a last axis of 3 is slow."""
    img = torch.as_tensor(linear) * torch.tensor(tint, dtype=torch.float32)
    if noise_sigma > 0:
        half_width = math.sqrt(3.0) * noise_sigma
        img.add_(torch.as_tensor(rng.random(linear.shape, dtype=np.float32)).sub_(0.5).mul_(2 * half_width))
    return img.clamp_(0.0, 1.0).mul_(255).round_().to(torch.uint8).numpy()


def coverage(vertices: np.ndarray, faces: np.ndarray, camera: Camera) -> int:
    """Pixel centres a mesh covers when rendered alone."""
    from hoikit.render.raster import zbuffer_numpy

    face_idx, _ = zbuffer_numpy(np.ascontiguousarray(vertices, dtype=np.float64), np.ascontiguousarray(faces, dtype=np.int64), camera)
    return int((face_idx >= 0).sum())
