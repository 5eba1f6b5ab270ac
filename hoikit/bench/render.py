"""``hoikit bench render``: how long differentiable rendering and mesh extraction take here."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
import trimesh

from hoikit.bench.machine import machine_info, median_time
from hoikit.geometry.grid import grid_points
from hoikit.geometry.marching_cubes import marching_cubes
from hoikit.render import render, shade
from hoikit.types import Camera

BENCH_GRID_BOUNDS = (-0.1, 0.1)


def _two_mesh_scene(dtype: torch.dtype) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """About 10k faces: a 5120-face ball (object) behind a 5000-face capsule (hand), overlapping."""
    obj = trimesh.creation.icosphere(subdivisions=4, radius=0.05)
    hand = trimesh.creation.capsule(height=0.08, radius=0.02, count=[50, 50])
    hand.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 3, [1, 0, 0]))
    placed = [(hand, [0.03, 0.0, 0.40]), (obj, [0.0, 0.0, 0.45])]
    return [(torch.tensor(m.vertices + t, dtype=dtype), torch.tensor(m.faces)) for m, t in placed]


def _render_forward_backward(scene, camera: Camera) -> None:
    leaves = [(v.clone().requires_grad_(True), f) for v, f in scene]
    out = render(leaves, camera)
    (out.silhouette.sum() + out.depth.sum() + out.normals.sum()).backward()


def _preview(scene, camera: Camera) -> None:
    with torch.no_grad():
        out = render(scene, camera)
        shade(out.normals, torch.tensor([0.8, 0.6, 0.5]), out.silhouette)


def _bumpy_sphere_sdf(resolution: int) -> torch.Tensor:
    P = grid_points(resolution, BENCH_GRID_BOUNDS, dtype=torch.float32)
    return P.norm(dim=-1) - 0.06 + 0.004 * torch.sin(40.0 * P[..., 0]) * torch.cos(30.0 * P[..., 1])


def _marching_cubes_forward_backward(sdf: torch.Tensor) -> None:
    leaf = sdf.clone().requires_grad_(True)
    vertices, _ = marching_cubes(leaf, BENCH_GRID_BOUNDS)
    vertices.square().sum().backward()


def bench_render(repeats: int = 5, threads: int | None = None) -> dict[str, Any]:
    """Time the renderer and differentiable marching cubes (float32, CPU unless CUDA is free).

    Keys: ``fb_256_10k_s`` (forward + backward of silhouette + depth + normals at 256×256 for a
    10k-face two-mesh scene), ``preview_512_s`` (no-grad render + Lambert shading at 512×512),
    ``mc_fb_64_s`` (mesh extraction from a 64³ SDF grid plus its backward), with the sizes
    measured. Each figure is the median of ``repeats`` runs after one warm-up run (which also
    compiles the numba kernels on a fresh install). ``threads`` sets torch's intra-op threads;
    the load average is recorded because other work on a 2-core machine changes the figures.
    """
    if threads is not None:
        torch.set_num_threads(threads)
    scene = _two_mesh_scene(torch.float32)
    cam256, cam512 = Camera.from_fov(256, 256, 50.0), Camera.from_fov(512, 512, 50.0)
    sdf = _bumpy_sphere_sdf(64)
    jobs = {
        "fb_256_10k_s": lambda: _render_forward_backward(scene, cam256),
        "preview_512_s": lambda: _preview(scene, cam512),
        "mc_fb_64_s": lambda: _marching_cubes_forward_backward(sdf),
    }
    result: dict[str, Any] = {}
    for key, job in jobs.items():
        job()  # warm-up
        result[key] = median_time(job, repeats)
    result.update(
        {
            "faces": sum(len(f) for _, f in scene),
            "mc_vertices": len(marching_cubes(sdf, BENCH_GRID_BOUNDS)[0]),
            "repeats": repeats,
            "load_average_1m": os.getloadavg()[0],
            "machine": machine_info(),
        }
    )
    return result
