"""The coarse object prior (AlignHOI 3.1, A.1): four temporal segments, the frame of each with the
most visible object pixels, ordered by visibility; the visual hull carved from those frames under
the hand-implied poses, and — when a shape generator is given (hoikit-small with its weights,
Hunyuan3D-2) — the generated shape of the most visible frame, brought into the hull's frame and
size by similarity ICP (rotation restarts), which replaces the hull. hoikit-small is conditioned on
one crop; the other selected frames only order and choose it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from hoikit.types import Camera
from hoikit.video.carve import Poses, carve


@dataclass
class Prior:
    """A coarse object shape in the canonical frame (metres) and where it came from."""

    mesh: trimesh.Trimesh
    frames: list[int]  # the selected frames, most visible first
    source: str  # "visual-hull-4" | generator name | "ellipsoid"


def select_frames(visible_area: np.ndarray, segments: int = 4) -> list[int]:
    """One frame per temporal segment (the most visible in it), ordered by visibility, descending.

    Args:
        visible_area: (T,) visible object pixels per frame (A(t)).
    """
    T = len(visible_area)
    bounds = np.linspace(0, T, min(segments, T) + 1).round().astype(int)
    picks = [int(a + np.argmax(visible_area[a:b])) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    return sorted(set(picks), key=lambda i: (-visible_area[i], i))


def object_half_size(object_masks: np.ndarray, depths: np.ndarray, camera: Camera, grow: float = 1.5) -> float:
    """Half-size (metres) of a cube that holds the object: the largest projected mask extent over the
    clip at each frame's depth, grown by ``grow`` (the mask can be partly hidden)."""
    best = 0.0
    for m, z in zip(object_masks, depths):
        ys, xs = np.nonzero(m)
        if len(xs) == 0:
            continue
        diag_px = float(np.hypot(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1))
        best = max(best, diag_px * z / camera.fx)
    return 0.5 * best * grow


def ellipsoid(half_extents: np.ndarray, subdivisions: int = 3) -> trimesh.Trimesh:
    """An ellipsoid mesh with the given semi-axes (3,), centred at the origin."""
    s = trimesh.creation.icosphere(subdivisions=subdivisions)
    s.vertices = s.vertices * np.asarray(half_extents)[None]
    return s


def hull_prior(
    frames: list[int], poses: Poses, camera: Camera, object_masks: np.ndarray, hand_masks: np.ndarray, half: float, resolution: int = 40,
) -> Prior:
    """The visual hull of the selected frames under ``poses`` (an ellipsoid of the grid size if it
    carves to nothing)."""
    sub = Poses(poses.R[frames], poses.t[frames], poses.s)
    c = carve(sub, camera, object_masks[frames], hand_masks[frames], half, resolution, dilate_px=1, tolerance=0.0)
    if c is None:
        return Prior(ellipsoid(np.full(3, 0.5 * half)), frames, "ellipsoid")
    return Prior(c.mesh, frames, f"visual-hull-{len(frames)}")


GEN_STEPS = 10
GEN_GUIDANCE = 3.0
GEN_GRID = 48
GEN_CROP = 160


def object_rgba(rgb: np.ndarray, mask: np.ndarray, size: int = GEN_CROP) -> np.ndarray:
    """(size, size, 4) uint8: a square crop around the object mask (its bounding box grown by a
    quarter), alpha = the mask."""
    from hoikit.io.images import square_crop

    ys, xs = np.nonzero(mask)
    side = 1.25 * max(xs.max() - xs.min(), ys.max() - ys.min()) + 4
    cx, cy = (xs.max() + xs.min()) / 2, (ys.max() + ys.min()) / 2
    rgb_c = square_crop(rgb, cx, cy, side, size)
    a = square_crop(mask.astype(np.uint8) * 255, cx, cy, side, size, nearest=True)
    return np.concatenate([rgb_c, a[..., None]], -1).astype(np.uint8)


def generated_prior(gen, rgb: np.ndarray, mask: np.ndarray, hull: Prior, seed: int = 0, use_mean: bool = True) -> Prior:
    """The generator's shape for the frame ``rgb``/``mask``, placed onto ``hull`` (similarity ICP).

    With ``use_mean`` and a generator that regresses a deterministic latent for the crop
    (hoikit-small's latent regressor, :attr:`Conditioning.mean`), that latent is decoded; otherwise a
    flow sample (``GEN_STEPS`` steps, CFG ``GEN_GUIDANCE``, noise from ``seed``)."""
    import torch

    from hoikit.geometry.registration import IcpConfig, icp
    from hoikit.geometry.sampling import sample_surface
    from hoikit.shape.interface import latent_to_mesh, sample_latent

    cond = gen.condition(object_rgba(rgb, mask))
    if use_mean and cond.mean is not None:
        latent = cond.mean
    else:
        latent = sample_latent(gen, cond, GEN_STEPS, GEN_GUIDANCE, torch.Generator().manual_seed(seed))
    mesh = latent_to_mesh(gen, latent, GEN_GRID)
    if mesh is None or len(mesh.faces) < 4:
        return hull
    from hoikit.video.carve import largest_piece

    mesh = largest_piece(mesh)
    src = sample_surface(mesh, 3000, seed)[0]
    dst = sample_surface(hull.mesh, 3000, seed)[0]
    T = icp(src, dst, IcpConfig(mode="sim3", iterations=50)).transform
    placed = trimesh.Trimesh(T.apply(np.asarray(mesh.vertices)), np.asarray(mesh.faces), process=False)
    return Prior(placed, hull.frames, getattr(gen, "name", "generator"))
