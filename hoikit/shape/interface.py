"""The rectified-flow shape-generator interface shared by hoikit-small and the Hunyuan3D-2 adapter.

Time runs from t = 0 (noise) to t = 1 (data) (see :mod:`hoikit.types`). A generator maps an object
image crop to a latent by integrating its velocity field, and decodes a latent to a signed distance
field (negative inside) in its canonical cube. Guidance (FollowMyHold) needs ``decode_sdf`` to be
differentiable with respect to the latent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from hoikit.geometry.grid import grid_points


@dataclass
class Conditioning:
    """What a generator needs to evaluate its velocity: the conditional and unconditional context,
    and, from a generator that has one, its deterministic latent for the crop (1, *latent_shape)."""

    cond: Any
    uncond: Any
    mean: torch.Tensor | None = None


@runtime_checkable
class ShapeGenerator(Protocol):
    """A conditional rectified-flow shape generator.

    Attributes:
        name: short identifier recorded in result.json (``hoikit-small``, ``hunyuan3d-2``).
        latent_shape: shape of one latent (without the batch dimension).
        bounds: (lo, hi) — ``decode_sdf`` is defined on the cube [lo, hi]³ (canonical units).
    """

    name: str
    latent_shape: tuple[int, ...]
    bounds: tuple[float, float]

    def condition(self, rgba_crop: np.ndarray) -> Conditioning:
        """Encode an object crop: (H, W, 4) uint8, alpha = object mask, object centred."""
        ...

    def velocity(self, x_t: torch.Tensor, t: torch.Tensor, cond: Conditioning, guidance_scale: float) -> torch.Tensor:
        """Velocity at (x_t (B, *latent_shape), t (B,) in [0, 1]) with classifier-free guidance
        ``v = v_u + w (v_c − v_u)``; ``guidance_scale`` ≤ 1 skips the unconditional pass."""
        ...

    def decode_sdf(self, latent: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """SDF (negative inside) of latents (B, *latent_shape) at canonical points (B, P, 3) → (B, P).
        Differentiable with respect to ``latent``."""
        ...


def flow_sigmas(num_steps: int) -> torch.Tensor:
    """(num_steps + 1,) flow times from 0 (noise) to 1 (data), evenly spaced."""
    return torch.linspace(0.0, 1.0, num_steps + 1)


def euler_step(x_t: torch.Tensor, v: torch.Tensor, sigma: float, sigma_next: float) -> torch.Tensor:
    """x ← x + (σ_{i+1} − σ_i)·v."""
    return x_t + (sigma_next - sigma) * v


def clean_estimate(x_t: torch.Tensor, v: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
    """x̂₁ = x_t + (1 − σ_t)·v: the data point the current velocity points at."""
    return x_t + (1.0 - sigma) * v


def velocity_towards(x_t: torch.Tensor, target: torch.Tensor, sigma: float) -> torch.Tensor:
    """The velocity whose clean estimate is ``target``: (target − x_t) / (1 − σ_t) (inverts
    :func:`clean_estimate`); integrated from the start it follows the straight path to ``target``."""
    return (target - x_t) / (1.0 - sigma)


def cfg_combine(v_uncond: torch.Tensor, v_cond: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance: v_u + w (v_c − v_u)."""
    return v_uncond + scale * (v_cond - v_uncond)


def decode_grid(gen: ShapeGenerator, latent: torch.Tensor, resolution: int, chunk: int = 65536) -> torch.Tensor:
    """(B, R, R, R) SDF of ``latent`` on the ``resolution``³ grid over ``gen.bounds`` (ij order).

    Uses the generator's own ``decode_grid`` when it has a faster one.
    """
    if hasattr(gen, "decode_grid"):
        return gen.decode_grid(latent, resolution)
    pts = grid_points(resolution, gen.bounds, dtype=latent.dtype, device=latent.device).reshape(-1, 3)
    B = latent.shape[0]
    out = [gen.decode_sdf(latent, pts[i : i + chunk].expand(B, -1, -1)) for i in range(0, len(pts), chunk)]
    return torch.cat(out, dim=1).reshape(B, resolution, resolution, resolution)


@torch.no_grad()
def sample_latent(
    gen: ShapeGenerator,
    cond: Conditioning,
    num_steps: int = 20,
    guidance_scale: float = 5.0,
    generator: torch.Generator | None = None,
    batch: int = 1,
) -> torch.Tensor:
    """The reference unguided sampler: Euler integration of the velocity from noise (t=0) to data."""
    x = torch.randn(batch, *gen.latent_shape, generator=generator)
    sig = flow_sigmas(num_steps)
    for i in range(num_steps):
        t = torch.full((batch,), float(sig[i]))
        x = euler_step(x, gen.velocity(x, t, cond, guidance_scale), float(sig[i]), float(sig[i + 1]))
    return x


def grid_to_mesh(sdf: torch.Tensor, bounds: tuple[float, float]):
    """The zero level set of an SDF grid (R, R, R) over the cube ``bounds`` as a trimesh (None when
    the field has no zero crossing)."""
    import trimesh

    from hoikit.geometry.marching_cubes import marching_cubes

    verts, faces = marching_cubes(sdf.detach(), bounds)
    if len(faces) == 0:
        return None
    return trimesh.Trimesh(verts.numpy(), faces.numpy(), process=False)


def latent_to_mesh(gen: ShapeGenerator, latent: torch.Tensor, resolution: int = 64):
    """The shape of one latent (1, *latent_shape) as a trimesh in the generator's canonical units
    (None when the decoded field has no zero crossing)."""
    with torch.no_grad():
        return grid_to_mesh(decode_grid(gen, latent, resolution)[0], gen.bounds)
